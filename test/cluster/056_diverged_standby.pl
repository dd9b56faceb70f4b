# test/cluster/056_diverged_standby.pl: a standby that replayed past the
# point where the new leader's timeline forks off its own shuts itself down
# for pg_quorum_rejoin to rewind, instead of running on, never following
# (issue 10: the fault campaign's seed 205, 5 servers, where a standby cut
# off from the election took in the killed leader's last WAL; the same
# happens to a standby still following a deposed primary).
#
# PostgreSQL's startup process refuses such a timeline ("new timeline
# forked off current database system timeline before current recovery
# point") and retries for ever; nothing else rewinds a running standby.
#
# Three voters, asynchronous.  node3 has priority 0 (it votes but never
# campaigns, so it never stops its WAL intake for an election of its own)
# and its gossip port is cut, UDP and TCP; its replication from node1
# flows.  quorum.failover('node2') hands leadership over without node3.
# node1, deposed but kept up (pg_quorum.stop_deposed_primary = off),
# checkpoints, and node3 replays that, past node2's fork.  Healed, node3 learns
# that node2 leads and cannot follow it: it must stop by itself, cleanly
# (pg_rewind needs that of a standby), and once pg_quorum_rejoin has run
# it must start and follow node2 with node2's rows.  Before, node3 stayed
# up and never followed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;

my $fail_s = 30;

my $c = start_failover_test(
	fail_s      => $fail_s,
	nft         => 1,
	synchronous => 0,
	node_extra  => [ "pg_quorum.stop_deposed_primary = off\n", '', "pg_quorum.priority = 0\n" ]);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

$node1->safe_psql('postgres', 'CREATE TABLE before_fork (i int); INSERT INTO before_fork VALUES (1)');
ok(defined wait_following($_, $node1, $fail_s), $_->name . ' follows node1') for ($node2, $node3);

# node3 out of gossip; node1 hands over to node2 without it.
isolate_ports(udp => [ $c->{gossip}[2] ], tcp => [ $c->{gossip}[2] ]);
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok($ok, 'quorum.failover(\'node2\') succeeds while node3 is cut off from gossip') or diag($msg);
my ($leader) = wait_for_leader([ $node1, $node2 ], $fail_s, not => 'node1');
is($leader && $leader->name, 'node2', 'node2 leads');
give_up('no switchover', @nodes) unless $leader;
ok(defined wait_for_query($node2, 'SELECT NOT pg_is_in_recovery()', 't', $fail_s), 'node2 is promoted');
$node2->safe_psql('postgres', 'CREATE TABLE after_fork (i int); INSERT INTO after_fork VALUES (2)');

my $tli = query($node2, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)');
my $history = query($node2, "SELECT pg_read_file('pg_wal/$tli.history')") // '';
my ($fork) = $history =~ /^\d+\s+([0-9A-F]+\/[0-9A-F]+)/mi;
ok($fork, "node2's timeline forks at $fork");

# node1, deposed and fenced, still writes WAL (a checkpoint; a timed one,
# autovacuum or the shutdown checkpoint of a fast stop would do as well);
# node3, still following it, replays it past the fork.
my $off3 = log_offset($node3);
ok( defined wait_until(
		$fail_s,
		sub {
			$node1->safe_psql('postgres',
				'CHECKPOINT; SELECT pg_switch_wal()');
			(query($node3, "SELECT pg_last_wal_replay_lsn() > '$fork'") // '') eq 't';
		}),
	'node3 replayed node1\'s WAL past node2\'s fork');

# Healed: node3 learns that node2 leads and cannot follow it.
heal();
ok(defined wait_stopped($node3, $fail_s), 'node3 shuts itself down');
my $log3 = slurp_file($node3->logfile, $off3);
like($log3, qr/this standby cannot follow the leader "node2": it replayed timeline 1 up to \S+, past the point where the leader's timeline \d+ forks off it/,
	'node3 says why in its log');
like($log3, qr/received fast shutdown request/, 'node3 stops with a fast shutdown (clean, for pg_rewind)');

my ($rc, $out) = rejoin($node3, $node1, $node2);
is($rc, 0, 'pg_quorum_rejoin makes node3 a standby of node2') or diag($out);
$node3->start;
ok(defined wait_following($node3, $node2, $fail_s), 'node3 starts and follows node2');
is(query($node3, 'SELECT count(*) FROM after_fork') // 'none', '1', 'node3 has node2\'s rows');

# Nothing is stopped that can follow: node3 stays up.
my @stops = watch_for(3, sub { -e $node3->data_dir . '/postmaster.pid' ? '' : 'node3 stopped again' });
is_deeply(\@stops, [], 'node3, rewound, stays up');

heal();
stop_all(@nodes);
done_testing();
