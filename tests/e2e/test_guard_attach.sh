#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Attaching the guard: idempotence, XDP modes, two interfaces sharing one
# set of maps, unload, a foreign XDP program (refused, then --force), and
# an interface deleted while the guard runs on it. Each asserts what this
# kernel runs: the guard alone on the interface, or inside libxdp's
# dispatcher where that works (expect_guard); test_guard_chain.sh has the
# guard beside other programs.
. "$(dirname "$0")/lib.sh"

XDPFILT_OBJ=/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o

# xdp_status NS IF FIELD: a field of IF's entry in `status --json`.
xdp_status() {
	pt "$1" --json status | jq -r --arg i "$2" --arg f "$3" \
		'[.xdp[] | select(.ifname == $i)] | if length == 1 then .[0][$f] else "none" end'
}

case_load_twice_is_idempotent() {
	local street bldg tmp sink id out
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	pt "$bldg" policy udp 6000 drop
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000
	id=$(xdp_status "$bldg" lobby prog_id)
	expect_guard "$bldg" lobby "$id" native "XDP program on lobby"
	udp_send "$street" 198.18.0.2 5000 5
	wait_stat "$bldg" udp 5000 packets 5
	out=$(pt "$bldg" load --xdp lobby)
	expect_eq "$(head -1 <<<"$out")" "already loaded: $(pt "$bldg" --json status | jq -r .pin_dir)" "second load"
	expect_eq "$(pt "$bldg" --json load --xdp lobby | jq -c '[.result, .xdp[0].ifname, .xdp[0].mode]')" \
		'["already loaded","lobby","native"]' "third load (--json)"
	# the same program, one entry, counters and rules kept
	expect_guard "$bldg" lobby "$id" native "XDP program on lobby after loading again"
	expect_json "$bldg" '.xdp | length' 1 status
	expect_json "$bldg" '.xdp[0].prog_id' "$id" status
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 5 "udp 5000 packets after loading again"
	expect_json "$bldg" 'length' 1 policies
	udp_send "$street" 198.18.0.2 5000 5
	wait_stat "$bldg" udp 5000 packets 10
	expect_eq "$(sink_settle "$tmp/rx" 5000 10)" 10 "datagrams received"
	# detached behind portier's back: status says so, load attaches it again
	ip -n "$bldg" link set dev lobby xdp off
	expect_json "$bldg" '.xdp[0].attached' false status
	[[ $(pt "$bldg" status) == *"lobby (ifindex "*"NOT attached"* ]] || fail "status text: $(pt "$bldg" status | grep guard:)"
	udp_send "$street" 198.18.0.2 5000 2
	expect_eq "$(sink_settle "$tmp/rx" 5000 12)" 12 "datagrams received without the guard"
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" 10 "udp 5000 packets without the guard"
	pt "$bldg" load --xdp lobby >/dev/null
	expect_json "$bldg" '[.xdp[0].attached, (.xdp | length)] | map(tostring) | join(" ")' "true 1" status
	expect_guard "$bldg" lobby "$(xdp_status "$bldg" lobby prog_id)" native "XDP program on lobby after attaching again"
	udp_send "$street" 198.18.0.2 5000 3
	wait_stat "$bldg" udp 5000 packets 13
	expect_json "$bldg" 'length' 1 policies
	finish
}

# skb (generic) and native; auto is native on a veth. Each mode counts.
case_xdp_modes() {
	local street bldg tmp sink mode want n=0 id
	quiet_street street bldg
	casetmp tmp
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000
	for mode in skb native auto; do
		want=$([ "$mode" = skb ] && echo skb || echo native)
		expect_eq "$(pt "$bldg" --json load --xdp lobby --xdp-mode "$mode" | jq -r '.xdp[0].mode')" "$want" "load --xdp-mode $mode"
		expect_eq "$(xdp_status "$bldg" lobby mode)" "$want" "status mode after --xdp-mode $mode"
		expect_eq "$(xdp_status "$bldg" lobby attached)" true "status attached after --xdp-mode $mode"
		id=$(xdp_status "$bldg" lobby prog_id)
		expect_guard "$bldg" lobby "$id" "$want" "the kernel's view after --xdp-mode $mode"
		[[ $(pt "$bldg" status) == *"guard:       lobby (ifindex "*", $want mode, "* ]] ||
			fail "status text after --xdp-mode $mode: $(pt "$bldg" status | grep guard:)"
		pt "$bldg" watch udp 5000
		udp_send "$street" 198.18.0.2 5000 7 --size 300
		wait_stat "$bldg" udp 5000 packets 7
		expect_eq "$(stat_of "$bldg" udp 5000 bytes)" $((7 * $(udp_frame 300))) "udp 5000 bytes in $mode mode"
		n=$((n + 7))
		expect_eq "$(sink_settle "$tmp/rx" 5000 $n)" $n "datagrams received in $mode mode"
		pt "$bldg" unload >/dev/null
		expect_eq "$(xdp_prog_of "$bldg" lobby)" none "XDP program after unload ($mode)"
	done
	finish
}

