/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small flow hash for BPF: Bob Jenkins' final mix over three words. */
#ifndef PORTIER_HASH_BPF_H
#define PORTIER_HASH_BPF_H

#include <linux/types.h>

static __always_inline __u32 pt_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

static __always_inline __u32 pt_hash_3(__u32 a, __u32 b, __u32 c)
{
	a += 0xdeadbeef;
	b += 0xdeadbeef;
	c += 0xdeadbeef;
	c ^= b; c -= pt_rol32(b, 14);
	a ^= c; a -= pt_rol32(c, 11);
	b ^= a; b -= pt_rol32(a, 25);
	c ^= b; c -= pt_rol32(b, 16);
	a ^= c; a -= pt_rol32(c, 4);
	b ^= a; b -= pt_rol32(a, 14);
	c ^= b; c -= pt_rol32(b, 24);
	return c;
}

#endif
