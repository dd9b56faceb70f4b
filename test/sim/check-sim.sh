#!/bin/bash
# test/sim/check-sim.sh: run the simulator's tests and print one summary
# line, "N passed, N failed" (used by "make check-sim").
#
#   check-sim.sh BUILD_DIR BROKEN_BUILD_DIR [BREAK_VOTE_DIR BREAK_LEASE_DIR
#                [BREAK_PROMISE_DIR BREAK_STAMP_DIR BREAK_SUSPEND_DIR
#                [BREAK_STALE_VOTE_DIR [BREAK_PAUSE_DIR [BREAK_MEMBER_ID_DIR
#                [BREAK_PAUSED_CAMPAIGN_DIR]]]]]]
#
# 1. every fixed scenario of sim-test (each an "ok -" / "not ok -" line);
# 2. the checkers against cores broken on purpose, which must FAIL: a
#    checker that cannot fail proves nothing.  QUORUM_BREAK_REFUTE never
#    refutes, QUORUM_BREAK_VOTE_PERSIST never writes its vote to disk,
#    QUORUM_BREAK_LEASE holds a lease longer than the election timeout;
#    issue 9's timing fixes removed: QUORUM_BREAK_PROMISE ignores the voters'
#    own election timeouts, QUORUM_BREAK_STAMP stamps inputs read after a
#    stalled persist with the pass's start, QUORUM_BREAK_SUSPEND runs the
#    lease on CLOCK_MONOTONIC, which stands still during a suspend;
#    issue 9's vote fixes removed: QUORUM_BREAK_STALE_VOTE votes on a stale
#    WAL sample and keeps taking the old leader's WAL,
#    QUORUM_BREAK_PAUSE_PROMOTE promotes a new leader while its log says
#    paused; issue 9's H8 removed: QUORUM_BREAK_MEMBER_ID counts any member
#    id under a voter's name; QUORUM_BREAK_PAUSED_CAMPAIGN lets any primary,
#    not only the one that led last, campaign while failover is paused;
# 3. sim-fuzz on fixed seeds of each profile, the election running in all of
#    them, at least 10^6 node steps in all, and one seed run twice to show
#    that it replays bit-for-bit.
#
# Every run's first line is its seed; a failure prints it again together
# with the command that replays it.

set -u
build=${1:-build/sim}
broken=${2:-build/sim-broken}
break_vote=${3:-build/sim-break-vote}
break_lease=${4:-build/sim-break-lease}
break_promise=${5:-build/sim-break-promise}
break_stamp=${6:-build/sim-break-stamp}
break_suspend=${7:-build/sim-break-suspend}
break_stale_vote=${8:-build/sim-break-stale-vote}
break_pause=${9:-build/sim-break-pause}
break_member_id=${10:-build/sim-break-member-id}
break_paused_campaign=${11:-build/sim-break-paused-campaign}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0
fail=0

ok() { echo "ok - $1"; pass=$((pass + 1)); }
notok() { echo "not ok - $1"; fail=$((fail + 1)); }

# 1. Scenarios.
echo "== sim-test"
"$build/sim-test" > "$log/scenarios" 2>&1
rc=$?
# Its own summary line is indented: only the last line of this script counts.
sed 's/^\([0-9]* passed, [0-9]* failed\)$/    sim-test: \1/' "$log/scenarios"
p=$(grep -c '^ok - ' "$log/scenarios")
f=$(grep -c '^not ok - ' "$log/scenarios")
pass=$((pass + p))
fail=$((fail + f))
if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
	notok "sim-test exited with status $rc before reporting a failure"
fi

# 2. The broken core must be caught by the refutation check.
echo "== sim-test against the QUORUM_BREAK_REFUTE core (must fail)"
"$broken/sim-test" pause_refute_suspect > "$log/broken" 2>&1
rc=$?
sed 's/^/    | /' "$log/broken"
if [ $rc -ne 0 ] && grep -q '^not ok - pause_refute_suspect' "$log/broken"; then
	ok "broken_refute_detected (the core that never refutes fails pause_refute_suspect, as it must)"
else
	notok "broken_refute_detected: the core built with QUORUM_BREAK_REFUTE passed pause_refute_suspect, so the check cannot catch a node that never refutes"
fi

