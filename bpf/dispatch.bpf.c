// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dispatch: the receptionist. An sk_lookup program that runs once per new
 * TCP connection and per UDP datagram looking for an unconnected socket in
 * its network namespace. It finds the binding that covers the packet's
 * (protocol, destination address, destination port) and hands the packet
 * to one of the bound service's sockets. Anything not bound is left to the
 * kernel's own lookup, untouched.
 *
 * Cost per lookup: three array look-ups (config, port_table, sock_meta;
 * the verifier inlines them), then for a bound port one or two buckets of
 * bind_host (array look-ups too) when a binding names the exact address,
 * else one LPM look-up (class and address), and one socket-map look-up,
 * whatever the number of bindings.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "portier.h"
#include "maps.bpf.h"
#include "hash.bpf.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline struct pt_counters *slot_counters(__u32 slot)
{
	return bpf_map_lookup_elem(&port_stats, &slot);
}

static __always_inline void count_unbound(void)
{
	__u32 zero = 0;
	struct pt_global *g = bpf_map_lookup_elem(&global_stats, &zero);

	if (g)
		g->dispatch_other++;
}

SEC("sk_lookup")
int portier_dispatch(struct bpf_sk_lookup *ctx)
{
	struct pt_port_ent *port;
	struct pt_counters *cnt;
	struct pt_config *cfg;
	__u32 zero = 0, gen, port_index, meta_index, meta, count, bank, hash = 0, i;
	__u32 a0, a1, a2, a3, service, slot;
	__u32 *metap;
	__u16 local_port_host = ctx->local_port;
	__u8 proto, family;

	if (ctx->protocol == IPPROTO_TCP)
		proto = PT_TCP;
	else if (ctx->protocol == IPPROTO_UDP)
		proto = PT_UDP;
	else
		return SK_PASS;

	if (ctx->family == AF_INET)
		family = PT_INET;
	else if (ctx->family == AF_INET6)
		family = PT_INET6;
	else
		return SK_PASS;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return SK_PASS;
	/* One read of the generation, and every key below uses it: a commit
	 * that flips it meanwhile cannot pair this generation's class with
	 * the next one's tables. volatile: the compiler may not load again. */
	gen = *(volatile __u32 *)&cfg->gen & 1;

	port_index = PT_PORT_INDEX(gen, proto, local_port_host);
	port = bpf_map_lookup_elem(&port_table, &port_index);
	if (!port || !(port->flags & PT_PORT_BOUND)) {
		count_unbound();
		return SK_PASS;
	}

	/* a binding for exactly this address is the longest match: at most
	 * two buckets of bind_host, probed in line, however deep the trie
	 * (pt_bind_find) */
	/* each load stays in its branch: one load from a pointer picked
	 * between two context fields is refused by the verifier */
	if (family == PT_INET) {
		a0 = ctx->local_ip4;
		asm volatile("" : "+r"(a0));
		a1 = a2 = a3 = 0;
	} else {
		a0 = ctx->local_ip6[0];
		asm volatile("" : "+r"(a0));
		a1 = ctx->local_ip6[1];
		a2 = ctx->local_ip6[2];
		a3 = ctx->local_ip6[3];
	}
	if (!pt_bind_find(gen, proto, family, port, a0, a1, a2, a3, &service, &slot)) {
		count_unbound();
		return SK_PASS;
	}

	cnt = slot_counters(slot);
	meta_index = PT_META_INDEX(service, proto, family);
	metap = bpf_map_lookup_elem(&sock_meta, &meta_index);
	meta = metap ? *metap : 0;
	count = PT_META_COUNT(meta);
	bank = PT_META_BANK(meta);
	if (count > PT_MAX_SOCKETS)
		count = PT_MAX_SOCKETS;

	/* The usual case: one socket, no choice to make. */
	if (count == 1) {
		__u32 key = PT_SOCK_KEY(meta_index, bank, 0);
		struct bpf_sock *sk = bpf_map_lookup_elem(&svc_socks, &key);

		if (sk) {
			long err = bpf_sk_assign(ctx, sk, 0);

			bpf_sk_release(sk);
			if (!err) {
				if (cnt)
					cnt->steered++;
				return SK_PASS;
			}
		}
		count = 0;	/* gone, or refused: fall through below */
	}

	/* One flow, one socket: spread by a hash of the 4-tuple. */
	if (count) {
		if (family == PT_INET)
			hash = pt_hash_3(ctx->remote_ip4, ctx->local_ip4,
					 ((__u32)bpf_ntohs(ctx->remote_port) << 16) |
						 local_port_host);
		else
			hash = pt_hash_3(ctx->remote_ip6[0] ^ ctx->remote_ip6[1] ^
						 ctx->remote_ip6[2] ^ ctx->remote_ip6[3],
					 ctx->local_ip6[3],
					 ((__u32)bpf_ntohs(ctx->remote_port) << 16) |
						 local_port_host);
	}

	/* A socket whose process exited has left the map; try the next one. */
	for (i = 0; i < PT_MAX_SOCKETS && i < count; i++) {
		__u32 key = PT_SOCK_KEY(meta_index, bank, (hash + i) % count);
		struct bpf_sock *sk;
		long err;

		sk = bpf_map_lookup_elem(&svc_socks, &key);
		if (!sk)
			continue;
		err = bpf_sk_assign(ctx, sk, 0);
		bpf_sk_release(sk);
		if (err)
			continue;
		if (cnt)
			cnt->steered++;
		return SK_PASS;
	}

	/* Bound, but no live socket of this family: fall through to the
	 * kernel's own lookup, counted. */
	if (cnt)
		cnt->no_socket++;
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
