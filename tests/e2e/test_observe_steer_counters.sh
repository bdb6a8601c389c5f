#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The steering counters (xsk, cpu, fallback) in stats, stats --json, the
# exporter and top, exactly, and explain's steering steps against the
# guard. The guard's steering paths are switched on by
# writing the pinned maps directly with bpftool, after portier's last edit
# (a commit would rewrite port_table): the live generation's port_table
# entry of one port gets PT_PORT_CPU with a CPU set and a cpumap entry, or
# PT_PORT_XSK with its service made an AF_XDP service (xsk_meta) whose
# XSKMAP slots stay empty. The `steer` and `register --xsk` commands check
# the same numbers end to end in their own tests.
# bpftool takes a key or value as separate byte words: le's output is split
# on purpose
# shellcheck disable=SC2046,SC2086
. "$(dirname "$0")/lib.sh"

# le N BYTES: N as BYTES little-endian bytes, "0x.. 0x.." (bpftool's words).
le() {
	local n=$1 i out=()
	for ((i = 0; i < $2; i++)); do
		out+=("$(printf '0x%02x' $(((n >> (8 * i)) & 255)))")
	done
	echo "${out[*]}"
}

# pin_dir NS: portier's pin directory for NS.
pin_dir() {
	pt "$1" --json status | jq -r .pin_dir
}

# live_gen DIR: the live generation (config.gen).
live_gen() {
	bpftool -j map lookup pinned "$1/config" key $(le 0 4) | jq -r .formatted.value.gen
}

