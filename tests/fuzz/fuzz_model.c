// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the model's edit API and the compiler (core/model.c).
 *
 * The input is read as a program of edits (service add/del, bind/unbind,
 * policy/unpolicy, watch/unwatch) and commits. Properties:
 *   - an edit that fails returns a documented error and changes nothing;
 *   - a commit (pt_assign_slots against the previous commit, pt_compile)
 *     never fails but for -ENOSPC on watches; slots are unique, in range,
 *     kept for kept keys and never reuse one the previous commit holds;
 *   - the compiled tables, looked up as the programs do (port_table,
 *     then bind_host / bind_lpm, policy_list / policy_lpm as its flags
 *     say; policy_list scanned in order, first match; the tries
 *     emulated here as the kernel answers them), answer every probe
 *     exactly as the reference lookups pt_model_bind_lookup /
 *     pt_model_policy_lookup / pt_slot_of_port do; no two entries of one
 *     trie share a key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "fuzz_common.h"
#include "parse.h"

#define MAX_OPS 48
#define MAX_COMMITS 4	/* each probes every rule: keep an input fast */
#define NNAMES 6

static const char *const names[NNAMES] = { "web", "db", "dns", "a", "b.c", "x-y_z" };
static const uint16_t port_pool[] = { 0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 1025,
				      8080, 49151, 49152, 49153, 65534, 65535 };

/* ---- inputs ---- */

static uint16_t gen_port(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (k < 200)
		return port_pool[k % (sizeof(port_pool) / sizeof(port_pool[0]))];
	return fz_u16(in);
}

static void gen_range(struct fz_in *in, uint16_t *lo, uint16_t *hi)
{
	uint8_t w = fz_u8(in);
	uint32_t width;

	*lo = gen_port(in);
	if (w < 128)
		width = 0;
	else if (w < 200)
		width = w % 24;
	else if (w < 250)
		width = fz_u16(in);
	else
		width = 65535;
	*hi = (uint16_t)((uint32_t)*lo + width > 65535 ? 65535 : *lo + width);
	if (w == 255 && *lo > 0)
		*hi = (uint16_t)(*lo - 1);	/* lo > hi: refused */
}

/* An address near 198.18.0.0 or 2001:db8::, so prefixes nest and collide. */
static void gen_addr(struct fz_in *in, uint8_t family, uint8_t addr[16])
{
	uint8_t k = fz_u8(in);

	memset(addr, 0, 16);
	if (family == PT_INET) {
		addr[0] = 198;
		addr[1] = 18 + (k & 1);
		addr[2] = (k & 2) ? fz_u8(in) : 0;
		addr[3] = (k & 4) ? fz_u8(in) : (uint8_t)(k >> 4);
		if (k == 255)
			for (int i = 0; i < 4; i++)
				addr[i] = fz_u8(in);
		return;
	}
	addr[0] = 0x20;
	addr[1] = 0x01;
	addr[2] = 0x0d;
	addr[3] = 0xb8;
	addr[7] = (k & 2) ? fz_u8(in) : 0;
	addr[15] = (k & 4) ? fz_u8(in) : (uint8_t)(k >> 4);
	if (k == 255)
		for (int i = 0; i < 16; i++)
			addr[i] = fz_u8(in);
}

