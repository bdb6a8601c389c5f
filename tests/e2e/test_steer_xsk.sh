#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# AF_XDP services: build/xsk-echo's AF_XDP socket registered with
# `register --xsk`, bound ports redirected to it by the guard (native XDP
# on the building's veth), exact echoes and exact xsk/fallback counters;
# policy wins over steering; a queue without a socket, and a socket whose
# process exited, fall back to the stack, counted; register's and bind's
# refusals change nothing.
#
# The receive queue of a frame on a veth is the transmit queue its peer
# sent it on; the street's transmit queue is chosen by XPS from the sending
# CPU (tx-0: CPU 0, tx-1: CPU 1), so `taskset -c Q` picks queue Q.
. "$(dirname "$0")/lib.sh"

XSK_ECHO=${XSK_ECHO:-$(dirname "$PORTIER")/xsk-echo}

# xsk_echo VAR NS OUT ARGS...: start xsk-echo ARGS in NS (its output in
# OUT), wait for its ready line; PID in VAR.
xsk_echo() {
	local __var=$1 __ns=$2 __out=$3 __pid
	shift 3
	nsenter --net="/run/netns/$__ns" "$XSK_ECHO" "$@" >"$__out" 2>&1 &
	__pid=$!
	_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
	wait_lines "$__out" 1 5
	grep -q '^xsk-echo: ready on' "$__out" || fail "xsk-echo $*: $(cat "$__out")"
}

# stop_echo PID OUT: SIGTERM, a clean exit, and its counters line.
stop_echo() {
	kill -TERM "$1"
	wait_exit "$1" 5
	grep -q '^xsk-echo: received' "$2" || fail "xsk-echo did not print its counters: $(cat "$2")"
}

# echoes NS ADDR PORT N [CPU]: send N datagrams from one socket (on CPU,
# default 0) and print how many came back as echoes from ADDR PORT.
echoes() {
	local out
	out=$(in_ns "$1" taskset -c "${5:-0}" "$E2E_PY" "$E2E_HELPERS/ptnet.py" udp "$2" "$3" \
		--count "$4" --timeout 2) || true
	grep -cx "ping $2 $3" <<<"$out" || true
}

# send_on NS CPU ADDR PORT N: send N datagrams from CPU (no reply wanted).
send_on() {
	local ns=$1 cpu=$2 sent
	sent=$(in_ns "$ns" taskset -c "$cpu" "$E2E_PY" "$E2E_HELPERS/ptnet.py" send "$3" "$4" "$5") ||
		{ fail "send to $3 $4 on CPU $cpu failed (sent '$sent')"; return 1; }
	expect_eq "$sent" "$5" "datagrams sent to $4"
}

