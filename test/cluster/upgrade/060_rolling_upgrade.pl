# test/cluster/upgrade/060_rolling_upgrade.pl: a rolling upgrade from the
# previous release of pg_quorum to this tree, on real servers.
#
# Two installations of the same PostgreSQL: PGQ_UPGRADE_OLD holds the
# previous release (scripts/old-build.sh), PGQ_UPGRADE_NEW this tree's
# build; "scripts/pg-matrix.sh 15 upgrade" (make check-upgrade) makes both
# and runs this file.  Three voters in synchronous mode start on the old
# release, with a workload writing to all three throughout and production
# settings, and are replaced one by one as the README's "Upgrading
# pg_quorum: a rolling upgrade" tells operators: stop a server, start the
# same data directory on the new binaries (with pg_quorum.replication_slots
# = off, since an old leader creates no slots), wait until it is alive
# everywhere and follows the leader:
#
# 1. node3, a standby: a new server follows an old leader, and old and new
#    servers see each other alive through gossip;
# 2. quorum.failover('node3') on node1: the new server can only be elected
#    with an old server's vote (node1's or node2's), and leads old
#    standbys; node1 rejoins with the old release's pg_quorum_rejoin and
#    stays on the old release;
# 3. node2, then quorum.failover('node1') on node3: the old server can
#    only be elected with a new server's vote, and leads new standbys, whose
#    answers alone now carry its lease and its synchronous commits; node3
#    rejoins with the new release's pg_quorum_rejoin;
# 4. quorum.failover('node2') on node1, and node1, the last old server;
# 5. ALTER EXTENSION pg_quorum UPDATE on the leader: the standbys replay
#    it, and the functions of the new SQL version work on every server;
#    replication slots on again by reload: the leader creates one per
#    standby and they stream through them.
#
# Throughout, a background sampler reads every server's quorum.status
# every 200 ms: no two servers ever name different leaders for the same
# term.  At the end the history checker finds every acknowledged write on
# every server and no more changes of writable server than the three
# switchovers.  If old and new servers could not understand each
# other's datagrams (a changed wire version), step 1 fails: the new server
# stays "left" in the old ones' quorum.nodes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use IO::Handle;
use POSIX ();
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::History;

my $fail_s = 60;    # bound for a start, a switchover, a rejoin, a catch-up

my %install = (old => $ENV{PGQ_UPGRADE_OLD}, new => $ENV{PGQ_UPGRADE_NEW});
for my $release (qw(old new))
{
	die "PGQ_UPGRADE_\U$release\E is not set: run this through "
	  . "scripts/pg-matrix.sh 15 upgrade (make check-upgrade)\n"
	  unless $install{$release} && -x "$install{$release}/bin/pg_config";
}

# The pg_quorum version each installation offers (its control file's
# default_version), which is what a server shows in pg_available_extensions.
my %offers;
for my $release (qw(old new))
{
	my $share = `"$install{$release}/bin/pg_config" --sharedir`;
	chomp $share;
	my $control = slurp_file("$share/extension/pg_quorum.control");
	($offers{$release}) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
}
isnt($offers{old}, $offers{new},
	"the two installations hold different releases (old $offers{old}, new $offers{new})")
  or BAIL_OUT('nothing to upgrade');

my $c = new_failover_cluster(install_path => $install{old});
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my %release = map { ($_->name => 'old') } @nodes;
my $all_alive = join(',', map { $_->name . ':alive' } @nodes);

my ($leader, $term) = wait_for_leader(\@nodes, $fail_s);
is($leader && $leader->name, 'node1', 'node1, on the old release, is the first leader');

# The sampler: a child process that reads every server's quorum.status
# every 200 ms into a file, one line per answer (time, server, term,
# leader), until the test kills it.
my $samples_file = "$PostgreSQL::Test::Utils::tmp_check/leaders_060.tsv";
my $sampler = fork() // die "fork: $!";
if ($sampler == 0)
{
	# Never through exit or die: the END blocks this child inherited would
	# stop the servers.
	eval {
		open my $out, '>', $samples_file or die;
		$out->autoflush(1);
		for (;;)
		{
			for my $node (@nodes)
			{
				my $st = cluster_status($node) or next;
				printf $out "%.3f\t%s\t%s\t%s\n", PgQuorum::Workload::now(), $node->name,
				  $st->{term} // '', $st->{leader} // '';
			}
			usleep(200_000);
		}
	};
	POSIX::_exit(1);
}
END { kill 'KILL', $sampler if $sampler; }

