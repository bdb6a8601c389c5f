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

#define HK_HASH_ENTRIES (2 * PT_MAX_BINDINGS)	/* as bind_host's HASH before ABI 6 */
#define HK_SLOTS (1u << 19)	/* twice HK_HASH_ENTRIES */
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

/* w: the slot's first six words (the key). The class (a __be32 below
 * 65,536, so in the word's upper half as loaded) turned to the lower half,
 * the address words and the rest folded in by xor, then murmur3's final
 * mix: a dozen instructions. Linear probing has long tails all the same:
 * 100,000 keys fit in HK_PROBES, a quarter million on one port do not. A
 * real table would be a bucketed cuckoo; this one only shows what a
 * look-up the verifier inlines costs. */
static inline __u32 hk_hash(const __u32 *w)
{
	__u32 x = w[0] ^ (w[1] << 16 | w[1] >> 16) ^ w[2] ^ w[3] ^ w[4] ^ w[5];

	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	return x ^ (x >> 16);
}

#endif
