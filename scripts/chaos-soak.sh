#!/usr/bin/env bash
# scripts/chaos-soak.sh: the fault campaign's long run ("make soak-chaos").
#
#   CHAOS_RUNS=N       seeds to run (default 20), from CHAOS_FROM (default 1)
#   CHAOS_MODES        "sync async" (default): each seed runs in each mode
#   CHAOS_DURATION     seconds of faults per run (default 30)
#   CHAOS_KINDS        fault kinds to draw from (default: all)
#   PGQ_CHAOS_RESULTS  where results accumulate (default docs/soak, kept in
#                      the repository: commit it after each sitting)
#
# It does not use the system's installation of the extension, which other
# work may replace during a soak of hours: it copies PostgreSQL's
# installation (bindir's parent and sharedir; PostgreSQL finds its files
# relative to its binaries) into a private directory once, installs this
# tree's build into it (make install DESTDIR=...), and runs every server
# from there (PG_CONFIG pointing into it).  So build first ("make").
#
# The topology follows from the seed (seed mod 3: 3 servers, 5 servers, 2
# servers and the witness).  Each run goes through scripts/sandbox.sh on its
# own, and its "chaos-result" line is appended to
# $PGQ_CHAOS_RESULTS/<code>/results.jsonl, so a soak can be stopped and
# started again (runs already in the file are skipped) and split by seed
# ranges between sittings or machines (concatenate the files).  <code>
# names the code a run exercises, not the commit: a hash of every tracked
# file except those no run reads (the README, docs/, the other test suites,
# packaging, CI), so that a commit touching only those keeps the runs
# already made; each run records the commit it ran at.  A failed run's
# data and logs are kept (the sandbox names the directory).  A run that
# ends without a verdict counts as failed, its output kept beside the
# results; one ended by a TERM or INT (the soak was stopped) is not recorded
# and ends the soak.  Ends with the summary table of every run of this code
# (test/chaos/summary.pl).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh

runs=${CHAOS_RUNS:-20}
from=${CHAOS_FROM:-1}
modes=${CHAOS_MODES:-sync async}
duration=${CHAOS_DURATION:-30}
# Paths no run reads: changing them keeps the runs of this code.
unread=(README.md docs .ci debian LICENSE META.json 'test/cluster/*.pl' test/sql
	test/unit test/sim test/fuzz test/bench test/witness)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
read_paths=(-- . "${unread[@]/#/:!}")
# The code key of the tree as it is now (each run copies the tree afresh);
# a tree with changes not committed is "-dirty", keyed by those changes too.
code_key()
{
	local changes key
	changes=$(git diff HEAD "${read_paths[@]}" 2>/dev/null)
	key=$({ git ls-files -s "${read_paths[@]}" 2>/dev/null && printf '%s' "$changes"; } |
		sha1sum | cut -c1-12)
	[ -z "$changes" ] || key="$key-dirty"
	echo "$key"
}
code=$(code_key)
[[ $code == *-dirty ]] && commit="$commit-dirty"
dir=${PGQ_CHAOS_RESULTS:-docs/soak}/code-$code
mkdir -p "$dir"
results=$dir/results.jsonl
touch "$results"

# The private installation, readable by the server user.
pgq_pg_env
pg=${TMPDIR:-/tmp}/pg_quorum-chaos-pg.$code
if [ ! -x "$pg/$PG_BINDIR/pg_quorum_rejoin" ]; then
	pgq_log "chaos soak: private PostgreSQL installation in $pg"
	rm -rf "$pg"
	mkdir -p "$pg/$(dirname "$PG_BINDIR")" "$pg/$(dirname "$("$PG_CONFIG" --sharedir)")"
	cp -a "$(dirname "$PG_BINDIR")" "$pg/$(dirname "$(dirname "$PG_BINDIR")")/" &&
		cp -a "$("$PG_CONFIG" --sharedir)" "$pg/$(dirname "$("$PG_CONFIG" --sharedir)")/" &&
		rm -f "$pg/$("$PG_CONFIG" --sharedir)"/extension/pg_quorum* &&
		make -s install DESTDIR="$pg" PG_CONFIG="$PG_CONFIG" >/dev/null &&
		chmod -R a+rX "$pg" || pgq_die "could not make the private installation in $pg"
fi
export PG_CONFIG=$pg$PG_BINDIR/pg_config

for ((seed = from; seed < from + runs; seed++)); do
	case $((seed % 3)) in
		0) topo=(--servers 3) ; t=3 ;;
		1) topo=(--servers 5) ; t=5 ;;
		2) topo=(--servers 2 --witness) ; t=2w ;;
	esac
	for mode in $modes; do
		# Already run (the result's keys are sorted: mode, ..., seed, servers).
		grep -q "\"mode\":\"$mode\",.*\"seed\":$seed,\"servers\":${t%w}," "$results" && continue
		# A run copies scripts/ and the tests from the working tree: one
		# changed under the soak would be counted for code it did not run.
		now=$(code_key)
		[ "$now" = "$code" ] ||
			pgq_die "chaos soak: the code changed under the soak (now $now, was $code); start it again"
		pgq_log "chaos soak: seed $seed, $t servers, $mode (code $code, commit $commit)"
		args=(--seed "$seed" "${topo[@]}" --mode "$mode" --duration "$duration")
		[ -n "${CHAOS_KINDS:-}" ] && args+=(--kinds "$CHAOS_KINDS")
		out=$(mktemp)
		# The sandbox keeps the run's directory; a passing run's goes below.
		# A run without a result exits 0 too (seeds 233, 222, 216), and its
		# logs are the only witness of how it ended.
		PGQ_KEEP_WORK=1 PGQ_COMMIT=$commit bash scripts/sandbox.sh perl test/chaos/chaos.pl "${args[@]}" 2>&1 |
			tee "$out"
		rc=${PIPESTATUS[0]}
		work=$(sed -n 's/^sandbox: logs and data kept in //p' "$out" | tail -n 1)
		if grep -q '"verdict":"pass"' "$out" && [ -n "$work" ] && [ -d "$work" ]; then
			rm -rf "$work"
		fi
		if grep -q '^chaos-result: ' "$out"; then
			grep '^chaos-result: ' "$out" | sed 's/^chaos-result: //' >>"$results"
			rm -f "$out"
		elif [ "$rc" -eq 143 ] || [ "$rc" -eq 130 ]; then
			rm -f "$out"
			pgq_die "chaos soak: stopped during seed $seed ($mode); it is run again next time"
		else
			kept=$dir/no-result-$seed-$mode.log
			mv "$out" "$kept"
			printf '{"commit":"%s","duration":"%s","failovers":0,"faults":[],"mode":"%s","seed":%d,"servers":%d,"violations":["no verdict: the run ended (exit status %d) without a result; its output is in %s"],"witness":%d}\n' \
				"$commit" "$duration" "$mode" "$seed" "${t%w}" "$rc" "$kept" "$([ "$t" = 2w ] && echo 1 || echo 0)" >>"$results"
		fi
	done
done
perl test/chaos/summary.pl "$results"
