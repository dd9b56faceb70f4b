# test/chaos/lib/PgQuorum/ChaosNet.pm: network faults between servers that
# all live on 127.0.0.1, for the fault campaign.
#
# A server is told apart by its ports (see PgQuorum::Net): its gossip port,
# its PostgreSQL port, and the ephemeral ports of the TCP connections its
# own processes open (a standby's WAL receiver, the witness's push-pull).
# The last are only known once a connection exists, so a keeper process
# watches /proc every 20 ms: it maps each TCP socket of the namespace to
# the process that holds it, and that process to its server (a child of
# the server's postmaster, or the witness).  It keeps one nftables table
# whose sets hold each server's ports and whose rules drop what the active
# faults cut.  While any rule is active, a SYN from a port not yet mapped
# is dropped, so that a new connection from a cut server cannot slip
# through before the keeper has seen it: TCP sends the SYN again after a
# second, by which time the port is known (a client that is no server,
# pg_rewind say, gets through then too).
#
# The driver describes servers and rules in a file that the keeper reads
# whenever it changes; the keeper writes the generation it applied to
# another file, so the driver knows when a cut is in force.
#
# Rules: { id, class => all | gossip | repl, from => [names], to => [names],
# pct => N (drop N% at random: loss) }; each drops, for every pair (a in
# from, b in to, a != b), the packets a sends to b of that class: gossip is
# what involves a gossip port (UDP, and TCP push-pull), repl what involves
# a PostgreSQL port (streaming replication, pg_rewind).

package PgQuorum::ChaosNet;

use strict;
use warnings;

use POSIX ();
use Time::HiRes qw(usleep time);
use PgQuorum::Net ();

my $table = 'pgq_chaos';

# new(dir => DIR, servers => [{ name, pg => port|undef, gossip => port,
# datadir => DIR | pid => PID }]): start the keeper.
sub new
{
	my ($class, %o) = @_;
	my $self = bless {
		dir     => $o{dir},
		servers => $o{servers},
		rules   => {},
		gen     => 0,
	}, $class;
	$self->write_spec;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		eval { keeper_main($self->{dir}); };
		print STDERR "chaos net keeper: $@" if $@;
		POSIX::_exit(0);
	}
	$self->{pid} = $pid;
	return $self;
}

# set_tools($name, @pids): processes (and their children) that act for
# server $name from outside it, pg_quorum_rejoin and pg_rewind say, so that
# a cut of the server cuts them too.
sub set_tools
{
	my ($self, $name, @pids) = @_;
	$_->{tools} = [@pids] for grep { $_->{name} eq $name } @{ $self->{servers} };
	$self->write_spec;
	return;
}

# set_pid($name, $pid): the witness was started again under a new pid.
sub set_pid
{
	my ($self, $name, $pid) = @_;
	$_->{pid} = $pid for grep { $_->{name} eq $name } @{ $self->{servers} };
	$self->write_spec;
	return;
}

# add($rule) / remove($id) / clear(): change the rules and wait (up to 5 s)
# until the keeper has applied them; returns 1 when it has.
sub add
{
	my ($self, $rule) = @_;
	$self->{rules}{ $rule->{id} } = $rule;
	return $self->commit;
}

sub remove
{
	my ($self, $id) = @_;
	delete $self->{rules}{$id};
	return $self->commit;
}

sub clear
{
	my ($self) = @_;
	$self->{rules} = {};
	return $self->commit;
}

sub active { my ($self) = @_; return scalar keys %{ $self->{rules} }; }

sub commit
{
	my ($self) = @_;
	$self->write_spec;
	my $deadline = time() + 5;
	while (time() < $deadline)
	{
		my $applied = read_file("$self->{dir}/applied") // '';
		return 1 if $applied =~ /^(\d+)/ && $1 >= $self->{gen};
		usleep(10_000);
	}
	return 0;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	$self->{pid} = undef;
	PgQuorum::Net::heal_table($table);
	return;
}

sub DESTROY { my ($self) = @_; $self->stop if $self->{pid}; return; }

