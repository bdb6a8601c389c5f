/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration as portier holds it in memory (services, bindings,
 * policies, watches, counter slots), and the compiler that turns it into
 * the per-packet tables of one generation. Pure code: no syscalls, so the
 * unit tests and the BPF tests can drive it directly.
 */
#ifndef PORTIER_MODEL_H
#define PORTIER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "portier.h"

#define PT_FAMILY_ANY 2		/* a prefix that covers IPv4 and IPv6 */
/* Make room in arr (n used of cap) for one more: 0, or -ENOMEM (arr kept). */
#define PT_GROW(arr, n, cap)                                                   \
	({                                                                    \
		int __err = 0;                                                \
		if ((n) >= (cap)) {                                           \
			size_t __nc = (cap) ? (cap) * 2 : 16;                 \
			void *__p = realloc((arr), __nc * sizeof(*(arr)));    \
			if (!__p)                                             \
				__err = -ENOMEM;                              \
			else {                                                \
				(arr) = __p;                                  \
				(cap) = __nc;                                 \
			}                                                     \
		}                                                             \
		__err;                                                        \
	})

/* The kinds of rule (to the compiler, a watch is a counted range: a slot). */
enum pt_rule_kind { PT_KIND_BINDING, PT_KIND_POLICY, PT_KIND_WATCH, PT_KIND_STEER };

/* The characters of a service name. */
#define PT_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"
/* The largest rate a limit takes: beyond it the bucket arithmetic of the
 * guard (tokens scaled by 1e9 in 64 bits) would overflow. */
#define PT_MAX_PPS 1000000000ULL

struct pt_prefix {
	uint8_t family;		/* PT_INET, PT_INET6 or PT_FAMILY_ANY */
	uint8_t plen;		/* 0 for PT_FAMILY_ANY */
	uint8_t addr[16];	/* network order, host bits zero */
};

struct pt_service {
	char name[PT_NAME_LEN];
	char desc[PT_DESC_LEN];
	uint32_t id;
	uint32_t xsk_ifindex;	/* an AF_XDP service on this interface; 0: not */
};

struct pt_binding {
	uint8_t proto;
	struct pt_prefix prefix;	/* destination */
	uint16_t lo, hi;
	uint32_t service;		/* service id */
};

struct pt_policy {
	uint8_t proto;
	uint16_t lo, hi;
	struct pt_prefix from;		/* source; PT_FAMILY_ANY without --from */
	uint32_t action;		/* enum pt_action */
	uint32_t pps;
	uint32_t rule;			/* stable id, for token buckets */
};

struct pt_watch {
	uint8_t proto;
	uint16_t lo, hi;
};

/* A steer rule: after policy, the ports' packets go to one of the CPUs
 * (by flow hash). Ranges of one protocol are disjoint or nested; the
 * narrowest wins. */
struct pt_steer {
	uint8_t proto;
	uint16_t lo, hi;
	uint16_t ncpus;			/* 1..PT_MAX_STEER_CPUS */
	uint16_t cpus[PT_MAX_STEER_CPUS];	/* ascending, distinct, < PT_MAX_CPUS */
};

/* A counter slot: one port (lo == hi) or one whole range. */
struct pt_slot {
	uint8_t proto;
	uint16_t lo, hi;
	uint32_t slot;
};

struct pt_state {
	struct pt_service *services;
	size_t nservices;
	struct pt_binding *bindings;
	size_t nbindings;
	struct pt_policy *policies;
	size_t npolicies;
	struct pt_watch *watches;
	size_t nwatches;
	struct pt_slot *slots;
	size_t nslots;
	struct pt_steer *steers;
	size_t nsteers;
	uint32_t max_bindings;	/* capacity (the loaded maps'); 0: PT_MAX_BINDINGS */
};

/* The most bindings st may hold. */
static inline size_t pt_state_max_bindings(const struct pt_state *st)
{
	return st->max_bindings ? st->max_bindings : PT_MAX_BINDINGS;
}

/* Ranges of bindings and policies at most this wide are counted port by
 * port; wider ones get one counter row for the whole range. Watched ports
 * are always counted one by one. */
#define PT_INDIVIDUAL_MAX 16

/* The tables of one generation, ready to write into the maps. */
struct pt_bind_entry {
	struct pt_lpm_key key;
	struct pt_bind_val val;
};

struct pt_policy_entry {
	struct pt_lpm_key key;
	struct pt_policy_val val;
};

/* A class's source rules for one family as a short list (policy_list). */
struct pt_list_entry {
	uint32_t index;			/* PT_LIST_INDEX(gen, proto, family, class) */
	struct pt_policy_list list;
};

struct pt_compiled {
	uint8_t gen;
	/* some rule is not allow: the guard drops what it cannot read
	 * (config.enforce[gen], written before the flip) */
	uint8_t enforce;
	/* port_table of this generation: ports[proto * PT_PORTS + port] */
	struct pt_port_ent *ports;
	uint32_t nclasses[PT_NPROTO];	/* classes per protocol */
	struct pt_bind_entry *binds;	/* bind_lpm: every entry */
	size_t nbinds;
	struct pt_bind_entry *hosts;	/* bind_host: the full-length ones again */
	size_t nhosts;
	struct pt_policy_entry *policies;	/* classes with --from rules only,
						 * those without a list */
	size_t npolicies;
	/* policy_list: the classes with --from rules whose rows fit a list
	 * (their ports have PT_PORT_LIST), both families each */
	struct pt_list_entry *lists;
	size_t nlists;
	/* cpu_sets of this generation: sets[i] at PT_CPU_SET_INDEX(gen, i),
	 * one per steer rule of the state, in its order */
	struct pt_cpu_set *sets;
	size_t nsets;
};

