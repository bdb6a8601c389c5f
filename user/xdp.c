// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The guard on interfaces: attach through libxdp so that portier shares an
 * interface with other XDP programs wherever libxdp's multi-program
 * dispatcher works. Where it does not, libxdp attaches the guard as the
 * interface's only program; portier then records why, and never replaces a
 * program it does not own unless told to (--force).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "guard.skel.h"
#include "state.h"
#include "util.h"
#include "xdp.h"

#define GUARD_PROG_NAME "portier_guard"

/* libxdp explains a fallback to a single program only in its debug log
 * ("Compatibility check for dispatcher program failed: ..."): keep it. */
static char last_xdp_msg[PT_XDP_WHY_LEN];

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char msg[256];
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(msg, sizeof(msg), fmt, copy);
	va_end(copy);
	msg[strcspn(msg, "\n")] = 0;
	if (strstr(msg, "dispatcher") && strstr(msg, "failed"))
		snprintf(last_xdp_msg, sizeof(last_xdp_msg), "%.90s", msg);
	if (!pt_debug)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int pt_parse_xdp_mode(const char *s, enum pt_xdp_req *mode)
{
	if (!strcmp(s, "auto"))
		*mode = PT_XDP_REQ_AUTO;
	else if (!strcmp(s, "native"))
		*mode = PT_XDP_REQ_NATIVE;
	else if (!strcmp(s, "skb"))
		*mode = PT_XDP_REQ_SKB;
	else {
		snprintf(pt_why, sizeof(pt_why), "'%s' is not auto, native or skb", s);
		return -EINVAL;
	}
	return 0;
}

/* What runs on the interface now, as far as portier is concerned. */
struct iface_state {
	bool any;		/* some XDP program is attached */
	bool ours;		/* ... and the guard recorded in xdp_table is among them */
	bool dispatcher;	/* through libxdp's dispatcher */
	uint32_t main_id;
	char main_name[64];
	/* a portier guard that is not the recorded one: left by a load or
	 * an upgrade killed between attaching it and recording it */
	uint32_t stray_id;
	uint32_t stray_mode;	/* PT_XDP_NATIVE or PT_XDP_SKB */
};

static void inspect_iface(int ifindex, uint32_t our_id, struct iface_state *st)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;

	memset(st, 0, sizeof(*st));
	if (!mp || libxdp_get_error(mp))
		return;
	p = xdp_multiprog__main_prog(mp);
	if (p) {
		st->any = true;
		st->main_id = xdp_program__id(p);
		snprintf(st->main_name, sizeof(st->main_name), "%s", xdp_program__name(p));
	}
	st->dispatcher = !xdp_multiprog__is_legacy(mp);
	st->stray_mode = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? PT_XDP_SKB : PT_XDP_NATIVE;
	if (st->dispatcher) {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
			st->any = true;
			if (our_id && xdp_program__id(p) == our_id)
				st->ours = true;
			else if (!strcmp(xdp_program__name(p), GUARD_PROG_NAME))
				st->stray_id = xdp_program__id(p);
		}
	} else if (our_id && st->main_id == our_id) {
		st->ours = true;
	} else if (st->any && !strcmp(st->main_name, GUARD_PROG_NAME)) {
		st->stray_id = st->main_id;
	}
	xdp_multiprog__close(mp);
}

static int attach_mode(struct pt_ctx *ctx, int ifindex, enum xdp_attach_mode mode,
		       uint32_t *prog_id)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = ctx->dir);
	struct xdp_program *prog = NULL;
	struct guard *skel;
	int err;

	skel = guard__open_opts(&oopts);
	if (!skel)
		return -errno;
	err = pt_obj_fit(skel->obj, ctx->max_bindings);
	if (err) {
		guard__destroy(skel);
		return err;
	}
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .obj = skel->obj,
			    .prog_name = GUARD_PROG_NAME);
	prog = xdp_program__create(&xopts);
	err = libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		goto cleanup;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (!err)
		*prog_id = xdp_program__id(prog);
cleanup:
	/* the kernel (or libxdp's pinned dispatcher) holds the attached
	 * program; our references go */
	xdp_program__close(prog);
	guard__destroy(skel);
	return err;
}

/*
 * Put new_fd in the place of program old_id on an interface that runs one
 * program (no dispatcher), in one step: XDP_FLAGS_REPLACE names the program
 * it expects, so a program someone else attached meanwhile is never hit.
 */
static int swap_single(uint32_t ifindex, int new_fd, uint32_t old_id, uint32_t mode,
		       uint32_t *new_id)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int old_fd, err = 0;

	old_fd = bpf_prog_get_fd_by_id(old_id);
	if (old_fd < 0)
		return -errno;
	aopts.old_prog_fd = old_fd;
	if (bpf_xdp_attach((int)ifindex, new_fd,
			   (mode == PT_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) |
				   XDP_FLAGS_REPLACE,
			   &aopts))
		err = -errno;
	close(old_fd);
	if (!err && bpf_obj_get_info_by_fd(new_fd, &info, &len))
		err = -errno;
	if (!err)
		*new_id = info.id;
	return err;
}

