// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "state.h"

/* One row per map; the key and value types are the map's own in
 * bpf/maps.bpf.h (tests/bpf/test_maps.c compares their sizes). */
#define ROW(id, t, k, v)                                                      \
	[M_##id] = { PT_MAP_NAME(PT_MAP_##id), BPF_MAP_TYPE_##t, sizeof(k), sizeof(v), \
		     PT_NO_GEN, false }
/* keys that carry the generation in their field gen */
#define GEN_ROW(id, t, k, v)                                                  \
	[M_##id] = { PT_MAP_NAME(PT_MAP_##id), BPF_MAP_TYPE_##t, sizeof(k), sizeof(v), \
		     (int)offsetof(k, gen), true }

const struct pt_map_desc pt_maps[PT_NMAPS] = {
	ROW(CONFIG, ARRAY, __u32, struct pt_config),
	GEN_ROW(SVC_TABLE, HASH, struct pt_svc_key, struct pt_svc_rec),
	GEN_ROW(BIND_TABLE, HASH, struct pt_rule_key, struct pt_bind_rec),
	GEN_ROW(POLICY_TABLE, HASH, struct pt_rule_key, struct pt_policy_rec),
	GEN_ROW(WATCH_TABLE, HASH, struct pt_range_key, __u32),
	GEN_ROW(SLOT_TABLE, HASH, struct pt_range_key, __u32),
	GEN_ROW(STEER_TABLE, HASH, struct pt_range_key, struct pt_steer_rec),
	GEN_ROW(BIND_LPM, LPM_TRIE, struct pt_lpm_key, struct pt_bind_val),
	/* an array: each generation owns its half of the buckets */
	[M_BIND_HOST] = { PT_MAP_NAME(PT_MAP_BIND_HOST), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			  sizeof(struct pt_host_bucket), PT_NO_GEN, true },
	GEN_ROW(POLICY_LPM, LPM_TRIE, struct pt_lpm_key, struct pt_policy_val),
	/* an array: each generation owns its half (PT_LIST_INDEX) */
	[M_POLICY_LIST] = { PT_MAP_NAME(PT_MAP_POLICY_LIST), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			    sizeof(struct pt_policy_list), PT_NO_GEN, true },
	/* an array: each generation owns its half (PT_CPU_SET_INDEX) */
	[M_CPU_SETS] = { PT_MAP_NAME(PT_MAP_CPU_SETS), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			 sizeof(struct pt_cpu_set), PT_NO_GEN, true },
	/* an array: each generation owns its half (PT_PORT_INDEX) */
	[M_PORT_TABLE] = { PT_MAP_NAME(PT_MAP_PORT_TABLE), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			   sizeof(struct pt_port_ent), PT_NO_GEN, true },
	ROW(SOCK_META, ARRAY, __u32, __u32),
	ROW(SVC_SOCKS, SOCKMAP, __u32, __u64),
	ROW(PORT_STATS, PERCPU_ARRAY, __u32, struct pt_counters),
	ROW(GLOBAL_STATS, PERCPU_ARRAY, __u32, struct pt_global),
	ROW(RATE_BUCKETS, ARRAY, __u32, struct pt_bucket_set),
	ROW(FRAG_TABLE, LRU_HASH, struct pt_frag_key, struct pt_frag_val),
	ROW(SOCK_INFO, HASH, __u64, struct pt_sock_info),
	ROW(XDP_TABLE, HASH, __u32, struct pt_xdp_rec),
	ROW(XSK_META, ARRAY, __u32, struct pt_xsk_meta),
	ROW(XSK_SOCKS, XSKMAP, __u32, __u32),
	ROW(CPU_MAP, CPUMAP, __u32, struct bpf_cpumap_val),
	ROW(APPLY_INFO, ARRAY, __u32, struct pt_apply_info),
};

static int set_entries(struct bpf_object *obj, const char *name, __u32 n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__set_max_entries(m, n) : -ENOENT;
}

int pt_obj_fit(struct bpf_object *obj, uint32_t max_bindings)
{
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	if (ncpus > PT_MAX_CPUS)
		ncpus = PT_MAX_CPUS;
	if (!max_bindings || max_bindings > PT_MAX_BINDINGS_LIMIT)
		return -EINVAL;
	return set_entries(obj, PT_MAP_NAME(PT_MAP_CPU_MAP), (__u32)ncpus) ?:
	       set_entries(obj, PT_MAP_NAME(PT_MAP_BIND_TABLE),
			   PT_BIND_TABLE_ENTRIES(max_bindings)) ?:
	       set_entries(obj, PT_MAP_NAME(PT_MAP_BIND_LPM), PT_BIND_LPM_ENTRIES(max_bindings)) ?:
	       set_entries(obj, PT_MAP_NAME(PT_MAP_BIND_HOST), PT_BIND_HOST_ENTRIES(max_bindings));
}

uint32_t pt_map_max_bindings(int bind_table_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bind_table_fd, &info, &len))
		return 0;
	return info.max_entries / PT_BIND_TABLE_ENTRIES(1);
}

const char *pt_strerror(int err)
{
	static char buf[128];

	if (err < 0)
		err = -err;
	libbpf_strerror(err, buf, sizeof(buf));
	return buf;
}

int pt_ctx_init(struct pt_ctx *ctx, const char *netns)
{
	char path[PATH_MAX];
	struct stat stt;
	int err;

	memset(ctx, 0, sizeof(*ctx));
	ctx->netns_fd = -1;
	ctx->lock_fd = -1;
	ctx->ns_lock_fd = -1;
	for (int i = 0; i < PT_NMAPS; i++)
		ctx->fds[i] = -1;

	if (netns && strchr(netns, '/'))
		snprintf(path, sizeof(path), "%s", netns);
	else if (netns)
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	ctx->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ctx->netns_fd < 0)
		return -errno;
	if (fstat(ctx->netns_fd, &stt)) {
		err = -errno;
		goto fail;
	}
	if (netns) {
		if (setns(ctx->netns_fd, CLONE_NEWNET)) {
			err = -errno;
			goto fail;
		}
	}
	ctx->netns_ino = stt.st_ino;
	snprintf(ctx->dir, sizeof(ctx->dir), "%s/%llu", PT_PIN_ROOT,
		 (unsigned long long)ctx->netns_ino);
	return 0;
fail:
	close(ctx->netns_fd);
	ctx->netns_fd = -1;
	return err;
}

