#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# apply --watch, the node agent: the ways a file changes (an editor's
# rename over it, a write in place, a Kubernetes ConfigMap's ..data symlink
# swap, deletion), a bad file (state kept, one line, one error counted),
# SIGTERM/SIGINT (exit 0, state left in place), SIGHUP, the debounce, and
# the start's errors. (apply keeps services it does not name: every file
# here declares the same two.) Every count of applies is exact: an apply happens
# only when the file's bytes change (sha256), at the start, and on SIGHUP.
. "$(dirname "$0")/lib.sh"

CONF_A='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 80 irene'
CONF_B='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 25 laszlo
bind tcp 198.18.0.2/32 80 irene'
CONF_C='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 8080 irene'

# node VAR: a namespace with portier loaded.
node() {
	local __n
	newns __n node
	pt "$__n" load >/dev/null
	printf -v "$1" '%s' "$__n"
}

# agent VAR NS FILE DIR [OPTS]: `portier --netns NS apply --watch OPTS FILE`
# in the background, stdout in DIR/out, stderr in DIR/err; PID in VAR.
agent() {
	local __var=$1 __ns=$2 __file=$3 __dir=$4 __pid
	shift 4
	"$PORTIER" --netns "$__ns" apply --watch "$@" "$__file" >"$__dir/out" 2>"$__dir/err" &
	__pid=$!
	_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
}

# put FILE TEXT: replace FILE by rename, as editors and config management do.
put() {
	printf '%s\n' "$2" >"$1.tmp.$$"
	mv -f "$1.tmp.$$" "$1"
}

# state NS: the state as apply reads it, without dump's comment line.
state() {
	pt "$1" dump | grep -v '^#'
}

applies() { # NS ok|error
	local f=applied_ok
	[ "$2" = error ] && f=applied_error
	pt "$1" --json status | jq -r ".config.$f"
}

# converge NS TEXT OK: wait (bounded, 5 s) until NS's state is TEXT and OK
# applies succeeded, then check that no other apply follows (0.6 s: three
# debounce periods).
converge() {
	local ns=$1 want=$2 ok=$3 i
	for ((i = 0; i < 50; i++)); do
		[ "$(state "$ns")" == "$want" ] && [ "$(applies "$ns" ok)" -ge "$ok" ] && break
		sleep 0.1
	done
	expect_eq "$(state "$ns")" "$want" "state after the change"
	sleep 0.6
	expect_eq "$(applies "$ns" ok)" "$ok" "applies that succeeded"
}

case_rename_over_and_write_in_place() {
	local ns tmp ag
	node ns
	casetmp tmp
	put "$tmp/portier.conf" "$CONF_A"
	agent ag "$ns" "$tmp/portier.conf" "$tmp"
	converge "$ns" "$CONF_A" 1
	expect_json "$ns" .config_sha256 "$(sha256sum <"$tmp/portier.conf" | cut -d' ' -f1)" status
	expect_json "$ns" .config.in_sync true status
	put "$tmp/portier.conf" "$CONF_B"
	converge "$ns" "$CONF_B" 2
	printf '%s\n' "$CONF_C" >"$tmp/portier.conf"	# in place: truncate, write
	converge "$ns" "$CONF_C" 3
	expect_json "$ns" .config_sha256 "$(sha256sum <"$tmp/portier.conf" | cut -d' ' -f1)" status
	expect_eq "$(applies "$ns" error)" 0 "errors"
	expect_eq "$(grep -c "^applied $tmp/portier.conf: " "$tmp/out")" 3 "apply lines on stdout"
	expect_eq "$(cat "$tmp/err")" "" "stderr"
}

