/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI shared by the BPF programs and the portier command: map names,
 * limits, keys and values. Every multi-byte field states its byte order.
 * Any change to a layout here must bump PT_ABI_VERSION.
 *
 * The maps fall in three groups (docs/ARCHITECTURE.md explains each):
 *   derived tables, read per packet:  port_table, bind_host, bind_lpm,
 *                                     policy_lpm, policy_list, sock_meta,
 *                                     svc_socks
 *   counters, written per packet:     port_stats, global_stats, rate_buckets,
 *                                     frag_table
 *   records, read only by portier:    svc_table, bind_table, policy_table,
 *                                     watch_table, slot_table, sock_info,
 *                                     xdp_table, steer_table, apply_info
 *   steering, read per packet:        xsk_meta, xsk_socks, cpu_map, cpu_sets
 * Everything that a configuration change touches carries a generation bit
 * in its key; `config.gen` names the live generation, and flipping it is
 * the single commit point of every change.
 */
#ifndef PORTIER_H
#define PORTIER_H

#include <linux/types.h>
#include <linux/bpf.h>

#define PT_ABI_VERSION 6

/* Map names, written once for both sides: each is the identifier of its
 * map in bpf/maps.bpf.h and, pinned by name, its file under the pin
 * directory; PT_MAP_NAME(PT_MAP_CONFIG) is the string "config". */
#define PT_MAP_CONFIG config
#define PT_MAP_PORT_TABLE port_table
#define PT_MAP_BIND_LPM bind_lpm
#define PT_MAP_BIND_HOST bind_host
#define PT_MAP_POLICY_LPM policy_lpm
#define PT_MAP_POLICY_LIST policy_list
#define PT_MAP_SOCK_META sock_meta
#define PT_MAP_SVC_SOCKS svc_socks
#define PT_MAP_PORT_STATS port_stats
#define PT_MAP_GLOBAL_STATS global_stats
#define PT_MAP_RATE_BUCKETS rate_buckets
#define PT_MAP_SVC_TABLE svc_table
#define PT_MAP_BIND_TABLE bind_table
#define PT_MAP_POLICY_TABLE policy_table
#define PT_MAP_WATCH_TABLE watch_table
#define PT_MAP_SLOT_TABLE slot_table
#define PT_MAP_SOCK_INFO sock_info
#define PT_MAP_XDP_TABLE xdp_table
#define PT_MAP_FRAG_TABLE frag_table
#define PT_MAP_XSK_SOCKS xsk_socks
#define PT_MAP_XSK_META xsk_meta
#define PT_MAP_CPU_MAP cpu_map
#define PT_MAP_CPU_SETS cpu_sets
#define PT_MAP_STEER_TABLE steer_table
#define PT_MAP_APPLY_INFO apply_info
#define PT_MAP_NAME(m) PT_MAP_STR_(m)
#define PT_MAP_STR_(m) #m

/* Limits. */
#define PT_NAME_LEN 32		/* service name, NUL included: 1-31 chars */
#define PT_DESC_LEN 96		/* service description, NUL included */
#define PT_MAX_SERVICES 512
#define PT_MAX_SOCKETS 64	/* per service, protocol and family */
/* Bindings per generation: `portier load --max-bindings N` sizes the
 * binding maps for N at load (the maps' own max_entries record it), from
 * 1 to PT_MAX_BINDINGS_LIMIT; PT_MAX_BINDINGS when not given. */
