# test/cluster/061_inconsistent_standby.pl: a standby whose data is not
# consistent yet is no candidate (issue 10: the fault campaign's seed 215
# at 6b124cd, which never converged).
#
# A standby is consistent once its replay has reached the minimum recovery
# point its control file names (and the end of a base backup).  Until then
# PostgreSQL refuses to promote it: "WAL ends before consistent recovery
# point", and the server stops.  In seed 215, node1, just rewound and
# replaying, was elected with the witness's vote, promoted, stopped, was
# elected again after its restart, and so on; the second time its promotion
# also replaced a real timeline history file with pg_quorum's placeholder
# (its replay timeline was still 0), and it could not start at all.
#
# Here: two servers and the witness, asynchronous.  node2 is replaced by a
# base backup of node1 taken without WAL (pg_basebackup -X none), so that
# only node1 can stream what it needs to become consistent, and node1 is
# killed.  node2 starts and must not be elected (before, it was, with the
# witness's vote, and stopped on its failed promotion).  node1 starts
# again, is elected, and node2 becomes consistent, follows it and is a
# candidate again.  Before node2 starts, PgQuorum::Test's read_rows_offline
# must give up on it at once (the fault campaign's seed 254 at a4443e9f5ddd,
# whose final read of a rewound server waited 120 s), and on a start that
# fails at once (seed 225 at b35e1a6964b0).

use strict;
use warnings;

use File::Copy;
use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 30;
my $watch_s = 8;    # several election timeouts

my $c = start_failover_test(fail_s => $fail_s, servers => 2, witness => 1, synchronous => 0);
my ($node1, $node2) = @{ $c->{nodes} };
my @nodes = ($node1, $node2);

$node1->safe_psql('postgres', 'CREATE TABLE t061 (i int)');
ok(defined wait_following($node2, $node1, $fail_s), 'node2 follows node1');

# --- node2 becomes a base backup of node1 without WAL. -----------------------
$node2->stop('fast');
my $pgdata = $node2->data_dir;
my $old = "$pgdata.061";
rename($pgdata, $old) or BAIL_OUT("rename $pgdata: $!");
is(system_log('pg_basebackup', '-D', $pgdata, '-d', $node1->connstr('postgres'), '-X', 'none', '-c', 'fast'),
	0, 'pg_basebackup -X none of node1 into node2\'s directory');
# node2's own configuration, node state and key, as pg_quorum_rejoin keeps them.
for my $file (qw(postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf
	pg_quorum.state quorum.key standby.signal))
{
	copy("$old/$file", "$pgdata/$file") or BAIL_OUT("copy $file: $!") if -e "$old/$file";
}
chmod 0600, "$pgdata/quorum.key";
ok(-e "$pgdata/backup_label", 'node2 has a backup label: it needs WAL from node1 to be consistent');
$node1->safe_psql('postgres', 'INSERT INTO t061 SELECT generate_series(1, 1000)');

$node1->kill9;
ok(defined wait_processes_gone($node1, $fail_s), 'node1 is killed');

# --- The fault campaign's seed 254: reading it offline gives up at once. -----
# The campaign reads a stopped server's rows offline before it rejoins;
# a directory that needs WAL it does not have waited out the whole 120 s
# there, and with it the campaign's convergence bound.
my $t0 = time();
my $offline = eval { read_rows_offline($node2) };
like($@, qr/node2: it needs WAL it does not have to become consistent/,
	'reading node2\'s rows offline fails: it needs WAL it does not have');
cmp_ok(time() - $t0, '<', 30, '... within 30 s');
ok(!-e "$pgdata/postmaster.pid", '... and node2 is stopped again');
ok(-e "$pgdata/standby.signal", '... still a standby');
# Seed 225: a start that fails at once, here on an empty pg_hba.conf (a
# pg_rewind cut off half-way leaves the leader's files half copied).
copy("$pgdata/pg_hba.conf", "$pgdata/pg_hba.conf.061") or BAIL_OUT("copy pg_hba.conf: $!");
open my $hba, '>', "$pgdata/pg_hba.conf" or BAIL_OUT("pg_hba.conf: $!");
close $hba;
$t0 = time();
$offline = eval { read_rows_offline($node2) };
like($@, qr/node2: it stopped while starting read-only/,
	'reading it offline with an empty pg_hba.conf fails: it stopped');
cmp_ok(time() - $t0, '<', 30, '... within 30 s');
rename("$pgdata/pg_hba.conf.061", "$pgdata/pg_hba.conf") or BAIL_OUT("rename pg_hba.conf: $!");

# --- node2 starts and is not elected. ----------------------------------------
my $off2 = log_offset($node2);
is(system_log('pg_ctl', '-W', '-D', $pgdata, '-l', $node2->logfile, '-o', '--cluster-name=node2', 'start'),
	0, 'node2 starts (without waiting: it cannot become consistent)');
ok(defined wait_until($fail_s, sub { slurp_file($node2->logfile, $off2) =~ /pg_quorum worker started/ }),
	'node2\'s worker runs');
$node2->_update_pid(1);
my @problems = watch_for(
	$watch_s,
	sub {
		return 'node2 promoted itself' if promoted_itself($node2, $off2);
		return 'node2 stopped' unless -e "$pgdata/postmaster.pid";
		return;
	});
is(join('; ', @problems), '', "for ${watch_s}s node2, not consistent, was not elected and kept running");
unlike(slurp_file($node2->logfile, $off2), qr/WAL ends before consistent recovery point/,
	'node2 never tried to promote before it was consistent');

# --- node1 comes back; node2 becomes consistent and follows. -----------------
$node1->start;
my ($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1 leads again');
ok(defined wait_following($node2, $node1, $fail_s), 'node2 becomes consistent and follows node1');
ok(defined wait_for_query($node2, 'SELECT count(*) FROM t061', '1000', $fail_s), 'node2 has node1\'s rows');
ok(defined wait_for_query($node1, "SELECT priority FROM quorum.nodes WHERE name = 'node2'", '100', $fail_s),
	'node2 is a candidate again (priority 100)');

stop_all(@nodes);
done_testing();
