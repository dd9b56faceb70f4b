# test/cluster/060_restarted_standby_vote.pl: a standby started again does
# not vote until it has replayed the WAL in its own pg_wal (issue 10: the
# class of the fault campaign's seed 216, for a standby).
#
# A vote promises what the voter holds.  A standby that was stopped and
# started again replays its own pg_wal from its last restartpoint first,
# and until it has, the position it reports is how far that replay has got,
# not the end of the WAL it holds; its WAL receiver has taken nothing in
# yet.  Synchronous mode, three voters.  node3 streams node1's first few
# hundred MB, then its WAL receiver is frozen (SIGSTOP), so that the rows a
# client is told about next are acknowledged by node2 alone.  node1 is
# killed and node2 stopped; node3, up all along at the end of the big
# write, campaigns as soon as node1 is gone, and node2 is started again and
# replays the whole write from its own pg_wal (seconds).  node2 must not
# vote for node3 during that: the leader must be node2, with every
# acknowledged row.  Before, node2 voted for node3 in the middle of its
# replay, judged on how far replay had got.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 60;

my $c = start_failover_test(fail_s => $fail_s, extra => "max_wal_size = '2GB'\n");
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

$node1->safe_psql('postgres', 'CREATE TABLE big (i int, pad text); CREATE TABLE acked (i int)');
ok(defined wait_following($_, $node1, $fail_s), $_->name . ' follows node1') for ($node2, $node3);
$node1->safe_psql('postgres', "INSERT INTO big SELECT g, repeat('x', 400) FROM generate_series(1, 700000) g");
$node1->wait_for_catchup($_, 'replay', $node1->lsn('insert')) for ($node2, $node3);

my $receiver = query($node3, 'SELECT pid FROM pg_stat_wal_receiver');
ok($receiver, "node3's WAL receiver runs");
kill 'STOP', $receiver;
$node1->safe_psql('postgres', 'INSERT INTO acked SELECT generate_series(1, 100)');
is(query($node1, 'SELECT count(*) FROM acked'), '100', 'node1 acknowledged 100 rows (node2 holds them, node3 does not)');
is(query($node3, 'SELECT count(*) FROM acked'), '0', 'node3 has none of them');

$node1->stop('immediate');
$node2->stop('fast');
kill 'CONT', $receiver;

my $off2 = log_offset($node2);
$node2->start;
my ($leader) = wait_for_leader([ $node2, $node3 ], $fail_s);
like(slurp_file($node2->logfile, $off2), qr/redo starts at/, 'node2 replayed its own pg_wal on start');
is($leader && $leader->name, 'node2', 'node2, which holds the acknowledged rows, leads; node3 was not elected');
ok(!promoted_itself($node3), 'node3 never promoted itself');
ok(defined wait_for_query($leader, 'SELECT count(*) FROM acked', '100', $fail_s),
	'the leader has every acknowledged row') if $leader;

stop_all(@nodes);
done_testing();
