# test/cluster/031_rejoin_config.pl: pg_quorum_rejoin keeps a server's own
# configuration, included files too, and rebuilds when pg_rewind cannot
# rewind; names that are too long are refused with their length.
#
# Three voters.  Every server's postgresql.conf includes files from inside
# its data directory (include_dir 'conf.d', include 'sub/own.conf',
# include_if_exists 'local.conf'), with a different work_mem in each; node1
# also gets pg_quorum.priority = 0 through one of them once it is down.
#
# A. kill -9 of node1; another server leads; node1, started again, crash
#    recovers (its WAL diverges) and stops itself as deposed.
#    pg_quorum_rejoin rewinds it: pg_rewind replaces the included files with
#    the leader's, or deletes those the leader lacks, and rejoin puts node1's
#    back.  node1 starts with its own work_mem and priority and follows.
# B. The leader X is killed after a checkpoint and a WAL switch; the last
#    server with a priority leads.  X crash recovers, diverges and stops;
#    its WAL from before the fork is removed (as recycling would).
#    pg_quorum_rejoin fails and says to use --rebuild; with --rebuild, while
#    the leader refuses replication connections, pg_basebackup fails and
#    leaves the directory empty; run again (its node name now comes from
#    the files it kept), it copies the leader with pg_basebackup and keeps
#    X's own files: X starts with its own work_mem and follows.
# C. A node name longer than 63 bytes is refused with its length and not
#    quoted whole: by pg_quorum_rejoin, by ALTER SYSTEM, by the worker.
# D. Two of the three servers stopped: the one left knows no leader, and
#    none can be elected without a stopped one.  pg_quorum_rejoin stops
#    looking after a few seconds without a leader named (not its 30 s
#    --timeout: the cluster needs the stopped server to elect one) and
#    leaves the directory as it is (at once if failover was paused, as a
#    leader that lost its synchronous standby does to degrade); with
#    --require-leader it waits out its --timeout and fails.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use File::Path ();
use IPC::Run ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 30;    # bound for a failover, a rejoin, a catch-up

my $c = new_failover_cluster();
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my %work_mem = (node1 => '5MB', node2 => '6MB', node3 => '7MB');

sub write_file_in
{
	my ($node, $name, $text) = @_;
	my $path = $node->data_dir . "/$name";
	(my $dir = $path) =~ s{/[^/]*$}{};
	File::Path::make_path($dir);
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	return;
}

sub read_file_in
{
	my ($node, $name) = @_;
	my $path = $node->data_dir . "/$name";
	return -e $path ? slurp_file($path) : undef;
}

for my $n (@nodes)
{
	write_file_in($n, 'conf.d/10-memory.conf', "work_mem = '$work_mem{$n->name}'\n");
	write_file_in($n, 'sub/own.conf', "# " . $n->name . "'s own file\n");
	$n->append_conf('postgresql.conf',
		"include_dir 'conf.d'\ninclude = 'sub/own.conf'\ninclude_if_exists 'local.conf'\n");
	$n->reload;
}
# Only node1 has local.conf: pg_rewind would delete it.
write_file_in($node1, 'local.conf', "# node1 only\n");
is(query($_, 'SHOW work_mem'), $work_mem{ $_->name }, $_->name . ' reads its own included work_mem')
  for @nodes;

