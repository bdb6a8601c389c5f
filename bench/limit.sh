# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Rate limits across CPUs, sourced by bench/section.sh. A generator
# namespace floods UDP over a veth pair whose receiving end has two receive
# queues: two `ptbench txgen` runs side by side, pinned to CPU 0 and CPU 1,
# each transmit with BPF_F_TEST_XDP_LIVE_FRAMES into the receive queue of
# its own CPU (veth picks the peer's queue by the sending CPU), and the
# receiving veth's NAPI (not threaded) runs on that same CPU, so both CPUs
# run the guard on the flood at once. The guard holds
#   policy udp 7777 drop
#   policy udp 7778 limit 1000
#   policy udp 8000-8999 limit 1000 | 9000-9999 limit 10000 | 10000-10999 limit 100000
# Each round, in turn (the order alternates): the flood to 7777 and to
# 7778, each rate the receiver's XDP drops over the generators' joint
# window (first start to last end), so the ratio says whether a limited
# port is policed as cheaply as a dropped one when both CPUs hit its one
# bucket; then one flood at each rate to a port of its range not used
# before (a fresh, full bucket), in the first LIMIT_ACC_ROUNDS rounds,
# whose passed rate (the port's packets
# less its `limited`, less the burst of PPS a fresh bucket holds, over the
# window) is set against PPS.

LIMIT_DROP_PORT=7777
LIMIT_PORT=7778
LIMIT_RATES="1000 10000 100000"

_lim_rx="" _lim_rif="" _lim_gen="" _lim_gif="" _lim_gmac="" _lim_rmac=""
_lim_window=0

lim_xdp_drops() {
	ip netns exec "$_lim_rx" ethtool -S "$_lim_rif" |
		awk '/rx_queue_[0-9]+_xdp_drops:/ { n += $2 } END { print n + 0 }'
}

# lim_port_stat PORT FIELD: the guard's counter of udp PORT.
lim_port_stat() {
	"$PORTIER" --netns "$_lim_rx" --json stats --proto udp --port "$1" |
		jq --arg f "$2" '[.ports[] | .[$f]] | add // 0'
}

# lim_flood PORT FRAMES: both generators at once, FRAMES each; the joint
# window in _lim_window (ns).
lim_flood() {
	local port=$1 frames=$2 cpu pid pids=() rc=0 s e
	for cpu in 0 1; do
		in_ns "$_lim_gen" taskset -c "$cpu" "$BENCH_OUT/ptbench" txgen \
			--obj "$BENCH_OUT/txgen_xdp.bpf.o" --ifname "$_lim_gif" \
			--src-mac "$_lim_gmac" --dst-mac "$_lim_rmac" --src 198.18.0.1 --dst 198.18.0.2 \
			--dport "$port" --count "$frames" >"$BENCH_TMP/limgen.$cpu" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	[ "$rc" = 0 ] || { log "a generator failed"; return 1; }
	sleep 0.1	# the rings drain
	s=$(cat "$BENCH_TMP"/limgen.[01] | awk '$1 == "start_ns" && (m == "" || $2 < m) { m = $2 } END { print m }')
	e=$(cat "$BENCH_TMP"/limgen.[01] | awk '$1 == "end_ns" && $2 > m { m = $2 } END { print m }')
	_lim_window=$((e - s))
}

bench_limit() {
	local round r order c0 c1 rate q0 q1 pps i port p0 l0 p1 l1 passed
	if [ "$(nproc)" -lt 2 ]; then
		log "needs two CPUs: skipped"
		return 0
	fi
	local gen rx gif rif gmac rmac
	# two queues each way: the flood arrives on both CPUs
	bench_pair lim l 2 || return 1
	_lim_gen=$gen _lim_rx=$rx _lim_gif=$gif _lim_rif=$rif _lim_gmac=$gmac _lim_rmac=$rmac
	"$PORTIER" --netns "$_lim_rx" load --xdp "$_lim_rif" --xdp-mode native >/dev/null || return 1
	cat >"$BENCH_TMP/limit.conf" <<-EOF
		policy udp $LIMIT_DROP_PORT drop
		policy udp $LIMIT_PORT limit 1000
		policy udp 8000-8999 limit 1000
		policy udp 9000-9999 limit 10000
		policy udp 10000-10999 limit 100000
	EOF
	"$PORTIER" --netns "$_lim_rx" apply "$BENCH_TMP/limit.conf" >/dev/null || return 1
	# shellcheck disable=SC2153 # set and exported by run.sh
	record limit.frames "$LIMIT_FRAMES"
	for round in $(seq 1 "$LIMIT_ROUNDS"); do
		order="drop limit"
		[ $((round % 2)) = 0 ] && order="limit drop"
		for r in $order; do
			port=$LIMIT_DROP_PORT
			[ "$r" = limit ] && port=$LIMIT_PORT
			q0=$(ip netns exec "$_lim_rx" ethtool -S "$_lim_rif" | awk '/rx_queue_0_xdp_drops:/ { print $2 }')
			c0=$(lim_xdp_drops)
			lim_flood "$port" "$LIMIT_FRAMES" || return 1
			c1=$(lim_xdp_drops)
			q1=$(ip netns exec "$_lim_rx" ethtool -S "$_lim_rif" | awk '/rx_queue_0_xdp_drops:/ { print $2 }')
			rate=$(awk -v d=$((c1 - c0)) -v t="$_lim_window" 'BEGIN { printf "%.0f", d / (t / 1e9) }')
			log "round $round: $r port dropped $((c1 - c0)) ($((q1 - q0)) on queue 0) in $((_lim_window / 1000000)) ms: $rate pps"
			record "limit.$r.pps" "$rate"
			record "limit.$r.queue0_share" "$(ratio $((q1 - q0)) $((c1 - c0)))"
		done
		[ "$round" -le "$LIMIT_ACC_ROUNDS" ] || continue
		i=0
		for pps in $LIMIT_RATES; do
			port=$((8000 + i * 1000 + round))
			i=$((i + 1))
			p0=$(lim_port_stat "$port" packets) l0=$(lim_port_stat "$port" limited)
			# twice as long: a gap in the flood at either end (the
			# host busy elsewhere) and the generators' set-up weigh less
			lim_flood "$port" $((2 * LIMIT_FRAMES)) || return 1
			p1=$(lim_port_stat "$port" packets) l1=$(lim_port_stat "$port" limited)
			passed=$((p1 - p0 - (l1 - l0)))
			rate=$(awk -v n=$((passed - pps)) -v t="$_lim_window" 'BEGIN { printf "%.1f", n / (t / 1e9) }')
			log "round $round: limit $pps: $((p1 - p0)) sent, $passed passed in $((_lim_window / 1000000)) ms: $rate pps after the burst"
			record "limit.acc.$pps.pps" "$rate"
			record "limit.acc.$pps.ratio" "$(ratio "$rate" "$pps")"
		done
	done
	bench_ns_del "$_lim_gen"
	bench_ns_del "$_lim_rx"
}
