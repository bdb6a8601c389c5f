#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Chaos: the guard's only interface deleted under it, the only server
# killed while connections arrive, bpffs unmounted (and a fresh one in its
# place) in a private mount namespace, and two portier commands racing on
# one state a thousand times. Afterwards `status` tells the truth and
# every command still works. (test_guard_attach.sh deletes one of two
# guarded interfaces; this deletes the only one and unloads after.)
. "$(dirname "$0")/lib.sh"

# street_and_building VAR_CLIENT VAR_SERVER: 198.18.0.1 (street, "door")
# and 198.18.0.2 (building, "lobby") on a veth pair.
street_and_building() {
	local __c __s
	newns __c street
	newns __s bldg
	veth_pair "$__c" door 198.18.0.1/24 "$__s" lobby 198.18.0.2/24
	printf -v "$1" '%s' "$__c"
	printf -v "$2" '%s' "$__s"
}

# dispatch_links NS: how many portier sk_lookup links the kernel has
# attached to the namespace, pinned anywhere or nowhere
dispatch_links() {
	local ino id n=0
	ino=$(stat -L -c %i "/run/netns/$1")
	for id in $(bpftool -j link show | jq -r --argjson ino "$ino" \
		'.[] | select(.type == "netns" and .attach_type == "sk_lookup" and .netns_ino == $ino) | .prog_id'); do
		[ "$(bpftool -j prog show id "$id" 2>/dev/null | jq -r .name)" = portier_dispatch ] && n=$((n + 1))
	done
	echo "$n"
}

case_only_guard_interface_deleted_then_unload() {
	local street bldg dir
	street_and_building street bldg
	pt "$bldg" load --xdp lobby >/dev/null
	pt "$bldg" service add web
	pt "$bldg" bind tcp 198.18.0.2/32 80 web
	pt "$bldg" policy udp 6000 drop
	dir=$(pt "$bldg" --json status | jq -r .pin_dir)
	ip -n "$bldg" link del lobby
	# status says so, in text and JSON, and still exits 0
	[[ $(pt "$bldg" status) == *"guard:       lobby (ifindex "*"INTERFACE GONE"* ]] ||
		fail "status: $(pt "$bldg" status | grep guard:)"
	expect_json "$bldg" '[.xdp[] | select(.ifname == "lobby") | .attached] | any' false status
	expect_json "$bldg" '.programs[0].attached' true status
	# every command works
	pt "$bldg" policy udp 6001 limit 10
	pt "$bldg" unpolicy udp 6001
	pt "$bldg" watch tcp 8080
	pt "$bldg" stats >/dev/null
	pt "$bldg" explain tcp 198.18.0.2:80 >/dev/null || [ $? -eq 1 ]
	pt "$bldg" dump | pt "$bldg" apply - >/dev/null
	expect_json "$bldg" '[.bindings, .policies, .watches] | map(tostring) | join(" ")' "1 1 1" status
	# unload leaves nothing
	pt "$bldg" unload >/dev/null
	[ ! -e "$dir" ] || fail "$dir left after unload"
	expect_eq "$(dispatch_links "$bldg")" 0 "dispatch links after unload"
	expect_json "$bldg" .loaded false status
	# and the guard goes onto a new interface
	veth_pair "$street" door2 198.18.1.1/24 "$bldg" lobby2 198.18.1.2/24
	pt "$bldg" load --xdp lobby2 >/dev/null
	expect_json "$bldg" '[.xdp[] | select(.ifname == "lobby2") | .attached] | any' true status
}

# The namespace's only server is killed while a loop of connections runs:
# every connection gets the server's answer or a refusal, quickly; none
# hangs; each attempt was counted once, as steered or as no_socket.
case_only_server_killed_under_load() {
	local street bldg tmp srv looper n total ok refused other steered nosock
	street_and_building street bldg
	casetmp tmp
	pt "$bldg" load >/dev/null
	pyserve srv "$bldg" irene 127.0.0.1:3003
	pt "$bldg" register irene --pid "$srv"
	pt "$bldg" bind tcp 198.18.0.2/32 80 irene
	spawn looper "$street" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 2000 \
		--delay 0.002 --timeout 2 --out "$tmp/loop" --stop-after "$tmp/killed:300"
	wait_lines "$tmp/loop" 100 10
	kill -KILL "$srv"
	wait "$srv" 2>/dev/null || true
	n=$(lines "$tmp/loop")
	touch "$tmp/killed"
	# 300 more connections at most, each bounded by 2 s: a hang shows as a timeout
	wait_exit "$looper" 60
	total=$(lines "$tmp/loop")
	ok=$(grep -c ' irene$' "$tmp/loop" || true)
	refused=$(grep -c ' FAIL ECONNREFUSED$' "$tmp/loop" || true)
	other=$((total - ok - refused))
	[ "$ok" -ge 100 ] || fail "only $ok answers before the kill (of $n attempts then)"
	[ "$refused" -ge 250 ] || fail "only $refused refusals after the kill ($total attempts)"
	# a connection caught by the kill itself may be reset; none may time out
	[ "$other" -le 3 ] || fail "$other attempts neither answered nor refused: $(grep -v -e ' irene$' -e ECONNREFUSED "$tmp/loop" | head -3)"
	! grep -q -i -e timeout -e 'timed out' "$tmp/loop" || fail "a connection timed out: $(grep -m1 -i time "$tmp/loop")"
	# every attempt went through sk_lookup once: steered or no socket
	steered=$(stat_of "$bldg" tcp 80 steered)
	nosock=$(stat_of "$bldg" tcp 80 no_socket)
	expect_eq "$((steered + nosock))" "$total" "steered ($steered) + no_socket ($nosock) against attempts"
	[ "$nosock" -ge "$refused" ] || fail "no_socket $nosock < $refused refusals"
	# the kernel dropped the dead socket: the service has none, status is whole
	expect_json "$bldg" '.[0].sockets | length' 0 services
	expect_json "$bldg" '[.loaded, .services, .bindings, .programs[0].attached] | map(tostring) | join(" ")' \
		"true 1 1 true" status
	# a new server: register, and it answers
	pyserve srv "$bldg" irene2 127.0.0.1:3004
	pt "$bldg" register irene --pid "$srv"
	expect_eq "$(tcp_get "$street" 198.18.0.2 80)" irene2 "answer after a new register"
}

