// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

const char *const pt_map_names[PT_NMAPS] = {
	[M_CONFIG] = PT_MAP_CONFIG,
	[M_PORT_TABLE] = PT_MAP_PORT_TABLE,
	[M_BIND_LPM] = PT_MAP_BIND_LPM,
	[M_BIND_HOST] = PT_MAP_BIND_HOST,
	[M_POLICY_LPM] = PT_MAP_POLICY_LPM,
	[M_SOCK_META] = PT_MAP_SOCK_META,
	[M_SVC_SOCKS] = PT_MAP_SVC_SOCKS,
	[M_PORT_STATS] = PT_MAP_PORT_STATS,
	[M_GLOBAL_STATS] = PT_MAP_GLOBAL_STATS,
	[M_RATE_BUCKETS] = PT_MAP_RATE_BUCKETS,
	[M_SVC_TABLE] = PT_MAP_SVC_TABLE,
	[M_BIND_TABLE] = PT_MAP_BIND_TABLE,
	[M_POLICY_TABLE] = PT_MAP_POLICY_TABLE,
	[M_WATCH_TABLE] = PT_MAP_WATCH_TABLE,
	[M_SLOT_TABLE] = PT_MAP_SLOT_TABLE,
	[M_SOCK_INFO] = PT_MAP_SOCK_INFO,
	[M_XDP_TABLE] = PT_MAP_XDP_TABLE,
	[M_FRAG_TABLE] = PT_MAP_FRAG_TABLE,
};

/* Where the generation byte sits in each generation-keyed map's key;
 * -1 for maps without generations. */
static const int gen_offset[PT_NMAPS] = {
	[M_CONFIG] = -1,
	[M_PORT_TABLE] = -1,	/* an array: each generation owns its half */
	[M_BIND_LPM] = 4,
	[M_BIND_HOST] = 0,
	[M_POLICY_LPM] = 4,
	[M_SOCK_META] = -1,
	[M_SVC_SOCKS] = -1,
	[M_PORT_STATS] = -1,
	[M_GLOBAL_STATS] = -1,
	[M_RATE_BUCKETS] = -1,
	[M_SVC_TABLE] = 0,
	[M_BIND_TABLE] = 0,
	[M_POLICY_TABLE] = 0,
	[M_WATCH_TABLE] = 0,
	[M_SLOT_TABLE] = 0,
	[M_SOCK_INFO] = -1,
	[M_XDP_TABLE] = -1,
	[M_FRAG_TABLE] = -1,
};

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
	if (flock(ctx->lock_fd, ctx->shared ? LOCK_SH : LOCK_EX)) {
		err = -errno;
		close(ctx->lock_fd);
		ctx->lock_fd = -1;
		return err;
	}
	return 0;
}

