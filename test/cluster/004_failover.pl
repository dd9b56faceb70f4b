# test/cluster/004_failover.pl: automatic failover on real servers.
#
# Three voters (node1 primary, node2 and node3 standbys) in synchronous
# mode, with a workload writing to all three throughout (PgQuorum::Workload)
# and an independent checker of its history at the end (PgQuorum::History):
#
# 1. SIGSTOP of the whole primary for 1 s, default settings: no failover at
#    all (same leader, same term everywhere; writes resume on it).
# 2. kill -9 of the primary: exactly one standby becomes a writable
#    primary, the other follows it; the old primary rejoins as a standby
#    with pg_quorum_rejoin.
# 3. SIGSTOP of the new primary for longer than the election timeout: the
#    others elect a leader; after SIGCONT the old one is fenced (it stays
#    up: pg_quorum.stop_deposed_primary = off for it), refuses writes with
#    SQLSTATE 25006 and commits nothing; it then rejoins as a standby.
# 4. quorum.forget() refuses the running old primary, then, once it is
#    stopped, removes it from the voters and from quorum.nodes everywhere.
# 5. Started again, it is a member that does not vote, until
#    quorum.add_voter() makes it a voter again.
#
# At the end no acknowledged write is missing on any server, no refused
# write committed anywhere, and the history forces no more than the two
# changes of writable server the test caused.  Time bounds are generous;
# test/bench/failover.pl measures.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::History;

my $fail_s  = 30;    # bound for a failover, a rejoin, a catch-up
my $watch_s = 4;     # watch for a false failover (> the 1.6 s election timeout)

my $c = start_failover_test(workload => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my ($term, $wl) = @$c{qw(term wl)};
my $now = \&PgQuorum::Workload::now;

is($wl->first_ack(server => [ 'node2', 'node3' ]), undef,
	'the standbys refuse the workload\'s writes');

# --- 1. A 1 s SIGSTOP of the primary causes no failover. ---------------
my $t_stop = $now->();
freeze($node1);
# The fault itself lasts 1 s (a pause, not a synchronization).
Time::HiRes::sleep(1 - ($now->() - $t_stop));
thaw($node1);
my $t_cont = $now->();
note(sprintf('node1 stopped for %.3f s', $t_cont - $t_stop));
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => $t_cont),
	'writes resume on node1 after SIGCONT');

my @changed = leader_changes(\@nodes, 'node1', $term, $watch_s);
is(join('; ', @changed), '', "for ${watch_s}s after SIGCONT, node1 stays leader in term $term everywhere");
is($wl->first_ack(server => [ 'node2', 'node3' ]), undef, 'no standby accepted a write');
is(query($node1, "SELECT count(*) FROM quorum.events WHERE event = 'promoted'"),
	'0', 'no promotion was recorded');

# --- 2. kill -9 of the primary. ----------------------------------------
my $t_kill = $now->();
$node1->kill9;
my ($new, $term2, $took) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'a standby becomes the leader after node1 is killed');
give_up('no failover after kill -9', @nodes) unless $new;
note(sprintf('%s leader in term %s, %.2f s after the kill', $new->name, $term2, $took));
ok($term2 > $term, "the new term ($term2) is higher than node1's ($term)");
my ($other) = grep { $_ != $new } ($node2, $node3);
my $first = $wl->wait_ack($fail_s, server => $new->name, sent_after => $t_kill);
ok($first, $new->name . ' accepts the workload\'s writes');
note(sprintf('first write acknowledged by %s %.3f s after the kill',
		$new->name, $first->{done} - $t_kill)) if $first;
