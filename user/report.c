// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one error path (declared in util.h): text or a JSON error on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <json-c/json.h>
#include "util.h"

bool pt_json;
bool pt_debug;

static void report(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one line of printable ASCII, always: whatever bytes a user typed
	 * come back escaped, never as terminal controls or invalid UTF-8 */
	pt_escape(msg, sizeof(msg));
	if (pt_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	fprintf(stderr, "portier: %s\n", msg);
}

int pt_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	return PT_EXIT_FAIL;
}

int pt_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	return PT_EXIT_USAGE;
}

void pt_warn(const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pt_escape(msg, sizeof(msg));
	fprintf(stderr, "portier: warning: %s\n", msg);
}
