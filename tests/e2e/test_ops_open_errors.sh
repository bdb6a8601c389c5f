#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One open, one error: every command that reaches a namespace's state says
# the same line with the same exit status for the same failure: a
# namespace where portier is not loaded, a pin directory of another ABI, a
# --netns that names no namespace. The exceptions are answers, not errors,
# and are asserted as such: status and explain answer "not loaded", load
# loads, the exporter serves portier_loaded 0, unload removes pins of
# another ABI (the remedy the ABI line names).
. "$(dirname "$0")/lib.sh"

PORT=9473	# the exporter's, on the loopback of the case's own namespace

# The commands that need the state, one per line (split on blanks).
commands() {
	cat <<-'EOF'
	stats
	bindings
	services
	policies
	dump
	top --count 1
	service add web
	service del web
	bind tcp any 80 web
	unbind tcp any 80
	policy tcp 80 drop
	unpolicy tcp 80
	watch tcp 80
	unwatch tcp 80
	unregister web
	EOF
	echo "register web --pid $SRV"
	echo "apply $CONF"
}

# expect_all NS RC LINE [COMMAND...]: each of commands() (and the extra
# COMMANDs) against NS exits RC with exactly LINE on stderr.
expect_all() {
	local ns=$1 want_rc=$2 want=$3 args err rc
	shift 3
	while IFS= read -r args; do
		rc=0
		# shellcheck disable=SC2086 # the command's words
		err=$("$PORTIER" --netns "$ns" $args 2>&1 >/dev/null) || rc=$?
		expect_eq "$rc" "$want_rc" "exit status of '$args'"
		expect_eq "$err" "$want" "stderr of '$args'"
	done < <(commands; printf '%s\n' "$@")
}

# setup VAR_NS: a namespace with a server (pid in SRV) and a config file.
setup() {
	local __o __tmp
	newns __o open
	pyserve SRV "$__o" web 127.0.0.1:4001
	casetmp __tmp
	CONF=$__tmp/portier.conf
	printf 'service add web\n' >"$CONF"
	printf -v "$1" "%s" "$__o"
}

# exporter_start NS TMP: start the exporter for NS inside NS; PID in EXP.
exporter_start() {
	nsenter --net="/run/netns/$1" "$PORTIER" --netns "$1" exporter --listen "127.0.0.1:$PORT" \
		>"$2/ex.out" 2>"$2/ex.err" &
	EXP=$!
	_PIDS+=("$EXP")
	wait_listen "$1" tcp "$PORT"
}

# exporter_stop: SIGTERM, and wait (bounded) for it to end.
exporter_stop() {
	kill -TERM "$EXP"
	wait_exit "$EXP" 5
}

case_not_loaded() {
	local ns tmp rc out
	setup ns
	casetmp tmp
	expect_all "$ns" 1 "portier: not loaded in this network namespace: run 'portier load' first" \
		unload
	# answers
	out=$(pt "$ns" status)
	expect_eq "$out" "loaded:      no (network namespace $(stat -L -c %i "/run/netns/$ns"))" "status"
	rc=0
	out=$(pt "$ns" explain tcp 127.0.0.1:4001) || rc=$?
	expect_eq "$rc" 0 "explain's exit status (the server gets it)"
	expect_eq "$(tail -n 1 <<<"$out")" \
		"verdict: delivered to the listener on 127.0.0.1:4001 (pid $SRV, python3) by the kernel's own lookup, not through portier" \
		"explain's verdict"
	exporter_start "$ns" "$tmp"
	expect_eq "$(in_ns "$ns" curl -s --max-time 2 "http://127.0.0.1:$PORT/metrics" | grep '^portier_loaded')" \
		"portier_loaded 0" "the exporter's answer"
	exporter_stop
	expect_eq "$(cat "$tmp/ex.err")" "$(printf '%s\n%s\n%s' \
		"portier: not loaded in this network namespace: run 'portier load' first" \
		"portier: warning: exporter: serving portier_loaded 0 until portier is loaded there" \
		"portier: exporter: stopped by SIGTERM")" "the exporter's stderr"
	expect_eq "$(ls /sys/fs/bpf/portier | grep -c "^$(stat -L -c %i "/run/netns/$ns")")" 0 "pins made"
}

case_other_abi() {
	local ns tmp dir line abi pins rc
	setup ns
	casetmp tmp
	pt "$ns" load >/dev/null
	pt "$ns" service add web
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	abi=$("$PORTIER" --json version | jq -r .abi)
	"$E2E_HELPERS/fake_build.sh" "$dir" 0x1 7
	pins=$(find "$dir" | sort)
	line="portier: $dir: pinned state has ABI 7, this portier speaks ABI $abi: run the portier that loaded it, or 'portier unload' (this drops the configuration) and load again"
	expect_all "$ns" 1 "$line" status load "explain tcp 127.0.0.1:4001"
	exporter_start "$ns" "$tmp"
	rc=$(in_ns "$ns" curl -s -o "$tmp/body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/metrics")
	expect_eq "$rc" 500 "the exporter's status"
	expect_eq "$(cat "$tmp/body")" "$line" "the exporter's body"
	exporter_stop
	expect_eq "$(head -n 1 "$tmp/ex.err")" "$line" "the exporter's first line"
	expect_eq "$(find "$dir" | sort)" "$pins" "pins untouched"
	# the remedy
	pt "$ns" unload >/dev/null
	[ ! -e "$dir" ] || fail "$dir left after unload"
}

case_no_such_namespace() {
	local ns
	setup ns
	expect_all "$E2E_TAG-nosuch" 2 \
		"portier: --netns $E2E_TAG-nosuch: no such network namespace (No such file or directory)" \
		status load unload "explain tcp 127.0.0.1:4001" "exporter --listen 127.0.0.1:$PORT"
}

run_cases
