# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Dispatch throughput, sourced by bench/section.sh: TCP connections per
# second and UDP request/response datagrams per second from a client to
# 198.18.0.2 (on the namespace's lo), in four ways, each round in turn:
#   direct   the server is bound to 198.18.0.2 itself (no portier)
#   binding  the server is bound to 127.0.0.1, portier binds 198.18.0.2 to it
#   nft      the server is bound to 127.0.0.1, nftables REDIRECTs to it
#            (output hook), in a fresh namespace each run: conntrack
#            leftovers of an earlier run would skew a reused one
#   socat    the server is bound to 127.0.0.1, socat on 198.18.0.2 relays
# The servers and clients are bench/connload: TCP connect, read a greeting,
# close with SO_LINGER 0; UDP one connected socket with 8 requests in
# flight, answered from the address they were sent to (IP_PKTINFO).

TCP_PORT=8080
UDP_PORT=5300

# servers NS ADDR: a TCP (2 accepting threads) and a UDP server on ADDR.
servers() {
	local ns=$1 addr=$2 pid
	bench_spawn pid "$ns" "$BENCH_OUT/connload" tcp-server "$addr:$TCP_PORT" --threads 2 \
		--lifetime 600
	SRV_TCP=$pid
	bench_spawn pid "$ns" "$BENCH_OUT/connload" udp-server "$addr:$UDP_PORT" --lifetime 600
	SRV_UDP=$pid
	wait_listen "$ns" tcp "$TCP_PORT" && wait_listen "$ns" udp "$UDP_PORT"
}

dispatch_ns() {
	local __dvar=$1 __dname=$2 __dns
	bench_ns __dns "$__dname" || return 1
	ip -n "$__dns" addr add 198.18.0.2/32 dev lo || return 1
	printf -v "$__dvar" '%s' "$__dns"
}

nft_ns() {
	local __nvar=$1 __nns
	dispatch_ns __nns "nft$2" || return 1
	ip netns exec "$__nns" nft -f - <<-EOF || return 1
		table ip bench {
			chain output {
				type nat hook output priority -100;
				ip daddr 198.18.0.2 tcp dport $TCP_PORT redirect to :$TCP_PORT
				ip daddr 198.18.0.2 udp dport $UDP_PORT redirect to :$UDP_PORT
			}
		}
	EOF
	servers "$__nns" 127.0.0.1 || return 1
	printf -v "$__nvar" '%s' "$__nns"
}

# client NS PROTO COUNT: run the load, print the rate (per second).
client() {
	local ns=$1 proto=$2 count=$3 out
	if [ "$proto" = tcp ]; then
		out=$(in_ns "$ns" "$BENCH_OUT/connload" tcp-client "198.18.0.2:$TCP_PORT" \
			--count "$count" --threads 2 --timeout 30) || return 1
	else
		out=$(in_ns "$ns" "$BENCH_OUT/connload" udp-client "198.18.0.2:$UDP_PORT" \
			--count "$count" --window 8 --timeout 30) || return 1
	fi
	# a run that lost more than 1% is not a throughput figure
	awk '$1 == "ok" { ok = $2 } $1 == "failed" { f = $2 } $1 == "rate" { r = $2 }
		END { if (ok == 0 || f > ok / 100) exit 1; print r }' <<<"$out"
}

bench_dispatch() {
	local nsd nsb nss nsn pid round proto v rate count order
	dispatch_ns nsd direct || return 1
	servers "$nsd" 198.18.0.2 || return 1

	dispatch_ns nsb binding || return 1
	servers "$nsb" 127.0.0.1 || return 1
	"$PORTIER" --netns "$nsb" load >/dev/null || return 1
	printf 'service add web\nservice add dns\nbind tcp 198.18.0.2 %s web\nbind udp 198.18.0.2 %s dns\n' \
		"$TCP_PORT" "$UDP_PORT" >"$BENCH_TMP/dispatch.conf"
	"$PORTIER" --netns "$nsb" apply "$BENCH_TMP/dispatch.conf" >/dev/null || return 1
	"$PORTIER" --netns "$nsb" register web --pid "$SRV_TCP" >/dev/null || return 1
	"$PORTIER" --netns "$nsb" register dns --pid "$SRV_UDP" >/dev/null || return 1

	dispatch_ns nss socat || return 1
	servers "$nss" 127.0.0.1 || return 1
	bench_spawn pid "$nss" timeout 600 socat \
		"TCP4-LISTEN:$TCP_PORT,bind=198.18.0.2,fork,reuseaddr,backlog=4096" "TCP4:127.0.0.1:$TCP_PORT"
	# one child per client (its socket connected to that client), gone
	# after 5 s without traffic
	bench_spawn pid "$nss" timeout 600 socat -T 5 \
		"UDP4-LISTEN:$UDP_PORT,bind=198.18.0.2,reuseaddr,fork" "UDP4:127.0.0.1:$UDP_PORT"
	wait_listen "$nss" tcp "$TCP_PORT" || return 1

	for round in $(seq 1 "$DISPATCH_ROUNDS"); do
		# every other round in reverse, so that no variant always runs first
		order="direct binding nft socat"
		[ $((round % 2)) = 0 ] && order="socat nft binding direct"
		for proto in tcp udp; do
			for v in $order; do
				count=$TCP_CONNS
				[ "$proto" = udp ] && count=$UDP_REQS
				if [ "$v" = socat ]; then
					count=$SOCAT_TCP_CONNS
					[ "$proto" = udp ] && count=$SOCAT_UDP_REQS
				fi
				case $v in
				direct) rate=$(client "$nsd" "$proto" "$count") ;;
				binding) rate=$(client "$nsb" "$proto" "$count") ;;
				socat) rate=$(client "$nss" "$proto" "$count") ;;
				nft)
					nft_ns nsn "$round$proto" || return 1
					rate=$(client "$nsn" "$proto" "$count")
					bench_kill "$SRV_TCP" "$SRV_UDP"
					bench_ns_del "$nsn"
					;;
				esac
				if [ -z "$rate" ]; then
					log "round $round: $proto $v: the run failed or lost requests"
					return 1
				fi
				log "round $round: $proto $v: $rate/s"
				record "dispatch.$proto.$v" "$rate"
			done
		done
	done
	record dispatch.steered "$("$PORTIER" --netns "$nsb" --json stats |
		jq '[.ports[] | .steered] | add // 0')"
}
