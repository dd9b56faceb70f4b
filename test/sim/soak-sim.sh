#!/bin/bash
# test/sim/soak-sim.sh: sim-fuzz on many seeds of every profile, far longer
# than check-sim (used by "make soak-sim"); ends with "N passed, N failed".
#
#   soak-sim.sh BUILD_DIR [SEEDS [STEPS]]
#
# Seeds start at SOAK_FIRST_SEED (default: drawn from /dev/urandom, printed),
# so that successive soaks explore new schedules.  Every failure prints the
# command that replays it bit-for-bit.

set -u
build=${1:-build/sim}
seeds=${2:-200}
steps=${3:-1000000}
first=${SOAK_FIRST_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom) ))}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0
fail=0
total=0

echo "soak: seeds $first .. $((first + seeds - 1)), $steps steps each, every profile"
for profile in election crash partition lossy drift; do
	for ((k = 0; k < seeds; k++)); do
		seed=$((first + k))
		"$build/sim-fuzz" --seed "$seed" --profile "$profile" --steps "$steps" > "$log/run" 2>&1
		rc=$?
		n=$(sed -n 's/^hash=[0-9a-f]* steps=\([0-9]*\).*/\1/p' "$log/run")
		total=$((total + ${n:-0}))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "not ok - $profile seed $seed"
			grep -E '^(FAIL|replay)' "$log/run" | sed 's/^/    /'
		fi
	done
	echo "# $profile done: $pass passed, $fail failed so far, $total steps"
done
echo "$pass passed, $fail failed ($total node steps)"
[ $fail -eq 0 ]
