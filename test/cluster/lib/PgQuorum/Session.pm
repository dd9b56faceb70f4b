# test/cluster/lib/PgQuorum/Session.pm: one psql session kept open on a
# server, fed statements one at a time, whose answer (or lost connection)
# the test reads.  For tests that must act on one backend (strace it,
# cancel it) while its statement is in flight.

package PgQuorum::Session;

use strict;
use warnings;

use IPC::Run ();
use PgQuorum::Test qw(wait_until);

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

# close(): end psql, whatever state it is in.
sub close
{
	my ($s) = @_;
	$s->{h}->kill_kill if $s->{h}->pumpable;
	eval { $s->{h}->finish };
}

sub DESTROY { $_[0]->close if $_[0]->{h}; }

1;