# The layout the kubelet gives a ConfigMap volume: the file is a symlink
# into ..data, itself a symlink to a timestamped directory; an update makes
# a new directory and renames a new ..data symlink over the old one.
case_configmap_symlink_swap() {
	local ns tmp ag d
	node ns
	casetmp tmp
	d=$tmp/cm
	mkdir -p "$d/..2026_12_02_01_00_00.1"
	printf '%s\n' "$CONF_A" >"$d/..2026_12_02_01_00_00.1/portier.conf"
	ln -s ..2026_12_02_01_00_00.1 "$d/..data"
	ln -s ..data/portier.conf "$d/portier.conf"
	agent ag "$ns" "$d/portier.conf" "$tmp"
	converge "$ns" "$CONF_A" 1
	mkdir "$d/..2026_12_02_01_05_00.2"
	printf '%s\n' "$CONF_B" >"$d/..2026_12_02_01_05_00.2/portier.conf"
	ln -s ..2026_12_02_01_05_00.2 "$d/..data_tmp"
	mv -T "$d/..data_tmp" "$d/..data"
	rm -rf "$d/..2026_12_02_01_00_00.1"
	converge "$ns" "$CONF_B" 2
	# the rollback: the previous ConfigMap's content, by the same swap
	mkdir "$d/..2026_12_02_01_10_00.3"
	printf '%s\n' "$CONF_A" >"$d/..2026_12_02_01_10_00.3/portier.conf"
	ln -s ..2026_12_02_01_10_00.3 "$d/..data_tmp"
	mv -T "$d/..data_tmp" "$d/..data"
	rm -rf "$d/..2026_12_02_01_05_00.2"
	converge "$ns" "$CONF_A" 3
	expect_eq "$(applies "$ns" error)" 0 "errors"
}

case_bad_file_keeps_state_and_counts() {
	local ns tmp ag i
	node ns
	casetmp tmp
	put "$tmp/portier.conf" "$CONF_A"
	agent ag "$ns" "$tmp/portier.conf" "$tmp"
	converge "$ns" "$CONF_A" 1
	put "$tmp/portier.conf" "$CONF_A
bind tcp 198.18.0.2/32 81 nobody"
	for ((i = 0; i < 50; i++)); do
		[ "$(applies "$ns" error)" -ge 1 ] && break
		sleep 0.1
	done
	expect_eq "$(applies "$ns" error)" 1 "errors after a bad file"
	expect_eq "$(state "$ns")" "$CONF_A" "state kept"
	expect_json "$ns" .config_sha256 "$(printf '%s\n' "$CONF_A" | sha256sum | cut -d' ' -f1)" status
	expect_eq "$(cat "$tmp/err")" \
		"portier: $tmp/portier.conf:4:27: no service 'nobody': declare it with 'service add nobody'" \
		"one line on stderr"
	[ "$(pt "$ns" --json status | jq -r .config.last_error)" -gt 0 ] || fail "no last_error time"
	# the same bad bytes again: not tried again
	touch "$tmp/portier.conf"
	cp "$tmp/portier.conf" "$tmp/again"
	mv -f "$tmp/again" "$tmp/portier.conf"
	sleep 1
	expect_eq "$(applies "$ns" error)" 1 "errors after the same bad bytes again"
	# fixed: applied
	put "$tmp/portier.conf" "$CONF_B"
	converge "$ns" "$CONF_B" 2
	# deleted: one warning, one error, the state stays
	rm "$tmp/portier.conf"
	for ((i = 0; i < 50; i++)); do
		[ "$(applies "$ns" error)" -ge 2 ] && break
		sleep 0.1
	done
	expect_eq "$(applies "$ns" error)" 2 "errors after the file was deleted"
	expect_eq "$(state "$ns")" "$CONF_B" "state kept after deletion"
	expect_eq "$(tail -n 1 "$tmp/err")" \
		"portier: warning: apply: $tmp/portier.conf: No such file or directory; keeping the state applied before" \
		"the deletion's line"
	# back with the same bytes: applied again (the agent said it had none)
	put "$tmp/portier.conf" "$CONF_B"
	converge "$ns" "$CONF_B" 3
	expect_eq "$(applies "$ns" error)" 2 "errors at the end"
	expect_eq "$(wc -l <"$tmp/err")" 2 "stderr lines"
	kill -0 "$ag" || fail "the agent died"
}

