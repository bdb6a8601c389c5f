#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# exporter hardening: with --netns it listens in its caller's namespace
# and reports the target's counters; slow clients cannot starve a scrape
# (8 connections per client address, 64 in all, 10 s per connection
# however busy). Every exporter runs in a "host" namespace the case made,
# with --netns pointing at another; clients come from loopback addresses
# there (127.0.0.0/8 is all local).
. "$(dirname "$0")/lib.sh"

PORT=9469

# host_and_target VAR_HOST VAR_TARGET: two namespaces; portier loaded in
# the target, none in the host.
host_and_target() {
	local __h __t
	newns __h host
	newns __t target
	pt "$__t" load >/dev/null
	printf -v "$1" '%s' "$__h"
	printf -v "$2" '%s' "$__t"
}

# exporter_in VAR HOST TARGET DIR ARGS...: `portier --netns TARGET
# exporter ARGS` started from inside HOST (stdout, stderr in DIR/ex.out,
# DIR/ex.err); PID in VAR. Waits (bounded) until it answers.
exporter_in() {
	local __var=$1 __h=$2 __t=$3 __dir=$4 __pid i
	shift 4
	nsenter --net="/run/netns/$__h" "$PORTIER" --netns "$__t" exporter "$@" >"$__dir/ex.out" 2>"$__dir/ex.err" &
	__pid=$!
	_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
	for i in $(seq 1 50); do
		in_ns "$__h" curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/metrics" && return 0
		sleep 0.1
	done
	fail "the exporter did not answer within 5 s: $(cat "$__dir/ex.err")"
}

# code HOST [CURL-ARGS...]: the HTTP status of one scrape from HOST
# (000: no answer at all), bounded by --max-time.
code() {
	local h=$1
	shift
	in_ns "$h" curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/metrics" || true
}

# slow VAR HOST STATUS LIFETIME SRC:COUNT...: slow clients (helpers/slowloris.py),
# one header line a second; PID in VAR.
slow() {
	local __var=$1 __h=$2 status=$3 life=$4
	shift 4
	spawn "$__var" "$__h" "$E2E_PY" "$E2E_HELPERS/slowloris.py" 127.0.0.1 "$PORT" "$status" "$life" 1 "$@"
}

# wait_status FILE WANT SECONDS: wait (bounded) until FILE says WANT.
wait_status() {
	local f=$1 want=$2 n=$(($3 * 10)) i
	for ((i = 0; i < n; i++)); do
		[ "$(cat "$f" 2>/dev/null)" == "$want" ] && return 0
		sleep 0.1
	done
	fail "slow clients: expected '$want' within $3 s, got '$(cat "$f" 2>/dev/null)'"
}

# stop_exporter PID DIR: SIGTERM, status 0, and nothing on stderr but the
# stop line (libmicrohttpd's messages about refused clients stay quiet).
stop_exporter() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	expect_eq "$rc" 0 "exporter's exit status after SIGTERM"
	expect_eq "$(cat "$2/ex.err")" "portier: exporter: stopped by SIGTERM" "exporter's stderr"
}

# `portier --netns T exporter` run from H: it listens in H (nothing in T),
# answers there, and reports T's state and counters, equal to `stats`.
case_netns_exporter_listens_in_the_callers_namespace() {
	local h t tmp ex irene m1 m2 i lst
	host_and_target h t
	casetmp tmp
	serve irene "$t" tcp 127.0.0.1 3003 irene
	wait_listen "$t" tcp 3003
	pt "$t" register irene --pid "$irene"
	pt "$t" bind tcp 127.0.0.1 80 irene
	for i in 1 2 3; do
		expect_eq "$(tcp_get "$t" 127.0.0.1 80)" irene "visitor $i in the target"
	done
	exporter_in ex "$h" "$t" "$tmp" --listen "127.0.0.1:$PORT"
	expect_eq "$(cat "$tmp/ex.out")" "exporter: serving http://127.0.0.1:$PORT/metrics" "exporter's first line"
	lst=$(in_ns "$h" ss -H -ltnp "sport = :$PORT")
	expect_eq "$(awk '{print $4}' <<<"$lst")" "127.0.0.1:$PORT" "the listener in the host namespace"
	grep -qF "pid=$ex," <<<"$lst" || fail "the host's listener is not the exporter's: $lst"
	expect_eq "$(in_ns "$t" ss -H -ltn "sport = :$PORT" | wc -l)" 0 "listeners on port $PORT in the target"
	m1=$(in_ns "$h" curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics")
	grep -qx 'portier_loaded 1' <<<"$m1" || fail "portier_loaded: $(grep loaded <<<"$m1")"
	grep -qx 'portier_bindings 1' <<<"$m1" || fail "portier_bindings: $(grep '^portier_bindings' <<<"$m1")"
	grep -qx 'portier_port_steered_total{proto="tcp",port="80",service="irene"} 3' <<<"$m1" ||
		fail "the target's steered count: $(grep 'steered_total' <<<"$m1")"
	expect_eq "$(stat_of "$t" tcp 80 steered)" 3 "stats in the target"
	# the scrapes travel over the host's loopback: the target's dispatcher
	# never sees them, so its unbound lookups stand still between scrapes
	m2=$(in_ns "$h" curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics")
	expect_eq "$(grep '^portier_unbound_lookups_total ' <<<"$m2")" \
		"$(grep '^portier_unbound_lookups_total ' <<<"$m1")" "the target's unbound lookups across two scrapes"
	expect_eq "$(grep '^portier_unbound_lookups_total ' <<<"$m2")" \
		"portier_unbound_lookups_total $(pt "$t" --json stats | jq .unbound_lookups)" "unbound lookups vs stats"
	# the exporter follows the target's state: unload, then load again
	pt "$t" unload >/dev/null
	# the whole body first: grep -q stops at its match, and curl must not see a closed pipe
	grep -qx 'portier_loaded 0' <<<"$(in_ns "$h" curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics")" ||
		fail "portier_loaded 0 after the target's unload"
	pt "$t" load >/dev/null
	# the whole body first: grep -q stops at its match, and curl must not see a closed pipe
	grep -qx 'portier_loaded 1' <<<"$(in_ns "$h" curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics")" ||
		fail "portier_loaded 1 after the target's load"
	stop_exporter "$ex" "$tmp"
}