my ($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1 is the first leader');
give_up('no leader', @nodes) unless $leader;

# --- A. node1 diverges, is rewound, keeps its included files. -------------
$node1->stop('immediate');
my ($x) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($x, 'after node1 is killed another server leads');
give_up('no failover', @nodes) unless $x;
my ($z) = grep { $_ != $x } ($node2, $node3);
# Once down, node1 never leads again (test B needs that): set through an
# included file, so that it counts only if rejoin keeps it.
write_file_in($node1, 'conf.d/20-priority.conf', "pg_quorum.priority = 0\n");
# It may stop before pg_ctl sees it ready.
$node1->start(fail_ok => 1);
ok(defined wait_stopped($node1, $fail_s), 'node1, started again, stops itself as deposed');

my ($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 0, 'pg_quorum_rejoin rewinds node1') or diag($out);
like($out, qr/pg_rewind/, 'it ran pg_rewind');
is(read_file_in($node1, 'conf.d/10-memory.conf'), "work_mem = '5MB'\n",
	'an included file the leader has too is node1\'s own again');
is(read_file_in($node1, 'conf.d/20-priority.conf'), "pg_quorum.priority = 0\n",
	'a file of an included directory that only node1 has is kept');
is(read_file_in($node1, 'sub/own.conf'), "# node1's own file\n", 'include: kept');
is(read_file_in($node1, 'local.conf'), "# node1 only\n", 'include_if_exists: kept');
ok(!-e $node1->data_dir . '.pg_quorum_rejoin', 'the keep directory is gone');
my $off1 = log_offset($node1);
$node1->start;
ok(defined wait_following($node1, $x, $fail_s), 'node1 follows ' . $x->name);
# The worker finds primary_conninfo as it would write it: no rewrite, no
# restart of the WAL receiver.
is(query($node1, 'SHOW primary_conninfo'),
	query($x, "SELECT conninfo FROM quorum.nodes WHERE is_self") . " application_name='node1'",
	'pg_quorum_rejoin spells primary_conninfo as the worker does');
unlike(slurp_file($node1->logfile, $off1), qr/parameter "primary_conninfo" changed/,
	'so the worker does not rewrite it');
is(query($node1, 'SHOW work_mem'), '5MB', 'node1 runs with its own work_mem');
ok(defined wait_for_query($x, "SELECT priority FROM quorum.nodes WHERE name = 'node1'", '0', $fail_s),
	'and its own priority, 0');

# --- B. pg_rewind cannot rewind X; --rebuild copies the leader. -----------
# The fork will lie in a later WAL segment than X's last checkpoint.
$x->safe_psql('postgres', 'CHECKPOINT');
my $old_seg = $x->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$x->safe_psql('postgres', 'SELECT pg_switch_wal()');
$x->safe_psql('postgres', 'CREATE TABLE before_fork (i int); INSERT INTO before_fork VALUES (1)');
$x->stop('immediate');
my ($y) = wait_for_leader([ $node1, $z ], $fail_s, not => $x->name);
is($y && $y->name, $z->name, $z->name . ' leads (node1 has priority 0)');
give_up('no failover', @nodes) unless $y;
$x->start(fail_ok => 1);
ok(defined wait_stopped($x, $fail_s), $x->name . ', started again, stops itself as deposed');
for my $f (glob($x->data_dir . '/pg_wal/0*'))
{
	next unless $f =~ m{/([0-9A-F]{24})$} && $1 le $old_seg;
	unlink $f or die "$f: $!";
}
ok(!-e $x->data_dir . "/pg_wal/$old_seg",
	$x->name . "'s WAL up to $old_seg, where its last checkpoint before the fork is, is gone");

($rc, $out) = rejoin($x, $node1, $z);
is($rc, 1, 'without --rebuild, pg_quorum_rejoin fails when pg_rewind cannot rewind') or diag($out);
like($out, qr/--rebuild/, 'and says to run it with --rebuild');
is(read_file_in($x, 'conf.d/10-memory.conf'), "work_mem = '$work_mem{$x->name}'\n",
	$x->name . '\'s files are its own after the failed attempt');

# The leader refuses replication connections: pg_basebackup fails after
# the directory was emptied, and the next run, which cannot read the node
# name from an empty directory, takes it from what the first one kept.
my $hba = $y->data_dir . '/pg_hba.conf';
my $hba_text = slurp_file($hba);
open my $hfh, '>', $hba or die "$hba: $!";
print $hfh "local replication all reject\nhost replication all 127.0.0.1/32 reject\n$hba_text";
close $hfh;
$y->reload;
my @cmd = ('pg_quorum_rejoin', '-D', $x->data_dir, '--rebuild',
	map { ('--peer', $_->connstr('postgres')) } ($node1, $z));
my ($sout, $serr) = ('', '');
IPC::Run::run(\@cmd, '>', \$sout, '2>', \$serr);
is($? >> 8, 1, 'with --rebuild, and the leader refusing replication, it fails') or diag($serr);
like($serr, qr/pg_basebackup failed.*incomplete/s, 'saying the directory is incomplete') or diag($serr);
ok(!-e $x->data_dir . '/PG_VERSION', 'which it is');
open $hfh, '>', $hba or die "$hba: $!";
print $hfh $hba_text;
close $hfh;
$y->reload;
($sout, $serr) = ('', '');
IPC::Run::run(\@cmd, '>', \$sout, '2>', \$serr);
is($? >> 8, 0, 'run again with --rebuild, it succeeds') or diag($serr);
like($serr, qr/interrupted rebuild; rebuilding it again/, 'rebuilding the interrupted rebuild');
like($serr, qr/pg_basebackup/, 'through pg_basebackup');
is(read_file_in($x, 'conf.d/10-memory.conf'), "work_mem = '$work_mem{$x->name}'\n",
	'the rebuilt ' . $x->name . ' keeps its own included file');
is(read_file_in($x, 'sub/own.conf'), '# ' . $x->name . "'s own file\n", 'and its include');
like(read_file_in($x, 'postgresql.conf'), qr/pg_quorum\.node_name = '\Q${\$x->name}\E'/,
	'and its own postgresql.conf');
$x->start;
ok(defined wait_following($x, $y, $fail_s), $x->name . ' follows ' . $y->name);
is(query($x, 'SHOW work_mem'), $work_mem{ $x->name }, $x->name . ' runs with its own work_mem');
is(query($x, 'SELECT count(*) FROM before_fork'), '1', 'and has the data from before the fork');
ok(defined wait_for_query($y, "SELECT state FROM quorum.nodes WHERE name = '" . $x->name . "'", 'alive', $fail_s),
	$x->name . ' is an alive member again');

# --- C. Names that are too long. -----------------------------------------
my $long = 'n' x 300;
@cmd = ('pg_quorum_rejoin', '-D', $x->data_dir, '--node-name', $long, '--peer', $y->connstr('postgres'));
($sout, $serr) = ('', '');
IPC::Run::run(\@cmd, '>', \$sout, '2>', \$serr);
is($? >> 8, 2, 'pg_quorum_rejoin refuses a 300-byte --node-name as a usage error');
like($serr, qr/300 bytes long; at most 63/, 'saying how long it is');
unlike($serr, qr/n{64}/, 'without quoting it whole');

my ($aok, $astate, $amsg) = try_sql($y, "ALTER SYSTEM SET pg_quorum.node_name = '$long'");
is($astate, '22023', 'ALTER SYSTEM refuses it with 22023');
like($amsg, qr/too long.*300 bytes/s, 'saying how long it is') or diag($amsg);
unlike($amsg, qr/n{64}/, 'without quoting it whole');

my ($port) = free_gossip_ports(1);
my $solo = new_quorum_node('solo', port => $port, key => new_key());
$solo->append_conf('postgresql.conf', "pg_quorum.node_name = '$long'\n");
$solo->start;
my @fatal;
wait_until($fail_s, sub { @fatal = fatal_messages($solo, 0); @fatal > 0 });
like($fatal[0] // '', qr/invalid value for parameter "pg_quorum\.node_name".*300 bytes/s,
	'the worker refuses it with its length');
unlike(join('', @fatal), qr/n{64}/, 'without quoting it whole');
$solo->stop('fast');

# --- D. No leader anywhere: rejoin does not wait out its --timeout. ------
$y->stop('fast');
$x->stop('fast');
ok(defined wait_for_query($node1, 'SELECT leader IS NULL FROM quorum.status', 't', $fail_s),
	'node1, alone, knows no leader');
my $t0 = Time::HiRes::time();
($rc, $out) = rejoin($x, $node1, $y);
my $took = Time::HiRes::time() - $t0;
is($rc, 0, 'pg_quorum_rejoin leaves ' . $x->name . ' to start unchanged') or diag($out);
# If the last leader lost its synchronous standby before it stopped, it
# paused failover to degrade (how soon depends on the machine's speed): then
# the rejoin need not wait at all, and says why.
if ((query($node1, 'SELECT coalesce(paused, false) FROM quorum.status') // '') eq 't')
{
	like($out, qr/failover is paused and no peer names a leader other than this server/,
		'because failover is paused and node1 names no leader') or diag($out);
}
else
{
	like($out, qr/no peer has named a leader for \d+ s/, 'because no peer named a leader for a while')
	  or diag($out);
}
cmp_ok($took, '<', 20, sprintf('and says so well before its 30 s --timeout (%.1f s)', $took));

@cmd = ('pg_quorum_rejoin', '-D', $x->data_dir, '--require-leader', '--timeout', '12',
	map { ('--peer', $_->connstr('postgres')) } ($node1, $y));
($sout, $serr) = ('', '');
$t0 = Time::HiRes::time();
IPC::Run::run(\@cmd, '>', \$sout, '2>', \$serr);
$took = Time::HiRes::time() - $t0;
is($? >> 8, 1, 'with --require-leader it fails') or diag($serr);
cmp_ok($took, '>=', 11, sprintf('after waiting out its --timeout of 12 s (%.1f s)', $took));

stop_all(@nodes);
done_testing();
