#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# No packet straddles a commit. Two services on disjoint ports take a
# bounded stream of connections while thousands of commits flip another
# binding below them (every flip moves both ports' class ids, so a lookup
# that paired one generation's class with the other generation's tables
# would reach the wrong service or none) and beta's sockets are
# re-registered (socket bank flips): no connection may be answered by the
# wrong service, none refused, and the counters must account for every
# one. The commits come from tests/e2e/helpers/commit_flip.c (portier's
# own commit path in one process: a `portier bind` per commit would spend
# most of its time starting). PT_STRESS_COMMITS sets their number: each
# commit waits for an RCU grace period (10-14 ms here, docs/ARCHITECTURE.md),
# so the default is 3,000 (1,000 for a sanitizer build, whose purpose is
# memory errors); PT_STRESS_COMMITS=10000 takes about three minutes.
. "$(dirname "$0")/lib.sh"

FLIP=$(dirname "$PORTIER")/tests/e2e/commit_flip
if grep -q __asan_init "$FLIP" 2>/dev/null; then
	COMMITS=${PT_STRESS_COMMITS:-1000}
else
	COMMITS=${PT_STRESS_COMMITS:-3000}
fi
[ $((COMMITS % 2)) -eq 0 ] || COMMITS=$((COMMITS + 1))	# ends where it started
REGISTERS=${PT_STRESS_REGISTERS:-100}

# loop VAR NS PORT OUT TRIGGER: connections to 127.0.0.1:PORT, one after
# another, until TRIGGER appears (200 per commit at most, 2 s each).
loop() {
	spawn "$1" "$2" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 127.0.0.1 "$3" $((COMMITS * 200)) \
		--delay 0.002 --timeout 2 --out "$4" --stop-after "$5:0"
}

case_commits_never_misroute() {
	local ns tmp a b la lb flips regs n na nb i
	[ -x "$FLIP" ] || { fail "$FLIP is not built (make tests)"; return 1; }
	newns ns stress
	casetmp tmp
	pt "$ns" load >/dev/null
	# the services listen elsewhere: a lookup that falls through is refused
	pyserve a "$ns" alpha 127.0.0.1:7001
	pyserve b "$ns" beta 127.0.0.1:7002
	pt "$ns" register alpha --pid "$a"
	pt "$ns" register beta --pid "$b"
	pt "$ns" service add gamma
	pt "$ns" bind tcp any 8080 alpha
	pt "$ns" bind tcp any 9090 beta
	expect_eq "$(tcp_get "$ns" 127.0.0.1 8080)" alpha "8080 before the commits"
	expect_eq "$(tcp_get "$ns" 127.0.0.1 9090)" beta "9090 before the commits"
	loop la "$ns" 8080 "$tmp/a" "$tmp/done"
	loop lb "$ns" 9090 "$tmp/b" "$tmp/done"
	wait_lines "$tmp/a" 20 10
	wait_lines "$tmp/b" 20 10
	# beta's sockets again and again: each swaps its socket bank
	(
		for ((i = 0; i < REGISTERS; i++)); do
			"$PORTIER" --netns "$ns" register beta --pid "$b" >/dev/null || exit 1
		done
	) &
	regs=$!
	_PIDS+=("$regs")
	n=$("$FLIP" "$ns" gamma 100 "$COMMITS") || { fail "commit_flip failed after '$n' commits"; return 1; }
	wait "$regs" || fail "a re-registration of beta failed"
	touch "$tmp/done"
	wait_exit "$la" 30
	wait_exit "$lb" 30
	na=$(lines "$tmp/a")
	nb=$(lines "$tmp/b")
	echo "# $n commits, $REGISTERS re-registrations; $na connections to alpha, $nb to beta" >&2
	expect_eq "$n" "$COMMITS" "commits made"
	expect_eq "$(grep -c FAIL "$tmp/a" "$tmp/b" | awk -F: '{s += $2} END {print s}')" 0 "refused or failed connections"
	expect_eq "$(grep -vc ' alpha$' "$tmp/a" || true)" 0 "connections to 8080 not answered by alpha"
	expect_eq "$(grep -vc ' beta$' "$tmp/b" || true)" 0 "connections to 9090 not answered by beta"
	# every connection (the two checks before the loops included) was
	# handed over by dispatch, and none fell through
	expect_eq "$(stat_of "$ns" tcp 8080 steered)/$(stat_of "$ns" tcp 8080 no_socket)" "$((na + 1))/0" "8080 steered/no_socket"
	expect_eq "$(stat_of "$ns" tcp 9090 steered)/$(stat_of "$ns" tcp 9090 no_socket)" "$((nb + 1))/0" "9090 steered/no_socket"
	# COMMITS is even: the flipper ends where it started
	expect_eq "$(pt "$ns" --json bindings | jq -c '[.[] | "\(.port_lo) \(.service)"]')" \
		'["100 gamma","8080 alpha","9090 beta"]' "bindings after the commits"
	finish
}

run_cases
