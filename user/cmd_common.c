// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "xdp.h"

int pt_open_locked(struct pt_ctx *ctx)
{
	return pt_open_common(ctx, false);
}

int pt_open_read(struct pt_ctx *ctx)
{
	return pt_open_common(ctx, true);
}

int pt_read_state(const char *cmd, struct pt_ctx *ctx, struct pt_state *st)
{
	int ret = pt_open_read(ctx), err;

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

int pt_open_common(struct pt_ctx *ctx, bool shared)
{
	int err = pt_ctx_init(ctx, pt_netns);

	if (err) {
		if (pt_netns && (err == -ENOENT || err == -EINVAL))
			return pt_bad("--netns %s: no such network namespace (%s)", pt_netns,
				      strerror(-err));
		return pt_fail("network namespace: %s", strerror(-err));
	}
	ctx->shared = shared;
	err = pt_ctx_lock(ctx);
	if (err) {
		pt_ctx_close(ctx);
		return pt_fail("%s: cannot take the lock: %s", PT_PIN_ROOT, strerror(-err));
	}
	err = pt_ctx_open(ctx);
	if (err == -ENOENT || err == -ESTALE) {
		pt_ctx_close(ctx);
		return pt_fail("not loaded in this network namespace: run 'portier load' first");
	}
	if (err == -EPROTO) {
		pt_ctx_close(ctx);
		return pt_fail("%s: pinned state has ABI %u, this portier speaks ABI %d: "
			       "run the portier that loaded it, or 'portier unload' and load again",
			       ctx->dir, ctx->cfg.abi, PT_ABI_VERSION);
	}
	if (err) {
		pt_ctx_close(ctx);
		return pt_fail("%s: cannot open the pinned maps: %s", ctx->dir, pt_strerror(err));
	}
	return 0;
}

int pt_edit_state(pt_edit_fn edit, void *arg)
{
	return pt_edit_state_then(edit, NULL, arg);
}

int pt_edit_state_then(pt_edit_fn edit, pt_edit_fn after, void *arg)
{
	struct pt_state live = {}, next = {};
	struct pt_ctx ctx;
	int ret, err;

	ret = pt_open_locked(&ctx);
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