#define PT_MAX_BINDINGS 131072
#define PT_MAX_BINDINGS_LIMIT 4194304
#define PT_BIND_TABLE_ENTRIES(n) (2 * (n))	/* bind_table, both generations */
#define PT_BIND_LPM_ENTRIES(n) (4 * (n))	/* bind_lpm, both generations */
#define PT_BIND_HOST_ENTRIES(n) (2 * PT_HOST_BUCKETS(n)) /* bind_host, both halves */
#define PT_MAX_BIND_ENTRIES PT_BIND_LPM_ENTRIES(PT_MAX_BINDINGS)   /* at the default */
#define PT_MAX_HOST_ENTRIES PT_BIND_HOST_ENTRIES(PT_MAX_BINDINGS)  /* at the default */
#define PT_MAX_POLICIES 16384	/* per generation */
#define PT_MAX_WATCHES 16384	/* per generation */
#define PT_MAX_SLOTS 9216	/* counter slots, classes included */
#define PT_MAX_POLICY_ENTRIES 1048576 /* every class has a /0 row per family */
#define PT_MAX_FRAGS 8192	/* frag_table: first fragments remembered (LRU) */
#define PT_MAX_QUEUES 64	/* AF_XDP: receive queues per service */
#define PT_MAX_CPUS 1024	/* cpu_map: CPU ids 0..1023 */
#define PT_MAX_STEERS 1024	/* steer rules (CPU sets) per generation */
#define PT_MAX_STEER_CPUS 64	/* CPUs in one steer rule's list */

/* Protocol index used in keys and array indices (not the IPPROTO number). */
enum pt_proto {
	PT_TCP = 0,
	PT_UDP = 1,
	PT_NPROTO = 2,
};

/* Family index used in keys and array indices. */
enum pt_family {
	PT_INET = 0,
	PT_INET6 = 1,
	PT_NFAMILY = 2,
};

/* Port classes, for traffic of ports not counted one by one. */
enum pt_class {
	PT_CLASS_WELL_KNOWN = 0,	/* 0-1023 */
	PT_CLASS_REGISTERED = 1,	/* 1024-49151 */
	PT_CLASS_EPHEMERAL = 2,		/* 49152-65535 */
	PT_NCLASS = 3,
};

/* Counter slots 0..5 are the class rows: slot = proto * PT_NCLASS + class. */
#define PT_CLASS_SLOT(proto, class) ((proto) * PT_NCLASS + (class))
#define PT_FIRST_FREE_SLOT (PT_NPROTO * PT_NCLASS)

/* Guard actions. */
enum pt_action {
	PT_ALLOW = 0,
	PT_DROP = 1,
	PT_DROP_NEW = 2,
	PT_LIMIT = 3,
};

/* config: ARRAY of one element. Written only by portier. */
struct pt_config {
	__u32 abi;		/* PT_ABI_VERSION of the layout */
	__u32 gen;		/* live generation, 0 or 1 */
	__u64 build_id;		/* identity of the loaded BPF objects */
	__u64 serial;		/* bumped on every committed change */
	__u32 idle_dirty;	/* the idle generation may hold entries: clear it
				 * by a full scan before writing it */
	__u8 enforce[2];	/* per generation: 1 when it has a rule other than
				 * allow; the guard then drops what it cannot read.
				 * Written for the idle generation before the flip. */
	__u16 pad;
};

/*
 * port_table: ARRAY indexed by PT_PORT_INDEX(gen, proto, port), one entry
 * per port, written whole for each generation. It answers what every
 * packet needs in one array look-up (which the verifier inlines): the
 * port's class (its elementary port interval: every port of a class is
 * covered by the same rules), its counter slot, and its policy for any
 * source. Only a port whose class has source-scoped policies sends the
 * guard on to its source rules (policy_list, or policy_lpm), and only a
 * bound one sends dispatch on to bind_lpm.
 */
#define PT_PORTS 65536
#define PT_PORT_INDEX(gen, proto, port) \
	((((__u32)(gen) & 1) * PT_NPROTO + (__u32)(proto)) * PT_PORTS + (__u32)(port))
#define PT_PORT_ENTRIES (2 * PT_NPROTO * PT_PORTS)

enum pt_port_flags {
	PT_PORT_BOUND = 1,	/* some binding covers the class */
	PT_PORT_FROM = 2,	/* source-scoped policies: look up policy_lpm */
	PT_PORT_HOST = 4,	/* bind_host has entries for the class: try it first */
	PT_PORT_NET = 8,	/* bind_lpm has shorter prefixes for the class */
	PT_PORT_XSK = 16,	/* some binding of the class names an AF_XDP
				 * service: the guard looks the binding up */
	PT_PORT_CPU = 32,	/* a steer rule covers the class: `steer` is its
				 * CPU set */
	PT_PORT_LIST = 64,	/* with PT_PORT_FROM: the class's source rules are
				 * in policy_list, not in policy_lpm */
};

