# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# CPU steering (cpumap), sourced by bench/section.sh. The drop section's
# veth pair and generator (ptbench txgen, live XDP_TX frames from CPU 0),
# but the receiver's port 7777 has a UDP socket that never reads: every
# frame the guard passes goes through the whole stack up to the socket,
# which drops it (receive buffer full). The rate is those datagrams (the
# namespace's UdpInDatagrams + UdpRcvbufErrors) over the generator's time.
# The receiving veth's NAPI runs threaded on CPU 1; the guard is loaded with
# the port watched, and each round:
#   none    no steer rule: XDP and the stack on CPU 1
#   same    steer udp 7777 cpus 1: through the cpumap back to CPU 1 (the
#           cpumap's own cost: a queue and its kthread beside the NAPI)
#   other   steer udp 7777 cpus 0: the stack on CPU 0, the generator's CPU
#           (on a 2-CPU machine no CPU is free: the split, not a gain)
# The ratios are per round against `none` in the same round.

STEER_PORT=7777

_st_ns=""

# sock_drops: datagrams the receiver's stack took up to the socket.
sock_drops() {
	ip netns exec "$_st_ns" nstat -az UdpInDatagrams UdpRcvbufErrors |
		awk '$1 == "UdpInDatagrams" || $1 == "UdpRcvbufErrors" { n += $2 } END { print n + 0 }'
}

# gif, gmac, rmac: set by bench_pair, read by flood; flood_*: flood's results
# shellcheck disable=SC2034,SC2154
bench_steer() {
	local gen rx gif rif gmac rmac round r sock
	if [ "$(nproc)" -lt 2 ]; then
		log "needs two CPUs (generator and receiver): skipped"
		return 0
	fi
	bench_pair steer s || return 1
	_st_ns=$rx
	ip netns exec "$rx" ethtool -K "$rif" gro on >/dev/null || return 1
	ip netns exec "$rx" sh -c "echo 1 > /sys/class/net/$rif/threaded" || return 1
	bench_spawn sock "$rx" python3 -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', $STEER_PORT))
time.sleep(3600)"
	wait_listen "$rx" udp "$STEER_PORT" || return 1
	"$PORTIER" --netns "$rx" load --xdp "$rif" --xdp-mode native >/dev/null || return 1
	"$PORTIER" --netns "$rx" watch udp "$STEER_PORT" >/dev/null || return 1
	record steer.frames "$DROP_FRAMES"
	for round in $(seq 1 "$DROP_ROUNDS"); do
		for r in none same other; do
			case $r in
			none)	# the first round has no rule to remove (exit 2)
				"$PORTIER" --netns "$rx" unsteer udp "$STEER_PORT" >/dev/null 2>&1
				[ "$("$PORTIER" --netns "$rx" --json steers)" = "[]" ] ;;
			same) "$PORTIER" --netns "$rx" steer udp "$STEER_PORT" cpus 1 >/dev/null ;;
			other) "$PORTIER" --netns "$rx" steer udp "$STEER_PORT" cpus 0 >/dev/null ;;
			esac || { log "$r: steer failed"; return 1; }
			napi_pin "$rif" 1 || return 1
			# 0.2 s: the ring and the cpumap queue drain
			flood 0 "$STEER_PORT" 0.2 sock_drops || return 1
			log "round $round: $r: $flood_n of $DROP_FRAMES to the socket in $flood_ms ms: $flood_rate pps"
			record "steer.$r.pps" "$flood_rate"
		done
	done
	record steer.cpu_counted "$("$PORTIER" --netns "$rx" --json stats --port "$STEER_PORT" |
		jq '[.ports[] | select(.proto == "udp") | .cpu // empty] | add // "n/a"')"
	bench_kill "$sock"
	bench_ns_del "$gen"
	bench_ns_del "$rx"
}
