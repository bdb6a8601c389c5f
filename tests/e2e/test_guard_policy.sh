#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The guard's policies at runtime, with exact effects: a street namespace
# (198.18.0.1, and 198.18.0.3 for --from) sends known numbers of datagrams
# and connections to a building (198.18.0.2) whose interface runs the
# guard; servers count what reaches them.
. "$(dirname "$0")/lib.sh"

FRAME=$(udp_frame 100)

case_drop_udp_port() {
	local street bldg tmp sink
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000 198.18.0.2:6001
	pt "$bldg" policy udp 6000 drop
	pt "$bldg" watch udp 6001
	udp_send "$street" 198.18.0.2 6000 20
	udp_send "$street" 198.18.0.2 6001 20
	wait_stat "$bldg" udp 6000 dropped 20
	expect_eq "$(stat_of "$bldg" udp 6000 packets)" 20 "udp 6000 packets"
	expect_eq "$(stat_of "$bldg" udp 6000 bytes)" $((20 * FRAME)) "udp 6000 bytes"
	expect_eq "$(sink_settle "$tmp/rx" 6001 20)" 20 "datagrams received on 6001 (no policy)"
	expect_eq "$(sink_count "$tmp/rx" 6000)" 0 "datagrams received on 6000 (drop)"
	expect_eq "$(stat_of "$bldg" udp 6001 packets)" 20 "udp 6001 packets"
	expect_eq "$(stat_of "$bldg" udp 6001 dropped)" 0 "udp 6001 dropped"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].packets] | add')" 0 "class rows"
	finish
}

# The narrowest port range wins: an allow inside a wider drop, a drop
# inside a wider allow.
case_narrower_range_wins() {
	local street bldg tmp sink
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6050 198.18.0.2:6051 198.18.0.2:7007 198.18.0.2:7008
	pt "$bldg" policy udp 6000-6099 drop
	pt "$bldg" policy udp 6050 allow
	pt "$bldg" policy udp 7000-7099 allow
	pt "$bldg" policy udp 7007 drop
	udp_send "$street" 198.18.0.2 6050 10
	udp_send "$street" 198.18.0.2 6051 11
	udp_send "$street" 198.18.0.2 7007 12
	udp_send "$street" 198.18.0.2 7008 13
	# single ports have their own rows; a range of 100 ports is one row
	wait_stat "$bldg" udp 7000 packets 13
	expect_eq "$(sink_settle "$tmp/rx" 6050 10)" 10 "received on 6050 (allow in a drop range)"
	expect_eq "$(sink_settle "$tmp/rx" 7008 13)" 13 "received on 7008 (in the allow range)"
	expect_eq "$(sink_count "$tmp/rx" 6051)" 0 "received on 6051 (in the drop range)"
	expect_eq "$(sink_count "$tmp/rx" 7007)" 0 "received on 7007 (drop in an allow range)"
	expect_eq "$(stat_of "$bldg" udp 6050 packets)/$(stat_of "$bldg" udp 6050 dropped)" 10/0 "udp 6050 packets/dropped"
	expect_eq "$(stat_of "$bldg" udp 6000 packets)/$(stat_of "$bldg" udp 6000 dropped)" 11/11 "udp 6000-6099 packets/dropped"
	expect_eq "$(stat_of "$bldg" udp 7007 packets)/$(stat_of "$bldg" udp 7007 dropped)" 12/12 "udp 7007 packets/dropped"
	expect_eq "$(stat_of "$bldg" udp 7000 packets)/$(stat_of "$bldg" udp 7000 dropped)" 13/0 "udp 7000-7099 packets/dropped"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.ports[] | select(.port == 6000)][0].port_hi')" 6099 "the range row"
	finish
}