static int ensure_bpffs(void)
{
	struct statfs fs;

	if (!statfs(PT_BPFFS, &fs) && fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(PT_BPFFS, 0700) && errno != EEXIST)
		return -errno;
	if (mount("bpf", PT_BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/*
 * This namespace's lock, under PT_PIN_ROOT held shared: no state is made
 * or removed meanwhile (load and unload hold it exclusively), so a state
 * seen here stays, and its lock directory, made by the first command that
 * needs it, is removed only by unload or a load's prune, which wait for
 * this command. Without a state there is nothing to lock (the command
 * finds nothing loaded) and nothing is made.
 */
static int ns_lock(struct pt_ctx *ctx)
{
	char path[PATH_MAX + sizeof(PT_NS_LOCK)];
	struct stat stt;
	int err;

	if (stat(ctx->dir, &stt))
		return errno == ENOENT ? 0 : -errno;
	snprintf(path, sizeof(path), "%s%s", ctx->dir, PT_NS_LOCK);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	ctx->ns_lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->ns_lock_fd < 0)
		return -errno;
	if (flock(ctx->ns_lock_fd, ctx->shared ? LOCK_SH : LOCK_EX)) {
		err = -errno;
		close(ctx->ns_lock_fd);
		ctx->ns_lock_fd = -1;
		return err;
	}
	return 0;
}

int pt_ctx_lock(struct pt_ctx *ctx)
{
	int err = ensure_bpffs();

	if (err)
		return err;
	if (mkdir(PT_PIN_ROOT, 0700) && errno != EEXIST)
		return -errno;
	ctx->lock_fd = open(PT_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->lock_fd < 0)
		return -errno;
	/* a pin root someone made readable would let any user hold the lock
	 * (and read the pins' names): a writer closes it again */
	if (!ctx->shared) {
		struct stat stt;

		if (!fstat(ctx->lock_fd, &stt) && (stt.st_mode & 0777) != 0700 &&
		    fchmod(ctx->lock_fd, 0700)) {
			err = -errno;
			close(ctx->lock_fd);
			ctx->lock_fd = -1;
			return err;
		}
	}
	if (flock(ctx->lock_fd, ctx->global ? LOCK_EX : LOCK_SH)) {
		err = -errno;
		close(ctx->lock_fd);
		ctx->lock_fd = -1;
		return err;
	}
	return ctx->global ? 0 : ns_lock(ctx);
}

int pt_ctx_open(struct pt_ctx *ctx)
{
	char path[PATH_MAX + 64];
	__u32 zero = 0;
	int err;

	/* config first: pins of another ABI may lack maps this one has */
	for (int i = 0; i < PT_NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", ctx->dir, pt_maps[i].name);
		ctx->fds[i] = bpf_obj_get(path);
		if (ctx->fds[i] < 0) {
			err = -errno;
			ctx->fds[i] = -1;
			return err == -ENOENT ? -ENOENT : err;
		}
		if (i != M_CONFIG)
			continue;
		if (bpf_map_lookup_elem(ctx->fds[M_CONFIG], &zero, &ctx->cfg))
			return -errno;
		if (ctx->cfg.abi != PT_ABI_VERSION)
			return -EPROTO;
	}
	if (pt_pins_stale(ctx->dir, ctx->netns_ino))
		return -ESTALE;
	/* the capacity is the pinned maps' own size, chosen at load */
	ctx->max_bindings = pt_map_max_bindings(ctx->fds[M_BIND_TABLE]);
	if (!ctx->max_bindings || ctx->max_bindings > PT_MAX_BINDINGS_LIMIT)
		return -EPROTO;
	return 0;
}

bool pt_pins_stale(const char *dir, uint64_t netns_ino)
{
	char path[PATH_MAX + 64];
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd;
	bool stale = false;

	snprintf(path, sizeof(path), "%s/%s", dir, PT_PIN_DISPATCH_LINK);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;	/* no link: not attached, but ours; load repairs it */
	/* a namespace that died detached the link (inode 0), and its inode
	 * number may since have been given to a new namespace */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		stale = info.netns.netns_ino != netns_ino;
	close(fd);
	return stale;
}

void pt_ctx_close_maps(struct pt_ctx *ctx)
{
	for (int i = 0; i < PT_NMAPS; i++) {
		if (ctx->fds[i] >= 0)
			close(ctx->fds[i]);
		ctx->fds[i] = -1;
	}
}

void pt_ctx_unlock(struct pt_ctx *ctx)
{
	if (ctx->ns_lock_fd >= 0)
		close(ctx->ns_lock_fd);	/* releases the flock */
	ctx->ns_lock_fd = -1;
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	ctx->lock_fd = -1;
}

void pt_ctx_close(struct pt_ctx *ctx)
{
	pt_ctx_close_maps(ctx);
	pt_ctx_unlock(ctx);
	if (ctx->netns_fd >= 0)
		close(ctx->netns_fd);
	ctx->netns_fd = -1;
}

/* ---- iteration ---- */

/* The kernel has no batch operation for this map type (older kernels). */
static bool no_batch(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

/* The bytes of one value as user space reads it: a per-CPU map gives one
 * value, 8-byte aligned, for each possible CPU. 0 when that is unknown. */
static size_t value_bytes(enum pt_map_id id)
{
	const struct pt_map_desc *m = &pt_maps[id];
	int ncpu;

	if (m->type != BPF_MAP_TYPE_PERCPU_ARRAY)
		return m->value_size;
	ncpu = libbpf_num_possible_cpus();
	return ncpu > 0 ? ((m->value_size + 7u) & ~7u) * (size_t)ncpu : 0;
}

struct walk {
	int fd, goff, gen;
	size_t ksz, vsz;
	uint8_t *keys, *vals;	/* room for WALK_CHUNK entries */
	pt_visit_fn fn;
	void *arg;
};

#define WALK_CHUNK 4096

static bool walk_skips(const struct walk *w, const uint8_t *key)
{
	return w->gen >= 0 && w->goff >= 0 && key[w->goff] != w->gen;
}

/* One entry at a time, where the kernel has no batched reads. */
static int walk_one_by_one(struct walk *w)
{
	uint8_t *key = w->keys, *next = w->keys + w->ksz;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(w->fd, prev, next)) {
		memcpy(key, next, w->ksz);
		prev = key;
		if (walk_skips(w, key))
			continue;
		if (bpf_map_lookup_elem(w->fd, key, w->vals)) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		err = w->fn(key, w->vals, w->arg);
		if (err)
			return err;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int walk_batched(struct walk *w)
{
	uint8_t batch[64];
	bool first = true;
	int err = 0;

	for (;;) {
		__u32 count = WALK_CHUNK;
		int r = bpf_map_lookup_batch(w->fd, first ? NULL : batch, batch, w->keys, w->vals,
					     &count, NULL);
		int e = r ? -errno : 0;

		if (r && e != -ENOENT)
			return first && no_batch(e) ? walk_one_by_one(w) : e;
		first = false;
		for (__u32 i = 0; i < count && !err; i++) {
			const uint8_t *k = w->keys + (size_t)i * w->ksz;

			if (!walk_skips(w, k))
				err = w->fn(k, w->vals + (size_t)i * w->vsz, w->arg);
		}
		if (err || e == -ENOENT)
			return err;
	}
}

int pt_map_walk(const int fds[PT_NMAPS], enum pt_map_id id, int gen, pt_visit_fn fn, void *arg)
{
	struct walk w = { .fd = fds[id], .goff = pt_maps[id].gen_off, .gen = gen,
			  .ksz = pt_maps[id].key_size, .vsz = value_bytes(id), .fn = fn, .arg = arg };
	int err = -ENOMEM;

	/* an XSKMAP's sockets cannot be read from user space (EOPNOTSUPP);
	 * a CPUMAP can, its empty slots as ENOENT (skipped) */
	if (pt_maps[id].type == BPF_MAP_TYPE_XSKMAP)
		return -EOPNOTSUPP;
	if (!w.vsz)
		return -EINVAL;
	w.keys = malloc(WALK_CHUNK * w.ksz);
	w.vals = malloc(WALK_CHUNK * w.vsz);
	if (w.keys && w.vals)
		err = walk_batched(&w);
	free(w.keys);
	free(w.vals);
	return err;
}

static void rule_to_prefix(const struct pt_rule_key *k, struct pt_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (k->any) {
		p->family = PT_FAMILY_ANY;
		return;
	}
	p->family = k->family;
	p->plen = k->plen;
	memcpy(p->addr, k->addr, 16);
}

static void prefix_to_rule(const struct pt_prefix *p, struct pt_rule_key *k)
{
	k->any = p->family == PT_FAMILY_ANY;
	k->family = p->family;
	k->plen = p->plen;
	memcpy(k->addr, p->addr, 16);
}

/* Grown to the next power of two when n reaches one (the arrays start
 * empty and only grow here while the state is read): a million bindings
 * are 21 reallocations, not a million (each a copy under ASan). */
#define APPEND(arr, n, elem)                                                  \
	({                                                                    \
		void *__p = (arr);                                            \
		int __e = 0;                                                  \
		if (!((n) & ((n) - 1)))                                       \
			__p = realloc((arr), ((n) ? 2 * (n) : 1) * sizeof(*(arr))); \
		if (!__p)                                                     \
			__e = -ENOMEM;                                        \
		else {                                                        \
			(arr) = __p;                                          \
			(arr)[(n)++] = (elem);                                \
		}                                                             \
		__e;                                                          \
	})

static int visit_svc(const void *key, const void *val, void *arg)
{
	const struct pt_svc_key *k = key;
	const struct pt_svc_rec *v = val;
	struct pt_state *st = arg;
	struct pt_service s = { .id = v->id, .xsk_ifindex = v->xsk_ifindex };

	memcpy(s.name, k->name, sizeof(s.name));
	s.name[PT_NAME_LEN - 1] = 0;
	memcpy(s.desc, v->desc, sizeof(s.desc));
	s.desc[PT_DESC_LEN - 1] = 0;
	return APPEND(st->services, st->nservices, s);
}

static int visit_bind(const void *key, const void *val, void *arg)
{
	const struct pt_rule_key *k = key;
	const struct pt_bind_rec *v = val;
	struct pt_state *st = arg;
	struct pt_binding b = { .proto = k->proto, .lo = k->port_lo, .hi = k->port_hi,
				.service = v->service };

	rule_to_prefix(k, &b.prefix);
	return APPEND(st->bindings, st->nbindings, b);
}

static int visit_policy(const void *key, const void *val, void *arg)
{
	const struct pt_rule_key *k = key;
	const struct pt_policy_rec *v = val;
	struct pt_state *st = arg;
	struct pt_policy p = { .proto = k->proto, .lo = k->port_lo, .hi = k->port_hi,
			       .action = v->action, .pps = v->pps, .rule = v->rule };

	rule_to_prefix(k, &p.from);
	return APPEND(st->policies, st->npolicies, p);
}

static int visit_watch(const void *key, const void *val, void *arg)
{
	const struct pt_range_key *k = key;
	struct pt_state *st = arg;
	struct pt_watch w = { .proto = k->proto, .lo = k->port_lo, .hi = k->port_hi };

	return APPEND(st->watches, st->nwatches, w);
}

static int visit_slot(const void *key, const void *val, void *arg)
{
	const struct pt_range_key *k = key;
	struct pt_state *st = arg;
	struct pt_slot s = { .proto = k->proto, .lo = k->port_lo, .hi = k->port_hi,
			     .slot = *(const __u32 *)val };

	return APPEND(st->slots, st->nslots, s);
}

static int visit_steer(const void *key, const void *val, void *arg)
{
	const struct pt_range_key *k = key;
	const struct pt_steer_rec *v = val;
	struct pt_state *st = arg;
	struct pt_steer s = { .proto = k->proto, .lo = k->port_lo, .hi = k->port_hi };

	/* a record this build would not write is not a rule: refuse it */
	if (v->count < 1 || v->count > PT_MAX_STEER_CPUS)
		return -EUCLEAN;
	s.ncpus = (uint16_t)v->count;
	memcpy(s.cpus, v->cpu, s.ncpus * sizeof(s.cpus[0]));
	if (!pt_cpus_valid(s.cpus, s.ncpus))
		return -EUCLEAN;
	return APPEND(st->steers, st->nsteers, s);
}

/* Keep listings stable: the order of rules as an operator reads them. */
static int cmp_service(const void *a, const void *b)
{
	return strcmp(((const struct pt_service *)a)->name, ((const struct pt_service *)b)->name);
}

static int cmp_prefix(const struct pt_prefix *a, const struct pt_prefix *b)
{
	if (a->family != b->family)
		return a->family == PT_FAMILY_ANY ? -1 : b->family == PT_FAMILY_ANY ? 1 :
			(int)a->family - (int)b->family;
	int c = memcmp(a->addr, b->addr, 16);
	return c ? c : (int)a->plen - (int)b->plen;
}

/* By protocol, then port range (the prefix, where there is one, next). */
static int cmp_range(uint8_t p1, uint16_t lo1, uint16_t hi1, uint8_t p2, uint16_t lo2, uint16_t hi2)
{
	if (p1 != p2)
		return p1 - p2;
	return lo1 != lo2 ? lo1 - lo2 : hi1 - hi2;
}

static int cmp_binding(const void *a, const void *b)
{
	const struct pt_binding *x = a, *y = b;
	int c = cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);

	return c ? c : cmp_prefix(&x->prefix, &y->prefix);
}

static int cmp_policy(const void *a, const void *b)
{
	const struct pt_policy *x = a, *y = b;
	int c = cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);

	return c ? c : cmp_prefix(&x->from, &y->from);
}

static int cmp_watch(const void *a, const void *b)
{
	const struct pt_watch *x = a, *y = b;

	return cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);
}

static int cmp_steer(const void *a, const void *b)
{
	const struct pt_steer *x = a, *y = b;

	return cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);
}

