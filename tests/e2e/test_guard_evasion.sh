#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The guard fails closed on what it cannot read (issue 10): a SYN the
# stack would still deliver, but whose port or flags the guard cannot read
# (a tiny first fragment, a TCP fragment at offset 1, an IPv6 chain past
# the parse bound, IP behind more VLAN tags than parsed) is counted
# `unreadable` and dropped whenever the namespace has a rule other than
# allow; with none, the guard changes nothing. Each form is sent with
# scapy (helpers/evade.py) from the street over veth (native XDP on the
# building's end) first with no rules, where the building answers SYN-ACK
# (the form is real: the stack delivers it), then with rules, where no
# SYN-ACK may come back; counters are checked exactly. The SYNs come from
# 198.18.0.9 / 2001:db8::9, neighbours pinned at the street's MAC but not
# its addresses: the street's stack never answers a SYN-ACK with a RST,
# so nothing but the test's own frames reaches the building.
. "$(dirname "$0")/lib.sh"

EVADE=$E2E_HELPERS/evade.py
SRC4=198.18.0.9
SRC6=2001:db8::9

# evasion_street VAR_STREET VAR_BLDG VAR_MAC: the street (door: 198.18.0.1,
# 2001:db8::1) and the building (lobby: 198.18.0.2, 2001:db8::2, the
# guard loaded on it), a TCP listener on 8080 and 8081 (both families) and
# a UDP sink on 6000 in the building. MAC: the lobby's address.
evasion_street() {
	local __c __s __pid __mac
	newns __c street
	newns __s bldg
	in_ns "$__c" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.forwarding=0
	in_ns "$__s" sysctl -qw net.ipv6.conf.default.accept_ra=0
	quiet_pair "$__c" door 198.18.0.1/24 "$__s" lobby 198.18.0.2/24 || return 1
	ip -n "$__c" addr add 2001:db8::1/64 dev door nodad
	ip -n "$__s" addr add 2001:db8::2/64 dev lobby nodad
	pin_neigh "$__c" door 2001:db8::2 "$__s" lobby
	pin_neigh "$__s" lobby "$SRC4" "$__c" door
	pin_neigh "$__s" lobby "$SRC6" "$__c" door
	pin_neigh "$__s" lobby 2001:db8::1 "$__c" door
	"$PORTIER" --netns "$__s" load --xdp lobby >/dev/null || { fail "load"; return 1; }
	pyserve __pid "$__s" hotel --dual '[::]:8080' '[::]:8081' || return 1
	__mac=$(ip -n "$__s" -j link show lobby | jq -r '.[0].address')
	printf -v "$1" '%s' "$__c"
	printf -v "$2" '%s' "$__s"
	printf -v "$3" '%s' "$__mac"
}

# syn STREET MAC DST PORT FORM...: evade.py syn from the street; prints its
# lines "FORM FRAMES SYNACKS".
syn() {
	local ns=$1 mac=$2 dst=$3 port=$4 src=$SRC4
	shift 4
	[[ $dst == *:* ]] && src=$SRC6
	in_ns "$ns" timeout 60 "$E2E_PY" "$EVADE" syn door "$mac" "$src" "$dst" "$port" "$@" ||
		fail "evade.py syn $* failed"
}

# expect_forms OUT WANT_SYNACKS FORM:FRAMES...: each form sent so many
# frames and got WANT_SYNACKS SYN-ACKs.
expect_forms() {
	local out=$1 want=$2 f form frames
	shift 2
	for f in "$@"; do
		form=${f%%:*}
		frames=${f#*:}
		expect_eq "$(awk -v f="$form" '$1 == f { print $2, $3 }' <<<"$out")" "$frames $want" \
			"$form: frames sent and SYN-ACKs" || return 1
	done
}

guard_globals() {
	guard_stats "$1" | jq -c '[.malformed, .fragments, .unreadable]'
}

# No rules: the guard changes nothing. Every form reaches the stack, which
# answers; the frames the guard cannot read are counted all the same.
case_no_rules_every_form_answered() {
	local street bldg mac out
	evasion_street street bldg mac
	out=$(syn "$street" "$mac" 198.18.0.2 8080 plain tiny8 tiny16opts vlan3 vlan1tiny8)
	expect_forms "$out" 1 plain:1 tiny8:3 tiny16opts:3 vlan3:1 vlan1tiny8:3
	out=$(syn "$street" "$mac" 2001:db8::2 8080 plain ext2 ext9)
	expect_forms "$out" 1 plain:1 ext2:1 ext9:1
	# tiny8, tiny16opts, vlan1tiny8: 3 frames each (the first cut short,
	# the others follow it through frag_table); vlan3 and ext9: 1 each
	expect_eq "$(guard_globals "$bldg")" "[0,0,11]" "malformed, fragments, unreadable"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[] | select(.proto == "tcp") | .packets] | add')" 3 \
		"tcp class rows: the three readable SYNs"
	expect_eq "$(guard_stats "$bldg" | jq -c '[.classes[].dropped] | add')" 0 "dropped"
	finish
}

