# test/cluster/062_rejoin_rewind_interrupted.pl: pg_quorum_rejoin never
# runs pg_rewind again on a directory where pg_rewind did not finish, and
# never calls it unchanged (issue 10: the fault campaign's seed 205 at
# 1bacfa9).
#
# In seed 205 the leader was killed while pg_rewind copied its files to
# node1: "unexpected result while fetching remote files".  pg_rewind had
# begun to overwrite node1's directory (its postgresql.conf was empty), and
# pg_quorum_rejoin, finding no leader to rebuild from, said the directory
# was unchanged.  Its next run would have restored node1's own files and
# run pg_rewind on it again, which finds the blocks to copy in the
# directory's own WAL, which the first run may have replaced: blocks left
# behind, silently.  PostgreSQL's documentation says to take a new copy
# then.
#
# Three voters, asynchronous.  quorum.failover('node2') deposes node1, which
# stops.  pg_quorum_rejoin runs on node1 with a pg_rewind that fails (after
# writing into the directory, as the real one did), then:
# - it fails and says the directory may be half rewound, and to use
#   --rebuild;
# - run again without --rebuild, it fails at once and does not run
#   pg_rewind (before: it ran the real pg_rewind and made node1 a standby);
# - with --rebuild it copies the leader, and node1 starts, follows node2,
#   and has node2's row.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgQuorum::Test;

my $fail_s = 30;

my $c = start_failover_test(fail_s => $fail_s, synchronous => 0);
my @nodes = @{ $c->{nodes} };
my ($node1, $node2, $node3) = @nodes;

$node1->safe_psql('postgres', 'CREATE TABLE t062 (who text)');
ok(defined wait_following($_, $node1, $fail_s), $_->name . ' follows node1') for ($node2, $node3);
my ($ok, $state, $msg) = try_sql($node1, "SELECT quorum.failover('node2')");
ok($ok, "quorum.failover('node2') succeeds") or diag($msg);
my ($leader) = wait_for_leader([ $node2, $node3 ], $fail_s);
is($leader && $leader->name, 'node2', 'node2 leads') or give_up('no switchover', @nodes);
ok(defined wait_until($fail_s, sub { (try_sql($node2, "INSERT INTO t062 VALUES ('node2')"))[0] }),
	'node2 commits a row');
ok(defined wait_stopped($node1, $fail_s), 'node1, deposed, stops');

# A pg_rewind that dies after it began copying: the first file it copies
# is postgresql.conf, left empty, as in seed 205.
my $fake = PostgreSQL::Test::Utils::tempdir() . '/pg_rewind';
open my $fh, '>', $fake or die $!;
print $fh <<'EOF';
#!/bin/sh
for a in "$@"; do
	case "$a" in --target-pgdata=*) : > "${a#--target-pgdata=}/postgresql.conf" ;; esac
done
echo "pg_rewind: error: unexpected result while fetching remote files" >&2
exit 1
EOF
close $fh;
chmod 0755, $fake or die $!;

my ($rc, $out) = rejoin($node1, ["--pg-rewind=$fake"], $node2, $node3);
is($rc, 1, 'pg_quorum_rejoin fails when pg_rewind fails') or diag($out);
like($out, qr/may be half rewound.*--rebuild/s, 'it says the directory may be half rewound, and to use --rebuild')
  or diag($out);
like(slurp_file($node1->data_dir . '/postgresql.conf'), qr/pg_quorum/,
	'node1\'s own postgresql.conf is put back');

($rc, $out) = rejoin($node1, $node2, $node3);
is($rc, 1, 'run again without --rebuild, it fails') or diag($out);
like($out, qr/pg_rewind did not finish on .* in an earlier run.*--rebuild/s,
	'it says pg_rewind did not finish there, and to use --rebuild') or diag($out);
unlike($out, qr/running \S*pg_rewind/, 'it does not run pg_rewind again') or diag($out);
ok(!-e $node1->data_dir . '/standby.signal', 'node1 is not made a standby');

($rc, $out) = rejoin($node1, ['--rebuild'], $node2, $node3);
is($rc, 0, 'with --rebuild it succeeds') or diag($out);
like($out, qr/rebuilding it.*pg_basebackup/s, 'by copying the leader') or diag($out);
$node1->start;
ok(defined wait_following($node1, $node2, $fail_s), 'node1 follows node2');
ok(defined wait_for_query($node1, 'SELECT string_agg(who, \',\') FROM t062', 'node2', $fail_s),
	'node1 has node2\'s row');
($rc, $out) = rejoin_after_stop($node1, $node2, $node3);
is($rc, 0, 'and a later run rewinds it as usual') or diag($out);
unlike($out, qr/did not finish/, 'with nothing left of the failed pg_rewind') or diag($out);

stop_all(@nodes);
done_testing();

# rejoin_after_stop($node, @peers): stop $node cleanly and run the tool.
sub rejoin_after_stop
{
	my ($node, @peers) = @_;
	$node->stop('fast');
	return rejoin($node, @peers);
}
