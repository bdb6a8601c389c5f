#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Readers take their snapshot under the lock and print after releasing it:
# a reader stuck on a full pipe (4,000 bindings are far more than a pipe
# holds) never holds up a writer. Ordering is read from process state, not
# from clocks: the reader is seen blocked in write(2) on its stdout, a
# `bind` then finishes and its binding is visible while the reader is
# still blocked, and the reader's output, once drained, is the snapshot of
# before the bind. Each namespace has a lock of its own: a command in one
# never waits for one in another.
. "$(dirname "$0")/lib.sh"

NBIND=4000

# loaded_with_bindings VAR: a namespace with service web and NBIND
# bindings (tcp any 10000..10000+NBIND-1).
loaded_with_bindings() {
	local __rns __tmp p
	newns __rns readers
	casetmp __tmp
	pt "$__rns" load >/dev/null
	{
		echo "service add web"
		for ((p = 10000; p < 10000 + NBIND; p++)); do echo "bind tcp any $p web"; done
	} >"$__tmp/state.conf"
	pt "$__rns" apply "$__tmp/state.conf" >/dev/null
	expect_json "$__rns" length "$NBIND" bindings
	printf -v "$1" '%s' "$__rns"
}

# in_write PID: is PID blocked in write(2) on fd 1 (x86-64 and arm64
# number write 1 and 64; /proc/PID/syscall: "NR FD ...")?
in_write() {
	local sc
	sc=$(cat "/proc/$1/syscall" 2>/dev/null) || return 1
	[[ $sc == "1 0x1 "* || $sc == "64 0x1 "* ]]
}

# blocked_reader NS TMP NAME NEWPORT COUNT-CMD WANT ARGS...: run `portier
# ARGS` into a pipe nobody reads yet; once it is blocked writing, `bind tcp
# any NEWPORT web` must finish, and its binding be listed, while the
# reader is still blocked; then drain the reader: exit 0, and COUNT-CMD on
# its output (the snapshot before the bind) prints WANT.
blocked_reader() {
	local ns=$1 tmp=$2 name=$3 newport=$4 count=$5 want=$6 rpid cpid i rc=0
	shift 6
	mkfifo "$tmp/pipe.$name"
	# the consumer opens the pipe at once and reads nothing until told
	(
		exec 3<"$tmp/pipe.$name"
		wait_file "$tmp/go.$name" 60 || exit 1
		cat <&3 >"$tmp/out.$name"
	) &
	cpid=$!
	_PIDS+=("$cpid")
	"$PORTIER" --netns "$ns" "$@" >"$tmp/pipe.$name" 2>"$tmp/err.$name" &
	rpid=$!
	_PIDS+=("$rpid")
	for ((i = 0; i < 400; i++)); do
		in_write "$rpid" && break
		sleep 0.05
	done
	in_write "$rpid" || { fail "'portier $*' never blocked on its output: $(cat "/proc/$rpid/syscall" 2>&1)"; return 1; }
	# a writer now: it must not wait for the reader (20 s: only a bound)
	timeout 20 "$PORTIER" --netns "$ns" bind tcp any "$newport" web ||
		{ fail "bind during a blocked 'portier $*' exited $?"; return 1; }
	in_write "$rpid" || fail "'portier $*' is no longer blocked after the bind"
	expect_eq "$(pt "$ns" --json bindings | jq --argjson p "$newport" '[.[] | select(.port_lo == $p)] | length')" 1 \
		"the new binding, listed while 'portier $*' is blocked"
	in_write "$rpid" || fail "'portier $*' is no longer blocked after the listing"
	touch "$tmp/go.$name"
	wait "$rpid" || rc=$?
	expect_eq "$rc" 0 "exit status of 'portier $*'"
	wait "$cpid" || fail "the consumer of 'portier $*' failed"
	expect_eq "$(cat "$tmp/err.$name")" "" "stderr of 'portier $*'"
	expect_eq "$($count <"$tmp/out.$name")" "$want" "what 'portier $*' printed (the snapshot before the bind)"
}

