// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * explain's gathering half: the facts about one packet's path read from
 * the maps, sock_diag, /proc and the addresses of the namespace, for
 * the pure deciding half (core/explain.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "diag.h"
#include "explain_gather.h"
#include "load.h"
#include "sockets.h"
#include "stats.h"
#include "util.h"
#include "xdp.h"

static int push(struct pt_xsock **v, size_t *n, const struct pt_xsock *s)
{
	void *p = realloc(*v, (*n + 1) * sizeof(**v));

	if (!p)
		return -ENOMEM;
	*v = p;
	(*v)[(*n)++] = *s;
	return 0;
}

/* The live sockets of one (service, protocol, family) list, as cookies. */
static size_t family_cookies(struct pt_ctx *ctx, uint32_t svc, uint8_t proto, uint8_t fam,
			     uint64_t *cookies)
{
	uint32_t mi = PT_META_INDEX(svc, proto, fam), meta = 0;
	size_t n = 0;

	if (svc >= PT_MAX_SERVICES || bpf_map_lookup_elem(ctx->fds[M_SOCK_META], &mi, &meta))
		return 0;
	for (uint32_t i = 0; i < PT_META_COUNT(meta) && i < PT_MAX_SOCKETS; i++) {
		uint32_t key = PT_SOCK_KEY(mi, PT_META_BANK(meta), i);
		uint64_t cookie;

		/* a socket whose process exited has left the map */
		if (!bpf_map_lookup_elem(ctx->fds[M_SVC_SOCKS], &key, &cookie))
			cookies[n++] = cookie;
	}
	return n;
}

static const struct pt_diag_sock *by_cookie(const struct pt_diag_sock *all, size_t n,
					    uint64_t cookie)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].cookie == cookie)
			return &all[i];
	return NULL;
}

static void from_diag(struct pt_xsock *x, const struct pt_diag_sock *d)
{
	x->family = d->family;
	x->v6only = d->v6only;
	memcpy(x->addr, d->local, 16);
	x->port = d->lport;
	x->state = d->state;
	x->ifindex = d->ifindex;
	if (d->ifindex)
		pt_ifname(d->ifindex, x->ifname);
	x->cookie = d->cookie;
	x->ino = d->ino;
}

/* A service socket: portier's record (who registered it, where it is
 * bound), then the kernel's view of it (state, inode). */
static void service_sock(struct pt_ctx *ctx, uint64_t cookie, const struct pt_diag_sock *all,
			 size_t nall, struct pt_xsock *x)
{
	const struct pt_diag_sock *d = by_cookie(all, nall, cookie);
	struct pt_sock_info info;

	memset(x, 0, sizeof(*x));
	x->cookie = cookie;
	x->pktinfo = -1;
	if (d)
		from_diag(x, d);
	if (!bpf_map_lookup_elem(ctx->fds[M_SOCK_INFO], &cookie, &info)) {
		x->reg_pid = (int32_t)info.pid;
		if (!d) {
			x->family = info.family;
			x->v6only = info.v6only;
			memcpy(x->addr, info.local_addr, 16);
			x->port = info.local_port;
		}
	}
}

/* Who holds each socket: the registering process when it still does,
 * else whichever process /proc shows holding it. */
static void find_owners(struct pt_xsock *v, size_t n)
{
	uint32_t *inos = calloc(n ? n : 1, sizeof(*inos));
	pid_t *pids = calloc(n ? n : 1, sizeof(*pids));
	bool scan = false;

	if (!inos || !pids)
		goto out;
	for (size_t i = 0; i < n; i++) {
		v[i].reg_holds = v[i].reg_pid > 0 && pt_diag_pid_holds(v[i].reg_pid, v[i].ino);
		if (v[i].reg_holds)
			v[i].pid = v[i].reg_pid;
		else {
			inos[i] = v[i].ino;
			scan |= v[i].ino != 0;
		}
	}
	if (scan && !pt_diag_owners(inos, n, pids))
		for (size_t i = 0; i < n; i++)
			if (!v[i].reg_holds)
				v[i].pid = pids[i];
	for (size_t i = 0; i < n; i++)
		pt_diag_comm(v[i].pid, v[i].comm, sizeof(v[i].comm));
out:
	free(inos);
	free(pids);
}

