# test/cluster/lib/PgQuorum/Session.pm: one psql session kept open on a
# server, fed statements one at a time, whose answer (or lost connection)
# the test reads.  For tests that must act on one backend (strace it,
# cancel it) while its statement is in flight.

package PgQuorum::Session;

use strict;
use warnings;

use IPC::Run ();
use Test::More;
use PgQuorum::Test qw(wait_until wait_for_query);

# PgQuorum::Session->open($node): a psql session over the node's Unix
# socket; returns it once its backend's pid is known (->{pid}).
sub open
{
	my ($class, $node) = @_;
	my $s = bless { in => '', out => '', err => '', name => $node->name }, $class;
	$s->{h} = IPC::Run::start(
		[ 'psql', '-XAtq', '-h', $node->host, '-p', $node->port, '-d', 'postgres' ],
		'<', \$s->{in}, '>', \$s->{out}, '2>', \$s->{err});
	$s->send('SELECT pg_backend_pid();');
	defined wait_until(30, sub { ($s->output)[0] =~ /^(\d+)$/m })
	  or die "no backend pid from $s->{name}: $s->{err}\n";
	($s->{pid}) = $s->{out} =~ /^(\d+)$/m;
	$s->{out} = '';
	return $s;
}

# send($sql): write one statement to psql (its answer comes later).
sub send
{
	my ($s, $sql) = @_;
	$s->{in} .= "$sql\n";
	$s->{h}->pump_nb;
}

# output(): what psql printed so far, and whether it has exited (the
# connection was lost).
sub output
{
	my ($s) = @_;
	$s->{h}->pump_nb if $s->{h}->pumpable;
	return ($s->{out}, $s->{err}, !$s->{h}->pumpable);
}

# wait_answer($seconds, $regex): poll until stdout matches $regex or psql
# has exited; returns 'answer', 'lost' or undef (still in flight).
sub wait_answer
{
	my ($s, $seconds, $regex) = @_;
	my $how;
	wait_until(
		$seconds,
		sub {
			my ($out, undef, $gone) = $s->output;
			$how = $out =~ $regex ? 'answer' : $gone ? 'lost' : undef;
			return defined $how;
		});
	return $how;
}

# PgQuorum::Session->hold($node, $sql, $what, calls => 'fdatasync,fsync',
#                         held_sql => ..., seconds => 30): a session on
# $node whose backend strace holds for up to 60 s in each of its system
# calls named in calls (by default a flush of the WAL: with fsync = on a
# commit's record), running "$sql; SELECT 'ok held';".  Returns it once
# held_sql says 't' on $node (by default: the backend waits in that flush),
# after one test that strace is attached and one that $what is held.
# $s->release lets the held call go on.  Needs strace (scripts/setup.sh).
sub hold
{
	my ($class, $node, $sql, $what, %o) = @_;
	my $calls = $o{calls} // 'fdatasync,fsync';
	my $seconds = $o{seconds} // 30;
	my $s = $class->open($node);
	$s->{strace} = IPC::Run::start(
		[ 'strace', '-qq', '-p', $s->{pid}, '-e', "trace=$calls",
		  '-e', "inject=$calls:delay_enter=60000000", '-o', '/dev/null' ],
		'>', \$s->{strace_out}, '2>', \$s->{strace_err});
	ok( defined wait_until($seconds,
			sub { (`grep TracerPid /proc/$s->{pid}/status` =~ /(\d+)/)[0] }),
		"strace is attached to the backend that runs $what");
	$s->send("$sql; SELECT 'ok held';");
	# The wait event is WALSync up to 16, WalSync from 17.
	my $held_sql = $o{held_sql}
	  // "SELECT lower(wait_event) = 'walsync' FROM pg_stat_activity WHERE pid = $s->{pid}";
	ok(defined wait_for_query($node, $held_sql, 't', $seconds), "$what is held");
	return $s;
}

# release(): strace detaches, so the held system call goes on.
sub release
{
	my ($s) = @_;
	my $trace = delete $s->{strace} or return;
	$trace->signal('TERM') if $trace->pumpable;
	eval { $trace->finish };
}

# close(): end psql, whatever state it is in (releasing it first).
sub close
{
	my ($s) = @_;
	$s->release;
	$s->{h}->kill_kill if $s->{h}->pumpable;
	eval { $s->{h}->finish };
}

sub DESTROY { $_[0]->close if $_[0]->{h}; }

1;
