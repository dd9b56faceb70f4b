# test/chaos/lib/PgQuorum/Schedule.pm: the seeded fault schedules of the
# campaign.
#
# A schedule is a list of faults { at, kind, dur, target, args }, seconds
# from the start of the run's workload, drawn from the seed alone (Perl's
# own drand48, the same on every platform), so that a seed names the same
# schedule on every machine and every commit.  Faults start about every
# gap_s seconds and may overlap (at most max_active at once).  Targets are
# roles resolved when the fault starts ("leader", "standby", "any", a
# server's name), since which server leads depends on what happened before.

package PgQuorum::Schedule;

use strict;
use warnings;

use List::Util qw(min);

# Every fault kind: its duration range in seconds (0: an instant action),
# the targets it may draw, and what else it draws.
our %KINDS = (
	kill_postmaster => { dur => [ 1, 6 ],   targets => [qw(leader standby any)] },
	kill_all        => { dur => [ 1, 6 ],   targets => [qw(leader standby any)] },
	pause_server    => { dur => [ 0.2, 10 ], targets => [qw(leader standby any witness)] },
	pause_worker    => { dur => [ 0.5, 6 ], targets => [qw(leader standby)] },
	part_full       => { dur => [ 1, 10 ],  targets => ['split'] },
	part_oneway     => { dur => [ 1, 10 ],  targets => [qw(leader standby)] },
	part_gossip     => { dur => [ 1, 10 ],  targets => [qw(leader standby)] },
	part_repl       => { dur => [ 1, 10 ],  targets => [qw(leader standby)] },
	isolate_leader  => { dur => [ 1, 10 ],  targets => ['leader'] },
	bridge          => { dur => [ 2, 10 ],  targets => ['bridge'] },
	loss_gossip     => { dur => [ 2, 10 ],  targets => [qw(leader standby any)] },
	loss_repl       => { dur => [ 2, 10 ],  targets => [qw(leader standby)] },
	delay_send      => { dur => [ 2, 10 ],  targets => [qw(leader standby)] },
	slow_disk       => { dur => [ 2, 10 ],  targets => [qw(leader standby)] },
	restart         => { dur => [ 0, 0 ],   targets => [qw(leader standby)] },
	start_no_rejoin => { dur => [ 0, 0 ],   targets => [qw(leader standby)] },
	op_failover     => { dur => [ 0, 0 ],   targets => ['standby'] },
	op_pause        => { dur => [ 2, 10 ],  targets => ['leader'] },
	op_forget       => { dur => [ 4, 10 ],  targets => ['standby'] },
);

# The kinds every run may draw unless told otherwise.
our @ALL = sort keys %KINDS;

# generate(seed => N, duration => S, kinds => [...], servers => N,
#          witness => 0|1, gap_s => 3, max_active => 3): the schedule.
sub generate
{
	my (%o) = @_;
	srand($o{seed});
	my @kinds = @{ $o{kinds} // \@ALL };
	# Kinds that need more servers than there are.
	@kinds = grep { $_ ne 'bridge' } @kinds if $o{servers} + ($o{witness} ? 1 : 0) < 3;
	@kinds = grep { $_ ne 'op_forget' } @kinds if $o{servers} < 3;
	die "no fault kinds to draw from\n" unless @kinds;
	my $gap = $o{gap_s} // 3;
	my $max_active = $o{max_active} // 3;
	my (@faults, @ends);
	my $t = 1 + rand($gap);
	while ($t < $o{duration})
	{
		my $kind = $kinds[ int(rand(@kinds)) ];
		my $k = $KINDS{$kind};
		my @targets = @{ $k->{targets} };
		@targets = grep { $_ ne 'witness' } @targets unless $o{witness};
		my $target = $targets[ int(rand(@targets)) ];
		my ($lo, $hi) = @{ $k->{dur} };
		my $dur = $lo + rand($hi - $lo);
		$dur = min($dur, $o{duration} - $t);
		my %args;
		$args{pct} = 5 + int(rand(46)) if $kind =~ /^loss_/;
		$args{proc} = (qw(worker walsender))[ int(rand(2)) ] if $kind eq 'delay_send';
		$args{delay_ms} = 10 + int(rand(190)) if $kind eq 'delay_send';
		$args{proc} = (qw(worker walwriter backend))[ int(rand(3)) ] if $kind eq 'slow_disk';
		$args{delay_ms} = 50 + int(rand(950)) if $kind eq 'slow_disk';
		$args{pick} = rand() if 1;    # which server, when the role leaves a choice
		@ends = grep { $_ > $t } @ends;
		if (@ends < $max_active)
		{
			push @faults,
			  {
				at     => sprintf('%.2f', $t) + 0,
				kind   => $kind,
				dur    => sprintf('%.2f', $dur) + 0,
				target => $target,
				args   => \%args
			  };
			push @ends, $t + $dur;
		}
		$t += 0.5 + rand(2 * $gap - 0.5);
	}
	return @faults;
}

# describe($fault): one line.
sub describe
{
	my ($f) = @_;
	my $args = join(' ', map { "$_=$f->{args}{$_}" } grep { $_ ne 'pick' } sort keys %{ $f->{args} });
	return sprintf('%6.2f s %-16s %-8s %5.2f s%s', $f->{at}, $f->{kind}, $f->{target}, $f->{dur},
		$args ? " $args" : '');
}

1;
