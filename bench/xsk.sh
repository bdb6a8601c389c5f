# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# AF_XDP echo against a kernel UDP echo server, sourced by bench/section.sh.
# The generator of the drop benchmark (ptbench txgen: XDP_TX live frames,
# CPU 0) floods UDP to port 7777 of a receiver namespace over a veth pair;
# the receiver runs portier's guard (native XDP) and, each round, one of
#   xsk     build/xsk-echo on the veth's queue 0, registered with
#           `register --xsk` and bound (`bind udp any 7777`): the guard
#           redirects every datagram to its AF_XDP socket (copy mode: veth
#           has no zero-copy), it answers from user space
#   kernel  bench/udpecho: one UDP socket, recvmmsg/sendmmsg in batches of
#           64; the guard passes the datagrams to the stack
# The receiver's veth NAPI runs on the generator's CPU (the guard, and the
# redirect or the stack up to the socket), the server on CPU 1, where the
# generator's veth also takes the replies (in the server's send) and drops
# them in XDP, counting them (xdp_drops). The figure is replies over the
# generator's time; offered load is far above what either server answers,
# the rest is dropped at the receiver's rings.

XSK_PORT=7777
XSK_GEN_CPU=0
XSK_RX_CPU=1

_xg_ns="" _xg_if=""

# replies: frames the generator's veth received (and dropped in XDP).
replies() {
	ip netns exec "$_xg_ns" ethtool -S "$_xg_if" |
		awk '/rx_queue_[0-9]+_xdp_drops:/ { n += $2 } END { print n + 0 }'
}

# xsk_server VAR NS IFACE OUT: xsk-echo on CPU 1; its PID in VAR.
xsk_server() {
	local __var=$1 ns=$2 ifc=$3 out=$4 __pid
	nsenter --net="/run/netns/$ns" taskset -c "$XSK_RX_CPU" "$ROOT_OUT/xsk-echo" "$ifc" >"$out" 2>&1 &
	__pid=$!
	_BENCH_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
	for _ in $(seq 1 50); do
		grep -q '^xsk-echo: ready' "$out" && return 0
		sleep 0.1
	done
	log "xsk-echo did not start: $(cat "$out")"
	return 1
}

# gif, gmac, rmac: set by bench_pair, read by flood; flood_*: flood's results
# shellcheck disable=SC2034,SC2154
bench_xsk() {
	local gen rx gif rif gmac rmac round r srv tmp
	if [ "$(nproc)" -lt 2 ]; then
		log "needs two CPUs (generator and receiver): skipped"
		return 0
	fi
	ROOT_OUT=$(dirname "$PORTIER")
	tmp=$BENCH_TMP/xsk
	mkdir -p "$tmp"
	bench_pair xsk x || return 1
	_xg_ns=$gen _xg_if=$gif
	# no ARP: the generator's XDP drops everything that reaches it
	ip -n "$rx" neigh replace 198.18.0.1 lladdr "$gmac" dev "$rif" nud permanent
	ip -n "$gen" link set dev "$gif" xdpdrv obj "$BENCH_OUT/drop_xdp.bpf.o" sec xdp \
		2> >(grep -v 'unrecognized data section' >&2) || return 1
	"$PORTIER" --netns "$rx" load --xdp "$rif" --xdp-mode native >/dev/null || return 1
	"$PORTIER" --netns "$rx" service add game >/dev/null || return 1
	record xsk.frames "$DROP_FRAMES"
	for round in $(seq 1 "$DROP_ROUNDS"); do
		for r in xsk kernel; do
			if [ "$r" = xsk ]; then
				xsk_server srv "$rx" "$rif" "$tmp/echo.out" || return 1
				"$PORTIER" --netns "$rx" register game --pid "$srv" --xsk --ifname "$rif" ||
					return 1
				"$PORTIER" --netns "$rx" bind udp any "$XSK_PORT" game || return 1
			else
				bench_spawn srv "$rx" taskset -c "$XSK_RX_CPU" "$BENCH_OUT/udpecho" \
					198.18.0.2 "$XSK_PORT" --batch 64 --ready "$tmp/ready" || return 1
				for _ in $(seq 1 50); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
				rm -f "$tmp/ready"
			fi
			flood "$XSK_GEN_CPU" "$XSK_PORT" 0.1 replies || return 1
			log "round $round: $r answered $flood_n of $DROP_FRAMES in $flood_ms ms: $flood_rate replies/s"
			record "xsk.$r.rps" "$flood_rate"
			if [ "$r" = xsk ]; then
				record xsk.xsk.counted "$("$PORTIER" --netns "$rx" --json stats --port "$XSK_PORT" |
					jq '[.ports[] | select(.proto == "udp") | .xsk] | add // 0')"
				# back to a plain service: the next round's kernel socket gets the port
				"$PORTIER" --netns "$rx" unbind udp any "$XSK_PORT" >/dev/null || return 1
				"$PORTIER" --netns "$rx" unregister game >/dev/null || return 1
			fi
			bench_kill "$srv"
			[ "$r" = xsk ] && log "$(tail -1 "$tmp/echo.out")"
		done
	done
	bench_ns_del "$gen"
	bench_ns_del "$rx"
}