static void mask(uint8_t *addr, unsigned int plen, unsigned int max)
{
	for (unsigned int b = plen; b < max; b++)
		addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static void gen_prefix(struct fz_in *in, struct pt_prefix *p)
{
	uint8_t k = fz_u8(in);
	unsigned int max;

	memset(p, 0, sizeof(*p));
	switch (k % 3) {
	case 0:
		p->family = PT_FAMILY_ANY;
		return;
	case 1:
		p->family = PT_INET;
		max = 32;
		break;
	default:
		p->family = PT_INET6;
		max = 128;
		break;
	}
	gen_addr(in, p->family, p->addr);
	p->plen = (uint8_t)(fz_u8(in) % (max + 1));
	if (k < 240)	/* now and then keep the host bits: refused */
		mask(p->addr, p->plen, max);
	if (k == 255)
		p->plen = (uint8_t)(max + 1);
}

/* ---- an LPM trie as the kernel answers it ---- */

/* One trie: its keys sorted by (prefixlen, data with the bits past the
 * prefix cleared), and its distinct prefix lengths, longest first. A
 * lookup tries each length not above the key's, longest first: the first
 * hit is the longest match. */
struct fz_key {
	uint32_t plen;
	uint8_t data[24];
	size_t index;		/* into the compiled array */
};

struct fz_trie {
	struct fz_key *k;
	size_t n, dlen, nplens;
	uint32_t plens[24 * 8 + 1];
};

static int cmp_fz_key(const void *a, const void *b)
{
	const struct fz_key *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->data, y->data, sizeof(x->data));
}

/* Load n keys `stride` bytes apart (a u32 prefixlen, then dlen bytes), as
 * the kernel would take them: no prefixlen over the key, no bits set past
 * it, no two entries with one key. */
static void trie_load(struct fz_trie *t, const void *keys, size_t stride, size_t n, size_t dlen,
		      const char *name)
{
	memset(t, 0, sizeof(*t));
	t->k = calloc(n ? n : 1, sizeof(*t->k));
	FZ_CHECK(t->k != NULL, "out of memory");
	t->n = n;
	t->dlen = dlen;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)keys + i * stride;

		memcpy(&t->k[i].plen, e, 4);
		FZ_CHECK(t->k[i].plen <= dlen * 8, "%s[%zu]: prefixlen %u", name, i, t->k[i].plen);
		memcpy(t->k[i].data, e + 4, dlen);
		mask(t->k[i].data, t->k[i].plen, (unsigned int)dlen * 8);
		FZ_CHECK(!memcmp(t->k[i].data, e + 4, dlen), "%s[%zu]: bits set past prefixlen %u",
			 name, i, t->k[i].plen);
		t->k[i].index = i;
	}
	qsort(t->k, n, sizeof(*t->k), cmp_fz_key);
	for (size_t i = 1; i < n; i++)
		FZ_CHECK(cmp_fz_key(&t->k[i - 1], &t->k[i]), "%s: entries %zu and %zu share a key",
			 name, t->k[i - 1].index, t->k[i].index);
	for (size_t i = n; i-- > 0;)
		if (!t->nplens || t->plens[t->nplens - 1] != t->k[i].plen)
			t->plens[t->nplens++] = t->k[i].plen;
}

static void trie_free(struct fz_trie *t)
{
	free(t->k);
	memset(t, 0, sizeof(*t));
}

/* Index into the compiled array of the longest match for key, or -1. */
static ssize_t trie_lookup(const struct fz_trie *t, const void *key)
{
	struct fz_key q = {};
	uint32_t qlen;

	memcpy(&qlen, key, 4);
	for (size_t i = 0; i < t->nplens; i++) {
		const struct fz_key *hit;

		if (t->plens[i] > qlen)
			continue;
		memset(q.data, 0, sizeof(q.data));
		memcpy(q.data, (const uint8_t *)key + 4, t->dlen);
		q.plen = t->plens[i];
		mask(q.data, q.plen, (unsigned int)t->dlen * 8);
		hit = bsearch(&q, t->k, t->n, sizeof(*t->k), cmp_fz_key);
		if (hit)
			return (ssize_t)hit->index;
	}
	return -1;
}

/* One generation as the programs see it: port_table is the compiled
 * array itself; bind_host, bind_lpm and policy_lpm are tries here (an
 * exact hash is a trie whose keys all have the full length). */
struct fz_tables {
	const struct pt_compiled *c;
	struct fz_trie host, bind, pol;
};

/* ---- a commit and its checks ---- */