bindings_rows() { grep -c ' web$'; }
dump_binds() { grep -c '^bind tcp any [0-9]* web$'; }
stats_rows() { grep -cE '^tcp +[0-9]+ +web '; }
json_rows() { jq '[.ports[] | select(.service == "web")] | length'; }

case_bindings_blocked_on_its_pipe_holds_no_writer() {
	local ns tmp
	loaded_with_bindings ns
	casetmp tmp
	blocked_reader "$ns" "$tmp" bindings 20001 bindings_rows "$NBIND" bindings
}

case_dump_blocked_on_its_pipe_holds_no_writer() {
	local ns tmp
	loaded_with_bindings ns
	casetmp tmp
	blocked_reader "$ns" "$tmp" dump 20002 dump_binds "$NBIND" dump
}

case_stats_blocked_on_its_pipe_holds_no_writer() {
	local ns tmp
	loaded_with_bindings ns
	casetmp tmp
	blocked_reader "$ns" "$tmp" stats 20003 stats_rows "$NBIND" stats
	blocked_reader "$ns" "$tmp" stats_json 20004 json_rows "$((NBIND + 1))" --json stats
}

# A's lock held here as A's writers hold it (the pin root shared, then
# A's own lock exclusively): B's writer and reader finish; A's writer waits
# (killed at 2 s, it changed nothing), and one started meanwhile finishes
# once the lock is let go. unload removes the lock with the state.
case_namespaces_lock_apart() {
	local a b dir tmp hpid wpid rc=0
	newns a locka
	newns b lockb
	casetmp tmp
	pt "$a" load >/dev/null
	pt "$b" load >/dev/null
	pt "$a" service add web
	pt "$b" service add web
	dir=$(pt "$a" --json status | jq -r .pin_dir)
	[ -d "${dir}_lock" ] || fail "no lock directory beside $dir"
	# the holder: a process of its own, so no command below inherits the
	# locked descriptors
	(
		exec 8<"$(dirname "$dir")" 9<"${dir}_lock"
		flock -s 8
		flock -x 9
		touch "$tmp/held"
		wait_file "$tmp/release" 60
	) &
	hpid=$!
	_PIDS+=("$hpid")
	wait_file "$tmp/held" 20 || { fail "the holder never took A's lock"; return 1; }
	timeout 10 "$PORTIER" --netns "$b" bind tcp any 81 web || fail "B's bind waited for A's lock ($?)"
	expect_eq "$(timeout 10 "$PORTIER" --netns "$b" --json bindings | jq -c '[.[].port_lo]')" "[81]" \
		"B's bindings, read while A's lock is held"
	timeout 2 "$PORTIER" --netns "$a" bind tcp any 82 web || rc=$?
	expect_eq "$rc" 124 "A's bind while A's lock is held (stopped by timeout)"
	"$PORTIER" --netns "$a" bind tcp any 83 web &
	wpid=$!
	_PIDS+=("$wpid")
	sleep 0.5
	kill -0 "$wpid" 2>/dev/null || fail "A's bind did not wait for A's lock"
	touch "$tmp/release"
	wait "$hpid" || fail "the holder failed"
	timeout 20 tail --pid="$wpid" -f /dev/null || fail "A's bind still waits after the lock was let go"
	wait "$wpid" || fail "A's bind failed once the lock was let go"
	expect_eq "$(pt "$a" --json bindings | jq -c '[.[].port_lo]')" "[83]" "A's bindings"
	pt "$a" unload >/dev/null
	[ ! -e "${dir}_lock" ] || fail "unload left ${dir}_lock"
	[ ! -e "$dir" ] || fail "unload left $dir"
	expect_eq "$(pt "$b" --json bindings | jq -c '[.[].port_lo]')" "[81]" "B's bindings after A's unload"
}

run_cases
