# test/cluster/lib/PgQuorum/Http.pm: clients of pg_quorum's HTTP endpoint
# for the tests and benchmarks: curl (the real program), raw sockets for
# what curl will not send, promtool, and an HAProxy in front of servers.

package PgQuorum::Http;

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use Time::HiRes qw(time);
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(http_conf curl raw_request promtool_check start_haproxy stop_haproxy
  write_through wait_write_through);

# http_conf($port, extra => "..."): the postgresql.conf lines that put the
# endpoint on 127.0.0.1:$port.
sub http_conf
{
	my ($port, %o) = @_;
	return "pg_quorum.http_listen = '127.0.0.1:$port'\n" . ($o{extra} // '');
}

# curl($url, args => [more curl arguments]): (status, body, headers) of one
# request made with curl; status is 0 when curl got no HTTP answer.
sub curl
{
	my ($url, %o) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ('curl', '-sS', '-i', '--max-time', '10', @{ $o{args} // [] }, $url);
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	my ($head, $body) = split /\r\n\r\n/, $out, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})};
	return ($status // 0, $body // '', $head // '');
}

# raw_request($port, $bytes, wait_s => 10): send $bytes as they are and
# return everything the server sent until it closed the connection, and
# the seconds that took; undef as the answer if it did not close in time.
sub raw_request
{
	my ($port, $bytes, %o) = @_;
	my $wait_s = $o{wait_s} // 10;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
		Proto => 'tcp') or die "connect to $port: $!";
	my $start = time();
	$sock->syswrite($bytes) if length $bytes;
	my $sel = IO::Select->new($sock);
	my $answer = '';
	while (time() - $start < $wait_s)
	{
		next unless $sel->can_read(0.2);
		my $n = $sock->sysread(my $chunk, 65536);
		return ($answer, time() - $start) if !$n;
		$answer .= $chunk;
	}
	return (undef, time() - $start);
}

# promtool_check($text): (ok, promtool's output) of "promtool check
# metrics" over an exposition.
sub promtool_check
{
	my ($text) = @_;
	my $out = '';
	my $ok = IPC::Run::run([ 'promtool', 'check', 'metrics' ], '<', \$text, '>&', \$out);
	return ($ok ? 1 : 0, $out);
}

# start_haproxy(port => P, stats_port => S, servers => [[name, pg port, http port], ...],
#               inter => '500ms', fall => 2, rise => 1): an HAProxy in
# front of the servers that routes TCP connections on P to the one whose
# GET /primary answers 200, as a Patroni setup does.  Returns a handle
# for stop_haproxy.
sub start_haproxy
{
	my (%o) = @_;
	my $dir = File::Temp->newdir('haproxy_XXXX', TMPDIR => 1);
	my $cfg = "$dir/haproxy.cfg";
	my $check = "inter $o{inter} fall $o{fall} rise $o{rise}";
	open my $fh, '>', $cfg or die "$cfg: $!";
	print $fh <<"EOF";
global
    maxconn 200

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 1s

listen primary
    bind 127.0.0.1:$o{port}
    option httpchk GET /primary
    http-check expect status 200
    default-server $check on-marked-down shutdown-sessions
EOF
	print $fh "    server $_->[0] 127.0.0.1:$_->[1] check port $_->[2]\n" for @{ $o{servers} };
	close $fh;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'haproxy', '-c', '-f', $cfg ], '>', \$out, '2>', \$err)
	  or die "haproxy -c rejects its configuration:\n$out$err";
	my $h = IPC::Run::start([ 'haproxy', '-db', '-f', $cfg ], '>', \$out, '2>', \$err);
	return { run => $h, dir => $dir, cfg => $cfg, out => \$out, err => \$err };
}

# write_through($port): one write by a new psql client connected to
# 127.0.0.1:$port (HAProxy), into table http_probe; returns the name of the
# server that committed it, or undef (and the error as a second value).
sub write_through
{
	my ($port) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
		"host=127.0.0.1 port=$port dbname=postgres connect_timeout=2",
		'-c', "INSERT INTO http_probe VALUES (default) RETURNING current_setting('pg_quorum.node_name')");
	my $ok = eval { IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(10)) };
	chomp $out;
	return ($ok && $out ne '') ? ($out, '') : (undef, $err || $@ || 'no output');
}

# wait_write_through($port, $seconds, not => NAME): retry write_through
# every 20 ms until a server other than NAME commits one; returns (server,
# seconds it took) or an empty list after a diag of the last error.
sub wait_write_through
{
	my ($port, $seconds, %o) = @_;
	my $start = time();
	my ($server, $err);
	while (time() - $start < $seconds)
	{
		($server, $err) = write_through($port);
		return ($server, time() - $start)
		  if defined $server && !(defined $o{not} && $server eq $o{not});
		Time::HiRes::usleep(20_000);
	}
	diag("no write through port $port within ${seconds}s: " . ($err // "only $o{not}"));
	return ();
}

sub stop_haproxy
{
	my ($hp) = @_;
	return unless $hp && $hp->{run};
	$hp->{run}->kill_kill(grace => 5);
	delete $hp->{run};
	return;
}

1;
