# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The e2e test library. A test file sources this, defines functions named
# case_*, and ends with `run_cases`. Each case runs in its own subshell with
# its own network namespaces (made with newns, removed by the teardown trap),
# its own background processes (started with spawn, killed by PID), and
# prints one TAP line. Traffic goes only to loopback or to the addresses
# the case put on its own interfaces (198.18.0.0/15, 2001:db8::/32).

set -u
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORTIER=${PORTIER:-$E2E_ROOT/build/portier}
E2E_TAG="pt$$"

# ---- per-case resources, torn down by _teardown ----
_NAMESPACES=()
_PIDS=()
_FAILMSG=""

# newns VAR NAME: create namespace NAME and store its full name in VAR.
newns() {
	local __ns="$E2E_TAG-$2"
	ip netns add "$__ns" || return 1
	_NAMESPACES+=("$__ns")
	ip -n "$__ns" link set lo up
	printf -v "$1" '%s' "$__ns"
}

# in_ns NS CMD...: run CMD in the namespace, seeing the host's /sys (and so
# the bpffs pins), unlike `ip netns exec`.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# spawn VAR NS CMD...: start CMD in the background in NS; store its PID in VAR.
spawn() {
	local __var=$1 __ns=$2 __pid
	shift 2
	nsenter --net="/run/netns/$__ns" "$@" >/dev/null 2>&1 &
	__pid=$!
	_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
}

# pt NS ARGS...: portier against namespace NS.
pt() {
	local ns=$1
	shift
	"$PORTIER" --netns "$ns" "$@"
}

# veth_pair NS_A IF_A ADDR_A NS_B IF_B ADDR_B: connect two namespaces.
veth_pair() {
	local nsa=$1 ifa=$2 aa=$3 nsb=$4 ifb=$5 ab=$6
	ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb" || return 1
	ip -n "$nsa" addr add "$aa" dev "$ifa"
	ip -n "$nsb" addr add "$ab" dev "$ifb"
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
}

# wait_listen NS PROTO PORT: wait (bounded) until something listens there.
wait_listen() {
	local ns=$1 proto=$2 port=$3 i flag=-ltn
	[ "$proto" = udp ] && flag=-lun
	for i in $(seq 1 50); do
		if in_ns "$ns" ss -H "$flag" "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	fail "nothing listens on $proto port $port in $ns after 5 s"
}

# ---- assertions: each records why and returns 1 ----
fail() {
	_FAILMSG="$*"
	echo "# FAIL: $*" >&2
	return 1
}

expect_eq() { # ACTUAL EXPECTED WHAT
	[ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"
}

# expect_rc RC CMD...: run CMD, check its exit status.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want"
}

# expect_json NS JQ EXPECTED ARGS...: portier --json ARGS | jq -r JQ == EXPECTED
expect_json() {
	local ns=$1 q=$2 want=$3 got
	shift 3
	got=$("$PORTIER" --netns "$ns" --json "$@" | jq -r "$q") || { fail "portier $* | jq '$q' failed"; return 1; }
	[ "$got" == "$want" ] || fail "portier $* | jq '$q': expected '$want', got '$got'"
}

# tcp_get NS ADDR PORT: connect, print what the server says (2 s bound).
tcp_get() {
	in_ns "$1" timeout 3 socat -T2 - "TCP:$2:$3" </dev/null 2>/dev/null
}

# udp_get NS ADDR PORT: send one datagram, print the reply (2 s bound).
udp_get() {
	echo ping | in_ns "$1" timeout 3 socat -T2 - "UDP:$2:$3" 2>/dev/null
}

