#!/usr/bin/env bash
# test/witness/test_witness.sh WITNESS LEADER_SERVER: tests of the witness daemon
# itself, without PostgreSQL, on 127.0.0.1.
#
# Settings errors exit 2 with a message naming the setting; --check
# validates; flags override the configuration file.  Then a cluster of two
# example hosts (examples/leader_server, voters that can lead) and the
# witness: a leader is elected, the witness persists term and vote, a kill
# -9 of the leader elects the other host (the witness's vote makes the
# majority), a second witness on the same state directory is refused,
# SIGUSR2 reports, SIGTERM leaves and exits 0, and a restart from a
# version-1 record starts above the incarnation it persisted and rewrites
# the record in the current format.  "make check-tsan" runs this with TSan
# builds of both programs; any ThreadSanitizer report in a daemon's log is a
# failure.  Ends with "witness: N passed, N failed".  Waits poll against a
# deadline; every process started here is stopped at the end.
set -uo pipefail
WITNESS=$(realpath "${1:?usage: test_witness.sh WITNESS LEADER_SERVER}")
LEADER_SERVER=$(realpath "${2:?usage: test_witness.sh WITNESS LEADER_SERVER}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WAIT_S=${PGQ_WITNESS_WAIT_S:-60}

work=$(mktemp -d "${TMPDIR:-/tmp}/quorum-witness-test.XXXXXX")
pids=()
passed=0
failed=0

cleanup()
{
	local pid
	for pid in "${pids[@]}"; do
		{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
	done
	if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "# logs kept in $work"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for()
{
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -le "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# query PORT: the example host's one-line answer.
query() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && cat <&3" 2>/dev/null; }

read -r pa pb pw qa qb < <(perl "$ROOT/scripts/free-ports.pl" 5)
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$work/key"
echo >> "$work/key"
chmod 600 "$work/key"

# --- Settings. --------------------------------------------------------
out=$("$WITNESS" --help 2>&1); rc=$?
check "--help exits 0 and shows the usage" test "$rc" -eq 0 -a -n "$(grep -F 'Usage:' <<<"$out")"

out=$("$WITNESS" --listen "127.0.0.1:$pw" --state-dir "$work/w" --key-file "$work/key" 2>&1); rc=$?
check "no name: exit 2, saying so" test "$rc" -eq 2 -a -n "$(grep -F 'no node name' <<<"$out")"

out=$("$WITNESS" -n w --listen "localhost:1" --state-dir "$work/w" --key-file "$work/key" 2>&1); rc=$?
check "a host name for listen: exit 2, naming the setting" \
	test "$rc" -eq 2 -a -n "$(grep -F 'invalid value for "listen"' <<<"$out")"

out=$("$WITNESS" -n w --listen "127.0.0.1:$pw" --state-dir "$work/w" 2>&1); rc=$?
check "no key and no allow_plaintext: exit 2" test "$rc" -eq 2 -a -n "$(grep -F 'no key file' <<<"$out")"

out=$("$WITNESS" -n w --listen "127.0.0.1:$pw" --state-dir "$work/w" --key-file "$work/key" \
	--heartbeat-interval 700 2>&1); rc=$?
check "heartbeat not under half the election timeout: exit 2" \
	test "$rc" -eq 2 -a -n "$(grep -F 'heartbeat_interval' <<<"$out")"

long=$(printf 'n%.0s' $(seq 100))
out=$("$WITNESS" -n "$long" --listen "127.0.0.1:$pw" --state-dir "$work/w" --key-file "$work/key" 2>&1); rc=$?
check "a name over the limit: exit 2, with its length, not echoed whole" \
	test "$rc" -eq 2 -a -n "$(grep -F '100 bytes long; at most 63' <<<"$out")" -a -z "$(grep -F "$long" <<<"$out")"

printf 'name = w\nno_such_thing = 1\n' > "$work/bad.conf"
out=$("$WITNESS" -c "$work/bad.conf" 2>&1); rc=$?
check "an unknown key in the file: exit 2, with file and line" \
	test "$rc" -eq 2 -a -n "$(grep -F 'bad.conf:2' <<<"$out")"

cat > "$work/w.conf" <<EOF
# the witness of the test cluster
name = from-file
listen = 127.0.0.1:$pw
peers = 127.0.0.1:$pa, 127.0.0.1:$pb   # both hosts
key_file = '$work/key'
state_dir = $work/w
bootstrap_expect = 3
election_timeout = 1200ms
EOF
out=$("$WITNESS" -c "$work/w.conf" --name w --check 2>&1); rc=$?
check "--check accepts the file; the --name flag wins over it" \
	test "$rc" -eq 0 -a -n "$(grep -F 'node "w"' <<<"$out")"
check "--check creates no state directory" test ! -e "$work/w"

# --- A cluster: two example hosts and the witness. ----------------------
"$LEADER_SERVER" a "127.0.0.1:$pa" "127.0.0.1:$qa" "$work/key" 3 "127.0.0.1:$pb" "127.0.0.1:$pw" \
	2> "$work/a.log" &
pid_a=$!
pids+=("$pid_a")
"$LEADER_SERVER" b "127.0.0.1:$pb" "127.0.0.1:$qb" "$work/key" 3 "127.0.0.1:$pa" "127.0.0.1:$pw" \
	2> "$work/b.log" &
pid_b=$!
pids+=("$pid_b")
"$WITNESS" -c "$work/w.conf" --name w 2> "$work/w.log" &
pid_w=$!
pids+=("$pid_w")

# leader_of PORT: the leader a host names, when it holds a lease or follows one.
leader_of() { query "$1" | sed -n 's/^leader=\([^ ]*\) .*/\1/p'; }
agreed_leader()
{
	local la lb
	la=$(leader_of "$qa")
	lb=$(leader_of "$qb")
	[ -n "$la" ] && [ "$la" != "-" ] && [ "$la" = "$lb" ] && leader=$la
}
leader=""
check "a and b agree on a leader, with the witness voting" wait_for "$WAIT_S" agreed_leader
echo "# leader: $leader"
check "the leader is a host, never the witness" test "$leader" = a -o "$leader" = b
witness_saw() { grep -qF "leader is \"$1\"" "$work/w.log"; }
check "the witness logs the leader" wait_for 10 witness_saw "$leader"
check "the witness gossips role witness and priority 0 (never a candidate)" \
	test -z "$(grep -E 'unexpected lease' "$work/w.log")"

state="$work/w/pg_quorum.state"
term1=$(sed -n 's/^term=//p' "$state" 2>/dev/null)
inc1=$(sed -n 's/^incarnation=//p' "$state" 2>/dev/null)
check "the witness persisted its record (node, term, voters)" \
	test -n "$(grep -x 'node_name=w' "$state")" -a "${term1:-0}" -ge 1 -a \
	"$(grep -c '^voter=' "$state")" -eq 3
check "no temporary state file is left behind" test ! -e "$state.tmp"
check "the record is in libquorum's current format (format_version=3 first)" \
	test "$(grep -v '^#' "$state" | head -n 1)" = "format_version=3"
id1=$(sed -n 's/^member_id=//p' "$state" 2>/dev/null)
check "the witness has a member id, and the voter set binds it (issue 9, H8)" \
	test -n "$id1" -a -n "$(grep -x "voter=$id1 w" "$state")$(grep -E "^entry=[0-9]+ 2 $id1 w$" "$state")"

out=$("$WITNESS" -c "$work/w.conf" --name w --listen "127.0.0.1:1" 2>&1); rc=$?
check "a second witness on the same state directory is refused" \
	test "$rc" -eq 1 -a -n "$(grep -F 'in use by another' <<<"$out")"

kill -USR2 "$pid_w"
reported() { grep -qF 'member "w" 127.0.0.1' "$work/w.log"; }
check "SIGUSR2 logs the membership" wait_for 10 reported

# Kill -9 of the leader: the other host and the witness elect the other.
if [ "$leader" = a ]; then victim=$pid_a; other=b; qother=$qb; else victim=$pid_b; other=a; qother=$qa; fi
# (In a group, so that bash's "Killed" notice goes nowhere.)
{ kill -KILL "$victim"; wait "$victim"; } 2>/dev/null
leads_with_lease() { query "$qother" | grep -q "^leader=$other .*lease=yes"; }
check "after kill -9 of $leader, $other leads with the lease (witness + $other = majority)" \
	wait_for "$WAIT_S" leads_with_lease
check "the witness logs the new leader" wait_for 10 witness_saw "$other"
term2=$(sed -n 's/^term=//p' "$state")
check "the witness persisted the new term ($term2 > $term1)" test "${term2:-0}" -gt "${term1:-0}"

# SIGTERM: leave and exit 0; then a restart starts above its incarnation.
kill -TERM "$pid_w"
wait "$pid_w"
rc=$?
check "SIGTERM: the witness exits 0" test "$rc" -eq 0
check "... after leaving the cluster" test -n "$(grep -F 'left the cluster; exiting' "$work/w.log")"
saw_left() { query "$qother" | grep -q 'alive=1/'; }
check "$other sees the witness gone" wait_for 20 saw_left

check "its last record keeps the member id it started with" test "$(sed -n 's/^member_id=//p' "$state")" = "$id1"

# The record as version 1 wrote it (no format_version line, no member ids):
# still read, and rewritten in the current format with a member id.
sed -i -e '/^format_version=/d' -e '/^member_id=/d' -e '/^persist_seq=/d' \
	-e 's/^voter=[0-9a-f]* /voter=/' -e 's/^\(entry=[0-9]* [0-9]*\) [0-9a-f]*/\1/' "$state"
"$WITNESS" -c "$work/w.conf" --name w 2> "$work/w2.log" &
pid_w=$!
pids+=("$pid_w")
rejoined() { query "$qother" | grep -q "^leader=$other .*alive=2/"; }
check "the restarted witness rejoins" wait_for "$WAIT_S" rejoined
inc2=$(sed -n 's/^incarnation=//p' "$state")
check "it starts above the incarnation it persisted ($inc2 > $inc1)" test "${inc2:-0}" -gt "${inc1:-0}"
check "it kept its term" test "$(sed -n 's/^term=//p' "$state")" -ge "$term2"
check "it read the version-1 record and rewrote it in format 3, with a member id" \
	test -n "$(grep -F 'in format 1; it is rewritten in format 3' "$work/w2.log")" -a \
	"$(grep -c '^format_version=3$' "$state")" -eq 1 -a \
	-n "$(sed -n 's/^member_id=\([0-9a-f]*[1-9a-f][0-9a-f]*\)$/\1/p' "$state")"
kill -TERM "$pid_w"
wait "$pid_w"
check "the restarted witness exits 0 on SIGTERM" test $? -eq 0

pid_other=$pid_a
[ "$other" = b ] && pid_other=$pid_b
kill -TERM "$pid_other"
wait "$pid_other"
check "the example host exits 0 on SIGTERM" test $? -eq 0
pids=()

check "no ThreadSanitizer report in any log" \
	test -z "$(grep -l 'ThreadSanitizer' "$work"/*.log)"
if [ "$failed" -ne 0 ]; then
	for f in "$work"/*.log; do echo "---- $f"; tail -n 40 "$f"; done
fi
echo "witness: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
