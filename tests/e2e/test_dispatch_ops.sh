#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Operations: commands before load, idempotent load, unload leaving
# nothing behind, state kept by the kernel between portier runs, and
# concurrent commands serialized without a lost update.
. "$(dirname "$0")/lib.sh"

# ns_ino NS: the inode of the namespace, which names its pin directory.
ns_ino() {
	stat -L -c %i "/run/netns/$1"
}

# expect_not_loaded NS ARGS...: exit 1, one line naming "not loaded".
expect_not_loaded() {
	local ns=$1 err rc=0
	shift
	err=$("$PORTIER" --netns "$ns" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 1 ] || { fail "'portier $*' before load exited $rc, expected 1 ($err)"; return 1; }
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { fail "'portier $*': not one line: $err"; return 1; }
	case $err in
	"portier: "*"not loaded"*) ;;
	*) fail "'portier $*' before load: stderr '$err' does not say 'not loaded'" ;;
	esac
}

case_commands_before_load() {
	local ns srv ino
	newns ns noload
	ino=$(ns_ino "$ns")
	pyserve srv "$ns" srv 127.0.0.1:4001
	expect_not_loaded "$ns" bindings
	expect_not_loaded "$ns" services
	expect_not_loaded "$ns" stats
	expect_not_loaded "$ns" service add web
	expect_not_loaded "$ns" service del web
	expect_not_loaded "$ns" bind tcp any 80 web
	expect_not_loaded "$ns" unbind tcp any 80
	expect_not_loaded "$ns" register web --pid "$srv"
	expect_not_loaded "$ns" unregister web
	expect_not_loaded "$ns" unload
	# status answers: nothing is loaded
	expect_json "$ns" .loaded false status
	expect_json "$ns" '"\(.services) \(.bindings) \(.policies)"' "0 0 0" status
	[ ! -e "/sys/fs/bpf/portier/$ino" ] || fail "a command before load left /sys/fs/bpf/portier/$ino"
}

