#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Operations without downtime: rebinding, and a portier killed in the
# middle of an apply, each while a bounded loop of connections runs; every
# connection must succeed (upgrades: test_ops_guard_upgrade.sh).
. "$(dirname "$0")/lib.sh"

FAKE_BUILD=$E2E_HELPERS/fake_build.sh

# street_and_building VAR_CLIENT VAR_SERVER: two namespaces joined by a
# veth pair, 198.18.0.1 (client) and 198.18.0.2 (server, interface "lobby").
street_and_building() {
	local __c __s
	newns __c street
	newns __s bldg
	veth_pair "$__c" door 198.18.0.1/24 "$__s" lobby 198.18.0.2/24
	printf -v "$1" '%s' "$__c"
	printf -v "$2" '%s' "$__s"
}

# run_loop VAR NS OUT TRIGGER: a paced connection loop to 198.18.0.2:80
# that stops 100 connections after TRIGGER appears (3000 at most).
run_loop() {
	spawn "$1" "$2" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 3000 \
		--delay 0.002 --timeout 2 --out "$3" --stop-after "$4:100"
}

case_rebind_port_under_load() {
	local ns tmp a b looper n_at
	newns ns rebind
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve a "$ns" a 127.0.0.1:4001
	pyserve b "$ns" b 127.0.0.1:4002
	pt "$ns" register alpha --pid "$a"
	pt "$ns" register beta --pid "$b"
	pt "$ns" bind tcp 198.18.0.2/32 80 alpha
	run_loop looper "$ns" "$tmp/loop" "$tmp/done"
	wait_lines "$tmp/loop" 100 10
	# the same key, another service: moves in one commit
	pt "$ns" bind tcp 198.18.0.2/32 80 beta
	n_at=$(lines "$tmp/loop")
	touch "$tmp/done"
	wait_exit "$looper" 60
	expect_eq "$(grep -c FAIL "$tmp/loop" || true)" 0 "failed connections during the rebind"
	expect_eq "$(cut -d' ' -f2 "$tmp/loop" | uniq | tr '\n' ' ')" "a b " "replies: alpha, then beta"
	expect_eq "$(tail -n +$((n_at + 2)) "$tmp/loop" | grep -vc ' b$' || true)" 0 \
		"replies after the rebind returned"
	expect_json "$ns" '.[0].service' beta bindings
}

# Upgrading the programs under load, with two real builds:
# test_ops_guard_upgrade.sh.

case_incompatible_abi_refused() {
	local street bldg dir err pins config
	street_and_building street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" service add irene
	dir=$(pt "$bldg" --json status | jq -r .pin_dir)
	"$FAKE_BUILD" "$dir" 0x1 7
	pins=$(find "$dir" | sort)
	config=$(bpftool -j map dump pinned "$dir/config")
	err=$(pt_err "$bldg" load)
	[[ $err == *"ABI 7"*"unload"* ]] || fail "load over ABI 7: '$err'"
	expect_rc 1 pt "$bldg" load
	expect_rc 1 pt "$bldg" bindings
	# never misread: the state is left alone until unloaded
	expect_eq "$(find "$dir" | sort)" "$pins" "pins untouched"
	expect_eq "$(bpftool -j map dump pinned "$dir/config")" "$config" "config untouched"
	pt "$bldg" unload >/dev/null
	[ ! -e "$dir" ] || fail "$dir left after unload"
	expect_eq "$(ip -n "$bldg" link show lobby | grep -c ' xdp')" 0 "guard detached"
}

