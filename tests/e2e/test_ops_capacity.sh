#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The binding capacity: `load --max-bindings N` sizes the binding maps
# (bind_table: 2 N entries; bind_lpm: 4 N; bind_host: two halves of
# ceil(2 N / 7) buckets of four ways) before the objects
# load, and the pinned maps' own size records it for every later command.
# A bad N is refused with nothing made; a bind or apply past N is refused
# with the state unchanged and the bindings within N still steering; status
# shows N and what its maps cost; a load asking another N of a loaded state
# is refused (its maps keep their size) and one asking none keeps it; an
# upgrade and a guard reuse the pinned maps at their size.
. "$(dirname "$0")/lib.sh"

LIMIT=4194304

# entries NS MAP: max_entries of a pinned map, as the kernel reports it.
entries() {
	bpftool -j map show pinned "$(pt "$1" --json status | jq -r .pin_dir)/$2" | jq .max_entries
}

# host_slots NS: bind_host's slots in use (a tag), both halves
host_slots() {
	bpftool -j map dump pinned "$(pt "$1" --json status | jq -r .pin_dir)/bind_host" |
		jq '[.[].formatted.value.way[] | select(.tag != 0)] | length'
}

# small NS N: load NS with room for N bindings, a server (irene, on
# 127.0.0.1:3003, registered) and its service; the address 198.18.0.2.
small() {
	local srv
	ip -n "$1" addr add 198.18.0.2/32 dev lo
	pt "$1" load --max-bindings "$2" >/dev/null
	serve srv "$1" tcp 127.0.0.1 3003 irene
	wait_listen "$1" tcp 3003
	pt "$1" service add irene
	pt "$1" register irene --pid "$srv"
}

