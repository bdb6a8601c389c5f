#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every suite (unit, bpf, e2e). Each prints TAP; this counts the
# results and ends with one line: N passed, N failed.
# Usage: tests/run.sh [unit|bpf|e2e|san:unit|san:bpf|san:e2e|vm:KERNEL]...
#   (default: unit bpf e2e). A san: suite runs the same tests again with
#   the ASan/UBSan build in $SAN_OUT (default build-san, `make SAN=1`);
#   every sanitizer report, from any portier a test ran (even one whose
#   exit status the test ignores), counts as a failure.
#   vm:KERNEL (vm:6.1) boots Debian's KERNEL under qemu (tests/vm/kernel.sh)
#   and runs e2e files there: $VM_TESTS (names without test_ and .sh,
#   NAME:case,case for some cases, "all" for every file), by default the
#   short list VM_DEFAULT below. Each file's TAP counts here as vmKERNEL/e2e/NAME.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
SAN_OUT=${SAN_OUT:-build-san}
export PORTIER=${PORTIER:-$PWD/$OUT/portier}
export CMOCKA_MESSAGE_OUTPUT=TAP
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf e2e)
BASE_OUT=$OUT
BASE_PORTIER=$PORTIER
SAN_LOGS=

# what `make test` runs on each other kernel: load, register and dispatch;
# the guard behind libxdp's dispatcher beside xdp-filter, in both orders,
# loaded again, upgraded in place and unloaded; the map memory status
# reports (a few minutes under TCG)
VM_DEFAULT="dispatch_basic guard_chain:xdp_filter_then_guard,guard_then_xdp_filter_upgrade_unload observe_memory"

pass=0
fail=0
skip=0
failed_names=()
skipped_names=()
# seconds each program and each suite took, for the summary: make test has
# a budget (30 minutes on the 2-CPU machine)
prog_times=()
suite_times=()

# run_tap LABEL CMD...: run one test program, echo its output prefixed,
# count its ok / not ok lines; a program that fails without reporting a
# failure (a crash, a broken script) counts as one failure.
run_tap() {
	local label=$1 log rc p f t0=$SECONDS
	shift
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	prog_times+=("$((SECONDS - t0)) $label")
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

# sanitizer reports go to files (stderr stays what the tests expect) and
# exit with a status no portier uses, so no test mistakes one for its 1 or 2
san_env() {
	[ -n "$SAN_LOGS" ] && return 0
	SAN_LOGS=$(mktemp -d /tmp/portier-san.XXXXXX)
	chmod 1777 "$SAN_LOGS"	# a test may run portier as nobody
	export ASAN_OPTIONS="detect_leaks=1:exitcode=86:log_path=$SAN_LOGS/asan"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$SAN_LOGS/ubsan"
	export LSAN_OPTIONS="exitcode=86:log_path=$SAN_LOGS/lsan"
}

for suite in "${suites[@]}"; do
	suite_t0=$SECONDS
	suite_name=$suite
	OUT=$BASE_OUT
	export PORTIER=$BASE_PORTIER
	pfx=""
	case $suite in
	san:*)
		suite=${suite#san:}
		OUT=$SAN_OUT
		case $SAN_OUT in
		/*) export PORTIER=$SAN_OUT/portier ;;
		*) export PORTIER=$PWD/$SAN_OUT/portier ;;
		esac
		pfx="san/"
		san_env
		if [ ! -x "$PORTIER" ]; then
			echo "[san] $PORTIER missing: build it with make SAN=1"
			fail=$((fail + 1))
			failed_names+=("san: $PORTIER not built")
			continue
		fi
		;;
	esac
	case $suite in
	unit | bpf)
		for bin in "$OUT"/tests/"$suite"/test_*; do
			[ -x "$bin" ] || continue
			run_tap "$pfx$suite/$(basename "$bin")" "$bin"
		done
		;;
	e2e)
		if [ "$(id -u)" != 0 ]; then
			echo "[e2e] needs root: network namespaces, BPF"
			fail=$((fail + 1))
			failed_names+=("${pfx}e2e: not run as root")
			continue
		fi
		for t in tests/e2e/test_*.sh; do
			[ -f "$t" ] || continue
			run_tap "${pfx}e2e/$(basename "$t" .sh)" bash "$t"
		done
		;;
	vm:*)
		kver=${suite#vm:}
		if [ "$(id -u)" != 0 ]; then
			echo "[vm$kver] needs root: network namespaces, BPF"
			fail=$((fail + 1))
			failed_names+=("vm$kver: not run as root")
			continue
		fi
		vtests=${VM_TESTS:-$VM_DEFAULT}
		if [ "$vtests" = all ]; then
			vtests=$(for t in tests/e2e/test_*.sh; do t=${t#tests/e2e/test_}; echo "${t%.sh}"; done)
		fi
		vout=$OUT/vm-results/$kver
		rm -rf -- "$vout"
		# shellcheck disable=SC2086 # a list of names
		if ! (set -o pipefail; tests/vm/kernel.sh "$kver" "$vout" $vtests 2>&1 | sed "s|^|[vm$kver] |"); then
			fail=$((fail + 1))
			failed_names+=("vm$kver: the VM did not finish its tests (console: $vout/console.log)")
		fi
		for t in $vtests; do
			t=${t%%:*}
			# a file the VM never reached is in the failure above
			[ -e "$vout/$t.rc" ] || [ -e "$vout/done" ] || continue
			run_tap "vm$kver/e2e/test_$t" sh -c 'cat "$1" 2>/dev/null; exit "$(cat "$2" 2>/dev/null || echo 1)"' - "$vout/$t.tap" "$vout/$t.rc"
		done
		;;
	*)
		echo "unknown suite '$suite' (unit, bpf, e2e, san:unit, san:bpf, san:e2e, vm:KERNEL)" >&2
		exit 2
		;;
	esac
	suite_times+=("$suite_name $((SECONDS - suite_t0)) s")
done

# every sanitizer report is a failure, wherever it came from
if [ -n "$SAN_LOGS" ]; then
	for f in "$SAN_LOGS"/*; do
		[ -f "$f" ] || continue
		echo "[san] $(basename "$f"):"
		head -30 "$f" | sed 's/^/[san]   /'
		fail=$((fail + 1))
		failed_names+=("san: $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$f" || basename "$f")")
	done
	rm -rf -- "$SAN_LOGS"
fi

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
joined=""
for t in "${suite_times[@]}"; do
	joined+="${joined:+, }$t"
done
echo "time: $joined; in all $SECONDS s"
echo "slowest:"
printf '%s\n' "${prog_times[@]}" | sort -rn | head -5 | awk '{ printf "  %4d s  %s\n", $1, $2 }'
echo
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
