#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Port ranges and precedence: of the bindings that contain a packet's
# (protocol, destination, port), the narrowest port range wins, then the
# longest prefix. Every server answers with its service's name.
. "$(dirname "$0")/lib.sh"

# setup_services NS NAME...: one server per name (127.0.0.1 and [::1], port
# 3101, 3102, ...), registered as the service of that name.
setup_services() {
	local ns=$1 name pid port=3100
	shift
	for name in "$@"; do
		port=$((port + 1))
		pyserve pid "$ns" "$name" --v6only "127.0.0.1:$port" "[::1]:$port"
		pt "$ns" register "$name" --pid "$pid"
	done
}

# expect_winners NS "ADDR PORT WINNER"...: who answers there ("-" for
# refused: no binding, nothing listening).
expect_winners() {
	local ns=$1 spec addr port want got
	shift
	for spec in "$@"; do
		read -r addr port want <<<"$spec"
		got=$(ptnet "$ns" loop "$addr" "$port" 1 --timeout 2 | cut -d' ' -f2-)
		[ "$got" = "FAIL ECONNREFUSED" ] && got=-
		expect_eq "$got" "$want" "winner for $addr port $port" || return 1
	done
}

# addresses: 198.18.0.2 and .3 are in 198.18.0.0/24, 198.18.1.2 is not
hosts_up() {
	ip -n "$1" addr add 198.18.0.2/32 dev lo
	ip -n "$1" addr add 198.18.0.3/32 dev lo
	ip -n "$1" addr add 198.18.1.2/32 dev lo
	ip -n "$1" addr add 2001:db8::2/128 dev lo nodad
}

case_narrowest_range_then_longest_prefix() {
	local ns
	newns ns prec
	hosts_up "$ns"
	pt "$ns" load >/dev/null
	setup_services "$ns" a b c d e f g
	pt "$ns" bind tcp any 3000-3999 a
	pt "$ns" bind tcp 198.18.0.0/24 3000-3999 b
	pt "$ns" bind tcp any 3064 c
	pt "$ns" bind tcp 198.18.0.2/32 3000-3100 d
	# the whole port space on one host, with a narrower range and a port
	# nested in it on the same prefix
	pt "$ns" bind tcp 198.18.0.3/32 0-65535 e
	pt "$ns" bind tcp 198.18.0.3/32 5000-5099 f
	pt "$ns" bind tcp 198.18.0.3/32 5050 g
	expect_json "$ns" 'length' 7 bindings
	expect_winners "$ns" \
		"198.18.0.2 3064 c" "198.18.0.3 3064 c" "198.18.1.2 3064 c" "2001:db8::2 3064 c" \
		"198.18.0.2 3000 d" "198.18.0.2 3050 d" "198.18.0.2 3100 d" \
		"198.18.0.2 3101 b" "198.18.0.2 3500 b" "198.18.0.2 3999 b" \
		"198.18.0.3 3050 b" "198.18.0.3 3999 b" \
		"198.18.1.2 3000 a" "198.18.1.2 3050 a" "198.18.1.2 3999 a" "2001:db8::2 3050 a" \
		"198.18.0.2 2999 -" "198.18.0.2 4000 -" "198.18.1.2 4000 -" "2001:db8::2 4000 -" \
		"198.18.0.3 2999 e" "198.18.0.3 4000 e" "198.18.0.3 1 e" "198.18.0.3 65535 e" \
		"198.18.0.3 5000 f" "198.18.0.3 5099 f" "198.18.0.3 5100 e" "198.18.0.3 5050 g" \
		"198.18.0.2 5050 -" "198.18.1.2 5050 -"
	# a partial overlap on a different prefix is allowed, and the
	# narrower range wins where they meet
	pt "$ns" bind tcp 198.18.0.3/32 3950-4049 f
	expect_winners "$ns" "198.18.0.3 3949 b" "198.18.0.3 3950 f" "198.18.0.3 3999 f" \
		"198.18.0.3 4049 f" "198.18.0.3 4050 e" "198.18.0.2 3950 b" "198.18.1.2 3950 a"
}

case_rebind_moves_and_unbind_restores() {
	local ns
	newns ns rebind
	hosts_up "$ns"
	pt "$ns" load >/dev/null
	setup_services "$ns" a b c d
	pt "$ns" bind tcp any 3000-3999 a
	pt "$ns" bind tcp 198.18.0.0/24 3000-3999 b
	pt "$ns" bind tcp any 3064 c
	pt "$ns" bind tcp 198.18.0.2/32 3000-3100 d
	expect_winners "$ns" "198.18.0.2 3050 d" "198.18.0.2 3064 c"
	# an identical key rebinds: moves to the new service, no new binding
	# (a bare address is the host prefix: the same key)
	pt "$ns" bind tcp 198.18.0.2 3000-3100 c
	expect_json "$ns" 'length' 4 bindings
	expect_json "$ns" '.[] | select(.prefix == "198.18.0.2/32") | .service' c bindings
	expect_winners "$ns" "198.18.0.2 3050 c" "198.18.0.2 3101 b" "198.18.0.3 3050 b"
	# unbind restores the previous winner
	pt "$ns" unbind tcp 198.18.0.2/32 3000-3100
	expect_json "$ns" 'length' 3 bindings
	expect_winners "$ns" "198.18.0.2 3050 b" "198.18.0.2 3064 c"
	pt "$ns" unbind tcp any 3064
	expect_winners "$ns" "198.18.0.2 3064 b" "198.18.1.2 3064 a" "2001:db8::2 3064 a"
	pt "$ns" unbind tcp 198.18.0.0/24 3000-3999
	expect_winners "$ns" "198.18.0.2 3064 a" "198.18.0.3 3500 a"
	pt "$ns" unbind tcp any 3000-3999
	expect_json "$ns" 'length' 0 bindings
	expect_winners "$ns" "198.18.0.2 3064 -" "198.18.1.2 3500 -"
}

