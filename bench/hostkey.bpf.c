// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The host-binding look-up of the dispatcher on its own, so that
 * bench/ptbench hostkey-cost can show what it costs per lookup and what
 * would cost less (it chose bind_host's ARRAY of ABI 6): a HASH with the
 * 24-byte struct pt_host_key, as bind_host was before
 * (both families in one key), with a 12-byte IPv4-only key and with an
 * 8-byte one, each sized and flagged as bind_host; and the 24-byte keys in
 * an ARRAY addressed by a hash of the key with linear probing (bench/
 * hostkey.h; ptbench places the keys), a look-up the verifier inlines,
 * where a HASH look-up is a call into the kernel (and its memcmp another).
 * Each program builds its key from the lookup (generation 1, TCP, the port
 * as the class) and answers SK_PASS when it finds the entry, SK_DROP when
 * not (ptbench checks both before timing).
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hostkey.h"
#include "portier.h"

struct key12 {
	__u8 gen;
	__u8 proto;
	__u8 family;
	__u8 pad;
	__be32 class;
	__be32 addr;
};

struct key8 {
	__be32 addr;
	__u16 class;
	__u8 gen;
	__u8 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HK_HASH_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pt_host_key);
	__type(value, struct pt_bind_val);
} host24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HK_HASH_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key12);
	__type(value, struct pt_bind_val);
} host12 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HK_HASH_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key8);
	__type(value, struct pt_bind_val);
} host8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HK_SLOTS);
	__type(key, __u32);
	__type(value, struct hk_slot);
} hostarr SEC(".maps");

SEC("sk_lookup")
int bench_hostarr(struct bpf_sk_lookup *ctx)
{
	struct hk_slot k = {.gen = 1, .proto = PT_TCP, .family = PT_INET, .used = 1};
	__u32 w[6], h, i;

	k.class = bpf_htonl(ctx->local_port);
	__builtin_memcpy(k.addr, &ctx->local_ip4, 4);
	__builtin_memcpy(w, &k, sizeof(w));
	h = hk_hash(w);
	for (i = 0; i < HK_PROBES; i++) {
		__u32 idx = (h + i) & (HK_SLOTS - 1);
		struct hk_slot *e = bpf_map_lookup_elem(&hostarr, &idx);
		__u32 *ew;

		if (!e || !e->used)
			break;
		ew = (__u32 *)e;
		if (ew[0] == w[0] && ew[1] == w[1] && ew[2] == w[2] && ew[3] == w[3] &&
		    ew[4] == w[4] && ew[5] == w[5])
			return SK_PASS;
	}
	return SK_DROP;
}

SEC("sk_lookup")
int bench_host24(struct bpf_sk_lookup *ctx)
{
	struct pt_host_key k = {.gen = 1, .proto = PT_TCP, .family = PT_INET};

	k.class = bpf_htonl(ctx->local_port);
	__builtin_memcpy(k.addr, &ctx->local_ip4, 4);
	return bpf_map_lookup_elem(&host24, &k) ? SK_PASS : SK_DROP;
}

SEC("sk_lookup")
int bench_host12(struct bpf_sk_lookup *ctx)
{
	struct key12 k = {.gen = 1, .proto = PT_TCP, .family = PT_INET};

	k.class = bpf_htonl(ctx->local_port);
	k.addr = ctx->local_ip4;
	return bpf_map_lookup_elem(&host12, &k) ? SK_PASS : SK_DROP;
}

SEC("sk_lookup")
int bench_host8(struct bpf_sk_lookup *ctx)
{
	struct key8 k = {.gen = 1, .proto = PT_TCP};

	k.class = (__u16)ctx->local_port;
	k.addr = ctx->local_ip4;
	return bpf_map_lookup_elem(&host8, &k) ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
