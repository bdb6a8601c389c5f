// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration model and its compiler. See docs/ARCHITECTURE.md,
 * "How the keys encode precedence", for why the output has this shape.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "model.h"

/* Arrays in pt_state are sized exactly; appending reallocates by one. */
static int append(void **arr, size_t *n, size_t size, const void *elem)
{
	void *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return -ENOMEM;
	memcpy((char *)p + *n * size, elem, size);
	*arr = p;
	(*n)++;
	return 0;
}

static void remove_at(void *arr, size_t *n, size_t size, size_t i)
{
	memmove((char *)arr + i * size, (char *)arr + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

void pt_state_free(struct pt_state *st)
{
	if (!st)
		return;
	free(st->services);
	free(st->bindings);
	free(st->policies);
	free(st->watches);
	free(st->slots);
	free(st->steers);
	memset(st, 0, sizeof(*st));
}

static int dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int pt_state_copy(struct pt_state *dst, const struct pt_state *src)
{
	struct pt_state c = *src;
	int err = 0;

	err = err ?: dup_array((void **)&c.services, src->services, src->nservices, sizeof(*c.services));
	err = err ?: dup_array((void **)&c.bindings, src->bindings, src->nbindings, sizeof(*c.bindings));
	err = err ?: dup_array((void **)&c.policies, src->policies, src->npolicies, sizeof(*c.policies));
	err = err ?: dup_array((void **)&c.watches, src->watches, src->nwatches, sizeof(*c.watches));
	err = err ?: dup_array((void **)&c.slots, src->slots, src->nslots, sizeof(*c.slots));
	err = err ?: dup_array((void **)&c.steers, src->steers, src->nsteers, sizeof(*c.steers));
	if (err) {
		/* free only what was duplicated: pointers still equal to src's were not */
		if (c.services != src->services) free(c.services);
		if (c.bindings != src->bindings) free(c.bindings);
		if (c.policies != src->policies) free(c.policies);
		if (c.watches != src->watches) free(c.watches);
		if (c.slots != src->slots) free(c.slots);
		return err;
	}
	*dst = c;
	return 0;
}

/* ---- prefixes and ports ---- */

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (!rem)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rem));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool pt_prefix_match(const struct pt_prefix *p, uint8_t family, const uint8_t addr[16])
{
	if (p->family == PT_FAMILY_ANY)
		return true;
	return p->family == family && bits_equal(p->addr, addr, p->plen);
}

bool pt_prefix_contains(const struct pt_prefix *outer, const struct pt_prefix *inner)
{
	if (outer->family == PT_FAMILY_ANY)
		return true;
	if (inner->family != outer->family)
		return false;
	return outer->plen <= inner->plen && bits_equal(outer->addr, inner->addr, outer->plen);
}

static bool prefix_equal(const struct pt_prefix *a, const struct pt_prefix *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

bool pt_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= PT_NAME_LEN - 1 && strspn(s, PT_NAME_CHARS) == n;
}

/* Text for a description: valid UTF-8, no control characters. */
static bool text_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n;

		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		/* UTF-8: a lead byte and its continuation bytes, shortest form */
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		if (*p == 0xe0 && (p[1] & 0xe0) != 0xa0)
			return false;
		if (*p == 0xed && (p[1] & 0xe0) != 0x80)
			return false;
		if (*p == 0xf0 && (p[1] < 0x90 || p[1] > 0xbf))
			return false;
		if (*p == 0xf4 && (p[1] & 0xf0) != 0x80)
			return false;
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

bool pt_desc_valid(const char *s)
{
	return strlen(s) < PT_DESC_LEN && text_valid(s);
}

bool pt_prefix_valid(const struct pt_prefix *p)
{
	static const uint8_t zero[16];
	unsigned int max;

	if (p->family == PT_FAMILY_ANY)
		return p->plen == 0 && !memcmp(p->addr, zero, 16);
	if (p->family != PT_INET && p->family != PT_INET6)
		return false;
	max = p->family == PT_INET ? 32 : 128;
	if (p->plen > max)
		return false;
	if (p->family == PT_INET && memcmp(p->addr + 4, zero, 12))
		return false;
	/* host bits zero: one key per prefix */
	for (unsigned int bit = p->plen; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* How specific a prefix is: longer wins; at equal length an explicit
 * family beats `any`. */
static int prefix_rank(const struct pt_prefix *p)
{
	return p->plen * 2 + (p->family != PT_FAMILY_ANY);
}

enum pt_class pt_port_class(uint16_t port)
{
	if (port <= 1023)
		return PT_CLASS_WELL_KNOWN;
	if (port <= 49151)
		return PT_CLASS_REGISTERED;
	return PT_CLASS_EPHEMERAL;
}

static bool ranges_partial(uint16_t alo, uint16_t ahi, uint16_t blo, uint16_t bhi)
{
	bool disjoint = ahi < blo || bhi < alo;
	bool nested = (alo <= blo && bhi <= ahi) || (blo <= alo && ahi <= bhi);

	return !disjoint && !nested;
}

/* ---- lookups ---- */

struct pt_service *pt_service_by_name(const struct pt_state *st, const char *name)
{
	for (size_t i = 0; i < st->nservices; i++)
		if (!strcmp(st->services[i].name, name))
			return &st->services[i];
	return NULL;
}

struct pt_service *pt_service_by_id(const struct pt_state *st, uint32_t id)
{
	for (size_t i = 0; i < st->nservices; i++)
		if (st->services[i].id == id)
			return &st->services[i];
	return NULL;
}

const char *pt_service_name(const struct pt_state *st, uint32_t id)
{
	const struct pt_service *s = pt_service_by_id(st, id);

	return s ? s->name : "?";
}

ssize_t pt_binding_find(const struct pt_state *st, uint8_t proto,
			const struct pt_prefix *prefix, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		if (b->proto == proto && b->lo == lo && b->hi == hi &&
		    prefix_equal(&b->prefix, prefix))
			return (ssize_t)i;
	}
	return -1;
}

ssize_t pt_policy_find(const struct pt_state *st, uint8_t proto, uint16_t lo,
		       uint16_t hi, const struct pt_prefix *from)
{
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		if (p->proto == proto && p->lo == lo && p->hi == hi &&
		    prefix_equal(&p->from, from))
			return (ssize_t)i;
	}
	return -1;
}

