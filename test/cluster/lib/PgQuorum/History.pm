# test/cluster/lib/PgQuorum/History.pm: an independent checker of the
# history PgQuorum::Workload records.
#
# It knows nothing of pg_quorum: its inputs are what clients were told
# (the history: for each write, the server, "ok" / "err" / "lost", and the
# interval [sent, done] in which its commit must have happened) and the
# rows each server holds when it is read back.  It checks:
#
# 1. No acknowledged write is lost: every "ok" write is on the final
#    primary (and on every server named in "complete"), with the server it
#    was sent to.
# 2. No refused write committed anywhere: a row whose write got an ERROR is
#    a violation on any server, even a fenced one read back before it
#    rejoins; every row must come from a write the workload sent, to the
#    server the row names.
# 3. No two servers accepted writes in overlapping intervals.  Precisely:
#    the commit of each acknowledged write w happened at an unknown instant
#    c(w) in [sent(w), done(w)].  If at most one server accepts writes at
#    any instant, the timeline splits into eras, each a stretch of time in
#    which only one server committed; consecutive eras belong to different
#    servers, and each new era means the writable server changed (a
#    failover or switchover).  Two writes whose intervals do not overlap
#    are ordered for certain, so a chain of pairwise disjoint intervals
#    w1 < w2 < ... whose servers change k times forces at least k changes
#    of writable server, whatever the exact commit instants were.  The
#    checker finds the chain with the most changes (a sweep in
#    O(n log n)) and fails when it forces more changes than the test says
#    it caused (max_changes).  Two servers accepting writes at the same
#    time for longer than a write takes show up as a chain that alternates
#    between them, and a spurious extra failover as one change too many.
#    The eras reported are those of that chain: per era, its server and
#    the interval from its first to its last acknowledged write between
#    the neighbouring eras' chain writes.
#
# 4. No server acknowledges a write invoked after another server had
#    completed one on a newer timeline (timeline_violations): PostgreSQL
#    starts a new timeline at each promotion, so a primary that still
#    acknowledges writes on an older timeline after the new one has
#    acknowledged one is a second primary, whatever the exact commit
#    instants (they lie in the intervals, and the intervals are ordered).
#    And one timeline has one primary: acknowledged writes of one timeline
#    all come from one server.
# 5. A transaction commits whole (txn_violations): the rows of a
#    multi-statement write are all on a server or none is.
#
# What it cannot see: a write whose interval spans a whole era of another
# server (e.g. one in flight on a server that was SIGSTOPped throughout)
# orders nothing; tests check such writes directly (rule 2 and explicit
# probes of the paused server).

package PgQuorum::History;

use strict;
use warnings;

use Exporter 'import';
use List::Util qw(max min);
use PgQuorum::Workload ();

our @EXPORT = qw(read_rows check_history timeline_violations txn_violations);

# read_rows($node): { id => server } for every row of the workload's table
# on this server (a standby too), or undef when the query fails.
sub read_rows
{
	my ($node) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		'postgres',
		"COPY (SELECT id, server FROM $PgQuorum::Workload::TABLE) TO STDOUT",
		stdout => \$out,
		stderr => \$err);
	return undef if $rc != 0;
	my %rows;
	for my $line (split /\n/, $out)
	{
		my ($id, $server) = split /\t/, $line;
		$rows{$id} = $server;
	}
	return \%rows;
}

