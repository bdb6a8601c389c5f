/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The declarative configuration: one statement per line in the command
 * line's own words.
 *
 *   # a comment
 *   service add irene --desc 'web app dev server'
 *   bind tcp 198.18.0.2/32 80 irene
 *   policy tcp 3006 drop-new --from 198.18.0.0/24
 *   watch udp 5000-5010
 *   steer udp 27015 cpus 2-3
 *
 * Words are separated by blanks; '...' and "..." quote (with \" and \\
 * inside double quotes). Pure code: no syscalls.
 */
#ifndef PORTIER_CONFIG_H
#define PORTIER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "model.h"

struct pt_config_error {
	unsigned int line, col;		/* 1-based; 0 when not about a place */
	char msg[200];
};

/* What one command line (or one line of a file) asks for. */
enum pt_verb {
	PT_VERB_SERVICE_ADD, PT_VERB_SERVICE_DEL, PT_VERB_BIND, PT_VERB_UNBIND,
	PT_VERB_POLICY, PT_VERB_UNPOLICY, PT_VERB_WATCH, PT_VERB_UNWATCH,
	PT_VERB_STEER, PT_VERB_UNSTEER,
};

struct pt_edit {
	enum pt_verb verb;
	const char *name;		/* service add/del: the service; bind: its service */
	const char *desc;		/* service add --desc, or NULL */
	struct pt_binding bind;		/* bind, unbind (service id left 0) */
	struct pt_policy policy;	/* policy, unpolicy (rule id left 0) */
	struct pt_watch watch;		/* watch, unwatch */
	struct pt_steer steer;		/* steer, unsteer (no CPUs) */
};

struct pt_word_error {
	size_t word;			/* index of the word at fault */
	bool usage;			/* the shape is wrong (not a value) */
	char msg[200];
};

/*
 * The grammar of the editing commands, for argv and for each line of a
 * file alike: w[0] is the command (service, bind, unbind, policy,
 * unpolicy, watch, unwatch, steer, unsteer), options are --NAME VALUE or --NAME=VALUE
 * anywhere, "--" ends them. out points into w. Returns 0, or -EINVAL with
 * *e filled.
 */
int pt_edit_parse(char *const *w, size_t nw, struct pt_edit *out, struct pt_word_error *e);

/*
 * Parse text into out: out's services are live's services plus those the
 * file declares (a service is never removed by a file: it may hold
 * sockets); its bindings, policies and watches are exactly the file's.
 * Policies that keep their key keep their rule id. Returns 0, or -EINVAL
 * with *err filled (or -ENOMEM).
 */
int pt_config_parse(const char *text, size_t len, const struct pt_state *live,
		    struct pt_state *out, struct pt_config_error *err);

/* Print st in the format pt_config_parse reads. */
void pt_config_dump(FILE *f, const struct pt_state *st);

#endif