ssize_t pt_watch_find(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < st->nwatches; i++)
		if (st->watches[i].proto == proto && st->watches[i].lo == lo &&
		    st->watches[i].hi == hi)
			return (ssize_t)i;
	return -1;
}

ssize_t pt_steer_find(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < st->nsteers; i++)
		if (st->steers[i].proto == proto && st->steers[i].lo == lo &&
		    st->steers[i].hi == hi)
			return (ssize_t)i;
	return -1;
}

/* ---- edits ---- */

int pt_service_add(struct pt_state *st, const char *name, const char *desc)
{
	struct pt_service s = {};
	struct pt_service *old = pt_service_by_name(st, name);
	uint32_t id;

	if (!pt_name_valid(name) || (desc && !pt_desc_valid(desc)))
		return -EINVAL;
	if (old) {
		/* declaring again only updates the description */
		if (desc)
			snprintf(old->desc, sizeof(old->desc), "%s", desc);
		return 0;
	}
	if (st->nservices >= PT_MAX_SERVICES)
		return -ENOSPC;
	/* the lowest free id, so ids stay below PT_MAX_SERVICES */
	for (id = 0; id < PT_MAX_SERVICES; id++)
		if (!pt_service_by_id(st, id))
			break;
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.desc, sizeof(s.desc), "%s", desc ? desc : "");
	s.id = id;
	return append((void **)&st->services, &st->nservices, sizeof(s), &s);
}

int pt_service_del(struct pt_state *st, const char *name)
{
	struct pt_service *s = pt_service_by_name(st, name);

	if (!s)
		return -ENOENT;
	for (size_t i = 0; i < st->nbindings; i++)
		if (st->bindings[i].service == s->id)
			return -EBUSY;
	remove_at(st->services, &st->nservices, sizeof(*s), (size_t)(s - st->services));
	return 0;
}

int pt_binding_set(struct pt_state *st, const struct pt_binding *b, size_t *clash)
{
	ssize_t same;

	if (b->lo > b->hi || b->proto >= PT_NPROTO || !pt_prefix_valid(&b->prefix))
		return -EINVAL;
	if (!pt_service_by_id(st, b->service))
		return -ENOENT;
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *o = &st->bindings[i];

		if (o->proto == b->proto && prefix_equal(&o->prefix, &b->prefix) &&
		    ranges_partial(o->lo, o->hi, b->lo, b->hi)) {
			if (clash)
				*clash = i;
			return -ERANGE;
		}
	}
	same = pt_binding_find(st, b->proto, &b->prefix, b->lo, b->hi);
	if (same >= 0) {
		st->bindings[same].service = b->service;
		return 0;
	}
	if (st->nbindings >= pt_state_max_bindings(st))
		return -ENOSPC;
	return append((void **)&st->bindings, &st->nbindings, sizeof(*b), b);
}

int pt_binding_del(struct pt_state *st, uint8_t proto, const struct pt_prefix *prefix,
		   uint16_t lo, uint16_t hi)
{
	ssize_t i = pt_binding_find(st, proto, prefix, lo, hi);

	if (i < 0)
		return -ENOENT;
	remove_at(st->bindings, &st->nbindings, sizeof(st->bindings[0]), (size_t)i);
	return 0;
}

int pt_policy_set(struct pt_state *st, const struct pt_policy *p, size_t *clash)
{
	struct pt_policy np = *p;
	uint32_t rule = 0;
	ssize_t same;

	if (p->lo > p->hi || p->proto >= PT_NPROTO || p->action > PT_LIMIT ||
	    !pt_prefix_valid(&p->from))
		return -EINVAL;
	if (p->action == PT_LIMIT && p->pps == 0)
		return -EINVAL;
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *o = &st->policies[i];

		if (o->proto == p->proto && prefix_equal(&o->from, &p->from) &&
		    ranges_partial(o->lo, o->hi, p->lo, p->hi)) {
			if (clash)
				*clash = i;
			return -ERANGE;
		}
		if (o->rule > rule)
			rule = o->rule;
	}
	same = pt_policy_find(st, p->proto, p->lo, p->hi, &p->from);
	if (same >= 0) {
		np.rule = st->policies[same].rule;
		st->policies[same] = np;
		return 0;
	}
	if (st->npolicies >= PT_MAX_POLICIES)
		return -ENOSPC;
	np.rule = rule + 1;
	return append((void **)&st->policies, &st->npolicies, sizeof(np), &np);
}

