#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A release that changes only the guard is another build: `load` of it
# replaces the guard in place on every interface it runs on, keeps every
# map (bindings, policies, counters), and fails no connection. Two real
# builds: build/portier and build/tests/portier-guardB (`make tests`), whose
# guard is compiled with -DPT_TEST_GUARD_B (other instructions, the same
# verdicts); nothing is faked.
. "$(dirname "$0")/lib.sh"

GUARD_B=$(dirname "$PORTIER")/tests/portier-guardB

# ptb NS ARGS...: build B against namespace NS.
ptb() {
	local ns=$1
	shift
	"$GUARD_B" --netns "$ns" "$@"
}

# guard_of NS IF: "ID TAG" of the XDP program on IF (the kernel's view).
guard_of() {
	local id
	read -r id _ _ < <(xdp_prog_of "$1" "$2")
	[ "$id" != none ] || { echo none; return 0; }
	echo "$id $(bpftool -j prog show id "$id" | jq -r .tag)"
}

# loop_to VAR NS ADDR OUT TRIGGER: paced connections to ADDR:80 that stop
# 100 connections after TRIGGER appears (3000 at most).
loop_to() {
	spawn "$1" "$2" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop "$3" 80 3000 \
		--delay 0.002 --timeout 2 --out "$4" --stop-after "$5:100"
}

