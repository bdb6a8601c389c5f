/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* explain's gathering half; the deciding half is core/explain.h. */
#ifndef PORTIER_EXPLAIN_GATHER_H
#define PORTIER_EXPLAIN_GATHER_H

#include "explain.h"
#include "state.h"

/* Gather the facts for the packet already set in f (proto, family, addr,
 * port, from). ctx has its maps open when loaded is true. Frees nothing
 * of st; free the rest with pt_explain_facts_free. */
int pt_explain_gather(struct pt_ctx *ctx, bool loaded, const struct pt_state *st,
		      struct pt_explain_facts *f);

#endif
