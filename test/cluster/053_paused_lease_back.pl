# test/cluster/053_paused_lease_back.pl: while failover is paused, the
# primary that led last takes its lease back after losing its majority for
# a while (issue 10: the fault campaign's seed 101 left a paused cluster
# with no writable server until an operator resumed failover).
#
# Three voters in synchronous mode, fsync on, a write workload.
# quorum.pause() on node1, the leader.  node2 and node3 are stopped: node1
# loses its lease and refuses writes.  They are started again: node1, still
# the primary and the last leader, leads again in a newer term and
# acknowledges writes, while failover stays paused and neither standby is
# promoted.  No acknowledged write is lost (history checker).  Then every
# process of node1 is killed with kill -9, as a lost host goes (the worker
# first, so that it cannot resign): with failover paused nobody else takes
# over, which is what a pause is for.  The service manager's
# pg_quorum_rejoin leaves it a primary at once, since nobody else can be
# elected (before, it waited while the peers still named node1 their
# leader, then 6 s more: the fault campaign's seed 221), and started again
# node1 leads and writes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Workload;

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;

my $c = start_failover_test(workload => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my $wl = $c->{wl};

ok(defined query($node1, 'SELECT quorum.pause()'), 'quorum.pause() on node1');
for my $node (@nodes)
{
	ok(defined wait_for_query($node, 'SELECT paused FROM quorum.status', 't', $fail_s),
		$node->name . ' knows that failover is paused');
}

# --- The majority gone: node1 loses its lease. ----------------------------
$_->stop('fast') for ($node2, $node3);
ok(defined wait_for_query($node1, 'SELECT fenced FROM quorum.status', 't', $fail_s),
	'node1 is fenced once node2 and node3 are down');
assert_writes_refused($node1, 3, 'CREATE TABLE paused_probe ()');

# --- They come back: node1 leads again, still paused. ---------------------
my $t_back = $now->();
$_->start for ($node2, $node3);
my ($leader, $term) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1, the primary that led last, leads again');
give_up('no leader after the standbys came back', @nodes) unless $leader;
cmp_ok($term, '>', $c->{term}, 'in a newer term');
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => $t_back),
	'node1 acknowledges writes again');
for my $node (@nodes)
{
	is(query($node, 'SELECT paused FROM quorum.status'), 't',
		$node->name . ': failover is still paused');
}
for my $node ($node2, $node3)
{
	is(query($node, 'SELECT pg_is_in_recovery()'), 't', $node->name . ' is still a standby');
}
ok(defined wait_for_query($node2, 'SELECT count(*) > 0 FROM pg_stat_wal_receiver', 't', $fail_s)
	  && defined wait_for_query($node3, 'SELECT count(*) > 0 FROM pg_stat_wal_receiver', 't', $fail_s),
	'node2 and node3 stream from node1 again');
ok(defined $wl->wait_for($fail_s, sub { (grep { $_->{status} eq 'ok' && $_->{sent} > $t_back } @_) > 50 }),
	'the workload goes on writing on node1');
check_workload($wl, leader => $node1, nodes => \@nodes, max_changes => 0);

# --- Paused still means paused: node1 killed, nobody takes over. ----------
kill_host($node1);
ok(defined wait_processes_gone($node1, $fail_s), 'node1\'s processes are gone');
rejoin_paused($node1, $node2, $node3);
my @promoted = promotions(8, $node2, $node3);
is_deeply(\@promoted, [], 'neither node2 nor node3 is promoted while paused');
$node1->start;
($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1 leads again after its restart');
ok(defined wait_until($fail_s, sub { defined query($node1, 'CREATE TABLE after_restart ()') }),
	'node1 accepts writes again, failover still paused');

stop_all(@nodes);
done_testing();
