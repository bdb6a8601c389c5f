// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * top [--interval SECONDS] [--count N]: live per-port rates.
 *
 * Every interval, the state is reopened (so new bindings and watches
 * appear) and every counter is read in one batched pass (pt_stats_collect);
 * rates are the differences over the measured time. On a terminal it is an
 * ncurses screen: ports sorted by packet rate with a sparkline of their
 * recent packet rate, the port-class rows, the guard's and the
 * receptionist's global counters; once some port has been steered at the
 * driver (its xsk, cpu or fallback counter is not zero), three more
 * columns: XSK/S, CPU/S and FALLBK/S. q or Ctrl-C quits. When stdout is not a
 * terminal (or with --json) it prints one plain snapshot per interval,
 * --count of them (default 1).
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curses.h>
#include "cmd.h"
#include "stats.h"
#include "table.h"

#define HIST 64			/* samples of history kept per row */
#define W_PROTO 5
#define W_PORT 11
#define W_SERVICE 14
#define W_NUM 8

enum { KIND_PORT, KIND_CLASS };

struct top_row {
	uint8_t kind, proto;
	uint16_t lo, hi;		/* KIND_CLASS: lo is the class */
	char service[256];
	struct pt_counters c;		/* the last sample */
	bool have_prev;
	double pps, bps, dps, lps, sps, nps;	/* packets, bytes, dropped, limited,
						 * steered, no_socket per second */
	double xps, cps, fps;		/* xsk, cpu, fallback per second */
	double hist[HIST];		/* packet rate, oldest first */
	size_t nhist;
	bool seen;
};

