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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PT_BIND_HOST_ENTRIES(PT_MAX_BINDINGS));	/* sized at load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_host_key);
	__type(value, struct pt_bind_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} PT_MAP_BIND_HOST SEC(".maps");

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
