# test/cluster/020_http.pl: the HTTP endpoint on a real three-server
# cluster, and HAProxy routing writes by it.
#
# Three voters (node1 primary, node2 and node3 standbys) in synchronous
# mode, each with pg_quorum.http_listen, and pg_quorum.stop_deposed_primary
# off so that a deposed primary stays up, fenced.  curl checks every path
# (the six check paths, /cluster and /metrics), with Patroni's status codes:
#
# 1. on the leader and on a standby; promtool accepts /metrics of both, and
#    every metric issue 13 names has its HELP and TYPE lines;
# 2. on a primary that lost its quorum (both standbys frozen): fenced, and
#    no longer the leader once check-quorum steps it down;
# 3. on a standby that lost its quorum (its gossip cut off with nftables,
#    inside scripts/sandbox.sh's network namespace): it still streams, but
#    knows no leader, so it is no /replica either.
#
# Then HAProxy (Debian's) checks the three with "option httpchk GET
# /primary" and a psql client writes through it: to the leader; after a
# kill -9 of the leader, to the new leader; after quorum.failover() to the
# third server, to that one.  The old leader, deposed by the switchover
# and still up, is the fenced primary of case 4: curl sees it fenced, with
# a quorum, naming the new leader.  test/bench/haproxy.pl measures.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Http;
use PgQuorum::Net;

my $fail_s = 60;    # bound for a failover, a switchover, a check to change

my @http = free_gossip_ports(3);
my ($hp_port) = free_gossip_ports(1);
my $c = new_failover_cluster(
	extra      => "pg_quorum.stop_deposed_primary = off\n",
	node_extra => [ map { http_conf($_) } @http ]);
my @nodes = @{ $c->{nodes} };
my %http  = map { $nodes[$_]->name => $http[$_] } 0 .. 2;
my ($node1, $node2, $node3) = @nodes;

sub url { my ($node, $path) = @_; return "http://127.0.0.1:$http{$node->name}$path"; }
sub status { my ($node, $path) = @_; return (curl(url($node, $path)))[0]; }

# wait_status($node, $path, $code): poll until $path answers $code.
sub wait_status
{
	my ($node, $path, $code) = @_;
	my $last;
	my $took = wait_until($fail_s, sub { ($last = status($node, $path)) == $code });
	diag($node->name . "$path still answers $last, not $code") unless defined $took;
	return $took;
}

# metrics($node): (value of each unlabelled or labelled sample, the text).
sub metrics
{
	my ($node) = @_;
	my ($status, $body) = curl(url($node, '/metrics'));
	my %m;
	$m{$1} = $2 while $body =~ /^pg_quorum_(\S+) (\S+)$/mg;
	return (\%m, $body);
}

# expect($node, { path => code }, what): every path answers its code.
# /cluster and /metrics answer 200 everywhere (no credentials are set), and
# are checked on every server with the paths given.
sub expect
{
	my ($node, $want, $what) = @_;
	my %want = ('/cluster' => 200, '/metrics' => 200, %$want);
	for my $path (sort keys %want)
	{
		is(status($node, $path), $want{$path},
			$node->name . " ($what): $path answers $want{$path}");
	}
	return;
}

# The answers of a server that is neither a writable primary nor a
# standby of a leader it knows: only /health says yes.
my %fenced_or_lost = ('/primary' => 503, '/read-write' => 503, '/replica' => 503,
	'/read-only' => 503, '/health' => 200, '/leader' => 503);

sub lint
{
	my ($node, $body, $what) = @_;
	my ($ok, $out) = promtool_check($body);
	ok($ok, "promtool check metrics accepts /metrics of " . $node->name . " ($what)") or diag($out);
	return;
}

# --- 1. The leader and a standby. -------------------------------------
ok(defined wait_status($node1, '/primary', 200), 'node1 /primary answers 200 once it leads');
ok(defined wait_status($node2, '/replica', 200), 'node2 /replica answers 200 once it streams');
expect($node1, { '/primary' => 200, '/read-write' => 200, '/replica' => 503,
		'/read-only' => 200, '/health' => 200, '/leader' => 200 }, 'leader');
expect($node2, { '/primary' => 503, '/read-write' => 503, '/replica' => 200,
		'/replica?lag=16MB' => 200, '/read-only' => 200, '/health' => 200,
		'/leader' => 503 }, 'standby');