int pt_policy_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi,
		  const struct pt_prefix *from)
{
	ssize_t i = pt_policy_find(st, proto, lo, hi, from);

	if (i < 0)
		return -ENOENT;
	remove_at(st->policies, &st->npolicies, sizeof(st->policies[0]), (size_t)i);
	return 0;
}

int pt_watch_add(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct pt_watch w = { .proto = proto, .lo = lo, .hi = hi };

	if (lo > hi || proto >= PT_NPROTO)
		return -EINVAL;
	if (pt_watch_find(st, proto, lo, hi) >= 0)
		return 0;
	if (st->nwatches >= PT_MAX_WATCHES)
		return -ENOSPC;
	return append((void **)&st->watches, &st->nwatches, sizeof(w), &w);
}

int pt_watch_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	ssize_t i = pt_watch_find(st, proto, lo, hi);

	if (i < 0)
		return -ENOENT;
	remove_at(st->watches, &st->nwatches, sizeof(st->watches[0]), (size_t)i);
	return 0;
}

bool pt_cpus_valid(const uint16_t *cpus, uint16_t n)
{
	if (n < 1 || n > PT_MAX_STEER_CPUS)
		return false;
	for (uint16_t i = 0; i < n; i++)
		if (cpus[i] >= PT_MAX_CPUS || (i && cpus[i] <= cpus[i - 1]))
			return false;
	return true;
}

int pt_steer_set(struct pt_state *st, const struct pt_steer *s, size_t *clash)
{
	struct pt_steer ns = *s;
	ssize_t same;

	if (s->lo > s->hi || s->proto >= PT_NPROTO || !pt_cpus_valid(s->cpus, s->ncpus))
		return -EINVAL;
	/* unused entries zero: one rule, one image */
	memset(ns.cpus + ns.ncpus, 0, (PT_MAX_STEER_CPUS - ns.ncpus) * sizeof(ns.cpus[0]));
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *o = &st->steers[i];

		if (o->proto == s->proto && ranges_partial(o->lo, o->hi, s->lo, s->hi)) {
			if (clash)
				*clash = i;
			return -ERANGE;
		}
	}
	same = pt_steer_find(st, s->proto, s->lo, s->hi);
	if (same >= 0) {
		st->steers[same] = ns;
		return 0;
	}
	if (st->nsteers >= PT_MAX_STEERS)
		return -ENOSPC;
	return append((void **)&st->steers, &st->nsteers, sizeof(ns), &ns);
}

int pt_steer_del(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	ssize_t i = pt_steer_find(st, proto, lo, hi);

	if (i < 0)
		return -ENOENT;
	remove_at(st->steers, &st->nsteers, sizeof(st->steers[0]), (size_t)i);
	return 0;
}

/* ---- counter slots ---- */

struct want {
	uint8_t proto;
	uint8_t must;		/* watched: failing to count it is an error */
	uint16_t lo, hi;
};

int pt_cmp_range(uint8_t ap, uint16_t alo, uint16_t ahi, uint8_t bp, uint16_t blo, uint16_t bhi)
{
	if (ap != bp)
		return ap - bp;
	return alo != blo ? alo - blo : ahi - bhi;
}

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	int c = pt_cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);

	return c ? c : y->must - x->must;	/* the `must` one first */
}

static int want_range(struct want **w, size_t *n, size_t *cap, uint8_t proto,
		      uint16_t lo, uint16_t hi, bool individual, bool must)
{
	if (individual) {
		for (uint32_t p = lo; p <= hi; p++) {
			if (PT_GROW(*w, *n, *cap))
				return -ENOMEM;
			(*w)[(*n)++] = (struct want){ proto, must, (uint16_t)p, (uint16_t)p };
		}
		return 0;
	}
	if (PT_GROW(*w, *n, *cap))
		return -ENOMEM;
	(*w)[(*n)++] = (struct want){ proto, must, lo, hi };
	return 0;
}

static int cmp_slot_key(const void *a, const void *b)
{
	const struct pt_slot *x = a, *y = b;

	return pt_cmp_range(x->proto, x->lo, x->hi, y->proto, y->lo, y->hi);
}

/* prev's slots sorted by key, so each look-up is a binary search */
static const struct pt_slot *find_slot(const struct pt_slot *sorted, size_t n, uint8_t proto,
				       uint16_t lo, uint16_t hi)
{
	struct pt_slot key = { .proto = proto, .lo = lo, .hi = hi };

	if (!n)
		return NULL;
	return bsearch(&key, sorted, n, sizeof(*sorted), cmp_slot_key);
}

/* Watched ports: their union, counted before anything is expanded, so a
 * thousand wide watches cost a bitmap, not a million entries. */
static int want_watched(const struct pt_state *st, struct want **w, size_t *nw, size_t *capw)
{
	uint8_t *bits = calloc(PT_NPROTO * PT_PORTS / 8, 1);
	size_t total = 0;
	int err = 0;

	if (!bits)
		return -ENOMEM;
	for (size_t i = 0; i < st->nwatches; i++)
		for (uint32_t p = st->watches[i].lo; p <= st->watches[i].hi; p++) {
			uint32_t b = (uint32_t)st->watches[i].proto * PT_PORTS + p;

			if (!(bits[b / 8] & (1u << (b % 8)))) {
				bits[b / 8] |= (uint8_t)(1u << (b % 8));
				total++;
			}
		}
	if (total > PT_MAX_SLOTS - PT_FIRST_FREE_SLOT) {
		free(bits);
		return -ENOSPC;
	}
	for (uint32_t b = 0; b < PT_NPROTO * PT_PORTS && !err; b++)
		if (bits[b / 8] & (1u << (b % 8)))
			err = want_range(w, nw, capw, (uint8_t)(b / PT_PORTS), (uint16_t)(b % PT_PORTS),
					 (uint16_t)(b % PT_PORTS), true, true);
	free(bits);
	return err;
}

