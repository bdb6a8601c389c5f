// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The limit of the drop-rate benchmark: an XDP program that drops every
 * frame without reading it. Nothing can drop faster on this interface.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_drop_all(struct xdp_md *ctx)
{
	/* The benchmark's receiver: every frame is the generator's flood. */
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
