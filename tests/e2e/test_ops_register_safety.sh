#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# register --pid takes only what it is asked for: one endpoint per
# (protocol, family). A process with an app and an admin listener is
# refused (exit 2, the candidates named, nothing changed) until --addr
# picks one or --all takes them all; the admin socket never gets outside
# traffic by accident. One IPv4 and one IPv6 listener, one TCP and one UDP
# socket, and a reuseport group on one address are not ambiguous.
. "$(dirname "$0")/lib.sh"

# app_and_admin VAR NS: a process listening on 127.0.0.1:3001 (index 0,
# the app) and 127.0.0.1:3002 (index 1, the admin socket).
app_and_admin() {
	pyserve "$1" "$2" web --index 127.0.0.1:3001 127.0.0.1:3002
}

case_two_listeners_refused_then_addr_picks_one() {
	local ns tmp p err
	newns ns pick
	ip -n "$ns" addr add 198.18.5.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	app_and_admin p "$ns"
	err=$(pt_err "$ns" register web --pid "$p")
	expect_eq "$err" "portier: register: pid $p: 2 candidates, more than one tcp over IPv4 (tcp 127.0.0.1:3001, tcp 127.0.0.1:3002); choose with --addr ADDR:PORT or take all with --all" \
		"the refusal"
	expect_bad "$ns" register web --pid "$p"
	expect_bad "$ns" register web --pid "$p" --proto tcp
	# refused before anything changed: the service is not even declared
	expect_json "$ns" 'length' 0 services
	pt "$ns" register web --pid "$p" --addr 127.0.0.1:3001
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local) \(.pid)") | join(",")' \
		"tcp 127.0.0.1:3001 $p" services
	pt "$ns" bind tcp 198.18.5.2 80 web
	ptnet "$ns" loop 198.18.5.2 80 20 --sports 41000-41019 --out "$tmp/out"
	expect_eq "$(count_replies "$tmp/out")" "web 0 20" "20 outside connections: all to the app"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 20 "tcp 80 steered"
}

case_all_takes_every_listener() {
	local ns tmp p
	newns ns all
	ip -n "$ns" addr add 198.18.5.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	app_and_admin p "$ns"
	pt "$ns" register web --pid "$p" --all
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:3001,tcp 127.0.0.1:3002" services
	pt "$ns" bind tcp 198.18.5.2 80 web
	# 32 flows over two sockets: both are used, deliberately
	ptnet "$ns" loop 198.18.5.2 80 32 --sports 41000-41031 --out "$tmp/out"
	expect_eq "$(grep -c FAIL "$tmp/out" || true)" 0 "failed connections"
	expect_eq "$(awk '{print $3}' "$tmp/out" | sort -u | tr '\n' ' ')" "0 1 " "sockets used"
	# a later register without --all is refused and keeps both
	expect_bad "$ns" register web --pid "$p"
	expect_json "$ns" '.[0].sockets | length' 2 services
}

case_not_ambiguous() {
	local ns tmp both mix group err
	newns ns plain
	ip -n "$ns" addr add 198.18.5.2/32 dev lo
	ip -n "$ns" addr add 2001:db8::2/128 dev lo nodad
	casetmp tmp
	pt "$ns" load >/dev/null
	# one IPv4 and one IPv6 listener: two families, one endpoint each
	pyserve both "$ns" both --index --v6only 127.0.0.1:3101 "[::1]:3101"
	pt "$ns" register both --pid "$both"
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:3101,tcp [::1]:3101" services
	# one TCP listener and one UDP socket: two protocols
	pyserve mix "$ns" mix --pktinfo 127.0.0.1:3201 udp:127.0.0.1:3202
	err=$(pt_err "$ns" register mix --pid "$mix")
	expect_eq "$err" "" "register of one tcp and one udp socket: stderr"
	expect_json "$ns" '[.[] | select(.name == "mix") | .sockets[] | "\(.proto) \(.local)"] | sort | join(",")' \
		"tcp 127.0.0.1:3201,udp 127.0.0.1:3202" services
	# a reuseport group: two sockets on one address are one endpoint
	spawn group "$ns" "$E2E_PY" -c 'import socket, time
socks = []
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 3301))
    s.listen(16)
    socks.append(s)
open("'"$tmp/group"'", "w").close()
time.sleep(60)'
	wait_file "$tmp/group"
	pt "$ns" register group --pid "$group"
	expect_json "$ns" '[.[] | select(.name == "group") | .sockets[] | "\(.proto) \(.local)"] | join(",")' \
		"tcp 127.0.0.1:3301,tcp 127.0.0.1:3301" services
	pt "$ns" bind tcp 198.18.5.2 80 both
	pt "$ns" bind tcp 2001:db8::2 80 both
	expect_eq "$(tcp_get "$ns" 198.18.5.2 80)" "both 0" "IPv4 to the IPv4 listener"
	expect_eq "$(in_ns "$ns" timeout 3 socat -T2 - "TCP6:[2001:db8::2]:80" </dev/null 2>/dev/null)" \
		"both 1" "IPv6 to the IPv6 listener"
}

case_proto_narrows_and_many_are_listed() {
	local ns p many addrs=() i err
	newns ns narrow
	pt "$ns" load >/dev/null
	# two TCP listeners and one UDP socket: --proto udp is not ambiguous
	pyserve p "$ns" p --pktinfo 127.0.0.1:3401 127.0.0.1:3402 udp:127.0.0.1:3403
	err=$(pt_err "$ns" register p --pid "$p")
	expect_eq "$err" "portier: register: pid $p: 3 candidates, more than one tcp over IPv4 (tcp 127.0.0.1:3401, tcp 127.0.0.1:3402, udp 127.0.0.1:3403); choose with --addr ADDR:PORT or take all with --all" \
		"the refusal names every candidate"
	pt "$ns" register p --pid "$p" --proto udp
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | join(",")' \
		"udp 127.0.0.1:3403" services
	expect_bad "$ns" register p --pid "$p" --proto tcp
	pt "$ns" register p --pid "$p" --proto tcp --all
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:3401,tcp 127.0.0.1:3402,udp 127.0.0.1:3403" services
	# ten listeners: the line names eight and counts the rest
	for i in $(seq 0 9); do addrs+=("127.0.0.1:$((3500 + i))"); done
	pyserve many "$ns" many "${addrs[@]}"
	err=$(pt_err "$ns" register many --pid "$many")
	expect_eq "$err" "portier: register: pid $many: 10 candidates, more than one tcp over IPv4 (tcp 127.0.0.1:3500, tcp 127.0.0.1:3501, tcp 127.0.0.1:3502, tcp 127.0.0.1:3503, tcp 127.0.0.1:3504, tcp 127.0.0.1:3505, tcp 127.0.0.1:3506, tcp 127.0.0.1:3507, and 2 more); choose with --addr ADDR:PORT or take all with --all" \
		"the refusal of ten"
	expect_bad "$ns" register many --pid "$many"
	# --addr and --all together, --all with --fd: bad usage
	expect_bad "$ns" register many --pid "$many" --all --addr 127.0.0.1:3500
	expect_bad "$ns" register many --fd 0 --all
	expect_json "$ns" 'map(.name) | join(",")' p services
}

run_cases
