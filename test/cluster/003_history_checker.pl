# test/cluster/003_history_checker.pl: the history checker fires.
#
# PgQuorum::History judges the failover tests, so it is tested first, on
# made-up histories (no servers): a clean failover passes; a lost
# acknowledged write, a refused write that committed, a row nobody wrote,
# two servers accepting writes at once, and a failover more than the test
# caused are each reported.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use Test::More;
use PgQuorum::History;

my $next_id = 1;

# writes($server, $from, $to, $step, $len, $status): one write every $step
# seconds from $from to $to, each taking $len seconds.
sub writes
{
	my ($server, $from, $to, $step, $len, $status) = @_;
	my @w;
	for (my $t = $from; $t <= $to + 1e-9; $t += $step)
	{
		push @w,
		  {
			id     => $next_id++,
			server => $server,
			status => $status // 'ok',
			sent   => $t,
			done   => $t + $len,
			detail => ($status // 'ok') eq 'err' ? 'ERROR:  refused' : ''
		  };
	}
	return @w;
}

sub rows_of
{
	my (@w) = @_;
	return { map { $_->{id} => $_->{server} } grep { $_->{status} eq 'ok' } @w };
}

sub violations
{
	my (%o) = @_;
	return @{ check_history(%o)->{violations} };
}

# A clean failover: node1 writes until 10 s, node2 from 11.5 s; the standbys
# refuse writes meanwhile; one write to node1 is lost when it dies.
my @clean = (
	writes('node1', 0, 10, 0.01, 0.002),
	writes('node2', 0, 11, 0.05, 0.001, 'err'),
	writes('node3', 0, 20, 0.05, 0.001, 'err'),
	writes('node1', 10.005, 10.005, 1, 5, 'lost'),
	writes('node2', 11.5, 20, 0.01, 0.002));
my $rows = rows_of(@clean);
my $r = check_history(
	records     => \@clean,
	rows        => { node2 => $rows, node3 => {%$rows} },
	final       => 'node2',
	complete    => ['node3'],
	max_changes => 1);
is_deeply($r->{violations}, [], 'a clean failover passes');
is($r->{changes}, 1, 'it forces exactly one change of writable server');
is(scalar @{ $r->{eras} }, 2, 'two eras');
is(join(',', map { $_->{server} } @{ $r->{eras} }), 'node1,node2', 'node1 then node2');
like($r->{report}, qr/era 2: node2 from 11\.5\d* s/, 'the report shows the eras');

# The same history with no failover allowed is flagged.
like(join("\n", violations(records => \@clean, rows => { node2 => $rows }, final => 'node2',
			max_changes => 0)),
	qr/forces 1 changes of writable server, the test caused at most 0/,
	'an unexpected failover is reported');

# A lost acknowledged write.
my %short = %$rows;
delete $short{5};
delete $short{7};
like(join("\n", violations(records => \@clean, rows => { node2 => \%short }, final => 'node2',
			max_changes => 1)),
	qr/2 acknowledged writes are missing on node2: ids 5, 7/,
	'missing acknowledged writes are reported');

# A refused write that committed (on a fenced server read back).
my ($refused) = grep { $_->{status} eq 'err' && $_->{server} eq 'node2' } @clean;
my %fenced = (%$rows, $refused->{id} => 'node2');
like(join("\n", violations(records => \@clean, rows => { node2 => $rows, old => \%fenced },
			final => 'node2', max_changes => 1)),
	qr/old holds 1 rows of writes that were refused/,
	'a refused write that committed is reported');

# A row nobody wrote, and a row that names the wrong server.
like(join("\n", violations(records => \@clean, rows => { node2 => { %$rows, 999999 => 'node1' } },
			final => 'node2', max_changes => 1)),
	qr/never wrote: ids 999999/, 'a row nobody wrote is reported');
like(join("\n", violations(records => \@clean, rows => { node2 => { %$rows, 1 => 'node3' } },
			final => 'node2', max_changes => 1)),
	qr/1 rows that name another server/, 'a row naming the wrong server is reported');

# Split brain: node1 keeps accepting writes for 300 ms after node2 started.
my @split = (
	writes('node1', 0, 10.3, 0.01, 0.002),
	writes('node2', 10, 20, 0.01, 0.002));
$r = check_history(records => \@split, rows => { node2 => rows_of(@split) }, final => 'node2',
	max_changes => 1);
ok($r->{changes} > 20, "300 ms of two writable servers force many changes ($r->{changes})");
like(join("\n", @{ $r->{violations} }), qr/two servers accepted writes at once/,
	'two servers accepting writes at once are reported');

# Even a short overlap (30 ms) is caught.
@split = (writes('node1', 0, 10.03, 0.01, 0.002), writes('node2', 10, 20, 0.01, 0.002));
$r = check_history(records => \@split, rows => { node2 => rows_of(@split) }, final => 'node2',
	max_changes => 1);
ok($r->{changes} > 1, "a 30 ms overlap forces $r->{changes} changes");

# Switchover there and back forces two changes; slow writes that overlap a
# handover do not add any.
my @back = (
	writes('node1', 0, 5, 0.01, 0.002),
	writes('node2', 5.2, 10, 0.01, 0.002),
	writes('node2', 4.9, 4.9, 1, 0.4),    # sent before, acked after the handover
	writes('node1', 10.2, 15, 0.01, 0.002));
$r = check_history(records => \@back, rows => { node1 => rows_of(@back) }, final => 'node1',
	max_changes => 2);
is_deeply($r->{violations}, [], 'a switchover there and back passes with two changes');
is($r->{changes}, 2, 'it forces exactly two changes');

done_testing();
