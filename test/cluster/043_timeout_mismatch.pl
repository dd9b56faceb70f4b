# test/cluster/043_timeout_mismatch.pl: election timeouts that differ
# between servers never let the old leader accept writes once another
# server has begun to (issue 9, H6).
#
# node1, the primary, runs pg_quorum.election_timeout = 3000ms, node2 and
# node3 1200ms, as during a rolling change of the setting.  A lease derived
# from node1's own timeout (about 2.6 s) would outlast node2's and node3's
# promise not to vote (1.2 s after the last heartbeat they heard): cut off,
# node1 kept acknowledging writes for 1.3 s after the new leader began to.
# Each voter's answer to a heartbeat now carries its own timeout, and the
# lease is only as long as a majority's own promises allow.
# Asynchronous mode (nothing but the lease stops node1's commits), fsync on,
# a workload writing to all three servers; node1's gossip port is cut (its
# replication is not).  No two servers may have their commit fence open at
# once (watched in SQL, so a slow promotion of the new leader cannot hide
# an overlap of leases), the history checker (PgQuorum::History) must see
# one change of writable server and no write acknowledged on the old
# timeline after one on the new, and node1 must acknowledge no write after
# the new leader acknowledged one.

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

my $c = new_failover_cluster(
	synchronous => 0,
	node_extra  => [
		"pg_quorum.election_timeout = '3000ms'\n",
		"pg_quorum.election_timeout = '1200ms'\n",
		"pg_quorum.election_timeout = '1200ms'\n"
	]);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };

is(query($node1, 'SHOW pg_quorum.election_timeout'), '3s', 'node1 runs election_timeout 3000ms');
is(query($node2, 'SHOW pg_quorum.election_timeout'), '1200ms', 'node2 runs 1200ms');
ok(defined wait_for_query($node1, 'SELECT mode FROM quorum.status', 'async', $fail_s),
	'node1 leads in asynchronous mode');

my $wl = PgQuorum::Workload->start(
	nodes     => \@nodes,
	clients   => 2,
	txn_every => 3,
	file      => "$PostgreSQL::Test::Utils::tmp_check/workload_043.tsv");
ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');
# Let a few rounds of heartbeats (and so the others' promises) reach node1.
ok( defined $wl->wait_for($fail_s,
		sub { 50 <= grep { $_->{status} eq 'ok' && $_->{server} eq 'node1' } @_ }),
	'node1 acknowledged 50 writes');

# --- Cut node1's gossip; its replication flows on. ------------------------
my $t_cut = $now->();
isolate_ports(udp => [ $gossip[0] ]);

# The commit fences, watched for 4 s (past the 2.6 s a lease of node1's own
# timeout would last), whatever the promotion takes: node2 and node3 are
# asked first and node1 after, so a node1 still open when a newer leader
# already was is a real overlap of leases, never an artefact of the order.
my $overlap_at;
my @both_open = watch_for(
	4,
	sub {
		my @open = grep { (query($_, 'SELECT fenced FROM quorum.status') // '') eq 'f' }
		  ($node2, $node3);
		return '' unless @open;
		return '' unless (query($node1, 'SELECT fenced FROM quorum.status') // '') eq 'f';
		$overlap_at //= $now->() - $t_cut;
		return $open[0]->name . ' and node1 both had their commit fence open';
	});
is_deeply(\@both_open, [], 'never two servers with their commit fence open at once')
  or diag(sprintf('first seen %.2f s after the cut', $overlap_at));

my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'node2 and node3 elect a new leader') or give_up('no failover', @nodes);
my $first = $wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut);
ok($first, $new->name . ' accepts writes') or give_up('no write on the new leader', @nodes);
note(sprintf('%s acknowledged its first write %.2f s after the cut (%s)',
		$new->name, $first->{done} - $t_cut, 'on a shared, loaded machine'));

is(query($node1, 'SELECT fenced FROM quorum.status'), 't', 'node1 is fenced');
ok( defined $wl->wait_for($fail_s,
		sub { 20 <= grep { $_->{status} eq 'ok' && $_->{server} eq $new->name } @_ }),
	$new->name . ' acknowledged 20 writes');

my @records = $wl->stop;
my @acked = grep { $_->{status} eq 'ok' } @records;
my ($last1) = sort { $b->{done} <=> $a->{done} } grep { $_->{server} eq 'node1' } @acked;
note(sprintf('node1 acknowledged its last write %.3f s %s the new leader its first',
		abs($last1->{done} - $first->{done}), $last1->{done} > $first->{done} ? 'after' : 'before'));
my @late = grep { $_->{server} eq 'node1' && $_->{done} > $first->{done} } @acked;
is(scalar @late, 0, 'node1 acknowledged no write after ' . $new->name . ' acknowledged one')
  or diag(join("\n", map { sprintf('write %d sent %.3f done %.3f', $_->{id}, $_->{sent}, $_->{done}) } @late));

# Asynchronous mode promises nothing about the writes node1 acknowledged
# just before the cut (final => undef); the checker judges the eras.
my $r = check_history(
	records     => \@records,
	rows        => { map { ($_->name => read_rows($_)) } @nodes },
	final       => undef,
	max_changes => 1);
note($r->{report});
is_deeply($r->{violations}, [],
	'history: one change of writable server, no refused write committed')
  or diag(join("\n", @{ $r->{violations} }));
is_deeply([ timeline_violations(@acked) ], [],
	'no write acknowledged on the old timeline after one on the new had completed');
ok(@acked > 100, sprintf('the workload got %d writes acknowledged', scalar @acked));

heal();
stop_all(@nodes);
done_testing();
