#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# CPU steering end to end: a street namespace sends UDP datagrams from CPU 0
# over a quiet veth pair to a building whose interface runs the guard
# natively. veth's receive NAPI (and so the guard and, without steering, the
# whole stack) runs on the sender's CPU; `steer udp P cpus 1` sends port P's
# packets through the cpumap to CPU 1, where the stack takes them. A UDP
# server (tests/e2e/helpers/cpu_sink.c) reads SO_INCOMING_CPU for every
# datagram. Also: unsteer, bad CPU lists (exit 2, nothing changed), steers
# --json, apply/dump with steer lines, the cpu_map entries and their removal.
. "$(dirname "$0")/lib.sh"

CPU_SINK=${CPU_SINK:-$(dirname "$PORTIER")/tests/e2e/cpu_sink}
N=64

# steer_street STREET BLDG: quiet_street, the sender computing its UDP
# checksums itself. veth hands on a partial checksum (the offload's
# promise, kept in the skb); a frame redirected through the cpumap is
# rebuilt without that promise and the stack would count a checksum error
# (a real NIC delivers whole checksums).
steer_street() {
	quiet_street "$1" "$2" || return 1
	in_ns "${!1}" ethtool -K door tx off >/dev/null
}

# needs: two online CPUs, 0 and 1, and the helper
need_cpus() {
	[ -x "$CPU_SINK" ] || fail "no $CPU_SINK (make tests builds it)"
	grep -qE '^0-([1-9]|[1-9][0-9]+)$|^0,1' /sys/devices/system/cpu/online ||
		skip "CPUs 0 and 1 are not both online ($(cat /sys/devices/system/cpu/online))"
}

# cpu_sink_start VAR NS PORT OUT: the server on PORT (connected to the
# sender's 198.18.0.1:40000: the kernel notes the CPU for connected UDP
# sockets only), COUNT $N, 3 s idle.
cpu_sink_start() {
	local __var=$1 __ns=$2 __d
	__d=$(mktemp -d "/tmp/$E2E_TAG.cpu.XXXXXX") || return 1
	_TMPDIRS+=("$__d")
	: >"$4"
	spawn "$__var" "$__ns" "$CPU_SINK" "$3" "$4" "$__d/ready" "$N" 3 198.18.0.1 40000
	wait_file "$__d/ready" 5
}

# send_from_cpu0 NS PORT: $N datagrams from 198.18.0.1:40000, the sender
# pinned to CPU 0 (one flow).
send_from_cpu0() {
	local sent
	sent=$(in_ns "$1" taskset -c 0 timeout 20 "$E2E_PY" "$E2E_HELPERS/ptnet.py" send \
		198.18.0.2 "$2" "$N" --size 64 --src 198.18.0.1 --sport 40000) || { fail "send to $2 failed"; return 1; }
	expect_eq "$sent" "$N" "datagrams sent to $2"
}

# cpus_of FILE: "CPU COUNT" per CPU the server saw, sorted, one line.
cpus_of() {
	sort -n "$1" | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }'
}

# bpftool prints the pinned maps' keys and values as bytes ("0x1f"): jq
# turns a little-endian run of them into a number.
# shellcheck disable=SC2016 # jq's variables, not the shell's
JQ_LE='def hex: ltrimstr("0x") | explode | map(if . >= 97 then . - 87 else . - 48 end)
	| reduce .[] as $d (0; . * 16 + $d);
def le: reverse | reduce .[] as $b (0; . * 256 + ($b | hex));'

# cpu_counter NS: the guard's `cpu` counter summed over every slot and CPU,
# read from the pinned port_stats.
cpu_counter() {
	"$CPU_SINK" counter "$(pt "$1" --json status | jq -r .pin_dir)/port_stats"
}

# cpu_map_cpus NS: the CPUs that have a cpu_map entry, "0 1" style (an
# empty slot reads as an error).
cpu_map_cpus() {
	local dir
	dir=$(pt "$1" --json status | jq -r .pin_dir)
	bpftool -j map dump pinned "$dir/cpu_map" |
		jq -r "$JQ_LE"' [.[] | select(.value | type == "array") | .key | le | tostring] | join(" ")'
}

# steered_run STREET BLDG PORT OUT: server on PORT, $N datagrams, all in.
steered_run() {
	local srv
	cpu_sink_start srv "$2" "$3" "$4"
	send_from_cpu0 "$1" "$3"
	wait_lines "$4" "$N" 5
	wait_exit "$srv" 5
}

