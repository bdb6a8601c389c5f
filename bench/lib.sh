# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The benchmark library, sourced by bench/run.sh and bench/section.sh.
# Every namespace a section makes (bench_ns) and every process it starts
# (bench_spawn) is recorded and removed by bench_cleanup, which
# section.sh calls from its EXIT trap; the namespaces are also listed in
# $BENCH_TMP/ns.list, so run.sh removes them even after a section was
# killed. Traffic stays on loopback and on the veth pairs between the
# benchmark's own namespaces (198.18.0.0/15); nothing here touches the
# root namespace's interfaces or firewall.

BENCH_TAG=${BENCH_TAG:-ptb$$}
_BENCH_NS=()
_BENCH_PIDS=()

log() { printf '  %-8s %s\n' "${BENCH_SECTION:-bench}" "$*" >&2; }

# record KEY VALUE: one measured figure, read by bench/report.py.
record() { printf '%s %s\n' "$1" "$2" >>"$BENCH_RESULTS"; }

# bench_ns VAR NAME: make namespace NAME (prefixed with the run's tag), lo up.
bench_ns() {
	local __ns="$BENCH_TAG-$2"
	ip netns add "$__ns" || return 1
	_BENCH_NS+=("$__ns")
	# shellcheck disable=SC2153 # set and exported by run.sh
	echo "$__ns" >>"$BENCH_TMP/ns.list"
	ip -n "$__ns" link set lo up
	printf -v "$1" '%s' "$__ns"
}

# bench_pair NAME L [QUEUES]: a generator namespace NAMEgen and a receiver
# NAMErx joined by a veth pair ${BENCH_TAG}La (198.18.0.1) - ${BENCH_TAG}Lb
# (198.18.0.2), both up, with QUEUES transmit and receive queues each
# (default 1). Sets the caller's gen, rx, gif, rif, gmac and rmac.
# shellcheck disable=SC2034,SC2154 # the caller's locals, by bash's dynamic scope
bench_pair() {
	local q=${3:-1}
	bench_ns gen "${1}gen" || return 1
	bench_ns rx "${1}rx" || return 1
	gif="${BENCH_TAG}${2}a" rif="${BENCH_TAG}${2}b"
	ip link add "$gif" netns "$gen" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$rif" netns "$rx" numtxqueues "$q" numrxqueues "$q" || return 1
	ip -n "$gen" addr add 198.18.0.1/24 dev "$gif"
	ip -n "$rx" addr add 198.18.0.2/24 dev "$rif"
	ip -n "$gen" link set "$gif" up
	ip -n "$rx" link set "$rif" up
	gmac=$(ip -n "$gen" -j link show "$gif" | jq -r '.[0].address')
	rmac=$(ip -n "$rx" -j link show "$rif" | jq -r '.[0].address')
}

# flood CPU PORT DRAIN COUNTER...: one flood of $DROP_FRAMES UDP frames to
# PORT over the caller's bench_pair (gen, gif, gmac, rmac), ptbench txgen
# pinned to CPU, then DRAIN seconds for the rings to drain. COUNTER...
# prints the receiver's count; it is read before and after. Sets flood_n
# (what the count moved), flood_ms (the flood's length) and flood_rate
# (flood_n per second of the flood).
# shellcheck disable=SC2034,SC2154 # the caller's locals, and its results
flood() {
	local cpu=$1 port=$2 drain=$3 c0 c1 out el
	shift 3
	c0=$("$@") || return 1
	out=$(in_ns "$gen" taskset -c "$cpu" "$BENCH_OUT/ptbench" txgen \
		--obj "$BENCH_OUT/txgen_xdp.bpf.o" --ifname "$gif" \
		--src-mac "$gmac" --dst-mac "$rmac" --src 198.18.0.1 --dst 198.18.0.2 \
		--dport "$port" --count "$DROP_FRAMES") || return 1
	sleep "$drain"
	c1=$("$@") || return 1
	el=$(awk '$1 == "elapsed_ns" { print $2 }' <<<"$out")
	flood_n=$((c1 - c0))
	flood_ms=$((el / 1000000))
	flood_rate=$(awk -v d="$flood_n" -v t="$el" 'BEGIN { printf "%.0f", d / (t / 1e9) }')
}

