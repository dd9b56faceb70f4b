# test/cluster/002_security.pl: what the cluster refuses.
#
# Two servers share a key and form a cluster.  A server with a wrong key and
# a server of another cluster (with the right key) keep gossiping at them:
# neither ever appears in their quorum.nodes, and their quorum.health counts
# the dropped datagrams by reason ('auth', 'cluster').  A malformed
# pg_quorum.peers or listen address, or a missing key file, stops the
# background worker with a FATAL naming the setting while PostgreSQL keeps
# serving queries.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $join_s    = 30;    # bound for the good servers to see each other
my $watch_s   = 6;     # how long the intruders must stay invisible
my $fatal_s   = 30;    # bound for a bad setting's FATAL to be logged

my $key       = new_key();
my $other_key = new_key();
my ($pa, $pb, $px, $py, $pbad1, $pbad2, $pbad3) = free_gossip_ports(7);

my $na = new_quorum_node('node_a', key => $key, port => $pa, peers => [$pb]);
my $nb = new_quorum_node('node_b', key => $key, port => $pb, peers => [$pa]);
my $x = new_quorum_node(
	'intruder_key',
	key   => $other_key,
	port  => $px,
	peers => [ $pa, $pb ]);
my $y = new_quorum_node(
	'intruder_cluster',
	key     => $key,
	cluster => 'another_cluster',
	port    => $py,
	peers   => [ $pa, $pb ]);
for my $node ($na, $nb, $x, $y)
{
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_quorum');
}

for my $node ($na, $nb)
{
	ok( defined wait_for_query(
			$node, "SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes",
			'node_a:alive,node_b:alive', $join_s),
		$node->name . ' and its peer see each other alive');
}

sub dropped
{
	my ($node, $reason) = @_;
	return query($node,
		"SELECT coalesce(sum(dropped), 0) FROM quorum.health WHERE kind = 'drop' AND name = '$reason'"
	);
}

# The intruders' datagrams are being dropped and counted.
my %before;
for my $node ($na, $nb)
{
	for my $reason ('auth', 'cluster')
	{
		ok( defined wait_until(
				$join_s,
				sub { my $d = dropped($node, $reason); defined $d && $d > 0 }
			),
			$node->name . " counts datagrams dropped for '$reason'");
		$before{ $node->name }{$reason} = dropped($node, $reason) // 0;
	}
}

# For several seconds, sampled every 100 ms, neither intruder appears.
my $intruder_sql =
    "SELECT count(*) FROM quorum.nodes WHERE name IN ('intruder_key', 'intruder_cluster') "
  . "OR address IN ('127.0.0.1:$px', '127.0.0.1:$py')";
my ($samples, @seen) = (0);
wait_until(
	$watch_s,
	sub {
		for my $node ($na, $nb)
		{
			my $n = query($node, $intruder_sql);
			push @seen, $node->name . ': ' . ($n // 'error')
			  if !defined $n || $n ne '0';
		}
		$samples++;
		return 0;    # watch for the whole period
	});
ok($samples >= 10, "watched quorum.nodes $samples times over ${watch_s}s");
is(join('; ', @seen), '', 'no intruder ever appears in quorum.nodes');

# The counts keep growing while the intruders keep trying.
for my $node ($na, $nb)
{
	for my $reason ('auth', 'cluster')
	{
		my $was = $before{ $node->name }{$reason};
		ok( defined wait_until(
				$join_s,
				sub { my $d = dropped($node, $reason); defined $d && $d > $was }
			),
			$node->name . " drops more datagrams for '$reason' (was $was)");
	}
	is( query($node, "SELECT string_agg(name, ',' ORDER BY name) FROM quorum.nodes"),
		'node_a,node_b',
		$node->name . ' still lists exactly the two members of its cluster');
}

# The intruders never get an answer either.
for my $node ($x, $y)
{
	is( query($node, "SELECT count(*) FROM quorum.nodes WHERE NOT is_self AND state = 'alive'"),
		'0',
		$node->name . ' sees no member alive');
}
$_->stop for ($x, $y);

# A bad setting stops the worker with a FATAL that names it; the server
# keeps serving.
my @bad = (
	[ 'bad_peers', 'pg_quorum.peers', $pbad1, "pg_quorum.peers = '127.0.0.1:notaport,:::'\n" ],
	[ 'bad_listen', 'pg_quorum.listen', $pbad2, "pg_quorum.listen = '127.0.0.1:99999'\n" ],
	[ 'no_key', 'pg_quorum.key_file', $pbad3, "pg_quorum.key_file = 'missing.key'\n" ]);
for my $case (@bad)
{
	my ($name, $setting, $port, $conf) = @$case;
	my $node = new_quorum_node($name, key => $key, port => $port, peers => [$pa],
		extra => $conf);
	$node->start;
	my @fatal;
	my $took = wait_until($fatal_s,
		sub { @fatal = grep { /\Q$setting\E/ } fatal_messages($node); @fatal });
	ok(defined $took, "$name: the worker logs a FATAL naming $setting")
	  or diag("log of $name:\n" . slurp_file($node->logfile));
	note("$name: $fatal[0]") if @fatal;
	is(query($node, 'SELECT 1'), '1', "$name: the server still serves queries");
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_quorum');
	is(query($node, 'SELECT node_name FROM quorum.status'),
		$name, "$name: quorum.status still answers");
	$node->stop;
}

$_->stop for ($na, $nb);
done_testing();
