#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A service's sockets: up to 64 per protocol and family, flows spread by
# the 4-tuple; replacing them atomically without failing a connection;
# falling through (counted) once the process is gone.
. "$(dirname "$0")/lib.sh"

case_64_sockets_spread_by_4tuple() {
	local ns tmp spread big addrs=() i
	newns ns spread
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	for i in $(seq 0 63); do addrs+=("127.0.0.1:$((4000 + i))"); done
	pyserve spread "$ns" spread --index "${addrs[@]}"
	pt "$ns" register spread --pid "$spread" --all
	pt "$ns" bind tcp 198.18.0.2/32 80 spread
	expect_json "$ns" '.[0].sockets | length' 64 services
	expect_json "$ns" "[.[0].sockets[] | select(.pid == $spread and .proto == \"tcp\")] | length" 64 services
	# 48 source ports, each used three times (closed with RST: no TIME_WAIT)
	ptnet "$ns" loop 198.18.0.2 80 144 --sports 40000-40047 --out "$tmp/out"
	expect_eq "$(grep -c FAIL "$tmp/out" || true)" 0 "failed connections"
	expect_eq "$(lines "$tmp/out")" 144 "connections made"
	# one flow, one socket: a source port always meets the same listener
	expect_eq "$(awk '{print $1, $3}' "$tmp/out" | sort -u | wc -l)" 48 \
		"distinct (source port, socket) pairs for 48 source ports"
	# and the flows are spread: 48 flows over 64 sockets use many of them
	local used
	used=$(awk '{print $3}' "$tmp/out" | sort -u | wc -l)
	[ "$used" -ge 8 ] || fail "48 flows used only $used of 64 sockets"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 144 "tcp 80 steered"
	# the same again from another source address: the same sockets per port
	ip -n "$ns" addr add 198.18.0.9/32 dev lo
	ptnet "$ns" loop 198.18.0.2 80 96 --src 198.18.0.9 --sports 40000-40047 --out "$tmp/out2"
	expect_eq "$(grep -c FAIL "$tmp/out2" || true)" 0 "failed connections from 198.18.0.9"
	expect_eq "$(awk '{print $1, $3}' "$tmp/out2" | sort -u | wc -l)" 48 \
		"distinct (source port, socket) pairs from 198.18.0.9"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 240 "tcp 80 steered, both sources"
	# a 65th socket is one too many: refused, the 64 stay
	addrs=()
	for i in $(seq 0 64); do addrs+=("127.0.0.1:$((4100 + i))"); done
	pyserve big "$ns" big --index "${addrs[@]}"
	expect_bad "$ns" register spread --pid "$big" --all
	expect_eq "$(pt_err "$ns" register spread --pid "$big" --all)" \
		"portier: register: more than 64 tcp sockets of one family for 'spread'" "the refusal of 65"
	# refused before anything changed: a new name is not even declared
	expect_bad "$ns" register newcomer --pid "$big" --all
	expect_json "$ns" 'map(.name) | join(",")' spread services
	expect_json "$ns" "[.[0].sockets[] | select(.pid == $spread)] | length" 64 services
	expect_eq "$(ptnet "$ns" loop 198.18.0.2 80 1 | cut -d' ' -f2)" spread "still the 64"
}

