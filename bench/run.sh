#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench: run every benchmark and print one table of ratios, each figure
# against its baseline measured side by side in this run, with its target.
# The same table goes to $OUT/bench.md (docs/PERFORMANCE.md shows it).
#
# Usage: bench/run.sh [SECTION]...   sections: guard lookup control drop limit dispatch scale steer xsk
# (default: all). BENCH_QUICK=1 runs fewer rounds (a smoke test, noisier).
#
# Everything runs in namespaces this script makes (loopback and veth pairs
# between them, 198.18.0.0/15), bounded in count and time; the EXIT trap
# removes every namespace and process it made. As root.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-build}
export PORTIER=${PORTIER:-$ROOT/$OUT/portier}
BENCH_OUT=$ROOT/$OUT/bench
BENCH_RESULTS=$BENCH_OUT/results.txt
BENCH_MD=$ROOT/$OUT/bench.md

# knobs: repeats and rounds (BENCH_QUICK=1: a quick smoke run)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	GUARD_REPEAT=1000000 GUARD_ROUNDS=3 LOOKUP_ROUNDS=3 APPLY_RUNS=1 STATS_RUNS=5
	DROP_ROUNDS=1 DROP_FRAMES=2000000 DISPATCH_ROUNDS=1 LIMIT_ROUNDS=1 LIMIT_ACC_ROUNDS=1 LIMIT_FRAMES=1000000
	TCP_CONNS=5000 UDP_REQS=20000 SOCAT_TCP_CONNS=500 SOCAT_UDP_REQS=5000
else
	GUARD_REPEAT=1000000 GUARD_ROUNDS=${GUARD_ROUNDS:-11} LOOKUP_ROUNDS=${LOOKUP_ROUNDS:-11} APPLY_RUNS=5 STATS_RUNS=20
	DROP_ROUNDS=9 DROP_FRAMES=2000000 DISPATCH_ROUNDS=5 LIMIT_ROUNDS=9 LIMIT_ACC_ROUNDS=3 LIMIT_FRAMES=2000000
	TCP_CONNS=20000 UDP_REQS=100000 SOCAT_TCP_CONNS=1500 SOCAT_UDP_REQS=20000
fi
# one section may take this long before it is stopped (seconds)
SECTION_LIMIT=${SECTION_LIMIT:-240}

# shellcheck source=bench/lib.sh
. bench/lib.sh
export PORTIER BENCH_OUT BENCH_RESULTS BENCH_TAG GUARD_REPEAT GUARD_ROUNDS LOOKUP_ROUNDS \
	APPLY_RUNS STATS_RUNS DROP_ROUNDS DROP_FRAMES DISPATCH_ROUNDS TCP_CONNS UDP_REQS \
	LIMIT_ROUNDS LIMIT_ACC_ROUNDS LIMIT_FRAMES \
	SOCAT_TCP_CONNS SOCAT_UDP_REQS

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (BPF, namespaces)" >&2
	exit 1
fi
bench/deps.sh || exit 1
make -s -f Makefile -f bench/bench.mk OUT="$OUT" bench-progs || exit 1

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(guard lookup control drop limit dispatch scale steer xsk)

BENCH_TMP=$(mktemp -d /tmp/portier-bench.XXXXXX)
export BENCH_TMP
section_pid=""
on_exit() {
	# a section still running (INT or TERM here) gets TERM: its trap cleans up
	if [ -n "$section_pid" ]; then
		kill -TERM "$section_pid" 2>/dev/null
		wait "$section_pid" 2>/dev/null
	fi
	bench_ns_sweep
	rm -rf -- "$BENCH_TMP"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

: >"$BENCH_RESULTS"
{
	record meta.date "$(date -u +%Y-%m-%dT%H:%MZ)"
	record meta.kernel "$(uname -r)"
	record meta.cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1 | tr ' ' '_')"
	record meta.ncpu "$(nproc)"
	record meta.quick "${BENCH_QUICK:-0}"
}
t0=$(date +%s)
failed=()
for s in "${sections[@]}"; do
	case $s in
	guard | lookup | control | drop | limit | dispatch | scale | steer | xsk) ;;
	*)
		echo "bench: unknown section $s (guard lookup control drop limit dispatch scale steer xsk)" >&2
		exit 2
		;;
	esac
	BENCH_SECTION=$s
	log "start"
	ts=$(date +%s)
	timeout -k 10 "$SECTION_LIMIT" bench/section.sh "$s" &
	section_pid=$!
	if ! wait "$section_pid"; then
		failed+=("$s")
		log "FAILED (see above)"
	fi
	section_pid=
	bench_ns_sweep
	log "done in $(($(date +%s) - ts)) s"
done
BENCH_SECTION=bench
record meta.seconds "$(($(date +%s) - t0))"

/usr/bin/python3 bench/report.py "$BENCH_RESULTS" "$BENCH_MD" || exit 1
[ ${#failed[@]} -eq 0 ] || { echo "bench: sections failed: ${failed[*]}" >&2; exit 1; }
