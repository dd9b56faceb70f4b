# test/cluster/051_clean_stop.pl: a clean stop of the leader hands the
# leadership over first (issue 11, part 3).
#
# Three voters in synchronous mode, production settings, a workload writing
# to every server throughout.  pg_ctl stop -m fast of the leader: its
# worker hands over to the best standby as quorum.failover() does, another
# server acknowledges writes well within the election timeout's reach, the
# remaining standby follows it, and the stopped server comes back as a
# standby through pg_quorum_rejoin.  Each standby keeps the
# synchronous_standby_names its promotion sets ready beforehand.  No
# acknowledged write is missing
# anywhere (PgQuorum::History).  Time bounds are generous; make
# bench-failover measures.

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

my $fail_s     = 30;   # bound for a rejoin, a catch-up
my $writable_s = 3;    # bound for another server to acknowledge a write

my $c = new_failover_cluster();
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my $now = \&PgQuorum::Workload::now;

my ($leader) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1, the primary, is the first leader');
give_up('no first leader', @nodes) unless $leader;

# Each standby holds the list its promotion sets already, so that the
# promotion does not wait for postgresql.auto.conf to be written.
ok(defined wait_for_query($node2, 'SHOW synchronous_standby_names', 'ANY 1 ("node1", "node3")', $fail_s),
	'node2, a standby, keeps synchronous_standby_names ready for its promotion');
# The leader's own list names the standbys it sees alive and streaming,
# redone by its worker every 250 ms: a standby that began streaming shortly
# before the cluster was ready joins it on a later pass.
ok(defined wait_for_query($node1, 'SHOW synchronous_standby_names', 'ANY 1 ("node2", "node3")', $fail_s),
	'node1, the leader, has its own');

my $wl = PgQuorum::Workload->start(
	nodes => \@nodes,
	file  => "$PostgreSQL::Test::Utils::tmp_check/workload_051.tsv");
ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

# --- pg_ctl stop -m fast of the leader. -----------------------------------
my @rest = ($node2, $node3);
my $offset = log_offset($node1);
my $t_stop = $now->();
$node1->stop('fast');
my $stopped = $now->() - $t_stop;
my $first = $wl->wait_ack($fail_s, server => [ map { $_->name } @rest ], done_after => $t_stop);
ok($first, 'after pg_ctl stop -m fast of node1, another server acknowledges a write');
give_up('no hand-over', @nodes) unless $first;
my $took = $first->{done} - $t_stop;
note(sprintf('pg_ctl stop took %.3f s; %s acknowledged the first write %.3f s after it began',
		$stopped, $first->{server}, $took));
cmp_ok($took, '<', $writable_s, "writable elsewhere within ${writable_s}s of the stop command");
# The log of node1 says it began the hand-over, and learnt of the new
# leader before it stopped (its worker or, in the same pass, the deposed
# primary's own stop says so).
my $log1 = slurp_file($node1->logfile, $offset);
like($log1, qr/pg_quorum hands the leadership over to the best standby before stopping/,
	'node1 began a hand-over when told to stop');
like($log1, qr/"$first->{server}" is the leader in term/,
	"node1 knew $first->{server} as the leader before it stopped");

my ($new) = wait_for_leader(\@rest, $fail_s, not => 'node1');
ok($new && $new->name eq $first->{server}, $first->{server} . ' is the agreed leader');
give_up('no agreed leader', @nodes) unless $new;
my ($other) = grep { $_ != $new } @rest;
ok(defined wait_following($other, $new, $fail_s), $other->name . ' follows ' . $new->name);
ok(defined wait_for_query($new, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$new->name . ' is in synchronous mode');

# --- The stopped server rejoins. -------------------------------------------
my $t_rejoin = $now->();
my ($rc, $out) = rejoin($node1, @rest);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($out);
note(sprintf('pg_quorum_rejoin took %.3f s', $now->() - $t_rejoin));
note($out);
$node1->start;
ok(defined wait_following($node1, $new, $fail_s), 'node1 follows ' . $new->name);

# --- The history. --------------------------------------------------------
check_workload($wl,
	leader      => $new,
	nodes       => \@nodes,
	max_changes => 1);

stop_all(@nodes);
done_testing();
