# test/cluster/048_intake_restart.pl: a standby whose worker restarts while
# its WAL intake is stopped for a vote takes the stop over (issue 9, H1).
#
# Before it votes, a standby empties primary_conninfo (durable, in
# postgresql.auto.conf) and keeps the value it replaces, to put back when a
# leader is known or after the longest stop with none.  That value must
# outlive a restart of the worker; the restarted worker must still hold the
# stop for as long as the vote it cast may elect someone.
#
# Three voters, node3 with priority 0 (it votes, it is never a candidate).
# node3's WAL receiver is held with SIGSTOP, so the stop of its intake never
# completes and its vote waits; node1, the leader, is frozen, so node2
# campaigns and asks node3 for that vote.  Once node3 has emptied
# primary_conninfo, node2 is frozen too (no leader, nobody asks again) and
# node3's worker is stopped with SIGTERM; the postmaster starts it again.
# The new worker must take the stop over from its file, hold it for three
# maximum election timeouts (4.8 s: no leader is known), then put node3's
# primary_conninfo back as it was.  Everything thawed, node3 follows the
# leader the others agree on.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::Local ();
use PgQuorum::Test;

my $fail_s = 30;
my $hold_s = 3 * 1.6;    # three maximum election timeouts at the default 1200ms
my $rcv;                 # node3's WAL receiver while it is held

# A failed test must not leave the WAL receiver stopped: its server could
# not shut down.
END { kill 'CONT', $rcv if $rcv; }

my $c = start_failover_test(
	fail_s     => $fail_s,
	node_extra => [ "pg_quorum.stop_deposed_primary = off\n", '', "pg_quorum.priority = 0\n" ]);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

# The time of the first log line of $node after $offset that matches $re,
# in epoch seconds (log_line_prefix starts with %m), or undef.
sub log_time
{
	my ($node, $offset, $re) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my ($y, $mo, $d, $h, $mi, $s) = $log =~
	  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d\.\d+) \S+ \[\d+\] [^\n]*$re/m
	  or return undef;
	return Time::Local::timegm(0, $mi, $h, $d, $mo - 1, $y) + $s;
}

sub wait_log
{
	my ($node, $offset, $re, $seconds) = @_;
	my $t;
	wait_until($seconds, sub { defined($t = log_time($node, $offset, $re)) });
	return $t;
}

my $conninfo = query($node3, 'SHOW primary_conninfo');
like($conninfo, qr/port=\d+/, "node3 streams from node1 ($conninfo)");

# --- node3's vote waits for a stop that cannot complete. -----------------
$rcv = query($node3, 'SELECT pid FROM pg_stat_wal_receiver');
ok($rcv, "node3's WAL receiver runs (pid $rcv)");
kill 'STOP', $rcv;
my $off = log_offset($node3);
freeze($node1);
ok(defined wait_log($node3, $off, qr/stopped this standby's WAL intake before it votes/, $fail_s),
	'node2 campaigns, and node3 stops its WAL intake before it votes');
ok(defined wait_for_query($node3, 'SHOW primary_conninfo', '', $fail_s),
	'node3 has emptied primary_conninfo');
ok(-e $node3->data_dir . '/pg_quorum.intake', 'node3 keeps the value it replaced in pg_quorum.intake');
freeze($node2);

# --- node3's worker restarts during the stop. -----------------------------
my $pid = query($node3, 'SELECT worker_pid FROM quorum.status');
ok($pid, "node3's worker runs (pid $pid)");
$off = log_offset($node3);
kill 'TERM', $pid;
my $found = wait_log($node3, $off,
	qr/found this standby's WAL intake stopped for a vote by an earlier run/, $fail_s);
ok(defined $found, 'the restarted worker takes the stop over');
my $resumed = wait_log($node3, $off, qr/resumed this standby's WAL intake/, $fail_s);
ok(defined $resumed, 'and resumes the WAL intake with no leader known');
cmp_ok(($resumed // 0) - ($found // 0), '>=', $hold_s - 0.1,
	sprintf('not before the longest stop has passed (%.2f s; at least %.1f s)',
		($resumed // 0) - ($found // 0), $hold_s));
ok(defined wait_for_query($node3, 'SHOW primary_conninfo', $conninfo, $fail_s),
	'node3\'s primary_conninfo is back as it was before the vote');
ok(!-e $node3->data_dir . '/pg_quorum.intake', 'and pg_quorum.intake is gone');

# --- Thawed, node3 follows the leader. ------------------------------------
kill 'CONT', $rcv;
undef $rcv;
thaw($node1);
thaw($node2);
my ($leader) = wait_for_leader(\@nodes, 60);
ok($leader, 'the three servers agree on a writable leader');
give_up('no leader after the thaw', @nodes) unless $leader;
ok(defined wait_following($node3, $leader, $fail_s), 'node3 follows ' . $leader->name);

stop_all(@nodes);
done_testing();
