#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every suite (unit, bpf, e2e). Each prints TAP; this counts the
# results and ends with one line: N passed, N failed.
# Usage: tests/run.sh [unit|bpf|e2e]...   (default: all)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export PORTIER=${PORTIER:-$PWD/$OUT/portier}
export CMOCKA_MESSAGE_OUTPUT=TAP
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf e2e)

pass=0
fail=0
skip=0
failed_names=()
skipped_names=()

# run_tap LABEL CMD...: run one test program, echo its output prefixed,
# count its ok / not ok lines; a program that fails without reporting a
# failure (a crash, a broken script) counts as one failure.
run_tap() {
	local label=$1 log rc p f
	shift
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	sed "s|^|[$label] |" "$log"
	# "ok N - name # SKIP reason": not applicable here, said why
	local s
	s=$(grep -c '^ok .*# SKIP' "$log")
	p=$(($(grep -c '^ok ' "$log") - s))
	f=$(grep -c '^not ok ' "$log")
	while IFS= read -r line; do
		skipped_names+=("$label: ${line#ok }")
	done < <(grep '^ok .*# SKIP' "$log")
	# a program that dies half way prints its plan (1..N) but not N results
	local plan
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -1)
	if [ -n "$plan" ] && [ $((p + f + s)) -lt "$plan" ]; then
		failed_names+=("$label: $((plan - p - f - s)) of $plan tests did not report")
		f=$((plan - p - s))
	fi
	while IFS= read -r line; do
		failed_names+=("$label: ${line#not ok }")
	done < <(grep '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		failed_names+=("$label: exited $rc without reporting a failure")
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		failed_names+=("$label: ran no test")
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	rm -f "$log"
}

for suite in "${suites[@]}"; do
	case $suite in
	unit | bpf)
		for bin in "$OUT"/tests/"$suite"/test_*; do
			[ -x "$bin" ] || continue
			run_tap "$suite/$(basename "$bin")" "$bin"
		done
		;;
	e2e)
		if [ "$(id -u)" != 0 ]; then
			echo "[e2e] needs root: network namespaces, BPF"
			fail=$((fail + 1))
			failed_names+=("e2e: not run as root")
			continue
		fi
		for t in tests/e2e/test_*.sh; do
			[ -f "$t" ] || continue
			run_tap "e2e/$(basename "$t" .sh)" bash "$t"
		done
		;;
	*)
		echo "unknown suite '$suite' (unit, bpf, e2e)" >&2
		exit 2
		;;
	esac
done

if [ ${#skipped_names[@]} -gt 0 ]; then
	echo
	echo "not applicable on this machine:"
	printf '  %s\n' "${skipped_names[@]}"
fi
if [ ${#failed_names[@]} -gt 0 ]; then
	echo
	echo "failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
echo
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
