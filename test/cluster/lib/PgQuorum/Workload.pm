# test/cluster/lib/PgQuorum/Workload.pm: a write workload that runs
# through failovers, and the history it records.
#
# The writer is a separate process (this module run as a script) that
# keeps psql sessions open to every server, over its Unix socket (clients
# of them per server, one by default), and keeps sending single-statement
# writes to all of them at once:
#
#   INSERT INTO pgq_history (id, server, sent) VALUES (<id>, '<server>', <t>)
#   RETURNING 'ok ' || id || ' ' || tli;
#   \echo done <id> :ERROR
#
# With txn_every K, every Kth write of a session is instead a transaction
# of two rows (BEGIN; INSERT; INSERT ... RETURNING; COMMIT), acknowledged
# when the RETURNING row came back and psql's ERROR variable says the COMMIT
# succeeded.  With multihost, more sessions connect the way applications
# do, through one libpq connection string that lists every server with
# target_session_attrs=read-write; such a session learns the server it
# reached from pg_quorum.node_name, and reconnects after a refused write.
# Each id is used once.  At most one write is in flight per session; after
# an acknowledged write the writer waits pause_ms before the next one on
# that session, after a refused one retry_ms.  Writing to every server, and
# not only to the one that "should" be the primary, is what lets the
# checker (PgQuorum::History) see two servers accept writes at the same
# time, and gives the failover benchmarks the first write a new primary
# accepts.  A session that ends (server killed, connection refused) is
# reopened after retry_ms; a server that hangs (SIGSTOP) keeps its write in
# flight without holding up the others.
#
# For every write the history records, one line each, tab separated:
#
#   id  server  status  sent  done  tli  txn  detail
#
# status is "ok" (the COMMIT was acknowledged: psql printed the RETURNING
# row), "err" (the server answered with an ERROR, so the transaction did not
# commit) or "lost" (no answer: the session ended or the writer stopped
# first; the write may or may not have committed).  sent and done are
# seconds on CLOCK_MONOTONIC (PgQuorum::Workload::now(), the same clock in
# every process of this machine), taken just before the statement is
# written to psql and just after its answer is read: the commit happened
# somewhere in [sent, done].  detail is the first ERROR, FATAL or WARNING
# line psql printed for it.  tli is the timeline the server wrote the row on
# (PostgreSQL's, from its WAL insert position: a promotion starts a new one),
# for acknowledged writes, else 0; txn is the first id of the transaction
# the write belongs to (its own id for a single-row write).  Lines starting
# with "#" note session changes.

package PgQuorum::Workload;

use strict;
use warnings;

use Errno qw(EAGAIN EINTR);
use File::Basename qw(dirname);
use File::Spec;
use Getopt::Long qw(GetOptionsFromArray);
use IO::Handle;
use IO::Select;
use List::Util qw(min);
use POSIX qw(WNOHANG);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC usleep);

our $TABLE = 'pgq_history';

# now(): the workload's clock, seconds on CLOCK_MONOTONIC.
sub now { return clock_gettime(CLOCK_MONOTONIC); }

# The SQL that creates the workload's table (run it on the primary).
sub table_sql
{
	return "CREATE TABLE $TABLE (id bigint PRIMARY KEY, server text NOT NULL, "
	  . "sent float8 NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), "
	  . "tli int NOT NULL DEFAULT ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int)";
}

# ---------------------------------------------------------------------
# The test's side.

