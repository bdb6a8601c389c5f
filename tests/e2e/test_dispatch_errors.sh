#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bad input: exit 2, one line "portier: <what>: <why>" on stderr, and
# nothing changed. Without privileges: exit 1, naming CAP_BPF.
. "$(dirname "$0")/lib.sh"

# a loaded namespace with a service, a socket and a binding to compare to
setup_state() {
	local __srv
	pt "$1" load >/dev/null
	pyserve __srv "$1" web 127.0.0.1:4001
	pt "$1" service add web --desc "web app"
	pt "$1" register web --pid "$__srv"
	pt "$1" bind tcp 198.18.0.2/32 80 web
}

case_bad_ports_and_prefixes() {
	local ns p
	newns ns badin
	setup_state "$ns"
	for p in 65536 -1 80-70 abc "" 1-2-3 80- -80 " 80" 0x50 99999999999999999999; do
		expect_bad "$ns" bind tcp any "$p" web
		expect_bad "$ns" unbind tcp any "$p"
	done
	for p in 198.18.0.2/33 2001:db8::/129 198.18.0.1/24 2001:db8::1/64 not-an-ip "" \
		198.18.0.2/ 198.18.0.2/-1 198.18.0.256/32 198.18.0/24 ANY; do
		expect_bad "$ns" bind tcp "$p" 80 web
		expect_bad "$ns" unbind tcp "$p" 80
	done
	for p in sctp TCP "" icmp; do
		expect_bad "$ns" bind "$p" any 80 web
	done
	# the edges are accepted
	pt "$ns" bind tcp 198.18.0.0/15 0-65535 web
	pt "$ns" bind udp 2001:db8::/32 65535 web
	pt "$ns" bind tcp 198.18.0.3 0 web
	expect_json "$ns" 'map("\(.proto) \(.prefix) \(.port_lo)-\(.port_hi)") | sort | join(",")' \
		"tcp 198.18.0.0/15 0-65535,tcp 198.18.0.2/32 80-80,tcp 198.18.0.3/32 0-0,udp 2001:db8::/32 65535-65535" \
		bindings
}

case_bad_service_names() {
	local ns n31 n32
	newns ns badname
	setup_state "$ns"
	n31=$(printf 'a%.0s' $(seq 31))
	n32=$(printf 'a%.0s' $(seq 32))
	for n in Irene "a b" "$n32" "" "web/x" "wéb" "a:b" "-"x; do
		expect_bad "$ns" service add "$n"
		expect_bad "$ns" bind tcp any 81 "$n"
		expect_bad "$ns" register "$n" --pid $$
	done
	# a typo must not create a service
	expect_bad "$ns" bind tcp any 81 webb
	expect_bad "$ns" service del nosuch
	# a bound service cannot go
	expect_bad "$ns" service del web
	# 31 characters of [a-z0-9_.-] are fine
	pt "$ns" service add "$n31"
	pt "$ns" service add a.b_c-9
	expect_json "$ns" 'map(.name) | sort | join(",")' "a.b_c-9,$n31,web" services
}

case_bad_usage() {
	local ns
	newns ns badusage
	setup_state "$ns"
	# unknown command, missing and extra arguments
	expect_bad "$ns" frobnicate
	expect_bad "$ns" bind
	expect_bad "$ns" bind tcp
	expect_bad "$ns" bind tcp any 80
	expect_bad "$ns" bind tcp any 80 web extra
	expect_bad "$ns" unbind tcp any
	expect_bad "$ns" unbind tcp any 80 web
	expect_bad "$ns" bindings extra
	expect_bad "$ns" services extra
	expect_bad "$ns" status extra
	expect_bad "$ns" stats extra
	expect_bad "$ns" load extra
	expect_bad "$ns" service
	expect_bad "$ns" service add
	expect_bad "$ns" service frob web
	expect_bad "$ns" service add web2 extra
	expect_bad "$ns" register
	expect_bad "$ns" register web
	expect_bad "$ns" register web --pid
	expect_bad "$ns" register web --pid 1 --fd 3
	expect_bad "$ns" register web --pid abc
	expect_bad "$ns" register web --pid 0
	expect_bad "$ns" register web --pid -5
	expect_bad "$ns" register web --fd -1
	expect_bad "$ns" register web --pid 1 --proto sctp
	expect_bad "$ns" register web --pid 1 --addr nowhere
	expect_bad "$ns" register web --pid 1 --addr 127.0.0.1:70000
	expect_bad "$ns" register web web2 --pid 1
	expect_bad "$ns" unregister
	expect_bad "$ns" unregister web --proto sctp
	expect_bad "$ns" stats --port 65536
	expect_bad "$ns" stats --proto sctp
	expect_bad "$ns" stats --service Web
	# unknown options, global and per command
	expect_bad "$ns" --bogus bindings
	expect_bad "$ns" bind --bogus tcp any 81 web
	expect_bad "$ns" bindings --bogus
	expect_bad "$ns" services --bogus
	expect_bad "$ns" register web --pid 1 --bogus
	expect_bad "$ns" stats --bogus
	expect_bad "$ns" unload --bogus
	expect_bad "$ns" load --bogus
	expect_bad "$ns" status --bogus
	# still loaded, still steering
	expect_json "$ns" .loaded true status
	expect_json "$ns" '.[0].sockets | length' 1 services
}

case_without_root() {
	local ns err rc tmp bin
	newns ns noroot
	pt "$ns" load >/dev/null
	# a copy that nobody can run wherever the tree lives
	casetmp tmp
	chmod 755 "$tmp"
	bin=$tmp/portier
	install -m 755 "$PORTIER" "$bin"
	for args in "status" "--netns $ns status" "--netns $ns bindings" "--netns $ns bind tcp any 80 x"; do
		rc=0
		# shellcheck disable=SC2086 # split on purpose
		err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" $args 2>&1 >/dev/null) || rc=$?
		expect_eq "$rc" 1 "exit status of 'portier $args' as nobody"
		expect_eq "$(printf '%s\n' "$err" | wc -l)" 1 "stderr lines of 'portier $args' as nobody"
		case $err in
		"portier: "*CAP_BPF*) ;;
		*) fail "'portier $args' as nobody: stderr '$err' does not name CAP_BPF" ;;
		esac
	done
	# and nothing was touched
	expect_json "$ns" .loaded true status
	expect_json "$ns" 'length' 0 bindings
}

run_cases
