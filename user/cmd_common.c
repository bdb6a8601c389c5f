// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "xdp.h"

int pt_read_state(const char *cmd, struct pt_ctx *ctx, struct pt_state *st)
{
	int ret = pt_open_or_fail(ctx, PT_OPEN_READ), err;

	if (ret)
		return ret;
	err = pt_state_load(ctx, st);
	if (err) {
		pt_ctx_close(ctx);
		return pt_fail("%s: reading the pinned state: %s", cmd, pt_strerror(err));
	}
	return 0;
}

void pt_read_done(struct pt_ctx *ctx)
{
	pt_ctx_close(ctx);
}

bool pt_guard_enforces(struct pt_ctx *ctx)
{
	static struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
	size_t n = 0;

	if (pt_xdp_list(ctx, xif, PT_MAX_XDP_IFACES, &n))
		return true;	/* cannot tell: say nothing rather than something false */
	for (size_t i = 0; i < n; i++)
		if (xif[i].attached && xif[i].exists)
			return true;
	return false;
}

void pt_warn_no_guard(struct pt_ctx *ctx, const char *what)
{
	if (!pt_guard_enforces(ctx))
		pt_warn("no interface has the guard: %s until 'portier load --xdp IFACE'", what);
}

struct pt_open_result pt_open(struct pt_ctx *ctx, enum pt_open_how how)
{
	struct pt_open_result r = { PT_OPENED, pt_ctx_init(ctx, pt_netns) };

	if (r.err) {
		r.outcome = pt_netns && (r.err == -ENOENT || r.err == -EINVAL) ? PT_OPEN_NO_NETNS
									       : PT_OPEN_NETNS_FAILED;
		return r;
	}
	if (how == PT_OPEN_NETNS)
		return r;
	ctx->shared = how == PT_OPEN_READ;
	ctx->global = how == PT_OPEN_LOCK;
	r.err = pt_ctx_lock(ctx);
	if (!r.err && how != PT_OPEN_LOCK)
		r.err = pt_ctx_open(ctx);
	if (r.err == -EPERM || r.err == -EACCES)
		r.outcome = PT_OPEN_PERM;
	else if (r.err && ctx->lock_fd < 0)
		r.outcome = PT_OPEN_NO_BPFFS;
	else if (r.err == -ENOENT || r.err == -ESTALE)
		r.outcome = PT_OPEN_NOT_LOADED;
	else if (r.err == -EPROTO)
		r.outcome = PT_OPEN_OTHER_ABI;
	else if (r.err)
		r.outcome = PT_OPEN_MAPS_FAILED;
	return r;
}

int pt_open_why(struct pt_open_result r, const struct pt_ctx *ctx, char *buf, size_t len)
{
	const char *e = strerror(-r.err);

	if (r.outcome == PT_OPEN_NO_NETNS)
		snprintf(buf, len, "--netns %s: no such network namespace (%s)", pt_netns, e);
	else if (r.outcome == PT_OPEN_NETNS_FAILED)
		snprintf(buf, len, "network namespace %s: %s", pt_netns ?: "of the caller", e);
	else if (r.outcome == PT_OPEN_PERM)
		snprintf(buf, len, "%.200s: %s: portier needs root (CAP_BPF, CAP_NET_ADMIN and "
			 "CAP_SYS_ADMIN)", ctx->lock_fd >= 0 ? ctx->dir : PT_PIN_ROOT, e);
	else if (r.outcome == PT_OPEN_NO_BPFFS)
		snprintf(buf, len, "%s: cannot take the lock: %s", PT_PIN_ROOT, e);
	else if (r.outcome == PT_OPEN_NOT_LOADED)
		snprintf(buf, len, "not loaded in this network namespace: run 'portier load' first");
	else if (r.outcome == PT_OPEN_OTHER_ABI)
		snprintf(buf, len, "%.200s: pinned state has ABI %u, this portier speaks ABI %d: run "
			 "the portier that loaded it, or 'portier unload' (this drops the "
			 "configuration) and load again", ctx->dir, ctx->cfg.abi, PT_ABI_VERSION);
	else
		snprintf(buf, len, "%.200s: cannot open the pinned maps: %s", ctx->dir,
			 pt_strerror(r.err));
	return r.outcome == PT_OPEN_NO_NETNS ? PT_EXIT_USAGE : PT_EXIT_FAIL;
}

int pt_open_fail(struct pt_open_result r, const struct pt_ctx *ctx)
{
	char why[512];
	int ret = pt_open_why(r, ctx, why, sizeof(why));

	return ret == PT_EXIT_USAGE ? pt_bad("%s", why) : pt_fail("%s", why);
}

int pt_open_or_fail(struct pt_ctx *ctx, enum pt_open_how how)
{
	struct pt_open_result r = pt_open(ctx, how);
	int ret = r.outcome == PT_OPENED ? 0 : pt_open_fail(r, ctx);

	if (ret)
		pt_ctx_close(ctx);
	return ret;
}

int pt_edit_state(pt_edit_fn edit, pt_edit_fn after, void *arg)
{
	struct pt_state live = {}, next = {};
	struct pt_ctx ctx;
	int ret, err;

	ret = pt_open_or_fail(&ctx, PT_OPEN_WRITE);
	if (ret)
		return ret;
	err = pt_state_load(&ctx, &live);
	if (err) {
		ret = pt_fail("reading the pinned state: %s", pt_strerror(err));
		goto cleanup;
	}
	err = pt_state_copy(&next, &live);
	if (err) {
		ret = pt_fail("%s", strerror(-err));
		goto cleanup;
	}
	ret = edit(&ctx, &next, arg);
	if (ret)
		goto cleanup;
	err = pt_state_commit(&ctx, &next, &live);
	if (err == -ENOSPC)
		ret = pt_bad("out of counter slots: at most %d ports can be watched one by one "
			     "(nothing changed)", PT_MAX_SLOTS - PT_FIRST_FREE_SLOT);
	else if (err)
		ret = pt_fail("updating the maps: %s (nothing changed)", pt_strerror(err));
	else if (after)
		ret = after(&ctx, &next, arg);
cleanup:
	pt_state_free(&live);
	pt_state_free(&next);
	pt_ctx_close(&ctx);
	return ret;
}
