/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * explain: the path of one packet (PROTO, ADDR:PORT, optionally a source),
 * checked in the order the packet meets each part: the guard at the door,
 * the address, the receptionist (bindings and the service's sockets), the
 * kernel's own socket lookup, and for UDP where the reply leaves from.
 *
 * Two halves: pt_explain_gather (user/explain_gather.h) reads the facts
 * (maps, sock_diag, /proc, addresses); pt_explain_decide, pure code, turns
 * facts into numbered steps and a verdict, so unit tests can drive it with
 * made-up facts.
 */
#ifndef PORTIER_EXPLAIN_H
#define PORTIER_EXPLAIN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* One socket, as explain reports it. */
struct pt_xsock {
	uint8_t family;		/* PT_INET or PT_INET6 */
	bool v6only;
	uint8_t addr[16];	/* local address, network order */
	uint16_t port;		/* host order */
	uint8_t state;		/* PT_TCP_* from sock_diag; 0 unknown */
	uint32_t ifindex;	/* SO_BINDTODEVICE, 0 none */
	char ifname[IF_NAMESIZE + 8];	/* ... its name, found by the gather half */
	uint64_t cookie;
	uint32_t ino;
	int32_t pid;		/* a process holding it; 0 unknown */
	char comm[16];
	int32_t reg_pid;	/* who registered it (portier's record); 0 none */
	bool reg_holds;		/* ... and that process still holds it */
	int8_t pktinfo;		/* UDP: 1 answers from the original destination,
				 * 0 does not, -1 unknown */
};

/* One AF_XDP socket of the binding's service, from portier's record. */
struct pt_xxsk {
	uint32_t queue;		/* the receive queue it takes */
	int32_t pid;		/* who registered it; 0 unknown (--fd) */
	bool alive;		/* ... and that process still runs */
	char comm[16];
};

/* The steer rule covering the packet's port (steer_table). */
struct pt_xsteer {
	uint16_t lo, hi;
	uint32_t ncpus;
	uint16_t cpus[PT_MAX_STEER_CPUS];	/* as the rule lists them, ascending */
};

struct pt_xguard {
	char ifname[IF_NAMESIZE];
	uint32_t mode;		/* enum pt_xdp_mode */
	bool attached;
};

#define PT_XGUARD_MAX 16

struct pt_explain_facts {
	/* the packet */
	uint8_t proto, family;
	uint8_t addr[16];
	uint16_t port;
	bool has_from, has_from_port;
	uint8_t from[16];
	uint16_t from_port;

	/* the host */
	int local;		/* pt_addr_local: 1 interface, 2 local route, 0 no */
	char local_if[IF_NAMESIZE];
	bool from_local;	/* --from is an address of this host */

	/* portier */
	bool loaded;
	const struct pt_state *st;	/* NULL when not loaded */
	bool dispatch_attached;
	struct pt_xguard guard[PT_XGUARD_MAX];
	size_t nguard;
	struct pt_counters cnt;		/* the counter row of the port */
	bool cnt_own;			/* the port (or its range) has its own row */
	uint16_t cnt_lo, cnt_hi;	/* ... which is this one */

	/* the winning binding's service: sockets for the packet's family,
	 * and the sockets it has for the other family only */
	struct pt_xsock *svc_socks;
	size_t nsvc_socks;
	struct pt_xsock *svc_other;
	size_t nsvc_other;

	/* the kernel's own sockets on the port (both families) */
	struct pt_xsock *kern;
	size_t nkern;

	/* XDP steering. When the winning binding's service is an AF_XDP
	 * service (its xsk_ifindex in st): its interface's name and its
	 * AF_XDP sockets, by queue. */
	char xsk_ifname[IF_NAMESIZE + 8];
	struct pt_xxsk xsks[PT_MAX_QUEUES];
	size_t nxsks;
	/* a steer rule covers the port */
	bool has_steer;
	struct pt_xsteer steer;
};

#define PT_EXPLAIN_MAX_STEPS 12

/* The CPU of a steer rule's list that the guard picks for a flow (its
 * flow hash): an index into cpus[0..n-1]. Addresses and ports as in the
 * facts (network order addresses, host order ports). */
uint32_t pt_steer_pick(uint8_t proto, const uint8_t saddr[16], const uint8_t daddr[16],
		       uint16_t sport, uint16_t dport, uint32_t n);

struct pt_explain_step {
	char check[16];		/* guard, policy, address, dispatch, binding, ... */
	char result[24];	/* a keyword: attached, allow, drop, local, ... */
	char detail[640];
};

struct pt_explain {
	struct pt_explain_step steps[PT_EXPLAIN_MAX_STEPS];
	size_t nsteps;
	char verdict[512];
	bool delivered;
};

void pt_explain_facts_free(struct pt_explain_facts *f);

void pt_explain_decide(const struct pt_explain_facts *f, struct pt_explain *out);

#endif
