#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The main commands, and a few of their error paths, under valgrind: no
# invalid read or write, no bad free, no definitely lost block. One TAP
# line per command, in one namespace, in the order an operator runs them.
#
# Valgrind 3.19 (Debian 12) knows too little of bpf() to judge what the
# kernel writes: the batched map commands and BPF_LINK_CREATE are
# "unhandled", so memory they fill looks undefined to it, and it checks
# union members of bpf_attr past the size libbpf passes. Hence
# --undef-value-errors=no and the suppressions below (bpf() parameters
# inside libbpf only). It has no pidfd_open either: register goes by --fd
# here (the ASan/UBSan pass of `make test` runs register --pid).
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null; then
	echo "1..1"
	echo "ok 1 - valgrind # SKIP valgrind is not installed"
	exit 0
fi
if grep -q __asan_init "$PORTIER" 2>/dev/null; then
	echo "1..1"
	echo "ok 1 - valgrind # SKIP $PORTIER is a sanitizer build, which valgrind cannot run"
	exit 0
fi

trap _teardown EXIT
T=
casetmp T
newns NS hval
ip -n "$NS" addr add 198.18.0.2/32 dev lo
NCASE=0
NFAIL=0

cat >"$T/bpf.supp" <<'EOF'
{
   bpf-attr-beyond-the-size-libbpf-passes
   Memcheck:Param
   bpf(attr->*)
   fun:syscall
   obj:*libbpf.so*
}
{
   bpf-get-next-key-of-NULL-is-the-first-key
   Memcheck:Param
   bpf(attr->key)
   fun:syscall
   fun:bpf_map_get_next_key
}
EOF
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --undef-value-errors=no --suppressions="$T/bpf.supp")

# the errors valgrind reports (its warnings about unhandled bpf commands
# and ioctls are not errors)
vg_errors() {
	grep -E '^==[0-9]+== +(Invalid (read|write|free)|Mismatched free|Syscall param|Source and destination overlap|Argument .* of function|Process terminating|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost)' "$1"
}

# vg WANT NAME -- ARGS...: portier --netns NS ARGS under valgrind must exit
# WANT and report nothing
vg() {
	local want=$1 name=$2 rc=0 why=""
	shift 3
	NCASE=$((NCASE + 1))
	timeout 120 "${VG[@]}" --log-file="$T/vg.log" "$PORTIER" --netns "$NS" "$@" \
		>"$T/out" 2>"$T/err" </dev/null || rc=$?
	if [ "$rc" -eq 99 ] || vg_errors "$T/vg.log"; then
		why="valgrind: $(vg_errors "$T/vg.log" | head -3 | tr '\n' ' ')"
	elif [ "$rc" -ne "$want" ]; then
		why="exited $rc, expected $want: $(head -c 200 "$T/err")"
	fi
	if [ -z "$why" ]; then
		echo "ok $NCASE - $name"
	else
		NFAIL=$((NFAIL + 1))
		echo "# FAIL: $name: $why" >&2
		sed -n '1,40p' "$T/vg.log" | sed 's/^/# /' >&2
		echo "not ok $NCASE - $name"
	fi
}

# a listening socket of the namespace, inherited by portier as fd 9
fd_register() {
	local want=$1 name=$2 addr=$3
	shift 3
	NCASE=$((NCASE + 1))
	local rc=0
	in_ns "$NS" "$E2E_PY" -c '
import os, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
host, port = sys.argv[1].rsplit(":", 1); s.bind((host, int(port))); s.listen(64)
os.dup2(s.fileno(), 9)
os.execvp(sys.argv[2], sys.argv[2:])
' "$addr" "${VG[@]}" --log-file="$T/vg.log" "$PORTIER" --netns "$NS" "$@" \
		>"$T/out" 2>"$T/err" </dev/null || rc=$?
	if [ "$rc" -ne "$want" ] || vg_errors "$T/vg.log"; then
		NFAIL=$((NFAIL + 1))
		echo "# FAIL: $name: exited $rc (want $want): $(head -c 200 "$T/err")" >&2
		sed -n '1,40p' "$T/vg.log" | sed 's/^/# /' >&2
		echo "not ok $NCASE - $name"
	else
		echo "ok $NCASE - $name"
	fi
}

vg 0 "load" -- load
vg 0 "load again (idempotent)" -- load
vg 0 "service add" -- service add web --desc "web app"
fd_register 0 "register --fd" 127.0.0.1:4001 register web --fd 9
vg 0 "bind" -- bind tcp 198.18.0.2/32 80 web
vg 0 "bind a range" -- bind tcp any 1000-1099 web
vg 0 "policy" -- policy tcp 22 drop-new --from 198.18.0.0/15
vg 0 "policy limit" -- policy udp 53 limit 100
vg 0 "watch" -- watch udp 5000-5009
vg 0 "bindings" -- bindings
vg 0 "bindings --json" -- --json bindings
vg 0 "services" -- services
vg 0 "services --json" -- --json services
vg 0 "policies" -- policies
vg 0 "stats" -- stats
vg 0 "stats --json --exact" -- --json stats --exact
vg 0 "stats --port" -- stats --port 80
vg 0 "status" -- status
vg 0 "status --json" -- --json status
# the inherited socket closed with the portier that took it: explain says
# the connection would be refused, with exit status 1
vg 1 "explain" -- explain tcp 198.18.0.2:80 --from 198.18.0.1
vg 0 "dump" -- dump
vg 0 "dump --json" -- --json dump
"$PORTIER" --netns "$NS" dump >"$T/state.conf"
printf 'service add db\nbind tcp 198.18.0.2/32 5432 db\n' >>"$T/state.conf"
vg 0 "apply --check" -- apply --check "$T/state.conf"
vg 0 "apply" -- apply "$T/state.conf"
# error paths free what they took, too
vg 2 "bind: bad ports" -- bind tcp any 99999 web
vg 2 "bind: partial overlap" -- bind tcp any 1050-1150 web
printf 'service add x\nbind tcp any 7 nosuch\n' >"$T/bad.conf"
vg 2 "apply: a file with an error" -- apply "$T/bad.conf"
vg 2 "register: not a socket" -- register web --fd 0
vg 2 "unbind: no such binding" -- unbind tcp any 81
vg 0 "unregister" -- unregister web
vg 0 "unbind" -- unbind tcp 198.18.0.2/32 80
vg 0 "unpolicy" -- unpolicy tcp 22 --from 198.18.0.0/15
vg 0 "unwatch" -- unwatch udp 5000-5009
vg 0 "unload" -- unload
vg 1 "status of nothing loaded" -- bindings

echo "1..$NCASE"
[ "$NFAIL" -eq 0 ]
