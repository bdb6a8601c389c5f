#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Exact counters: every steered connection or datagram counted once, on the
# row of its port (or wide range); unbound traffic untouched and uncounted
# there; `stats --proto/--port/--service` return exactly the matching rows.
. "$(dirname "$0")/lib.sh"

# rows NS ARGS...: the port rows of `stats --json ARGS` as
# "proto port[-hi] service steered no_socket", one line each, sorted.
rows() {
	local ns=$1
	shift
	pt "$ns" --json stats "$@" |
		jq -r '.ports[] | "\(.proto) \(.port)\(if .port_hi then "-\(.port_hi)" else "" end) \(.service) \(.steered) \(.no_socket)"' |
		LC_ALL=C sort
}

case_exact_counters_and_filters() {
	# shellcheck disable=SC2034 # direct: the PID spawn stores, for the teardown
	local ns tmp web alt dns direct
	newns ns count
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve web "$ns" web 127.0.0.1:3001
	pyserve alt "$ns" alt 127.0.0.1:3002
	pyserve dns "$ns" dns --udp --pktinfo 127.0.0.1:5353
	serve direct "$ns" tcp 198.18.0.2 8080 direct
	wait_listen "$ns" tcp 8080
	pt "$ns" register web --pid "$web"
	pt "$ns" register alt --pid "$alt"
	pt "$ns" register dns --pid "$dns"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	pt "$ns" bind tcp 198.18.0.2/32 443 alt
	pt "$ns" bind tcp 198.18.0.2/32 53 alt
	pt "$ns" bind udp 198.18.0.2/32 53 dns
	pt "$ns" bind tcp any 9000-9099 web
	# nothing yet
	expect_eq "$(rows "$ns" | awk '{s += $4 + $5} END {print s + 0}')" 0 "counters before traffic"
	# bound traffic
	ptnet "$ns" loop 198.18.0.2 80 25 --out "$tmp/80"
	ptnet "$ns" loop 198.18.0.2 443 7 --out "$tmp/443"
	ptnet "$ns" loop 198.18.0.2 53 3 --out "$tmp/53"
	ptnet "$ns" loop 127.0.0.1 9000 4 --out "$tmp/9000"
	ptnet "$ns" loop 198.18.0.2 9099 2 --out "$tmp/9099"
	for i in 1 2 3 4 5; do ptnet "$ns" udp 198.18.0.2 53 --connect >>"$tmp/u53"; done
	expect_eq "$(count_replies "$tmp/80")" "web 25" "replies on 80"
	expect_eq "$(count_replies "$tmp/443")" "alt 7" "replies on 443"
	expect_eq "$(count_replies "$tmp/53")" "alt 3" "replies on tcp 53"
	expect_eq "$(count_replies "$tmp/9000")" "web 4" "replies on 9000"
	expect_eq "$(count_replies "$tmp/9099")" "web 2" "replies on 9099"
	expect_eq "$(sort "$tmp/u53" | uniq -c | awk '{print $1, $2}')" "5 dns" "replies on udp 53"
	# unbound traffic: a port nobody listens on, a socket bound directly,
	# the servers' own ports, a port just outside the range
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:81
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:9100
	expect_eq "$(tcp_get "$ns" 198.18.0.2 8080)" direct "a socket bound directly"
	expect_eq "$(tcp_get "$ns" 127.0.0.1 3001)" web "the server's own port"
	expect_eq "$(ptnet "$ns" udp 127.0.0.1 5353 --connect)" "dns 127.0.0.1 5353" "the UDP server's own port"
	# the rows: exactly the bound ports and the wide range, exactly counted
	expect_eq "$(rows "$ns" | tr '\n' ';')" \
		"tcp 443 alt 7 0;tcp 53 alt 3 0;tcp 80 web 25 0;tcp 9000-9099 web 6 0;udp 53 dns 5 0;" \
		"all port rows"
	# filters
	expect_eq "$(rows "$ns" --port 80 | tr '\n' ';')" "tcp 80 web 25 0;" "--port 80"
	expect_eq "$(rows "$ns" --port 53 | tr '\n' ';')" "tcp 53 alt 3 0;udp 53 dns 5 0;" "--port 53"
	expect_eq "$(rows "$ns" --port 53 --proto udp | tr '\n' ';')" "udp 53 dns 5 0;" "--port 53 --proto udp"
	expect_eq "$(rows "$ns" --port 9050 | tr '\n' ';')" "tcp 9000-9099 web 6 0;" "--port 9050 (in the range)"
	expect_eq "$(rows "$ns" --port 81 | tr '\n' ';')" "" "--port 81 (not counted individually)"
	expect_eq "$(rows "$ns" --proto udp | tr '\n' ';')" "udp 53 dns 5 0;" "--proto udp"
	expect_eq "$(rows "$ns" --proto tcp | wc -l)" 4 "--proto tcp"
	expect_eq "$(rows "$ns" --service web | tr '\n' ';')" "tcp 80 web 25 0;tcp 9000-9099 web 6 0;" "--service web"
	expect_eq "$(rows "$ns" --service alt | tr '\n' ';')" "tcp 443 alt 7 0;tcp 53 alt 3 0;" "--service alt"
	expect_eq "$(rows "$ns" --service dns --proto tcp | tr '\n' ';')" "" "--service dns --proto tcp"
	expect_eq "$(rows "$ns" --service web --port 443 | tr '\n' ';')" "" "--service web --port 443"
	# class rows: all six without a filter, the protocol's three with
	# --proto, none once a port or service is asked for
	expect_json "$ns" '.classes | map("\(.proto) \(.class)") | join(",")' \
		"tcp well-known,tcp registered,tcp ephemeral,udp well-known,udp registered,udp ephemeral" stats
	expect_json "$ns" '.classes | map("\(.proto) \(.class)") | join(",")' \
		"udp well-known,udp registered,udp ephemeral" stats --proto udp
	expect_json "$ns" '.classes | length' 0 stats --port 80
	expect_json "$ns" '.classes | length' 0 stats --service web
	# a port bound later starts from zero; counters of the others stay
	pt "$ns" bind tcp 198.18.0.2/32 8443 alt
	expect_eq "$(rows "$ns" --port 8443 | tr '\n' ';')" "tcp 8443 alt 0 0;" "a new binding"
	expect_eq "$(rows "$ns" --port 80 | tr '\n' ';')" "tcp 80 web 25 0;" "port 80 after another bind"
}

