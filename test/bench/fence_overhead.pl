# test/bench/fence_overhead.pl [ROUNDS]: what loading pg_quorum costs in
# throughput.
#
# Two servers made from the same pgbench data (two copies of one seed) run
# side by side on this machine: "without" (no shared_preload_libraries)
# and "with" (pg_quorum loaded, a cluster of one with
# pg_quorum.bootstrap_expect = 1, so it elects itself, holds the lease and
# is unfenced: every commit of a write transaction goes through the
# fence's lease check, and the worker runs its timers).  Only one of them
# is under load at a time.  Both keep PostgreSQL::Test::Cluster's fsync =
# off, so no run waits for the disk and the commit path's CPU cost shows.
# Each round runs, against both, pgbench (prepared statements, 2 clients,
# 2 threads, over the Unix socket) with
#
#   select-only   the built-in read-only script (-S)
#   tpcb          the built-in TPC-B-like script
#   tpcb-async    the same with synchronous_commit = off
#
# alternating which server goes first (A B, B A, ...), so that drift of
# the machine cancels out.  A short select-only run on each server warms
# the caches first and is not counted.  Besides tps it takes the server's
# CPU time per transaction (postmaster, its children and the children it
# reaped, from /proc), which other load on the machine disturbs much less.
# For each script it reports the medians per server and the median, over
# rounds, of the ratio of the two runs of the same round, with the
# interquartile range of those ratios (the noise).  ROUNDS defaults to $PGQ_BENCH_RUNS or 10, the length of a run to
# $PGQ_BENCH_SECONDS or 5 s, the pgbench scale to $PGQ_BENCH_SCALE or 10.
# PGQ_BENCH_CONTROL=1 makes it an A/A run (neither server loads
# pg_quorum), which shows the noise and any bias of the setup.  It measures
# and asserts nothing; run it with "make bench-fence" on an otherwise idle
# machine.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use IPC::Run;
use POSIX ();
use List::Util qw(min max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $rounds  = shift // $ENV{PGQ_BENCH_RUNS} // 10;
my $seconds = $ENV{PGQ_BENCH_SECONDS} // 5;
my $scale   = $ENV{PGQ_BENCH_SCALE} // 10;
my $clients = 2;
my $ready_s = 120;
# PGQ_BENCH_CONTROL=1: an A/A run, the second server without pg_quorum too,
# to see what the setup alone makes of the difference.
my $control = $ENV{PGQ_BENCH_CONTROL} // 0;

my @scripts = (
	[ 'select-only', [ '-S' ], '' ],
	[ 'tpcb',        [],       '' ],
	[ 'tpcb-async',  [],       '-c synchronous_commit=off' ]);

# The data, once, in a seed server; both servers are copies of it, made
# the same way (an A/A run showed a copy slower than its original by 15-20%).
my $seed = PostgreSQL::Test::Cluster->new('seed');
$seed->init(allows_streaming => 1);    # for the copies (pg_basebackup)
# PostgreSQL::Test::Cluster logs every statement; a benchmark logs none.
$seed->append_conf('postgresql.conf', "log_statement = none\n");
$seed->start;
$seed->command_ok([ 'pgbench', '-i', '-q', '-s', $scale, '-h', $seed->host,
		'-p', $seed->port, 'postgres' ], "pgbench -i -s $scale");
$seed->safe_psql('postgres', 'CHECKPOINT');
$seed->backup('data');
$seed->stop;
my $without = PostgreSQL::Test::Cluster->new('without');
$without->init_from_backup($seed, 'data');
$without->start;
my $with = PostgreSQL::Test::Cluster->new('with');
$with->init_from_backup($seed, 'data');
my ($gossip) = free_gossip_ports(1);
write_key($with, new_key());
$with->append_conf('postgresql.conf',
	    ($control ? '' : "shared_preload_libraries = 'pg_quorum'\n")
	  . "pg_quorum.node_name = 'bench'\n"
	  . "pg_quorum.listen = '127.0.0.1:$gossip'\n"
	  . "pg_quorum.key_file = 'quorum.key'\n"
	  . "pg_quorum.conninfo = 'host=" . $with->host . ' port=' . $with->port . "'\n"
	  . "pg_quorum.failover = on\n"
	  . "pg_quorum.bootstrap_expect = 1\n");
$with->start;
if ($control)
{
	die "the control server loads something\n"
	  if $with->safe_psql('postgres', 'SHOW shared_preload_libraries') ne '';
}
else
{
	my $err = '';
	defined wait_until(
		$ready_s,
		sub {
			$with->psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_quorum',
				stderr => \$err, on_error_stop => 1) == 0;
		}) or die "with pg_quorum, the server never accepted a write: $err\n";
	my $st = $with->safe_psql('postgres',
		"SELECT current_setting('shared_preload_libraries') || ' ' || "
		  . "CASE WHEN fenced THEN 'fenced' ELSE 'unfenced' END FROM quorum.status");
	die "the server with pg_quorum is not an unfenced leader ($st)\n"
	  unless $st eq 'pg_quorum unfenced';
}
die "the server without pg_quorum loads something\n"
  if $without->safe_psql('postgres', 'SHOW shared_preload_libraries') ne '';
my %server = (without => $without, with => $with);