case_guard_only_upgrade_under_load() {
	local street bldg tmp srv dir l1 l2 a_lobby a_side b_lobby b_side a_build b_build
	local disp0 disp1 link0 link1 pk0 pk1 n1 n2 total
	[ -x "$GUARD_B" ] || fail "$GUARD_B is missing: 'make tests' builds it"
	newns street street
	newns bldg bldg
	veth_pair "$street" door 198.18.0.1/24 "$bldg" lobby 198.18.0.2/24
	veth_pair "$street" door2 198.18.1.1/24 "$bldg" side 198.18.1.2/24
	casetmp tmp
	pt "$bldg" load --xdp lobby --xdp side >/dev/null
	pyserve srv "$bldg" irene 127.0.0.1:3003
	pt "$bldg" register irene --pid "$srv"
	pt "$bldg" bind tcp 198.18.0.2/32 80 irene
	pt "$bldg" bind tcp 198.18.1.2/32 80 irene
	pt "$bldg" policy tcp 3006 drop-new
	dir=$(pt "$bldg" --json status | jq -r .pin_dir)
	a_build=$(pt "$bldg" --json status | jq -r .build)
	expect_json "$bldg" .build_current true status
	expect_eq "$(ptb "$bldg" --json status | jq -r .build_current)" false "build B: A's state is current"
	a_lobby=$(guard_of "$bldg" lobby)
	a_side=$(guard_of "$bldg" side)
	expect_eq "${a_side#* }" "${a_lobby#* }" "one guard program tag on both interfaces"
	disp0=$(pt "$bldg" --json status | jq -r '.programs[0].id')
	link0=$(pt "$bldg" --json status | jq -r '.programs[0].link_id')

	loop_to l1 "$street" 198.18.0.2 "$tmp/loop1" "$tmp/done"
	loop_to l2 "$street" 198.18.1.2 "$tmp/loop2" "$tmp/done"
	wait_lines "$tmp/loop1" 100 10
	wait_lines "$tmp/loop2" 100 10
	expect_eq "$(ptb "$bldg" load)" "upgraded: programs replaced, maps kept, in $dir" "load of build B"
	pk0=$(stat_of "$bldg" tcp 80 packets)
	n1=$(lines "$tmp/loop1")
	n2=$(lines "$tmp/loop2")
	touch "$tmp/done"
	wait_exit "$l1" 60
	wait_exit "$l2" 60
	expect_eq "$(grep -c FAIL "$tmp/loop1" || true)" 0 "failed connections through lobby"
	expect_eq "$(grep -c FAIL "$tmp/loop2" || true)" 0 "failed connections through side"
	total=$(($(lines "$tmp/loop1") + $(lines "$tmp/loop2")))

	# a new guard on each interface, B's program (another tag), same mode
	b_lobby=$(guard_of "$bldg" lobby)
	b_side=$(guard_of "$bldg" side)
	[ "${b_lobby%% *}" != "${a_lobby%% *}" ] || fail "lobby: guard $a_lobby not replaced"
	[ "${b_side%% *}" != "${a_side%% *}" ] || fail "side: guard $a_side not replaced"
	[ "${b_lobby#* }" != "${a_lobby#* }" ] || fail "lobby: build B's guard has build A's tag ${a_lobby#* }"
	expect_eq "${b_side#* }" "${b_lobby#* }" "build B's tag on both interfaces"
	expect_eq "$(xdp_prog_of "$bldg" lobby | cut -d' ' -f2-)" "portier_guard native" "lobby's program"
	expect_eq "$(xdp_prog_of "$bldg" side | cut -d' ' -f2-)" "portier_guard native" "side's program"
	expect_eq "$(ptb "$bldg" --json status | jq -r '[.xdp[] | "\(.ifname) \(.prog_id) \(.attached)"] | sort | join(",")')" \
		"lobby ${b_lobby%% *} true,side ${b_side%% *} true" "status: the guards"
	b_build=$(ptb "$bldg" --json status | jq -r .build)
	[ "$b_build" != "$a_build" ] || fail "build B has build A's identity $a_build"
	expect_eq "$(ptb "$bldg" --json status | jq -r .build_current)" true "build B's status"
	expect_json "$bldg" .build_current false status
	# the dispatcher: a new program behind the same link
	disp1=$(ptb "$bldg" --json status | jq -r '.programs[0].id')
	link1=$(ptb "$bldg" --json status | jq -r '.programs[0].link_id')
	[ "$disp1" != "$disp0" ] || fail "dispatch program $disp0 not replaced"
	expect_eq "$link1" "$link0" "sk_lookup link id"
	# the maps kept: counters go on from where they were, the state stays
	pk1=$(stat_of "$bldg" tcp 80 packets)
	[ "$pk0" -ge $((3 * (n1 + n2))) ] || fail "tcp 80: $pk0 packets counted for $((n1 + n2)) connections before the upgrade"
	[ "$pk1" -ge $((pk0 + 3 * (total - n1 - n2))) ] ||
		fail "tcp 80: $pk1 packets after, $pk0 at the upgrade, $((total - n1 - n2)) connections since"
	expect_eq "$(stat_of "$bldg" tcp 80 steered)" "$total" "tcp 80 steered"
	expect_eq "$(ptb "$bldg" --json bindings | jq -c 'map("\(.prefix) \(.port_lo) \(.service)") | sort')" \
		'["198.18.0.2/32 80 irene","198.18.1.2/32 80 irene"]' "bindings"
	expect_eq "$(ptb "$bldg" --json policies | jq -c 'map("\(.proto) \(.port_lo) \(.action)")')" \
		'["tcp 3006 drop-new"]' "policies"
	# build B's guard guards: drop-new on 3006 through either interface
	expect_rc 1 in_ns "$street" timeout 3 socat -T1 - TCP:198.18.0.2:3006,connect-timeout=1
	expect_rc 1 in_ns "$street" timeout 3 socat -T1 - TCP:198.18.1.2:3006,connect-timeout=1
	[ "$(stat_of "$bldg" tcp 3006 dropped)" -ge 2 ] || fail "tcp 3006 dropped: $(stat_of "$bldg" tcp 3006 dropped)"

	# B again: nothing to do; A again: back to A's guard, in place
	expect_eq "$(ptb "$bldg" load)" "already loaded: $dir" "build B again"
	expect_eq "$(pt "$bldg" load)" "upgraded: programs replaced, maps kept, in $dir" "build A again"
	expect_eq "$(guard_of "$bldg" lobby | cut -d' ' -f2)" "${a_lobby#* }" "lobby: A's tag again"
	expect_eq "$(guard_of "$bldg" side | cut -d' ' -f2)" "${a_side#* }" "side: A's tag again"
	expect_json "$bldg" .build_current true status
	expect_eq "$(tcp_get "$street" 198.18.1.2 80)" irene "a connection after the way back"
	finish
}

run_cases