struct pt_port_ent {
	__u16 class;		/* class id (< PT_PORTS per protocol), for the
				 * LPM keys, which carry it as a __be32 */
	__u16 slot;		/* counter slot */
	__u8 action;		/* enum pt_action, for any source */
	__u8 flags;		/* enum pt_port_flags */
	__u16 steer;		/* PT_PORT_CPU: index of the CPU set in cpu_sets,
				 * within the generation's half */
	__u32 pps;		/* PT_LIMIT */
	__u32 rule;		/* rule id of the policy, for its token buckets */
};

/*
 * bind_lpm: LPM_TRIE. (class, destination prefix) -> winning binding,
 * compiled by portier so that the longest-prefix answer for a packet is
 * exactly the binding the precedence rules pick (narrowest range, then
 * longest prefix). prefixlen = 64 + address prefix length.
 * policy_lpm uses the same key with the source address.
 */
struct pt_lpm_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 proto;		/* enum pt_proto */
	__u8 family;		/* enum pt_family */
	__u8 pad;		/* zero */
	__be32 class;		/* network order */
	__u8 addr[16];		/* network order; IPv4 in addr[0..3] */
};
#define PT_LPM_KEY_BITS 64

/*
 * The full-length (/32, /128) entries of bind_lpm, keyed exactly: such an
 * entry, when present, is always the trie's longest match. The model
 * (core/model.c) lists them with this key; bind_host holds them.
 */
struct pt_host_key {
	__u8 gen;
	__u8 proto;
	__u8 family;
	__u8 pad;
	__be32 class;		/* network order */
	__u8 addr[16];		/* network order; IPv4 in addr[0..3] */
};

/*
 * bind_host: ARRAY (mmapable) of buckets, in two halves: generation 0 owns
 * buckets 0 .. nb - 1, generation 1 nb .. 2 nb - 1, nb = max_entries / 2
 * (PT_HOST_BUCKETS of the binding capacity, about 7/8 full at capacity).
 * A host binding sits in one of the PT_HOST_WAYS ways of one of its two
 * buckets, PT_HOST_BUCKET(h, nb) and PT_HOST_BUCKET(h >> 32, nb) of h =
 * pt_host_hash(its tag and address): a cuckoo table, placed by portier,
 * written whole for the idle generation before the flip. Both programs
 * probe it in line (an ARRAY look-up the verifier inlines, where a HASH
 * look-up is a call into the kernel and another to memcmp): at most two
 * buckets, eight ways. On a miss the trie is asked only when the class has
 * shorter prefixes, or a host binding that found no way (a placement that
 * fails, which at 7/8 is rare) went to the trie with its port flagged
 * PT_PORT_NET.
 */
#define PT_HOST_WAYS 4
#define PT_HOST_BUCKETS(n) (((__u64)(n) * 2 + 6) / 7)	/* per generation, n >= 1 */
#define PT_HOST_TAG(proto, family, class) \
	((((__u32)(class) << 2) | ((__u32)(proto) << 1) | (__u32)(family)) + 1)
#define PT_HOST_BUCKET(h, nb) ((__u32)((((__u64)(h) & 0xffffffffu) * (__u64)(nb)) >> 32))

struct pt_host_slot {
	__u32 tag;		/* PT_HOST_TAG(proto, family, class); 0: empty */
	__u32 addr[4];		/* network order; IPv4 in addr[0], the rest 0 */
	__u16 service;		/* service id */
	__u16 slot;		/* counter slot of the binding's port or range */
};

struct pt_host_bucket {
	struct pt_host_slot way[PT_HOST_WAYS];
};

/* The hash of a host binding: its tag and address words as loaded (one
 * host: both programs and portier run on it). Each word has its own
 * multiplier, so swapped words do not collide; the two 32-bit halves of
 * the result pick the two buckets. A dozen instructions. */
