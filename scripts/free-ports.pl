#!/usr/bin/perl
# scripts/free-ports.pl N: print N distinct ports that are free on 127.0.0.1
# for both TCP and UDP (a pg_quorum gossip address uses both), space
# separated.  The sockets stay bound until all N are found, so the N ports
# are distinct; they are released on exit, when the caller takes them.
use strict;
use warnings;
use IO::Socket::INET;

my $n = shift // 1;
my (@held, @ports, %seen);
for (my $tries = 0; @ports < $n; $tries++)
{
	die "free-ports: could not find $n free ports\n" if $tries > 1000;
	my $tcp = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => 0,
		Proto     => 'tcp',
		Listen    => 1) or next;
	my $port = $tcp->sockport;
	next if $seen{$port}++;
	my $udp = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $port,
		Proto     => 'udp') or next;
	push @held, $tcp, $udp;
	push @ports, $port;
}
print "@ports\n";