# --from: the rule applies to its source prefix only; the longest prefix
# wins; but a narrower port range wins over a longer prefix.
case_from_scoping() {
	local street bldg tmp sink
	quiet_street street bldg
	casetmp tmp
	ip -n "$street" addr add 198.18.0.3/24 dev door
	pin_neigh "$bldg" lobby 198.18.0.3 "$street" door
	pt "$bldg" load --xdp lobby >/dev/null
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000
	# watched: its row (and counters) stay while its rules change
	pt "$bldg" watch udp 6000
	pt "$bldg" policy udp 6000 drop --from 198.18.0.3/32
	udp_send "$street" 198.18.0.2 6000 10 --src 198.18.0.1
	udp_send "$street" 198.18.0.2 6000 7 --src 198.18.0.3
	wait_stat "$bldg" udp 6000 packets 17
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 7 "dropped (from 198.18.0.3)"
	expect_eq "$(sink_settle "$tmp/rx" 6000 10)" 10 "received"
	expect_eq "$(sink_count "$tmp/rx" 6000 198.18.0.1)" 10 "received from 198.18.0.1"
	# the longest prefix wins: drop the /24, allow one host in it
	pt "$bldg" unpolicy udp 6000 --from 198.18.0.3
	pt "$bldg" policy udp 6000 drop --from 198.18.0.0/24
	pt "$bldg" policy udp 6000 allow --from 198.18.0.3
	: >"$tmp/rx"
	udp_send "$street" 198.18.0.2 6000 10 --src 198.18.0.1
	udp_send "$street" 198.18.0.2 6000 7 --src 198.18.0.3
	wait_stat "$bldg" udp 6000 packets 34
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 17 "dropped (7 + 10 from 198.18.0.1)"
	expect_eq "$(sink_settle "$tmp/rx" 6000 7)" 7 "received"
	expect_eq "$(sink_count "$tmp/rx" 6000 198.18.0.3)" 7 "received from 198.18.0.3"
	# a narrower port range beats a longer prefix: 6000 allow (any source)
	# wins over 6000-6015 drop from 198.18.0.1/32
	pt "$bldg" unpolicy udp 6000 --from 198.18.0.0/24
	pt "$bldg" unpolicy udp 6000 --from 198.18.0.3/32
	pt "$bldg" policy udp 6000-6015 drop --from 198.18.0.1/32
	pt "$bldg" policy udp 6000 allow
	: >"$tmp/rx"
	udp_send "$street" 198.18.0.2 6000 5 --src 198.18.0.1
	wait_stat "$bldg" udp 6000 packets 39
	expect_eq "$(sink_settle "$tmp/rx" 6000 5)" 5 "received from 198.18.0.1 (the port's own allow)"
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 17 "dropped"
	expect_json "$bldg" '[.[] | "\(.port_lo)-\(.port_hi) \(.action) \(.from)"] | sort | join(",")' \
		"6000-6000 allow any,6000-6015 drop 198.18.0.1/32" policies
	finish
}