# The election's checkers, against cores that break what they check.
broken_check() {
	local dir=$1 flag=$2 test=$3 expect=$4 what=$5
	echo "== sim-test $test against the $flag core (must fail)"
	"$dir/sim-test" "$test" > "$log/broken" 2>&1
	rc=$?
	sed 's/^/    | /' "$log/broken"
	if [ $rc -ne 0 ] && grep -q "^not ok - $test: .*$expect" "$log/broken"; then
		ok "$(echo "$flag" | tr 'A-Z' 'a-z')_detected ($what)"
	else
		notok "$(echo "$flag" | tr 'A-Z' 'a-z')_detected: the core built with $flag passed $test, or failed it for another reason than \"$expect\""
	fi
}
broken_check "$break_vote" QUORUM_BREAK_VOTE_PERSIST vote_persisted_across_restart \
	"its vote was not persisted" "a voter that forgets its vote across a restart is caught"
broken_check "$break_lease" QUORUM_BREAK_LEASE lease_partitioned_leader \
	"both hold a valid lease" "a lease that outlives the election timeout is caught"
broken_check "$break_promise" QUORUM_BREAK_PROMISE timeout_mismatch_lease \
	"both hold a valid lease" "a lease that outlasts a voter's shorter election timeout is caught"
broken_check "$break_stamp" QUORUM_BREAK_STAMP stalled_persist_stamps \
	"both hold a valid lease" "heartbeats stamped with a stalled pass's start are caught"
broken_check "$break_suspend" QUORUM_BREAK_SUSPEND suspend_ends_lease \
	"both hold a valid lease" "a lease on a clock that stood still during a suspend is caught"
broken_check "$break_stale_vote" QUORUM_BREAK_STALE_VOTE vote_stale_sample \
	"lacks the acknowledged write" "a vote judged on a stale WAL sample, by a voter still streaming from the old leader, is caught"
broken_check "$break_pause" QUORUM_BREAK_PAUSE_PROMOTE pause_missed_no_promotion \
	"lacks the acknowledged write" "a new leader promoted while its log says paused, after a degraded leader committed alone, is caught"
broken_check "$break_member_id" QUORUM_BREAK_MEMBER_ID rebuilt_voter_no_second_leader \
	"two leaders in term" "a voter rebuilt under its name that votes again in its term is caught"
broken_check "$break_paused_campaign" QUORUM_BREAK_PAUSED_CAMPAIGN paused_old_primary_stays_out \
	"lacks the acknowledged write" "an older primary that takes the lease while failover is paused, after a degraded leader committed alone, is caught"

# 3. Random runs on fixed seeds.
echo "== sim-fuzz"
fuzz_steps=${SIM_FUZZ_STEPS:-150000}
total_steps=0
for run in "lossy 1" "lossy 2" "partition 3" "partition 4" "crash 5" "crash 6" \
	"drift 7" "drift 8" "election 11" "election 12" "election 13" "election 14" \
	"election 15" "election 16" "election 17" "election 18"; do
	set -- $run
	name="sim-fuzz --seed $2 --profile $1 --steps $fuzz_steps"
	"$build/sim-fuzz" --seed "$2" --profile "$1" --steps "$fuzz_steps" > "$log/fuzz" 2>&1
	rc=$?
	head -1 "$log/fuzz"
	steps=$(sed -n 's/^hash=[0-9a-f]* steps=\([0-9]*\).*/\1/p' "$log/fuzz")
	total_steps=$((total_steps + ${steps:-0}))
	if [ $rc -eq 0 ]; then
		ok "$name ($(grep '^ok seed=' "$log/fuzz" | sed 's/^ok seed=[0-9]*: //'))"
		grep '^  election:' "$log/fuzz"
	else
		sed 's/^/    | /' "$log/fuzz"
		notok "$name"
	fi
done
if [ "$total_steps" -ge 1000000 ]; then
	ok "sim-fuzz ran $total_steps node steps under the election's checkers (at least 10^6)"
else
	notok "sim-fuzz ran only $total_steps node steps (fewer than 10^6)"
fi

# Replay: the same seed gives the same hash of everything that happened.
a=$("$build/sim-fuzz" --seed 99 --profile crash --steps 50000 | grep '^hash=')
b=$("$build/sim-fuzz" --seed 99 --profile crash --steps 50000 | grep '^hash=')
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	ok "sim-fuzz replays seed 99 bit-for-bit ($a)"
else
	notok "sim-fuzz seed 99 did not replay: '$a' then '$b'"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