int pt_state_load(struct pt_ctx *ctx, struct pt_state *st)
{
	int gen = (int)(ctx->cfg.gen & 1);
	int err;

	memset(st, 0, sizeof(*st));
	st->max_bindings = ctx->max_bindings;
	err = pt_map_walk(ctx->fds, M_SVC_TABLE, gen, visit_svc, st);
	err = err ?: pt_map_walk(ctx->fds, M_BIND_TABLE, gen, visit_bind, st);
	err = err ?: pt_map_walk(ctx->fds, M_POLICY_TABLE, gen, visit_policy, st);
	err = err ?: pt_map_walk(ctx->fds, M_WATCH_TABLE, gen, visit_watch, st);
	err = err ?: pt_map_walk(ctx->fds, M_SLOT_TABLE, gen, visit_slot, st);
	err = err ?: pt_map_walk(ctx->fds, M_STEER_TABLE, gen, visit_steer, st);
	if (err) {
		pt_state_free(st);
		return err;
	}
	pt_state_sort(st);
	return 0;
}

/* cmp_binding's order as one memcmp key, with the binding's position:
 * a million bindings sort by memcmp of 32-byte keys in a fraction of the
 * time cmp_binding's calls take. */
struct binding_key {
	uint8_t k[28];		/* proto, lo, hi, family (any first), addr, plen,
				 * position: big-endian */
	uint32_t pos;
};

