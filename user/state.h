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

/*
 * The maps, one row each in pt_maps[]: every fact the command knows about a
 * map lives in its row, and pinning, walking, clearing and the commit's
 * write order follow from the rows. The commit writes its maps in row order:
 * the records first, then the derived tables, port_table last. config comes
 * first of all: pins of another ABI may lack maps this one has.
 * tests/bpf/test_maps.c checks every row against the BPF objects and against
 * docs/ARCHITECTURE.md's map table.
 */
enum pt_map_id {
	M_CONFIG,
	M_SVC_TABLE,
	M_BIND_TABLE,
	M_POLICY_TABLE,
	M_WATCH_TABLE,
	M_SLOT_TABLE,
	M_STEER_TABLE,
	M_BIND_LPM,
	M_BIND_HOST,
	M_POLICY_LPM,
	M_POLICY_LIST,
	M_CPU_SETS,
	M_PORT_TABLE,
	M_SOCK_META,
	M_SVC_SOCKS,
	M_PORT_STATS,
	M_GLOBAL_STATS,
	M_RATE_BUCKETS,
	M_FRAG_TABLE,
	M_SOCK_INFO,
	M_XDP_TABLE,
	M_XSK_META,
	M_XSK_SOCKS,
	M_CPU_MAP,
	M_APPLY_INFO,
	PT_NMAPS,
};

#define PT_NO_GEN (-1)

struct pt_map_desc {
	const char *name;	/* the BPF identifier and the pinned file's name */
	uint32_t type;		/* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;	/* of one CPU's value, for a per-CPU map */
	int gen_off;		/* the generation byte's offset in the key, or PT_NO_GEN */
	bool commit;		/* a commit writes one generation of it */
};

extern const struct pt_map_desc pt_maps[PT_NMAPS];

struct bpf_object;
/* Size what the running kernel sizes: cpu_map has one entry per possible
 * CPU (a CPUMAP may not exceed the kernel's NR_CPUS), at most PT_MAX_CPUS;
 * and the binding maps for max_bindings per generation (the pinned maps'
 * own size when they are reused: pt_ctx.max_bindings).
 * Call between open and load of either object. */
int pt_obj_fit(struct bpf_object *obj, uint32_t max_bindings);
/* The binding capacity the pinned bind_table was sized for, 0 if unknown. */
uint32_t pt_map_max_bindings(int bind_table_fd);

struct pt_ctx {
	int netns_fd;		/* the target namespace */
	uint64_t netns_ino;
	char dir[PATH_MAX];	/* PT_PIN_ROOT/<netns inode> */
	int lock_fd;		/* PT_PIN_ROOT: exclusive for load and unload,
				 * shared for every other command */
	int ns_lock_fd;		/* dir + PT_NS_LOCK: this namespace's state */
	bool shared;		/* a reader: take the namespace's lock shared */
	bool global;		/* load, unload: take PT_PIN_ROOT exclusively */
	int fds[PT_NMAPS];
	struct pt_config cfg;
	uint32_t max_bindings;	/* per generation, from the pinned maps' size */
};

/* Enter the namespace (NULL: the current one) and name the pin directory. */
int pt_ctx_init(struct pt_ctx *ctx, const char *netns);
/* Mount bpffs when needed, create PT_PIN_ROOT (0700), take the locks.
 * ctx->global (load, unload: they make and remove states, and prune dead
 * namespaces' ones): PT_PIN_ROOT exclusively, and nothing else. Any other
 * command: PT_PIN_ROOT shared (no state is made or removed meanwhile), then,
 * when this namespace has a state, its own lock (the directory dir +
 * PT_NS_LOCK, made on first use): exclusive for a writer, shared when
 * ctx->shared (readers run together, and never see a commit half way).
 * Commands in other namespaces never wait for each other. */
#define PT_NS_LOCK "_lock"	/* bpffs names take no dot */
int pt_ctx_lock(struct pt_ctx *ctx);
/* Release what pt_ctx_lock took (the maps stay open). */
void pt_ctx_unlock(struct pt_ctx *ctx);
/* Open every pinned map. -ENOENT when portier is not loaded here,
 * -EPROTO when the pins have another ABI version, -ESTALE when they are
 * the leftovers of a dead namespace whose inode number this one reuses. */
int pt_ctx_open(struct pt_ctx *ctx);
void pt_ctx_close_maps(struct pt_ctx *ctx);
/* Is the pin directory's link attached to another (or a dead) namespace? */
bool pt_pins_stale(const char *dir, uint64_t netns_ino);
void pt_ctx_close(struct pt_ctx *ctx);

/* Read the live generation into st, in pt_state_sort's order. */
int pt_state_load(struct pt_ctx *ctx, struct pt_state *st);
/* Put every rule array of st in the one order pt_state_load gives. */
void pt_state_sort(struct pt_state *st);
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

/* bind_host's half for c's host bindings as a commit places them, in nb
 * buckets: *table (the caller frees it), and in *spilled how many found no
 * way (a commit puts those in bind_lpm). */
int pt_host_table(const struct pt_compiled *c, uint32_t nb, struct pt_host_bucket **table,
		  size_t *spilled);
/* cpu_map: give every CPU that c's CPU sets list a queue (before the
 * generation goes live; -ERANGE for a CPU beyond the map), and remove the
 * queue of every CPU they do not list (once no older generation can run). */
int pt_cpu_map_add(const int fds[PT_NMAPS], const struct pt_compiled *c);
int pt_cpu_map_prune(const int fds[PT_NMAPS], const struct pt_compiled *c);
/* Remove every entry of generation gen from the generation-keyed maps. */
int pt_state_clear_gen(struct pt_ctx *ctx, uint8_t gen);

/* Visit every entry of map id, or only those of generation gen (>= 0) in a
 * generation-keyed map: batched where the kernel can, one by one where not.
 * A visit that returns non-zero ends the walk, which returns that value.
 * cpu_map visits the CPUs that have an entry; xsk_socks cannot be read
 * (-EOPNOTSUPP). */
typedef int (*pt_visit_fn)(const void *key, const void *val, void *arg);
int pt_map_walk(const int fds[PT_NMAPS], enum pt_map_id id, int gen, pt_visit_fn fn, void *arg);

/* Kernel memory of one map, from its fdinfo (memlock). */
uint64_t pt_map_bytes(int fd);
/* All slots at once, one batched pass: out has PT_MAX_SLOTS entries. */
int pt_read_all_counters(struct pt_ctx *ctx, struct pt_counters *out);
int pt_read_global(struct pt_ctx *ctx, struct pt_global *out);

/* A message for the errno of a failed map operation. */
const char *pt_strerror(int err);

#endif /* PORTIER_STATE_H */