# A small server that answers every TCP connection (or UDP datagram) with
# its name: the occupant of an apartment.
# serve VAR NS tcp|udp ADDR PORT NAME [SOCAT-OPTS]
serve() {
	local __var=$1 __sns=$2 proto=$3 addr=$4 port=$5 name=$6 extra=${7:-} lst
	if [ "$proto" = tcp ]; then
		lst="TCP-LISTEN:$port,bind=$addr,fork,reuseaddr$extra"
	else
		lst="UDP-RECVFROM:$port,bind=$addr,fork$extra"
	fi
	case $addr in *:*) lst=${lst/TCP-LISTEN/TCP6-LISTEN}; lst=${lst/UDP-RECVFROM/UDP6-RECVFROM}; lst=${lst/bind=$addr/bind=[$addr]} ;; esac
	spawn "$__var" "$__sns" socat "$lst" SYSTEM:"echo $name"
}

# on_teardown CMD...: run CMD (in this shell) when the case ends, before
# its processes are killed and its namespaces removed; last in, first run.
_ONTEARDOWN=()
on_teardown() {
	_ONTEARDOWN=("$(printf '%q ' "$@")" "${_ONTEARDOWN[@]}")
}

_teardown() {
	local rc=$? pid ns c
	set +e
	for c in "${_ONTEARDOWN[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	_ONTEARDOWN=()
	for pid in "${_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${_NAMESPACES[@]}"; do
		"$PORTIER" --netns "$ns" unload >/dev/null 2>&1
		ip netns del "$ns" 2>/dev/null
	done
	_PIDS=()
	_NAMESPACES=()
	for ns in "${_TMPDIRS[@]}"; do
		rm -rf -- "$ns"
	done
	_TMPDIRS=()
	return "$rc"
}

_NCASE=0
_NFAIL=0

# run_cases: run every case_* function (or those named in $E2E_CASES).
run_cases() {
	local cases name rc
	cases=$(declare -F | awk '{print $3}' | grep '^case_')
	[ -n "${E2E_CASES:-}" ] && cases=$E2E_CASES
	echo "1..$(echo "$cases" | wc -w)"
	for name in $cases; do
		_NCASE=$((_NCASE + 1))
		# set -e must not sit under an `||`, or bash ignores it: the
		# subshell's status is read on the next line instead
		(
			trap _teardown EXIT
			set -eE -o pipefail
			"$name"
		)
		rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "ok $_NCASE - ${name#case_}"
		elif [ "$rc" -eq "$E2E_SKIP" ] && [ -e "$_SKIPFILE" ]; then
			# the case called skip (a stray status 77 is a failure)
			echo "ok $_NCASE - ${name#case_} # SKIP $(cat "$_SKIPFILE")"
			rm -f "$_SKIPFILE"
		else
			_NFAIL=$((_NFAIL + 1))
			echo "not ok $_NCASE - ${name#case_}"
		fi
	done
	rm -f "/tmp/$E2E_TAG.xdpmulti"
	[ "$_NFAIL" -eq 0 ]
}

# ---- more helpers (servers, clients, state checks) ----

_TMPDIRS=()
E2E_HELPERS=$E2E_ROOT/tests/e2e/helpers
# the system python starts fastest (a pyenv shim costs ~100 ms per run)
if [ -x /usr/bin/python3 ]; then E2E_PY=/usr/bin/python3; else E2E_PY=python3; fi

# casetmp VAR: a temporary directory for the case, removed by the teardown.
casetmp() {
	local __d
	__d=$(mktemp -d "/tmp/$E2E_TAG.XXXXXX") || return 1
	_TMPDIRS+=("$__d")
	printf -v "$1" '%s' "$__d"
}

# wait_file FILE [SECONDS]: wait (bounded, default 5 s) until FILE exists.
wait_file() {
	local f=$1 n=$((${2:-5} * 20)) i
	for ((i = 0; i < n; i++)); do
		[ -e "$f" ] && return 0
		sleep 0.05
	done
	fail "$f did not appear within ${2:-5} s"
}

# ptnet NS ARGS...: run the helper tests/e2e/helpers/ptnet.py in NS
# (clients: loop, hold, udp; see the helper's header).
ptnet() {
	local ns=$1
	shift
	in_ns "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" "$@"
}