static int cmp_binding_key(const void *x, const void *y)
{
	return memcmp(((const struct binding_key *)x)->k, ((const struct binding_key *)y)->k, 28);
}

static void sort_bindings(struct pt_state *st)
{
	size_t n = st->nbindings;
	struct binding_key *ks = n <= UINT32_MAX ? malloc(n * sizeof(*ks)) : NULL;
	struct pt_binding *out = malloc(n * sizeof(*out));

	if (!ks || !out) {
		/* no memory for the keys: the same order, slower */
		free(ks);
		free(out);
		qsort(st->bindings, n, sizeof(*st->bindings), cmp_binding);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pt_binding *b = &st->bindings[i];
		uint8_t *k = ks[i].k;

		k[0] = b->proto;
		k[1] = (uint8_t)(b->lo >> 8);
		k[2] = (uint8_t)b->lo;
		k[3] = (uint8_t)(b->hi >> 8);
		k[4] = (uint8_t)b->hi;
		k[5] = b->prefix.family == PT_FAMILY_ANY ? 0 : (uint8_t)(b->prefix.family + 1);
		memcpy(k + 6, b->prefix.addr, 16);
		k[22] = b->prefix.plen;
		k[23] = 0;
		for (int j = 0; j < 4; j++)
			k[27 - j] = (uint8_t)(i >> (8 * j));
		ks[i].pos = (uint32_t)i;
	}
	qsort(ks, n, sizeof(*ks), cmp_binding_key);
	for (size_t i = 0; i < n; i++)
		out[i] = st->bindings[ks[i].pos];
	free(st->bindings);
	st->bindings = out;
	free(ks);
}

void pt_state_sort(struct pt_state *st)
{
	if (st->nservices)
		qsort(st->services, st->nservices, sizeof(*st->services), cmp_service);
	if (st->nbindings)
		sort_bindings(st);
	if (st->npolicies)
		qsort(st->policies, st->npolicies, sizeof(*st->policies), cmp_policy);
	if (st->nwatches)
		qsort(st->watches, st->nwatches, sizeof(*st->watches), cmp_watch);
	if (st->nsteers)
		qsort(st->steers, st->nsteers, sizeof(*st->steers), cmp_steer);
}

/* the model's host key is bind_lpm's without the prefix length in front */
_Static_assert(sizeof(struct pt_lpm_key) == sizeof(__u32) + sizeof(struct pt_host_key),
	       "pt_host_key must be pt_lpm_key after its prefixlen");
_Static_assert(PT_MAX_SERVICES <= 65536 && PT_MAX_SLOTS <= 65536,
	       "a bind_host slot holds the service and counter slot in 16 bits");

/* ---- batched writes ---- */

/* The entries of one map for one generation: keys and values side by side. */
struct image {
	uint8_t *keys, *vals;
	size_t n, cap, ksz, vsz;
};

static int image_add(struct image *im, const void *key, const void *val)
{
	if (im->n == im->cap) {
		size_t nc = im->cap ? im->cap * 2 : 256;
		uint8_t *k = realloc(im->keys, nc * im->ksz), *v;

		if (!k)
			return -ENOMEM;
		im->keys = k;
		v = realloc(im->vals, nc * (im->vsz ? im->vsz : 1));
		if (!v)
			return -ENOMEM;
		im->vals = v;
		im->cap = nc;
	}
	memcpy(im->keys + im->n * im->ksz, key, im->ksz);
	if (im->vsz)
		memcpy(im->vals + im->n * im->vsz, val, im->vsz);
	im->n++;
	return 0;
}

#define BATCH 8192

static int batch_put(int fd, const struct image *im)
{
	for (size_t done = 0; done < im->n;) {
		__u32 count = (__u32)(im->n - done < BATCH ? im->n - done : BATCH);
		int err = 0;

		if (bpf_map_update_batch(fd, im->keys + done * im->ksz, im->vals + done * im->vsz,
					 &count, NULL))
			err = -errno;
		if (!err) {
			done += count;
			continue;
		}
		if (!no_batch(err))
			return err;
		/* an older kernel without batch ops for this map type */
		for (; done < im->n; done++)
			if (bpf_map_update_elem(fd, im->keys + done * im->ksz,
						im->vals + done * im->vsz, BPF_ANY))
				return -errno;
	}
	return 0;
}

static int batch_del(int fd, const struct image *im)
{
	for (size_t done = 0; done < im->n;) {
		__u32 count = (__u32)(im->n - done < BATCH ? im->n - done : BATCH);
		int err = 0;

		if (bpf_map_delete_batch(fd, im->keys + done * im->ksz, &count, NULL))
			err = -errno;
		done += count;
		if (!err)
			continue;
		if (err == -ENOENT) {
			done++;		/* already gone: step over it */
			continue;
		}
		if (!no_batch(err))
			return err;
		for (; done < im->n; done++)
			if (bpf_map_delete_elem(fd, im->keys + done * im->ksz) && errno != ENOENT)
				return -errno;
	}
	return 0;
}

/* ---- clearing a generation ---- */

static int collect_key(const void *key, const void *val, void *arg)
{
	return image_add(arg, key, NULL);
}

int pt_state_clear_gen(struct pt_ctx *ctx, uint8_t gen)
{
	int err = 0;

	for (int i = 0; i < PT_NMAPS && !err; i++) {
		struct image im = { .ksz = pt_maps[i].key_size };

		if (pt_maps[i].gen_off == PT_NO_GEN)
			continue;
		err = pt_map_walk(ctx->fds, (enum pt_map_id)i, gen, collect_key, &im);
		err = err ?: batch_del(ctx->fds[i], &im);
		free(im.keys);
		free(im.vals);
	}
	return err;
}

/* ---- writing a generation ---- */

/* Everything one generation puts in the generation-keyed maps. */
struct gen_image {
	struct image m[PT_NMAPS];
	/* port_table's half of this generation, written whole from the
	 * compiled tables (not copied into m[M_PORT_TABLE]) */
	const struct pt_port_ent *ports;
	struct pt_port_ent *ports_own;	/* a copy of them, when changed here */
	/* bind_host's half of this generation: host_nb buckets, written whole */
	struct pt_host_bucket *hosts;
	uint32_t host_nb;
	size_t host_spilled;	/* host bindings that found no way: in bind_lpm */
	uint8_t gen;
};

/* An empty image of c's generation, bind_host's half of host_nb buckets. */
static void gen_image_init(struct gen_image *g, const struct pt_compiled *c, uint32_t host_nb)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < PT_NMAPS; i++)
		g->m[i] = (struct image){ .ksz = pt_maps[i].key_size, .vsz = pt_maps[i].value_size };
	g->ports = c->ports;
	g->gen = c->gen;
	g->host_nb = host_nb;
}

