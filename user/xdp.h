/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PORTIER_XDP_H
#define PORTIER_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "state.h"

enum pt_xdp_req {
	PT_XDP_REQ_AUTO,	/* native, else skb */
	PT_XDP_REQ_NATIVE,
	PT_XDP_REQ_SKB,
};

struct pt_xdp_iface {
	uint32_t ifindex;
	struct pt_xdp_rec rec;
	bool attached;		/* the recorded guard still runs there */
	bool exists;		/* the interface still exists */
};

/* Route libxdp's log through portier (silent unless --debug). */
void pt_xdp_init(void);
int pt_parse_xdp_mode(const char *s, enum pt_xdp_req *mode);

/* Attach the guard to ifname (in the current namespace) and record it.
 * -ENODEV no such interface; -EBUSY a program portier does not own holds
 * the interface (and !force). Idempotent. */
int pt_xdp_attach(struct pt_ctx *ctx, const char *ifname, enum pt_xdp_req req, bool force,
		  struct pt_xdp_rec *out);
/* The guard object built into this binary (for the build identity). */
const void *pt_xdp_guard_elf(size_t *sz);
/* After a load over another build: swap in this build's guard everywhere. */
int pt_xdp_upgrade_all(struct pt_ctx *ctx, unsigned int *upgraded);
/* Does a recorded interface run a portier guard other than the recorded
 * one (a load or upgrade killed between the swap and its record)? */
bool pt_xdp_strays(struct pt_ctx *ctx);
int pt_xdp_detach_one(struct pt_ctx *ctx, uint32_t ifindex, const struct pt_xdp_rec *rec);
/* Detach the guard from every recorded interface. */
int pt_xdp_detach_all(struct pt_ctx *ctx);
/* Detach any portier guard left on the namespace's interfaces; returns how many. */
int pt_xdp_sweep(void);
int pt_xdp_list(struct pt_ctx *ctx, struct pt_xdp_iface *out, size_t max, size_t *n);

#endif
