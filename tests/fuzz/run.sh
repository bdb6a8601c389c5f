#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang
# -fsanitize=fuzzer,address,undefined and run each for a bounded time.
#
#   tests/fuzz/run.sh                     build, then run every target
#   tests/fuzz/run.sh build               build only
#   tests/fuzz/run.sh repro TARGET FILE.. run one target on saved inputs
#
# Environment: FUZZ_SECONDS (per target, default 20), FUZZ_TARGETS
# (names, default all), OUT (default build), CLANG (default clang).
# Seeds come from tests/fuzz/corpus/TARGET/ (files ending .hex are hex
# text, turned into bytes); the fuzzer grows a working copy under
# $OUT/fuzz/corpus/ and never writes into tests/. A crash is saved as
# $OUT/fuzz/crashes/TARGET-crash-*; the run then fails and prints how to
# reproduce it.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-build}
CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FZ=$OUT/fuzz
mode=${1:-run}

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<<"$FUZZ_TARGETS"
else
	for f in tests/fuzz/fuzz_*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

# the fuzzer runtime comes with clang's runtime libraries package
need_runtime() {
	local lib
	lib=$("$CLANG" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)
	[ -f "$lib" ] && return 0
	lib=$(find "$("$CLANG" -print-resource-dir)" -name 'libclang_rt.fuzzer*.a' 2>/dev/null | head -1)
	[ -n "$lib" ] && return 0
	local ver
	ver=$("$CLANG" -dumpversion | cut -d. -f1)
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "fuzz: installing libclang-rt-$ver-dev (libFuzzer)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"libclang-rt-$ver-dev" >/dev/null 2>&1 && return 0
	fi
	echo "fuzz: no libFuzzer runtime for $CLANG: install libclang-rt-$ver-dev" >&2
	return 1
}

# shellcheck disable=SC2054 # the commas belong to -fsanitize
CFLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror
	-Wno-unused-parameter -Iinclude -Icore -Itests/bpf -Itests/fuzz)
# the pure core the targets drive: no syscalls, no BPF, no libraries
SRCS=(core/parse.c core/model.c core/config.c tests/bpf/guard_model.c)

build() {
	local t rc=0
	need_runtime || return 1
	mkdir -p "$FZ"
	for t in "${targets[@]}"; do
		if [ ! -f "tests/fuzz/$t.c" ]; then
			echo "fuzz: no target tests/fuzz/$t.c" >&2
			return 2
		fi
		# rebuild when any source is newer than the binary
		if [ -x "$FZ/$t" ] && [ -z "$(find "tests/fuzz/$t.c" tests/fuzz/*.h "${SRCS[@]}" \
			core/*.h include/*.h tests/bpf/guard_model.h -newer "$FZ/$t" 2>/dev/null)" ]; then
			continue
		fi
		printf '  %-8s %s\n' FUZZ "$FZ/$t"
		"$CLANG" "${CFLAGS[@]}" "tests/fuzz/$t.c" "${SRCS[@]}" -o "$FZ/$t" || rc=1
	done
	return $rc
}

# the seeds as the fuzzer reads them
seed() {
	local t=$1 work=$FZ/corpus/$1 f
	mkdir -p "$work" "$FZ/seeds/$t"
	rm -f "$FZ/seeds/$t"/*
	for f in tests/fuzz/corpus/"$t"/*; do
		[ -f "$f" ] || continue
		case $f in
		*.hex) xxd -r -p "$f" >"$FZ/seeds/$t/$(basename "$f" .hex)" ;;
		*) cp "$f" "$FZ/seeds/$t/" ;;
		esac
	done
}

run_one() {
	local t=$1 log dict=() rc execs
	log=$FZ/$t.log
	seed "$t"
	mkdir -p "$FZ/crashes"
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	# the first corpus directory receives new inputs: the working copy
	"$FZ/$t" "$FZ/corpus/$t" "$FZ/seeds/$t" "${dict[@]}" \
		-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
		-print_final_stats=1 -artifact_prefix="$FZ/crashes/$t-" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	printf '  %-12s %10s execs in %ss, corpus %s, %s\n' "$t" "${execs:-?}" "$FUZZ_SECONDS" \
		"$(find "$FZ/corpus/$t" -type f | wc -l)" \
		"$([ "$rc" -eq 0 ] && echo "no crash" || echo "FAILED (exit $rc)")"
	if [ "$rc" -ne 0 ]; then
		grep -E 'property failed|ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/      /'
		echo "      log: $log; reproduce: tests/fuzz/run.sh repro $t FILE"
		return 1
	fi
	return 0
}

case $mode in
build)
	build
	exit $?
	;;
repro)
	shift
	[ $# -ge 2 ] || { echo "usage: tests/fuzz/run.sh repro TARGET FILE..." >&2; exit 2; }
	t=$1
	shift
	targets=("$t")
	build || exit 1
	exec "$FZ/$t" "$@"
	;;
run) ;;
*)
	echo "usage: tests/fuzz/run.sh [build | repro TARGET FILE...]" >&2
	exit 2
	;;
esac

build || exit 1
echo "fuzz: ${#targets[@]} targets, ${FUZZ_SECONDS}s each"
failed=0
for t in "${targets[@]}"; do
	run_one "$t" || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of ${#targets[@]} targets failed"
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
