# test/cluster/055_rejoin_timeline_collision.pl: pg_quorum_rejoin does not
# make a standby of a primary whose timeline has the leader's timeline ID
# (issue 10: the fault campaign's seed 208 at dfb33ae).
#
# In seed 208, node2 won term 3, promoted to timeline 3 and was killed half
# a second later, before any other server had its history file; node3,
# elected in term 4, promoted to timeline 3 too (PostgreSQL takes the next
# ID that has no history file in its own pg_wal), from the same point of
# timeline 2.  pg_quorum_rejoin ran pg_rewind on node2, which compares
# timeline IDs only ("source and target cluster are on the same timeline",
# "no rewind required"), and made it a standby of node3.  It replayed its
# own timeline-3 WAL, then found no valid record in node3's where its own
# ended ("invalid record length"), started and stopped a WAL receiver at
# every retry, and never followed node3.  Had its own WAL ended on a record
# boundary of node3's, it would have replayed node3's WAL on top of writes
# node3 never had.
#
# A pg_quorum promotion now takes its term as the timeline ID, which no
# other promotion takes; a collision remains possible with a timeline made
# by hand, and this test makes one.  Three voters, asynchronous.  node2 is
# stopped and promoted with pg_quorum not loaded, onto the ID node3's term
# will have (history files for the IDs below make PostgreSQL take it; no
# other server gets node2's), writes a row of its own there, and is
# stopped at once (pg_rewind then runs crash recovery on it, as on the
# killed node2 of seed 208).  quorum.failover('node3') on node1 then makes
# node3 the leader on its own timeline of that ID; node1, with
# pg_quorum.stop_deposed_primary = off, stays up fenced and keeps node3's
# majority.  Then pg_quorum_rejoin on node2:
# - without --rebuild it fails, says why and to use --rebuild, and does not
#   make the directory a standby (before, it succeeded, and node2 started
#   and never followed node3);
# - with --rebuild it copies the leader, and node2 starts, follows node3,
#   and has node3's rows and not its own.

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
	synchronous => 0,
	node_extra  => [ "pg_quorum.stop_deposed_primary = off\n", '', '' ]);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

my $rows_sql = "SELECT string_agg(author, ',' ORDER BY i) FROM t055";
$node1->safe_psql('postgres',
	"CREATE TABLE t055 (i int, author text); INSERT INTO t055 VALUES (1, 'node1')");
ok(defined wait_following($_, $node1, $fail_s), $_->name . ' follows node1') for ($node2, $node3);

# --- node2 begins, on its own, the timeline node3 will begin. ---------------
# A pg_quorum promotion takes its leader's term as the timeline ID; node3
# leads the next term.  PostgreSQL takes the ID after the newest history
# file in pg_wal, so files for the IDs below make node2 take the same.
my $collide = query($node1, 'SELECT term FROM quorum.status') + 1;
$node2->stop('fast');
for my $tli (2 .. $collide - 1)
{
	open my $fh, '>', sprintf('%s/pg_wal/%08X.history', $node2->data_dir, $tli) or die $!;
	print $fh "# a timeline ID taken before this test\n";
	close $fh;
}
is( system_log('pg_ctl', '-w', '-t', '120', '-D', $node2->data_dir, '-l', $node2->logfile,
		'-o', "-c shared_preload_libraries='' -c primary_conninfo='' -c listen_addresses=''",
		'start'),
	0,
	'node2 starts without pg_quorum and without a primary');
$node2->_update_pid(1);
$node2->promote;
is(query($node2, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)'),
	sprintf('%08X', $collide), "node2 is promoted to timeline $collide");
$node2->safe_psql('postgres', "INSERT INTO t055 VALUES (2, 'node2')");
$node2->stop('immediate');

# --- node3 begins another timeline of that ID. -------------------------------
ok( defined wait_for_query(
		$node1, "SELECT state || ' ' || role FROM quorum.nodes WHERE name = 'node3'",
		'alive standby', $fail_s),
	'node1 sees node3 alive as a standby');
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node3')");
ok($ok, "quorum.failover('node3') on node1 succeeds") or diag($msg);
my ($leader) = wait_for_leader([ $node1, $node3 ], $fail_s);
is($leader && $leader->name, 'node3', 'node3 is the leader, out of recovery and unfenced')
  or give_up('no switchover to node3', @nodes);
ok( defined wait_until(
		$fail_s,
		sub {
			$node3->safe_psql('postgres', 'CHECKPOINT');
			(query($node3, 'SELECT timeline_id FROM pg_control_checkpoint()') // '') eq $collide;
		}),
	"node3 is on timeline $collide as well");
$node3->safe_psql('postgres', "INSERT INTO t055 VALUES (3, 'node3')");

# --- Without --rebuild: a clear failure, the directory not a standby. -------
my ($rc, $out) = rejoin($node2, $node1, $node3);
is($rc, 1, 'pg_quorum_rejoin fails: node2 began a timeline with the leader\'s ID')
  or diag($out);
like($out, qr/timeline $collide.*--rebuild/s, 'it names the timeline and says to run it with --rebuild')
  or diag($out);
ok(!-e $node2->data_dir . '/standby.signal', 'node2 was not made a standby');

# --- With --rebuild: a copy of the leader, which starts and follows. --------
($rc, $out) = rejoin($node2, ['--rebuild'], $node1, $node3);
is($rc, 0, 'with --rebuild it succeeds') or diag($out);
like($out, qr/pg_basebackup/, 'by copying the leader with pg_basebackup') or diag($out);
$node2->start;
ok(defined wait_following($node2, $node3, $fail_s), 'node2 starts and follows node3');
is(query($node2, $rows_sql) // 'none', 'node1,node3', 'node2 has node3\'s rows and not its own');

stop_all(@nodes);
done_testing();
