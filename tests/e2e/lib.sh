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
