// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Map memory as the kernel counts it since 6.4 (each map type's
 * map_mem_usage), for the map types portier uses: arrays and per-CPU
 * arrays hold all their entries from creation (an mmapable one page-aligned),
 * an LRU hash all its elements from creation, a sockmap, an XSKMAP and a
 * CPUMAP one pointer per entry, a hash without preallocation its buckets
 * plus one element per entry it holds, an LPM trie one node per entry it
 * holds. The headers
 * (struct bpf_htab and the like) are 6.18's sizes; they differ by a few
 * bytes between kernels, next to megabytes of entries. On 6.18 the result
 * is the kernel's own figure to the byte (tests/e2e/test_observe_memory.sh).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mapmem.h"
#include "state.h"

#define HTAB_HDR	896	/* sizeof(struct bpf_htab) */
#define HTAB_BUCKET	16	/* sizeof(struct bucket) */
#define HTAB_LOCKS	8	/* HASHTAB_MAP_LOCK_COUNT ints per CPU */
#define HTAB_ELEM	48	/* sizeof(struct htab_elem) */
#define LLIST_NODE	8	/* per element of a hash without preallocation */
#define ARRAY_HDR	312	/* sizeof(struct bpf_array) */
#define STAB_HDR	376	/* sizeof(struct bpf_stab) */
#define XSKMAP_HDR	304	/* sizeof(struct xsk_map) */
#define XSKMAP_NODE	32	/* sizeof(struct xsk_map_node), per socket in the map */
#define CPUMAP_HDR	304	/* sizeof(struct bpf_cpu_map) */
/* sizeof(struct lpm_trie_node): 40 with its rcu_head, 24 from 6.11 on */
#define LPM_NODE_OLD	40
#define LPM_NODE	24

static uint64_t round8(uint64_t v)
{
	return (v + 7) & ~7ULL;
}

static uint64_t page_align(uint64_t v)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (v + page - 1) / page * page;
}

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Entries a hash or trie holds now: one walk of its keys (bounded: a
 * walk that meets a deleted key starts over). */
static uint64_t count_keys(int fd, uint32_t key_size, uint32_t max_entries)
{
	unsigned char key[2][256];
	uint64_t n = 0;
	int cur = 0;

	if (key_size > sizeof(key[0]))
		return 0;
	if (bpf_map_get_next_key(fd, NULL, key[cur]))
		return 0;
	do {
		n++;
		cur ^= 1;
	} while (n < max_entries && !bpf_map_get_next_key(fd, key[cur ^ 1], key[cur]));
	return n;
}

/* The running kernel's release is MAJ.MIN or later (an unreadable one is
 * taken as recent). */
static bool kernel_at_least(unsigned int maj, unsigned int min)
{
	static unsigned int kmaj, kmin;
	static bool known;
	struct utsname u;

	if (!known) {
		char *end = NULL;

		kmaj = ~0U;
		if (!uname(&u)) {
			unsigned long a = strtoul(u.release, &end, 10), b = 0;

			if (end && *end == '.')
				b = strtoul(end + 1, &end, 10);
			if (end && end != u.release && a < 1000 && b < 1000) {
				kmaj = (unsigned int)a;
				kmin = (unsigned int)b;
			}
		}
		known = true;
	}
	return kmaj > maj || (kmaj == maj && kmin >= min);
}

int pt_map_mem(int fd, struct pt_map_mem *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	uint64_t cpus, k, v, n, elem;
	int ncpu = libbpf_num_possible_cpus();

	memset(m, 0, sizeof(*m));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	m->kernel = pt_map_bytes(fd);
	cpus = ncpu > 0 ? (uint64_t)ncpu : 1;
	k = round8(info.key_size);
	v = round8(info.value_size);
	n = info.max_entries;
	switch (info.type) {
	case BPF_MAP_TYPE_ARRAY:
		if (info.map_flags & BPF_F_MMAPABLE)	/* header and values page-aligned */
			m->used = m->max = page_align(ARRAY_HDR) + page_align(v * n);
		else
			m->used = m->max = ARRAY_HDR + v * n;
		break;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		m->used = m->max = ARRAY_HDR + n * (sizeof(void *) + v * cpus);
		break;
	case BPF_MAP_TYPE_SOCKMAP:
		m->used = m->max = STAB_HDR + n * sizeof(void *);
		break;
	case BPF_MAP_TYPE_XSKMAP:
		/* and a node per socket it holds, which user space cannot
		 * count (an XSKMAP cannot be read): in the bound only */
		m->used = XSKMAP_HDR + n * sizeof(void *);
		m->max = m->used + XSKMAP_NODE * n;
		break;
	case BPF_MAP_TYPE_CPUMAP:
		/* the kernel counts the pointers only; each CPU with an entry
		 * also has its queue (PT_CPU_QSIZE pointers) and a kthread */
		m->used = m->max = CPUMAP_HDR + n * sizeof(void *);
		break;
	case BPF_MAP_TYPE_HASH:
		elem = HTAB_ELEM + k + v + LLIST_NODE;
		m->max = HTAB_HDR + HTAB_BUCKET * pow2_ceil(n) + sizeof(int) * cpus * HTAB_LOCKS;
		m->used = m->max;
		if (info.map_flags & BPF_F_NO_PREALLOC)
			m->used += elem * count_keys(fd, info.key_size, info.max_entries);
		else
			m->used += elem * n;
		m->max += elem * n;
		break;
	case BPF_MAP_TYPE_LRU_HASH:
		/* preallocated: every element from creation, no free list */
		m->used = m->max = HTAB_HDR + HTAB_BUCKET * pow2_ceil(n) +
				   sizeof(int) * cpus * HTAB_LOCKS + (HTAB_ELEM + k + v) * n;
		break;
	case BPF_MAP_TYPE_LPM_TRIE:
		/* the kernel counts the entries; each entry may also add one
		 * intermediate node, which the bound includes */
		elem = (kernel_at_least(6, 11) ? LPM_NODE : LPM_NODE_OLD) + (info.key_size - 4) +
		       info.value_size;
		m->used = elem * count_keys(fd, info.key_size, info.max_entries);
		m->max = 2 * elem * n;
		break;
	default:
		/* not a type portier uses: the kernel's figure */
		m->used = m->max = m->kernel;
		break;
	}
	return 0;
}

bool pt_kernel_counts_map_memory(void)
{
	return kernel_at_least(6, 4);
}