int pt_ctx_open(struct pt_ctx *ctx)
{
	char path[PATH_MAX + 64];
	__u32 zero = 0;
	int err;

	/* config first: pins of another ABI may lack maps this one has */
	for (int i = 0; i < PT_NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", ctx->dir, pt_map_names[i]);
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

void pt_ctx_close(struct pt_ctx *ctx)
{
	pt_ctx_close_maps(ctx);
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);	/* releases the flock */
	ctx->lock_fd = -1;
	if (ctx->netns_fd >= 0)
		close(ctx->netns_fd);
	ctx->netns_fd = -1;
}

/* ---- iteration ---- */

typedef int (*visit_fn)(const void *key, const void *val, void *arg);

/* The kernel has no batch operation for this map type (older kernels). */
static bool no_batch(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

/* Visit every entry whose key carries generation gen (or all, for gen < 0):
 * batched reads where the kernel has them, one entry at a time where not. */
static int map_walk(int fd, int goff, int gen, size_t ksz, size_t vsz, visit_fn fn, void *arg)
{
	uint8_t *keys = NULL, *vals = NULL, batch[64];
	const __u32 chunk = 4096;
	bool first = true;
	int err = 0;

	keys = malloc(chunk * ksz);
	vals = malloc(chunk * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		__u32 count = chunk;
		int r = bpf_map_lookup_batch(fd, first ? NULL : batch, batch, keys, vals, &count, NULL);
		int e = r ? -errno : 0;

		if (r && e != -ENOENT) {
			if (first && no_batch(e))
				goto one_by_one;
			err = e;
			goto cleanup;
		}
		first = false;
		for (__u32 i = 0; i < count && !err; i++) {
			const uint8_t *k = keys + (size_t)i * ksz;

			if (gen >= 0 && goff >= 0 && k[goff] != gen)
				continue;
			err = fn(k, vals + (size_t)i * vsz, arg);
		}
		if (err || e == -ENOENT)
			goto cleanup;
	}
one_by_one:
	{
		uint8_t *key = keys, *next = keys + ksz;
		void *prev = NULL;

		while (!bpf_map_get_next_key(fd, prev, next)) {
			memcpy(key, next, ksz);
			prev = key;
			if (gen >= 0 && goff >= 0 && key[goff] != gen)
				continue;
			if (bpf_map_lookup_elem(fd, key, vals)) {
				if (errno == ENOENT)
					continue;
				err = -errno;
				goto cleanup;
			}
			err = fn(key, vals, arg);
			if (err)
				goto cleanup;
		}
		if (errno != ENOENT)
			err = -errno;
	}
cleanup:
	free(keys);
	free(vals);
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

#define APPEND(arr, n, elem)                                                  \
	({                                                                    \
		void *__p = realloc((arr), ((n) + 1) * sizeof(*(arr)));       \
		int __e = 0;                                                  \
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
	struct pt_service s = { .id = v->id };

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

static int cmp_binding(const void *a, const void *b)
{
	const struct pt_binding *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	if (x->hi != y->hi)
		return x->hi - y->hi;
	return cmp_prefix(&x->prefix, &y->prefix);
}

static int cmp_policy(const void *a, const void *b)
{
	const struct pt_policy *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	if (x->hi != y->hi)
		return x->hi - y->hi;
	return cmp_prefix(&x->from, &y->from);
}

static int cmp_watch(const void *a, const void *b)
{
	const struct pt_watch *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	return x->lo != y->lo ? x->lo - y->lo : x->hi - y->hi;
}

int pt_state_load(struct pt_ctx *ctx, struct pt_state *st)
{
	int gen = (int)(ctx->cfg.gen & 1);
	int err;

	memset(st, 0, sizeof(*st));
	err = map_walk(ctx->fds[M_SVC_TABLE], 0, gen, sizeof(struct pt_svc_key),
		       sizeof(struct pt_svc_rec), visit_svc, st);
	err = err ?: map_walk(ctx->fds[M_BIND_TABLE], 0, gen, sizeof(struct pt_rule_key),
			      sizeof(struct pt_bind_rec), visit_bind, st);
	err = err ?: map_walk(ctx->fds[M_POLICY_TABLE], 0, gen, sizeof(struct pt_rule_key),
			      sizeof(struct pt_policy_rec), visit_policy, st);
	err = err ?: map_walk(ctx->fds[M_WATCH_TABLE], 0, gen, sizeof(struct pt_range_key),
			      sizeof(__u32), visit_watch, st);
	err = err ?: map_walk(ctx->fds[M_SLOT_TABLE], 0, gen, sizeof(struct pt_range_key),
			      sizeof(__u32), visit_slot, st);
	if (err) {
		pt_state_free(st);
		return err;
	}
	if (st->nservices)
		qsort(st->services, st->nservices, sizeof(*st->services), cmp_service);
	if (st->nbindings)
		qsort(st->bindings, st->nbindings, sizeof(*st->bindings), cmp_binding);
	if (st->npolicies)
		qsort(st->policies, st->npolicies, sizeof(*st->policies), cmp_policy);
	if (st->nwatches)
		qsort(st->watches, st->nwatches, sizeof(*st->watches), cmp_watch);
	return 0;
}

/* ---- clearing and writing a generation ---- */

static int clear_map_gen(int fd, int goff, uint8_t gen, size_t ksz)
{
	uint8_t *keys = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	cur = calloc(1, ksz);
	if (!cur)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, cur)) {
		if (cur[goff] == gen) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				uint8_t *p = realloc(keys, nc * ksz);

				if (!p) {
					err = -ENOMEM;
					goto cleanup;
				}
				keys = p;
				cap = nc;
			}
			memcpy(keys + n * ksz, cur, ksz);
			n++;
		}
		/* continue from a copy: cur is overwritten by the next call */
		if (!prev)
			prev = malloc(ksz);
		if (!prev) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(prev, cur, ksz);
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT) {
			err = -errno;
			goto cleanup;
		}
cleanup:
	free(keys);
	free(cur);
	free(prev);
	return err;
}

int pt_state_clear_gen(struct pt_ctx *ctx, uint8_t gen)
{
	static const size_t ksz[PT_NMAPS] = {
		[M_BIND_LPM] = sizeof(struct pt_lpm_key),
		[M_BIND_HOST] = sizeof(struct pt_host_key),
		[M_POLICY_LPM] = sizeof(struct pt_lpm_key),
		[M_SVC_TABLE] = sizeof(struct pt_svc_key),
		[M_BIND_TABLE] = sizeof(struct pt_rule_key),
		[M_POLICY_TABLE] = sizeof(struct pt_rule_key),
		[M_WATCH_TABLE] = sizeof(struct pt_range_key),
		[M_SLOT_TABLE] = sizeof(struct pt_range_key),
	};

	for (int i = 0; i < PT_NMAPS; i++) {
		int err;

		if (gen_offset[i] < 0)
			continue;
		err = clear_map_gen(ctx->fds[i], gen_offset[i], gen, ksz[i]);
		if (err)
			return err;
	}
	return 0;
}

/* bind_host's key is bind_lpm's without the prefix length in front */
_Static_assert(sizeof(struct pt_lpm_key) == sizeof(__u32) + sizeof(struct pt_host_key),
	       "pt_host_key must be pt_lpm_key after its prefixlen");

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

/* Everything one generation puts in the generation-keyed maps. */
struct gen_image {
	struct image m[PT_NMAPS];
	/* port_table's half of this generation, written whole from the
	 * compiled tables (not copied into m[M_PORT_TABLE]) */
	const struct pt_port_ent *ports;
	uint8_t gen;
};

static void gen_image_free(struct gen_image *g)
{
	for (int i = 0; i < PT_NMAPS; i++) {
		free(g->m[i].keys);
		free(g->m[i].vals);
	}
	memset(g, 0, sizeof(*g));
}

static int gen_image_build(const struct pt_state *st, const struct pt_compiled *c,
			   struct gen_image *g)
{
	uint8_t gen = c->gen;
	int err = 0;

	memset(g, 0, sizeof(*g));
	g->m[M_SVC_TABLE] = (struct image){ .ksz = sizeof(struct pt_svc_key),
					    .vsz = sizeof(struct pt_svc_rec) };
	g->m[M_BIND_TABLE] = (struct image){ .ksz = sizeof(struct pt_rule_key),
					     .vsz = sizeof(struct pt_bind_rec) };
	g->m[M_POLICY_TABLE] = (struct image){ .ksz = sizeof(struct pt_rule_key),
					       .vsz = sizeof(struct pt_policy_rec) };
	g->m[M_WATCH_TABLE] = (struct image){ .ksz = sizeof(struct pt_range_key), .vsz = 4 };
	g->m[M_SLOT_TABLE] = (struct image){ .ksz = sizeof(struct pt_range_key), .vsz = 4 };
	g->m[M_BIND_LPM] = (struct image){ .ksz = sizeof(struct pt_lpm_key),
					   .vsz = sizeof(struct pt_bind_val) };
	g->m[M_BIND_HOST] = (struct image){ .ksz = sizeof(struct pt_host_key),
					    .vsz = sizeof(struct pt_bind_val) };
	g->m[M_POLICY_LPM] = (struct image){ .ksz = sizeof(struct pt_lpm_key),
					     .vsz = sizeof(struct pt_policy_val) };

	for (size_t i = 0; st && i < st->nservices && !err; i++) {
		struct pt_svc_key k = { .gen = gen };
		struct pt_svc_rec v = { .id = st->services[i].id };

		memcpy(k.name, st->services[i].name, sizeof(k.name));
		memcpy(v.desc, st->services[i].desc, sizeof(v.desc));
		err = image_add(&g->m[M_SVC_TABLE], &k, &v);
	}
	for (size_t i = 0; st && i < st->nbindings && !err; i++) {
		const struct pt_binding *b = &st->bindings[i];
		struct pt_rule_key k = { .gen = gen, .proto = b->proto, .port_lo = b->lo,
					 .port_hi = b->hi };
		struct pt_bind_rec v = { .service = b->service };

		prefix_to_rule(&b->prefix, &k);
		err = image_add(&g->m[M_BIND_TABLE], &k, &v);
	}
	for (size_t i = 0; st && i < st->npolicies && !err; i++) {
		const struct pt_policy *p = &st->policies[i];
		struct pt_rule_key k = { .gen = gen, .proto = p->proto, .port_lo = p->lo,
					 .port_hi = p->hi };
		struct pt_policy_rec v = { .action = p->action, .pps = p->pps, .rule = p->rule };

		prefix_to_rule(&p->from, &k);
		err = image_add(&g->m[M_POLICY_TABLE], &k, &v);
	}
	for (size_t i = 0; st && i < st->nwatches && !err; i++) {
		struct pt_range_key k = { .gen = gen, .proto = st->watches[i].proto,
					  .port_lo = st->watches[i].lo, .port_hi = st->watches[i].hi };
		__u32 v = 1;

		err = image_add(&g->m[M_WATCH_TABLE], &k, &v);
	}
	for (size_t i = 0; st && i < st->nslots && !err; i++) {
		struct pt_range_key k = { .gen = gen, .proto = st->slots[i].proto,
					  .port_lo = st->slots[i].lo, .port_hi = st->slots[i].hi };

		err = image_add(&g->m[M_SLOT_TABLE], &k, &st->slots[i].slot);
	}
	g->ports = c->ports;
	g->gen = gen;
	for (size_t i = 0; i < c->nbinds && !err; i++)
		err = image_add(&g->m[M_BIND_LPM], &c->binds[i].key, &c->binds[i].val);
	for (size_t i = 0; i < c->nhosts && !err; i++)
		/* the host key is the LPM key without its prefix length */
		err = image_add(&g->m[M_BIND_HOST], &c->hosts[i].key.gen, &c->hosts[i].val);
	for (size_t i = 0; i < c->npolicies && !err; i++)
		err = image_add(&g->m[M_POLICY_LPM], &c->policies[i].key, &c->policies[i].val);
	if (err)
		gen_image_free(g);
	return err;
}

/* port_table is mmapable: write the generation's half in place with one
 * copy, instead of 131,072 updates through the syscall (50 ms here).
 * Nothing reads that half (a grace period has passed since it was live);
 * the fence orders these stores before the flip's. Where the map cannot
 * be mapped, the syscall in batches. */
static int port_table_put(int fd, const struct gen_image *g)
{
	const size_t len = (size_t)PT_PORT_ENTRIES * sizeof(struct pt_port_ent);
	const size_t half = (size_t)PT_NPROTO * PT_PORTS;
	struct image im = { .ksz = 4, .vsz = sizeof(struct pt_port_ent) };
	struct pt_port_ent *ents;
	int err = 0;

	if (!g->ports)
		return 0;
	ents = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ents != MAP_FAILED) {
		memcpy(ents + PT_PORT_INDEX(g->gen, 0, 0), g->ports, half * sizeof(*ents));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		munmap(ents, len);
		return 0;
	}
	for (uint32_t i = 0; i < half && !err; i++) {
		__u32 key = PT_PORT_INDEX(g->gen, i / PT_PORTS, i % PT_PORTS);

		err = image_add(&im, &key, &g->ports[i]);
	}
	err = err ?: batch_put(fd, &im);
	free(im.keys);
	free(im.vals);
	return err;
}

