#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# explain: one case per verdict, each checked against what real traffic does.
# The building is a namespace at 198.18.0.2 (veth "lobby", the guard on it);
# visitors come from a street namespace at 198.18.0.1.
. "$(dirname "$0")/lib.sh"

# building VAR_NS VAR_STREET: the two namespaces, joined, portier loaded.
building() {
	local __b __s
	newns __b bldg
	newns __s street
	veth_pair "$__b" lobby 198.18.0.2/24 "$__s" door 198.18.0.1/24
	pt "$__b" load --xdp lobby >/dev/null
	printf -v "$1" '%s' "$__b"
	printf -v "$2" '%s' "$__s"
}

# expect_explain NS RC VERDICT ARGS...: `explain ARGS` exits RC, and its
# JSON has exactly this verdict and delivered == (RC == 0).
expect_explain() {
	local ns=$1 want_rc=$2 want=$3 out rc=0 got deliv
	shift 3
	out=$("$PORTIER" --netns "$ns" --json explain "$@") || rc=$?
	[ "$rc" -eq "$want_rc" ] || { fail "explain $*: exited $rc, expected $want_rc ($out)"; return 1; }
	got=$(jq -r .verdict <<<"$out")
	[ "$got" == "$want" ] || { fail "explain $*: verdict '$got', expected '$want'"; return 1; }
	deliv=$(jq -r .delivered <<<"$out")
	expect_eq "$deliv" "$([ "$want_rc" -eq 0 ] && echo true || echo false)" "explain $*: delivered"
}

# step_of NS CHECK FIELD ARGS...: a field (result or detail) of the step CHECK.
step_of() {
	local ns=$1 check=$2 field=$3
	shift 3
	"$PORTIER" --netns "$ns" --json explain "$@" |
		jq -r --arg c "$check" --arg f "$field" '[.steps[] | select(.check == $c)][0][$f] // "none"'
}

