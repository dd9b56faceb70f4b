# test/cluster/044_gossip_cut_sync.pl: a vote is a promise about the
# voter's WAL as it is when it votes (issue 9, H1).
#
# Synchronous mode, ANY 1 (node2, node3), fsync on, a write workload.  Only
# the gossip port of the leader node1 is cut (UDP), so replication (TCP)
# still flows: until its lease ends node1 commits, acknowledged by whichever
# standby flushes first, and that standby may be asked for its vote right
# after.  A voter that judges the candidate on an older sample of its WAL,
# or keeps flushing node1's WAL after it voted, elects a candidate without
# commits a client was told about.
#
# 1. Forced: node2 (priority 0: it votes but is never a candidate) holds
#    the WAL position the election sees (pg_quorum.test_hold_facts, a hook
#    for tests only); node3 is made to lag behind the commits node2 then
#    acknowledges (its WAL receiver stopped with SIGSTOP, once it holds
#    node2's held position).  Judged on that held sample, node3 looks as
#    good as node2 and would win without them.  node3 must not win until
#    its receiver runs again and it has caught up; then it must, and no
#    acknowledged write may be missing (history checker).
# 2. Random: the same cut without the hook; the history checker judges.

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

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;

my $problem = nft_problem();
is($problem, undef, 'nft can manage rules in this network namespace')
  or give_up("nftables unusable here ($problem); run the tests through scripts/sandbox.sh");

# The leader that node2 and node3 agree on, or undef.
sub agreed_leader
{
	my @st = map { cluster_status($_) } @_;
	return undef if grep { !$_ || !defined $_->{leader} } @st;
	my %names = map { $_->{leader} => 1 } @st;
	return keys %names == 1 ? (keys %names)[0] : undef;
}

# --- 1. Forced: a stale sample on purpose. --------------------------------
{
	my $c = new_failover_cluster(
		extra     => "fsync = on\n",
		node_extra => [ '', "pg_quorum.priority = 0\n", '' ]);
	my @nodes = @{ $c->{nodes} };
	my ($node1, $node2, $node3) = @nodes;

	my $wl = PgQuorum::Workload->start(
		nodes => \@nodes,
		file  => "$PostgreSQL::Test::Utils::tmp_check/workload_044_forced.tsv");
	ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

	# node2's election sample stops moving.
	my $off = log_offset($node2);
	$node2->append_conf('postgresql.conf', "pg_quorum.test_hold_facts = on\n");
	$node2->reload;
	$node2->wait_for_log(qr/test_hold_facts: the election sees this server's WAL at ([0-9A-F]+\/[0-9A-F]+)/, $off);
	my ($held) = slurp_file($node2->logfile, $off) =~ /test_hold_facts: the election sees this server's WAL at ([0-9A-F]+\/[0-9A-F]+)/;
	note("node2's election sample is held at $held");

	# node3 holds at least that much, then takes no more WAL.
	ok(defined wait_for_query($node3, "SELECT pg_last_wal_receive_lsn() >= '$held'", 't', $fail_s),
		'node3 has received what node2\'s held sample says');
	my $rcv = query($node3, 'SELECT pid FROM pg_stat_wal_receiver');
	ok($rcv, "node3's WAL receiver runs (pid $rcv)");
	kill 'STOP', $rcv;

	# Only node1's gossip port is cut; its replication to node2 flows.
	isolate_ports(udp => [ $c->{gossip}[0] ]);
	my $t_cut = $now->();

	# node2 acknowledges node1's commits until the lease ends; node3 asks
	# for votes.  For longer than an election takes, node3 must not win.
	my @bad = watch_for(8, sub {
			my $st = cluster_status($node3);
			return $st && defined $st->{leader} && $st->{leader} eq 'node3'
			  ? 'node3 leads while it lacks commits node2 acknowledged' : '';
		});
	my $acked_after = () = $wl->acked(server => 'node1', sent_after => $t_cut);
	note("node1 acknowledged $acked_after writes after the cut");
	ok($acked_after > 0, 'node1 had commits acknowledged after the cut (node2 alone held them)');
	is_deeply(\@bad, [], 'node3 is not elected on node2\'s stale sample');

	# node3 catches up from node1 and is elected.
	kill 'CONT', $rcv;
	my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
	is($new && $new->name, 'node3', 'node3 leads once it has caught up');
	give_up('no failover', @nodes) unless $new;
	ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut),
		$new->name . ' accepts writes');
	ok(defined $wl->wait_for($fail_s, sub { (grep { $_->{status} eq 'ok' } @_) > 150 }),
		'the workload goes on writing on ' . $new->name);
	check_workload($wl, leader => $new, nodes => [ $node2, $node3 ], max_changes => 1);

	heal();
	stop_all(@nodes);
	# The second cluster reuses the names: keep these data directories apart.
	for my $node (@nodes)
	{
		rename($node->basedir, $node->basedir . '_forced')
		  or die 'cannot rename ' . $node->basedir . ": $!\n";
	}
}

# --- 2. The same cut, at a random moment. ---------------------------------
{
	my $c = new_failover_cluster(extra => "fsync = on\n");
	my @nodes = @{ $c->{nodes} };
	my ($node1, $node2, $node3) = @nodes;

	my $wl = PgQuorum::Workload->start(
		nodes => \@nodes,
		file  => "$PostgreSQL::Test::Utils::tmp_check/workload_044_random.tsv");
	ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

	isolate_ports(udp => [ $c->{gossip}[0] ]);
	my $t_cut = $now->();
	my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
	ok($new, 'node2 and node3 elect a new leader while node1\'s replication still flows');
	give_up('no failover', @nodes) unless $new;
	ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut),
		$new->name . ' accepts writes');
	my $other = $new == $node2 ? $node3 : $node2;
	ok(defined wait_for_query($other,
			"SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' AND conninfo LIKE '%port=" . $new->port . "%'",
			'1', $fail_s),
		$other->name . ' streams from ' . $new->name . ' after its vote');
	ok(defined $wl->wait_for($fail_s, sub { (grep { $_->{status} eq 'ok' } @_) > 150 }),
		'the workload goes on writing on ' . $new->name);
	check_workload($wl, leader => $new, nodes => [ $node2, $node3 ], max_changes => 1);

	heal();
	stop_all(@nodes);
}

done_testing();