case_narrow_range_counted_per_port() {
	local ns tmp web
	newns ns narrow
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve web "$ns" web 127.0.0.1:3001
	pt "$ns" register web --pid "$web"
	# a narrow range is counted port by port
	pt "$ns" bind tcp 198.18.0.2/32 7000-7003 web
	ptnet "$ns" loop 198.18.0.2 7000 3 --out "$tmp/a"
	ptnet "$ns" loop 198.18.0.2 7002 2 --out "$tmp/b"
	expect_eq "$(rows "$ns" | tr '\n' ';')" \
		"tcp 7000 web 3 0;tcp 7001 web 0 0;tcp 7002 web 2 0;tcp 7003 web 0 0;" "per-port rows"
	# a process exit: every attempt after it is no_socket, exactly
	kill "$web"
	wait "$web" 2>/dev/null || true
	ptnet "$ns" loop 198.18.0.2 7001 4 --out "$tmp/c"
	expect_eq "$(count_replies "$tmp/c")" "FAIL ECONNREFUSED 4" "after the exit"
	expect_eq "$(rows "$ns" | tr '\n' ';')" \
		"tcp 7000 web 3 0;tcp 7001 web 0 4;tcp 7002 web 2 0;tcp 7003 web 0 0;" "rows after the exit"
}

run_cases
