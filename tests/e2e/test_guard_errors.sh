#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bad input to the guard's commands: exit status 2, one line on stderr
# starting "portier: ", and nothing changed (policies, watches, the XDP
# attachments, bindings, services), while the guard keeps guarding.
. "$(dirname "$0")/lib.sh"

# guard_snapshot NS: the guard's configuration and attachments.
guard_snapshot() {
	printf '%s\n%s\n%s\n%s\n' "$(snapshot "$1" 2>&1)" "$(pt "$1" --json policies 2>&1)" \
		"$(pt "$1" --json status | jq -c '[.loaded, .xdp, .watches, .policies]')" \
		"$(pt "$1" --json stats 2>&1 | jq -c '[.ports[]? | [.proto, .port, .port_hi]]')"
}

# expect_bad_guard NS ARGS...: expect_bad, and the guard's state unchanged.
expect_bad_guard() {
	local ns=$1 before after
	before=$(guard_snapshot "$ns")
	expect_bad "$@" || return 1
	after=$(guard_snapshot "$ns")
	[ "$before" == "$after" ] || fail "'portier ${*:2}' changed the guard's state: before $before, after $after"
}

# unloaded_bad NS ARGS...: expect_bad_guard where nothing is loaded.
unloaded_bad() {
	expect_bad_guard "$@" 2> >(grep -v '^{"error":"not loaded' >&2)
}

case_bad_policy_input() {
	local street bldg
	quiet_street street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" policy udp 6000-6010 drop
	pt "$bldg" policy udp 6005 limit 100 --from 198.18.0.0/24
	pt "$bldg" watch udp 5000
	# actions
	expect_bad_guard "$bldg" policy udp 6000 bogus
	expect_bad_guard "$bldg" policy udp 6000 DROP
	expect_bad_guard "$bldg" policy udp 6000
	expect_bad_guard "$bldg" policy udp 6000 drop extra
	# limit and its PPS
	expect_bad_guard "$bldg" policy udp 6000 limit
	expect_bad_guard "$bldg" policy udp 6000 limit 0
	expect_bad_guard "$bldg" policy udp 6000 limit 10000000000
	expect_bad_guard "$bldg" policy udp 6000 limit -5
	expect_bad_guard "$bldg" policy udp 6000 limit 1.5
	expect_bad_guard "$bldg" policy udp 6000 limit abc
	expect_bad_guard "$bldg" policy udp 6000 drop 50
	# protocol and ports
	expect_bad_guard "$bldg" policy icmp 6000 drop
	expect_bad_guard "$bldg" policy udp 70000 drop
	expect_bad_guard "$bldg" policy udp 90-80 drop
	expect_bad_guard "$bldg" policy udp 80- drop
	# --from
	expect_bad_guard "$bldg" policy udp 6000 drop --from 198.18.0.300/32
	expect_bad_guard "$bldg" policy udp 6000 drop --from 198.18.0.0/33
	expect_bad_guard "$bldg" policy udp 6000 drop --from 2001:db8::/129
	expect_bad_guard "$bldg" policy udp 6000 drop --from street
	expect_bad_guard "$bldg" policy udp 6000 drop --from
	# host bits set
	expect_bad_guard "$bldg" policy udp 6000 drop --from 198.18.0.1/24
	expect_bad_guard "$bldg" policy udp 6000 drop --from 2001:db8::1/64
	# ranges with one source: disjoint or nested, never partly overlapping
	expect_bad_guard "$bldg" policy udp 6005-6020 allow
	expect_bad_guard "$bldg" policy udp 5990-6000 allow
	finish
}

# Ranges with one source (and protocol) are disjoint or nested; ranges of
# other sources or of the other protocol may overlap anyhow.
case_overlap_rules() {
	local street bldg
	quiet_street street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" policy udp 6000-6010 drop
	pt "$bldg" policy udp 6005-6007 limit 100 --from 198.18.0.0/24
	pt "$bldg" policy tcp 100-200 drop
	# partly overlapping with the same source: refused
	expect_bad_guard "$bldg" policy udp 6005-6020 allow
	expect_bad_guard "$bldg" policy udp 5990-6000 allow
	expect_bad_guard "$bldg" policy udp 6007-6008 allow --from 198.18.0.0/24
	expect_bad_guard "$bldg" policy udp 6000-6005 drop --from 198.18.0.0/24
	expect_bad_guard "$bldg" policy tcp 150-250 drop-new
	expect_bad_guard "$bldg" policy tcp 0-100 drop-new
	# overlapping a rule of another source, or another protocol: accepted
	pt "$bldg" policy udp 6005-6020 allow --from 198.18.0.3
	pt "$bldg" policy udp 150-250 drop
	pt "$bldg" policy tcp 150-250 drop --from 198.18.0.0/24
	# nested or equal: accepted (equal replaces)
	pt "$bldg" policy udp 6005-6006 allow --from 198.18.0.0/24
	pt "$bldg" policy udp 6000-6010 allow
	pt "$bldg" policy tcp 0-65535 drop-new
	expect_json "$bldg" 'length' 8 policies
	expect_json "$bldg" '[.[] | select(.proto == "udp" and .port_lo == 6000 and .port_hi == 6010)] | map(.action) | join(",")' allow policies
	finish
}