# pyserve VAR NS NAME [OPTS] ADDR:PORT...: start `ptnet.py serve` in NS and
# wait until all its sockets are bound (and listening); PID in VAR. OPTS:
# --udp --index --pktinfo --v6only --dual. Replies "NAME" or "NAME IDX".
pyserve() {
	local __var=$1 __ns=$2 __d __rdy
	shift 2
	__d=$(mktemp -d "/tmp/$E2E_TAG.srv.XXXXXX") || return 1
	_TMPDIRS+=("$__d")
	__rdy=$__d/ready
	spawn "$__var" "$__ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" serve --ready "$__rdy" "$@"
	wait_file "$__rdy" 5
}

# pt_err NS ARGS...: run portier, print only its stderr; never fails.
pt_err() {
	local ns=$1
	shift
	# shellcheck disable=SC2069 # stderr to the caller, stdout dropped
	"$PORTIER" --netns "$ns" "$@" 2>&1 >/dev/null || true
}

# snapshot NS: the configuration as JSON (bindings and services), for
# "a rejected command changes nothing" checks.
snapshot() {
	printf '%s\n%s\n' "$("$PORTIER" --netns "$1" --json bindings)" \
		"$("$PORTIER" --netns "$1" --json services)"
}

# expect_bad NS ARGS...: portier ARGS must exit 2 with exactly one line on
# stderr starting "portier: ", and leave bindings and services unchanged.
expect_bad() {
	local ns=$1 before after err rc=0 nl
	shift
	before=$(snapshot "$ns")
	err=$("$PORTIER" --netns "$ns" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 2 ] || { fail "'portier $*' exited $rc, expected 2 (stderr: $err)"; return 1; }
	nl=$(printf '%s\n' "$err" | wc -l)
	[ "$nl" -eq 1 ] || { fail "'portier $*': $nl lines on stderr, expected 1: $err"; return 1; }
	[[ $err == "portier: "* ]] || { fail "'portier $*': stderr does not start 'portier: ': $err"; return 1; }
	after=$(snapshot "$ns")
	[ "$before" == "$after" ] || fail "'portier $*' changed the state: before $before, after $after"
}

# stat_of NS PROTO PORT FIELD: one counter of the stats row whose range
# starts at PORT (`stats --json`), "none" when there is no such row.
stat_of() {
	"$PORTIER" --netns "$1" --json stats |
		jq -r --arg p "$2" --argjson port "$3" --arg f "$4" \
			'[.ports[] | select(.proto == $p and .port == $port)] | if length == 1 then .[0][$f] else "none" end'
}

# count_replies FILE: "REPLY COUNT" lines of a ptnet loop output, sorted.
count_replies() {
	cut -d' ' -f2- "$1" | sort | uniq -c | awk '{c=$1; $1=""; sub(/^ /,""); print $0, c}'
}

# lines FILE: number of lines (0 when the file is missing).
lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# wait_lines FILE N SECONDS: wait (bounded) until FILE has N lines.
wait_lines() {
	local f=$1 n=$2 i
	for ((i = 0; i < $3 * 20; i++)); do
		[ "$(lines "$f")" -ge "$n" ] && return 0
		sleep 0.05
	done
	fail "$f has $(lines "$f") lines after $3 s, expected $n"
}

# wait_exit PID SECONDS: wait (bounded) for a process this case started.
wait_exit() {
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.05
	done
	fail "pid $pid still runs after $2 s"
}

# ---- skipping a case that does not apply here ----

E2E_SKIP=77
_SKIPFILE="/tmp/$E2E_TAG.skip"

# skip REASON: end the case as not applicable on this machine; run_cases
# prints "ok N - NAME # SKIP REASON" (TAP; tests/run.sh counts it as
# skipped). The teardown runs as usual.
skip() {
	printf '%s' "$*" | tr '\n' ' ' >"$_SKIPFILE"
	exit "$E2E_SKIP"
}

# ---- the guard: quiet links, exact counters, UDP sinks ----

