#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# register: which sockets are taken (--pid, --fd, --proto, --addr), and
# which are refused (exit 2, nothing changed): no listening socket, no
# such process, a connected socket, a socket of another namespace, a bad
# fd, a filter that matches nothing.
. "$(dirname "$0")/lib.sh"

case_register_refusals() {
	local ns other tmp web srv sleeper gone holder udpc far err
	newns ns reg
	newns other far
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pyserve web "$ns" web 127.0.0.1:4001
	pt "$ns" register web --pid "$web"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	# a process with no socket at all
	spawn sleeper "$ns" sleep 30
	expect_bad "$ns" register web --pid "$sleeper"
	# a process that is gone, and one that never was
	spawn gone "$ns" true
	wait "$gone" 2>/dev/null || true
	expect_bad "$ns" register web --pid "$gone"
	expect_bad "$ns" register web --pid 2147483647
	# a connected TCP client: its socket is not listening
	pyserve srv "$ns" srv 127.0.0.1:4002
	spawn holder "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" hold 127.0.0.1 4002 "$tmp/never" "$tmp/hold"
	wait_file "$tmp/hold"
	expect_bad "$ns" register web --pid "$holder"
	# a connected UDP socket
	spawn udpc "$ns" "$E2E_PY" -c 'import socket,time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", 4003))
open("'"$tmp/udpc"'", "w").close()
time.sleep(30)'
	wait_file "$tmp/udpc"
	expect_bad "$ns" register web --pid "$udpc"
	# a listening socket of another network namespace
	pyserve far "$other" far 127.0.0.1:4004
	err=$(pt_err "$ns" register web --pid "$far")
	case $err in
	*"another network namespace"*) ;;
	*) fail "register of a socket of another namespace: stderr '$err'" ;;
	esac
	expect_bad "$ns" register web --pid "$far"
	# --fd: not open, not a socket
	expect_bad "$ns" register web --fd 200
	echo data >"$tmp/file"
	expect_bad "$ns" register web --fd 9 9<"$tmp/file"
	# filters that match nothing
	expect_bad "$ns" register web --pid "$srv" --addr 127.0.0.1:4005
	expect_bad "$ns" register web --pid "$srv" --addr 127.0.0.2:4002
	expect_bad "$ns" register web --pid "$srv" --proto udp
	# nothing changed: the first server still takes the traffic
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local) \(.pid)") | join(",")' \
		"tcp 127.0.0.1:4001 $web" services
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" web "traffic after the refusals"
}

case_register_filters_replace_per_protocol() {
	local ns mix
	newns ns filt
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve mix "$ns" mix --index --pktinfo 127.0.0.1:4011 127.0.0.1:4012 udp:127.0.0.1:4013
	expect_bad "$ns" bind tcp 198.18.0.2/32 80 mix
	pt "$ns" register mix --pid "$mix" --proto udp
	pt "$ns" bind tcp 198.18.0.2/32 80 mix
	pt "$ns" bind udp 198.18.0.2/32 53 mix
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"udp 127.0.0.1:4013" services
	# no TCP socket yet: falls through, counted
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 1 "tcp 80 no_socket"
	expect_eq "$(udp_get "$ns" 198.18.0.2 53)" "mix 2" "udp 53"
	# --addr picks one listener; the UDP socket stays (another protocol)
	pt "$ns" register mix --pid "$mix" --addr 127.0.0.1:4012
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:4012,udp 127.0.0.1:4013" services
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" "mix 1" "tcp 80 with --addr"
	# --proto tcp alone is ambiguous (two listeners); with --all it takes
	# both, replacing the one
	expect_bad "$ns" register mix --pid "$mix" --proto tcp
	pt "$ns" register mix --pid "$mix" --proto tcp --all
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:4011,tcp 127.0.0.1:4012,udp 127.0.0.1:4013" services
	# unregister one protocol, then the rest
	pt "$ns" unregister mix --proto udp
	expect_json "$ns" '.[0].sockets | map("\(.proto) \(.local)") | sort | join(",")' \
		"tcp 127.0.0.1:4011,tcp 127.0.0.1:4012" services
	expect_eq "$(ptnet "$ns" udp 198.18.0.2 53 --connect --timeout 1 || true)" \
		"FAIL [Errno 111] Connection refused" "udp 53 after unregister"
	expect_eq "$(stat_of "$ns" udp 53 no_socket)" 1 "udp 53 no_socket"
	pt "$ns" unregister mix
	expect_json "$ns" '.[0].sockets | length' 0 services
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 2 "tcp 80 no_socket at the end"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 1 "tcp 80 steered at the end"
	expect_eq "$(stat_of "$ns" udp 53 steered)" 1 "udp 53 steered at the end"
	# the process's sockets were left alone
	expect_eq "$(tcp_get "$ns" 127.0.0.1 4011)" "mix 0" "direct connection to the server"
}

case_register_inherited_fd() {
	# shellcheck disable=SC2034 # fdsrv: the PID spawn stores, for the teardown
	local ns tmp fdsrv
	newns ns fd
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	casetmp tmp
	pt "$ns" load >/dev/null
	pt "$ns" service add fdsvc --desc "inherited socket"
	pt "$ns" bind tcp 198.18.0.2/32 80 fdsvc
	# the helper opens a listener and runs `portier register fdsvc --fd N`
	# with it inherited (inside the namespace: no --netns), then serves it
	spawn fdsrv "$ns" "$E2E_PY" "$E2E_HELPERS/ptnet.py" fdserve fdsvc 127.0.0.1:4021 \
		--ready "$tmp/rc" -- "$PORTIER" register fdsvc
	wait_file "$tmp/rc"
	expect_eq "$(cat "$tmp/rc")" 0 "portier register --fd exit status"
	expect_json "$ns" '.[0] | "\(.name) \(.desc) \(.sockets | map("\(.proto) \(.local) \(.pid)") | join(","))"' \
		"fdsvc inherited socket tcp 127.0.0.1:4021 0" services
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" fdsvc "reply through port 80"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 1 "tcp 80 steered"
}

case_service_del_takes_its_sockets() {
	local ns srv
	newns ns svcdel
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pt "$ns" load >/dev/null
	pyserve srv "$ns" srv 127.0.0.1:4001
	pt "$ns" register web --pid "$srv"
	pt "$ns" bind tcp 198.18.0.2/32 80 web
	expect_eq "$(tcp_get "$ns" 198.18.0.2 80)" srv "before"
	# a bound service cannot go
	expect_bad "$ns" service del web
	pt "$ns" unbind tcp 198.18.0.2/32 80
	pt "$ns" service del web
	expect_json "$ns" 'length' 0 services
	# a new service (whatever id it gets) starts with no socket
	pt "$ns" service add other
	pt "$ns" bind tcp 198.18.0.2/32 80 other
	expect_json "$ns" '.[0] | "\(.name) \(.sockets | length)"' "other 0" services
	expect_rc 1 in_ns "$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80
	expect_eq "$(stat_of "$ns" tcp 80 no_socket)" 1 "tcp 80 no_socket"
	expect_eq "$(stat_of "$ns" tcp 80 steered)" 0 "tcp 80 steered (a new row)"
	pt "$ns" service add web
	expect_json "$ns" 'map("\(.name) \(.sockets | length)") | join(",")' "other 0,web 0" services
}

run_cases
