# test/chaos/summary.pl RESULTS.jsonl...: the fault campaign's summary
# table (the README's) from the "chaos-result" lines of its runs: per mode,
# runs, faults by kind, failovers and violations; then unavailability by
# fault kind (the time from the fault to the first write accepted again,
# p50 and p99); then each violation with the command that replays it.

use strict;
use warnings;

use JSON::PP ();
use List::Util qw(sum);

my @runs;
for my $file (@ARGV)
{
	open my $fh, '<', $file or die "$file: $!";
	while (my $line = <$fh>)
	{
		next unless $line =~ /^\{/;
		push @runs, JSON::PP->new->decode($line);
	}
	close $fh;
}
die "no results in @ARGV\n" unless @runs;

sub pct
{
	my ($p, @x) = @_;
	return undef unless @x;
	@x = sort { $a <=> $b } @x;
	return $x[ int($p / 100 * $#x + 0.5) ];
}

my %commits = map { ($_->{commit} // '') => 1 } @runs;
printf "fault campaign: %d runs, commit %s\n\n", scalar @runs, join(', ', sort keys %commits);
print "| mode | runs | 3 servers | 5 servers | 2 + witness | faults applied | failovers | runs with violations |\n";
print "|---|---|---|---|---|---|---|---|\n";
for my $mode (qw(sync async))
{
	my @r = grep { $_->{mode} eq $mode } @runs;
	next unless @r;
	my $faults = sum(map { scalar grep { $_->{status} eq 'applied' } @{ $_->{faults} } } @r);
	printf "| %s | %d | %d | %d | %d | %d | %d | %d |\n", $mode, scalar @r,
	  scalar(grep { $_->{servers} == 3 } @r), scalar(grep { $_->{servers} == 5 } @r),
	  scalar(grep { $_->{witness} } @r), $faults, sum(map { $_->{failovers} } @r),
	  scalar(grep { @{ $_->{violations} } } @r);
}

my (%applied, %skipped, %rec);
for my $r (@runs)
{
	for my $f (@{ $r->{faults} })
	{
		if ($f->{status} ne 'applied') { $skipped{ $f->{kind} }++; next; }
		$applied{ $f->{kind} }++;
		push @{ $rec{ $f->{kind} } }, $f->{recovery_s} // 1e9;
	}
}
print "\n| fault kind | applied | skipped | first write accepted again: p50 | p99 |\n|---|---|---|---|---|\n";
for my $k (sort keys %{ { %applied, %skipped } })
{
	my @x = @{ $rec{$k} // [] };
	my $fmt = sub { my $v = shift; return !defined $v ? '-' : $v >= 1e9 ? 'none' : sprintf('%.2f s', $v); };
	printf "| %s | %d | %d | %s | %s |\n", $k, $applied{$k} // 0, $skipped{$k} // 0,
	  $fmt->(pct(50, @x)), $fmt->(pct(99, @x));
}

my @bad = grep { @{ $_->{violations} } } @runs;
print "\nviolations:\n" if @bad;
for my $r (@bad)
{
	printf "- seed %d (%s%s, %s): %s\n  replay: bash scripts/sandbox.sh perl test/chaos/chaos.pl --seed %d --servers %d%s --mode %s --duration %s\n",
	  $r->{seed}, $r->{servers}, $r->{witness} ? '+witness' : '', $r->{mode},
	  join('; ', @{ $r->{violations} }), $r->{seed}, $r->{servers}, $r->{witness} ? ' --witness' : '',
	  $r->{mode}, $r->{duration};
}