void pt_state_free(struct pt_state *st);
int pt_state_copy(struct pt_state *dst, const struct pt_state *src);

/* Find by name / id / key; NULL or -1 when absent. */
struct pt_service *pt_service_by_name(const struct pt_state *st, const char *name);
struct pt_service *pt_service_by_id(const struct pt_state *st, uint32_t id);
/* The name of service id, or "?". */
const char *pt_service_name(const struct pt_state *st, uint32_t id);
ssize_t pt_binding_find(const struct pt_state *st, uint8_t proto,
			const struct pt_prefix *prefix, uint16_t lo, uint16_t hi);
ssize_t pt_policy_find(const struct pt_state *st, uint8_t proto, uint16_t lo,
		       uint16_t hi, const struct pt_prefix *from);
ssize_t pt_watch_find(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi);
ssize_t pt_steer_find(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi);

/* Edits. Each validates first and changes nothing on error:
 * -EINVAL bad value, -ENOENT unknown service, -EEXIST duplicate,
 * -EBUSY still referenced, -ERANGE partial overlap, -ENOSPC over a limit.
 * On -ERANGE, *clash (when not NULL) is the index of the rule it clashes with. */
int pt_service_add(struct pt_state *st, const char *name, const char *desc);
int pt_service_del(struct pt_state *st, const char *name);
int pt_binding_set(struct pt_state *st, const struct pt_binding *b, size_t *clash);
int pt_binding_del(struct pt_state *st, uint8_t proto, const struct pt_prefix *prefix,
		   uint16_t lo, uint16_t hi);
int pt_policy_set(struct pt_state *st, const struct pt_policy *p, size_t *clash);
int pt_policy_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi,
		  const struct pt_prefix *from);
int pt_watch_add(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi);
int pt_watch_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi);
/* A steer rule; the same range again replaces its CPU list. */
int pt_steer_set(struct pt_state *st, const struct pt_steer *s, size_t *clash);
int pt_steer_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi);
/* A CPU list as a steer rule holds it: 1..PT_MAX_STEER_CPUS CPUs,
 * ascending, distinct, each below PT_MAX_CPUS. */
bool pt_cpus_valid(const uint16_t *cpus, uint16_t n);

/*
 * Assign counter slots to every counted port and range of st, keeping the
 * slot of every one that `prev` (the live generation, may be NULL) already
 * had, and never giving a new one a slot that prev still uses. Fills
 * st->slots. New slots are reported in *fresh (caller frees) so their
 * counters can be zeroed before the generation goes live. -ENOSPC when
 * watched ports exceed the slots (bound and policed ports then fall back
 * to their range row, or to the class rows).
 */
int pt_assign_slots(struct pt_state *st, const struct pt_state *prev,
		    uint32_t **fresh, size_t *nfresh);

/* Compile st (slots assigned) into the tables of generation gen. */
int pt_compile(const struct pt_state *st, uint8_t gen, struct pt_compiled *out);
void pt_compiled_free(struct pt_compiled *c);

/* The counting slot of a port: its own slot, else the narrowest counted
 * range's, else the class row's. Used by stats and by the reference model. */
uint32_t pt_slot_of_port(const struct pt_state *st, uint8_t proto, uint16_t port);

/* The order of rule keys: by protocol, then lo, then hi. */
int pt_cmp_range(uint8_t ap, uint16_t alo, uint16_t ahi, uint8_t bp, uint16_t blo, uint16_t bhi);
/* The one precedence of bindings (policies follow it too): does a beat b
 * when both cover a packet? The narrowest port range, then the longest
 * prefix, then an explicit family before any. */
bool pt_binding_beats(const struct pt_binding *a, const struct pt_binding *b);

/* Reference lookups in plain C, the semantics the BPF programs must match:
 * the winning binding index (or -1) for a destination, and the winning
 * policy index (or -1, meaning allow) for a source and destination port. */
ssize_t pt_model_bind_lookup(const struct pt_state *st, uint8_t proto, uint8_t family,
			     const uint8_t addr[16], uint16_t port);
ssize_t pt_model_policy_lookup(const struct pt_state *st, uint8_t proto, uint8_t family,
			       const uint8_t src[16], uint16_t port);
/* The steer rule of a port (index, the narrowest containing it), or -1. */
ssize_t pt_model_steer_lookup(const struct pt_state *st, uint8_t proto, uint16_t port);

/* A service's description: valid UTF-8 without control characters,
 * shorter than PT_DESC_LEN. */
bool pt_desc_valid(const char *s);
/* A name of 1-31 characters of [a-z0-9_.-]. */
bool pt_name_valid(const char *s);
/* A known family, a length within it, host bits and unused bytes zero. */
bool pt_prefix_valid(const struct pt_prefix *p);
bool pt_prefix_contains(const struct pt_prefix *outer, const struct pt_prefix *inner);
bool pt_prefix_match(const struct pt_prefix *p, uint8_t family, const uint8_t addr[16]);
enum pt_class pt_port_class(uint16_t port);

#endif /* PORTIER_MODEL_H */