# in_ns NS CMD...: CMD in NS, seeing the host's /sys and so bpffs.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# bench_spawn VAR NS CMD...: CMD in the background in NS; its PID in VAR.
bench_spawn() {
	local __var=$1 __ns=$2 __pid
	shift 2
	nsenter --net="/run/netns/$__ns" "$@" >/dev/null 2>&1 &
	__pid=$!
	_BENCH_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
}

bench_kill() {
	local pid
	for pid in "$@"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

# bench_ns_del NS: remove one namespace now (its portier state first).
bench_ns_del() {
	[ -e "/run/netns/$1" ] || return 0
	"$PORTIER" --netns "$1" unload >/dev/null 2>&1
	ip netns del "$1" 2>/dev/null
	return 0
}

# bench_ns_sweep: remove every namespace any section listed (run.sh).
bench_ns_sweep() {
	local ns
	[ -e "$BENCH_TMP/ns.list" ] || return 0
	while read -r ns; do
		bench_ns_del "$ns"
	done <"$BENCH_TMP/ns.list"
}

bench_cleanup() {
	local pid ns
	set +e
	for pid in "${_BENCH_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${_BENCH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${_BENCH_NS[@]}"; do
		bench_ns_del "$ns"
	done
	_BENCH_PIDS=()
	_BENCH_NS=()
	return 0
}

# wait_listen NS PROTO PORT: until something listens there (5 s at most).
wait_listen() {
	local ns=$1 proto=$2 port=$3 flag=-ltn
	[ "$proto" = udp ] && flag=-lun
	for _ in $(seq 1 50); do
		in_ns "$ns" ss -H "$flag" "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	log "nothing listens on $proto port $port in $ns"
	return 1
}

# Where Debian's xdp-tools keeps xdp-filter's objects.
xdp_filter_dir() {
	local d
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null)/bpf" /usr/lib/bpf /usr/share/xdp-tools \
		/usr/lib/x86_64-linux-gnu/bpf; do
		[ -e "$d/xdpfilt_alw_all.o" ] && [ -e "$d/xdpfilt_alw_udp.o" ] && { echo "$d"; return 0; }
	done
	return 1
}

# kv FILE KEY: the value of "KEY VALUE" in FILE (ptbench and connload output).
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# median VALUE...: the median of numbers.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) exit 1; printf "%.6g\n", a / b }'; }

# napi_pin IFACE CPU: pin the threaded-NAPI kthreads of IFACE to CPU. Call
# it after every XDP attach (which may make them anew). A kthread's name is
# "napi/IFACE-ID" cut to 15 characters.
napi_pin() {
	local ifc=$1 cpu=$2 pid comm want="napi/$1-" n=0
	for pid in $(pgrep '^napi/'); do
		comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		[[ $comm == "$want"* || ($comm == "${want:0:15}"* && ${#comm} -eq 15) ]] || continue
		taskset -pc "$cpu" "$pid" >/dev/null && n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { log "no NAPI thread for $ifc"; return 1; }
}

# gen_bindings N FILE: a service and N TCP bindings, min(N, 100) ports
# (10000 up) times N / ports host addresses of 198.18.0.0/15. Prints the
# ADDR:PORT of the binding in the middle.
gen_bindings() {
	awk -v n="$1" 'BEGIN {
		ports = n < 100 ? n : 100
		addrs = int(n / ports)
		print "service add bench"
		for (p = 0; p < ports; p++)
			for (a = 0; a < addrs; a++) {
				x = a + 1
				printf "bind tcp 198.%d.%d.%d %d bench\n", 18 + int(x / 65536),
					int(x / 256) % 256, x % 256, 10000 + p
			}
		x = int(addrs / 2) + 1
		printf "198.%d.%d.%d:%d\n", 18 + int(x / 65536), int(x / 256) % 256, x % 256,
			10000 + int(ports / 2) > "/dev/stderr"
	}' 2>"$2.mid" >"$2"
	cat "$2.mid"
}