static void probe(const struct pt_state *st, const struct fz_tables *tb, uint8_t gen,
		  uint8_t proto, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	const struct pt_compiled *c = tb->c;
	const struct pt_port_ent *ent = &c->ports[(size_t)proto * PT_PORTS + port];
	const struct pt_bind_val *bind = NULL;
	struct pt_lpm_key k = { .gen = gen, .proto = proto, .family = family,
				.class = htonl(ent->class) };
	uint32_t slot = pt_slot_of_port(st, proto, port), action, pps, rule;
	ssize_t mb, mp, hi, bi, pi;
	char a[64];

	pt_format_addr(family, addr, a, sizeof(a));
	mb = pt_model_bind_lookup(st, proto, family, addr, port);
	mp = pt_model_policy_lookup(st, proto, family, addr, port);
	k.prefixlen = PT_LPM_KEY_BITS + (family == PT_INET ? 32 : 128);
	memcpy(k.addr, addr, family == PT_INET ? 4 : 16);

	/* dispatch: bound ports only; bind_host first, then bind_lpm */
	if (ent->flags & PT_PORT_BOUND) {
		if (ent->flags & PT_PORT_HOST) {
			hi = trie_lookup(&tb->host, &k);
			if (hi >= 0 && c->hosts[hi].key.prefixlen == k.prefixlen) {
				bind = &c->hosts[hi].val;
				/* the same answer as the trie's: it is its longest match */
				bi = trie_lookup(&tb->bind, &k);
				FZ_CHECK(bi >= 0 && c->binds[bi].val.service == bind->service &&
					 c->binds[bi].val.slot == bind->slot,
					 "%s %s:%u: bind_host and bind_lpm disagree", pt_proto_name(proto), a,
					 port);
			}
		}
		if (!bind && (ent->flags & PT_PORT_NET)) {
			bi = trie_lookup(&tb->bind, &k);
			if (bi >= 0)
				bind = &c->binds[bi].val;
		}
	}
	if (mb < 0) {
		FZ_CHECK(!bind, "%s %s:%u: tables bind it to service %u, the model to none",
			 pt_proto_name(proto), a, port, bind->service);
	} else {
		FZ_CHECK(bind, "%s %s:%u: the model binds it to service %u, the tables to none",
			 pt_proto_name(proto), a, port, st->bindings[mb].service);
		FZ_CHECK(bind->service == st->bindings[mb].service,
			 "%s %s:%u: tables say service %u, the model %u", pt_proto_name(proto), a, port,
			 bind->service, st->bindings[mb].service);
		FZ_CHECK(bind->slot == slot, "%s %s:%u: bind slot %u, the model %u",
			 pt_proto_name(proto), a, port, bind->slot, slot);
	}

	/* guard: the port's slot and policy, then policy_list or policy_lpm for
	 * scoped ones */
	FZ_CHECK(ent->slot == slot, "%s %s:%u: counted in slot %u, the model %u",
		 pt_proto_name(proto), a, port, ent->slot, slot);
	action = ent->action;
	pps = ent->pps;
	rule = ent->rule;
	if ((ent->flags & PT_PORT_FROM) && (ent->flags & PT_PORT_LIST)) {
		const struct pt_policy_list *l = NULL;
		uint32_t index = PT_LIST_INDEX(gen, proto, family, ent->class % PT_LIST_CLASSES), s[4];

		/* the generation's entry of the class (an array element) */
		for (size_t i = 0; i < c->nlists && !l; i++)
			if (c->lists[i].index == index)
				l = &c->lists[i].list;
		FZ_CHECK(l, "%s port %u: LIST, but no policy_list entry %u", pt_proto_name(proto),
			 port, index);
		memcpy(s, addr, sizeof(s));
		/* every slot, as the guard scans them: those past count
		 * must match nothing */
		for (uint32_t i = 0; i < PT_LIST_LEN && l->count; i++) {
			const struct pt_list_prefix *x = &l->prefix[i];
			uint32_t words = family == PT_INET ? 1 : 4, w;

			for (w = 0; w < words && (s[w] & x->mask[w]) == x->addr[w]; w++)
				;
			if (w < words)
				continue;
			action = l->val[i].action;
			pps = l->val[i].pps;
			rule = l->val[i].rule;
			break;
		}
	} else if (ent->flags & PT_PORT_FROM) {
		struct pt_lpm_key pk = k;

		memcpy(pk.addr, addr, 16);
		pi = trie_lookup(&tb->pol, &pk);
		if (pi >= 0) {
			action = c->policies[pi].val.action;
			pps = c->policies[pi].val.pps;
			rule = c->policies[pi].val.rule;
		}
	}
	if (mp < 0)
		FZ_CHECK(action == PT_ALLOW, "%s from %s to port %u: tables say %s, the model allow",
			 pt_proto_name(proto), a, port, pt_action_name(action));
	else
		FZ_CHECK(action == st->policies[mp].action && pps == st->policies[mp].pps &&
			 rule == st->policies[mp].rule,
			 "%s from %s to port %u: tables say %s/%u rule %u, the model %s/%u rule %u",
			 pt_proto_name(proto), a, port, pt_action_name(action), pps, rule,
			 pt_action_name(st->policies[mp].action), st->policies[mp].pps,
			 st->policies[mp].rule);
}

