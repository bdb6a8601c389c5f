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
 *
 * Words are separated by blanks; '...' and "..." quote (with \" and \\
 * inside double quotes). Pure code: no syscalls.
 */
#ifndef PORTIER_CONFIG_H
#define PORTIER_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "model.h"

struct pt_config_error {
	unsigned int line, col;		/* 1-based; 0 when not about a place */
	char msg[200];
};

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