/* Every range that would like a slot, sorted: watched ports one by one,
 * then the ranges of bindings and policies (narrow ones port by port). */
static int collect_wants(const struct pt_state *st, struct want **w, size_t *nw)
{
	size_t capw = 0;
	int err = st->nwatches ? want_watched(st, w, nw, &capw) : 0;

	for (size_t i = 0; i < st->nbindings && !err; i++) {
		const struct pt_binding *b = &st->bindings[i];

		err = want_range(w, nw, &capw, b->proto, b->lo, b->hi,
				 b->hi - b->lo < PT_INDIVIDUAL_MAX, false);
	}
	for (size_t i = 0; i < st->npolicies && !err; i++) {
		const struct pt_policy *p = &st->policies[i];

		err = want_range(w, nw, &capw, p->proto, p->lo, p->hi,
				 p->hi - p->lo < PT_INDIVIDUAL_MAX, false);
	}
	/* steered ports count what went to their CPUs */
	for (size_t i = 0; i < st->nsteers && !err; i++) {
		const struct pt_steer *s = &st->steers[i];

		err = want_range(w, nw, &capw, s->proto, s->lo, s->hi,
				 s->hi - s->lo < PT_INDIVIDUAL_MAX, false);
	}
	if (!err && *nw)
		qsort(*w, *nw, sizeof(**w), cmp_want);
	return err;
}

/* The slots being placed. */
struct placing {
	const struct pt_slot *prev;	/* the live generation's, sorted by key */
	size_t nprev;
	uint8_t *used;			/* PT_MAX_SLOTS flags */
	uint32_t next;			/* the lowest slot maybe free */
	struct pt_slot *slots;
	size_t nslots;
	uint32_t *newly;		/* the slots given out now */
	size_t nf;
};

/* Pass 0 keeps existing slots; pass 1 gives the rest of the watched
 * ports new ones, pass 2 the rest of the rules. */
static int place_slots(const struct want *w, size_t nw, struct placing *pl)
{
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < nw; i++) {
			const struct pt_slot *old;

			if (i && w[i].proto == w[i - 1].proto && w[i].lo == w[i - 1].lo &&
			    w[i].hi == w[i - 1].hi)
				continue;	/* same range, weaker `must` */
			old = find_slot(pl->prev, pl->nprev, w[i].proto, w[i].lo, w[i].hi);
			if (pass == 0) {
				if (old)
					pl->slots[pl->nslots++] =
						(struct pt_slot){ w[i].proto, w[i].lo, w[i].hi, old->slot };
				continue;
			}
			if (old || (pass == 1) != (w[i].must != 0))
				continue;
			while (pl->next < PT_MAX_SLOTS && pl->used[pl->next])
				pl->next++;
			if (pl->next >= PT_MAX_SLOTS) {
				if (w[i].must)
					return -ENOSPC;
				continue;	/* counted in its range or class row */
			}
			pl->used[pl->next] = 1;
			pl->newly[pl->nf++] = pl->next;
			pl->slots[pl->nslots++] = (struct pt_slot){ w[i].proto, w[i].lo, w[i].hi, pl->next };
		}
	}
	return 0;
}

int pt_assign_slots(struct pt_state *st, const struct pt_state *prev,
		    uint32_t **fresh, size_t *nfresh)
{
	struct placing pl = { .next = PT_FIRST_FREE_SLOT };
	struct pt_slot *prev_sorted = NULL;
	size_t nw = 0, nprev = prev ? prev->nslots : 0;
	struct want *w = NULL;
	int err = collect_wants(st, &w, &nw);

	if (err)
		goto cleanup;
	pl.used = calloc(PT_MAX_SLOTS, 1);
	pl.slots = calloc(nw ? nw : 1, sizeof(*pl.slots));
	pl.newly = calloc(nw ? nw : 1, sizeof(*pl.newly));
	prev_sorted = calloc(nprev ? nprev : 1, sizeof(*prev_sorted));
	if (!pl.used || !pl.slots || !pl.newly || !prev_sorted) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (nprev) {
		memcpy(prev_sorted, prev->slots, nprev * sizeof(*prev_sorted));
		qsort(prev_sorted, nprev, sizeof(*prev_sorted), cmp_slot_key);
	}
	pl.prev = prev_sorted;
	pl.nprev = nprev;
	/* Slots the live generation uses stay taken for its keys. */
	for (size_t i = 0; i < nprev; i++)
		if (prev->slots[i].slot < PT_MAX_SLOTS)
			pl.used[prev->slots[i].slot] = 1;
	err = place_slots(w, nw, &pl);
	if (err)
		goto cleanup;
	free(st->slots);
	st->slots = pl.slots;
	st->nslots = pl.nslots;
	pl.slots = NULL;
	if (fresh) {
		*fresh = pl.newly;
		pl.newly = NULL;
	}
	if (nfresh)
		*nfresh = pl.nf;
cleanup:
	free(w);
	free(pl.used);
	free(pl.slots);
	free(pl.newly);
	free(prev_sorted);
	return err;
}

