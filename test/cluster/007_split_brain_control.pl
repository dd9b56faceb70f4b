# test/cluster/007_split_brain_control.pl: the workload and its checker
# see a real split brain.
#
# A negative control for 004-006: plain PostgreSQL, without pg_quorum (no
# fence), a primary and a streaming standby, and the same workload writing
# to both.  The standby is promoted while the primary keeps running, so two
# servers accept writes at once, as a failover without fencing would do.
# The history checker must report it: more changes of writable server than
# the one failover, acknowledged writes of the old primary missing on the
# new one, and writes the old primary acknowledged on its old timeline after
# the new primary had acknowledged one on its new timeline (the rule the
# fault campaign, test/chaos, judges overlapping primaries by).  The
# workload runs as the campaign's does: two clients per server, every third
# write a two-row transaction.  If it did not, the clean verdicts of the failover tests
# would mean nothing.  Both run with the same production settings as the
# pg_quorum tests (PgQuorum::Test::production_conf), fsync = on included.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::History;

my $wait_s = 30;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init(allows_streaming => 1);
production_conf($old);
$old->start;
$old->safe_psql('postgres', PgQuorum::Workload::table_sql());
$old->backup('base');
my $new = PostgreSQL::Test::Cluster->new('new');
$new->init_from_backup($old, 'base', has_streaming => 1);
$new->start;
$old->wait_for_catchup($new);

my $wl = PgQuorum::Workload->start(
	nodes     => [ $old, $new ],
	clients   => 2,
	txn_every => 3,
	file      => "$PostgreSQL::Test::Utils::tmp_check/workload_007.tsv");
ok($wl->wait_ack($wait_s, server => 'old'), 'the workload writes on the primary');

# Promote the standby behind the primary's back; both now accept writes.
my $t_promote = PgQuorum::Workload::now();
$new->safe_psql('postgres', 'SELECT pg_promote()');
ok($wl->wait_ack($wait_s, server => 'new', sent_after => $t_promote),
	'the promoted standby accepts writes');
my $t_both = PgQuorum::Workload::now();
ok( defined $wl->wait_for(
		$wait_s,
		sub {
			20 <= grep { $_->{status} eq 'ok' && $_->{server} eq 'old' && $_->{sent} > $t_both } @_;
		}),
	'the old primary still accepts writes too');

my @records = $wl->stop;
my $r = check_history(
	records     => \@records,
	rows        => { new => read_rows($new), old => read_rows($old) },
	final       => 'new',
	max_changes => 1);
note($r->{report});
my $v = join("\n", @{ $r->{violations} });
like($v, qr/forces \d+ changes of writable server, the test caused at most 1/,
	"the checker sees two servers accepting writes at once ($r->{changes} forced changes)");
like($v, qr/acknowledged writes are missing on new/,
	'the checker sees the old primary\'s acknowledged writes missing on the new one');
like($v, qr/acknowledged on an older timeline after a write on a newer one had completed/,
	'the checker sees writes acknowledged on the old timeline after the new one began');
ok((grep { $_->{txn} != $_->{id} && $_->{status} eq 'ok' } @records),
	'two-row transactions were acknowledged too');

stop_all($old, $new);
done_testing();