struct top {
	struct top_row *rows;
	size_t nrows;
	struct pt_global g;
	double g_rate[5];		/* malformed, fragments, other, unbound, unreadable */
	bool have_g;
	struct timespec last;
	bool have_last;
	uint64_t netns_ino;
	size_t services, live, bindings, policies, watches;
	char err[256];			/* why the last sample failed, "" if it did not */
	double interval;
	bool utf8;
	bool steering;			/* some row has steered at the driver: the
					 * XSK/S, CPU/S and FALLBK/S columns show */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* A counter's rate; a counter that went backwards was reset (a new slot). */
static double rate(uint64_t prev, uint64_t cur, double dt)
{
	return (double)(cur >= prev ? cur - prev : cur) / dt;
}

static struct top_row *find_row(struct top *t, uint8_t kind, uint8_t proto, uint16_t lo,
				uint16_t hi)
{
	struct top_row *r;

	for (size_t i = 0; i < t->nrows; i++) {
		r = &t->rows[i];
		if (r->kind == kind && r->proto == proto && r->lo == lo && r->hi == hi)
			return r;
	}
	r = realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
	if (!r)
		return NULL;
	t->rows = r;
	r = &t->rows[t->nrows++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->proto = proto;
	r->lo = lo;
	r->hi = hi;
	return r;
}

static void update_row(struct top_row *r, const struct pt_counters *c, double dt)
{
	if (r->have_prev && dt > 0) {
		r->pps = rate(r->c.packets, c->packets, dt);
		r->bps = rate(r->c.bytes, c->bytes, dt);
		r->dps = rate(r->c.dropped, c->dropped, dt);
		r->lps = rate(r->c.limited, c->limited, dt);
		r->sps = rate(r->c.steered, c->steered, dt);
		r->nps = rate(r->c.no_socket, c->no_socket, dt);
		r->xps = rate(r->c.xsk, c->xsk, dt);
		r->cps = rate(r->c.cpu, c->cpu, dt);
		r->fps = rate(r->c.fallback, c->fallback, dt);
		if (r->nhist == HIST) {
			memmove(r->hist, r->hist + 1, (HIST - 1) * sizeof(r->hist[0]));
			r->nhist--;
		}
		r->hist[r->nhist++] = r->pps;
	}
	r->c = *c;
	r->have_prev = true;
	r->seen = true;
}

/* Read the state and its counters into st and s, under the shared lock.
 * Returns 0, or -errno with t->err set. */
static int read_sample(struct top *t, struct pt_state *st, struct pt_stats *s)
{
	struct pt_ctx ctx;
	struct pt_open_result r = pt_open(&ctx, PT_OPEN_READ);
	int err = r.err;

	if (ctx.netns_ino)
		t->netns_ino = ctx.netns_ino;
	if (r.outcome != PT_OPENED) {
		pt_open_why(r, &ctx, t->err, sizeof(t->err));
	} else {
		err = pt_state_load(&ctx, st);
		if (err)
			snprintf(t->err, sizeof(t->err), "reading the pinned state: %s",
				 pt_strerror(err));
	}
	if (!err) {
		err = pt_stats_collect(&ctx, st, s);
		if (err)
			snprintf(t->err, sizeof(t->err), "reading the counters: %s", pt_strerror(err));
	}
	pt_ctx_close(&ctx);
	return err;
}

/* Take one sample: reopen the state, read every counter, update rates.
 * Returns 0, or -errno with t->err set. */
static int sample(struct top *t)
{
	struct pt_stats s = {};
	struct pt_state st = {};
	struct timespec now;
	double dt = 0;
	int err;

	t->err[0] = 0;
	err = read_sample(t, &st, &s);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (err) {
		pt_state_free(&st);
		return err;
	}
	if (t->have_last)
		dt = now_diff(&t->last, &now);
	t->last = now;
	t->have_last = true;

	for (size_t i = 0; i < t->nrows; i++)
		t->rows[i].seen = false;
	for (size_t i = 0; i < s.nrows; i++) {
		const struct pt_stat_row *sr = &s.rows[i];
		struct top_row *r = find_row(t, KIND_PORT, sr->proto, sr->lo, sr->hi);

		if (!r)
			continue;
		snprintf(r->service, sizeof(r->service), "%s", sr->services[0] ? sr->services : "-");
		update_row(r, &sr->c, dt);
	}
	for (size_t i = 0; i < PT_NPROTO * PT_NCLASS; i++) {
		const struct pt_class_row *cr = &s.classes[i];
		struct top_row *r = find_row(t, KIND_CLASS, cr->proto, cr->class, cr->class);

		if (!r)
			continue;
		snprintf(r->service, sizeof(r->service), "(other ports)");
		update_row(r, &cr->c, dt);
	}
	/* rows that are gone (unbound, unwatched) leave the screen */
	for (size_t i = 0; i < t->nrows;) {
		if (!t->rows[i].seen)
			t->rows[i] = t->rows[--t->nrows];
		else
			i++;
	}
	t->steering = false;
	for (size_t i = 0; i < t->nrows; i++)
		t->steering |= (t->rows[i].c.xsk | t->rows[i].c.cpu | t->rows[i].c.fallback) != 0;
	if (t->have_g && dt > 0) {
		t->g_rate[0] = rate(t->g.malformed, s.global.malformed, dt);
		t->g_rate[1] = rate(t->g.fragments, s.global.fragments, dt);
		t->g_rate[2] = rate(t->g.other, s.global.other, dt);
		t->g_rate[3] = rate(t->g.dispatch_other, s.global.dispatch_other, dt);
		t->g_rate[4] = rate(t->g.unreadable, s.global.unreadable, dt);
	}
	t->g = s.global;
	t->have_g = true;
	t->services = st.nservices;
	t->live = s.live_services;
	t->bindings = st.nbindings;
	t->policies = st.npolicies;
	t->watches = st.nwatches;
	pt_stats_free(&s);
	pt_state_free(&st);
	return 0;
}

/* Ports by packet rate, busiest first; then by protocol and port. Class
 * rows after the ports, in their fixed order. */
static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->kind == KIND_PORT && x->pps != y->pps)
		return x->pps > y->pps ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	return x->hi - y->hi;
}

static char *fmt_rate(double v, char *buf, size_t len)
{
	if (v < 0.05)
		snprintf(buf, len, "0");
	else if (v < 10)
		snprintf(buf, len, "%.1f", v);
	else
		pt_format_human((uint64_t)(v + 0.5), buf, len);
	return buf;
}

static const char *row_port(const struct top_row *r, char *buf, size_t len)
{
	if (r->kind == KIND_CLASS)
		return pt_class_name(r->lo);
	return pt_format_ports(r->lo, r->hi, buf, len);
}

/* The sparkline of a row's last `width` packet rates, scaled to their
 * maximum: eight block characters, or eight ASCII ones. */
static void sparkline(const struct top_row *r, size_t width, bool utf8, char *buf, size_t len)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = "_.-:=+*#";
	size_t n = r->nhist < width ? r->nhist : width, first = r->nhist - n, used = 0;
	double max = 0;

	buf[0] = 0;
	for (size_t i = first; i < r->nhist; i++)
		if (r->hist[i] > max)
			max = r->hist[i];
	for (size_t i = first; i < r->nhist; i++) {
		int level = 0;

		if (max > 0 && r->hist[i] > 0)
			level = 1 + (int)(r->hist[i] / max * 6.0 + 0.5);
		if (level > 7)
			level = 7;
		if (utf8) {
			size_t bl = strlen(blocks[level]);

			if (used + bl + 1 > len)
				break;
			memcpy(buf + used, blocks[level], bl);
			used += bl;
		} else {
			if (used + 2 > len)
				break;
			buf[used++] = ascii[level];
		}
		buf[used] = 0;
	}
}

