#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A port sweep never switches a rate limit off. `limit 1` on udp
# 20000-40000 (one bucket per port), then one datagram to each of 17,000
# ports of it, more ports than the old bucket table had entries (16,384):
# that table filled and every later port passed unlimited. The bucket
# table is bounded now, and a packet that can get no bucket is limited.
# Every datagram is accounted for: limited by the guard, or passed to the
# stack, which counts it in Udp NoPorts (nothing listens on these ports).
. "$(dirname "$0")/lib.sh"

SWEEP_LO=20000
SWEEP_N=17000

# noports NS: the namespace's Udp NoPorts counter.
noports() {
	in_ns "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "NoPorts") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# sweep NS ADDR LO N: one 16-byte datagram to each port LO .. LO+N-1, in
# bursts of 32 with a pause after each (the veth ring never overflows).
sweep() {
	in_ns "$1" timeout 60 "$E2E_PY" -c '
import socket, sys, time
addr, lo, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"x" * 16, (addr, lo + i))
    if i % 32 == 31:
        time.sleep(0.0005)
print(n)' "$2" "$3" "$4"
}

case_sweep_never_switches_limit_off() {
	local street bldg np0 np1 np2 lim1 sent passed
	quiet_street street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" policy udp 20000-40000 limit 1
	np0=$(noports "$bldg")
	sent=$(sweep "$street" 198.18.0.2 "$SWEEP_LO" "$SWEEP_N")
	expect_eq "$sent" "$SWEEP_N" "datagrams of the sweep sent"
	wait_stat "$bldg" udp 20000 packets "$SWEEP_N" 20
	lim1=$(stat_of "$bldg" udp 20000 limited)
	np1=$(noports "$bldg")
	echo "# sweep: $((np1 - np0)) passed, $lim1 limited (no bucket in a full set)" >&2
	expect_eq "$((np1 - np0 + lim1))" "$SWEEP_N" "passed ($((np1 - np0))) + limited ($lim1) of the sweep"

	# at once: a port the sweep did not touch still has its limit, 1
	# passes (or none, if its set is full of ports active this second)
	udp_send "$street" 198.18.0.2 39500 10 --size 16
	wait_stat "$bldg" udp 20000 packets $((SWEEP_N + 10))
	np2=$(noports "$bldg")
	passed=$((np2 - np1))
	[ "$passed" -le 1 ] || fail "$passed of 10 datagrams to 39500 passed right after the sweep: the limit is off"
	expect_eq "$(stat_of "$bldg" udp 20000 limited)" $((lim1 + 10 - passed)) "limited after the burst to 39500"

	# a second on, every bucket of the sweep is idle, so as good as a
	# fresh one: each port gets exactly its 1 packet per second again,
	# one the sweep touched and one it did not
	sleep 1.1
	lim1=$(stat_of "$bldg" udp 20000 limited)
	np1=$(noports "$bldg")
	udp_send "$street" 198.18.0.2 20000 10 --size 16
	udp_send "$street" 198.18.0.2 39000 10 --size 16
	wait_stat "$bldg" udp 20000 packets $((SWEEP_N + 30))
	expect_eq "$(stat_of "$bldg" udp 20000 limited)" $((lim1 + 18)) "limited of 2 x 10 after a second"
	expect_eq "$(($(noports "$bldg") - np1))" 2 "passed of 2 x 10 after a second"
	expect_eq "$(stat_of "$bldg" udp 20000 dropped)" 0 "dropped (limit only)"
	finish
}

run_cases
