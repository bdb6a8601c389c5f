#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# status's map memory: what the maps hold and what they can grow to. From
# 6.4 on the kernel counts it (fdinfo memlock); before, that figure is
# round_up(max_entries x round8(key + value), page) whatever a map holds,
# and portier computes the memory the way 6.4 and later count it.
. "$(dirname "$0")/lib.sh"

# mem NS: "used from kernel computed max" from status --json.
mem() {
	pt "$1" --json status | jq -r '"\(.map_bytes) \(.map_bytes_from) \(.map_bytes_kernel) \(.map_bytes_computed) \(.map_bytes_max)"'
}

# old_memlock NS: the sum over the pinned maps of what a kernel before 6.4
# says: round_up(max_entries x round8(key + value), 4096), the value of a
# per-CPU array counted once per possible CPU.
old_memlock() {
	local dir m sum=0 v cpus
	dir=$(pt "$1" --json status | jq -r .pin_dir)
	cpus=$(pt "$1" status | sed -n 's/^map memory: .*, \([0-9]*\) CPUs;.*/\1/p')
	for m in "$dir"/*; do
		# (a program's or link's pin answers {"error": ...})
		v=$(bpftool -j map show pinned "$m" 2>/dev/null | jq -r --argjson c "$cpus" 'select(.max_entries) |
			(if .type == "percpu_array" then $c else 1 end) as $n |
			(((.bytes_key + .bytes_value * $n + 7) / 8 | floor) * 8 * .max_entries + 4095) / 4096 | floor * 4096') || continue
		[ -n "$v" ] && sum=$((sum + v))
	done
	echo "$sum"
}

# pin_map_ids NS: the ids of the maps pinned for NS, as a JSON array.
pin_map_ids() {
	local dir m
	dir=$(pt "$1" --json status | jq -r .pin_dir)
	for m in "$dir"/*; do
		bpftool -j map show pinned "$m" 2>/dev/null | jq -r '.id // empty'
	done | jq -s -c .
}

# check NS WHAT: the figures agree with this kernel's way of counting.
check() {
	local used from kern comp max rel
	read -r used from kern comp max <<<"$(mem "$1")"
	rel=$(uname -r)
	if [ "$(printf '%s\n' "$rel" 6.4 | sort -V | head -1)" = 6.4 ]; then
		expect_eq "$from" kernel "$2: map_bytes_from" || return 1
		expect_eq "$used" "$kern" "$2: map_bytes (the kernel's count)" || return 1
		# the computation is the kernel's, to the byte
		expect_eq "$comp" "$kern" "$2: map_bytes_computed against the kernel's count on $rel" || return 1
	else
		expect_eq "$from" computed "$2: map_bytes_from" || return 1
		expect_eq "$used" "$comp" "$2: map_bytes (computed)" || return 1
		# the kernel's figure is the old estimate, not what the maps hold
		expect_eq "$kern" "$(old_memlock "$1")" "$2: the kernel's memlock on $rel" || return 1
		[ "$used" -lt "$kern" ] || fail "$2: computed $used, not below the kernel's estimate $kern"
	fi
	[ "$used" -le "$max" ] || fail "$2: used $used above the bound $max"
}

case_map_memory_counts_what_maps_hold() {
	local ns base grown max i
	newns ns bldg
	pt "$ns" load >/dev/null
	check "$ns" "empty"
	read -r base _ _ _ max <<<"$(mem "$ns")"
	# per-CPU counters and fixed arrays dominate an empty state: on 64
	# CPUs (each per-CPU array's values 62 more times) under 64 MiB
	local cpus percpu
	cpus=$(pt "$ns" status | sed -n 's/^map memory: .*, \([0-9]*\) CPUs;.*/\1/p')
	percpu=$(bpftool -j map show | jq -s --argjson ids "$(pin_map_ids "$ns")" \
		'[.[] | .[]? // . | select(.type == "percpu_array" and (.id as $i | $ids | index($i))) |
		  .max_entries * (((.bytes_value + 7) / 8 | floor) * 8)] | add')
	[[ $percpu =~ ^[0-9]+$ ]] && [ "$percpu" -gt 0 ] || fail "per-CPU arrays: '$percpu' bytes per CPU"
	[ "$((base + (64 - cpus) * percpu))" -lt $((64 * 1024 * 1024)) ] ||
		fail "an empty state holds $base bytes on $cpus CPUs, $((base + (64 - cpus) * percpu)) on 64"
	echo "# an empty state: $base bytes on $cpus CPUs, $((base + (64 - cpus) * percpu)) on 64"
	pt "$ns" watch udp 20000-28191
	pt "$ns" service add irene
	for ((i = 1; i <= 10; i++)); do
		pt "$ns" bind tcp "198.18.0.$i" 80 irene
	done
	pt "$ns" policy tcp 3000 drop --from 198.18.0.0/16
	check "$ns" "8,192 watched ports, 10 bindings, a --from rule"
	read -r grown _ _ _ _ <<<"$(mem "$ns")"
	[ "$grown" -gt "$base" ] || fail "the memory did not grow with the entries: $base, then $grown"
	expect_json "$ns" .map_bytes_max "$max" status
	[[ $(pt "$ns" status) == *"map memory:  "*" MiB ($grown bytes, "*" CPUs; "*"), at most "*" MiB when every map is full"* ]] ||
		fail "status text: $(pt "$ns" status | grep 'map memory')"
	finish
}

run_cases
