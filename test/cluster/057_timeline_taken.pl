# test/cluster/057_timeline_taken.pl: a promotion never takes a timeline ID
# that another promotion took, even one nobody alive has heard of (issue
# 10: the fault campaign's seed 208, where two servers promoted from the
# same timeline to the same ID, each with WAL of its own, and nothing could
# tell the two timelines apart).
#
# PostgreSQL takes the ID after the newest history file in its own pg_wal.
# A leader killed before anyone streamed from it leaves its timeline's
# history file nowhere else, so the next leader promoted from the same
# timeline took the same ID.  pg_rewind then compares IDs only and rewinds
# nothing, and a standby of one replays the other's WAL from wherever its
# own ended.  Gossip about each member's timeline closed this only while
# someone had heard it; now a promotion takes its leader's term as the ID.
#
# Five voters, asynchronous.  node2's PostgreSQL port is cut (TCP), so no
# standby can stream from it; its own replication from node1 flows.
# quorum.failover('node2') makes it the leader, on the timeline of its
# term, and it commits a row no other server receives; node1, deposed,
# stops.  node3, node4 and node5 are stopped, node2 is killed, and the
# three are started again: what they heard about node2's timeline is gone,
# as if node2 had died before its gossip reached them.  They elect one of
# them, which must promote to the timeline of its term, past node2's.
# Healed, node2 and node1 rejoin through pg_quorum_rejoin (pg_rewind
# rewinds node2's timeline away) and follow; node2's row is on no server.
# Before, the new leader took node2's timeline ID, and pg_quorum_rejoin
# refused node2: a primary on the leader's timeline ID
# (055_rejoin_timeline_collision.pl); before that check, it found "no
# rewind required".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;

my $fail_s = 30;

my $c = start_failover_test(
	fail_s      => $fail_s,
	nft         => 1,
	servers     => 5,
	synchronous => 0);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3, $node4, $node5) = @nodes;
my @rest = ($node3, $node4, $node5);
my $tli_sql = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";

$node1->safe_psql('postgres', 'CREATE TABLE rows (who text)');
ok(defined wait_following($_, $node1, $fail_s), $_->name . ' follows node1') for ($node2, @rest);

isolate_ports(tcp => [ $node2->port ]);
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok($ok, "quorum.failover('node2') succeeds") or diag($msg);
ok(defined wait_for_query($node2, 'SELECT NOT pg_is_in_recovery() AND NOT fenced FROM quorum.status', 't', $fail_s),
	'node2 is the writable primary');
ok(defined wait_until($fail_s, sub { (try_sql($node2, "INSERT INTO rows VALUES ('node2')"))[0] }),
	'node2 commits a row of its own');
my $tli2 = query($node2, $tli_sql);
is($tli2, query($node2, 'SELECT term FROM quorum.status'), "node2 is on timeline $tli2, its term");
ok(defined wait_stopped($node1, $fail_s), 'node1, deposed, stops');

# What the others heard of node2's timeline goes with their workers; node2,
# alone, loses its lease, and is killed before they run again.
$_->stop('fast') for @rest;
$node2->kill9;
ok(defined wait_processes_gone($node2, $fail_s), 'node2 is killed');
$_->start for @rest;
my ($leader) = wait_for_leader(\@rest, $fail_s, not => 'node2');
ok($leader, 'node3, node4 and node5, started again, elect a leader');
give_up('no failover', @nodes) unless $leader;
is(query($leader, "SELECT coalesce((SELECT timeline::text FROM quorum.nodes WHERE name = 'node2'), 'none')"),
	'none', $leader->name . ' knows no timeline of node2\'s');
ok(defined wait_for_query($leader, 'SELECT NOT pg_is_in_recovery()', 't', $fail_s), $leader->name . ' is promoted');
my $tli = query($leader, $tli_sql);
my $term = query($leader, 'SELECT term FROM quorum.status');
ok($tli > $tli2 && $tli == $term, $leader->name . " takes timeline $tli, its term $term, past node2's $tli2");
ok(defined wait_until($fail_s, sub { (try_sql($leader, "INSERT INTO rows VALUES ('" . $leader->name . "')"))[0] }),
	$leader->name . ' accepts writes');

heal();
for my $node ($node2, $node1)
{
	my ($rc, $out) = rejoin($node, grep { $_ != $node2 && $_ != $node1 } @nodes);
	is($rc, 0, 'pg_quorum_rejoin makes ' . $node->name . ' a standby') or diag($out);
	unlike($out, qr/no rewind required/, 'rewinding node2\'s timeline') if $node == $node2;
	$node->start;
	ok(defined wait_following($node, $leader, $fail_s), $node->name . ' follows ' . $leader->name);
}
my $want = $leader->name;
for my $node (@nodes)
{
	next if $node == $leader;
	ok(defined wait_for_query($node, "SELECT string_agg(who, ',' ORDER BY who) FROM rows", $want, $fail_s),
		$node->name . " has $want\'s row and not node2\'s");
}

stop_all(@nodes);
done_testing();