/* The fixed columns of one row, exactly W_* wide each; with steering, the
 * three steering rates after them. */
static void row_text(const struct top_row *r, bool steering, char *buf, size_t len)
{
	char port[16], svc[W_SERVICE + 1], p[16], b[16], d[16], s[16], x[16], c[16], f[16];

	snprintf(svc, sizeof(svc), "%.*s", W_SERVICE, r->service);
	if (strlen(r->service) > W_SERVICE) {
		svc[W_SERVICE - 1] = '+';	/* truncated */
		svc[W_SERVICE] = 0;
	}
	if (r->kind == KIND_CLASS)
		snprintf(s, sizeof(s), "-");
	else
		fmt_rate(r->sps, s, sizeof(s));
	snprintf(buf, len, "%-*s %-*s %-*s %*s %*s %*s %*s", W_PROTO, pt_proto_name(r->proto),
		 W_PORT, row_port(r, port, sizeof(port)), W_SERVICE, svc, W_NUM,
		 fmt_rate(r->pps, p, sizeof(p)), W_NUM, fmt_rate(r->bps, b, sizeof(b)), W_NUM,
		 fmt_rate(r->dps + r->lps, d, sizeof(d)), W_NUM, s);
	if (steering) {
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, " %*s %*s %*s", W_NUM,
			 fmt_rate(r->xps, x, sizeof(x)), W_NUM, fmt_rate(r->cps, c, sizeof(c)),
			 W_NUM, fmt_rate(r->fps, f, sizeof(f)));
	}
}

static const char header_base[] =
	"PROTO PORT        SERVICE          PKTS/S  BYTES/S   DROP/S  STEER/S";
static const char header_steer[] =
	"PROTO PORT        SERVICE          PKTS/S  BYTES/S   DROP/S  STEER/S    XSK/S    CPU/S "
	"FALLBK/S";

static const char *header(const struct top *t)
{
	return t->steering ? header_steer : header_base;
}

/* The title, the totals (or why there are none) and the column header;
 * the next free line. *hw: the width of the history column. */
static int draw_head(const struct top *t, size_t *hw)
{
	size_t fixed = strlen(header(t)) + 1;
	time_t wall = time(NULL);
	char line[512], tbuf[16];
	struct tm tm;
	int y = 0;

	localtime_r(&wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "portier top - netns %llu - every %gs - %s",
		 (unsigned long long)t->netns_ino, t->interval, tbuf);
	attron(A_BOLD);
	mvaddnstr(y, 0, line, COLS);
	attroff(A_BOLD);
	if ((int)strlen(line) + 12 < COLS)
		mvaddstr(y, COLS - 8, "q: quit");
	y++;
	if (t->err[0])
		snprintf(line, sizeof(line), "%s", t->err);
	else
		snprintf(line, sizeof(line), "services %zu (%zu with a live socket)  bindings %zu  "
			 "policies %zu  watches %zu", t->services, t->live, t->bindings,
			 t->policies, t->watches);
	mvaddnstr(y++, 0, line, COLS);
	*hw = (size_t)COLS > fixed ? (size_t)COLS - fixed : 0;
	if (*hw > HIST)
		*hw = HIST;
	attron(A_REVERSE);
	snprintf(line, sizeof(line), "%s %-*s", header(t), (int)*hw, *hw >= 7 ? "HISTORY" : "");
	mvaddnstr(y++, 0, line, COLS);
	attroff(A_REVERSE);
	return y;
}

/* One row and its history at line y, dimmed for a class row. */
static void draw_row(const struct top *t, const struct top_row *r, int y, size_t hw)
{
	attr_t dim = r->kind == KIND_CLASS ? A_DIM : A_NORMAL;
	char line[512], spark[HIST * 4 + 1];

	row_text(r, t->steering, line, sizeof(line));
	attron(dim);
	mvaddnstr(y, 0, line, COLS);
	attroff(dim);
	if (hw) {
		sparkline(r, hw, t->utf8, spark, sizeof(spark));
		mvaddstr(y, (int)strlen(header(t)) + 1, spark);
	}
}

