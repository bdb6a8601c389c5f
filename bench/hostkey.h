/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The open-addressing ARRAY of bench/hostkey.bpf.c, shared with
 * bench/ptbench.c (which fills it): a slot is a 24-byte host key (as
 * struct pt_host_key, its pad byte the "used" mark) and its binding.
 */
#ifndef PORTIER_BENCH_HOSTKEY_H
#define PORTIER_BENCH_HOSTKEY_H

#include <linux/types.h>
#include "portier.h"

#define HK_SLOTS (1u << 19)	/* twice bind_host's PT_MAX_HOST_ENTRIES */
#define HK_PROBES 16

struct hk_slot {
	__u8 gen;
	__u8 proto;
	__u8 family;
	__u8 used;		/* 1: the slot holds a key */
	__be32 class;
	__u8 addr[16];
	struct pt_bind_val val;
};

/* w: the slot's first six words (the key); a rotate-multiply combine and
 * murmur3's final mix (the flow hash's Jenkins final alone clusters
 * sequential addresses, which linear probing cannot afford). Linear
 * probing has long tails all the same: 100,000 keys fit in HK_PROBES, a
 * quarter million need ~30. A real table would be a bucketed cuckoo; this
 * one only shows what a look-up the verifier inlines costs. */
static inline __u32 hk_hash(const __u32 *w)
{
	__u32 x = 0;

	for (int i = 0; i < 6; i++)
		x = ((x ^ w[i]) << 15 | (x ^ w[i]) >> 17) * 0x9e3779b1u;
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	return x ^ (x >> 16);
}

#endif
