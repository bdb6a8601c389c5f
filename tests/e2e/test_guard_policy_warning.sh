#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# policy, watch and apply with no guard attached anywhere succeed (exit 0,
# the state changed) with exactly one warning line on stderr, so an
# operator does not believe a port is closed; with the guard on an
# interface they say nothing; --json keeps one JSON document on stdout.
. "$(dirname "$0")/lib.sh"

HINT="until 'portier load --xdp IFACE'"
W_POLICY="portier: warning: no interface has the guard: this policy is not enforced $HINT"
W_WATCH="portier: warning: no interface has the guard: these ports are not counted $HINT"
W_APPLY_P="portier: warning: no interface has the guard: the policies of this file are not enforced $HINT"
W_APPLY_W="portier: warning: no interface has the guard: the watched ports of this file are not counted $HINT"

# run_pt DIR NS ARGS...: portier ARGS against NS; exit status in DIR/rc,
# stdout in DIR/out, stderr in DIR/err.
run_pt() {
	local dir=$1 ns=$2 rc=0
	shift 2
	"$PORTIER" --netns "$ns" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
	echo "$rc" >"$dir/rc"
}

# expect_run DIR RC STDERR WHAT: the last run_pt's status and whole stderr.
expect_run() {
	expect_eq "$(cat "$1/rc")" "$2" "$4: exit status"
	expect_eq "$(cat "$1/err")" "$3" "$4: stderr"
}

# the configuration files of the cases
write_confs() {
	printf '%s\n' "service add web" "bind tcp any 8080 web" "policy tcp 22 drop" \
		"policy udp 53 limit 100 --from 198.18.0.0/24" "watch udp 5000" >"$1/full.conf"
	printf '%s\n' "watch udp 5000-5001" >"$1/watches.conf"
	printf '%s\n' "service add web" "bind tcp any 8080 web" >"$1/binds.conf"
}

case_no_guard_policy_watch_apply_warn_once() {
	local ns tmp
	newns ns noguard
	casetmp tmp
	write_confs "$tmp"
	pt "$ns" load >/dev/null
	run_pt "$tmp" "$ns" policy tcp 22 drop
	expect_run "$tmp" 0 "$W_POLICY" "policy tcp 22 drop"
	expect_eq "$(cat "$tmp/out")" "" "policy's stdout"
	expect_json "$ns" '[.[] | "\(.proto) \(.port_lo) \(.action)"] | join(",")' "tcp 22 drop" policies
	run_pt "$tmp" "$ns" policy tcp 23 limit 10 --from 198.18.0.0/24
	expect_run "$tmp" 0 "$W_POLICY" "policy tcp 23 limit 10 --from"
	run_pt "$tmp" "$ns" watch udp 53
	expect_run "$tmp" 0 "$W_WATCH" "watch udp 53"
	expect_json "$ns" '[.watches[] | "\(.proto) \(.port_lo)-\(.port_hi)"] | join(",")' "udp 53-53" dump
	# --json: the warning on stderr, stdout empty or one JSON document
	run_pt "$tmp" "$ns" --json policy udp 99 drop-new
	expect_run "$tmp" 0 "$W_POLICY" "--json policy udp 99 drop-new"
	[ ! -s "$tmp/out" ] || jq -e . "$tmp/out" >/dev/null || fail "--json policy: stdout is not JSON: $(cat "$tmp/out")"
	# removing says nothing; a rejected command says only its error
	run_pt "$tmp" "$ns" unpolicy tcp 23 --from 198.18.0.0/24
	expect_run "$tmp" 0 "" "unpolicy"
	run_pt "$tmp" "$ns" unwatch udp 53
	expect_run "$tmp" 0 "" "unwatch"
	run_pt "$tmp" "$ns" policy tcp 70000 drop
	expect_eq "$(cat "$tmp/rc")" 2 "policy tcp 70000: exit status"
	expect_eq "$(grep -c . "$tmp/err")" 1 "policy tcp 70000: stderr lines"
	grep -q warning "$tmp/err" && fail "a rejected policy warned: $(cat "$tmp/err")"
	# apply: one warning for the file, however many policies it holds
	run_pt "$tmp" "$ns" apply "$tmp/full.conf"
	expect_run "$tmp" 0 "$W_APPLY_P" "apply full.conf"
	expect_json "$ns" 'length' 2 policies
	run_pt "$tmp" "$ns" --json apply "$tmp/full.conf"
	expect_run "$tmp" 0 "$W_APPLY_P" "--json apply full.conf"
	expect_eq "$(jq -r .result "$tmp/out")" applied "--json apply: the JSON document on stdout"
	run_pt "$tmp" "$ns" apply "$tmp/watches.conf"
	expect_run "$tmp" 0 "$W_APPLY_W" "apply watches.conf"
	run_pt "$tmp" "$ns" apply "$tmp/binds.conf"
	expect_run "$tmp" 0 "" "apply binds.conf (no policy, no watch)"
	run_pt "$tmp" "$ns" apply --check "$tmp/full.conf"
	expect_run "$tmp" 0 "" "apply --check full.conf (nothing applied)"
	expect_json "$ns" 'length' 0 policies
}

# With the guard on an interface: no warning. Once that interface is gone,
# the guard runs nowhere: the warning is back.
case_guard_attached_no_warning_until_its_interface_goes() {
	local ns st tmp
	newns ns guarded
	newns st street
	casetmp tmp
	write_confs "$tmp"
	veth_pair "$ns" lobby 198.18.0.2/24 "$st" door 198.18.0.1/24
	pt "$ns" load --xdp lobby >/dev/null
	run_pt "$tmp" "$ns" policy tcp 22 drop
	expect_run "$tmp" 0 "" "policy with the guard on lobby"
	run_pt "$tmp" "$ns" watch udp 53
	expect_run "$tmp" 0 "" "watch with the guard on lobby"
	run_pt "$tmp" "$ns" --json apply "$tmp/full.conf"
	expect_run "$tmp" 0 "" "--json apply full.conf with the guard on lobby"
	expect_eq "$(jq -r .result "$tmp/out")" applied "--json apply: the JSON document on stdout"
	ip -n "$ns" link del lobby
	run_pt "$tmp" "$ns" policy tcp 22 drop-new
	expect_run "$tmp" 0 "$W_POLICY" "policy after lobby was deleted"
	run_pt "$tmp" "$ns" watch udp 54
	expect_run "$tmp" 0 "$W_WATCH" "watch after lobby was deleted"
}

run_cases
