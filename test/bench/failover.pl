# test/bench/failover.pl [RUNS] [CASE] [MODE] [DIRTY_MB]: failover time on
# real servers.
#
# Three voters (node1 primary, node2 and node3 standbys) with the default
# pg_quorum timings and production settings (PgQuorum::Test), and the test
# workload (PgQuorum::Workload) writing to all three servers throughout:
# one write at a time per server over a Unix socket, every 5 ms, and again
# 5 ms after a refusal.  Each run does CASE to the current primary and
# measures the time from it to the first write a surviving server
# acknowledges (the client's COMMIT returning), then brings the old primary
# back as a standby with pg_quorum_rejoin (timed too) and waits until the
# cluster is whole again (all alive, everyone following the leader, and in
# synchronous mode, synchronous) before the next run.  CASE is:
#
#   postmaster  kill -9 of the postmaster only (its children see it die)
#   all         kill -9 of every process of the server at once
#   stop        pg_ctl stop -m fast
#   switchover  SELECT quorum.failover() on the primary
#   backlog     kill -9 of the postmaster while both standbys have a replay
#               backlog: replay is paused on them, one UPDATE rewrites a
#               table of DIRTY_MB (default 100) MB on the primary, and once
#               both have received (flushed) all of its WAL, replay is
#               resumed and the postmaster killed at once, so that the
#               winner's promotion waits for it to replay the rest
#
# MODE is sync (the default) or async (pg_quorum.synchronous = off).
# DIRTY_MB > 0 dirties that many MB of a table with one UPDATE just before
# each run (after a VACUUM, so that every run writes as much; the workload
# goes on writing), so that the server has dirty buffers to write when it
# stops; the run shows how many MB of the victim's shared buffers were
# dirty just before the fault (pg_buffercache).  The backlog case also
# vacuums before its UPDATE.
# With PGQ_BENCH_REPLAYED=1 the fault waits until both standbys have
# replayed that write (the run then measures the dirty buffers alone, not a
# replay backlog); either way the run shows how many MB of WAL each standby
# had still to replay at the fault.
# RUNS defaults to $PGQ_BENCH_RUNS or 5; the other arguments can come from
# $PGQ_BENCH_CASE, $PGQ_BENCH_MODE and $PGQ_BENCH_DIRTY_MB.  It measures and
# asserts nothing; run it with "make bench-failover", which runs every
# case in both modes.
#
# Each run also shows, from the new leader's quorum.events, when it became
# leader and when it promoted itself (relative to the event; wall clock of
# the same machine).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../cluster/lib";