static inline __u64 pt_host_hash(__u32 tag, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	__u64 x = (((__u64)a0 << 32) | tag) * 0x9e3779b97f4a7c15ull;

	x ^= (((__u64)a1 << 32) | a2) * 0xc2b2ae3d27d4eb4full;
	x ^= (__u64)a3 * 0x165667b19e3779f9ull;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return x;
}

struct pt_bind_val {
	__u32 service;		/* service id */
	__u32 slot;		/* counter slot of the binding's port or range */
};

struct pt_policy_val {
	__u32 action;		/* enum pt_action */
	__u32 pps;		/* PT_LIMIT: packets per second per port */
	__u32 rule;		/* rule id, for the per-port token buckets */
	__u32 pad;
};

/*
 * policy_list: ARRAY indexed by PT_LIST_INDEX(gen, proto, family, class).
 * The policy_lpm rows of a class, for one family, as a short list that the
 * guard matches in line instead of walking the trie: at most PT_LIST_LEN
 * prefixes, sorted longest first, so the first that matches is the
 * longest match, the row the trie would answer with. The last is always
 * the family's /0 row (a source no prefix matches). A class below
 * PT_LIST_CLASSES whose rows fit, in both families, is kept here and its
 * ports carry PT_PORT_LIST; any other keeps its rows in policy_lpm. The
 * compiler numbers the classes with source-scoped rules first, so the
 * first PT_LIST_CLASSES of them per protocol can have a list. Each
 * generation owns its half; an entry is read only for a class that its
 * generation's port_table flags. Memory: PT_LIST_ENTRIES * 392 B, 0.77 MiB.
 */
#define PT_LIST_LEN 8
#define PT_LIST_CLASSES 256
#define PT_LIST_INDEX(gen, proto, family, class)                                \
	((((((__u32)(gen) & 1) * PT_NPROTO + (__u32)(proto)) * PT_NFAMILY +        \
	   (__u32)(family)) * PT_LIST_CLASSES) + (__u32)(class))
#define PT_LIST_ENTRIES (2 * PT_NPROTO * PT_NFAMILY * PT_LIST_CLASSES)

/* One prefix of a list, as words of the address in network order (an
 * IPv4 prefix in word 0, the other words zero): a source s matches when
 * (s[w] & mask[w]) == addr[w] for every word. A slot past count holds
 * mask 0 and addr[0] PT_LIST_NONE: it matches no source. */
#define PT_LIST_NONE 0xffffffffU
struct pt_list_prefix {
	__be32 addr[4];		/* network order, host bits zero */
	__be32 mask[4];		/* network order */
};

struct pt_policy_list {
	__u32 count;		/* prefixes in use, 1..PT_LIST_LEN; 0: none
				 * (the port's own policy applies); the guard
				 * scans all PT_LIST_LEN slots */
	__u32 pad;
	struct pt_list_prefix prefix[PT_LIST_LEN];	/* longest first */
	struct pt_policy_val val[PT_LIST_LEN];		/* the policy of each */
};

/*
 * sock_meta: ARRAY indexed by PT_META_INDEX(service, proto, family).
 * Value: bits 0-7 the number of sockets in the live bank, bit 8 the bank.
 * svc_socks: SOCKMAP indexed by PT_SOCK_KEY(...), value the socket (a
 * cookie when read from user space): an array, the cheapest socket look-up.
 */
#define PT_META_INDEX(svc, proto, fam) \
	(((svc) * PT_NPROTO + (proto)) * PT_NFAMILY + (fam))
#define PT_META_ENTRIES (PT_MAX_SERVICES * PT_NPROTO * PT_NFAMILY)
#define PT_META_COUNT(m) ((m) & 0xff)
#define PT_META_BANK(m) (((m) >> 8) & 1)
#define PT_META(count, bank) (((count) & 0xff) | (((bank) & 1) << 8))
#define PT_SOCK_KEY(meta_index, bank, slot) \
	(((meta_index) * 2 + (bank)) * PT_MAX_SOCKETS + (slot))
#define PT_MAX_SOCK_ENTRIES (PT_META_ENTRIES * 2 * PT_MAX_SOCKETS)
#define PT_MAX_SOCK_INFO 32768	/* registered sockets, all services */