# limit 50: a bucket of 50 tokens refilled at 50 per second. A burst of
# 200 datagrams: what passes plus what is limited is all of them, and at
# least 100 are limited (50 pass at once, few more are refilled meanwhile).
case_limit_pps() {
	local street bldg tmp sink limited rx
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000 198.18.0.2:6100 198.18.0.2:6101
	pt "$bldg" policy udp 6000 limit 50
	expect_json "$bldg" '.[0] | "\(.action) \(.pps)"' "limit 50" policies
	udp_send "$street" 198.18.0.2 6000 200
	wait_stat "$bldg" udp 6000 packets 200
	limited=$(stat_of "$bldg" udp 6000 limited)
	rx=$(sink_settle "$tmp/rx" 6000 $((200 - limited)))
	expect_eq "$((rx + limited))" 200 "received ($rx) + limited ($limited)"
	[ "$limited" -ge 100 ] || fail "limited $limited of a burst of 200 at 50 pps"
	[ "$rx" -ge 50 ] || fail "received $rx of a burst of 200: the bucket starts full (50)"
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 0 "dropped (limited is counted apart)"
	# after a second the bucket is full again: 50 more all pass
	sleep 1.2
	udp_send "$street" 198.18.0.2 6000 50
	wait_stat "$bldg" udp 6000 packets 250
	expect_eq "$(stat_of "$bldg" udp 6000 limited)" "$limited" "limited after the bucket refilled"
	expect_eq "$(sink_settle "$tmp/rx" 6000 $((rx + 50)))" $((rx + 50)) "received after the bucket refilled"
	# a limit on a range is per port: each port has its own bucket
	pt "$bldg" policy udp 6100-6101 limit 50
	udp_send "$street" 198.18.0.2 6100 100
	udp_send "$street" 198.18.0.2 6101 100
	wait_stat "$bldg" udp 6101 packets 100
	for p in 6100 6101; do
		limited=$(stat_of "$bldg" udp $p limited)
		rx=$(sink_settle "$tmp/rx" $p $((100 - limited)))
		expect_eq "$((rx + limited))" 100 "port $p: received ($rx) + limited ($limited)"
		[ "$rx" -ge 50 ] && [ "$limited" -ge 1 ] || fail "port $p: received $rx, limited $limited of 100 at 50 pps"
	done
	# one bucket per rule: two sources with limits of their own
	ip -n "$street" addr add 198.18.0.3/24 dev door
	pin_neigh "$bldg" lobby 198.18.0.3 "$street" door
	pt "$bldg" policy udp 6000 limit 20 --from 198.18.0.1
	pt "$bldg" policy udp 6000 limit 20 --from 198.18.0.3
	: >"$tmp/rx"
	udp_send "$street" 198.18.0.2 6000 60 --src 198.18.0.1
	udp_send "$street" 198.18.0.2 6000 60 --src 198.18.0.3
	wait_stat "$bldg" udp 6000 packets 370
	sink_settle "$tmp/rx" 6000 40 >/dev/null
	for src in 198.18.0.1 198.18.0.3; do
		rx=$(sink_count "$tmp/rx" 6000 $src)
		[ "$rx" -ge 20 ] && [ "$rx" -le 40 ] || fail "received $rx of 60 from $src at 20 pps"
	done
	finish
}

