# test/bench/switchover.pl [RUNS]: planned switchover time on real servers.
#
# Three voters in synchronous mode with the default pg_quorum timings and
# the test workload (PgQuorum::Workload) writing to all three servers
# throughout (one write at a time per server over a Unix socket, every
# 5 ms, and again 5 ms after a refusal).  Each run calls
# SELECT quorum.failover('<target>') on the primary, through a psql session
# opened beforehand, and measures the time from the call to the first write
# the target acknowledges, and how long the call itself took.  The old
# primary then shuts itself down; it comes back as a standby with
# pg_quorum_rejoin, and the next run starts once the cluster is whole
# again.  Leadership goes round: node1 -> node2 -> node3 -> node1 ...
# RUNS defaults to $PGQ_BENCH_RUNS or 5.  A call that fails is reported
# and counted, and the next run starts once the cluster is whole again.  It
# measures and
# asserts nothing; run it with "make bench-switchover".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use List::Util qw(min max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
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
	file     => "$PostgreSQL::Test::Utils::tmp_check/bench_switchover.tsv",
	pause_ms => 5,
	retry_ms => 5);

my @settings = map { "$_=" . $nodes[0]->safe_psql('postgres', "SHOW pg_quorum.$_") }
  qw(election_timeout heartbeat_interval synchronous);
report "switchover benchmark: 3 servers, $runs runs, @settings\n";

# bring_back(): a server that stopped itself (a deposed primary, also
# after a failed switchover in which another server won) rejoins as a
# standby; one that runs as a fenced primary under another leader is given
# time to stop first.
sub bring_back
{
	for my $node (@nodes)
	{
		if (-e $node->data_dir . '/postmaster.pid')
		{
			my $st = cluster_status($node);
			next unless $st && !$st->{recovery} && defined $st->{leader}
			  && $st->{leader} ne $node->name;
		}
		defined wait_stopped($node, $bound_s)
		  or die $node->name . " neither leads nor follows nor stops\n";
		my ($rc, $out) = rejoin($node, grep { $_ != $node } @nodes);
		die "pg_quorum_rejoin failed:\n$out\n" if $rc != 0;
		$node->start;
	}
	return;
}

# stable(): the leader once the cluster is whole (see failover.pl).
sub stable
{
	bring_back();
	my ($leader) = wait_for_leader(\@nodes, $bound_s);
	die "no leader\n" unless $leader;
	for my $node (@nodes)
	{
		next if $node == $leader;
		defined wait_following($node, $leader, $bound_s)
		  or die $node->name . ' does not follow ' . $leader->name . "\n";
		my $name = $node->name;
		defined wait_for_query($leader,
			"SELECT n.state || ' ' || n.role || ' ' || (n.timeline = s.timeline)::text "
			  . "FROM quorum.nodes n, quorum.nodes s WHERE n.name = '$name' AND s.is_self",
			'alive standby true', $bound_s)
		  or die $leader->name . " does not see $name as a live standby\n";
	}
	defined wait_for_query($leader, 'SELECT mode FROM quorum.status', 'sync', $bound_s)
	  or die $leader->name . " is not in synchronous mode\n";
	$wl->wait_ack($bound_s, server => $leader->name, sent_after => $now->())
	  or die $leader->name . " acknowledges no write\n";
	return $leader;
}

my (@times, @calls, @failed);
for my $run (1 .. $runs)
{
	my $from = stable();
	my @rest = grep { $_ != $from } @nodes;
	# The next server in the order node1, node2, node3, node1, ...
	my ($fi) = grep { $nodes[$_] == $from } 0 .. $#nodes;
	my $to = $nodes[ ($fi + 1) % @nodes ];
	my $tname = $to->name;
	my $session = $from->background_psql('postgres', on_error_stop => 0);
	my $t0 = $now->();
	my ($out, $err) = $session->query("SELECT quorum.failover('$tname')");
	my $t1 = $now->();
	$session->quit;
	if ($out ne $tname)
	{
		# A failed switchover is a result too: count it and go on.
		(my $why = $session->{stderr} // '') =~ s/\s+/ /g;
		push @failed, sprintf('run %d: %s -> %s failed after %.3f s: %s',
			$run, $from->name, $tname, $t1 - $t0, $why);
		report "$failed[-1]\n";
		next;
	}
	my $first = $wl->wait_ack($bound_s, server => $tname, sent_after => $t0)
	  or die "run $run: $tname acknowledged no write\n";
	my $took = $first->{done} - $t0;
	push @times, $took;
	push @calls, $t1 - $t0;
	my $last = (sort { $b->{done} <=> $a->{done} } $wl->acked(server => $from->name))[0];
	reportf "run %d: %s -> %s: first write acknowledged %.3f s after the call "
	  . "(the call took %.3f s; last write on %s acknowledged at %+.3f s)\n",
	  $run, $from->name, $tname, $took, $t1 - $t0, $from->name,
	  $last ? $last->{done} - $t0 : -1;

	defined wait_stopped($from, $bound_s)
	  or die "run $run: " . $from->name . " did not stop after being deposed\n";
	my ($rc, $rout) = rejoin($from, @rest);
	die "run $run: pg_quorum_rejoin failed:\n$rout\n" if $rc != 0;
	$from->start;
}
stable();
my @records = $wl->stop;
$_->stop for @nodes;

sub median
{
	my @s = sort { $a <=> $b } @_;
	return @s % 2 ? $s[ $#s / 2 ] : ($s[ @s / 2 - 1 ] + $s[ @s / 2 ]) / 2;
}
if (@times)
{
	reportf "switchover time (quorum.failover() called to the first write acknowledged by the target) "
	  . "over %d successful runs: median %.3f s, min %.3f s, max %.3f s\n",
	  scalar(@times), median(@times), min(@times), max(@times);
	reportf "quorum.failover() call duration: median %.3f s, min %.3f s, max %.3f s\n",
	  median(@calls), min(@calls), max(@calls);
}
reportf "%d of %d switchovers failed\n", scalar(@failed), $runs;
reportf "workload: %d writes, %d acknowledged\n", scalar(@records),
  scalar(grep { $_->{status} eq 'ok' } @records);

ok(1, 'benchmark completed');
done_testing();