# expect_match TEXT REGEX WHAT
expect_match() {
	[[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

case_delivered_through_binding() {
	local ns st irene out
	building ns st
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	pt "$ns" service add irene
	pt "$ns" register irene --pid "$irene"
	pt "$ns" bind tcp 198.18.0.2 80 irene
	pt "$ns" bind tcp 198.18.0.0/24 80 irene
	pt "$ns" bind tcp any 1-1023 irene
	expect_eq "$(tcp_get "$st" 198.18.0.2 80)" irene "a visitor on port 80"
	expect_explain "$ns" 0 "delivered to service 'irene' at 127.0.0.1:3003 (pid $irene, socat)" \
		tcp 198.18.0.2:80
	expect_eq "$(step_of "$ns" binding result tcp 198.18.0.2:80)" match "binding step"
	expect_eq "$(step_of "$ns" binding detail tcp 198.18.0.2:80)" \
		"tcp 198.18.0.2/32 80 -> irene wins; it beats tcp 198.18.0.0/24 80 -> irene (longer prefix), tcp any 1-1023 -> irene (narrower range)" \
		"why the binding wins"
	expect_eq "$(step_of "$ns" sockets result tcp 198.18.0.2:80)" live "sockets step"
	expect_eq "$(step_of "$ns" guard result tcp 198.18.0.2:80)" attached "guard step"
	expect_eq "$(step_of "$ns" policy detail tcp 198.18.0.2:80 --from 198.18.0.1:40000)" \
		"no policy matches tcp port 80 from this source: allowed (the default); $(stat_of "$ns" tcp 80 packets) packets, 0 dropped, 0 limited so far (counter row tcp 80)" \
		"policy step with --from"
	# the order of the walk: guard, policy, address, binding, sockets
	expect_eq "$("$PORTIER" --netns "$ns" --json explain tcp 198.18.0.2:80 | jq -r '[.steps[].check] | join(",")')" \
		"guard,policy,address,binding,sockets" "steps"
	# the text form: numbered steps, then the verdict
	out=$(pt "$ns" explain tcp 198.18.0.2:80)
	expect_eq "$(sed -n 1p <<<"$out")" "tcp 198.18.0.2:80 from any source" "text header"
	expect_match "$(sed -n 2p <<<"$out")" '^ 1\. guard +attached to lobby \(native\)' "text step 1"
	expect_eq "$(tail -n 1 <<<"$out")" "verdict: delivered to service 'irene' at 127.0.0.1:3003 (pid $irene, socat)" "text verdict"
}

case_delivered_to_plain_listener() {
	local ns st plain
	building ns st
	serve plain "$ns" tcp 0.0.0.0 8080 plain
	wait_listen "$ns" tcp 8080
	expect_eq "$(tcp_get "$st" 198.18.0.2 8080)" plain "a visitor on port 8080"
	expect_explain "$ns" 0 \
		"delivered to the listener on 0.0.0.0:8080 (pid $plain, socat) by the kernel's own lookup, not through portier" \
		tcp 198.18.0.2:8080
	expect_eq "$(step_of "$ns" binding result tcp 198.18.0.2:8080)" none "binding step"
	expect_eq "$(step_of "$ns" listener result tcp 198.18.0.2:8080)" wildcard "listener step"
	# without portier loaded, explain still answers: the kernel alone decides
	pt "$ns" unload >/dev/null
	expect_explain "$ns" 0 \
		"delivered to the listener on 0.0.0.0:8080 (pid $plain, socat) by the kernel's own lookup, not through portier" \
		tcp 198.18.0.2:8080
	expect_eq "$(step_of "$ns" portier result tcp 198.18.0.2:8080)" not-loaded "portier step"
}

case_dropped_by_policy() {
	local ns st irene dropped
	building ns st
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	pt "$ns" register irene --pid "$irene"
	pt "$ns" bind tcp 198.18.0.2 80 irene
	pt "$ns" policy tcp 80 drop --from 198.18.0.0/24
	# the street is in 198.18.0.0/24: its visitor gets no answer
	expect_rc 1 in_ns "$st" timeout 3 socat -T1 - TCP:198.18.0.2:80,connect-timeout=1
	dropped=$(stat_of "$ns" tcp 80 dropped)
	[ "$dropped" -ge 1 ] || fail "dropped counter after a dropped visitor: $dropped"
	expect_explain "$ns" 1 "dropped by policy" tcp 198.18.0.2:80 --from 198.18.0.1
	expect_match "$(step_of "$ns" policy detail tcp 198.18.0.2:80 --from 198.18.0.1)" \
		"^policy tcp 80 drop from 198.18.0.0/24 matches this source: every packet is dropped at the driver; [0-9]+ packets, $dropped dropped, 0 limited so far" \
		"policy step"
	# the walk stops where the packet's path ends
	expect_eq "$("$PORTIER" --netns "$ns" --json explain tcp 198.18.0.2:80 --from 198.18.0.1 | jq -r '[.steps[].check] | join(",")')" \
		"guard,policy" "steps of a dropped packet"
	# another source is not dropped; without --from explain says it depends
	expect_explain "$ns" 0 "delivered to service 'irene' at 127.0.0.1:3003 (pid $irene, socat)" \
		tcp 198.18.0.2:80 --from 198.18.1.7
	expect_match "$(step_of "$ns" policy detail tcp 198.18.0.2:80)" \
		"The answer depends on the source: from 198\.18\.0\.0/24: drop \(policy tcp 80 drop from 198\.18\.0\.0/24\)" \
		"policy step without --from"
	# drop-new: new connections are dropped
	pt "$ns" policy tcp 80 drop-new
	expect_explain "$ns" 1 "new connections dropped" tcp 198.18.0.2:80 --from 198.18.1.7
}

case_rate_limited() {
	local ns st irene tmp limited
	building ns st
	casetmp tmp
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	pt "$ns" register irene --pid "$irene"
	pt "$ns" bind tcp 198.18.0.2 80 irene
	pt "$ns" policy tcp 80 limit 5
	# a burst of 30 connections: each is 3+ packets, far above 5 per second
	ptnet "$st" loop 198.18.0.2 80 30 --timeout 0.5 --out "$tmp/loop" || true
	grep -q ' irene$' "$tmp/loop" || fail "no connection passed the limit"
	sleep 0.5
	limited=$(stat_of "$ns" tcp 80 limited)
	[ "$limited" -ge 1 ] || fail "limited counter after a burst: $limited"
	expect_explain "$ns" 0 \
		"delivered to service 'irene' at 127.0.0.1:3003 (pid $irene, socat), rate limited above 5 pps ($limited limited so far)" \
		tcp 198.18.0.2:80
	expect_eq "$(step_of "$ns" policy result tcp 198.18.0.2:80)" limit "policy step"
}

case_nothing_listening() {
	local ns st
	building ns st
	expect_rc 1 in_ns "$st" timeout 3 socat -T1 - TCP:198.18.0.2:81
	expect_explain "$ns" 1 "nothing listens: the connection is refused" tcp 198.18.0.2:81
	expect_eq "$(step_of "$ns" listener result tcp 198.18.0.2:81)" none "listener step"
	expect_explain "$ns" 1 "nothing listens: ICMP port unreachable" udp 198.18.0.2:81
	# an address that is not the building's at all
	expect_explain "$ns" 1 "198.18.0.9 is not an address of this host" tcp 198.18.0.9:81
}

case_listening_only_on_loopback() {
	local ns st irene
	building ns st
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	expect_rc 1 in_ns "$st" timeout 3 socat -T1 - TCP:198.18.0.2:3003
	expect_explain "$ns" 1 "listening only on loopback: reachable from this host only" \
		tcp 198.18.0.2:3003
	expect_eq "$(step_of "$ns" listener result tcp 198.18.0.2:3003)" loopback "listener step"
	# from the host itself, at the loopback address, it is reachable
	expect_eq "$(tcp_get "$ns" 127.0.0.1 3003)" irene "a local client on 127.0.0.1"
	expect_explain "$ns" 0 \
		"delivered to the listener on 127.0.0.1:3003 (pid $irene, socat) by the kernel's own lookup, not through portier" \
		tcp 127.0.0.1:3003
	# and on another address of the building, it says which
	ip -n "$ns" addr add 198.18.0.3/32 dev lo
	serve irene "$ns" tcp 198.18.0.3 3005 irene
	wait_listen "$ns" tcp 3005
	expect_explain "$ns" 1 "listening on 198.18.0.3:3005, not on 198.18.0.2" tcp 198.18.0.2:3005
}

case_bound_service_socket_gone() {
	local ns st irene nosock
	building ns st
	serve irene "$ns" tcp 127.0.0.1 3003 irene
	wait_listen "$ns" tcp 3003
	pt "$ns" register irene --pid "$irene"
	pt "$ns" bind tcp 198.18.0.2 80 irene
	expect_eq "$(tcp_get "$st" 198.18.0.2 80)" irene "before: a visitor on port 80"
	kill "$irene"
	wait "$irene" 2>/dev/null || true
	expect_rc 1 in_ns "$st" timeout 3 socat -T1 - TCP:198.18.0.2:80
	nosock=$(stat_of "$ns" tcp 80 no_socket)
	[ "$nosock" -ge 1 ] || fail "no_socket counter: $nosock"
	expect_explain "$ns" 1 "service 'irene' has no live socket; nothing listens: the connection is refused" \
		tcp 198.18.0.2:80
	expect_eq "$(step_of "$ns" sockets result tcp 198.18.0.2:80)" none "sockets step"
	expect_match "$(step_of "$ns" sockets detail tcp 198.18.0.2:80)" "counted as no_socket \($nosock so far\)" \
		"no_socket count in the sockets step"
}

case_ipv4_to_ipv6_only_service() {
	local ns st six
	building ns st
	spawn six "$ns" socat "TCP6-LISTEN:3004,bind=[::],ipv6only=1,fork,reuseaddr" SYSTEM:"echo six"
	wait_listen "$ns" tcp 3004
	pt "$ns" register six --pid "$six"
	pt "$ns" bind tcp any 3004 six
	expect_rc 1 in_ns "$st" timeout 3 socat -T1 - TCP:198.18.0.2:3004
	expect_explain "$ns" 1 "service 'six' has no IPv4 socket; listening on [::]:3004, IPv6 only: IPv4 is refused" \
		tcp 198.18.0.2:3004
	expect_eq "$(step_of "$ns" sockets result tcp 198.18.0.2:3004)" family "sockets step"
	expect_explain "$ns" 0 "delivered to service 'six' at [::]:3004 (pid $six, socat)" tcp '[::1]:3004'
}

case_udp_reply_from_wrong_address() {
	local ns st dns py
	building ns st
	serve dns "$ns" udp 127.0.0.1 5353 dns
	wait_listen "$ns" udp 5353
	pt "$ns" register dns --pid "$dns" 2>/dev/null
	pt "$ns" bind udp 198.18.0.2 53 dns
	# a client that connected to 198.18.0.2:53 does not take the answer
	expect_eq "$(ptnet "$st" udp 198.18.0.2 53 --connect --timeout 1 || true)" "FAIL timed out" \
		"connected client of a plain socat server"
	expect_explain "$ns" 0 \
		"delivered to service 'dns' at 127.0.0.1:5353 (pid $dns, socat), but its replies leave from 127.0.0.1:5353, not 198.18.0.2:53" \
		udp 198.18.0.2:53
	expect_eq "$(step_of "$ns" reply result udp 198.18.0.2:53)" wrong-source "reply step"
	# a server that answers from the original destination is fine
	pyserve py "$ns" dns2 --udp --pktinfo 127.0.0.1:5354
	pt "$ns" register dns2 --pid "$py"
	pt "$ns" bind udp 198.18.0.2 54 dns2
	expect_eq "$(ptnet "$st" udp 198.18.0.2 54 --connect)" "dns2 198.18.0.2 54" "connected client of a PKTINFO server"
	expect_explain "$ns" 0 "delivered to service 'dns2' at 127.0.0.1:5354 (pid $py, python3)" \
		udp 198.18.0.2:54
	expect_eq "$(step_of "$ns" reply result udp 198.18.0.2:54)" ok "reply step of a PKTINFO server"
}

case_bad_input() {
	local ns
	newns ns bad
	pt "$ns" load >/dev/null
	expect_bad "$ns" explain tcp 198.18.0.2
	expect_bad "$ns" explain sctp 198.18.0.2:80
	expect_bad "$ns" explain tcp 198.18.0.2:70000
	expect_bad "$ns" explain tcp 198.18.0.2:80 --from 2001:db8::1
	expect_bad "$ns" explain tcp 198.18.0.2:80 --from nowhere
	expect_bad "$ns" explain tcp 198.18.0.2:80 extra
	expect_bad "$ns" explain tcp
	expect_bad "$ns" explain tcp 198.18.0.2:80 --bogus
}

run_cases