static void draw(struct top *t)
{
	size_t nports = 0, nclasses = 0, shown = 0, hw;
	int lines = LINES, cols = COLS, y, room;
	char line[512], g[5][16];
	bool show_classes;

	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
	for (size_t i = 0; i < t->nrows; i++) {
		if (t->rows[i].kind == KIND_PORT)
			nports++;
		else
			nclasses++;
	}
	erase();
	y = draw_head(t, &hw);
	/* rows left: minus the footer line; class rows only when they fit */
	room = lines - y - 1;
	show_classes = room >= (int)nclasses + 4;
	if (show_classes)
		room -= (int)nclasses;
	if (room < 1)
		room = 1;
	for (size_t i = 0; i < t->nrows && y < lines - 1; i++) {
		if (t->rows[i].kind != KIND_PORT)
			continue;
		if (nports > (size_t)room && shown == (size_t)room - 1) {
			snprintf(line, sizeof(line), "+%zu more", nports - shown);
			attron(A_DIM);
			mvaddnstr(y++, 0, line, cols);
			attroff(A_DIM);
			break;
		}
		draw_row(t, &t->rows[i], y++, hw);
		shown++;
	}
	if (!nports && !t->err[0] && y < lines - 1)
		mvaddnstr(y++, 0, "(no port is counted one by one: bind, police or watch one)", cols);
	for (size_t i = 0; show_classes && i < t->nrows && y < lines - 1; i++)
		if (t->rows[i].kind == KIND_CLASS)
			draw_row(t, &t->rows[i], y++, hw);
	snprintf(line, sizeof(line), "per second: guard malformed %s, fragments %s, other %s, "
		 "unreadable %s; dispatch unbound lookups %s",
		 fmt_rate(t->g_rate[0], g[0], sizeof(g[0])), fmt_rate(t->g_rate[1], g[1], sizeof(g[1])),
		 fmt_rate(t->g_rate[2], g[2], sizeof(g[2])), fmt_rate(t->g_rate[4], g[4], sizeof(g[4])),
		 fmt_rate(t->g_rate[3], g[3], sizeof(g[3])));
	mvaddnstr(lines - 1, 0, line, cols);
	refresh();
}

static int run_curses(struct top *t, uint64_t count)
{
	SCREEN *scr;
	uint64_t n = 0;

	setlocale(LC_CTYPE, "");
	t->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return pt_fail("top: cannot start the terminal UI (TERM=%s)",
			       getenv("TERM") ? getenv("TERM") : "unset");
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!stop) {
		struct timespec start, cur;

		clock_gettime(CLOCK_MONOTONIC, &start);
		draw(t);
		if (count && ++n >= count)
			break;
		for (;;) {
			int ch, ms;

			clock_gettime(CLOCK_MONOTONIC, &cur);
			ms = (int)((t->interval - now_diff(&start, &cur)) * 1000);
			if (stop || ms <= 0)
				break;
			timeout(ms < 100 ? ms : 100);
			ch = getch();
			if (ch == 'q' || ch == 'Q')
				stop = 1;
			else if (ch == KEY_RESIZE)
				draw(t);
		}
		if (!stop)
			sample(t);
	}
	endwin();
	delscreen(scr);
	return 0;
}

static void snapshot_json(const struct top *t, double dt)
{
	json_object *o = json_object_new_object(), *ports = json_object_new_array(),
		    *classes = json_object_new_array();
	static const char *const gnames[] = { "malformed_per_s", "fragments_per_s", "other_per_s",
					      "unbound_lookups_per_s", "unreadable_per_s" };

	json_object_object_add(o, "interval", json_object_new_double(dt));
	for (size_t i = 0; i < t->nrows; i++) {
		const struct top_row *r = &t->rows[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "proto", json_object_new_string(pt_proto_name(r->proto)));
		if (r->kind == KIND_CLASS) {
			json_object_object_add(e, "class", json_object_new_string(pt_class_name(r->lo)));
		} else {
			json_object_object_add(e, "port", json_object_new_int(r->lo));
			if (r->hi != r->lo)
				json_object_object_add(e, "port_hi", json_object_new_int(r->hi));
			json_object_object_add(e, "service", json_object_new_string(
				strcmp(r->service, "-") ? r->service : ""));
		}
		json_object_object_add(e, "packets_per_s", json_object_new_double(r->pps));
		json_object_object_add(e, "bytes_per_s", json_object_new_double(r->bps));
		json_object_object_add(e, "dropped_per_s", json_object_new_double(r->dps));
		json_object_object_add(e, "limited_per_s", json_object_new_double(r->lps));
		json_object_object_add(e, "xsk_per_s", json_object_new_double(r->xps));
		json_object_object_add(e, "cpu_per_s", json_object_new_double(r->cps));
		json_object_object_add(e, "fallback_per_s", json_object_new_double(r->fps));
		if (r->kind == KIND_PORT) {
			json_object_object_add(e, "steered_per_s", json_object_new_double(r->sps));
			json_object_object_add(e, "no_socket_per_s", json_object_new_double(r->nps));
		}
		json_object_array_add(r->kind == KIND_CLASS ? classes : ports, e);
	}
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "classes", classes);
	for (size_t i = 0; i < 5; i++)
		json_object_object_add(o, gnames[i], json_object_new_double(t->g_rate[i]));
	pt_json_print(o);
	json_object_put(o);
}

