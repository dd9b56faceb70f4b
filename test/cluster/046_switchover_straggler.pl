# test/cluster/046_switchover_straggler.pl: a switchover waits for a
# commit that passed the fence before the fence closed, or fails; it never
# hands over a WAL position that misses it (issue 9, H4).
#
# A hand-over closes the fence, then samples the leader's WAL position once
# no commit that passed the fence is still before its record's flush; the
# target must reach that position before it takes over.  That sample used
# to be taken after 1 s whatever was still in flight, so a straggler's
# commit record could land after it: acknowledged, locally or by a standby
# still following, and then missing on the new primary.  Now the sample
# waits for stragglers for as long as the hand-over's window lasts; past
# it the hand-over fails, the leader takes its lease back and answers the
# straggler.
#
# One backend of the primary node1 is held by strace (which delays a system
# call) while a workload writes through the cluster; a commit is held in
# the flush of its record (fdatasync, fsync = on; the workload's commits
# queue behind it):
#  - held longer than the hand-over window: quorum.failover('node2') fails,
#    node1 stays the leader in the same term, and the released commit is
#    acknowledged and reaches node2;
#  - a DROP DATABASE (which removes files no abort brings back) held past
#    the window in the removal of its files: the same, and the database
#    is gone on node2 as well;
#  - held 3 s into a switchover, then released: node2 does not take over
#    while it is held (the old 1 s cap let it), then does, with the
#    straggler's row.
# The history checker then finds every acknowledged write on every server.
# pg_quorum.election_timeout is 3 s, so the hand-over window (twice the
# longest election timeout) is 8 s.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::Session;

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;

my $c = start_failover_test(
	strace   => 1,
	workload => 1,
	fail_s   => $fail_s,
	extra    => "pg_quorum.election_timeout = '3000ms'\n");
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my $wl = $c->{wl};

# The held commits' rows, outside the workload's history.
$node1->safe_psql('postgres', 'CREATE TABLE held (id int)');

# Wait until the standby $node has replayed $primary's WAL up to now.
sub caught_up
{
	my ($node, $primary) = @_;
	my $lsn = $primary->lsn('insert');
	return wait_for_query($node, "SELECT pg_last_wal_replay_lsn() >= '$lsn'", 't', $fail_s);
}

sub has_row
{
	my ($node, $id) = @_;
	return query($node, "SELECT count(*) FROM held WHERE id = $id");
}

ok( defined wait_for_query(
		$node1,
		"SELECT n.state || ' ' || n.role FROM quorum.nodes n WHERE n.name = 'node2'",
		'alive standby', $fail_s),
	'node2 is seen alive as a standby');
my $term = cluster_status($node1)->{term};

# --- A straggler that outlasts the hand-over window. -----------------------
my $held = PgQuorum::Session->hold($node1, 'INSERT INTO held VALUES (-45)', 'the commit of -45');
my $t0 = $now->();
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
my $took = $now->() - $t0;
ok(!$ok, 'quorum.failover(\'node2\') fails while a commit is held past the window')
  or give_up('the switchover went ahead of the held commit', @nodes);
is($state, '55000', 'with SQLSTATE 55000') or diag($msg);
like($msg // '', qr/hand-over did not complete/, 'saying the hand-over did not complete');
note(sprintf('quorum.failover() failed after %.1f s', $took));
ok(defined wait_for_query($node1, "SELECT leader = 'node1' AND NOT fenced AND term = $term FROM quorum.status",
		't', $fail_s),
	'node1 is the writable leader again, in the same term');
$held->release;
is($held->wait_answer($fail_s, qr/ok held/), 'answer',
	'the released commit is acknowledged under the lease node1 took back');
caught_up($node2, $node1);
is(has_row($node2, -45), '1', 'and node2 has it');
$held->close;

# --- A DROP DATABASE that started under the lease, past the window. -------
# It cannot be undone once it has removed files, so the hand-over waits
# for it as for a commit; here it fails, and the DROP commits under the
# lease node1 took back, on node2 as well.  It is held in the removal of
# its files, after it marked the database invalid and flushed that, so
# that nothing holds the WAL up for the workload's commits meanwhile.
$node1->safe_psql('postgres', 'CREATE DATABASE doomed');
$held = PgQuorum::Session->hold($node1, 'DROP DATABASE doomed',
	'DROP DATABASE, in the removal of its files',
	calls    => 'unlinkat,rmdir',
	held_sql => "SELECT datconnlimit = -2 FROM pg_database WHERE datname = 'doomed'");
($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok(!$ok, 'quorum.failover(\'node2\') fails while a DROP DATABASE is held past the window')
  or give_up('the switchover went ahead of the held DROP DATABASE', @nodes);
is($state, '55000', 'with SQLSTATE 55000') or diag($msg);
ok(defined wait_for_query($node1, "SELECT leader = 'node1' AND NOT fenced AND term = $term FROM quorum.status",
		't', $fail_s),
	'node1 is the writable leader again, in the same term');
$held->release;
is($held->wait_answer($fail_s, qr/ok held/), 'answer', 'the released DROP DATABASE finishes');
is(($held->output)[1], '', 'without an error');
caught_up($node2, $node1);
is(query($node2, "SELECT count(*) FROM pg_database WHERE datname = 'doomed'"), '0',
	'the database is gone on node2 too');
$held->close;

# --- A straggler released during the switchover. ---------------------------
$held = PgQuorum::Session->hold($node1, 'INSERT INTO held VALUES (-46)', 'the commit of -46');
$t0 = $now->();
my ($fout, $ferr) = ('', '');
my $failover = IPC::Run::start(
	[ 'psql', '-XAtq', '-h', $node1->host, '-p', $node1->port, '-d', 'postgres',
	  '-c', "SELECT quorum.failover('node2')" ],
	'>', \$fout, '2>', \$ferr);
ok(defined wait_for_query($node1, 'SELECT fenced FROM quorum.status', 't', $fail_s),
	'node1 closes its fence for the hand-over');
my @early = watch_for(3,
	sub { (query($node2, 'SELECT pg_is_in_recovery()') // '') eq 'f' ? 'node2 promoted' : '' });
is_deeply(\@early, [], 'node2 does not take over while the commit is held, 3 s into the switchover');
$held->release;
ok( defined wait_until($fail_s,
		sub { $failover->pump_nb if $failover->pumpable; !$failover->pumpable }),
	'quorum.failover() returns');
eval { $failover->finish };
chomp $fout;
is($fout, 'node2', 'quorum.failover(\'node2\') succeeds once the commit is released') or diag($ferr);
note(sprintf('quorum.failover() took %.1f s', $now->() - $t0));
my $how = $held->wait_answer($fail_s, qr/ok held/);
isnt($how, undef, 'the straggler is answered or its connection closed');
note("the straggler: $how");
my ($leader) = wait_for_leader([ $node2, $node3 ], $fail_s);
is($leader && $leader->name, 'node2', 'node2 leads');
is(has_row($node2, -46), '1', 'node2 has the straggler\'s row');
$held->close;

ok(defined wait_stopped($node1, $fail_s), 'node1 shuts itself down once deposed')
  or give_up('node1 did not stop', @nodes);
my ($rrc, $rout) = rejoin($node1, $node2, $node3);
is($rrc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($rout);
$node1->start;
ok(defined wait_following($node1, $node2, $fail_s), 'node1 follows node2');

check_workload($wl,
	leader      => $node2,
	nodes       => \@nodes,
	max_changes => 1);

stop_all(@nodes);
done_testing();
