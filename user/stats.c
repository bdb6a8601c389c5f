// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sockets.h"
#include "stats.h"

static int cmp_row(const void *a, const void *b)
{
	const struct pt_stat_row *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	return x->hi - y->hi;
}

bool pt_stats_has_service(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* The services bound to a counted port (bindings covering it) or range
 * (bindings of exactly that range), comma separated. */
static void slot_services(const struct pt_state *st, const struct pt_slot *s, char *buf,
			  size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];
		const struct pt_service *svc;
		bool covers = s->lo == s->hi ? (b->lo <= s->lo && s->lo <= b->hi)
					     : (b->lo == s->lo && b->hi == s->hi);

		if (b->proto != s->proto || !covers)
			continue;
		svc = pt_service_by_id(st, b->service);
		if (!svc || pt_stats_has_service(buf, svc->name))
			continue;
		if (used + strlen(svc->name) + 2 > len)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", svc->name);
	}
}

int pt_stats_collect(struct pt_ctx *ctx, const struct pt_state *st, struct pt_stats *out)
{
	struct pt_counters *cnt;
	int err;

	memset(out, 0, sizeof(*out));
	cnt = calloc(PT_MAX_SLOTS, sizeof(*cnt));
	out->rows = calloc(st->nslots ? st->nslots : 1, sizeof(*out->rows));
	if (!cnt || !out->rows) {
		err = -ENOMEM;
		goto fail;
	}
	err = pt_read_all_counters(ctx, cnt);
	err = err ?: pt_read_global(ctx, &out->global);
	if (err)
		goto fail;
	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];
		struct pt_stat_row *r = &out->rows[out->nrows++];

		r->proto = s->proto;
		r->lo = s->lo;
		r->hi = s->hi;
		r->slot = s->slot;
		if (s->slot < PT_MAX_SLOTS)
			r->c = cnt[s->slot];
		slot_services(st, s, r->services, sizeof(r->services));
	}
	if (out->nrows)
		qsort(out->rows, out->nrows, sizeof(*out->rows), cmp_row);
	for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
		for (unsigned int cl = 0; cl < PT_NCLASS; cl++) {
			struct pt_class_row *r = &out->classes[proto * PT_NCLASS + cl];

			r->proto = proto;
			r->class = cl;
			r->c = cnt[PT_CLASS_SLOT(proto, cl)];
		}
	for (size_t i = 0; i < st->nservices; i++) {
		uint64_t cookies[2 * PT_MAX_SOCKETS];
		size_t n = 0, total = 0;

		for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
			if (!pt_service_sockets(ctx, st->services[i].id, proto, cookies,
						2 * PT_MAX_SOCKETS, &n))
				total += n;
		if (total)
			out->live_services++;
	}
	free(cnt);
	return 0;
fail:
	free(cnt);
	pt_stats_free(out);
	return err;
}

void pt_stats_free(struct pt_stats *s)
{
	free(s->rows);
	s->rows = NULL;
	s->nrows = 0;
}