# quiet_ns NS: no IPv6 in NS (no ND, no MLD: the only frames on its links
# are the test's own). Call it before the namespace's interfaces exist.
quiet_ns() {
	in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# pin_neigh NS IF ADDR PEER_NS PEER_IF: a permanent neighbour entry in NS for
# ADDR at PEER_IF's MAC address, so that no ARP crosses the link.
pin_neigh() {
	local mac
	mac=$(ip -n "$4" -j link show "$5" | jq -r '.[0].address') || return 1
	ip -n "$1" neigh replace "$3" lladdr "$mac" dev "$2" nud permanent
}

# quiet_pair NS_A IF_A ADDR_A NS_B IF_B ADDR_B: veth_pair between two
# quiet namespaces (quiet_ns first), with permanent neighbours both ways:
# every frame that crosses it is one the test sent.
quiet_pair() {
	veth_pair "$@" || return 1
	pin_neigh "$1" "$2" "${6%/*}" "$4" "$5"
	pin_neigh "$4" "$5" "${3%/*}" "$1" "$2"
}

# udp_frame PAYLOAD: the length of the Ethernet frame of an IPv4 UDP
# datagram with PAYLOAD bytes (14 + 20 + 8 + PAYLOAD; veth does not pad).
udp_frame() {
	echo $((14 + 20 + 8 + $1))
}

# pysink VAR NS OUT ADDR:PORT...: start `ptnet.py sink` in NS (UDP sockets
# that never answer; one line "PORT SRC LEN" per datagram in OUT), wait
# until it is bound; PID in VAR.
pysink() {
	local __var=$1 __ns=$2 __out=$3 __d
	shift 3
	__d=$(mktemp -d "/tmp/$E2E_TAG.sink.XXXXXX") || return 1
	_TMPDIRS+=("$__d")
	: >"$__out"
	spawn "$__var" "$__ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" sink --out "$__out" --ready "$__d/ready" "$@"
	wait_file "$__d/ready" 5
}

# udp_send NS ADDR PORT COUNT [OPTS]: send COUNT datagrams (ptnet.py send:
# --size N --src ADDR --sport N --delay S); fails unless all were sent.
udp_send() {
	local ns=$1 sent
	shift
	sent=$(in_ns "$ns" timeout 20 "$E2E_PY" "$E2E_HELPERS/ptnet.py" send "$@") ||
		{ fail "ptnet send $* in $ns failed (sent '$sent')"; return 1; }
	[ "$sent" -eq "$3" ] || fail "ptnet send $*: sent $sent"
}

# sink_count FILE PORT [SRC]: datagrams the sink received on PORT (from SRC).
sink_count() {
	awk -v p="$2" -v s="${3:-}" '$1 == p && (s == "" || $2 == s) { n++ } END { print n + 0 }' "$1"
}

# sink_settle FILE PORT WANT [SECONDS]: wait (bounded) until the sink holds
# WANT datagrams of PORT, then a moment more (a late one would show), and
# print the count; does not fail by itself.
sink_settle() {
	local i
	for ((i = 0; i < ${4:-3} * 20; i++)); do
		[ "$(sink_count "$1" "$2")" -ge "$3" ] && break
		sleep 0.05
	done
	sleep 0.1
	sink_count "$1" "$2"
}

# guard_stats NS: `stats --json`.
guard_stats() {
	"$PORTIER" --netns "$1" --json stats
}

# class_of NS PROTO CLASS FIELD: a counter of a class row
# (well-known, registered, ephemeral).
class_of() {
	guard_stats "$1" | jq -r --arg p "$2" --arg c "$3" --arg f "$4" \
		'[.classes[] | select(.proto == $p and .class == $c)] | if length == 1 then .[0][$f] else "none" end'
}

# global_of NS FIELD: malformed, fragments, other or unreadable.
global_of() {
	guard_stats "$1" | jq -r --arg f "$2" '.[$f]'
}

# wait_stat NS PROTO PORT FIELD WANT [SECONDS]: wait (bounded, default 3 s)
# until the counter of the port row reaches WANT, then check it is exactly
# WANT (frames cross a veth in the sender's softirq: this rarely waits).
wait_stat() {
	local ns=$1 proto=$2 port=$3 f=$4 want=$5 i v
	for ((i = 0; i < ${6:-3} * 20; i++)); do
		v=$(stat_of "$ns" "$proto" "$port" "$f")
		[ "$v" != none ] && [ "$v" -ge "$want" ] && break
		sleep 0.05
	done
	expect_eq "$(stat_of "$ns" "$proto" "$port" "$f")" "$want" "$proto $port $f"
}

# wait_class NS PROTO CLASS FIELD WANT [SECONDS]: wait_stat for a class row.
wait_class() {
	local ns=$1 proto=$2 class=$3 f=$4 want=$5 i v
	for ((i = 0; i < ${6:-3} * 20; i++)); do
		v=$(class_of "$ns" "$proto" "$class" "$f")
		[ "$v" != none ] && [ "$v" -ge "$want" ] && break
		sleep 0.05
	done
	expect_eq "$(class_of "$ns" "$proto" "$class" "$f")" "$want" "$proto $class $f"
}

# xdp_ids NS: ids of the XDP programs attached to any interface of NS,
# and of the programs inside libxdp's dispatchers there.
xdp_ids() {
	local ifn
	ip -n "$1" -d -j link show | jq -r '.[] | .xdp // empty | [.prog.id?, (.attached[]?.prog.id)] | .[] | select(. != null)' | sort -u
	for ifn in $(ip -n "$1" -d -j link show | jq -r '.[] | select(.xdp.prog.name? == "xdp_dispatcher") | .ifname'); do
		xdp_chain_of "$1" "$ifn" | awk '{print $3}'
	done
}

# xdp_prog_of NS IF: "ID NAME MODE" of the XDP program the kernel runs on
# IF (mode: native, skb, hw), or "none". Behind libxdp's dispatcher that
# is xdp_dispatcher: xdp_chain_of lists what runs inside it.
xdp_prog_of() {
	ip -n "$1" -d -j link show "$2" |
		jq -r '.[0].xdp // empty | "\(.prog.id) \(.prog.name) \(["none", "native", "skb", "hw", "multi"][.mode])"' |
		grep . || echo none
}

# xdp_chain_of NS IF: the programs inside libxdp's dispatcher on IF in the
# order they run, one "PRIORITY NAME ID" line each (from `xdp-loader
# status`); nothing when IF has no dispatcher.
xdp_chain_of() {
	in_ns "$1" xdp-loader status "$2" 2>/dev/null | awk '$1 == "=>" {print $2, $3, $4}'
}

# xdp_multi: whether libxdp's multi-program dispatcher works on this kernel
# (so the guard runs inside xdp_dispatcher rather than alone on its
# interface). Probed once per test file, independently of portier:
# xdp-loader attaches xdp-filter's pass-all program to a veth of a scratch
# namespace, and the kernel's view says whether a dispatcher holds it.
xdp_multi() {
	local f="/tmp/$E2E_TAG.xdpmulti" ns="$E2E_TAG-xdpprobe" top
	if [ ! -e "$f" ]; then
		ip netns add "$ns" || return 2
		ip -n "$ns" link add probe0 type veth peer name probe1
		ip -n "$ns" link set probe0 up
		ip -n "$ns" link set probe1 up
		in_ns "$ns" xdp-loader load -m native probe0 /usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o >/dev/null 2>&1 || true
		top=$(xdp_prog_of "$ns" probe0)
		in_ns "$ns" xdp-loader unload --all probe0 >/dev/null 2>&1 || true
		ip netns del "$ns"
		case $top in
		*" xdp_dispatcher native") echo yes >"$f" ;;
		*" xdpfilt_alw_all native") echo no >"$f" ;;
		*) fail "probing libxdp's dispatcher: xdp-loader left '$top' on a veth"; return 2 ;;
		esac
	fi
	[ "$(cat "$f")" = yes ]
}