# forced_changes(@acked): (changes, eras) for acknowledged writes; see 3.
sub forced_changes
{
	my @w = @_;
	return (0, []) unless @w;
	my @by_sent = sort { $a->{sent} <=> $b->{sent} } @w;
	my @by_done = sort { $a->{done} <=> $b->{done} } @w;
	my (%best, %dp, %prev);    # best{server} = [changes, write] over inserted writes
	my $k = 0;
	for my $i (@by_sent)
	{
		# Insert every write that ended before this one was sent (all of
		# them have their dp already: they were sent even earlier).
		while ($k < @by_done && $by_done[$k]{done} < $i->{sent})
		{
			my $j = $by_done[$k++];
			my $b = $best{ $j->{server} };
			$best{ $j->{server} } = [ $dp{ $j->{id} }, $j ]
			  if !$b || $dp{ $j->{id} } > $b->[0];
		}
		my ($v, $p) = (0, undef);
		for my $server (keys %best)
		{
			my ($c, $j) = @{ $best{$server} };
			$c += 1 if $server ne $i->{server};
			($v, $p) = ($c, $j) if !defined $p || $c > $v;
		}
		$dp{ $i->{id} } = $v;
		$prev{ $i->{id} } = $p;
	}
	my ($last) = sort { $dp{ $b->{id} } <=> $dp{ $a->{id} } || $a->{done} <=> $b->{done} } @w;
	my @chain;
	for (my $x = $last; $x; $x = $prev{ $x->{id} }) { unshift @chain, $x; }
	my @eras;
	for my $x (@chain)
	{
		if (!@eras || $eras[-1]{server} ne $x->{server})
		{
			push @eras, { server => $x->{server}, first => $x, last => $x };
		}
		$eras[-1]{last} = $x;
	}
	# Each era extends from the end of the previous era's last chain write
	# to the start of the next era's first one: report the acknowledged
	# writes of its server in that window.
	for my $k (0 .. $#eras)
	{
		my $e = $eras[$k];
		my $from = $k > 0 ? $eras[ $k - 1 ]{last}{done} : -9e99;
		my $to = $k < $#eras ? $eras[ $k + 1 ]{first}{sent} : 9e99;
		my @mine = grep {
			$_->{server} eq $e->{server} && $_->{sent} > $from && $_->{done} < $to
		} @w;
		$e->{writes} = scalar @mine;
		$e->{from} = min(map { $_->{sent} } @mine);
		$e->{to} = max(map { $_->{done} } @mine);
	}
	return ($dp{ $last->{id} }, \@eras);
}

# timeline_violations(@acked): rule 4 over acknowledged writes that carry
# their timeline (tli); a list of sentences.
sub timeline_violations
{
	my @w = grep { $_->{tli} } @_;
	my @v;
	my %server_of;
	for my $x (sort { $a->{done} <=> $b->{done} } @w)
	{
		my $first = $server_of{ $x->{tli} } //= $x;
		push @v, sprintf('timeline %d has two primaries: %s acknowledged write %d and %s write %d',
			$x->{tli}, $first->{server}, $first->{id}, $x->{server}, $x->{id})
		  if $first->{server} ne $x->{server} && !$server_of{"$x->{tli} $x->{server}"}++;
	}
	# Sweep by invocation: the newest timeline any write completed on before
	# this one was invoked.
	my @by_done = sort { $a->{done} <=> $b->{done} } @w;
	my ($k, $newest, @late) = (0, undef);
	for my $x (sort { $a->{sent} <=> $b->{sent} } @w)
	{
		while ($k < @by_done && $by_done[$k]{done} < $x->{sent})
		{
			my $y = $by_done[ $k++ ];
			$newest = $y if !$newest || $y->{tli} > $newest->{tli};
		}
		push @late, [ $x, $newest ] if $newest && $newest->{tli} > $x->{tli};
	}
	if (@late)
	{
		my ($x, $y) = @{ $late[0] };
		push @v, sprintf('%d writes were acknowledged on an older timeline after a write on a '
			  . 'newer one had completed (two primaries at once); first: %s write %d on timeline %d, '
			  . 'invoked %.3f s after %s completed write %d on timeline %d',
			scalar @late, $x->{server}, $x->{id}, $x->{tli}, $x->{sent} - $y->{done},
			$y->{server}, $y->{id}, $y->{tli});
	}
	return @v;
}

# txn_violations(\@records, { server => rows }): rule 5; a list of
# sentences.
sub txn_violations
{
	my ($records, $rows) = @_;
	my %ids;
	push @{ $ids{ $_->{txn} } }, $_->{id} for grep { defined $_->{txn} && $_->{txn} ne '' } @$records;
	my @v;
	for my $server (sort keys %{ $rows // {} })
	{
		my $r = $rows->{$server} or next;
		my @torn = grep {
			my $n = grep { exists $r->{$_} } @{ $ids{$_} };
			$n && $n < @{ $ids{$_} }
		} sort { $a <=> $b } keys %ids;
		push @v, sprintf('%s holds part of %d transactions (not all of their rows): first ids %s',
			$server, scalar @torn, show_ids(@torn))
		  if @torn;
	}
	return @v;
}

sub show_ids
{
	my @ids = sort { $a <=> $b } @_;
	my $s = join(', ', @ids[ 0 .. min($#ids, 9) ]);
	$s .= sprintf(' and %d more', @ids - 10) if @ids > 10;
	return $s;
}

# check_history(records => [history], rows => { server => read_rows() },
#               final => SERVER, complete => [SERVERS], max_changes => N):
# returns { violations => [sentences], changes => N, eras => [...],
# report => "multi-line summary" }.  Rows of a fenced server read before it
# rejoined may be passed under any name in rows.
sub check_history
{
	my (%o) = @_;
	my @records = @{ $o{records} };
	my %attempt = map { $_->{id} => $_ } @records;
	my @acked = grep { $_->{status} eq 'ok' } @records;
	my @v;

	# 1. Acknowledged writes are on the final primary and on "complete"
	# (final may be undef: asynchronous mode promises nothing here).
	for my $server (grep { defined } $o{final}, @{ $o{complete} // [] })
	{
		my $rows = $o{rows}{$server};
		if (!$rows)
		{
			push @v, "the rows of $server could not be read";
			next;
		}
		my @missing = map { $_->{id} } grep { !exists $rows->{ $_->{id} } } @acked;
		push @v, sprintf('%d acknowledged writes are missing on %s: ids %s',
			scalar @missing, $server, show_ids(@missing))
		  if @missing;
	}

	# 2. Every row comes from a write that was not refused, and names the
	# server it was sent to.
	for my $server (sort keys %{ $o{rows} })
	{
		my $rows = $o{rows}{$server} or next;
		my (@unknown, @refused, @moved);
		while (my ($id, $srv) = each %$rows)
		{
			my $a = $attempt{$id};
			if (!$a) { push @unknown, $id; next; }
			push @refused, $id if $a->{status} eq 'err';
			push @moved, $id if $a->{server} ne $srv;
		}
		push @v, sprintf('%s holds %d rows the workload never wrote: ids %s',
			$server, scalar @unknown, show_ids(@unknown))
		  if @unknown;
		push @v, sprintf('%s holds %d rows of writes that were refused with an error '
			  . '(committed although the client was told otherwise): ids %s (first: %s)',
			$server, scalar @refused, show_ids(@refused), $attempt{ min(@refused) }{detail})
		  if @refused;
		push @v, sprintf('%s holds %d rows that name another server than the one written to: ids %s',
			$server, scalar @moved, show_ids(@moved))
		  if @moved;
	}

	# 3. No more changes of writable server than the test caused.
	my ($changes, $eras) = forced_changes(@acked);
	my $t0 = @records ? min(map { $_->{sent} } @records) : 0;
	my @lines = map {
		sprintf('  era %d: %s from %.3f s to %.3f s, %d acknowledged writes',
			$_ + 1, $eras->[$_]{server}, $eras->[$_]{from} - $t0,
			$eras->[$_]{to} - $t0, $eras->[$_]{writes})
	} 0 .. $#$eras;
	# A long alternation (a split brain) is summarized.
	splice(@lines, 10, @lines - 15, sprintf('  ... %d more eras ...', @lines - 15))
	  if @lines > 25;
	if (defined $o{max_changes} && $changes > $o{max_changes})
	{
		push @v, sprintf('the history forces %d changes of writable server, '
			  . 'the test caused at most %d (two servers accepted writes at once, '
			  . 'or a failover nobody asked for):' . "\n%s",
			$changes, $o{max_changes}, join("\n", @lines));
	}

	push @v, timeline_violations(@acked) if grep { $_->{tli} } @acked;
	push @v, txn_violations(\@records, $o{rows});

	my %count;
	$count{ $_->{status} }++ for @records;
	my $report = sprintf("%d writes: %d acknowledged, %d refused, %d without answer; "
		  . "%d forced changes of writable server\n%s",
		scalar @records, $count{ok} // 0, $count{err} // 0, $count{lost} // 0,
		$changes, join("\n", @lines));
	return { violations => \@v, changes => $changes, eras => $eras, report => $report };
}

1;
