// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket step of an sk_lookup dispatcher on its own: take a socket
 * from a map and assign it, from a SOCKHASH (as portier's svc_socks) or
 * from a SOCKMAP (an array), so that bench/ptbench sock-cost can show
 * what each costs per lookup.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} pick_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} pick_array SEC(".maps");

/* The key ptbench stores the socket under, in both maps. */
const volatile __u32 pick_key = 0;

static __always_inline int assign_from(struct bpf_sk_lookup *ctx, void *map)
{
	__u32 key = pick_key;
	struct bpf_sock *sk = bpf_map_lookup_elem(map, &key);

	if (!sk)
		return SK_PASS;
	bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return SK_PASS;
}

SEC("sk_lookup")
int bench_pick_hash(struct bpf_sk_lookup *ctx)
{
	return assign_from(ctx, &pick_hash);
}

SEC("sk_lookup")
int bench_pick_array(struct bpf_sk_lookup *ctx)
{
	return assign_from(ctx, &pick_array);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