/* port_stats: PERCPU_ARRAY of PT_MAX_SLOTS counters. */
struct pt_counters {
	__u64 packets;		/* guard: packets seen */
	__u64 bytes;		/* guard: bytes seen (frame length) */
	__u64 dropped;		/* guard: dropped by drop or drop-new */
	__u64 limited;		/* guard: dropped by a rate limit */
	__u64 steered;		/* dispatch: lookups handed to a service socket */
	__u64 no_socket;	/* dispatch: bound but no live socket: fell through */
	__u64 xsk;		/* guard: redirected to an AF_XDP service's socket */
	__u64 cpu;		/* guard: redirected to a CPU of a steer rule */
	__u64 fallback;		/* guard: bound to an AF_XDP service, but its
				 * receive queue has no socket there: passed */
};

/* global_stats: PERCPU_ARRAY of one. */
struct pt_global {
	__u64 malformed;	/* truncated or inconsistent headers, passed */
	__u64 fragments;	/* non-first fragments, passed */
	__u64 other;		/* non-IP, passed */
	__u64 dispatch_other;	/* sk_lookup runs for no binding */
	__u64 unreadable;	/* deliverable, but port or flags unreadable: tiny
				 * first fragments, TCP fragments at offset 1, too
				 * long header chains, too many VLAN tags. Dropped
				 * when the live generation enforces. */
};

/*
 * rate_buckets: ARRAY of PT_BUCKET_SETS sets of PT_BUCKET_WAYS token
 * buckets, preallocated: the rate-limit state is bounded and never
 * allocated per packet. A bucket of key (rule, proto, port) lives in the
 * set PT_BUCKET_SET(seed, key). A bucket is one word, its theoretical
 * arrival time (GCRA, the virtual-scheduling form of a token bucket),
 * which a limited packet only reads; a packet that may pass moves it on
 * under the set's spin lock. A bucket whose time is not in the future is
 * full (the same as a fresh one), so its way may be given to another key;
 * a packet whose set has neither its own bucket nor such a way is
 * limited. Element PT_BUCKET_SEED_INDEX holds the hash seed (random,
 * drawn by the guard on first use), so that no one outside can aim keys
 * at a set. Memory: (PT_BUCKET_SETS + 1) * 136 B, 1.1 MiB.
 */
#define PT_BUCKET_SETS 8192	/* a power of two */
#define PT_BUCKET_WAYS 8
#define PT_BUCKET_SEED_INDEX PT_BUCKET_SETS
#define PT_BUCKET_ENTRIES (PT_BUCKET_SETS + 1)
#define PT_BUCKET_KEY(rule, proto, port) \
	(((__u64)(__u32)(rule) << 32) | ((__u64)(__u16)(port) << 16) | (__u16)(proto))

/* The set of a bucket key: a multiply-xorshift mix of the key and seed. */
static inline __u32 pt_bucket_set(__u32 seed, __u64 key)
{
	__u64 h = (key ^ ((__u64)seed << 32 | seed)) * 0x9e3779b97f4a7c15ULL;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (__u32)h & (PT_BUCKET_SETS - 1);
}

/*
 * A bucket's clock is the coarse monotonic clock (bpf_ktime_get_coarse_ns,
 * or bpf_ktime_get_ns before 5.11) in 1/PT_TAT_SCALE ns (no wrap for 36
 * years of uptime). A packet of a PPS bucket costs
 * PT_BUCKET_SPAN / PPS of it (rounded down: at most 1/16 ns short, so
 * the rate is at most PPS / 1.6e10 too high: 6e-5 at 1 Mpps), and the
 * bucket holds one second of it: PPS packets of burst.
 */
#define PT_TAT_SCALE 16ULL
#define PT_BUCKET_SPAN (PT_TAT_SCALE * 1000000000ULL)
#define PT_BUCKET_MAX_PPS 1000000000U	/* the bucket's arithmetic holds to here */

