#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# UDP dispatch: datagrams to 198.18.0.2:53 reach a server on 127.0.0.1:5353.
# The reply leaves from the server socket's own address unless the server
# answers from the original destination (IP_PKTINFO / IP_RECVORIGDSTADDR);
# `register` warns about sockets that cannot.
. "$(dirname "$0")/lib.sh"

case_udp_pktinfo_server_answers_connected_client() {
	local ns dns err
	newns ns udp
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve dns "$ns" dns --udp --pktinfo 127.0.0.1:5353
	pt "$ns" service add dns
	pt "$ns" bind udp 198.18.0.2/32 53 dns
	err=$(pt_err "$ns" register dns --pid "$dns")
	expect_eq "$err" "" "register of a PKTINFO server: stderr"
	expect_json "$ns" '.[0].sockets | map(.proto + " " + .local) | join(",")' "udp 127.0.0.1:5353" services
	# a connected client takes replies only from 198.18.0.2:53
	expect_eq "$(udp_get "$ns" 198.18.0.2 53)" dns "connected client, first datagram"
	expect_eq "$(udp_get "$ns" 198.18.0.2 53)" dns "connected client, second datagram"
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect)" "dns 198.18.0.2 53" "python connected client"
	# an unconnected client sees where the reply comes from
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53)" "dns 198.18.0.2 53" "reply source"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 4 "udp 53 steered"
	# every datagram is a lookup of its own, also from one connected socket
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect --count 6 | sort | uniq -c | awk '{$1=$1; print}')" \
		"6 dns 198.18.0.2 53" "six datagrams from one connected socket"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 10 "udp 53 steered after six more"
	expect_eq "$(stat_of "$ns" udp 53 no_socket)" 0 "udp 53 no_socket"
	# the TCP side of port 53 is not bound: no row, untouched
	expect_eq "$(stat_of "$ns" tcp 53 steered)" none "tcp 53 row"
	# an unbound UDP port is untouched: nothing answers
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 54 --connect --timeout 1 || true)" \
		"FAIL [Errno 111] Connection refused" "unbound udp port"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 10 "udp 53 steered after unbound traffic"
}

case_udp_plain_server_warns_and_replies_from_own_address() {
	local ns sock plain err
	newns ns udpw
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pt "$ns" service add plain
	pt "$ns" bind udp 198.18.0.2/32 53 plain
	# socat's UDP server sets none of the options: register warns
	serve sock "$ns" udp 127.0.0.1 5354 plain
	wait_listen "$ns" udp 5354
	err=$(pt_err "$ns" register plain --pid "$sock")
	case $err in
	"portier: "*IP_PKTINFO*) ;;
	*) fail "register of socat's UDP server: no IP_PKTINFO warning on stderr: '$err'" ;;
	esac
	expect_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines of the warning"
	# the warning is not a refusal: the socket is registered
	expect_json "$ns" '.[0].sockets | map(.proto + " " + .local) | join(",")' "udp 127.0.0.1:5354" services
	# the same for a plain python server (socat's forking UDP server loses
	# replies now and then, so the reply path is checked with this one)
	pyserve plain "$ns" plain --udp 127.0.0.1:5355
	err=$(pt_err "$ns" register plain --pid "$plain")
	case $err in
	"portier: "*IP_PKTINFO*) ;;
	*) fail "register of a plain UDP server: no IP_PKTINFO warning on stderr: '$err'" ;;
	esac
	expect_json "$ns" '.[0].sockets | map(.proto + " " + .local) | join(",")' "udp 127.0.0.1:5355" services
	# steered, but the reply leaves from the socket's own address
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53)" "plain 127.0.0.1 5355" "reply source of a plain server"
	# so a connected client gets nothing
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect --timeout 1 || true)" "FAIL timed out" \
		"connected client of a plain server"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 2 "udp 53 steered"
}

case_udp_ipv6_pktinfo() {
	local ns dns6 err
	newns ns udp6
	ip -n "$ns" addr add 2001:db8::2/128 dev lo nodad
	pt "$ns" load >/dev/null
	pyserve dns6 "$ns" dns6 --udp --pktinfo '[::1]:5353'
	pt "$ns" service add dns6
	pt "$ns" bind udp 2001:db8::2/128 53 dns6
	err=$(pt_err "$ns" register dns6 --pid "$dns6")
	expect_eq "$err" "" "register of an IPV6_RECVPKTINFO server: stderr"
	expect_eq "$(ptnet "$ns" udp 2001:db8::2 53 --connect)" "dns6 2001:db8::2 53" "connected IPv6 client"
	expect_eq "$(udp_get "$ns" '[2001:db8::2]' 53)" dns6 "socat IPv6 client"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 2 "udp 53 steered"
}

case_udp_server_exit_falls_through() {
	local ns dns
	newns ns udpx
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve dns "$ns" dns --udp --pktinfo 127.0.0.1:5353
	pt "$ns" register dns --pid "$dns"
	pt "$ns" bind udp 198.18.0.2/32 53 dns
	expect_eq "$(udp_get "$ns" 198.18.0.2 53)" dns "before the exit"
	kill "$dns"
	wait "$dns" 2>/dev/null || true
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect --timeout 1 || true)" \
		"FAIL [Errno 111] Connection refused" "after the exit"
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect --timeout 1 || true)" \
		"FAIL [Errno 111] Connection refused" "after the exit, again"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 1 "udp 53 steered"
	expect_eq "$(stat_of "$ns" udp 53 no_socket)" 2 "udp 53 no_socket"
	expect_json "$ns" '.[0].sockets | length' 0 services
}

run_cases
