# test/cluster/040_commit_window.pl: a commit held after the fence check,
# across a failover, is never acknowledged (issue 9, H3).
#
# The commit fence checks the lease at pre-commit; after that PostgreSQL
# still writes and flushes the commit record.  Here one backend of the
# primary node1 is held exactly there: strace delays its fdatasync of the
# WAL (the commit record's flush; the backend reports wait event WALSync),
# and it holds WALWriteLock meanwhile, so the workload's commits on node1
# queue behind it in the same window, as do a PREPARE TRANSACTION and a
# COMMIT PREPARED sent meanwhile.  Then node1's gossip is cut (its
# replication is not), node2 or node3 is elected and accepts the
# workload's writes, and only then is the backend released.  Its commit
# record is durable on node1 by then, but node1 has no lease any more: the
# client must get no COMMIT, only a lost connection, and node1 must
# acknowledge none of the held writes after the new leader accepted one;
# the same for the two-phase commands.
# Asynchronous mode, where nothing else would stop the answer (in
# synchronous mode the standbys, gone to the new leader, would never
# confirm it), and fsync = on, without which there is no fdatasync to hold.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;
use PgQuorum::Net;
use PgQuorum::Workload;
use PgQuorum::Session;

my $fail_s = 30;
my $now = \&PgQuorum::Workload::now;

my $c = start_failover_test(
	nft         => 1,
	strace      => 1,
	workload    => 1,
	fail_s      => $fail_s,
	synchronous => 0,
	extra       => "max_prepared_transactions = 5\n");
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;
my @gossip = @{ $c->{gossip} };
my $wl = $c->{wl};
# Asynchronous mode: pg_quorum empties synchronous_standby_names.
ok(defined wait_for_query($node1, 'SELECT mode FROM quorum.status', 'async', $fail_s),
	'node1 leads in asynchronous mode');
ok(defined wait_for_query($node1, 'SHOW synchronous_standby_names', '', $fail_s),
	'with synchronous_standby_names empty');

# --- Hold one backend in the flush of its commit record. ------------------
# (A prepared transaction to commit while it is held.)
$node1->safe_psql('postgres',
	"BEGIN; INSERT INTO pgq_history (id, server, sent) VALUES (-43, 'node1', 0); PREPARE TRANSACTION 'h3_commit'");
my $held = PgQuorum::Session->hold($node1,
	"INSERT INTO pgq_history (id, server, sent) VALUES (-40, 'node1', 0)",
	'the commit of -40, past the fence, in the flush of its record');

# Two-phase commit, held behind it (WALWriteLock) after its own fence check.
my $commit_prepared = PgQuorum::Session->open($node1);
$commit_prepared->send("COMMIT PREPARED 'h3_commit'; SELECT 'ok committed';");
my $prepare = PgQuorum::Session->open($node1);
$prepare->send("BEGIN; INSERT INTO pgq_history (id, server, sent) VALUES (-44, 'node1', 0); PREPARE TRANSACTION 'h3_prepare'; SELECT 'ok prepared';");
for my $s ([ 'COMMIT PREPARED', $commit_prepared ], [ 'PREPARE TRANSACTION', $prepare ])
{
	ok( defined wait_for_query($node1,
			"SELECT wait_event FROM pg_stat_activity WHERE pid = $s->[1]{pid}", 'WALWrite', $fail_s),
		"a $s->[0] waits behind it to flush its record");
}

# --- Fail over while it is held. ------------------------------------------
my $t_cut = $now->();
isolate_ports(udp => [ $gossip[0] ]);
my ($new, $term2, $took) = wait_for_leader([ $node2, $node3 ], $fail_s, not => 'node1');
ok($new, 'node2 and node3 elect a new leader');
give_up('no failover', @nodes) unless $new;
my $first = $wl->wait_ack($fail_s, server => $new->name, sent_after => $t_cut);
ok($first, $new->name . ' accepts writes');
give_up('the new leader accepts no write', @nodes) unless $first;
note(sprintf('%s acknowledged its first write %.2f s after the cut',
		$new->name, $first->{done} - $t_cut));
my ($out) = $held->output;
is($out, '', 'the held commit is still unanswered when the new leader accepts writes');

# --- Release it. ----------------------------------------------------------
my $t_release = $now->();
$held->release;
my $how = $held->wait_answer($fail_s, qr/ok held/);
my ($held_out, $held_err) = $held->output;
isnt($how, 'answer', 'node1 does not acknowledge the held commit after the new leader accepted writes')
  or diag("psql printed: $held_out");
is($how, 'lost', 'its client sees a lost connection instead')
  or diag("psql: $held_out / $held_err");
unlike($held_err, qr/ERROR/, 'and no error for a transaction that committed') or diag($held_err);
for my $s ([ 'COMMIT PREPARED', $commit_prepared, qr/ok committed/ ],
	[ 'PREPARE TRANSACTION', $prepare, qr/ok prepared/ ])
{
	my $how2 = $s->[1]->wait_answer($fail_s, $s->[2]);
	is($how2, 'lost', "the held $s->[0] is not acknowledged either: its client sees a lost connection")
	  or diag(join(' / ', $s->[1]->output));
}
note("the held session's client: $held_err");
ok(slurp_file($node1->logfile) =~ /pg_quorum closes the connection without acknowledging the commit/,
	'node1 logs why it closed the connection');

# Every write node1 acknowledged was answered before the new leader's
# first.  Stopping the workload lets its writes in flight finish first.
my @late = grep {
	     $_->{server} eq 'node1'
	  && $_->{status} eq 'ok'
	  && $_->{done} > $first->{done}
} $wl->stop;
is(scalar @late, 0, 'node1 acknowledged no write after ' . $new->name . ' acknowledged one')
  or diag(join("\n", map { "write $_->{id} sent $_->{sent} done $_->{done}" } @late));
note(sprintf('released %.2f s after the cut', $t_release - $t_cut));

heal();
$_->close for ($held, $commit_prepared, $prepare);
stop_all(@nodes);
done_testing();