# pgbench($node, $opts, @args): tps of one run.
sub pgbench
{
	my ($node, $opts, @args) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGOPTIONS} = $opts;
	my $n0 = scalar(PgQuorum::Test::server_pids($node));
	my $cpu0 = server_cpu($node);
	IPC::Run::run(
		[
			'pgbench', '-n', '-M', 'prepared', '-c', $clients, '-j', $clients,
			'-h', $node->host, '-p', $node->port, @args, 'postgres'
		],
		'>', \$out, '2>', \$err) or die "pgbench @args failed:\n$out$err\n";
	$out =~ /tps = ([0-9.]+) \(without initial connection time\)/
	  or die "no tps in pgbench's output:\n$out\n";
	my $tps = $1;
	$out =~ /number of transactions actually processed: (\d+)/
	  or die "no transaction count in pgbench's output:\n$out\n";
	my $xacts = $1;
	# The backends have exited; once the postmaster has reaped them their
	# CPU time is in its cutime and cstime.
	wait_until(10, sub { scalar(PgQuorum::Test::server_pids($node)) <= $n0 });
	my $us = 1e6 * (server_cpu($node) - $cpu0) / $xacts;
	return ($tps, $us);
}

# server_cpu($node): CPU seconds used so far by the server: the
# postmaster, every process it reaped, and its live children.
my $hz = POSIX::sysconf(POSIX::_SC_CLK_TCK());
sub server_cpu
{
	my ($node) = @_;
	my ($pm, @kids) = PgQuorum::Test::server_pids($node);
	my $ticks = 0;
	for my $pid ($pm, @kids)
	{
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $stat = <$fh>;
		close $fh;
		$stat =~ s/^.*\) //;    # past the command name
		my @f = split ' ', $stat;    # $f[11] is utime (field 14)
		$ticks += $f[11] + $f[12];
		$ticks += $f[13] + $f[14] if $pid == $pm;
	}
	return $ticks / $hz;
}

sub loadavg { return (split ' ', slurp_file('/proc/loadavg'))[0]; }

my $cpus = () = grep { /^processor/ } split /\n/, slurp_file('/proc/cpuinfo');
report "A/A CONTROL RUN: neither server loads pg_quorum\n" if $control;
report "fence overhead benchmark: $rounds rounds of ${seconds}s runs, pgbench scale $scale, "
  . "$clients clients, $cpus CPUs, load average at start " . loadavg() . "\n";
pgbench($_, '', '-S', '-T', 3) for ($without, $with);    # warm-up, not counted

# Per script and server, tps and the server's CPU time per transaction
# (which the rest of the machine's load disturbs much less than tps).

my (%tps, %cpu, %ratio, %cpu_ratio, @loads);
for my $round (1 .. $rounds)
{
	my @order = $round % 2 ? qw(without with) : qw(with without);
	for my $s (@scripts)
	{
		my ($name, $args, $opts) = @$s;
		my (%t, %c);
		for my $mode (@order)
		{
			($t{$mode}, $c{$mode}) = pgbench($server{$mode}, $opts, @$args, '-T', $seconds);
			push @{ $tps{$name}{$mode} }, $t{$mode};
			push @{ $cpu{$name}{$mode} }, $c{$mode};
		}
		push @{ $ratio{$name} }, $t{with} / $t{without} - 1;
		push @{ $cpu_ratio{$name} }, $c{with} / $c{without} - 1;
		push @loads, loadavg();
		reportf "round %2d %-11s without %9.1f tps %6.1f us/xact, with %9.1f tps %6.1f us/xact: "
		  . "tps %+6.2f%%, CPU %+6.2f%% (load %s)\n",
		  $round, $name, $t{without}, $c{without}, $t{with}, $c{with},
		  100 * $ratio{$name}[-1], 100 * $cpu_ratio{$name}[-1], $loads[-1];
	}
}
$_->stop for ($without, $with);

sub quantile
{
	my ($q, @v) = @_;
	my @s = sort { $a <=> $b } @v;
	my $x = $q * $#s;
	my $lo = int($x);
	return $s[$lo] + ($x - $lo) * (($s[ $lo + 1 ] // $s[$lo]) - $s[$lo]);
}
sub median { return quantile(0.5, @_); }

report "\n| script | tps without / with pg_quorum (medians) | tps with/without: median of rounds (IQR) "
  . "| server CPU per transaction without / with (medians) | CPU with/without: median of rounds (IQR) |\n";
report "|---|---|---|---|---|\n";
for my $s (@scripts)
{
	my $name = $s->[0];
	my @r = @{ $ratio{$name} };
	my @c = @{ $cpu_ratio{$name} };
	reportf "| %s | %.0f / %.0f | %+.2f%% (%+.2f%% to %+.2f%%) | %.1f / %.1f us | %+.2f%% (%+.2f%% to %+.2f%%) |\n",
	  $name, median(@{ $tps{$name}{without} }), median(@{ $tps{$name}{with} }),
	  100 * median(@r), 100 * quantile(0.25, @r), 100 * quantile(0.75, @r),
	  median(@{ $cpu{$name}{without} }), median(@{ $cpu{$name}{with} }),
	  100 * median(@c), 100 * quantile(0.25, @c), 100 * quantile(0.75, @c);
}
reportf "load average during the runs: median %s, max %s\n", median(@loads), max(@loads);

ok(1, 'benchmark completed');
done_testing();
