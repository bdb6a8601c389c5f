# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Drop rate over a veth pair, sourced by bench/section.sh. A generator
# namespace floods UDP to port 7777 of a receiver namespace: ptbench txgen
# test-runs an XDP_TX program with BPF_F_TEST_XDP_LIVE_FRAMES on the
# generator's veth (pinned to CPU 0), so every frame goes out of it into
# the receiver's veth, whose NAPI runs threaded and pinned to CPU 1. The
# receivers, in turn, each round:
#   dropall      an XDP program that drops every frame (the limit)
#   portier      the guard with `policy udp 7777 drop`
#   nft_ingress  nftables, netdev ingress hook: udp dport 7777 drop
#   nft_input    nftables, inet input hook: udp dport 7777 drop
# The receiver's rate is what it dropped (the veth's xdp_drops, or the nft
# rule's counter) over the generator's time; frames the receiver could not
# take were refused at the veth ring and count for nothing. GRO is on for
# the receiving veth so that it takes frames without an XDP program too.

DROP_PORT=7777
GEN_CPU=0
RX_CPU=1

_rx_ns="" _rx_if="" _xf_dir=""

rx_nft() { ip netns exec "$_rx_ns" nft "$@"; }

# xdp_drops: frames dropped by the receiving veth's XDP program.
xdp_drops() {
	ip netns exec "$_rx_ns" ethtool -S "$_rx_if" |
		awk '/rx_queue_[0-9]+_xdp_drops:/ { n += $2 } END { print n + 0 }'
}

nft_drops() {
	rx_nft -j list table "$1" bench |
		jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add // 0'
}

rx_setup() {
	case $1 in
	dropall)
		ip -n "$_rx_ns" link set dev "$_rx_if" xdpdrv obj "$BENCH_OUT/drop_xdp.bpf.o" sec xdp \
			2> >(grep -v 'unrecognized data section' >&2)
		;;
	parse_drop)
		in_ns "$_rx_ns" "$BENCH_OUT/ptbench" xdp-attach --obj "$BENCH_OUT/parse_drop_xdp.bpf.o" \
			--ifname "$_rx_if" --udp-port "$DROP_PORT"
		;;
	xdpfilter_udp)
		in_ns "$_rx_ns" "$BENCH_OUT/ptbench" xdp-attach --xdp-filter \
			--obj "$_xf_dir/xdpfilt_alw_udp.o" --ifname "$_rx_if" --udp-port "$DROP_PORT"
		;;
	portier)
		"$PORTIER" --netns "$_rx_ns" load --xdp "$_rx_if" --xdp-mode native >/dev/null &&
			"$PORTIER" --netns "$_rx_ns" policy udp "$DROP_PORT" drop >/dev/null
		;;
	nft_ingress)
		rx_nft -f - <<-EOF
			table netdev bench {
				chain ingress {
					type filter hook ingress device "$_rx_if" priority 0;
					udp dport $DROP_PORT counter drop
				}
			}
		EOF
		;;
	nft_input)
		rx_nft -f - <<-EOF
			table inet bench {
				chain input {
					type filter hook input priority 0;
					udp dport $DROP_PORT counter drop
				}
			}
		EOF
		;;
	esac
}

rx_count() {
	case $1 in
	dropall | parse_drop | xdpfilter_udp | portier) xdp_drops ;;
	nft_ingress) nft_drops netdev ;;
	nft_input) nft_drops inet ;;
	esac
}

rx_teardown() {
	case $1 in
	dropall | parse_drop | xdpfilter_udp) ip -n "$_rx_ns" link set dev "$_rx_if" xdpdrv off ;;
	portier) "$PORTIER" --netns "$_rx_ns" unload >/dev/null ;;
	nft_ingress) rx_nft delete table netdev bench ;;
	nft_input) rx_nft delete table inet bench ;;
	esac
}

# gif, gmac, rmac: set by bench_pair, read by flood; flood_*: flood's results
# shellcheck disable=SC2034,SC2154
bench_drop() {
	local gen rx gif rif gmac rmac round r receivers order
	if [ "$(nproc)" -lt 2 ]; then
		log "needs two CPUs (generator and receiver): skipped"
		return 0
	fi
	bench_pair drop r || return 1
	_rx_ns=$rx _rx_if=$rif
	ip netns exec "$rx" ethtool -K "$rif" gro on >/dev/null || return 1
	ip netns exec "$rx" sh -c "echo 1 > /sys/class/net/$rif/threaded" || return 1
	record drop.frames "$DROP_FRAMES"
	receivers="dropall parse_drop xdpfilter_udp portier nft_ingress nft_input"
	if ! _xf_dir=$(xdp_filter_dir); then
		log "xdp-filter's objects not found: no xdp-filter baseline"
		receivers=${receivers/xdpfilter_udp /}
	fi
	for round in $(seq 1 "$DROP_ROUNDS"); do
		order=$receivers
		# shellcheck disable=SC2086 # one word per receiver
		[ $((round % 2)) = 0 ] && order=$(printf '%s\n' $receivers | tac | xargs)
		for r in $order; do
			rx_setup "$r" || { log "$r: setup failed"; return 1; }
			napi_pin "$rif" "$RX_CPU" || return 1
			flood "$GEN_CPU" "$DROP_PORT" 0.1 rx_count "$r" || return 1
			log "round $round: $r dropped $flood_n of $DROP_FRAMES in $flood_ms ms: $flood_rate pps"
			record "drop.$r.pps" "$flood_rate"
			if [ "$r" = portier ]; then
				record drop.portier.counted "$("$PORTIER" --netns "$rx" --json stats --port "$DROP_PORT" |
					jq '[.ports[] | select(.proto == "udp") | .dropped] | add // 0')"
			fi
			rx_teardown "$r" || return 1
		done
	done
	bench_ns_del "$gen"
	bench_ns_del "$rx"
}
