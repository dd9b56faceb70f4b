# test/cluster/006_switchover.pl: planned switchover there and back.
#
# Three voters in synchronous mode with a workload writing to all three.
# quorum.failover() with a bad target fails with the documented SQLSTATE
# and changes nothing; SELECT quorum.failover('node2') on the primary hands
# leadership to node2, which becomes a writable primary that node3
# follows, while node1 shuts itself down and rejoins with
# pg_quorum_rejoin; then SELECT quorum.failover('node1') on node2 hands it
# back the same way.  The history checker finds every acknowledged write
# everywhere and exactly the two changes of writable server.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::History;

my $fail_s = 30;    # bound for a switchover, a rejoin, a catch-up

my $c = start_failover_test(workload => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my ($term, $wl) = @$c{qw(term wl)};
my $now = \&PgQuorum::Workload::now;

# Bad targets change nothing.
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('nosuch')");
ok(!$ok, 'quorum.failover() of an unknown server fails');
is($state, '22023', 'with SQLSTATE 22023') or diag($msg);
my ($out, $err) = ('', '');
$node1->psql('postgres', "SELECT quorum.failover('node1')", stdout => \$out, stderr => \$err);
is($out, 'node1', 'quorum.failover() of the leader itself returns its name');
like($err, qr/NOTICE/, 'with a NOTICE');
my $st = cluster_status($node1);
ok($st && ($st->{leader} // '') eq 'node1' && !$st->{fenced} && $st->{term} == $term,
	'node1 is still the writable leader, in the same term');

# A target that cannot catch up (it stops streaming while the workload
# writes): the hand-over window passes, node1 takes its lease back, and
# quorum.failover() says so at once instead of waiting for its timeout.
my $conninfo2 = $node2->safe_psql('postgres', 'SHOW primary_conninfo');
$node2->safe_psql('postgres',
	"ALTER SYSTEM SET primary_conninfo = ''; SELECT pg_reload_conf()");
ok(defined wait_for_query($node2, 'SELECT count(*) FROM pg_stat_wal_receiver', '0', $fail_s),
	'node2 stops streaming');
ok(defined wait_for_query($node1, "SELECT lag > 0 FROM quorum.nodes WHERE name = 'node2'", 't',
		$fail_s), 'node1 sees node2 lag behind');
my $t_stuck = $now->();
($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
my $stuck_s = $now->() - $t_stuck;
ok(!$ok, 'quorum.failover() to a standby that cannot catch up fails');
is($state, '55000', 'with SQLSTATE 55000') or diag($msg);
like($msg // '', qr/hand-over did not complete/, 'saying the hand-over did not complete');
cmp_ok($stuck_s, '<', 15, sprintf('within 15 s, well before its 30 s timeout (%.1f s)', $stuck_s));
$conninfo2 =~ s/'/''/g;
$node2->safe_psql('postgres',
	"ALTER SYSTEM SET primary_conninfo = '$conninfo2'; SELECT pg_reload_conf()");
ok(defined wait_following($node2, $node1, $fail_s), 'node2 streams from node1 again');
ok(defined wait_for_query($node1, 'SELECT leader = \'node1\' AND NOT fenced AND term = ' . $term
		  . ' FROM quorum.status', 't', $fail_s),
	'node1 is the writable leader again, in the same term');
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => $now->()),
	'the workload writes on node1 again');

# switch_to($from, $to, @others): quorum.failover($to) on $from, then the
# old primary stops and rejoins.  Returns the seconds the call took.
sub switch_to
{
	my ($from, $to, @rest) = @_;
	my $tname = $to->name;
	# The target must be known alive, streaming, on the leader's timeline.
	ok( defined wait_for_query(
			$from,
			"SELECT n.state || ' ' || n.role || ' ' || (n.timeline = s.timeline)::text "
			  . "FROM quorum.nodes n, quorum.nodes s WHERE n.name = '$tname' AND s.is_self",
			'alive standby true', $fail_s),
		"$tname is seen alive as a standby on the leader's timeline");
	my $t0 = $now->();
	my ($out, $err) = ('', '');
	my $rc = $from->psql('postgres', "SELECT quorum.failover('$tname')",
		stdout => \$out, stderr => \$err);
	my $t1 = $now->();
	note(sprintf("quorum.failover('%s') took %.3f s", $tname, $t1 - $t0));
	is($out, $tname, "quorum.failover('$tname') on " . $from->name . " returns $tname")
	  or give_up("the switchover to $tname failed (exit $rc): $err", @nodes);
	my $first = $wl->wait_ack($fail_s, server => $tname, sent_after => $t0);
	ok($first, "$tname accepts the workload's writes");
	note(sprintf('first write acknowledged by %s %.3f s after the call',
			$tname, $first->{done} - $t0)) if $first;
	my ($l) = wait_for_leader([ $to, @rest ], $fail_s);
	is($l && $l->name, $tname, "$tname is the leader, out of recovery and unfenced");
	ok(defined wait_following($_, $to, $fail_s), $_->name . " follows $tname") for @rest;

	my $stopped = wait_stopped($from, $fail_s);
	ok(defined $stopped, $from->name . ' shuts itself down once deposed');
	give_up($from->name . ' did not stop', @nodes) unless defined $stopped;
	my ($rrc, $rout) = rejoin($from, $to, @rest);
	is($rrc, 0, 'pg_quorum_rejoin prepares ' . $from->name . ' as a standby') or diag($rout);
	note($rout);
	$from->start;
	ok(defined wait_following($from, $to, $fail_s), $from->name . " follows $tname");
	ok(defined wait_for_query($to, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
		"$tname is in synchronous mode");
	return $t1 - $t0;
}

switch_to($node1, $node2, $node3);
switch_to($node2, $node1, $node3);

check_workload($wl,
	leader      => $node1,
	nodes       => \@nodes,
	max_changes => 2);

stop_all(@nodes);
done_testing();
