/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * apply --watch's loop: a file followed through its directory (inotify),
 * so that an editor's rename over it and a Kubernetes ConfigMap's symlink
 * swap (..data) are seen as well as writes in place. Events are debounced;
 * the file is handed on only when the sha256 of its bytes differs from the
 * last one handed on. The loop owns no portier state: what to do with the
 * bytes is the caller's.
 */
#ifndef PORTIER_WATCH_H
#define PORTIER_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include "portier.h"

#define PT_MAX_CONFIG_BYTES (64u << 20)
#define PT_WATCH_DEBOUNCE_MS 200	/* quiet time after the last event */
#define PT_WATCH_MAX_DELAY 5	/* times the debounce, from the first event,
					 * however busy the file */

/* sha256 of n bytes; hex is 2 * PT_SHA256_LEN + 1 characters. */
void pt_sha256(const void *p, size_t n, uint8_t out[PT_SHA256_LEN]);
void pt_sha256_hex(const uint8_t sha[PT_SHA256_LEN], char hex[2 * PT_SHA256_LEN + 1]);

/* sha256 of a state as dump prints it (its canonical text): two states
 * that apply would make the same hash the same. 0 or -errno. */
struct pt_state;
int pt_state_sha256(const struct pt_state *st, uint8_t out[PT_SHA256_LEN]);

/* The whole file (or stdin for "-"), NUL-terminated, at most
 * PT_MAX_CONFIG_BYTES: 0 or -errno (-EFBIG when longer). */
int pt_read_file(const char *path, char **buf, size_t *len);

/* What the loop hands over. text is NULL when the file cannot be read
 * (err: -errno); the return value is an exit status. */
typedef int (*pt_watch_fn)(const char *text, size_t len, const uint8_t sha[PT_SHA256_LEN],
			   int err, void *arg);

struct pt_watcher {
	const char *path;
	unsigned int debounce_ms;	/* 0: PT_WATCH_DEBOUNCE_MS */
	pt_watch_fn fn;
	void *arg;
};

/*
 * Hand the file to fn now, then again after every change of its bytes
 * until SIGTERM or SIGINT (SIGHUP hands it over again, changed or not).
 * A file that cannot be read at the start is bad input: exit status 2, fn
 * not called. fn's status 1 at the start ends the loop with it (nothing to
 * apply to); any other status there, and every status later, keeps the loop
 * going. Returns 0 once stopped by a signal, else an exit status.
 */
int pt_watch_run(const struct pt_watcher *w);

#endif /* PORTIER_WATCH_H */
