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
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(
  free_gossip_ports new_key write_key quorum_conf new_quorum_node
  query wait_until wait_for_query nodes_summary log_offset
  wait_processes_gone fatal_messages
);

my %taken;    # ports already handed out by this process

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

# quorum_conf($node, name => ..., port => gossip port, peers => [ports],
#             cluster => ..., extra => "more postgresql.conf lines"):
# append pg_quorum's settings for this node (later lines win, so this also
# overrides what a standby copied from its primary's backup).
sub quorum_conf
{
	my ($node, %o) = @_;
	my $peers = join(',', map { "127.0.0.1:$_" } @{ $o{peers} // [] });
	my $conf = "shared_preload_libraries = 'pg_quorum'\n"
	  . "pg_quorum.node_name = '$o{name}'\n"
	  . "pg_quorum.listen = '127.0.0.1:$o{port}'\n"
	  . "pg_quorum.peers = '$peers'\n"
	  . "pg_quorum.key_file = 'quorum.key'\n"
	  . "pg_quorum.conninfo = 'host=" . $node->host . ' port=' . $node->port . "'\n";
	$conf .= "pg_quorum.cluster = '$o{cluster}'\n" if defined $o{cluster};
	$conf .= $o{extra} if defined $o{extra};
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
	my $rc = $node->psql('postgres', $sql, stdout => \$out, stderr => \$err);
	return undef if $rc != 0 || (defined $err && $err ne '');
	return $out;
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

1;
