# test/cluster/047_member_id.pl: a server restored or rebuilt under a
# voter's name does not vote until quorum.add_voter() admits it (issue 9,
# H8).
#
# Three voters in asynchronous mode, production settings.  Each server's
# pg_quorum.state carries a member id created with it, and the leader binds
# each voter's name to the id its server answers with.
#
# (a) node3 is stopped, its pg_quorum.state replaced by a copy taken before
#     two more decisions, and started: the leader saw a newer record of it,
#     so node3 learns that its state is older than what the cluster knows,
#     takes a new member id and is not counted.  Proof: with node2 stopped,
#     node1 and node3 would be a majority, yet node1 loses its lease (on a
#     release without member ids it keeps it on node3's answers).
#     quorum.add_voter('node3') admits it again: then node1 keeps its lease
#     with only node3 answering.
# (b) node3 is rebuilt with pg_basebackup under its old name (a new data
#     directory, no state of its own): the same, not counted until
#     quorum.add_voter('node3').

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 60;

my $c = new_failover_cluster(synchronous => 0);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };

# The record of $node: { id => its member id, seq => its persist_seq,
# bound => { voter name => member id it is bound to, '0' = not bound } }.
sub record_of
{
	my ($node) = @_;
	my $file = $node->data_dir . '/pg_quorum.state';
	return undef unless -e $file;
	my $text = slurp_file($file);
	my %r = (bound => {});
	$r{id} = $1 if $text =~ /^member_id=([0-9a-f]+)$/m;
	$r{seq} = $1 if $text =~ /^persist_seq=(\d+)$/m;
	$r{text} = $text;
	for (split /\n/, $text)
	{
		$r{bound}{$2} = $1 if /^voter=([0-9a-f]+) (.+)$/;
		# ADD_VOTER (type 2) entries bind after the snapshot's voters.
		$r{bound}{$2} = $1 if /^entry=\d+ 2 ([0-9a-f]+) (.+)$/;
	}
	return \%r;
}

