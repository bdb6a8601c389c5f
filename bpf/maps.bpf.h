/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of portier, shared by dispatch.bpf.c and guard.bpf.c. Every map
 * is pinned by name under the per-namespace pin directory, so the two
 * programs (loaded as separate objects) and the portier command all see
 * one set. Layouts are in include/portier.h, and so are the names: each
 * map is declared as its PT_MAP_ macro, which the command turns into the
 * pinned name (user/state.c's pt_maps[], one row per map; the bpf test
 * test_maps checks every row against these definitions).
 */
#ifndef PORTIER_MAPS_BPF_H
#define PORTIER_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "portier.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_CONFIG SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_PORT_ENTRIES);
	/* mmapable: a commit writes the idle half (2 MiB) with one memcpy */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pt_port_ent);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_PORT_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PT_BIND_LPM_ENTRIES(PT_MAX_BINDINGS));	/* sized at load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_lpm_key);
	__type(value, struct pt_bind_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_BIND_LPM SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_BIND_HOST_ENTRIES(PT_MAX_BINDINGS));	/* sized at load */
	__uint(map_flags, BPF_F_MMAPABLE);	/* portier writes a half in place */
	__type(key, __u32);
	__type(value, struct pt_host_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_BIND_HOST SEC(".maps");

/* The kernel's struct bpf_map, for its max_entries (CO-RE: the field's
 * offset is the running kernel's) */
struct bpf_map___pt {
	__u32 max_entries;
} __attribute__((preserve_access_index));

/* Is slot s the host binding (tag, a0..a3)? */
static __always_inline int pt_host_match(const struct pt_host_slot *s, __u32 tag, __u32 a0,
					 __u32 a1, __u32 a2, __u32 a3)
{
	return s->tag == tag && s->addr[0] == a0 && s->addr[1] == a1 && s->addr[2] == a2 &&
	       s->addr[3] == a3;
}

/* The way of bucket index of bind_host that holds (tag, a0..a3), or NULL. */
static __always_inline const struct pt_host_slot *
pt_host_probe(__u32 index, __u32 tag, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	const struct pt_host_bucket *b = bpf_map_lookup_elem(&PT_MAP_BIND_HOST, &index);
	__u32 w;

	if (!b)
		return NULL;
#pragma unroll
	for (w = 0; w < PT_HOST_WAYS; w++)
		if (pt_host_match(&b->way[w], tag, a0, a1, a2, a3))
			return &b->way[w];
	return NULL;
}

/*
 * The host binding (tag, address a0..a3) of generation gen in bind_host, or
 * NULL: its two buckets, four ways each, probed in line. nb, the buckets
 * of a half, is the map's own size over two, read from the map itself, so
 * it is the capacity the pinned map was made with.
 */
static __always_inline const struct pt_host_slot *
pt_host_find(__u32 gen, __u32 tag, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	__u32 nb = ((struct bpf_map___pt *)&PT_MAP_BIND_HOST)->max_entries >> 1;
	__u32 half = gen & 1 ? nb : 0;
	__u64 h = pt_host_hash(tag, a0, a1, a2, a3);
	const struct pt_host_slot *s;

	s = pt_host_probe(PT_HOST_BUCKET(h, nb) + half, tag, a0, a1, a2, a3);
	if (!s)
		s = pt_host_probe(PT_HOST_BUCKET(h >> 32, nb) + half, tag, a0, a1, a2, a3);
	return s;
}

/*
 * The binding of a packet or connection to port (its port_table entry in
 * generation gen) with destination address a0..a3 (network-order words;
 * IPv4 in a0, the others zero): bind_host's two buckets when the port has
 * host bindings, then bind_lpm when it has bindings to networks (or host
 * bindings that found no way, which portier writes there). Returns 1 with
 * *service and *slot set, or 0 when no binding holds it. dispatch and the
 * guard's AF_XDP steering look a binding up through this one function.
 */
static __always_inline int pt_bind_find(__u32 gen, __u8 proto, __u8 family,
					const struct pt_port_ent *port, __u32 a0, __u32 a1,
					__u32 a2, __u32 a3, __u32 *service, __u32 *slot)
{
	const struct pt_host_slot *host = NULL;
	const struct pt_bind_val *bind;
	struct pt_lpm_key key = {};

	if (port->flags & PT_PORT_HOST)
		host = pt_host_find(gen, PT_HOST_TAG(proto, family, port->class), a0, a1, a2, a3);
	if (host) {
		*service = host->service;
		*slot = host->slot;
		return 1;
	}
	if (!(port->flags & PT_PORT_NET))
		return 0;
	key.gen = gen & 1;
	key.proto = proto;
	key.family = family;
	key.class = bpf_htonl(port->class);
	key.prefixlen = PT_LPM_KEY_BITS + (family == PT_INET ? 32 : 128);
	__builtin_memcpy(key.addr, &a0, 4);
	__builtin_memcpy(key.addr + 4, &a1, 4);
	__builtin_memcpy(key.addr + 8, &a2, 4);
	__builtin_memcpy(key.addr + 12, &a3, 4);
	bind = bpf_map_lookup_elem(&PT_MAP_BIND_LPM, &key);
	if (!bind)
		return 0;
	*service = bind->service;
	*slot = bind->slot;
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PT_MAX_POLICY_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_lpm_key);
	__type(value, struct pt_policy_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_POLICY_LPM SEC(".maps");

/* The source rules of classes that have few: matched in line (guard only) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_LIST_ENTRIES);
	__type(key, __u32);
	__type(value, struct pt_policy_list);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_POLICY_LIST SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_META_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_SOCK_META SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, PT_MAX_SOCK_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_SVC_SOCKS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct pt_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_PORT_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_global);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_GLOBAL_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_BUCKET_ENTRIES);
	__type(key, __u32);
	__type(value, struct pt_bucket_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_RATE_BUCKETS SEC(".maps");

/* First fragments and their fate, for the later fragments (guard only).
 * An LRU: a flood of first fragments evicts old entries, whose later
 * fragments then pass as `fragments` (harmless without their first). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PT_MAX_FRAGS);
	__type(key, struct pt_frag_key);
	__type(value, struct pt_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_FRAG_TABLE SEC(".maps");

/* XDP steering (guard only). AF_XDP services: the interface of each, and
 * its sockets by (service, receive queue). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct pt_xsk_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_XSK_META SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, PT_XSK_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_XSK_SOCKS SEC(".maps");

/* CPU steering: the CPUs, and each generation's CPU sets. */
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, PT_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_CPU_MAP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_CPU_SET_ENTRIES);
	__type(key, __u32);
	__type(value, struct pt_cpu_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_CPU_SETS SEC(".maps");

/* Records: never read per packet; pinned with the rest so the state lives
 * in the kernel alone. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * PT_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_svc_key);
	__type(value, struct pt_svc_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_SVC_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PT_BIND_TABLE_ENTRIES(PT_MAX_BINDINGS));	/* sized at load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_rule_key);
	__type(value, struct pt_bind_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_BIND_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * PT_MAX_POLICIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_rule_key);
	__type(value, struct pt_policy_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_POLICY_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * PT_MAX_WATCHES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_range_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_WATCH_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * PT_MAX_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_range_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_SLOT_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PT_MAX_SOCK_INFO);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct pt_sock_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_SOCK_INFO SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PT_MAX_XDP_IFACES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pt_xdp_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_XDP_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * PT_MAX_STEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_range_key);
	__type(value, struct pt_steer_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_STEER_TABLE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_apply_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_APPLY_INFO SEC(".maps");

#endif /* PORTIER_MAPS_BPF_H */