use List::Util qw(min max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use PgQuorum::Test;
use PgQuorum::Workload;

sub report { Test::More->builder->output->print(@_); return; }
sub reportf { report(sprintf(shift, @_)); return; }

my $runs  = shift // $ENV{PGQ_BENCH_RUNS} // 5;
my $case  = shift // $ENV{PGQ_BENCH_CASE} // 'postmaster';
my $mode  = shift // $ENV{PGQ_BENCH_MODE} // 'sync';
my $dirty = shift // $ENV{PGQ_BENCH_DIRTY_MB};
my $bound_s = 120;    # give up on a run after this long
my $follow_s = 30;    # a standby not following by then is rejoined
my $now = \&PgQuorum::Workload::now;
my %what = (
	postmaster => 'kill -9 of the postmaster',
	all        => 'kill -9 of every process',
	stop       => 'pg_ctl stop -m fast',
	switchover => 'quorum.failover()',
	backlog    => 'kill -9 of the postmaster, standbys with a replay backlog');
die "unknown case \"$case\" (one of: @{[ sort keys %what ]})\n" unless $what{$case};
die "unknown mode \"$mode\" (sync or async)\n" unless $mode =~ /^(sync|async)$/;
my $sync = $mode eq 'sync';
$dirty = ($case eq 'backlog' ? 100 : 0) unless defined $dirty && $dirty ne '';
# PGQ_BENCH_REPLAYED=1: with DIRTY_MB, strike only once both standbys have
# replayed the bulk write, so that the run measures the dirty buffers of the
# stopping server and not a replay backlog (which the backlog case measures).
my $replayed = $ENV{PGQ_BENCH_REPLAYED} // 0;

# PGQ_BENCH_EXTRA: postgresql.conf lines for every server, to measure what
# a setting costs (e.g. "pg_quorum.replication_slots = off").
my $c = new_failover_cluster(synchronous => $sync,
	extra => defined $ENV{PGQ_BENCH_EXTRA} ? "$ENV{PGQ_BENCH_EXTRA}\n" : '');
my @nodes = @{ $c->{nodes} };
my $wl = PgQuorum::Workload->start(
	nodes    => \@nodes,
	file     => "$PostgreSQL::Test::Utils::tmp_check/bench_failover.tsv",
	pause_ms => 5,
	retry_ms => 5);

my @settings = map { "$_=" . $nodes[0]->safe_psql('postgres', "SHOW pg_quorum.$_") }
  qw(election_timeout heartbeat_interval probe_interval synchronous);
report "failover benchmark: $what{$case}, $mode, "
  . ($dirty ? "$dirty MB " . ($case eq 'backlog' ? 'rewritten for the backlog' : 'dirtied')
	  . ' before each run' . ($replayed && $case ne 'backlog' ? ' (and replayed by the standbys)' : '') . ', ' : '')
  . "3 servers, $runs runs, @settings\n";
if ($dirty)
{
	# A table of about $dirty MB (rows of about 1 kB) to dirty before each run.
	$nodes[0]->safe_psql('postgres',
		'CREATE TABLE IF NOT EXISTS bench_dirty (id int PRIMARY KEY, pad text); '
		  . "INSERT INTO bench_dirty SELECT g, repeat('x', 1000) FROM generate_series(1, $dirty * 1000) g "
		  . 'ON CONFLICT DO NOTHING; '
		  . 'CREATE EXTENSION IF NOT EXISTS pg_buffercache');
}

# stable(): the leader once the cluster is whole: one writable leader known
# to all, the others streaming from it, all members alive everywhere,
# synchronous mode, and the workload's writes going through on the leader.
sub stable
{
	my ($leader) = wait_for_leader(\@nodes, $bound_s);
	die "no leader\n" unless $leader;
	for my $node (@nodes)
	{
		defined wait_for_query($node,
			"SELECT count(*) FROM quorum.nodes WHERE state = 'alive'", '3', $bound_s)
		  or die $node->name . " does not see all three alive\n";
		next if $node == $leader;
		next if defined wait_following($node, $leader, $follow_s);
		# A standby that took WAL from the old primary past the new one's
		# fork cannot follow it until it is rewound: say so, and rejoin it.
		report $node->name . ' does not follow ' . $leader->name
		  . " within ${follow_s}s (diverged?); rejoining it\n";
		$node->stop('fast', fail_ok => 1);
		my ($rc, $out) = rejoin($node, grep { $_ != $node } @nodes);
		die "pg_quorum_rejoin failed:\n$out\n" if $rc != 0;
		$node->start;
		defined wait_following($node, $leader, $bound_s)
		  or die $node->name . ' does not follow ' . $leader->name . "\n";
	}
	defined wait_for_query($leader, 'SELECT mode FROM quorum.status', $mode, $bound_s)
	  or die $leader->name . " is not in $mode mode\n";
	$wl->wait_ack($bound_s, server => $leader->name, sent_after => $now->())
	  or die $leader->name . " acknowledges no write\n";
	return $leader;
}

# events_after($node, $term, $wall): { event => seconds after $wall } for
# the new term's leader and promotion events, as far as the node has them.
sub events_after
{
	my ($node, $term, $wall) = @_;
	my $out = query($node,
		"SELECT event, min(extract(epoch FROM at)) FROM quorum.events "
		  . "WHERE term = $term AND event IN ('leader', 'lease_gained', 'promoted') GROUP BY event")
	  // '';
	my %ev;
	for my $line (split /\n/, $out)
	{
		my ($event, $at) = split /\|/, $line;
		$ev{$event} = $at - $wall;
	}
	return \%ev;
}

# The case's fault, done to $victim; returns once it is done.
sub strike
{
	my ($victim) = @_;
	if ($case eq 'postmaster' || $case eq 'backlog')
	{
		$victim->kill9;
	}
	elsif ($case eq 'all')
	{
		kill 'KILL', server_pids($victim);
		$victim->{_pid} = undef;    # as kill9 does
	}
	elsif ($case eq 'stop')
	{
		$victim->stop('fast');
	}
	else
	{
		my ($out, $err) = ('', '');
		$victim->psql('postgres', 'SELECT quorum.failover()', stdout => \$out, stderr => \$err);
		report "quorum.failover() failed: $err\n" if $err =~ /ERROR/;
	}
	return;
}

# wait_standbys($function, $what, $victim, @standbys): wait until
# $function() (pg_last_wal_receive_lsn or pg_last_wal_replay_lsn) on every
# standby has reached the victim's flushed WAL; dies naming $what otherwise.
sub wait_standbys
{
	my ($function, $what, $victim, @standbys) = @_;
	my $lsn = $victim->lsn('flush');
	for my $node (@standbys)
	{
		defined wait_for_query($node, "SELECT $function() >= '$lsn'", 't', $bound_s)
		  or die $node->name . " did not $what the bulk write\n";
	}
	return;
}

# backlog(\$victim, @standbys): the replay backlog of the backlog case (see
# the top); returns "MB not replayed" per standby when replay resumed.
sub backlog
{
	my ($victim, @standbys) = @_;
	$victim->safe_psql('postgres', 'VACUUM bench_dirty');
	$_->safe_psql('postgres', 'SELECT pg_wal_replay_pause()') for @standbys;
	$victim->safe_psql('postgres', 'UPDATE bench_dirty SET pad = pad');
	wait_standbys('pg_last_wal_receive_lsn', 'receive', $victim, @standbys);
	my @mb = map {
		$_->safe_psql('postgres',
			'SELECT round(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) / 1048576) '
			  . 'FROM pg_wal_replay_resume()')
	} @standbys;
	return join(', ', map { $standbys[$_]->name . " $mb[$_] MB" } 0 .. $#standbys);
}

my (@times, @rejoins, @dirty_mb);
for my $run (1 .. $runs)
{
	my $victim = stable();
	my @rest = grep { $_ != $victim } @nodes;
	my $before = '';
	if ($case eq 'backlog')
	{
		$before = 'replay backlog ' . backlog($victim, @rest) . '; ';
	}
	elsif ($dirty)
	{
		$victim->safe_psql('postgres', 'VACUUM bench_dirty');
		$victim->safe_psql('postgres', 'UPDATE bench_dirty SET pad = pad');
		wait_standbys('pg_last_wal_replay_lsn', 'replay', $victim, @rest) if $replayed;
		push @dirty_mb, $victim->safe_psql('postgres',
			'SELECT count(*) * 8 / 1024 FROM pg_buffercache WHERE isdirty');
		my @lag = map {
			$_->safe_psql('postgres',
				'SELECT round(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) / 1048576)')
		} @rest;
		$before = "$dirty_mb[-1] MB of shared buffers dirty, not yet replayed "
		  . join(', ', map { $rest[$_]->name . " $lag[$_] MB" } 0 .. $#rest) . '; ';
	}
	my $wall = Time::HiRes::time();
	my $t0 = $now->();
	strike($victim);
	my $first = $wl->wait_ack($bound_s, server => [ map { $_->name } @rest ], done_after => $t0)
	  or die "run $run: no write acknowledged after the $what{$case} of " . $victim->name . "\n";
	my $took = $first->{done} - $t0;
	push @times, $took;
	my ($new) = grep { $_->name eq $first->{server} } @rest;
	my $st = cluster_status($new);
	my $ev = $st ? events_after($new, $st->{term}, $wall) : {};
	my $last = (sort { $b->{done} <=> $a->{done} }
		  $wl->acked(server => $victim->name))[0];

	# Gone: killed, stopped, or (deposed) stopping by itself.
	defined($victim->{_pid} ? wait_stopped($victim, $bound_s) : wait_processes_gone($victim, $bound_s))
	  or die "run $run: processes of " . $victim->name . " survived\n";
	my $t_rejoin = $now->();
	my ($rc, $out) = rejoin($victim, @rest);
	die "run $run: pg_quorum_rejoin failed:\n$out\n" if $rc != 0;
	push @rejoins, $now->() - $t_rejoin;
	reportf "run %d: %s%s of %s; %s writable, first write acknowledged %.3f s after it "
	  . "(%s; last write acknowledged by %s at %+.3f s); pg_quorum_rejoin took %.3f s\n",
	  $run, $before, $what{$case}, $victim->name, $new->name, $took,
	  join(', ', map { sprintf('%s +%.3f s', $_, $ev->{$_}) } sort { $ev->{$a} <=> $ev->{$b} } keys %$ev)
	  || 'no events',
	  $victim->name, $last ? $last->{done} - $t0 : 0, $rejoins[-1];
	$victim->start;
}
stable();
my @records = $wl->stop;
$_->stop for @nodes;

# The value below which a fraction $q of the sorted list falls (nearest rank).
sub quantile
{
	my ($q, @sorted) = @_;
	my $i = int($q * @sorted + 0.999999) - 1;
	return $sorted[ $i < 0 ? 0 : $i ];
}

sub median
{
	my @sorted = @_;
	return @sorted % 2
	  ? $sorted[ $#sorted / 2 ]
	  : ($sorted[ @sorted / 2 - 1 ] + $sorted[ @sorted / 2 ]) / 2;
}

my @sorted = sort { $a <=> $b } @times;
my @rsorted = sort { $a <=> $b } @rejoins;
reportf "failover time (%s, %s%s, to the first acknowledged write elsewhere) over %d runs: "
  . "median %.3f s, p90 %.3f s, max %.3f s, min %.3f s\n",
  $what{$case}, $mode, $case ne 'backlog' && $dirty ? ", $dirty MB dirty" : '', scalar(@times),
  median(@sorted), quantile(0.9, @sorted), max(@times), min(@times);
reportf "pg_quorum_rejoin time: median %.3f s, p90 %.3f s, max %.3f s\n",
  median(@rsorted), quantile(0.9, @rsorted), max(@rejoins);
reportf "dirty shared buffers just before the fault: median %d MB, min %d MB\n",
  median(sort { $a <=> $b } @dirty_mb), min(@dirty_mb)
  if @dirty_mb;
reportf "raw failover times (s): %s\n", join(' ', map { sprintf('%.3f', $_) } @times);
reportf "raw rejoin times (s): %s\n", join(' ', map { sprintf('%.3f', $_) } @rejoins);
reportf "workload: %d writes, %d acknowledged\n", scalar(@records),
  scalar(grep { $_->{status} eq 'ok' } @records);

ok(1, 'benchmark completed');
done_testing();
