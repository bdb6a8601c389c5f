// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of explain's decisions (pt_explain_decide): made-up facts in,
 * steps and a verdict out. Table-driven: each row is {name, configuration,
 * packet, host facts, sockets, expected verdict, delivered, step checks}.
 * Every failing row is reported, then the test fails once at its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "unit.h"
#include "explain.h"
#include "parse.h"

/* A socket: "ADDR:PORT" or "[V6]:PORT", with flags in a short string:
 * L listening, U unconnected UDP, 6 IPv6 only, P sets IP_PKTINFO. */
struct sock_spec {
	const char *local;
	const char *flags;
	int pid;
};

struct row {
	const char *name;
	/* configuration: lines "bind PROTO PREFIX PORTS SERVICE" or
	 * "policy PROTO PORTS ACTION PPS FROM" */
	const char *config[6];
	bool not_loaded, guard_off, dispatch_off;
	const char *proto, *dst, *from;
	int local;			/* pt_addr_local's answer for dst */
	bool from_local;
	struct sock_spec svc[3], other[3], kern[4];
	const char *verdict;
	bool delivered;
	const char *steps;		/* the checks in order, comma separated */
	const char *contains;		/* a text some step's detail must contain */
};

static const struct row rows[] = {
	{
		.name = "bound and live",
		.config = { "bind tcp 198.18.0.2/32 80 irene", "bind tcp any 1-1023 irene" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "delivered to service 'irene' at 127.0.0.1:3003 (pid 42, socat)",
		.delivered = true,
		.steps = "guard,policy,address,binding,sockets",
		.contains = "it beats tcp any 1-1023 -> irene (narrower range)",
	},
	{
		.name = "longer prefix, then an explicit family",
		.config = { "bind tcp 198.18.0.0/24 80 irene", "bind tcp 0.0.0.0/0 80 irene",
			    "bind tcp any 80 irene" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "delivered to service 'irene' at 127.0.0.1:3003 (pid 42, socat)",
		.delivered = true,
		.contains = "tcp 0.0.0.0/0 80 -> irene (longer prefix), tcp any 80 -> irene "
			    "(longer prefix)",
	},
	{
		.name = "not loaded, nothing listens",
		.not_loaded = true,
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.verdict = "nothing listens: the connection is refused",
		.steps = "portier,address,listener",
	},
	{
		.name = "udp, nothing listens",
		.proto = "udp", .dst = "198.18.0.2:53", .local = 1,
		.verdict = "nothing listens: ICMP port unreachable",
	},
	{
		.name = "not an address of the host",
		.config = { "bind tcp any 80 irene" },
		.proto = "tcp", .dst = "203.0.113.7:80", .local = 0,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "203.0.113.7 is not an address of this host",
		.steps = "guard,policy,address",
	},
	{
		.name = "drop",
		.config = { "bind tcp any 80 irene", "policy tcp 80 drop 0 any" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "dropped by policy",
		.steps = "guard,policy",
	},
	{
		.name = "drop, but the guard is attached nowhere",
		.config = { "bind tcp any 80 irene", "policy tcp 80 drop 0 any" },
		.guard_off = true,
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "delivered to service 'irene' at 127.0.0.1:3003 (pid 42, socat)",
		.delivered = true,
		.steps = "guard,address,binding,sockets",
	},
	{
		.name = "drop, but from this host the packet takes lo",
		.config = { "bind tcp any 80 irene", "policy tcp 80 drop 0 any" },
		.proto = "tcp", .dst = "198.18.0.2:80", .from = "198.18.0.2", .from_local = true,
		.local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "delivered to service 'irene' at 127.0.0.1:3003 (pid 42, socat)",
		.delivered = true,
		.contains = "goes through lo",
	},
	{
		.name = "drop-new on tcp",
		.config = { "policy tcp 22 drop-new 0 any" },
		.proto = "tcp", .dst = "198.18.0.2:22", .local = 1,
		.kern = { { "0.0.0.0:22", "L", 7 } },
		.verdict = "new connections dropped",
	},
	{
		.name = "drop-new on udp passes",
		.config = { "policy udp 53 drop-new 0 any" },
		.proto = "udp", .dst = "198.18.0.2:53", .local = 1,
		.kern = { { "198.18.0.2:53", "U", 7 } },
		.verdict = "delivered to the socket on 198.18.0.2:53 (pid 7, socat) by the kernel's "
			   "own lookup, not through portier",
		.delivered = true,
		.contains = "drop-new stops only TCP connections",
	},
	{
		.name = "source scoped drop, asked for that source",
		.config = { "policy tcp 80 drop 0 198.18.0.0/24", "policy tcp 80 allow 0 198.18.0.7/32" },
		.proto = "tcp", .dst = "198.18.0.2:80", .from = "198.18.0.9:5000", .local = 1,
		.kern = { { "0.0.0.0:80", "L", 7 } },
		.verdict = "dropped by policy",
	},
	{
		.name = "source scoped drop, a nested allow",
		.config = { "policy tcp 80 drop 0 198.18.0.0/24", "policy tcp 80 allow 0 198.18.0.7/32" },
		.proto = "tcp", .dst = "198.18.0.2:80", .from = "198.18.0.7", .local = 1,
		.kern = { { "0.0.0.0:80", "L", 7 } },
		.verdict = "delivered to the listener on 0.0.0.0:80 (pid 7, socat) by the kernel's own "
			   "lookup, not through portier",
		.delivered = true,
	},
	{
		.name = "source scoped drop, no source given",
		.config = { "policy tcp 80 drop 0 198.18.0.0/24" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.kern = { { "0.0.0.0:80", "L", 7 } },
		.verdict = "delivered to the listener on 0.0.0.0:80 (pid 7, socat) by the kernel's own "
			   "lookup, not through portier (the guard treats some sources otherwise: see "
			   "the policy step)",
		.delivered = true,
		.contains = "The answer depends on the source: from 198.18.0.0/24: drop",
	},
	{
		.name = "limit",
		.config = { "bind udp 198.18.0.2/32 53 dns", "policy udp 53 limit 100 any" },
		.proto = "udp", .dst = "198.18.0.2:53", .local = 1,
		.svc = { { "127.0.0.1:5353", "UP", 9 } },
		.verdict = "delivered to service 'dns' at 127.0.0.1:5353 (pid 9, socat), rate limited "
			   "above 100 pps (0 limited so far)",
		.delivered = true,
		.steps = "guard,policy,address,binding,sockets,reply",
	},
	{
		.name = "udp reply from the wrong address",
		.config = { "bind udp 198.18.0.2/32 53 dns" },
		.proto = "udp", .dst = "198.18.0.2:53", .local = 1,
		.svc = { { "127.0.0.1:5353", "U", 9 } },
		.verdict = "delivered to service 'dns' at 127.0.0.1:5353 (pid 9, socat), but its "
			   "replies leave from 127.0.0.1:5353, not 198.18.0.2:53",
		.delivered = true,
	},
	{
		.name = "udp socket on the destination itself",
		.config = { "bind udp any 53 dns" },
		.proto = "udp", .dst = "198.18.0.2:53", .local = 1,
		.svc = { { "198.18.0.2:53", "U", 9 } },
		.verdict = "delivered to service 'dns' at 198.18.0.2:53 (pid 9, socat)",
		.delivered = true,
	},
	{
		.name = "bound, socket gone, a plain listener takes it",
		.config = { "bind tcp any 80 irene" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.kern = { { "198.18.0.2:80", "L", 5 }, { "0.0.0.0:80", "L", 6 } },
		.verdict = "service 'irene' has no live socket; delivered to the listener on "
			   "198.18.0.2:80 (pid 5, socat) by the kernel's own lookup, not through portier",
		.delivered = true,
	},
	{
		.name = "ipv4 to an ipv6-only service",
		.config = { "bind tcp any 80 irene" },
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.other = { { "[::]:80", "L6", 5 } },
		.kern = { { "[::]:80", "L6", 5 } },
		.verdict = "service 'irene' has no IPv4 socket; listening on [::]:80, IPv6 only: IPv4 "
			   "is refused",
	},
	{
		.name = "dual-stack wildcard takes ipv4",
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.kern = { { "[::]:80", "L", 5 } },
		.verdict = "delivered to the listener on [::]:80 (pid 5, socat) by the kernel's own "
			   "lookup, not through portier",
		.delivered = true,
	},
	{
		.name = "v4-mapped exact address",
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.kern = { { "[::ffff:198.18.0.2]:80", "L", 5 } },
		.verdict = "delivered to the listener on [::ffff:198.18.0.2]:80 (pid 5, socat) by the "
			   "kernel's own lookup, not through portier",
		.delivered = true,
	},
	{
		.name = "loopback only",
		.proto = "tcp", .dst = "198.18.0.2:3003", .local = 1,
		.kern = { { "127.0.0.1:3003", "L", 5 }, { "[::1]:3003", "L", 5 } },
		.verdict = "listening only on loopback: reachable from this host only",
	},
	{
		.name = "another address",
		.proto = "tcp", .dst = "198.18.0.2:3003", .local = 2,
		.kern = { { "198.18.0.3:3003", "L", 5 } },
		.verdict = "listening on 198.18.0.3:3003, not on 198.18.0.2",
		.contains = "local through a local route",
	},
	{
		.name = "ipv6 packet, ipv4 listener only",
		.proto = "tcp", .dst = "[2001:db8::2]:80", .local = 1,
		.kern = { { "0.0.0.0:80", "L", 5 } },
		.verdict = "nothing listens: the connection is refused",
	},
	{
		.name = "dispatch detached",
		.config = { "bind tcp any 80 irene" },
		.dispatch_off = true,
		.proto = "tcp", .dst = "198.18.0.2:80", .local = 1,
		.svc = { { "127.0.0.1:3003", "L", 42 } },
		.verdict = "nothing listens: the connection is refused",
		.steps = "guard,policy,address,dispatch,listener",
	},
};

static void parse_sock(const struct sock_spec *spec, uint8_t proto, struct pt_xsock *x)
{
	uint16_t port = 0;

	memset(x, 0, sizeof(*x));
	assert_int_equal(pt_parse_addrport(spec->local, &x->family, x->addr, &port, false, NULL), 0);
	x->port = port;
	x->pid = spec->pid;
	x->reg_pid = spec->pid;
	x->reg_holds = true;
	snprintf(x->comm, sizeof(x->comm), "socat");
	x->state = proto == PT_TCP ? PT_TCP_LISTEN : PT_TCP_CLOSE;
	x->v6only = strchr(spec->flags, '6') != NULL;
	x->pktinfo = strchr(spec->flags, 'P') ? 1 : 0;
	x->cookie = (uint64_t)spec->pid << 16 | port;
}

static size_t parse_socks(const struct sock_spec *specs, size_t max, uint8_t proto,
			  struct pt_xsock **out)
{
	size_t n = 0;

	while (n < max && specs[n].local)
		n++;
	*out = calloc(n ? n : 1, sizeof(**out));
	assert_non_null(*out);
	for (size_t i = 0; i < n; i++)
		parse_sock(&specs[i], proto, &(*out)[i]);
	return n;
}

static void apply_config(struct pt_state *st, const char *line)
{
	char kind[16], proto[8], a[64], b[64], c[32], d[64];
	int n = sscanf(line, "%15s %7s %63s %63s %31s %63s", kind, proto, a, b, c, d);

	if (!strcmp(kind, "bind")) {
		struct pt_binding bd = {};

		assert_int_equal(n, 5);
		assert_int_equal(pt_parse_proto(proto, &bd.proto), 0);
		assert_int_equal(pt_parse_prefix(a, &bd.prefix), 0);
		assert_int_equal(pt_parse_ports(b, &bd.lo, &bd.hi), 0);
		if (!pt_service_by_name(st, c))
			assert_int_equal(pt_service_add(st, c, NULL), 0);
		bd.service = pt_service_by_name(st, c)->id;
		assert_int_equal(pt_binding_set(st, &bd, NULL), 0);
	} else {
		struct pt_policy p = {};
		uint64_t pps;

		assert_int_equal(n, 6);
		assert_int_equal(pt_parse_proto(proto, &p.proto), 0);
		assert_int_equal(pt_parse_ports(a, &p.lo, &p.hi), 0);
		assert_int_equal(pt_parse_action(b, &p.action), 0);
		assert_int_equal(pt_parse_uint(c, 1000000, &pps), 0);
		p.pps = (uint32_t)pps;
		assert_int_equal(pt_parse_prefix(d, &p.from), 0);
		assert_int_equal(pt_policy_set(st, &p, NULL), 0);
	}
}

static void run_row(const struct row *r)
{
	struct pt_explain_facts f = {};
	struct pt_explain *x = calloc(1, sizeof(*x));
	struct pt_state st = {};
	char steps[256] = "";
	bool found = !r->contains;
	uint8_t fam;

	assert_non_null(x);
	for (size_t i = 0; i < 6 && r->config[i]; i++)
		apply_config(&st, r->config[i]);
	assert_int_equal(pt_parse_proto(r->proto, &f.proto), 0);
	assert_int_equal(pt_parse_addrport(r->dst, &f.family, f.addr, &f.port, false, NULL), 0);
	if (r->from) {
		assert_int_equal(pt_parse_addrport(r->from, &fam, f.from, &f.from_port, true,
						   &f.has_from_port), 0);
		f.has_from = true;
	}
	f.local = r->local;
	snprintf(f.local_if, sizeof(f.local_if), "lobby");
	f.from_local = r->from_local;
	f.loaded = !r->not_loaded;
	f.st = r->not_loaded ? NULL : &st;
	f.dispatch_attached = !r->dispatch_off;
	if (!r->guard_off) {
		snprintf(f.guard[0].ifname, sizeof(f.guard[0].ifname), "lobby");
		f.guard[0].mode = PT_XDP_NATIVE;
		f.guard[0].attached = true;
		f.nguard = 1;
	}
	f.nsvc_socks = parse_socks(r->svc, 3, f.proto, &f.svc_socks);
	f.nsvc_other = parse_socks(r->other, 3, f.proto, &f.svc_other);
	f.nkern = parse_socks(r->kern, 4, f.proto, &f.kern);

	pt_explain_decide(&f, x);

	EXPECT(!strcmp(x->verdict, r->verdict), "%s: verdict\n  got:  %s\n  want: %s", r->name,
	       x->verdict, r->verdict);
	EXPECT(x->delivered == r->delivered, "%s: delivered %d, want %d", r->name, x->delivered,
	       r->delivered);
	for (size_t i = 0; i < x->nsteps; i++) {
		size_t used = strlen(steps);

		snprintf(steps + used, sizeof(steps) - used, "%s%s", i ? "," : "", x->steps[i].check);
		if (r->contains && strstr(x->steps[i].detail, r->contains))
			found = true;
	}
	if (r->steps)
		EXPECT(!strcmp(steps, r->steps), "%s: steps %s, want %s", r->name, steps, r->steps);
	EXPECT(found, "%s: no step says '%s'", r->name, r->contains);
	if (!found)
		for (size_t i = 0; i < x->nsteps; i++)
			print_error("  %zu. %s: %s\n", i + 1, x->steps[i].check, x->steps[i].detail);

	pt_explain_facts_free(&f);
	pt_state_free(&st);
	free(x);
}

static void test_explain_table(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
