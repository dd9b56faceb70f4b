# test/cluster/lib/PgQuorum/Net.pm: network partitions for pg_quorum's
# cluster tests, made with nftables.
#
# scripts/sandbox.sh runs the tests inside a private network namespace
# whose only interface is its own loopback, with CAP_NET_ADMIN over that
# namespace, so the rules here can never touch the host's network.  All
# servers share 127.0.0.1, so a server is told apart by its ports: its
# gossip port (UDP; pg_quorum's gossip socket is bound to it, so every
# datagram a server sends or receives carries it) and its PostgreSQL port
# (TCP; streaming replication to a primary connects to it).  Test clients
# use Unix sockets and are never cut.
#
# The rules drop packets in the input hook, so a cut is silent, as a real
# partition is: the sender's sendto() and connect() succeed and the packet
# simply never arrives (dropping in the output hook would instead return
# EPERM to the sender at once).
#
# One limitation follows from the shared address: an outgoing TCP
# connection comes from an ephemeral port, so a cut server's own outgoing
# replication connection to another server's PostgreSQL port cannot be told
# apart from anyone else's.  isolate() therefore cuts what reaches or
# leaves the isolated server's ports, which is all of its traffic while it
# is a primary (standbys connect to it, it connects to no one).

package PgQuorum::Net;

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use IPC::Run;

our @EXPORT = qw(nft_problem nft_udp_self_check isolate_ports heal nft_dropped);

my $table = 'pgq_partition';

# nft(@args, [stdin]): run nft; returns (exit status, stdout, stderr).
sub nft
{
	my ($args, $stdin) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ 'nft', @$args ], '<', \($stdin // ''), '>', \$out,
			'2>', \$err);
		1;
	};
	return (127, '', "could not run nft: $@") unless $ok;
	return ($? >> 8, $out, $err);
}

# nft_problem(): undef when this process can manage nftables rules in its
# network namespace, else a sentence saying why not.
sub nft_problem
{
	my ($rc, $out, $err) = nft([ 'list', 'tables' ]);
	return "nft list tables failed (exit $rc): $err" if $rc != 0;
	($rc, $out, $err) = nft([ '-f', '-' ],
		"add table inet ${table}_probe\ndelete table inet ${table}_probe\n");
	return "nft cannot add a table (exit $rc): $err" if $rc != 0;
	return undef;
}

# isolate_ports(udp => [ports], tcp => [ports]): drop every packet, in
# either direction, whose source or destination port is one of these.
# Replaces an earlier cut.  Dies when nft fails.
sub isolate_ports
{
	my (%o) = @_;
	my @rules;
	for my $proto ('udp', 'tcp')
	{
		my @ports = @{ $o{$proto} // [] };
		next unless @ports;
		my $set = '{ ' . join(', ', @ports) . ' }';
		push @rules, "\t\t$proto sport $set counter drop\n",
		  "\t\t$proto dport $set counter drop\n";
	}
	die "isolate_ports: no ports given\n" unless @rules;
	my $script = "add table inet $table\ndelete table inet $table\n"
	  . "table inet $table {\n"
	  . "\tchain input {\n"
	  . "\t\ttype filter hook input priority -10; policy accept;\n"
	  . join('', @rules)
	  . "\t}\n}\n";
	my ($rc, undef, $err) = nft([ '-f', '-' ], $script);
	die "nft failed (exit $rc): $err\nrules:\n$script" if $rc != 0;
	return;
}

# nft_dropped(): packets dropped by the current cut so far (0 without one).
sub nft_dropped
{
	my ($rc, $out) = nft([ 'list', 'table', 'inet', $table ]);
	return 0 if $rc != 0;
	my $n = 0;
	$n += $1 while $out =~ /counter packets (\d+)/g;
	return $n;
}

# heal(): remove the cut (nothing happens when there is none).
sub heal { return heal_table($table); }

# heal_table($name): remove the nftables table inet $name, if there is one.
sub heal_table
{
	my ($name) = @_;
	my ($rc, undef, $err) =
	  nft([ '-f', '-' ], "add table inet $name\ndelete table inet $name\n");
	die "nft failed (exit $rc): $err" if $rc != 0;
	return;
}

# udp_delivered($from, $to): does a datagram from socket $from reach $to
# within 0.5 s?
sub udp_delivered
{
	my ($from, $to, $tag) = @_;
	$from->send($tag, 0,
		scalar Socket::pack_sockaddr_in($to->sockport, Socket::inet_aton('127.0.0.1')))
	  or die "send: $!";
	my $sel = IO::Select->new($to);
	while ($sel->can_read(0.5))
	{
		my $buf;
		$to->recv($buf, 100);
		return 1 if $buf eq $tag;
	}
	return 0;
}

# nft_udp_self_check(): prove the mechanism on two plain UDP sockets:
# before a cut a datagram gets through, with one socket's port isolated
# none gets through in either direction and the drops are counted, after
# heal() they get through again.  Returns undef when all of that holds,
# else what went wrong.
sub nft_udp_self_check
{
	my @s = map {
		IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => 0,
			Proto     => 'udp')
		  or return "cannot bind a UDP socket: $!"
	} 1 .. 2;
	return 'no datagram gets through before the cut'
	  unless udp_delivered($s[0], $s[1], 'before');
	isolate_ports(udp => [ $s[0]->sockport ]);
	my $a_to_b = udp_delivered($s[0], $s[1], 'cut-ab');
	my $b_to_a = udp_delivered($s[1], $s[0], 'cut-ba');
	my $dropped = nft_dropped();
	heal();
	return 'a datagram from the isolated port got through' if $a_to_b;
	return 'a datagram to the isolated port got through' if $b_to_a;
	return "the rules counted $dropped dropped packets, expected 2"
	  unless $dropped == 2;
	return 'no datagram gets through after healing'
	  unless udp_delivered($s[0], $s[1], 'after');
	return undef;
}

1;
