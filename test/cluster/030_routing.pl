# test/cluster/030_routing.pl: clients find the primary, a fenced primary
# is skipped, the picture renders, replication slots follow the leader.
#
# Three database voters (node1 primary, node2 and node3 standbys) and a
# witness (quorum_witness), the fourth voter:
#
# 1. quorum.connection_string() names the three servers' hosts and ports
#    (leader first), not the witness, which has no database; psql
#    connected with it writes on node1.  The leader holds a slot per
#    standby (none for the witness), each standby streams through its own.
# 2. node1's gossip is cut (its PostgreSQL port is not: clients and
#    standbys still reach it).  The majority elects a new leader; node1,
#    fenced but up, reports default_transaction_read_only, to new sessions
#    and to one opened before the cut, so libpq's target_session_attrs=
#    read-write skips it: psql with the same URI lands on the new leader
#    and writes there.  The new leader holds the slots, already in the
#    transaction of the first write it accepts: it creates them before its
#    fence opens.
# 3. quorum.dot() shows the streams with their lag and the witness as a
#    voter of its own shape, and renders with Graphviz's dot -Tsvg.
# 4. The cut heals, node1 stops itself and rejoins: it is a standby that
#    streams through its slot on the new leader, keeps no slot of its own,
#    and reports default_transaction_read_only off again.
# 5. pg_quorum.replication_slots = off (reloaded) on node1 and the leader:
#    node1 drops the primary_slot_name pg_quorum set and streams without a
#    slot; its unused slot is dropped by hand; on again, the leader makes
#    it anew and node1 streams through it.
# 6. A stopped standby is forgotten: its slot is dropped on the leader.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;

my $fail_s = 30;    # bound for a failover, a rejoin, a catch-up

my $c = start_failover_test(nft => 1, fail_s => $fail_s, witness => 1);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };

# psql with a connection string; returns (exit status, stdout, stderr).
sub psql_uri
{
	my ($uri, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $uri, '-c', $sql ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(60));
	chomp $out;
	return ($? >> 8, $out, $err);
}

# render_dot($dot, $file): dot -Tsvg of $dot into tmp_check/$file; returns
# (exit status, SVG, stderr).
sub render_dot
{
	my ($dot, $file) = @_;
	my ($svg, $err) = ('', '');
	IPC::Run::run([ 'dot', '-Tsvg' ], '<', \$dot, '>', \$svg, '2>', \$err);
	my $rc = $? >> 8;
	my $path = "$PostgreSQL::Test::Utils::tmp_check/$file";
	open my $fh, '>', $path or die "$path: $!";
	print $fh $svg;
	close $fh;
	note("rendered: $path");
	return ($rc, $svg, $err);
}

# The pgq_ slots on a server: "name:active,..." in name order.
sub slots
{
	my ($node) = @_;
	return query($node,
		"SELECT coalesce(string_agg(slot_name || ':' || active, ',' ORDER BY slot_name), '') "
		  . "FROM pg_replication_slots WHERE slot_name LIKE 'pgq\\_%'");
}

# --- 1. The URI reaches node1. -------------------------------------------
my $user = query($node1, 'SELECT current_user');
my $uri = query($node1, "SELECT quorum.connection_string('postgres', '$user')");
my $hosts = join(',', map { '127.0.0.1:' . $_->port } @nodes);
is($uri, "postgresql://$hosts/postgres?user=$user&target_session_attrs=read-write",
	'connection_string() lists the three servers, the leader first, for read-write');