static void gen_image_free(struct gen_image *g)
{
	for (int i = 0; i < PT_NMAPS; i++) {
		free(g->m[i].keys);
		free(g->m[i].vals);
	}
	free(g->ports_own);
	free(g->hosts);
	memset(g, 0, sizeof(*g));
}

/* The records of st, keyed with generation gen. */
static int image_records(const struct pt_state *st, uint8_t gen, struct gen_image *g)
{
	int err = 0;

	for (size_t i = 0; i < st->nservices && !err; i++) {
		struct pt_svc_key k = { .gen = gen };
		struct pt_svc_rec v = { .id = st->services[i].id,
					.xsk_ifindex = st->services[i].xsk_ifindex };

		memcpy(k.name, st->services[i].name, sizeof(k.name));
		memcpy(v.desc, st->services[i].desc, sizeof(v.desc));
		err = image_add(&g->m[M_SVC_TABLE], &k, &v);
	}
	for (size_t i = 0; i < st->nbindings && !err; i++) {
		const struct pt_binding *b = &st->bindings[i];
		struct pt_rule_key k = { .gen = gen, .proto = b->proto, .port_lo = b->lo,
					 .port_hi = b->hi };
		struct pt_bind_rec v = { .service = b->service };

		prefix_to_rule(&b->prefix, &k);
		err = image_add(&g->m[M_BIND_TABLE], &k, &v);
	}
	for (size_t i = 0; i < st->npolicies && !err; i++) {
		const struct pt_policy *p = &st->policies[i];
		struct pt_rule_key k = { .gen = gen, .proto = p->proto, .port_lo = p->lo,
					 .port_hi = p->hi };
		struct pt_policy_rec v = { .action = p->action, .pps = p->pps, .rule = p->rule };

		prefix_to_rule(&p->from, &k);
		err = image_add(&g->m[M_POLICY_TABLE], &k, &v);
	}
	for (size_t i = 0; i < st->nwatches && !err; i++) {
		struct pt_range_key k = { .gen = gen, .proto = st->watches[i].proto,
					  .port_lo = st->watches[i].lo, .port_hi = st->watches[i].hi };
		__u32 v = 1;

		err = image_add(&g->m[M_WATCH_TABLE], &k, &v);
	}
	for (size_t i = 0; i < st->nslots && !err; i++) {
		struct pt_range_key k = { .gen = gen, .proto = st->slots[i].proto,
					  .port_lo = st->slots[i].lo, .port_hi = st->slots[i].hi };

		err = image_add(&g->m[M_SLOT_TABLE], &k, &st->slots[i].slot);
	}
	for (size_t i = 0; i < st->nsteers && !err; i++) {
		const struct pt_steer *s = &st->steers[i];
		struct pt_range_key k = { .gen = gen, .proto = s->proto, .port_lo = s->lo,
					  .port_hi = s->hi };
		struct pt_steer_rec v = { .count = s->ncpus };

		memcpy(v.cpu, s->cpus, s->ncpus * sizeof(v.cpu[0]));
		err = image_add(&g->m[M_STEER_TABLE], &k, &v);
	}
	return err;
}

/* ---- bind_host: a cuckoo table ---- */

/* The buckets of a half of bind_host: the map's size over two. */
static uint32_t host_half(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries / 2;
}

static uint64_t slot_hash(const struct pt_host_slot *s)
{
	return pt_host_hash(s->tag, s->addr[0], s->addr[1], s->addr[2], s->addr[3]);
}

/* A free way of bucket b, or -1. */
static int free_way(const struct pt_host_bucket *b)
{
	for (int w = 0; w < PT_HOST_WAYS; w++)
		if (!b->way[w].tag)
			return w;
	return -1;
}

/*
 * Place s in t (nb buckets): a free way of either of its buckets, else
 * a random walk that moves what sits in the way to that one's other
 * bucket, at most HOST_KICKS times. Returns 0, or 1 with *out the slot
 * left without a way (s or one it moved): the caller puts that one in
 * the trie. The walk's choices are pseudo-random but fixed (seeded per
 * table), so a commit places the same bindings the same way.
 */
#define HOST_KICKS 500

static int host_place(struct pt_host_bucket *t, uint32_t nb, struct pt_host_slot s,
		      uint64_t *rng, struct pt_host_slot *out)
{
	uint64_t h = slot_hash(&s);
	uint32_t b = PT_HOST_BUCKET(h, nb), b2 = PT_HOST_BUCKET(h >> 32, nb);
	int w;

	if ((w = free_way(&t[b])) >= 0) {
		t[b].way[w] = s;
		return 0;
	}
	if ((w = free_way(&t[b2])) >= 0) {
		t[b2].way[w] = s;
		return 0;
	}
	for (int kick = 0; kick < HOST_KICKS; kick++) {
		struct pt_host_slot moved;

		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		if (*rng & 4)
			b = b2;	/* either of the two buckets */
		w = (int)(*rng % PT_HOST_WAYS);
		moved = t[b].way[w];
		t[b].way[w] = s;
		s = moved;
		/* moved's other bucket */
		h = slot_hash(&s);
		b2 = PT_HOST_BUCKET(h, nb);
		b = b2 == b ? PT_HOST_BUCKET(h >> 32, nb) : b2;
		if ((w = free_way(&t[b])) >= 0) {
			t[b].way[w] = s;
			return 0;
		}
		b2 = b;
	}
	*out = s;
	return 1;
}

/* Mark PT_PORT_NET every bound port of ports (one generation's half) whose
 * (proto, class) is set in spilled, one bit per class of each protocol: a
 * host binding of that class is in the trie. One pass, however many
 * bindings spilled. */
static void ports_mark_net(struct pt_port_ent *ports, const uint64_t *spilled)
{
	for (size_t i = 0; i < (size_t)PT_NPROTO * PT_PORTS; i++) {
		size_t bit = i / PT_PORTS * PT_PORTS + ports[i].class;

		if ((ports[i].flags & PT_PORT_BOUND) && spilled[bit / 64] >> (bit % 64) & 1)
			ports[i].flags |= PT_PORT_NET;
	}
}

/* bind_host's half for c's host bindings, in g->hosts. One that finds no
 * way goes to bind_lpm (its full-length key, as the trie had it before
 * bind_host) and its class's ports are flagged PT_PORT_NET, so both
 * programs ask the trie on a miss: a placement failure costs a trie
 * look-up, never an answer. */
