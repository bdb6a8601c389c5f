#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# exporter: /metrics equals `portier --json stats` exactly, a real
# Prometheus server (Debian's) scrapes it, SIGTERM stops it with status 0.
# Everything listens on loopback inside the test's own namespace.
. "$(dirname "$0")/lib.sh"

# building VAR_NS VAR_STREET: two namespaces joined by a veth pair (IPv6
# off on it, so no neighbour discovery ticks the counters), portier loaded
# with the guard on the building's side, Irene bound on port 80.
building() {
	local __b __s __irene
	newns __b bldg
	newns __s street
	veth_pair "$__b" lobby 198.18.0.2/24 "$__s" door 198.18.0.1/24
	in_ns "$__b" sysctl -qw net.ipv6.conf.lobby.disable_ipv6=1
	in_ns "$__s" sysctl -qw net.ipv6.conf.door.disable_ipv6=1
	pt "$__b" load --xdp lobby >/dev/null
	serve __irene "$__b" tcp 127.0.0.1 3003 irene
	wait_listen "$__b" tcp 3003
	pt "$__b" register irene --pid "$__irene"
	pt "$__b" bind tcp 198.18.0.2 80 irene
	printf -v "$1" '%s' "$__b"
	printf -v "$2" '%s' "$__s"
}

# exporter VAR NS DIR ARGS...: start `portier exporter ARGS` for NS, from
# inside NS (it listens in its caller's namespace; its stdout and stderr in
# DIR/ex.out, DIR/ex.err); PID in VAR.
exporter() {
	local __var=$1 __ns=$2 __dir=$3 __pid
	shift 3
	nsenter --net="/run/netns/$__ns" "$PORTIER" --netns "$__ns" exporter "$@" >"$__dir/ex.out" 2>"$__dir/ex.err" &
	__pid=$!
	_PIDS+=("$__pid")
	printf -v "$__var" '%s' "$__pid"
}

# scrape NS URL: GET URL from inside NS (2 s bound), the body on stdout.
# (read a scrape whole before matching: grep -q stops at its match, and a
# curl still writing into the closed pipe fails the pipeline under pipefail)
scrape() {
	in_ns "$1" curl -sf --max-time 2 -g "$2"
}

# wait_http NS URL: wait (bounded, 5 s) until URL answers.
wait_http() {
	local i
	for i in $(seq 1 50); do
		scrape "$1" "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "$2 did not answer within 5 s"
}

# The exposition lines that `stats --json` (on stdin) implies, sorted.
expected_lines() {
	jq -r '
	  (.ports[] | . as $r
	   | {packets, bytes, dropped, limited, steered, no_socket, xsk, cpu, fallback} | to_entries[]
	   | "portier_port_\(.key)_total{proto=\"\($r.proto)\",port=\"\($r.port)\(if $r.port_hi then "-\($r.port_hi)" else "" end)\",service=\"\($r.service)\"} \(.value)"),
	  (.classes[] | . as $r
	   | {packets, bytes, dropped, limited, xsk, cpu, fallback} | to_entries[]
	   | "portier_class_\(.key)_total{proto=\"\($r.proto)\",class=\"\($r.class)\"} \(.value)"),
	  "portier_malformed_total \(.malformed)",
	  "portier_fragments_total \(.fragments)",
	  "portier_other_total \(.other)",
	  "portier_unreadable_total \(.unreadable)"' | sort
}

# The sample lines of the families expected_lines covers, sorted.
metric_lines() {
	grep -E '^portier_(port_[a-z_]+|class_[a-z_]+|malformed|fragments|other|unreadable)_total[{ ]' | sort
}

