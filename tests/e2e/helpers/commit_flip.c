// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * commit_flip: many commits, fast, for tests/e2e/test_ops_commit_stress.sh.
 *
 *   commit_flip NETNS SERVICE PORT COUNT
 *
 * COUNT commits through portier's own commit path (pt_state_commit, each
 * under the lock, as `portier bind` makes them), alternating between two
 * states: SERVICE bound (tcp any) at PORT only, and at PORT and PORT + 1.
 * Each flip moves the class ids of every port above PORT by two, so a
 * lookup that paired one generation's class with the other's tables would
 * find another port's binding. One process: no exec and no pin opening
 * per commit (the maps stay open; each commit takes the lock and reads
 * the live state anew). Prints the number of commits made; exit 1 on any failure.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "state.h"
#include "model.h"

static int find_service(const struct pt_state *st, const char *name, uint32_t *id)
{
	for (size_t i = 0; i < st->nservices; i++)
		if (!strcmp(st->services[i].name, name)) {
			*id = st->services[i].id;
			return 0;
		}
	return -ENOENT;
}

/* One commit: bind (add) or unbind PORT + 1. */
static int commit_one(struct pt_ctx *ctx, const char *svc, uint16_t port, bool add)
{
	struct pt_state live = {}, next = {};
	struct pt_prefix any = { .family = PT_FAMILY_ANY };
	struct pt_binding b = { .proto = PT_TCP, .prefix = any, .lo = port, .hi = port };
	int err;

	__u32 zero = 0;

	/* the maps stay open; the lock and the live config are taken anew */
	err = pt_ctx_lock(ctx);
	if (!err && bpf_map_lookup_elem(ctx->fds[M_CONFIG], &zero, &ctx->cfg))
		err = -errno;
	err = err ?: pt_state_load(ctx, &live);
	err = err ?: pt_state_copy(&next, &live);
	err = err ?: find_service(&next, svc, &b.service);
	if (!err && pt_binding_find(&next, PT_TCP, &any, port, port) < 0)
		err = pt_binding_set(&next, &b, NULL);
	b.lo = b.hi = (uint16_t)(port + 1);
	if (!err && add)
		err = pt_binding_set(&next, &b, NULL);
	else if (!err && pt_binding_find(&next, PT_TCP, &any, b.lo, b.hi) >= 0)
		err = pt_binding_del(&next, PT_TCP, &any, b.lo, b.hi);
	err = err ?: pt_state_commit(ctx, &next, &live);
	pt_state_free(&live);
	pt_state_free(&next);
	pt_ctx_unlock(ctx);	/* releases the locks between commits */
	return err;
}

int main(int argc, char **argv)
{
	struct pt_ctx ctx;
	long port, count, i;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: commit_flip NETNS SERVICE PORT COUNT\n");
		return 2;
	}
	port = strtol(argv[3], NULL, 10);
	count = strtol(argv[4], NULL, 10);
	if (port < 1 || port > 65534 || count < 0) {
		fprintf(stderr, "commit_flip: bad PORT or COUNT\n");
		return 2;
	}
	/* keep the compiler's large buffers in the heap between commits
	 * instead of mapping (and clearing) fresh pages for each */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	err = pt_ctx_init(&ctx, argv[1]);
	if (err) {
		fprintf(stderr, "commit_flip: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = pt_ctx_lock(&ctx);
	err = err ?: pt_ctx_open(&ctx);
	if (err) {
		fprintf(stderr, "commit_flip: opening the pins: %s\n", pt_strerror(err));
		pt_ctx_close(&ctx);
		return 1;
	}
	pt_ctx_unlock(&ctx);
	for (i = 0; i < count; i++) {
		err = commit_one(&ctx, argv[2], (uint16_t)port, !(i & 1));
		if (err) {
			fprintf(stderr, "commit_flip: commit %ld: %s\n", i + 1, pt_strerror(err));
			break;
		}
	}
	pt_ctx_close(&ctx);
	printf("%ld\n", i);
	return err ? 1 : 0;
}
