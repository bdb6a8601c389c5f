# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The largest binding table, sourced by bench/section.sh: SCALE_BINDINGS
# TCP bindings (default: a million) in a namespace of its own, loaded with
# room for them (`load --max-bindings`, at least the default capacity).
# Timed with the wall clock, once each: `apply` of
# all of them onto a state holding only their service; `apply` of that
# state again, which removes them all; `apply` of all of them again, then
# `unload`. Then the dispatcher's cost per lookup with all of them in
# place (ptbench lookup-cost, as bench/lookup.sh). The kernel log is read
# before and after: a soft lockup or an RCU stall during the section is
# recorded (scale.stalls), with the lines in the log.

# ms_since T0: milliseconds since T0 (date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# kernel_stalls: soft lockups and RCU stalls in the kernel log so far.
kernel_stalls() { dmesg 2>/dev/null | grep -cE 'soft lockup|rcu.*(stall|detected stalls)'; }

bench_scale() {
	local ns dir n mid t0 s0 s1 srv cap
	n=${SCALE_BINDINGS:-1000000}
	cap=$(awk '$1 == "#define" && $2 == "PT_MAX_BINDINGS" { print $3 }' include/portier.h)
	[ "$n" -le "$cap" ] || cap=$n
	bench_ns ns scale || return 1
	"$PORTIER" --netns "$ns" load --max-bindings "$cap" >/dev/null || return 1
	dir=$("$PORTIER" --netns "$ns" --json status | jq -r .pin_dir) || return 1
	record scale.capacity "$cap"
	record scale.map_bytes_empty "$("$PORTIER" --netns "$ns" --json status | jq .map_bytes)"
	mid=$(gen_bindings "$n" "$BENCH_TMP/scale.conf")
	echo "service add bench" >"$BENCH_TMP/scale-base.conf"
	s0=$(kernel_stalls)
	record scale.bindings "$n"

	log "apply of $n bindings"
	t0=$(date +%s%N)
	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/scale.conf" >/dev/null || return 1
	record scale.apply.ms "$(ms_since "$t0")"
	record scale.status.bindings "$("$PORTIER" --netns "$ns" --json status | jq .bindings)"
	record scale.map_bytes "$("$PORTIER" --netns "$ns" --json status | jq .map_bytes)"

	bench_spawn srv "$ns" "$BENCH_OUT/connload" tcp-server 127.0.0.1:8080 --lifetime 600
	wait_listen "$ns" tcp 8080 || return 1
	"$PORTIER" --netns "$ns" register bench --pid "$srv" >/dev/null || return 1
	log "$n bindings: test-running the dispatcher on $mid, $LOOKUP_ROUNDS rounds"
	in_ns "$ns" "$BENCH_OUT/ptbench" lookup-cost --prog-pin "$dir/dispatch_prog" \
		--empty "$BENCH_OUT/empty_sklookup.bpf.o" --dst "$mid" --tag max \
		--rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	bench_kill "$srv"

	log "apply removing all $n"
	t0=$(date +%s%N)
	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/scale-base.conf" >/dev/null || return 1
	record scale.remove.ms "$(ms_since "$t0")"

	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/scale.conf" >/dev/null || return 1
	log "unload with $n bindings"
	t0=$(date +%s%N)
	"$PORTIER" --netns "$ns" unload >/dev/null || return 1
	record scale.unload.ms "$(ms_since "$t0")"
	sleep 1	# the kernel frees the maps after the last reference
	s1=$(kernel_stalls)
	record scale.stalls $((s1 - s0))
	[ "$s1" = "$s0" ] || dmesg | grep -E 'soft lockup|rcu.*(stall|detected stalls)' | tail -5 >&2
	bench_ns_del "$ns"
}