case_steered_port_processed_on_cpu1() {
	local street bldg tmp
	need_cpus
	steer_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby --xdp-mode native >/dev/null
	# unsteered: the stack runs where veth's NAPI runs, the sender's CPU 0
	steered_run "$street" "$bldg" 5500 "$tmp/before"
	expect_eq "$(cpus_of "$tmp/before")" "0:$N" "CPUs of the datagrams before the steer rule"
	expect_eq "$(cpu_counter "$bldg")" 0 "cpu counter before the steer rule"
	expect_eq "$(cpu_map_cpus "$bldg")" "" "cpu_map entries before the steer rule"

	pt "$bldg" steer udp 5500 cpus 1
	expect_eq "$(cpu_map_cpus "$bldg")" 1 "cpu_map entries of steer udp 5500 cpus 1"
	steered_run "$street" "$bldg" 5500 "$tmp/steered"
	expect_eq "$(cpus_of "$tmp/steered")" "1:$N" "CPUs of the steered datagrams"
	expect_eq "$(cpu_counter "$bldg")" "$N" "cpu counter"
	# another port is not steered
	steered_run "$street" "$bldg" 5501 "$tmp/other"
	[ "$(cpus_of "$tmp/other")" != "1:$N" ] || fail "an unsteered port went to CPU 1"
	expect_eq "$(cpu_counter "$bldg")" "$N" "cpu counter after an unsteered port"

	# unsteer restores; the CPU's queue goes with the last rule naming it
	pt "$bldg" unsteer udp 5500
	expect_eq "$(cpu_map_cpus "$bldg")" "" "cpu_map entries after unsteer"
	steered_run "$street" "$bldg" 5500 "$tmp/after"
	[ "$(cpus_of "$tmp/after")" != "1:$N" ] || fail "after unsteer, all $N datagrams were on CPU 1"
	expect_eq "$(cpu_counter "$bldg")" "$N" "cpu counter after unsteer"
	finish
}

# a drop policy wins over steering: nothing reaches the server, none counted
case_policy_drop_wins_over_steer() {
	local street bldg tmp srv
	need_cpus
	steer_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby --xdp-mode native >/dev/null
	pt "$bldg" steer udp 5600-5610 cpus 0-1
	pt "$bldg" policy udp 5605 drop
	expect_eq "$(cpu_map_cpus "$bldg")" "0 1" "cpu_map entries of cpus 0-1"
	cpu_sink_start srv "$bldg" 5605 "$tmp/dropped"
	send_from_cpu0 "$street" 5605
	wait_stat "$bldg" udp 5605 dropped "$N"
	wait_exit "$srv" 5
	expect_eq "$(lines "$tmp/dropped")" 0 "datagrams the server got through a drop"
	expect_eq "$(cpu_counter "$bldg")" 0 "cpu counter of dropped datagrams"
	# one flow (one source port) stays on one CPU of the two
	steered_run "$street" "$bldg" 5606 "$tmp/flow"
	[[ $(cpus_of "$tmp/flow") =~ ^[01]:$N$ ]] || fail "one flow on several CPUs: $(cpus_of "$tmp/flow")"
	expect_eq "$(cpu_counter "$bldg")" "$N" "cpu counter of one flow"
	finish
}

case_bad_cpu_lists_change_nothing() {
	local ns tmp before possible
	newns ns bldg
	casetmp tmp
	pt "$ns" load >/dev/null
	pt "$ns" steer udp 5000-5010 cpus 0 2>/dev/null
	before=$(pt "$ns" dump | sed 1d)
	possible=$(($(sed 's/.*-//' /sys/devices/system/cpu/possible) + 1))
	expect_bad "$ns" steer udp 5000 cpus "$possible"
	[[ $(pt_err "$ns" steer udp 5000 cpus "$possible") == "portier: steer: udp 5000: CPU $possible is beyond this host's CPUs (0-$((possible - 1)))" ]] ||
		fail "message: $(pt_err "$ns" steer udp 5000 cpus "$possible")"
	expect_bad "$ns" steer udp 5000 cpus 1024
	expect_bad "$ns" steer udp 5000 cpus 1,1
	expect_bad "$ns" steer udp 5000 cpus 0-64
	expect_bad "$ns" steer udp 5000 cpus x
	expect_bad "$ns" steer udp 5000 cpus
	expect_bad "$ns" steer udp 5000 cpu 0
	expect_bad "$ns" steer udp 5005-5020 cpus 0
	[[ $(pt_err "$ns" steer udp 5005-5020 cpus 0) == *"partly overlaps the steer rule udp 5000-5010"* ]] ||
		fail "overlap message: $(pt_err "$ns" steer udp 5005-5020 cpus 0)"
	expect_bad "$ns" unsteer udp 5000
	# a file naming a CPU that is not there: nothing applied
	printf 'steer udp 7000 cpus 0\nsteer udp 7001 cpus 0,%s\n' "$possible" >"$tmp/conf"
	expect_bad "$ns" apply "$tmp/conf"
	[[ $(pt_err "$ns" apply "$tmp/conf") == "portier: $tmp/conf: udp 7001: CPU $possible is beyond"* ]] ||
		fail "apply message: $(pt_err "$ns" apply "$tmp/conf")"
	printf 'steer udp 7000 cpus 0\nsteer udp 7000-7001 cpus 0,0\n' >"$tmp/conf"
	expect_bad "$ns" apply "$tmp/conf"
	[[ $(pt_err "$ns" apply "$tmp/conf") == "portier: $tmp/conf:2:26: bad CPU list: CPU 0 is listed twice in '0,0'" ]] ||
		fail "apply message: $(pt_err "$ns" apply "$tmp/conf")"
	expect_eq "$(pt "$ns" dump | sed 1d)" "$before" "dump after the refused commands"
	expect_eq "$(cpu_map_cpus "$ns")" 0 "cpu_map entries after the refused commands"
	finish
}

