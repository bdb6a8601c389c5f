#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# top: the live screen, driven in a detached 80x24 tmux session against a
# building with a bound port and visitors; and its plain snapshots when
# stdout is not a terminal.
. "$(dirname "$0")/lib.sh"

# building VAR_NS VAR_STREET: two namespaces joined by a veth pair, portier
# loaded with the guard on the building's side, Irene bound on port 80.
building() {
	local __b __s __irene
	newns __b bldg
	newns __s street
	veth_pair "$__b" lobby 198.18.0.2/24 "$__s" door 198.18.0.1/24
	pt "$__b" load --xdp lobby >/dev/null
	serve __irene "$__b" tcp 127.0.0.1 3003 irene
	wait_listen "$__b" tcp 3003
	pt "$__b" register irene --pid "$__irene"
	pt "$__b" bind tcp 198.18.0.2 80 irene
	printf -v "$1" '%s' "$__b"
	printf -v "$2" '%s' "$__s"
}

# A private tmux server per case: its socket in the case's temporary
# directory, the server killed by the teardown (by its PID).
TMUX_SOCK=
tm() { tmux -S "$TMUX_SOCK" "$@"; }

# tmux_start CMD: run CMD (a shell line) in a detached 80x24 session.
tmux_start() {
	local pid dir
	casetmp dir
	TMUX_SOCK=$dir/tmux.sock
	tm new-session -d -s top -x 80 -y 24 "$1" || return 1
	pid=$(tm display-message -p -t top '#{pid}') || return 1
	_PIDS+=("$pid")
}

# wait_pane REGEX SECONDS: wait (bounded) until the pane shows REGEX.
wait_pane() {
	local re=$1 n=$(($2 * 10)) i
	for ((i = 0; i < n; i++)); do
		tm capture-pane -p -t top 2>/dev/null | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	fail "the pane never showed /$re/ within $2 s: $(tm capture-pane -p -t top 2>/dev/null)"
}

case_top_screen_in_tmux() {
	local ns st tmp pane row rate i traffic
	building ns st
	casetmp tmp
	# more counted ports than fit on 24 lines: top shows "+N more"
	pt "$ns" watch tcp 9000-9015
	pt "$ns" watch udp 9000-9003
	# visitors keep coming while top watches (bounded: 150 connections)
	spawn traffic "$st" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 150 --delay 0.05 --timeout 1
	tmux_start "env LANG=C.UTF-8 '$PORTIER' --netns '$ns' top --interval 0.5; echo \$? >'$tmp/rc'"
	wait_pane '^PROTO +PORT +SERVICE +PKTS/S +BYTES/S +DROP/S +STEER/S +HISTORY' 5
	# the row of port 80, busiest first, with a non-zero packet rate
	for i in $(seq 1 50); do
		row=$(tm capture-pane -p -t top | awk '$1 == "tcp" && $2 == "80"')
		rate=$(awk '{print $4}' <<<"$row")
		[ -n "$rate" ] && [ "$rate" != 0 ] && break
		sleep 0.1
	done
	[ -n "$rate" ] && [ "$rate" != 0 ] || { fail "no non-zero rate for tcp 80: '$row'"; return 1; }
	pane=$(tm capture-pane -p -t top)
	expect_eq "$(sed -n 4p <<<"$pane" | awk '{print $1, $2, $3}')" "tcp 80 irene" "the busiest row comes first"
	[[ $row =~ [▁▂▃▄▅▆▇█]+$ ]] || fail "no sparkline on the row of port 80: '$row'"
	grep -q '^portier top - netns [0-9]* - every 0.5s' <<<"$pane" || fail "title: $pane"
	grep -Eq '^\+[0-9]+ more' <<<"$pane" || fail "no '+N more' with 21 counted ports on 24 lines: $pane"
	grep -Eq '^udp +ephemeral +\(other ports\)' <<<"$pane" || fail "no class rows: $pane"
	grep -q '^per second: guard malformed' <<<"$pane" || fail "no globals line: $pane"
	expect_eq "$(wc -l <<<"$pane")" 24 "lines of the pane"
	# q quits, and the terminal is restored (exit status 0)
	tm send-keys -t top q
	wait_file "$tmp/rc" 5
	expect_eq "$(cat "$tmp/rc")" 0 "top's exit status after q"
}

case_top_ctrl_c_restores_terminal() {
	local ns st tmp
	building ns st
	casetmp tmp
	tmux_start "'$PORTIER' --netns '$ns' top; echo \"rc=\$?\"; touch '$tmp/done'; sleep 30"
	wait_pane '^PROTO +PORT' 5
	tm send-keys -t top C-c
	wait_file "$tmp/done" 5
	wait_pane '^rc=0$' 2
	# after endwin the screen is the shell's again, not top's
	tm capture-pane -p -t top | grep -q '^PROTO' && fail "top's screen left behind after Ctrl-C"
	true
}

case_top_snapshots_when_not_a_tty() {
	local ns st out
	building ns st
	expect_eq "$(tcp_get "$st" 198.18.0.2 80)" irene "a visitor"
	out=$(pt "$ns" top --interval 0.2 --count 3 </dev/null)
	expect_eq "$(grep -c '^portier top - netns' <<<"$out")" 3 "snapshots"
	expect_eq "$(grep -c '^tcp  *80  *irene ' <<<"$out")" 3 "rows of port 80"
	# one snapshot by default
	expect_eq "$(pt "$ns" top --interval 0.1 | grep -c '^PROTO')" 1 "default count off a terminal"
	# --json: one document per snapshot
	out=$(pt "$ns" --json top --interval 0.1 --count 2)
	expect_eq "$(jq -s 'length' <<<"$out")" 2 "JSON documents"
	expect_eq "$(jq -s -r '.[0].ports[] | select(.port == 80) | .service' <<<"$out")" irene "JSON row of port 80"
	expect_eq "$(jq -s -r '.[1].classes | length' <<<"$out")" 6 "JSON class rows"
	expect_bad "$ns" top --interval 0.05
	expect_bad "$ns" top --interval 3601
	expect_bad "$ns" top --interval soon
	expect_bad "$ns" top --count 0
	expect_bad "$ns" top extra
	# not loaded: one clear line, exit 1
	pt "$ns" unload >/dev/null
	expect_rc 1 pt "$ns" top --count 1
}

run_cases
