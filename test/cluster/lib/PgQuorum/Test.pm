# test/cluster/lib/PgQuorum/Test.pm: helpers for pg_quorum's multi-server
# tests and benchmarks, on top of PostgreSQL::Test::Cluster.
#
# Servers talk gossip over 127.0.0.1 on ports picked free here (UDP and TCP,
# distinct within one test); test clients use the Unix sockets that
# PostgreSQL::Test::Cluster sets up.  Waits poll against a deadline in real
# seconds and report how long they took; nothing sleeps to synchronize.

package PgQuorum::Test;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename ();
use PgQuorum::Workload ();
use PgQuorum::History ();
use PgQuorum::Net ();

our @EXPORT = qw(
  free_gossip_ports new_key write_key production_conf quorum_conf new_quorum_node
  query wait_until wait_for_query nodes_summary log_offset
  wait_processes_gone fatal_messages
  new_failover_cluster start_failover_test server_pids kill_host freeze thaw cluster_status wait_for_leader
  try_sql wait_stopped rejoin rejoin_paused read_rows_offline check_workload promoted_itself
  wait_following following_sql stop_all give_up watch_for leader_changes promotions
  assert_writes_refused
  witness_start witness_restart witness_stop
);

my %taken;        # ports already handed out by this process
my %witnesses;    # pid -> handle of every witness started, for END

# free_gossip_ports(N): N distinct ports free on 127.0.0.1 for TCP and UDP.
sub free_gossip_ports
{
	my ($n) = @_;
	my (@held, @ports);
	for (my $tries = 0; @ports < $n; $tries++)
	{
		die "could not find $n free ports" if $tries > 1000;
		my $tcp = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => 0,
			Proto     => 'tcp',
			Listen    => 1) or next;
		my $port = $tcp->sockport;
		next if $taken{$port};
		my $udp = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => $port,
			Proto     => 'udp') or next;
		$taken{$port} = 1;
		push @held, $tcp, $udp;
		push @ports, $port;
	}
	return @ports;
}

# new_key(): a fresh AES-256 key as 64 hex digits.
sub new_key
{
	open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
	read($fh, my $bytes, 32) == 32 or die "short read from /dev/urandom";
	close $fh;
	return unpack('H*', $bytes);
}

# write_key($node, @keys): write the key file "quorum.key" (one key per
# line, owner-only) into the node's data directory.
sub write_key
{
	my ($node, @keys) = @_;
	my $path = $node->data_dir . '/quorum.key';
	my $old = umask(077);
	open my $fh, '>', $path or die "$path: $!";
	print $fh "$_\n" for @keys;
	close $fh;
	umask($old);
	chmod 0600, $path;
	return $path;
}

# The settings every server of the cluster tests and benchmarks runs with,
# appended after PostgreSQL::Test::Cluster's (later lines win).  That module
# sets PostgreSQL up fast but unsafe: fsync = off turns every pg_fsync() and
# durable rename of pg_quorum.state into a no-op, and its other settings hide
# real paths (a 500ms wal_retrieve_retry_interval hides a 5 s stall in
# promotion, restart_after_crash = off hides the restart of every process
# after a backend crashes, the worker included).  So this puts back
# PostgreSQL's own defaults, plus the settings the README's "PostgreSQL
# settings" section tells users to set; only the ports, sockets and the log
# line prefix stay the test framework's.
our $PRODUCTION_CONF = <<'CONF';
# PgQuorum::Test: PostgreSQL's defaults, not PostgreSQL::Test::Cluster's
fsync = on
restart_after_crash = on
wal_retrieve_retry_interval = '5s'
shared_buffers = '128MB'
max_connections = 100
max_wal_size = '1GB'
wal_level = replica
max_wal_senders = 10
log_statement = none
log_replication_commands = off
# The README's "PostgreSQL settings": needed by pg_rewind (pg_quorum_rejoin)
wal_log_hints = on
wal_keep_size = '128MB'
CONF

# production_conf($node): append $PRODUCTION_CONF to the node's
# postgresql.conf (quorum_conf does it for every pg_quorum server).
sub production_conf
{
	my ($node) = @_;
	$node->append_conf('postgresql.conf', $PRODUCTION_CONF);
	return;
}