static void probe_around(const struct pt_state *st, const struct fz_tables *c, uint8_t gen,
			 uint8_t proto, const struct pt_prefix *p, uint16_t lo, uint16_t hi,
			 struct fz_in *in)
{
	uint32_t ports[4] = { lo, hi, (uint32_t)lo - 1, (uint32_t)hi + 1 };

	for (int fam = 0; fam < PT_NFAMILY; fam++) {
		uint8_t addr[16] = {}, near[16];

		if (p->family == fam)
			memcpy(addr, p->addr, 16);
		else
			gen_addr(in, (uint8_t)fam, addr);
		memcpy(near, addr, 16);
		/* just past the prefix */
		if (p->family == fam && p->plen > 0)
			near[(p->plen - 1) / 8] ^= (uint8_t)(0x80 >> ((p->plen - 1) % 8));
		for (int i = 0; i < 4; i++) {
			if (ports[i] > 65535)
				continue;
			probe(st, c, gen, proto, (uint8_t)fam, addr, (uint16_t)ports[i]);
			probe(st, c, gen, proto, (uint8_t)fam, near, (uint16_t)ports[i]);
		}
	}
}

static void check_slots(const struct pt_state *st, const struct pt_state *prev)
{
	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];

		FZ_CHECK(s->slot >= PT_FIRST_FREE_SLOT && s->slot < PT_MAX_SLOTS, "slot %u", s->slot);
		FZ_CHECK(s->lo <= s->hi && s->proto < PT_NPROTO, "slot %zu malformed", i);
		for (size_t j = 0; j < i; j++) {
			FZ_CHECK(st->slots[j].slot != s->slot, "slot %u given twice", s->slot);
			FZ_CHECK(!(st->slots[j].proto == s->proto && st->slots[j].lo == s->lo &&
				   st->slots[j].hi == s->hi), "range %u-%u has two slots", s->lo, s->hi);
		}
		for (size_t j = 0; j < prev->nslots; j++) {
			const struct pt_slot *o = &prev->slots[j];
			bool same = o->proto == s->proto && o->lo == s->lo && o->hi == s->hi;

			FZ_CHECK(!same || o->slot == s->slot, "%u-%u moved from slot %u to %u", s->lo,
				 s->hi, o->slot, s->slot);
			FZ_CHECK(same || o->slot != s->slot,
				 "%u-%u got slot %u, which the live generation still gives %u-%u", s->lo,
				 s->hi, s->slot, o->lo, o->hi);
		}
	}
	/* every watched port has a slot of its own */
	for (size_t i = 0; i < st->nwatches; i++)
		for (uint32_t p = st->watches[i].lo; p <= st->watches[i].hi; p++) {
			bool found = false;

			for (size_t j = 0; j < st->nslots && !found; j++)
				found = st->slots[j].proto == st->watches[i].proto &&
					st->slots[j].lo == p && st->slots[j].hi == p;
			FZ_CHECK(found, "watched %s port %u has no slot",
				 pt_proto_name(st->watches[i].proto), p);
		}
}