case_swap_sockets_without_failures() {
	local ns tmp a b holder looper n_at total
	newns ns swap
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve a "$ns" a 127.0.0.1:4001
	pyserve b "$ns" b 127.0.0.1:4002
	pt "$ns" register web --pid "$a"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	# a long-lived connection to A, established before the swap
	spawn holder "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" hold 198.18.0.2 80 "$tmp/trigger" "$tmp/hold"
	wait_lines "$tmp/hold" 1 5
	expect_eq "$(head -1 "$tmp/hold")" a "long-lived connection greeting"
	# connections one after the other, 2 s timeout each, paced: 100 before
	# the swap, as many as it takes during it, 100 after (3000 at most)
	spawn looper "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 3000 \
		--delay 0.002 --timeout 2 --out "$tmp/loop" --stop-after "$tmp/swapped:100"
	wait_lines "$tmp/loop" 100 10
	pt "$ns" register web --pid "$b"
	n_at=$(lines "$tmp/loop")
	touch "$tmp/swapped"
	wait_exit "$looper" 60
	total=$(lines "$tmp/loop")
	if [ "$total" -lt $((n_at + 100)) ] || [ "$total" -ge 3000 ]; then
		fail "$total connections, expected 100 after the swap at $n_at"
	fi
	expect_eq "$(grep -c FAIL "$tmp/loop" || true)" 0 "failed connections during the swap"
	# A until the switch, B after it, nothing mixed
	expect_eq "$(cut -d' ' -f2 "$tmp/loop" | uniq | tr '\n' ' ')" "a b " "replies in order"
	expect_eq "$(tail -n +$((n_at + 2)) "$tmp/loop" | grep -vc ' b$' || true)" 0 \
		"replies not from B after register returned (one may be in flight)"
	# the established connection to A was not touched
	touch "$tmp/trigger"
	wait_exit "$holder" 10
	expect_eq "$(sed -n 2p "$tmp/hold")" ping "echo on the old connection after the swap"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" $((total + 1)) "tcp 80 steered"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 0 "tcp 80 no_socket"
	expect_json "$ns" '.[0].sockets | map("\(.local) \(.pid)") | join(",")' "127.0.0.1:4002 $b" services
}

case_fall_through_after_server_exit() {
	# shellcheck disable=SC2034 # plain: the PID spawn stores, for the teardown
	local ns x plain y
	newns ns gone
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve x "$ns" x 127.0.0.1:4001
	pt "$ns" register web --pid "$x"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" x "before the exit"
	kill "$x"
	wait "$x" 2>/dev/null || true
	# the kernel dropped the socket from the map: nothing to steer to
	expect_json "$ns" '.[0].sockets | length' 0 services
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 1 "tcp 80 steered"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 3 "tcp 80 no_socket"
	# falls through to the normal lookup: a socket bound there answers
	serve plain "$ns" tcp 198.18.0.2 80 plain
	wait_listen "$ns" tcp 80
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" plain "the normal lookup"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 4 "tcp 80 no_socket, normal lookup"
	# a new server registered: steered again, ahead of the bound socket
	pyserve y "$ns" y 127.0.0.1:4002
	pt "$ns" register web --pid "$y"
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" y "after a new register"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 2 "tcp 80 steered at the end"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 4 "tcp 80 no_socket at the end"
}

case_config_churn_keeps_connections() {
	local ns tmp a looper n=0
	newns ns churn
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve a "$ns" a 127.0.0.1:4001
	pt "$ns" register web --pid "$a"
	pt "$ns" service add other
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	spawn looper "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 300 \
		--delay 0.002 --timeout 2 --out "$tmp/loop"
	# every commit flips the generation of the tables the packets read;
	# re-registering the same sockets flips their bank
	while kill -0 "$looper" 2>/dev/null && [ "$n" -lt 100 ]; do
		pt "$ns" bind tcp any 1000-2000 other
		pt "$ns" bind tcp 198.18.0.0/24 81 other
		pt "$ns" bind tcp 198.18.0.2/32 80 web
		pt "$ns" unbind tcp any 1000-2000
		pt "$ns" unbind tcp 198.18.0.0/24 81
		pt "$ns" register web --pid "$a"
		n=$((n + 1))
	done
	wait_exit "$looper" 60
	[ "$n" -ge 1 ] || fail "no round of changes during the connections"
	expect_eq "$(lines "$tmp/loop")" 300 "connections made"
	expect_eq "$(count_replies "$tmp/loop")" "a 300" "replies during the changes"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 300 "tcp 80 steered"
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 0 "tcp 80 no_socket"
}

run_cases
