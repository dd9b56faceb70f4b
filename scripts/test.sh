#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build, and run every test suite
# (CI runs exactly this, as root, through .ci/run).
#
# Every suite runs even when an earlier one failed, except the stages of a
# PostgreSQL version whose build or install failed, which are reported not
# run and count as failed.  Each suite ends with its
# own "N passed, N failed" line; a step that prints none (build, install,
# check-meta) counts as one test, passed when it exits 0.  A suite that exits
# non-zero without a failed test, or is killed by its time limit, counts one
# failure.  The script ends with one line summing all suites and exits
# non-zero when anything failed.  The whole run stays under BUDGET seconds
# (PGQ_TEST_BUDGET, default 80 minutes) so it fits CI's 90.  PGQ_PG_VERSIONS
# (default "15 17 18") names the PostgreSQL versions the server suites run
# against.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh

budget=${PGQ_TEST_BUDGET:-4800}
started=$(date +%s)
total_passed=0
total_failed=0
report=()
suite_failed=0    # the last suite's failures

# report_line NAME PASSED FAILED SECONDS NOTE
report_line()
{
	total_passed=$((total_passed + $2))
	total_failed=$((total_failed + $3))
	report+=("$(printf '  %-14s %5d ok %4d not ok %6ds%s' "$1" "$2" "$3" "$4" "$5")")
}

# not_run NAME WHY: a stage that cannot run; it counts as one failure.
not_run()
{
	echo
	pgq_log "$1: not run: $2"
	report_line "$1" 0 1 0 " (not run: $2)"
}

# run_suite NAME LIMIT_SECONDS CMD...
run_suite()
{
	local name=$1 limit=$2
	shift 2
	local out t0 rc line passed=0 failed=0 note=""
	local left=$((budget - ($(date +%s) - started)))
	out=$(mktemp)
	t0=$(date +%s)
	echo
	pgq_log "$name: $*"
	if [ "$left" -lt 30 ]; then
		note=" (not run: out of time)"
		rc=124
	else
		[ "$limit" -gt "$left" ] && limit=$left
		timeout --kill-after=30 "$limit" "$@" </dev/null 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
	fi
	line=$(grep -E '^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?[[:space:]]*$' "$out" | tail -n 1)
	if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		passed=${BASH_REMATCH[1]}
		failed=${BASH_REMATCH[2]}
		[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
	elif [ "$rc" -eq 0 ]; then
		passed=1
	else
		failed=1
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		[ -z "$note" ] && note=" (killed after ${limit}s)"
		[ "$failed" -eq 0 ] && failed=1
	fi
	rm -f "$out"
	suite_failed=$failed
	report_line "$name" "$passed" "$failed" $(($(date +%s) - t0)) "$note"
}

install_cmd=(make install)
pgq_is_root || install_cmd=(sudo make install)

run_suite setup 1800 bash scripts/setup.sh
# Without PostgreSQL the suites below fail one by one; the script goes on.
if (pgq_pg_env) >/dev/null 2>&1; then pgq_pg_env; else PG_CONFIG=pg_config; fi
run_suite build 900 make -j2
run_suite unit 900 make check-unit
run_suite unit-asan 1200 make check-unit-asan
run_suite tsan 900 make check-tsan
run_suite sim 1500 make check-sim
run_suite fuzz 1200 make check-fuzz
run_suite meta 60 make check-meta
# The Debian packages, tested before anything is installed from source.
run_suite deb-build 900 bash scripts/deb.sh build
run_suite deb-test 900 bash scripts/deb.sh test
run_suite install 300 "${install_cmd[@]}" PG_CONFIG="$PG_CONFIG"
run_suite pgtap 900 make installcheck
run_suite cluster 1800 make check-cluster
run_suite chaos 1200 make chaos
# The rolling upgrade from the previous release (0.1, for 15 only) to this
# build, on two copies of 15's installation, not the system's.
run_suite old-build 900 bash scripts/old-build.sh 15
run_suite upgrade 900 bash scripts/pg-matrix.sh 15 upgrade
# The fault campaign's checker fires on a build that answers commits late.
run_suite broken-fence 900 bash scripts/pg-matrix.sh 15 broken-fence
# The other PostgreSQL versions (the stages above are 15's): built from
# Debian's source packages on first use (scripts/pg-build.sh), then cached.
# Its prefix keeps the last install: after a failed build or install the
# tests would test that, so they do not run.
for v in ${PGQ_PG_VERSIONS:-15 17 18}; do
	[ "$v" = 15 ] && continue
	run_suite "pg$v-build" 2700 bash scripts/pg-matrix.sh "$v" build
	broken=
	[ "$suite_failed" -ne 0 ] && broken="pg$v-build failed"
	if [ -n "$broken" ]; then
		not_run "pg$v-install" "$broken"
	else
		run_suite "pg$v-install" 300 bash scripts/pg-matrix.sh "$v" install
		[ "$suite_failed" -ne 0 ] && broken="pg$v-install failed"
	fi
	for stage in pgtap:900 cluster:1800; do
		if [ -n "$broken" ]; then
			not_run "pg$v-${stage%:*}" "$broken"
		else
			run_suite "pg$v-${stage%:*}" "${stage#*:}" bash scripts/pg-matrix.sh "$v" "${stage%:*}"
		fi
	done
done

echo
pgq_log "summary ($(($(date +%s) - started))s)"
printf '%s\n' "${report[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
