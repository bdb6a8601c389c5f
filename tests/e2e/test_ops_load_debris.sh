#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# load recovers from its own debris wherever it was killed. A load (and an
# upgrade to another build) is traced once; then, for each point of
# interest (the new directory, the link, its pin, the rename, the XDP
# attach and the upgrade's swaps), a load is killed there with SIGKILL by
# strace's fault injection, the next load must succeed and leave a working
# state (one dispatcher attached, the recorded guard on the interface, a
# connection through a binding), and unload must leave nothing behind.
. "$(dirname "$0")/lib.sh"

GUARD_B=$(dirname "$PORTIER")/tests/portier-guardB
# syscalls whose count does not depend on other namespaces' pins or links
# (bpf and close calls do: load prunes dead namespaces and looks for an
# attached dispatcher first)
STEADY='^(mkdir|rename|socket|sendto|recvmsg)$'

# kill_point TRACE PATTERN before|after: "SYSCALL N" such that killing at
# the entry of the Nth SYSCALL stops the traced run just before the first
# line matching PATTERN (which must be a steady syscall) or just after it.
kill_point() {
	awk -v pat="$2" -v when="$3" -v steady="$STEADY" '
	function name(l) { sub(/^[0-9]+ +/, "", l); sub(/\(.*/, "", l); return l }
	{ n = name($0); if (n ~ steady) cnt[n]++ }
	!found && index($0, pat) {
		found = 1
		if (when == "before") { if (n ~ steady) print n, cnt[n]; exit }
		next
	}
	found && n ~ steady { print n, cnt[n]; exit }
	' "$1"
}

# LeakSanitizer cannot run under ptrace: an ASan build is traced without it
# (everything else of ASan and UBSan stays on)
NO_LSAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# trace_run TRACE BIN ARGS...: run BIN under strace, every syscall to TRACE.
trace_run() {
	local out=$1
	shift
	ASAN_OPTIONS=$NO_LSAN strace -f -s 256 -o "$out" "$@" >/dev/null
}

# killed_run "SYSCALL N" BIN ARGS...: run BIN, killed at the entry of the
# Nth SYSCALL; fails unless it was.
killed_run() {
	local point=$1 rc
	shift
	# shellcheck disable=SC2086 # "SYSCALL N"
	set -- env ASAN_OPTIONS="$NO_LSAN" strace -f -o /dev/null -e "inject=${point% *}:signal=SIGKILL:when=${point#* }" "$@"
	# the shell that reaps it says "Killed": that one's stderr goes too
	rc=$( { "$@" >/dev/null 2>&1; echo $?; } 2>/dev/null)
	[ "$rc" -eq 137 ] || fail "killed at $point: exited $rc, not killed"
}

# sk_links INO: sk_lookup links attached to the namespace of inode INO.
sk_links() {
	bpftool -j link show | jq --argjson ino "$1" '[.[] | select(.type == "netns" and .netns_ino == $ino)] | length'
}

# working NS STREET SRV INO TAG: one dispatcher attached, this build's
# state, the recorded guard (of program tag TAG) on lobby, a connection
# through a binding.
working() {
	local ns=$1 street=$2 srv=$3 ino=$4 tag=$5 id
	expect_eq "$(sk_links "$ino")" 1 "sk_lookup links on the namespace"
	read -r id _ < <(xdp_prog_of "$ns" lobby)
	expect_json "$ns" '"\(.programs[0].attached) \(.build_current) " + ([.xdp[] | "\(.ifname) \(.prog_id) \(.attached)"] | join(","))' \
		"true true lobby $id true" status
	expect_eq "$(bpftool -j prog show id "$id" | jq -r .tag)" "$tag" "the guard's program tag"
	pt "$ns" register irene --pid "$srv"
	pt "$ns" bind tcp 198.18.0.2/32 80 irene
	expect_eq "$(tcp_get "$street" 198.18.0.2 80)" irene "a connection through the binding"
}

# clean NS INO DIR: unload leaves no pin, no link, no guard.
clean() {
	local ns=$1 ino=$2 dir=$3
	pt "$ns" unload >/dev/null
	[ ! -e "$dir" ] || fail "$dir left after unload"
	[ ! -e "${dir}_new" ] || fail "${dir}_new left after unload"
	expect_eq "$(sk_links "$ino")" 0 "sk_lookup links after unload"
	expect_eq "$(xdp_prog_of "$ns" lobby)" none "XDP program on lobby after unload"
}

case_load_killed_anywhere() {
	local street bldg tmp srv ino dir tag_a spec pat when want point out
	command -v strace >/dev/null || fail "strace is missing (scripts/deps.sh installs it)"
	newns street street
	newns bldg bldg
	veth_pair "$street" door 198.18.0.1/24 "$bldg" lobby 198.18.0.2/24
	casetmp tmp
	pyserve srv "$bldg" irene 127.0.0.1:3003
	ino=$(stat -L -c %i "/run/netns/$bldg")
	dir=/sys/fs/bpf/portier/$ino
	trace_run "$tmp/trace" "$PORTIER" --netns "$bldg" load --xdp lobby
	tag_a=$(bpftool -j prog show id "$(xdp_prog_of "$bldg" lobby | cut -d' ' -f1)" | jq -r .tag)
	clean "$bldg" "$ino" "$dir"
	# PATTERN|before or after|the first line of the next load
	for spec in \
		"_new\", 0700) = 0|after|loaded" \
		"BPF_LINK_CREATE|after|loaded" \
		"/dispatch_link\"|after|loaded" \
		"rename(|before|loaded" \
		"rename(|after|already loaded" \
		"nlmsg_type=0x13|before|already loaded" \
		"nlmsg_type=0x13|after|already loaded"; do
		IFS='|' read -r pat when want <<<"$spec"
		point=$(kill_point "$tmp/trace" "$pat" "$when")
		[ -n "$point" ] || { fail "no kill point $when '$pat' in the trace"; return 1; }
		killed_run "$point" "$PORTIER" --netns "$bldg" load --xdp lobby
		# the issue's case: the rename never ran, its directory is left
		if [ "$pat|$when" = "rename(|before" ]; then
			if [ ! -d "${dir}_new" ] || [ -e "$dir" ]; then
				fail "killed at the rename: no ${dir}_new left, or $dir made"
			fi
		fi
		out=$(pt "$bldg" load --xdp lobby | head -1) || fail "load after a kill $when '$pat'"
		case $want in
		loaded) expect_eq "$out" "loaded: dispatch attached to network namespace $ino, state in $dir" \
			"load after a kill $when '$pat'" ;;
		*) expect_eq "$out" "already loaded: $dir" "load after a kill $when '$pat'" ;;
		esac
		[ ! -e "${dir}_new" ] || fail "${dir}_new left after the load that recovered"
		working "$bldg" "$street" "$srv" "$ino" "$tag_a"
		clean "$bldg" "$ino" "$dir"
	done
	finish
}

