# test/cluster/021_http_requests.pl: the HTTP endpoint's handling of
# requests, credentials and TLS, on single servers.
#
# Server "web_plain" serves plain HTTP with basic authentication; server
# "web_tls" serves HTTPS only, with authentication too.  Both are
# membership-only (pg_quorum.failover = off), so a server out of recovery
# is the primary.  Checked with curl and raw sockets: the check paths
# answer without credentials and /cluster and /metrics ask for them;
# HEAD, 404, 405; malformed and oversized requests get 400; a slow client
# is cut off after the timeout while others are served; connections past
# the bound are closed at once; the credentials file is re-read on reload;
# nothing served carries the conninfo.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IO::Socket::INET;
use IPC::Run;
use IO::Select;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgQuorum::Test;
use PgQuorum::Http;

my $start_s   = 30;    # bound for an endpoint to answer after start
my $timeout_s = 5;     # HTTP_TIMEOUT_MS in extension/http.c
my $conns_max = 32;    # HTTP_CONNECTIONS_MAX in extension/http.c

my $key = new_key();
my ($g1, $g2, $h1, $h2) = free_gossip_ports(4);

# Files owned by the server's user only, written before the server starts.
sub write_private
{
	my ($node, $name, $text) = @_;
	my $path = $node->data_dir . "/$name";
	my $old  = umask(077);
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	umask($old);
	chmod 0600, $path;
	return $path;
}

my $plain = new_quorum_node('web_plain', key => $key, port => $g1, peers => [],
	extra => http_conf($h1, extra => "pg_quorum.http_auth_file = 'http.auth'\n"));
write_private($plain, 'http.auth', "prom:s3cret\n");

my $tls = new_quorum_node('web_tls', key => $key, port => $g2, peers => [],
	cluster => 'other',
	extra => http_conf($h2, extra => "pg_quorum.http_auth_file = 'http.auth'\n"
		  . "pg_quorum.http_ssl_cert_file = 'http.crt'\n"
		  . "pg_quorum.http_ssl_key_file = 'http.key'\n"));
write_private($tls, 'http.auth', "prom:first\n");
my ($out, $err) = ('', '');
IPC::Run::run(
	[ 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
		'-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
		'-keyout', $tls->data_dir . '/http.key', '-out', $tls->data_dir . '/http.crt' ],
	'>', \$out, '2>', \$err) or die "openssl req: $err";
chmod 0600, $tls->data_dir . '/http.key';

$_->start for $plain, $tls;
$plain->safe_psql('postgres', 'CREATE EXTENSION pg_quorum');

my $base = "http://127.0.0.1:$h1";
ok(defined wait_until($start_s, sub { (curl("$base/health"))[0] == 200 }),
	'/health answers 200 without credentials');

# The check paths, with Patroni's codes for a primary.
my %want = ('/primary' => 200, '/read-write' => 200, '/replica' => 503,
	'/read-only' => 200, '/replica?lag=10MB' => 503, '/leader' => 503);
for my $path (sort keys %want)
{
	my ($status, $body) = curl("$base$path");
	is($status, $want{$path}, "$path answers $want{$path} on a primary without elections");
	like($body, qr/"name":"web_plain"/, "$path describes this server") unless $path eq '/leader';
}