/* UDP: does the server answer from the original destination? Socket
 * options are not in sock_diag: take the socket from its holder
 * (pidfd_getfd, as register does) and read them. */
static void find_pktinfo(uint64_t netns_ino, struct pt_xsock *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pt_sock_filter filt = { .has_proto = true, .proto = PT_UDP };
		struct pt_candidates cand;
		struct pt_sock_reject rej;

		if (v[i].pid <= 0 || v[i].pktinfo >= 0)
			continue;
		if (pt_sockets_from_pid(v[i].pid, netns_ino, &filt, &cand, &rej))
			continue;
		for (size_t c = 0; c < cand.n; c++)
			for (size_t j = i; j < n; j++)
				if (cand.socks[c].cookie == v[j].cookie && v[j].pid == v[i].pid)
					v[j].pktinfo = cand.socks[c].pktinfo;
		pt_candidates_free(&cand);
	}
}

static void gather_counters(struct pt_ctx *ctx, const struct pt_state *st,
			    struct pt_explain_facts *f)
{
	struct pt_stats stats;
	uint32_t slot = pt_slot_of_port(st, f->proto, f->port);

	if (pt_stats_collect(ctx, st, &stats))
		return;
	f->cnt_own = slot >= PT_FIRST_FREE_SLOT;
	if (!f->cnt_own) {
		if (slot < PT_NPROTO * PT_NCLASS)
			f->cnt = stats.classes[slot].c;
	} else {
		for (size_t i = 0; i < stats.nrows; i++)
			if (stats.rows[i].slot == slot) {
				f->cnt = stats.rows[i].c;
				f->cnt_lo = stats.rows[i].lo;
				f->cnt_hi = stats.rows[i].hi;
			}
	}
	pt_stats_free(&stats);
}

/* The narrowest steer rule of the live generation covering the port. */
static int visit_steer(const void *key, const void *val, void *arg)
{
	const struct pt_range_key *k = key;
	const struct pt_steer_rec *r = val;
	struct pt_explain_facts *f = arg;

	if (k->proto != f->proto || f->port < k->port_lo || f->port > k->port_hi)
		return 0;
	if (f->has_steer && (uint32_t)k->port_hi - k->port_lo >= (uint32_t)f->steer.hi - f->steer.lo)
		return 0;
	f->has_steer = true;
	f->steer.lo = k->port_lo;
	f->steer.hi = k->port_hi;
	f->steer.ncpus = r->count < PT_MAX_STEER_CPUS ? r->count : PT_MAX_STEER_CPUS;
	memcpy(f->steer.cpus, r->cpu, sizeof(f->steer.cpus));
	return 0;
}

struct xsk_find {
	struct pt_explain_facts *f;
	uint32_t svc;
};

/* The AF_XDP sockets registered for the service, and whether the process
 * that registered each still runs (a closed socket leaves the XSKMAP, and
 * the XSKMAP cannot be read from user space). */
static int visit_xsk(const void *key, const void *val, void *arg)
{
	const struct pt_sock_info *info = val;
	struct xsk_find *a = arg;
	struct pt_xxsk *x;

	(void)key;
	if (info->proto != PT_SOCK_XSK || info->service != a->svc || a->f->nxsks >= PT_MAX_QUEUES)
		return 0;
	x = &a->f->xsks[a->f->nxsks++];
	x->queue = info->queue;
	x->pid = (int32_t)info->pid;
	pt_diag_comm((pid_t)info->pid, x->comm, sizeof(x->comm));
	x->alive = x->pid <= 0 || x->comm[0];	/* --fd: no process to ask */
	return 0;
}

