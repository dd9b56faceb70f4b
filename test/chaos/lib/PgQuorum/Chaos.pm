# test/chaos/lib/PgQuorum/Chaos.pm: one run of the fault campaign.
#
# A run builds a cluster (PgQuorum::Test::new_failover_cluster: 3 or 5
# servers, or 2 and the witness; synchronous or asynchronous mode; the
# production settings of PgQuorum::Test), starts the workload
# (PgQuorum::Workload: several clients per server, some through a
# multi-host connection string, single-row and two-row transactions), and
# plays the seed's schedule (PgQuorum::Schedule) of overlapping faults:
# kills, SIGSTOPs, network cuts and loss (PgQuorum::ChaosNet), delays and
# slow disks injected with strace, restarts, and operator actions.  Like
# the README's systemd drop-in, a service manager restarts a server that
# stopped (after a kill, or a deposed primary that stopped itself) through
# pg_quorum_rejoin, 2 s later.  Then it heals everything, runs the service
# manager once more, waits for the cluster to converge, and judges the
# history with PgQuorum::History and the checks below, none of which asks
# pg_quorum for its verdict: the rows are read back with plain SQL, the
# timelines from PostgreSQL's WAL, and the terms, which only pg_quorum has,
# are observed (sampled from every server's pg_quorum.state), not trusted.
#
# Checks (a failed one is a violation):
# - in synchronous mode, no acknowledged write is missing on the final
#   primary (PgQuorum::History rule 1);
# - no row of a refused write on any server, nor of a write never sent,
#   and no torn transaction, also in the data of a stopped server read
#   before it rejoins (rules 2 and 5);
# - no write acknowledged on an older timeline after a write on a newer one
#   completed, and one primary per timeline (rule 4): two primaries at once,
#   from client-side times;
# - every server's terms only grow;
# - after rejoin every standby streams from the final primary on its
#   timeline, with the same timeline history file;
# - after healing, the cluster converges within converge_s: one leader that
#   every server names, unfenced and writable, every other server following
#   it, every member alive.

package PgQuorum::Chaos;

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IPC::Run ();
use JSON::PP ();
use List::Util qw(max min sum);
use POSIX ();
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Workload;
use PgQuorum::History;
use PgQuorum::ChaosNet;
use PgQuorum::Schedule;

our @EXPORT = qw(chaos_run term_violations);

my $now = \&PgQuorum::Workload::now;

sub say { Test::More->builder->output->print(@_, "\n"); return; }

# ask($node, $sql, $timeout_s): the query's output, or undef on any error or
# when it takes longer (a frozen server never answers).
sub ask
{
	my ($node, $sql, $timeout) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ 'psql', '-XAtq', '-d', $node->connstr('postgres') . ' connect_timeout=2',
				'-c', $sql ], '<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout($timeout // 5));
		1;
	};
	return undef unless $ok && $? == 0;
	chomp $out;
	return $out;
}

# running($node): is its postmaster alive?  Keeps PostgreSQL::Test::Cluster's
# idea of it in step, quietly.
sub running
{
	my ($node) = @_;
	my $pf = $node->data_dir . '/postmaster.pid';
	if (open my $fh, '<', $pf)
	{
		my $pid = <$fh>;
		close $fh;
		chomp $pid if defined $pid;
		if ($pid && kill(0, $pid) && !zombie($pid))
		{
			$node->{_pid} = $pid;
			return 1;
		}
	}
	$node->{_pid} = undef;
	return 0;
}

sub zombie
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return 1;
	my $s = <$fh> // '';
	close $fh;
	return $s =~ /\)\s+Z/;
}