ok(defined wait_following($other, $new, $fail_s), $other->name . ' follows ' . $new->name);
is(query($other, 'SELECT pg_is_in_recovery()'), 't', $other->name . ' is still a standby');
my @w = try_sql($other, 'INSERT INTO pgq_history VALUES (-1, \'probe\', 0)');
ok(!$w[0], $other->name . ' refuses a write') or diag('it accepted one');
ok(defined wait_for_query($new, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$new->name . ' is in synchronous mode with ' . $other->name);

# node1 rejoins as a standby of the new leader.
ok(defined wait_processes_gone($node1, $fail_s), 'every process of the killed node1 exits');
my ($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($out);
note($out);
$node1->start;
ok(defined wait_following($node1, $new, $fail_s), 'node1 follows ' . $new->name);

# --- 3. SIGSTOP of the primary longer than the election timeout. --------
my $victim = $new;
$victim->append_conf('postgresql.conf', "pg_quorum.stop_deposed_primary = off\n");
$victim->reload;
ok(defined wait_for_query($victim, 'SHOW pg_quorum.stop_deposed_primary', 'off', $fail_s),
	$victim->name . ' will stay up when deposed');
my @rest = grep { $_ != $victim } @nodes;
$t_stop = $now->();
freeze($victim);
my ($third, $term3) = wait_for_leader(\@rest, $fail_s, not => $victim->name);
ok($third, 'the others elect a leader while ' . $victim->name . ' is stopped');
give_up('no failover after SIGSTOP', @nodes) unless $third;
note(sprintf('%s leader in term %s, %.2f s after SIGSTOP', $third->name, $term3, $now->() - $t_stop));
ok($wl->wait_ack($fail_s, server => $third->name, sent_after => $t_stop),
	$third->name . ' accepts the workload\'s writes');
thaw($victim);
$t_cont = $now->();

ok( defined wait_until(
		$fail_s,
		sub {
			my $st = cluster_status($victim);
			return $st && $st->{fenced} && ($st->{leader} // '') eq $third->name;
		}),
	$victim->name . ' is fenced after SIGCONT and knows ' . $third->name . ' leads');
my ($ok, $state, $msg) = try_sql($victim, 'INSERT INTO pgq_history VALUES (-2, \'probe\', 0)');
ok(!$ok, $victim->name . ' refuses a direct write');
is($state, '25006', 'with SQLSTATE 25006') or diag($msg);
like($msg // '', qr/fenced/, 'saying the server is fenced');
# For longer than a lease, every write it is asked for fails.  (The
# workload's own session to it may instead hang: a commit that passed the
# fence just before SIGSTOP waits for a synchronous standby that now
# follows another leader, and is never acknowledged.)
assert_writes_refused($victim, 3, "INSERT INTO pgq_history VALUES (-3, 'probe', 0)");
is($wl->first_ack(server => $victim->name, sent_after => $t_cont), undef,
	$victim->name . ' acknowledged no write sent after SIGCONT');
my $fenced_rows = PgQuorum::History::read_rows($victim);
ok($fenced_rows, 'the rows of the fenced ' . $victim->name . ' can be read back');

# The deposed primary rejoins as a standby.
$victim->stop('fast');
($rc, $out) = rejoin($victim, @rest);
is($rc, 0, 'pg_quorum_rejoin prepares ' . $victim->name . ' as a standby') or diag($out);
note($out);
$victim->start;
ok(defined wait_following($victim, $third, $fail_s), $victim->name . ' follows ' . $third->name);
ok(defined wait_for_query($third, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$third->name . ' is in synchronous mode');

# --- The history. --------------------------------------------------------
check_workload($wl,
	leader      => $third,
	nodes       => \@nodes,
	rows        => { $victim->name . ' (fenced, before rejoining)' => $fenced_rows },
	max_changes => 2);

# --- 4. quorum.forget() of a stopped voter. -------------------------------
my $gone = $victim->name;
my ($fok, $fstate, $fmsg) = try_sql($third, "SELECT quorum.forget('$gone')");
ok(!$fok && $fstate eq '55000', "quorum.forget() of the running $gone fails with 55000")
  or diag($fmsg);
$victim->stop('fast');
ok( defined wait_for_query($third,
		"SELECT state IN ('dead', 'left') FROM quorum.nodes WHERE name = '$gone'", 't', $fail_s),
	"$gone is seen stopped");
($fok, $fstate, $fmsg) = try_sql($third, "SELECT quorum.forget('$gone')");
ok($fok, "quorum.forget('$gone') succeeds once it is stopped") or diag($fmsg);
for my $n ($third, grep { $_ != $third && $_ != $victim } @nodes)
{
	ok( defined wait_for_query($n,
			"SELECT count(*) FILTER (WHERE name = '$gone') || ' ' || count(*) FILTER (WHERE voter) "
			  . 'FROM quorum.nodes', '0 2', $fail_s),
		$n->name . " no longer lists $gone, and has two voters");
}
ok( defined wait_for_query($third,
		"SELECT leader = '" . $third->name . "' AND NOT fenced FROM quorum.status", 't', $fail_s),
	$third->name . ' is still the writable leader');

# --- 5. quorum.add_voter() brings it back as a voter. ----------------------
$victim->start;
ok( defined wait_for_query($third,
		"SELECT state || ' ' || voter FROM quorum.nodes WHERE name = '$gone'", 'alive false',
		$fail_s),
	"$gone, started again, is back as a member that does not vote");
($fok, $fstate, $fmsg) = try_sql($third, "SELECT quorum.add_voter('$gone')");
ok($fok, "quorum.add_voter('$gone') succeeds") or diag($fmsg);
ok( defined wait_for_query($_,
		'SELECT count(*) FILTER (WHERE voter) FROM quorum.nodes', '3', $fail_s),
	$_->name . ' counts three voters again')
  for @nodes;

stop_all(@nodes);
done_testing();
