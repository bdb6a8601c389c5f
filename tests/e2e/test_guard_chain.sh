#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The guard in a chain of XDP programs, through libxdp's dispatcher: beside
# xdp-filter (priority 10, so it runs first) loaded before or after
# portier, before a program of priority 30, loaded again, upgraded in
# place, and unloaded leaving the other program running. Exact counters
# for both programs. Where the dispatcher does not work (6.18 here), the
# guard holds its interface alone and libxdp refuses any program beside
# it: that is checked, and the rest is not applicable.
. "$(dirname "$0")/lib.sh"

BPFOBJ=/usr/lib/x86_64-linux-gnu/bpf
FAKE_BUILD=$E2E_HELPERS/fake_build.sh

# xdp_status NS IF FIELD: a field of IF's entry in `status --json`.
xdp_status() {
	pt "$1" --json status | jq -r --arg i "$2" --arg f "$3" \
		'[.xdp[] | select(.ifname == $i)] | if length == 1 then .[0][$f] else "none" end'
}

# filter_count NS ACTION: packets xdp-filter counted with ACTION (XDP_PASS,
# XDP_DROP), from `xdp-filter status`.
filter_count() {
	in_ns "$1" xdp-filter status | awk -v a="$2" '$1 == a {print $2; n++} END {if (!n) print "none"}'
}

# chain NS IF: the dispatcher's programs on IF as "PRIO NAME,..." (no ids).
chain() {
	xdp_chain_of "$1" "$2" | awk '{printf "%s%s %s", sep, $1, $2; sep = ","}'
}

# filter_load NS: xdp-filter on lobby, dropping udp 7000, unloaded when the
# case ends (whatever happens). xdp-filter keeps one state per bpffs
# (/sys/fs/bpf/xdp-filter, its counters summed over every interface it
# runs on): where it already runs on this machine the counters cannot be
# exact, and the case is not applicable.
filter_load() {
	if [ -e /sys/fs/bpf/xdp-filter ]; then
		skip "xdp-filter already runs on this machine (/sys/fs/bpf/xdp-filter): its counters are shared"
	fi
	on_teardown in_ns "$1" xdp-filter unload lobby
	in_ns "$1" xdp-filter load -m native lobby
	in_ns "$1" xdp-filter port 7000 -m dst -p udp
	expect_eq "$(filter_count "$1" XDP_PASS)/$(filter_count "$1" XDP_DROP)" 0/0 "xdp-filter passed/dropped when loaded"
}