static int host_build(const struct pt_compiled *c, struct gen_image *g)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull, *spilled = NULL;
	const size_t half = (size_t)PT_NPROTO * PT_PORTS;
	int err = 0;

	if (!g->host_nb)
		return c->nhosts ? -EINVAL : 0;
	g->hosts = calloc(g->host_nb, sizeof(*g->hosts));
	if (!g->hosts)
		return -ENOMEM;
	for (size_t i = 0; i < c->nhosts; i++) {
		const struct pt_lpm_key *k = &c->hosts[i].key;
		struct pt_host_slot s = { .tag = PT_HOST_TAG(k->proto, k->family, ntohl(k->class)),
					  .service = (__u16)c->hosts[i].val.service,
					  .slot = (__u16)c->hosts[i].val.slot },
				    left;
		struct pt_lpm_key lk = { .gen = g->gen };
		struct pt_bind_val v;
		size_t bit;

		memcpy(s.addr, k->addr, sizeof(s.addr));
		if (!host_place(g->hosts, g->host_nb, s, &rng, &left))
			continue;
		/* left: the slot without a way, as the trie's full-length row */
		lk.proto = (uint8_t)((left.tag - 1) >> 1 & 1);
		lk.family = (uint8_t)((left.tag - 1) & 1);
		lk.class = htonl((left.tag - 1) >> 2);
		lk.prefixlen = PT_LPM_KEY_BITS + (lk.family == PT_INET ? 32u : 128u);
		memcpy(lk.addr, left.addr, sizeof(lk.addr));
		v = (struct pt_bind_val){ .service = left.service, .slot = left.slot };
		if (!spilled)
			spilled = calloc(half / 64, sizeof(*spilled));
		err = spilled ? image_add(&g->m[M_BIND_LPM], &lk, &v) : -ENOMEM;
		if (err)
			break;
		bit = (size_t)lk.proto * PT_PORTS + (uint16_t)ntohl(lk.class);
		spilled[bit / 64] |= 1ull << (bit % 64);
		g->host_spilled++;
	}
	if (!err && spilled && g->ports) {
		/* the image's ports may be shared: flag a copy */
		g->ports_own = malloc(half * sizeof(*g->ports_own));
		if (g->ports_own) {
			memcpy(g->ports_own, g->ports, half * sizeof(*g->ports_own));
			g->ports = g->ports_own;
			ports_mark_net(g->ports_own, spilled);
		} else {
			err = -ENOMEM;
		}
	}
	free(spilled);
	return err;
}

int pt_host_table(const struct pt_compiled *c, uint32_t nb, struct pt_host_bucket **table,
		  size_t *spilled)
{
	struct gen_image g;
	int err;

	gen_image_init(&g, c, nb);
	g.ports = NULL;	/* nothing to flag: the caller wants the table */
	err = host_build(c, &g);
	if (!err) {
		*table = g.hosts;
		*spilled = g.host_spilled;
		g.hosts = NULL;
	}
	gen_image_free(&g);
	return err;
}

/* The records of st (when not NULL) and the compiled tables c; bind_host's
 * half has host_nb buckets. */
static int gen_image_build(const struct pt_state *st, const struct pt_compiled *c,
			   uint32_t host_nb, struct gen_image *g)
{
	int err = 0;

	gen_image_init(g, c, host_nb);
	if (st)
		err = image_records(st, c->gen, g);
	/* bind_lpm without its full-length entries: each is in bind_host,
	 * which both programs ask first for a class flagged PT_PORT_HOST,
	 * and asking the trie only on a miss, they never need it there (a
	 * miss means no full-length entry for the address). One trie update
	 * fewer per host binding, the costliest write of a commit. */
	for (size_t i = 0; i < c->nbinds && !err; i++)
		if (c->binds[i].key.prefixlen !=
		    PT_LPM_KEY_BITS + (c->binds[i].key.family == PT_INET ? 32u : 128u))
			err = image_add(&g->m[M_BIND_LPM], &c->binds[i].key, &c->binds[i].val);
	err = err ?: host_build(c, g);
	for (size_t i = 0; i < c->npolicies && !err; i++)
		err = image_add(&g->m[M_POLICY_LPM], &c->policies[i].key, &c->policies[i].val);
	/* the generation's half of policy_list (an array, like cpu_sets: an
	 * entry is read only for a class its generation's port_table flags) */
	for (size_t i = 0; i < c->nlists && !err; i++)
		err = image_add(&g->m[M_POLICY_LIST], &c->lists[i].index, &c->lists[i].list);
	/* the generation's half of cpu_sets (an array: never deleted, the
	 * next write of the half overwrites what port_table names) */
	for (size_t i = 0; i < c->nsets && !err; i++) {
		__u32 k = PT_CPU_SET_INDEX(c->gen, i);

		err = image_add(&g->m[M_CPU_SETS], &k, &c->sets[i]);
	}
	if (err)
		gen_image_free(g);
	return err;
}

/*
 * Write n elements of esz bytes (src, or zeros when src is NULL) from index
 * first of an mmapable ARRAY of total elements: one copy through an mmap,
 * not n updates through the syscall (131,072 of port_table took 50 ms).
 * The caller's elements are a generation's half that nothing reads (a
 * grace period has passed since it was live); the fence orders these
 * stores before the flip's. Where the map cannot be mapped, the syscall in
 * batches.
 */
static int array_range_put(int fd, size_t esz, uint32_t total, uint32_t first, uint32_t n,
			   const void *src)
{
	const size_t len = (size_t)total * esz;
	struct image im = { .ksz = sizeof(__u32), .vsz = esz };
	uint8_t *ents, *zero = NULL;
	int err = 0;

	if (!n)
		return 0;
	ents = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ents != MAP_FAILED) {
		if (src)
			memcpy(ents + (size_t)first * esz, src, (size_t)n * esz);
		else
			memset(ents + (size_t)first * esz, 0, (size_t)n * esz);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		munmap(ents, len);
		return 0;
	}
	if (!src && !(zero = calloc(1, esz)))
		return -ENOMEM;
	for (uint32_t i = 0; i < n && !err; i++) {
		__u32 key = first + i;

		err = image_add(&im, &key, src ? (const uint8_t *)src + (size_t)i * esz : zero);
	}
	err = err ?: batch_put(fd, &im);
	free(zero);
	free(im.keys);
	free(im.vals);
	return err;
}

/* bind_host's half of generation gen (nb buckets): written whole, or
 * cleared when hosts is NULL. */
static int host_put(int fd, uint8_t gen, uint32_t nb, const struct pt_host_bucket *hosts)
{
	return array_range_put(fd, sizeof(*hosts), 2 * nb, gen & 1 ? nb : 0, nb, hosts);
}

/* port_table's half of the image's generation (its entries are
 * PT_PORT_INDEX(gen, 0, 0) on, proto by proto, port by port). */
static int port_table_put(int fd, const struct gen_image *g)
{
	if (!g->ports)
		return 0;
	return array_range_put(fd, sizeof(*g->ports), PT_PORT_ENTRIES, PT_PORT_INDEX(g->gen, 0, 0),
			       PT_NPROTO * PT_PORTS, g->ports);
}

/*
 * The largest map of an image goes on a thread of its own: a million
 * bindings are a million updates of bind_table and another million of
 * bind_host, each a hash update in the kernel (most of a commit's time),
 * and updates of two maps run on two CPUs. Below SPLIT_MIN entries a
 * thread costs more than it saves. Both halves end before the caller goes
 * on (the flip, or a delete), so the commit's order is unchanged.
 */
#define SPLIT_MIN 16384

struct side_job {
	int fd;
	const struct image *im;
	bool del;
	int err;
};