# port_flags DIR PROTO PORT FLAGS STEER: OR FLAGS into the live port_table
# entry of (PROTO index, PORT) and set its CPU set index to STEER.
port_flags() {
	local dir=$1 proto=$2 port=$3 flags=$4 steer=$5 gen idx val
	gen=$(live_gen "$dir")
	idx=$(((gen * 2 + proto) * 65536 + port))
	mapfile -t val < <(bpftool -j map lookup pinned "$dir/port_table" key $(le "$idx" 4) | jq -r '.value[]')
	[ ${#val[@]} -eq 16 ] || { fail "port_table[$idx]: ${val[*]}"; return 1; }
	val[5]=$(printf '0x%02x' $((val[5] | flags)))
	read -r 'val[6]' 'val[7]' <<<"$(le "$steer" 2)"
	bpftool map update pinned "$dir/port_table" key $(le "$idx" 4) value "${val[@]}"
}

# cpu_steer DIR PORT CPU: UDP PORT goes to CPU through the cpumap (CPU set 0
# of the live generation: that one CPU; cpu_map[CPU] with a queue).
cpu_steer() {
	local dir=$1 port=$2 cpu=$3 gen set i
	gen=$(live_gen "$dir")
	set=$(le 1 4)
	set+=" $(le "$cpu" 2)"
	for ((i = 1; i < 64; i++)); do set+=" 0x00 0x00"; done
	bpftool map update pinned "$dir/cpu_map" key $(le "$cpu" 4) value $(le 2048 4) $(le 0 4)
	bpftool map update pinned "$dir/cpu_sets" key $(le $((gen * 1024)) 4) value $set
	port_flags "$dir" 1 "$port" 32 0
}

# xsk_service DIR NAME IFINDEX: service NAME becomes an AF_XDP service on
# IFINDEX (xsk_meta), with no socket in its XSKMAP slots.
xsk_service() {
	local dir=$1 gen id
	gen=$(live_gen "$dir")
	id=$(bpftool -j map dump pinned "$dir/svc_table" | jq -r --arg n "$2" --argjson g "$gen" \
		'.[] | select(.formatted.key.gen == $g and .formatted.key.name == $n) | .formatted.value.id')
	[ -n "$id" ] || { fail "service $2 not in svc_table"; return 1; }
	bpftool map update pinned "$dir/xsk_meta" key $(le "$id" 4) value $(le "$3" 4) $(le 1 4)
}

# steer_record DIR PROTO LO HI CPU...: the live generation's steer_table
# record of a rule (what explain reads), as `steer` would write it.
steer_record() {
	local dir=$1 proto=$2 lo=$3 hi=$4 gen key val i
	shift 4
	gen=$(live_gen "$dir")
	key="$(le "$gen" 1) $(le "$proto" 1) $(le "$lo" 2) $(le "$hi" 2) 0x00 0x00"
	val=$(le $# 4)
	for i in "$@"; do val+=" $(le "$i" 2)"; done
	for ((i = $#; i < 64; i++)); do val+=" 0x00 0x00"; done
	bpftool map update pinned "$dir/steer_table" key $key value $val
}

# svc_xsk_record DIR NAME IFINDEX: the service's record says it is an
# AF_XDP service on IFINDEX (svc_table.xsk_ifindex, what explain reads).
svc_xsk_record() {
	local dir=$1 gen key val i
	gen=$(live_gen "$dir")
	key="$(le "$gen" 1) $(printf '%s' "$2" | od -An -v -tx1 | sed 's/\([0-9a-f][0-9a-f]\)/0x\1/g')"
	for ((i = ${#2}; i < 32; i++)); do key+=" 0x00"; done
	mapfile -t val < <(bpftool -j map lookup pinned "$dir/svc_table" key $key | jq -r '.value[]')
	[ ${#val[@]} -eq 104 ] || { fail "svc_table[$2]: ${val[*]}"; return 1; }
	read -r 'val[100]' 'val[101]' 'val[102]' 'val[103]' <<<"$(le "$3" 4)"
	bpftool map update pinned "$dir/svc_table" key $key value "${val[@]}"
}

# The exposition lines of the three steering families for one port row.
steer_lines() { # SCRAPE PROTO PORT
	grep -E "^portier_port_(xsk|cpu|fallback)_total\{proto=\"$2\",port=\"$3\"," <<<"$1" | sort
}

case_cpu_steering_counts_everywhere() {
	local street bldg tmp sink dir cpu row m out ex
	quiet_street street bldg
	casetmp tmp
	# the street's stack leaves UDP checksums to the "hardware" (veth:
	# CHECKSUM_PARTIAL); a frame redirected through a cpumap becomes a new
	# skb with no such note, and its stack would count a checksum error. A
	# real NIC delivers finished checksums: so does the street, here.
	in_ns "$street" ethtool -K door tx off >/dev/null
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	pt "$bldg" watch udp 5001
	dir=$(pin_dir "$bldg")
	cpu=$(($(nproc) - 1))
	cpu_steer "$dir" 5000 "$cpu"
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:5000 198.18.0.2:5001
	udp_send "$street" 198.18.0.2 5000 23 --size 100
	udp_send "$street" 198.18.0.2 5001 4 --size 100
	wait_stat "$bldg" udp 5000 cpu 23
	# the stack processed them on that CPU: the server got every one
	expect_eq "$(sink_settle "$tmp/rx" 5000 23)" 23 "datagrams received through the cpumap"
	expect_eq "$(sink_settle "$tmp/rx" 5001 4)" 4 "datagrams received on the unsteered port"
	expect_json "$bldg" '.ports[] | select(.port == 5000) | [.packets, .xsk, .cpu, .fallback] | @csv' \
		'23,0,23,0' stats
	expect_json "$bldg" '.ports[] | select(.port == 5001) | [.packets, .xsk, .cpu, .fallback] | @csv' \
		'4,0,0,0' stats
	expect_json "$bldg" '[.classes[] | .xsk + .cpu + .fallback] | add' 0 stats
	# the table: XSK, CPU and FALLBACK after NO_SOCKET
	out=$(pt "$bldg" stats --exact)
	expect_eq "$(head -1 <<<"$out" | awk '{print $10, $11, $12}')" "XSK CPU FALLBACK" "table header"
	row=$(awk '$1 == "udp" && $2 == "5000"' <<<"$out")
	expect_eq "$(awk '{print $4, $10, $11, $12}' <<<"$row")" "23 0 23 0" "table row udp 5000"
	row=$(awk '$1 == "udp" && $2 == "registered"' <<<"$out")
	expect_eq "$(awk '{print $(NF - 2), $(NF - 1), $NF}' <<<"$row")" "0 0 0" "table class row"
	# the exporter
	nsenter --net="/run/netns/$bldg" "$PORTIER" --netns "$bldg" exporter --listen 127.0.0.1:9470 \
		>"$tmp/ex.out" 2>"$tmp/ex.err" &
	ex=$!
	_PIDS+=("$ex")
	wait_file "$tmp/ex.out" 5
	for _ in $(seq 1 50); do
		m=$(in_ns "$bldg" curl -sf --max-time 2 http://127.0.0.1:9470/metrics) && break
		sleep 0.1
	done
	expect_eq "$(steer_lines "$m" udp 5000)" \
		"$(printf '%s\n' 'portier_port_cpu_total{proto="udp",port="5000",service=""} 23' \
			'portier_port_fallback_total{proto="udp",port="5000",service=""} 0' \
			'portier_port_xsk_total{proto="udp",port="5000",service=""} 0')" "exporter lines"
	grep -qx '# TYPE portier_port_cpu_total counter' <<<"$m" || fail "cpu is not a counter"
	grep -qx 'portier_class_cpu_total{proto="udp",class="registered"} 0' <<<"$m" ||
		fail "class cpu line: $(grep class_cpu <<<"$m")"
	# top: the steering columns show once a port has steered
	out=$(pt "$bldg" top --interval 0.2 --count 1 </dev/null)
	grep -Eq '^PROTO +PORT +SERVICE +PKTS/S +BYTES/S +DROP/S +STEER/S +XSK/S +CPU/S +FALLBK/S$' <<<"$out" ||
		fail "top's header: $out"
	out=$(pt "$bldg" --json top --interval 0.2 --count 1)
	expect_eq "$(jq -c '.ports[] | select(.port == 5000) | [.xsk_per_s, .cpu_per_s, .fallback_per_s]' <<<"$out")" \
		"[0,0,0]" "top --json steering rates (quiet)"
	# sent during a sample: a non-zero cpu rate, no xsk or fallback. The
	# sample starts once the first datagram is counted (the sender takes a
	# while to start on a slow machine) and is over long before the last.
	udp_send "$street" 198.18.0.2 5000 200 --size 10 --delay 0.01 &
	local sender=$! c=23
	for _ in $(seq 1 100); do
		c=$(stat_of "$bldg" udp 5000 cpu)
		[ "$c" -gt 23 ] && break
		sleep 0.05
	done
	[ "$c" -gt 23 ] || fail "the second send never reached the guard"
	out=$(pt "$bldg" --json top --interval 0.3 --count 1)
	wait "$sender" || fail "the second send failed"
	jq -e '.ports[] | select(.port == 5000) | .cpu_per_s > 0 and .xsk_per_s == 0 and .fallback_per_s == 0' \
		<<<"$out" >/dev/null || fail "top --json during a send: $out"
	wait_stat "$bldg" udp 5000 cpu 223
}

case_xsk_fallback_counts_and_passes() {
	local street bldg tmp sink dir ifindex out m
	quiet_street street bldg
	casetmp tmp
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" service add daudi
	pt "$bldg" bind udp 198.18.0.2 6000 daudi
	dir=$(pin_dir "$bldg")
	ifindex=$(ip -n "$bldg" -j link show lobby | jq -r '.[0].ifindex')
	xsk_service "$dir" daudi "$ifindex"
	svc_xsk_record "$dir" daudi "$ifindex"
	port_flags "$dir" 1 6000 16 0
	# no AF_XDP socket on any queue: each datagram falls back to the stack,
	# where daudi has no kernel socket either (no_socket) and the kernel's
	# own lookup finds the sink
	pysink sink "$bldg" "$tmp/rx" 198.18.0.2:6000
	udp_send "$street" 198.18.0.2 6000 17 --size 64
	wait_stat "$bldg" udp 6000 fallback 17
	expect_eq "$(sink_settle "$tmp/rx" 6000 17)" 17 "datagrams the stack delivered"
	expect_json "$bldg" '.ports[] | select(.port == 6000) | [.service, .packets, .xsk, .cpu, .fallback, .steered, .no_socket] | @csv' \
		'"daudi",17,0,0,17,0,17' stats
	out=$(pt "$bldg" stats --exact --service daudi)
	expect_eq "$(awk '$1 == "udp" && $2 == "6000" {print $3, $4, $8, $9, $10, $11, $12}' <<<"$out")" \
		"daudi 17 0 17 0 0 17" "table row udp 6000"
	nsenter --net="/run/netns/$bldg" "$PORTIER" --netns "$bldg" exporter --listen 127.0.0.1:9471 \
		>"$tmp/ex.out" 2>"$tmp/ex.err" &
	_PIDS+=("$!")
	for _ in $(seq 1 50); do
		m=$(in_ns "$bldg" curl -sf --max-time 2 http://127.0.0.1:9471/metrics) && break
		sleep 0.1
	done
	expect_eq "$(steer_lines "$m" udp 6000)" \
		"$(printf '%s\n' 'portier_port_cpu_total{proto="udp",port="6000",service="daudi"} 0' \
			'portier_port_fallback_total{proto="udp",port="6000",service="daudi"} 17' \
			'portier_port_xsk_total{proto="udp",port="6000",service="daudi"} 0')" "exporter lines"
	out=$(pt "$bldg" top --interval 0.2 --count 1 </dev/null)
	expect_eq "$(awk '$1 == "udp" && $2 == "6000" {print $3}' <<<"$out")" daudi "top's row of the AF_XDP service"
	grep -Eq '^PROTO .* XSK/S +CPU/S +FALLBK/S$' <<<"$out" || fail "top's header: $out"
	# explain: an AF_XDP service without a socket, and its counters
	out=$(pt "$bldg" --json explain udp 198.18.0.2:6000 --from 198.18.0.1:40000)
	expect_eq "$(jq -r '[.steps[].check] | join(",")' <<<"$out")" \
		"guard,policy,xsk,address,binding,sockets,socket,reply" "explain's steps"
	expect_eq "$(jq -r '.steps[] | select(.check == "xsk") | .detail' <<<"$out")" \
		"service daudi is an AF_XDP service on lobby but has no AF_XDP socket (none was registered): every packet falls back to the kernel stack (counted as fallback, 17 so far), where daudi has no kernel socket either" \
		"explain's xsk step"
	expect_eq "$(jq -r '.verdict' <<<"$out")" \
		"service 'daudi' has no AF_XDP socket; delivered to the socket on 198.18.0.2:6000 (pid $sink, python3) by the kernel's own lookup, not through portier" \
		"explain's verdict"
}

# The CPU explain names for a flow is the CPU the guard steers it to: each
# datagram's receiving socket reports the CPU its stack ran on
# (SO_INCOMING_CPU), for eight flows over a rule of two CPUs.
case_explain_names_the_guards_cpu() {
	local street bldg tmp dir sport want got rx recv
	[ "$(nproc)" -ge 2 ] || skip "one CPU: nothing to pick between"
	quiet_street street bldg
	casetmp tmp
	in_ns "$street" ethtool -K door tx off >/dev/null
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" watch udp 5000
	dir=$(pin_dir "$bldg")
	bpftool map update pinned "$dir/cpu_map" key $(le 0 4) value $(le 2048 4) $(le 0 4)
	cpu_steer "$dir" 5000 1
	bpftool map update pinned "$dir/cpu_sets" key $(le $(($(live_gen "$dir") * 1024)) 4) \
		value $(le 2 4) $(le 0 2) $(le 1 2) $(for ((i = 2; i < 64; i++)); do echo 0x00 0x00; done)
	steer_record "$dir" 1 5000 5000 0 1
	rx=$tmp/rx
	# one connected socket per flow: the kernel notes the receiving CPU
	# (SO_INCOMING_CPU) on connected UDP sockets only
	spawn recv "$bldg" "$E2E_PY" -c '
import select, socket, sys
socks = {}
for sport in range(40000, 40008):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.0.2", 5000))
    s.connect(("198.18.0.1", sport))
    socks[s] = sport
open(sys.argv[2], "w").close()
with open(sys.argv[1], "w", buffering=1) as out:
    while socks:
        ready, _, _ = select.select(list(socks), [], [], 10)
        if not ready:
            break
        for s in ready:
            s.recv(2048)
            out.write("%d %d\n" % (socks.pop(s), s.getsockopt(socket.SOL_SOCKET, 49)))  # SO_INCOMING_CPU
' "$rx" "$tmp/ready"
	wait_file "$tmp/ready" 5
	for sport in $(seq 40000 40007); do
		udp_send "$street" 198.18.0.2 5000 1 --sport "$sport"
	done
	wait_lines "$rx" 8 5
	wait_stat "$bldg" udp 5000 cpu 8
	while read -r sport got; do
		# (exit status 1: a connected socket takes only its peer; explain
		# finds no socket for other sources, which is right)
		want=$(pt "$bldg" --json explain udp 198.18.0.2:5000 --from "198.18.0.1:$sport" || true)
		want=$(jq -r '.steps[] | select(.check == "steer") | .detail' <<<"$want" |
			sed -n 's/^steer udp 5000 cpus 0-1: after policy, processed on CPU \([01]\) (flow hash over CPUs 0-1; 8 packets steered so far)$/\1/p')
		expect_eq "$got" "$want" "CPU of the flow from port $sport (explain vs the socket)"
	done <"$rx"
}

case_no_steering_no_columns() {
	local ns out
	newns ns bldg
	pt "$ns" load >/dev/null
	pt "$ns" watch udp 5000 2>/dev/null
	out=$(pt "$ns" top --interval 0.1 --count 1 </dev/null)
	grep -Eq '^PROTO +PORT +SERVICE +PKTS/S +BYTES/S +DROP/S +STEER/S$' <<<"$out" ||
		fail "top's header without steering: $out"
	expect_json "$ns" '.ports[0] | [.xsk, .cpu, .fallback] | @csv' '0,0,0' stats
	expect_json "$ns" '.classes[0] | [.xsk, .cpu, .fallback] | @csv' '0,0,0' stats
}

run_cases