case_bad_values_refused_nothing_made() {
	local ns v err rc
	newns ns cap
	for v in 0 -1 abc 12x 1e6 "" " 5" 4194305 99999999999 18446744073709551617; do
		rc=0
		err=$(pt "$ns" load --max-bindings "$v" 2>&1 >/dev/null) || rc=$?
		expect_eq "$rc" 2 "load --max-bindings '$v': exit status"
		expect_eq "$err" "portier: load: --max-bindings $v: not a whole number from 1 to $LIMIT" \
			"load --max-bindings '$v': stderr"
	done
	rc=0
	err=$(pt "$ns" load --max-bindings 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "load --max-bindings without a value: exit status"
	expect_eq "$(pt "$ns" status)" "loaded:      no (network namespace $(stat -L -c %i "/run/netns/$ns"))" \
		"nothing loaded by a refused load"
	expect_eq "$(find /sys/fs/bpf/portier -maxdepth 1 -name "$(stat -L -c %i "/run/netns/$ns")*" | wc -l)" 0 \
		"no pins made"
}

case_default_capacity() {
	local ns
	newns ns cap
	pt "$ns" load >/dev/null
	expect_json "$ns" .max_bindings 131072 status
	expect_eq "$(entries "$ns" bind_table)" 262144 "bind_table's size"
	expect_eq "$(entries "$ns" bind_host)" 74900 "bind_host's size (2 x 37,450 buckets)"
	expect_eq "$(entries "$ns" bind_lpm)" 524288 "bind_lpm's size"
	[[ $(pt "$ns" status | grep '^bindings:') == "bindings:    0 of at most 131072 (load --max-bindings); their maps: "*" MiB, "*" MiB when full" ]] ||
		fail "status's bindings line: $(pt "$ns" status | grep '^bindings:')"
}

case_bind_and_apply_past_capacity_refused() {
	local ns tmp before sum
	newns ns cap
	casetmp tmp
	small "$ns" 3
	expect_json "$ns" .max_bindings 3 status
	expect_eq "$(entries "$ns" bind_table)" 6 "bind_table's size"
	expect_eq "$(entries "$ns" bind_host)" 2 "bind_host's size (2 x 1 bucket)"
	expect_eq "$(entries "$ns" bind_lpm)" 12 "bind_lpm's size"
	# the JSON's binding maps are the three maps' own memory, summed
	sum=0
	for m in bind_table bind_lpm bind_host; do
		sum=$((sum + $(bpftool -j map show pinned "$(pt "$ns" --json status | jq -r .pin_dir)/$m" | jq .bytes_memlock)))
	done
	[ "$(uname -r | cut -d. -f1)" -lt 6 ] || expect_json "$ns" .binding_map_bytes "$sum" status
	pt "$ns" bind tcp 198.18.0.2/32 80 irene
	pt "$ns" bind tcp 198.18.0.2/32 81 irene
	pt "$ns" bind tcp any 82 irene
	expect_eq "$(pt "$ns" status | grep -c '^bindings:    3 of at most 3 ')" 1 "status: 3 of 3"
	# the fourth: refused, one line, exit 2, nothing changed
	expect_bad "$ns" bind tcp 198.18.0.2/32 83 irene
	expect_eq "$(pt_err "$ns" bind tcp 198.18.0.2/32 83 irene)" \
		"portier: bind: at most 3 bindings, the capacity this state was loaded with (load --max-bindings)" \
		"bind past the capacity"
	# replacing one binding's service is no new binding: allowed
	pt "$ns" bind tcp any 82 irene
	# apply: a file of four bindings is refused at the fourth's line
	printf 'service add irene\nbind tcp 198.18.0.2/32 80 irene\nbind tcp 198.18.0.2/32 81 irene\nbind tcp any 84 irene\nbind tcp any 85 irene\n' >"$tmp/four.conf"
	before=$(pt "$ns" --json dump)
	expect_bad "$ns" apply "$tmp/four.conf"
	expect_eq "$(pt_err "$ns" apply "$tmp/four.conf")" "portier: $tmp/four.conf:5:1: more than 3 bindings" \
		"apply past the capacity"
	expect_eq "$(pt "$ns" --json dump)" "$before" "the dump after the refused apply"
	expect_json "$ns" .config.applied_error 2 status
	expect_json "$ns" .config.applied_ok 0 status
	# the bindings in place still steer
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" irene "port 80 after the refusals"
	expect_eq "$(tcp_get "$ns" 198.18.0.2 82)" irene "port 82 (any) after the refusals"
	# a file of three, another three: applied whole
	sed -i '$d' "$tmp/four.conf"
	pt "$ns" apply "$tmp/four.conf" >/dev/null
	expect_json "$ns" .bindings 3 status
	expect_eq "$(tcp_get "$ns" 198.18.0.2 84)" irene "port 84 after the apply"
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:82
}

case_load_with_another_capacity_refused() {
	local ns dir ids before err rc
	newns ns cap
	small "$ns" 3
	pt "$ns" bind tcp 198.18.0.2/32 80 irene
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	ids=$(for m in bind_table bind_lpm bind_host config; do bpftool -j map show pinned "$dir/$m" | jq .id; done)
	before=$(pt "$ns" --json dump)
	# the same capacity, or none: already loaded, the capacity kept
	expect_eq "$(pt "$ns" load --max-bindings 3)" "already loaded: $dir" "load --max-bindings 3 again"
	expect_eq "$(pt "$ns" load)" "already loaded: $dir" "load without --max-bindings"
	expect_json "$ns" .max_bindings 3 status
	# another: refused, the maps and the state as they were
	rc=0
	err=$(pt "$ns" load --max-bindings 4 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "load --max-bindings 4: exit status"
	expect_eq "$err" "portier: load: --max-bindings 4: the state in $dir was loaded for 3 bindings and its maps keep that size: 'portier unload' (this drops the configuration) and load again to change it" \
		"load --max-bindings 4: stderr"
	expect_eq "$(for m in bind_table bind_lpm bind_host config; do bpftool -j map show pinned "$dir/$m" | jq .id; done)" \
		"$ids" "the pinned maps after the refused load"
	expect_eq "$(pt "$ns" --json dump)" "$before" "the state after the refused load"
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" irene "port 80 after the refused load"
	# the remedy the line names
	pt "$ns" unload >/dev/null
	pt "$ns" load --max-bindings 4 >/dev/null
	expect_json "$ns" .max_bindings 4 status
	expect_eq "$(entries "$ns" bind_table)" 8 "bind_table's size after unload and load"
	expect_json "$ns" .bindings 0 status
}

case_upgrade_and_guard_keep_capacity() {
	local ns street dir
	newns ns cap
	newns street street
	veth_pair "$street" door 198.18.0.1/24 "$ns" lobby 198.18.0.2/24
	small "$ns" 5
	pt "$ns" load --xdp lobby >/dev/null
	pt "$ns" bind tcp 198.18.0.2/32 80 irene
	expect_eq "$(tcp_get "$street" 198.18.0.2 80)" irene "port 80 through the guard"
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	# another build: the programs replaced, the maps (at their size) kept
	"$E2E_HELPERS/fake_build.sh" "$dir" 0x1
	expect_eq "$(pt "$ns" load)" "upgraded: programs replaced, maps kept, in $dir" "load of another build"
	expect_json "$ns" .max_bindings 5 status
	expect_json "$ns" .build_current true status
	expect_json "$ns" '.xdp[0].attached' true status
	expect_eq "$(entries "$ns" bind_lpm)" 20 "bind_lpm's size after the upgrade"
	expect_eq "$(tcp_get "$street" 198.18.0.2 80)" irene "port 80 after the upgrade"
	expect_json "$ns" .bindings 1 status
}

# A file of 20,000 host bindings and one of each other kind: above the
# size at which a commit writes its largest map on a second thread (and
# deletes it so), below the default capacity. Every binding is written:
# each of the 20,000 addresses answers; the state apply records is the
# one status reads back (in sync); removing them leaves none.
case_many_bindings_written_and_removed_whole() {
	local ns tmp srv a
	newns ns cap
	casetmp tmp
	ip -n "$ns" addr add 198.18.0.0/17 dev lo
	pt "$ns" load >/dev/null
	serve srv "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	{
		echo 'service add irene --desc "the \"many\" test"'
		echo 'service add bob'
		awk 'BEGIN { for (i = 1; i <= 20000; i++)
			printf "bind tcp 198.18.%d.%d 80 irene\n", int(i / 256), i % 256 }'
		echo 'bind tcp 198.18.64.0/18 80 bob'
		echo 'bind udp any 53 bob'
		echo 'bind tcp 2001:db8::/64 1000-2000 irene'
		echo 'bind tcp 2001:db8::1 1500 bob'
		echo 'policy tcp 22 drop-new --from 198.51.100.0/24'
		echo 'policy udp 53 limit 1000'
		echo 'watch tcp 8000-8010'
	} >"$tmp/many.conf"
	pt "$ns" apply "$tmp/many.conf" >/dev/null 2>&1
	pt "$ns" register irene --pid "$srv"
	expect_json "$ns" .bindings 20004 status
	expect_json "$ns" .config.in_sync true status
	expect_eq "$(pt "$ns" --json bindings | jq '[.[] | select(.service == "irene" and .port_lo == 80 and .port_hi == 80)] | length')" \
		20000 "irene's port-80 bindings read back"
	# each in bind_host's live half once (the idle half cleared), none
	# left out of it: 2001:db8::1 port 1500 is the 20,001st
	expect_eq "$(host_slots "$ns")" 20001 "bind_host's slots in use"
	for a in 198.18.0.1 198.18.39.16 198.18.78.32; do
		expect_eq "$(tcp_get "$ns" "$a" 80)" irene "$a:80"
	done
	# 198.18.78.33 is no host binding: the /18 of bob (no socket), refused
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.78.33:80
	expect_json "$ns" '.ports[] | select(.proto == "tcp" and .port == 80) | .no_socket' 1 stats
	printf 'service add irene --desc "the \\"many\\" test"\nservice add bob\n' >"$tmp/none.conf"
	pt "$ns" apply "$tmp/none.conf" >/dev/null
	expect_json "$ns" .bindings 0 status
	expect_json "$ns" .config.in_sync true status
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.1:80
	# and the maps hold nothing of them in either generation
	expect_eq "$(host_slots "$ns")" 0 "bind_host slots left in either half"
	expect_eq "$(bpftool -j map dump pinned "$(pt "$ns" --json status | jq -r .pin_dir)/bind_table" | jq length)" 0 \
		"bind_table entries left"
}

run_cases