static void *side_run(void *arg)
{
	struct side_job *j = arg;

	j->err = j->del ? batch_del(j->fd, j->im) : batch_put(j->fd, j->im);
	return NULL;
}

/* Start the largest of the maps that want(i) on a thread: its id, or -1
 * when none is worth one (or no thread could start: the caller does it). */
static int side_start(const int fds[PT_NMAPS], const struct gen_image *g, bool del,
		      bool (*want)(int), struct side_job *j, pthread_t *t)
{
	int big = -1;

	for (int i = 0; i < PT_NMAPS; i++)
		if (want(i) && g->m[i].n >= SPLIT_MIN && (big < 0 || g->m[i].n > g->m[big].n))
			big = i;
	if (big < 0)
		return -1;
	*j = (struct side_job){ .fd = fds[big], .im = &g->m[big], .del = del };
	return pthread_create(t, NULL, side_run, j) ? -1 : big;
}

static int side_join(int side, pthread_t t, const struct side_job *j, int err)
{
	if (side < 0)
		return err;
	pthread_join(t, NULL);
	return err ?: j->err;
}

static bool put_row(int i)
{
	return pt_maps[i].commit && i != M_PORT_TABLE && i != M_BIND_HOST;
}

static bool del_row(int i)
{
	/* an array's entries cannot be deleted: the next write of this
	 * generation overwrites them all */
	return pt_maps[i].type != BPF_MAP_TYPE_ARRAY;
}

/* In row order: records first, then the derived tables. Nothing reads this
 * generation until the flip, so the order only matters for a reader of
 * records. */
static int gen_image_write(const int fds[PT_NMAPS], const struct gen_image *g)
{
	struct side_job j;
	pthread_t t;
	int side = side_start(fds, g, false, put_row, &j, &t), err = 0;

	for (int i = 0; i < PT_NMAPS && !err; i++) {
		if (i == M_PORT_TABLE)
			err = port_table_put(fds[i], g);
		else if (i == M_BIND_HOST)
			err = host_put(fds[i], g->gen, g->host_nb, g->hosts);
		else if (put_row(i) && i != side)
			err = batch_put(fds[i], &g->m[i]);
	}
	return side_join(side, t, &j, err);
}

static int gen_image_delete(const int fds[PT_NMAPS], const struct gen_image *g)
{
	struct side_job j;
	pthread_t t;
	int side = side_start(fds, g, true, del_row, &j, &t), err = 0;

	for (int i = 0; i < PT_NMAPS && !err; i++)
		if (g->m[i].n && del_row(i) && i != side)
			err = batch_del(fds[i], &g->m[i]);
	/* bind_host's half, cleared: what a later commit does not overwrite
	 * stays out of the kernel */
	if (!err && g->hosts)
		err = host_put(fds[M_BIND_HOST], g->gen, g->host_nb, NULL);
	return side_join(side, t, &j, err);
}

static int zero_slots(struct pt_ctx *ctx, const uint32_t *slots, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pt_counters *zeros;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zeros = calloc((size_t)ncpu, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(ctx->fds[M_PORT_STATS], &slots[i], zeros, BPF_ANY))
			err = -errno;
	free(zeros);
	return err;
}

static int write_config(struct pt_ctx *ctx, const struct pt_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(ctx->fds[M_CONFIG], &zero, cfg, BPF_ANY))
		return -errno;
	ctx->cfg = *cfg;
	return 0;
}

/* ---- cpu_map: the CPUs steer rules list ---- */

/* Is cpu listed by a CPU set of c? */
static bool cpu_listed(const struct pt_compiled *c, uint32_t cpu)
{
	for (size_t i = 0; c && i < c->nsets; i++)
		for (uint32_t j = 0; j < c->sets[i].count && j < PT_MAX_STEER_CPUS; j++)
			if (c->sets[i].cpu[j] == cpu)
				return true;
	return false;
}

static uint32_t cpu_map_size(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int pt_cpu_map_add(const int fds[PT_NMAPS], const struct pt_compiled *c)
{
	/* a queue, no program: the CPU's kthread hands frames to the stack */
	struct bpf_cpumap_val val = { .qsize = PT_CPU_QSIZE };
	uint32_t size = cpu_map_size(fds[M_CPU_MAP]);

	for (size_t i = 0; i < c->nsets; i++)
		for (uint32_t j = 0; j < c->sets[i].count && j < PT_MAX_STEER_CPUS; j++) {
			__u32 cpu = c->sets[i].cpu[j];
			struct bpf_cpumap_val cur;

			if (cpu >= size)
				return -ERANGE;
			/* an entry there already stays: replacing it would
			 * restart its kthread under the packets it carries */
			if (!bpf_map_lookup_elem(fds[M_CPU_MAP], &cpu, &cur))
				continue;
			if (bpf_map_update_elem(fds[M_CPU_MAP], &cpu, &val, BPF_ANY))
				return -errno;
		}
	return 0;
}

int pt_cpu_map_prune(const int fds[PT_NMAPS], const struct pt_compiled *c)
{
	uint32_t size = cpu_map_size(fds[M_CPU_MAP]);
	int err = 0;

	for (__u32 cpu = 0; cpu < size; cpu++) {
		struct bpf_cpumap_val cur;

		if (cpu_listed(c, cpu) || bpf_map_lookup_elem(fds[M_CPU_MAP], &cpu, &cur))
			continue;
		if (bpf_map_delete_elem(fds[M_CPU_MAP], &cpu) && !err)
			err = -errno;
	}
	return err;
}

/* ---- the grace period ---- */

/*
 * Wait until every BPF program run that began before this call has ended,
 * so that what the runs may have read (a generation that is idle now, a
 * socket bank that is no longer live) can be rewritten. Both programs run
 * inside RCU read-side sections (XDP in NAPI with bottom halves off,
 * sk_lookup under rcu_read_lock), so an RCU grace period is exactly that.
 *
 * The kernel's own way: an update of a map-in-map from user space returns
 * only after synchronize_rcu(), so that user space knows no program still
 * uses the old inner map (maybe_wait_bpf_programs() in
 * kernel/bpf/syscall.c, since 4.20; the BPF selftests' kern_sync_rcu()
 * relies on it). The map is private to this process, made on first use.
 * Where it cannot be made, membarrier(MEMBARRIER_CMD_GLOBAL) also waits
 * for synchronize_rcu() (kernel/sched/membarrier.c; refused under
 * nohz_full) when more than one CPU is online. With neither, the error is
 * returned and the caller rewrites nothing.
 */
static int grace_outer = -1, grace_inner = -1;

static int grace_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	__u32 zero = 0, val;
	int err;

	if (grace_outer < 0) {
		grace_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pt_grace_in", 4, 4, 1, NULL);
		if (grace_inner < 0) {
			err = -errno;
			grace_inner = -1;
			return err;
		}
		opts.inner_map_fd = grace_inner;
		grace_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pt_grace", 4, 4, 1,
					     &opts);
		if (grace_outer < 0) {
			err = -errno;
			close(grace_inner);
			grace_inner = grace_outer = -1;
			return err;
		}
	}
	val = (__u32)grace_inner;
	if (bpf_map_update_elem(grace_outer, &zero, &val, BPF_ANY))
		return -errno;
	return 0;
}