# PgQuorum::Workload->start(nodes => [$node, ...], file => PATH,
#                           pause_ms => 5, retry_ms => 10, drain_s => 5,
#                           clients => 1, txn_every => 0, multihost => 0):
# start the writer against these servers (PostgreSQL::Test::Cluster
# objects; name, Unix socket directory and port are taken from them), with
# clients sessions per server and multihost sessions through one
# connection string that lists them all.
sub start
{
	my ($class, %o) = @_;
	my $file = $o{file} or die "Workload->start: file is required";
	my @args = ('--file', $file);
	push @args, '--pause-ms', $o{pause_ms} if defined $o{pause_ms};
	push @args, '--retry-ms', $o{retry_ms} if defined $o{retry_ms};
	push @args, '--drain-s',  $o{drain_s}  if defined $o{drain_s};
	push @args, '--first-id', $o{first_id} if defined $o{first_id};
	push @args, '--txn-every', $o{txn_every} if $o{txn_every};
	for my $node (@{ $o{nodes} })
	{
		push @args, ('--target', join(':', $node->name, $node->port, $node->host))
		  x ($o{clients} // 1);
	}
	if ($o{multihost})
	{
		my @n = @{ $o{nodes} };
		my $conninfo = 'host=' . join(',', map { $_->host } @n)
		  . ' port=' . join(',', map { $_->port } @n)
		  . ' target_session_attrs=read-write';
		push @args, ('--multihost', $conninfo) x $o{multihost};
	}
	open my $fh, '>', $file or die "$file: $!";
	close $fh;
	my $lib = File::Spec->rel2abs(dirname(__FILE__) . '/..');
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		# exec at once: the child must not run the test's END blocks
		# (PostgreSQL::Test::Cluster's would stop the servers).
		exec($^X, "-I$lib", '-MPgQuorum::Workload', '-e',
			'PgQuorum::Workload::writer_main(@ARGV)', '--', @args)
		  or POSIX::_exit(127);
	}
	return bless {
		pid     => $pid,
		file    => $file,
		offset  => 0,
		partial => '',
		records => [],
		drain_s => $o{drain_s} // 5,
	}, $class;
}

# $wl->records(): every write recorded so far, oldest first, as hashes
# { id, server, status, sent, done, tli, txn, detail }.
sub records
{
	my ($self) = @_;
	open my $fh, '<', $self->{file} or die "$self->{file}: $!";
	seek($fh, $self->{offset}, 0);
	local $/;
	my $new = <$fh> // '';
	close $fh;
	$self->{offset} += length($new);
	$new = $self->{partial} . $new;
	# Keep an unfinished last line for the next call.
	my $cut = rindex($new, "\n");
	$self->{partial} = substr($new, $cut + 1);
	for my $line (split /\n/, substr($new, 0, $cut + 1))
	{
		next if $line eq '' || $line =~ /^#/;
		my ($id, $server, $status, $sent, $done, $tli, $txn, $detail) = split /\t/, $line, 8;
		push @{ $self->{records} },
		  {
			id     => $id,
			server => $server,
			status => $status,
			sent   => $sent,
			done   => $done,
			tli    => $tli,
			txn    => $txn,
			detail => $detail // ''
		  };
	}
	return @{ $self->{records} };
}

# $wl->acked(%filter): acknowledged writes, filtered by
# server => NAME (or [NAMES]), done_after => T, sent_after => T.
sub acked
{
	my ($self, %f) = @_;
	my %srv;
	%srv = map { $_ => 1 } (ref $f{server} ? @{ $f{server} } : $f{server})
	  if defined $f{server};
	return grep {
		     $_->{status} eq 'ok'
		  && (!%srv || $srv{ $_->{server} })
		  && (!defined $f{done_after} || $_->{done} > $f{done_after})
		  && (!defined $f{sent_after} || $_->{sent} > $f{sent_after})
	} $self->records;
}

# $wl->first_ack(%filter): the earliest acknowledgement (by done) that
# matches the filter of acked(), or undef.
sub first_ack
{
	my ($self, %f) = @_;
	my ($first) = sort { $a->{done} <=> $b->{done} } $self->acked(%f);
	return $first;
}

# $wl->wait_ack($seconds, %filter): poll every 20 ms until an acknowledged
# write matches; returns the earliest such write, or undef after $seconds.
sub wait_ack
{
	my ($self, $seconds, %f) = @_;
	my $deadline = now() + $seconds;
	for (;;)
	{
		my $first = $self->first_ack(%f);
		return $first if $first;
		return undef if now() > $deadline || !$self->running;
		usleep(20_000);
	}
}

