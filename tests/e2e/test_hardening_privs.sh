#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Privileges and safety: the pinned state is root's alone (directories
# 0700, objects 0600, whatever the umask, and a pin root that was left
# open to others is closed, so nobody else can take the lock); a user
# without privileges can read no map and gets one clear line from every
# command; the exporter listens on loopback unless told otherwise;
# sockets of another network namespace never become a service's.
. "$(dirname "$0")/lib.sh"

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# modes_of DIR: "MODE OWNER TYPE NAME" for DIR and everything under it
modes_of() {
	find "$1" -exec stat -c '%a %U %F %n' {} +
}

# a copy of portier that nobody can run, wherever the tree lives
nobody_copy() {
	local __nc
	casetmp __nc
	chmod 755 "$__nc"
	install -m 755 "$PORTIER" "$__nc/portier"
	printf -v "$1" "%s" "$__nc/portier"
}

case_pins_root_only_whatever_the_umask() {
	local ns peer dir bad srv
	newns ns pins
	newns peer peer
	veth_pair "$ns" lobby 198.18.0.2/24 "$peer" door 198.18.0.1/24
	# a permissive umask must not loosen anything
	(umask 000 && pt "$ns" load --xdp lobby >/dev/null)
	pyserve srv "$ns" web 127.0.0.1:4001
	(umask 000 && pt "$ns" register web --pid "$srv" && pt "$ns" bind tcp any 80 web &&
		pt "$ns" policy tcp 22 drop && pt "$ns" watch udp 53)
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	expect_eq "$(stat -c '%a %U' /sys/fs/bpf/portier)" "700 root" "the pin root"
	# every directory 0700, every pinned object 0600, all root's
	bad=$(modes_of "$dir" | awk '($3 == "directory" && $1 != "700") ||
		($3 != "directory" && $1 != "600") || $2 != "root"')
	expect_eq "$bad" "" "pins with other modes or owners"
	# the maps, the programs and the links are all there
	[ "$(find "$dir" -type f | wc -l)" -ge 18 ] || fail "only $(find "$dir" -type f | wc -l) pins in $dir"
}

case_nobody_reads_no_map() {
	local ns dir map out rc
	newns ns nomap
	pt "$ns" load >/dev/null
	pt "$ns" service add secret --desc "not for everyone"
	pt "$ns" bind tcp 198.18.0.2/32 80 secret
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	for map in config svc_table bind_table port_stats sock_info; do
		rc=0
		out=$("${NOBODY[@]}" bpftool map dump pinned "$dir/$map" 2>&1) || rc=$?
		[ "$rc" -ne 0 ] || fail "nobody dumped $map: $out"
		[[ $out != *secret* ]] || fail "nobody read the service name from $map"
	done
	# nor the directory, nor the lock
	"${NOBODY[@]}" ls "$dir" >/dev/null 2>&1 && fail "nobody listed $dir"
	"${NOBODY[@]}" flock -n /sys/fs/bpf/portier true 2>/dev/null && fail "nobody took the lock"
	expect_json "$ns" '.[0].name' secret services
}

# every command, as nobody: exit 1, one line that says what is missing
# (test_dispatch_errors.sh does status, bindings and bind)
case_nobody_gets_one_clear_line() {
	local ns bin args rc err
	newns ns noperm
	pt "$ns" load >/dev/null
	pt "$ns" service add web
	nobody_copy bin
	for args in "load" "unload" "service add x" "register web --pid 1" "unregister web" \
		"services" "unbind tcp any 80" "policy tcp 22 drop" "unpolicy tcp 22" "policies" \
		"watch udp 53" "unwatch udp 53" "stats" "top --count 1" "exporter" \
		"explain tcp 198.18.0.2:80" "apply /dev/null" "dump"; do
		rc=0
		# shellcheck disable=SC2086 # split on purpose
		err=$("${NOBODY[@]}" timeout 10 "$bin" --netns "/run/netns/$ns" $args 2>&1 >/dev/null) || rc=$?
		expect_eq "$rc" 1 "exit status of 'portier $args' as nobody"
		expect_eq "$(printf '%s\n' "$err" | wc -l)" 1 "stderr lines of 'portier $args' as nobody"
		case $err in
		"portier: "*"permission denied"*CAP_BPF*) ;;
		*) fail "'portier $args' as nobody: stderr '$err'" ;;
		esac
		# --json: the same as one JSON object
		rc=0
		# shellcheck disable=SC2086
		err=$("${NOBODY[@]}" timeout 10 "$bin" --json --netns "/run/netns/$ns" $args 2>&1 >/dev/null) || rc=$?
		expect_eq "$rc" 1 "exit status of 'portier --json $args' as nobody"
		printf '%s' "$err" | jq -e '.error | test("CAP_BPF")' >/dev/null ||
			fail "'portier --json $args' as nobody: stderr '$err'"
	done
	# nothing was touched
	expect_eq "$(pt "$ns" dump | grep -v '^#')" "service add web" "state after the attempts"
}