/* Records first, then the derived tables: nothing reads this generation
 * until the flip, so the order only matters for a reader of records. */
static int gen_image_write(const int fds[PT_NMAPS], const struct gen_image *g)
{
	static const int order[] = { M_SVC_TABLE, M_BIND_TABLE, M_POLICY_TABLE, M_WATCH_TABLE,
				     M_SLOT_TABLE, M_BIND_LPM, M_BIND_HOST, M_POLICY_LPM,
				     M_PORT_TABLE };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int err;

		if (order[i] == M_PORT_TABLE)
			err = port_table_put(fds[M_PORT_TABLE], g);
		else
			err = batch_put(fds[order[i]], &g->m[order[i]]);
		if (err)
			return err;
	}
	return 0;
}

static int gen_image_delete(const int fds[PT_NMAPS], const struct gen_image *g)
{
	for (int i = 0; i < PT_NMAPS; i++) {
		int err;

		/* an array's entries cannot be deleted: the next write of
		 * this generation overwrites them all */
		if (!g->m[i].n || i == M_PORT_TABLE)
			continue;
		err = batch_del(fds[i], &g->m[i]);
		if (err)
			return err;
	}
	return 0;
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
	err = err ?: gen_image_build(next, &c, &img);
	/* what the live generation holds, to remove it after the flip */
	err = err ?: pt_compile(prev, live, &oldc);
	err = err ?: gen_image_build(prev, &oldc, &old);
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
	int err = gen_image_build(st, c, &g);

	err = err ?: gen_image_write(fds, &g);
	gen_image_free(&g);
	return err;
}

