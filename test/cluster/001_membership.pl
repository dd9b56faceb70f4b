# test/cluster/001_membership.pl: gossip membership on real servers.
#
# A primary and two streaming standbys, all loading pg_quorum with the same
# key, find each other; every server shows the right roles, timelines and
# WAL positions; a kill -9 of one server makes the others declare it dead;
# its restart brings it back alive with a higher incarnation.  Time bounds
# are generous (the benchmarks measure the real figures).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $join_s  = 30;    # bound for servers to see each other, seconds
my $dead_s  = 60;    # bound for declaring a killed server dead
my $facts_s = 30;    # bound for gossiped metadata to reach everyone

my $key   = new_key();
my @names = qw(node1 node2 node3);
my @ports = free_gossip_ports(3);
sub peers_of { my ($i) = @_; return [ map { $ports[$_] } grep { $_ != $i } 0 .. 2 ]; }

# The primary, with the extension created before the base backup so that
# the standbys have it too.
my $primary = new_quorum_node(
	'node1',
	allows_streaming => 1,
	key              => $key,
	port             => $ports[0],
	peers            => peers_of(0));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pg_quorum');
$primary->backup('base');

my @nodes = ($primary);
for my $i (1, 2)
{
	my $standby = PostgreSQL::Test::Cluster->new($names[$i]);
	$standby->init_from_backup($primary, 'base', has_streaming => 1);
	write_key($standby, $key);
	quorum_conf(
		$standby,
		name  => $names[$i],
		port  => $ports[$i],
		peers => peers_of($i));
	$standby->start;
	push @nodes, $standby;
}
$primary->wait_for_catchup($_) for @nodes[ 1, 2 ];

my $nodes_sql =
  "SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes";

# Everyone sees everyone alive.
for my $node (@nodes)
{
	my $took = wait_for_query($node, $nodes_sql,
		'node1:alive,node2:alive,node3:alive', $join_s);
	ok(defined $took, $node->name . ' sees all three servers alive');
	note(sprintf('%s: all alive after %.2f s', $node->name, $took // -1));
}

# Each server knows which row is itself, and says so in quorum.status.
for my $i (0 .. 2)
{
	my $node = $nodes[$i];
	is(query($node, 'SELECT name FROM quorum.nodes WHERE is_self'),
		$names[$i], "$names[$i]: its own row is marked is_self");
	ok( defined wait_for_query(
			$node,
			'SELECT node_name, cluster, members_alive, members_suspect, '
			  . 'members_dead, worker_running FROM quorum.status',
			"$names[$i]|pg_quorum|3|0|0|t", $facts_s),
		"$names[$i]: quorum.status shows itself and three alive members");
	is( query(
			$node,
			"SELECT address FROM quorum.nodes WHERE name = '$names[$i]'"),
		"127.0.0.1:$ports[$i]",
		"$names[$i]: its address is its gossip address");
}

# Roles are gossiped: the primary says primary, the standbys standby.
for my $node (@nodes)
{
	ok( defined wait_for_query(
			$node,
			"SELECT string_agg(name || ':' || role, ',' ORDER BY name) FROM quorum.nodes",
			'node1:primary,node2:standby,node3:standby',
			$facts_s),
		$node->name . ' sees node1 as primary and node2, node3 as standbys');
}

# WAL positions are gossiped: after new WAL has been replayed everywhere,
# every server sees all three at or past it, on timeline 1, and none past
# the primary's own WAL position.
$primary->safe_psql('postgres',
	'CREATE TABLE filler AS SELECT g FROM generate_series(1, 10000) g');
my $lsn = $primary->lsn('insert');
$primary->wait_for_catchup($_, 'replay', $lsn) for @nodes[ 1, 2 ];
for my $node (@nodes)
{
	ok( defined wait_for_query(
			$node,
			"SELECT count(*) FROM quorum.nodes WHERE lsn >= '$lsn' AND timeline = 1",
			'3', $facts_s),
		$node->name . " sees all three servers at or past $lsn on timeline 1");
}
is( query(
		$primary,
		'SELECT bool_and(lsn <= pg_current_wal_insert_lsn()) FROM quorum.nodes'),
	't',
	'no server claims a WAL position past the primary\'s');

# kill -9 of node3's postmaster: the others declare it dead.
my $victim = $nodes[2];
my $inc_before =
  query($primary, "SELECT incarnation FROM quorum.nodes WHERE name = 'node3'");
like($inc_before, qr/^\d+$/, "node3's incarnation is known ($inc_before)");
$victim->kill9;
for my $node (@nodes[ 0, 1 ])
{
	my $took = wait_for_query($node,
		"SELECT state FROM quorum.nodes WHERE name = 'node3'",
		'dead', $dead_s);
	ok(defined $took, $node->name . ' declares the killed node3 dead');
	note(sprintf('%s: node3 dead after %.2f s', $node->name, $took // -1));
	is( query(
			$node,
			"SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes WHERE name <> 'node3'"
		),
		'node1:alive,node2:alive',
		$node->name . ' still sees the two live servers alive');
	is( query(
			$node,
			"SELECT count(*) > 0 FROM quorum.events WHERE node = 'node3' AND event = 'dead'"
		),
		't',
		$node->name . ' records node3\'s death in quorum.events');
}

# Restart node3 (crash recovery): it comes back alive, with a higher
# incarnation, and it is still a standby.
ok(defined wait_processes_gone($victim, 30),
	'every process of the killed node3 exits');
$victim->start;
for my $node (@nodes)
{
	ok( defined wait_for_query(
			$node,
			"SELECT state || ' ' || (incarnation > $inc_before)::text || ' ' || role "
			  . "FROM quorum.nodes WHERE name = 'node3'",
			'alive true standby', $join_s),
		$node->name
		  . ' sees the restarted node3 alive again, with a higher incarnation');
}
ok(defined wait_for_query($victim, $nodes_sql,
		'node1:alive,node2:alive,node3:alive', $join_s),
	'the restarted node3 sees all three servers alive');

$_->stop for @nodes;
done_testing();
