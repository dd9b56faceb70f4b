# test/cluster/050_certain_death.pl: a leader whose server is certainly
# dying resigns, so that another server is writable without waiting out the
# election timeout (issue 11, part 2).
#
# Three voters in synchronous mode, production settings (restart_after_crash
# on), a workload writing to every server throughout:
#
# 1. SIGSTOP of the whole primary for 1 s: no failover (the resignation
#    must not make a stalled server look dead).
# 2. kill -9 of the primary's postmaster only: its worker sees the
#    postmaster die, fences and resigns; another server acknowledges a
#    write well within the bound, and the killed server rejoins.
# 3. kill -9 of one backend of the new primary: the postmaster restarts
#    every process, and the worker, told by SIGQUIT, resigns too; another
#    server becomes writable, and the crashed one rejoins.
#
# At the end no acknowledged write is missing anywhere (PgQuorum::History).
# Time bounds are generous; make bench-failover measures.

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

my $fail_s     = 30;   # bound for a rejoin, a catch-up
my $writable_s = 3;    # bound for another server to acknowledge a write
my $watch_s    = 4;    # watch for a false failover (> the 1.6 s election timeout)

my $c = start_failover_test(workload => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my ($term, $wl) = @$c{qw(term wl)};
my $now = \&PgQuorum::Workload::now;

# --- 1. A 1 s SIGSTOP of the whole primary causes no failover. ----------
my $t_stop = $now->();
freeze($node1);
# The fault itself lasts 1 s (a pause, not a synchronization).
Time::HiRes::sleep(1 - ($now->() - $t_stop));
thaw($node1);
my $t_cont = $now->();
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => $t_cont),
	'writes resume on node1 after a 1 s SIGSTOP');
my @changed = leader_changes(\@nodes, 'node1', $term, $watch_s);
is(join('; ', @changed), '', "after the SIGSTOP node1 stays leader in term $term everywhere");
is($wl->first_ack(server => [ 'node2', 'node3' ]), undef, 'no standby accepted a write');

# kill_and_check($victim, $how, $kill, @rest): kill the leader $victim with
# $kill, then check that it resigned and another server became writable.
# Returns the new leader.
sub kill_and_check
{
	my ($victim, $how, $kill, @rest) = @_;
	my $offset = log_offset($victim);
	my $t_kill = $now->();
	$kill->();
	my $first = $wl->wait_ack($fail_s, server => [ map { $_->name } @rest ], done_after => $t_kill);
	ok($first, "after $how of " . $victim->name . ', another server acknowledges a write');
	give_up("no failover after $how", @nodes) unless $first;
	my $took = $first->{done} - $t_kill;
	note(sprintf('%s acknowledged the first write %.3f s after %s', $first->{server}, $took, $how));
	cmp_ok($took, '<', $writable_s, "writable elsewhere within ${writable_s}s of $how");
	ok( defined wait_until(
			$fail_s,
			sub {
				my $log = slurp_file($victim->logfile, $offset);
				return $log =~ /pg_quorum resigned the leadership/;
			}),
		$victim->name . "'s worker resigned the leadership after $how");
	my ($new) = wait_for_leader(\@rest, $fail_s, not => $victim->name);
	ok($new && $new->name eq $first->{server}, $first->{server} . ' is the agreed leader');
	return $new;
}

# bring_back($node, $leader, @peers): wait until every process of $node is
# gone (its postmaster killed, or stopped by itself), rejoin it as a
# standby of $leader and start it.
sub bring_back
{
	my ($node, $leader, @peers) = @_;
	ok(defined($node->{_pid} ? wait_stopped($node, $fail_s) : wait_processes_gone($node, $fail_s)),
		'every process of ' . $node->name . ' exits');
	my ($rc, $out) = rejoin($node, @peers);
	is($rc, 0, 'pg_quorum_rejoin prepares ' . $node->name . ' as a standby') or diag($out);
	$node->start;
	ok(defined wait_following($node, $leader, $fail_s), $node->name . ' follows ' . $leader->name);
	ok(defined wait_for_query($leader, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
		$leader->name . ' is in synchronous mode');
	return;
}

# --- 2. kill -9 of the postmaster only. ---------------------------------
# Only the postmaster: its children live on and notice its death.
my $new = kill_and_check($node1, 'a kill -9 of the postmaster', sub { $node1->kill9 },
	$node2, $node3);
bring_back($node1, $new, $node2, $node3);

# --- 3. kill -9 of a backend, restart_after_crash = on. -------------------
is(query($new, 'SHOW restart_after_crash'), 'on', 'restart_after_crash is on');
my @rest = grep { $_ != $new } @nodes;
my $backend = query($new,
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
	  . 'AND pid <> pg_backend_pid() ORDER BY pid LIMIT 1');
ok($backend, 'a client backend of ' . $new->name . ' to kill');
my $crashed = $new;
my $third = kill_and_check($crashed, 'a kill -9 of a backend', sub { kill 'KILL', $backend }, @rest);
# Back from crash recovery, it is a primary under another leader: it stops
# itself (pg_quorum.stop_deposed_primary), and rejoins.
bring_back($crashed, $third, @rest);

# --- The history. --------------------------------------------------------
check_workload($wl,
	leader      => $third,
	nodes       => \@nodes,
	max_changes => 2);

stop_all(@nodes);
done_testing();
