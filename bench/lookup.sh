# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Lookup cost per sk_lookup run, sourced by bench/section.sh. For each size
# N of LOOKUP_SIZES (default 10 1000 100000 1000000), portier is loaded in a
# namespace of its own and `portier apply` installs N TCP bindings there,
# all of one kind (host bindings: exact addresses, bind_host, the same port
# flags at every size), to one service holding a real listening socket.
# ptbench then test-runs every namespace's pinned dispatcher (which shares
# its pinned maps) with a struct bpf_sk_lookup for the binding in the
# middle, against an empty sk_lookup program, all sizes interleaved in the
# same LOOKUP_ROUNDS rounds, so that flatness is the median of per-round
# ratios and measures the size and nothing else. DISPATCH_VARIANTS="NAME=OBJ
# ...": other builds of the dispatcher (same map layout), timed side by
# side with it in the same rounds. Then, for the breakdown: the same
# lookups when the service holds no socket, an unbound port, the socket
# step alone from a SOCKHASH and from a SOCKMAP (bench/sockpick.bpf.c), and
# the host-binding hash look-up alone with a 24-, 12- and 8-byte key
# (bench/hostkey.bpf.c).
#
# A size above the compiled binding capacity (PT_MAX_BINDINGS) is loaded
# with `portier load --max-bindings N`.

# port_flags DIR ADDR:PORT: the live port_table flags of TCP PORT in the
# portier state pinned in DIR (enum pt_port_flags: 1 bound, 4 host
# bindings, 8 shorter prefixes), to show every size takes the same path.
port_flags() {
	local gen idx port=${2##*:}
	gen=$(bpftool -j map dump pinned "$1/config" | jq '.[0].formatted.value.gen') || return 1
	idx=$(((gen & 1) * 2 * 65536 + port)) # PT_PORT_INDEX(gen, PT_TCP, port)
	bpftool -j map lookup pinned "$1/port_table" \
		key $((idx & 255)) $(((idx >> 8) & 255)) $(((idx >> 16) & 255)) 0 |
		jq '.formatted.value.flags'
}

bench_lookup() {
	local sizes n ns dir mid srv cap last="" cases=() nosock=() variants=() load v
	read -r -a sizes <<<"${LOOKUP_SIZES:-10 1000 100000 1000000}"
	cap=$(awk '$1 == "#define" && $2 == "PT_MAX_BINDINGS" { print $3 }' include/portier.h)
	record lookup.sizes "${sizes[*]}"
	for n in "${sizes[@]}"; do
		[[ $n =~ ^[1-9][0-9]*$ ]] || { log "bad LOOKUP_SIZES entry $n"; return 1; }
		bench_ns ns "lookup$n" || return 1
		load=(load)
		[ -n "$cap" ] && [ "$n" -gt "$cap" ] && load+=(--max-bindings "$n")
		"$PORTIER" --netns "$ns" "${load[@]}" >/dev/null || return 1
		dir=$("$PORTIER" --netns "$ns" --json status | jq -r .pin_dir) || return 1
		bench_spawn srv "$ns" "$BENCH_OUT/connload" tcp-server 127.0.0.1:8080 --lifetime 600
		wait_listen "$ns" tcp 8080 || return 1
		mid=$(gen_bindings "$n" "$BENCH_TMP/bind$n.conf")
		"$PORTIER" --netns "$ns" apply "$BENCH_TMP/bind$n.conf" >/dev/null || return 1
		"$PORTIER" --netns "$ns" register bench --pid "$srv" >/dev/null || return 1
		record "lookup.$n.bindings" "$("$PORTIER" --netns "$ns" --json status | jq -r .bindings)"
		record "lookup.$n.port_flags" "$(port_flags "$dir" "$mid")"
		cases+=(--case "$n=$dir,$mid")
		nosock+=(--case "nosock.$n=$dir,$mid")
		last=$dir
	done
	# an unbound port: what every other connection in a namespace pays
	nosock+=(--case "unbound=$last,198.18.0.1:9")
	for v in ${DISPATCH_VARIANTS:-}; do
		variants+=(--variant "$v")
	done
	log "sizes ${sizes[*]}: test-running the dispatchers, $((${#variants[@]} / 2)) variants," \
		"$LOOKUP_ROUNDS rounds"
	"$BENCH_OUT/ptbench" lookup-cost --empty "$BENCH_OUT/empty_sklookup.bpf.o" \
		"${cases[@]}" "${variants[@]}" --rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	# the same lookups, bound, but the service holds no socket: all but
	# the socket step
	for n in "${sizes[@]}"; do
		"$PORTIER" --netns "$BENCH_TAG-lookup$n" unregister bench >/dev/null || return 1
	done
	"$BENCH_OUT/ptbench" lookup-cost --empty "$BENCH_OUT/empty_sklookup.bpf.o" \
		"${nosock[@]}" "${variants[@]}" --rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	# the socket step alone: a SOCKHASH against a SOCKMAP (as svc_socks)
	in_ns "$BENCH_TAG-lookup${sizes[0]}" "$BENCH_OUT/ptbench" sock-cost \
		--obj "$BENCH_OUT/sockpick.bpf.o" --empty "$BENCH_OUT/empty_sklookup.bpf.o" \
		--rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	# the host-binding look-up alone, by the size of its key
	"$BENCH_OUT/ptbench" hostkey-cost --obj "$BENCH_OUT/hostkey.bpf.o" \
		--empty "$BENCH_OUT/empty_sklookup.bpf.o" --rounds "$LOOKUP_ROUNDS" \
		>>"$BENCH_RESULTS" || return 1
}