case_upgrade_killed_anywhere() {
	local street bldg tmp srv ino dir tag_a tag_b spec pat when point out
	command -v strace >/dev/null || fail "strace is missing (scripts/deps.sh installs it)"
	[ -x "$GUARD_B" ] || fail "$GUARD_B is missing: 'make tests' builds it"
	newns street street
	newns bldg bldg
	veth_pair "$street" door 198.18.0.1/24 "$bldg" lobby 198.18.0.2/24
	casetmp tmp
	pyserve srv "$bldg" irene 127.0.0.1:3003
	ino=$(stat -L -c %i "/run/netns/$bldg")
	dir=/sys/fs/bpf/portier/$ino
	pt "$bldg" load --xdp lobby >/dev/null
	tag_a=$(bpftool -j prog show id "$(xdp_prog_of "$bldg" lobby | cut -d' ' -f1)" | jq -r .tag)
	trace_run "$tmp/trace" "$GUARD_B" --netns "$bldg" load
	tag_b=$(bpftool -j prog show id "$(xdp_prog_of "$bldg" lobby | cut -d' ' -f1)" | jq -r .tag)
	[ "$tag_a" != "$tag_b" ] || fail "build B's guard has build A's tag"
	clean "$bldg" "$ino" "$dir"
	for spec in \
		"BPF_LINK_UPDATE|after" \
		"rename(|before" \
		"rename(|after" \
		"nlmsg_type=0x13|before" \
		"nlmsg_type=0x13|after"; do
		IFS='|' read -r pat when <<<"$spec"
		point=$(kill_point "$tmp/trace" "$pat" "$when")
		[ -n "$point" ] || { fail "no kill point $when '$pat' in the trace"; return 1; }
		pt "$bldg" load --xdp lobby >/dev/null
		pt "$bldg" service add keep
		killed_run "$point" "$GUARD_B" --netns "$bldg" load
		out=$("$GUARD_B" --netns "$bldg" load) || fail "upgrade after a kill $when '$pat'"
		expect_eq "$out" "upgraded: programs replaced, maps kept, in $dir" "upgrade after a kill $when '$pat'"
		expect_json "$bldg" 'map(.name) | join(",")' keep services
		PORTIER=$GUARD_B working "$bldg" "$street" "$srv" "$ino" "$tag_b"
		clean "$bldg" "$ino" "$dir"
	done
	finish
}

run_cases