# Credentials.
my ($status, $body, $head) = curl("$base/metrics");
is($status, 401, '/metrics without credentials is 401');
like($head, qr/^WWW-Authenticate: Basic realm="pg_quorum"/mi, 'and asks for basic authentication');
is((curl("$base/metrics", args => [ '-u', 'prom:wrong' ]))[0], 401, 'a wrong password is 401');
is((curl("$base/cluster"))[0], 401, '/cluster without credentials is 401');
($status, $body) = curl("$base/metrics", args => [ '-u', 'prom:s3cret' ]);
is($status, 200, '/metrics with the right credentials is 200');
like($body, qr/^# TYPE pg_quorum_term gauge$/m, 'it is a Prometheus exposition');
my ($ok, $lint) = promtool_check($body);
ok($ok, 'promtool check metrics accepts it') or diag($lint);
($status, $body) = curl("$base/cluster", args => [ '-u', 'prom:s3cret' ]);
is($status, 200, '/cluster with credentials is 200');
like($body, qr/"members":\[\{"name":"web_plain"/, '/cluster lists the members');
unlike($body, qr/conninfo|host=|port=/, '/cluster carries no conninfo');

# Methods and paths.
($status, $body, $head) = curl("$base/health", args => ['-I']);
is($status, 200, 'HEAD /health is 200');
like($head, qr/^Content-Length: [1-9]/mi, 'with the length of the body it leaves out');
($status, $body, $head) = curl("$base/health", args => [ '-X', 'POST', '-d', 'x' ]);
is($status, 400, 'a request with a body is 400');
($status, $body, $head) = curl("$base/health", args => [ '-X', 'DELETE' ]);
is($status, 405, 'DELETE is 405');
like($head, qr/^Allow: GET, HEAD/mi, 'with the methods allowed');
is((curl("$base/nothing-here"))[0], 404, 'an unknown path is 404');

# Malformed and oversized requests, over raw sockets.
my %bad = (
	'garbage'         => "GARBAGE\r\n\r\n",
	'HTTP/2 preface'  => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	'bad lag'         => "GET /replica?lag=ten HTTP/1.1\r\n\r\n",
	'oversized head'  => "GET /health HTTP/1.1\r\nX: " . ('a' x 9000),
	'long path'       => 'GET /' . ('p' x 300) . " HTTP/1.1\r\n\r\n",
	'folded header'   => "GET /health HTTP/1.1\r\nX: a\r\n b\r\n\r\n");
for my $what (sort keys %bad)
{
	my ($answer) = raw_request($h1, $bad{$what});
	like($answer // '(no answer)', qr{^HTTP/1\.1 400 }, "$what: 400");
}

# A slow client is cut off after the timeout; others are served meanwhile.
{
	my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h1, Proto => 'tcp')
	  or die "connect: $!";
	$slow->syswrite("GET /health HTTP/1.1\r\nHost: slow\r\n");
	my $t0 = time();
	is((curl("$base/health"))[0], 200, 'a client is served while a slow one waits');
	cmp_ok(time() - $t0, '<', 2, 'promptly');
	my $sel = IO::Select->new($slow);
	my $closed;
	while (time() - $t0 < $timeout_s * 3)
	{
		next unless $sel->can_read(0.2);
		my $n = $slow->sysread(my $chunk, 4096);
		if (!$n) { $closed = time() - $t0; last; }
	}
	ok(defined $closed, 'the slow client is disconnected');
	cmp_ok($closed // 0, '>=', $timeout_s - 0.5, sprintf('after the timeout (%.1f s)', $closed // -1));
}

# Past the bound, a connection is closed at once and idle ones do not
# block the endpoint for longer than the timeout.
{
	my @idle;
	for (1 .. $conns_max)
	{
		push @idle, IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h1, Proto => 'tcp')
		  or die "connect: $!";
	}
	my ($answer, $took) = raw_request($h1, '', wait_s => $timeout_s - 1);
	ok(defined $answer && $answer eq '' && $took < $timeout_s - 1,
		sprintf('connection %d is closed at once (%.2f s)', $conns_max + 1, $took));
	close $_ for @idle;
	ok(defined wait_until($timeout_s * 3, sub { (curl("$base/health"))[0] == 200 }),
		'the endpoint serves again once the idle connections are gone');
}

is(query($plain, 'SELECT worker_running FROM quorum.status'), 't',
	'the gossip worker kept running throughout');

# TLS, and credentials re-read on reload.
my $tbase  = "https://127.0.0.1:$h2";
my @cacert = ('--cacert', $tls->data_dir . '/http.crt');
ok(defined wait_until($start_s, sub { (curl("$tbase/health", args => \@cacert))[0] == 200 }),
	'HTTPS /health answers 200 with a verified certificate');
is((curl("http://127.0.0.1:$h2/health"))[0], 0, 'plain HTTP gets no answer from the TLS endpoint');
is((curl("$tbase/metrics", args => [ @cacert, '-u', 'prom:first' ]))[0], 200,
	'HTTPS /metrics with credentials is 200');
write_private($tls, 'http.auth', "prom:second\n");
$tls->reload;
ok(defined wait_until($start_s,
		sub { (curl("$tbase/metrics", args => [ @cacert, '-u', 'prom:second' ]))[0] == 200 }),
	'after a reload the new password is accepted');
is((curl("$tbase/metrics", args => [ @cacert, '-u', 'prom:first' ]))[0], 401,
	'and the old one is refused');

$_->stop for $plain, $tls;
done_testing();
