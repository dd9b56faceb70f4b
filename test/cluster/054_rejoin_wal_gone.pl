# test/cluster/054_rejoin_wal_gone.pl: pg_quorum_rejoin does not leave a
# rewound server that cannot get the WAL it must replay (issue 10: the
# fault campaign's seed 205, where the new leader had been rebuilt after
# the fork, so the old primary, rewound by pg_rewind without complaint,
# asked it for that WAL for ever and never started).
#
# Three voters, asynchronous, no replication slots, so that the new leader
# keeps no more WAL than wal_keep_size (128MB, as PgQuorum::Test sets it).
# node1, the primary, is killed with kill -9 (it diverges: its crash
# recovery writes WAL the others do not have).  Once another server leads,
# it switches WAL segments and checkpoints until the segment of the fork is
# gone from its pg_wal (more than wal_keep_size later).  Then pg_quorum_rejoin on node1:
# - without --rebuild it fails, says which segment is missing and to use
#   --rebuild, and does not make the directory a standby (before, it
#   succeeded and the started standby waited for that segment for ever);
# - with --rebuild it copies the leader, and node1 starts and follows it.

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
	extra       => "pg_quorum.replication_slots = off\n");
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

$node1->safe_psql('postgres', 'CREATE TABLE before_fork (i int); INSERT INTO before_fork VALUES (1)');
wait_following($_, $node1, $fail_s) for ($node2, $node3);
$node1->kill9;
ok(defined wait_processes_gone($node1, $fail_s), 'node1 is killed');
my ($leader) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($leader, 'another server leads');
give_up('no failover', @nodes) unless $leader;
my ($other) = grep { $_ != $leader } ($node2, $node3);

# The fork: where the timeline before the leader's ends, in its history.
my $tli = query($leader, 'SELECT timeline_id FROM pg_control_checkpoint()');
ok(defined wait_until($fail_s, sub {
			$leader->safe_psql('postgres', 'CHECKPOINT');
			$tli = query($leader, 'SELECT timeline_id FROM pg_control_checkpoint()');
			defined $tli && $tli > 1;
		}),
	$leader->name . ' is on a new timeline');
my $history = query($leader, sprintf("SELECT pg_read_file('pg_wal/%08X.history')", $tli)) // '';
my ($fork) = $history =~ /^\d+\s+([0-9A-F]+\/[0-9A-F]+)/mi;
ok($fork, "the fork is in the leader's history ($fork)");
my $fork_file = query($leader, "SELECT pg_walfile_name('$fork')");
ok( defined wait_until(
		$fail_s,
		sub {
			$leader->safe_psql('postgres',
				'CREATE TABLE IF NOT EXISTS after_fork (i int); INSERT INTO after_fork VALUES (1); '
				  . 'SELECT pg_switch_wal()');
			$leader->safe_psql('postgres', 'CHECKPOINT');
			query($leader, "SELECT count(*) FROM pg_ls_waldir() WHERE name = '$fork_file'") eq '0';
		}),
	"the fork's segment $fork_file is gone from " . $leader->name);
ok(defined wait_following($other, $leader, $fail_s), $other->name . ' follows ' . $leader->name);

# --- Without --rebuild: a clear failure, the directory not a standby. ------
my ($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 1, 'pg_quorum_rejoin fails: the leader no longer has the WAL the rewound directory needs')
  or diag($out);
like($out, qr/without WAL segment [0-9A-F]{24}.*--rebuild/s,
	'it names the missing segment and says to run it with --rebuild')
  or diag($out);
ok(!-e $node1->data_dir . '/standby.signal', 'node1 was not made a standby');

# --- With --rebuild: a copy of the leader, which starts and follows. -------
($rc, $out) = rejoin($node1, ['--rebuild'], $node2, $node3);
is($rc, 0, 'with --rebuild it succeeds') or diag($out);
like($out, qr/pg_basebackup/, 'by copying the leader with pg_basebackup') or diag($out);
$node1->start;
ok(defined wait_following($node1, $leader, $fail_s), 'node1 starts and follows ' . $leader->name);
is(query($node1, 'SELECT count(*) FROM after_fork') // 'none', query($leader, 'SELECT count(*) FROM after_fork'),
	'node1 has the rows written after the fork');

stop_all(@nodes);
done_testing();