static int cmp_xsk(const void *a, const void *b)
{
	const struct pt_xxsk *x = a, *y = b;

	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

static int gather_steering(struct pt_ctx *ctx, const struct pt_state *st, ssize_t bi,
			   struct pt_explain_facts *f)
{
	const struct pt_service *svc = bi >= 0 ? pt_service_by_id(st, st->bindings[bi].service)
					       : NULL;
	int err = pt_map_walk(ctx->fds, M_STEER_TABLE, (int)(ctx->cfg.gen & 1), visit_steer, f);

	if (err || !svc || !svc->xsk_ifindex)
		return err;
	struct xsk_find a = { .f = f, .svc = svc->id };

	pt_ifname(svc->xsk_ifindex, f->xsk_ifname);
	err = pt_map_walk(ctx->fds, M_SOCK_INFO, -1, visit_xsk, &a);
	if (!err && f->nxsks > 1)
		qsort(f->xsks, f->nxsks, sizeof(f->xsks[0]), cmp_xsk);
	return err;
}

int pt_explain_gather(struct pt_ctx *ctx, bool loaded, const struct pt_state *st,
		      struct pt_explain_facts *f)
{
	struct pt_diag_sock *all = NULL;
	size_t nall = 0;
	char ifname[IF_NAMESIZE];
	int err;

	f->local = pt_addr_local(f->family, f->addr, f->local_if);
	f->from_local = f->has_from && pt_addr_local(f->family, f->from, ifname) > 0;
	f->loaded = loaded;
	f->st = loaded ? st : NULL;

	err = pt_diag_dump(f->proto, &all, &nall);
	if (err)
		return err;

	if (loaded) {
		static struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
		struct bpf_link_info linfo;
		size_t nxif = 0;
		ssize_t bi;

		f->dispatch_attached = !pt_link_info(ctx->dir, pt_dispatch_link_pin(), &linfo) &&
				       linfo.netns.netns_ino == ctx->netns_ino;
		pt_xdp_list(ctx, xif, PT_MAX_XDP_IFACES, &nxif);
		for (size_t i = 0; i < nxif && f->nguard < PT_XGUARD_MAX; i++) {
			struct pt_xguard *g = &f->guard[f->nguard++];

			snprintf(g->ifname, sizeof(g->ifname), "%s", xif[i].rec.ifname);
			g->mode = xif[i].rec.mode;
			g->attached = xif[i].attached && xif[i].exists;
		}
		gather_counters(ctx, st, f);

		bi = pt_model_bind_lookup(st, f->proto, f->family, f->addr, f->port);
		err = gather_steering(ctx, st, bi, f);
		if (err) {
			free(all);
			return err;
		}
		if (bi >= 0) {
			uint32_t svc = st->bindings[bi].service;
			uint64_t own[PT_MAX_SOCKETS], other[PT_MAX_SOCKETS];
			size_t nown = family_cookies(ctx, svc, f->proto, f->family, own);
			size_t nother = family_cookies(ctx, svc, f->proto, f->family ^ 1, other);
			struct pt_xsock x;

			for (size_t i = 0; i < nown && !err; i++) {
				service_sock(ctx, own[i], all, nall, &x);
				err = push(&f->svc_socks, &f->nsvc_socks, &x);
			}
			for (size_t i = 0; i < nother && !err; i++) {
				bool dup = false;

				for (size_t j = 0; j < nown; j++)
					dup |= own[j] == other[i];
				if (dup)
					continue;
				service_sock(ctx, other[i], all, nall, &x);
				err = push(&f->svc_other, &f->nsvc_other, &x);
			}
		}
	}
	for (size_t i = 0; i < nall && !err; i++) {
		struct pt_xsock x = { .pktinfo = -1 };

		if (all[i].lport != f->port)
			continue;
		from_diag(&x, &all[i]);
		err = push(&f->kern, &f->nkern, &x);
	}
	free(all);
	if (err)
		return err;
	find_owners(f->svc_socks, f->nsvc_socks);
	find_owners(f->svc_other, f->nsvc_other);
	find_owners(f->kern, f->nkern);
	if (f->proto == PT_UDP)
		find_pktinfo(ctx->netns_ino, f->svc_socks, f->nsvc_socks);
	return 0;
}
