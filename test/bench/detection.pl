# test/bench/detection.pl [RUNS]: failure detection time on real servers.
#
# Three servers (a primary and two streaming standbys, default pg_quorum
# timings).  Each run kills one server's postmaster with SIGKILL (the victim
# rotates: node3, node2, node1, ...) and measures the time from the kill
# until every other server shows it 'dead' in quorum.nodes, then restarts
# it and waits until all three are alive again.  It measures and asserts
# nothing; run it with "make bench-detection" (scripts/sandbox.sh sets up
# the environment).  RUNS defaults to $PGQ_BENCH_RUNS or 5.
#
# Each observer watches from inside its own server: a PL/pgSQL function
# samples quorum.nodes every 5 ms and returns the wall-clock time at which
# it first saw the victim dead, so the figure does not include the cost of
# starting psql.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use IPC::Run;
use List::Util qw(min max sum);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgQuorum::Test;

# PostgreSQL::Test::Utils sends STDOUT to the test's log file; print the
# figures through Test::More's output handle, which also reaches the terminal.
sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $runs = shift // $ENV{PGQ_BENCH_RUNS} // 5;
my $bound_s = 120;    # give up on a run after this long

my $key   = new_key();
my @names = qw(node1 node2 node3);
my @ports = free_gossip_ports(3);
sub peers_of { my ($i) = @_; return [ map { $ports[$_] } grep { $_ != $i } 0 .. 2 ]; }

my $primary = new_quorum_node(
	'node1',
	allows_streaming => 1,
	key              => $key,
	port             => $ports[0],
	peers            => peers_of(0));
$primary->start;
$primary->safe_psql('postgres', <<'SQL');
CREATE EXTENSION pg_quorum;
CREATE SCHEMA bench;
-- The wall-clock time (epoch seconds) at which this server first sees
-- member "victim" in state "want", or NULL after timeout_s seconds.
CREATE FUNCTION bench.wait_state(victim text, want text, timeout_s float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	LOOP
		IF EXISTS (SELECT 1 FROM quorum.nodes n
		           WHERE n.name = victim AND n.state = want) THEN
			RETURN extract(epoch FROM clock_timestamp());
		END IF;
		IF clock_timestamp() > deadline THEN
			RETURN NULL;
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
END
$$;
SQL
$primary->backup('base');

my @nodes = ($primary);
for my $i (1, 2)
{
	my $standby = PostgreSQL::Test::Cluster->new($names[$i]);
	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	write_key($standby, $key);
	quorum_conf($standby, name => $names[$i], port => $ports[$i], peers => peers_of($i));
	$standby->start;
	push @nodes, $standby;
}
$primary->wait_for_catchup($_) for @nodes[ 1, 2 ];

my $all_alive = 'node1:alive,node2:alive,node3:alive';
my $nodes_sql =
  "SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes";

my @settings = map { "$_=" . $primary->safe_psql('postgres', "SHOW pg_quorum.$_") }
  qw(probe_interval probe_timeout suspicion_mult indirect_probes);
report "detection benchmark: 3 servers, $runs runs, @settings\n";

my @times;
for my $run (1 .. $runs)
{
	for my $node (@nodes)
	{
		defined wait_for_query($node, $nodes_sql, $all_alive, $bound_s)
		  or die "run $run: not all servers alive on " . $node->name . "\n";
	}
	my $vi = (2 - ($run - 1)) % 3;
	my $victim = $nodes[$vi];
	my @observers = grep { $_ != $victim } @nodes;

	# Start one watcher per observer and wait until each is running.
	my @watch;
	for my $node (@observers)
	{
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[
				'psql', '-XAt', '-d', $node->connstr('postgres'), '-c',
				"SELECT bench.wait_state('$names[$vi]', 'dead', $bound_s)"
			],
			'>', \$out, '2>', \$err);
		push @watch, [ $node, $h, \$out, \$err ];
		defined wait_for_query($node,
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT bench.wait_state%' AND state = 'active'",
			'1', 30)
		  or die "run $run: the watcher did not start on " . $node->name . "\n";
	}

	my $killed_at = time();
	$victim->kill9;

	my @seen;
	for my $w (@watch)
	{
		my ($node, $h, $out, $err) = @$w;
		$h->finish;
		chomp(my $t = $$out);
		die "run $run: " . $node->name . " did not see $names[$vi] dead ($$err)\n"
		  unless $t =~ /^[0-9.]+$/;
		push @seen, [ $node->name, $t - $killed_at ];
	}
	my $worst = max(map { $_->[1] } @seen);
	push @times, $worst;
	reportf "run %d: killed %s; dead on %s -> %.3f s\n", $run, $names[$vi],
	  join(', ', map { sprintf('%s after %.3f s', @$_) } @seen), $worst;

	defined wait_processes_gone($victim, 60)
	  or die "run $run: processes of $names[$vi] survived\n";
	$victim->start;
}
for my $node (@nodes)
{
	defined wait_for_query($node, $nodes_sql, $all_alive, $bound_s)
	  or die "not all servers alive on " . $node->name . " at the end\n";
}
$_->stop for @nodes;

my @sorted = sort { $a <=> $b } @times;
my $median = @sorted % 2
  ? $sorted[ $#sorted / 2 ]
  : ($sorted[ @sorted / 2 - 1 ] + $sorted[ @sorted / 2 ]) / 2;
reportf "detection time over %d runs: median %.3f s, min %.3f s, max %.3f s\n",
  scalar(@times), $median, min(@times), max(@times);

# PostgreSQL::Test::Utils expects a TAP plan; the figures above are the result.
ok(1, 'benchmark completed');
done_testing();
