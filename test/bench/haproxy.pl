# test/bench/haproxy.pl [RUNS]: how long after a kill -9 of the primary
# writes through HAProxy succeed again.
#
# Three voters (node1 primary, node2 and node3 standbys) in synchronous
# mode with the default pg_quorum timings, each with the HTTP endpoint, and
# Debian's HAProxy in front of them with "option httpchk GET /primary",
# "inter 500ms fall 2 rise 1" and on-marked-down shutdown-sessions (the
# check settings the figure depends on).  A client opens a new psql
# connection through HAProxy for every write, 20 ms after the previous
# attempt ended.  Each run kills the current primary's postmaster with
# SIGKILL and measures the time from the kill to the first write through
# HAProxy that another server commits; it also shows when the new leader
# promoted itself (from its quorum.events), so that the part HAProxy's
# checks add can be told from the failover itself.  Then the old primary comes back as a standby with pg_quorum_rejoin
# and the cluster is whole again before the next run.  RUNS defaults to
# $PGQ_BENCH_RUNS or 5.  It measures and asserts nothing; run it with
# "make bench-haproxy".

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
use PgQuorum::Http;

sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $runs    = shift // $ENV{PGQ_BENCH_RUNS} // 5;
my $bound_s = 120;    # give up on a run after this long
my %check   = (inter => '500ms', fall => 2, rise => 1);

my @http = free_gossip_ports(3);
my ($hp_port) = free_gossip_ports(1);
my $c = new_failover_cluster(node_extra => [ map { http_conf($_) } @http ]);
my @nodes = @{ $c->{nodes} };
my %http = map { $nodes[$_]->name => $http[$_] } 0 .. 2;
$nodes[0]->safe_psql('postgres', 'CREATE TABLE http_probe (id bigserial PRIMARY KEY)');
my $hp = start_haproxy(port => $hp_port, %check,
	servers => [ map { [ $_->name, $_->port, $http{ $_->name } ] } @nodes ]);

my @settings = map { "$_=" . $nodes[0]->safe_psql('postgres', "SHOW pg_quorum.$_") }
  qw(election_timeout heartbeat_interval probe_interval synchronous);
report "haproxy benchmark: 3 servers, $runs runs, @settings, "
  . "HAProxy inter $check{inter} fall $check{fall} rise $check{rise}\n";

# stable(): the leader once the cluster is whole (one writable leader known
# to all, the others streaming from it, synchronous mode) and a write
# through HAProxy lands on it.
sub stable
{
	my ($leader) = wait_for_leader(\@nodes, $bound_s);
	die "no leader\n" unless $leader;
	for my $node (grep { $_ != $leader } @nodes)
	{
		defined wait_following($node, $leader, $bound_s)
		  or die $node->name . ' does not follow ' . $leader->name . "\n";
	}
	defined wait_for_query($leader, 'SELECT mode FROM quorum.status', 'sync', $bound_s)
	  or die $leader->name . " is not in synchronous mode\n";
	defined wait_until($bound_s, sub { ((write_through($hp_port))[0] // '') eq $leader->name })
	  or die "writes through HAProxy do not reach " . $leader->name . "\n";
	return $leader;
}

my @times;
for my $run (1 .. $runs)
{
	my $victim = stable();
	my @rest = grep { $_ != $victim } @nodes;
	my $t_kill = Time::HiRes::time();
	$victim->kill9;
	my ($server, $took) = wait_write_through($hp_port, $bound_s, not => $victim->name);
	die "run $run: no write through HAProxy after killing " . $victim->name . "\n"
	  unless defined $server;
	push @times, $took;
	my ($new) = grep { $_->name eq $server } @rest;
	my $writable = query($new,
		"SELECT extract(epoch FROM min(at)) FROM quorum.events WHERE event = 'promoted' "
		  . "AND term = (SELECT term FROM quorum.status)");
	reportf "run %d: killed %s; first write through HAProxy committed by %s %.3f s after the kill "
	  . "(%s promoted itself at %s)\n",
	  $run, $victim->name, $server, $took, $server,
	  defined $writable && $writable ne '' ? sprintf('%+.3f s', $writable - $t_kill) : 'an unknown time';

	defined wait_processes_gone($victim, $bound_s)
	  or die "run $run: processes of " . $victim->name . " survived\n";
	my ($rc, $out) = rejoin($victim, @rest);
	die "run $run: pg_quorum_rejoin failed:\n$out\n" if $rc != 0;
	$victim->start;
}
stable();
stop_haproxy($hp);
$_->stop for @nodes;

my @sorted = sort { $a <=> $b } @times;
my $median = @sorted % 2
  ? $sorted[ $#sorted / 2 ]
  : ($sorted[ @sorted / 2 - 1 ] + $sorted[ @sorted / 2 ]) / 2;
reportf "writes through HAProxy again after a kill -9 of the primary, over %d runs: "
  . "median %.3f s, min %.3f s, max %.3f s (inter %s fall %d rise %d)\n",
  scalar(@times), $median, min(@times), max(@times), $check{inter}, $check{fall}, $check{rise};

ok(1, 'benchmark completed');
done_testing();