int pt_gen_delete(const int fds[PT_NMAPS], const struct pt_state *st, const struct pt_compiled *c)
{
	struct gen_image g;
	int err = gen_image_build(st, c, &g);

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
}

int pt_read_counters(struct pt_ctx *ctx, uint32_t slot, struct pt_counters *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pt_counters *per;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(ctx->fds[M_PORT_STATS], &slot, per))
		err = -errno;
	for (int i = 0; i < ncpu && !err; i++)
		add_counters(out, &per[i]);
	free(per);
	return err;
}

int pt_read_all_counters(struct pt_ctx *ctx, struct pt_counters *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 *keys = NULL, batch = 0, count;
	struct pt_counters *vals = NULL;
	int err = 0;
	bool first = true;
	size_t done = 0;

	if (ncpu <= 0)
		return -EINVAL;
	memset(out, 0, PT_MAX_SLOTS * sizeof(*out));
	keys = calloc(PT_MAX_SLOTS, sizeof(*keys));
	vals = calloc((size_t)PT_MAX_SLOTS * (size_t)ncpu, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* one batched pass: every slot of every CPU in as few syscalls as
	 * the kernel allows */
	while (done < PT_MAX_SLOTS) {
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int r;

		count = (__u32)(PT_MAX_SLOTS - done);
		r = bpf_map_lookup_batch(ctx->fds[M_PORT_STATS], first ? NULL : &batch, &batch,
					 keys + done, vals + done * (size_t)ncpu, &count, &opts);
		first = false;
		if (r && errno != ENOENT) {
			err = -errno;
			goto cleanup;
		}
		done += count;
		if (r || !count)
			break;
	}
	for (size_t i = 0; i < done; i++) {
		if (keys[i] >= PT_MAX_SLOTS)
			continue;
		for (int c = 0; c < ncpu; c++)
			add_counters(&out[keys[i]], &vals[i * (size_t)ncpu + (size_t)c]);
	}
cleanup:
	free(keys);
	free(vals);
	return err;
}

int pt_read_global(struct pt_ctx *ctx, struct pt_global *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pt_global *per;
	__u32 zero = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(ctx->fds[M_GLOBAL_STATS], &zero, per))
		err = -errno;
	for (int i = 0; i < ncpu && !err; i++) {
		out->malformed += per[i].malformed;
		out->fragments += per[i].fragments;
		out->other += per[i].other;
		out->dispatch_other += per[i].dispatch_other;
		out->unreadable += per[i].unreadable;
	}
	free(per);
	return err;
}
