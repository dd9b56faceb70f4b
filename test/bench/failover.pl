# test/bench/failover.pl [RUNS]: unplanned failover time on real servers.
#
# Three voters (node1 primary, node2 and node3 standbys) in synchronous
# mode with the default pg_quorum timings, and the test workload
# (PgQuorum::Workload) writing to all three servers throughout: one write
# at a time per server over a Unix socket, every 5 ms, and again 5 ms after
# a refusal.  Each run kills the current primary's postmaster with SIGKILL
# and measures the time from the kill to the first write a surviving server
# acknowledges (the client's COMMIT returning), then brings the old primary
# back as a standby with pg_quorum_rejoin and waits until the cluster is
# whole again (all alive, everyone following the leader, synchronous mode)
# before the next run.  RUNS defaults to $PGQ_BENCH_RUNS or 5.  It measures
# and asserts nothing; run it with "make bench-failover".
#
# Each run also shows, from the new leader's quorum.events, when it became
# leader and when it promoted itself (relative to the kill; wall clock of
# the same machine).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use List::Util qw(min max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use PgQuorum::Test;
use PgQuorum::Workload;

sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $runs = shift // $ENV{PGQ_BENCH_RUNS} // 5;
my $bound_s = 120;    # give up on a run after this long
my $now = \&PgQuorum::Workload::now;

my $c = new_failover_cluster();
my @nodes = @{ $c->{nodes} };
my $wl = PgQuorum::Workload->start(
	nodes    => \@nodes,
	file     => "$PostgreSQL::Test::Utils::tmp_check/bench_failover.tsv",
	pause_ms => 5,
	retry_ms => 5);

my @settings = map { "$_=" . $nodes[0]->safe_psql('postgres', "SHOW pg_quorum.$_") }
  qw(election_timeout heartbeat_interval probe_interval synchronous);
report "failover benchmark: 3 servers, $runs runs, @settings\n";

# stable(): the leader once the cluster is whole: one writable leader known
# to all, the others streaming from it, all members alive everywhere,
# synchronous mode, and the workload's writes going through on the leader.
sub stable
{
	my ($leader) = wait_for_leader(\@nodes, $bound_s);
	die "no leader\n" unless $leader;
	for my $node (@nodes)
	{
		defined wait_for_query($node,
			"SELECT count(*) FROM quorum.nodes WHERE state = 'alive'", '3', $bound_s)
		  or die $node->name . " does not see all three alive\n";
		next if $node == $leader;
		defined wait_following($node, $leader, $bound_s)
		  or die $node->name . ' does not follow ' . $leader->name . "\n";
	}
	defined wait_for_query($leader, 'SELECT mode FROM quorum.status', 'sync', $bound_s)
	  or die $leader->name . " is not in synchronous mode\n";
	$wl->wait_ack($bound_s, server => $leader->name, sent_after => $now->())
	  or die $leader->name . " acknowledges no write\n";
	return $leader;
}

# events_after($node, $term, $wall): { event => seconds after $wall } for
# the new term's leader and promotion events, as far as the node has them.
sub events_after
{
	my ($node, $term, $wall) = @_;
	my $out = query($node,
		"SELECT event, min(extract(epoch FROM at)) FROM quorum.events "
		  . "WHERE term = $term AND event IN ('leader', 'lease_gained', 'promoted') GROUP BY event")
	  // '';
	my %ev;
	for my $line (split /\n/, $out)
	{
		my ($event, $at) = split /\|/, $line;
		$ev{$event} = $at - $wall;
	}
	return \%ev;
}

my @times;
for my $run (1 .. $runs)
{
	my $victim = stable();
	my @rest = grep { $_ != $victim } @nodes;
	my $wall = Time::HiRes::time();
	my $t_kill = $now->();
	$victim->kill9;
	my $first = $wl->wait_ack($bound_s, server => [ map { $_->name } @rest ], done_after => $t_kill)
	  or die "run $run: no write acknowledged after killing " . $victim->name . "\n";
	my $took = $first->{done} - $t_kill;
	push @times, $took;
	my ($new) = grep { $_->name eq $first->{server} } @rest;
	my $st = cluster_status($new);
	my $ev = $st ? events_after($new, $st->{term}, $wall) : {};
	my $last = (sort { $b->{done} <=> $a->{done} }
		  $wl->acked(server => $victim->name))[0];
	reportf "run %d: killed %s; %s writable, first write acknowledged %.3f s after the kill "
	  . "(%s; last write acknowledged by %s at %+.3f s)\n",
	  $run, $victim->name, $new->name, $took,
	  join(', ', map { sprintf('%s +%.3f s', $_, $ev->{$_}) } sort { $ev->{$a} <=> $ev->{$b} } keys %$ev)
	  || 'no events',
	  $victim->name, $last ? $last->{done} - $t_kill : 0;

	defined wait_processes_gone($victim, $bound_s)
	  or die "run $run: processes of " . $victim->name . " survived\n";
	my ($rc, $out) = rejoin($victim, @rest);
	die "run $run: pg_quorum_rejoin failed:\n$out\n" if $rc != 0;
	$victim->start;
}
stable();
my @records = $wl->stop;
$_->stop for @nodes;

my @sorted = sort { $a <=> $b } @times;
my $median = @sorted % 2
  ? $sorted[ $#sorted / 2 ]
  : ($sorted[ @sorted / 2 - 1 ] + $sorted[ @sorted / 2 ]) / 2;
reportf "failover time (kill -9 of the primary to the first acknowledged write) over %d runs: "
  . "median %.3f s, min %.3f s, max %.3f s\n",
  scalar(@times), $median, min(@times), max(@times);
reportf "workload: %d writes, %d acknowledged\n", scalar(@records),
  scalar(grep { $_->{status} eq 'ok' } @records);

ok(1, 'benchmark completed');
done_testing();
