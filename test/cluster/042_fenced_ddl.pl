# test/cluster/042_fenced_ddl.pl: statements whose effects outlive their
# transaction change nothing on a fenced primary (issue 9, H5).
#
# DROP DATABASE marks the database invalid and removes its files before it
# commits, and logs both; a fenced primary that refuses only its commit
# has already destroyed the database, on itself and on every standby that
# streamed the WAL, the next primary included ("cannot connect to invalid
# database").  Here a session on the primary waits until quorum.status
# says it is fenced and then at once runs DROP DATABASE, nextval() past the
# sequence's logged values, a non-transactional logical message, VACUUM and
# CREATE DATABASE: first during a switchover (quorum.failover() from node1
# to node2), then, node1 rejoined, during a gossip-only partition of node2
# (its replication still flows).  Each must be refused with the fence's
# message, and on the new primary the database must be complete (connect
# to it, count its rows) and the sequence where the standbys last saw it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use PgQuorum::Test;
use PgQuorum::Net;
use PgQuorum::Session;

my $fail_s = 30;
my $rows = 1000;

my $c = start_failover_test(nft => 1, fail_s => $fail_s);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };

$node1->safe_psql('postgres', 'CREATE DATABASE doomed');
$node1->safe_psql('doomed', "CREATE TABLE kept AS SELECT generate_series(1, $rows) AS i");
$node1->safe_psql('postgres', "CREATE SEQUENCE pgq_seq; SELECT nextval('pgq_seq')");
$node1->wait_for_catchup($_, 'replay', $node1->lsn('insert')) for ($node2, $node3);

# The statements a fenced primary must refuse, and the message of each.
my @refused = (
	[ 'DROP DATABASE doomed;',                                     'DROP DATABASE' ],
	[ "SELECT nextval('pgq_seq') FROM generate_series(1, 100);",   'nextval()' ],
	[ "SELECT pg_logical_emit_message(false, 'pgq', 'fenced');",   'pg_logical_emit_message()' ],
	[ 'VACUUM;',                                                   'VACUUM' ],
	[ 'CREATE DATABASE doomed2;',                                  'CREATE DATABASE' ]);

# A session on $node that runs @refused as soon as $node reports fenced;
# returns it once its wait is in flight.
sub when_fenced
{
	my ($node) = @_;
	my $s = PgQuorum::Session->open($node);
	$s->send(q{DO $$ BEGIN
		WHILE NOT (SELECT fenced FROM quorum.status) LOOP
			IF clock_timestamp() > now() + interval '60 s' THEN
				RAISE EXCEPTION 'never fenced';
			END IF;
			PERFORM pg_sleep(0.001);
		END LOOP;
	END $$;});
	$s->send($_->[0]) for @refused;
	$s->send("SELECT 'all sent';");
	ok( defined wait_for_query($node,
			"SELECT state FROM pg_stat_activity WHERE pid = $s->{pid} AND query LIKE 'DO%'",
			'active', $fail_s),
		$node->name . ': a session waits for the fence to close');
	return $s;
}

# The session's statements were refused by the fence, each when it started.
sub check_refused
{
	my ($s, $node, $when) = @_;
	is($s->wait_answer(90, qr/all sent/), 'answer', $node->name . " answers the session $when");
	my ($out, $err) = $s->output;
	unlike($err, qr/never fenced/, $node->name . " reported fenced $when") or diag($err);
	for my $r (@refused)
	{
		like($err, qr/ERROR:  cannot execute \Q$r->[1]\E on a fenced server/,
			"$when, $r->[1] is refused when it starts on the fenced " . $node->name)
		  or diag($err);
	}
	$s->close;
}

# The database and the sequence are intact on $node, as $seq was before.
sub check_intact
{
	my ($node, $seq, $when) = @_;
	my ($out, $err) = ('', '');
	$node->psql('doomed', 'SELECT count(*) FROM kept', stdout => \$out, stderr => \$err);
	is($out, $rows, "$when, the database is complete on the new primary " . $node->name)
	  or diag($err);
	is(query($node, "SELECT datconnlimit FROM pg_database WHERE datname = 'doomed'"), '-1',
		'and not marked invalid');
	is(query($node, "SELECT count(*) FROM pg_database WHERE datname = 'doomed2'"), '0',
		'no database was created');
	is(query($node, 'SELECT last_value FROM pgq_seq'), $seq,
		'the sequence is where the standbys last saw it');
}

# --- During a switchover. --------------------------------------------------
ok( defined wait_for_query(
		$node1,
		"SELECT n.state || ' ' || n.role FROM quorum.nodes n WHERE n.name = 'node2'",
		'alive standby', $fail_s),
	'node2 is seen alive as a standby');
my $seq = query($node2, 'SELECT last_value FROM pgq_seq');
my $s = when_fenced($node1);
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok($ok, 'quorum.failover(\'node2\') succeeds') or diag($msg);
check_refused($s, $node1, 'during the switchover');
my ($leader) = wait_for_leader([ $node2, $node3 ], $fail_s);
is($leader && $leader->name, 'node2', 'node2 leads');
check_intact($node2, $seq, 'after the switchover');

ok(defined wait_stopped($node1, $fail_s), 'node1 shuts itself down once deposed')
  or give_up('node1 did not stop', @nodes);
my ($rrc, $rout) = rejoin($node1, $node2, $node3);
is($rrc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($rout);
$node1->start;
ok(defined wait_following($_, $node2, $fail_s), $_->name . ' follows node2') for ($node1, $node3);
$node2->wait_for_catchup($_, 'replay', $node2->lsn('insert')) for ($node1, $node3);

# --- During a gossip-only partition of the primary. ------------------------
$seq = query($node3, 'SELECT last_value FROM pgq_seq');
$s = when_fenced($node2);
isolate_ports(udp => [ $gossip[1] ]);
check_refused($s, $node2, 'during the partition');
my ($new) = wait_for_leader([ $node1, $node3 ], $fail_s, not => 'node2');
ok($new, 'node1 and node3 elect a new leader');
give_up('no failover', @nodes) unless $new;
check_intact($new, $seq, 'after the partition');

heal();
stop_all(@nodes);
done_testing();
