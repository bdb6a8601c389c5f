// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of sk_lookup: a program that leaves every lookup to the
 * kernel. The dispatcher's cost per lookup is measured against it.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("sk_lookup")
int bench_empty_sklookup(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
