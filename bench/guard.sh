# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Guard cost per packet, sourced by bench/run.sh. portier is loaded in a
# namespace of its own with the guard on a veth there, configured through
# `portier apply`; ptbench test-runs the attached guard (by program id) on
# seven crafted packets against an empty XDP program and xdp-filter's programs
# with the same port rules (all-features, UDP-only, TCP-only), and against
# other builds of the guard named in GUARD_VARIANTS (NAME=OBJ ..., the same
# map layout: two builds side by side in the same rounds); and, with
# --steer, the cost of steering: a port steered to a CPU against
# its twin without, a port bound to an AF_XDP service with no socket (the
# fallback path) against one bound to a kernel-socket service (ptbench
# switches the steering on in the pinned maps after the apply).

bench_guard() {
	local ns st id dir xf out variants=() v
	bench_ns ns guard || return 1
	ip link add "${BENCH_TAG}ga" netns "$ns" type veth peer name "${BENCH_TAG}gb" netns "$ns" || return 1
	ip -n "$ns" link set "${BENCH_TAG}ga" up
	ip -n "$ns" link set "${BENCH_TAG}gb" up
	"$PORTIER" --netns "$ns" load --xdp "${BENCH_TAG}gb" >/dev/null || return 1
	# the rules the packets of ptbench guard-cost expect
	cat >"$BENCH_TMP/guard.conf" <<-EOF
		service add bench
		watch udp 5353
		policy tcp 22 drop-new
		policy udp 5000 drop
		policy udp 6000 drop --from 198.18.1.0/24
		watch udp 7000-7001
		service add benchx
		bind udp any 7100 benchx
		bind udp any 7101 bench
		policy udp 7200 limit 1
	EOF
	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/guard.conf" >/dev/null || return 1
	st=$("$PORTIER" --netns "$ns" --json status) || return 1
	id=$(jq -r '.xdp[0].prog_id' <<<"$st")
	dir=$(jq -r '.pin_dir' <<<"$st")
	if xf=$(xdp_filter_dir); then
		variants+=(--xdp-filter "$xf")
	else
		log "xdp-filter's objects not found: no xdp-filter baseline"
	fi
	log "test-running the guard (prog $id): 11 packets, repeat $GUARD_REPEAT, $GUARD_ROUNDS rounds"
	out="$BENCH_TMP/guard.out"
	# GUARD_VARIANTS="NAME=OBJ ...": other builds of the guard (same map
	# layout) timed side by side with the attached one
	for v in ${GUARD_VARIANTS:-}; do
		variants+=(--variant "$v")
	done
	"$BENCH_OUT/ptbench" guard-cost --guard-id "$id" --pin-dir "$dir" \
		--empty "$BENCH_OUT/empty_xdp.bpf.o" "${variants[@]}" --steer \
		--repeat "$GUARD_REPEAT" --rounds "$GUARD_ROUNDS" >"$out" || return 1
	cat "$out" >>"$BENCH_RESULTS"
	bench_ns_del "$ns"
}