/* In libxdp's dispatcher: detach every portier guard but keep_id (an
 * upgrade or attach that died before detaching the one it replaced). */
static void drop_strays(uint32_t ifindex, uint32_t keep_id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex((int)ifindex);
	enum xdp_attach_mode mode;
	struct xdp_program *p;
	uint32_t ids[PT_MAX_XDP_IFACES];
	size_t n = 0;

	if (!mp || libxdp_get_error(mp))
		return;
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__close(mp);
		return;
	}
	mode = xdp_multiprog__attach_mode(mp);
	for (p = xdp_multiprog__next_prog(NULL, mp); p && n < PT_MAX_XDP_IFACES;
	     p = xdp_multiprog__next_prog(p, mp))
		if (xdp_program__id(p) != keep_id && !strcmp(xdp_program__name(p), GUARD_PROG_NAME))
			ids[n++] = xdp_program__id(p);
	xdp_multiprog__close(mp);
	for (size_t i = 0; i < n; i++) {
		struct xdp_program *q = xdp_program__from_id(ids[i]);

		if (libxdp_get_error(q))
			continue;
		xdp_program__detach(q, (int)ifindex, mode, 0);
		xdp_program__close(q);
	}
}

/*
 * A portier guard runs alone on the interface but is not the recorded one:
 * a load killed between attaching it and recording it left it. Replace it
 * in one step with this build's guard on the state's maps, and record that.
 */
static int replace_stray(struct pt_ctx *ctx, uint32_t ifindex, const char *ifname,
			 const struct iface_state *now, struct pt_xdp_rec *out)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = ctx->dir);
	struct pt_xdp_rec rec = { .mode = now->stray_mode };
	struct guard *skel;
	int err;

	skel = guard__open_opts(&oopts);
	if (!skel)
		return -errno;
	err = pt_obj_fit(skel->obj, ctx->max_bindings) ?: guard__load(skel);
	err = err ?: swap_single(ifindex, bpf_program__fd(skel->progs.portier_guard),
				 now->stray_id, rec.mode, &rec.prog_id);
	guard__destroy(skel);	/* the interface holds the program */
	if (err)
		return err;
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ifname);
	snprintf(rec.why, sizeof(rec.why), "libxdp attached a single program (no dispatcher)");
	if (bpf_map_update_elem(ctx->fds[M_XDP_TABLE], &ifindex, &rec, BPF_ANY))
		return -errno;
	*out = rec;
	return 0;
}

const void *pt_xdp_guard_elf(size_t *sz)
{
	return guard__elf_bytes(sz);
}

void pt_xdp_init(void)
{
	libxdp_set_print(xdp_print);
}

int pt_xdp_attach(struct pt_ctx *ctx, const char *ifname, enum pt_xdp_req req, bool force,
		  struct pt_xdp_rec *out)
{
	struct pt_xdp_rec rec = {}, old = {};
	struct iface_state now;
	uint32_t ifindex, prog_id = 0;
	bool have_old;
	int err = -EINVAL;

	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return -ENODEV;
	have_old = !bpf_map_lookup_elem(ctx->fds[M_XDP_TABLE], &ifindex, &old);
	inspect_iface((int)ifindex, have_old ? old.prog_id : 0, &now);
	if (!now.ours && now.stray_id && !now.dispatcher) {
		uint32_t want = req == PT_XDP_REQ_SKB ? PT_XDP_SKB : PT_XDP_NATIVE;
		struct pt_xdp_rec stray = { .prog_id = now.stray_id, .mode = now.stray_mode };

		if (req == PT_XDP_REQ_AUTO || now.stray_mode == want)
			return replace_stray(ctx, ifindex, ifname, &now, out);
		/* asked for the other mode: it goes, a new one comes */
		err = pt_xdp_detach_one(ctx, ifindex, &stray);
		if (err)
			return err;
		now.any = false;
	}
	if (now.ours) {
		uint32_t want = req == PT_XDP_REQ_SKB ? PT_XDP_SKB : PT_XDP_NATIVE;

		/* idempotent: the guard already runs here, in the mode asked
		 * for (auto accepts whichever won) */
		if (req == PT_XDP_REQ_AUTO || old.mode == want) {
			if (now.dispatcher)
				drop_strays(ifindex, old.prog_id);
			*out = old;
			return 0;
		}
		/* another mode: a program runs in one mode at a time, so the
		 * guard leaves the interface for a moment (traffic passes
		 * unguarded, nothing is dropped) and comes back in the new one */
		err = pt_xdp_detach_one(ctx, ifindex, &old);
		if (err)
			return err;
		now.any = false;
	}
	if (now.any && !now.dispatcher) {
		/* a program that is not ours holds the interface alone */
		if (!force)
			return -EBUSY;
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex((int)ifindex);

		if (mp && !libxdp_get_error(mp)) {
			err = xdp_multiprog__detach(mp);
			xdp_multiprog__close(mp);
			if (err)
				return err;
		}
	}