static void snapshot_text(const struct top *t, double dt)
{
	static const char *const hdr[] = { "PROTO", "PORT", "SERVICE", "PKTS/S", "BYTES/S",
					   "DROP/S", "STEER/S", "XSK/S", "CPU/S", "FALLBK/S" };
	size_t ncols = t->steering ? 10 : 7;
	char tbuf[16], port[16], v[7][16], g[5][16];
	time_t wall = time(NULL);
	struct pt_table tab;
	struct tm tm;

	localtime_r(&wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	printf("portier top - netns %llu - %s - rates over %.2fs\n",
	       (unsigned long long)t->netns_ino, tbuf, dt);
	printf("services %zu (%zu with a live socket)  bindings %zu  policies %zu  watches %zu\n",
	       t->services, t->live, t->bindings, t->policies, t->watches);
	pt_table_init(&tab, ncols, hdr);
	for (size_t col = 3; col < ncols; col++)
		pt_table_align_right(&tab, col);
	for (size_t i = 0; i < t->nrows; i++) {
		const struct top_row *r = &t->rows[i];
		const char *row[] = {
			pt_proto_name(r->proto), row_port(r, port, sizeof(port)), r->service,
			fmt_rate(r->pps, v[0], sizeof(v[0])), fmt_rate(r->bps, v[1], sizeof(v[1])),
			fmt_rate(r->dps + r->lps, v[2], sizeof(v[2])),
			r->kind == KIND_CLASS ? "-" : fmt_rate(r->sps, v[3], sizeof(v[3])),
			fmt_rate(r->xps, v[4], sizeof(v[4])), fmt_rate(r->cps, v[5], sizeof(v[5])),
			fmt_rate(r->fps, v[6], sizeof(v[6])),
		};

		pt_table_add(&tab, row);
	}
	pt_table_print(&tab);
	pt_table_free(&tab);
	printf("per second: guard malformed %s, fragments %s, other %s, unreadable %s; "
	       "dispatch unbound lookups %s\n",
	       fmt_rate(t->g_rate[0], g[0], sizeof(g[0])), fmt_rate(t->g_rate[1], g[1], sizeof(g[1])),
	       fmt_rate(t->g_rate[2], g[2], sizeof(g[2])), fmt_rate(t->g_rate[4], g[4], sizeof(g[4])),
	       fmt_rate(t->g_rate[3], g[3], sizeof(g[3])));
}

static void sleep_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int run_snapshots(struct top *t, uint64_t count)
{
	for (uint64_t n = 0; n < count && !stop; n++) {
		struct timespec before = t->last;
		double dt;

		sleep_for(t->interval);
		if (stop)
			break;
		if (sample(t))
			return pt_fail("top: %s", t->err);
		dt = now_diff(&before, &t->last);
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
		if (pt_json)
			snapshot_json(t, dt);
		else
			snapshot_text(t, dt);
		if (n + 1 < count && !pt_json)
			printf("\n");
		fflush(stdout);
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{},
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct top t = { .interval = 1.0 };
	uint64_t count = 0;
	bool has_count = false, interactive;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 'i':
			errno = 0;
			t.interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(t.interval) ||
			    t.interval < 0.1 || t.interval > 3600)
				return pt_bad("top: bad --interval '%s': seconds from 0.1 to 3600",
					      optarg);
			break;
		case 'c':
			if (pt_parse_uint(optarg, 1000000, &count) || !count)
				return pt_bad("top: bad --count '%s': a number from 1 to 1000000",
					      optarg);
			has_count = true;
			break;
		default:
			return pt_usage_error("top", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	ret = pt_check_positional("top", argc, argv, 0, 0);
	if (ret)
		return ret;
	interactive = !pt_json && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (!interactive && !has_count)
		count = 1;

	/* the first sample says clearly why top cannot run */
	struct pt_ctx probe;

	ret = pt_open_or_fail(&probe, PT_OPEN_READ);
	if (ret)
		return ret;
	pt_ctx_close(&probe);
	if (sample(&t)) {
		ret = pt_fail("top: %s", t.err);
		goto cleanup;
	}
	stop = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = interactive ? run_curses(&t, count) : run_snapshots(&t, count);
cleanup:
	free(t.rows);
	return ret;
}
