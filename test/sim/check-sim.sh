#!/bin/bash
# test/sim/check-sim.sh: run the simulator's tests and print one summary
# line, "N passed, N failed" (used by "make check-sim").
#
#   check-sim.sh BUILD_DIR BROKEN_BUILD_DIR
#
# 1. every fixed scenario of sim-test (each an "ok -" / "not ok -" line);
# 2. the refutation check against the core built with QUORUM_BREAK_REFUTE,
#    which must FAIL: a checker that cannot fail proves nothing;
# 3. sim-fuzz on fixed seeds of each profile, and one seed run twice to show
#    that it replays bit-for-bit.
#
# Every run's first line is its seed; a failure prints it again together
# with the command that replays it.

set -u
build=${1:-build/sim}
broken=${2:-build/sim-broken}
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

# 3. Random runs on fixed seeds, two steps budgets.
echo "== sim-fuzz"
fuzz_steps=${SIM_FUZZ_STEPS:-150000}
for run in "lossy 1" "lossy 2" "partition 3" "partition 4" "crash 5" "crash 6" "drift 7" "drift 8"; do
	set -- $run
	name="sim-fuzz --seed $2 --profile $1 --steps $fuzz_steps"
	"$build/sim-fuzz" --seed "$2" --profile "$1" --steps "$fuzz_steps" > "$log/fuzz" 2>&1
	rc=$?
	head -1 "$log/fuzz"
	if [ $rc -eq 0 ]; then
		ok "$name ($(grep '^ok seed=' "$log/fuzz" | sed 's/^ok seed=[0-9]*: //'))"
	else
		sed 's/^/    | /' "$log/fuzz"
		notok "$name"
	fi
done

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