	last_xdp_msg[0] = 0;
	if (req == PT_XDP_REQ_NATIVE || req == PT_XDP_REQ_AUTO) {
		err = attach_mode(ctx, (int)ifindex, XDP_MODE_NATIVE, &prog_id);
		rec.mode = PT_XDP_NATIVE;
	}
	/* libxdp does not fall back between modes by itself */
	if (req == PT_XDP_REQ_SKB || (req == PT_XDP_REQ_AUTO && err)) {
		err = attach_mode(ctx, (int)ifindex, XDP_MODE_SKB, &prog_id);
		rec.mode = PT_XDP_SKB;
	}
	if (err)
		return err;

	inspect_iface((int)ifindex, prog_id, &now);
	rec.prog_id = prog_id;
	rec.dispatcher = now.dispatcher;
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ifname);
	if (!now.dispatcher)
		snprintf(rec.why, sizeof(rec.why), "%s",
			 last_xdp_msg[0] ? last_xdp_msg
					 : "libxdp attached a single program (no dispatcher)");
	if (bpf_map_update_elem(ctx->fds[M_XDP_TABLE], &ifindex, &rec, BPF_ANY)) {
		err = -errno;
		pt_xdp_detach_one(ctx, ifindex, &rec);
		return err;
	}
	if (now.dispatcher)
		drop_strays(ifindex, prog_id);
	*out = rec;
	return 0;
}

/* The records of xdp_table, read before anything changes them. */
struct xdp_recs {
	size_t n;
	uint32_t ifindex[PT_MAX_XDP_IFACES];
	struct pt_xdp_rec rec[PT_MAX_XDP_IFACES];
};

static int collect_rec(const void *key, const void *val, void *arg)
{
	struct xdp_recs *r = arg;

	if (r->n == PT_MAX_XDP_IFACES)
		return 1;
	r->ifindex[r->n] = *(const uint32_t *)key;
	r->rec[r->n++] = *(const struct pt_xdp_rec *)val;
	return 0;
}

static void xdp_records(struct pt_ctx *ctx, struct xdp_recs *r)
{
	r->n = 0;
	pt_map_walk(ctx->fds, M_XDP_TABLE, -1, collect_rec, r);
}

/*
 * A new build of the guard replaces the old one on every recorded
 * interface in one step (XDP_FLAGS_REPLACE names the program it expects to
 * replace, so a program someone else attached meanwhile is never hit).
 * The new program shares the pinned maps: counters and policies stay.
 */
int pt_xdp_upgrade_all(struct pt_ctx *ctx, unsigned int *upgraded)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = ctx->dir);
	struct guard *skel = NULL;
	struct xdp_recs all;
	int err = 0;

	*upgraded = 0;
	xdp_records(ctx, &all);
	if (!all.n)
		return 0;
	skel = guard__open_opts(&oopts);
	if (!skel)
		return -errno;
	err = pt_obj_fit(skel->obj, ctx->max_bindings) ?: guard__load(skel);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < all.n; i++) {
		struct pt_xdp_rec rec = all.rec[i];
		uint32_t ifindex = all.ifindex[i];
		struct iface_state now;
		int r = 0;

		inspect_iface((int)ifindex, rec.prog_id, &now);
		/* gone, or no longer ours: status says so. A stray guard is
		 * an upgrade that died between the swap and its record. */
		if (!now.ours && !now.stray_id)
			continue;
		if (now.dispatcher) {
			/* libxdp's dispatcher: attach the new one, then detach the
			 * old. libxdp loads a dispatcher's programs itself (as
			 * freplace programs of the dispatcher), so the new guard
			 * goes in from its object, not as the program loaded above;
			 * the pinned maps are shared all the same */
			enum xdp_attach_mode m = rec.mode == PT_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
			uint32_t nid = 0;

			r = attach_mode(ctx, (int)ifindex, m, &nid);
			if (!r) {
				struct pt_xdp_rec nrec = rec;

				nrec.prog_id = nid;
				pt_xdp_detach_one(ctx, ifindex, &rec);
				drop_strays(ifindex, nid);
				bpf_map_update_elem(ctx->fds[M_XDP_TABLE], &ifindex, &nrec, BPF_ANY);
			}
		} else {
			uint32_t cur = now.ours ? rec.prog_id : now.stray_id;

			if (!now.ours)
				rec.mode = now.stray_mode;
			r = swap_single(ifindex, bpf_program__fd(skel->progs.portier_guard), cur,
					rec.mode, &rec.prog_id);
			if (!r && bpf_map_update_elem(ctx->fds[M_XDP_TABLE], &ifindex, &rec, BPF_ANY))
				r = -errno;
		}
		if (r && !err)
			err = r;
		if (!r)
			(*upgraded)++;
	}
