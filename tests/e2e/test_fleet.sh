#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A simulated fleet: 8 network namespaces as nodes, each with its own
# `portier --netns NODE apply --watch` agent on one shared file and its own
# exporter; one real Prometheus (Debian's) scrapes all 8. The exporters and
# Prometheus live in a monitor namespace of their own (an exporter listens
# in its caller's namespace and reads --netns's pins), on its loopback.
#   change the file -> every node's state is the file (within 3 s), and
#     count by (sha256) (portier_config_info) is one series of value 8;
#   a bad file -> every node keeps its state and reports result="error";
#   the file restored -> converged again;
#   one agent killed -> traffic flows, the file changes without it (the
#     drift shows as two series), restarted -> it reconciles;
# with a client connecting to node 1 throughout: 0 failed connections.
. "$(dirname "$0")/lib.sh"

NODES=8
PROM_PORT=19090

CONF_1='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 80 irene'
CONF_2='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 25 laszlo
bind tcp 198.18.0.2/32 80 irene
bind tcp 198.18.0.2/32 8000-8099 irene'
CONF_3='service add irene --desc "web app dev server"
service add laszlo --desc mail
bind tcp 198.18.0.2/32 25 laszlo
bind tcp 198.18.0.2/32 80 irene
bind tcp 198.18.0.0/24 443 irene'

# put FILE TEXT: replace FILE by rename, as config management does.
put() {
	printf '%s\n' "$2" >"$1.tmp"
	mv -f "$1.tmp" "$1"
	T0=$(date +%s%3N)
}

state() { # NODE: the state as apply reads it
	pt "$1" dump | grep -v '^#'
}

# converged TEXT: every node's state is TEXT.
converged() {
	local k
	for ((k = 1; k <= NODES; k++)); do
		[ "$(state "${NODE[$k]}")" == "$1" ] || return 1
	done
}

# wait_converged TEXT WHAT: every node's state is TEXT within 3 s of the
# change (the issue's bound; polled), measured from T0 (ms, set by put).
wait_converged() {
	local k now
	while :; do
		converged "$1" && break
		now=$(date +%s%3N)
		if [ $((now - T0)) -gt 3000 ]; then
			for ((k = 1; k <= NODES; k++)); do
				[ "$(state "${NODE[$k]}")" == "$1" ] ||
					echo "# node $k: $(state "${NODE[$k]}" | tr '\n' ';')" >&2
			done
			fail "$2: not every node's state equals the file within 3 s"
			return 1
		fi
		sleep 0.05
	done
	echo "# $2: every node converged $(($(date +%s%3N) - T0)) ms after the write" >&2
}

# every_node JQ WANT WHAT: status --json | jq JQ is WANT on every node.
every_node() {
	local k got
	for ((k = 1; k <= NODES; k++)); do
		got=$(pt "${NODE[$k]}" --json status | jq -r "$1")
		[ "$got" == "$2" ] || { fail "$3: node $k: $1 is '$got', expected '$2'"; return 1; }
	done
}

# promq QUERY: "LABEL VALUE" lines of an instant query, sorted (LABEL the
# sha256 label, empty when the series has none).
promq() {
	in_ns "$MON" curl -s --max-time 2 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" |
		jq -r '.data.result[] | "\(.metric.sha256 // "") \(.value[1])"' | sort
}

# prom_until QUERY WANT WHAT: wait (bounded, 20 s) until promq QUERY is WANT.
prom_until() {
	local i got=
	for ((i = 0; i < 40; i++)); do
		got=$(promq "$1" 2>/dev/null) || true
		[ "$got" == "$2" ] && return 0
		sleep 0.5
	done
	fail "$3: Prometheus says '$got' for $1, expected '$2'"
}

sha() { printf '%s\n' "$1" | sha256sum | cut -d' ' -f1; }

# agent K: start node K's agent (PID in AGENT[K]).
agent() {
	local k=$1
	"$PORTIER" --netns "${NODE[$k]}" apply --watch "$CONF" \
		>>"$TMP/agent$k.out" 2>>"$TMP/agent$k.err" &
	AGENT[$k]=$!
	_PIDS+=("${AGENT[$k]}")
}