# icmp_ping NS ADDR: one ICMP echo request from a raw socket; true when
# its reply came (2 s bound).
icmp_ping() {
	in_ns "$1" timeout 5 "$E2E_PY" -c '
import socket, struct, sys
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    return ~(t + (t >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
req = struct.pack("!BBHHH", 8, 0, 0, 0x7074, 1) + b"portier!"
s.sendto(req[:2] + struct.pack("!H", csum(req)) + req[4:], (sys.argv[1], 0))
while True:
    d, a = s.recvfrom(2048)
    ihl = (d[0] & 15) * 4
    if a[0] == sys.argv[1] and d[ihl] == 0 and d[ihl + 4:ihl + 6] == b"pt":
        sys.exit(0)
' "$2" 2>/dev/null
}

# building VAR_STREET VAR_BLDG [QUEUES]: the street (door, 198.18.0.1,
# 2001:db8::1) and the building (lobby, 198.18.0.2, 2001:db8::2) joined by a
# veth pair of QUEUES queues (default 1), XPS on the street's side, the
# guard in native mode on the lobby.
building() {
	local __c __s q=${3:-1}
	[ "$(nproc)" -ge "$q" ] || skip "needs $q CPUs for $q queues"
	newns __c street
	newns __s bldg
	ip link add door netns "$__c" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name lobby netns "$__s" numtxqueues "$q" numrxqueues "$q"
	ip -n "$__c" addr add 198.18.0.1/24 dev door
	ip -n "$__s" addr add 198.18.0.2/24 dev lobby
	ip -n "$__c" addr add 2001:db8::1/64 dev door nodad
	ip -n "$__s" addr add 2001:db8::2/64 dev lobby nodad
	ip -n "$__c" link set door up
	ip -n "$__s" link set lobby up
	pin_neigh "$__c" door 198.18.0.2 "$__s" lobby
	pin_neigh "$__s" lobby 198.18.0.1 "$__c" door
	pin_neigh "$__c" door 2001:db8::2 "$__s" lobby
	pin_neigh "$__s" lobby 2001:db8::1 "$__c" door
	if [ "$q" -gt 1 ]; then
		# queue i sends from CPU i
		ip netns exec "$__c" sh -c 'for i in 0 1; do printf %x $((1 << i)) \
			>/sys/class/net/door/queues/tx-$i/xps_cpus; done'
	fi
	pt "$__s" load --xdp lobby --xdp-mode native >/dev/null
	printf -v "$1" '%s' "$__c"
	printf -v "$2" '%s' "$__s"
}

case_echo_af_xdp_kernel_ports_untouched() {
	local st b tmp echo web udp
	building st b
	casetmp tmp
	xsk_echo echo "$b" "$tmp/echo" lobby
	# residents on kernel sockets beside the AF_XDP service
	serve web "$b" tcp 198.18.0.2 8080 web
	pyserve udp "$b" resolver --udp 198.18.0.2:5353
	wait_listen "$b" tcp 8080
	pt "$b" register web --pid "$web"
	pt "$b" bind tcp any 8080 web
	pt "$b" register game --pid "$echo" --xsk --ifname lobby
	pt "$b" bind udp any 3064-3099 game
	expect_json "$b" '.[] | select(.name == "game") | .sockets | map("\(.proto) \(.local) \(.pid) \(.gone)") | join(",")' \
		"xsk lobby queue 0 $echo false" services
	# explain walks the path the guard takes
	local why
	why=$(pt "$b" explain udp 198.18.0.2:3070 --from 198.18.0.1:40000)
	grep -qF "steered at the driver to service game's AF_XDP socket on lobby queue 0" <<<"$why" ||
		fail "explain of an AF_XDP port: $why"
	# 8 ports of the range, 3 datagrams each: 24 echoes from where they went
	local port n=0
	for port in 3064 3069 3074 3079 3084 3089 3094 3099; do
		n=$((n + $(echoes "$st" 198.18.0.2 "$port" 3)))
	done
	expect_eq "$n" 24 "echoes from the AF_XDP service"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 24 "udp 3064-3099 xsk"
	expect_eq "$(stat_of "$b" udp 3064 packets)" 24 "udp 3064-3099 packets"
	expect_eq "$(stat_of "$b" udp 3064 fallback)" 0 "udp 3064-3099 fallback"
	expect_eq "$(stat_of "$b" udp 3064 no_socket)" 0 "udp 3064-3099 no_socket"
	# the kernel's ports as before: TCP through dispatch, UDP, ICMP, ARP
	expect_eq "$(tcp_get "$st" 198.18.0.2 8080)" web "tcp 8080 (kernel socket)"
	expect_eq "$(stat_of "$b" tcp 8080 steered)" 1 "tcp 8080 steered by dispatch"
	expect_eq "$(stat_of "$b" tcp 8080 xsk)" 0 "tcp 8080 xsk"
	expect_eq "$(udp_get "$st" 198.18.0.2 5353)" resolver "udp 5353 (unbound kernel socket)"
	icmp_ping "$st" 198.18.0.2 || fail "no echo reply from 198.18.0.2"
	ip -n "$st" neigh del 198.18.0.2 dev door
	icmp_ping "$st" 198.18.0.2 || fail "no echo reply after ARP"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 24 "udp 3064-3099 xsk after the others"
	# IPv6 the same
	expect_eq "$(echoes "$st" 2001:db8::2 3070 5)" 5 "echoes over IPv6"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 29 "udp 3064-3099 xsk with IPv6"
	stop_echo "$echo" "$tmp/echo"
	expect_eq "$(grep '^xsk-echo: received' "$tmp/echo")" \
		"xsk-echo: received 29, replied 29, dropped 0, tx full 0" "xsk-echo's counters"
	finish
}

case_policy_drop_wins_over_steering() {
	local st b tmp echo
	building st b
	casetmp tmp
	xsk_echo echo "$b" "$tmp/echo" lobby
	pt "$b" register game --pid "$echo" --xsk --ifname lobby
	pt "$b" bind udp any 3064-3099 game
	pt "$b" policy udp 3070 drop
	send_on "$st" 0 198.18.0.2 3070 6
	wait_stat "$b" udp 3070 dropped 6
	expect_eq "$(echoes "$st" 198.18.0.2 3070 1)" 0 "echoes from a dropped port"
	expect_eq "$(stat_of "$b" udp 3070 dropped)" 7 "udp 3070 dropped"
	expect_eq "$(stat_of "$b" udp 3070 xsk)" 0 "udp 3070 xsk"
	# the rest of the range is still served
	expect_eq "$(echoes "$st" 198.18.0.2 3071 4)" 4 "echoes from 3071"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 4 "udp 3064-3099 xsk"
	pt "$b" unpolicy udp 3070
	expect_eq "$(echoes "$st" 198.18.0.2 3070 2)" 2 "echoes from 3070 once allowed"
	stop_echo "$echo" "$tmp/echo"
	expect_eq "$(grep '^xsk-echo: received' "$tmp/echo")" \
		"xsk-echo: received 6, replied 6, dropped 0, tx full 0" "xsk-echo's counters"
	finish
}

case_queue_without_socket_falls_back() {
	local st b tmp e0 e1 why
	building st b 2
	casetmp tmp
	xsk_echo e0 "$b" "$tmp/e0" lobby --queue 0
	pt "$b" register game --pid "$e0" --xsk --ifname lobby
	pt "$b" bind udp any 3064-3099 game
	expect_eq "$(echoes "$st" 198.18.0.2 3070 5 0)" 5 "echoes on queue 0"
	# queue 1 has no socket: to the stack (no kernel socket there either)
	send_on "$st" 1 198.18.0.2 3080 7
	wait_stat "$b" udp 3064 fallback 7
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 5 "udp 3064-3099 xsk"
	expect_eq "$(stat_of "$b" udp 3064 no_socket)" 7 "dispatch: no socket for the fallbacks"
	# a second process takes queue 1 alone (--queue): queue 0's stays
	xsk_echo e1 "$b" "$tmp/e1" lobby --queue 1
	expect_bad "$b" register game --pid "$e1" --xsk --ifname lobby --queue 0
	pt "$b" register game --pid "$e1" --xsk --ifname lobby --queue 1
	expect_json "$b" '.[0].sockets | map("\(.local) \(.pid)") | join(",")' \
		"lobby queue 0 $e0,lobby queue 1 $e1" services
	why=$(pt "$b" explain udp 198.18.0.2:3080)
	grep -qF "steered at the driver to service game's AF_XDP sockets on lobby queues 0, 1" <<<"$why" ||
		fail "explain of an AF_XDP port with two queues: $why"
	expect_eq "$(echoes "$st" 198.18.0.2 3080 3 1)" 3 "echoes on queue 1"
	expect_eq "$(echoes "$st" 198.18.0.2 3070 2 0)" 2 "echoes on queue 0"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 10 "udp 3064-3099 xsk, both queues"
	expect_eq "$(stat_of "$b" udp 3064 fallback)" 7 "udp 3064-3099 fallback"
	stop_echo "$e1" "$tmp/e1"
	stop_echo "$e0" "$tmp/e0"
	expect_eq "$(grep '^xsk-echo: received' "$tmp/e0")" \
		"xsk-echo: received 7, replied 7, dropped 0, tx full 0" "queue 0's counters"
	expect_eq "$(grep '^xsk-echo: received' "$tmp/e1")" \
		"xsk-echo: received 3, replied 3, dropped 0, tx full 0" "queue 1's counters"
	finish
}

case_process_exit_falls_back_reregister_unregister() {
	local st b tmp echo again web
	building st b
	casetmp tmp
	xsk_echo echo "$b" "$tmp/echo" lobby
	pt "$b" register game --pid "$echo" --xsk --ifname lobby
	pt "$b" bind udp any 3064-3099 game
	expect_eq "$(echoes "$st" 198.18.0.2 3064 3)" 3 "echoes before the exit"
	kill -KILL "$echo"
	wait_exit "$echo" 5 2>/dev/null
	# its socket left the XSKMAP: every later datagram falls back
	send_on "$st" 0 198.18.0.2 3064 9
	wait_stat "$b" udp 3064 fallback 9
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 3 "udp 3064-3099 xsk after the exit"
	expect_json "$b" '.[0].sockets | map("\(.local) \(.gone)") | join(",")' \
		"lobby queue 0 (gone) true" services
	icmp_ping "$st" 198.18.0.2 || fail "no echo reply after the exit"
	# a new process: registered again, served again
	xsk_echo again "$b" "$tmp/again" lobby
	pt "$b" register game --pid "$again" --xsk --ifname lobby
	expect_json "$b" '.[0].sockets | map("\(.local) \(.pid) \(.gone)") | join(",")' \
		"lobby queue 0 $again false" services
	expect_eq "$(echoes "$st" 198.18.0.2 3064 4)" 4 "echoes after registering again"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 7 "udp 3064-3099 xsk"
	# unregister: no AF_XDP socket and no steering; the binding stays
	pt "$b" unregister game
	expect_json "$b" '.[0].sockets | length' 0 services
	send_on "$st" 0 198.18.0.2 3064 2
	wait_stat "$b" udp 3064 no_socket 11
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 7 "udp 3064-3099 xsk after unregister"
	expect_eq "$(stat_of "$b" udp 3064 fallback)" 9 "no fallback once not an AF_XDP service"
	# and the service may hold kernel sockets now
	pyserve web "$b" kernel --udp 198.18.0.2:3064
	pt "$b" register game --pid "$web" 2>/dev/null
	expect_eq "$(udp_get "$st" 198.18.0.2 3064)" kernel "a kernel socket after unregister"
	stop_echo "$again" "$tmp/again"
	expect_eq "$(grep '^xsk-echo: received' "$tmp/again")" \
		"xsk-echo: received 4, replied 4, dropped 0, tx full 0" "the second process's counters"
	finish
}

case_register_and_bind_refusals() {
	local st b tmp echo side web err
	building st b
	casetmp tmp
	xsk_echo echo "$b" "$tmp/echo" lobby
	pyserve web "$b" resolver --udp 198.18.0.2:5353
	pt "$b" register dns --pid "$web" 2>/dev/null
	# both kinds on one service, both ways
	expect_bad "$b" register dns --pid "$echo" --xsk --ifname lobby
	expect_eq "$(pt_err "$b" register dns --pid "$echo" --xsk --ifname lobby)" \
		"portier: register: 'dns' holds kernel sockets: a service holds kernel sockets or AF_XDP sockets, not both ('portier unregister dns' first)" \
		"the refusal of AF_XDP sockets for a kernel-socket service"
	pt "$b" register game --pid "$echo" --xsk --ifname lobby
	expect_bad "$b" register game --pid "$web"
	expect_eq "$(pt_err "$b" register game --pid "$web")" \
		"portier: register: 'game' is an AF_XDP service: a service holds kernel sockets or AF_XDP sockets, not both ('portier unregister game' first)" \
		"the refusal of kernel sockets for an AF_XDP service"
	# a queue the socket is not on, one past the limit, no --ifname, no interface
	expect_bad "$b" register game --pid "$echo" --xsk --ifname lobby --queue 1
	expect_eq "$(pt_err "$b" register game --pid "$echo" --xsk --ifname lobby --queue 1)" \
		"portier: register: pid $echo has no AF_XDP socket on queue 1 (its sockets are on queue 0)" \
		"the refusal of a wrong --queue"
	expect_bad "$b" register game --pid "$echo" --xsk --ifname lobby --queue 64
	expect_bad "$b" register game --pid "$echo" --xsk
	expect_eq "$(pt_err "$b" register game --pid "$echo" --xsk)" \
		"portier: register: this kernel does not say which interface an AF_XDP socket is bound to (no XDP socket diagnostics): name it with --ifname IF (interfaces with the guard: lobby)" \
		"the refusal without --ifname"
	expect_bad "$b" register game --pid "$echo" --xsk --ifname nosuch0
	expect_bad "$b" register other --pid "$web" --xsk --ifname lobby
	expect_bad "$b" register game --pid "$echo" --ifname lobby
	# an AF_XDP socket bound to no queue cannot take packets
	local unbound
	spawn unbound "$b" "$E2E_PY" -c 'import socket, time; s = socket.socket(44, socket.SOCK_RAW); time.sleep(30)'
	for _ in $(seq 1 50); do
		[ "$(ls -l "/proc/$unbound/fd" 2>/dev/null | grep -c 'socket:')" -ge 1 ] && break
		sleep 0.1
	done
	expect_eq "$(pt_err "$b" register idle --pid "$unbound" --xsk --ifname lobby)" \
		"portier: register: pid $unbound has an AF_XDP socket bound to no queue" \
		"the refusal of an unbound AF_XDP socket"
	expect_bad "$b" register idle --pid "$unbound" --xsk --ifname lobby
	expect_bad "$b" register game --fd 0 --xsk
	# still the one socket, served
	expect_json "$b" '[.[] | select(.name == "game") | .sockets[] | .local] | join(",")' \
		"lobby queue 0" services
	# an AF_XDP service on an interface with no guard: bind and apply refuse (1)
	ip -n "$b" link add side0 type veth peer name side1
	ip -n "$b" link set side0 up
	ip -n "$b" link set side1 up
	xsk_echo side "$b" "$tmp/side" side0
	pt "$b" register arcade --pid "$side" --xsk --ifname side0
	local before after
	before=$(snapshot "$b")
	expect_rc 1 pt "$b" bind udp any 4000 arcade
	expect_eq "$(pt_err "$b" bind udp any 4000 arcade)" \
		"portier: bind: 'arcade' is an AF_XDP service on side0, which has no portier guard to steer its packets: 'portier load --xdp side0' first" \
		"the refusal of a binding without a guard"
	printf 'service add arcade\nbind udp any 4000 arcade\n' >"$tmp/conf"
	expect_rc 1 pt "$b" apply "$tmp/conf"
	after=$(snapshot "$b")
	expect_eq "$after" "$before" "the state after the refusals"
	# with the guard there, the binding is taken
	pt "$b" load --xdp side0 --xdp-mode native >/dev/null
	pt "$b" bind udp any 4000 arcade
	expect_json "$b" '[.[] | select(.service == "arcade") | .port_lo] | join(",")' 4000 bindings
	stop_echo "$side" "$tmp/side"
	stop_echo "$echo" "$tmp/echo"
	finish
}

# Where the kernel has XDP socket diagnostics (CONFIG_XDP_SOCKETS_DIAG:
# neither this machine's 6.18 nor Debian 12's 6.1 under `make test-kernel`
# has them, so this case skips there), register needs no --ifname: the
# kernel names each socket's interface and queue, and a --ifname that says
# otherwise is refused.
case_diag_names_the_interface() {
	local st b tmp echo err
	building st b
	casetmp tmp
	xsk_echo echo "$b" "$tmp/echo" lobby
	err=$(pt_err "$b" register game --pid "$echo" --xsk)
	case $err in
	*"no XDP socket diagnostics"*)
		skip "the kernel has no XDP socket diagnostics (CONFIG_XDP_SOCKETS_DIAG)" ;;
	esac
	expect_eq "$err" "" "register --xsk without --ifname"
	expect_json "$b" '.[0].sockets | map("\(.local) \(.pid)") | join(",")' "lobby queue 0 $echo" services
	expect_bad "$b" register game --pid "$echo" --xsk --ifname lo
	expect_eq "$(pt_err "$b" register game --pid "$echo" --xsk --ifname lo)" \
		"portier: register: pid $echo's AF_XDP sockets are bound to lobby, not --ifname lo" \
		"the refusal of a wrong --ifname"
	pt "$b" bind udp any 3064-3099 game
	expect_eq "$(echoes "$st" 198.18.0.2 3070 3)" 3 "echoes"
	expect_eq "$(stat_of "$b" udp 3064 xsk)" 3 "udp 3064-3099 xsk"
	stop_echo "$echo" "$tmp/echo"
	finish
}

run_cases