static void commit(struct pt_state *st, struct pt_state *prev, uint8_t gen, struct fz_in *in)
{
	struct pt_compiled c = {};
	struct fz_tables tb = { .c = &c };
	uint32_t *fresh = NULL;
	size_t nfresh = 0;
	int err;

	err = pt_assign_slots(st, prev, &fresh, &nfresh);
	if (err == -ENOSPC)
		return;	/* too many watched ports: the command refuses */
	FZ_CHECK(!err, "pt_assign_slots: %d", err);
	free(fresh);
	check_slots(st, prev);
	err = pt_compile(st, gen, &c);
	FZ_CHECK(!err, "pt_compile: %d", err);
	FZ_CHECK(c.ports != NULL, "no port_table");
	trie_load(&tb.host, c.nhosts ? (const void *)&c.hosts[0].key : NULL, sizeof(c.hosts[0]),
		  c.nhosts, 24, "bind_host");
	for (size_t i = 0; i < c.nhosts; i++)
		FZ_CHECK(c.hosts[i].key.prefixlen ==
			 PT_LPM_KEY_BITS + (c.hosts[i].key.family == PT_INET ? 32u : 128u),
			 "bind_host[%zu]: prefixlen %u is not a full address", i,
			 c.hosts[i].key.prefixlen);
	trie_load(&tb.bind, c.nbinds ? (const void *)&c.binds[0].key : NULL, sizeof(c.binds[0]),
		  c.nbinds, 24, "bind_lpm");
	trie_load(&tb.pol, c.npolicies ? (const void *)&c.policies[0].key : NULL,
		  sizeof(c.policies[0]), c.npolicies, 24, "policy_lpm");
	for (size_t i = 0; i < st->nbindings; i++)
		probe_around(st, &tb, gen, st->bindings[i].proto, &st->bindings[i].prefix,
			     st->bindings[i].lo, st->bindings[i].hi, in);
	for (size_t i = 0; i < st->npolicies; i++)
		probe_around(st, &tb, gen, st->policies[i].proto, &st->policies[i].from,
			     st->policies[i].lo, st->policies[i].hi, in);
	for (size_t i = 0; i < st->nslots; i++) {
		struct pt_prefix any = { .family = PT_FAMILY_ANY };

		if (st->slots[i].lo == st->slots[i].hi && i % 4)
			continue;	/* single ports: their rules probed them already */

		probe_around(st, &tb, gen, st->slots[i].proto, &any, st->slots[i].lo, st->slots[i].hi,
			     in);
	}
	trie_free(&tb.host);
	trie_free(&tb.bind);
	trie_free(&tb.pol);
	pt_compiled_free(&c);
	pt_state_free(prev);
	FZ_CHECK(!pt_state_copy(prev, st), "pt_state_copy");
}

/* ---- edits ---- */

static void check_edit(int err, const struct pt_state *before, const struct pt_state *after,
		       const char *what)
{
	const char *why;

	FZ_CHECK(err == 0 || err == -EINVAL || err == -ENOENT || err == -EEXIST || err == -EBUSY ||
		 err == -ERANGE || err == -ENOSPC, "%s returned %d", what, err);
	if (err)
		FZ_CHECK(fz_state_eq(before, after, true, &why), "a failed %s (%d) changed %s", what,
			 err, why);
}