case_load_idempotent_unload_leaves_nothing() {
	local ns srv ino dir prog link out i
	newns ns lifecycle
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	ino=$(ns_ino "$ns")
	out=$(pt "$ns" load)
	[[ $out == loaded:* ]] || fail "first load said '$out'"
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	expect_eq "$dir" "/sys/fs/bpf/portier/$ino" "pin directory"
	expect_eq "$(stat -c %a "$dir")" 700 "pin directory mode"
	prog=$(pt "$ns" --json status | jq -r '.programs[0].id')
	link=$(pt "$ns" --json status | jq -r '.programs[0].link_id')
	expect_json "$ns" '.programs[0] | "\(.type) \(.attached)"' "sk_lookup true" status
	expect_eq "$(bpftool -j link show id "$link" | jq -r '"\(.type) \(.netns_ino) \(.prog_id)"')" \
		"netns $ino $prog" "the sk_lookup link of the namespace"
	pyserve srv "$ns" srv 127.0.0.1:4001
	pt "$ns" register web --pid "$srv"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	# every command is its own process: the kernel keeps the state
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" srv "steered with no portier running"
	# load again: already loaded, nothing lost, same program and link
	out=$(pt "$ns" load)
	[[ $out == "already loaded"* ]] || fail "second load said '$out'"
	expect_json "$ns" .result "already loaded" load
	expect_json "$ns" '"\(.programs[0].id) \(.programs[0].link_id) \(.bindings) \(.services)"' \
		"$prog $link 1 1" status
	expect_json "$ns" '.[0] | "\(.prefix) \(.port_lo) \(.service)"' "198.18.0.2/32 80 web" bindings
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" srv "steered after the second load"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 2 "counters kept across loads"
	# unload: detached, unpinned, freed; the server's socket is left alone
	out=$(pt "$ns" unload)
	[[ $out == unloaded* ]] || fail "unload said '$out'"
	[ ! -e "$dir" ] || fail "$dir still exists after unload"
	expect_json "$ns" .loaded false status
	bpftool link show id "$link" >/dev/null 2>&1 && fail "link $link still exists after unload"
	expect_eq "$(bpftool -j link show | jq "[.[] | select(.type == \"netns\" and .netns_ino == $ino)] | length")" \
		0 "netns links of the namespace"
	for ((i = 0; i < 40; i++)); do
		bpftool prog show id "$prog" >/dev/null 2>&1 || break
		sleep 0.05
	done
	bpftool prog show id "$prog" >/dev/null 2>&1 && fail "program $prog still exists 2 s after unload"
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_eq "$(tcp_get "$ns" 127.0.0.1 4001)" srv "the server's own socket after unload"
	expect_not_loaded "$ns" unload
	# a new load starts empty
	pt "$ns" load >/dev/null
	expect_json "$ns" 'length' 0 bindings
	expect_json "$ns" 'length' 0 services
}

case_concurrent_binds_lose_nothing() {
	local ns pids=() pid i rc bad=0
	newns ns conc
	pt "$ns" load >/dev/null
	pt "$ns" service add svc
	for i in $(seq 0 19); do
		pt "$ns" bind tcp any $((7000 + i)) svc &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	expect_eq "$bad" 0 "parallel binds that failed"
	expect_json "$ns" 'map(.port_lo) | sort | map(tostring) | join(",")' \
		"$(seq -s, 7000 7019)" bindings
	# and 20 parallel unbinds, interleaved with 20 service adds
	pids=()
	for i in $(seq 0 19); do
		pt "$ns" unbind tcp any $((7000 + i)) &
		pids+=($!)
		pt "$ns" service add "s$i" &
		pids+=($!)
	done
	bad=0
	for pid in "${pids[@]}"; do
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	expect_eq "$bad" 0 "parallel unbinds and service adds that failed"
	expect_json "$ns" 'length' 0 bindings
	expect_json "$ns" 'length' 21 services
}

case_netns_by_path_and_missing() {
	local ns err rc=0
	newns ns path
	pt "$ns" load >/dev/null
	pt "$ns" service add web
	# --netns takes a name under /run/netns or a path
	expect_eq "$("$PORTIER" --netns "/run/netns/$ns" --json status | jq -r .pin_dir)" \
		"/sys/fs/bpf/portier/$(ns_ino "$ns")" "pin directory through a path"
	expect_eq "$("$PORTIER" --netns "/run/netns/$ns" --json services | jq -r '.[0].name')" web \
		"services through a path"
	# a namespace that does not exist is bad input
	err=$("$PORTIER" --netns "$E2E_TAG-nosuch" bindings 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "exit status for a missing namespace"
	[[ $err == "portier: "* ]] || fail "missing namespace: stderr '$err'"
}

case_pins_of_a_dead_namespace_pruned() {
	local ns ns2 dir link i
	newns ns dead
	newns ns2 alive
	pt "$ns" load >/dev/null
	pt "$ns" service add web	# a writer: the namespace's lock is made
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	[ -d "${dir}_lock" ] || fail "no namespace lock ${dir}_lock after a write"
	link=$(pt "$ns" --json status | jq -r '.programs[0].link_id')
	# the namespace goes away without an unload: the kernel detaches the
	# link, the pins stay until the next load prunes them
	ip netns del "$ns"
	for ((i = 0; i < 100; i++)); do
		[ "$(bpftool -j link show id "$link" | jq -r .netns_ino)" = 0 ] && break
		sleep 0.05
	done
	expect_eq "$(bpftool -j link show id "$link" | jq -r .netns_ino)" 0 "link of the dead namespace"
	pt "$ns2" load >/dev/null
	if [ -e "$dir" ]; then
		rm -rf -- "$dir"
		fail "$dir of a dead namespace was still there after another load"
	fi
	if [ -e "${dir}_lock" ]; then
		rmdir -- "${dir}_lock"
		fail "${dir}_lock of a dead namespace was still there after another load"
	fi
	bpftool link show id "$link" >/dev/null 2>&1 && fail "link $link survived the prune"
	expect_json "$ns2" .loaded true status
}

run_cases
