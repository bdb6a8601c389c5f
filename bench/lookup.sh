# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Lookup cost per sk_lookup run, sourced by bench/section.sh. portier is
# loaded in a namespace of its own; `portier apply` installs 10, 1,000 and
# 100,000 bindings in turn (all to one service holding a real listening
# socket), and ptbench test-runs the pinned dispatcher, which shares the
# pinned maps, with a struct bpf_sk_lookup for one bound address and port,
# against an empty sk_lookup program. Then, for the breakdown: the same
# lookup when the service holds no socket, an unbound port, and the socket
# step alone from a SOCKHASH and from a SOCKMAP (bench/sockpick.bpf.c).

bench_lookup() {
	local ns srv dir n mid st
	bench_ns ns lookup || return 1
	"$PORTIER" --netns "$ns" load >/dev/null || return 1
	dir=$("$PORTIER" --netns "$ns" --json status | jq -r .pin_dir) || return 1
	bench_spawn srv "$ns" "$BENCH_OUT/connload" tcp-server 127.0.0.1:8080 --lifetime 600
	wait_listen "$ns" tcp 8080 || return 1
	for n in 10 1000 100000; do
		mid=$(gen_bindings "$n" "$BENCH_TMP/bind$n.conf")
		"$PORTIER" --netns "$ns" apply "$BENCH_TMP/bind$n.conf" >/dev/null || return 1
		"$PORTIER" --netns "$ns" register bench --pid "$srv" >/dev/null || return 1
		st=$("$PORTIER" --netns "$ns" --json status) || return 1
		record "lookup.$n.bindings" "$(jq -r .bindings <<<"$st")"
		log "$n bindings: test-running the dispatcher on $mid, $LOOKUP_ROUNDS rounds"
		in_ns "$ns" "$BENCH_OUT/ptbench" lookup-cost --prog-pin "$dir/dispatch_prog" \
			--empty "$BENCH_OUT/empty_sklookup.bpf.o" --dst "$mid" --tag "$n" \
			--rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
		# the same lookup, bound, but the service holds no socket: the
		# two LPM lookups without the socket step
		"$PORTIER" --netns "$ns" unregister bench >/dev/null || return 1
		in_ns "$ns" "$BENCH_OUT/ptbench" lookup-cost --prog-pin "$dir/dispatch_prog" \
			--empty "$BENCH_OUT/empty_sklookup.bpf.o" --dst "$mid" --tag "nosock.$n" \
			--rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	done
	# an unbound port: what every other connection in the namespace pays
	in_ns "$ns" "$BENCH_OUT/ptbench" lookup-cost --prog-pin "$dir/dispatch_prog" \
		--empty "$BENCH_OUT/empty_sklookup.bpf.o" --dst 198.18.0.1:9 --tag unbound \
		--rounds "$LOOKUP_ROUNDS" >>"$BENCH_RESULTS" || return 1
	# the socket step alone: a SOCKHASH (as svc_socks) against a SOCKMAP
	in_ns "$ns" "$BENCH_OUT/ptbench" sock-cost --obj "$BENCH_OUT/sockpick.bpf.o" \
		--empty "$BENCH_OUT/empty_sklookup.bpf.o" --rounds "$LOOKUP_ROUNDS" \
		>>"$BENCH_RESULTS" || return 1
	bench_kill "$srv"
	bench_ns_del "$ns"
}
