#!/usr/bin/perl
# scripts/tap-summary.pl FILE [EXIT_STATUS]: read the output of prove (or
# pg_prove) from FILE and print the closing line "N passed, N failed".
#
# Passed are the tests that ran and passed.  Failed are the failed tests,
# plus the tests a file planned but never ran (it died), plus one for a file
# that exited badly without a failed test; and at least one when prove
# printed no summary at all or exited non-zero (it crashed or was killed).
# Exits 0 only when nothing failed.
use strict;
use warnings;

my ($file, $status) = @ARGV;
die "usage: tap-summary.pl FILE [EXIT_STATUS]\n" unless defined $file;
open my $fh, '<', $file or die "tap-summary: cannot read $file: $!\n";

my ($total, $failed_tests, $failed) = (undef, 0, 0);
my ($saw_fail_result);
my %block;    # the "Test Summary Report" entry being read

sub close_block
{
	return unless %block;
	my $f = $block{failed} + $block{missing};
	$f = 1 if $f == 0 && ($block{wstat} != 0 || $block{parse_errors});
	$failed += $f;
	%block = ();
}

while (my $line = <$fh>)
{
	if ($line =~ /^(\S.*?)\s+\(Wstat: (\d+)(?: \([^)]*\))? Tests: (\d+) Failed: (\d+)\)/)
	{
		close_block();
		%block = (
			wstat        => $2,
			failed       => $4,
			missing      => 0,
			parse_errors => 0);
		$failed_tests += $4;
	}
	elsif (%block && $line =~ /^\s+Parse errors:/)
	{
		$block{parse_errors} = 1;
		$block{missing} = $1 - $2
		  if $line =~ /planned (\d+) tests? but ran (\d+)/ && $1 > $2;
	}
	elsif (%block && $line =~ /^\s+Non-zero (?:exit|wait) status:/)
	{
		$block{wstat} ||= 1;
	}
	elsif ($line =~ /^Files=\d+, Tests=(\d+)/)
	{
		close_block();
		$total = $1;
	}
	elsif ($line =~ /^Result: FAIL/)
	{
		$saw_fail_result = 1;
	}
}
close_block();

my $passed = defined $total ? $total - $failed_tests : 0;
$passed = 0 if $passed < 0;
$failed = 1
  if $failed == 0
  && (!defined $total || $saw_fail_result || ($status // 0) != 0);
print "$passed passed, $failed failed\n";
exit($failed ? 1 : 0);
