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

_teardown() {
	local rc=$? pid ns
	set +e
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
		else
			_NFAIL=$((_NFAIL + 1))
			echo "not ok $_NCASE - ${name#case_}"
		fi
	done
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
