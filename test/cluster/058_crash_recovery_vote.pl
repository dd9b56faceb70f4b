# test/cluster/058_crash_recovery_vote.pl: a server in crash recovery does
# not vote (issue 10: the fault campaign's seed 216, which lost 1613
# acknowledged writes).
#
# A vote promises what the voter holds; a server in crash recovery knows
# that only once redo is done: before, the position it reports is how far
# redo has got.  Synchronous mode, three voters.  node3 is stopped, so the
# primary node1's commits are acknowledged by node2 alone; node1 writes a
# few hundred MB (a long redo) and the rows a client is told about, then
# crashes (immediate shutdown); node2 stops.  node3, behind, starts and
# campaigns; node1 starts and replays.  node1 must not elect node3 while it
# replays: the leader must be node1, with every acknowledged row.  Before,
# node1 voted for node3 in the middle of its redo.

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
$node3->stop('immediate');
$node1->safe_psql('postgres', "INSERT INTO big SELECT g, repeat('x', 400) FROM generate_series(1, 700000) g");
$node1->safe_psql('postgres', 'INSERT INTO acked SELECT generate_series(1, 100)');
is(query($node1, 'SELECT count(*) FROM acked'), '100', 'node1 acknowledged 100 rows (node2 holds them)');
$node1->stop('immediate');
$node2->stop('fast');

my $off1 = log_offset($node1);
$node3->start;
$node1->start;
like(slurp_file($node1->logfile, $off1), qr/redo done/, 'node1 went through crash recovery');
my ($leader) = wait_for_leader([ $node1, $node3 ], $fail_s);
is($leader && $leader->name, 'node1', 'node1, which holds the acknowledged rows, leads; node3 was not elected');
ok(!promoted_itself($node3), 'node3 never promoted itself');
ok(defined wait_for_query($leader, 'SELECT count(*) FROM acked', '100', $fail_s),
	'the leader has every acknowledged row') if $leader;

stop_all(@nodes);
done_testing();