case_bad_unpolicy_and_watch() {
	local street bldg
	quiet_street street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" policy udp 6000-6010 drop
	pt "$bldg" policy udp 6005 drop --from 198.18.0.3
	pt "$bldg" watch udp 5000
	# rules that do not exist: another port, range, source, protocol
	expect_bad_guard "$bldg" unpolicy udp 7000
	expect_bad_guard "$bldg" unpolicy udp 6000
	expect_bad_guard "$bldg" unpolicy udp 6000-6009
	expect_bad_guard "$bldg" unpolicy tcp 6000-6010
	expect_bad_guard "$bldg" unpolicy udp 6005
	expect_bad_guard "$bldg" unpolicy udp 6005 --from 198.18.0.4
	expect_bad_guard "$bldg" unpolicy udp 6000-6010 --from 198.18.0.3
	expect_bad_guard "$bldg" unpolicy udp 6000-6010 drop
	expect_bad_guard "$bldg" unpolicy udp 6005 --from 198.18.0.3/24
	# watch: ports
	expect_bad_guard "$bldg" watch udp 70000
	expect_bad_guard "$bldg" watch udp 90-80
	expect_bad_guard "$bldg" watch udp 65536
	expect_bad_guard "$bldg" watch udp -1
	expect_bad_guard "$bldg" watch udp x
	expect_bad_guard "$bldg" watch sctp 80
	expect_bad_guard "$bldg" watch udp
	expect_bad_guard "$bldg" watch udp 80 81
	expect_bad_guard "$bldg" unwatch udp 5001
	expect_bad_guard "$bldg" unwatch udp 70000
	# what was there still is, and still guards
	expect_json "$bldg" '[.[] | "\(.port_lo)-\(.port_hi) \(.action) \(.from)"] | sort | join(",")' \
		"6000-6010 drop any,6005-6005 drop 198.18.0.3/32" policies
	pt "$bldg" unpolicy udp 6005 --from 198.18.0.3/32
	pt "$bldg" unpolicy udp 6000-6010
	pt "$bldg" unwatch udp 5000
	expect_json "$bldg" 'length' 0 policies
	finish
}

case_bad_load_input() {
	local street bldg tmp sink id
	quiet_street street bldg
	casetmp tmp
	# not loaded yet: a rejected load loads nothing (the snapshots'
	# "not loaded" errors are expected)
	unloaded_bad "$bldg" load --xdp nosuch0
	unloaded_bad "$bldg" load --xdp lobby --xdp nosuch0
	unloaded_bad "$bldg" load --xdp lobby --xdp-mode bogus
	unloaded_bad "$bldg" load --xdp-mode skb
	expect_json "$bldg" '.loaded' false status
	expect_eq "$(xdp_prog_of "$bldg" lobby)" none "XDP program after rejected loads"
	# loaded: the guard stays as it was
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" policy udp 6000 drop
	id=$(pt "$bldg" --json status | jq -r '.xdp[0].prog_id')
	expect_bad_guard "$bldg" load --xdp nosuch0
	expect_bad_guard "$bldg" load --xdp lobby --xdp nosuch0
	expect_bad_guard "$bldg" load --xdp nosuch0 --xdp lobby
	expect_bad_guard "$bldg" load --xdp lobby --xdp-mode bogus
	expect_bad_guard "$bldg" load --xdp lobby --xdp-mode
	expect_bad_guard "$bldg" load --xdp-mode skb
	expect_bad_guard "$bldg" load --xdp-mode native
	expect_bad_guard "$bldg" load --xdp lobby --xdp lobby
	expect_bad_guard "$bldg" load --xdp aaaaaaaaaaaaaaaaaaaaaaaa
	expect_bad_guard "$bldg" load --xdp
	expect_guard "$bldg" lobby "$id" native "XDP program after rejected loads"
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000
	udp_send "$street" 198.18.0.2 6000 3
	wait_stat "$bldg" udp 6000 dropped 3
	expect_eq "$(sink_count "$tmp/rx" 6000)" 0 "received on 6000"
	finish
}

run_cases