# A pin root made by someone else, open to all (a bpffs mounted with mode
# 0755 and the directory made before portier ran): portier closes it, so
# that nobody can hold the lock. In a private mount namespace with its own
# bpffs: the host's /sys/fs/bpf is never touched.
case_loose_pin_root_is_closed() {
	local ns out
	newns ns loose
	out=$(unshare -m --propagation private bash -c '
		set -e
		portier=$1 ns=$2
		shift 2
		mount -t bpf bpf /sys/fs/bpf -o mode=0755
		mkdir -m 0755 /sys/fs/bpf/portier
		"$portier" --netns "$ns" load >/dev/null
		echo "root $(stat -c %a /sys/fs/bpf/portier)"
		if "$@" flock -n /sys/fs/bpf/portier true 2>/dev/null; then
			echo "nobody took the lock"
		fi
		"$portier" --netns "$ns" status >/dev/null && echo "status ok"
	' sh "$PORTIER" "$ns" "${NOBODY[@]}" 2>&1) || true
	# the private bpffs went with the mount namespace: nothing to unload
	expect_eq "$out" "$(printf 'root 700\nstatus ok')" "a loose pin root after load"
}

case_exporter_on_loopback_by_default() {
	local ns tmp ex i lst metrics
	newns ns export
	casetmp tmp
	pt "$ns" load >/dev/null
	spawn ex "$ns" "$PORTIER" --netns "$ns" exporter
	for ((i = 0; i < 100; i++)); do
		lst=$(in_ns "$ns" ss -H -ltnp | grep -F "pid=$ex," || true)
		[ -n "$lst" ] && break
		sleep 0.05
	done
	# exactly one listener, on 127.0.0.1:9469, and it is the exporter's
	expect_eq "$(printf '%s\n' "$lst" | awk 'NF {print $4}')" "127.0.0.1:9469" "exporter's listening address"
	expect_eq "$(in_ns "$ns" ss -H -ltn | wc -l)" 1 "listening sockets in the namespace"
	metrics=$(in_ns "$ns" curl -s --max-time 2 http://127.0.0.1:9469/metrics) || true
	grep -q '^portier_loaded 1$' <<<"$metrics" || fail "no metrics on 127.0.0.1:9469"
	kill -TERM "$ex"
	wait_exit "$ex" 5
}

# A process with a listener in this namespace and one in another:
# register takes this namespace's only; an inherited fd of another
# namespace is refused (test_dispatch_register.sh does a process whose
# only socket is elsewhere).
case_other_namespace_sockets_never_taken() {
	local ns far tmp two rc err
	newns ns near
	newns far far
	casetmp tmp
	pt "$ns" load >/dev/null
	# listen on 127.0.0.1:4001 here, then enter $far and listen on 4002
	spawn two "$ns" "$E2E_PY" -c '
import ctypes, os, socket, sys, time
near = socket.socket(); near.bind(("127.0.0.1", 4001)); near.listen(8)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/run/netns/" + sys.argv[1], os.O_RDONLY)
if libc.setns(fd, 0x40000000) != 0:
    sys.exit("setns failed")
far = socket.socket(); far.bind(("127.0.0.1", 4002)); far.listen(8)
open(sys.argv[2], "w").close()
time.sleep(600)
' "$far" "$tmp/ready"
	wait_file "$tmp/ready" 5
	pt "$ns" register both --pid "$two"
	expect_json "$ns" '.[0].sockets | map(.local) | join(",")' "127.0.0.1:4001" services
	# asking for the far one by address finds nothing here
	expect_bad "$ns" register both --pid "$two" --addr 127.0.0.1:4002
	# an inherited socket of another namespace
	rc=0
	err=$(in_ns "$far" "$E2E_PY" -c '
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 4003)); s.listen(8)
os.dup2(s.fileno(), 9)
os.execv(sys.argv[1], sys.argv[1:])
' "$PORTIER" --netns "$ns" register both --fd 9 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "exit status of register --fd of another namespace's socket"
	[[ $err == "portier: "*"another network namespace"* ]] || fail "register --fd: stderr '$err'"
	expect_json "$ns" '.[0].sockets | map(.local) | join(",")' "127.0.0.1:4001" services
}

run_cases