# expect_guard NS IF ID MODE WHAT: the kernel runs the guard ID on IF in
# MODE, as this kernel allows: where libxdp's dispatcher works, IF's
# program is xdp_dispatcher (in MODE) and portier_guard ID runs inside it
# at priority 20; where it does not, IF's one program is portier_guard ID.
# portier's status must say the same (.dispatcher).
expect_guard() {
	local ns=$1 ifn=$2 id=$3 mode=$4 what=$5 top chain disp
	top=$(xdp_prog_of "$ns" "$ifn")
	disp=$("$PORTIER" --netns "$ns" --json status |
		jq -r --arg i "$ifn" --arg id "$id" '[.xdp[] | select(.ifname == $i and (.prog_id | tostring) == $id)] | if length == 1 then .[0].dispatcher else "none" end')
	if xdp_multi; then
		[[ $top == *" xdp_dispatcher $mode" ]] || { fail "$what: expected xdp_dispatcher ($mode) on $ifn, got '$top'"; return 1; }
		chain=$(xdp_chain_of "$ns" "$ifn")
		grep -qx "20 portier_guard $id" <<<"$chain" ||
			{ fail "$what: portier_guard $id is not in $ifn's dispatcher: $(echo $chain)"; return 1; }
		expect_eq "$disp" true "$what: status .dispatcher"
	else
		expect_eq "$top" "$id portier_guard $mode" "$what" || return 1
		expect_eq "$disp" false "$what: status .dispatcher"
	fi
}

