/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The parsers and formatters of the core, and the one error path. */
#ifndef PORTIER_UTIL_H
#define PORTIER_UTIL_H

#include <stdbool.h>
#include "parse.h"

/* Exit statuses. */
#define PT_EXIT_OK 0
#define PT_EXIT_FAIL 1
#define PT_EXIT_USAGE 2

extern bool pt_json;		/* --json */
extern bool pt_debug;		/* --debug */

/* Print `portier: <what>: <why>` (or a JSON error under --json) and return
 * the exit status to use. pt_fail returns 1, pt_bad returns 2. */
int pt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pt_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PORTIER_UTIL_H */