# A --netns that does not exist: exit 2, one line, nothing listens.
case_netns_exporter_bad_namespace() {
	local h rc=0 err
	newns h host
	err=$(in_ns "$h" timeout 10 "$PORTIER" --netns "$E2E_TAG-nosuch" exporter --listen "127.0.0.1:$PORT" 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "exit status"
	expect_eq "$err" "portier: --netns $E2E_TAG-nosuch: no such network namespace (No such file or directory)" "stderr"
	expect_eq "$(in_ns "$h" ss -H -ltn | wc -l)" 0 "listeners in the host"
}

# 12 slow clients from one address: 8 are held, 4 refused at once; a
# scrape from another address succeeds while the 8 are connected, a
# scrape from theirs is refused; each of the 8 is cut at its deadline
# while still sending, and then their address is served again.
case_per_client_cap_and_deadline() {
	local h t tmp ex sl
	host_and_target h t
	casetmp tmp
	exporter_in ex "$h" "$t" "$tmp"
	slow sl "$h" "$tmp/slow" 60 127.0.0.2:12
	wait_status "$tmp/slow" "connected 12 refused 4 open 8 cut 0 answered 0" 10
	expect_eq "$(code "$h" --max-time 10)" 200 "a scrape from 127.0.0.1 beside 8 slow clients"
	expect_eq "$(code "$h" --max-time 10 --interface 127.0.0.2)" 000 "a 9th connection from 127.0.0.2"
	expect_eq "$(cat "$tmp/slow")" "connected 12 refused 4 open 8 cut 0 answered 0" "slow clients after the scrapes"
	# the deadline: the server cuts all 8 while they still send (the
	# helper lives 60 s; 30 s is a generous bound for a 10 s deadline)
	wait_status "$tmp/slow" "connected 12 refused 4 open 0 cut 8 answered 0" 30
	kill -0 "$sl" 2>/dev/null || fail "the slow clients' process ended before the server cut them"
	expect_eq "$(code "$h" --max-time 10 --interface 127.0.0.2)" 200 "a scrape from 127.0.0.2 after the cut"
	kill "$sl"
	stop_exporter "$ex" "$tmp"
}

# 64 slow clients from 8 addresses take every connection: a scrape waits
# in the listen queue and succeeds (within a generous bound) once the
# deadline has cut them, while they are still trying to send.
case_full_server_scrape_succeeds_after_deadline() {
	local h t tmp ex sl srcs=() i m
	host_and_target h t
	casetmp tmp
	pt "$t" watch udp 5000 2>/dev/null
	exporter_in ex "$h" "$t" "$tmp"
	for i in 2 3 4 5 6 7 8 9; do srcs+=("127.0.0.$i:8"); done
	slow sl "$h" "$tmp/slow" 60 "${srcs[@]}"
	wait_status "$tmp/slow" "connected 64 refused 0 open 64 cut 0 answered 0" 10
	m=$(in_ns "$h" curl -sf --max-time 30 "http://127.0.0.1:$PORT/metrics") ||
		fail "no scrape within 30 s of 64 slow clients: $(cat "$tmp/slow")"
	grep -qx 'portier_watches 1' <<<"$m" || fail "the scrape's portier_watches: $(grep watches <<<"$m")"
	wait_status "$tmp/slow" "connected 64 refused 0 open 0 cut 64 answered 0" 30
	kill -0 "$sl" 2>/dev/null || fail "the slow clients' process ended before the server cut them"
	kill "$sl"
	stop_exporter "$ex" "$tmp"
}

run_cases
