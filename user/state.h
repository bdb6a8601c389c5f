/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned state of one network namespace: where it lives, the lock that
 * serializes portier commands, the maps, and the commit that turns an
 * edited pt_state into the live generation in one step.
 */
#ifndef PORTIER_STATE_H
#define PORTIER_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "model.h"

#define PT_BPFFS "/sys/fs/bpf"
#define PT_PIN_ROOT PT_BPFFS "/portier"
#define PT_PIN_DISPATCH_PROG "dispatch_prog"
#define PT_PIN_DISPATCH_LINK "dispatch_link"

enum pt_map_id {
	M_CONFIG,
	M_PORT_TABLE,
	M_BIND_LPM,
	M_BIND_HOST,
	M_POLICY_LPM,
	M_SOCK_META,
	M_SVC_SOCKS,
	M_PORT_STATS,
	M_GLOBAL_STATS,
	M_RATE_BUCKETS,
	M_SVC_TABLE,
	M_BIND_TABLE,
	M_POLICY_TABLE,
	M_WATCH_TABLE,
	M_SLOT_TABLE,
	M_SOCK_INFO,
	M_XDP_TABLE,
	M_FRAG_TABLE,
	PT_NMAPS,
};

extern const char *const pt_map_names[PT_NMAPS];

struct pt_ctx {
	int netns_fd;		/* the target namespace */
	uint64_t netns_ino;
	char dir[PATH_MAX];	/* PT_PIN_ROOT/<netns inode> */
	int lock_fd;
	bool shared;		/* a reader: take the lock shared */
	int fds[PT_NMAPS];
	struct pt_config cfg;
};

/* Enter the namespace (NULL: the current one) and name the pin directory. */
int pt_ctx_init(struct pt_ctx *ctx, const char *netns);
/* Mount bpffs when needed, create PT_PIN_ROOT (0700), take the lock:
 * exclusive for a writer, shared when ctx->shared (readers run together,
 * and never see a commit half way). */
int pt_ctx_lock(struct pt_ctx *ctx);
/* Open every pinned map. -ENOENT when portier is not loaded here,
 * -EPROTO when the pins have another ABI version, -ESTALE when they are
 * the leftovers of a dead namespace whose inode number this one reuses. */
int pt_ctx_open(struct pt_ctx *ctx);
void pt_ctx_close_maps(struct pt_ctx *ctx);
/* Is the pin directory's link attached to another (or a dead) namespace? */
bool pt_pins_stale(const char *dir, uint64_t netns_ino);
void pt_ctx_close(struct pt_ctx *ctx);

/* Read the live generation into st. */
int pt_state_load(struct pt_ctx *ctx, struct pt_state *st);
/* Wait for an RCU grace period: every BPF program run that began before
 * the call has ended (docs/ARCHITECTURE.md, "Generations"). 0 or -errno
 * when the kernel offers no way to wait. */
int pt_grace_period(void);
/* Make next the live state: build it as the other generation, zero the
 * counters of new slots, flip config.gen, wait for a grace period, remove
 * the old generation. On
 * error the live state is untouched. next gets its slots assigned. */
int pt_state_commit(struct pt_ctx *ctx, struct pt_state *next, const struct pt_state *prev);
/*
 * Write one generation (records of st when st is not NULL, and the compiled
 * tables c of generation c->gen) into the maps fds[] (indexed by enum
 * pt_map_id), with batched updates. pt_gen_delete removes exactly those
 * entries again (port_table, an array, is only ever overwritten). The
 * commit uses these; so can tests and benchmarks with maps of their own.
 */
int pt_gen_write(const int fds[PT_NMAPS], const struct pt_state *st, const struct pt_compiled *c);
int pt_gen_delete(const int fds[PT_NMAPS], const struct pt_state *st, const struct pt_compiled *c);
/* Remove every entry of generation gen from the generation-keyed maps. */
int pt_state_clear_gen(struct pt_ctx *ctx, uint8_t gen);

/* Kernel memory of one map, from its fdinfo (memlock). */
uint64_t pt_map_bytes(int fd);
/* Sum of a per-CPU counter slot over the possible CPUs. */
int pt_read_counters(struct pt_ctx *ctx, uint32_t slot, struct pt_counters *out);
/* All slots at once, one batched pass: out has PT_MAX_SLOTS entries. */
int pt_read_all_counters(struct pt_ctx *ctx, struct pt_counters *out);
int pt_read_global(struct pt_ctx *ctx, struct pt_global *out);

/* A message for the errno of a failed map operation. */
const char *pt_strerror(int err);

#endif /* PORTIER_STATE_H */
