/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The counters as rows an operator reads: one per individually counted
 * port or range (with the services bound there), one per port class, and
 * the global parser counters. Shared by stats, top and the exporter.
 */
#ifndef PORTIER_STATS_H
#define PORTIER_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "state.h"

struct pt_stat_row {
	uint8_t proto;
	uint16_t lo, hi;		/* lo == hi: one port */
	uint32_t slot;
	char services[256];		/* comma separated; "" when none */
	struct pt_counters c;
};

struct pt_class_row {
	uint8_t proto;
	uint8_t class;			/* enum pt_class */
	struct pt_counters c;
};

struct pt_stats {
	struct pt_stat_row *rows;	/* sorted by proto, lo, hi */
	size_t nrows;
	struct pt_class_row classes[PT_NPROTO * PT_NCLASS];
	struct pt_global global;
	size_t live_services;		/* services with at least one live socket */
};

/* Read every counter in one batched pass and label it from st. */
int pt_stats_collect(struct pt_ctx *ctx, const struct pt_state *st, struct pt_stats *out);
void pt_stats_free(struct pt_stats *s);
/* Is name one of the comma-separated services? */
bool pt_stats_has_service(const char *services, const char *name);

#endif
