// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The traffic generator of the drop-rate benchmark. Run with
 * BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, the kernel builds a
 * real frame from data_in for every repetition and, since this program
 * answers XDP_TX, transmits it out of the interface named by the context's
 * ingress_ifindex (a veth, whose peer receives it in native XDP).
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_txgen(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
