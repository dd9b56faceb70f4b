# test/cluster/broken/070_checker_late_commit.pl: the fault campaign's
# history checker catches acknowledged commits that a failover loses
# (issue 10: "the checker must be shown to fire").
#
# The servers run a build of this tree whose fence skips its check after the
# commit record is flushed (-DQUORUM_BREAK_POST_COMMIT; scripts/pg-matrix.sh
# 15 broken-fence builds it and passes its installation in
# PGQ_BROKEN_INSTALL).  That check is what holds synchronous mode's promise
# when a session's synchronous_commit says less (issue 9, H10): here every
# server runs with synchronous_commit = local.  Replication to the leader
# node1 is cut (its gossip is not, so it keeps its lease), the broken build
# acknowledges node1's commits that no standby has, node1 is killed, and
# another server is elected.  The checker (PgQuorum::History, the
# campaign's), from the clients' outcomes and the final primary's rows
# alone, must report acknowledged writes missing on the final primary.
#
# Against a correct build (PGQ_BROKEN_INSTALL unset) the same schedule must
# give no violation: that is the control (test/cluster/041_sync_promise.pl
# checks the correct build in detail).
#
# A commit answered late, after its lease ended, is not enough to show the
# checker firing: it was invoked before the lease ended, so the clients'
# times alone allow it to have taken effect before the new leader's first
# write (Jepsen's rule, which the checker follows).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;
use PgQuorum::Workload;
use PgQuorum::History;

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;
my $broken = $ENV{PGQ_BROKEN_INSTALL};

ok(!defined $broken || -x "$broken/bin/pg_config", 'PGQ_BROKEN_INSTALL, if set, is an installation')
  or BAIL_OUT("no pg_config in $broken/bin");
note($broken ? "servers from the broken build in $broken" : 'servers from the installed build (control)');

my $c = start_failover_test(
	nft      => 1,
	workload => 1,
	fail_s   => $fail_s,
	extra    => "synchronous_commit = local\n",
	$broken ? (install_path => $broken) : ());
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my $wl = $c->{wl};

# Cut replication to node1; its gossip goes on, so it keeps its lease.
my $t_cut = $now->();
isolate_ports(tcp => [ $node1->port ]);
# The broken build acknowledges writes no standby has; a correct one does
# not, so this wait ends at its deadline.
my $late = $wl->wait_ack($broken ? $fail_s : 5, server => 'node1', sent_after => $now->() + 0.5);
note($late ? sprintf('node1 acknowledged write %d %.2f s after the cut', $late->{id}, $late->{done} - $t_cut)
	: 'node1 acknowledged no write sent after the cut');
ok(!$broken || $late, 'the broken build acknowledges writes on node1 after its replication was cut');

# kill -9 of every process of node1, failover.
kill_host($node1);
ok(defined wait_processes_gone($node1, $fail_s), "node1's processes are gone");
my ($new) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'node2 and node3 elect a new leader');
give_up('no failover', @nodes) unless $new;
ok($wl->wait_ack($fail_s, server => $new->name, sent_after => $now->()), $new->name . ' accepts writes');
heal();

my @records = $wl->stop;
my $verdict = check_history(
	records => \@records,
	rows    => { $new->name => read_rows($new) },
	final   => $new->name);
note($verdict->{report});
my @missing = grep { /acknowledged writes are missing on/ } @{ $verdict->{violations} };
if ($broken)
{
	ok(scalar @missing, 'the checker reports acknowledged writes missing on the new primary')
	  or diag("violations:\n" . join("\n", @{ $verdict->{violations} }));
}
else
{
	is(join("\n", @{ $verdict->{violations} }), '', 'the correct build gives the checker nothing to report');
}

stop_all(@nodes);
done_testing();
