/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reference model of the guard (bpf/guard.bpf.c) in plain C: the same
 * parse, policy lookup, counting and action, computed straight from a list
 * of rules with no tries and no compiled tables, so that the BPF program
 * and the compiler that fills its maps can be checked against it.
 *
 * Precedence: among the policies whose protocol, port range and source
 * prefix contain the packet's, the narrowest port range wins, then the
 * longest source prefix. No policy: allow.
 *
 * Counting slot: the port's own slot (a counted range with lo == hi);
 * else the narrowest counted range containing the port; else the class
 * row PT_CLASS_SLOT(proto, class). (The guard takes the slot from the
 * port's port_table entry, where the compiler puts exactly this slot, and
 * the policy from that entry, or from policy_lpm for a port whose class
 * has source-scoped rules; there the compiler gives the class a row for
 * every source, its any-source policy at /0, so the two agree.)
 *
 * Fail closed: a frame the stack could deliver but whose port or flags
 * cannot be read (a first fragment cut before the end of its TCP/UDP
 * header or of its IPv6 header chain, a TCP fragment at offset 1, more
 * than GM_MAX_EXT IPv6 extension headers, more than GM_MAX_VLAN tags with
 * IP or more tags behind) is GM_UNREADABLE: counted `unreadable`, dropped
 * when any policy is not allow, passed when none is.
 *
 * Fragments: every first fragment (TCP, UDP or unreadable) is remembered
 * with what it was judged, keyed by (family, source, destination, id and,
 * for IPv4, protocol); a later fragment of a remembered datagram shares
 * its fate and its counters (GM_FRAG_PORT, GM_UNREADABLE), one of an
 * unknown one is GM_FRAGMENT. The table is unbounded here (up to
 * GM_FRAGS): tests keep the kernel's LRU far from full.
 *
 * Rate limits are modelled without refill: a bucket holds pps packets and
 * every passing packet takes one. That is exact while a test sends fewer
 * than pps packets per second of wall time past the burst, or sends its
 * whole sequence faster than one refill (1/pps s). The buckets sit in the
 * guard's sets and ways (PT_BUCKET_SETS x PT_BUCKET_WAYS, set chosen by
 * pt_bucket_set() with seed GM_BUCKET_SEED, which a test writes into the
 * guard's map); a packet whose set has no bucket of its own and no unused
 * way is limited. A used way is never reclaimed here (the guard reclaims
 * one whose bucket is full again, at most a second after its last packet,
 * 1/pps s after it when it took one): exact under the timing above.
 *
 * Steering, after policy, of a passed whole packet (not a first fragment:
 * the stack reassembles it). First AF_XDP: the winning binding for the
 * destination (narrowest port range, then longest prefix, then an
 * explicit family before `any`); when its service is an AF_XDP service,
 * the packet is redirected to the service's socket for the receive queue
 * when it came in on the service's interface, the queue is below
 * PT_MAX_QUEUES and the socket slot is filled (xsk +1), and otherwise
 * passes, counted as fallback. Else a steer rule (the narrowest holding
 * the port) sends it to cpu[h % n] of its list, h the Jenkins final mix
 * of (xor of the source's words, xor of the destination's words ^ proto,
 * sport << 16 | dport), each word the 4 bytes of the address as the host
 * reads them; a CPU with a cpu_map entry takes it (XDP_REDIRECT, cpu +1),
 * one without passes it uncounted. A binding to a kernel-socket service
 * is dispatch's business: the steer rule still applies.
 */
#ifndef PORTIER_TEST_GUARD_MODEL_H
#define PORTIER_TEST_GUARD_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "portier.h"

#define GM_FAMILY_ANY 2		/* a source prefix that covers both families */

struct gm_policy {
	uint8_t proto;		/* enum pt_proto */
	uint16_t lo, hi;	/* destination ports */
	uint8_t family;		/* PT_INET, PT_INET6 or GM_FAMILY_ANY */
	uint8_t plen;
	uint8_t addr[16];	/* source prefix, network order */
	uint32_t action;	/* enum pt_action */
	uint32_t pps;
	uint32_t rule;		/* bucket id */
};

struct gm_slot {
	uint8_t proto;
	uint16_t lo, hi;	/* lo == hi: a port counted on its own */
	uint32_t slot;
};

struct gm_steer {
	uint8_t proto;
	uint16_t lo, hi;
	uint16_t ncpus;
	uint16_t cpus[PT_MAX_STEER_CPUS];
};

