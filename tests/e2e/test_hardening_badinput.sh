#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bad input for every command, table-driven: one namespace with a loaded
# state (services, a registered socket, bindings, policies, a watch), then
# one TAP line per bad input. Each must
#   - exit 2 (bad usage or input),
#   - print nothing on stdout and exactly one line on stderr:
#     "portier: <what>: <why>" with no control characters, or under --json
#     one JSON object {"error": "..."} that a strict parser (valid UTF-8)
#     reads,
#   - and change nothing: `portier dump` byte for byte, the counts of
#     `--json status` and the sockets of `--json services` as before.
# test_dispatch_errors.sh holds the first bad-input cases (ports, prefixes,
# names, usage); this file extends them to every command and to files.
. "$(dirname "$0")/lib.sh"

trap _teardown EXIT
T=
casetmp T
newns NS hbad
SRV=
SRV2=
SLEEPER=
NCASE=0
NFAIL=0

# ---- the state every case starts from and must leave as it was ----
setup() {
	pt "$NS" load >/dev/null || return 1
	pyserve SRV "$NS" web 127.0.0.1:4001 || return 1
	pt "$NS" service add web --desc "web app" &&
		pt "$NS" register web --pid "$SRV" &&
		pt "$NS" service add db &&
		pt "$NS" bind tcp 198.18.0.2/32 80 web &&
		pt "$NS" bind tcp any 1000-2000 web &&
		pt "$NS" bind udp 2001:db8::/32 53 db &&
		pt "$NS" policy tcp 1000-2000 drop-new &&
		pt "$NS" policy udp 53 limit 100 --from 198.18.0.0/15 &&
		pt "$NS" watch tcp 8080 || return 1
	# a process with an app and an admin listener
	pyserve SRV2 "$NS" two 127.0.0.1:4003 127.0.0.1:4004 || return 1
	# a process with no socket at all
	spawn SLEEPER "$NS" sleep 600
}

# what must not change: the configuration, the counts, the sockets
state_of() {
	"$PORTIER" --netns "$NS" dump || echo "dump failed: $?"
	"$PORTIER" --netns "$NS" --json status |
		jq -c '{loaded, services, bindings, policies, watches}' || echo "status failed"
	"$PORTIER" --netns "$NS" --json services |
		jq -c 'map({name, desc, sockets: (.sockets | map({proto, local, pid}))})' ||
		echo "services failed"
}

# the files that apply must refuse
make_files() {
	printf 'bind tcp any 80 web\n\x00\n' >"$T/nul.conf"
	head -c 2048 /dev/urandom >"$T/garbage.bin"
	# garbage without control characters: high bytes and punctuation
	printf '\xff\xfe\x80 bind \xc3\x28 tcp \xe2\x82 any\n' >"$T/highbytes.conf"
	{ printf 'service add web --desc "'; head -c 5000 /dev/zero | tr '\0' a; printf '"\n'; } >"$T/longline.conf"
	# 10 MB: valid statements, then comments, then one error on the last
	# line: all or nothing
	awk 'BEGIN {
		print "service add big"
		for (i = 0; i < 40000; i++)
			printf "bind tcp 198.18.%d.%d/32 9 big\n", i / 256, i % 256
		pad = sprintf("%100s", "")
		for (i = 0; i < 92000; i++)
			printf "# %s\n", pad
		print "bind tcp 198.19.0.9/32 9 nosuch"
	}' >"$T/big.conf"
	mkdir "$T/dir.conf"
	printf 'service add new\nbind tcp any 7 new\nbind tcp any 7 new\n' >"$T/dupbind.conf"
	printf 'service add web\nbind tcp any 10-20 web\nbind tcp any 15-25 web\n' >"$T/overlap.conf"
	printf 'service add web\nbind tcp any 10 webb\n' >"$T/typo.conf"
	printf 'service add web\nservice del web\n' >"$T/statement.conf"
	printf 'service add web\nbind tcp any 80 web\npolicy tcp 80 limit 0\n' >"$T/pps.conf"
	printf 'service add web --desc "unterminated\n' >"$T/quote.conf"
	printf 'a b c d e f g h i j k l m n o p q\n' >"$T/words.conf"
	printf '\xef\xbb\xbfservice add web\n' >"$T/bom.conf"
	printf 'service add web\nbind tcp any 80 web --none whatever\n' >"$T/none.conf"
	printf 'service add web\nwatch udp 53 --desc x\n' >"$T/watchopt.conf"
	printf 'service add web --desc "a\tb"\n' >"$T/tabdesc.conf"
	printf 'service add web\nbind tcp 198.18.0.1/24 80 web\n' >"$T/hostbits.conf"
	printf 'watch tcp 1-65535\n' >"$T/slots.conf"
	seq 0 999 | sed 's/^/watch tcp /; s/$/-65535/' >"$T/widewatch.conf"
	{ seq 20000 24099 | sed 's/^/watch udp /'; echo "watch udp 20000"; } >"$T/dupwatch.conf"
}