# Two interfaces, one set of maps: a policy applies on both, counters add up.
case_two_interfaces_share_maps() {
	local street bldg tmp sink i
	newns street street
	newns bldg bldg
	quiet_ns "$street"
	quiet_ns "$bldg"
	quiet_pair "$street" door1 198.18.0.1/24 "$bldg" lobby1 198.18.0.2/24
	quiet_pair "$street" door2 198.18.1.1/24 "$bldg" lobby2 198.18.1.2/24
	casetmp tmp
	pt "$bldg" load --xdp lobby1 --xdp lobby2 >/dev/null
	expect_json "$bldg" '[.xdp[] | "\(.ifname) \(.mode) \(.attached)"] | sort | join(",")' \
		"lobby1 native true,lobby2 native true" status
	pt "$bldg" policy udp 6000 drop
	pt "$bldg" watch udp 6001
	pysink sink "$bldg" "$tmp/rx" 0.0.0.0:6000 0.0.0.0:6001
	udp_send "$street" 198.18.0.2 6000 7
	udp_send "$street" 198.18.1.2 6000 9
	udp_send "$street" 198.18.0.2 6001 4
	udp_send "$street" 198.18.1.2 6001 6 --size 200
	wait_stat "$bldg" udp 6001 packets 10
	expect_eq "$(stat_of "$bldg" udp 6001 bytes)" $((4 * $(udp_frame 100) + 6 * $(udp_frame 200))) "udp 6001 bytes over both"
	expect_eq "$(stat_of "$bldg" udp 6000 packets)/$(stat_of "$bldg" udp 6000 dropped)" 16/16 "udp 6000 packets/dropped over both"
	expect_eq "$(sink_settle "$tmp/rx" 6001 10)" 10 "received on 6001"
	expect_eq "$(sink_count "$tmp/rx" 6000)" 0 "received on 6000"
	# a policy changed once changes both
	pt "$bldg" policy udp 6000 allow
	udp_send "$street" 198.18.0.2 6000 2
	udp_send "$street" 198.18.1.2 6000 3
	expect_eq "$(sink_settle "$tmp/rx" 6000 5)" 5 "received on 6000 after allow"
	expect_eq "$(stat_of "$bldg" udp 6000 packets)/$(stat_of "$bldg" udp 6000 dropped)" 21/16 "udp 6000 packets/dropped"
	# unload detaches from all
	pt "$bldg" unload >/dev/null
	for i in lobby1 lobby2; do
		expect_eq "$(xdp_prog_of "$bldg" $i)" none "XDP program on $i after unload"
		[[ $(ip -n "$bldg" link show $i) != *xdp* ]] || fail "ip link shows xdp on $i: $(ip -n "$bldg" link show $i)"
	done
	expect_json "$bldg" '.loaded' false status
	finish
}