# $wl->wait_for($seconds, $code): poll every 20 ms until $code, called
# with every record so far, returns true.  Returns the seconds it took, or
# undef.
sub wait_for
{
	my ($self, $seconds, $code) = @_;
	my $start = now();
	for (;;)
	{
		return now() - $start if $code->($self->records);
		return undef if now() - $start > $seconds || !$self->running;
		usleep(20_000);
	}
}

# $wl->running(): is the writer process still there?
sub running
{
	my ($self) = @_;
	return 0 unless $self->{pid};
	return 1 if waitpid($self->{pid}, WNOHANG) == 0;
	$self->{status} = $?;
	$self->{pid} = undef;
	return 0;
}

# $wl->stop(): stop the writer (it waits up to drain_s for the writes in
# flight, then records them as lost), and return every record.
sub stop
{
	my ($self) = @_;
	if ($self->{pid})
	{
		kill 'TERM', $self->{pid};
		my $deadline = now() + $self->{drain_s} + 15;
		while ($self->running && now() < $deadline)
		{
			usleep(20_000);
		}
		if ($self->{pid})
		{
			kill 'KILL', $self->{pid};
			waitpid($self->{pid}, 0);
			$self->{pid} = undef;
		}
	}
	return $self->records;
}

sub DESTROY
{
	my ($self) = @_;
	if ($self->{pid})
	{
		kill 'KILL', $self->{pid};
		waitpid($self->{pid}, 0);
	}
	return;
}

# ---------------------------------------------------------------------
# The writer process.

my $hist;      # the history file handle
my $sel;       # IO::Select over every session's stdout and stderr
my %by_fd;     # fileno -> [session, 'out' | 'err']

sub note_line
{
	my ($line) = @_;
	print $hist $line, "\n";
	return;
}

sub record_write
{
	my ($s, $status, $detail) = @_;
	my $p = $s->{pending};
	my $done = sprintf('%.6f', now());
	$detail //= '';
	$detail =~ s/[\t\n\r]+/ /g;
	for my $id (@{ $p->{ids} })
	{
		note_line(join("\t",
				$id, $s->{server} // $s->{name}, $status, sprintf('%.6f', $p->{sent}),
				$done, $status eq 'ok' ? $p->{tli} : 0, $p->{ids}[0], $detail));
	}
	$s->{pending} = undef;
	return;
}

# The first line of psql's stderr that names a server message.
sub first_message
{
	my ($text) = @_;
	for my $line (split /\n/, $text)
	{
		return $1 if $line =~ /((?:ERROR|FATAL|PANIC|WARNING):.*)$/;
	}
	for my $line (split /\n/, $text)
	{
		return $line if $line =~ /\S/;
	}
	return '';
}

sub session_open
{
	my ($s) = @_;
	my ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w);
	pipe($in_r, $in_w) && pipe($out_r, $out_w) && pipe($err_r, $err_w)
	  or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDIN,  '<&', $in_r)  or POSIX::_exit(126);
		open(STDOUT, '>&', $out_w) or POSIX::_exit(126);
		open(STDERR, '>&', $err_w) or POSIX::_exit(126);
		close($_) for ($in_w, $out_r, $err_r, $hist);
		my $conninfo = $s->{conninfo} // "host=$s->{host} port=$s->{port}";
		exec('psql', '-XAtq', '-v', 'ON_ERROR_STOP=0', '-d',
			"$conninfo dbname=postgres connect_timeout=5 application_name=pgq_workload")
		  or POSIX::_exit(127);
	}
	close($_) for ($in_r, $out_w, $err_w);
	$in_w->autoflush(1);
	$out_r->blocking(0);
	$err_r->blocking(0);
	%$s = (
		%$s,
		pid    => $pid,
		in     => $in_w,
		out    => $out_r,
		err    => $err_r,
		outbuf => '',
		errbuf => '',
		state  => 'connecting');
	$by_fd{ fileno($out_r) } = [ $s, 'out' ];
	$by_fd{ fileno($err_r) } = [ $s, 'err' ];
	$sel->add($out_r, $err_r);
	# Keep the servers' logs readable even where log_statement = all (a
	# server left with PostgreSQL::Test::Cluster's settings).  A multi-host
	# session asks which server it reached.
	$s->{server} = undef if $s->{conninfo};
	syswrite($s->{in}, "SET log_statement = none;\n"
		  . ($s->{conninfo} ? "SELECT 'server ' || current_setting('pg_quorum.node_name');\n" : '')
		  . "\\echo ready\n");
	return;
}

