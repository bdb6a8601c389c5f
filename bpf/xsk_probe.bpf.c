// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xsk_probe: what the kernel knows of an AF_XDP socket and will not say to
 * user space. An XSKMAP cannot be read from user space, and without
 * CONFIG_XDP_SOCKETS_DIAG nothing says which receive queue a socket is
 * bound to; from XDP, a look-up in an XSKMAP gives the socket itself
 * (struct bpf_xdp_sock, readable since 5.4), with its queue.
 *
 * Never attached: portier runs these programs once per question with
 * BPF_PROG_TEST_RUN and reads the answer from `result`.
 *
 *   probe_queue: the socket in probe_xsk[0] (a private map of one entry,
 *                portier puts the socket there): its queue + 1.
 *   probe_slot:  the socket in xsk_socks[key] (the pinned map, given to
 *                the object by fd before load): its queue + 1, 0 for an
 *                empty slot (a socket whose process exited has left it).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "portier.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} probe_xsk SEC(".maps");

/* The service's sockets: the pinned map, reused by fd (never pinned from
 * here, so a probe cannot create it). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, PT_XSK_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} PT_MAP_XSK_SOCKS SEC(".maps");

__u32 key;		/* probe_slot: the slot asked about */
__u32 result;		/* the socket's queue + 1; 0: no socket */

static __always_inline __u32 queue_of(void *map, __u32 k)
{
	struct bpf_xdp_sock *xs = bpf_map_lookup_elem(map, &k);

	return xs ? xs->queue_id + 1 : 0;
}

SEC("xdp")
int probe_queue(struct xdp_md *ctx)
{
	result = queue_of(&probe_xsk, 0);
	return XDP_PASS;
}

SEC("xdp")
int probe_slot(struct xdp_md *ctx)
{
	result = queue_of(&xsk_socks, key);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
