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

/* An AF_XDP socket of the bound service: its queue, who registered it,
 * and whether that process has exited. */
struct xsk_spec {
	int pid;
	unsigned int queue;
	bool gone;
};

struct row {
	const char *name;
	/* configuration: lines "bind PROTO PREFIX PORTS SERVICE",
	 * "policy PROTO PORTS ACTION PPS FROM" or "xsk SERVICE" (an AF_XDP
	 * service, on the interface xsk_if) */
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
	/* XDP steering: the AF_XDP service's interface and sockets, the guard's
	 * interface (default lobby), a steer rule "PROTO PORTS CPU..." */
	const char *xsk_if, *guard_if, *steer;
	struct xsk_spec xsks[3];
	const char *exact[2];		/* {check, detail}: that step's whole text */
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
	{
		.name = "af_xdp service, two queues",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .xsks = { { 42, 1 }, { 42, 0 } },
		.verdict = "steered at the driver to service daudi's AF_XDP sockets on lobby queues 0, 1",
		.delivered = true,
		.steps = "guard,policy,xsk",
		.exact = { "xsk", "service daudi is an AF_XDP service on lobby: after policy, the guard "
			   "hands each packet arriving there to the AF_XDP socket of its receive queue, "
			   "at the driver: queue 0 (pid 42, socat), queue 1 (pid 42, socat) (0 so far); "
			   "a packet on another queue, or arriving on another interface, falls back to "
			   "the kernel stack (counted as fallback, 0 so far), where daudi has no kernel "
			   "socket (counted as no_socket)" },
	},
	{
		.name = "af_xdp service, one queue, rate limited",
		.config = { "bind udp any 6000 daudi", "xsk daudi", "policy udp 6000 limit 500 any" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .xsks = { { 42, 0 }, { 43, 3, true } },
		.verdict = "steered at the driver to service daudi's AF_XDP socket on lobby queue 0, rate "
			   "limited above 500 pps (0 limited so far)",
		.delivered = true,
		.steps = "guard,policy,xsk",
		.contains = "queue 0 (pid 42, socat) (0 so far); gone: queue 3 (registered by pid 43, "
			    "which has exited); a packet",
	},
	{
		.name = "af_xdp service without a socket",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby",
		.verdict = "service 'daudi' has no AF_XDP socket; nothing listens: ICMP port unreachable",
		.steps = "guard,policy,xsk,address,binding,sockets,socket",
		.exact = { "xsk", "service daudi is an AF_XDP service on lobby but has no AF_XDP "
			   "socket (none was registered): every packet falls back to the kernel stack "
			   "(counted as fallback, 0 so far), where daudi has no kernel socket either" },
	},
	{
		.name = "af_xdp service whose process exited, a kernel socket on the port",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .xsks = { { 42, 0, true } },
		.kern = { { "0.0.0.0:6000", "U", 7 } },
		.verdict = "service 'daudi' has no AF_XDP socket; delivered to the socket on 0.0.0.0:6000 "
			   "(pid 7, socat) by the kernel's own lookup, not through portier",
		.delivered = true,
		.contains = "no AF_XDP socket (queue 0 (registered by pid 42, which has exited))",
	},
	{
		.name = "af_xdp service, no guard on its interface",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .guard_if = "eth1", .xsks = { { 42, 0 } },
		.verdict = "service 'daudi''s AF_XDP sockets are on lobby, where no guard steers to "
			   "them; nothing listens: ICMP port unreachable",
		.exact = { "xsk", "service daudi is an AF_XDP service on lobby, where the guard is not "
			   "attached: packets arriving there reach the kernel stack unseen, those "
			   "arriving where the guard is attached fall back to the stack (counted as "
			   "fallback, 0 so far); in the stack daudi has no kernel socket" },
	},
	{
		.name = "af_xdp service, the guard attached nowhere",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.guard_off = true,
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .xsks = { { 42, 0 } },
		.verdict = "not steered to service 'daudi''s AF_XDP sockets (no guard sees it); nothing "
			   "listens: ICMP port unreachable",
		.steps = "guard,xsk,address,binding,sockets,socket",
		.exact = { "sockets", "service daudi holds AF_XDP sockets only, no kernel socket: the "
			   "lookup falls through to the kernel, counted as no_socket (0 so far)" },
	},
	{
		.name = "af_xdp service, policy drop",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi", "policy udp 6000 drop 0 any" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .xsks = { { 42, 0 } },
		.verdict = "dropped by policy",
		.steps = "guard,policy",
		.contains = "; steering does not apply to dropped packets",
	},
	{
		.name = "steer rule, one cpu",
		.proto = "udp", .dst = "198.18.0.2:5000", .local = 1,
		.steer = "udp 5000 1",
		.kern = { { "0.0.0.0:5000", "UP", 7 } },
		.verdict = "delivered to the socket on 0.0.0.0:5000 (pid 7, socat) by the kernel's own "
			   "lookup, not through portier, processed on CPU 1",
		.delivered = true,
		.steps = "guard,policy,steer,address,binding,socket,reply",
		.exact = { "steer", "steer udp 5000 cpus 1: after policy, processed on CPU 1 (0 packets "
			   "steered so far)" },
	},
	{
		.name = "steer rule, the flow's cpu",
		.config = { "bind udp any 5000-5001 dns" },
		.proto = "udp", .dst = "198.18.0.2:5000", .from = "198.18.0.1:40000", .local = 1,
		.steer = "udp 5000-5001 1 3 4 5",
		.svc = { { "198.18.0.2:5000", "U", 9 } },
		.verdict = "delivered to service 'dns' at 198.18.0.2:5000 (pid 9, socat), processed on "
			   "CPU 1",
		.delivered = true,
		.steps = "guard,policy,steer,address,binding,sockets,reply",
		.exact = { "steer", "steer udp 5000-5001 cpus 1,3-5: after policy, processed on CPU 1 "
			   "(flow hash over CPUs 1,3-5; 0 packets steered so far)" },
	},
	{
		.name = "steer rule, no source port: one of its cpus",
		.proto = "tcp", .dst = "198.18.0.2:80", .from = "198.18.0.1", .local = 1,
		.steer = "tcp 1-1023 1 3",
		.kern = { { "0.0.0.0:80", "L", 7 } },
		.verdict = "delivered to the listener on 0.0.0.0:80 (pid 7, socat) by the kernel's own "
			   "lookup, not through portier, processed on one of CPUs 1,3",
		.delivered = true,
		.exact = { "steer", "steer tcp 1-1023 cpus 1,3: after policy, processed on one of CPUs "
			   "1,3, picked per flow by a hash of its addresses and ports (0 packets steered "
			   "so far; give --from ADDR:PORT for this flow's CPU)" },
	},
	{
		.name = "steer rule under a rate limit",
		.config = { "policy udp 5000 limit 100 any" },
		.proto = "udp", .dst = "198.18.0.2:5000", .local = 1,
		.steer = "udp 5000 0",
		.kern = { { "198.18.0.2:5000", "U", 7 } },
		.verdict = "delivered to the socket on 198.18.0.2:5000 (pid 7, socat) by the kernel's "
			   "own lookup, not through portier, rate limited above 100 pps (0 limited so "
			   "far), processed on CPU 0",
		.delivered = true,
		.exact = { "steer", "steer udp 5000 cpus 0: after policy, processed on CPU 0 (0 packets "
			   "steered so far); packets over the rate limit are dropped before, never "
			   "steered" },
	},
	{
		.name = "steer rule, drop-new",
		.config = { "policy tcp 22 drop-new 0 any" },
		.proto = "tcp", .dst = "198.18.0.2:22", .local = 1,
		.steer = "tcp 22 1",
		.verdict = "new connections dropped",
		.steps = "guard,policy",
		.contains = "; steering applies only to the packets that pass",
	},
	{
		.name = "steer rule, the guard bypassed",
		.proto = "udp", .dst = "198.18.0.2:5000", .from = "198.18.0.2", .from_local = true,
		.local = 1,
		.steer = "udp 5000 1",
		.verdict = "nothing listens: ICMP port unreachable",
		.steps = "guard,steer,address,binding,socket",
		.exact = { "steer", "steer udp 5000 cpus 1 covers the port, but the guard does not see "
			   "this packet: the stack processes it on the CPU where it arrives" },
	},
	{
		.name = "steer rule on a port bound to an af_xdp service",
		.config = { "bind udp 198.18.0.2/32 6000 daudi", "xsk daudi" },
		.proto = "udp", .dst = "198.18.0.2:6000", .local = 1,
		.xsk_if = "lobby", .steer = "udp 6000 1",
		.verdict = "service 'daudi' has no AF_XDP socket; nothing listens: ICMP port unreachable",
		.steps = "guard,policy,xsk,steer,address,binding,sockets,socket",
		.exact = { "steer", "steer udp 6000 cpus 1 covers the port, but it is bound to AF_XDP "
			   "service daudi: the guard hands its packets to AF_XDP (or, failing that, to "
			   "the stack) and steers none to a CPU" },
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

	if (!strcmp(kind, "xsk")) {
		assert_int_equal(n, 2);
		assert_non_null(pt_service_by_name(st, proto));
		pt_service_by_name(st, proto)->xsk_ifindex = 7;
	} else if (!strcmp(kind, "bind")) {
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

/* "PROTO PORTS CPU..." into a steer rule of the facts. */
static void parse_steer(const char *spec, struct pt_explain_facts *f)
{
	char buf[128], *save = NULL, *tok;
	uint8_t proto;

	snprintf(buf, sizeof(buf), "%s", spec);
	tok = strtok_r(buf, " ", &save);
	assert_int_equal(pt_parse_proto(tok, &proto), 0);
	assert_int_equal(proto, f->proto);
	tok = strtok_r(NULL, " ", &save);
	assert_int_equal(pt_parse_ports(tok, &f->steer.lo, &f->steer.hi), 0);
	while ((tok = strtok_r(NULL, " ", &save)))
		f->steer.cpus[f->steer.ncpus++] = (uint16_t)atoi(tok);
	f->has_steer = true;
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
		snprintf(f.guard[0].ifname, sizeof(f.guard[0].ifname), "%s",
			 r->guard_if ? r->guard_if : "lobby");
		f.guard[0].mode = PT_XDP_NATIVE;
		f.guard[0].attached = true;
		f.nguard = 1;
	}
	f.nsvc_socks = parse_socks(r->svc, 3, f.proto, &f.svc_socks);
	f.nsvc_other = parse_socks(r->other, 3, f.proto, &f.svc_other);
	f.nkern = parse_socks(r->kern, 4, f.proto, &f.kern);
	if (r->xsk_if)
		snprintf(f.xsk_ifname, sizeof(f.xsk_ifname), "%s", r->xsk_if);
	/* in queue order, as the gathering half sorts them */
	for (unsigned int q = 0; q < PT_MAX_QUEUES; q++)
		for (size_t i = 0; i < 3 && r->xsks[i].pid; i++) {
			if (r->xsks[i].queue != q)
				continue;
			f.xsks[f.nxsks] = (struct pt_xxsk){ .queue = q, .pid = r->xsks[i].pid,
							    .alive = !r->xsks[i].gone };
			if (!r->xsks[i].gone)
				snprintf(f.xsks[f.nxsks].comm, sizeof(f.xsks[0].comm), "socat");
			f.nxsks++;
		}
	if (r->steer)
		parse_steer(r->steer, &f);

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
	if (r->exact[0]) {
		const struct pt_explain_step *st_ = NULL;

		for (size_t i = 0; i < x->nsteps; i++)
			if (!strcmp(x->steps[i].check, r->exact[0]))
				st_ = &x->steps[i];
		EXPECT(st_ && !strcmp(st_->detail, r->exact[1]),
		       "%s: step %s\n  got:  %s\n  want: %s", r->name, r->exact[0],
		       st_ ? st_->detail : "(none)", r->exact[1]);
	}
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

/* Bob Jenkins' final mix (lookup3.c), written out again from its
 * definition: the guard's flow hash, which pt_steer_pick must compute
 * over the same words in the same order as guard.bpf.c's steer_cpu. */
#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
static uint32_t lookup3_final(uint32_t a, uint32_t b, uint32_t c)
{
	a += 0xdeadbeef, b += 0xdeadbeef, c += 0xdeadbeef;
	c ^= b, c -= ROT(b, 14);
	a ^= c, a -= ROT(c, 11);
	b ^= a, b -= ROT(a, 25);
	c ^= b, c -= ROT(b, 16);
	a ^= c, a -= ROT(c, 4);
	b ^= a, b -= ROT(a, 14);
	c ^= b, c -= ROT(b, 24);
	return c;
}

static void test_steer_pick(void **state)
{
	static const struct {
		const char *src, *dst;
		uint8_t proto;
		uint16_t sport, dport;
		uint32_t n;
	} flows[] = {
		{ "198.18.0.1", "198.18.0.2", PT_UDP, 40000, 5000, 4 },
		{ "198.18.0.1", "198.18.0.2", PT_UDP, 40001, 5000, 4 },
		{ "198.18.7.9", "198.18.0.2", PT_TCP, 51234, 80, 3 },
		{ "2001:db8::1", "2001:db8::2", PT_UDP, 40000, 5000, 64 },
		{ "2001:db8::7:1", "2001:db8::2", PT_TCP, 1, 65535, 5 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		uint8_t s[16] = {}, d[16] = {};
		uint32_t sw[4], dw[4], want;
		int fam = strchr(flows[i].src, ':') ? AF_INET6 : AF_INET;

		assert_int_equal(inet_pton(fam, flows[i].src, s), 1);
		assert_int_equal(inet_pton(fam, flows[i].dst, d), 1);
		memcpy(sw, s, 16);
		memcpy(dw, d, 16);
		want = lookup3_final(sw[0] ^ sw[1] ^ sw[2] ^ sw[3],
				     dw[0] ^ dw[1] ^ dw[2] ^ dw[3] ^ flows[i].proto,
				     (uint32_t)flows[i].sport << 16 | flows[i].dport) % flows[i].n;
		assert_int_equal(pt_steer_pick(flows[i].proto, s, d, flows[i].sport, flows[i].dport,
					       flows[i].n), want);
	}
	/* the row "steer rule, the flow's cpu" above: index 0 of 1,3,4,5 */
	{
		uint8_t s[16] = { 198, 18, 0, 1 }, d[16] = { 198, 18, 0, 2 };

		assert_int_equal(pt_steer_pick(PT_UDP, s, d, 40000, 5000, 4), 0);
		assert_int_equal(pt_steer_pick(PT_UDP, s, d, 40000, 5000, 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_table),
		cmocka_unit_test(test_steer_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