# `policy tcp 8080 drop`: no form of a SYN reaches 8080. The unreadable
# frames never touch the port's row; the plain SYN is dropped on it. An
# allowed port still answers behind 2 extension headers, and a fragmented
# UDP datagram to an allowed port is delivered whole, counted on its port.
case_drop_refuses_every_form() {
	local street bldg mac out tmp sink
	evasion_street street bldg mac
	casetmp tmp
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000
	pt "$bldg" policy tcp 8080 drop
	pt "$bldg" watch tcp 8081
	pt "$bldg" watch udp 6000
	out=$(syn "$street" "$mac" 198.18.0.2 8080 tiny8 tiny16opts vlan3 vlan1tiny8 plain)
	expect_forms "$out" 0 tiny8:3 tiny16opts:3 vlan3:1 vlan1tiny8:3 plain:1
	out=$(syn "$street" "$mac" 2001:db8::2 8080 ext9 frag6tiny plain)
	expect_forms "$out" 0 ext9:1 frag6tiny:3 plain:1
	expect_eq "$(guard_globals "$bldg")" "[0,0,14]" "malformed, fragments, unreadable"
	expect_eq "$(stat_of "$bldg" tcp 8080 packets)" 2 "tcp 8080 packets (the plain SYNs)"
	expect_eq "$(stat_of "$bldg" tcp 8080 dropped)" 2 "tcp 8080 dropped"
	# the benign forms
	out=$(syn "$street" "$mac" 2001:db8::2 8081 ext2)
	expect_forms "$out" 1 ext2:1
	out=$(syn "$street" "$mac" 198.18.0.2 8081 plain)
	expect_forms "$out" 1 plain:1
	expect_eq "$(stat_of "$bldg" tcp 8081 packets)" 2 "tcp 8081 packets"
	expect_eq "$(stat_of "$bldg" tcp 8081 dropped)" 0 "tcp 8081 dropped"
	out=$(in_ns "$street" timeout 60 "$E2E_PY" "$EVADE" udpfrag door "$mac" "$SRC4" 198.18.0.2 6000 3000)
	expect_eq "$out" 3 "UDP fragments sent"
	expect_eq "$(sink_settle "$tmp/rx" 6000 1)" 1 "the datagram delivered"
	expect_eq "$(awk '$1 == 6000 { print $3 }' "$tmp/rx")" 3000 "whole"
	# 1480 + 1480 + 48 bytes of IP payload, 14 + 20 more each on the wire
	expect_eq "$(stat_of "$bldg" udp 6000 packets)" 3 "udp 6000 packets: every fragment on its port"
	expect_eq "$(stat_of "$bldg" udp 6000 bytes)" $((1514 + 1514 + 82)) "udp 6000 bytes"
	expect_eq "$(guard_globals "$bldg")" "[0,0,14]" "malformed, fragments, unreadable after the benign forms"
	finish
}

# drop-new and limit are not evaded either; the forms they let through
# whole still pass.
case_drop_new_and_limit() {
	local street bldg mac out
	evasion_street street bldg mac
	pt "$bldg" policy tcp 8080 drop-new
	out=$(syn "$street" "$mac" 198.18.0.2 8080 tiny8 tiny16opts plain)
	expect_forms "$out" 0 tiny8:3 tiny16opts:3 plain:1
	expect_eq "$(guard_globals "$bldg")" "[0,0,6]" "malformed, fragments, unreadable (drop-new)"
	expect_eq "$(stat_of "$bldg" tcp 8080 dropped)" 1 "tcp 8080 dropped (the plain SYN)"
	pt "$bldg" policy tcp 8080 limit 1000
	out=$(syn "$street" "$mac" 198.18.0.2 8080 tiny8 plain)
	expect_forms "$out" 0 tiny8:3
	expect_forms "$out" 1 plain:1
	out=$(syn "$street" "$mac" 2001:db8::2 8080 ext9)
	expect_forms "$out" 0 ext9:1
	expect_eq "$(guard_globals "$bldg")" "[0,0,10]" "malformed, fragments, unreadable (limit)"
	expect_eq "$(stat_of "$bldg" tcp 8080 limited)" 0 "tcp 8080 limited"
	expect_eq "$(stat_of "$bldg" tcp 8080 packets)" 2 "tcp 8080 packets (the plain SYNs)"
	finish
}

# A rule on another port and protocol is enough: any non-allow rule
# closes the door to what cannot be read; removing it opens it again.
case_any_rule_closes_unpolicy_opens() {
	local street bldg mac out
	evasion_street street bldg mac
	pt "$bldg" policy udp 9 drop
	out=$(syn "$street" "$mac" 198.18.0.2 8080 tiny8 vlan3 plain)
	expect_forms "$out" 0 tiny8:3 vlan3:1
	expect_forms "$out" 1 plain:1
	pt "$bldg" unpolicy udp 9
	pt "$bldg" policy tcp 1-65535 allow
	out=$(syn "$street" "$mac" 198.18.0.2 8080 tiny8 vlan3)
	expect_forms "$out" 1 tiny8:3 vlan3:1
	expect_eq "$(guard_globals "$bldg")" "[0,0,8]" "malformed, fragments, unreadable"
	finish
}

# ABI 3 added frag_table: pins of ABI 2 lack it. They are refused with the
# ABI named (not taken for "not loaded"), left alone, and unload clears them.
case_older_abi_without_frag_table_refused() {
	local street bldg mac dir err
	evasion_street street bldg mac
	dir=$(pt "$bldg" --json status | jq -r .pin_dir)
	rm "$dir/frag_table"
	"$E2E_HELPERS/fake_build.sh" "$dir" 0x1 2
	err=$(pt_err "$bldg" load)
	[[ $err == *"ABI 2"*"unload"* ]] || fail "load over ABI 2: '$err'"
	expect_rc 1 pt "$bldg" load
	expect_rc 1 pt "$bldg" stats
	expect_eq "$(ls "$dir" | grep -c frag_table)" 0 "pins left alone"
	pt "$bldg" unload >/dev/null
	[ ! -e "$dir" ] || fail "$dir left after unload"
	finish
}

run_cases