# IPv6: counted with its 40-byte header; --from with IPv6 prefixes; `any`
# covers both families, an IPv4 prefix only IPv4. (IPv6 brings ND and MLD
# with it: `other` is not checked here.)
case_ipv6() {
	local street bldg tmp sink frame6=$((14 + 40 + 8 + 100))
	newns street street
	newns bldg bldg
	in_ns "$street" sysctl -qw net.ipv6.conf.default.accept_ra=0
	in_ns "$bldg" sysctl -qw net.ipv6.conf.default.accept_ra=0
	quiet_pair "$street" door 198.18.0.1/24 "$bldg" lobby 198.18.0.2/24
	ip -n "$street" addr add 2001:db8::1/64 dev door nodad
	ip -n "$street" addr add 2001:db8::3/64 dev door nodad
	ip -n "$bldg" addr add 2001:db8::2/64 dev lobby nodad
	pin_neigh "$street" door 2001:db8::2 "$bldg" lobby
	pin_neigh "$bldg" lobby 2001:db8::1 "$street" door
	pin_neigh "$bldg" lobby 2001:db8::3 "$street" door
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 6000
	pysink sink "$bldg" "$tmp/rx" '[::]:6000' '[::]:6001'
	udp_send "$street" 2001:db8::2 6000 9 --src 2001:db8::1
	wait_stat "$bldg" udp 6000 packets 9
	expect_eq "$(stat_of "$bldg" udp 6000 bytes)" $((9 * frame6)) "udp 6000 bytes over IPv6"
	expect_eq "$(sink_settle "$tmp/rx" 6000 9)" 9 "received over IPv6"
	# past a destination options header (8 bytes)
	udp_send "$street" 2001:db8::2 6001 2 --src 2001:db8::1 --dstopts
	# 6001 is not watched yet: the registered class counts it
	wait_class "$bldg" udp registered packets 2
	expect_eq "$(class_of "$bldg" udp registered bytes)" $((2 * (frame6 + 8))) "udp registered bytes (IPv6 with options)"
	expect_eq "$(sink_settle "$tmp/rx" 6001 2)" 2 "received with destination options"
	# 3000 bytes over IPv6: fragments of 1448 + 1448 + 112 bytes behind a
	# fragment header (14 + 40 + 8 + data on the wire); the first has the
	# UDP header, the other two are counted on its port through frag_table
	udp_send "$street" 2001:db8::2 6000 1 --src 2001:db8::1 --size 3000
	wait_stat "$bldg" udp 6000 packets 12
	expect_eq "$(stat_of "$bldg" udp 6000 bytes)" $((9 * frame6 + 1510 + 1510 + 174)) "udp 6000 bytes with the fragments"
	expect_eq "$(global_of "$bldg" fragments)" 0 "IPv6 fragments (all attributed)"
	expect_eq "$(sink_settle "$tmp/rx" 6000 10)" 10 "received (the reassembled one too)"
	expect_eq "$(awk '$1 == 6000 && $3 == 3000' "$tmp/rx" | wc -l)" 1 "the reassembled datagram"
	# one host of the /64 dropped
	pt "$bldg" policy udp 6000 drop --from 2001:db8::3
	udp_send "$street" 2001:db8::2 6000 4 --src 2001:db8::1
	udp_send "$street" 2001:db8::2 6000 6 --src 2001:db8::3
	wait_stat "$bldg" udp 6000 packets 22
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 6 "dropped from 2001:db8::3"
	expect_eq "$(sink_settle "$tmp/rx" 6000 14)" 14 "received over IPv6"
	# the /64 dropped, IPv4 untouched by an IPv6 prefix
	pt "$bldg" policy udp 6000 drop --from 2001:db8::/64
	udp_send "$street" 2001:db8::2 6000 2 --src 2001:db8::1
	udp_send "$street" 198.18.0.2 6000 3
	wait_stat "$bldg" udp 6000 packets 27
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 8 "dropped from 2001:db8::/64"
	expect_eq "$(sink_settle "$tmp/rx" 6000 17)" 17 "received (3 over IPv4)"
	# an IPv4 prefix leaves IPv6 alone; `any` takes both
	pt "$bldg" policy udp 6001 drop --from 198.18.0.0/24
	udp_send "$street" 2001:db8::2 6001 5 --src 2001:db8::1
	udp_send "$street" 198.18.0.2 6001 5
	wait_stat "$bldg" udp 6001 packets 10
	expect_eq "$(stat_of "$bldg" udp 6001 dropped)" 5 "6001 dropped (the IPv4 ones)"
	expect_eq "$(sink_settle "$tmp/rx" 6001 7)" 7 "6001 received (the IPv6 ones)"
	pt "$bldg" unpolicy udp 6001 --from 198.18.0.0/24
	pt "$bldg" policy udp 6001 drop
	udp_send "$street" 2001:db8::2 6001 5 --src 2001:db8::1
	udp_send "$street" 198.18.0.2 6001 5
	wait_stat "$bldg" udp 6001 packets 10
	expect_eq "$(stat_of "$bldg" udp 6001 dropped)" 10 "6001 dropped (any)"
	expect_eq "$(sink_settle "$tmp/rx" 6001 7)" 7 "6001 received (nothing more)"
	finish
}

# A policy change reaches the next packet: drop, allow, drop, unpolicy,
# one datagram at a time.
case_policy_change_next_packet() {
	local street bldg tmp sink step want rx=0 dropped=0 n=0
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000
	pt "$bldg" watch udp 6000
	for step in drop allow drop unpolicy limit1 drop-new; do
		case $step in
		unpolicy) pt "$bldg" unpolicy udp 6000; want=pass ;;
		limit1) pt "$bldg" policy udp 6000 limit 1; want=pass ;;
		drop-new) pt "$bldg" policy udp 6000 drop-new; want=pass ;; # UDP has no SYN
		*) pt "$bldg" policy udp 6000 "$step"; want=$([ "$step" = drop ] && echo drop || echo pass) ;;
		esac
		udp_send "$street" 198.18.0.2 6000 1
		n=$((n + 1))
		if [ "$want" = drop ]; then dropped=$((dropped + 1)); else rx=$((rx + 1)); fi
		wait_stat "$bldg" udp 6000 packets "$n"
		expect_eq "$(stat_of "$bldg" udp 6000 dropped)" "$dropped" "dropped after '$step'"
		expect_eq "$(sink_settle "$tmp/rx" 6000 "$rx")" "$rx" "received after '$step'"
	done
	expect_json "$bldg" '.[0].action' drop-new policies
	finish
}