# proc_of($node, $what): the pid of one of the server's processes:
# worker, walsender, walreceiver, walwriter, backend (a client's); $pick in
# [0, 1) chooses among several.
sub proc_of
{
	my ($node, $what, $pick) = @_;
	my %pattern = (
		worker      => qr/pg_quorum worker/,
		walsender   => qr/walsender/,
		walreceiver => qr/walreceiver/,
		walwriter   => qr/walwriter/,
		backend     => qr/\[local\]/);
	my (undef, @kids) = server_pids($node);
	my @match;
	for my $pid (sort { $a <=> $b } @kids)
	{
		open my $fh, '<', "/proc/$pid/cmdline" or next;
		my $cmd = <$fh> // '';
		close $fh;
		push @match, $pid if $cmd =~ $pattern{$what};
	}
	return @match ? $match[ int(($pick // 0) * @match) ] : undef;
}

# ---------------------------------------------------------------------
# The run's state: $r = { nodes, by_name, witness, net, hold, down_since,
# frozen, active faults, jobs, leader, terms, log }.

sub logf
{
	my ($r, $fmt, @args) = @_;
	my $line = sprintf("%7.2f s  $fmt", $now->() - ($r->{t0} // $now->()), @args);
	push @{ $r->{log} }, $line;
	say("# $line") if $r->{verbose};
	return;
}

# The members a network rule may name: every server and the witness.
sub members
{
	my ($r) = @_;
	return ((map { $_->name } @{ $r->{nodes} }), $r->{witness} ? ($r->{witness}{name}) : ());
}

sub pg_up
{
	my ($r) = @_;
	return grep { running($_) } @{ $r->{nodes} };
}

# leader($r): the leader the running, unfrozen servers name most, or the
# last one known.
sub leader
{
	my ($r) = @_;
	my %votes;
	for my $node (grep { !$r->{frozen}{ $_->name } } pg_up($r))
	{
		my $l = ask($node, 'SELECT coalesce(leader, \'\') FROM quorum.status', 3);
		$votes{$l}++ if defined $l && $l ne '' && $r->{by_name}{$l};
	}
	my ($best) = sort { $votes{$b} <=> $votes{$a} || $a cmp $b } keys %votes;
	$r->{leader} = $best if defined $best;
	return $r->{leader};
}

# resolve($r, $fault): the member names the fault's role stands for now.
sub resolve
{
	my ($r, $f) = @_;
	my $pick = $f->{args}{pick} // 0;
	my @pg = map { $_->name } @{ $r->{nodes} };
	my $leader = leader($r);
	my $choose = sub { my @c = @_; return @c ? ($c[ int($pick * @c) ]) : (); };
	if ($f->{target} eq 'leader') { return defined $leader ? ($leader) : (); }
	if ($f->{target} eq 'standby')
	{
		return $choose->(grep { !defined $leader || $_ ne $leader } @pg);
	}
	if ($f->{target} eq 'any') { return $choose->(@pg); }
	if ($f->{target} eq 'witness') { return $r->{witness} ? ($r->{witness}{name}) : (); }
	if ($f->{target} eq 'split' || $f->{target} eq 'bridge')
	{
		# A seeded order of the members from pick.
		my @m = members($r);
		my $x = int($pick * 1e6);
		my @order = map { $_->[1] } sort { $a->[0] <=> $b->[0] }
		  map { $x = ($x * 1103515245 + 12345) % 2147483648; [ $x, $_ ] } @m;
		return @order;
	}
	return ($f->{target});
}

# ---------------------------------------------------------------------
# Faults: start_fault returns a sentence of what it did, and sets
# $f->{undo} to what ends it; or dies with why it could not.

sub net_cut
{
	my ($r, $f, @rules) = @_;
	my $i = 0;
	for my $rule (@rules)
	{
		$rule->{id} = "f$f->{n}_" . $i++;
		push @{ $f->{rules} }, $rule->{id};
		$r->{net}->add($rule) or die "the network keeper did not apply the rule in 5 s\n";
	}
	$f->{undo} = sub { $r->{net}->remove($_) for @{ $f->{rules} }; };
	return;
}

sub strace_start
{
	my ($r, $f, $pid, $syscalls, $delay_ms) = @_;
	my $out = "$r->{dir}/strace_f$f->{n}.log";
	my $h = IPC::Run::start(
		[ 'strace', '-p', $pid, '-e', "trace=$syscalls", '-e',
			"inject=$syscalls:delay_enter=" . ($delay_ms * 1000), '-o', '/dev/null' ],
		'<', \'', '>', $out, '2>', $out);
	# strace detaches on TERM; one whose tracee another fault stopped with
	# SIGSTOP may not manage to, so it is killed after 3 s (the kernel then
	# detaches the tracee).
	$f->{undo} = sub { eval { $h->kill_kill(grace => 3); 1 }; };
	return;
}

sub start_fault
{
	my ($r, $f) = @_;
	my ($t, @more) = resolve($r, $f);
	die "no " . $f->{target} . " to apply it to\n" unless defined $t;
	my $node = $r->{by_name}{$t};
	my $is_witness = $r->{witness} && $t eq $r->{witness}{name};
	my @others = grep { $_ ne $t } members($r);
	my $k = $f->{kind};
	$f->{resolved} = $t;
	my $need_up = sub {
		die "$t is not running\n" if $node && !running($node);
		die "$t is not running\n" if $is_witness && !$r->{witness}{pid};
	};

	if ($k eq 'kill_postmaster' || $k eq 'kill_all')
	{
		$need_up->();
		if ($is_witness)
		{
			kill 'KILL', $r->{witness}{pid};
			waitpid($r->{witness}{pid}, 0);
			$r->{witness}{pid} = undef;
		}
		else
		{
			my @pids = $k eq 'kill_all' ? server_pids($node) : ($node->{_pid});
			kill 'KILL', @pids;
			delete $r->{frozen}{$t};
			$node->{_pid} = undef;
		}
		$r->{hold}{$t} = $now->() + $f->{dur};
		return "kill -9 of $t" . ($k eq 'kill_all' ? ' (every process)' : ' (postmaster)');
	}
	if ($k eq 'pause_server')
	{
		$need_up->();
		die "$t is already stopped\n" if $r->{frozen}{$t};
		if ($is_witness) { kill 'STOP', $r->{witness}{pid}; }
		else { freeze($node); }
		$r->{frozen}{$t} = 1;
		my $pid = $is_witness ? $r->{witness}{pid} : undef;
		$f->{undo} = sub {
			delete $r->{frozen}{$t};
			if ($is_witness) { kill 'CONT', $pid if $pid; }
			else { thaw($node); }
		};
		return "SIGSTOP of every process of $t";
	}
	if ($k eq 'pause_worker')
	{
		$need_up->();
		my $pid = proc_of($node, 'worker') or die "$t has no pg_quorum worker\n";
		kill 'STOP', $pid;
		$f->{undo} = sub { kill 'CONT', $pid; };
		return "SIGSTOP of $t\'s pg_quorum worker ($pid)";
	}
	if ($k eq 'part_full')
	{
		my @m = ($t, @more);
		# The first 1 .. floor(n/2) members of the seeded order: a minority.
		my $cut = 1 + int($f->{args}{pick} * 1000) % int(@m / 2);
		my @a = @m[ 0 .. $cut - 1 ];
		my @b = @m[ $cut .. $#m ];
		net_cut($r, $f, { class => 'all', from => \@a, to => \@b }, { class => 'all', from => \@b, to => \@a });
		$f->{resolved} = join(',', @a) . '|' . join(',', @b);
		return 'partition ' . $f->{resolved};
	}
	if ($k eq 'part_oneway')
	{
		my $out = $f->{args}{pick} < 0.5;
		net_cut($r, $f, $out ? { class => 'all', from => [$t], to => \@others }
			: { class => 'all', from => \@others, to => [$t] });
		return $out ? "nothing $t sends arrives" : "nothing sent to $t arrives";
	}
	if ($k eq 'part_gossip' || $k eq 'part_repl' || $k eq 'isolate_leader'
		|| $k eq 'loss_gossip' || $k eq 'loss_repl')
	{
		my $class = $k =~ /gossip/ ? 'gossip' : $k =~ /repl/ ? 'repl' : 'all';
		my $pct = $f->{args}{pct};
		net_cut($r, $f, { class => $class, from => [$t], to => \@others, pct => $pct },
			{ class => $class, from => \@others, to => [$t], pct => $pct });
		return ($pct ? "$pct% loss of $class traffic" : "$class traffic cut") . " between $t and the others";
	}
	if ($k eq 'bridge')
	{
		my @m = ($t, @more);
		my $bridge = shift @m;
		my @a = @m[ 0 .. int(@m / 2) - 1 ];
		my @b = @m[ int(@m / 2) .. $#m ];
		net_cut($r, $f, { class => 'all', from => \@a, to => \@b }, { class => 'all', from => \@b, to => \@a });
		$f->{resolved} = join(',', @a) . "|$bridge|" . join(',', @b);
		return "bridge: $bridge reaches " . join(',', @a) . ' and ' . join(',', @b) . ', which do not reach each other';
	}
	if ($k eq 'delay_send' || $k eq 'slow_disk')
	{
		$need_up->();
		my $what = $f->{args}{proc};
		my $pid = proc_of($node, $what, $f->{args}{pick});
		($what, $pid) = ('walreceiver', proc_of($node, 'walreceiver')) if !$pid && $what eq 'walsender';
		die "$t has no $what process\n" unless $pid;
		my $calls = $k eq 'delay_send' ? 'sendto' : 'fsync,fdatasync';
		strace_start($r, $f, $pid, $calls, $f->{args}{delay_ms});
		return "$f->{args}{delay_ms} ms delay injected into $calls of $t\'s $what ($pid)";
	}
	if ($k eq 'restart' || $k eq 'start_no_rejoin')
	{
		$need_up->();
		die "$t is stopped with SIGSTOP\n" if $r->{frozen}{$t};
		my $clean = $k eq 'restart';
		die "$t is being restarted already\n" if $r->{svc}{$t};
		service_start($r, $node, $clean, $clean ? 'fast' : 'immediate');
		return $clean ? "clean restart of $t (stop -m fast, pg_quorum_rejoin, start)"
		  : "$t stopped (immediate) and started again without pg_quorum_rejoin";
	}
	if ($k eq 'op_failover')
	{
		my $l = $r->{by_name}{ leader($r) // '' } or die "no leader known\n";
		job($r, "quorum.failover('$t') on " . $l->name, $l, "SELECT quorum.failover('$t')");
		return "quorum.failover('$t') on " . $l->name;
	}
	if ($k eq 'op_pause')
	{
		my $l = $r->{by_name}{$t} or die "$t is no server\n";
		job($r, 'quorum.pause() on ' . $l->name, $l, 'SELECT quorum.pause()');
		$f->{undo} = sub { resume($r, 0); };
		return 'quorum.pause() on ' . $l->name;
	}
	if ($k eq 'op_forget')
	{
		$need_up->();
		die "$t is stopped with SIGSTOP\n" if $r->{frozen}{$t};
		die "$t is being restarted\n" if $r->{svc}{$t};
		service_start($r, $node, 0, 'fast', 0);
		$r->{hold}{$t} = $now->() + $f->{dur};
		push @{ $r->{pending} }, { what => 'forget', name => $t, after => $now->() };
		return "$t stopped (fast) to be removed with quorum.forget(), added back at the end";
	}
	die "unknown fault kind $k\n";
}

# rejoin_node($r, $node): pg_quorum_rejoin against every other server, as
# the systemd drop-in's ExecStartPre does (--rebuild, and its default
# --timeout of 30 s); (exit status, output).
sub rejoin_node
{
	my ($r, $node) = @_;
	my @peers = grep { $_ != $node } @{ $r->{nodes} };
	my @cmd = ('pg_quorum_rejoin', '-D', $node->data_dir, '--rebuild',
		map { ('--peer', 'host=127.0.0.1 port=' . $_->port . ' dbname=postgres connect_timeout=2') } @peers);
	my ($out, $err) = ('', '');
	my $ok = eval { IPC::Run::run(\@cmd, '<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout(120)); 1 };
	return ($ok ? $? >> 8 : 124, "$out$err" . ($ok ? '' : "could not run pg_quorum_rejoin: $@"));
}

# job($r, $label, $node, $sql): run $sql on $node in the background (an
# operator's session); its outcome is logged when it ends.
sub job
{
	my ($r, $label, $node, $sql, $retry) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-d',
			$node->connstr('postgres') . ' connect_timeout=5', '-c', $sql ],
		'<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout(60));
	push @{ $r->{jobs} },
	  { label => $label, h => $h, out => \$out, err => \$err, started => $now->(), retry => $retry };
	return;
}

sub poll_jobs
{
	my ($r, $wait) = @_;
	my @left;
	for my $j (@{ $r->{jobs} })
	{
		my $done = eval { $wait ? $j->{h}->finish : !$j->{h}->pump_nb && !$j->{h}->pumpable };
		if (!defined $done)
		{
			eval { $j->{h}->kill_kill };
			logf($r, '%s: no answer (%s)', $j->{label}, $@ =~ /timeout/ ? 'timed out' : 'ended');
			push @{ $r->{pending} }, { %{ $j->{retry} }, after => $now->() + 2 } if $j->{retry};
			next;
		}
		if ($done || !$j->{h}->pumpable)
		{
			eval { $j->{h}->finish };
			my ($state) = ${ $j->{err} } =~ /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):/;
			my $res = $j->{h}->result == 0 ? "returned '" . (${ $j->{out} } =~ s/\n//gr) . "'"
			  : 'failed with ' . ($state // 'no answer');
			logf($r, '%s %s after %.2f s', $j->{label}, $res, $now->() - $j->{started});
			push @{ $r->{ops} }, { label => $j->{label}, result => $res };
			# An operator tries again what must be undone (a voter to add back).
			push @{ $r->{pending} }, { %{ $j->{retry} }, after => $now->() + 2 }
			  if $j->{retry} && $j->{h}->result != 0;
			next;
		}
		push @left, $j;
	}
	$r->{jobs} = \@left;
	return;
}

# resume($r, $force): quorum.resume() once no server is in degraded
# synchronous mode (the README: a degraded leader paused failover itself;
# resuming then could elect a standby without the writes it acknowledged
# alone, a window the checker would otherwise count against pg_quorum).
sub resume
{
	my ($r, $final) = @_;
	my $l = $r->{by_name}{ leader($r) // '' };
	my $mode = $l ? ask($l, 'SELECT mode FROM quorum.status', 3) // '' : '';
	if ($mode eq 'degraded' || !$l)
	{
		logf($r, 'quorum.resume() put off: %s', $l ? 'degraded synchronous mode' : 'no leader');
		push @{ $r->{pending} }, { what => 'resume', after => $now->() + 1 } unless $final;
		return 0;
	}
	job($r, 'quorum.resume() on ' . $l->name, $l, 'SELECT quorum.resume()');
	return 1;
}

# run_pending($r): forget and add_voter once their member is seen dead or
# alive by the leader, and put-off resumes.
sub run_pending
{
	my ($r) = @_;
	my @left;
	for my $p (@{ $r->{pending} })
	{
		if ($now->() < $p->{after}) { push @left, $p; next; }
		my $l = $r->{by_name}{ $r->{leader} // '' };
		if ($p->{what} eq 'resume')
		{
			resume($r, 0);
			next;
		}
		if ($p->{what} eq 'forget' && !$r->{svc}{ $p->{name} } && running($r->{by_name}{ $p->{name} }))
		{
			logf($r, 'quorum.forget(\'%s\') left out: it runs again before it was seen stopped', $p->{name});
			next;
		}
		my $state = $l ? ask($l, "SELECT state FROM quorum.nodes WHERE name = '$p->{name}'", 3) : undef;
		if ($p->{what} eq 'forget' && defined $state && $state =~ /dead|left/)
		{
			job($r, "quorum.forget('$p->{name}') on " . $l->name, $l, "SELECT quorum.forget('$p->{name}')");
			$r->{forgotten}{ $p->{name} } = 1;
			next;
		}
		if ($p->{what} eq 'add_voter' && defined $state && $state eq 'alive')
		{
			job($r, "quorum.add_voter('$p->{name}') on " . $l->name, $l,
				"SELECT quorum.add_voter('$p->{name}')", { what => 'add_voter', name => $p->{name} });
			next;
		}
		$p->{after} = $now->() + 0.5;
		push @left, $p;
	}
	$r->{pending} = \@left;
	return;
}

# procs_left($node): does any process still run in its data directory (a
# child of a killed postmaster that has not noticed yet)?
sub procs_left
{
	my ($node) = @_;
	my $dir = $node->data_dir;
	for my $proc (glob('/proc/[0-9]*'))
	{
		my $cwd = readlink("$proc/cwd");
		return 1 if defined $cwd && $cwd eq $dir;
	}
	return 0;
}

# service_start($r, $node, $rejoin, $stop, $start): in the background, as
# a service manager does: stop the server first when $stop names a mode
# (fast, immediate), then, unless $start is 0, what the systemd drop-in's
# ExecStartPre and ExecStart do: pg_quorum_rejoin (unless $rejoin is 0),
# then start it.  Its processes count as the server's for network cuts.
sub service_start
{
	my ($r, $node, $rejoin, $stop, $start) = @_;
	$start //= 1;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		# Whatever happens, the child ends here: a die that escaped would
		# unwind into the caller's eval and run the schedule a second time.
		my $rc = eval { service_steps($r, $node, $rejoin, $stop, $start) };
		if (!defined $rc)
		{
			print STDERR 'chaos: the service manager of ' . $node->name . " failed: $@";
			$rc = 99;
		}
		POSIX::_exit($rc > 255 ? 255 : $rc);
	}
	$r->{svc}{ $node->name } = { pid => $pid, rejoin => $rejoin, start => $start, started => $now->() };
	$r->{net}->set_tools($node->name, $pid);
	return;
}

# service_steps(...): what service_start's child does; returns its exit
# status (0, pg_quorum_rejoin's, or 100: pg_ctl start failed).
sub service_steps
{
	my ($r, $node, $rejoin, $stop, $start) = @_;
	my ($rc, $out) = (0, '');
	if ($stop)
	{
		system('pg_ctl', '-w', '-D', $node->data_dir, '-m', $stop, 'stop');
		$out .= "stopped ($stop)\n";
	}
	($rc, $out) = rejoin_node($r, $node) if $rejoin && $start;
	if ($rc == 0 && $start)
	{
		$rc = system('pg_ctl', '-w', '-D', $node->data_dir, '-l', $node->logfile,
			'-o', '--cluster-name=' . $node->name, 'start') == 0 ? 0 : 100;
		if ($rc)
		{
			# Not ready within pg_ctl's 60 s (a standby that cannot reach
			# a consistent state): as systemd ends a unit whose start
			# failed, stop what runs, so that the next try rejoins.
			system('pg_ctl', '-w', '-D', $node->data_dir, '-m', 'immediate', 'stop');
			$out .= "pg_ctl start failed; the server was stopped\n";
		}
	}
	# The last attempt's output for the log line, every attempt's in the
	# server's log directory.
	for my $file ("$r->{dir}/service_" . $node->name . '.out',
		"$PostgreSQL::Test::Utils::log_path/service_" . $node->name . '.log')
	{
		my $mode = $file =~ /\.out$/ ? '>' : '>>';
		open(my $fh, $mode, $file) or next;
		print $fh ($file =~ /\.log$/ ? '---- ' . localtime() . ($rejoin ? '' : ' (no rejoin)') . "\n" : ''), $out;
		close $fh;
	}
	return $rc;
}

sub reap_services
{
	my ($r) = @_;
	for my $name (sort keys %{ $r->{svc} // {} })
	{
		my $s = $r->{svc}{$name};
		next if waitpid($s->{pid}, POSIX::WNOHANG()) != $s->{pid};
		my $rc = $? >> 8;
		delete $r->{svc}{$name};
		my $out = eval { slurp_file("$r->{dir}/service_$name.out") } // '';
		$r->{net}->set_tools($name);
		logf($r, 'service manager: %s %s', $name,
			$rc == 0 ? (!$s->{start} ? 'stopped' : $s->{rejoin} ? 'rejoined and started' : 'started without pg_quorum_rejoin')
			: sprintf('failed (%s): %s', $rc == 100 ? 'pg_ctl start' : "pg_quorum_rejoin exit $rc",
				(grep { /\S/ } split /\n/, $out)[-1] // ''));
		$r->{down_since}{$name} = $now->() if $rc != 0;
		running($r->{by_name}{$name});
		push @{ $r->{pending} }, { what => 'add_voter', name => $name, after => $now->() }
		  if $rc == 0 && delete $r->{forgotten}{$name};
	}
	return;
}

# service_manager($r, $final): restart every server that has been down for
# 2 s (RestartSec) and is not held down by a fault, and the witness;
# $final: at once, and read the data of each stopped server first (without
# letting it write), for the checker.
sub service_manager
{
	my ($r, $final) = @_;
	reap_services($r);
	for my $node (@{ $r->{nodes} })
	{
		my $name = $node->name;
		next if $r->{svc}{$name};
		if (running($node)) { delete $r->{down_since}{$name}; next; }
		next if !$final && ($r->{hold}{$name} // 0) > $now->();
		$r->{down_since}{$name} //= $now->() - ($final ? 2 : 0);
		next if $now->() - $r->{down_since}{$name} < 2;
		next if procs_left($node);
		if ($final && !$r->{read_offline}{$name}++)
		{
			my $rows = eval { read_rows_offline($node) };
			$r->{snapshots}{"$name (stopped, before rejoining)"} = $rows if $rows;
		}
		service_start($r, $node, 1);
	}
	my $w = $r->{witness};
	if ($w && !$w->{pid} && ($final || ($r->{hold}{ $w->{name} } // 0) <= $now->()))
	{
		$r->{net}->set_pid($w->{name}, witness_restart($w));
		logf($r, 'service manager: witness started');
	}
	return;
}

# sample_terms($r): every member's persisted term, appended where it
# changed.  Not while pg_quorum_rejoin runs on a server: pg_rewind then
# puts the leader's pg_quorum.state in place until the tool restores the
# server's own, which it keeps aside (and restores at its next run, should
# it be interrupted).
sub sample_terms
{
	my ($r) = @_;
	my %dirs = map { $_->name => $_->data_dir } grep { !$r->{svc}{ $_->name } } @{ $r->{nodes} };
	$dirs{ $r->{witness}{name} } = $r->{witness}{state_dir} if $r->{witness};
	for my $name (sort keys %dirs)
	{
		open my $fh, '<', "$dirs{$name}/pg_quorum.state" or next;
		my ($term) = join('', <$fh>) =~ /^term=(\d+)$/m;
		close $fh;
		next unless defined $term;
		my $seq = $r->{terms}{$name} //= [];
		push @$seq, [ $now->() - $r->{t0}, $term ] if !@$seq || $seq->[-1][1] != $term;
	}
	return;
}

# term_violations({ member => [[seconds, term], ...] }): the members whose
# persisted term went back; a list of sentences.
sub term_violations
{
	my ($terms) = @_;
	my @v;
	for my $name (sort keys %$terms)
	{
		my @seq = @{ $terms->{$name} };
		for my $i (1 .. $#seq)
		{
			push @v, sprintf('%s\'s term went back from %d to %d at %.2f s', $name,
				$seq[ $i - 1 ][1], $seq[$i][1], $seq[$i][0])
			  if $seq[$i][1] < $seq[ $i - 1 ][1];
		}
	}
	return @v;
}

# convergence($r, $members): (the leader, what still keeps the cluster
# from having converged): every server running and naming one leader that
# is out of recovery and unfenced, every other server following it, and
# every member alive and a voter in the leader's quorum.nodes.
sub convergence
{
	my ($r, $members) = @_;
	my @nodes = @{ $r->{nodes} };
	my @down = grep { !running($_) } @nodes;
	return (undef, map { $_->name . ' is not running' } @down) if @down;
	my %st = map { $_->name => cluster_status($_) } @nodes;
	my %named = map { ($_ && $_->{leader}) ? ($_->{leader} => 1) : ('(none)' => 1) } values %st;
	return (undef, 'the servers name ' . join(', ', sort keys %named) . ' as leader') if keys %named != 1;
	my ($name) = keys %named;
	return (undef, 'no server names a leader') if $name eq '(none)';
	my $leader = $r->{by_name}{$name};
	return (undef, "the leader $name is not a server") unless $leader;
	return ($leader, "the leader $name is fenced or in recovery")
	  if $st{$name}{fenced} || $st{$name}{recovery};
	my $sql = following_sql($leader) // return ($leader, "$name gives no WAL position");
	my @p = map { $_->name . " does not follow $name" }
	  grep { $_ != $leader && (ask($_, $sql, 5) // '') ne 't' } @nodes;
	my $seen = ask($leader, "SELECT count(*) FILTER (WHERE state = 'alive') || ' ' || count(*) FILTER (WHERE voter) FROM quorum.nodes", 5) // '';
	push @p, "$name sees $seen members alive and voters, not $members $members" if $seen ne "$members $members";
	return ($leader, @p);
}

# ---------------------------------------------------------------------

# chaos_run(seed => N, servers => 3, witness => 0, mode => sync|async,
#           duration => 30, kinds => [...], converge_s => 120):
# one run; returns its result (a hash, see the end).
sub chaos_run
{
	my (%o) = @_;
	my $sync = $o{mode} eq 'sync';
	my @schedule = PgQuorum::Schedule::generate(
		seed     => $o{seed},
		duration => $o{duration},
		kinds    => $o{kinds},
		servers  => $o{servers},
		witness  => $o{witness});
	say("# schedule of seed $o{seed}:");
	say("#   " . PgQuorum::Schedule::describe($_)) for @schedule;

	my $c = new_failover_cluster(servers => $o{servers}, witness => $o{witness},
		synchronous => $sync);
	my @nodes = @{ $c->{nodes} };
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/chaos";
	make_path($dir);
	my $r = {
		dir     => $dir,
		nodes   => \@nodes,
		by_name => { map { $_->name => $_ } @nodes },
		witness => $c->{witness},
		leader  => 'node1',
		verbose => $o{verbose},
		log     => [], jobs => [], pending => [], ops => [],
	};
	my @gossip = @{ $c->{gossip} };
	$r->{net} = PgQuorum::ChaosNet->new(
		dir     => $dir,
		servers => [
			(map { { name => $nodes[$_]->name, pg => $nodes[$_]->port, gossip => $gossip[$_],
					datadir => $nodes[$_]->data_dir } } 0 .. $#nodes),
			$c->{witness} ? ({ name => 'witness', gossip => $gossip[-1], pid => $c->{witness}{pid} }) : ()
		]);

	my $wl = PgQuorum::Workload->start(
		nodes     => \@nodes,
		file      => "$dir/workload.tsv",
		clients   => 2,
		txn_every => 3,
		multihost => 2);
	$wl->wait_ack(60, server => 'node1') or die "the workload got no write acknowledged\n";
	$r->{t0} = $now->();
	logf($r, 'workload running; schedule starts');

	# --- The schedule. ---------------------------------------------------
	my @todo = @schedule;
	my $n = 0;
	my (@active, @done);
	my $next_sample = 0;
	for (;;)
	{
		my $t = $now->() - $r->{t0};
		while (@todo && $todo[0]{at} <= $t)
		{
			my $f = shift @todo;
			$f->{n} = ++$n;
			$f->{started} = $now->();
			my $what = eval { start_fault($r, $f) };
			if (defined $what)
			{
				$f->{status} = 'applied';
				$f->{what} = $what;
				logf($r, 'fault %d %s: %s', $f->{n}, $f->{kind}, $what);
				push @active, $f;
			}
			else
			{
				chomp(my $why = $@);
				$f->{status} = "skipped: $why";
				logf($r, 'fault %d %s skipped: %s', $f->{n}, $f->{kind}, $why);
				push @done, $f;
			}
		}
		my @still;
		for my $f (@active)
		{
			if ($now->() >= $f->{started} + $f->{dur})
			{
				$f->{undo}->() if $f->{undo};
				$f->{ended} = $now->();
				logf($r, 'fault %d %s ends', $f->{n}, $f->{kind});
				push @done, $f;
			}
			else { push @still, $f; }
		}
		@active = @still;
		last if !@todo && !@active;
		service_manager($r, 0);
		poll_jobs($r, 0);
		run_pending($r);
		if ($now->() >= $next_sample)
		{
			sample_terms($r);
			$next_sample = $now->() + 0.25;
		}
		usleep(50_000);
	}

	# --- Heal, restart, converge. ------------------------------------------
	my $t_heal = $now->();
	logf($r, 'heal');
	$r->{net}->clear;
	$r->{hold} = {};
	poll_jobs($r, 1);    # operator sessions end (each within its 60 s timeout)
	my $members = @nodes + ($r->{witness} ? 1 : 0);
	my ($leader, @problems);
	my ($converged, $resume_at) = (0, 0);
	for (my $deadline = $t_heal + $o{converge_s};; usleep(250_000))
	{
		service_manager($r, 1);
		poll_jobs($r, 0);
		run_pending($r);
		($leader, @problems) = convergence($r, $members);
		push @problems, 'still to do: ' . join(', ', (map { "$_->{what} $_->{name}" } @{ $r->{pending} }),
			(map { "restart of $_" } sort keys %{ $r->{svc} }), (map { $_->{label} } @{ $r->{jobs} }))
		  if @{ $r->{pending} } || %{ $r->{svc} } || @{ $r->{jobs} };
		# A pause the schedule left in force (its resume put off) ends now.
		if ($leader && (cluster_status($leader) // {})->{paused})
		{
			push @problems, 'failover is paused';
			if ($now->() >= $resume_at && !@{ $r->{jobs} })
			{
				resume($r, 1);
				$resume_at = $now->() + 2;
			}
		}
		if (!@problems)
		{
			$converged = $now->() - $t_heal;
			last;
		}
		last if $now->() > $deadline;
	}
	@problems = map { "not converged $o{converge_s} s after healing: $_" } @problems;
	logf($r, 'converged in %.1f s', $converged) if $converged;
	sample_terms($r);

	# --- The history. ------------------------------------------------------
	my $after_heal = $leader && $wl->wait_ack(30, server => $leader->name, sent_after => $now->());
	push @problems, 'no write acknowledged after healing' if $leader && !$after_heal;
	my @records = $wl->stop;
	my %rows;
	if ($leader)
	{
		my $lsn = $leader->lsn('insert');
		for my $node (grep { $_ != $leader } @nodes)
		{
			wait_for_query($node, "SELECT pg_last_wal_replay_lsn() >= '$lsn'", 't', 60)
			  or push @problems, $node->name . ' did not replay all of the final primary\'s WAL';
		}
	}
	for my $node (pg_up($r))
	{
		$rows{ $node->name } = PgQuorum::History::read_rows($node);
	}
	%rows = (%rows, %{ $r->{snapshots} // {} });
	my $check = PgQuorum::History::check_history(
		records => \@records,
		rows    => \%rows,
		final   => ($sync && $leader) ? $leader->name : undef);
	push @problems, @{ $check->{violations} };

	push @problems, term_violations($r->{terms});
	# Timeline histories: every standby has the final primary's.
	if ($leader && $converged)
	{
		my $tli = ask($leader, "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int");
		if ($tli && $tli > 1)
		{
			my $file = sprintf('pg_wal/%08X.history', $tli);
			my $want = eval { slurp_file($leader->data_dir . "/$file") } // '';
			for my $node (grep { $_ != $leader } @nodes)
			{
				my $have = eval { slurp_file($node->data_dir . "/$file") } // '(none)';
				push @problems, $node->name . "'s timeline history $file differs from the final primary's"
				  if $have ne $want;
			}
		}
	}

	# --- What the run saw. -------------------------------------------------
	my @acked = sort { $a->{done} <=> $b->{done} } grep { $_->{status} eq 'ok' } @records;
	my (@eras, @gaps);
	for my $w (@acked)
	{
		push @eras, { server => $w->{server}, tli => $w->{tli}, first => $w->{done} - $r->{t0} }
		  if !@eras || $eras[-1]{server} ne $w->{server} || $eras[-1]{tli} != $w->{tli};
	}
	for my $i (1 .. $#acked)
	{
		my ($a, $b) = ($acked[ $i - 1 ]{done}, $acked[$i]{done});
		push @gaps, [ $a - $r->{t0}, $b - $r->{t0} ] if $b - $a > 0.5;
	}
	# A fault's unavailability: from the fault to the first write accepted
	# again after a window without any (over 0.5 s) that began while the
	# fault lasted (a new leader's lease, say, comes some time after the
	# cut); 0 when writes went on.
	for my $f (grep { $_->{status} eq 'applied' } @done)
	{
		my $from = $f->{started} - $r->{t0};
		my $to = ($f->{ended} // $f->{started}) - $r->{t0} + 1;
		my ($gap) = grep { $_->[0] >= $from - 0.5 && $_->[0] <= $to } @gaps;
		$f->{recovery_s} = $gap ? $gap->[1] - $from : 0;
	}
	my ($last_ack) = $acked[-1];
	push @gaps, [ $last_ack ? $last_ack->{done} - $r->{t0} : 0, undef ]
	  if !$last_ack || $last_ack->{done} < $t_heal;
	my %count;
	$count{ $_->{status} }++ for @records;
	my $result = {
		seed       => $o{seed},
		servers    => $o{servers},
		witness    => $o{witness} ? 1 : 0,
		mode       => $o{mode},
		duration   => $o{duration},
		verdict    => @problems ? 'fail' : 'pass',
		violations => \@problems,
		faults     => [
			map {
				{
					n          => $_->{n},
					kind       => $_->{kind},
					at         => $_->{at},
					started_s  => defined $_->{started} ? $_->{started} - $r->{t0} : undef,
					dur        => $_->{dur},
					target     => $_->{resolved} // $_->{target},
					status     => $_->{status},
					recovery_s => $_->{recovery_s}
				}
			} sort { $a->{n} <=> $b->{n} } @done
		],
		ops          => $r->{ops},
		failovers    => @eras ? @eras - 1 : 0,
		eras         => \@eras,
		unavailable  => \@gaps,
		converge_s   => $converged,
		writes       => { ok => $count{ok} // 0, failed => $count{err} // 0, unknown => $count{lost} // 0 },
		log          => $r->{log},
	};
	$r->{net}->stop;
	stop_all(@nodes);
	witness_stop($r->{witness}, 'KILL', 10) if $r->{witness};
	return $result;
}

1;
