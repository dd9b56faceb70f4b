# test/bench/fence_overhead.pl [ROUNDS]: what loading pg_quorum costs in
# throughput.
#
# One server, the same data directory, restarted between two
# configurations: "without" (shared_preload_libraries empty) and "with"
# (pg_quorum loaded, a cluster of one with pg_quorum.bootstrap_expect = 1,
# so it elects itself, holds the lease and is unfenced: every commit of a
# write transaction goes through the fence's lease check, and the worker
# runs its timers).  Each round runs, in both configurations, pgbench
# (prepared statements, 2 clients, 2 threads, over the Unix socket) with
#
#   select-only   the built-in read-only script (-S)
#   tpcb          the built-in TPC-B-like script, synchronous_commit on
#   tpcb-async    the same with synchronous_commit = off, so that the
#                 commit path, not the WAL flush, bounds throughput
#
# Rounds alternate the order of the two configurations (A B, B A, ...) so
# that drift of the machine cancels out; after each restart a short
# select-only run warms the caches and is not counted.  It reports the
# median tps per script and configuration and their difference.  ROUNDS
# defaults to $PGQ_BENCH_RUNS or 5, the length of a run to
# $PGQ_BENCH_SECONDS or 10 s, the pgbench scale to $PGQ_BENCH_SCALE or 10.
# It measures and asserts nothing; run it with "make bench-fence".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use IPC::Run;
use List::Util qw(min max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $rounds  = shift // $ENV{PGQ_BENCH_RUNS} // 5;
my $seconds = $ENV{PGQ_BENCH_SECONDS} // 10;
my $scale   = $ENV{PGQ_BENCH_SCALE} // 10;
my $clients = 2;
my $ready_s = 120;

my @scripts = (
	[ 'select-only', [ '-S' ], '' ],
	[ 'tpcb',        [],       '' ],
	[ 'tpcb-async',  [],       '-c synchronous_commit=off' ]);

my ($gossip) = free_gossip_ports(1);
my $node = PostgreSQL::Test::Cluster->new('bench');
$node->init;
write_key($node, new_key());
$node->append_conf('postgresql.conf', "include_if_exists = 'pgq_mode.conf'\n");

my %mode_conf = (
	without => "shared_preload_libraries = ''\n",
	with    => "shared_preload_libraries = 'pg_quorum'\n"
	  . "pg_quorum.node_name = 'bench'\n"
	  . "pg_quorum.listen = '127.0.0.1:$gossip'\n"
	  . "pg_quorum.key_file = 'quorum.key'\n"
	  . "pg_quorum.conninfo = 'host=" . $node->host . ' port=' . $node->port . "'\n"
	  . "pg_quorum.failover = on\n"
	  . "pg_quorum.bootstrap_expect = 1\n");

# use_mode($mode): restart the server in that configuration and wait until
# it accepts writes.
sub use_mode
{
	my ($mode) = @_;
	my $file = $node->data_dir . '/pgq_mode.conf';
	open my $fh, '>', $file or die "$file: $!";
	print $fh $mode_conf{$mode};
	close $fh;
	$node->stop('fast') if defined $node->{_pid};
	$node->start;
	my $preload = $node->safe_psql('postgres', 'SHOW shared_preload_libraries');
	die "$mode: shared_preload_libraries is '$preload'\n"
	  if ($mode eq 'with') != ($preload eq 'pg_quorum');
	return if $mode eq 'without';
	my $err = '';
	defined wait_until(
		$ready_s,
		sub {
			$node->psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_quorum; '
				  . 'CREATE TABLE IF NOT EXISTS bench_probe (x int); INSERT INTO bench_probe VALUES (1)',
				stderr => \$err, on_error_stop => 1) == 0;
		}) or die "with pg_quorum, the server never accepted a write: $err\n";
	my $fenced = $node->safe_psql('postgres', 'SELECT fenced FROM quorum.status');
	die "with pg_quorum, the server is fenced\n" unless $fenced eq 'f';
	return;
}

# pgbench(@args): tps of one run.
sub pgbench
{
	my ($opts, @args) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGOPTIONS} = $opts;
	IPC::Run::run(
		[
			'pgbench', '-n', '-M', 'prepared', '-c', $clients, '-j', $clients,
			'-h', $node->host, '-p', $node->port, @args, 'postgres'
		],
		'>', \$out, '2>', \$err) or die "pgbench @args failed:\n$out$err\n";
	$out =~ /tps = ([0-9.]+) \(without initial connection time\)/
	  or die "no tps in pgbench's output:\n$out\n";
	return $1;
}

use_mode('without');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', $scale, '-h', $node->host,
		'-p', $node->port, 'postgres' ], "pgbench -i -s $scale");

my $cpus = () = grep { /^processor/ } split /\n/, slurp_file('/proc/cpuinfo');
report "fence overhead benchmark: $rounds rounds of ${seconds}s runs, pgbench scale $scale, "
  . "$clients clients, $cpus CPUs\n";

my %tps;    # {script}{mode} = [tps per round]
for my $round (1 .. $rounds)
{
	my @order = $round % 2 ? qw(without with) : qw(with without);
	for my $mode (@order)
	{
		use_mode($mode);
		pgbench('', '-S', '-T', 2);    # warm-up, not counted
		for my $s (@scripts)
		{
			my ($name, $args, $opts) = @$s;
			my $t = pgbench($opts, @$args, '-T', $seconds);
			push @{ $tps{$name}{$mode} }, $t;
			reportf "round %d, %-7s pg_quorum, %-11s %10.1f tps\n", $round, $mode, $name, $t;
		}
	}
}
$node->stop;

sub median
{
	my @s = sort { $a <=> $b } @_;
	return @s % 2 ? $s[ $#s / 2 ] : ($s[ @s / 2 - 1 ] + $s[ @s / 2 ]) / 2;
}
report "\n| script | without pg_quorum: median (min-max) tps | with pg_quorum: median (min-max) tps | difference of medians |\n";
report "|---|---|---|---|\n";
for my $s (@scripts)
{
	my $name = $s->[0];
	my ($wo, $w) = ($tps{$name}{without}, $tps{$name}{with});
	reportf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %+.2f%% |\n", $name,
	  median(@$wo), min(@$wo), max(@$wo), median(@$w), min(@$w), max(@$w),
	  100 * (median(@$w) - median(@$wo)) / median(@$wo);
}

ok(1, 'benchmark completed');
done_testing();