case_fleet_of_eight_converges_reports_and_survives_an_agent() {
	local k ns srv prom looper q i n_kill
	declare -gA NODE=() AGENT=()
	casetmp TMP
	CONF=$TMP/etc/portier.conf
	mkdir -p "$TMP/etc"
	newns MON monitor
	for ((k = 1; k <= NODES; k++)); do
		newns ns "node$k"
		NODE[$k]=$ns
		pt "$ns" load >/dev/null
	done
	# node 1 has a visitor: Irene's server behind 198.18.0.2:80
	ip -n "${NODE[1]}" addr add 198.18.0.2/32 dev lo
	pyserve srv "${NODE[1]}" irene 127.0.0.1:4001
	pt "${NODE[1]}" register irene --pid "$srv" >/dev/null

	put "$CONF" "$CONF_1"
	for ((k = 1; k <= NODES; k++)); do
		agent "$k"
		nsenter --net="/run/netns/$MON" "$PORTIER" --netns "${NODE[$k]}" exporter --listen "127.0.0.1:$((9400 + k))" \
			>"$TMP/ex$k.out" 2>"$TMP/ex$k.err" &
		_PIDS+=("$!")
	done
	{
		printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
		printf 'scrape_configs:\n  - job_name: portier\n    static_configs:\n'
		for ((k = 1; k <= NODES; k++)); do
			printf "      - targets: ['127.0.0.1:%d']\n        labels: {node: node%d}\n" $((9400 + k)) "$k"
		done
	} >"$TMP/prometheus.yml"
	spawn prom "$MON" prometheus --config.file="$TMP/prometheus.yml" \
		--storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT"
	wait_converged "$CONF_1" "first apply"
	every_node .config_sha256 "$(sha "$CONF_1")" "config_sha256 after the first apply"
	prom_until 'count(up{job="portier"} == 1)' " 8" "targets up"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_1") 8" "one config"

	# a client connects to node 1 from here to the end (bounded: 6000
	# connections at most, 20 more after the stop file appears)
	spawn looper "${NODE[1]}" "$E2E_PY" "$E2E_HELPERS/ptnet.py" loop 198.18.0.2 80 6000 \
		--delay 0.005 --timeout 2 --out "$TMP/loop" --stop-after "$TMP/stop:20"
	wait_lines "$TMP/loop" 20 10

	# change the file: every node follows, Prometheus sees one hash
	put "$CONF" "$CONF_2"
	wait_converged "$CONF_2" "change"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_2") 8" "one config after the change"
	every_node .config.applied_ok 2 "applies after the change"

	# a bad file: every node keeps its state and reports the error
	put "$CONF" "$CONF_2
bind tcp 198.18.0.2/32 81 nobody"
	for ((i = 0; i < 30; i++)); do
		every_node .config.applied_error 1 "" 2>/dev/null && break
		sleep 0.1
	done
	_FAILMSG=
	every_node .config.applied_error 1 "errors after the bad file"
	converged "$CONF_2" || fail "a node left its state for the bad file"
	every_node .config_sha256 "$(sha "$CONF_2")" "config_sha256 after the bad file"
	prom_until 'sum(portier_config_apply_total{result="error"})' " 8" "result=error on every node"
	prom_until 'count(portier_config_apply_total{result="error"} == 1)' " 8" "one error per node"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_2") 8" "still one config"
	for ((k = 1; k <= NODES; k++)); do
		expect_eq "$(cat "$TMP/agent$k.err")" \
			"portier: $CONF:6:27: no service 'nobody': declare it with 'service add nobody'" \
			"node $k's agent's stderr"
	done

	# restored: applied again everywhere
	put "$CONF" "$CONF_2"
	for ((i = 0; i < 30; i++)); do
		every_node .config.applied_ok 3 "" 2>/dev/null && break
		sleep 0.1
	done
	_FAILMSG=
	every_node .config.applied_ok 3 "applies after the restore"
	converged "$CONF_2" || fail "state after the restore"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_2") 8" "converged after the restore"

	# node 1's agent dies: traffic flows; the file changes without it
	kill -KILL "${AGENT[1]}"
	wait "${AGENT[1]}" 2>/dev/null || true
	n_kill=$(lines "$TMP/loop")
	put "$CONF" "$CONF_3"
	for ((i = 0; i < 30; i++)); do
		[ "$(state "${NODE[8]}")" == "$CONF_3" ] && break
		sleep 0.1
	done
	for ((k = 2; k <= NODES; k++)); do
		expect_eq "$(state "${NODE[$k]}")" "$CONF_3" "node $k without node 1's agent"
	done
	expect_eq "$(state "${NODE[1]}")" "$CONF_2" "node 1 without its agent"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_2") 1
$(sha "$CONF_3") 7" "the drift, seen"
	wait_lines "$TMP/loop" $((n_kill + 50)) 10
	# restarted: it reconciles
	T0=$(date +%s%3N)
	agent 1
	wait_converged "$CONF_3" "node 1's agent restarted"
	prom_until 'count by (sha256) (portier_config_info)' "$(sha "$CONF_3") 8" "converged after the restart"
	expect_json "${NODE[1]}" .config.in_sync true status

	touch "$TMP/stop"
	wait_exit "$looper" 60
	expect_eq "$(grep -c FAIL "$TMP/loop" || true)" 0 "failed connections"
	expect_eq "$(cut -d' ' -f2 "$TMP/loop" | sort -u)" irene "every reply"
	[ "$(lines "$TMP/loop")" -ge $((n_kill + 70)) ] || fail "too few connections: $(lines "$TMP/loop")"
	echo "# $(lines "$TMP/loop") connections to node 1, 0 failed; Prometheus $(prometheus --version 2>&1 | head -1 | cut -d' ' -f3)" >&2
}

run_cases