uint32_t pt_slot_of_port(const struct pt_state *st, uint8_t proto, uint16_t port)
{
	const struct pt_slot *best = NULL;

	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];

		if (s->proto != proto || port < s->lo || port > s->hi)
			continue;
		if (!best || s->hi - s->lo < best->hi - best->lo ||
		    (s->hi - s->lo == best->hi - best->lo && s->lo < best->lo))
			best = s;
	}
	return best ? best->slot : PT_CLASS_SLOT(proto, pt_port_class(port));
}

/* ---- reference lookups ---- */

/* Does a beat b? Narrowest port range first, then the most specific prefix. */
static bool rule_beats(uint16_t alo, uint16_t ahi, const struct pt_prefix *ap,
		       uint16_t blo, uint16_t bhi, const struct pt_prefix *bp)
{
	uint32_t aw = (uint32_t)ahi - alo, bw = (uint32_t)bhi - blo;

	if (aw != bw)
		return aw < bw;
	return prefix_rank(ap) > prefix_rank(bp);
}

bool pt_binding_beats(const struct pt_binding *a, const struct pt_binding *b)
{
	return rule_beats(a->lo, a->hi, &a->prefix, b->lo, b->hi, &b->prefix);
}

ssize_t pt_model_bind_lookup(const struct pt_state *st, uint8_t proto, uint8_t family,
			     const uint8_t addr[16], uint16_t port)
{
	ssize_t best = -1;

	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		if (b->proto != proto || port < b->lo || port > b->hi ||
		    !pt_prefix_match(&b->prefix, family, addr))
			continue;
		if (best < 0 || pt_binding_beats(b, &st->bindings[best]))
			best = (ssize_t)i;
	}
	return best;
}

ssize_t pt_model_policy_lookup(const struct pt_state *st, uint8_t proto, uint8_t family,
			       const uint8_t src[16], uint16_t port)
{
	ssize_t best = -1;

	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		if (p->proto != proto || port < p->lo || port > p->hi ||
		    !pt_prefix_match(&p->from, family, src))
			continue;
		if (best < 0 || rule_beats(p->lo, p->hi, &p->from, st->policies[best].lo,
					   st->policies[best].hi, &st->policies[best].from))
			best = (ssize_t)i;
	}
	return best;
}

ssize_t pt_model_steer_lookup(const struct pt_state *st, uint8_t proto, uint16_t port)
{
	ssize_t best = -1;

	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *s = &st->steers[i];

		if (s->proto != proto || port < s->lo || port > s->hi)
			continue;
		if (best < 0 || s->hi - s->lo < st->steers[best].hi - st->steers[best].lo)
			best = (ssize_t)i;
	}
	return best;
}

/* ---- the compiler ---- */

/* One rule of either kind, as the compiler sees it. */
struct item {
	uint16_t lo, hi;
	const struct pt_prefix *prefix;
	size_t index;		/* into bindings or policies */
	enum pt_rule_kind kind;
};

