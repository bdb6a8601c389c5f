#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The building: a network namespace whose address 198.18.0.2 is the street
# address, five residents in their apartments (real small servers on
# loopback), portier as the receptionist. Everything is torn down at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/build:$PATH"
P=${PORTIER:-portier}
NS=portier-demo-$$
STREET=portier-street-$$
PIDS=()

teardown() {
	set +e
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	"$P" --netns "$NS" unload >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	ip netns del "$STREET" 2>/dev/null
	rm -f "/tmp/$NS.xsk-echo"
}
trap teardown EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}
inb() { nsenter --net="/run/netns/$NS" "$@"; }
street() { nsenter --net="/run/netns/$STREET" "$@"; }
# visit PORT: a visitor on the street knocks on 198.18.0.2:PORT
visit() {
	local out
	printf 'visit 198.18.0.2:%-5s -> ' "$1"
	if out=$(street socat -T1 - "TCP:198.18.0.2:$1,connect-timeout=1" </dev/null 2>&1); then
		echo "$out"
	else
		case $out in
		*refused*) echo "refused (nobody home)" ;;
		*timed\ out* | *Operation\ now\ in\ progress*) echo "no answer (the guard kept the visitor out)" ;;
		*) echo "failed: ${out##*: }" ;;
		esac
	fi
}
# play PORT MOVE: a player on the street sends MOVE to 198.18.0.2:PORT (UDP)
play() {
	local out
	printf 'play  198.18.0.2:%-5s %-10s -> ' "$1" "$2"
	if out=$(echo "$2" | street socat -T1 - "UDP:198.18.0.2:$1" 2>/dev/null) && [ -n "$out" ]; then
		echo "$out (echoed by the game server)"
	else
		echo "no answer"
	fi
}

say "The building ($NS) at 198.18.0.2, its door on the street ($STREET)"
ip netns add "$NS"
ip netns add "$STREET"
ip link add lobby netns "$NS" type veth peer name door netns "$STREET"
ip -n "$NS" addr add 198.18.0.2/24 dev lobby
ip -n "$STREET" addr add 198.18.0.1/24 dev door
for n in "$NS" "$STREET"; do ip -n "$n" link set lo up; done
ip -n "$NS" link set lobby up
ip -n "$STREET" link set door up
run "$P" --netns "$NS" load --xdp lobby

say "The residents move in (each a real server on 127.0.0.1)"
declare -A DESC=(
	[irene]="web app dev server"
	[dennis]="API dev server"
	[msabi]="database admin panel"
	[ibrahim]="metrics dashboard"
	[daudi]="game server, many rooms"
)
declare -A APT=([irene]=3003 [dennis]=3004 [msabi]=3005 [ibrahim]=3006)
for who in irene dennis msabi ibrahim; do
	nsenter --net="/run/netns/$NS" socat "TCP-LISTEN:${APT[$who]},bind=127.0.0.1,fork,reuseaddr" \
		SYSTEM:"echo hello from $who" >/dev/null 2>&1 &
	PIDS+=($!)
	declare "PID_$who=$!"
done
for who in irene dennis msabi ibrahim; do
	for _ in $(seq 1 50); do
		inb ss -Hltn "sport = :${APT[$who]}" | grep -q . && break
		sleep 0.1
	done
	pid_var=PID_$who
	run "$P" --netns "$NS" service add "$who" --desc "${DESC[$who]}"
	run "$P" --netns "$NS" register "$who" --pid "${!pid_var}"
done

say "The receptionist: the doors of 198.18.0.2 lead to the residents"
run "$P" --netns "$NS" bind tcp 198.18.0.2 80 irene
run "$P" --netns "$NS" bind tcp 198.18.0.2 3004 dennis
run "$P" --netns "$NS" bind tcp 198.18.0.2 3005 msabi
run "$P" --netns "$NS" bind tcp 198.18.0.2 3006 ibrahim

say "Daudi's game server takes its players' UDP straight from the driver (AF_XDP)"
# build/xsk-echo answers every datagram from its AF_XDP socket on lobby's
# queue 0; the guard redirects the bound ports' packets to it
nsenter --net="/run/netns/$NS" xsk-echo lobby >"/tmp/$NS.xsk-echo" 2>&1 &
PIDS+=($!)
PID_daudi=$!
for _ in $(seq 1 50); do
	grep -q ready "/tmp/$NS.xsk-echo" 2>/dev/null && break
	sleep 0.1
done
cat "/tmp/$NS.xsk-echo"
run "$P" --netns "$NS" service add daudi --desc "${DESC[daudi]}"
run "$P" --netns "$NS" register daudi --pid "$PID_daudi" --xsk --ifname lobby
run "$P" --netns "$NS" bind udp 198.18.0.2 3064-3099 daudi

say "Visitors knock (nothing listens on 198.18.0.2 itself)"
for port in 80 80 3004 3005 3006 3100; do
	visit "$port"
done
say "Daudi's players send their moves"
play 3064 e2-e4
play 3070 knight-f3
play 3099 castle

say "The guard: Ibrahim takes no new visitors today"
run "$P" --netns "$NS" policy tcp 3006 drop-new
run "$P" --netns "$NS" policies
visit 3006
visit 3005
run "$P" --netns "$NS" explain tcp 198.18.0.2:3006 --from 198.18.0.1 || true

say "Who lives where"
run "$P" --netns "$NS" services
say "Which door leads to whom"
run "$P" --netns "$NS" bindings

say "Irene moves out; her door falls through to the building's own lookup"
kill "$PID_irene"
wait "$PID_irene" 2>/dev/null || true
visit 80
run "$P" --netns "$NS" explain tcp 198.18.0.2:80 || true

say "Daudi's moves never met the IP stack: the guard handed them to his AF_XDP socket (xsk)"
run "$P" --netns "$NS" stats --service daudi --exact

say "The receptionist's book"
run "$P" --netns "$NS" stats --exact
run "$P" --netns "$NS" status

say "Everyone leaves"
run "$P" --netns "$NS" unload