struct pt_bucket {
	__u64 key;		/* PT_BUCKET_KEY(rule, proto, port); 0: never used */
	__u64 tat;		/* theoretical arrival time of the next packet,
				 * bucket clock: the bucket is full when it is not
				 * after now, empty when it is PT_BUCKET_SPAN
				 * after now */
};

struct pt_bucket_set {
	struct bpf_spin_lock lock;
	__u32 seed;		/* element PT_BUCKET_SEED_INDEX only: the seed */
	struct pt_bucket way[PT_BUCKET_WAYS];
};

/*
 * frag_table: LRU_HASH of the first fragments the guard judged, so that the
 * later fragments of a datagram (which carry no port) share its fate and
 * its counters. Key: what the stack reassembles by (IPv4: addresses, id,
 * protocol; IPv6: addresses and id, l4 zero). A later fragment with no
 * entry (out of order, or evicted) is passed and counted as `fragments`:
 * without its first fragment the stack cannot complete the datagram, and
 * every first fragment is judged on its own.
 */
struct pt_frag_key {
	__u8 family;		/* enum pt_family */
	__u8 l4;		/* IPv4: IPPROTO_*; IPv6: 0 */
	__u16 pad;
	__be32 id;		/* network order; IPv4's 16-bit id in the low half */
	__u8 saddr[16];		/* network order; IPv4 in [0..3] */
	__u8 daddr[16];
};

enum pt_frag_verdict {
	PT_FRAG_PASSED = 0,	/* counted to slot, passed */
	PT_FRAG_DROPPED = 1,	/* counted to slot as dropped */
	PT_FRAG_LIMITED = 2,	/* counted to slot as limited, dropped */
	PT_FRAG_UNREADABLE = 3,	/* counted as unreadable, passed (no rules) */
	PT_FRAG_UNREADABLE_DROPPED = 4,	/* counted as unreadable, dropped */
};

struct pt_frag_val {
	__u32 slot;		/* counter slot of the datagram's port */
	__u16 port;		/* host order */
	__u8 proto;		/* enum pt_proto */
	__u8 verdict;		/* enum pt_frag_verdict */
};

/*
 * AF_XDP services (XDP steering). A service holds kernel sockets or AF_XDP
 * sockets, never both. Its AF_XDP sockets are all bound to one interface,
 * one per receive queue:
 *   xsk_meta: ARRAY indexed by service id: the interface (0: not an AF_XDP
 *             service). Written by register before any binding can name it.
 *   xsk_socks: XSKMAP indexed by PT_XSK_KEY(service, queue). A socket that
 *             is closed leaves the map by itself (the kernel removes it);
 *             an empty slot makes the redirect fall back to the stack.
 * The guard on that interface, after counting and policy, looks up the
 * binding of a packet whose port has PT_PORT_XSK and redirects it to
 * PT_XSK_KEY(service, rx_queue_index).
 */
#define PT_XSK_KEY(svc, queue) ((__u32)(svc) * PT_MAX_QUEUES + (__u32)(queue))
#define PT_XSK_ENTRIES (PT_MAX_SERVICES * PT_MAX_QUEUES)

struct pt_xsk_meta {
	__u32 ifindex;		/* 0: the service is not an AF_XDP service */
	__u32 queues;		/* bit q: queue q has a registered socket (q < 32);
				 * informative, the map decides */
};

/*
 * CPU steering. cpu_map: CPUMAP of PT_MAX_CPUS, an entry (queue size) for
 * each CPU some live or idle generation's steer rule lists. cpu_sets:
 * ARRAY of 2 * PT_MAX_STEERS, generation gen's sets at
 * gen * PT_MAX_STEERS + steer. A packet of a port with PT_PORT_CPU goes,
 * after policy, to cpu[flow hash % count]: one flow stays on one CPU.
 */
#define PT_CPU_SET_INDEX(gen, steer) (((__u32)(gen) & 1) * PT_MAX_STEERS + (__u32)(steer))
#define PT_CPU_SET_ENTRIES (2 * PT_MAX_STEERS)
#define PT_CPU_QSIZE 2048	/* cpumap queue size per CPU */

