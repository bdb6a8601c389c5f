#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 dispatch and the family rule: a packet gets a socket of its own
# family or, for IPv4, a dual-stack IPv6 socket; with none it falls
# through, counted as no_socket.
. "$(dirname "$0")/lib.sh"

case_ipv6_port80_to_loopback() {
	local ns web6
	newns ns v6
	ip -n "$ns" addr add 2001:db8::2/128 dev lo nodad
	pt "$ns" load >/dev/null
	pyserve web6 "$ns" web6 '[::1]:3003'
	pt "$ns" service add web6
	pt "$ns" bind tcp 2001:db8::2/128 80 web6
	pt "$ns" register web6 --pid "$web6"
	expect_json "$ns" '.[0] | "\(.prefix) \(.port_lo)-\(.port_hi) \(.service)"' \
		"2001:db8::2/128 80-80 web6" bindings
	expect_json "$ns" '.[0].sockets | map(.proto + " " + .local) | join(",")' "tcp [::1]:3003" services
	expect_eq "$(tcp_get "$ns" '[2001:db8::2]' 80)" web6 "reply through [2001:db8::2]:80"
	expect_eq "$(ptnet "$ns" loop 2001:db8::2 80 3 | count_replies /dev/stdin)" "web6 3" "three more"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 4 "tcp 80 steered"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 0 "tcp 80 no_socket"
	# another address of the same port is not bound: refused as before
	ip -n "$ns" addr add 2001:db8::3/128 dev lo nodad
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - 'TCP:[2001:db8::3]:80'
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 4 "tcp 80 steered after unbound traffic"
}

case_ipv4_reaches_dual_stack_socket() {
	local ns dual
	newns ns dual
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve dual "$ns" dual --dual '[::]:3004'
	pt "$ns" register dual --pid "$dual"
	pt "$ns" bind tcp 198.18.0.2/32 81 dual
	expect_eq "$(tcp_get "$ns" 198.18.0.2 81)" dual "IPv4 to a dual-stack [::] socket"
	expect_eq "$(tcp_get "$ns" 198.18.0.2 81)" dual "again"
	expect_eq "$(stat_of "$ns" tcp 81 steered)" 2 "tcp 81 steered"
	expect_eq "$(stat_of "$ns" tcp 81 no_socket)" 0 "tcp 81 no_socket"
}

case_ipv6_only_socket_gets_no_ipv4() {
	local ns v6o
	newns ns v6only
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	ip -n "$ns" addr add 2001:db8::2/128 dev lo nodad
	pt "$ns" load >/dev/null
	pyserve v6o "$ns" v6o --v6only '[::]:3005'
	pt "$ns" register v6o --pid "$v6o"
	pt "$ns" bind tcp any 82 v6o
	expect_eq "$(tcp_get "$ns" '[2001:db8::2]' 82)" v6o "IPv6 to the IPv6-only socket"
	# IPv4: no socket of its family, falls through to the normal lookup
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:82
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:82
	expect_eq "$(stat_of "$ns" tcp 82 steered)" 1 "tcp 82 steered"
	expect_eq "$(stat_of "$ns" tcp 82 no_socket)" 2 "tcp 82 no_socket"
	# the same through socat's own ipv6only=1 listener
	local s6
	serve s6 "$ns" tcp :: 3006 s6 ",ipv6only=1"
	wait_listen "$ns" tcp 3006
	pt "$ns" register v6o --pid "$s6"
	expect_eq "$(tcp_get "$ns" '[2001:db8::2]' 82)" s6 "IPv6 to socat's IPv6-only socket"
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:82
	expect_eq "$(stat_of "$ns" tcp 82 steered)" 2 "tcp 82 steered, socat"
	expect_eq "$(stat_of "$ns" tcp 82 no_socket)" 3 "tcp 82 no_socket, socat"
}

case_bind_any_reaches_both_families() {
	local ns both
	newns ns both
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	ip -n "$ns" addr add 2001:db8::2/128 dev lo nodad
	pt "$ns" load >/dev/null
	# socket 0 is IPv4, socket 1 IPv6-only: each family gets its own
	pyserve both "$ns" both --index --v6only 127.0.0.1:3007 '[::1]:3007'
	pt "$ns" register both --pid "$both"
	pt "$ns" bind tcp any 80 both
	expect_json "$ns" '.[0].sockets | map(.local) | sort | join(",")' "127.0.0.1:3007,[::1]:3007" services
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" "both 0" "IPv4 198.18.0.2:80"
	expect_eq "$(tcp_get "$ns" '[2001:db8::2]' 80)" "both 1" "IPv6 [2001:db8::2]:80"
	expect_eq "$(tcp_get "$ns" 127.0.0.1 80)" "both 0" "IPv4 127.0.0.1:80"
	expect_eq "$(tcp_get "$ns" '[::1]' 80)" "both 1" "IPv6 [::1]:80"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 4 "tcp 80 steered"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 0 "tcp 80 no_socket"
}

run_cases
