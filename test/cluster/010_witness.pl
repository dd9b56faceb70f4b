# test/cluster/010_witness.pl: two PostgreSQL servers and the witness
# daemon (quorum_witness), a voter without a database, survive the loss of
# either server.
#
# node1 (primary) and node2 (standby) in synchronous mode, with
# pg_quorum.voters = 'node1,node2,witness', and the installed quorum_witness
# as the third voter.  node1 is elected with the witness's vote; the
# witness shows up in quorum.nodes as an alive voter with role witness and
# priority 0, and persists its term and vote in its state directory.
#
# 1. kill -9 of the standby: node1 and the witness are still a majority, so
#    node1 keeps leading and, once it has degraded synchronous mode, keeps
#    committing; node2 comes back and node1 returns to synchronous mode.
# 2. kill -9 of the primary: node2 and the witness elect node2, which is
#    promoted and writable, with every write node1 acknowledged; node1
#    rejoins as its standby with pg_quorum_rejoin.
# 3. SIGTERM of the witness: it leaves (node2 shows it left) and exits 0.
#
# Time bounds are generous; test/bench/failover.pl measures failover times.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 30;    # bound for an election, a failover, a rejoin, a catch-up
my $join_s = 60;    # bound for the first election

my $witness_bin = 'quorum_witness';
my $found = grep { -x "$_/$witness_bin" } split /:/, $ENV{PATH};
BAIL_OUT('quorum_witness is not installed: run "make install" first') unless $found;

# node1 and node2, and the installed witness as the third voter; node1 is
# elected (with node2's vote or the witness's) and writable.
my $c = new_failover_cluster(servers => 2, witness => 1, join_s => $join_s);
my ($node1, $node2) = @{ $c->{nodes} };
my $w = $c->{witness};
my $wlog = $w->{log};

sub witness_log { return -e $wlog ? slurp_file($wlog) : ''; }

$node1->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, phase text)');
$node1->wait_for_catchup($node2, 'replay', $node1->lsn('insert'));

my ($leader, $term1) = wait_for_leader([ $node1, $node2 ], $fail_s);
is($leader && $leader->name, 'node1', 'node1, the primary, leads');
ok(defined wait_for_query($node1,
		"SELECT state || ' ' || role || ' ' || voter || ' ' || priority || ' ' || is_leader "
		  . "FROM quorum.nodes WHERE name = 'witness'",
		'alive witness true 0 false', $fail_s),
	'node1 shows the witness as an alive voter, role witness, priority 0');
ok(defined wait_for_query($node1, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	'node1 is in synchronous mode with node2');
like(witness_log(), qr/leader is "node1"/, 'the witness logs node1 as the leader');

my $state_file = "$w->{state_dir}/pg_quorum.state";
my $state = -e $state_file ? slurp_file($state_file) : '';
like($state, qr/^node_name=witness$/m, 'the witness persisted its durable record');
my ($wterm) = $state =~ /^term=(\d+)$/m;
is($wterm, $term1, "its term is the cluster's ($term1)");
like($state, qr/^voter=[0-9a-f]+ witness$/m, 'and the voter set, with itself in it');

# --- 1. Loss of the standby. --------------------------------------------
$node2->kill9;
ok(defined wait_processes_gone($node2, $fail_s), 'every process of the killed node2 exits');
my ($ok, $state1, $msg);
my $took = wait_until(
	$fail_s,
	sub {
		($ok, $state1, $msg) = try_sql($node1,
			"SET statement_timeout = '5s'; INSERT INTO t VALUES (1, 'standby lost')");
		return $ok;
	});
ok(defined $took, 'node1 keeps committing without node2 (node1 + witness = majority)')
  or diag($msg);
note(sprintf('first commit %.1f s after the kill', $took)) if defined $took;
my $st = cluster_status($node1);
ok($st && ($st->{leader} // '') eq 'node1' && $st->{term} == $term1 && !$st->{fenced},
	"node1 is still the unfenced leader in term $term1");
is($st && $st->{mode}, 'degraded', 'in degraded synchronous mode');

$node2->start;
ok(defined wait_following($node2, $node1, $fail_s), 'node2 follows node1 again');
ok(defined wait_for_query($node1, "SELECT mode || ' ' || paused FROM quorum.status",
		'sync false', $fail_s),
	'node1 is back in synchronous mode, failover not paused');

# --- 2. Loss of the primary. --------------------------------------------
$node1->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'before failover' FROM generate_series(2, 101) g");
my $acked = $node1->safe_psql('postgres', 'SELECT count(*) FROM t');
$node1->kill9;
my ($new, $term2, $ftook) = wait_for_leader([$node2], $fail_s, not => 'node1');
is($new && $new->name, 'node2', 'node2 and the witness elect node2, which is writable');
BAIL_OUT('no failover after kill -9 of the primary') unless $new;
note(sprintf('node2 leader in term %s, %.1f s after the kill', $term2, $ftook));
ok($term2 > $term1, "in a new term ($term2 > $term1)");
is($node2->safe_psql('postgres', 'SELECT count(*) FROM t'), $acked,
	"node2 has every row node1 acknowledged ($acked)");
($ok, $state1, $msg) = try_sql($node2, "INSERT INTO t VALUES (1000, 'after failover')");
ok($ok, 'node2 accepts writes') or diag($msg);
ok(defined wait_until(10, sub { witness_log() =~ /leader is "node2"/ }),
	'the witness logs node2 as the leader');
($wterm) = slurp_file($state_file) =~ /^term=(\d+)$/m;
ok($wterm >= $term2, "the witness persisted the new term ($wterm)");

ok(defined wait_processes_gone($node1, $fail_s), 'every process of the killed node1 exits');
my ($rc, $out) = rejoin($node1, $node2);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby of node2') or diag($out);
$node1->start;
ok(defined wait_following($node1, $node2, $fail_s), 'node1 follows node2');
ok(defined wait_for_query($node2, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
	'node2 is in synchronous mode with node1');

# --- 3. The witness leaves. ----------------------------------------------
my $status = witness_stop($w, 'TERM', $fail_s);
is($status, 0, 'SIGTERM: the witness exits 0');
like(witness_log(), qr/left the cluster; exiting/, 'after leaving the cluster');
ok(defined wait_for_query($node2, "SELECT state FROM quorum.nodes WHERE name = 'witness'",
		'left', $fail_s),
	'node2 shows the witness left');
unlike(witness_log(), qr/ERROR|unexpected lease/, 'the witness logged no error');

$node1->stop;
$node2->stop;
done_testing();