sub session_close
{
	my ($s, $retry_s) = @_;
	my $why = first_message($s->{errbuf});
	if ($s->{pending})
	{
		record_write($s, 'lost', $why || 'session ended');
	}
	note_line("# " . now() . " $s->{name} session ended in state $s->{state}: $why");
	for my $fh ($s->{out}, $s->{err})
	{
		next unless $fh;
		delete $by_fd{ fileno($fh) };
		$sel->remove($fh);
		close($fh);
	}
	close($s->{in}) if $s->{in};
	if ($s->{pid})
	{
		# Not reaped yet, so the pid is still this psql's.
		kill 'KILL', $s->{pid};
		waitpid($s->{pid}, 0);
	}
	$s->{$_} = undef for qw(in out err pid);
	$s->{outbuf} = '';    # what the ended session printed no longer counts
	$s->{state} = 'down';
	$s->{next_at} = now() + $retry_s;
	return;
}

# session_send($s, @ids): one write of these ids, a transaction when
# there are several.
sub session_send
{
	my ($s, @ids) = @_;
	my $wall = Time::HiRes::time();
	my $server = $s->{server} // $s->{name};
	$s->{errbuf} = '';
	$s->{pending} = { ids => \@ids, sent => now(), ok => 0 };
	my @ins = map { "INSERT INTO $TABLE (id, server, sent) VALUES ($_, '$server', $wall)" } @ids;
	$ins[-1] .= " RETURNING 'ok ' || id || ' ' || tli";
	my $sql = @ids > 1 ? join(";\n", 'BEGIN', @ins, 'COMMIT') : $ins[0];
	syswrite($s->{in}, "$sql;\n\\echo done $ids[0] :ERROR\n");    # a dead psql shows up as EOF on stdout
	return;
}

# Handle one complete line of a session's stdout.
sub session_line
{
	my ($s, $line, $o) = @_;
	my $p = $s->{pending};
	if ($line eq 'ready')
	{
		$s->{state} = 'ready';
		note_line("# " . now() . " $s->{name} session ready" . ($s->{server} ? " on $s->{server}" : ''));
	}
	elsif ($line =~ /^server (\S+)$/)
	{
		$s->{server} = $1;
	}
	elsif ($p && $line =~ /^ok (\d+) (\d+)$/ && $1 == $p->{ids}[-1])
	{
		$p->{ok} = 1;
		$p->{tli} = $2;
	}
	elsif ($p && $line =~ /^done (\d+) (\w+)$/ && $1 == $p->{ids}[0])
	{
		# The RETURNING row of the last INSERT came back, and nothing after
		# it (the COMMIT) failed.
		my $ok = $p->{ok} && $2 eq 'false';
		record_write($s, $ok ? 'ok' : 'err', first_message($s->{errbuf}));
		$s->{next_at} = now() + ($ok ? $o->{pause_ms} : $o->{retry_ms}) / 1000;
		# An application whose write was refused tries the other servers.
		session_close($s, $o->{retry_ms} / 1000) if !$ok && $s->{conninfo};
	}
	return;
}

