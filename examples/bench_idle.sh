#!/usr/bin/env bash
# examples/bench_idle.sh [SECONDS]: what an idle libquorum node costs with
# the threaded runtime ("make bench-idle"; measures, asserts nothing).
#
# Starts 5 example hosts (build/leader_server: one process each, its own IO
# thread, default timings, sealed gossip, push-pull over TCP) on 127.0.0.1,
# waits until they agree on a leader, lets them settle for 10 s, then reads
# each process's CPU time (utime + stime from /proc/PID/stat) over SECONDS
# (default 60) and its resident memory at the end: VmRSS, split into
# RssAnon (private) and RssFile (shared library pages, which every process
# using libcrypto and libc shares, inflated by the kernel's fault-around),
# from /proc/PID/status, and Pss (shared pages divided among the processes
# sharing them) from /proc/PID/smaps_rollup.  Prints one line per node and
# the median, min and max across nodes.  Every process started here is
# stopped.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_MEASURED=${1:-60}
N=5
BIN=$ROOT/build/leader_server
[ -x "$BIN" ] || { echo "bench-idle: $BIN is missing (run make)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/quorum-bench-idle.XXXXXX")
pids=()
cleanup()
{
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

read -r -a ports < <(perl "$ROOT/scripts/free-ports.pl" $((2 * N)))
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$work/key"
echo >> "$work/key"
chmod 600 "$work/key"
for i in $(seq 0 $((N - 1))); do
	peers=()
	for j in $(seq 0 $((N - 1))); do
		[ "$j" -ne "$i" ] && peers+=("127.0.0.1:${ports[$j]}")
	done
	"$BIN" "n$((i + 1))" "127.0.0.1:${ports[$i]}" "127.0.0.1:${ports[$((N + i))]}" \
		"$work/key" "$N" "${peers[@]}" 2> "$work/n$((i + 1)).log" &
	pids+=("$!")
done

query() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && cat <&3" 2>/dev/null; }
agreed()
{
	local first="" l
	for i in $(seq 0 $((N - 1))); do
		l=$(query "${ports[$((N + i))]}" | sed -n 's/^leader=\([^ ]*\) .*alive=5\/5$/\1/p')
		[ -n "$l" ] && [ "$l" != "-" ] || return 1
		[ -z "$first" ] && first=$l
		[ "$l" = "$first" ] || return 1
	done
	leader=$first
}
leader=""
end=$((SECONDS + 60))
until agreed; do
	[ "$SECONDS" -gt "$end" ] && { echo "bench-idle: no agreed leader within 60 s"; exit 1; }
	sleep 0.2
done
echo "bench-idle: $N nodes, leader $leader; settling 10 s, then measuring ${SECONDS_MEASURED} s"
sleep 10

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
t0=$(date +%s.%N)
declare -a start
for i in "${!pids[@]}"; do start[$i]=$(cpu_ticks "${pids[$i]}"); done
# The measurement itself is a pause: the nodes run on their own meanwhile.
sleep "$SECONDS_MEASURED"
t1=$(date +%s.%N)

printf '%-4s %8s %10s %10s %10s %10s\n' node "cpu %" "VmRSS KiB" "anon KiB" "file KiB" "Pss KiB"
results=$work/results
: > "$results"
for i in "${!pids[@]}"; do
	pid=${pids[$i]}
	ticks=$(($(cpu_ticks "$pid") - ${start[$i]}))
	cpu=$(awk -v t="$ticks" -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", 100 * t / hz / (b - a) }')
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
	file=$(awk '/^RssFile:/ { print $2 }' "/proc/$pid/status")
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
	printf '%-4s %8s %10s %10s %10s %10s\n' "n$((i + 1))" "$cpu" "$rss" "$anon" "$file" "$pss"
	echo "$cpu $rss $anon $file $pss" >> "$results"
done
stats()
{
	sort -n | awk '{ v[NR] = $1 } END { printf "median %s  min %s  max %s", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
echo "cpu % of one core: $(awk '{ print $1 }' "$results" | stats)  (clock ticks of ${hz} Hz over ${SECONDS_MEASURED} s)"
echo "VmRSS KiB:         $(awk '{ print $2 }' "$results" | stats)"
echo "RssAnon KiB:       $(awk '{ print $3 }' "$results" | stats)"
echo "RssFile KiB:       $(awk '{ print $4 }' "$results" | stats)"
echo "Pss KiB:           $(awk '{ print $5 }' "$results" | stats)"
