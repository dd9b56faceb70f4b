# test/cluster/041_sync_promise.pl: in synchronous mode no session can get
# a commit acknowledged that the required standbys do not hold (issue 9,
# H10).
#
# Three voters in synchronous mode (ANY 1 of the two standbys), fsync on,
# a workload writing to all three.  Replication to the primary node1 is
# cut with nftables (its PostgreSQL port; gossip untouched, so node1 keeps
# its lease and stays leader).  Then, on node1:
#   - a session with SET synchronous_commit = local inserts a row, which
#     PostgreSQL itself would acknowledge at once;
#   - a session with the default synchronous_commit inserts a row, and its
#     wait for the standbys is cancelled with pg_cancel_backend(), which
#     PostgreSQL answers with a WARNING and COMMIT.
# Neither may be acknowledged: no standby has them.  Then every process of
# node1 is killed with kill -9, node2 or node3 takes over, and every write
# that was acknowledged (these two, and the workload's, checked by the
# history checker) must be on the new primary.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;
use PgQuorum::Workload;
use PgQuorum::History;
use PgQuorum::Session;

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;

my $c = start_failover_test(nft => 1, workload => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my $wl = $c->{wl};

my $local = PgQuorum::Session->open($node1);
$local->send('SET synchronous_commit = local;');
my $cancelled = PgQuorum::Session->open($node1);

# --- Cut replication to node1; its gossip goes on. ------------------------
isolate_ports(tcp => [ $node1->port ]);
my $t_cut = $now->();

# synchronous_commit = local.
$local->send("INSERT INTO pgq_history (id, server, sent) VALUES (-41, 'node1', 0) RETURNING 'ok local';");
my $local_how = $local->wait_answer(3, qr/ok local/);
is($local_how, undef,
	'a commit under synchronous_commit = local is not acknowledged while no standby can flush it');

# A cancelled wait for the standbys.
$cancelled->send("INSERT INTO pgq_history (id, server, sent) VALUES (-42, 'node1', 0) RETURNING 'ok cancelled';");
ok( defined wait_for_query($node1,
		"SELECT wait_event FROM pg_stat_activity WHERE pid = $cancelled->{pid}", 'SyncRep', $fail_s),
	'the second commit waits for the synchronous standbys');
is(query($node1, "SELECT pg_cancel_backend($cancelled->{pid})"), 't', 'its wait is cancelled');
my $cancelled_how = $cancelled->wait_answer($fail_s, qr/ok cancelled/);
isnt($cancelled_how, 'answer', 'the cancelled commit is not acknowledged');
is($cancelled_how, 'lost', 'its session ends without an answer');
my (undef, $cancelled_err) = $cancelled->output;
note("the cancelled session's client: $cancelled_err");
unlike($cancelled_err, qr/ERROR/, 'and without an error for a transaction that committed');
is(cluster_status($node1)->{leader}, 'node1', 'node1 still leads (its gossip is untouched)');

# --- kill -9 of node1, failover. -----------------------------------------
ok(kill_host($node1), 'node1 runs, and every process of it is killed');
ok(defined wait_processes_gone($node1, $fail_s), 'node1\'s processes are gone');
$local_how //= $local->wait_answer(10, qr/ok local/);
my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'node2 and node3 elect a new leader');
give_up('no failover', @nodes) unless $new;
ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut), $new->name . ' accepts writes');

# An acknowledged write must be on the new primary; one that was not may
# be there or not.
my $rows = PgQuorum::History::read_rows($new);
for my $case ([ 'synchronous_commit = local', $local_how, -41 ],
	[ 'cancelled wait', $cancelled_how, -42 ])
{
	my ($what, $how, $id) = @$case;
	ok(($how // '') ne 'answer' || exists $rows->{$id},
		"$what: no acknowledged commit missing on " . $new->name)
	  or diag("write $id was acknowledged by node1 but is not on " . $new->name);
	note("$what: " . ($how // 'no answer'));
}

# Enough history for the checker to judge.
ok(defined $wl->wait_for($fail_s, sub { (grep { $_->{status} eq 'ok' } @_) > 150 }),
	'the workload goes on writing on ' . $new->name);
check_workload($wl, leader => $new, nodes => [ $node2, $node3 ], max_changes => 1);

heal();
$_->close for ($local, $cancelled);
stop_all(@nodes);
done_testing();
