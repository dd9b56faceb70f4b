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

use File::Path qw(make_path);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use PgQuorum::Test;

my $fail_s = 30;    # bound for an election, a failover, a rejoin, a catch-up
my $join_s = 60;    # bound for the first election

my $witness_bin = 'quorum_witness';
my $found = grep { -x "$_/$witness_bin" } split /:/, $ENV{PATH};
BAIL_OUT('quorum_witness is not installed: run "make install" first') unless $found;

my @gossip = free_gossip_ports(3);
my $key = new_key();
my $voters = 'node1,node2,witness';
my $common = "listen_addresses = '127.0.0.1'\n"
  . "wal_log_hints = on\n"
  . "wal_keep_size = '128MB'\n"
  . "log_line_prefix = '%m [%p] %q%a '\n"
  . "pg_quorum.failover = on\n"
  . "pg_quorum.voters = '$voters'\n"
  . "pg_quorum.synchronous = on\n";
my @gossip_peers = map { "127.0.0.1:$_" } @gossip;

# --- The servers. -------------------------------------------------------
my $node1 = PostgreSQL::Test::Cluster->new('node1');
$node1->init(allows_streaming => 1);
write_key($node1, $key);
quorum_conf($node1,
	name     => 'node1',
	port     => $gossip[0],
	peers    => [ @gossip[ 1, 2 ] ],
	conninfo => 'host=127.0.0.1 port=' . $node1->port,
	extra    => $common);
$node1->start;
$node1->backup('base');

my $node2 = PostgreSQL::Test::Cluster->new('node2');
$node2->init_from_backup($node1, 'base', has_streaming => 1);
write_key($node2, $key);
quorum_conf($node2,
	name     => 'node2',
	port     => $gossip[1],
	peers    => [ @gossip[ 0, 2 ] ],
	conninfo => 'host=127.0.0.1 port=' . $node2->port,
	extra    => $common
	  . "primary_conninfo = 'host=127.0.0.1 port=" . $node1->port . " application_name=node2'\n");
$node2->start;

# --- The witness. -------------------------------------------------------
my $wdir = "$PostgreSQL::Test::Utils::tmp_check/witness";
make_path($wdir);
my $wkey = "$wdir/quorum.key";
{
	my $old = umask(077);
	open my $fh, '>', $wkey or die "$wkey: $!";
	print $fh "$key\n";
	close $fh;
	umask($old);
}
my $wlog = "$PostgreSQL::Test::Utils::log_path/witness.log";
my $wconf = "$wdir/quorum-witness.conf";
open my $cf, '>', $wconf or die "$wconf: $!";
print $cf "name = witness\n"
  . "listen = 127.0.0.1:$gossip[2]\n"
  . "peers = $gossip_peers[0], $gossip_peers[1]\n"
  . "key_file = $wkey\n"
  . "state_dir = $wdir/state\n"
  . "voters = $voters\n";
close $cf;

# start_witness(): the daemon in the background, its stderr in $wlog.
sub start_witness
{
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		open STDOUT, '>>', $wlog or POSIX::_exit(127);
		open STDERR, '>>', $wlog or POSIX::_exit(127);
		exec $witness_bin, '--config', $wconf or POSIX::_exit(127);
	}
	return $pid;
}

# stop_witness($pid, $signal, $seconds): signal it and wait for its exit.
# Returns the exit status, or undef if it is still running.
sub stop_witness
{
	my ($pid, $signal, $seconds) = @_;
	kill $signal, $pid;
	my $status;
	wait_until(
		$seconds,
		sub {
			my $r = waitpid($pid, POSIX::WNOHANG());
			$status = $? >> 8 if $r == $pid;
			return $r != 0;
		});
	return $status;
}

sub witness_log { return -e $wlog ? slurp_file($wlog) : ''; }

my $wpid = start_witness();
END { kill 'KILL', $wpid if $wpid && kill(0, $wpid); }

# node1 is fenced until it is elected (node2's vote or the witness's).
my $err = '';
my $took = wait_until(
	$join_s,
	sub {
		return $node1->psql('postgres',
			'CREATE EXTENSION IF NOT EXISTS pg_quorum; '
			  . 'CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, phase text)',
			stderr => \$err, on_error_stop => 1) == 0;
	});
ok(defined $took, 'node1 is elected and accepts the first write') or diag($err);
BAIL_OUT('no first leader') unless defined $took;
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

my $state_file = "$wdir/state/pg_quorum.state";
my $state = -e $state_file ? slurp_file($state_file) : '';
like($state, qr/^node_name=witness$/m, 'the witness persisted its durable record');
my ($wterm) = $state =~ /^term=(\d+)$/m;
is($wterm, $term1, "its term is the cluster's ($term1)");
like($state, qr/^voter=witness$/m, 'and the voter set, with itself in it');

# --- 1. Loss of the standby. --------------------------------------------
$node2->kill9;
ok(defined wait_processes_gone($node2, $fail_s), 'every process of the killed node2 exits');
my ($ok, $state1, $msg);
$took = wait_until(
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
my $status = stop_witness($wpid, 'TERM', $fail_s);
is($status, 0, 'SIGTERM: the witness exits 0');
$wpid = undef;
like(witness_log(), qr/left the cluster; exiting/, 'after leaving the cluster');
ok(defined wait_for_query($node2, "SELECT state FROM quorum.nodes WHERE name = 'witness'",
		'left', $fail_s),
	'node2 shows the witness left');
unlike(witness_log(), qr/ERROR|unexpected lease/, 'the witness logged no error');

$node1->stop;
$node2->stop;
done_testing();