# drop-new: no new inbound connection to the port, while established
# connections and the replies to the building's own connections pass.
case_drop_new_tcp() {
	local street bldg tmp web ext holder d0 p0 out
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pyserve web "$bldg" web 198.18.0.2:8080 198.18.0.2:5555
	pyserve ext "$street" street 198.18.0.1:9000
	expect_eq "$(ptnet "$street" loop 198.18.0.2 8080 1 | cut -d' ' -f2-)" web "before the policy"
	# a connection established before the policy
	spawn holder "$street" "$E2E_PY" "$E2E_HELPERS/ptnet.py" hold 198.18.0.2 8080 "$tmp/go" "$tmp/held"
	wait_lines "$tmp/held" 1 5
	pt "$bldg" policy tcp 8080 drop-new
	expect_eq "$(ptnet "$street" loop 198.18.0.2 8080 1 --timeout 1 | cut -d' ' -f2-)" "FAIL timed out" "new connection to 8080"
	[ "$(stat_of "$bldg" tcp 8080 dropped)" -ge 1 ] || fail "tcp 8080 dropped: $(stat_of "$bldg" tcp 8080 dropped)"
	expect_eq "$(ptnet "$street" loop 198.18.0.2 5555 1 | cut -d' ' -f2-)" web "5555 (no policy)"
	touch "$tmp/go"
	wait_exit "$holder" 5
	expect_eq "$(tr '\n' ' ' <"$tmp/held")" "web ping " "the established connection"
	# every port from 1024 up: inbound connections fail, the building's own
	# connection out (its local port 40000 is in the range) works: its
	# SYN-ACK has ACK set
	pt "$bldg" policy tcp 1024-65535 drop-new
	d0=$(stat_of "$bldg" tcp 1024 dropped)
	p0=$(stat_of "$bldg" tcp 1024 packets)
	out=$(ptnet "$bldg" loop 198.18.0.1 9000 3 --sports 40000,45000,60999 --timeout 2)
	expect_eq "$(echo "$out" | tr '\n' ' ')" "40000 street 45000 street 60999 street " "the building's own connections out"
	expect_eq "$(stat_of "$bldg" tcp 1024 dropped)" "$d0" "dropped of the building's own connections"
	# at least a SYN-ACK and the greeting each came in through the guard
	[ "$(stat_of "$bldg" tcp 1024 packets)" -ge $((p0 + 6)) ] ||
		fail "tcp 1024-65535 packets $(stat_of "$bldg" tcp 1024 packets), $p0 before 3 connections"
	expect_eq "$(ptnet "$street" loop 198.18.0.2 5555 1 --timeout 1 | cut -d' ' -f2-)" "FAIL timed out" "new connection to 5555"
	[ "$(stat_of "$bldg" tcp 1024 dropped)" -ge $((d0 + 1)) ] || fail "tcp 1024-65535 dropped: $(stat_of "$bldg" tcp 1024 dropped)"
	expect_eq "$(ptnet "$street" loop 198.18.0.2 8080 1 --timeout 1 | cut -d' ' -f2-)" "FAIL timed out" "new connection to 8080"
	# below the range: a well-known port is not affected (refused: nobody
	# listens, so the SYN reached the stack)
	expect_eq "$(ptnet "$street" loop 198.18.0.2 80 1 --timeout 1 | cut -d' ' -f2-)" "FAIL ECONNREFUSED" "port 80"
	pt "$bldg" unpolicy tcp 1024-65535
	pt "$bldg" unpolicy tcp 8080
	expect_eq "$(ptnet "$street" loop 198.18.0.2 8080 1 | cut -d' ' -f2-)" web "after unpolicy"
	finish
}

run_cases