# Every record on @servers binds each server's pg_quorum.node_name (the
# rebuilt node3 runs as node3) to that server's id.
sub all_bound
{
	my @servers = @_;
	my %id = map { my $r = record_of($_); ($_->name =~ s/_rebuilt$//r => $r && $r->{id}) } @servers;
	for my $server (@servers)
	{
		my $r = record_of($server) or return 0;
		for my $name (keys %id)
		{
			return 0 unless defined $id{$name} && ($r->{bound}{$name} // '') eq $id{$name};
		}
	}
	return 1;
}

# $node's view of whether $name counts as a voter ('t' or 'f').
sub voter_in
{
	my ($node, $name) = @_;
	return query($node, "SELECT voter FROM quorum.nodes WHERE name = '$name'");
}

# With $other stopped, only $leader and node3 are up: node3 not counting,
# the leader must lose its lease.  $other is started again, and a leader
# is waited for.
sub assert_not_counted
{
	my ($leader, $other, $what) = @_;
	$other->stop('fast');
	ok( defined wait_until($fail_s,
			sub { my $st = cluster_status($leader); $st && $st->{fenced} }),
		$leader->name . " loses its lease with only $what answering (not counted)")
	  or diag(nodes_summary($leader));
	my ($ok, $state) = try_sql($leader, "CREATE TABLE h8_probe ()");
	ok(!$ok, $leader->name . ' refuses a write') or diag("state $state");
	$other->start;
	my ($new) = wait_for_leader([ $node1, $node2 ], $fail_s);
	ok($new, 'a leader again once ' . $other->name . ' is back')
	  or give_up('no leader', $node1, $node2, $node3);
	return $new;
}

# quorum.add_voter('node3') on $leader; then, with the other of node1 and
# node2 stopped, $leader keeps its lease on node3's answers.
sub admit_and_count
{
	my ($leader, $what) = @_;
	my ($other) = grep { $_ != $leader } ($node1, $node2);
	my ($ok, $state, $err) = try_sql($leader, "SELECT quorum.add_voter('node3')");
	ok($ok, "quorum.add_voter('node3') admits $what") or diag("$state $err");
	ok(defined wait_for_query($leader, "SELECT voter FROM quorum.nodes WHERE name = 'node3'", 't', $fail_s),
		$leader->name . ' counts node3 as a voter again');
	ok(defined wait_for_query($node3, "SELECT voter FROM quorum.nodes WHERE name = 'node3'", 't', $fail_s),
		'node3 knows it is a voter again');
	$other->stop('fast');
	my @fenced = watch_for(
		5,
		sub {
			my $st = cluster_status($leader);
			return !$st ? 'no answer' : $st->{fenced} ? 'fenced' : '';
		});
	is_deeply(\@fenced, [], $leader->name . " keeps its lease with only $what answering");
	$other->start;
	return;
}

ok(defined wait_until($fail_s, sub { all_bound(@nodes) }),
	'every server binds each voter to the member id of its server')
  or diag(join("\n", map { $_->name . ":\n" . (record_of($_) // {})->{text} } @nodes));
my %first_id = map { ($_->name => record_of($_)->{id}) } @nodes;
my %distinct = reverse %first_id;
is(scalar keys %distinct, 3, 'three distinct member ids');
is(voter_in($node1, 'node3'), 't', 'node3 is a voter');

# --- (a) node3's state restored from an earlier copy. ---------------------
my $copy = record_of($node3);
# Four decisions that node3 writes and acknowledges after the copy.
for (1 .. 2)
{
	ok(defined query($node1, 'SELECT quorum.pause()'), 'a decision: pause');
	ok(defined query($node1, 'SELECT quorum.resume()'), 'and another: resume');
}
ok(defined wait_until($fail_s, sub { (record_of($node3)->{seq} // 0) > $copy->{seq} + 3 }),
	'node3 wrote newer records after the copy');
ok(defined wait_until($fail_s, sub { all_bound(@nodes) }), 'the records agree again');
$node3->stop('fast');
my $log_at = -s $node3->logfile;
open my $fh, '>', $node3->data_dir . '/pg_quorum.state' or die $!;
print $fh $copy->{text};
close $fh;
$node3->start;

ok( defined wait_until($fail_s,
		sub { slurp_file($node3->logfile, $log_at) =~ /restored from an older copy/ }),
	'node3 learns that its state is older than what the cluster knows');
ok( defined wait_until($fail_s,
		sub { (record_of($node3)->{id} // '') ne $first_id{node3} }),
	'node3 takes a new member id');
# The worker says so on its next turn, after the new id is written.
ok( defined wait_until($fail_s,
		sub {
			slurp_file($node3->logfile, $log_at) =~
			  /WARNING:  pg_quorum node "node3" is not counted as a voter.*\n.*\n.*HINT:  Run SELECT quorum\.add_voter\('node3'\)/;
		}),
	'node3 warns that it is not counted, with the hint to run quorum.add_voter()');
ok(defined wait_for_query($node1, "SELECT voter FROM quorum.nodes WHERE name = 'node3'", 'f', $fail_s),
	'node1 shows node3 as no voter');
is(voter_in($node3, 'node3'), 'f', 'node3 shows itself as no voter');
is(voter_in($node2, 'node3'), 't', 'node2, which hears no answer of node3\'s, still names it a voter');
my ($out, $err) = ('', '');
$node2->psql('postgres', "SELECT quorum.add_voter('node3')", stdout => \$out, stderr => \$err);
like($err, qr/NOTICE:  "node3" is already a voter\nHINT:  If that server was rebuilt .* on the leader \(node1\) or on that server/,
	'quorum.add_voter(\'node3\') on node2 says where to run it');

my $leader = assert_not_counted($node1, $node2, 'the restored node3');
admit_and_count($leader, 'the restored node3');
($leader) = wait_for_leader([ $node1, $node2, $node3 ], $fail_s);
ok($leader, 'a leader with every server back') or give_up('no leader', @nodes);

# --- (b) node3 rebuilt with pg_basebackup under its old name. -------------
$node3->stop('fast');
$leader->backup('rebuild');
my $rebuilt = PostgreSQL::Test::Cluster->new('node3_rebuilt');
$rebuilt->init_from_backup($leader, 'rebuild', has_streaming => 1);
write_key($rebuilt, $c->{key});
quorum_conf($rebuilt,
	name     => 'node3',
	port     => $gossip[2],
	peers    => [ @gossip[ 0, 1 ] ],
	conninfo => 'host=127.0.0.1 port=' . $rebuilt->port,
	extra    => "listen_addresses = '127.0.0.1'\n"
	  . "pg_quorum.failover = on\n"
	  . "pg_quorum.voters = 'node1,node2,node3'\n"
	  . "pg_quorum.synchronous = off\n"
	  . "primary_conninfo = 'host=127.0.0.1 port="
	  . $leader->port
	  . " application_name=node3'\n");
$rebuilt->start;
$node3 = $rebuilt;
@nodes = ($node1, $node2, $node3);
ok( defined wait_until($fail_s,
		sub { slurp_file($node3->logfile) =~ /ignoring pg_quorum state of node "\Q${\$leader->name}\E"/ }),
	'the rebuilt node3 ignores the state its backup copied');
ok(defined wait_until($fail_s, sub { my $r = record_of($node3); $r && $r->{id} }),
	'the rebuilt node3 has a member id');
my $rebuilt_id = record_of($node3)->{id};
ok(!grep({ $_ eq $rebuilt_id } values %first_id), 'a new one');
ok(defined wait_for_query($leader, "SELECT voter FROM quorum.nodes WHERE name = 'node3'", 'f', $fail_s),
	$leader->name . ' shows the rebuilt node3 as no voter');
ok(defined wait_for_query($node3, "SELECT voter FROM quorum.nodes WHERE name = 'node3'", 'f', $fail_s),
	'the rebuilt node3 shows itself as no voter');
ok(defined wait_until($fail_s, sub { slurp_file($node3->logfile) =~ /is not counted as a voter/ }),
	'the rebuilt node3 warns that it is not counted');

my ($other) = grep { $_ != $leader } ($node1, $node2);
$leader = assert_not_counted($leader, $other, 'the rebuilt node3');
admit_and_count($leader, 'the rebuilt node3');
ok(defined wait_until($fail_s, sub { all_bound(@nodes) }),
	'every server binds node3 to the rebuilt server\'s id');

stop_all(@nodes);
done_testing();
