/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PORTIER_LOAD_H
#define PORTIER_LOAD_H

#include <stdint.h>
#include <bpf/bpf.h>
#include "state.h"

enum pt_load_action {
	PT_LOAD_FRESH,		/* nothing was loaded: attached */
	PT_LOAD_ALREADY,	/* this build is loaded: nothing to do */
	PT_LOAD_UPGRADED,	/* another build was loaded: programs replaced */
};

struct pt_load_result {
	enum pt_load_action action;
	uint32_t link_id;	/* -EEXIST: the dispatcher already attached */
	unsigned int guards;	/* PT_LOAD_UPGRADED: interfaces whose guard was replaced */
	bool guard_failed;	/* the error came from replacing a guard */
	bool max_bindings_differ; /* -EINVAL: the pinned state has another capacity */
};

/* Identity of the BPF objects built into this binary. */
uint64_t pt_build_id(void);
/* Under the lock: load (idempotent) and leave ctx's maps open. -EEXIST
 * when a dispatcher is attached to the namespace whose pins are not here.
 * max_bindings (0: PT_MAX_BINDINGS) sizes the binding maps of a fresh
 * load; a state already pinned with another size is refused (-EINVAL,
 * res->max_bindings_differ), a state pinned without one keeps its own. */
int pt_load(struct pt_ctx *ctx, uint32_t max_bindings, struct pt_load_result *res);
/* Under the lock: remove the pins of namespaces that no longer exist. */
int pt_prune_dead(void);
/* Under the lock: detach and remove every pin. -ENOENT when not loaded. */
int pt_unload(struct pt_ctx *ctx);

int pt_prog_info(const char *dir, const char *pin, struct bpf_prog_info *info);
int pt_link_info(const char *dir, const char *pin, struct bpf_link_info *info);
const char *pt_dispatch_prog_pin(void);
const char *pt_dispatch_link_pin(void);

#endif
