# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Control plane, sourced by bench/section.sh, in a namespace of its own:
#  - bindings added per second by `portier apply` (100,000 bindings on an
#    empty state, hyperfine with the empty state restored before each run),
#    and what one `portier bind` costs with those 100,000 in place;
#  - `portier --json stats` with 8,192 watched ports, against
#    `portier --json status` (the same process start and map opening,
#    without the counters);
#  - the kernel memory of all maps at 8,192 watched ports as `status`
#    reports it, with each map's memlock (bpftool) for the formula.

# hyperfine_median OUTJSON: the median time of its first command, seconds.
hyperfine_median() { jq -r '.results[0].median' "$1"; }

bench_control() {
	local ns dir m pin possible
	bench_ns ns control || return 1
	"$PORTIER" --netns "$ns" load >/dev/null || return 1
	dir=$("$PORTIER" --netns "$ns" --json status | jq -r .pin_dir) || return 1

	# apply: 100,000 bindings onto a state that has only the service
	gen_bindings 100000 "$BENCH_TMP/full.conf" >/dev/null
	echo "service add bench" >"$BENCH_TMP/base.conf"
	log "apply: 100,000 bindings, $APPLY_RUNS runs"
	hyperfine -N --style none --runs "$APPLY_RUNS" --export-json "$BENCH_TMP/apply.json" \
		--prepare "$PORTIER --netns $ns apply $BENCH_TMP/base.conf" \
		"$PORTIER --netns $ns apply $BENCH_TMP/full.conf" >/dev/null || return 1
	record control.apply.bindings 100000
	record control.apply.seconds "$(hyperfine_median "$BENCH_TMP/apply.json")"
	# one more binding, the way an operator adds one, with 100,000 in place
	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/full.conf" >/dev/null || return 1
	"$PORTIER" --netns "$ns" bind tcp 198.19.0.1 20000 bench >/dev/null || return 1
	hyperfine -N --style none --runs "$APPLY_RUNS" --export-json "$BENCH_TMP/bind1.json" \
		--prepare "$PORTIER --netns $ns unbind tcp 198.19.0.1 20000" \
		"$PORTIER --netns $ns bind tcp 198.19.0.1 20000 bench" >/dev/null || return 1
	record control.bind1.seconds "$(hyperfine_median "$BENCH_TMP/bind1.json")"

	# stats over 8,192 watched ports
	printf 'service add bench\nwatch udp 20000-28191\n' >"$BENCH_TMP/watch.conf"
	"$PORTIER" --netns "$ns" apply "$BENCH_TMP/watch.conf" >/dev/null || return 1
	record control.stats.ports "$("$PORTIER" --netns "$ns" --json stats | jq '.ports | length')"
	log "stats --json over 8,192 watched ports, $STATS_RUNS runs"
	hyperfine -N --style none --warmup 2 --runs "$STATS_RUNS" --export-json "$BENCH_TMP/stats.json" \
		"$PORTIER --netns $ns --json stats" "$PORTIER --netns $ns --json status" \
		>/dev/null || return 1
	record control.stats.seconds "$(jq -r '.results[0].median' "$BENCH_TMP/stats.json")"
	record control.status.seconds "$(jq -r '.results[1].median' "$BENCH_TMP/stats.json")"

	# memory at 8,192 watched ports
	record mem.map_bytes "$("$PORTIER" --netns "$ns" --json status | jq .map_bytes)"
	possible=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-");
		n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' /sys/devices/system/cpu/possible)
	record mem.possible_cpus "$possible"
	for pin in "$dir"/*; do
		m=${pin##*/}
		case $m in *_prog | *_link) continue ;; esac
		record "mem.map.$m" "$(bpftool -j map show pinned "$pin" | jq .bytes_memlock)"
	done
	# what each possible CPU costs: the per-CPU arrays' values, once per CPU
	record mem.per_cpu_bytes "$(for m in port_stats global_stats; do
		bpftool -j map show pinned "$dir/$m" | jq '.bytes_value * .max_entries'
	done | awk '{ n += $1 } END { print n }')"
	bench_ns_del "$ns"
}
