# test/cluster/052_stop_without_handover.pl: a clean stop of the leader
# that must not hand over (issue 11, part 3).
#
# Three voters in synchronous mode, production settings, a workload writing
# to every server throughout.  pg_ctl stop -m fast of the leader stops it
# as before, without a hand-over and with a fast (not an immediate)
# shutdown, and its log says why:
#
#   1. failover paused with quorum.pause(): nobody is promoted and no other
#      server acknowledges a write until quorum.resume(); then a standby
#      takes over and node1 rejoins;
#   2. synchronous mode degraded (replication to the leader cut, commits
#      acknowledged that no standby holds): the leader paused failover to
#      degrade, so that is the reason its log gives; nobody is promoted, and
#      once it is started again with replication healed and failover
#      resumed it leads again.
#
# In both, pg_quorum_rejoin, which the service manager runs before each
# start, must not wait for another leader: while failover is paused nobody
# else is elected.  It leaves the directory as it was at once (before, it
# waited 6 s for a leader; 053 has the kill -9, where it waited 30 s).
#
# No acknowledged write is missing anywhere (PgQuorum::History).  Run it
# through scripts/sandbox.sh (make check-cluster): part 2 cuts replication
# with nftables.

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

my $fail_s  = 30;
my $watch_s = 6;    # several election timeouts (1.2-1.6 s each)
my $now = \&PgQuorum::Workload::now;

my $problem = nft_problem();
is($problem, undef, 'nft can manage rules in this network namespace')
  or give_up("nftables unusable here ($problem); run the tests through scripts/sandbox.sh");

my $c = new_failover_cluster();
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

my ($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1, the primary, is the first leader');
give_up('no first leader', @nodes) unless $leader;

my $wl = PgQuorum::Workload->start(
	nodes => \@nodes,
	file  => "$PostgreSQL::Test::Utils::tmp_check/workload_052.tsv");
ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

# stop_unhanded($node, $why_re, @rest): pg_ctl stop -m fast of the leader
# $node, which must not hand over: its log gives the reason $why_re, the
# shutdown stays a fast one, and for $watch_s none of @rest is promoted or
# acknowledges a write.
sub stop_unhanded
{
	my ($node, $why_re, @rest) = @_;
	my $name = $node->name;
	my $offset = log_offset($node);
	my $t_stop = $now->();
	$node->stop('fast');
	my $log = slurp_file($node->logfile, $offset);
	like($log,
		qr/pg_quorum stops without handing the leadership over\n.*DETAIL:  $why_re/,
		"$name says why it stops without a hand-over");
	unlike($log, qr/hands the leadership over to the best standby|handed the leadership over/,
		"$name began no hand-over");
	like($log, qr/received fast shutdown request/, "$name stops with a fast shutdown");
	unlike($log, qr/received immediate shutdown request/,
		"$name does not switch to an immediate shutdown");

	my @wrong = watch_for($watch_s, sub {
			map {
				my $r = query($_, 'SELECT pg_is_in_recovery()');
				defined $r && $r eq 'f' ? $_->name . ' was promoted' : ''
			} @rest;
		});
	is_deeply(\@wrong, [], 'no other server is promoted after the stop of ' . $name);
	my @other = $wl->acked(server => [ map { $_->name } @rest ], done_after => $t_stop);
	is(scalar @other, 0, "no other server acknowledges a write after the stop of $name");
	return;
}

# --- 1. Failover paused: stop without a hand-over. -----------------------
$node1->safe_psql('postgres', 'SELECT quorum.pause()');
for my $node (@nodes)
{
	ok(defined wait_for_query($node, 'SELECT paused FROM quorum.status', 't', $fail_s),
		$node->name . ' knows that failover is paused');
}
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => $now->()),
	'node1 still acknowledges writes while paused');
stop_unhanded($node1, qr/Automatic failover is paused\./, $node2, $node3);
rejoin_paused($node1, $node2, $node3);

# Resumed on a standby (possible without a leader): one of them takes over.
ok(defined wait_until($fail_s, sub { defined query($node2, 'SELECT quorum.resume()') }),
	'quorum.resume() is accepted on node2');
my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s);
ok($new, 'after the resume node2 or node3 leads');
give_up('no leader after the resume', @nodes) unless $new;
my ($other) = grep { $_ != $new } $node2, $node3;
ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $now->()),
	$new->name . ' acknowledges writes');
my ($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($out);
$node1->start;
for my $node ($node1, $other)
{
	ok(defined wait_following($node, $new, $fail_s), $node->name . ' follows ' . $new->name);
}
ok(defined wait_for_query($new, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$new->name . ' is in synchronous mode');

# --- 2. Degraded: replication to the leader cut, then stopped. -----------
my @standbys = grep { $_ != $new } @nodes;
isolate_ports(tcp => [ $new->port ]);
my $t_cut = $now->();
# End its WAL senders, as a reset connection would (else they notice the
# silent cut only after wal_sender_timeout).
$new->safe_psql('postgres', 'SELECT pg_terminate_backend(pid) FROM pg_stat_replication');
ok(defined wait_for_query($new, 'SELECT mode, paused FROM quorum.status', 'degraded|t', 120),
	$new->name . ' pauses failover and degrades');
ok(defined $wl->wait_for($fail_s, sub {
			(grep { $_->{status} eq 'ok' && $_->{server} eq $new->name && $_->{sent} > $t_cut } @_) >= 20
		}),
	$new->name . ' acknowledges at least 20 commits that no standby holds');
is(query($new, 'SELECT count(*) FROM pg_stat_replication WHERE flush_lsn >= pg_current_wal_flush_lsn()'),
	'0', 'no standby has flushed every commit ' . $new->name . ' flushed')
  or diag(query($new, 'SELECT application_name, flush_lsn FROM pg_stat_replication'));
stop_unhanded($new, qr/Automatic failover is paused\./, @standbys);

# Back with replication healed and failover resumed: it leads again.
heal();
rejoin_paused($new, @standbys);
$new->start;
ok(defined wait_for_query($new, 'SELECT paused FROM quorum.status', 't', $fail_s),
	$new->name . ' restarts with failover still paused');
ok(defined wait_until($fail_s, sub { defined query($new, 'SELECT quorum.resume()') }),
	'quorum.resume() is accepted on ' . $new->name);
my ($again) = wait_for_leader(\@nodes, $fail_s);
is($again && $again->name, $new->name,
	$new->name . ', which holds every acknowledged commit, leads again');
give_up('no leader after the second resume', @nodes) unless $again;
ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $now->()),
	$new->name . ' accepts writes again');

# --- The history. --------------------------------------------------------
check_workload($wl, leader => $new, nodes => \@nodes, max_changes => 1);

stop_all(@nodes);
done_testing();