static int cmp_item_lo(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A prefix group of one family inside one class: the best rule whose
 * prefix is exactly this one. */
struct group {
	uint8_t addr[16];
	uint8_t plen;
	const struct item *best;
	const struct item *winner;	/* best here or in any enclosing group */
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	return c ? c : (int)x->plen - (int)y->plen;
}

static bool item_beats(const struct item *a, const struct item *b)
{
	if (!b)
		return true;
	return rule_beats(a->lo, a->hi, a->prefix, b->lo, b->hi, b->prefix);
}

struct emit {
	struct pt_compiled *out;
	size_t capb, capp, caph, capl;
	const struct pt_state *st;
	uint8_t gen, proto;
};

static int emit_lpm(struct emit *e, enum pt_rule_kind kind, uint8_t family, uint32_t class,
		    const struct group *g, uint32_t slot)
{
	struct pt_lpm_key key = {
		.prefixlen = PT_LPM_KEY_BITS + g->plen,
		.gen = e->gen,
		.proto = e->proto,
		.family = family,
		.class = htonl(class),
	};

	memcpy(key.addr, g->addr, 16);
	if (kind == PT_KIND_BINDING) {
		const struct pt_binding *b = &e->st->bindings[g->winner->index];

		if (PT_GROW(e->out->binds, e->out->nbinds, e->capb))
			return -ENOMEM;
		e->out->binds[e->out->nbinds++] = (struct pt_bind_entry){
			.key = key, .val = { .service = b->service, .slot = slot },
		};
		return 0;
	}
	if (PT_GROW(e->out->policies, e->out->npolicies, e->capp))
		return -ENOMEM;
	struct pt_policy_val val = { .action = PT_ALLOW };
	if (g->winner) {
		const struct pt_policy *p = &e->st->policies[g->winner->index];

		val.action = p->action;
		val.pps = p->pps;
		val.rule = p->rule;
	}
	e->out->policies[e->out->npolicies++] = (struct pt_policy_entry){ .key = key, .val = val };
	return 0;
}

/*
 * Emit the LPM entries of one kind for one class: for each distinct prefix
 * P among the active rules, the best rule whose prefix contains P. With
 * the prefixes sorted, a stack walks the containment tree once.
 */
static int emit_kind(struct emit *e, enum pt_rule_kind kind, uint32_t class, uint32_t slot,
		     const struct item *const *act, size_t nact, struct group *gs)
{
	for (unsigned int family = 0; family < PT_NFAMILY; family++) {
		size_t ng = 0, top = 0;
		struct group **stack = NULL;
		int err = 0;

		if (kind == PT_KIND_POLICY) {
			/* every class has a policy entry for every source:
			 * allow unless a rule says otherwise */
			gs[ng++] = (struct group){ .plen = 0 };
		}
		for (size_t i = 0; i < nact; i++) {
			const struct item *it = act[i];
			uint8_t fam;

			/* counted ranges have no prefix */
			if (it->kind != kind)
				continue;
			fam = it->prefix->family;
			if (fam != family && fam != PT_FAMILY_ANY)
				continue;
			gs[ng] = (struct group){ .plen = it->prefix->plen, .best = it };
			memcpy(gs[ng].addr, it->prefix->addr, 16);
			ng++;
		}
		if (!ng)
			continue;
		qsort(gs, ng, sizeof(*gs), cmp_group);
		/* merge equal prefixes */
		size_t m = 0;
		for (size_t i = 0; i < ng; i++) {
			if (m && !cmp_group(&gs[m - 1], &gs[i])) {
				if (gs[i].best && item_beats(gs[i].best, gs[m - 1].best))
					gs[m - 1].best = gs[i].best;
				continue;
			}
			gs[m++] = gs[i];
		}
		ng = m;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
		stack = calloc(ng, sizeof(*stack));
		if (!stack)
			return -ENOMEM;
		for (size_t i = 0; i < ng && !err; i++) {
			struct group *g = &gs[i];
			struct pt_prefix gp = { .family = family, .plen = g->plen };

			memcpy(gp.addr, g->addr, 16);
			while (top) {
				struct group *t = stack[top - 1];
				struct pt_prefix tp = { .family = family, .plen = t->plen };

				memcpy(tp.addr, t->addr, 16);
				if (pt_prefix_contains(&tp, &gp))
					break;
				top--;
			}
			g->winner = top ? stack[top - 1]->winner : NULL;
			if (g->best && item_beats(g->best, g->winner))
				g->winner = g->best;
			stack[top++] = g;
			if (kind == PT_KIND_BINDING && !g->winner)
				continue;
			err = emit_lpm(e, kind, family, class, g, slot);
		}
		free(stack);
		if (err)
			return err;
	}
	return 0;
}

/* Fill the port table for the ports of one class. */
static void fill_ports(struct emit *e, uint32_t lo, uint32_t hi, uint32_t class, uint32_t slot,
		       const struct item *const *act, size_t nact)
{
	struct pt_port_ent ent = { .class = class, .slot = (uint16_t)slot, .action = PT_ALLOW };
	const struct item *any = NULL, *steer = NULL;

	for (size_t i = 0; i < nact; i++) {
		const struct item *it = act[i];

		if (it->kind == PT_KIND_STEER) {
			/* the narrowest steer rule (ranges are laminar) */
			if (!steer || it->hi - it->lo < steer->hi - steer->lo)
				steer = it;
			continue;
		}

		if (it->kind == PT_KIND_BINDING) {
			const struct pt_service *s =
				pt_service_by_id(e->st, e->st->bindings[it->index].service);

			ent.flags |= PT_PORT_BOUND;
			/* the guard serves AF_XDP services' bindings */
			if (s && s->xsk_ifindex)
				ent.flags |= PT_PORT_XSK;
		}
		if (it->kind != PT_KIND_POLICY)
			continue;
		if (it->prefix->family != PT_FAMILY_ANY) {
			ent.flags |= PT_PORT_FROM;
			continue;
		}
		/* the policy for any source: the narrowest such range */
		if (item_beats(it, any))
			any = it;
	}
	if (any) {
		const struct pt_policy *p = &e->st->policies[any->index];

		ent.action = (uint8_t)p->action;
		ent.pps = p->pps;
		ent.rule = p->rule;
	}
	if (steer) {
		/* its CPU set: the rule's index, within the generation */
		ent.flags |= PT_PORT_CPU;
		ent.steer = (uint16_t)steer->index;
	}
	for (uint32_t port = lo; port <= hi; port++)
		e->out->ports[(size_t)e->proto * PT_PORTS + port] = ent;
}

/*
 * The bind_lpm entries of one class just emitted (from index first): copy
 * the full-length ones into the host table and flag the class's ports with
 * what a look-up needs to try (HOST, NET or both).
 */
static int note_hosts(struct emit *e, size_t first, uint32_t lo, uint32_t hi)
{
	uint8_t flags = 0;

	for (size_t i = first; i < e->out->nbinds; i++) {
		const struct pt_bind_entry *b = &e->out->binds[i];
		uint32_t full = PT_LPM_KEY_BITS + (b->key.family == PT_INET ? 32 : 128);

		if (b->key.prefixlen != full) {
			flags |= PT_PORT_NET;
			continue;
		}
		flags |= PT_PORT_HOST;
		if (PT_GROW(e->out->hosts, e->out->nhosts, e->caph))
			return -ENOMEM;
		e->out->hosts[e->out->nhosts++] = *b;
	}
	for (uint32_t port = lo; port <= hi; port++)
		e->out->ports[(size_t)e->proto * PT_PORTS + port].flags |= flags;
	return 0;
}

static int cmp_policy_row(const void *a, const void *b)
{
	const struct pt_policy_entry *x = a, *y = b;

	if (x->key.prefixlen != y->key.prefixlen)
		return x->key.prefixlen > y->key.prefixlen ? -1 : 1;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

/* The policy_list entry of one family from its policy_lpm rows (n of
 * them, at most PT_LIST_LEN): longest prefix first, so that the first
 * match is the longest; the slots after them a prefix that matches no
 * source (mask zero, address not: the guard scans every slot). */
static void fill_list(struct pt_policy_list *l, struct pt_policy_entry *rows, size_t n)
{
	memset(l, 0, sizeof(*l));
	qsort(rows, n, sizeof(*rows), cmp_policy_row);
	l->count = (uint32_t)n;
	for (size_t i = n; i < PT_LIST_LEN; i++)
		l->prefix[i].addr[0] = PT_LIST_NONE;
	for (size_t i = 0; i < n; i++) {
		uint32_t plen = rows[i].key.prefixlen - PT_LPM_KEY_BITS;

		for (uint32_t w = 0; w < 4; w++) {
			uint32_t bits = plen > 32 * w ? plen - 32 * w : 0, word;

			if (bits > 32)
				bits = 32;
			l->prefix[i].mask[w] = bits ? htonl(0xffffffffU << (32 - bits)) : 0;
			memcpy(&word, rows[i].key.addr + 4 * w, 4);
			l->prefix[i].addr[w] = word & l->prefix[i].mask[w];
		}
		l->val[i] = rows[i].val;
	}
}

/*
 * The policy_lpm rows of one class just emitted (from index first): when
 * the class has a list (below PT_LIST_CLASSES) and each family's rows fit
 * one, move them into policy_list and flag the class's ports PT_PORT_LIST;
 * else they stay trie rows.
 */
static int fold_list(struct emit *e, size_t first, uint32_t class, uint32_t lo, uint32_t hi)
{
	struct pt_compiled *out = e->out;
	size_t n[PT_NFAMILY] = { 0 };
	struct pt_policy_entry *fam[PT_NFAMILY] = { NULL };

	if (class >= PT_LIST_CLASSES)
		return 0;
	for (size_t i = first; i < out->npolicies; i++)
		n[out->policies[i].key.family & 1]++;
	for (unsigned int f = 0; f < PT_NFAMILY; f++)
		if (!n[f] || n[f] > PT_LIST_LEN)
			return 0;
	/* emit_kind writes the rows family by family */
	fam[PT_INET] = &out->policies[first];
	fam[PT_INET6] = &out->policies[first + n[PT_INET]];
	if (fam[PT_INET]->key.family != PT_INET || fam[PT_INET6]->key.family != PT_INET6)
		return -EINVAL;
	for (unsigned int f = 0; f < PT_NFAMILY; f++) {
		if (PT_GROW(out->lists, out->nlists, e->capl))
			return -ENOMEM;
		out->lists[out->nlists].index = PT_LIST_INDEX(e->gen, e->proto, f, class);
		fill_list(&out->lists[out->nlists].list, fam[f], n[f]);
		out->nlists++;
	}
	out->npolicies = first;
	for (uint32_t port = lo; port <= hi; port++)
		out->ports[(size_t)e->proto * PT_PORTS + port].flags |= PT_PORT_LIST;
	return 0;
}

/* The ports of e->proto that some --from policy covers: cov[port] > 0
 * (cov has PT_PORTS + 1 entries). */
static void from_cover(const struct emit *e, int32_t *cov)
{
	for (size_t i = 0; i < e->st->npolicies; i++) {
		const struct pt_policy *p = &e->st->policies[i];

		if (p->proto != e->proto || p->from.family == PT_FAMILY_ANY)
			continue;
		cov[p->lo]++;
		cov[(uint32_t)p->hi + 1]--;
	}
	for (uint32_t port = 1; port <= PT_PORTS; port++)
		cov[port] += cov[port - 1];
}

static int compile_proto(struct emit *e)
{
	const struct pt_state *st = e->st;
	struct item *items = NULL;
	const struct item **act = NULL;
	uint32_t *bounds = NULL;
	int32_t *cov = NULL;
	struct group *gs = NULL;
	size_t nitems = 0, nbounds = 0, nact = 0, next = 0;
	size_t total = st->nbindings + st->npolicies + st->nslots + st->nsteers;
	uint32_t nfrom = 0, nfrom_done = 0, nother = 0;
	int err = 0;

	items = calloc(total + 1, sizeof(*items));
	bounds = calloc(2 * total + 4, sizeof(*bounds));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	act = calloc(total + 1, sizeof(*act));
	gs = calloc(total + 2, sizeof(*gs));
	cov = calloc(PT_PORTS + 1, sizeof(*cov));
	if (!items || !bounds || !act || !gs || !cov) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < st->nbindings; i++)
		if (st->bindings[i].proto == e->proto)
			items[nitems++] = (struct item){ st->bindings[i].lo, st->bindings[i].hi,
							 &st->bindings[i].prefix, i,
							 PT_KIND_BINDING };
	for (size_t i = 0; i < st->npolicies; i++)
		if (st->policies[i].proto == e->proto)
			items[nitems++] = (struct item){ st->policies[i].lo, st->policies[i].hi,
							 &st->policies[i].from, i,
							 PT_KIND_POLICY };
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].proto == e->proto)
			items[nitems++] = (struct item){ st->slots[i].lo, st->slots[i].hi, NULL, i,
							 PT_KIND_WATCH };
	for (size_t i = 0; i < st->nsteers; i++)
		if (st->steers[i].proto == e->proto)
			items[nitems++] = (struct item){ st->steers[i].lo, st->steers[i].hi, NULL, i,
							 PT_KIND_STEER };
	if (!nitems)
		goto cleanup;
	qsort(items, nitems, sizeof(*items), cmp_item_lo);

	/* Elementary intervals: cut at every rule's bounds and at the class
	 * borders, so each interval has one counting slot. */
	bounds[nbounds++] = 1024;
	bounds[nbounds++] = 49152;
	for (size_t i = 0; i < nitems; i++) {
		bounds[nbounds++] = items[i].lo;
		bounds[nbounds++] = (uint32_t)items[i].hi + 1;
	}
	qsort(bounds, nbounds, sizeof(*bounds), cmp_u32);

	/* Classes with --from rules are numbered first (0..nfrom-1), the
	 * others after them, each in port order: the first PT_LIST_CLASSES
	 * of them can have a policy_list entry. Such a class is an interval
	 * that a --from policy covers (every one of them gets a class). */
	from_cover(e, cov);
	for (size_t b = 0; b < nbounds && bounds[b] < PT_PORTS; b++)
		if ((!b || bounds[b] != bounds[b - 1]) && cov[bounds[b]] > 0)
			nfrom++;

	for (size_t b = 0; b < nbounds; b++) {
		uint32_t lo = bounds[b], hi;
		bool any_rule = false;
		const struct item *counted = NULL;

		if (b && bounds[b] == bounds[b - 1])
			continue;
		if (lo > 65535)
			break;
		hi = 65535;
		for (size_t c = b + 1; c < nbounds; c++)
			if (bounds[c] > lo) {
				hi = bounds[c] - 1;
				break;
			}
		/* update the active set: drop ended rules, add starting ones */
		size_t m = 0;
		for (size_t i = 0; i < nact; i++)
			if (act[i]->hi >= lo)
				act[m++] = act[i];
		nact = m;
		while (next < nitems && items[next].lo <= lo) {
			if (items[next].hi >= lo)
				act[nact++] = &items[next];
			next++;
		}
		if (!nact)
			continue;
		for (size_t i = 0; i < nact; i++) {
			if (act[i]->kind != PT_KIND_WATCH) {
				any_rule = true;
				continue;
			}
			const struct pt_slot *s = &st->slots[act[i]->index];
			if (!counted || s->hi - s->lo < st->slots[counted->index].hi -
							 st->slots[counted->index].lo)
				counted = act[i];
		}
		uint32_t slot = counted ? st->slots[counted->index].slot
					: PT_CLASS_SLOT(e->proto, pt_port_class((uint16_t)lo));

		if (!any_rule && !counted)
			continue;
		bool from = cov[lo] > 0;
		uint32_t class = from ? nfrom_done++ : nfrom + nother++;

		fill_ports(e, lo, hi, class, slot, act, nact);
		size_t first = e->out->nbinds;
		err = emit_kind(e, PT_KIND_BINDING, class, slot, act, nact, gs);
		if (!err)
			err = note_hosts(e, first, lo, hi);
		/* source look-ups only where a rule names a source */
		if (!err && from) {
			first = e->out->npolicies;
			err = emit_kind(e, PT_KIND_POLICY, class, slot, act, nact, gs);
			if (!err)
				err = fold_list(e, first, class, lo, hi);
		}
		if (err)
			goto cleanup;
	}
	if (nfrom_done != nfrom) {
		err = -EINVAL;
		goto cleanup;
	}
	e->out->nclasses[e->proto] = nfrom + nother;