static uint32_t pick_service(const struct pt_state *st, struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (st->nservices && k < 240)
		return st->services[k % st->nservices].id;
	return k;	/* probably not declared: -ENOENT */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { .p = data, .n = size };
	struct pt_state st = {}, prev = {}, before = {};
	uint8_t gen = 0;
	int commits = 0;

	for (int op = 0; op < MAX_OPS && fz_more(&in); op++) {
		uint8_t k = fz_u8(&in);
		const char *what = "?";
		int err = 0;

		FZ_CHECK(!pt_state_copy(&before, &st), "pt_state_copy");
		switch (k % 9) {
		case 0: {
			uint8_t d = fz_u8(&in);
			what = "pt_service_add";
			err = pt_service_add(&st, names[d % NNAMES], d & 0x80 ? "some text" : NULL);
			break;
		}
		case 1:
			what = "pt_service_del";
			err = pt_service_del(&st, names[fz_u8(&in) % NNAMES]);
			break;
		case 2: {
			struct pt_binding b = {};

			what = "pt_binding_set";
			b.proto = fz_u8(&in) % 3;	/* 2: refused */
			gen_prefix(&in, &b.prefix);
			gen_range(&in, &b.lo, &b.hi);
			b.service = pick_service(&st, &in);
			err = pt_binding_set(&st, &b, NULL);
			break;
		}
		case 3: {
			uint8_t j = fz_u8(&in);

			what = "pt_binding_del";
			if (st.nbindings && j < 200) {
				const struct pt_binding b = st.bindings[j % st.nbindings];

				err = pt_binding_del(&st, b.proto, &b.prefix, b.lo, b.hi);
				FZ_CHECK(!err, "deleting binding %u failed: %d", j % (unsigned)st.nbindings,
					 err);
			} else {
				struct pt_prefix p;
				uint16_t lo, hi;

				gen_prefix(&in, &p);
				gen_range(&in, &lo, &hi);
				err = pt_binding_del(&st, fz_u8(&in) & 1, &p, lo, hi);
			}
			break;
		}
		case 4: {
			struct pt_policy p = {};

			what = "pt_policy_set";
			p.proto = fz_u8(&in) % 3;
			gen_range(&in, &p.lo, &p.hi);
			gen_prefix(&in, &p.from);
			p.action = fz_u8(&in) % 5;	/* 4: refused */
			p.pps = p.action == PT_LIMIT ? fz_u8(&in) : 0;
			err = pt_policy_set(&st, &p, NULL);
			break;
		}
		case 5: {
			uint8_t j = fz_u8(&in);

			what = "pt_policy_del";
			if (st.npolicies && j < 200) {
				const struct pt_policy p = st.policies[j % st.npolicies];

				err = pt_policy_del(&st, p.proto, p.lo, p.hi, &p.from);
				FZ_CHECK(!err, "deleting a policy failed: %d", err);
			} else {
				struct pt_prefix f;
				uint16_t lo, hi;

				gen_range(&in, &lo, &hi);
				gen_prefix(&in, &f);
				err = pt_policy_del(&st, fz_u8(&in) & 1, lo, hi, &f);
			}
			break;
		}
		case 6: {
			uint16_t lo, hi;
			uint8_t proto = fz_u8(&in) % 3;

			what = "pt_watch_add";
			gen_range(&in, &lo, &hi);
			if (hi >= lo && hi - lo > 64)
				hi = (uint16_t)(lo + 64);	/* watched ports each take a slot */
			err = pt_watch_add(&st, proto, lo, hi);
			break;
		}
		case 7: {
			uint16_t lo, hi;

			what = "pt_watch_del";
			gen_range(&in, &lo, &hi);
			err = pt_watch_del(&st, fz_u8(&in) & 1, lo, hi);
			break;
		}
		default:
			if (commits++ < MAX_COMMITS) {
				commit(&st, &prev, gen, &in);
				gen ^= 1;
			}
			break;
		}
		if (k % 9 != 8)
			check_edit(err, &before, &st, what);
		pt_state_free(&before);
	}
	commit(&st, &prev, gen, &in);
	pt_state_free(&st);
	pt_state_free(&prev);
	return 0;
}
