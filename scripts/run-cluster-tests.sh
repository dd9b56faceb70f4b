#!/usr/bin/env bash
# scripts/run-cluster-tests.sh [FILES...]: run the multi-server tests
# (test/cluster/*.pl by default) with prove.  They use PostgreSQL's own
# PostgreSQL::Test::Cluster; run this through scripts/sandbox.sh ("make
# check-cluster" does), which sets PERL5LIB, PG_REGRESS and TESTDIR, and
# makes it work as root.  Ends with "N passed, N failed".
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pgq_pg_env

: "${TESTDIR:?run this through scripts/sandbox.sh}"
if [ $# -gt 0 ]; then files=("$@"); else files=(test/cluster/*.pl); fi
out=$TESTDIR/prove.out

# shellcheck disable=SC2086
prove ${PROVE_FLAGS:-} "${files[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	# Show why, since CI keeps nothing but this output.
	for log in "$TESTDIR"/tmp_check/log/regress_log_*; do
		[ -f "$log" ] || continue
		echo "---- last lines of $log ----"
		tail -n 80 "$log"
	done
	for log in "$TESTDIR"/tmp_check/log/*.log; do
		[ -f "$log" ] || continue
		echo "---- last lines of $log ----"
		tail -n 25 "$log"
	done
fi
perl scripts/tap-summary.pl "$out" "$rc"