case_steers_json_apply_dump() {
	local ns tmp dir
	newns ns bldg
	casetmp tmp
	pt "$ns" load >/dev/null
	pt "$ns" steer udp 27015 cpus 1,0 2>/dev/null
	pt "$ns" steer tcp 80-90 cpus 0-1 2>/dev/null
	pt "$ns" steer udp 27000-27999 cpus 1 2>/dev/null
	expect_eq "$(pt "$ns" --json steers)" \
		'[{"proto":"tcp","port_lo":80,"port_hi":90,"cpus":[0,1]},{"proto":"udp","port_lo":27000,"port_hi":27999,"cpus":[1]},{"proto":"udp","port_lo":27015,"port_hi":27015,"cpus":[0,1]}]' \
		"steers --json"
	expect_eq "$(pt "$ns" steers)" "$(printf '%s\n' 'PROTO  PORTS        CPUS' 'tcp    80-90        0-1' 'udp    27000-27999  1' 'udp    27015        0-1')" "steers"
	pt "$ns" dump | sed 1d >"$tmp/dump"
	expect_eq "$(grep '^steer' "$tmp/dump")" "$(printf '%s\n' 'steer tcp 80-90 cpus 0-1' 'steer udp 27000-27999 cpus 1' 'steer udp 27015 cpus 0-1')" "dump's steer lines"
	expect_eq "$(pt "$ns" --json dump | jq -c '.steers | length')" 3 "dump --json steers"
	# the dump applied again changes nothing
	expect_eq "$(pt "$ns" apply "$tmp/dump")" \
		"applied $tmp/dump: bindings +0 -0 ~0, policies +0 -0 ~0, watches +0 -0, services +0, steers +0 -0 ~0" "dump | apply"
	# a file: one rule changed, one gone, one new
	printf 'steer tcp 80-90 cpus 1\nsteer udp 27015 cpus 0-1\nsteer udp 4000 cpus 0\n' >"$tmp/conf"
	expect_eq "$(pt "$ns" apply "$tmp/conf")" \
		"applied $tmp/conf: bindings +0 -0 ~0, policies +0 -0 ~0, watches +0 -0, services +0, steers +1 -1 ~1" "apply"
	expect_eq "$(pt "$ns" --json apply "$tmp/conf" | jq -c .steers)" '{"added":0,"removed":0,"changed":0}' "apply --json steers"
	expect_eq "$(pt "$ns" dump | grep '^steer')" "$(printf '%s\n' 'steer tcp 80-90 cpus 1' 'steer udp 4000 cpus 0' 'steer udp 27015 cpus 0-1')" "dump after apply"
	expect_eq "$(cpu_map_cpus "$ns")" "0 1" "cpu_map entries"
	# no steer lines in the file: no steer rules, no queues
	printf '# nothing\n' >"$tmp/empty"
	pt "$ns" apply "$tmp/empty" >/dev/null 2>&1
	expect_eq "$(pt "$ns" --json steers)" "[]" "steers after an empty file"
	expect_eq "$(cpu_map_cpus "$ns")" "" "cpu_map entries after an empty file"
	# unload takes the map (and its CPUs' queues) with the pins
	pt "$ns" steer udp 4000 cpus 1 2>/dev/null
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	pt "$ns" unload >/dev/null
	[ ! -e "$dir/cpu_map" ] || fail "cpu_map still pinned after unload"
	finish
}

run_cases
