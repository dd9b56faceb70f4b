# test/cluster/063_unheard_leader.pl: a primary started again without
# pg_quorum_rejoin and elected before it heard from the server that led
# after it does not write on its old timeline (the fault campaign's seed
# 238, asynchronous: node3 acknowledged 91 writes on timeline 2 in the half
# second between its election and gossip telling it that node2, promoted
# while it was down, was on timeline 3).
#
# Asynchronous mode, three voters, node1 the primary.  Nobody can replicate
# from node2 (its PostgreSQL port is cut; its own replication from node1
# still runs), so node3 never receives node2's timeline.
# quorum.failover('node2'): node2 promotes to timeline 2, and the moment it
# acknowledges its first write its pg_quorum worker is stopped, then the
# whole server: gossip had little or no time to carry the new timeline,
# as when a server is cut off just after its promotion.  node1 and node3
# are a majority, and node1's WAL is ahead of node3's, so node1 is elected
# again: first while it still runs as the deposed primary, then once more
# after an immediate stop and a start without pg_quorum_rejoin.  Its
# decision log names node2 as the leader of a later term, so it must not
# write while node2 is not heard from.  Thawed, node2 is the leader again
# once the servers that stopped themselves came back through
# pg_quorum_rejoin, and node2's write is on all three.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run ();
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Net;
use PgQuorum::Session;
use PgQuorum::Test;

my $fail_s  = 30;
my $watch_s = 10;

my $problem = nft_problem();
BAIL_OUT("nftables is not usable here: $problem") if $problem;

my $c = new_failover_cluster(synchronous => 0);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

my ($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1 leads');
$node1->safe_psql('postgres', 'CREATE TABLE t (i int, tli text)');
$node1->wait_for_catchup($_, 'replay', $node1->lsn('insert')) for ($node2, $node3);

# Nobody streams from node2 (a cut port drops both directions).
isolate_ports(tcp => [ $node2->port ]);

my $worker = query($node2, 'SELECT worker_pid FROM quorum.status');
ok($worker, "node2's pg_quorum worker runs");
my $s = PgQuorum::Session->open($node2);

my ($fout, $ferr) = ('', '');
my $failover = IPC::Run::start(
	[ 'psql', '-XAtq', '-h', $node1->host, '-p', $node1->port, '-d', 'postgres',
	  '-c', "SELECT quorum.failover('node2')" ],
	'>', \$fout, '2>', \$ferr);

# Write on node2 until a write is acknowledged, then stop its worker at
# once: a few milliseconds, against gossip's rounds of 200 ms.
my ($tli, $errors) = (undef, 0);
my $deadline = Time::HiRes::time() + $fail_s;
while (!defined $tli && Time::HiRes::time() < $deadline)
{
	$s->{out} = '';
	$s->send("INSERT INTO t SELECT 2, substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8) "
		  . "RETURNING 'wrote ' || tli;");
	my $sent = Time::HiRes::time();
	my ($out, $err, $gone);
	do
	{
		Time::HiRes::sleep(0.001);
		($out, $err, $gone) = $s->output;
	} until $out =~ /\n/ || (() = $err =~ /ERROR/g) > $errors || $gone
	  || Time::HiRes::time() - $sent > 5;
	$errors = () = $err =~ /ERROR/g;
	last if $gone;
	if ($out =~ /^wrote (\w+)$/m)
	{
		$tli = $1;
		kill 'STOP', $worker;
	}
}
ok(defined $tli, 'node2 acknowledged a write after its promotion');
is($tli, '00000002', 'on timeline 2');
freeze($node2);
$s->close;
# Its wait for the new leader would only end at its command timeout.
$failover->kill_kill;
note('node3 has node2 on timeline '
	  . (query($node3, "SELECT coalesce(timeline, 0) FROM quorum.nodes WHERE name = 'node2'") // '?'));

# node1 is elected again, whether it runs on as a deposed primary (it
# waits a little for the quorum.failover() it passed on) or was started
# again without pg_quorum_rejoin; either way it must not write.
sub elected_but_unwritable
{
	my ($how) = @_;
	my $off = log_offset($node1);
	my $elected = 0;
	my @wrote = watch_for(
		$watch_s,
		sub {
			my $st = cluster_status($node1);
			$elected ||= $st && defined $st->{leader} && $st->{leader} eq 'node1';
			my ($ok) = try_sql($node1, "INSERT INTO t VALUES (1, 'node1')");
			return $ok ? 'node1 acknowledged a write on timeline 1' : ();
		});
	ok($elected, "node1 ($how) is elected");
	is_deeply(\@wrote, [],
		"node1 ($how) acknowledged no write on timeline 1 in ${watch_s} s while node2 (timeline 2) was away");
	like(slurp_file($node1->logfile, $off), qr/stays fenced until it hears from "node2"/,
		"node1 ($how) says whom it waits for");
	return;
}

elected_but_unwritable('running on');
$node1->stop('immediate') if $node1->{_pid};
$node1->start;    # no pg_quorum_rejoin: a primary on timeline 1
elected_but_unwritable('started again');

thaw($node2);
kill 'CONT', $worker;
heal();

# Healed, node1 hands the leadership to node2 (a later timeline) and, a
# primary that no longer leads, stops itself.  node3 may stop too: when it
# streamed from node1 after node2's promotion, it replayed timeline 1 past
# node2's fork (node1's end-of-recovery checkpoint is enough), and such a
# standby can never follow node2.  node2 alone is no majority, so it takes
# the service manager of the README's systemd drop-in, which runs a stopped
# server through pg_quorum_rejoin and starts it, for node2 to lead again.
my (%rejoined, @rejoin_out);
my $service_manager = sub {
	for my $node ($node1, $node3)
	{
		next if -e $node->data_dir . '/postmaster.pid';
		next unless defined wait_stopped($node, $fail_s);
		my ($rc, $out) = rejoin($node, grep { $_ != $node } @nodes);
		push @rejoin_out, $out;
		next if $rc != 0;    # the drop-in's ExecStartPre failed: no start
		$node->start;
		$rejoined{ $node->name }++;
	}
};
($leader) = wait_for_leader(\@nodes, 4 * $fail_s, probe => $service_manager);
is($leader && $leader->name, 'node2', 'node2, on the newest timeline, leads once it is back')
  or diag(join("\n", @rejoin_out));
note('rejoined and started again: '
	  . join(', ', map { "$_ ($rejoined{$_}x)" } sort keys %rejoined));
ok($rejoined{node1}, 'node1, deposed, stopped itself and came back through pg_quorum_rejoin');
my $rows = 'SELECT string_agg(i::text, \',\' ORDER BY i) FROM t';
is(query($node2, $rows), '2', "node2's write is there, and no write of node1's");
for my $node ($node1, $node3)
{
	ok(defined wait_following($node, $node2, $fail_s), $node->name . ' follows node2');
	is(query($node, $rows), '2', $node->name . ' has the same rows as node2');
}

stop_all(@nodes);
done_testing();