case_sigterm_sigint_leave_state() {
	local ns tmp ag rc sig dir
	node ns
	casetmp tmp
	put "$tmp/portier.conf" "$CONF_B"
	dir=$(pt "$ns" --json status | jq -r .pin_dir)
	for sig in TERM INT; do
		# the last round's output must not pass for this one's (the
		# agent's shell truncates it only once it runs)
		rm -f "$tmp/out" "$tmp/err"
		agent ag "$ns" "$tmp/portier.conf" "$tmp"
		wait_lines "$tmp/out" 1 5
		kill "-$sig" "$ag"
		rc=0
		wait "$ag" || rc=$?
		expect_eq "$rc" 0 "exit status after SIG$sig"
		expect_eq "$(cat "$tmp/err")" "portier: apply: stopped by SIG$sig; the state stays as applied" \
			"stderr after SIG$sig"
		expect_eq "$(state "$ns")" "$CONF_B" "state after SIG$sig"
		[ -e "$dir/apply_info" ] || fail "pins gone after SIG$sig"
	done
	expect_eq "$(applies "$ns" ok)" 2 "one apply per start"
	expect_json "$ns" .loaded true status
}

case_debounce_and_sighup() {
	local ns tmp ag i
	node ns
	casetmp tmp
	put "$tmp/portier.conf" "$CONF_A"
	# a quiet time of 1 s: a burst of 40 writes (about 0.1 s) is one apply
	agent ag "$ns" "$tmp/portier.conf" "$tmp" --debounce 1000
	converge "$ns" "$CONF_A" 1
	"$E2E_PY" - "$tmp/portier.conf" <<-'EOF'
		import os, sys
		path = sys.argv[1]
		for i in range(40):
		    with open(path + ".tmp", "w") as f:
		        f.write('service add irene --desc "web app dev server"\n'
		                'service add laszlo --desc mail\n'
		                'bind tcp 198.18.0.2/32 %d irene\n' % (1000 + i))
		    os.rename(path + ".tmp", path)
	EOF
	converge "$ns" "service add irene --desc \"web app dev server\"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 1039 irene" 2
	# the same bytes written again and again: no apply at all
	for i in $(seq 1 20); do
		cp "$tmp/portier.conf" "$tmp/same"
		mv -f "$tmp/same" "$tmp/portier.conf"
	done
	sleep 2
	expect_eq "$(applies "$ns" ok)" 2 "applies after 20 writes of the same bytes"
	# SIGHUP: applied again, changed or not
	kill -HUP "$ag"
	for ((i = 0; i < 50; i++)); do
		[ "$(applies "$ns" ok)" -ge 3 ] && break
		sleep 0.1
	done
	expect_eq "$(applies "$ns" ok)" 3 "applies after SIGHUP"
	expect_eq "$(grep -c '^applied ' "$tmp/out")" 3 "apply lines"
	# a command's edit shows as drift until the agent applies the file again
	pt "$ns" bind tcp 198.18.0.3/32 80 irene
	expect_json "$ns" .config.in_sync false status
	kill -HUP "$ag"
	for ((i = 0; i < 50; i++)); do
		[ "$(applies "$ns" ok)" -ge 4 ] && break
		sleep 0.1
	done
	expect_json "$ns" .config.in_sync true status
	expect_eq "$(state "$ns")" "service add irene --desc \"web app dev server\"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 1039 irene" "state after SIGHUP"
}