case_families_and_default_routes() {
	local ns
	newns ns fam
	hosts_up "$ns"
	ip -n "$ns" addr add 2001:db8:0:1::2/128 dev lo nodad
	ip -n "$ns" addr add 2001:db8::3/128 dev lo nodad
	pt "$ns" load >/dev/null
	setup_services "$ns" a b c d e f
	pt "$ns" bind tcp any 3000-3999 a
	# a family's whole space is more specific than `any`
	pt "$ns" bind tcp 0.0.0.0/0 3000-3999 b
	pt "$ns" bind tcp 2001:db8::/32 3000-3999 c
	pt "$ns" bind tcp 2001:db8:0:1::/64 3000-3999 d
	pt "$ns" bind tcp 2001:db8::2/128 3000-3100 e
	# another family's prefix never matches, however narrow
	pt "$ns" bind tcp ::/0 3500 f
	expect_winners "$ns" "198.18.0.2 3050 b" "198.18.1.2 3999 b" "198.18.0.2 3500 b" \
		"2001:db8::2 3050 e" "2001:db8::2 3101 c" "2001:db8::3 3050 c" \
		"2001:db8:0:1::2 3050 d" "2001:db8::2 3500 f" "2001:db8:0:1::2 3500 f" \
		"::1 3050 a" "::1 3500 f" "127.0.0.1 3500 b" "2001:db8::2 4000 -"
	# `any` and ::/0 are different prefixes: a partial overlap is allowed
	pt "$ns" bind tcp ::/0 3990-4010 d
	expect_winners "$ns" "2001:db8::3 3995 d" "2001:db8::3 4010 d" "::1 3990 d" \
		"2001:db8::3 3989 c" "198.18.0.2 3995 b" "198.18.0.2 4005 -"
}

case_partial_overlap_on_one_prefix_refused() {
	local ns
	newns ns overlap
	hosts_up "$ns"
	pt "$ns" load >/dev/null
	setup_services "$ns" a b c
	pt "$ns" bind tcp any 3000-3999 a
	pt "$ns" bind tcp 198.18.0.0/24 3000-3999 b
	pt "$ns" bind tcp 198.18.0.0/24 3100-3199 c
	expect_bad "$ns" bind tcp 198.18.0.0/24 3500-4500 c
	expect_bad "$ns" bind tcp 198.18.0.0/24 2500-3000 c
	expect_bad "$ns" bind tcp 198.18.0.0/24 3150-3250 a
	expect_bad "$ns" bind tcp any 3999-4000 c
	expect_bad "$ns" bind tcp any 0-3000 c
	expect_json "$ns" 'length' 3 bindings
	expect_winners "$ns" "198.18.0.2 3999 b" "198.18.0.2 4000 -" "198.18.0.2 3150 c" \
		"198.18.1.2 3000 a"
	# nested and disjoint ranges on one prefix are fine, and so is the
	# same range on another protocol
	pt "$ns" bind tcp 198.18.0.0/24 3100-3100 a
	pt "$ns" bind tcp 198.18.0.0/24 4000-4999 a
	pt "$ns" bind udp 198.18.0.0/24 3500-4500 c
	expect_json "$ns" 'length' 6 bindings
	expect_winners "$ns" "198.18.0.2 3100 a" "198.18.0.2 3101 c" "198.18.0.2 4500 a"
}

case_wide_range_costs_few_map_entries() {
	local ns dir n
	newns ns wide
	hosts_up "$ns"
	pt "$ns" load >/dev/null
	setup_services "$ns" a b
	pt "$ns" bind tcp any 1-65534 a
	pt "$ns" bind udp 198.18.0.0/24 0-65535 b
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	# the per-port table is a fixed array (2 generations x 2 protocols x
	# 65536 ports) whatever the rules; what a range adds is LPM entries: one
	# per family and class, the classes cut at 1024 and 49152 -- not one
	# per port
	n=$(bpftool -j map show pinned "$dir/port_table" | jq .max_entries)
	expect_eq "$n" 262144 "port_table size"
	n=$(bpftool -j map dump pinned "$dir/bind_lpm" | jq length)
	[ "$n" -le 16 ] || fail "bind_lpm holds $n entries for two wide ranges, expected <= 16"
	n=$(bpftool -j map dump pinned "$dir/policy_lpm" | jq length)
	expect_eq "$n" 0 "policy_lpm entries without source-scoped policies"
	# one counter row per wide range, not one per port
	expect_json "$ns" '.ports | map("\(.proto) \(.port)-\(.port_hi)") | join(",")' \
		"tcp 1-65534,udp 0-65535" stats
	expect_winners "$ns" "198.18.0.2 1 a" "198.18.1.2 40000 a" "2001:db8::2 65534 a" \
		"198.18.0.2 65535 -"
	expect_eq "$(stat_of "$ns" tcp 1 steered)" 3 "tcp 1-65534 steered"
}

run_cases