# A program portier does not own holds the interface alone (attached
# without libxdp, so libxdp's dispatcher cannot take it over anywhere).
case_foreign_program_needs_force() {
	local street bldg tmp sink foreign err rc=0
	quiet_street street bldg
	casetmp tmp
	# `ip -n` runs in a private /sys: whatever iproute2 pins goes with it
	ip -n "$bldg" link set dev lobby xdpdrv obj "$XDPFILT_OBJ" sec xdp
	foreign=$(xdp_prog_of "$bldg" lobby)
	[[ $foreign == *" xdpfilt_alw_all native" ]] || fail "the foreign program: $foreign"
	err=$(pt "$bldg" load --xdp lobby 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 1 "load --xdp over a foreign program: exit status"
	expect_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines on stderr"
	[[ $err == "portier: "*lobby*"--force"* ]] || fail "the message does not name lobby and --force: $err"
	expect_eq "$(xdp_prog_of "$bldg" lobby)" "$foreign" "the foreign program after the refusal"
	# all or nothing: a fresh load that failed leaves nothing loaded
	expect_json "$bldg" '.loaded' false status
	# loaded without the guard, then --xdp: the same refusal, the rest stays
	pt "$bldg" load >/dev/null
	pt "$bldg" watch udp 5000
	expect_rc 1 pt "$bldg" load --xdp lobby
	expect_eq "$(xdp_prog_of "$bldg" lobby)" "$foreign" "the foreign program after the second refusal"
	expect_json "$bldg" '[.loaded, (.xdp | length), .watches] | map(tostring) | join(" ")' "true 0 1" status
	# --force replaces it
	pt "$bldg" load --xdp lobby --force >/dev/null
	expect_guard "$bldg" lobby "$(xdp_status "$bldg" lobby prog_id)" native "XDP program after --force"
	expect_eq "$(xdp_status "$bldg" lobby mode)" native "status mode"
	expect_eq "$(xdp_status "$bldg" lobby attached)" true "status attached"
	if ! xdp_multi; then
		# no dispatcher on this kernel: libxdp's reason, in status --json and in the text
		[[ $(xdp_status "$bldg" lobby why) == *dispatcher*failed* ]] ||
			fail "status .why does not give libxdp's reason: '$(xdp_status "$bldg" lobby why)'"
		[[ $(pt "$bldg" status) == *"only XDP program"*"$(xdp_status "$bldg" lobby why)"* ]] ||
			fail "status text: $(pt "$bldg" status | grep guard:)"
	fi
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000
	udp_send "$street" 198.18.0.2 5000 3
	wait_stat "$bldg" udp 5000 packets 3
	expect_eq "$(sink_settle "$tmp/rx" 5000 3)" 3 "received"
	finish
}

case_interface_deleted_while_loaded() {
	local street bldg tmp sink
	newns street street
	newns bldg bldg
	quiet_ns "$street"
	quiet_ns "$bldg"
	quiet_pair "$street" door1 198.18.0.1/24 "$bldg" lobby1 198.18.0.2/24
	quiet_pair "$street" door2 198.18.1.1/24 "$bldg" lobby2 198.18.1.2/24
	casetmp tmp
	pt "$bldg" load --xdp lobby1 --xdp lobby2 >/dev/null
	pt "$bldg" policy udp 6000 drop
	ip -n "$bldg" link del lobby1
	# status: the interface is gone, the other is attached
	[[ $(pt "$bldg" status) == *"guard:       lobby1 (ifindex "*"INTERFACE GONE"* ]] ||
		fail "status text: $(pt "$bldg" status | grep guard:)"
	expect_eq "$(xdp_status "$bldg" lobby1 attached)" false "lobby1 attached"
	expect_eq "$(xdp_status "$bldg" lobby2 attached)" true "lobby2 attached"
	# everything else works
	pt "$bldg" watch udp 6001
	pt "$bldg" policy udp 6002 limit 100
	pt "$bldg" unpolicy udp 6002
	expect_json "$bldg" 'length' 1 policies
	pt "$bldg" stats >/dev/null
	pysink sink "$bldg" "$tmp/rx" 0.0.0.0:6000 0.0.0.0:6001
	udp_send "$street" 198.18.1.2 6000 4
	udp_send "$street" 198.18.1.2 6001 3
	wait_stat "$bldg" udp 6000 dropped 4
	wait_stat "$bldg" udp 6001 packets 3
	expect_eq "$(sink_settle "$tmp/rx" 6001 3)" 3 "received on 6001"
	expect_eq "$(sink_count "$tmp/rx" 6000)" 0 "received on 6000"
	# load again is fine with the record of a deleted interface
	pt "$bldg" load --xdp lobby2 >/dev/null
	# the interface comes back (a new one, of the same name): the guard
	# attaches to it, with the rules and counters of the state
	quiet_pair "$street" door1 198.18.0.1/24 "$bldg" lobby1 198.18.0.2/24
	pt "$bldg" load --xdp lobby1 >/dev/null
	# (the old interface's record keeps its name: the attached one is new)
	expect_guard "$bldg" lobby1 "$(pt "$bldg" --json status | jq -r '[.xdp[] | select(.ifname == "lobby1" and .attached)] | .[0].prog_id')" \
		native "XDP program on the new lobby1"
	expect_json "$bldg" '[.xdp[] | select(.ifname == "lobby1") | .attached] | any' true status
	udp_send "$street" 198.18.0.2 6000 5
	wait_stat "$bldg" udp 6000 dropped 9
	expect_eq "$(sink_count "$tmp/rx" 6000)" 0 "received on 6000"
	pt "$bldg" unload >/dev/null
	expect_json "$bldg" '.loaded' false status
	expect_eq "$(xdp_prog_of "$bldg" lobby1)" none "XDP program on lobby1 after unload"
	expect_eq "$(xdp_prog_of "$bldg" lobby2)" none "XDP program on lobby2 after unload"
	finish
}

run_cases