sub write_spec
{
	my ($self) = @_;
	$self->{gen}++;
	my $text = "gen $self->{gen}\n";
	for my $s (@{ $self->{servers} })
	{
		$text .= join(' ', 'server', $s->{name}, $s->{pg} // '-', $s->{gossip},
			defined $s->{datadir} ? "dir=$s->{datadir}" : "pid=" . ($s->{pid} // 0),
			'tools=' . join(',', @{ $s->{tools} // [] })) . "\n";
	}
	for my $r (sort { $a->{id} cmp $b->{id} } values %{ $self->{rules} })
	{
		$text .= join(' ', 'rule', $r->{id}, $r->{class}, $r->{pct} // '-',
			join(',', @{ $r->{from} }), join(',', @{ $r->{to} })) . "\n";
	}
	my $tmp = "$self->{dir}/spec.tmp";
	open my $fh, '>', $tmp or die "$tmp: $!";
	print $fh $text;
	close $fh;
	rename $tmp, "$self->{dir}/spec" or die "rename $tmp: $!";
	return;
}

sub read_file
{
	my ($path) = @_;
	open my $fh, '<', $path or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# ---------------------------------------------------------------------
# The keeper process.

# tcp_sockets(): { inode => local port } of every TCP socket in this
# network namespace (listening ones included).
sub tcp_sockets
{
	my %s;
	for my $f ('/proc/net/tcp', '/proc/net/tcp6')
	{
		open my $fh, '<', $f or next;
		<$fh>;
		while (my $line = <$fh>)
		{
			my @f = split ' ', $line;
			my ($port) = $f[1] =~ /:([0-9A-F]+)$/;
			$s{ $f[9] } = hex($port) if $f[9];
		}
		close $fh;
	}
	return \%s;
}

# owners(\%inodes): { inode => pid } for the inodes asked for, and
# { pid => ppid } for every process.
sub owners
{
	my ($want) = @_;
	my (%owner, %ppid);
	for my $dir (glob('/proc/[0-9]*'))
	{
		my ($pid) = $dir =~ m{(\d+)$};
		if (open my $fh, '<', "$dir/stat")
		{
			my $stat = <$fh> // '';
			close $fh;
			$ppid{$pid} = $1 if $stat =~ /\)\s+\S+\s+(\d+)/;
		}
		opendir(my $dh, "$dir/fd") or next;
		for my $fd (readdir $dh)
		{
			my $l = readlink("$dir/fd/$fd") // next;
			$owner{$1} = $pid if $l =~ /^socket:\[(\d+)\]$/ && $want->{$1};
		}
		closedir $dh;
	}
	return (\%owner, \%ppid);
}

sub keeper_main
{
	my ($dir) = @_;
	my $stop = 0;
	local $SIG{TERM} = sub { $stop = 1 };
	my ($spec_text, $spec, $applied_text) = ('', undef, '');
	my %port_of;    # inode -> [port, server name or '']
	my $parent = getppid();
	# Ends with the run, even one that died without stopping it.
	while (!$stop && getppid() == $parent)
	{
		my $text = read_file("$dir/spec") // '';
		if ($text ne $spec_text)
		{
			$spec_text = $text;
			$spec = parse_spec($text);
		}
		# Map new sockets to servers.
		my $socks = tcp_sockets();
		my %new = map { $_ => 1 } grep { !$port_of{$_} } keys %$socks;
		if (%new)
		{
			my ($owner, $ppid) = owners(\%new);
			my %root;    # pid -> server name
			for my $s (@{ $spec->{servers} })
			{
				my $pid = $s->{pid};
				if (defined $s->{dir})
				{
					my $pf = read_file("$s->{dir}/postmaster.pid") // '';
					($pid) = $pf =~ /^(\d+)/;
				}
				$root{$pid} = $s->{name} if $pid;
				$root{$_} = $s->{name} for @{ $s->{tools} };
			}
			for my $inode (keys %new)
			{
				# A socket without an owner (closing) is known, and no server's.
				my $pid = $owner->{$inode} // 0;
				my $name = '';
				for (my ($p, $hops) = ($pid, 0); $p && $hops < 4; $p = $ppid->{$p}, $hops++)
				{
					if ($root{$p}) { $name = $root{$p}; last; }
				}
				$port_of{$inode} = [ $socks->{$inode}, $name ];
			}
		}
		delete $port_of{$_} for grep { !$socks->{$_} } keys %port_of;
		my $want = render($spec, \%port_of);
		if ($want ne $applied_text)
		{
			my ($rc, undef, $err) = PgQuorum::Net::nft([ '-f', '-' ], $want);
			if ($rc == 0)
			{
				$applied_text = $want;
			}
			else
			{
				print STDERR "chaos net keeper: nft failed: $err\n$want";
			}
		}
		if ($want eq $applied_text)
		{
			my $a = read_file("$dir/applied") // '';
			if ($a ne "$spec->{gen}\n")
			{
				open my $fh, '>', "$dir/applied.tmp" or die;
				print $fh "$spec->{gen}\n";
				close $fh;
				rename "$dir/applied.tmp", "$dir/applied";
			}
		}
		usleep(20_000);
	}
	eval { PgQuorum::Net::heal_table($table) } if getppid() != $parent;
	return;
}

sub parse_spec
{
	my ($text) = @_;
	my $spec = { gen => 0, servers => [], rules => [] };
	for my $line (split /\n/, $text)
	{
		my @f = split ' ', $line;
		next unless @f;
		if ($f[0] eq 'gen') { $spec->{gen} = $f[1]; }
		elsif ($f[0] eq 'server')
		{
			my $s = { name => $f[1], pg => $f[2] eq '-' ? undef : $f[2], gossip => $f[3] };
			$s->{dir} = $1 if $f[4] =~ /^dir=(.*)$/;
			$s->{pid} = $1 if $f[4] =~ /^pid=(\d+)$/;
			$s->{tools} = [ $f[5] =~ /^tools=(.*)$/ ? split(/,/, $1) : () ];
			push @{ $spec->{servers} }, $s;
		}
		elsif ($f[0] eq 'rule')
		{
			push @{ $spec->{rules} },
			  {
				id    => $f[1],
				class => $f[2],
				pct   => $f[3] eq '-' ? undef : $f[3],
				from  => [ split /,/, $f[4] ],
				to    => [ split /,/, $f[5] ]
			  };
		}
	}
	return $spec;
}

# render($spec, \%port_of): the nft script for the rules in force (one that
# only removes the table when there are none).
sub render
{
	my ($spec, $port_of) = @_;
	my $head = "add table inet $table\ndelete table inet $table\n";
	return $head unless @{ $spec->{rules} };
	my (%ports, %known);
	for my $s (@{ $spec->{servers} })
	{
		$ports{ $s->{name} }{ $s->{gossip} } = 1;
		$ports{ $s->{name} }{ $s->{pg} } = 1 if $s->{pg};
		$known{ $s->{gossip} } = 1;
		$known{ $s->{pg} } = 1 if $s->{pg};
	}
	for my $p (values %$port_of)
	{
		$known{ $p->[0] } = 1;
		$ports{ $p->[1] }{ $p->[0] } = 1 if $p->[1] ne '';
	}
	my $set = sub {
		my ($name, @p) = @_;
		my @e = sort { $a <=> $b } grep { $_ } @p;
		return "\tset $name { type inet_service; "
		  . (@e ? 'elements = { ' . join(', ', @e) . ' } ' : '') . "}\n";
	};
	my $body = '';
	my %sid;
	my $i = 0;
	for my $s (@{ $spec->{servers} })
	{
		my $k = 's' . $i++;
		$sid{ $s->{name} } = $k;
		$body .= $set->("${k}_all", keys %{ $ports{ $s->{name} } });
		$body .= $set->("${k}_g", $s->{gossip});
		$body .= $set->("${k}_p", $s->{pg} // ());
	}
	$body .= $set->('known', keys %known);
	my @lines = ("\t\ttcp flags & (syn | ack) == syn tcp sport != \@known counter drop\n");
	for my $r (@{ $spec->{rules} })
	{
		my $loss = defined $r->{pct} ? "numgen random mod 100 < $r->{pct} " : '';
		for my $a (@{ $r->{from} })
		{
			for my $b (@{ $r->{to} })
			{
				next if $a eq $b || !$sid{$a} || !$sid{$b};
				my ($x, $y) = ($sid{$a}, $sid{$b});
				my @pairs;
				if ($r->{class} eq 'all')
				{
					@pairs = ([ "${x}_all", "${y}_all" ]);
				}
				elsif ($r->{class} eq 'gossip')
				{
					@pairs = ([ "${x}_all", "${y}_g" ], [ "${x}_g", "${y}_all" ]);
				}
				else
				{
					@pairs = ([ "${x}_all", "${y}_p" ], [ "${x}_p", "${y}_all" ]);
				}
				my $proto = $r->{class} eq 'repl' ? 'tcp' : '{ tcp, udp }';
				push @lines, "\t\tmeta l4proto $proto th sport \@$_->[0] th dport \@$_->[1] $loss"
				  . "counter drop\n"
				  for @pairs;
			}
		}
	}
	return $head
	  . "table inet $table {\n$body"
	  . "\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n"
	  . join('', @lines) . "\t}\n}\n";
}

1;
