# test/cluster/059_stale_leader_hands_over.pl: a leader elected on a
# timeline older than another member's hands the leadership to that member
# when it runs again, and pg_quorum_rejoin does not rewind that member onto
# the older timeline (issue 10: the fault campaign's seed 218 at ab338e2).
#
# In seed 218 (two servers and the witness, asynchronous) node2 led on
# timeline 2 and was killed; node1, still a primary on timeline 1, was
# elected again and stayed fenced, as it should ("member node2 is on
# timeline 2").  Then the service manager's pg_quorum_rejoin made node2 a
# standby of node1: pg_rewind rewound timeline 2 away, with the writes node2
# had acknowledged there, and node1, no longer outranked, wrote on timeline
# 1 (the checker: writes acknowledged on an older timeline after a write on
# a newer one had completed).
#
# Here the same state is made without timing.  node1 has
# pg_quorum.stop_deposed_primary = off, so that after quorum.failover('node2')
# it stays up, a fenced primary on timeline 1; node2 commits a row on
# its own timeline and is killed; node1 and the witness elect node1, which stays
# fenced.  Then:
# - pg_quorum_rejoin on node2 leaves it unchanged and says why (before, it
#   rewound it onto node1's timeline 1);
# - node2 starts, a primary deposed by node1, and keeps running; node1
#   hands the leadership to it (before, node1 became writable on timeline 1
#   and node2's row was gone);
# - node2 leads, writable, on its timeline with its row, and node1 rejoins as
#   its standby.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 30;

my $c = start_failover_test(
	fail_s      => $fail_s,
	servers     => 2,
	witness     => 1,
	synchronous => 0,
	extra       => "max_wal_size = '2GB'\n",
	node_extra  => [ "pg_quorum.stop_deposed_primary = off\n", '' ]);
my ($node1, $node2) = @{ $c->{nodes} };
my @nodes = ($node1, $node2);

my $rows_sql = "SELECT string_agg(who, ',' ORDER BY who) FROM t059";
my $tli_sql = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";
$node1->safe_psql('postgres', "CREATE TABLE t059 (who text); INSERT INTO t059 VALUES ('node1')");
ok(defined wait_following($node2, $node1, $fail_s), 'node2 follows node1');

# --- node2 leads on a timeline of its own; node1 stays up, a fenced primary. ----------
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok($ok, "quorum.failover('node2') succeeds") or diag($msg);
ok(defined wait_for_query($node2, 'SELECT NOT pg_is_in_recovery() AND NOT fenced FROM quorum.status', 't', $fail_s),
	'node2 is the writable primary');
ok(defined wait_until($fail_s, sub { (try_sql($node2, "INSERT INTO t059 VALUES ('node2')"))[0] }),
	'node2 commits a row');
# A promotion takes its leader's term as the timeline ID.
my $tli2 = query($node2, 'SELECT term FROM quorum.status');
is(query($node2, $tli_sql), $tli2, "node2 is on timeline $tli2, its term");
# A few hundred MB of WAL for node2's crash recovery to replay, so that it
# takes seconds.
$node2->safe_psql('postgres',
	"CREATE TABLE big (i int, pad text); INSERT INTO big SELECT g, repeat('x', 400) FROM generate_series(1, 700000) g");
is(query($node1, 'SELECT pg_is_in_recovery()'), 'f', 'node1 is still a primary');
ok(defined wait_for_query($node1, "SELECT timeline FROM quorum.nodes WHERE name = 'node2'", $tli2, $fail_s),
	'node1 has node2\'s timeline from gossip');

# --- node2 dies; node1 is elected again and stays fenced. --------------------
my $offset1 = log_offset($node1);
$node2->kill9;
ok(defined wait_processes_gone($node2, $fail_s), 'node2 is killed');
ok(defined wait_for_query($node1, 'SELECT leader FROM quorum.status', 'node1', $fail_s),
	'node1 and the witness elect node1');
ok( defined wait_until(
		$fail_s,
		sub {
			slurp_file($node1->logfile, $offset1) =~
			  /stays fenced: member "node2" is on timeline $tli2, past this primary's timeline 1/;
		}),
	'node1 stays fenced and says why');
assert_writes_refused($node1, 3, "INSERT INTO t059 VALUES ('node1 again')");

# --- node2's rejoin leaves it on its timeline; node1 hands over. -------------
my ($rc, $out) = rejoin($node2, $node1);
is($rc, 0, 'pg_quorum_rejoin on node2 succeeds') or diag($out);
like($out, qr/leader "node1" is on timeline 1, older than this server's timeline $tli2: leaving .* unchanged/,
	'and leaves node2 unchanged, saying why')
  or diag($out);
unlike($out, qr/pg_rewind/, 'without running pg_rewind') or diag($out);
ok(!-e $node2->data_dir . '/standby.signal', 'node2 was not made a standby');

# While node2 starts (crash recovery first: it was killed), node1 must not
# forget node2's timeline: node2 gossips no timeline until its recovery
# ends.  So node1 is written to all along.
my $offset2 = log_offset($node2);
my @accepted;
$node2->start;
my ($leader) = wait_for_leader(\@nodes, 2 * $fail_s, probe => sub {
	push @accepted, 1 if (try_sql($node1, "INSERT INTO t059 VALUES ('node1 again')"))[0];
});
is(scalar @accepted, 0, 'node1 accepted no write while node2 started and took over');
is($leader && $leader->name, 'node2', 'node2 leads again, writable')
  or give_up('node1 did not hand over', @nodes);
like(slurp_file($node1->logfile, $offset1),
	qr/leader "node1" hands the leadership to "node2", which is on timeline $tli2, past this primary's timeline 1/,
	'node1 says it hands the leadership to node2');
like(slurp_file($node2->logfile, $offset2),
	qr/keeps this deposed primary running: it is on timeline $tli2, past timeline 1 of the leader "node1"/,
	'node2, deposed by node1 until then, said it keeps running');
is(query($node2, $tli_sql), $tli2, "node2 is still on timeline $tli2");
is(query($node2, $rows_sql), 'node1,node2', 'node2 still has its row');
ok(defined wait_until($fail_s, sub { (try_sql($node2, "INSERT INTO t059 VALUES ('node2 again')"))[0] }),
	'node2 commits again');

# --- node1 rejoins as node2's standby. ---------------------------------------
$node1->stop('fast');
($rc, $out) = rejoin($node1, $node2);
is($rc, 0, 'pg_quorum_rejoin makes node1 a standby') or diag($out);
like($out, qr/pg_rewind/, 'rewinding its timeline 1') or diag($out);
$node1->start;
ok(defined wait_following($node1, $node2, $fail_s), 'node1 follows node2');
ok(defined wait_for_query($node1, $rows_sql, 'node1,node2,node2 again', $fail_s),
	'node1 has node2\'s rows');

stop_all(@nodes);
done_testing();