my ($status, $body) = curl(url($node2, '/leader'));
like($body, qr/^\{"term":\d+,"leader":\{"name":"node1","address":"127\.0\.0\.1:\d+","state":"alive"/,
	'/leader on a standby describes node1');
($status, $body) = curl(url($node3, '/cluster'));
is($status, 200, '/cluster answers 200');
is(scalar(() = $body =~ /"name":"node\d"/g), 3, '/cluster lists three members');
like($body, qr/"name":"node1"[^}]*"is_leader":true/, '/cluster marks node1 the leader');
unlike($body, qr/conninfo|host=/, '/cluster carries no conninfo');

# A peer's round-trip time appears once node1 has probed it.
my ($m, $text);
wait_until($fail_s, sub {
	($m, $text) = metrics($node1);
	return defined $m->{'peer_rtt_seconds{peer="node3"}'};
});
is($m->{lease_held}, 1, 'node1 metrics: lease held');
is($m->{is_leader}, 1, 'node1 metrics: leader');
is($m->{fenced}, 0, 'node1 metrics: not fenced');
is($m->{'members{state="alive"}'}, 3, 'node1 metrics: three members alive');
is($m->{'mode{mode="sync"}'}, 1, 'node1 metrics: synchronous mode');
ok(defined $m->{'member_lag_bytes{member="node2"}'}, 'node1 metrics: lag of node2');
ok(defined $m->{'peer_rtt_seconds{peer="node3"}'}, 'node1 metrics: round-trip time to node3');
cmp_ok($m->{lease_remaining_seconds}, '>', 0, 'node1 metrics: lease time left');
lint($node1, $text, 'leader');
is($m->{paused}, 0, 'node1 metrics: not paused');
cmp_ok($m->{term}, '>=', 1, 'node1 metrics: the term');
ok(defined $m->{'dropped_datagrams_total{reason="auth"}'}, 'node1 metrics: drops by reason');

# Each metric issue 13 asks for, with its HELP and TYPE lines.
my %families = (
	term => 'gauge', leader => 'gauge', lease_held => 'gauge',
	lease_remaining_seconds => 'gauge', fenced => 'gauge', paused => 'gauge',
	mode => 'gauge', members => 'gauge', peer_rtt_seconds => 'gauge',
	dropped_datagrams_total => 'counter', elections_total => 'counter',
	failovers_total => 'counter', member_lag_bytes => 'gauge');
for my $f (sort keys %families)
{
	like($text, qr/^# HELP pg_quorum_$f \S.*\n# TYPE pg_quorum_$f $families{$f}\n/m,
		"/metrics: pg_quorum_$f has HELP and TYPE $families{$f}");
}
($m, $text) = metrics($node2);
is($m->{fenced}, 1, 'node2 metrics: a standby is fenced');
is($m->{'leader{name="node1"}'}, 1, 'node2 metrics: node1 leads');
lint($node2, $text, 'standby');

# --- 2. A primary without a quorum. -----------------------------------
freeze($_) for $node2, $node3;
ok(defined wait_status($node1, '/primary', 503), 'node1 /primary answers 503 once both standbys are frozen');
ok(defined wait_status($node1, '/leader', 503), 'node1 /leader answers 503 once it stepped down');
expect($node1, \%fenced_or_lost, 'primary without quorum');
($m, $text) = metrics($node1);
is($m->{fenced}, 1, 'node1 metrics: fenced');
is($m->{lease_held}, 0, 'node1 metrics: no lease');
is($m->{has_quorum}, 0, 'node1 metrics: no quorum');
lint($node1, $text, 'primary without quorum');
thaw($_) for $node2, $node3;
my ($leader) = wait_for_leader(\@nodes, $fail_s);
ok($leader, 'a leader again after the standbys are thawed') or give_up('no leader', @nodes);
# node1 stepped down without its quorum, and with no write since, any of
# the three may win the next election: a deposed node1 (still up, as
# stop_deposed_primary is off) is made a standby again, as an operator would.
if ($leader != $node1)
{
	$node1->stop('fast');
	my ($rc, $out) = rejoin($node1, grep { $_ != $node1 } @nodes);
	is($rc, 0, 'the deposed node1 rejoins as a standby of ' . $leader->name) or diag($out);
	$node1->start;
	ok(defined wait_following($node1, $leader, $fail_s), 'node1 follows ' . $leader->name);
}

# --- 3. A standby without a quorum: its gossip cut off. ---------------
# (Freezing the leader instead would let the standbys elect another one
# after the thaw, and the deposed node1 would then follow nobody.)
my ($s1) = grep { $_ != $leader } @nodes;
my $g1 = $c->{gossip}[ (grep { $nodes[$_] == $s1 } 0 .. 2)[0] ];
my $problem = nft_problem();
ok(!defined $problem, 'nftables works in the sandbox') or diag($problem);
isolate_ports(udp => [$g1], tcp => [$g1]);
ok(defined wait_until($fail_s, sub { ((metrics($s1))[0]{has_quorum} // '') eq '0' }),
	$s1->name . ' metrics: no quorum once its gossip is cut off');
# It still streams, but once its election timer ran out it knows no
# leader, and "streaming from the current leader" cannot hold.
ok(defined wait_status($s1, '/replica', 503), $s1->name . ' /replica answers 503 once it knows no leader');
expect($s1, \%fenced_or_lost, 'standby without quorum');
is(query($s1, 'SELECT status FROM pg_stat_wal_receiver'), 'streaming',
	$s1->name . ' still streams WAL meanwhile');
lint($s1, (metrics($s1))[1], 'standby without quorum');
heal();
ok(defined wait_until($fail_s, sub { ((metrics($s1))[0]{has_quorum} // '') eq '1' }),
	$s1->name . ' metrics: a quorum again after the heal');
($leader) = wait_for_leader(\@nodes, $fail_s);
ok($leader, 'a leader after the heal') or give_up('no leader', @nodes);
ok(defined wait_status($leader, '/primary', 200), $leader->name . ' /primary answers 200');
ok(defined wait_status($_, '/replica', 200), $_->name . ' /replica answers 200')
  for grep { $_ != $leader } @nodes;

# --- HAProxy in front of the three. -----------------------------------
$leader->safe_psql('postgres', 'CREATE TABLE http_probe (id bigserial PRIMARY KEY)');
my $hp = start_haproxy(
	port    => $hp_port,
	inter   => '500ms',
	fall    => 2,
	rise    => 1,
	servers => [ map { [ $_->name, $_->port, $http{ $_->name } ] } @nodes ]);
my ($server, $took) = wait_write_through($hp_port, $fail_s);
is($server, $leader->name, 'a write through HAProxy lands on the leader');

# kill -9 of the leader: the writes follow the new leader.
my $killed = $leader;
$killed->kill9;
($server, $took) = wait_write_through($hp_port, $fail_s, not => $killed->name);
ok(defined $server, 'after a kill -9 of the leader, a write through HAProxy succeeds');
note(sprintf('first write through HAProxy %.2f s after the kill (inter 500ms fall 2 rise 1)',
		$took // -1));
my @alive = grep { $_ != $killed } @nodes;
($leader) = wait_for_leader(\@alive, $fail_s);
is($server, $leader ? $leader->name : '', 'it landed on the new leader');
give_up('no leader after the kill', @nodes) unless $leader;

# quorum.failover() to the other survivor: the writes follow it.
my ($target) = grep { $_ != $leader } @alive;
ok(defined wait_status($target, '/replica', 200), $target->name . ' streams from the new leader');
my ($ok, $state, $msg) = try_sql($leader, "SELECT quorum.failover('" . $target->name . "')");
ok($ok, 'quorum.failover() to ' . $target->name) or diag("$state $msg");
($server, $took) = wait_write_through($hp_port, $fail_s, not => $leader->name);
is($server, $target->name, 'after the switchover, writes through HAProxy land on ' . $target->name);
note(sprintf('first write through HAProxy on %s %.2f s after quorum.failover() returned',
		$target->name, $took // -1));
is((write_through($hp_port))[0], $target->name, 'and keep doing so');

# --- 4. The deposed leader: up, fenced, with a quorum. ----------------
my $deposed = $leader;
ok(defined wait_status($deposed, '/primary', 503), $deposed->name . ' /primary answers 503 once deposed');
expect($deposed, \%fenced_or_lost, 'deposed primary');
($status, $body) = curl(url($deposed, '/leader'));
like($body, qr/"leader":\{"name":"${\ $target->name}"/, '/leader on the deposed primary names the new leader');
($m, $text) = metrics($deposed);
is($m->{fenced}, 1, $deposed->name . ' metrics: fenced');
is($m->{has_quorum}, 1, $deposed->name . ' metrics: with a quorum');
lint($deposed, $text, 'deposed primary');
($m) = metrics($target);
cmp_ok($m->{failovers_total}, '>=', 1, $target->name . ' metrics: counts its promotion');

stop_haproxy($hp);
stop_all(@nodes);
done_testing();
