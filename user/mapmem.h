/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Memory of a map: what it holds now and what it can grow to, computed the
 * way the kernel counts it since 6.4 (map_mem_usage). Before 6.4 the
 * kernel's own figure (fdinfo memlock) is only round_up(max_entries x
 * round8(key + value), page) (a per-CPU array's value once per CPU),
 * whatever the map holds: for the maps that grow, a bound that leaves out
 * their buckets and element headers.
 */
#ifndef PT_MAPMEM_H
#define PT_MAPMEM_H

#include <stdbool.h>
#include <stdint.h>

struct pt_map_mem {
	uint64_t used;		/* with the entries it holds now */
	uint64_t max;		/* with every entry it can hold */
	uint64_t kernel;	/* the kernel's figure, fdinfo memlock */
};

/* One map, by fd; -errno when its info cannot be read. */
int pt_map_mem(int fd, struct pt_map_mem *m);
/* Whether this kernel's fdinfo memlock is what maps hold (6.4 and later). */
bool pt_kernel_counts_map_memory(void);

#endif
