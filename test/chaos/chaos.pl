# test/chaos/chaos.pl: one run of the fault campaign (PgQuorum::Chaos).
#
#   perl test/chaos/chaos.pl --seed N [--servers 3|5] [--witness]
#        [--mode sync|async] [--duration SECONDS] [--kinds KIND,...]
#        [--converge SECONDS] [--verbose]
#
# Run it through scripts/sandbox.sh (scripts/run-chaos.sh does): it starts
# servers and cuts the network with nftables.  It prints the schedule, what
# happened, the checker's verdict, and one line "chaos-result: {JSON}" for
# scripts/chaos-soak.sh; it is also a TAP test (one test: the verdict), and
# a failed run prints the command that replays its schedule.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";
use lib "$FindBin::RealBin/../cluster/lib";

use Getopt::Long;
use JSON::PP ();
use List::Util qw(max);
use POSIX ();
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Chaos;
use PgQuorum::Net;
use PgQuorum::Schedule;

my %o = (servers => 3, witness => 0, mode => 'sync', duration => 30, converge => 120, kinds => '');
GetOptions(
	'seed=i'     => \$o{seed},
	'servers=i'  => \$o{servers},
	'witness!'   => \$o{witness},
	'mode=s'     => \$o{mode},
	'duration=f' => \$o{duration},
	'kinds=s'    => \$o{kinds},
	'converge=f' => \$o{converge},
	'verbose!'   => \$o{verbose}) or die "usage: see the head of $0\n";
$o{seed} //= int(rand(1e9));
die "--mode is sync or async\n" unless $o{mode} =~ /^(sync|async)$/;
my @kinds = $o{kinds} ? split(/,/, $o{kinds}) : @PgQuorum::Schedule::ALL;
for my $k (@kinds)
{
	die "unknown fault kind $k (known: @PgQuorum::Schedule::ALL)\n"
	  unless $PgQuorum::Schedule::KINDS{$k};
}

sub say { Test::More->builder->output->print(@_, "\n"); return; }

# Soak runs ended without a result and nothing printed after the election
# (seed 207's kept log: a die in a poll, since caught in PgQuorum::Test's
# psql_no_die()).  The main process says, in the log (PostgreSQL::Test::
# Utils sends STDERR there), how it ended when it ends before its result;
# an ending that skips END blocks, POSIX::_exit or a signal, says nothing.
# A forked child that reaches the end of the program must not run
# PostgreSQL::Test::Cluster's END block, which stops every server: this one
# runs before the modules' (END blocks run in reverse order), so such a
# child leaves at once, and says so.
my ($main_pid, $result_said) = ($$, 0);
END
{
	if ($$ != $main_pid)
	{
		print STDERR "chaos.pl: forked process $$ reached the end of the program (status $?); "
		  . "it leaves without stopping the servers\n";
		POSIX::_exit($? || 1);
	}
	print STDERR "chaos.pl: ended with status $? before printing its result\n"
	  unless $result_said;
}

my $replay = "bash scripts/sandbox.sh perl test/chaos/chaos.pl --seed $o{seed} --servers $o{servers}"
  . ($o{witness} ? ' --witness' : '') . " --mode $o{mode} --duration $o{duration}"
  . ($o{kinds} ? " --kinds $o{kinds}" : '');
my $topo = $o{servers} . ($o{witness} ? '+witness' : '');
say("chaos: seed=$o{seed} servers=$topo mode=$o{mode} duration=$o{duration}s");

my $problem = nft_problem();
BAIL_OUT("nftables unusable here ($problem); run this through scripts/sandbox.sh") if $problem;

my $r = chaos_run(
	seed       => $o{seed},
	servers    => $o{servers},
	witness    => $o{witness},
	mode       => $o{mode},
	duration   => $o{duration},
	kinds      => \@kinds,
	converge_s => $o{converge},
	verbose    => $o{verbose});

say("# what happened:");
say("#   $_") for @{ $r->{log} };
say(sprintf('# writes: %d ok, %d failed, %d unknown', @{ $r->{writes} }{qw(ok failed unknown)}));
say(sprintf('# failovers: %d; eras (server, timeline, first acknowledged write): %s', $r->{failovers},
	join(', ', map { sprintf('%s/%d at %.2f s', $_->{server}, $_->{tli}, $_->{first}) } @{ $r->{eras} })));
say('# faults (time to the first write accepted again):');
for my $f (@{ $r->{faults} })
{
	say(sprintf('#   %2d %-16s %-22s at %6.2f s (scheduled %6.2f s) for %5.2f s: %s', $f->{n}, $f->{kind},
		$f->{target}, $f->{started_s} // $f->{at}, $f->{at}, $f->{dur},
		$f->{status} eq 'applied'
		? ($f->{recovery_s} ? sprintf('first write after %.2f s', $f->{recovery_s}) : 'writes went on')
		: $f->{status}));
}
say('# no write accepted: '
	  . (join(', ', map { sprintf('%.2f-%s s', $_->[0], defined $_->[1] ? sprintf('%.2f', $_->[1]) : 'healing') }
			@{ $r->{unavailable} }) || 'never more than 0.5 s'));
say(sprintf('# converged %.1f s after healing', $r->{converge_s})) if $r->{converge_s};
delete $r->{log};
$r->{commit} = $ENV{PGQ_COMMIT} // '';
say('chaos-result: ' . JSON::PP->new->canonical->encode($r));
$result_said = 1;
is_deeply($r->{violations}, [], "seed $o{seed} ($topo, $o{mode}): no violation")
  or diag("violations:\n  " . join("\n  ", @{ $r->{violations} }) . "\nreplay with:\n  $replay");
done_testing();
