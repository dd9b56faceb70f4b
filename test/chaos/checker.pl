# test/chaos/checker.pl: the campaign's checker fires on bad histories.
#
# Made-up histories (no servers), each with one fault the campaign looks
# for: a write acknowledged on an older timeline after one on a newer
# timeline completed (two primaries at once, from client-side times only),
# two servers acknowledging writes on one timeline, a torn two-row
# transaction, an acknowledged write missing on the final primary, a
# refused write that committed, a term that went back.  Each is reported,
# and a clean failover is not.  test/cluster/007_split_brain_control.pl
# shows the same rules firing on real servers (plain PostgreSQL with two
# primaries).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";
use lib "$FindBin::RealBin/../cluster/lib";

use Test::More;
use PgQuorum::History;
use PgQuorum::Chaos;

my $next_id = 1;

# writes($server, $tli, $from, $to, $step, $status): one single-row write
# every $step seconds, each taking 2 ms.
sub writes
{
	my ($server, $tli, $from, $to, $step, $status) = @_;
	my @w;
	for (my $t = $from; $t <= $to + 1e-9; $t += $step)
	{
		my $id = $next_id++;
		push @w,
		  {
			id     => $id,
			txn    => $id,
			server => $server,
			status => $status // 'ok',
			sent   => $t,
			done   => $t + 0.002,
			tli    => ($status // 'ok') eq 'ok' ? $tli : 0,
			detail => ($status // 'ok') eq 'err' ? 'ERROR:  refused' : ''
		  };
	}
	return @w;
}

sub rows_of { return { map { $_->{id} => $_->{server} } grep { $_->{status} eq 'ok' } @_ }; }

sub verdict
{
	my ($records, %o) = @_;
	return join("\n", @{ check_history(records => $records, rows => $o{rows}, final => $o{final})->{violations} });
}

# A clean failover: node1 on timeline 1 until 10 s, node2 on timeline 2 from
# 11 s; node2 refused writes meanwhile.
my @clean = (writes('node1', 1, 0, 10, 0.01), writes('node2', 0, 0, 10.9, 0.05, 'err'),
	writes('node2', 2, 11, 20, 0.01));
is(verdict(\@clean, rows => { node2 => rows_of(@clean) }, final => 'node2'), '', 'a clean failover passes');
is(verdict(\@clean, rows => { node2 => rows_of(@clean) }), '', 'also in asynchronous mode (no final)');

# node1 keeps acknowledging on timeline 1 for 200 ms after node2 acknowledged
# its first write on timeline 2.
my @late = (writes('node1', 1, 0, 11.2, 0.01), writes('node2', 2, 11, 20, 0.01));
like(verdict(\@late, rows => { node2 => rows_of(@late) }),
	qr/acknowledged on an older timeline after a write on a newer one had completed/,
	'an older timeline acknowledged after a newer one is reported');
# Even when the old primary's rows vanish (asynchronous mode, no final).
like(verdict(\@late, rows => {}), qr/two primaries at once.*node1 write \d+ on timeline 1/,
	'from client-side times alone, naming the late write');

# Two servers on one timeline.
my @same = (writes('node1', 2, 0, 5, 0.01), writes('node3', 2, 6, 10, 0.01));
like(verdict(\@same, rows => {}), qr/timeline 2 has two primaries: node1 .* node3/,
	'two servers acknowledging writes on one timeline are reported');

# A torn transaction: two rows written in one transaction, one of them on
# the final primary.
my @txn = writes('node1', 1, 0, 1, 0.01);
$txn[6]{txn} = $txn[5]{id};
my %torn = %{ rows_of(@txn) };
delete $torn{ $txn[6]{id} };
like(verdict(\@txn, rows => { node1 => \%torn }), qr/node1 holds part of 1 transactions/,
	'a transaction that committed in part is reported');

# An acknowledged write missing on the final primary (synchronous mode
# only), and a refused write that committed.
my %lost = %{ rows_of(@clean) };
delete $lost{1};
like(verdict(\@clean, rows => { node2 => \%lost }, final => 'node2'),
	qr/1 acknowledged writes are missing on node2: ids 1\b/, 'a lost acknowledged write is reported');
is(verdict(\@clean, rows => { node2 => \%lost }), '', 'but not in asynchronous mode');
my ($refused) = grep { $_->{status} eq 'err' } @clean;
like(verdict(\@clean, rows => { node2 => rows_of(@clean), 'node2 (stopped)' => { $refused->{id} => 'node2' } },
		final => 'node2'),
	qr/node2 \(stopped\) holds 1 rows of writes that were refused/,
	'a refused write found committed is reported');

# Terms.
is_deeply([ term_violations({ node1 => [ [ 0, 1 ], [ 3, 2 ], [ 9, 4 ] ] }) ], [], 'growing terms pass');
like(join("\n", term_violations({ node1 => [ [ 0, 1 ], [ 3, 3 ], [ 9, 2 ] ] })),
	qr/node1's term went back from 3 to 2 at 9\.00 s/, 'a term that went back is reported');

done_testing();