case_metrics_equal_stats_and_prometheus_scrapes() {
	local ns st tmp ex prom port=9469 pport=19090 m1 m2 stats i got want rc hdr fam
	building ns st
	casetmp tmp
	pt "$ns" watch udp 5000-5001
	pt "$ns" bind tcp 198.18.0.2 3064-3099 irene
	exporter ex "$ns" "$tmp" --listen "127.0.0.1:$port"
	wait_http "$ns" "http://127.0.0.1:$port/metrics"
	expect_eq "$(cat "$tmp/ex.out")" "exporter: serving http://127.0.0.1:$port/metrics" "exporter's first line"
	for i in 1 2 3; do
		expect_eq "$(tcp_get "$st" 198.18.0.2 80)" irene "visitor $i on port 80"
	done
	expect_eq "$(tcp_get "$st" 198.18.0.2 3070)" irene "a visitor on port 3070"
	# the counters are quiet now; compare a scrape with stats taken
	# between two scrapes with the same counters (bounded retries). Each
	# scrape is itself a TCP connection in the namespace, so the unbound
	# lookups counter ticks: it is not among the lines compared.
	for i in $(seq 1 10); do
		m1=$(scrape "$ns" "http://127.0.0.1:$port/metrics")
		stats=$(pt "$ns" --json stats)
		m2=$(scrape "$ns" "http://127.0.0.1:$port/metrics")
		[ "$(metric_lines <<<"$m1")" == "$(metric_lines <<<"$m2")" ] && break
		sleep 0.3
	done
	[ "$(metric_lines <<<"$m1")" == "$(metric_lines <<<"$m2")" ] ||
		{ fail "the counters never held still for one scrape"; return 1; }
	want=$(expected_lines <<<"$stats")
	got=$(metric_lines <<<"$m1")
	expect_eq "$got" "$want" "metrics vs stats --json"
	expect_eq "$(grep -c . <<<"$want")" 82 "lines compared (4 rows x 9 + 6 classes x 7 + 4)"
	grep -qx 'portier_port_steered_total{proto="tcp",port="80",service="irene"} 3' <<<"$m1" ||
		fail "steered of port 80 is not 3: $(grep 'steered_total.*port="80"' <<<"$m1")"
	grep -qx 'portier_port_steered_total{proto="tcp",port="3064-3099",service="irene"} 1' <<<"$m1" ||
		fail "range row: $(grep 'steered_total.*3064' <<<"$m1")"
	grep -qx 'portier_port_packets_total{proto="udp",port="5000",service=""} 0' <<<"$m1" ||
		fail "watched port without a service"
	grep -qx "portier_build_info{version=\"$("$PORTIER" --json version | jq -r .version)\",abi=\"$("$PORTIER" --json version | jq -r .abi)\",build_id=\"$(pt "$ns" --json status | jq -r .build)\"} 1" <<<"$m1" ||
		fail "build_info: $(grep build_info <<<"$m1")"
	[ "$(sed -n 's/^portier_unbound_lookups_total //p' <<<"$m2")" -gt "$(jq .unbound_lookups <<<"$stats")" ] ||
		fail "unbound lookups: the scrape after stats must have counted one more"
	grep -qx 'portier_services 1' <<<"$m1" || fail "portier_services"
	grep -qx 'portier_services_with_socket 1' <<<"$m1" || fail "portier_services_with_socket"
	grep -qx 'portier_bindings 2' <<<"$m1" || fail "portier_bindings"
	grep -qx 'portier_policies 0' <<<"$m1" || fail "portier_policies"
	# every family has its HELP and TYPE, and every sample a family
	for fam in $(grep -v '^#' <<<"$m1" | sed 's/[{ ].*//' | sort -u); do
		grep -q "^# HELP $fam " <<<"$m1" || fail "no HELP for $fam"
		grep -Eq "^# TYPE $fam (counter|gauge)$" <<<"$m1" || fail "no TYPE for $fam"
	done
	grep -qx '# TYPE portier_port_steered_total counter' <<<"$m1" || fail "steered is not a counter"
	grep -qx '# TYPE portier_services gauge' <<<"$m1" || fail "services is not a gauge"
	hdr=$(in_ns "$ns" curl -s --max-time 2 -D - -o /dev/null "http://127.0.0.1:$port/metrics")
	grep -qi '^Content-Type: text/plain; version=0.0.4' <<<"$hdr" || fail "Content-Type: $hdr"
	expect_eq "$(in_ns "$ns" curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" \
		404 "GET /"
	expect_eq "$(in_ns "$ns" curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metricsx")" \
		404 "GET /metricsx"

	# a real Prometheus server scrapes it every second
	cat >"$tmp/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: portier
		    static_configs:
		      - targets: ['127.0.0.1:$port']
	EOF
	spawn prom "$ns" prometheus --config.file="$tmp/prometheus.yml" \
		--storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$pport"
	want=$(stat_of "$ns" tcp 80 steered)
	got=
	for i in $(seq 1 60); do
		got=$(in_ns "$ns" curl -s --max-time 2 -G "http://127.0.0.1:$pport/api/v1/query" \
			--data-urlencode 'query=portier_port_steered_total{port="80"}' 2>/dev/null |
			jq -r '.data.result[0].value[1] // empty' 2>/dev/null) || true
		[ -n "$got" ] && break
		sleep 0.5
	done
	expect_eq "$got" "$want" "Prometheus' value of portier_port_steered_total{port=\"80\"}"
	expect_eq "$(in_ns "$ns" curl -s --max-time 2 -G "http://127.0.0.1:$pport/api/v1/query" \
		--data-urlencode 'query=up{job="portier"}' | jq -r '.data.result[0].value[1]')" 1 "up{job=portier}"

	# SIGTERM: a clean stop, status 0
	kill -TERM "$ex"
	rc=0
	wait "$ex" || rc=$?
	expect_eq "$rc" 0 "exporter's exit status after SIGTERM"
	expect_eq "$(cat "$tmp/ex.err")" "portier: exporter: stopped by SIGTERM" "exporter's stderr"
}