case_start_errors() {
	local ns tmp rc err ag i
	casetmp tmp
	newns ns bare
	put "$tmp/portier.conf" "$CONF_A"
	# not loaded: nothing to apply to, exit 1
	rc=0
	err=$(timeout 10 "$PORTIER" --netns "$ns" apply --watch "$tmp/portier.conf" 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 1 "exit status when not loaded"
	expect_eq "$err" "portier: not loaded in this network namespace: run 'portier load' first" "its line"
	pt "$ns" load >/dev/null
	# a missing file at the start: bad input, as for apply
	rc=0
	err=$(timeout 10 "$PORTIER" --netns "$ns" apply --watch "$tmp/none.conf" 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 2 "exit status for a missing file"
	expect_eq "$err" "portier: apply: $tmp/none.conf: No such file or directory" "its line"
	expect_bad "$ns" apply --watch --check "$tmp/portier.conf"
	expect_bad "$ns" apply --watch -
	expect_bad "$ns" apply --watch --debounce 5 "$tmp/portier.conf"
	expect_bad "$ns" apply --watch --debounce x "$tmp/portier.conf"
	expect_bad "$ns" apply --debounce 100 "$tmp/portier.conf"
	expect_bad "$ns" apply --watch "$tmp/nodir/portier.conf"
	expect_eq "$(applies "$ns" ok)/$(applies "$ns" error)" 0/0 "nothing recorded"
	expect_json "$ns" .config_sha256 null status
	# a bad file at the start is an error counted, and the agent stays
	put "$tmp/portier.conf" "bogus"
	agent ag "$ns" "$tmp/portier.conf" "$tmp"
	for ((i = 0; i < 50; i++)); do
		[ "$(applies "$ns" error)" -ge 1 ] && break
		sleep 0.1
	done
	expect_eq "$(applies "$ns" error)" 1 "errors after a bad file at the start"
	put "$tmp/portier.conf" "$CONF_A"
	converge "$ns" "$CONF_A" 1
}

# scrape NS: the exporter's config lines (the exporter runs in NS).
config_lines() {
	local m
	m=$(in_ns "$1" curl -sf --max-time 2 http://127.0.0.1:9469/metrics)
	grep '^portier_config_' <<<"$m"
}

case_exporter_reports_the_config() {
	local ns tmp ex t_ok t_err i
	node ns
	casetmp tmp
	nsenter --net="/run/netns/$ns" "$PORTIER" --netns "$ns" exporter >"$tmp/ex.out" 2>&1 &
	ex=$!
	_PIDS+=("$ex")
	for ((i = 0; i < 50; i++)); do
		in_ns "$ns" curl -sf --max-time 2 -o /dev/null http://127.0.0.1:9469/metrics && break
		sleep 0.1
	done
	# never applied: no config_info series, counts 0
	expect_eq "$(config_lines "$ns")" 'portier_config_in_sync 0
portier_config_apply_total{result="ok"} 0
portier_config_apply_total{result="error"} 0
portier_config_last_apply_timestamp_seconds 0
portier_config_last_error_timestamp_seconds 0' "metrics before any apply"
	put "$tmp/portier.conf" "$CONF_A"
	pt "$ns" apply "$tmp/portier.conf" >/dev/null
	put "$tmp/bad.conf" "bogus"
	pt "$ns" apply "$tmp/bad.conf" >/dev/null 2>&1 || true
	t_ok=$(pt "$ns" --json status | jq -r .config.last_apply)
	t_err=$(pt "$ns" --json status | jq -r .config.last_error)
	expect_eq "$(config_lines "$ns")" "portier_config_info{sha256=\"$(sha256sum <"$tmp/portier.conf" | cut -d' ' -f1)\"} 1
portier_config_in_sync 1
portier_config_apply_total{result=\"ok\"} 1
portier_config_apply_total{result=\"error\"} 1
portier_config_last_apply_timestamp_seconds $t_ok
portier_config_last_error_timestamp_seconds $t_err" "metrics after one ok and one refused apply"
	[ "$t_ok" -ge $(($(date +%s) - 60)) ] || fail "last_apply $t_ok is not now"
	# an edit by hand: in_sync 0, the sha256 stays; undone: in_sync 1
	pt "$ns" bind tcp 198.18.0.9/32 80 irene
	grep -qx 'portier_config_in_sync 0' <<<"$(config_lines "$ns")" || fail "in_sync after a bind"
	pt "$ns" unbind tcp 198.18.0.9/32 80
	grep -qx 'portier_config_in_sync 1' <<<"$(config_lines "$ns")" || fail "in_sync after the unbind"
}

run_cases