cleanup:
	free(items);
	free(bounds);
	free(act);
	free(gs);
	free(cov);
	return err;
}

int pt_compile(const struct pt_state *st, uint8_t gen, struct pt_compiled *out)
{
	struct emit e = { .out = out, .st = st, .gen = gen };
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->gen = gen;
	for (size_t i = 0; st && i < st->npolicies; i++)
		if (st->policies[i].action != PT_ALLOW)
			out->enforce = 1;
	if (st && st->nsteers > PT_MAX_STEERS)
		return -ENOSPC;
	out->ports = calloc((size_t)PT_NPROTO * PT_PORTS, sizeof(*out->ports));
	if (!out->ports)
		return -ENOMEM;
	/* a CPU set per steer rule, at the rule's index */
	if (st && st->nsteers) {
		out->sets = calloc(st->nsteers, sizeof(*out->sets));
		if (!out->sets) {
			pt_compiled_free(out);
			return -ENOMEM;
		}
		out->nsets = st->nsteers;
		for (size_t i = 0; i < st->nsteers; i++) {
			out->sets[i].count = st->steers[i].ncpus;
			memcpy(out->sets[i].cpu, st->steers[i].cpus,
			       st->steers[i].ncpus * sizeof(out->sets[i].cpu[0]));
		}
	}
	/* every port starts in its class row, allowed */
	for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
		for (uint32_t port = 0; port < PT_PORTS; port++)
			out->ports[(size_t)proto * PT_PORTS + port].slot =
				(uint16_t)PT_CLASS_SLOT(proto, pt_port_class((uint16_t)port));
	for (unsigned int proto = 0; proto < PT_NPROTO && !err; proto++) {
		e.proto = proto;
		err = compile_proto(&e);
	}
	if (err)
		pt_compiled_free(out);
	return err;
}

void pt_compiled_free(struct pt_compiled *c)
{
	if (!c)
		return;
	free(c->binds);
	free(c->hosts);
	free(c->policies);
	free(c->lists);
	free(c->ports);
	free(c->sets);
	memset(c, 0, sizeof(*c));
}