# In a private mount namespace: no bpffs at /sys/fs/bpf; portier mounts
# one itself (mode 0700) and works. Then that bpffs is unmounted, which
# drops the pins and with them the programs: traffic falls through,
# status says not loaded, and a new load works again. The host's
# /sys/fs/bpf is never touched.
case_bpffs_unmounted_and_remounted() {
	local ns srv out ino
	newns ns bpffs
	ip -n "$ns" addr add 198.18.0.2/32 dev lo
	pyserve srv "$ns" web 127.0.0.1:4001
	ino=$(stat -L -c %i "/run/netns/$ns")
	out=$(unshare -m --propagation private bash -c '
		portier=$1 ns=$2 srv=$3
		get() { nsenter --net="/run/netns/$ns" timeout 3 socat -T2 - TCP:198.18.0.2:80 </dev/null 2>/dev/null || echo refused; }
		umount /sys/fs/bpf || exit 1
		[ "$(stat -f -c %T /sys/fs/bpf)" != bpf_fs ] || exit 1
		"$portier" --netns "$ns" load >/dev/null || echo "load failed"
		echo "mount: $(findmnt -n -o FSTYPE /sys/fs/bpf) $(findmnt -n -o OPTIONS /sys/fs/bpf | tr , "\n" | grep "^mode=")"
		"$portier" --netns "$ns" register web --pid "$srv" &&
			"$portier" --netns "$ns" bind tcp 198.18.0.2/32 80 web || echo "commands failed"
		echo "first: $(get)"
		echo "status: $("$portier" --netns "$ns" --json status | jq -c "[.loaded, .bindings]")"
		# the bpffs portier mounted goes: its pins, and the programs with them
		umount /sys/fs/bpf || echo "umount failed"
		for i in $(seq 50); do [ "$(get)" = refused ] && break; sleep 0.1; done
		echo "unmounted: $(get)"
		echo "status: $("$portier" --netns "$ns" --json status | jq -c "[.loaded]")"
		# mounted again (by portier): a fresh load works
		"$portier" --netns "$ns" load >/dev/null && "$portier" --netns "$ns" register web --pid "$srv" &&
			"$portier" --netns "$ns" bind tcp 198.18.0.2/32 80 web || echo "second load failed"
		echo "again: $(get)"
		"$portier" --netns "$ns" unload >/dev/null || echo "unload failed"
	' sh "$PORTIER" "$ns" "$srv" 2>&1) || fail "the private mount namespace failed: $out"
	expect_eq "$out" "$(printf '%s\n' "mount: bpf mode=700" "first: web" "status: [true,1]" \
		"unmounted: refused" "status: [false]" "again: web")" "in a private mount namespace"
	# the host's bpffs is as it was, and knows nothing of it
	expect_eq "$(stat -f -c %T /sys/fs/bpf)" bpf_fs "the host's /sys/fs/bpf"
	[ ! -e "/sys/fs/bpf/portier/$ino" ] || fail "pins of $ns in the host's bpffs"
	expect_eq "$(dispatch_links "$ns")" 0 "dispatch links left"
}

# The pins are out of sight (another mount namespace, or a bpffs mounted
# over the old one) while the programs they hold still run: portier must
# not attach a second dispatcher to the namespace.
case_hidden_pins_no_second_dispatcher() {
	local ns out
	newns ns hidden
	pt "$ns" load >/dev/null
	pt "$ns" service add web
	out=$(unshare -m --propagation private bash -c '
		umount /sys/fs/bpf || exit 1
		"$1" --netns "$2" load >/dev/null 2>&1
		bpftool -j link show | jq --argjson ino "$3" \
			"[.[] | select(.type == \"netns\" and .attach_type == \"sk_lookup\" and .netns_ino == \$ino)] | length"
	' sh "$PORTIER" "$ns" "$(stat -L -c %i "/run/netns/$ns")" 2>&1)
	expect_eq "$out" 1 "sk_lookup links on the namespace while the hidden pins live"
	expect_json "$ns" '.[0].name' web services
}

# Two portier commands at a time, 1000 bind/unbind pairs in all, on
# disjoint ports: no command fails, no update is lost or doubled (the
# generation counter moves once per commit), and the final state is
# exactly the expected one.
case_thousand_races() {
	local ns tmp gen0 gen1 w pids=() rc bad=0 want
	newns ns race
	casetmp tmp
	pt "$ns" load >/dev/null
	pt "$ns" service add a
	pt "$ns" service add b
	gen0=$(pt "$ns" --json status | jq .generation)
	# worker W: 500 pairs on its own ports; every 10th binding stays
	worker() {
		local base=$1 svc=$2 proto=$3 i p
		for ((i = 0; i < 500; i++)); do
			p=$((base + i))
			"$PORTIER" --netns "$ns" bind "$proto" any "$p" "$svc" || echo "bind $p: $?"
			((i % 10 == 0)) && continue
			"$PORTIER" --netns "$ns" unbind "$proto" any "$p" || echo "unbind $p: $?"
		done
	}
	# and a reader: every answer whole, every read served
	reader() {
		local n=0
		while [ ! -e "$tmp/stop" ]; do
			"$PORTIER" --netns "$ns" --json bindings | jq -e 'type == "array"' >/dev/null ||
				echo "bindings read $n failed"
			grep -q '^service add b$' <<<"$("$PORTIER" --netns "$ns" dump)" || echo "dump $n incomplete"
			n=$((n + 1))
		done
		echo "reads $n" >"$tmp/reads"
	}
	reader >"$tmp/r" 2>&1 &
	local rpid=$!
	worker 20000 a tcp >"$tmp/w1" 2>&1 &
	pids+=($!)
	worker 30000 b udp >"$tmp/w2" 2>&1 &
	pids+=($!)
	for w in "${pids[@]}"; do
		rc=0
		wait "$w" || rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	touch "$tmp/stop"
	wait "$rpid" || true
	expect_eq "$(cat "$tmp/w1" "$tmp/w2" "$tmp/r" | head -5)" "" "failed commands"
	[ "$(cut -d' ' -f2 "$tmp/reads")" -ge 10 ] || fail "only $(cat "$tmp/reads") during the races"
	gen1=$(pt "$ns" --json status | jq .generation)
	# 2 x (500 binds + 450 unbinds) commits
	expect_eq "$((gen1 - gen0))" 1900 "commits counted by the generation"
	want=$( (seq 20000 10 20499 | sed 's/^/tcp any /; s/$/ a/'; seq 30000 10 30499 | sed 's/^/udp any /; s/$/ b/') | sort)
	expect_eq "$(pt "$ns" --json bindings | jq -r '.[] | "\(.proto) \(.prefix) \(.port_lo) \(.service)"' | sort)" \
		"$want" "the bindings left"
	expect_json "$ns" '[.loaded, .services, .bindings, .policies, .watches, .programs[0].attached] | map(tostring) | join(" ")' \
		"true 2 100 0 0 true" status
	# the compiled tables agree: each kept port is counted, a dropped one is not
	expect_eq "$(pt "$ns" --json stats | jq '[.ports[] | select(.port >= 20000)] | length')" 100 "counted ports"
	# and it still works
	pt "$ns" bind tcp any 20001 a
	pt "$ns" unbind tcp any 20001
}

# The disk fills up under `portier dump > backup.conf`: stdout cannot be
# written. That is a failed operation (exit 1, one line), never a success
# with half a backup.
case_output_to_a_full_device_fails() {
	local ns args rc err
	newns ns full
	pt "$ns" load >/dev/null
	pt "$ns" service add web --desc "web app"
	pt "$ns" bind tcp any 80 web
	for args in "dump" "--json dump" "bindings" "--json bindings" "services" "--json status" "stats"; do
		rc=0
		# shellcheck disable=SC2086 # split on purpose
		err=$(pt "$ns" $args 2>&1 >/dev/full) || rc=$?
		expect_eq "$rc" 1 "exit status of 'portier $args >/dev/full'"
		[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'portier $args >/dev/full': stderr '$err'"
		# one line: plain, or under --json one JSON object with the error
		case $args in
		--json*) jq -e '.error | test("writing the output")' <<<"$err" >/dev/null ||
			fail "'portier $args >/dev/full': stderr '$err'" ;;
		*) [[ $err == "portier: "*"writing the output"* ]] ||
			fail "'portier $args >/dev/full': stderr '$err'" ;;
		esac
	done
}

run_cases
