#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The receptionist: port 80 of 198.18.0.2 reaches Irene on 127.0.0.1:3003.
. "$(dirname "$0")/lib.sh"

case_tcp_port80_to_loopback_irene() {
	local ns irene
	newns ns bldg
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	pt "$ns" service add irene --desc "web app dev server"
	pt "$ns" bind tcp 198.18.0.2/32 80 irene
	pt "$ns" register irene --pid "$irene"
	# before: nothing listens on 198.18.0.2:80 but portier's binding
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" irene "reply through port 80"
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" irene "second connection"
	expect_json "$ns" '.ports[] | select(.port==80) | .steered' 2 stats
	expect_json "$ns" '.ports[] | select(.port==80) | .no_socket' 0 stats
	expect_json "$ns" '.[0].sockets[0].local' 127.0.0.1:3003 services
	# an unbound port is untouched: refused as before
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:81
}

run_cases
