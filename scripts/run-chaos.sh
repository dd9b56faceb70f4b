#!/usr/bin/env bash
# scripts/run-chaos.sh [RUN...]: the fault campaign's short set, the one
# "make chaos" and scripts/test.sh run: the checker's self-test, then one
# run (test/chaos/chaos.pl) per line of the set below, each a fixed seed,
# topology, mode and list of fault kinds.  A RUN is a line of the same form
# ("SEED SERVERS MODE DURATION KINDS", SERVERS 3, 5 or 2w for two servers
# and the witness) to run instead.  Run it through scripts/sandbox.sh, which
# sets TESTDIR and PGQ_WORK.  Ends with "N passed, N failed".
#
# The short set draws only from the faults the product survives today (see
# the README's "Fault campaign", which names the liveness failure the other
# kinds still find); "make soak-chaos" draws from every kind.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pgq_pg_env

: "${PGQ_WORK:?run this through scripts/sandbox.sh}"
safe=kill_postmaster,kill_all,pause_worker,part_gossip,part_repl,part_full,isolate_leader,bridge,loss_gossip,loss_repl,delay_send,slow_disk,restart,op_failover,op_pause
short=(
	"101 3 sync 25 $safe"
	"102 3 async 25 $safe"
	"103 2w sync 25 $safe"
)
[ $# -gt 0 ] && short=("$@")

passed=0
failed=0
result()
{
	if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

prove test/chaos/checker.pl
result $?

i=0
for run in "${short[@]}"; do
	read -r seed servers mode duration kinds <<<"$run"
	i=$((i + 1))
	args=(--seed "$seed" --mode "$mode" --duration "$duration")
	case $servers in
		2w) args+=(--servers 2 --witness) ;;
		*) args+=(--servers "$servers") ;;
	esac
	[ -n "${kinds:-}" ] && args+=(--kinds "$kinds")
	dir=$PGQ_WORK/chaos-$i
	mkdir -p "$dir"
	echo "---- chaos run $i: ${args[*]}"
	TESTDIR=$dir perl test/chaos/chaos.pl "${args[@]}"
	rc=$?
	result $rc
	if [ $rc -ne 0 ]; then
		for log in "$dir"/tmp_check/log/*.log; do
			[ -f "$log" ] || continue
			echo "---- last lines of $log ----"
			tail -n 25 "$log"
		done
	else
		rm -rf "$dir"
	fi
done
echo "chaos: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