# Two configurations that both send port 80 to irene, the large one with
# 20,000 more bindings: whatever moment portier dies at, the state is one
# or the other, traffic never fails, and the next command works.
case_sigkill_during_apply() {
	local ns tmp srv looper i pid small big cur n
	newns ns kill
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve srv "$ns" irene 127.0.0.1:3003
	pt "$ns" register irene --pid "$srv"
	small=$tmp/small.conf
	big=$tmp/big.conf
	printf 'service add irene\nbind tcp 198.18.0.2/32 80 irene\nwatch udp 5000\n' >"$small"
	{
		cat "$small"
		for ((i = 0; i < 20000; i++)); do
			echo "bind tcp 198.19.$((i >> 8)).$((i & 255))/32 $((1000 + i % 3000)) irene"
		done
	} >"$big"
	pt "$ns" apply "$small" >/dev/null
	run_loop looper "$ns" "$tmp/loop" "$tmp/done"
	wait_lines "$tmp/loop" 20 10
	for i in $(seq 1 12); do
		"$PORTIER" --netns "$ns" apply "$big" >/dev/null 2>&1 &
		pid=$!
		# die somewhere between parsing and the last delete
		sleep "0.0$((i * 7 % 10))$((i % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		n=$(pt "$ns" --json bindings | jq length)
		[ "$n" -eq 1 ] || [ "$n" -eq 20001 ] || fail "kill $i: $n bindings, a mix of the two files"
		# the next command works, and leaves exactly one generation
		pt "$ns" apply "$small" >/dev/null
		cur=$(pt "$ns" dump | grep -vc '^#')
		expect_eq "$cur" 3 "kill $i: state after the next apply"
	done
	touch "$tmp/done"
	wait_exit "$looper" 60
	expect_eq "$(grep -c FAIL "$tmp/loop" || true)" 0 "failed connections during the kills"
	# no debris: the maps hold the live generation only
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	expect_eq "$(bpftool -j map dump pinned "$dir/bind_table" | jq length)" 1 "bind_table entries"
	expect_eq "$(bpftool -j map dump pinned "$dir/config" | jq '.[0].formatted.value.idle_dirty')" 0 "idle generation clean"
}

case_dump_apply_round_trip() {
	local ns tmp
	newns ns dump
	casetmp tmp
	pt "$ns" load >/dev/null
	cat >"$tmp/conf" <<-'EOF'
		# the building
		service add irene --desc "web app dev server"
		service add daudi --desc 'game server, "many" rooms'
		bind tcp 198.18.0.2/32 80 irene   # the receptionist
		bind tcp any 3064-3099 daudi
		bind udp 2001:db8::/64 53 irene
		policy tcp 3006 drop-new --from 198.18.0.0/24
		policy udp 53 limit 1000
		watch udp 5000-5002
	EOF
	expect_eq "$(pt "$ns" apply --check "$tmp/conf")" \
		"checked $tmp/conf: bindings +3 -0 ~0, policies +2 -0 ~0, watches +1 -0, services +2" "apply --check"
	expect_json "$ns" length 0 bindings
	pt "$ns" apply "$tmp/conf" >/dev/null
	pt "$ns" dump >"$tmp/d1"
	expect_eq "$(pt "$ns" dump | pt "$ns" apply -)" \
		"applied -: bindings +0 -0 ~0, policies +0 -0 ~0, watches +0 -0, services +0" "dump | apply"
	pt "$ns" dump >"$tmp/d2"
	expect_eq "$(diff "$tmp/d1" "$tmp/d2" && echo same)" same "dump after dump | apply"
	expect_json "$ns" '[.[] | "\(.proto) \(.prefix) \(.port_lo)-\(.port_hi) \(.service)"] | join(",")' \
		"tcp 198.18.0.2/32 80-80 irene,tcp any 3064-3099 daudi,udp 2001:db8::/64 53-53 irene" bindings
	expect_json "$ns" '[.[] | .desc] | join("|")' 'game server, "many" rooms|web app dev server' services
	# a file that removes and changes: exact counts
	printf 'bind tcp any 3064-3099 irene\npolicy udp 53 limit 2000\n' >"$tmp/conf2"
	expect_eq "$(pt "$ns" apply "$tmp/conf2")" \
		"applied $tmp/conf2: bindings +0 -2 ~1, policies +0 -1 ~1, watches +0 -1, services +0" "apply conf2"
	# errors name file, line and column, and change nothing
	pt "$ns" dump >"$tmp/d3"
	printf 'bind tcp any 80 irene\nbind tcp any 70-90 irene\nbind tcp any 85-95 daudi\n' >"$tmp/bad"
	expect_eq "$(pt_err "$ns" apply "$tmp/bad")" \
		"portier: $tmp/bad:3:1: ports partly overlap the binding at line 2: ranges on one prefix must be disjoint or nested" \
		"overlap error"
	expect_bad "$ns" apply "$tmp/bad"
	printf 'policy tcp 80 limit 0\n' >"$tmp/bad"
	expect_eq "$(pt_err "$ns" apply "$tmp/bad")" \
		"portier: $tmp/bad:1:21: PPS is packets per second from 1 to 1000000000" "limit 0"
	printf 'bind tcp any 80 nobody\n' >"$tmp/bad"
	expect_bad "$ns" apply "$tmp/bad"
	expect_bad "$ns" apply "$tmp/does-not-exist"
	expect_bad "$ns" apply "$tmp"
	pt "$ns" dump >"$tmp/d4"
	expect_eq "$(diff "$tmp/d3" "$tmp/d4" && echo same)" same "state after rejected files"
}

run_cases