int pt_grace_period(void)
{
	int err = grace_map();

	if (!err)
		return 0;
	/* with one CPU online membarrier returns without waiting: a reader
	 * preempted inside rcu_read_lock() (sk_lookup from process context,
	 * on a preemptible kernel) could still be running */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
	    !syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return 0;
	return err;
}

int pt_state_commit(struct pt_ctx *ctx, struct pt_state *next, const struct pt_state *prev)
{
	uint8_t live = ctx->cfg.gen & 1, ng = live ^ 1;
	uint32_t nb = host_half(ctx->fds[M_BIND_HOST]);	/* both images' bind_host half */
	struct pt_compiled c = {}, oldc = {};
	struct gen_image img = {}, old = {};
	uint32_t *fresh = NULL;
	size_t nfresh = 0;
	struct pt_config cfg;
	int err;

	err = pt_assign_slots(next, prev, &fresh, &nfresh);
	if (err)
		return err;
	err = pt_compile(next, ng, &c);
	err = err ?: gen_image_build(next, &c, nb, &img);
	/* what the live generation holds, to remove it after the flip */
	err = err ?: pt_compile(prev, live, &oldc);
	err = err ?: gen_image_build(prev, &oldc, nb, &old);
	if (err)
		goto cleanup;
	/* Leftovers of an interrupted command, or of another build, never
	 * reach the packets: a full scan clears the idle generation. That
	 * command may have died right after its flip, before its grace
	 * period: wait for one before touching what it left. */
	if (ctx->cfg.idle_dirty) {
		err = pt_grace_period();
		err = err ?: pt_state_clear_gen(ctx, ng);
		if (err)
			goto cleanup;
	}
	cfg = ctx->cfg;
	cfg.idle_dirty = 1;
	cfg.enforce[ng] = c.enforce;	/* read only once ng is live */
	err = write_config(ctx, &cfg);
	err = err ?: gen_image_write(ctx->fds, &img);
	/* every CPU the new generation steers to has its queue before it
	 * goes live (one left over by a failure is pruned by the next commit) */
	err = err ?: pt_cpu_map_add(ctx->fds, &c);
	err = err ?: zero_slots(ctx, fresh, nfresh);
	if (err) {
		/* still dirty: the next command clears what was written */
		gen_image_delete(ctx->fds, &img);
		goto cleanup;
	}
	/* the commit point: one store the programs read whole */
	cfg.gen = ng;
	cfg.serial++;
	cfg.idle_dirty = 1;	/* the old generation, now idle, is still there */
	err = write_config(ctx, &cfg);
	if (err) {
		gen_image_delete(ctx->fds, &img);
		goto cleanup;
	}
	/* New runs read the new generation; runs that began before the flip
	 * may still be reading the old one. Once they are over it is
	 * unreachable: delete it. Without a grace period it stays, dirty, and
	 * the next command waits for one before it clears it. A failure here
	 * leaves only garbage that the next command's full scan removes. */
	if (!pt_grace_period() && !gen_image_delete(ctx->fds, &old)) {
		cfg.idle_dirty = 0;
		write_config(ctx, &cfg);
		/* no run reads the old generation's CPU sets any more: the
		 * CPUs only it listed lose their queues */
		pt_cpu_map_prune(ctx->fds, &c);
	}
cleanup:
	pt_compiled_free(&c);
	pt_compiled_free(&oldc);
	gen_image_free(&img);
	gen_image_free(&old);
	free(fresh);
	return err;
}

int pt_gen_write(const int fds[PT_NMAPS], const struct pt_state *st, const struct pt_compiled *c)
{
	struct gen_image g;
	int err = gen_image_build(st, c, host_half(fds[M_BIND_HOST]), &g);

	err = err ?: gen_image_write(fds, &g);
	gen_image_free(&g);
	return err;
}

int pt_gen_delete(const int fds[PT_NMAPS], const struct pt_state *st, const struct pt_compiled *c)
{
	struct gen_image g;
	int err = gen_image_build(st, c, host_half(fds[M_BIND_HOST]), &g);

	err = err ?: gen_image_delete(fds, &g);
	gen_image_free(&g);
	return err;
}

/* ---- counters and memory ---- */

uint64_t pt_map_bytes(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8)) {
			v = strtoull(line + 8, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void add_counters(struct pt_counters *dst, const struct pt_counters *src)
{
	dst->packets += src->packets;
	dst->bytes += src->bytes;
	dst->dropped += src->dropped;
	dst->limited += src->limited;
	dst->steered += src->steered;
	dst->no_socket += src->no_socket;
	dst->xsk += src->xsk;
	dst->cpu += src->cpu;
	dst->fallback += src->fallback;
}

/* Every CPU's value of one key of a per-CPU map (whose values are 8-byte
 * multiples), to free; NULL with errno set when it cannot be read. */
static void *percpu_get(const struct pt_ctx *ctx, enum pt_map_id id, __u32 key, int *ncpu)
{
	void *per;

	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0) {
		errno = EINVAL;
		return NULL;
	}
	per = calloc((size_t)*ncpu, pt_maps[id].value_size);
	if (per && bpf_map_lookup_elem(ctx->fds[id], &key, per)) {
		int e = errno;

		free(per);
		errno = e;
		return NULL;
	}
	return per;
}

_Static_assert(sizeof(struct pt_counters) % 8 == 0 && sizeof(struct pt_global) % 8 == 0,
	       "per-CPU values are read as arrays of the struct");

struct counter_sums {
	struct pt_counters *out;
	int ncpu;
};

static int sum_counters(const void *key, const void *val, void *arg)
{
	const struct counter_sums *a = arg;
	const struct pt_counters *per = val;
	__u32 slot = *(const __u32 *)key;

	for (int c = 0; c < a->ncpu && slot < PT_MAX_SLOTS; c++)
		add_counters(&a->out[slot], &per[c]);
	return 0;
}

int pt_read_all_counters(struct pt_ctx *ctx, struct pt_counters *out)
{
	struct counter_sums a = { .out = out, .ncpu = libbpf_num_possible_cpus() };

	if (a.ncpu <= 0)
		return -EINVAL;
	memset(out, 0, PT_MAX_SLOTS * sizeof(*out));
	/* batched: every slot of every CPU in as few syscalls as the kernel allows */
	return pt_map_walk(ctx->fds, M_PORT_STATS, -1, sum_counters, &a);
}

int pt_read_global(struct pt_ctx *ctx, struct pt_global *out)
{
	int ncpu;
	struct pt_global *per = percpu_get(ctx, M_GLOBAL_STATS, 0, &ncpu);

	memset(out, 0, sizeof(*out));
	if (!per)
		return -errno;
	for (int i = 0; i < ncpu; i++) {
		out->malformed += per[i].malformed;
		out->fragments += per[i].fragments;
		out->other += per[i].other;
		out->dispatch_other += per[i].dispatch_other;
		out->unreadable += per[i].unreadable;
	}
	free(per);
	return 0;
}