struct gm_bind {
	uint8_t proto;
	uint16_t lo, hi;
	uint8_t family;		/* PT_INET, PT_INET6 or GM_FAMILY_ANY */
	uint8_t plen;
	uint8_t addr[16];	/* destination prefix, network order */
	uint32_t service;
	uint32_t xsk_ifindex;	/* the service's AF_XDP interface; 0: kernel sockets */
};

struct gm_rules {
	const struct gm_policy *policies;
	size_t npolicies;
	const struct gm_slot *slots;
	size_t nslots;
	const struct gm_steer *steers;
	size_t nsteers;
	const struct gm_bind *binds;
	size_t nbinds;
	/* bit c: CPU c has a cpu_map entry (PT_MAX_CPUS bits; NULL: none) */
	const uint8_t *cpu_ready;
	/* bit PT_XSK_KEY(svc, q): an AF_XDP socket fills the slot (NULL: none) */
	const uint8_t *xsk_ready;
	/* where the frames come in (BPF_PROG_TEST_RUN: lo's index, queue 0) */
	uint32_t ifindex, rx_queue;
};

enum gm_kind {
	GM_MALFORMED,
	GM_FRAGMENT,		/* a later fragment of an unknown datagram */
	GM_OTHER,
	GM_POLICED,		/* TCP or UDP: counted in a slot */
	GM_UNREADABLE,
	GM_FRAG_PORT,		/* a later fragment counted in its first's slot */
	GM_NKINDS,
};

/* Does the kind move a port slot? */
#define GM_HAS_SLOT(kind) ((kind) == GM_POLICED || (kind) == GM_FRAG_PORT)

/* What a frame did: its verdict and the counters it moved. */
struct gm_result {
	uint32_t verdict;	/* XDP_PASS or XDP_DROP */
	enum gm_kind kind;
	uint32_t slot;		/* GM_POLICED */
	struct pt_counters slot_delta;	/* GM_POLICED: added to port_stats[slot] */
	struct pt_global global_delta;
	/* What the parser found, for messages. */
	uint8_t proto, family, tcp_flags;
	uint16_t dport, sport;
	uint8_t saddr[16], daddr[16];
	long policy;		/* index of the winning policy, -1 none */
	long steer;		/* index of the steer rule that chose a CPU, -1 none */
	int32_t cpu;		/* the CPU it chose, -1 none */
	long bind;		/* the winning binding when AF_XDP was tried, -1 none */
};

#define GM_BUCKET_SEED 0x5eed0001u
#define GM_FRAGS 4096

struct gm_frag {
	uint8_t used;
	uint8_t family;
	uint8_t l4;		/* IPv4 protocol; 0 for IPv6 */
	uint32_t id;
	uint8_t saddr[16], daddr[16];
	uint8_t verdict;	/* enum pt_frag_verdict */
	uint32_t slot;
};

struct gm_bucket {
	uint64_t key;		/* PT_BUCKET_KEY(rule, proto, port) */
	uint64_t tokens;	/* whole packets */
	uint8_t used;
};

struct gm_model {
	struct gm_rules rules;
	uint8_t enforce;	/* some policy is not allow */
	uint32_t bucket_seed;	/* GM_BUCKET_SEED after gm_init */
	struct gm_bucket buckets[PT_BUCKET_SETS][PT_BUCKET_WAYS];
	struct gm_frag frags[GM_FRAGS];
	size_t nfrags;
};

/* Start a model over rules (not copied: they must outlive the model). */
void gm_init(struct gm_model *m, const struct gm_rules *rules);

/* Forget every remembered first fragment (the guard's frag_table emptied). */
void gm_forget_fragments(struct gm_model *m);

/* Run one frame through the model. */
void gm_run(struct gm_model *m, const uint8_t *frame, size_t len, struct gm_result *r);

/* The winning policy for a packet (index into rules->policies), or -1. */
long gm_policy_lookup(const struct gm_rules *rules, uint8_t proto, uint8_t family,
		      const uint8_t saddr[16], uint16_t port);
/* The winning binding for a destination (index into rules->binds), or -1. */
long gm_bind_lookup(const struct gm_rules *rules, uint8_t proto, uint8_t family,
		    const uint8_t daddr[16], uint16_t port);
/* The CPU a steer rule's flow goes to: cpus[hash % ncpus]. */
uint16_t gm_steer_cpu(const struct gm_steer *s, uint8_t proto, uint8_t family,
		      const uint8_t saddr[16], const uint8_t daddr[16], uint16_t sport,
		      uint16_t dport);

const char *gm_kind_name(enum gm_kind kind);

#endif /* PORTIER_TEST_GUARD_MODEL_H */