cleanup:
	guard__destroy(skel);
	return err;
}

bool pt_xdp_strays(struct pt_ctx *ctx)
{
	struct xdp_recs all;

	xdp_records(ctx, &all);
	for (size_t i = 0; i < all.n; i++) {
		struct iface_state now;

		inspect_iface((int)all.ifindex[i], all.rec[i].prog_id, &now);
		if (!now.ours && now.stray_id)
			return true;
		if (now.dispatcher && now.stray_id)
			return true;
	}
	return false;
}

int pt_xdp_detach_one(struct pt_ctx *ctx, uint32_t ifindex, const struct pt_xdp_rec *rec)
{
	struct iface_state now;
	int err = 0;

	inspect_iface((int)ifindex, rec->prog_id, &now);
	if (now.ours) {
		if (now.dispatcher) {
			struct xdp_program *p = xdp_program__from_id(rec->prog_id);

			err = libxdp_get_error(p);
			if (!err) {
				err = xdp_program__detach(p, (int)ifindex,
							  rec->mode == PT_XDP_SKB ? XDP_MODE_SKB
										: XDP_MODE_NATIVE,
							  0);
				xdp_program__close(p);
			}
		} else {
			/* only ever remove the program we attached */
			DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = -1);
			int fd = bpf_prog_get_fd_by_id(rec->prog_id);

			if (fd >= 0) {
				opts.old_prog_fd = fd;
				if (bpf_xdp_detach((int)ifindex,
						   (rec->mode == PT_XDP_SKB ? XDP_FLAGS_SKB_MODE
									    : XDP_FLAGS_DRV_MODE) |
							   XDP_FLAGS_REPLACE,
						   &opts))
					err = -errno;
				close(fd);
			}
		}
	}
	/* gone already (interface deleted, someone else detached): forget it */
	if (!err)
		bpf_map_delete_elem(ctx->fds[M_XDP_TABLE], &ifindex);
	return err;
}

int pt_xdp_detach_all(struct pt_ctx *ctx)
{
	struct xdp_recs all;
	int err = 0;

	xdp_records(ctx, &all);
	for (size_t i = 0; i < all.n; i++) {
		int r = pt_xdp_detach_one(ctx, all.ifindex[i], &all.rec[i]);

		if (r && !err)
			err = r;
	}
	return err;
}

/*
 * unload's sweep: detach the guard from every interface of the namespace
 * where it still runs, records or not (they may be lost, or of another
 * ABI). Only programs named portier_guard are touched.
 */
int pt_xdp_sweep(void)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	int n = 0;

	if (!ifs)
		return -errno;
	for (it = ifs; it->if_index; it++) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex((int)it->if_index);
		struct xdp_program *p;

		if (!mp || libxdp_get_error(mp))
			continue;
		if (xdp_multiprog__is_legacy(mp)) {
			p = xdp_multiprog__main_prog(mp);
			if (p && !strcmp(xdp_program__name(p), GUARD_PROG_NAME) &&
			    !xdp_multiprog__detach(mp))
				n++;
		} else {
			for (p = xdp_multiprog__next_prog(NULL, mp); p;
			     p = xdp_multiprog__next_prog(p, mp)) {
				if (strcmp(xdp_program__name(p), GUARD_PROG_NAME))
					continue;
				if (!xdp_program__detach(p, (int)it->if_index,
							 xdp_multiprog__attach_mode(mp), 0))
					n++;
				break;
			}
		}
		xdp_multiprog__close(mp);
	}
	if_freenameindex(ifs);
	return n;
}

int pt_xdp_list(struct pt_ctx *ctx, struct pt_xdp_iface *out, size_t max, size_t *n)
{
	struct xdp_recs all;

	xdp_records(ctx, &all);
	for (*n = 0; *n < max && *n < all.n; (*n)++) {
		struct pt_xdp_iface *it = &out[*n];
		struct iface_state now;
		char name[IF_NAMESIZE];

		it->rec = all.rec[*n];
		it->ifindex = all.ifindex[*n];
		inspect_iface((int)it->ifindex, it->rec.prog_id, &now);
		it->attached = now.ours;
		/* the interface may have been renamed, or deleted */
		it->exists = if_indextoname(it->ifindex, name) != NULL;
		if (it->exists)
			snprintf(it->rec.ifname, sizeof(it->rec.ifname), "%s", name);
	}
	return 0;
}
