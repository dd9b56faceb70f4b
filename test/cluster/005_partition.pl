# test/cluster/005_partition.pl: a partition isolates the primary.
#
# Three voters in synchronous mode with a workload writing to all three
# over Unix sockets (which no rule touches).  nftables rules inside the
# sandbox's private network namespace (PgQuorum::Net) drop all gossip to
# and from node1's gossip port and all replication to and from its
# PostgreSQL port.  The isolated node1 fences itself and commits nothing;
# the majority (node2, node3) elects a leader that accepts writes.  After
# the partition heals, node1 learns of the new leader and shuts itself down
# (pg_quorum.stop_deposed_primary, on by default); its data, read back
# without letting it write, holds no refused write; pg_quorum_rejoin makes
# it a standby of the new leader.  The history checker then finds every
# acknowledged write everywhere and exactly one change of writable server.

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

my $fail_s = 30;    # bound for a failover, a rejoin, a catch-up

# The partition mechanism must work here before anything relies on it:
# scripts/sandbox.sh gives the tests CAP_NET_ADMIN in a private network
# namespace.  Without it this test fails, saying why; it does not skip.
my $problem = nft_problem();
is($problem, undef, 'nft can manage rules in this network namespace')
  or give_up("nftables unusable here ($problem); run the tests through scripts/sandbox.sh");
is(nft_udp_self_check(), undef,
	'an nftables cut drops UDP both ways between two ports on 127.0.0.1, and heals');

my $c = new_failover_cluster();
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };
my $now = \&PgQuorum::Workload::now;

my ($leader, $term) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1, the primary, is the first leader');

my $wl = PgQuorum::Workload->start(
	nodes => \@nodes,
	file  => "$PostgreSQL::Test::Utils::tmp_check/workload_005.tsv");
ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

# --- Isolate node1. -------------------------------------------------------
my $t_cut = $now->();
isolate_ports(udp => [ $gossip[0] ], tcp => [ $node1->port ]);
my ($new, $term2, $took) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'the majority elects a leader');
give_up('no failover in the majority', @nodes) unless $new;
note(sprintf('%s leader in term %s, %.2f s after the cut', $new->name, $term2, $took));
ok($term2 > $term, "in a higher term ($term2 > $term)");
my $first = $wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut);
ok($first, $new->name . ' accepts the workload\'s writes');
note(sprintf('first write acknowledged by %s %.3f s after the cut',
		$new->name, $first->{done} - $t_cut)) if $first;
my ($other) = grep { $_ != $new } ($node2, $node3);
ok(defined wait_following($other, $new, $fail_s), $other->name . ' follows ' . $new->name);

# node1, cut off, is fenced and commits nothing.
ok( defined wait_until($fail_s, sub { my $st = cluster_status($node1); $st && $st->{fenced} }),
	'the isolated node1 is fenced');
is(query($node1, 'SELECT pg_is_in_recovery()'), 'f', 'node1 is still a primary (it cannot know better)');
my ($ok, $state, $msg) = try_sql($node1, "INSERT INTO pgq_history VALUES (-1, 'probe', 0)");
ok(!$ok, 'node1 refuses a direct write');
is($state, '25006', 'with SQLSTATE 25006') or diag($msg);
# For longer than a lease, every write node1 is asked for fails.  (The
# workload's own session to node1 may instead hang: a commit that passed
# the fence just before the lease ran out waits for a synchronous standby
# that can no longer answer, and is never acknowledged.)
assert_writes_refused($node1, 3, "INSERT INTO pgq_history VALUES (-2, 'probe', 0)");
my $t_last = $wl->first_ack(server => 'node1', sent_after => $t_cut);
ok(!$t_last || $t_last->{sent} - $t_cut < 2,
	'node1 acknowledged no write sent more than 2 s after the cut (the lease ends sooner)')
  or diag("node1 acknowledged write $t_last->{id}, sent " . ($t_last->{sent} - $t_cut) . ' s after the cut');
my $partition_rows = PgQuorum::History::read_rows($node1);
ok($partition_rows, 'node1\'s rows can be read during the partition');
my $dropped = nft_dropped();
ok($dropped > 0, "the cut dropped packets ($dropped)");

# --- Heal. ----------------------------------------------------------------
heal();
# An immediate shutdown: it does not wait for WAL senders whose connections
# the cut left half open.
my $stopped = wait_stopped($node1, $fail_s);
ok(defined $stopped, 'after the partition heals, the deposed node1 shuts itself down');
give_up('node1 did not stop', @nodes) unless defined $stopped;
note(sprintf('node1 stopped %.2f s after healing', $stopped));
cmp_ok($stopped, '<', 10, 'within 10 s of the heal');
my $offline_rows = read_rows_offline($node1);
my ($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($out);
note($out);
$node1->start;
ok(defined wait_following($node1, $new, $fail_s), 'node1 follows ' . $new->name);
ok(defined wait_for_query($new, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$new->name . ' is in synchronous mode');
# Its WAL receiver streams from the conninfo pg_quorum_rejoin wrote; its
# worker knows the leader only once a heartbeat of the new term reaches it.
ok(defined wait_for_query($node1, 'SELECT leader FROM quorum.status', $new->name, $fail_s),
	'node1 knows the new leader');

check_workload($wl,
	leader      => $new,
	nodes       => \@nodes,
	rows        => {
		'node1 (during the partition)'     => $partition_rows,
		'node1 (deposed, before rejoining)' => $offline_rows
	},
	max_changes => 1);

stop_all(@nodes);
done_testing();