# ---- one case ----

# row RC MODE NAME -- ARGS...: MODE ns (portier --netns NS ARGS) or raw
# (portier ARGS). A case that starts with --json expects a JSON error.
row() {
	local want=$1 mode=$2 name=$3 rc=0 err after json=0 why=""
	shift 4
	NCASE=$((NCASE + 1))
	local cmd=("$PORTIER")
	if [ "$mode" = mem ]; then
		# 700 MB of address space: the limits must be checked before
		# anything the size of the input times 65536 is allocated
		if grep -q __asan_init "$PORTIER" 2>/dev/null; then
			echo "ok $NCASE - $name # SKIP a sanitizer build needs more address space than the cap"
			return 0
		fi
		cmd=(bash -c 'ulimit -v 700000; exec "$@"' sh "$PORTIER")
	fi
	[ "$mode" != raw ] && cmd+=(--netns "$NS")
	cmd+=("$@")
	# a global --json comes first; after the command it is just an option
	[ "${1:-}" = --json ] && json=1
	timeout 20 "${cmd[@]}" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	err=$(cat "$T/err")
	if [ "$rc" -ne "$want" ]; then
		why="exited $rc, expected $want"
	elif [ -s "$T/out" ]; then
		why="printed on stdout: $(head -c 200 "$T/out")"
	elif [ "$(wc -l <"$T/err")" -ne 1 ] || [ "$(tail -c 1 "$T/err" | od -An -c | tr -d ' ')" != '\n' ]; then
		why="$(wc -l <"$T/err") lines on stderr, expected 1"
	elif [ "$json" = 1 ]; then
		"$E2E_PY" -c 'import json, sys
o = json.loads(sys.stdin.buffer.read())
assert isinstance(o, dict) and isinstance(o.get("error"), str) and o["error"]' <"$T/err" 2>/dev/null ||
			why="stderr is not one JSON object with an error (as strict UTF-8 JSON)"
	elif [[ $err != "portier: "* ]]; then
		why="stderr does not start with 'portier: '"
	elif LC_ALL=C grep -q '[[:cntrl:]]' "$T/err"; then
		why="stderr carries control characters"
	fi
	after=$(state_of)
	if [ "$after" != "$BEFORE" ]; then
		why="${why:+$why; }changed the state: $(diff <(echo "$BEFORE") <(echo "$after") | head -6 | tr '\n' ' ')"
		# put the configuration back, so the next cases are judged on their own
		"$PORTIER" --netns "$NS" apply "$T/base.conf" >/dev/null 2>&1
		BEFORE=$(state_of)
	fi
	if [ -z "$why" ]; then
		echo "ok $NCASE - $name"
	else
		NFAIL=$((NFAIL + 1))
		local a shown=()
		for a in "$@"; do
			[ ${#a} -gt 60 ] && a="${a:0:60}...(${#a} chars)"
			shown+=("$a")
		done
		# printable only: the log is read by grep, as text
		printf '# FAIL: %s: portier %s: %s\n' "$name" "${shown[*]}" "$why" |
			LC_ALL=C tr -c '[:print:]\n' '?' >&2
		printf '# stderr: %s\n' "$(head -c 300 "$T/err")" | LC_ALL=C tr -c '[:print:]\n' '?' |
			head -1 >&2
		echo "not ok $NCASE - $name"
	fi
}
bad() { row 2 ns "$@"; }	# bad NAME -- ARGS...
badraw() { row 2 raw "$@"; }

if ! setup || ! make_files; then
	echo "1..1"
	echo "not ok 1 - setup of the loaded state"
	exit 1
fi
BEFORE=$(state_of)
"$PORTIER" --netns "$NS" dump >"$T/base.conf"
LONG=$(head -c 100000 /dev/zero | tr '\0' a)
N32=$(head -c 32 /dev/zero | tr '\0' a)
D96=$(head -c 96 /dev/zero | tr '\0' d)

# ---- global options and commands ----
badraw "unknown global option" -- --bogus status
badraw "--netns without a value" -- --netns
badraw "--netns of no namespace" -- --netns "$E2E_TAG-nosuch" status
badraw "--netns of a regular file" -- --netns /etc/passwd status
badraw "--netns of a mount namespace" -- --netns /proc/self/ns/mnt status
badraw "--netns empty" -- --netns "" status
badraw "--json with no command" -- --json
badraw "--json=1 is not an option" -- --json=1 status
bad "unknown command, capitalised" -- BIND tcp any 81 web
bad "unknown command, empty" -- ""
bad "--json after the command is refused" -- status --json

# ---- load / unload / status ----
bad "load --xdp of no interface" -- load --xdp "$E2E_TAG-noif"
bad "load --xdp empty" -- load --xdp ""
bad "load --xdp name too long" -- load --xdp abcdefghijklmnopqrstuvwxyz
bad "load --xdp without a value" -- load --xdp
bad "load --xdp-mode unknown" -- load --xdp lo --xdp-mode bogus
bad "load --xdp-mode without --xdp" -- load --xdp-mode native
bad "load --xdp twice" -- load --xdp lo --xdp lo
bad "load --force=yes" -- load --force=yes
bad "unload extra argument" -- unload now
bad "status two extra arguments" -- status a b

# ---- service ----
bad "service add: desc of 96 characters" -- service add web --desc "$D96"
bad "service add: desc with a tab" -- service add web --desc "$(printf 'a\tb')"
bad "service add: desc with a newline" -- service add web --desc $'a\nb\n'
bad "service add: desc with an escape" -- service add web --desc "$(printf 'a\033[2Jb')"
bad "service add: name of 100000 characters" -- service add "$LONG"
bad "service add: name with a newline" -- service add $'web\n'
bad "service add: name with an escape" -- service add "$(printf 'w\033[31m')"
bad "service add: name of 32 characters" -- service add "$N32"
bad "service add: name with a high byte" -- service add "$(printf 'w\xffb')"
bad "service ADD" -- service ADD web
bad "service del without a name" -- service del
bad "service del with --desc" -- service del db --desc x
bad "service del two names" -- service del db web

# ---- register / unregister / services ----
bad "register --fd not open" -- register web --fd 999
bad "register --fd not a socket" -- register web --fd 0
bad "register --fd over int" -- register web --fd 4294967296
bad "register --pid over int" -- register web --pid 2147483648
bad "register --pid of 20 digits" -- register web --pid 99999999999999999999
bad "register --pid of no process" -- register web --pid 2147483647
bad "register --pid of a process without sockets" -- register web --pid "$SLEEPER"
bad "register --pid with --addr of another socket" -- register web --pid "$SRV" --addr 127.0.0.1:4002
bad "register --pid with --proto udp (a TCP server)" -- register web --pid "$SRV" --proto udp
bad "register --addr without a port" -- register web --pid "$SRV" --addr "[::1]"
bad "register --addr with two ports" -- register web --pid "$SRV" --addr 127.0.0.1:80:90
bad "register --addr with a name" -- register web --pid "$SRV" --addr localhost:4001
bad "register --proto without a value" -- register web --pid "$SRV" --proto
bad "register a bad name" -- register Web --pid "$SRV"
bad "register --pid of a process with two listeners" -- register web --pid "$SRV2"
bad "register --pid of two listeners, a new service" -- register two --pid "$SRV2"
bad "register --pid of two listeners, --proto tcp" -- register web --pid "$SRV2" --proto tcp
bad "register --all with --addr" -- register web --pid "$SRV2" --all --addr 127.0.0.1:4003
bad "register --all with --fd" -- register web --fd 0 --all
bad "register --all with a value" -- register web --pid "$SRV2" --all=yes
bad "unregister an undeclared service" -- unregister nosuch
bad "unregister --proto without a value" -- unregister web --proto
bad "unregister extra argument" -- unregister web tcp
bad "services extra argument" -- services web

# ---- bind / unbind / bindings ----
bad "bind partly overlapping a range" -- bind tcp any 1500-2500 web
bad "bind with --from" -- bind tcp any 81 web --from 198.18.0.0/15
bad "bind port with a trailing letter" -- bind tcp any 80x web
bad "bind port with a newline" -- bind tcp any $'80\n' web
bad "bind prefix with a trailing space" -- bind tcp "198.18.0.2 " 81 web
bad "bind prefix with two lengths" -- bind tcp 198.18.0.2/32/32 81 web
bad "bind prefix in brackets" -- bind tcp "[2001:db8::1]" 81 web
bad "bind prefix with a zone" -- bind tcp "fe80::1%lo" 81 web
bad "bind prefix length 200" -- bind tcp ::ffff:198.18.0.2/200 81 web
bad "bind prefix of 100000 characters" -- bind tcp "$LONG" 81 web
bad "bind empty service" -- bind tcp any 81 ""
bad "unbind of no binding" -- unbind tcp any 81
bad "unbind of the wrong protocol" -- unbind udp 198.18.0.2/32 80
bad "unbind of the wrong prefix" -- unbind tcp 198.18.0.2/31 80
bad "bindings extra argument" -- bindings tcp

# ---- policy / unpolicy / policies ----
bad "policy limit 0" -- policy tcp 80 limit 0
bad "policy limit over 1e9" -- policy tcp 80 limit 1000000001
bad "policy limit negative" -- policy tcp 80 limit -1
bad "policy limit fractional" -- policy tcp 80 limit 1.5
bad "policy limit without PPS" -- policy tcp 80 limit
bad "policy unknown action" -- policy tcp 80 frob
bad "policy action in capitals" -- policy tcp 80 DROP
bad "policy PPS after drop" -- policy tcp 80 drop 5
bad "policy extra argument" -- policy tcp 80 limit 5 6
bad "policy --from length 33" -- policy tcp 80 drop --from 198.18.0.0/33
bad "policy --from host bits" -- policy tcp 80 drop --from 198.18.0.1/15
bad "policy --from without a value" -- policy tcp 80 drop --from
bad "policy range LO > HI" -- policy tcp 80-70 drop
bad "policy bad protocol" -- policy icmp 80 drop
bad "policy without arguments" -- policy
bad "policy partly overlapping a policy" -- policy tcp 1500-2500 drop
bad "unpolicy of no policy" -- unpolicy tcp 22
bad "unpolicy of the wrong source" -- unpolicy udp 53 --from 198.18.0.0/16
bad "unpolicy with an action" -- unpolicy tcp 1000-2000 drop-new
bad "unpolicy port 65536" -- unpolicy udp 65536
bad "policies extra argument" -- policies all

# ---- watch / unwatch ----
bad "watch more ports than the counter slots" -- watch tcp 0-65535
bad "watch range LO > HI" -- watch udp 9-8
bad "watch without ports" -- watch udp
bad "watch two ranges" -- watch udp 1 2
bad "watch port with a sign" -- watch udp +53
bad "unwatch of no watch" -- unwatch tcp 8081
bad "unwatch of a part of a watch" -- unwatch tcp 8080-8081

# ---- stats / top / exporter / explain ----
bad "stats --port negative" -- stats --port -1
bad "stats --port empty" -- stats --port ""
bad "stats --service undeclared" -- stats --service nosuch
bad "stats --proto without a value" -- stats --proto
bad "stats --exact=1" -- stats --exact=1
bad "top --interval 0" -- top --interval 0
bad "top --interval nan" -- top --interval nan
bad "top --interval 1e9" -- top --interval 1e9
bad "top --interval with a unit" -- top --interval 1s
bad "top --count 0" -- top --count 0
bad "top --count over 1e6" -- top --count 1000001
bad "top extra argument" -- top now
bad "exporter --listen without a port" -- exporter --listen 127.0.0.1
bad "exporter --listen port 0" -- exporter --listen 127.0.0.1:0
bad "exporter --listen port 65536" -- exporter --listen 127.0.0.1:65536
bad "exporter --listen IPv6 without brackets or port" -- exporter --listen ::1
bad "exporter --listen a host name" -- exporter --listen localhost:9469
bad "exporter extra argument" -- exporter 127.0.0.1:9469
bad "explain without a port" -- explain tcp 198.18.0.2
bad "explain bad protocol" -- explain sctp 198.18.0.2:80
bad "explain --from of the other family" -- explain tcp 198.18.0.2:80 --from 2001:db8::1
bad "explain port with a letter" -- explain tcp "[2001:db8::1]:80x"
bad "explain --from a name" -- explain tcp 198.18.0.2:80 --from nowhere
bad "explain extra argument" -- explain tcp 198.18.0.2:80 now
bad "explain without arguments" -- explain

# ---- apply / dump: files ----
bad "apply a missing file" -- apply "$T/nosuch.conf"
bad "apply a directory" -- apply "$T/dir.conf"
bad "apply binary garbage" -- apply "$T/garbage.bin"
bad "apply high bytes" -- apply "$T/highbytes.conf"
bad "apply a NUL byte" -- apply "$T/nul.conf"
bad "apply a line over 4096 characters" -- apply "$T/longline.conf"
bad "apply 10 MB with an error on the last line" -- apply "$T/big.conf"
bad "apply /dev/zero (endless)" -- apply /dev/zero
bad "apply a duplicate binding" -- apply "$T/dupbind.conf"
bad "apply a partial overlap" -- apply "$T/overlap.conf"
bad "apply a typo in a service name" -- apply "$T/typo.conf"
bad "apply an unknown statement" -- apply "$T/statement.conf"
bad "apply limit 0 after good lines" -- apply "$T/pps.conf"
bad "apply an unterminated quote" -- apply "$T/quote.conf"
bad "apply more than 16 words" -- apply "$T/words.conf"
bad "apply a byte order mark" -- apply "$T/bom.conf"
bad "apply an unknown option --none" -- apply "$T/none.conf"
bad "apply an option on watch" -- apply "$T/watchopt.conf"
bad "apply a tab in a description" -- apply "$T/tabdesc.conf"
bad "apply a prefix with host bits" -- apply "$T/hostbits.conf"
bad "apply more watched ports than slots" -- apply "$T/slots.conf"
row 2 mem "apply 1000 wide watches, in bounded memory" -- apply "$T/widewatch.conf"
bad "apply 4100 watches, one of them twice" -- apply "$T/dupwatch.conf"
bad "apply --check of a bad file" -- apply --check "$T/overlap.conf"
bad "apply without a file" -- apply
bad "apply two files" -- apply "$T/typo.conf" "$T/typo.conf"
bad "apply unknown option" -- apply --force "$T/typo.conf"
bad "dump extra argument" -- dump all

# ---- --json: the same errors as one JSON line ----
badraw "--json unknown command" -- --json frobnicate
badraw "--json --netns of no namespace" -- --json --netns "$E2E_TAG-nosuch" status
bad "--json bind port out of range" -- --json bind tcp any 99999 web
bad "--json bind partial overlap" -- --json bind tcp any 1500-2500 web
bad "--json service name with a high byte" -- --json service add "$(printf 'w\xffb')"
bad "--json service name with an escape" -- --json service add "$(printf 'w\033[31m')"
bad "--json register --pid 0" -- --json register web --pid 0
bad "--json register of two listeners" -- --json register web --pid "$SRV2"
bad "--json policy limit 0" -- --json policy tcp 80 limit 0
bad "--json unpolicy of no policy" -- --json unpolicy tcp 22
bad "--json watch range LO > HI" -- --json watch tcp 80-70
bad "--json unwatch of no watch" -- --json unwatch tcp 8081
bad "--json stats --port x" -- --json stats --port x
bad "--json explain without a port" -- --json explain tcp 198.18.0.2
bad "--json exporter --listen port 0" -- --json exporter --listen 127.0.0.1:0
bad "--json top --interval 0" -- --json top --interval 0
bad "--json load --xdp of no interface" -- --json load --xdp "$E2E_TAG-noif"
bad "--json unload extra argument" -- --json unload now
bad "--json apply a missing file" -- --json apply "$T/nosuch.conf"
bad "--json apply a NUL byte" -- --json apply "$T/nul.conf"
bad "--json apply high bytes" -- --json apply "$T/highbytes.conf"
bad "--json dump extra argument" -- --json dump all
bad "--json bindings extra argument" -- --json bindings tcp

# the namespace still answers, unchanged (each case compared it already)
echo "1..$NCASE"
[ "$NFAIL" -eq 0 ]