# writer_main(ARGS): the writer process; runs until SIGTERM.
sub writer_main
{
	my @argv = @_;
	my %o = (pause_ms => 5, retry_ms => 10, drain_s => 5, first_id => 1, txn_every => 0);
	my (@targets, @multihost);
	GetOptionsFromArray(
		\@argv,
		'file=s'     => \$o{file},
		'pause-ms=i' => \$o{pause_ms},
		'retry-ms=i' => \$o{retry_ms},
		'drain-s=f'  => \$o{drain_s},
		'first-id=i' => \$o{first_id},
		'txn-every=i' => \$o{txn_every},
		'multihost=s' => \@multihost,
		'target=s'   => \@targets) or die "writer: bad arguments\n";
	open($hist, '>>', $o{file}) or die "$o{file}: $!";
	$hist->autoflush(1);
	$sel = IO::Select->new;
	my $stop = 0;
	local $SIG{TERM} = sub { $stop = 1 };
	local $SIG{INT}  = sub { $stop = 1 };
	local $SIG{PIPE} = 'IGNORE';

	my @s = map {
		my ($name, $port, $host) = split /:/, $_, 3;
		{ name => $name, port => $port, host => $host, state => 'down', next_at => 0, sent => 0 }
	} @targets;
	my $mh = 0;
	push @s, map {
		{ name => 'multihost' . ++$mh, conninfo => $_, state => 'down', next_at => 0, sent => 0 }
	} @multihost;
	my $next_id = $o{first_id};
	my $stop_at;
	for (;;)
	{
		my $now = now();
		$stop_at //= $now + $o{drain_s} if $stop;
		last if defined $stop_at && ($now >= $stop_at || !grep { $_->{pending} } @s);
		my $wait = 0.05;
		for my $s (@s)
		{
			next if $stop;
			if ($s->{state} eq 'down')
			{
				if ($now >= $s->{next_at}) { session_open($s); }
				else { $wait = min($wait, $s->{next_at} - $now); }
			}
			elsif ($s->{state} eq 'ready' && !$s->{pending})
			{
				if ($now >= $s->{next_at})
				{
					my $rows = ($o{txn_every} && ++$s->{sent} % $o{txn_every} == 0) ? 2 : 1;
					session_send($s, $next_id .. $next_id + $rows - 1);
					$next_id += $rows;
				}
				else { $wait = min($wait, $s->{next_at} - $now); }
			}
		}
		for my $fh ($sel->can_read($wait > 0 ? $wait : 0))
		{
			# A handle closed earlier in this round (the session ended).
			my $fd = fileno($fh);
			next unless defined $fd;
			my $entry = $by_fd{$fd} or next;
			my ($s, $which) = @$entry;
			my $n = sysread($fh, my $buf, 65536);
			next if !defined $n && ($! == EAGAIN || $! == EINTR);
			if (!$n)
			{
				# EOF (or an error) on stdout: psql is gone.  Read what is
				# left on stderr first, for the reason.
				if ($which eq 'out')
				{
					if ($s->{err})
					{
						while (sysread($s->{err}, my $more, 65536)) { $s->{errbuf} .= $more; }
					}
					session_close($s, $o{retry_ms} / 1000);
				}
				else
				{
					delete $by_fd{ fileno($fh) };
					$sel->remove($fh);
				}
				next;
			}
			if ($which eq 'err')
			{
				$s->{errbuf} .= $buf;
				$s->{errbuf} = substr($s->{errbuf}, -4000) if length($s->{errbuf}) > 8000;
				next;
			}
			$s->{outbuf} .= $buf;
			while ($s->{outbuf} =~ s/^([^\n]*)\n//)
			{
				my $line = $1;
				# The answer's stderr was written before the marker; make sure
				# it has been read before the write is recorded.
				if ($line =~ /^done / && $s->{err})
				{
					while (defined(my $k = sysread($s->{err}, my $more, 65536)))
					{
						last if $k == 0;
						$s->{errbuf} .= $more;
					}
				}
				session_line($s, $line, \%o);
			}
		}
	}
	for my $s (@s)
	{
		record_write($s, 'lost', 'writer stopped before an answer') if $s->{pending};
		next unless $s->{pid};
		kill 'KILL', $s->{pid};
		waitpid($s->{pid}, 0);
	}
	close($hist);
	return;
}

1;
