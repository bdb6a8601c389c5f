#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The guard's counters, exactly: a street namespace sends a known number
# of frames of known sizes over a quiet veth pair (no IPv6, neighbours
# pinned: nothing crosses it but the test's own frames) to a building
# whose interface runs the guard.
. "$(dirname "$0")/lib.sh"

case_watched_port_counts_exactly() {
	local street bldg tmp sink
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000
	udp_send "$street" 198.18.0.2 5000 37 --size 100
	wait_stat "$bldg" udp 5000 packets 37
	expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((37 * $(udp_frame 100))) "udp 5000 bytes (37 frames of $(udp_frame 100))"
	expect_eq "$(sink_settle "$tmp/rx" 5000 37)" 37 "datagrams the server received"
	# another size, another source port: the same row
	udp_send "$street" 198.18.0.2 5000 5 --size 1000 --sport 41000
	wait_stat "$bldg" udp 5000 packets 42
	expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((37 * 142 + 5 * 1042)) "udp 5000 bytes"
	expect_eq "$(stat_of "$bldg" udp 5000 dropped)" 0 "udp 5000 dropped"
	# nothing else crossed the link
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].packets] | add')" 0 "class rows"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.malformed, .fragments, .other, .unreadable]')" "[0,0,0,0]" "malformed, fragments, other, unreadable"
	# counting changes nothing: the server got every datagram
	expect_eq "$(sink_settle "$tmp/rx" 5000 42)" 42 "datagrams the server received"
	finish
}

case_unwatched_ports_count_per_class() {
	local street bldg tmp sink
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:53 198.18.0.2:1024 198.18.0.2:5001 \
		198.18.0.2:49151 198.18.0.2:49152 198.18.0.2:65535
	# the borders of each class: 0-1023, 1024-49151, 49152-65535
	udp_send "$street" 198.18.0.2 53 11 --size 20
	udp_send "$street" 198.18.0.2 1024 3 --size 200
	udp_send "$street" 198.18.0.2 5001 13 --size 200
	udp_send "$street" 198.18.0.2 49151 2 --size 200
	udp_send "$street" 198.18.0.2 49152 17 --size 1
	udp_send "$street" 198.18.0.2 65535 4 --size 1
	wait_class "$bldg" udp ephemeral packets 21
	expect_eq "$(class_of "$bldg" udp well-known packets)" 11 "udp well-known packets"
	expect_eq "$(class_of "$bldg" udp well-known bytes)" $((11 * $(udp_frame 20))) "udp well-known bytes"
	expect_eq "$(class_of "$bldg" udp registered packets)" 18 "udp registered packets"
	expect_eq "$(class_of "$bldg" udp registered bytes)" $((18 * $(udp_frame 200))) "udp registered bytes"
	expect_eq "$(class_of "$bldg" udp ephemeral packets)" 21 "udp ephemeral packets"
	expect_eq "$(class_of "$bldg" udp ephemeral bytes)" $((21 * $(udp_frame 1))) "udp ephemeral bytes"
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 0 "the watched port's row"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[] | select(.proto == "tcp") | .packets] | add')" 0 "tcp class rows"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].dropped] | add')" 0 "dropped in the class rows"
	expect_eq "$(sink_settle "$tmp/rx" 65535 4)" 4 "datagrams received on 65535"
	expect_eq "$(wc -l <"$tmp/rx")" 50 "datagrams received in all"
	# a TCP SYN to a closed well-known port: exactly one frame comes in
	# (the RST goes out), 74 bytes: 14 + 20 + a 40-byte TCP header
	# (MSS, SACK-permitted, timestamps, window scale: the namespace's
	# defaults)
	expect_rc 1 in_ns "$street" timeout 3 socat -T1 - TCP:198.18.0.2:22,connect-timeout=2
	expect_eq "$(class_of "$bldg" tcp well-known packets)" 1 "tcp well-known packets"
	expect_eq "$(class_of "$bldg" tcp well-known bytes)" 74 "tcp well-known bytes"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.malformed, .fragments, .other, .unreadable]')" "[0,0,0,0]" "malformed, fragments, other, unreadable"
	finish
}

# icmp_in_echos NS: echo requests the stack of NS received.
icmp_in_echos() {
	in_ns "$1" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == "InEchos") print $i }' /proc/net/snmp
}

# ICMP is neither TCP nor UDP: `other`; so is ARP. Fragments after the
# first carry no port; the first one counts on its port.
case_other_fragments_malformed() {
	local street bldg tmp sink mac len
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000
	mac=$(ip -n "$bldg" -j link show lobby | jq -r '.[0].address')
	expect_eq "$(ptnet "$street" frame door "$mac" icmp --count 3 --size 56)" 98 "echo request frame length"
	expect_eq "$(global_of "$bldg" other)" 3 "other after 3 echo requests"
	expect_eq "$(icmp_in_echos "$bldg")" 3 "echo requests the building's stack received"
	expect_eq "$(ptnet "$street" frame door ff:ff:ff:ff:ff:ff arp)" 42 "ARP request frame length"
	expect_eq "$(global_of "$bldg" other)" 4 "other after an ARP request"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].packets] | add')" 0 "class rows"
	# 3000 bytes over MTU 1500: three fragments (1500, 1500 and 68 bytes of
	# IP; 1514, 1514, 82 on the wire); the first has the UDP header, the
	# other two are counted on its port through frag_table
	udp_send "$street" 198.18.0.2 5000 1 --size 3000
	expect_eq "$(sink_settle "$tmp/rx" 5000 1)" 1 "the reassembled datagram"
	expect_eq "$(awk '{print $3}' "$tmp/rx")" 3000 "its length"
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 3 "the fragments on their port"
	expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((1514 + 1514 + 82)) "bytes of the fragments"
	expect_eq "$(global_of "$bldg" fragments)" 0 "non-first fragments of unknown datagrams"
	# hand-made frames: a truncated IPv4 header is malformed (and passed to
	# the stack, which drops it); UDP behind one and two VLAN tags counts on
	# its port with the tags' bytes
	ptnet "$street" frame door "$mac" short-ipv4 --count 2 >/dev/null
	expect_eq "$(global_of "$bldg" malformed)" 2 "malformed"
	len=$(ptnet "$street" frame door "$mac" udp --port 5000 --size 100 --vlans 1)
	expect_eq "$len" $(($(udp_frame 100) + 4)) "802.1Q frame length"
	len=$(ptnet "$street" frame door "$mac" udp --port 5000 --size 100 --vlans 2)
	expect_eq "$len" $(($(udp_frame 100) + 8)) "802.1ad frame length"
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 5 "udp 5000 packets with the tagged frames"
	expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((3110 + 146 + 150)) "udp 5000 bytes with the tagged frames"
	# IPv4 options (8 bytes of them): counted on the port, and the stack
	# takes the datagram
	len=$(ptnet "$street" frame door "$mac" udp --port 5000 --size 100 --ipopts 2)
	expect_eq "$len" $(($(udp_frame 100) + 8)) "frame length with IPv4 options"
	expect_eq "$(sink_settle "$tmp/rx" 5000 2)" 2 "datagrams received (one with IPv4 options)"
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 6 "udp 5000 packets with IPv4 options"
	expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((3110 + 146 + 150 + 150)) "udp 5000 bytes with IPv4 options"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.malformed, .fragments, .other, .unreadable]')" "[2,0,4,0]" "malformed, fragments, other, unreadable"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].packets] | add')" 0 "class rows"
	finish
}

run_cases