# quorum_conf($node, name => ..., port => gossip port, peers => [ports],
#             cluster => ..., conninfo => ..., extra => "more postgresql.conf lines"):
# append pg_quorum's settings for this node (later lines win, so this also
# overrides what a standby copied from its primary's backup), after the
# production settings ($PRODUCTION_CONF).  The node is
# membership-only (pg_quorum.failover = off: never fenced, elected or
# deposed) unless extra turns failover on, as new_failover_cluster does.
sub quorum_conf
{
	my ($node, %o) = @_;
	my $peers = join(',', map { "127.0.0.1:$_" } @{ $o{peers} // [] });
	my $conf = $PRODUCTION_CONF
	  . "shared_preload_libraries = 'pg_quorum'\n"
	  . "pg_quorum.failover = off\n"
	  . "pg_quorum.node_name = '$o{name}'\n"
	  . "pg_quorum.listen = '127.0.0.1:$o{port}'\n"
	  . "pg_quorum.peers = '$peers'\n"
	  . "pg_quorum.key_file = 'quorum.key'\n"
	  . "pg_quorum.conninfo = '"
	  . ($o{conninfo} // 'host=' . $node->host . ' port=' . $node->port) . "'\n";
	$conf .= "pg_quorum.cluster = '$o{cluster}'\n" if defined $o{cluster};
	$conf .= $o{extra} if defined $o{extra};
	# PGQ_TEST_LOG_MIN_MESSAGES=debug1 logs libquorum's trace of the election.
	$conf .= "log_min_messages = $ENV{PGQ_TEST_LOG_MIN_MESSAGES}\n"
	  if $ENV{PGQ_TEST_LOG_MIN_MESSAGES};
	$node->append_conf('postgresql.conf', $conf);
	return;
}

# new_quorum_node($name, port => P, peers => [...], key => HEX, ...): a new
# initialized (not started) server configured for pg_quorum.
sub new_quorum_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $o{allows_streaming} // 0);
	write_key($node, $o{key}) if defined $o{key};
	quorum_conf($node, name => $name, %o);
	return $node;
}

# query($node, $sql): the query's output (psql -XAt), or undef on an error.
sub query
{
	my ($node, $sql) = @_;
	my ($out, $err);
	my $rc = psql_no_die($node, $sql, stdout => \$out, stderr => \$err);
	return undef if !defined $rc || $rc != 0 || (defined $err && $err ne '');
	return $out;
}

# psql_no_die($node, $sql, %params): $node->psql, or undef where it died.
# A psql that exits before it reads its input (the server refused the
# connection, or was killed at that moment) makes IPC::Run die writing the
# statement ("ack Broken pipe"): for a test that polls a server under
# faults that is no answer, as an error is, not the end of the test (it
# ended the fault campaign's seed 207 without a result, and likely 233,
# 222 and 216).
sub psql_no_die
{
	my ($node, $sql, %params) = @_;
	my $rc = eval { $node->psql('postgres', $sql, %params) };
	return $rc;
}

# wait_until($seconds, $code): call $code every 100 ms until it returns
# true or $seconds have passed.  Returns the seconds it took, or undef.
sub wait_until
{
	my ($seconds, $code) = @_;
	my $start = time();
	for (;;)
	{
		return time() - $start if $code->();
		return undef if time() - $start > $seconds;
		usleep(100_000);
	}
}

# wait_for_query($node, $sql, $expected, $seconds): poll until the query's
# output equals $expected.  Returns the seconds it took, or undef after a
# diag of the last output.
sub wait_for_query
{
	my ($node, $sql, $expected, $seconds) = @_;
	my $last;
	my $took = wait_until(
		$seconds,
		sub {
			$last = query($node, $sql);
			return defined $last && $last eq $expected;
		});
	diag(sprintf(
			"%s: after %ds, %s\n  returned: %s\n  expected: %s",
			$node->name, $seconds, $sql, $last // '(error)', $expected))
	  unless defined $took;
	return $took;
}

# nodes_summary($node): "name:state,..." of the node's quorum.nodes.
sub nodes_summary
{
	my ($node) = @_;
	return query($node,
		"SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM quorum.nodes"
	) // '(error)';
}

# log_offset($node): the current size of the node's log, for wait_for_log.
sub log_offset
{
	my ($node) = @_;
	return -s $node->logfile // 0;
}

# wait_processes_gone($node, $seconds): after a kill -9 of the postmaster,
# wait until no process runs in the node's data directory any more (every
# server process, the pg_quorum worker included, must notice the death of
# its postmaster and exit; a survivor would keep the old shared memory and
# block the restart).  Returns the seconds it took, or undef.
sub wait_processes_gone
{
	my ($node, $seconds) = @_;
	my $dir = $node->data_dir;
	my @left;
	my $took = wait_until(
		$seconds,
		sub {
			@left = ();
			for my $proc (glob('/proc/[0-9]*'))
			{
				my $cwd = readlink("$proc/cwd");
				next unless defined $cwd && $cwd eq $dir;
				my $pid = ($proc =~ m{(\d+)$})[0];
				open my $fh, '<', "$proc/cmdline" or next;
				my $cmd = <$fh> // '';
				$cmd =~ s/\0/ /g;
				push @left, "$pid $cmd";
			}
			return !@left;
		});
	diag($node->name . ": processes still running after ${seconds}s:\n  "
		  . join("\n  ", @left))
	  unless defined $took;
	return $took;
}

# fatal_messages($node, $offset): the FATAL messages in the node's log after
# $offset, each with its DETAIL, HINT and CONTEXT lines, as a list.
sub fatal_messages
{
	my ($node, $offset) = @_;
	my $log = slurp_file($node->logfile, $offset // 0);
	my (@msgs, $cur);
	for my $line (split /\n/, $log)
	{
		if ($line =~ /\bFATAL:/)
		{
			push @msgs, $cur if defined $cur;
			$cur = "$line\n";
		}
		elsif (defined $cur && $line =~ /\b(?:DETAIL|HINT|CONTEXT):|^\t/)
		{
			$cur .= "$line\n";
		}
		elsif (defined $cur)
		{
			push @msgs, $cur;
			undef $cur;
		}
	}
	push @msgs, $cur if defined $cur;
	return @msgs;
}

# ---------------------------------------------------------------------
# Failover tests: voters in synchronous mode, faults.

# new_failover_cluster(servers => 3, witness => 0, synchronous => 1,
#                      extra => "postgresql.conf lines for every server",
#                      node_extra => [ lines for node1, node2, ... ],
#                      join_s => 60, install_path => DIR): node1 a primary
# and node2..nodeN its streaming standbys (three servers by default), plus
# with witness => 1 the installed quorum_witness as one more voter named
# "witness", all voters from the start (pg_quorum.voters), in synchronous
# mode unless synchronous => 0, with replication and the gossiped conninfo
# over TCP on 127.0.0.1 (so a partition made with PgQuorum::Net cuts them;
# test clients keep using Unix sockets), the servers run from the
# PostgreSQL installation in DIR when given (PostgreSQL::Test::Cluster's
# install_path), else from PATH.  Waits until node1 is the leader and
# writable, creates the extension and the workload's table on it, and
# waits until every standby has replayed that and, in synchronous mode,
# the leader is in synchronous mode.  Returns { nodes => [node1, ...],
# gossip => [ports, the witness's last], key => ..., witness => the
# witness's handle from witness_start, or undef }.
sub new_failover_cluster
{
	my (%o) = @_;
	my $join_s = $o{join_s} // 60;
	my $n = $o{servers} // 3;
	my $sync = $o{synchronous} // 1;
	my @names = map { "node$_" } 1 .. $n;
	my @voters = (@names, $o{witness} ? ('witness') : ());
	my @gossip = free_gossip_ports(scalar @voters);
	my $key = new_key();
	my $common = "listen_addresses = '127.0.0.1'\n"
	  . "log_line_prefix = '%m [%p] %q%a '\n"
	  . "pg_quorum.failover = on\n"
	  . "pg_quorum.voters = '" . join(',', @voters) . "'\n"
	  . 'pg_quorum.synchronous = ' . ($sync ? 'on' : 'off') . "\n"
	  . ($o{extra} // '');
	my $peers = sub { my ($i) = @_; [ map { $gossip[$_] } grep { $_ != $i } 0 .. $#gossip ] };

	my @install = $o{install_path} ? (install_path => $o{install_path}) : ();
	my $primary = PostgreSQL::Test::Cluster->new($names[0], @install);
	$primary->init(allows_streaming => 1);
	write_key($primary, $key);
	quorum_conf($primary,
		name     => $names[0],
		port     => $gossip[0],
		peers    => $peers->(0),
		conninfo => 'host=127.0.0.1 port=' . $primary->port,
		extra    => $common . ($o{node_extra}[0] // ''));
	$primary->start;
	$primary->backup('base');

	my $witness = $o{witness}
	  ? witness_start(
		port   => $gossip[-1],
		peers  => [ @gossip[ 0 .. $n - 1 ] ],
		key    => $key,
		voters => \@voters)
	  : undef;

	my @nodes = ($primary);
	for my $i (1 .. $n - 1)
	{
		my $standby = PostgreSQL::Test::Cluster->new($names[$i], @install);
		$standby->init_from_backup($primary, 'base', has_streaming => 1);
		write_key($standby, $key);
		quorum_conf($standby,
			name     => $names[$i],
			port     => $gossip[$i],
			peers    => $peers->($i),
			conninfo => 'host=127.0.0.1 port=' . $standby->port,
			extra    => $common
			  . ($o{node_extra}[$i] // '')
			  . "primary_conninfo = 'host=127.0.0.1 port="
			  . $primary->port
			  . " application_name=$names[$i]'\n");
		$standby->start;
		push @nodes, $standby;
	}

	# node1 is fenced until it is elected: retry the first write.
	my $err;
	my $took = wait_until(
		$join_s,
		sub {
			my $rc = $primary->psql('postgres',
				'CREATE EXTENSION IF NOT EXISTS pg_quorum; '
				  . PgQuorum::Workload::table_sql(),
				stderr => \$err, on_error_stop => 1);
			return $rc == 0;
		});
	die "node1 did not accept the first write within ${join_s}s: $err\n"
	  unless defined $took;
	note(sprintf('node1 elected and writable after %.1f s', $took));
	$primary->wait_for_catchup($_, 'replay', $primary->lsn('insert')) for @nodes[ 1 .. $#nodes ];
	if ($sync)
	{
		defined wait_for_query($primary, 'SELECT mode FROM quorum.status', 'sync', $join_s)
		  or die "node1 did not reach synchronous mode\n";
	}
	return { nodes => \@nodes, gossip => \@gossip, key => $key, witness => $witness };
}

# start_failover_test(nft => 0, strace => 0, workload => 0, fail_s => 30,
#                     new_failover_cluster's options): the start that
# failover tests share.  First one test for each tool the test needs:
# with nft => 1 that nftables can cut traffic here (PgQuorum::Net; only
# inside scripts/sandbox.sh), with strace => 1 that strace is installed
# (PgQuorum::Session->hold).  Then new_failover_cluster, one test that
# node1, the primary, is the agreed first leader, and with workload => 1 a
# PgQuorum::Workload writing to every server (its history in
# tmp_check/workload_NNN.tsv, NNN the test file's number) and one test
# that node1 acknowledges one of its writes; each within fail_s.  Gives
# up when a test fails.  Returns new_failover_cluster's hash plus leader
# => node1, term => its term and wl => the workload (or undef).
sub start_failover_test
{
	my (%o) = @_;
	my $fail_s = delete $o{fail_s} // 30;
	my $nft = delete $o{nft};
	my $strace = delete $o{strace};
	my $workload = delete $o{workload};
	if ($nft)
	{
		my $problem = PgQuorum::Net::nft_problem();
		is($problem, undef, 'nft can manage rules in this network namespace')
		  or give_up("nftables unusable here ($problem); run the tests through scripts/sandbox.sh");
	}
	if ($strace)
	{
		ok(scalar(grep { -x "$_/strace" } split /:/, $ENV{PATH}), 'strace is installed (scripts/setup.sh)')
		  or give_up('strace is needed to hold a backend in a system call');
	}

	my $c = new_failover_cluster(%o);
	my @nodes = @{ $c->{nodes} };
	my ($leader, $term) = wait_for_leader(\@nodes, $fail_s);
	is($leader && $leader->name, 'node1', 'node1, the primary, is the first leader')
	  or give_up('no first leader', @nodes);
	$c->{leader} = $leader;
	$c->{term} = $term;
	return $c unless $workload;

	my ($test) = File::Basename::basename($0) =~ /^(\d+|[^.]+)/;
	$c->{wl} = PgQuorum::Workload->start(
		nodes => \@nodes,
		file  => "$PostgreSQL::Test::Utils::tmp_check/workload_$test.tsv");
	ok($c->{wl}->wait_ack($fail_s, server => 'node1'), 'the workload writes on node1')
	  or give_up('node1 acknowledged no write of the workload', @nodes);
	return $c;
}

# witness_start(port => P, peers => [gossip ports], key => HEX,
#               voters => [names], name => 'witness'): write a configuration
# for the installed quorum_witness (state directory, key file) under
# tmp_check and start it in the background, its stderr in the test's log
# directory.  Returns its handle { pid, conf, log, state_dir, port }; start
# it again after a stop with witness_restart.
sub witness_start
{
	my (%o) = @_;
	my $name = $o{name} // 'witness';
	# Named after the test file, as PostgreSQL::Test::Cluster names its
	# servers' files: test files share tmp_check in one run, and a witness
	# must not start from the state another file's witness left.
	my $test = File::Basename::basename($0) =~ s/\.[^.]+$//r;
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/${test}_$name";
	mkdir $dir;
	my $wkey = "$dir/quorum.key";
	my $old = umask(077);
	open my $fh, '>', $wkey or die "$wkey: $!";
	print $fh "$o{key}\n";
	close $fh;
	umask($old);
	my $w = {
		name      => $name,
		port      => $o{port},
		conf      => "$dir/quorum-witness.conf",
		log       => "$PostgreSQL::Test::Utils::log_path/${test}_$name.log",
		state_dir => "$dir/state",
	};
	open my $cf, '>', $w->{conf} or die "$w->{conf}: $!";
	print $cf "name = $name\n"
	  . "listen = 127.0.0.1:$o{port}\n"
	  . 'peers = ' . join(', ', map { "127.0.0.1:$_" } @{ $o{peers} }) . "\n"
	  . "key_file = $wkey\n"
	  . "state_dir = $w->{state_dir}\n"
	  . 'voters = ' . join(', ', @{ $o{voters} }) . "\n";
	close $cf;
	witness_restart($w);
	return $w;
}

# witness_restart($w): start the witness of $w again (after it stopped).
sub witness_restart
{
	my ($w) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		open STDOUT, '>>', $w->{log} or POSIX::_exit(127);
		open STDERR, '>>', $w->{log} or POSIX::_exit(127);
		exec 'quorum_witness', '--config', $w->{conf} or POSIX::_exit(127);
	}
	$w->{pid} = $pid;
	$witnesses{$pid} = $w;
	return $pid;
}

# A witness a test left running (a failed test) must not outlive it.
END
{
	for my $pid (keys %witnesses)
	{
		kill 'KILL', $pid if $witnesses{$pid}{pid} && $witnesses{$pid}{pid} == $pid;
	}
}

# witness_stop($w, $signal, $seconds): signal the witness and wait for its
# exit.  Returns its exit status, or undef if it is still running.
sub witness_stop
{
	my ($w, $signal, $seconds) = @_;
	return undef unless $w->{pid};
	kill $signal, $w->{pid};
	my $status;
	wait_until(
		$seconds,
		sub {
			my $r = waitpid($w->{pid}, POSIX::WNOHANG());
			$status = $? >> 8 if $r == $w->{pid};
			return $r != 0;
		});
	$w->{pid} = undef if defined $status;
	return $status;
}

# server_pids($node): the postmaster's pid and its children's, postmaster
# first (empty when it is not running).
sub server_pids
{
	my ($node) = @_;
	my $pm = $node->{_pid} or return ();
	my @kids;
	for my $status (glob('/proc/[0-9]*/status'))
	{
		open my $fh, '<', $status or next;
		while (my $line = <$fh>)
		{
			if ($line =~ /^PPid:\s+(\d+)/)
			{
				push @kids, ($status =~ m{/proc/(\d+)/})[0] if $1 == $pm;
				last;
			}
		}
		close $fh;
	}
	return ($pm, @kids);
}

# kill_host($node): kill -9 every process of the server, as a lost host
# goes: its children first, so that none (the pg_quorum worker included)
# acts on the postmaster's death, then the postmaster through the test
# framework, which then knows it stopped.  Returns how many it killed.
sub kill_host
{
	my ($node) = @_;
	my ($pm, @kids) = server_pids($node);
	return 0 unless $pm;
	kill 'KILL', @kids;
	$node->kill9;
	return 1 + @kids;
}

# freeze($node): SIGSTOP the whole server (postmaster first, so that it
# forks no new child, then every child: backends, the pg_quorum worker,
# WAL sender...), as a stalled machine would be.  thaw($node): SIGCONT.
sub freeze
{
	my ($node) = @_;
	my @pids = server_pids($node);
	die $node->name . " is not running\n" unless @pids;
	kill 'STOP', @pids;
	# A child forked just before the postmaster stopped: stop it too.
	my %done = map { $_ => 1 } @pids;
	my @late = grep { !$done{$_} } server_pids($node);
	kill 'STOP', @late if @late;
	$node->{_pgq_frozen} = [ @pids, @late ];
	return;
}

sub thaw
{
	my ($node) = @_;
	my @pids = @{ delete $node->{_pgq_frozen} // [] };
	kill 'CONT', reverse @pids;
	return;
}

# cluster_status($node): { leader, term, fenced, mode, paused, recovery }
# from quorum.status and pg_is_in_recovery(), or undef on an error.
sub cluster_status
{
	my ($node) = @_;
	my $out = query($node,
		"SELECT coalesce(leader, ''), term, fenced, mode, paused, pg_is_in_recovery() "
		  . 'FROM quorum.status');
	return undef unless defined $out && $out ne '';
	my @f = split /\|/, $out, -1;
	return {
		leader   => $f[0] eq '' ? undef : $f[0],
		term     => $f[1],
		fenced   => $f[2] eq 't',
		mode     => $f[3],
		paused   => $f[4] eq 't',
		recovery => $f[5] eq 't'
	};
}

# wait_for_leader(\@nodes, $seconds, not => NAME, probe => CODE): poll until
# every server in @nodes names the same leader (one of @nodes, and not
# NAME), and that leader is out of recovery and unfenced; CODE, if given,
# runs before every poll.  Returns (leader node, term,
# seconds it took), or an empty list after a diag of the last statuses.
sub wait_for_leader
{
	my ($nodes, $seconds, %o) = @_;
	my ($leader, $term, @last);
	my $took = wait_until(
		$seconds,
		sub {
			$o{probe}->() if $o{probe};
			@last = map { [ $_->name, cluster_status($_) ] } @$nodes;
			my %names = map { ($_->[1] && defined $_->[1]{leader}) ? ($_->[1]{leader} => 1) : ('' => 1) } @last;
			return 0 if keys %names != 1 || exists $names{''};
			my ($name) = keys %names;
			return 0 if defined $o{not} && $name eq $o{not};
			($leader) = grep { $_->name eq $name } @$nodes;
			return 0 unless $leader;
			my ($st) = map { $_->[1] } grep { $_->[0] eq $name } @last;
			return 0 if $st->{fenced} || $st->{recovery};
			$term = $st->{term};
			return 1;
		});
	return ($leader, $term, $took) if defined $took;
	diag("no agreed writable leader after ${seconds}s:\n"
		  . join("\n", map {
				my $st = $_->[1];
			sprintf('  %s: %s', $_->[0], $st
					? join(' ', map { "$_=" . ($st->{$_} // 'null') } qw(leader term fenced mode recovery))
					: '(no answer)')
			} @last));
	return ();
}

# watch_for($seconds, $code): call $code every 100 ms for the whole period
# (a watch, not a wait: it never ends early) and return what went wrong,
# the distinct non-empty strings $code returned, in the order first seen.
sub watch_for
{
	my ($seconds, $code) = @_;
	my (@seen, %seen);
	wait_until(
		$seconds,
		sub {
			for my $problem (grep { defined && $_ ne '' } $code->())
			{
				push @seen, $problem unless $seen{$problem}++;
			}
			return 0;
		});
	return @seen;
}

# promotions($seconds, @standbys): watch for $seconds (watch_for) that none
# of the standbys leaves recovery; returns "NAME was promoted" for each that
# did, empty when none did.
sub promotions
{
	my ($seconds, @standbys) = @_;
	return watch_for(
		$seconds,
		sub {
			map {
				my $r = query($_, 'SELECT pg_is_in_recovery()');
				defined $r && $r eq 'f' ? $_->name . ' was promoted' : ''
			} @standbys;
		});
}

# leader_changes(\@nodes, $name, $term, $seconds): watch for $seconds
# (watch_for) that every server names $name the leader in $term; returns
# what differed, one string per server and state, empty when nothing did.
sub leader_changes
{
	my ($nodes, $name, $term, $seconds) = @_;
	return watch_for(
		$seconds,
		sub {
			map {
				my $st = cluster_status($_);
				(!$st || ($st->{leader} // '') ne $name || $st->{term} != $term)
				  ? $_->name . ': ' . ($st ? 'leader ' . ($st->{leader} // 'none') . " term $st->{term}" : 'no answer')
				  : ''
			} @$nodes;
		});
}

# promoted_itself($node, $offset): whether pg_quorum promoted $node, by its
# log after $offset (from the start without one).
sub promoted_itself
{
	my ($node, $offset) = @_;
	return slurp_file($node->logfile, $offset // 0) =~ /pg_quorum is promoting this standby/;
}

# assert_writes_refused($node, $seconds, $sql): try the write $sql on $node
# again and again for $seconds (longer than a lease, so that a lease that
# came back would show); one test that passes when every try failed with
# SQLSTATE 25006 (the fence) and there were at least one try per second.
sub assert_writes_refused
{
	my ($node, $seconds, $sql) = @_;
	my (@probes, @accepted);
	wait_until(
		$seconds,
		sub {
			my ($ok, $state) = try_sql($node, $sql);
			push @probes, $state // 'ok';
			push @accepted, scalar @probes if $ok;
			return 0;    # probe for the whole period
		});
	return ok(@probes >= $seconds && !@accepted && !grep({ $_ ne '25006' } @probes),
		sprintf('%s refused all %d writes tried over %d s with SQLSTATE 25006',
			$node->name, scalar @probes, $seconds))
	  || diag('results: ' . join(' ', @probes));
}

# try_sql($node, $sql): run $sql; returns (1) on success, or (0, SQLSTATE,
# the ERROR line with its DETAIL) on an error.
sub try_sql
{
	my ($node, $sql) = @_;
	my ($out, $err) = ('', '');
	my $rc = psql_no_die($node, $sql,
		stdout => \$out, stderr => \$err, on_error_stop => 1,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return (0, '', "psql: $@") unless defined $rc;
	return (1) if $rc == 0;
	my ($state) = $err =~ /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):/;
	$err =~ s/\n(?!DETAIL|HINT)[^\n]*//g;
	return (0, $state // '', $err);
}

# wait_stopped($node, $seconds): wait until a server that stops by itself
# (a deposed primary) is gone, processes and postmaster.pid both, and tell
# PostgreSQL::Test::Cluster so.  Returns the seconds it took, or undef.
sub wait_stopped
{
	my ($node, $seconds) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my $took = wait_until($seconds, sub { !-e $pidfile });
	return undef unless defined $took;
	return undef unless defined wait_processes_gone($node, $seconds);
	$node->_update_pid(0);
	return $took;
}

# rejoin($node, [options], @peers): run pg_quorum_rejoin on the stopped
# server, with the options when given (e.g. ['--rebuild']) and the other
# servers as peers (over their Unix sockets); returns (exit status, its
# output).
sub rejoin
{
	my ($node, @peers) = @_;
	my $options = ref $peers[0] eq 'ARRAY' ? shift @peers : [];
	my @cmd = ('pg_quorum_rejoin', '-D', $node->data_dir, @$options,
		map { ('--peer', $_->connstr('postgres')) } @peers);
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	return ($rc, "\$ @cmd\n$out$err");
}

# rejoin_paused($node, @peers): pg_quorum_rejoin of the stopped leader
# $node while failover is paused: it must return at once (nobody else is
# elected until quorum.resume()), say why, and leave $node a primary.
# Four tests; returns rejoin's output.
sub rejoin_paused
{
	my ($node, @peers) = @_;
	my $name = $node->name;
	my $t0 = time();
	my ($rc, $out) = rejoin($node, @peers);
	my $took = time() - $t0;
	note($out);
	is($rc, 0, "pg_quorum_rejoin of $name while paused succeeds") or diag($out);
	ok($took < 4, sprintf('it returns within 4 s, without waiting for another leader (%.1f s)', $took))
	  or diag($out);
	like($out, qr/failover is paused and no peer names a leader other than this server/,
		'it says why it does not wait');
	ok(!-e $node->data_dir . '/standby.signal', "$name is left a primary");
	return $out;
}

# read_rows_offline($node): read the workload's rows from a stopped server
# without letting it write or rejoin anything: start it as a hot standby
# with no primary to stream from and without pg_quorum, so that it replays
# exactly the WAL it has; read; stop it again.  For a deposed primary's
# data before pg_quorum_rejoin rewinds it.  Returns { id => server }; dies
# when it cannot read them: the server did not become consistent within
# 120 s, it stopped, or it waits for WAL it does not have, which it would do
# forever (a directory pg_rewind or a base backup left needing the leader's
# WAL: the fault campaign's seed 254 waited out its whole convergence bound
# so; seed 225 did with a start that failed at once).
sub read_rows_offline
{
	my ($node) = @_;
	my $signal = $node->data_dir . '/standby.signal';
	my $had_signal = -e $signal;
	open my $fh, '>', $signal or die "$signal: $!";
	close $fh;
	my $from = log_offset($node);
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my $t0 = time();
	my $log = '';    # this start's log, read as it grows
	my $outcome;     # 'ready', or why it is not
	my $rc = PostgreSQL::Test::Utils::system_log('pg_ctl', '-W',
		'-D', $node->data_dir, '-l', $node->logfile,
		'-o', "-c shared_preload_libraries='' -c primary_conninfo='' "
		  . "-c restore_command='' -c hot_standby=on -c listen_addresses=''",
		'start');
	$outcome = 'could not start it read-only' if $rc != 0;
	wait_until(
		120,
		sub {
			# pg_ctl -w's test, the status line of postmaster.pid, once the
			# file is this start's (a kill -9 leaves the last one behind).
			my @pid = split /\n/, eval { slurp_file($pidfile) } // '';
			my $alive = @pid > 7 && $pid[0] =~ /^\d+$/ && kill(0, $pid[0]);
			my $more = eval { slurp_file($node->logfile, $from) } // '';
			$from += length $more;
			$log .= $more;
			# One that failed at once (a configuration pg_rewind left half
			# copied: the campaign's seed 225) may come and go between two
			# looks at its pid file; its log says so.
			$outcome =
				$alive && $pid[2] >= int($t0) && $pid[7] =~ /^\s*(ready|standby)\s*$/ ? 'ready'
			  : $log =~ /waiting for WAL to become available/
			  && $log !~ /ready to accept read-only connections/
			  ? 'it needs WAL it does not have to become consistent'
			  : !$alive && ($log =~ /database system is shut down/ || time() - $t0 > 10)
			  ? 'it stopped while starting read-only'
			  : undef;
			return defined $outcome;
		}) unless defined $outcome;
	$outcome //= 'it did not become consistent within 120 s';
	my $ready = $outcome eq 'ready';
	$node->_update_pid(-e $pidfile ? 1 : -1);
	# Its startup process may end it while the rows are read (WAL it cannot
	# replay); the rows read before stand, and the test goes on.  One that is
	# not ready must not stay up either, or nothing can rejoin it.
	my $rows = $ready ? PgQuorum::History::read_rows($node) : undef;
	$node->stop($ready ? 'fast' : 'immediate', fail_ok => 1);
	unlink $signal unless $had_signal;
	die $node->name . ': ' . ($ready ? 'could not read its rows' : $outcome) . "\n" unless $rows;
	return $rows;
}

# check_workload($wl, leader => $node, nodes => [all], max_changes => N,
#                rows => { label => { id => server } }): the end of a
# failover test.  Waits until every other server has replayed all of the
# leader's WAL, stops the workload, reads the rows back from every server
# and runs the history checker (PgQuorum::History) over them and the extra
# snapshots in rows (e.g. a fenced server's, read before it rejoined).
# Emits one test per rule and notes the eras.  Returns the check's result.
sub check_workload
{
	my ($wl, %o) = @_;
	my $leader = $o{leader};
	my @others = grep { $_ != $leader } @{ $o{nodes} };
	my $records = [ $wl->stop ];
	my $lsn = $leader->lsn('insert');
	# Only the standbys that caught up must hold every acknowledged write;
	# the rows of the others are still checked (rule 2).
	my @complete = grep {
		ok( defined wait_for_query($_, "SELECT pg_last_wal_replay_lsn() >= '$lsn'", 't', 60),
			$_->name . ' replays all of ' . $leader->name . "'s WAL")
	} @others;
	my %rows = %{ $o{rows} // {} };
	$rows{ $_->name } = PgQuorum::History::read_rows($_) for @{ $o{nodes} };
	my $r = PgQuorum::History::check_history(
		records     => $records,
		rows        => \%rows,
		final       => $leader->name,
		complete    => [ map { $_->name } @complete ],
		max_changes => $o{max_changes});
	note($r->{report});
	my @acked = grep { $_->{status} eq 'ok' } @$records;
	ok(@acked > 100, sprintf('the workload got %d writes acknowledged', scalar @acked));
	is_deeply($r->{violations}, [],
		'history: no acknowledged write lost, no refused write committed, '
		  . "at most $o{max_changes} changes of writable server")
	  or diag(join("\n", @{ $r->{violations} }));
	return $r;
}

# stop_all(@nodes): stop every server that still runs, whatever the test
# did to it (one that stopped by itself, one left frozen by a failed test),
# without bailing out, so that a failure leaves the servers' logs to read
# and no process behind.
sub stop_all
{
	for my $node (@_)
	{
		thaw($node) if $node->{_pgq_frozen};
		$node->_update_pid(-1);
		$node->stop('fast', fail_ok => 1) if defined $node->{_pid};
	}
	return;
}

# give_up($why, @nodes): end a test that cannot go on (after the failed
# test that says why): stop the servers and finish, leaving the other test
# files to run (BAIL_OUT would stop them all).
sub give_up
{
	my ($why, @nodes) = @_;
	diag("giving up: $why");
	stop_all(@nodes);
	done_testing();
	exit;
}

# following_sql($leader): a query that returns "t" on a standby that
# really follows $leader: its WAL receiver streams from the leader's port on
# the leader's current timeline, and it has received the leader's WAL up to
# where the leader had flushed it now (a standby whose WAL diverged keeps
# reconnecting and never gets there); undef when $leader gives no WAL
# position.
sub following_sql
{
	my ($leader) = @_;
	# Flushed, not inserted: unflushed records (hint-bit page images) may
	# never reach a standby while the primary is idle.
	my $pos = query($leader,
		'SELECT pg_current_wal_flush_lsn() || \' \' || '
		  . "('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::int");
	return undef unless defined $pos && $pos =~ /^(\S+) (\d+)$/;
	my ($lsn, $tli) = ($1, $2);
	return "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver "
	  . "WHERE status = 'streaming' AND sender_port = " . $leader->port
	  . " AND received_tli = $tli) AND pg_last_wal_receive_lsn() >= '$lsn'";
}

# wait_following($node, $leader, $seconds): poll until $node follows
# $leader (following_sql, with the leader's position when the wait began).
# Returns the seconds it took, or undef after a diag.
sub wait_following
{
	my ($node, $leader, $seconds) = @_;
	my $sql = following_sql($leader);
	unless (defined $sql)
	{
		diag($leader->name . ' gives no WAL position (is it a primary?)');
		return undef;
	}
	return wait_for_query($node, $sql, 't', $seconds);
}

1;