like(query($node2, "SELECT quorum.connection_string('postgres', '$user', false)"),
	qr{^postgresql://127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/postgres\?user=\Q$user\E&target_session_attrs=prefer-standby$},
	'for reads it asks for prefer-standby');

my ($rc, $out, $err) = psql_uri($uri,
	'CREATE TABLE routed (id int PRIMARY KEY, port int); '
	  . 'INSERT INTO routed VALUES (1, inet_server_port()) RETURNING port');
is($rc, 0, 'psql with the URI writes') or diag($err);
is($out, $node1->port, 'on node1');

ok( defined wait_until($fail_s, sub { (slots($node1) // '') eq 'pgq_node2:true,pgq_node3:true' }),
	'the leader holds an active slot per standby')
  or diag('node1 slots: ' . (slots($node1) // '(error)'));
is(query($_, 'SHOW primary_slot_name'), 'pgq_' . $_->name, $_->name . ' streams through its own slot')
  for ($node2, $node3);

# The healthy cluster's picture, kept for the README (docs/cluster.svg).
render_dot(query($node1, 'SELECT quorum.dot()'), 'cluster-healthy.svg');

# A session opened before the cut, to see the setting reach it.
my ($s_in, $s_out, $s_err) = ('', '', '');
my $session = IPC::Run::start([ 'psql', '-XAtq', '-d', $node1->connstr('postgres') ],
	'<', \$s_in, '>', \$s_out, '2>', \$s_err, IPC::Run::timeout(120));
$s_in .= "SHOW default_transaction_read_only;\n";
$session->pump until $s_out =~ /\n/;
is($s_out, "off\n", 'a session on node1 starts with default_transaction_read_only off');

# --- 2. Cut node1's gossip; the URI finds the new leader. ----------------
isolate_ports(udp => [ $gossip[0] ]);
my ($new, $term2) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'the majority elects a new leader');
give_up('no failover in the majority', @nodes) unless $new;
my ($other) = grep { $_ != $new } ($node2, $node3);

ok( defined wait_for_query($node1, 'SHOW default_transaction_read_only', 'on', $fail_s),
	'the fenced node1, still up, reports default_transaction_read_only to new sessions');
is(query($node1, 'SELECT pg_is_in_recovery()'), 'f', 'node1 is still a primary');
$s_out = '';
my $seen = wait_until(
	$fail_s,
	sub {
		$s_out = '';
		$s_in .= "SHOW default_transaction_read_only;\n";
		$session->pump until $s_out =~ /\n/;
		return $s_out eq "on\n";
	});
ok(defined $seen, 'and to the session opened before the cut');
$s_in .= "\\q\n";
$session->finish;

($rc, $out, $err) = psql_uri(
	'postgresql://127.0.0.1:' . $node1->port . "/postgres?user=$user&target_session_attrs=read-write",
	'SELECT 1');
isnt($rc, 0, 'libpq refuses node1 alone for target_session_attrs=read-write');
like($err, qr/read-only/, 'because its session is read-only') or diag($err);

# The first write the new leader accepts also reads its pgq_ slots.
my ($landed, $slots_at_first_write);
ok( defined wait_until(
		$fail_s,
		sub {
			($rc, $out, $err) = psql_uri($uri,
				'INSERT INTO routed VALUES (2, inet_server_port()) '
				  . 'ON CONFLICT (id) DO UPDATE SET port = excluded.port RETURNING port, '
				  . "(SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') "
				  . "FROM pg_replication_slots WHERE slot_name LIKE 'pgq\\_%')");
			($landed, $slots_at_first_write) = split /\|/, $out, 2 if $rc == 0;
			return $rc == 0;
		}),
	'psql with the same URI writes after the failover') or diag($err);
is($landed, $new->port, 'on the new leader, ' . $new->name);
is($slots_at_first_write, 'pgq_node1,pgq_' . $other->name,
	'the slots of both other members exist when the new leader accepts its first write');
is(query($new, 'SELECT port FROM routed WHERE id = 1'), $node1->port,
	'the write made through the URI on node1 is there too');

ok( defined wait_until($fail_s, sub { (slots($new) // '') =~ /^pgq_node1:\w+,pgq_\Q${\$other->name}\E:true$/ }),
	$new->name . ' holds a slot per other member, ' . $other->name . '\'s in use')
  or diag($new->name . ' slots: ' . (slots($new) // '(error)'));

# --- 3. The picture. -------------------------------------------------------
ok(defined wait_following($other, $new, $fail_s), $other->name . ' follows ' . $new->name);
my $dot = query($new, 'SELECT quorum.dot()');
like($dot, qr/^digraph pg_quorum \{/, 'quorum.dot() is a digraph');
# The edge's lag comes from the leader's gossiped view of the standby's
# timeline and WAL position, which the standby's worker samples every
# 150 ms and gossip then carries: it lags the WAL receiver that
# wait_following reads ("lag unknown" until then).
ok( defined wait_until($fail_s,
		sub {
			($dot = query($new, 'SELECT quorum.dot()') // '') =~
			  /"\Q${\$new->name}\E" -> "\Q${\$other->name}\E" \[label="lag \d+ bytes", style=solid\]/;
		}),
	'with a solid edge from the leader to the standby that streams from it')
  or diag("quorum.dot() on " . $new->name . ":\n$dot");
like($dot, qr/\t"witness" \[label="witness\\nwitness, alive\\nvoter", shape=ellipse, style="filled,bold"/,
	'the witness is an alive voter, drawn as an ellipse, without a WAL position');
unlike($dot, qr/-> "witness"/, 'and nothing streams to it');
my ($dot_rc, $svg, $dot_err) = render_dot($dot, 'cluster-failover.svg');
is($dot_rc, 0, 'dot -Tsvg accepts it') or diag($dot_err);
like($svg, qr/<svg.*node1.*node2.*node3/s, 'the SVG shows the three members');

# --- 4. Heal; node1 rejoins. ------------------------------------------------
heal();
ok(defined wait_stopped($node1, $fail_s), 'after the heal the deposed node1 shuts itself down');
my $rout;
($rc, $rout) = rejoin($node1, $node2, $node3);
is($rc, 0, 'pg_quorum_rejoin prepares node1 as a standby') or diag($rout);
$node1->start;
ok(defined wait_following($node1, $new, $fail_s), 'node1 follows ' . $new->name);
ok(defined wait_for_query($node1, 'SHOW default_transaction_read_only', 'off', $fail_s),
	'node1 no longer sets default_transaction_read_only');
ok(defined wait_for_query($node1, 'SHOW primary_slot_name', 'pgq_node1', $fail_s), 'node1 streams through pgq_node1')
  or diag('primary_slot_name: ' . (query($node1, 'SHOW primary_slot_name') // '(error)'));
ok( defined wait_until($fail_s, sub { (slots($new) // '') eq 'pgq_node1:true,pgq_' . $other->name . ':true' }),
	'both standbys\' slots are in use on ' . $new->name)
  or diag($new->name . ' slots: ' . (slots($new) // '(error)'));
ok(defined wait_until($fail_s, sub { (slots($node1) // 'x') eq '' }),
	'node1, now a standby, keeps none of the slots it held as the leader')
  or diag('node1 slots: ' . (slots($node1) // '(error)'));

# --- 5. Slots off and on again, by reload. ----------------------------------
my $others_slot = 'pgq_' . $other->name . ':true';
sub set_slots
{
	my ($value) = @_;
	for my $node ($node1, $new)
	{
		$node->append_conf('postgresql.conf', "pg_quorum.replication_slots = $value");
		$node->reload;
	}
}
my $wal_receiver = "SELECT status || ':' || coalesce(slot_name, '') FROM pg_stat_wal_receiver";
set_slots('off');
ok(defined wait_for_query($node1, 'SHOW primary_slot_name', '', $fail_s),
	'slots off: node1 no longer names its slot');
ok(defined wait_for_query($node1, $wal_receiver, 'streaming:', $fail_s),
	'node1 streams without a slot');
# The operator drops the unused slot; on again, the leader makes it anew.
ok(defined wait_until($fail_s, sub { (slots($new) // '') eq "pgq_node1:false,$others_slot" }),
	'node1\'s slot on the leader is unused')
  or diag($new->name . ' slots: ' . (slots($new) // '(error)'));
ok(defined query($new, "SELECT pg_drop_replication_slot('pgq_node1')"),
	'the unused slot is dropped by hand');
set_slots('on');
ok(defined wait_for_query($node1, $wal_receiver, 'streaming:pgq_node1', $fail_s),
	'slots on again: node1 streams through pgq_node1, made anew by the leader');
ok(defined wait_until($fail_s, sub { (slots($new) // '') eq "pgq_node1:true,$others_slot" }),
	'both standbys\' slots are in use again')
  or diag($new->name . ' slots: ' . (slots($new) // '(error)'));

# --- 6. A forgotten member's slot goes away. --------------------------------
$other->stop('fast');
my $gone = $other->name;
ok( defined wait_for_query($new,
		"SELECT state IN ('dead', 'left') FROM quorum.nodes WHERE name = '$gone'", 't', $fail_s),
	"$gone is seen stopped");
my ($fok, $fstate, $fmsg) = try_sql($new, "SELECT quorum.forget('$gone')");
ok($fok, "quorum.forget('$gone') succeeds") or diag($fmsg);
ok(defined wait_until($fail_s, sub { (slots($new) // '') eq 'pgq_node1:true' }),
	"the leader dropped $gone\'s slot")
  or diag($new->name . ' slots: ' . (slots($new) // '(error)'));

is(witness_stop($c->{witness}, 'TERM', $fail_s), 0, 'the witness stops');
stop_all(@nodes);
done_testing();