struct pt_cpu_set {
	__u32 count;		/* 1..PT_MAX_STEER_CPUS */
	__u16 cpu[PT_MAX_STEER_CPUS];
};

/* ---- records: read and written only by portier ---- */

/* svc_table: HASH (gen, name) -> service record. */
struct pt_svc_key {
	__u8 gen;
	char name[PT_NAME_LEN];
};

struct pt_svc_rec {
	__u32 id;
	char desc[PT_DESC_LEN];
	__u32 xsk_ifindex;	/* an AF_XDP service on this interface; 0: not */
};

/* bind_table and policy_table: HASH keyed by a rule. */
struct pt_rule_key {
	__u8 gen;
	__u8 proto;		/* enum pt_proto */
	__u8 family;		/* enum pt_family */
	__u8 plen;		/* prefix length */
	__u16 port_lo;		/* host order */
	__u16 port_hi;		/* host order */
	__u8 addr[16];		/* network order; destination for bindings,
				 * source for policies */
	__u8 any;		/* 1: the prefix is `any` (both families) */
	__u8 pad[3];
};

struct pt_bind_rec {
	__u32 service;
};

struct pt_policy_rec {
	__u32 action;
	__u32 pps;
	__u32 rule;		/* stable id for token buckets */
};

/* watch_table and slot_table: HASH keyed by a port range. */
struct pt_range_key {
	__u8 gen;
	__u8 proto;
	__u16 port_lo;		/* host order */
	__u16 port_hi;		/* host order */
	__u16 pad;
};

/* steer_table: HASH (range key) -> the rule's CPU list, as given. */
struct pt_steer_rec {
	__u32 count;
	__u16 cpu[PT_MAX_STEER_CPUS];	/* ascending */
};

/* sock_info: HASH socket cookie -> who registered it. */
#define PT_SOCK_XSK 2		/* proto of an AF_XDP socket's record */
struct pt_sock_info {
	__u32 pid;		/* owner at register time, 0 for --fd */
	__u32 service;
	__u8 proto;		/* enum pt_proto, or PT_SOCK_XSK */
	__u8 family;
	__u8 v6only;
	__u8 pad;
	__u8 local_addr[16];
	__u16 local_port;	/* host order */
	__u16 pad2;
	__u32 ifindex;		/* PT_SOCK_XSK: the interface and queue */
	__u32 queue;
};

/* xdp_table: HASH ifindex -> where the guard is attached and how. */
#define PT_IFNAME_LEN 16
#define PT_XDP_WHY_LEN 96
#define PT_MAX_XDP_IFACES 256

enum pt_xdp_mode {
	PT_XDP_NATIVE = 1,
	PT_XDP_SKB = 2,
};

struct pt_xdp_rec {
	__u32 prog_id;		/* the guard program attached there */
	__u32 mode;		/* enum pt_xdp_mode */
	__u32 dispatcher;	/* 1: through libxdp's multi-program dispatcher */
	__u32 pad;
	char ifname[PT_IFNAME_LEN];
	char why[PT_XDP_WHY_LEN];	/* why not the dispatcher, when not */
};

/*
 * apply_info: ARRAY of one. What `apply` (and `apply --watch`) last did,
 * kept in the kernel with the state it describes (portier is daemonless:
 * the exporter and status read it from there). Written under the lock by
 * apply only: an ok apply sets sha256, state_sha256 and last_ok, a refused
 * one only errors and last_error.
 */
#define PT_SHA256_LEN 32

struct pt_apply_info {
	__u8 sha256[PT_SHA256_LEN];	/* of the file's bytes last applied; with
					 * ok == 0: never applied */
	__u8 state_sha256[PT_SHA256_LEN];	/* of the state that apply made, as
						 * dump prints it: while the live
						 * state hashes the same, it is the
						 * file's (in sync) */
	__u64 ok;		/* applies committed */
	__u64 errors;		/* applies refused (the state unchanged) */
	__u64 last_ok;		/* CLOCK_REALTIME seconds of the last ok, 0: never */
	__u64 last_error;	/* CLOCK_REALTIME seconds of the last error, 0: never */
};

#endif /* PORTIER_H */