# finish: the end of a case that leaves nothing behind. Unloads portier from
# every namespace of the case and checks that no XDP program is left on
# their interfaces, tears the case down now, then checks that its
# namespaces, their pin directories and locks, its processes and its XDP
# programs are gone.
finish() {
	local ns ino i left dirs=() pids=("${_PIDS[@]}") progs=() id
	for ns in "${_NAMESPACES[@]}"; do
		ino=$(stat -L -c %i "/run/netns/$ns") || return 1
		dirs+=("/sys/fs/bpf/portier/$ino" "/sys/fs/bpf/portier/${ino}_new"
			"/sys/fs/bpf/portier/${ino}_lock")
		mapfile -t -O "${#progs[@]}" progs < <(xdp_ids "$ns")
		"$PORTIER" --netns "$ns" unload >/dev/null 2>&1 || true
		left=$(xdp_ids "$ns" | tr '\n' ' ')
		[ -z "$left" ] || { fail "XDP programs $left left on the interfaces of $ns after unload"; return 1; }
	done
	_teardown
	set -eE
	for i in "${dirs[@]}"; do
		[ ! -e "$i" ] || { fail "$i left behind"; return 1; }
	done
	for i in "${pids[@]}"; do
		! kill -0 "$i" 2>/dev/null || { fail "process $i left running"; return 1; }
	done
	left=$(ip netns list | awk '{print $1}' | grep -c "^$E2E_TAG-" || true)
	[ "$left" -eq 0 ] || { fail "$left namespaces of this test left"; return 1; }
	# a detached program is freed after an RCU grace period
	for id in "${progs[@]}"; do
		for ((i = 0; i < 100; i++)); do
			bpftool prog show id "$id" >/dev/null 2>&1 || break
			sleep 0.05
		done
		! bpftool prog show id "$id" >/dev/null 2>&1 || { fail "XDP program $id still loaded"; return 1; }
	done
}

# quiet_street VAR_STREET VAR_BLDG: two quiet namespaces joined by a veth
# pair, the street at 198.18.0.1 ("door") and the building at 198.18.0.2
# ("lobby", where the guard goes), neighbours pinned both ways.
quiet_street() {
	local __c __s
	newns __c street
	newns __s bldg
	quiet_ns "$__c"
	quiet_ns "$__s"
	quiet_pair "$__c" door 198.18.0.1/24 "$__s" lobby 198.18.0.2/24 || return 1
	printf -v "$1" '%s' "$__c"
	printf -v "$2" '%s' "$__s"
}