# no_dispatcher_here NS: on a kernel without libxdp's dispatcher, check
# that libxdp refuses xdp-filter's program beside the guard and leaves the
# guard alone, then end the case as not applicable.
no_dispatcher_here() {
	local bldg=$1 id why err rc=0
	pt "$bldg" load --xdp lobby >/dev/null
	id=$(xdp_status "$bldg" lobby prog_id)
	why=$(xdp_status "$bldg" lobby why)
	[ -n "$why" ] && [ "$why" != null ] || fail "status says no dispatcher, and no reason"
	err=$(in_ns "$bldg" xdp-loader load -m native lobby "$BPFOBJ/xdpfilt_alw_all.o" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "libxdp added xdp-filter's program beside a guard without dispatcher"
	expect_guard "$bldg" lobby "$id" native "the guard after xdp-filter's attempt"
	err=$(grep -m1 -o 'libxdp: .*' <<<"$err" || echo "$err" | head -1)
	skip "libxdp's multi-program dispatcher is not usable on this kernel ($why); the guard runs as lobby's only XDP program and xdp-filter's program is refused beside it ($err)"
}

# traffic_beside_filter STREET BLDG TMP ROUND: with xdp-filter dropping udp
# 7000 and the guard dropping udp 5000 (policy) on lobby, send 8 datagrams
# to 6000, 5 to 7000 and 4 to 5000, and check both programs' counters:
# xdp-filter runs first, passes 12 and drops 5; the guard sees the 12 it
# passed, drops the 4 of 5000 and never sees 7000. ROUND (1, 2, ...) scales
# the running totals.
traffic_beside_filter() {
	local street=$1 bldg=$2 tmp=$3 r=$4
	udp_send "$street" 198.18.0.2 6000 8
	udp_send "$street" 198.18.0.2 7000 5
	udp_send "$street" 198.18.0.2 5000 4
	wait_stat "$bldg" udp 6000 packets $((8 * r))
	wait_stat "$bldg" udp 5000 dropped $((4 * r))
	expect_eq "$(stat_of "$bldg" udp 5000 packets)" $((4 * r)) "udp 5000 packets (the guard)"
	expect_eq "$(stat_of "$bldg" udp 7000 packets)" 0 "udp 7000 packets (xdp-filter dropped them first)"
	expect_eq "$(filter_count "$bldg" XDP_PASS)/$(filter_count "$bldg" XDP_DROP)" "$((12 * r))/$((5 * r))" "xdp-filter passed/dropped"
	expect_eq "$(sink_settle "$tmp/rx" 6000 $((8 * r)))" $((8 * r)) "received on 6000 (both pass it)"
	expect_eq "$(sink_count "$tmp/rx" 7000)" 0 "received on 7000"
	expect_eq "$(sink_count "$tmp/rx" 5000)" 0 "received on 5000"
}

# xdp-filter first, then portier: the guard joins xdp-filter's dispatcher.
case_xdp_filter_then_guard() {
	local street bldg tmp sink id
	command -v xdp-filter >/dev/null || skip "xdp-filter is not installed"
	quiet_street street bldg
	casetmp tmp
	xdp_multi || no_dispatcher_here "$bldg"
	filter_load "$bldg"
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all" "the chain before portier"
	# no --force: joining a dispatcher replaces nothing
	pt "$bldg" load --xdp lobby >/dev/null
	id=$(xdp_status "$bldg" lobby prog_id)
	expect_guard "$bldg" lobby "$id" native "the guard beside xdp-filter"
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all,20 portier_guard" "the chain"
	[[ $(pt "$bldg" status) == *"guard:       lobby (ifindex "*", native mode, through libxdp's dispatcher"* ]] ||
		fail "status text: $(pt "$bldg" status | grep guard:)"
	pt "$bldg" watch udp 6000
	pt "$bldg" watch udp 7000
	pt "$bldg" policy udp 5000 drop
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000 198.18.0.2:7000 198.18.0.2:5000
	traffic_beside_filter "$street" "$bldg" "$tmp" 1
	# unload takes the guard only: xdp-filter stays, and still drops 7000
	pt "$bldg" unload >/dev/null
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all" "the chain after unload"
	udp_send "$street" 198.18.0.2 7000 2
	udp_send "$street" 198.18.0.2 6000 3
	expect_eq "$(sink_settle "$tmp/rx" 6000 11)" 11 "received on 6000 after unload"
	expect_eq "$(filter_count "$bldg" XDP_PASS)/$(filter_count "$bldg" XDP_DROP)" "15/7" "xdp-filter passed/dropped after unload"
	expect_eq "$(sink_count "$tmp/rx" 7000)" 0 "received on 7000 after unload"
	in_ns "$bldg" xdp-filter unload lobby
	finish
}

# portier first, then xdp-filter: the order in the chain is by priority,
# not by who came first. Then portier loads again (nothing changes), is
# upgraded in place (a new guard in the same place, counters kept) and
# unloaded (xdp-filter stays).
case_guard_then_xdp_filter_upgrade_unload() {
	local street bldg tmp sink id id2 dir
	command -v xdp-filter >/dev/null || skip "xdp-filter is not installed"
	quiet_street street bldg
	casetmp tmp
	xdp_multi || no_dispatcher_here "$bldg"
	pt "$bldg" load --xdp lobby >/dev/null
	id=$(xdp_status "$bldg" lobby prog_id)
	expect_eq "$(chain "$bldg" lobby)" "20 portier_guard" "the chain before xdp-filter"
	filter_load "$bldg"
	expect_guard "$bldg" lobby "$id" native "the guard after xdp-filter joined"
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all,20 portier_guard" "the chain"
	expect_eq "$(xdp_status "$bldg" lobby attached)" true "status attached"
	pt "$bldg" watch udp 6000
	pt "$bldg" watch udp 7000
	pt "$bldg" policy udp 5000 drop
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000 198.18.0.2:7000 198.18.0.2:5000
	traffic_beside_filter "$street" "$bldg" "$tmp" 1
	# loading again changes nothing
	expect_eq "$(pt "$bldg" --json load --xdp lobby | jq -c '[.result, .xdp[0].mode]')" \
		'["already loaded","native"]' "load again"
	expect_guard "$bldg" lobby "$id" native "the guard after loading again"
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all,20 portier_guard" "the chain after loading again"
	# another build is loaded: load replaces the guard in the dispatcher
	dir=$(pt "$bldg" --json status | jq -r .pin_dir)
	"$FAKE_BUILD" "$dir" 0x0123456789abcdef
	expect_eq "$(pt "$bldg" load)" "upgraded: programs replaced, maps kept, in $dir" "load over another build"
	id2=$(xdp_status "$bldg" lobby prog_id)
	[ "$id2" != "$id" ] || fail "the guard was not replaced (prog $id)"
	expect_guard "$bldg" lobby "$id2" native "the upgraded guard"
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all,20 portier_guard" "the chain after the upgrade"
	expect_json "$bldg" '.build_current' true status
	# counters and rules kept, and counting on from there
	traffic_beside_filter "$street" "$bldg" "$tmp" 2
	# unload takes the guard only
	pt "$bldg" unload >/dev/null
	expect_eq "$(chain "$bldg" lobby)" "10 xdpfilt_alw_all" "the chain after unload"
	udp_send "$street" 198.18.0.2 5000 2
	expect_eq "$(sink_settle "$tmp/rx" 5000 2)" 2 "received on 5000 without the guard"
	expect_eq "$(filter_count "$bldg" XDP_PASS)/$(filter_count "$bldg" XDP_DROP)" "26/10" "xdp-filter passed/dropped after unload"
	in_ns "$bldg" xdp-filter unload lobby
	finish
}

# A program of priority 30 runs after the guard: the guard counts every
# datagram and drops its own; what it passes, the later program judges
# (here xdp-filter's deny-all program, which passes nothing).
case_guard_before_a_later_program() {
	local street bldg tmp sink id
	quiet_street street bldg
	casetmp tmp
	xdp_multi || no_dispatcher_here "$bldg"
	pt "$bldg" load --xdp lobby >/dev/null
	id=$(xdp_status "$bldg" lobby prog_id)
	on_teardown in_ns "$bldg" xdp-loader unload --all lobby
	in_ns "$bldg" xdp-loader load -m native -P 30 lobby "$BPFOBJ/xdpfilt_dny_all.o"
	expect_guard "$bldg" lobby "$id" native "the guard before the later program"
	expect_eq "$(chain "$bldg" lobby)" "20 portier_guard,30 xdpfilt_dny_all" "the chain"
	pt "$bldg" watch udp 6000
	pt "$bldg" policy udp 5000 drop
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000 198.18.0.2:5000
	udp_send "$street" 198.18.0.2 6000 6
	udp_send "$street" 198.18.0.2 5000 3
	wait_stat "$bldg" udp 6000 packets 6
	wait_stat "$bldg" udp 5000 dropped 3
	expect_eq "$(stat_of "$bldg" udp 6000 dropped)" 0 "udp 6000 dropped by the guard"
	expect_eq "$(sink_settle "$tmp/rx" 6000 1 1)" 0 "received on 6000 (the later program drops it)"
	# without the guard the later program runs alone
	pt "$bldg" unload >/dev/null
	expect_eq "$(chain "$bldg" lobby)" "30 xdpfilt_dny_all" "the chain after unload"
	in_ns "$bldg" xdp-loader unload --all lobby
	expect_eq "$(xdp_prog_of "$bldg" lobby)" none "XDP program after xdp-loader unload"
	finish
}

run_cases