my $wl = PgQuorum::Workload->start(
	nodes => \@nodes,
	file  => "$PostgreSQL::Test::Utils::tmp_check/workload_060.tsv");
ok($wl->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1');

# drops(): each server's incoming datagrams dropped so far, by reason
# (quorum.health), for the diagnostics of a failed step: servers that cannot
# decode each other's messages count them as "version" or "malformed".
sub drops
{
	return join("\n", map {
			$_->name . ' dropped: ' . (query($_,
					"SELECT string_agg(name || ' ' || dropped, ', ' ORDER BY name) "
					  . "FROM quorum.health WHERE kind = 'drop' AND dropped > 0") || 'none')
		} @nodes);
}

# check_mixed($what, $leader): every server runs the release %release says
# (the default_version its installation offers), sees every member alive,
# and names $leader, which is writable; notes the versions.
sub check_mixed
{
	my ($what, $leader) = @_;
	for my $node (@nodes)
	{
		my $name = $node->name;
		is(query($node,
				"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_quorum'"),
			$offers{ $release{$name} },
			"$what: $name runs the $release{$name} release ($offers{$release{$name}})");
		ok(defined wait_for_query($node,
				"SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes",
				$all_alive, $fail_s),
			"$what: $name sees every member alive") or diag(drops());
	}
	my ($l) = wait_for_leader(\@nodes, $fail_s);
	is($l && $l->name, $leader->name, "$what: every server names " . $leader->name
		  . ' the leader, and it is writable');
	note("$what: " . join(', ', map {
				sprintf('%s %s (extension %s)', $_->name, $release{ $_->name },
					query($_, "SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'")
					  // '?')
			} @nodes));
	return;
}

# replace($node, $leader): stop $node and start its data directory on the
# new release's binaries, as a package upgrade does; then it must follow
# $leader and be alive everywhere.  PostgreSQL::Test::Cluster fixes a
# node's installation when it creates it and has no setter for it.
sub replace
{
	my ($node, $leader) = @_;
	my $name = $node->name;
	$node->stop('fast');
	$node->append_conf('postgresql.conf', "pg_quorum.replication_slots = off\n");
	$node->{_install_path} = $install{new};
	$release{$name} = 'new';
	$node->start;
	ok(defined wait_following($node, $leader, $fail_s),
		"$name, on the new release, follows " . $leader->name);
	ok($wl->wait_ack($fail_s, server => $leader->name, sent_after => PgQuorum::Workload::now()),
		$leader->name . " still accepts writes after ${name}'s restart");
	check_mixed("$name replaced", $leader);
	return;
}

# switch_over($from, $to, $voter): quorum.failover() of $to on the leader
# $from.  $to must become the writable leader in a later term, which it
# can only win with the vote of the third server or of $from, both of the
# kind $voter says; $from shuts itself down, rejoins with its own release's
# pg_quorum_rejoin, and follows $to, still on its release.
sub switch_over
{
	my ($from, $to, $voter) = @_;
	my ($fname, $tname) = ($from->name, $to->name);
	my ($other) = grep { $_ != $from && $_ != $to } @nodes;
	my $who = sub { $_[0]->name . ' (' . $release{ $_[0]->name } . ')' };
	ok( defined wait_for_query(
			$from,
			"SELECT n.state || ' ' || n.role || ' ' || (n.timeline = s.timeline)::text "
			  . "FROM quorum.nodes n, quorum.nodes s WHERE n.name = '$tname' AND s.is_self",
			'alive standby true', $fail_s),
		$who->($from) . ' sees ' . $who->($to) . ' alive as a standby on its timeline');
	my $before = cluster_status($from);
	my $t0 = PgQuorum::Workload::now();
	my ($ok, undef, $msg) = try_sql($from, "SELECT quorum.failover('$tname')");
	ok($ok, "quorum.failover('$tname') on " . $who->($from) . ' hands over to ' . $who->($to))
	  or give_up("the switchover failed: $msg\n" . drops(), @nodes);
	ok($wl->wait_ack($fail_s, server => $tname, sent_after => $t0),
		"$tname accepts the workload's writes");
	my ($l, $term) = wait_for_leader([ $to, $other ], $fail_s);
	is($l && $l->name, $tname, $who->($other) . ' names ' . $who->($to) . ' the leader');
	cmp_ok($term // 0, '>', $before ? $before->{term} : 0,
		"in a later term, won with the vote of $voter");
	ok(defined wait_following($other, $to, $fail_s), $who->($other) . " follows $tname");
	ok(defined wait_stopped($from, $fail_s), $who->($from) . ' shuts itself down once deposed')
	  or give_up("$fname did not stop", @nodes);
	{
		local $ENV{PATH} = "$install{ $release{$fname} }/bin:$ENV{PATH}";
		my ($rc, $out) = rejoin($from, $to, $other);
		is($rc, 0, "the $release{$fname} release's pg_quorum_rejoin prepares $fname as a "
			  . "standby of $tname") or diag($out);
		note($out);
	}
	$from->start;
	ok(defined wait_following($from, $to, $fail_s), $who->($from) . " follows $tname");
	ok(defined wait_for_query($to, 'SELECT mode FROM quorum.status', 'sync', $fail_s),
		$who->($to) . ' is in synchronous mode');
	check_mixed($who->($to) . ' leads ' . $who->($other) . ' and ' . $who->($from), $to);
	return;
}

check_mixed('all on the old release', $node1);

# --- 1. A standby first: an old leader, a new standby. ------------------
replace($node3, $node1);

# --- 2. A new leader that old servers elect, leading old standbys. ------
switch_over($node1, $node3, 'an old server');

# --- 3. An old leader that new servers elect, leading new standbys: its
# lease and synchronous commits rest on new servers' answers alone. -------
replace($node2, $node3);
switch_over($node3, $node1, 'a new server');
ok($wl->wait_ack($fail_s, server => 'node1', sent_after => PgQuorum::Workload::now()),
	'node1 (old) still accepts writes with new standbys only');

# --- 4. The old leader last. --------------------------------------------
switch_over($node1, $node2, 'a server of either release');
replace($node1, $node2);

# --- 5. The SQL update, then replication slots. -------------------------
$node2->safe_psql('postgres', 'ALTER EXTENSION pg_quorum UPDATE');
for my $node (@nodes)
{
	ok(defined wait_for_query($node,
			"SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'",
			$offers{new}, $fail_s),
		$node->name . " has extension version $offers{new}");
	like(query($node, "SELECT quorum.connection_string('postgres', 'postgres')") // '',
		qr{^postgresql://.*target_session_attrs=read-write},
		$node->name . ': quorum.connection_string() of the new version works');
	like(query($node, 'SELECT quorum.dot()') // '', qr/^digraph/,
		$node->name . ': quorum.dot() of the new version works');
}
for my $node (@nodes)
{
	$node->append_conf('postgresql.conf', "pg_quorum.replication_slots = on\n");
	$node->reload;
}
for my $standby ($node1, $node3)
{
	my $slot = 'pgq_' . $standby->name;
	ok(defined wait_for_query($node2,
			"SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'", 't', $fail_s),
		"node2 holds $slot and " . $standby->name . ' streams through it');
	ok(defined wait_following($standby, $node2, $fail_s), $standby->name . ' follows node2');
}
check_mixed('all on the new release', $node2);

check_workload($wl,
	leader      => $node2,
	nodes       => \@nodes,
	max_changes => 3);

# The sampler's record: one leader per term, on every server.
kill 'TERM', $sampler;
waitpid($sampler, 0);
undef $sampler;
my (%leaders, $samples);
open my $fh, '<', $samples_file or die "$samples_file: $!";
while (my $line = <$fh>)
{
	chomp $line;
	my (undef, $name, $t, $l) = split /\t/, $line, -1;
	next unless defined $l && $l ne '';
	$samples++;
	$leaders{$t}{$l}{$name}++;
}
close $fh;
cmp_ok($samples // 0, '>', 50, sprintf('the sampler read a leader %d times', $samples // 0));
my @split = grep { keys %{ $leaders{$_} } > 1 } sort { $a <=> $b } keys %leaders;
is_deeply(\@split, [], 'no two servers named different leaders in the same term')
  or diag(join("\n", map {
			my $t = $_;
			"term $t: " . join(', ', map { "$_ by " . join('+', sort keys %{ $leaders{$t}{$_} }) }
				  sort keys %{ $leaders{$t} })
		} @split));
note('leaders by term: ' . join(', ', map { "$_ " . join('/', sort keys %{ $leaders{$_} }) }
		  sort { $a <=> $b } keys %leaders));

stop_all(@nodes);
done_testing();
