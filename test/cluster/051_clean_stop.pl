# test/cluster/051_clean_stop.pl: a clean stop of the leader hands the
# leadership over first (issue 11, part 3).
#
# Three voters in synchronous mode, production settings, a workload writing
# to every server throughout.  pg_ctl stop -m fast of the leader: its
# worker hands over to the best standby as quorum.failover() does, another
# server acknowledges writes well within the election timeout's reach, the
# remaining standby follows it, and the stopped server comes back as a
# standby through pg_quorum_rejoin.  Each standby keeps the
# synchronous_standby_names its promotion sets ready beforehand.
#
# Then pg_ctl stop -m smart of the new leader.  A smart shutdown waits for
# the clients to leave, and PostgreSQL tells background workers to stop
# only after the last one has: until then the server stays the leader and
# its clients' sessions go on writing, and no other server accepts a write.
# Once the last client has left, the worker hands over as under -m fast, and
# that server too comes back as a standby.
#
# No acknowledged write is missing anywhere (PgQuorum::History).  Time
# bounds are generous; make bench-failover measures.

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

# handed_over($stopped, $since, $how, @rest): after $how ($stopped told to
# stop at $since), another of @rest acknowledges a write within the bound,
# is the agreed leader, and the remaining one follows it.  Returns (the new
# leader, its first acknowledged write).
sub handed_over
{
	my ($stopped, $since, $how, @rest) = @_;
	my $first = $wl->wait_ack($fail_s, server => [ map { $_->name } @rest ], done_after => $since);
	ok($first, "after $how, another server acknowledges a write");
	give_up("no hand-over after $how", @nodes) unless $first;
	my $took = $first->{done} - $since;
	note(sprintf('%s acknowledged the first write %.3f s after %s', $first->{server}, $took, $how));
	cmp_ok($took, '<', $writable_s, "writable elsewhere within ${writable_s}s of $how");
	my ($new) = wait_for_leader(\@rest, $fail_s, not => $stopped->name);
	ok($new && $new->name eq $first->{server}, $first->{server} . ' is the agreed leader');
	give_up("no agreed leader after $how", @nodes) unless $new;
	my ($other) = grep { $_ != $new } @rest;
	ok(defined wait_following($other, $new, $fail_s), $other->name . ' follows ' . $new->name);
	return ($new, $first);
}

# rejoined($node, $leader, @peers): the stopped $node comes back as a
# standby of $leader through pg_quorum_rejoin.
sub rejoined
{
	my ($node, $leader, @peers) = @_;
	my $t_rejoin = $now->();
	my ($rc, $out) = rejoin($node, @peers);
	is($rc, 0, 'pg_quorum_rejoin prepares ' . $node->name . ' as a standby') or diag($out);
	note(sprintf('pg_quorum_rejoin took %.3f s', $now->() - $t_rejoin));
	note($out);
	$node->start;
	ok(defined wait_following($node, $leader, $fail_s), $node->name . ' follows ' . $leader->name);
	return;
}

# --- pg_ctl stop -m fast of the leader. -----------------------------------
my @rest = ($node2, $node3);
my $offset = log_offset($node1);
my $t_stop = $now->();
$node1->stop('fast');
note(sprintf('pg_ctl stop took %.3f s', $now->() - $t_stop));
my ($new, $first) = handed_over($node1, $t_stop, 'pg_ctl stop -m fast of node1', @rest);
# The log of node1 says it began the hand-over, and learnt of the new
# leader before it stopped (its worker or, in the same pass, the deposed
# primary's own stop says so).
my $log1 = slurp_file($node1->logfile, $offset);
like($log1, qr/pg_quorum hands the leadership over to the best standby before stopping/,
	'node1 began a hand-over when told to stop');
like($log1, qr/"$first->{server}" is the leader in term/,
	"node1 knew $first->{server} as the leader before it stopped");
ok(defined wait_for_query($new, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	$new->name . ' is in synchronous mode');

# --- The stopped server rejoins. -------------------------------------------
rejoined($node1, $new, @rest);

# --- pg_ctl stop -m smart of the new leader. ------------------------------
my $smart = $new;
my @rest2 = grep { $_ != $smart } @nodes;
my ($leader2, $term2) = wait_for_leader(\@nodes, $fail_s);
ok($leader2 && $leader2 == $smart, $smart->name . ' leads all three again');
# One more client, held open over the stop: once it has seen the workload
# go on writing, it ends the workload's sessions on the server and leaves
# last.
my ($cin, $cout, $cerr) = ('', '', '');
my $client = IPC::Run::start([ 'psql', '-X', '-A', '-t', '-d', $smart->connstr('postgres') ],
	'<', \$cin, '>', \$cout, '2>', \$cerr);
$cin .= "SELECT 'connected';\n";
ok(defined wait_until($fail_s, sub { $client->pump_nb; $cout =~ /connected/ }),
	'a client holds a session on ' . $smart->name);
$offset = log_offset($smart);
my $t_smart = $now->();
PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-D', $smart->data_dir, '-m', 'smart', '-W', 'stop');
ok(defined wait_until($fail_s, sub { slurp_file($smart->logfile, $offset) =~ /received smart shutdown request/ }),
	$smart->name . ' received the smart shutdown request');
my $t_asked = $now->();
ok($wl->wait_ack($fail_s, server => $smart->name, sent_after => $t_asked),
	'its clients\' sessions still write while it waits for them to leave');
my @changed = leader_changes(\@rest2, $smart->name, $term2, 2);
is(join('; ', @changed), '', 'the others name ' . $smart->name . " leader in term $term2 while its clients remain");
is($wl->first_ack(server => [ map { $_->name } @rest2 ], done_after => $t_smart), undef,
	'no other server accepted a write meanwhile');
unlike(slurp_file($smart->logfile, $offset), qr/hands the leadership over/,
	'no hand-over began while clients remain');

# The workload's sessions end (it tries again, and is refused: the server
# is shutting down), then the last client leaves.
$cin .= "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
  . "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();\n\\q\n";
$client->finish;
my $t_left = $now->();
my ($new2) = handed_over($smart, $t_left, 'the last client of ' . $smart->name . ' left', @rest2);
like(slurp_file($smart->logfile, $offset), qr/pg_quorum hands the leadership over to the best standby before stopping/,
	$smart->name . ' handed over once told to stop');
ok(defined wait_stopped($smart, $fail_s), $smart->name . ' stopped');
rejoined($smart, $new2, @rest2);

# --- The history. --------------------------------------------------------
check_workload($wl,
	leader      => $new2,
	nodes       => \@nodes,
	max_changes => 2);

stop_all(@nodes);
done_testing();
