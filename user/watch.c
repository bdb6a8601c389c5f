// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The loop of apply --watch (watch.h). One thread, one poll() over an
 * inotify descriptor on the file's directory and a signalfd. The directory,
 * not the file: a rename over the file (an editor, `install`, config
 * management) and a ConfigMap's swap of its ..data symlink replace the
 * inode, and a watch on the old inode would never fire again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <nettle/sha2.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include "config.h"
#include "util.h"
#include "watch.h"

#define REWATCH_MS 1000		/* retry period while the directory is gone */

void pt_sha256(const void *p, size_t n, uint8_t out[PT_SHA256_LEN])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, n, p);
	sha256_digest(&c, PT_SHA256_LEN, out);
}

void pt_sha256_hex(const uint8_t sha[PT_SHA256_LEN], char hex[2 * PT_SHA256_LEN + 1])
{
	for (int i = 0; i < PT_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

int pt_state_sha256(const struct pt_state *st, uint8_t out[PT_SHA256_LEN])
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -errno;
	pt_config_dump(f, st);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	pt_sha256(text, len, out);
	free(text);
	return 0;
}

int pt_read_file(const char *path, char **buf, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0), err = 0;
	size_t cap = 0, n = 0;
	struct stat stt;
	char *p = NULL;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &stt))
		err = -errno;
	else if (S_ISDIR(stt.st_mode))
		err = -EISDIR;
	while (!err) {
		ssize_t r;

		if (n == cap) {
			size_t nc = cap ? cap * 2 : 65536;
			char *q = cap >= PT_MAX_CONFIG_BYTES ? NULL : realloc(p, nc + 1);

			if (!q) {
				err = cap >= PT_MAX_CONFIG_BYTES ? -EFBIG : -ENOMEM;
				break;
			}
			p = q;
			cap = nc;
		}
		r = read(fd, p + n, cap - n);
		if (!r)
			break;
		if (r < 0 && errno != EINTR)
			err = -errno;
		n += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	if (err) {
		free(p);
		return err;
	}
	p[n] = 0;
	*buf = p;
	*len = n;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

struct loop {
	const struct pt_watcher *w;
	char dir[PATH_MAX];
	int ino, wd, sig;
	bool pending;		/* events seen, not yet looked at */
	uint64_t first, last;	/* their times */
	bool have_sha;		/* sha: the bytes last handed over */
	bool unreadable;	/* the last look could not read the file */
	bool started;		/* the first look is done */
	uint8_t sha[PT_SHA256_LEN];
};

static int add_watch(struct loop *l)
{
	l->wd = inotify_add_watch(l->ino, l->dir,
				  IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE |
				  IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
				  IN_MOVE_SELF | IN_ONLYDIR);
	return l->wd < 0 ? -errno : 0;
}

/* Read the file and hand it over when its bytes changed (or always).
 * Returns fn's exit status, or 0 when there was nothing to hand over. */
static int look(struct loop *l, bool always)
{
	uint8_t sha[PT_SHA256_LEN];
	char *text = NULL;
	size_t len = 0;
	int err, ret;

	err = pt_read_file(l->w->path, &text, &len);
	if (err && !l->started)
		return pt_bad("apply: %s: %s", l->w->path, strerror(-err));
	l->started = true;
	if (err) {
		/* said once per disappearance; the state stays as it is */
		if (l->unreadable && !always)
			return 0;
		l->unreadable = true;
		l->have_sha = false;	/* the same bytes back are applied again */
		return l->w->fn(NULL, 0, NULL, err, l->w->arg);
	}
	l->unreadable = false;
	pt_sha256(text, len, sha);
	if (!always && l->have_sha && !memcmp(sha, l->sha, sizeof(sha))) {
		free(text);
		return 0;
	}
	memcpy(l->sha, sha, sizeof(sha));
	l->have_sha = true;
	ret = l->w->fn(text, len, sha, 0, l->w->arg);
	free(text);
	return ret;
}

/* Drain the inotify queue: note that something happened, or that the
 * directory itself went away. */
static void drain(struct loop *l)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(l->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (l->wd >= 0)
					pt_warn("apply: %s: the directory is gone; keeping the "
						"state, watching for it to come back", l->dir);
				if (l->wd >= 0 && !(ev->mask & IN_IGNORED))
					inotify_rm_watch(l->ino, l->wd);
				l->wd = -1;
			}
			if (!l->pending)
				l->first = now_ms();
			l->pending = true;
			l->last = now_ms();
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The poll timeout: until the debounce fires, or the next try to watch
 * the directory again; -1 when there is nothing to wait for. */
static int timeout_ms(const struct loop *l, unsigned int quiet)
{
	uint64_t t = now_ms(), due;

	if (l->pending) {
		due = l->last + quiet;
		if (due > l->first + (uint64_t)quiet * PT_WATCH_MAX_DELAY)
			due = l->first + (uint64_t)quiet * PT_WATCH_MAX_DELAY;
		return due > t ? (int)(due - t) : 0;
	}
	return l->wd < 0 ? REWATCH_MS : -1;
}

static bool due(const struct loop *l, unsigned int quiet)
{
	uint64_t t = now_ms();

	return l->pending &&
	       (t >= l->last + quiet || t >= l->first + (uint64_t)quiet * PT_WATCH_MAX_DELAY);
}

/* The signals: 0 to go on, else the one that stops the loop. */
static int take_signal(struct loop *l, bool *hup)
{
	struct signalfd_siginfo si;

	while (read(l->sig, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			*hup = true;
		else
			return (int)si.ssi_signo;
	}
	return 0;
}

static int run(struct loop *l)
{
	unsigned int quiet = l->w->debounce_ms ? l->w->debounce_ms : PT_WATCH_DEBOUNCE_MS;
	struct pollfd pf[2] = { { .fd = l->sig, .events = POLLIN }, { .fd = l->ino, .events = POLLIN } };
	int ret, stop;

	/* watched before the first read: a change right after it is seen */
	ret = add_watch(l);
	if (ret)
		return pt_bad("apply: %s: cannot watch the directory: %s", l->dir, strerror(-ret));
	ret = look(l, true);
	if (!l->have_sha || ret == PT_EXIT_FAIL)
		return ret;	/* unreadable, or nothing to apply to */
	fflush(stdout);
	for (;;) {
		bool hup = false;

		if (poll(pf, 2, timeout_ms(l, quiet)) < 0 && errno != EINTR)
			return pt_fail("apply: --watch: poll: %s", strerror(errno));
		stop = take_signal(l, &hup);
		if (stop) {
			fprintf(stderr, "portier: apply: stopped by %s; the state stays as applied\n",
				stop == SIGINT ? "SIGINT" : "SIGTERM");
			return 0;
		}
		drain(l);
		if (l->wd < 0 && !add_watch(l)) {
			l->pending = true;	/* it may hold another file now */
			l->first = l->last = now_ms() - quiet;
		}
		if (hup || due(l, quiet)) {
			l->pending = false;
			look(l, hup);
			fflush(stdout);
		}
	}
}

int pt_watch_run(const struct pt_watcher *w)
{
	struct loop l = { .w = w, .ino = -1, .wd = -1, .sig = -1 };
	char copy[PATH_MAX];
	sigset_t sigs;
	int ret;

	if (!strcmp(w->path, "-"))
		return pt_bad("apply: --watch needs a file, not standard input");
	if (snprintf(copy, sizeof(copy), "%s", w->path) >= (int)sizeof(copy))
		return pt_bad("apply: %s: path too long", w->path);
	snprintf(l.dir, sizeof(l.dir), "%s", dirname(copy));
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	l.sig = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	l.ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (l.sig < 0 || l.ino < 0)
		ret = pt_fail("apply: --watch: %s", strerror(errno));
	else
		ret = run(&l);
	if (l.ino >= 0)
		close(l.ino);
	if (l.sig >= 0)
		close(l.sig);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	return ret;
}