case_exporter_listen_errors_and_warnings() {
	local ns st tmp tmp2 ex ex2 rc err
	building ns st
	casetmp tmp
	casetmp tmp2
	exporter ex "$ns" "$tmp" --listen 127.0.0.1:9469
	wait_http "$ns" http://127.0.0.1:9469/metrics
	# the port is taken: exit 1, one clear line
	rc=0
	err=$(in_ns "$ns" "$PORTIER" --netns "$ns" exporter --listen 127.0.0.1:9469 2>&1 >/dev/null) || rc=$?
	expect_eq "$rc" 1 "exit status of a second exporter on the same port"
	expect_eq "$err" "portier: exporter: cannot listen on 127.0.0.1:9469: Address already in use" "its error"
	# IPv6 loopback works too
	exporter ex2 "$ns" "$tmp2" --listen '[::1]:9470'
	wait_http "$ns" 'http://[::1]:9470/metrics'
	grep -q '^portier_loaded 1$' <<<"$(scrape "$ns" 'http://[::1]:9470/metrics')" || fail "scrape over [::1]"
	kill -INT "$ex2"
	rc=0
	wait "$ex2" || rc=$?
	expect_eq "$rc" 0 "exit status after SIGINT"
	# a non-loopback address is allowed, with a warning
	exporter ex2 "$ns" "$tmp2" --listen 198.18.0.2:9471
	wait_http "$ns" http://198.18.0.2:9471/metrics
	expect_eq "$(cat "$tmp2/ex.err")" \
		"portier: warning: exporter: 198.18.0.2:9471 is not a loopback address: the metrics are exposed to whoever can reach it" \
		"warning for a non-loopback address"
	kill -TERM "$ex2"
	wait "$ex2" || true
	# bad input: exit 2
	expect_bad "$ns" exporter --listen 127.0.0.1
	expect_bad "$ns" exporter --listen 127.0.0.1:0
	expect_bad "$ns" exporter --listen localhost:9469
	expect_bad "$ns" exporter extra
	# after unload the exporter keeps serving, and says so
	pt "$ns" unload >/dev/null
	grep -q '^portier_loaded 0$' <<<"$(scrape "$ns" http://127.0.0.1:9469/metrics)" || fail "portier_loaded 0 after unload"
	kill -TERM "$ex"
	rc=0
	wait "$ex" || rc=$?
	expect_eq "$rc" 0 "exit status after SIGTERM"
}

run_cases
