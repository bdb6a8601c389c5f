// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the configuration model and its compiler (core/model.c).
 *
 * The key test compiles many random states and compares, for many random
 * packets, what the BPF programs would find in the compiled tables with
 * what the plain-C reference lookups (pt_model_*_lookup, pt_slot_of_port)
 * say. The BPF side is emulated exactly: a BPF_MAP_TYPE_LPM_TRIE lookup is
 * "the entry with the longest prefixlen, not above the lookup key's, whose
 * first prefixlen bits equal the lookup key's", where the bits are the key
 * bytes after the u32 prefixlen, most significant bit of each byte first.
 *
 * PORTIER_SEED=N reproduces a run of the random tests (the seed in use is
 * printed as a TAP comment).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "unit.h"
#include "model.h"
#include "parse.h"

/* ---- small helpers ---- */

static struct pt_prefix pfx(const char *s)
{
	struct pt_prefix p;

	if (pt_parse_prefix(s, &p))
		fail_msg("bad prefix in test: %s: %s", s, pt_why);
	return p;
}

static void addr_of(const char *s, uint8_t *family, uint8_t addr[16])
{
	if (pt_parse_addr(s, family, addr))
		fail_msg("bad address in test: %s", s);
}

static uint32_t svc_id(const struct pt_state *st, const char *name)
{
	const struct pt_service *s = pt_service_by_name(st, name);

	if (!s)
		fail_msg("no service %s", name);
	return s->id;
}

static int bind_(struct pt_state *st, uint8_t proto, const char *prefix, uint16_t lo,
		 uint16_t hi, uint32_t service, size_t *clash)
{
	struct pt_binding b = {
		.proto = proto, .prefix = pfx(prefix), .lo = lo, .hi = hi, .service = service,
	};

	return pt_binding_set(st, &b, clash);
}

static int policy_(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi,
		   const char *from, uint32_t action, uint32_t pps, size_t *clash)
{
	struct pt_policy p = {
		.proto = proto, .lo = lo, .hi = hi, .from = pfx(from ? from : "any"),
		.action = action, .pps = pps, .rule = 777,
	};

	return pt_policy_set(st, &p, clash);
}

/* The slot assigned to exactly (proto, lo, hi); UINT32_MAX when none. */
static uint32_t assigned(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].proto == proto && st->slots[i].lo == lo && st->slots[i].hi == hi)
			return st->slots[i].slot;
	return UINT32_MAX;
}

/* steer PROTO LO-HI cpus LIST */
static int steer_(struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi, const char *cpus,
		  size_t *clash)
{
	struct pt_steer sr = { .proto = proto, .lo = lo, .hi = hi };

	assert_int_equal(pt_parse_cpus(cpus, sr.cpus, &sr.ncpus), 0);
	return pt_steer_set(st, &sr, clash);
}

static ssize_t policy_find_(const struct pt_state *st, uint8_t proto, uint16_t lo,
			    uint16_t hi, const char *from)
{
	struct pt_prefix p = pfx(from ? from : "any");

	return pt_policy_find(st, proto, lo, hi, &p);
}

static ssize_t binding_find_(const struct pt_state *st, uint8_t proto, const char *prefix,
			     uint16_t lo, uint16_t hi)
{
	struct pt_prefix p = pfx(prefix);

	return pt_binding_find(st, proto, &p, lo, hi);
}

static bool prefix_eq(const struct pt_prefix *a, const struct pt_prefix *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

static bool partial_overlap(uint16_t alo, uint16_t ahi, uint16_t blo, uint16_t bhi)
{
	bool disjoint = ahi < blo || bhi < alo;
	bool nested = (alo <= blo && bhi <= ahi) || (blo <= alo && ahi <= bhi);

	return !disjoint && !nested;
}

/* A deep copy made here, not by the code under test. */
static void *dup_n(const void *p, size_t n, size_t size)
{
	void *q;

	if (!n)
		return NULL;
	q = malloc(n * size);
	assert_non_null(q);
	memcpy(q, p, n * size);
	return q;
}

static void clone_state(struct pt_state *dst, const struct pt_state *src)
{
	*dst = *src;
	dst->services = dup_n(src->services, src->nservices, sizeof(*src->services));
	dst->bindings = dup_n(src->bindings, src->nbindings, sizeof(*src->bindings));
	dst->policies = dup_n(src->policies, src->npolicies, sizeof(*src->policies));
	dst->watches = dup_n(src->watches, src->nwatches, sizeof(*src->watches));
	dst->slots = dup_n(src->slots, src->nslots, sizeof(*src->slots));
	dst->steers = dup_n(src->steers, src->nsteers, sizeof(*src->steers));
}

/* Field by field; prints the first difference. */
static bool state_equal(const struct pt_state *a, const struct pt_state *b)
{
#define DIFF(...)                                                             \
	do {                                                                  \
		print_error("  state differs: ");                             \
		print_error(__VA_ARGS__);                                     \
		print_error("\n");                                            \
		return false;                                                 \
	} while (0)
	if (a->nservices != b->nservices)
		DIFF("nservices %zu != %zu", a->nservices, b->nservices);
	if (a->nbindings != b->nbindings)
		DIFF("nbindings %zu != %zu", a->nbindings, b->nbindings);
	if (a->npolicies != b->npolicies)
		DIFF("npolicies %zu != %zu", a->npolicies, b->npolicies);
	if (a->nwatches != b->nwatches)
		DIFF("nwatches %zu != %zu", a->nwatches, b->nwatches);
	if (a->nslots != b->nslots)
		DIFF("nslots %zu != %zu", a->nslots, b->nslots);
	if (a->nsteers != b->nsteers)
		DIFF("nsteers %zu != %zu", a->nsteers, b->nsteers);
	for (size_t i = 0; i < a->nsteers; i++)
		if (memcmp(&a->steers[i], &b->steers[i], sizeof(a->steers[i])))
			DIFF("steer %zu", i);
	for (size_t i = 0; i < a->nservices; i++) {
		const struct pt_service *x = &a->services[i], *y = &b->services[i];

		if (strcmp(x->name, y->name) || strcmp(x->desc, y->desc) || x->id != y->id)
			DIFF("service %zu: %s/%s/%u vs %s/%s/%u", i, x->name, x->desc, x->id, y->name,
			     y->desc, y->id);
	}
	for (size_t i = 0; i < a->nbindings; i++) {
		const struct pt_binding *x = &a->bindings[i], *y = &b->bindings[i];

		if (x->proto != y->proto || !prefix_eq(&x->prefix, &y->prefix) || x->lo != y->lo ||
		    x->hi != y->hi || x->service != y->service)
			DIFF("binding %zu", i);
	}
	for (size_t i = 0; i < a->npolicies; i++) {
		const struct pt_policy *x = &a->policies[i], *y = &b->policies[i];

		if (x->proto != y->proto || !prefix_eq(&x->from, &y->from) || x->lo != y->lo ||
		    x->hi != y->hi || x->action != y->action || x->pps != y->pps || x->rule != y->rule)
			DIFF("policy %zu", i);
	}
	for (size_t i = 0; i < a->nwatches; i++) {
		const struct pt_watch *x = &a->watches[i], *y = &b->watches[i];

		if (x->proto != y->proto || x->lo != y->lo || x->hi != y->hi)
			DIFF("watch %zu", i);
	}
	for (size_t i = 0; i < a->nslots; i++) {
		const struct pt_slot *x = &a->slots[i], *y = &b->slots[i];

		if (x->proto != y->proto || x->lo != y->lo || x->hi != y->hi || x->slot != y->slot)
			DIFF("slot %zu", i);
	}
	return true;
#undef DIFF
}

static void dump_state(const struct pt_state *st)
{
	char a[64], b[32];

	for (size_t i = 0; i < st->nservices; i++)
		print_error("  service %s id %u\n", st->services[i].name, st->services[i].id);
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *x = &st->bindings[i];

		print_error("  [%zu] bind %s %s %s -> %u\n", i, pt_proto_name(x->proto),
			    pt_format_prefix(&x->prefix, a, sizeof(a)),
			    pt_format_ports(x->lo, x->hi, b, sizeof(b)), x->service);
	}
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *x = &st->policies[i];

		print_error("  [%zu] policy %s %s %s %u --from %s rule %u\n", i,
			    pt_proto_name(x->proto), pt_format_ports(x->lo, x->hi, b, sizeof(b)),
			    pt_action_name(x->action), x->pps,
			    pt_format_prefix(&x->from, a, sizeof(a)), x->rule);
	}
	for (size_t i = 0; i < st->nwatches; i++)
		print_error("  watch %s %s\n", pt_proto_name(st->watches[i].proto),
			    pt_format_ports(st->watches[i].lo, st->watches[i].hi, b, sizeof(b)));
	for (size_t i = 0; i < st->nslots; i++)
		print_error("  slot %s %s = %u\n", pt_proto_name(st->slots[i].proto),
			    pt_format_ports(st->slots[i].lo, st->slots[i].hi, b, sizeof(b)),
			    st->slots[i].slot);
	for (size_t i = 0; i < st->nsteers; i++) {
		char cpus[PT_MAX_STEER_CPUS * 6];

		print_error("  [%zu] steer %s %s cpus %s\n", i, pt_proto_name(st->steers[i].proto),
			    pt_format_ports(st->steers[i].lo, st->steers[i].hi, b, sizeof(b)),
			    pt_format_cpus(st->steers[i].cpus, st->steers[i].ncpus, cpus,
					   sizeof(cpus)));
	}
}

/* splitmix64: small, seeded, reproducible */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int seed_rng(const char *what)
{
	unsigned int seed = 1234567;
	const char *env = getenv("PORTIER_SEED");

	if (env)
		seed = (unsigned int)strtoul(env, NULL, 0);
	rng_state = seed;
	print_message("# %s: seed %u (PORTIER_SEED=%u replays this run)\n", what, seed, seed);
	return seed;
}

/* ======================================================================
 * An exact emulation of BPF_MAP_TYPE_LPM_TRIE over a compiled table.
 * ====================================================================== */

#define LPM_DATA_MAX 24

struct lpm_node {
	uint32_t plen;
	uint8_t data[LPM_DATA_MAX];	/* bits past plen zeroed */
	size_t index;			/* into the compiled array */
};

struct lpm {
	struct lpm_node *nodes;
	size_t n;
	size_t dlen;			/* key data bytes */
	uint32_t plens[LPM_DATA_MAX * 8 + 1];	/* distinct, descending */
	size_t nplens;
};

static void mask_bits(uint8_t *d, size_t dlen, uint32_t plen)
{
	for (size_t bit = plen; bit < dlen * 8; bit++)
		d[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static int cmp_node(const void *a, const void *b)
{
	const struct lpm_node *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->data, y->data, LPM_DATA_MAX);
}

/*
 * Load n keys (each `stride` bytes apart, a u32 prefixlen then dlen bytes
 * of data) as the kernel would. Returns the number of problems found: a
 * prefixlen over the key size, bits set past the prefix (the kernel
 * ignores them, so two such keys can collide), duplicate keys (the second
 * update would silently overwrite the first).
 */
static int lpm_load(struct lpm *t, const void *keys, size_t stride, size_t n, size_t dlen,
		    const char *name)
{
	int problems = 0;

	memset(t, 0, sizeof(*t));
	t->dlen = dlen;
	t->n = n;
	t->nodes = calloc(n ? n : 1, sizeof(*t->nodes));
	assert_non_null(t->nodes);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = (const uint8_t *)keys + i * stride;
		struct lpm_node *nd = &t->nodes[i];
		uint8_t raw[LPM_DATA_MAX] = {};

		memcpy(&nd->plen, k, 4);
		memcpy(nd->data, k + 4, dlen);
		memcpy(raw, nd->data, dlen);
		nd->index = i;
		if (nd->plen > dlen * 8) {
			print_error("  %s[%zu]: prefixlen %u over %zu bits\n", name, i, nd->plen, dlen * 8);
			problems++;
			nd->plen = (uint32_t)dlen * 8;
		}
		mask_bits(nd->data, dlen, nd->plen);
		if (memcmp(raw, nd->data, dlen)) {
			print_error("  %s[%zu]: bits set past prefixlen %u\n", name, i, nd->plen);
			problems++;
		}
	}
	qsort(t->nodes, n, sizeof(*t->nodes), cmp_node);
	for (size_t i = 1; i < n; i++)
		if (!cmp_node(&t->nodes[i - 1], &t->nodes[i])) {
			print_error("  %s: duplicate key (entries %zu and %zu, prefixlen %u)\n", name,
				    t->nodes[i - 1].index, t->nodes[i].index, t->nodes[i].plen);
			problems++;
		}
	for (size_t i = n; i-- > 0;)
		if (!t->nplens || t->plens[t->nplens - 1] != t->nodes[i].plen)
			t->plens[t->nplens++] = t->nodes[i].plen;
	return problems;
}

static void lpm_free(struct lpm *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

/* Index into the compiled array of the longest match, or -1. */
static ssize_t lpm_lookup(const struct lpm *t, const void *key)
{
	struct lpm_node q = {};
	uint32_t kplen;

	memcpy(&kplen, key, 4);
	for (size_t i = 0; i < t->nplens; i++) {
		const struct lpm_node *hit;

		if (t->plens[i] > kplen)
			continue;
		memset(q.data, 0, sizeof(q.data));
		memcpy(q.data, (const uint8_t *)key + 4, t->dlen);
		q.plen = t->plens[i];
		mask_bits(q.data, t->dlen, q.plen);
		hit = bsearch(&q, t->nodes, t->n, sizeof(*t->nodes), cmp_node);
		if (hit)
			return (ssize_t)hit->index;
	}
	return -1;
}

/*
 * bind_host, a BPF_MAP_TYPE_HASH: an exact match on the whole key. Its key
 * is bind_lpm's without the prefixlen in front (the loader passes
 * &entry.key.gen), so the table reuses the trie's nodes at one length.
 */
#define HOST_KEY_LEN (sizeof(struct pt_lpm_key) - 4)

static int host_load(struct lpm *t, const struct pt_bind_entry *ents, size_t n)
{
	int problems = 0;

	_Static_assert(sizeof(struct pt_host_key) == HOST_KEY_LEN, "host key layout");
	_Static_assert(offsetof(struct pt_lpm_key, gen) == 4, "host key = lpm key after prefixlen");
	memset(t, 0, sizeof(*t));
	t->dlen = HOST_KEY_LEN;
	t->n = n;
	t->nodes = calloc(n ? n : 1, sizeof(*t->nodes));
	assert_non_null(t->nodes);
	for (size_t i = 0; i < n; i++) {
		t->nodes[i].plen = HOST_KEY_LEN * 8;
		memcpy(t->nodes[i].data, &ents[i].key.gen, HOST_KEY_LEN);
		t->nodes[i].index = i;
	}
	qsort(t->nodes, n, sizeof(*t->nodes), cmp_node);
	for (size_t i = 1; i < n; i++)
		if (!cmp_node(&t->nodes[i - 1], &t->nodes[i])) {
			print_error("  bind_host: duplicate key (entries %zu and %zu)\n",
				    t->nodes[i - 1].index, t->nodes[i].index);
			problems++;
		}
	return problems;
}

static ssize_t host_lookup(const struct lpm *t, const void *key)
{
	struct lpm_node q = { .plen = HOST_KEY_LEN * 8 };
	const struct lpm_node *hit;

	memcpy(q.data, key, HOST_KEY_LEN);
	hit = t->n ? bsearch(&q, t->nodes, t->n, sizeof(*t->nodes), cmp_node) : NULL;
	return hit ? (ssize_t)hit->index : -1;
}

/*
 * The per-packet tables of one or more compiled generations, loaded the
 * way the loader (user/state.c) writes them into the maps. port_table is
 * the flat ARRAY of PT_PORT_ENTRIES: the loader writes c->ports[j] at
 * PT_PORT_INDEX(gen, j / PT_PORTS, j % PT_PORTS), which is one block of
 * PT_NPROTO * PT_PORTS entries per generation (test_compile_empty checks
 * that layout index by index), so the emulation holds a pointer per block
 * (NULL: never written, all zeros, as a new array map is) rather than a
 * copy. bind_lpm and policy_lpm are one trie each, and bind_host one hash,
 * holding the entries of every generation loaded.
 */
#define GEN_BLOCK ((uint32_t)PT_NPROTO * PT_PORTS)

struct emu {
	const struct pt_port_ent *port_block[PT_PORT_ENTRIES / GEN_BLOCK];
	struct pt_bind_entry *binds;		/* what the bind trie's indexes name */
	struct pt_bind_entry *hosts;		/* the host table's */
	struct pt_policy_entry *policies;
	struct lpm bind, host, pol;
	/* policy_list: an array, zero where never written */
	struct pt_policy_list *lists;
};

static int emu_load_gens(struct emu *e, const struct pt_compiled *const *cs, size_t n)
{
	size_t nb = 0, nh = 0, np = 0;
	int problems = 0;

	/* data = the key bytes after the u32 prefixlen, no padding anywhere */
	_Static_assert(offsetof(struct pt_lpm_key, gen) == 4, "lpm key layout");
	_Static_assert(sizeof(struct pt_lpm_key) == 4 + 24, "lpm key layout");
	_Static_assert(sizeof(struct pt_port_ent) == 16, "port_table value layout");
	_Static_assert(PT_PORT_ENTRIES == 2 * GEN_BLOCK, "port_table: a block per generation");
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		nb += cs[i]->nbinds;
		nh += cs[i]->nhosts;
		np += cs[i]->npolicies;
	}
	e->binds = calloc(nb ? nb : 1, sizeof(*e->binds));
	e->hosts = calloc(nh ? nh : 1, sizeof(*e->hosts));
	e->policies = calloc(np ? np : 1, sizeof(*e->policies));
	e->lists = calloc(PT_LIST_ENTRIES, sizeof(*e->lists));
	assert_true(e->binds && e->hosts && e->policies && e->lists);
	nb = nh = np = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pt_compiled *c = cs[i];	/* its ports outlive e */
		uint32_t base = PT_PORT_INDEX(c->gen, 0, 0);

		assert_non_null(c->ports);
		/* the loader's first index of the generation; it writes the
		 * whole block over whatever was there */
		if (base % GEN_BLOCK || base >= PT_PORT_ENTRIES) {
			print_error("  port_table: gen %u starts at index %u\n", c->gen, base);
			problems++;
		} else {
			e->port_block[base / GEN_BLOCK] = c->ports;
		}
		if (c->nbinds)
			memcpy(e->binds + nb, c->binds, c->nbinds * sizeof(*c->binds));
		if (c->nhosts)
			memcpy(e->hosts + nh, c->hosts, c->nhosts * sizeof(*c->hosts));
		if (c->npolicies)
			memcpy(e->policies + np, c->policies, c->npolicies * sizeof(*c->policies));
		nb += c->nbinds;
		nh += c->nhosts;
		np += c->npolicies;
		for (size_t j = 0; j < c->nlists; j++) {
			if (c->lists[j].index >= PT_LIST_ENTRIES) {
				print_error("  policy_list: index %u\n", c->lists[j].index);
				problems++;
				continue;
			}
			e->lists[c->lists[j].index] = c->lists[j].list;
		}
	}
	problems += lpm_load(&e->bind, nb ? (void *)&e->binds[0].key : NULL, sizeof(e->binds[0]),
			     nb, 24, "bind_lpm");
	problems += host_load(&e->host, e->hosts, nh);
	problems += lpm_load(&e->pol, np ? (void *)&e->policies[0].key : NULL,
			     sizeof(e->policies[0]), np, 24, "policy_lpm");
	return problems;
}

static int emu_load(struct emu *e, const struct pt_compiled *c)
{
	return emu_load_gens(e, &c, 1);
}

static void emu_free(struct emu *e)
{
	free(e->binds);
	free(e->hosts);
	free(e->policies);
	free(e->lists);
	lpm_free(&e->bind);
	lpm_free(&e->host);
	lpm_free(&e->pol);
	memset(e, 0, sizeof(*e));
}

/* port_table look-up as guard.bpf.c and dispatch.bpf.c do it; NULL when
 * the index is out of the array (the programs then pass the packet). */
static const struct pt_port_ent *emu_port(const struct emu *e, uint8_t gen, uint8_t proto,
					  uint16_t port)
{
	static const struct pt_port_ent never_written;
	uint32_t index = PT_PORT_INDEX(gen, proto, port);
	const struct pt_port_ent *block;

	if (index >= PT_PORT_ENTRIES)
		return NULL;
	block = e->port_block[index / GEN_BLOCK];
	return block ? &block[index % GEN_BLOCK] : &never_written;
}

/* The key of a bind_lpm / policy_lpm look-up as the programs build it;
 * bind_host is looked up with the same key from its gen byte on. */
static struct pt_lpm_key emu_key(uint8_t gen, uint8_t proto, uint8_t family, uint32_t class,
				 const uint8_t addr[16])
{
	struct pt_lpm_key k = {
		.gen = gen & 1, .proto = proto, .family = family, .class = htonl(class),
	};

	if (family == PT_INET) {
		k.prefixlen = PT_LPM_KEY_BITS + 32;
		memcpy(k.addr, addr, 4);
	} else {
		k.prefixlen = PT_LPM_KEY_BITS + 128;
		memcpy(k.addr, addr, 16);
	}
	return k;
}

/* policy_list look-up as guard.bpf.c does it: none in an empty list,
 * else the first of all PT_LIST_LEN slots whose words all match (the
 * slots past count must match nothing), or -1. */
static ssize_t emu_list(const struct emu *e, uint8_t gen, uint8_t proto, uint8_t family,
			uint32_t class, const uint8_t addr[16])
{
	const struct pt_policy_list *l =
		&e->lists[PT_LIST_INDEX(gen, proto, family, class % PT_LIST_CLASSES)];
	uint32_t s[4];

	memcpy(s, addr, sizeof(s));
	for (uint32_t i = 0; i < PT_LIST_LEN && l->count; i++) {
		const struct pt_list_prefix *p = &l->prefix[i];
		uint32_t words = family == PT_INET ? 1 : 4, w;

		for (w = 0; w < words && (s[w] & p->mask[w]) == p->addr[w]; w++)
			;
		if (w == words)
			return (ssize_t)i;
	}
	return -1;
}

struct verdict {
	bool bound;
	uint32_t service, bind_slot;
	uint32_t action, pps, rule, policy_slot;
};

/*
 * What dispatch (binding) and guard (policy and counter slot) find for one
 * packet. guard: the port's entry gives slot and policy; a FROM port looks
 * its source up in its class's policy_list entry when it is LIST, else in
 * policy_lpm, and takes that row's policy if there is one.
 * dispatch: an unBOUND port is not bound; a BOUND one looks its
 * destination up in bind_host if the port is HOST, then, on a miss, in
 * bind_lpm if it is NET.
 */
static void emu_packet(const struct emu *e, uint8_t gen, uint8_t proto, uint8_t family,
		       const uint8_t addr[16], uint16_t port, struct verdict *v)
{
	const struct pt_port_ent *ent = emu_port(e, gen, proto, port);
	struct pt_lpm_key k;
	ssize_t i;

	memset(v, 0, sizeof(*v));
	v->action = PT_ALLOW;
	v->policy_slot = UINT32_MAX;	/* not in the array: uncounted, a bug */
	if (!ent)
		return;
	v->policy_slot = ent->slot;
	v->action = ent->action;
	v->pps = ent->pps;
	v->rule = ent->rule;
	if ((ent->flags & PT_PORT_FROM) && (ent->flags & PT_PORT_LIST)) {
		const struct pt_policy_list *l =
			&e->lists[PT_LIST_INDEX(gen, proto, family, ent->class % PT_LIST_CLASSES)];

		i = emu_list(e, gen, proto, family, ent->class, addr);
		if (i >= 0) {
			v->action = l->val[i].action;
			v->pps = l->val[i].pps;
			v->rule = l->val[i].rule;
		}
	} else if (ent->flags & PT_PORT_FROM) {
		k = emu_key(gen, proto, family, ent->class, addr);
		i = lpm_lookup(&e->pol, &k);
		if (i >= 0) {
			v->action = e->policies[i].val.action;
			v->pps = e->policies[i].val.pps;
			v->rule = e->policies[i].val.rule;
		}
	}
	if (ent->flags & PT_PORT_BOUND) {
		const struct pt_bind_val *bind = NULL;

		k = emu_key(gen, proto, family, ent->class, addr);
		if (ent->flags & PT_PORT_HOST) {
			i = host_lookup(&e->host, &k.gen);
			bind = i >= 0 ? &e->hosts[i].val : NULL;
		}
		if (!bind && (ent->flags & PT_PORT_NET)) {
			i = lpm_lookup(&e->bind, &k);
			bind = i >= 0 ? &e->binds[i].val : NULL;
		}
		if (bind) {
			v->bound = true;
			v->service = bind->service;
			v->bind_slot = bind->slot;
		}
	}
}

/*
 * The precedence rules written out once more, independently of model.c,
 * to check the reference model itself (the compiler shares its rule
 * comparison with it): the narrowest port range wins, then the longest
 * prefix, then an explicit family over `any`.
 */
static bool ref_prefix_match(const struct pt_prefix *p, uint8_t family, const uint8_t addr[16])
{
	if (p->family == PT_FAMILY_ANY)
		return true;
	if (p->family != family)
		return false;
	for (unsigned int b = 0; b < p->plen; b++)
		if ((p->addr[b / 8] ^ addr[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

static bool ref_better(uint16_t lo, uint16_t hi, const struct pt_prefix *p, uint16_t blo,
		       uint16_t bhi, const struct pt_prefix *bp)
{
	if (hi - lo != bhi - blo)
		return hi - lo < bhi - blo;
	if (p->plen != bp->plen)
		return p->plen > bp->plen;
	return p->family != PT_FAMILY_ANY && bp->family == PT_FAMILY_ANY;
}

static ssize_t ref_bind(const struct pt_state *st, uint8_t proto, uint8_t family,
			const uint8_t addr[16], uint16_t port)
{
	ssize_t best = -1;

	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		if (b->proto != proto || port < b->lo || port > b->hi ||
		    !ref_prefix_match(&b->prefix, family, addr))
			continue;
		if (best < 0 || ref_better(b->lo, b->hi, &b->prefix, st->bindings[best].lo,
					   st->bindings[best].hi, &st->bindings[best].prefix))
			best = (ssize_t)i;
	}
	return best;
}

static ssize_t ref_policy(const struct pt_state *st, uint8_t proto, uint8_t family,
			  const uint8_t addr[16], uint16_t port)
{
	ssize_t best = -1;

	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		if (p->proto != proto || port < p->lo || port > p->hi ||
		    !ref_prefix_match(&p->from, family, addr))
			continue;
		if (best < 0 || ref_better(p->lo, p->hi, &p->from, st->policies[best].lo,
					   st->policies[best].hi, &st->policies[best].from))
			best = (ssize_t)i;
	}
	return best;
}

/* Is slot a right answer for the port: the slot of one of the narrowest
 * counted ranges holding it (a port's own slot is the narrowest), or the
 * class row when none holds it? */
static bool ref_slot_ok(const struct pt_state *st, uint8_t proto, uint16_t port, uint32_t slot)
{
	int best = 1 << 20;
	bool ok = false;

	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];

		if (s->proto == proto && port >= s->lo && port <= s->hi && s->hi - s->lo < best)
			best = s->hi - s->lo;
	}
	if (best == 1 << 20)
		return slot == PT_CLASS_SLOT(proto, pt_port_class(port));
	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];

		ok |= s->proto == proto && port >= s->lo && port <= s->hi && s->hi - s->lo == best &&
		      s->slot == slot;
	}
	return ok;
}

/* The model's answers agree with the independent ones. */
static bool check_model(const struct pt_state *st, uint8_t proto, uint8_t family,
			const uint8_t addr[16], uint16_t port)
{
	ssize_t mb = pt_model_bind_lookup(st, proto, family, addr, port);
	ssize_t mp = pt_model_policy_lookup(st, proto, family, addr, port);
	ssize_t rb = ref_bind(st, proto, family, addr, port);
	ssize_t rp = ref_policy(st, proto, family, addr, port);
	uint32_t slot = pt_slot_of_port(st, proto, port);
	char a[64];

	if (mb == rb && mp == rp && ref_slot_ok(st, proto, port, slot))
		return true;
	print_error("  packet %s %s port %u: model binding %zd policy %zd slot %u; "
		    "test's reference binding %zd policy %zd\n",
		    pt_proto_name(proto), pt_format_addr(family, addr, a, sizeof(a)), port, mb, mp,
		    slot, rb, rp);
	return false;
}

/* What the reference model says. */
static void model_packet(const struct pt_state *st, uint8_t proto, uint8_t family,
			 const uint8_t addr[16], uint16_t port, struct verdict *v)
{
	ssize_t b = pt_model_bind_lookup(st, proto, family, addr, port);
	ssize_t p = pt_model_policy_lookup(st, proto, family, addr, port);
	uint32_t slot = pt_slot_of_port(st, proto, port);

	memset(v, 0, sizeof(*v));
	if (b >= 0) {
		v->bound = true;
		v->service = st->bindings[b].service;
		v->bind_slot = slot;
	}
	v->action = PT_ALLOW;
	if (p >= 0) {
		v->action = st->policies[p].action;
		v->pps = st->policies[p].pps;
		v->rule = st->policies[p].rule;
	}
	v->policy_slot = slot;
}

static bool verdict_eq(const struct verdict *a, const struct verdict *b)
{
	return a->bound == b->bound && a->service == b->service && a->bind_slot == b->bind_slot &&
	       a->action == b->action && a->pps == b->pps && a->rule == b->rule &&
	       a->policy_slot == b->policy_slot;
}

static void print_verdict(const char *who, const struct verdict *v)
{
	if (v->bound)
		print_error("    %-6s bound to service %u, slot %u; ", who, v->service, v->bind_slot);
	else
		print_error("    %-6s not bound; ", who);
	print_error("policy %s pps %u rule %u slot %u\n", pt_action_name(v->action), v->pps, v->rule,
		    v->policy_slot);
}

/* One packet: the emulated tables must agree with the model. */
static bool check_packet(const struct emu *e, const struct pt_state *st, uint8_t gen,
			 uint8_t proto, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	struct verdict want, got;
	char a[64];

	if (!check_model(st, proto, family, addr, port))
		return false;
	model_packet(st, proto, family, addr, port, &want);
	emu_packet(e, gen, proto, family, addr, port, &got);
	if (verdict_eq(&want, &got))
		return true;
	print_error("  packet %s %s port %u:\n", pt_proto_name(proto),
		    pt_format_addr(family, addr, a, sizeof(a)), port);
	print_verdict("model", &want);
	print_verdict("tables", &got);
	return false;
}

/* Whole entries, key then value: no padding in either. */
static int cmp_bind_entry(const void *a, const void *b)
{
	const struct pt_bind_entry *x = a, *y = b;
	int d = memcmp(&x->key.gen, &y->key.gen, sizeof(x->key) - 4);

	_Static_assert(sizeof(struct pt_bind_entry) == sizeof(struct pt_lpm_key) + 8, "no padding");
	return d ? d : memcmp(&x->val, &y->val, sizeof(x->val));
}

/* A tag per rule, so that a sum of tags names a set of rules. */
static uint64_t rule_tag(uint64_t kind, uint64_t index)
{
	uint64_t z = (kind << 40 | index) + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define NO_WIDTH UINT32_MAX

/* What st says about every port of one protocol, computed here. */
struct port_facts {
	int32_t cover[65537];		/* rules and counted ranges holding it */
	int32_t bound[65537];		/* bindings holding it */
	int32_t from[65537];		/* policies with a source prefix */
	uint64_t sig[65537];		/* sum of the tags of those two kinds */
	uint32_t slot_w[65536];		/* width of the narrowest counted range */
	uint32_t any_w[65536];		/* width of the narrowest policy for any source */
	uint32_t any_i[65536];		/* and its index */
	uint32_t steer_w[65536];	/* width of the narrowest steer rule */
	uint32_t steer_i[65536];	/* and its index */
};

static void add_span(int32_t *d, uint16_t lo, uint16_t hi)
{
	d[lo]++;
	d[(uint32_t)hi + 1]--;
}

static void port_facts(const struct pt_state *st, uint8_t proto, struct port_facts *f)
{
	memset(f, 0, sizeof(*f));
	for (uint32_t q = 0; q < 65536; q++)
		f->slot_w[q] = f->any_w[q] = f->steer_w[q] = NO_WIDTH;
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		if (b->proto != proto)
			continue;
		add_span(f->cover, b->lo, b->hi);
		add_span(f->bound, b->lo, b->hi);
		f->sig[b->lo] += rule_tag(0, i);
		f->sig[(uint32_t)b->hi + 1] -= rule_tag(0, i);
	}
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		if (p->proto != proto)
			continue;
		add_span(f->cover, p->lo, p->hi);
		if (p->from.family != PT_FAMILY_ANY) {
			add_span(f->from, p->lo, p->hi);
			f->sig[p->lo] += rule_tag(1, i);
			f->sig[(uint32_t)p->hi + 1] -= rule_tag(1, i);
			continue;
		}
		/* policies for any source never partly overlap: one narrowest */
		for (uint32_t q = p->lo; q <= p->hi; q++)
			if ((uint32_t)(p->hi - p->lo) < f->any_w[q]) {
				f->any_w[q] = (uint32_t)(p->hi - p->lo);
				f->any_i[q] = (uint32_t)i;
			}
	}
	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];

		if (s->proto != proto)
			continue;
		add_span(f->cover, s->lo, s->hi);
		for (uint32_t q = s->lo; q <= s->hi; q++)
			if ((uint32_t)(s->hi - s->lo) < f->slot_w[q])
				f->slot_w[q] = (uint32_t)(s->hi - s->lo);
	}
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *s = &st->steers[i];

		if (s->proto != proto)
			continue;
		add_span(f->cover, s->lo, s->hi);
		/* steer rules never partly overlap: one narrowest */
		for (uint32_t q = s->lo; q <= s->hi; q++)
			if ((uint32_t)(s->hi - s->lo) < f->steer_w[q]) {
				f->steer_w[q] = (uint32_t)(s->hi - s->lo);
				f->steer_i[q] = (uint32_t)i;
			}
	}
	for (uint32_t q = 1; q <= 65536; q++) {
		f->cover[q] += f->cover[q - 1];
		f->bound[q] += f->bound[q - 1];
		f->from[q] += f->from[q - 1];
		f->sig[q] += f->sig[q - 1];
	}
}

/*
 * Structural checks of one compiled generation against st.
 * port_table, every port of both protocols: a port no binding, policy or
 * counted range covers holds the default entry (class 0, its class row's
 * slot, allow, no flags); any other one holds a class id below nclasses,
 * the slot of one of the narrowest counted ranges holding it (else its
 * class row), the policy of the narrowest rule for any source (else
 * allow), BOUND exactly when a binding covers it and FROM exactly when a
 * policy with a source prefix does. Every class id is used, and all ports
 * of one class have identical entries and are covered by the same bindings
 * and source-scoped policies (the LPM rows of a class are shared).
 * bind_lpm and policy_lpm: the generation byte, key hygiene, values in
 * range; bind rows only for BOUND classes, carrying the class's slot;
 * policy rows only for FROM classes, and a /0 row in both families for
 * each of those. bind_host: exactly the full-length bind_lpm rows again;
 * a class is HOST exactly when it has such rows and NET exactly when it
 * has shorter ones (else dispatch would miss them, or look in vain).
 */
/* The mask words of a prefix of plen bits, network order. */
static void prefix_mask(uint32_t plen, uint32_t mask[4])
{
	for (uint32_t w = 0; w < 4; w++) {
		uint32_t bits = plen > 32 * w ? plen - 32 * w : 0;

		bits = bits > 32 ? 32 : bits;
		mask[w] = bits ? htonl(0xffffffffU << (32 - bits)) : 0;
	}
}

/* The length of the prefix a mask says, or -1 when it is no prefix's. */
static int mask_plen(const uint32_t mask[4])
{
	for (uint32_t plen = 0; plen <= 128; plen++) {
		uint32_t m[4];

		prefix_mask(plen, m);
		if (!memcmp(m, mask, sizeof(m)))
			return (int)plen;
	}
	return -1;
}

/*
 * policy_list of protocol p: entries only for LIST classes below
 * PT_LIST_CLASSES of this generation, one per family each; 1..PT_LIST_LEN
 * prefixes, each a proper prefix of its family (host bits zero, an IPv4
 * one in word 0), longest first (equal lengths are disjoint prefixes, in
 * either order), values in range, the last the /0 row (rows gets its
 * family's bit).
 */
static int check_lists(const struct pt_compiled *c, uint8_t p, uint8_t gen, uint32_t ncl,
		       const uint32_t *first, const uint8_t *cflags, uint8_t *rows)
{
	uint8_t *seen = calloc(ncl + 1, 1);
	int problems = 0, shown = 0;

#define BAD(...)                                                              \
	do {                                                                  \
		if (shown++ < 20) {                                           \
			print_error("  ");                                    \
			print_error(__VA_ARGS__);                             \
			print_error("\n");                                    \
		}                                                             \
		problems++;                                                   \
	} while (0)
	assert_non_null(seen);
	for (size_t i = 0; i < c->nlists; i++) {
		uint32_t index = c->lists[i].index, cl = index % PT_LIST_CLASSES;
		uint32_t fam = (index / PT_LIST_CLASSES) % PT_NFAMILY;
		uint32_t proto = (index / PT_LIST_CLASSES / PT_NFAMILY) % PT_NPROTO;
		uint32_t g = index / PT_LIST_CLASSES / PT_NFAMILY / PT_NPROTO;
		const struct pt_policy_list *l = &c->lists[i].list;
		int prev = 128;

		if (proto != p)
			continue;
		if (index >= PT_LIST_ENTRIES || g != gen) {
			BAD("policy_list[%u]: gen %u, want %u", index, g, gen);
			continue;
		}
		if (cl >= ncl || !first[cl] || !(cflags[cl] & PT_PORT_LIST)) {
			BAD("policy_list[%u]: %s class %u is not LIST", index, pt_proto_name(p), cl);
			continue;
		}
		if (seen[cl] & (1 << fam))
			BAD("policy_list[%u]: a second entry", index);
		seen[cl] |= (uint8_t)(1 << fam);
		if (!l->count || l->count > PT_LIST_LEN || l->pad) {
			BAD("policy_list[%u]: count %u pad %u", index, l->count, l->pad);
			continue;
		}
		for (uint32_t j = 0; j < l->count; j++) {
			const struct pt_list_prefix *x = &l->prefix[j];
			const struct pt_policy_val *v = &l->val[j];
			int plen = mask_plen(x->mask);

			if (plen < 0 || (fam == PT_INET && plen > 32) || plen > prev)
				BAD("policy_list[%u] %u: prefix length %d after %d", index, j, plen,
				    prev);
			prev = plen;
			for (uint32_t w = 0; w < 4; w++)
				if (x->addr[w] & ~x->mask[w])
					BAD("policy_list[%u] %u: host bits in word %u", index, j, w);
			if (v->action > PT_LIMIT || (v->action == PT_LIMIT && !v->pps) || v->pad)
				BAD("policy_list[%u] %u: action %u pps %u pad %u", index, j, v->action,
				    v->pps, v->pad);
		}
		if (!mask_plen(l->prefix[l->count - 1].mask))
			rows[cl] |= (uint8_t)(1 << fam);
		for (uint32_t j = l->count; j < PT_LIST_LEN; j++)
			if (l->prefix[j].mask[0] || l->prefix[j].addr[0] != PT_LIST_NONE ||
			    l->val[j].action)
				BAD("policy_list[%u] %u: past count, a prefix that may match", index, j);
	}
	for (uint32_t cl = 0; cl < ncl; cl++)
		if (first[cl] && (cflags[cl] & PT_PORT_LIST) && seen[cl] != 3)
			BAD("%s class %u is LIST but has policy_list entries for families %#x",
			    pt_proto_name(p), cl, seen[cl]);
	free(seen);
	return problems;
#undef BAD
}

static int check_tables(const struct pt_state *st, const struct pt_compiled *c, uint8_t gen)
{
	static struct port_facts facts;	/* large: one, reused */
	static int32_t slot_of[PT_MAX_SLOTS];	/* slot -> st->slots index */
	struct port_facts *f = &facts;
	uint8_t *ckinds[PT_NPROTO];	/* class -> HOST and NET by its bind rows */
	struct pt_bind_entry *full;
	size_t nfull = 0;
	int problems = 0, shown = 0;
	uint32_t *first[PT_NPROTO];	/* class -> its first port + 1 */
	uint8_t *cflags[PT_NPROTO];	/* class -> flags */
	uint32_t ncl[PT_NPROTO];

#define BAD(...)                                                              \
	do {                                                                  \
		if (shown++ < 20) {                                           \
			print_error("  ");                                    \
			print_error(__VA_ARGS__);                             \
			print_error("\n");                                    \
		}                                                             \
		problems++;                                                   \
	} while (0)
	if (c->gen != gen)
		BAD("compiled gen %u, want %u", c->gen, gen);
	/* a CPU set per steer rule, at its index */
	if (c->nsets != st->nsteers)
		BAD("compiled %zu CPU sets for %zu steer rules", c->nsets, st->nsteers);
	for (size_t i = 0; i < c->nsets && i < st->nsteers; i++) {
		bool same = c->sets[i].count == st->steers[i].ncpus;

		for (uint32_t j = 0; same && j < c->sets[i].count; j++)
			same = c->sets[i].cpu[j] == st->steers[i].cpus[j];
		if (!same)
			BAD("CPU set %zu is not steer rule %zu's list", i, i);
	}
	{
		/* the guard fails closed exactly when some rule is not allow */
		uint8_t want = 0;

		for (size_t i = 0; i < st->npolicies; i++)
			want |= st->policies[i].action != PT_ALLOW;
		if (c->enforce != want)
			BAD("compiled enforce %u, want %u", c->enforce, want);
	}
	assert_non_null(c->ports);
	for (size_t i = 0; i < PT_MAX_SLOTS; i++)
		slot_of[i] = -1;
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].slot < PT_MAX_SLOTS)
			slot_of[st->slots[i].slot] = (int32_t)i;

	for (uint8_t p = 0; p < PT_NPROTO; p++) {
		const struct pt_port_ent *ports = &c->ports[(size_t)p * PT_PORTS];
		const char *pn = pt_proto_name(p);

		ncl[p] = c->nclasses[p];
		if (ncl[p] > 65536) {
			BAD("nclasses[%s] = %u", pn, ncl[p]);
			ncl[p] = 65536;
		}
		first[p] = calloc(ncl[p] + 1, sizeof(*first[p]));
		cflags[p] = calloc(ncl[p] + 1, 1);
		ckinds[p] = calloc(ncl[p] + 1, 1);
		assert_true(first[p] && cflags[p] && ckinds[p]);
		port_facts(st, p, f);
		for (uint32_t q = 0; q < 65536; q++) {
			const struct pt_port_ent *x = &ports[q];
			uint32_t row = PT_CLASS_SLOT(p, pt_port_class((uint16_t)q));

			if (!f->cover[q]) {
				if (x->class || x->slot != row || x->action != PT_ALLOW || x->flags ||
				    x->pps || x->rule)
					BAD("port_table %s %u (no rule): class %u slot %u action %u flags %#x "
					    "pps %u rule %u, want class 0 slot %u allow",
					    pn, q, x->class, x->slot, x->action, x->flags, x->pps, x->rule,
					    row);
				continue;
			}
			if (x->class >= ncl[p]) {
				BAD("port_table %s %u: class %u of %u", pn, q, x->class, ncl[p]);
				continue;
			}
			if (x->flags & ~(PT_PORT_BOUND | PT_PORT_FROM | PT_PORT_HOST | PT_PORT_NET |
					 PT_PORT_CPU | PT_PORT_LIST))
				BAD("port_table %s %u: flags %#x", pn, q, x->flags);
			if ((x->flags & PT_PORT_LIST) && !(x->flags & PT_PORT_FROM))
				BAD("port_table %s %u: flags %#x: LIST but not FROM", pn, q, x->flags);
			/* CPU exactly where a steer rule covers it, with the
			 * narrowest one's set */
			if (f->steer_w[q] == NO_WIDTH) {
				if ((x->flags & PT_PORT_CPU) || x->steer)
					BAD("port_table %s %u: flags %#x steer %u, no steer rule", pn, q,
					    x->flags, x->steer);
			} else if (!(x->flags & PT_PORT_CPU) || x->steer != f->steer_i[q]) {
				BAD("port_table %s %u: flags %#x steer %u, want CPU set %u", pn, q,
				    x->flags, x->steer, f->steer_i[q]);
			}
			if ((x->flags & (PT_PORT_HOST | PT_PORT_NET)) && !(x->flags & PT_PORT_BOUND))
				BAD("port_table %s %u: flags %#x: HOST or NET but not BOUND", pn, q,
				    x->flags);
			if (!(x->flags & PT_PORT_BOUND) != !f->bound[q])
				BAD("port_table %s %u: BOUND %d, %d bindings cover it", pn, q,
				    !!(x->flags & PT_PORT_BOUND), f->bound[q]);
			if (!(x->flags & PT_PORT_FROM) != !f->from[q])
				BAD("port_table %s %u: FROM %d, %d policies --from cover it", pn, q,
				    !!(x->flags & PT_PORT_FROM), f->from[q]);
			if (f->slot_w[q] == NO_WIDTH) {
				if (x->slot != row)
					BAD("port_table %s %u: slot %u, no counted range: want class row %u",
					    pn, q, x->slot, row);
			} else {
				int32_t si = x->slot < PT_MAX_SLOTS ? slot_of[x->slot] : -1;
				const struct pt_slot *s = si >= 0 ? &st->slots[si] : NULL;

				if (!s || s->proto != p || q < s->lo || q > s->hi ||
				    (uint32_t)(s->hi - s->lo) != f->slot_w[q])
					BAD("port_table %s %u: slot %u is not a narrowest counted range's "
					    "(width %u)", pn, q, x->slot, f->slot_w[q] + 1);
			}
			if (f->any_w[q] == NO_WIDTH) {
				if (x->action != PT_ALLOW || x->pps || x->rule)
					BAD("port_table %s %u: action %u pps %u rule %u, no policy for any "
					    "source: want allow", pn, q, x->action, x->pps, x->rule);
			} else {
				const struct pt_policy *w = &st->policies[f->any_i[q]];

				if (x->action != w->action || x->pps != w->pps || x->rule != w->rule)
					BAD("port_table %s %u: action %u pps %u rule %u, want %u %u %u", pn,
					    q, x->action, x->pps, x->rule, w->action, w->pps, w->rule);
			}
			/* one class, one entry, one set of LPM-relevant rules */
			if (!first[p][x->class]) {
				first[p][x->class] = q + 1;
				cflags[p][x->class] = x->flags;
			} else {
				uint32_t q0 = first[p][x->class] - 1;
				const struct pt_port_ent *y = &ports[q0];

				if (x->slot != y->slot || x->action != y->action || x->flags != y->flags ||
				    x->pps != y->pps || x->rule != y->rule || x->steer != y->steer)
					BAD("port_table %s: ports %u and %u of class %u differ", pn, q0, q,
					    x->class);
				if (f->sig[q] != f->sig[q0])
					BAD("port_table %s: ports %u and %u share class %u but not their "
					    "bindings and --from policies", pn, q0, q, x->class);
			}
		}
		for (uint32_t cl = 0; cl < ncl[p]; cl++)
			if (!first[p][cl])
				BAD("%s class %u of %u: no port", pn, cl, ncl[p]);
	}

	for (size_t i = 0; i < c->nbinds; i++) {
		const struct pt_lpm_key *k = &c->binds[i].key;
		const struct pt_bind_val *v = &c->binds[i].val;
		uint32_t cl = ntohl(k->class);

		if (k->gen != gen)
			BAD("bind_lpm[%zu]: gen %u, want %u", i, k->gen, gen);
		if (k->proto >= PT_NPROTO || k->family >= PT_NFAMILY || k->pad) {
			BAD("bind_lpm[%zu]: proto %u family %u pad %u", i, k->proto, k->family, k->pad);
			continue;
		}
		if (cl >= ncl[k->proto] || !first[k->proto][cl]) {
			BAD("bind_lpm[%zu]: class %u has no port", i, cl);
			continue;
		}
		ckinds[k->proto][cl] |= k->prefixlen == PT_LPM_KEY_BITS +
			(k->family == PT_INET ? 32u : 128u) ? PT_PORT_HOST : PT_PORT_NET;
		if (!(cflags[k->proto][cl] & PT_PORT_BOUND))
			BAD("bind_lpm[%zu]: class %u is not BOUND: dispatch never looks", i, cl);
		else if (v->slot != c->ports[(size_t)k->proto * PT_PORTS + first[k->proto][cl] - 1].slot)
			BAD("bind_lpm[%zu]: slot %u, its class %u counts in %u", i, v->slot, cl,
			    c->ports[(size_t)k->proto * PT_PORTS + first[k->proto][cl] - 1].slot);
		if (k->prefixlen < PT_LPM_KEY_BITS ||
		    k->prefixlen > PT_LPM_KEY_BITS + (k->family == PT_INET ? 32u : 128u))
			BAD("bind_lpm[%zu]: prefixlen %u", i, k->prefixlen);
		if (!pt_service_by_id(st, v->service))
			BAD("bind_lpm[%zu]: service %u not declared", i, v->service);
		if (v->slot >= PT_MAX_SLOTS)
			BAD("bind_lpm[%zu]: slot %u", i, v->slot);
	}
	for (uint8_t p = 0; p < PT_NPROTO; p++)
		for (uint32_t cl = 0; cl < ncl[p]; cl++)
			if (first[p][cl] &&
			    (cflags[p][cl] & (PT_PORT_HOST | PT_PORT_NET)) != ckinds[p][cl])
				BAD("%s class %u: flags %#x, its bind_lpm rows want HOST %d NET %d",
				    pt_proto_name(p), cl, cflags[p][cl], !!(ckinds[p][cl] & PT_PORT_HOST),
				    !!(ckinds[p][cl] & PT_PORT_NET));
	/* bind_host: the full-length bind_lpm rows, each once, nothing else */
	full = calloc(c->nbinds + 1, sizeof(*full));
	assert_non_null(full);
	for (size_t i = 0; i < c->nbinds; i++)
		if (c->binds[i].key.prefixlen ==
		    PT_LPM_KEY_BITS + (c->binds[i].key.family == PT_INET ? 32u : 128u))
			full[nfull++] = c->binds[i];
	if (c->nhosts != nfull)
		BAD("bind_host: %zu entries, bind_lpm has %zu full-length ones", c->nhosts, nfull);
	qsort(full, nfull, sizeof(*full), cmp_bind_entry);
	for (size_t i = 0; i < c->nhosts; i++) {
		struct pt_bind_entry *hit = nfull ? bsearch(&c->hosts[i], full, nfull, sizeof(*full),
							    cmp_bind_entry) : NULL;

		if (c->hosts[i].key.prefixlen !=
		    PT_LPM_KEY_BITS + (c->hosts[i].key.family == PT_INET ? 32u : 128u))
			BAD("bind_host[%zu]: prefixlen %u: not a full-length row", i,
			    c->hosts[i].key.prefixlen);
		if (!hit)
			BAD("bind_host[%zu]: not a full-length bind_lpm row (prefixlen %u class %u)", i,
			    c->hosts[i].key.prefixlen, ntohl(c->hosts[i].key.class));
		else if (hit->key.prefixlen == UINT32_MAX)
			BAD("bind_host[%zu]: a second copy of one bind_lpm row", i);
		else
			hit->key.prefixlen = UINT32_MAX;	/* seen; sorts the same */
	}
	free(full);
	for (uint8_t p = 0; p < PT_NPROTO; p++) {
		uint8_t *rows = calloc(ncl[p] + 1, 1);	/* /0 rows: bit per family */
		uint32_t(*nrows)[PT_NFAMILY] = calloc(ncl[p] + 1, sizeof(*nrows));
		uint32_t last_from = 0, first_other = UINT32_MAX;

		assert_non_null(rows);
		assert_non_null(nrows);
		/* classes with --from rules are numbered before the others */
		for (uint32_t cl = 0; cl < ncl[p]; cl++) {
			if (!first[p][cl])
				continue;
			if (cflags[p][cl] & PT_PORT_FROM)
				last_from = cl + 1;
			else if (first_other == UINT32_MAX)
				first_other = cl;
		}
		if (first_other != UINT32_MAX && last_from > first_other)
			BAD("%s class %u has --from rules, class %u before it has none",
			    pt_proto_name(p), last_from - 1, first_other);
		for (size_t i = 0; i < c->npolicies; i++) {
			const struct pt_lpm_key *k = &c->policies[i].key;
			const struct pt_policy_val *v = &c->policies[i].val;
			uint32_t cl = ntohl(k->class);

			if (k->proto != p && (p || k->proto < PT_NPROTO))
				continue;	/* bad protos reported once, with p 0 */
			if (k->gen != gen)
				BAD("policy_lpm[%zu]: gen %u, want %u", i, k->gen, gen);
			if (k->proto >= PT_NPROTO || k->family >= PT_NFAMILY || k->pad) {
				BAD("policy_lpm[%zu]: proto %u family %u pad %u", i, k->proto, k->family,
				    k->pad);
				continue;
			}
			if (cl >= ncl[p] || !first[p][cl])
				BAD("policy_lpm[%zu]: class %u has no port", i, cl);
			else if (!(cflags[p][cl] & PT_PORT_FROM))
				BAD("policy_lpm[%zu]: %s class %u has no --from policy: guard never "
				    "looks", i, pt_proto_name(p), cl);
			else if (cflags[p][cl] & PT_PORT_LIST)
				BAD("policy_lpm[%zu]: %s class %u has a policy_list entry: guard "
				    "never looks", i, pt_proto_name(p), cl);
			else if (k->prefixlen == PT_LPM_KEY_BITS)
				rows[cl] |= (uint8_t)(1 << k->family);
			if (cl < ncl[p])
				nrows[cl][k->family]++;
			if (k->prefixlen < PT_LPM_KEY_BITS ||
			    k->prefixlen > PT_LPM_KEY_BITS + (k->family == PT_INET ? 32u : 128u))
				BAD("policy_lpm[%zu]: prefixlen %u", i, k->prefixlen);
			if (v->action > PT_LIMIT || (v->action == PT_LIMIT && !v->pps) || v->pad)
				BAD("policy_lpm[%zu]: action %u pps %u pad %u", i, v->action, v->pps,
				    v->pad);
		}
		problems += check_lists(c, p, gen, ncl[p], first[p], cflags[p], rows);
		/* a FROM class has a row for every source, in the trie or its
		 * lists; and a list wherever its rows fit one */
		for (uint32_t cl = 0; cl < ncl[p]; cl++) {
			if (!first[p][cl] || !(cflags[p][cl] & PT_PORT_FROM))
				continue;
			if (rows[cl] != 3)
				BAD("%s class %u is FROM but lacks a /0 policy row (families %#x)",
				    pt_proto_name(p), cl, rows[cl]);
			if (!(cflags[p][cl] & PT_PORT_LIST) && cl < PT_LIST_CLASSES &&
			    nrows[cl][PT_INET] <= PT_LIST_LEN && nrows[cl][PT_INET6] <= PT_LIST_LEN)
				BAD("%s class %u: %u + %u policy_lpm rows would fit policy_list",
				    pt_proto_name(p), cl, nrows[cl][PT_INET], nrows[cl][PT_INET6]);
		}
		free(rows);
		free(nrows);
	}
	for (int p = 0; p < PT_NPROTO; p++) {
		free(first[p]);
		free(cflags[p]);
		free(ckinds[p]);
	}
	return problems;
#undef BAD
}

/* Compile st into gen, load the emulation, run the structural checks. */
static int compile_and_load(const struct pt_state *st, uint8_t gen, struct pt_compiled *c,
			    struct emu *e)
{
	int problems, rc = pt_compile(st, gen, c);

	assert_int_equal(rc, 0);
	problems = check_tables(st, c, gen);
	problems += emu_load(e, c);
	return problems;
}

/* ======================================================================
 * Edits
 * ====================================================================== */

static void test_service_add_ids(void **state)
{
	struct pt_state st = {};

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(pt_service_add(&st, "b", "bee"), 0);
	assert_int_equal(pt_service_add(&st, "c", NULL), 0);
	assert_int_equal(svc_id(&st, "a"), 0);
	assert_int_equal(svc_id(&st, "b"), 1);
	assert_int_equal(svc_id(&st, "c"), 2);
	assert_string_equal(pt_service_by_name(&st, "b")->desc, "bee");
	assert_string_equal(pt_service_by_name(&st, "a")->desc, "");
	/* the lowest free id is reused */
	assert_int_equal(pt_service_del(&st, "b"), 0);
	assert_null(pt_service_by_name(&st, "b"));
	assert_null(pt_service_by_id(&st, 1));
	assert_int_equal(pt_service_add(&st, "d", NULL), 0);
	assert_int_equal(svc_id(&st, "d"), 1);
	assert_int_equal(pt_service_add(&st, "e", NULL), 0);
	assert_int_equal(svc_id(&st, "e"), 3);
	assert_int_equal(pt_service_del(&st, "a"), 0);
	assert_int_equal(pt_service_add(&st, "f", NULL), 0);
	assert_int_equal(svc_id(&st, "f"), 0);
	assert_int_equal(st.nservices, 4);
	assert_string_equal(pt_service_by_id(&st, 3)->name, "e");
	pt_state_free(&st);
}

static void test_service_redeclare(void **state)
{
	struct pt_state st = {};

	assert_int_equal(pt_service_add(&st, "irene", "web app dev server"), 0);
	assert_int_equal(pt_service_add(&st, "bob", NULL), 0);
	/* declaring again only updates the description */
	assert_int_equal(pt_service_add(&st, "irene", "moved upstairs"), 0);
	assert_int_equal(st.nservices, 2);
	assert_int_equal(svc_id(&st, "irene"), 0);
	assert_string_equal(pt_service_by_name(&st, "irene")->desc, "moved upstairs");
	/* without --desc the description stays */
	assert_int_equal(pt_service_add(&st, "irene", NULL), 0);
	assert_string_equal(pt_service_by_name(&st, "irene")->desc, "moved upstairs");
	assert_int_equal(st.nservices, 2);
	/* an empty --desc clears it */
	assert_int_equal(pt_service_add(&st, "irene", ""), 0);
	assert_string_equal(pt_service_by_name(&st, "irene")->desc, "");
	assert_int_equal(svc_id(&st, "bob"), 1);
	pt_state_free(&st);
}

static void test_service_add_limits(void **state)
{
	struct pt_state st = {}, before;
	char name[40], desc[PT_DESC_LEN + 4];

	memset(name, 'n', 31);
	name[31] = 0;
	assert_int_equal(pt_service_add(&st, name, NULL), 0);	/* 31 chars */
	assert_non_null(pt_service_by_name(&st, name));
	name[31] = 'n';
	name[32] = 0;
	clone_state(&before, &st);
	assert_int_equal(pt_service_add(&st, name, NULL), -EINVAL);	/* 32 chars */
	assert_true(state_equal(&st, &before));
	memset(desc, 'd', PT_DESC_LEN - 1);
	desc[PT_DESC_LEN - 1] = 0;
	assert_int_equal(pt_service_add(&st, "x", desc), 0);	/* 95 chars */
	assert_string_equal(pt_service_by_name(&st, "x")->desc, desc);
	pt_state_free(&before);
	clone_state(&before, &st);
	desc[PT_DESC_LEN - 1] = 'd';
	desc[PT_DESC_LEN] = 0;
	assert_int_equal(pt_service_add(&st, "y", desc), -EINVAL);	/* 96 chars */
	assert_int_equal(pt_service_add(&st, "x", desc), -EINVAL);	/* also on redeclare */
	assert_true(state_equal(&st, &before));
	pt_state_free(&before);
	pt_state_free(&st);

	/* at most PT_MAX_SERVICES, ids 0..PT_MAX_SERVICES-1 */
	for (int i = 0; i < PT_MAX_SERVICES; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(pt_service_add(&st, name, NULL), 0);
		assert_int_equal(svc_id(&st, name), i);
	}
	clone_state(&before, &st);
	assert_int_equal(pt_service_add(&st, "one-too-many", NULL), -ENOSPC);
	assert_true(state_equal(&st, &before));
	/* redeclaring an existing one is still fine when full */
	assert_int_equal(pt_service_add(&st, "s7", "seven"), 0);
	assert_int_equal(pt_service_del(&st, "s500"), 0);
	assert_int_equal(pt_service_add(&st, "late", NULL), 0);
	assert_int_equal(svc_id(&st, "late"), 500);
	pt_state_free(&before);
	pt_state_free(&st);
}

/*
 * Service names reach the model from `apply FILE` and from the pinned
 * records as well as from the command line: the model must refuse what
 * pt_parse_name refuses (the contract: 1-31 chars of [a-z0-9_.-]).
 */
static void test_service_add_validates_name(void **state)
{
	static const char *const bad[] = { "", "Web", "a b", "a/b", "a\nb" };
	struct pt_state st = {};

	for (size_t i = 0; i < N(bad); i++) {
		int rc = pt_service_add(&st, bad[i], NULL);

		EXPECT(rc == -EINVAL, "pt_service_add(\"%s\") = %d, want -EINVAL", bad[i], rc);
	}
	EXPECT(st.nservices == 0, "%zu services were declared", st.nservices);
	pt_state_free(&st);
	DONE();
}

static void test_service_del(void **state)
{
	struct pt_state st = {}, before;
	uint32_t a;

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(pt_service_add(&st, "b", NULL), 0);
	a = svc_id(&st, "a");
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.2/32", 80, 80, a, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "any", 53, 53, a, NULL), 0);
	clone_state(&before, &st);
	assert_int_equal(pt_service_del(&st, "a"), -EBUSY);
	assert_int_equal(pt_service_del(&st, "nosuch"), -ENOENT);
	assert_int_equal(pt_service_del(&st, ""), -ENOENT);
	assert_true(state_equal(&st, &before));
	/* still busy while any binding refers */
	assert_int_equal(pt_binding_del(&st, PT_TCP, &(struct pt_prefix){ .family = PT_INET, .plen = 32,
				       .addr = { 198, 18, 0, 2 } }, 80, 80), 0);
	assert_int_equal(pt_service_del(&st, "a"), -EBUSY);
	/* a rebind moves the reference away */
	assert_int_equal(bind_(&st, PT_UDP, "any", 53, 53, svc_id(&st, "b"), NULL), 0);
	assert_int_equal(pt_service_del(&st, "a"), 0);
	assert_null(pt_service_by_name(&st, "a"));
	assert_int_equal(pt_service_del(&st, "a"), -ENOENT);
	assert_int_equal(pt_service_del(&st, "b"), -EBUSY);
	/* policies do not refer to services */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_service_add(&st, "c", NULL), 0);
	assert_int_equal(pt_service_del(&st, "c"), 0);
	pt_state_free(&before);
	pt_state_free(&st);
}

static void test_binding_set_errors(void **state)
{
	struct pt_state st = {}, before;
	struct pt_binding b = { .proto = PT_TCP, .prefix = pfx("any"), .lo = 80, .hi = 80 };

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 1000, 2000, 0, NULL), 0);
	clone_state(&before, &st);
	b.service = 1;	/* not declared: a typo must not create one */
	assert_int_equal(pt_binding_set(&st, &b, NULL), -ENOENT);
	b.service = 0;
	b.lo = 81;
	assert_int_equal(pt_binding_set(&st, &b, NULL), -EINVAL);	/* LO > HI */
	b.lo = 65535;
	b.hi = 0;
	assert_int_equal(pt_binding_set(&st, &b, NULL), -EINVAL);
	b.lo = b.hi = 80;
	b.proto = PT_NPROTO;
	assert_int_equal(pt_binding_set(&st, &b, NULL), -EINVAL);
	b.proto = 255;
	assert_int_equal(pt_binding_set(&st, &b, NULL), -EINVAL);
	assert_true(state_equal(&st, &before));
	/* the edge values are fine */
	b.proto = PT_UDP;
	b.lo = 0;
	b.hi = 65535;
	assert_int_equal(pt_binding_set(&st, &b, NULL), 0);
	b.lo = b.hi = 65535;
	assert_int_equal(pt_binding_set(&st, &b, NULL), 0);
	b.lo = b.hi = 0;
	assert_int_equal(pt_binding_set(&st, &b, NULL), 0);
	assert_int_equal(st.nbindings, 4);
	pt_state_free(&before);
	pt_state_free(&st);
}

/*
 * A prefix that pt_parse_prefix could not have produced is a bad value
 * too: the model is also fed by `apply FILE` and by the pinned records.
 */
static void test_binding_set_validates_prefix(void **state)
{
	struct pt_state st = {};
	struct pt_binding b = { .proto = PT_TCP, .lo = 80, .hi = 80 };
	const struct {
		const char *what;
		struct pt_prefix p;
	} bad[] = {
		{ "IPv4 /33", { .family = PT_INET, .plen = 33 } },
		{ "IPv6 /129", { .family = PT_INET6, .plen = 129 } },
		{ "family 3", { .family = 3, .plen = 0 } },
		{ "any /8", { .family = PT_FAMILY_ANY, .plen = 8 } },
		{ "198.18.0.1/24 (host bits)", { .family = PT_INET, .plen = 24, .addr = { 198, 18, 0, 1 } } },
		{ "IPv4 with bytes past the 4th", { .family = PT_INET, .plen = 32, .addr = { 198, 18, 0, 1, 9 } } },
	};

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	for (size_t i = 0; i < N(bad); i++) {
		int rc;

		b.prefix = bad[i].p;
		rc = pt_binding_set(&st, &b, NULL);
		EXPECT(rc == -EINVAL, "pt_binding_set with %s = %d, want -EINVAL", bad[i].what, rc);
	}
	EXPECT(st.nbindings == 0, "%zu bad bindings stored", st.nbindings);
	pt_state_free(&st);
	DONE();
}

static void test_binding_overlap(void **state)
{
	struct pt_state st = {}, before;
	size_t clash = 12345;
	uint32_t a, b;

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(pt_service_add(&st, "b", NULL), 0);
	a = svc_id(&st, "a");
	b = svc_id(&st, "b");
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 100, 200, a, NULL), 0);	/* [0] */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 1000, 2000, a, NULL), 0);	/* [1] */
	clone_state(&before, &st);
	/* partial overlap on the same proto and prefix: refused, with the clash */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 150, 250, b, &clash), -ERANGE);
	assert_int_equal(clash, 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 50, 100, b, &clash), -ERANGE);
	assert_int_equal(clash, 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 200, 1000, b, &clash), -ERANGE);
	assert_true(clash == 0 || clash == 1);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 1500, 2500, b, &clash), -ERANGE);
	assert_int_equal(clash, 1);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 2000, 2001, b, NULL), -ERANGE);
	assert_true(state_equal(&st, &before));
	/* nested (either way), touching and disjoint ranges are fine */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 150, 160, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 100, 100, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 200, 200, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 0, 65535, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 201, 999, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 2001, 2001, b, NULL), 0);
	/* partial overlap with another prefix, protocol or family: allowed */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/16", 150, 250, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.2", 150, 250, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 150, 250, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "0.0.0.0/0", 180, 280, b, NULL), 0);	/* not `any` */
	assert_int_equal(bind_(&st, PT_TCP, "2001:db8::/32", 150, 250, b, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "198.18.0.0/15", 150, 250, b, NULL), 0);
	/* but those, in turn, are checked among themselves */
	assert_int_equal(bind_(&st, PT_TCP, "any", 200, 300, b, &clash), -ERANGE);
	assert_true(st.bindings[clash].prefix.family == PT_FAMILY_ANY);
	assert_int_equal(st.bindings[clash].lo, 150);
	/* an identical key rebinds to the new service */
	size_t n = st.nbindings;
	ssize_t i = binding_find_(&st, PT_TCP, "198.18.0.0/15", 100, 200);

	assert_true(i == 0);
	assert_int_equal(st.bindings[0].service, a);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 100, 200, b, NULL), 0);
	assert_int_equal(st.nbindings, n);
	assert_int_equal(st.bindings[0].service, b);
	assert_int_equal(binding_find_(&st, PT_TCP, "198.18.0.0/15", 100, 200), 0);
	/* and back */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 100, 200, a, NULL), 0);
	assert_int_equal(st.bindings[0].service, a);
	assert_int_equal(st.nbindings, n);
	assert_int_equal(binding_find_(&st, PT_UDP, "198.18.0.0/15", 100, 200), -1);
	pt_state_free(&before);
	pt_state_free(&st);
}

static void test_binding_del(void **state)
{
	struct pt_state st = {}, before;
	struct pt_prefix p = pfx("2001:db8::/64");

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "2001:db8::/64", 443, 443, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 443, 443, 0, NULL), 0);
	clone_state(&before, &st);
	assert_int_equal(pt_binding_del(&st, PT_UDP, &p, 443, 443), -ENOENT);
	assert_int_equal(pt_binding_del(&st, PT_TCP, &p, 443, 444), -ENOENT);
	assert_int_equal(pt_binding_del(&st, PT_TCP, &p, 442, 443), -ENOENT);
	p.plen = 48;
	assert_int_equal(pt_binding_del(&st, PT_TCP, &p, 443, 443), -ENOENT);
	p.plen = 64;
	assert_true(state_equal(&st, &before));
	assert_int_equal(pt_binding_del(&st, PT_TCP, &p, 443, 443), 0);
	assert_int_equal(st.nbindings, 1);
	assert_int_equal(st.bindings[0].prefix.family, PT_FAMILY_ANY);
	assert_int_equal(pt_binding_del(&st, PT_TCP, &p, 443, 443), -ENOENT);
	pt_state_free(&before);
	pt_state_free(&st);
}

static void test_policy_set(void **state)
{
	struct pt_state st = {}, before;
	size_t clash = 999;
	ssize_t i;

	/* errors first, on an empty state */
	assert_int_equal(policy_(&st, PT_TCP, 81, 80, NULL, PT_DROP, 0, NULL), -EINVAL);
	assert_int_equal(policy_(&st, PT_NPROTO, 80, 80, NULL, PT_DROP, 0, NULL), -EINVAL);
	assert_int_equal(policy_(&st, PT_TCP, 80, 80, NULL, PT_LIMIT + 1, 0, NULL), -EINVAL);
	assert_int_equal(policy_(&st, PT_TCP, 80, 80, NULL, PT_LIMIT, 0, NULL), -EINVAL);
	assert_int_equal(st.npolicies, 0);

	/* a new rule gets the highest rule id + 1 (ids start at 1) */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(st.policies[0].rule, 1);
	assert_int_equal(policy_(&st, PT_TCP, 80, 80, NULL, PT_LIMIT, 100, NULL), 0);
	assert_int_equal(st.policies[1].rule, 2);
	assert_int_equal(policy_(&st, PT_UDP, 53, 53, "198.18.0.0/15", PT_DROP_NEW, 0, NULL), 0);
	assert_int_equal(st.policies[2].rule, 3);
	/* replacing keeps the rule id and takes the new action */
	assert_int_equal(policy_(&st, PT_TCP, 80, 80, NULL, PT_LIMIT, 500, NULL), 0);
	assert_int_equal(st.npolicies, 3);
	i = policy_find_(&st, PT_TCP, 80, 80, NULL);
	assert_true(i >= 0);
	assert_int_equal(st.policies[i].rule, 2);
	assert_int_equal(st.policies[i].pps, 500);
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_ALLOW, 0, NULL), 0);
	i = policy_find_(&st, PT_TCP, 22, 22, NULL);
	assert_int_equal(st.policies[i].rule, 1);
	assert_int_equal(st.policies[i].action, PT_ALLOW);
	/* the same ports --from another prefix is another rule */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "198.18.0.0/15", PT_DROP, 0, NULL), 0);
	assert_int_equal(st.npolicies, 4);
	i = policy_find_(&st, PT_TCP, 22, 22, "198.18.0.0/15");
	assert_int_equal(st.policies[i].rule, 4);
	/* max + 1, not count + 1 */
	{
		struct pt_prefix any = pfx("any");

		assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &any), 0);
	}
	assert_int_equal(policy_(&st, PT_TCP, 443, 443, NULL, PT_DROP, 0, NULL), 0);
	i = policy_find_(&st, PT_TCP, 443, 443, NULL);
	assert_int_equal(st.policies[i].rule, 5);
	/* a failed replace keeps the old rule as it was */
	clone_state(&before, &st);
	assert_int_equal(policy_(&st, PT_TCP, 443, 443, NULL, PT_LIMIT, 0, NULL), -EINVAL);
	assert_int_equal(policy_(&st, PT_TCP, 443, 443, NULL, 17, 0, NULL), -EINVAL);
	/* partial overlap on the same proto and --from: -ERANGE with the clash */
	assert_int_equal(policy_(&st, PT_TCP, 0, 1023, NULL, PT_DROP, 0, NULL), 0);
	pt_state_free(&before);
	clone_state(&before, &st);
	i = policy_find_(&st, PT_TCP, 0, 1023, NULL);
	assert_int_equal(policy_(&st, PT_TCP, 1000, 2000, NULL, PT_DROP, 0, &clash), -ERANGE);
	assert_int_equal(clash, (size_t)i);
	assert_true(state_equal(&st, &before));
	/* ... allowed across --from prefixes and protocols, nested and disjoint fine */
	assert_int_equal(policy_(&st, PT_TCP, 1000, 2000, "2001:db8::/32", PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_UDP, 1000, 2000, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 1024, 2000, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 0, 65535, NULL, PT_ALLOW, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 100, 200, NULL, PT_LIMIT, 1, NULL), 0);
	/* the caller's rule id is ignored */
	for (size_t k = 0; k < st.npolicies; k++)
		assert_int_not_equal(st.policies[k].rule, 777);
	/* rule ids are unique */
	for (size_t k = 0; k < st.npolicies; k++)
		for (size_t j = 0; j < k; j++)
			assert_int_not_equal(st.policies[k].rule, st.policies[j].rule);
	pt_state_free(&before);
	pt_state_free(&st);
}

static void test_policy_del(void **state)
{
	struct pt_state st = {}, before;
	struct pt_prefix any = pfx("any"), v4 = pfx("198.18.0.0/15");

	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "198.18.0.0/15", PT_ALLOW, 0, NULL), 0);
	clone_state(&before, &st);
	assert_int_equal(pt_policy_del(&st, PT_UDP, 22, 22, &any), -ENOENT);
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 23, &any), -ENOENT);
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &(struct pt_prefix){ .family = PT_INET }),
			 -ENOENT);
	assert_true(state_equal(&st, &before));
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &v4), 0);
	assert_int_equal(st.npolicies, 1);
	assert_int_equal(st.policies[0].from.family, PT_FAMILY_ANY);
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &any), 0);
	assert_int_equal(st.npolicies, 0);
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &any), -ENOENT);
	pt_state_free(&before);
	pt_state_free(&st);
}

static void test_watch_add_del(void **state)
{
	struct pt_state st = {}, before;

	assert_int_equal(pt_watch_add(&st, PT_TCP, 80, 80), 0);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 8000, 8010), 0);
	assert_int_equal(pt_watch_add(&st, PT_UDP, 80, 80), 0);
	/* again: no duplicate */
	assert_int_equal(pt_watch_add(&st, PT_TCP, 80, 80), 0);
	assert_int_equal(st.nwatches, 3);
	/* overlapping watches are fine: they count ports */
	assert_int_equal(pt_watch_add(&st, PT_TCP, 8005, 8020), 0);
	assert_int_equal(st.nwatches, 4);
	assert_int_equal(pt_watch_find(&st, PT_TCP, 8000, 8010), 1);
	assert_int_equal(pt_watch_find(&st, PT_TCP, 8000, 8011), -1);
	clone_state(&before, &st);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 81, 80), -EINVAL);
	assert_int_equal(pt_watch_add(&st, PT_NPROTO, 80, 80), -EINVAL);
	assert_int_equal(pt_watch_del(&st, PT_TCP, 8000, 8020), -ENOENT);
	assert_int_equal(pt_watch_del(&st, PT_TCP, 8001, 8010), -ENOENT);
	assert_int_equal(pt_watch_del(&st, PT_UDP, 8000, 8010), -ENOENT);
	assert_true(state_equal(&st, &before));
	assert_int_equal(pt_watch_del(&st, PT_TCP, 8000, 8010), 0);
	assert_int_equal(st.nwatches, 3);
	assert_int_equal(pt_watch_find(&st, PT_TCP, 8005, 8020), 2);
	assert_int_equal(pt_watch_del(&st, PT_TCP, 8000, 8010), -ENOENT);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 0, 65535), 0);
	pt_state_free(&before);
	pt_state_free(&st);

	/* at most PT_MAX_WATCHES: the first thousand through the API, the
	 * rest filled in directly (adding is linear in the count) */
	for (uint32_t p = 0; p < 1000; p++)
		assert_int_equal(pt_watch_add(&st, (uint8_t)(p & 1), (uint16_t)(p / 2), (uint16_t)(p / 2)), 0);
	st.watches = realloc(st.watches, PT_MAX_WATCHES * sizeof(*st.watches));
	assert_non_null(st.watches);
	for (uint32_t p = 1000; p < PT_MAX_WATCHES; p++)
		st.watches[p] = (struct pt_watch){ (uint8_t)(p & 1), (uint16_t)(p / 2), (uint16_t)(p / 2) };
	st.nwatches = PT_MAX_WATCHES;
	clone_state(&before, &st);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 60000, 60000), -ENOSPC);
	assert_true(state_equal(&st, &before));
	assert_int_equal(pt_watch_add(&st, PT_TCP, 0, 0), 0);	/* existing: fine */
	pt_state_free(&before);
	pt_state_free(&st);
}

/* A rich state, and every edit that must fail: each leaves it as it was. */
static void test_failed_edits_change_nothing(void **state)
{
	struct pt_state st = {}, before;
	struct pt_prefix any = pfx("any"), v4 = pfx("198.18.0.0/15");
	char longname[40];
	char longdesc[PT_DESC_LEN + 1];
	uint32_t *fresh = NULL;
	size_t nfresh = 0, clash;
	int step = 0;

	assert_int_equal(pt_service_add(&st, "web", "front"), 0);
	assert_int_equal(pt_service_add(&st, "dns", NULL), 0);
	assert_int_equal(pt_service_add(&st, "idle", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 80, 80, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 8000, 8999, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "2001:db8::/32", 53, 53, 1, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP_NEW, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 8000, 8999, "198.18.0.0/15", PT_LIMIT, 100, NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_UDP, 5000, 5003), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	clone_state(&before, &st);
	memset(longname, 'x', 32);
	longname[32] = 0;
	memset(longdesc, 'd', PT_DESC_LEN);
	longdesc[PT_DESC_LEN] = 0;

#define MUST_FAIL(call, err)                                                  \
	do {                                                                  \
		int __rc = (call);                                            \
		step++;                                                       \
		EXPECT(__rc == (err), "step %d: %s = %d, want %d", step, #call, __rc, err); \
		EXPECT(state_equal(&st, &before), "step %d: %s changed the state", step, #call); \
	} while (0)
	MUST_FAIL(pt_service_add(&st, longname, NULL), -EINVAL);
	MUST_FAIL(pt_service_add(&st, "web", longdesc), -EINVAL);
	MUST_FAIL(pt_service_del(&st, "web"), -EBUSY);
	MUST_FAIL(pt_service_del(&st, "dns"), -EBUSY);
	MUST_FAIL(pt_service_del(&st, "nosuch"), -ENOENT);
	MUST_FAIL(bind_(&st, PT_TCP, "any", 80, 80, 7, NULL), -ENOENT);
	MUST_FAIL(bind_(&st, PT_TCP, "any", 90, 80, 0, NULL), -EINVAL);
	MUST_FAIL(bind_(&st, 2, "any", 80, 80, 0, NULL), -EINVAL);
	MUST_FAIL(bind_(&st, PT_TCP, "any", 8500, 9500, 0, &clash), -ERANGE);
	MUST_FAIL(bind_(&st, PT_TCP, "any", 7000, 8000, 2, &clash), -ERANGE);
	MUST_FAIL(pt_binding_del(&st, PT_TCP, &any, 80, 80), -ENOENT);
	MUST_FAIL(pt_binding_del(&st, PT_UDP, &v4, 80, 80), -ENOENT);
	MUST_FAIL(policy_(&st, PT_TCP, 23, 22, NULL, PT_DROP, 0, NULL), -EINVAL);
	MUST_FAIL(policy_(&st, 9, 22, 22, NULL, PT_DROP, 0, NULL), -EINVAL);
	MUST_FAIL(policy_(&st, PT_TCP, 22, 22, NULL, 4, 0, NULL), -EINVAL);
	MUST_FAIL(policy_(&st, PT_TCP, 22, 22, NULL, PT_LIMIT, 0, NULL), -EINVAL);
	MUST_FAIL(policy_(&st, PT_TCP, 8500, 9500, "198.18.0.0/15", PT_DROP, 0, &clash), -ERANGE);
	MUST_FAIL(pt_policy_del(&st, PT_TCP, 8000, 8999, &any), -ENOENT);
	MUST_FAIL(pt_policy_del(&st, PT_UDP, 22, 22, &any), -ENOENT);
	MUST_FAIL(pt_watch_add(&st, PT_UDP, 5003, 5000), -EINVAL);
	MUST_FAIL(pt_watch_add(&st, 3, 5000, 5000), -EINVAL);
	MUST_FAIL(pt_watch_del(&st, PT_UDP, 5000, 5002), -ENOENT);
	MUST_FAIL(pt_watch_del(&st, PT_TCP, 5000, 5003), -ENOENT);
#undef MUST_FAIL
	pt_state_free(&before);
	pt_state_free(&st);
	DONE();
}

static void test_state_copy(void **state)
{
	struct pt_state st = {}, cp = {}, empty = {}, cp2;
	uint32_t *fresh = NULL;
	size_t nfresh;

	assert_int_equal(pt_service_add(&st, "a", "x"), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 80, 80, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_UDP, 9, 9), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(pt_state_copy(&cp, &st), 0);
	assert_true(state_equal(&cp, &st));
	/* a deep copy: no shared arrays */
	assert_ptr_not_equal(cp.services, st.services);
	assert_ptr_not_equal(cp.bindings, st.bindings);
	assert_ptr_not_equal(cp.policies, st.policies);
	assert_ptr_not_equal(cp.watches, st.watches);
	assert_ptr_not_equal(cp.slots, st.slots);
	cp.bindings[0].service = 99;
	cp.slots[0].slot = 9999;
	assert_int_equal(st.bindings[0].service, 0);
	assert_int_not_equal(st.slots[0].slot, 9999);
	/* edits of the copy leave the original alone */
	assert_int_equal(pt_service_add(&cp, "b", NULL), 0);
	assert_int_equal(st.nservices, 1);
	pt_state_free(&cp);
	assert_null(cp.services);
	assert_int_equal(cp.nservices, 0);
	/* an empty state copies */
	assert_int_equal(pt_state_copy(&cp2, &empty), 0);
	assert_true(state_equal(&cp2, &empty));
	pt_state_free(&cp2);
	pt_state_free(&st);
	pt_state_free(NULL);
}

static void test_prefix_helpers(void **state)
{
	struct pt_prefix any = pfx("any"), v4_0 = pfx("0.0.0.0/0"), v6_0 = pfx("::/0"),
			 n15 = pfx("198.18.0.0/15"), n16 = pfx("198.18.0.0/16"),
			 n19 = pfx("198.19.0.0/16"), h2 = pfx("198.18.0.2"), v6 = pfx("2001:db8::/32"),
			 v6h = pfx("2001:db8::1");
	uint8_t fam, a[16];

	assert_true(pt_prefix_contains(&any, &any));
	assert_true(pt_prefix_contains(&any, &h2));
	assert_true(pt_prefix_contains(&any, &v6h));
	assert_false(pt_prefix_contains(&v4_0, &any));
	assert_true(pt_prefix_contains(&v4_0, &n15));
	assert_false(pt_prefix_contains(&v4_0, &v6));
	assert_false(pt_prefix_contains(&v6_0, &n15));
	assert_true(pt_prefix_contains(&v6_0, &v6h));
	assert_true(pt_prefix_contains(&n15, &n16));
	assert_true(pt_prefix_contains(&n15, &n19));
	assert_false(pt_prefix_contains(&n16, &n19));
	assert_false(pt_prefix_contains(&n16, &n15));
	assert_true(pt_prefix_contains(&n16, &n16));
	assert_true(pt_prefix_contains(&n16, &h2));
	assert_true(pt_prefix_contains(&v6, &v6h));
	assert_false(pt_prefix_contains(&v6h, &v6));

	addr_of("198.18.0.2", &fam, a);
	assert_true(pt_prefix_match(&any, fam, a));
	assert_true(pt_prefix_match(&v4_0, fam, a));
	assert_false(pt_prefix_match(&v6_0, fam, a));
	assert_true(pt_prefix_match(&n15, fam, a));
	assert_true(pt_prefix_match(&n16, fam, a));
	assert_false(pt_prefix_match(&n19, fam, a));
	assert_true(pt_prefix_match(&h2, fam, a));
	addr_of("198.19.255.255", &fam, a);
	assert_true(pt_prefix_match(&n15, fam, a));
	assert_false(pt_prefix_match(&n16, fam, a));
	addr_of("198.20.0.0", &fam, a);
	assert_false(pt_prefix_match(&n15, fam, a));
	addr_of("2001:db8::1", &fam, a);
	assert_true(pt_prefix_match(&any, fam, a));
	assert_true(pt_prefix_match(&v6, fam, a));
	assert_true(pt_prefix_match(&v6h, fam, a));
	assert_false(pt_prefix_match(&v4_0, fam, a));
	/* an IPv6 address whose first bytes look like an IPv4 prefix */
	addr_of("c612::", &fam, a);
	assert_false(pt_prefix_match(&n15, fam, a));

	assert_int_equal(pt_port_class(0), PT_CLASS_WELL_KNOWN);
	assert_int_equal(pt_port_class(1023), PT_CLASS_WELL_KNOWN);
	assert_int_equal(pt_port_class(1024), PT_CLASS_REGISTERED);
	assert_int_equal(pt_port_class(49151), PT_CLASS_REGISTERED);
	assert_int_equal(pt_port_class(49152), PT_CLASS_EPHEMERAL);
	assert_int_equal(pt_port_class(65535), PT_CLASS_EPHEMERAL);
	assert_int_equal(PT_CLASS_SLOT(PT_UDP, PT_CLASS_EPHEMERAL), 5);
	assert_int_equal(PT_FIRST_FREE_SLOT, 6);
}

/* The reference lookups themselves, by hand: narrowest range first, then
 * the longest prefix; an explicit family beats `any` at equal length. */
static void test_model_precedence(void **state)
{
	struct pt_state st = {};
	uint8_t fam, a[16];

	for (int i = 0; i < 6; i++) {
		char n[16];

		snprintf(n, sizeof(n), "s%d", i);
		assert_int_equal(pt_service_add(&st, n, NULL), 0);
	}
	assert_int_equal(bind_(&st, PT_TCP, "any", 0, 65535, 0, NULL), 0);		/* [0] */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 80, 80, 1, NULL), 0);	/* [1] */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.2", 0, 1023, 2, NULL), 0);	/* [2] */
	assert_int_equal(bind_(&st, PT_TCP, "any", 443, 443, 3, NULL), 0);		/* [3] */
	assert_int_equal(bind_(&st, PT_TCP, "0.0.0.0/0", 443, 443, 4, NULL), 0);	/* [4] */
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/16", 80, 80, 5, NULL), 0);	/* [5] */

	addr_of("198.18.0.2", &fam, a);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 80), 5);	/* /16 beats /15 */
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 81), 2);	/* 0-1023 */
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 1024), 0);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 443), 4);	/* exact port beats /32 */
	assert_int_equal(pt_model_bind_lookup(&st, PT_UDP, fam, a, 80), -1);
	addr_of("198.19.0.2", &fam, a);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 80), 1);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 81), 0);
	addr_of("2001:db8::1", &fam, a);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 80), 0);
	assert_int_equal(pt_model_bind_lookup(&st, PT_TCP, fam, a, 443), 3);	/* any for IPv6 */

	assert_int_equal(policy_(&st, PT_TCP, 0, 65535, NULL, PT_DROP, 0, NULL), 0);		/* [0] */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "198.18.0.0/15", PT_ALLOW, 0, NULL), 0);	/* [1] */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_LIMIT, 5, NULL), 0);		/* [2] */
	addr_of("198.18.7.7", &fam, a);
	assert_int_equal(pt_model_policy_lookup(&st, PT_TCP, fam, a, 22), 1);
	assert_int_equal(pt_model_policy_lookup(&st, PT_TCP, fam, a, 23), 0);
	assert_int_equal(pt_model_policy_lookup(&st, PT_UDP, fam, a, 22), -1);
	addr_of("10.0.0.1", &fam, a);
	assert_int_equal(pt_model_policy_lookup(&st, PT_TCP, fam, a, 22), 2);
	pt_state_free(&st);
}

/* ======================================================================
 * Counter slots
 * ====================================================================== */

static const struct pt_slot *slot_of_key(const struct pt_state *st, uint8_t proto, uint16_t lo,
					 uint16_t hi)
{
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].proto == proto && st->slots[i].lo == lo && st->slots[i].hi == hi)
			return &st->slots[i];
	return NULL;
}

struct want_key {
	uint8_t proto;
	uint16_t lo, hi;
};

static void add_want(struct want_key **w, size_t *n, size_t *cap, uint8_t proto, uint16_t lo,
		     uint16_t hi, bool individual)
{
	for (uint32_t p = lo; p <= hi; p++) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*w = realloc(*w, *cap * sizeof(**w));
			assert_non_null(*w);
		}
		if (individual) {
			(*w)[(*n)++] = (struct want_key){ proto, (uint16_t)p, (uint16_t)p };
			continue;
		}
		(*w)[(*n)++] = (struct want_key){ proto, lo, hi };
		break;
	}
}

/*
 * The slot invariants: exactly the wanted keys (watched ports one by one;
 * bound, policed and steered ranges port by port up to PT_INDIVIDUAL_MAX ports, as
 * one range above), slots >= PT_FIRST_FREE_SLOT, unique; against prev:
 * kept keys keep their slot, new keys never take a slot prev uses, and
 * fresh lists exactly the new slots. Assumes no slot ran out.
 */
static int check_slots(const struct pt_state *st, const struct pt_state *prev,
		       const uint32_t *fresh, size_t nfresh)
{
	struct want_key *w = NULL;
	size_t nw = 0, cap = 0, nnew = 0;
	uint8_t *seen = calloc(PT_MAX_SLOTS, 1), *prev_used = calloc(PT_MAX_SLOTS, 1),
		*in_fresh = calloc(PT_MAX_SLOTS, 1);
	int problems = 0;

#define BAD(...)                                                              \
	do {                                                                  \
		print_error("  slots: ");                                     \
		print_error(__VA_ARGS__);                                     \
		print_error("\n");                                            \
		problems++;                                                   \
	} while (0)
	assert_non_null(seen);
	assert_non_null(prev_used);
	assert_non_null(in_fresh);
	for (size_t i = 0; i < st->nwatches; i++)
		add_want(&w, &nw, &cap, st->watches[i].proto, st->watches[i].lo, st->watches[i].hi, true);
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		add_want(&w, &nw, &cap, b->proto, b->lo, b->hi, b->hi - b->lo + 1 <= PT_INDIVIDUAL_MAX);
	}
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		add_want(&w, &nw, &cap, p->proto, p->lo, p->hi, p->hi - p->lo + 1 <= PT_INDIVIDUAL_MAX);
	}
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *r = &st->steers[i];

		add_want(&w, &nw, &cap, r->proto, r->lo, r->hi, r->hi - r->lo + 1 <= PT_INDIVIDUAL_MAX);
	}
	for (size_t i = 0; i < nw; i++)
		if (!slot_of_key(st, w[i].proto, w[i].lo, w[i].hi))
			BAD("%s %u-%u has no slot", pt_proto_name(w[i].proto), w[i].lo, w[i].hi);
	if (prev)
		for (size_t i = 0; i < prev->nslots; i++)
			prev_used[prev->slots[i].slot % PT_MAX_SLOTS] = 1;
	for (size_t i = 0; i < nfresh; i++) {
		if (fresh[i] >= PT_MAX_SLOTS) {
			BAD("fresh slot %u out of range", fresh[i]);
			continue;
		}
		if (in_fresh[fresh[i]])
			BAD("fresh slot %u listed twice", fresh[i]);
		in_fresh[fresh[i]] = 1;
	}
	for (size_t i = 0; i < st->nslots; i++) {
		const struct pt_slot *s = &st->slots[i];
		const struct pt_slot *old = prev ? slot_of_key(prev, s->proto, s->lo, s->hi) : NULL;
		bool wanted = false;

		for (size_t j = 0; j < nw && !wanted; j++)
			wanted = w[j].proto == s->proto && w[j].lo == s->lo && w[j].hi == s->hi;
		if (!wanted)
			BAD("%s %u-%u has a slot but is not counted", pt_proto_name(s->proto), s->lo, s->hi);
		if (s->slot < PT_FIRST_FREE_SLOT || s->slot >= PT_MAX_SLOTS) {
			BAD("%s %u-%u: slot %u out of range", pt_proto_name(s->proto), s->lo, s->hi, s->slot);
			continue;
		}
		if (seen[s->slot])
			BAD("slot %u given twice", s->slot);
		seen[s->slot] = 1;
		if (slot_of_key(st, s->proto, s->lo, s->hi) != s)
			BAD("%s %u-%u has two slots", pt_proto_name(s->proto), s->lo, s->hi);
		if (old) {
			if (old->slot != s->slot)
				BAD("%s %u-%u moved from slot %u to %u", pt_proto_name(s->proto), s->lo,
				    s->hi, old->slot, s->slot);
			if (in_fresh[s->slot])
				BAD("kept slot %u reported fresh", s->slot);
			continue;
		}
		nnew++;
		if (prev_used[s->slot])
			BAD("new key %s %u-%u took slot %u that prev uses", pt_proto_name(s->proto),
			    s->lo, s->hi, s->slot);
		if (!in_fresh[s->slot])
			BAD("new slot %u not reported fresh", s->slot);
	}
	if (nnew != nfresh)
		BAD("%zu new slots, %zu reported fresh", nnew, nfresh);
	free(w);
	free(seen);
	free(prev_used);
	free(in_fresh);
	return problems;
#undef BAD
}

static void test_slots_basic(void **state)
{
	struct pt_state st = {};
	uint32_t *fresh = NULL;
	size_t nfresh = 0;

	assert_int_equal(pt_service_add(&st, "a", NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 80, 83), 0);		/* 4 ports */
	assert_int_equal(pt_watch_add(&st, PT_TCP, 82, 85), 0);		/* overlaps: 2 more */
	assert_int_equal(bind_(&st, PT_TCP, "any", 100, 115, 0, NULL), 0);	/* 16 ports: one by one */
	assert_int_equal(bind_(&st, PT_TCP, "any", 200, 216, 0, NULL), 0);	/* 17 ports: one range */
	assert_int_equal(bind_(&st, PT_TCP, "2001:db8::/32", 200, 216, 0, NULL), 0);	/* same range */
	assert_int_equal(policy_(&st, PT_UDP, 53, 53, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_UDP, 1000, 1999, NULL, PT_LIMIT, 10, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "any", 1000, 1999, 0, NULL), 0);	/* same as the policy */
	assert_int_equal(bind_(&st, PT_TCP, "any", 83, 83, 0, NULL), 0);	/* also watched */
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	/* 6 watched + 16 + 1 + 1 + 1 */
	assert_int_equal(st.nslots, 6 + 16 + 1 + 1 + 1);
	for (uint16_t p = 80; p <= 85; p++)
		assert_non_null(slot_of_key(&st, PT_TCP, p, p));
	for (uint16_t p = 100; p <= 115; p++)
		assert_non_null(slot_of_key(&st, PT_TCP, p, p));
	assert_null(slot_of_key(&st, PT_TCP, 100, 115));
	assert_non_null(slot_of_key(&st, PT_TCP, 200, 216));
	assert_null(slot_of_key(&st, PT_TCP, 200, 200));
	assert_non_null(slot_of_key(&st, PT_UDP, 53, 53));
	assert_non_null(slot_of_key(&st, PT_UDP, 1000, 1999));
	assert_null(slot_of_key(&st, PT_TCP, 53, 53));
	assert_int_equal(nfresh, st.nslots);
	assert_int_equal(check_slots(&st, NULL, fresh, nfresh), 0);
	free(fresh);
	/* fresh and nfresh may be NULL */
	assert_int_equal(pt_assign_slots(&st, NULL, NULL, NULL), 0);
	assert_int_equal(st.nslots, 6 + 16 + 1 + 1 + 1);
	pt_state_free(&st);

	/* an empty state has no slots */
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	assert_int_equal(st.nslots, 0);
	assert_int_equal(nfresh, 0);
	free(fresh);
	pt_state_free(&st);
}

static void test_slots_keep_prev(void **state)
{
	struct pt_state a = {}, b = {}, c = {};
	uint32_t *fresh = NULL;
	size_t nfresh = 0;

	assert_int_equal(pt_service_add(&a, "s", NULL), 0);
	assert_int_equal(pt_watch_add(&a, PT_TCP, 80, 80), 0);
	assert_int_equal(pt_watch_add(&a, PT_TCP, 90, 91), 0);
	assert_int_equal(bind_(&a, PT_TCP, "any", 100, 115, 0, NULL), 0);
	assert_int_equal(bind_(&a, PT_TCP, "any", 2000, 2999, 0, NULL), 0);
	assert_int_equal(policy_(&a, PT_UDP, 53, 53, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&a, NULL, &fresh, &nfresh), 0);
	assert_int_equal(check_slots(&a, NULL, fresh, nfresh), 0);
	free(fresh);

	/* b: drop some keys, keep some, add some */
	assert_int_equal(pt_state_copy(&b, &a), 0);
	assert_int_equal(pt_watch_del(&b, PT_TCP, 80, 80), 0);
	assert_int_equal(pt_watch_add(&b, PT_TCP, 81, 81), 0);
	assert_int_equal(pt_watch_add(&b, PT_UDP, 80, 80), 0);
	assert_int_equal(bind_(&b, PT_TCP, "any", 3000, 3999, 0, NULL), 0);
	assert_int_equal(pt_binding_del(&b, PT_TCP, &(struct pt_prefix){ .family = PT_FAMILY_ANY },
					2000, 2999), 0);
	assert_int_equal(pt_assign_slots(&b, &a, &fresh, &nfresh), 0);
	assert_int_equal(check_slots(&b, &a, fresh, nfresh), 0);
	assert_int_equal(nfresh, 3);	/* tcp 81, udp 80, tcp 3000-3999 */
	assert_int_equal(slot_of_key(&b, PT_TCP, 90, 90)->slot, slot_of_key(&a, PT_TCP, 90, 90)->slot);
	assert_int_equal(slot_of_key(&b, PT_UDP, 53, 53)->slot, slot_of_key(&a, PT_UDP, 53, 53)->slot);
	assert_null(slot_of_key(&b, PT_TCP, 80, 80));
	assert_null(slot_of_key(&b, PT_TCP, 2000, 2999));
	free(fresh);

	/* c from b: the slots a used but b does not are free again */
	assert_int_equal(pt_state_copy(&c, &b), 0);
	assert_int_equal(pt_watch_add(&c, PT_TCP, 80, 80), 0);
	assert_int_equal(pt_assign_slots(&c, &b, &fresh, &nfresh), 0);
	assert_int_equal(check_slots(&c, &b, fresh, nfresh), 0);
	assert_int_equal(nfresh, 1);
	free(fresh);
	/* assigning again against itself changes nothing and is not fresh */
	{
		struct pt_state again;

		clone_state(&again, &c);
		assert_int_equal(pt_assign_slots(&c, &again, &fresh, &nfresh), 0);
		assert_int_equal(nfresh, 0);
		for (size_t i = 0; i < again.nslots; i++) {
			const struct pt_slot *s = &again.slots[i];

			assert_int_equal(slot_of_key(&c, s->proto, s->lo, s->hi)->slot, s->slot);
		}
		assert_int_equal(c.nslots, again.nslots);
		free(fresh);
		pt_state_free(&again);
	}
	pt_state_free(&a);
	pt_state_free(&b);
	pt_state_free(&c);
}

static void test_slots_enospc(void **state)
{
	struct pt_state st = {}, before;
	uint32_t *fresh = NULL;
	size_t nfresh = 0;
	const uint16_t room = PT_MAX_SLOTS - PT_FIRST_FREE_SLOT;

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	/* exactly as many watched ports as there are free slots: fine */
	assert_int_equal(pt_watch_add(&st, PT_TCP, 0, room - 1), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	assert_int_equal(st.nslots, room);
	assert_int_equal(nfresh, room);
	assert_int_equal(check_slots(&st, NULL, fresh, nfresh), 0);
	free(fresh);
	fresh = NULL;

	/* a bound port with no slot left falls back to its class row */
	assert_int_equal(bind_(&st, PT_UDP, "any", 80, 80, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "any", 2000, 2999, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	fresh = NULL;
	assert_int_equal(st.nslots, room);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 80), PT_CLASS_SLOT(PT_UDP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 2500), PT_CLASS_SLOT(PT_UDP, PT_CLASS_REGISTERED));

	/* one watched port more: -ENOSPC, and st->slots as they were */
	assert_int_equal(pt_watch_add(&st, PT_UDP, 7, 7), 0);
	clone_state(&before, &st);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), -ENOSPC);
	assert_true(state_equal(&st, &before));
	free(fresh);
	pt_state_free(&before);
	pt_state_free(&st);

	/* watched ports win the slots over bound ones */
	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "any", 100, 109, 0, NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 0, room - 1), 0);
	fresh = NULL;
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	assert_int_equal(st.nslots, room);
	for (uint16_t p = 0; p < room; p += 97)
		assert_non_null(slot_of_key(&st, PT_TCP, p, p));
	assert_null(slot_of_key(&st, PT_UDP, 100, 100));
	free(fresh);
	pt_state_free(&st);
}

static void test_slot_of_port(void **state)
{
	struct pt_state st = {};
	uint32_t *fresh = NULL;
	size_t nfresh;
	uint32_t s80, s100_199, s155, sall;

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 80, 80), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 100, 199, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 150, 160, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 0, 65535, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	s80 = slot_of_key(&st, PT_TCP, 80, 80)->slot;
	s100_199 = slot_of_key(&st, PT_TCP, 100, 199)->slot;
	s155 = slot_of_key(&st, PT_TCP, 155, 155)->slot;
	sall = slot_of_key(&st, PT_TCP, 0, 65535)->slot;
	/* its own slot */
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 80), s80);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 155), s155);
	/* else the narrowest range's */
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 100), s100_199);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 149), s100_199);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 161), s100_199);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 199), s100_199);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 99), sall);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 200), sall);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 0), sall);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 65535), sall);
	/* else the class row */
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 80), PT_CLASS_SLOT(PT_UDP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 0), 3);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 1023), 3);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 1024), 4);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 49151), 4);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 49152), 5);
	assert_int_equal(pt_slot_of_port(&st, PT_UDP, 65535), 5);
	pt_state_free(&st);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 80), 0);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 1024), 1);
	assert_int_equal(pt_slot_of_port(&st, PT_TCP, 65535), 2);
}

/* ======================================================================
 * The compiler
 * ====================================================================== */

/* Probe every port of both protocols for the first `full` addresses, and
 * every 7th port (all residues over the addresses) for the others. */
static int probe_all_ports(const struct pt_state *st, const struct emu *e, uint8_t gen,
			   const char *const *addrs, size_t naddrs, size_t full, int max_report)
{
	int bad = 0;

	for (size_t i = 0; i < naddrs; i++) {
		uint8_t fam, a[16];

		addr_of(addrs[i], &fam, a);
		for (uint8_t proto = 0; proto < PT_NPROTO; proto++)
			for (uint32_t port = i < full ? 0 : (uint32_t)i % 7; port < 65536;
			     port += i < full ? 1 : 7)
				if (!check_packet(e, st, gen, proto, fam, a, (uint16_t)port) &&
				    ++bad >= max_report)
					return bad;
	}
	return bad;
}

static void test_compile_empty(void **state)
{
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.gen, 1);
	assert_non_null(c.ports);
	assert_int_equal(c.nclasses[PT_TCP], 0);
	assert_int_equal(c.nclasses[PT_UDP], 0);
	assert_int_equal(c.nbinds, 0);
	assert_int_equal(c.nhosts, 0);
	assert_int_equal(c.npolicies, 0);
	/* every port in its class row (check_tables saw them all) */
	assert_int_equal(c.ports[0].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(c.ports[1023].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(c.ports[1024].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_REGISTERED));
	assert_int_equal(c.ports[49151].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_REGISTERED));
	assert_int_equal(c.ports[49152].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_EPHEMERAL));
	assert_int_equal(c.ports[65535].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_EPHEMERAL));
	assert_int_equal(c.ports[PT_PORTS + 0].slot, PT_CLASS_SLOT(PT_UDP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(c.ports[PT_PORTS + 1024].slot, PT_CLASS_SLOT(PT_UDP, PT_CLASS_REGISTERED));
	assert_int_equal(c.ports[PT_PORTS + 65535].slot, PT_CLASS_SLOT(PT_UDP, PT_CLASS_EPHEMERAL));
	assert_int_equal(c.ports[PT_PORTS + 65535].slot, 5);
	/* the loader writes ports[j] at PT_PORT_INDEX(gen, j / PT_PORTS,
	 * j % PT_PORTS): one block per generation, as the emulation assumes */
	for (uint32_t g = 0; g < 2; g++)
		for (uint32_t j = 0; j < GEN_BLOCK; j++)
			if (PT_PORT_INDEX(g, j / PT_PORTS, j % PT_PORTS) != g * GEN_BLOCK + j)
				fail_msg("PT_PORT_INDEX(%u, %u, %u) = %u", g, j / PT_PORTS, j % PT_PORTS,
					 PT_PORT_INDEX(g, j / PT_PORTS, j % PT_PORTS));
	assert_int_equal(PT_PORT_INDEX(3, PT_UDP, 65535), PT_PORT_INDEX(1, PT_UDP, 65535));
	emu_free(&e);
	pt_compiled_free(&c);
	assert_null(c.ports);
	assert_null(c.binds);
	assert_null(c.hosts);
	assert_null(c.policies);
	pt_compiled_free(NULL);
	pt_state_free(&st);
}

/*
 * bind tcp any 0-65535: one counted range, cut at the class borders into
 * three classes (0-1023, 1024-49151, 49152-65535), all BOUND and NET:
 * 3 classes x 2 families = 6 bind rows (any: /0), none full-length so no
 * host row, and no policy row, as no policy names a source.
 */
static void test_compile_one_wide_binding(void **state)
{
	static const char *const addrs[] = { "198.18.0.2", "2001:db8::1" };
	static const uint32_t first_port[] = { 0, 1024, 49152 }, last_port[] = { 1023, 49151, 65535 };
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	uint32_t *fresh = NULL;
	size_t nfresh;
	uint8_t rows[3] = {};

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 0, 65535, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(st.nslots, 1);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.nclasses[PT_TCP], 3);
	assert_int_equal(c.nclasses[PT_UDP], 0);
	assert_int_equal(c.nbinds, 6);
	assert_int_equal(c.nhosts, 0);
	assert_int_equal(c.npolicies, 0);
	for (uint32_t cl = 0; cl < 3; cl++)
		for (uint32_t port = first_port[cl]; port <= last_port[cl]; port += last_port[cl] - first_port[cl]) {
			const struct pt_port_ent *x = &c.ports[port];

			assert_int_equal(x->class, cl);
			assert_int_equal(x->slot, st.slots[0].slot);
			assert_int_equal(x->flags, PT_PORT_BOUND | PT_PORT_NET);
			assert_int_equal(x->action, PT_ALLOW);
		}
	for (size_t i = 0; i < c.nbinds; i++) {
		assert_int_equal(c.binds[i].key.prefixlen, PT_LPM_KEY_BITS);
		assert_int_equal(c.binds[i].key.proto, PT_TCP);
		assert_int_equal(c.binds[i].val.service, 0);
		assert_int_equal(c.binds[i].val.slot, st.slots[0].slot);
		assert_true(ntohl(c.binds[i].key.class) < 3);
		rows[ntohl(c.binds[i].key.class)] |= (uint8_t)(1 << c.binds[i].key.family);
	}
	for (int cl = 0; cl < 3; cl++)
		assert_int_equal(rows[cl], 3);	/* one /0 row per family per class */
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
}

/*
 * policy tcp 22 drop: one class (port 22) whose entry carries the policy,
 * and no policy_lpm row at all. Then --from rules on the same port: the
 * port turns FROM and its class gets rows: the /0 base row per family
 * (the winner for any source of that family) and one per source prefix.
 */
static void test_compile_one_policy(void **state)
{
	static const char *const addrs[] = { "198.18.0.2", "198.20.0.1", "::1", "2001:db8::1" };
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	uint32_t *fresh = NULL;
	size_t nfresh;
	uint8_t fam, a[16];
	struct verdict v;

	assert_int_equal(policy_(&st, PT_TCP, 22, 22, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(st.nslots, 1);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.nclasses[PT_TCP], 1);
	assert_int_equal(c.nclasses[PT_UDP], 0);
	assert_int_equal(c.nbinds, 0);
	assert_int_equal(c.nhosts, 0);
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(c.ports[22].class, 0);
	assert_int_equal(c.ports[22].slot, st.slots[0].slot);
	assert_int_equal(c.ports[22].action, PT_DROP);
	assert_int_equal(c.ports[22].rule, 1);
	assert_int_equal(c.ports[22].flags, 0);
	assert_int_equal(c.ports[21].slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_WELL_KNOWN));
	assert_int_equal(c.ports[21].action, PT_ALLOW);
	assert_int_equal(c.ports[23].action, PT_ALLOW);
	assert_int_equal(c.ports[PT_PORTS + 22].action, PT_ALLOW);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);

	/* a source prefix on the same port: IPv4 /0 and /15 rows, IPv6 /0 */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "198.18.0.0/15", PT_DROP_NEW, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.nclasses[PT_TCP], 1);
	assert_int_equal(c.nbinds, 0);
	/* few rows: a list per family instead of the trie, longest first */
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(c.nlists, 2);
	assert_int_equal(c.lists[0].index, PT_LIST_INDEX(1, PT_TCP, PT_INET, 0));
	assert_int_equal(c.lists[0].list.count, 2);
	assert_int_equal(c.lists[0].list.prefix[0].addr[0], htonl(0xc6120000));
	assert_int_equal(c.lists[0].list.prefix[0].mask[0], htonl(0xfffe0000));
	assert_int_equal(c.lists[0].list.val[0].action, PT_DROP_NEW);
	assert_int_equal(c.lists[0].list.prefix[1].mask[0], 0);
	assert_int_equal(c.lists[0].list.val[1].action, PT_DROP);
	assert_int_equal(c.lists[1].index, PT_LIST_INDEX(1, PT_TCP, PT_INET6, 0));
	assert_int_equal(c.lists[1].list.count, 1);
	assert_int_equal(c.lists[1].list.val[0].action, PT_DROP);
	assert_int_equal(c.ports[22].flags, PT_PORT_FROM | PT_PORT_LIST);
	assert_int_equal(c.ports[22].action, PT_DROP);	/* for any source */
	addr_of("198.18.0.2", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 22, &v);
	assert_int_equal(v.action, PT_DROP_NEW);
	assert_int_equal(v.rule, 2);
	addr_of("198.20.0.1", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 22, &v);
	assert_int_equal(v.action, PT_DROP);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);

	/* 0.0.0.0/0 names a family: FROM too, and it beats any for IPv4 only */
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "0.0.0.0/0", PT_LIMIT, 5, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(c.nlists, 2);
	assert_int_equal(c.lists[0].list.count, 2);	/* /15, then the explicit /0 */
	assert_int_equal(c.lists[0].list.val[1].action, PT_LIMIT);
	assert_int_equal(c.ports[22].action, PT_DROP);
	addr_of("198.20.0.1", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 22, &v);
	assert_int_equal(v.action, PT_LIMIT);
	assert_int_equal(v.pps, 5);
	addr_of("2001:db8::1", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 22, &v);
	assert_int_equal(v.action, PT_DROP);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);

	/* only a /0 of a family: still FROM, a /0 row per family */
	assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &(struct pt_prefix){ .family = PT_FAMILY_ANY }), 0);
	{
		struct pt_prefix p15 = pfx("198.18.0.0/15");

		assert_int_equal(pt_policy_del(&st, PT_TCP, 22, 22, &p15), 0);
	}
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(c.nlists, 2);
	assert_int_equal(c.lists[0].list.count, 1);
	assert_int_equal(c.lists[1].list.count, 1);
	assert_int_equal(c.ports[22].flags, PT_PORT_FROM | PT_PORT_LIST);
	assert_int_equal(c.ports[22].action, PT_ALLOW);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
}

/*
 * A class's source rules go to policy_list while each family's rows (the
 * /0 one included) fit PT_LIST_LEN; one more prefix in either family and
 * the class keeps them all in policy_lpm. Classes with --from rules are
 * numbered first, whatever their ports.
 */
static void test_compile_list_or_trie(void **state)
{
	static const char *const addrs[] = { "198.18.0.2", "198.18.3.1", "198.18.3.200",
					     "198.18.3.201", "198.18.3.130", "198.18.7.7",
					     "198.18.6.1", "198.18.9.9", "10.0.0.1", "2001:db8::1",
					     "2001:db8:0:3::1", "2001:db8:0:7::9" };
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	static const char *const nested[] = { "198.18.0.0/16", "198.18.3.0/24", "198.18.3.128/25",
					      "198.18.3.192/26", "198.18.3.200/32", "198.18.6.0/23",
					      "198.18.7.0/24" };
	uint32_t *fresh = NULL;
	size_t nfresh;

	/* a class without --from rules below the --from ones */
	assert_int_equal(policy_(&st, PT_UDP, 100, 100, NULL, PT_DROP, 0, NULL), 0);
	/* UDP 5000: 7 nested IPv4 prefixes of different lengths + /0 = 8 rows */
	for (unsigned int i = 0; i < N(nested); i++)
		assert_int_equal(policy_(&st, PT_UDP, 5000, 5000, nested[i],
					 i % 2 ? PT_DROP : PT_ALLOW, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_UDP, 5000, 5000, "2001:db8::/32", PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_UDP, 5000, 5000, "2001:db8:0:3::/64", PT_ALLOW, 0, NULL),
			 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 0, &c, &e), 0);
	assert_int_equal(c.nclasses[PT_UDP], 2);
	assert_int_equal(c.ports[PT_PORTS + 5000].class, 0);	/* --from first */
	assert_int_equal(c.ports[PT_PORTS + 100].class, 1);
	assert_int_equal(c.ports[PT_PORTS + 5000].flags, PT_PORT_FROM | PT_PORT_LIST);
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(c.nlists, 2);
	assert_int_equal(c.lists[0].list.count, PT_LIST_LEN);
	assert_int_equal(c.lists[1].list.count, 3);
	assert_int_equal(probe_all_ports(&st, &e, 0, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);

	/* more classes with --from rules than policy_list has room for: the
	 * first PT_LIST_CLASSES get lists, the others the trie */
	{
		struct pt_state many = {};
		struct pt_compiled cm;
		struct emu em;
		const uint32_t n = PT_LIST_CLASSES + 20;

		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(policy_(&many, PT_TCP, (uint16_t)(10000 + 2 * i),
						 (uint16_t)(10000 + 2 * i), i % 2 ? "198.18.0.0/16" :
						 "2001:db8::/32", PT_DROP, 0, NULL), 0);
		assert_int_equal(pt_assign_slots(&many, NULL, &fresh, &nfresh), 0);
		free(fresh);
		assert_int_equal(compile_and_load(&many, 1, &cm, &em), 0);
		assert_int_equal(cm.nclasses[PT_TCP], n);
		assert_int_equal(cm.nlists, 2 * PT_LIST_CLASSES);
		assert_int_equal(cm.npolicies, 3 * (n - PT_LIST_CLASSES));
		assert_int_equal(cm.ports[10000].flags, PT_PORT_FROM | PT_PORT_LIST);
		assert_int_equal(cm.ports[10000 + 2 * (n - 1)].flags, PT_PORT_FROM);
		assert_int_equal(probe_all_ports(&many, &em, 1, addrs, N(addrs), 2, 5), 0);
		emu_free(&em);
		pt_compiled_free(&cm);
		pt_state_free(&many);
	}

	/* an eighth IPv4 prefix: 9 rows, the trie for both families */
	assert_int_equal(policy_(&st, PT_UDP, 5000, 5000, "198.18.9.0/24", PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.ports[PT_PORTS + 5000].flags, PT_PORT_FROM);
	assert_int_equal(c.nlists, 0);
	assert_int_equal(c.npolicies, PT_LIST_LEN + 1 + 3);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), N(addrs), 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
}

/*
 * The generation byte goes into every key and the generation into the
 * port_table index; gen 0 and gen 1 never collide. Loaded side by side,
 * as in the pinned maps, each generation answers for its own state.
 */
static void test_compile_generation(void **state)
{
	static const char *const addrs[] = { "198.18.0.2", "198.19.1.1", "2001:db8::1" };
	struct pt_state st = {}, st2;
	struct pt_compiled c0, c1, c2;
	struct emu e0, e1, eb;
	uint32_t *fresh = NULL;
	size_t nfresh;
	struct pt_prefix any = { .family = PT_FAMILY_ANY };

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	assert_int_equal(pt_service_add(&st, "t", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 80, 90, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "any", 53, 53, 1, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 0, 1023, "198.18.0.0/16", PT_DROP_NEW, 0, NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_UDP, 5000, 5001), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 0, &c0, &e0), 0);
	assert_int_equal(compile_and_load(&st, 1, &c1, &e1), 0);
	assert_int_equal(c0.gen, 0);
	assert_int_equal(c1.gen, 1);
	assert_int_equal(c0.nclasses[PT_TCP], c1.nclasses[PT_TCP]);
	assert_int_equal(c0.nclasses[PT_UDP], c1.nclasses[PT_UDP]);
	assert_int_equal(c0.nbinds, c1.nbinds);
	assert_int_equal(c0.nhosts, c1.nhosts);
	assert_int_equal(c0.npolicies, c1.npolicies);
	assert_memory_equal(c0.ports, c1.ports, (size_t)PT_NPROTO * PT_PORTS * sizeof(*c0.ports));
	assert_int_equal(probe_all_ports(&st, &e0, 0, addrs, N(addrs), 1, 5), 0);
	assert_int_equal(probe_all_ports(&st, &e1, 1, addrs, N(addrs), 1, 5), 0);

	/* the same state in both generations, in one set of maps */
	{
		const struct pt_compiled *both[] = { &c0, &c1 };

		assert_int_equal(emu_load_gens(&eb, both, 2), 0);
		assert_int_equal(probe_all_ports(&st, &eb, 0, addrs, N(addrs), 1, 5), 0);
		assert_int_equal(probe_all_ports(&st, &eb, 1, addrs, N(addrs), 1, 5), 0);
		emu_free(&eb);
	}

	/* gen 1 an edited state, gen 0 still the old one: each its own */
	clone_state(&st2, &st);
	assert_int_equal(bind_(&st2, PT_TCP, "any", 22, 22, 1, NULL), 0);
	assert_int_equal(pt_binding_del(&st2, PT_UDP, &any, 53, 53), 0);
	assert_int_equal(policy_(&st2, PT_UDP, 53, 53, "2001:db8::/32", PT_DROP, 0, NULL), 0);
	assert_int_equal(policy_(&st2, PT_TCP, 80, 80, NULL, PT_LIMIT, 9, NULL), 0);
	assert_int_equal(pt_assign_slots(&st2, &st, &fresh, &nfresh), 0);
	free(fresh);
	emu_free(&e1);
	assert_int_equal(compile_and_load(&st2, 1, &c2, &e1), 0);
	emu_free(&e1);
	{
		const struct pt_compiled *both[] = { &c2, &c0 };	/* load order does not matter */

		assert_int_equal(emu_load_gens(&eb, both, 2), 0);
		assert_int_equal(probe_all_ports(&st, &eb, 0, addrs, N(addrs), N(addrs), 5), 0);
		assert_int_equal(probe_all_ports(&st2, &eb, 1, addrs, N(addrs), N(addrs), 5), 0);
		emu_free(&eb);
	}
	emu_free(&e0);
	pt_compiled_free(&c0);
	pt_compiled_free(&c1);
	pt_compiled_free(&c2);
	pt_state_free(&st);
	pt_state_free(&st2);
}

/* Hand-made states whose answers are known, probed on every port. */
static void test_compile_hand_cases(void **state)
{
	static const char *const addrs[] = {
		"198.18.0.2", "198.18.0.3", "198.18.1.1", "198.19.0.2", "10.0.0.1",
		"2001:db8::1", "2001:db8:1::1", "2001:db9::1", "::ffff:198.18.0.2",
	};
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	uint32_t *fresh = NULL;
	size_t nfresh;
	uint8_t fam, a[16];
	struct verdict v;

	for (int i = 0; i < 6; i++) {
		char n[16];

		snprintf(n, sizeof(n), "s%d", i);
		assert_int_equal(pt_service_add(&st, n, NULL), 0);
	}
	assert_int_equal(bind_(&st, PT_TCP, "any", 0, 65535, 0, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/15", 80, 80, 1, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.2", 0, 1023, 2, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 443, 443, 3, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "0.0.0.0/0", 443, 443, 4, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "198.18.0.0/16", 1000, 1099, 5, NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "2001:db8::/32", 1050, 1149, 4, NULL), 0);	/* same width */
	assert_int_equal(bind_(&st, PT_UDP, "2001:db8::/32", 53, 53, 1, NULL), 0);
	assert_int_equal(bind_(&st, PT_UDP, "2001:db8::1", 0, 65535, 2, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 0, 65535, NULL, PT_DROP_NEW, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 22, 22, "198.18.0.0/15", PT_ALLOW, 0, NULL), 0);
	assert_int_equal(policy_(&st, PT_TCP, 1020, 1030, "198.18.0.2", PT_LIMIT, 50, NULL), 0);
	assert_int_equal(policy_(&st, PT_UDP, 49000, 50000, "any", PT_LIMIT, 1000, NULL), 0);
	assert_int_equal(pt_watch_add(&st, PT_UDP, 1023, 1024), 0);
	assert_int_equal(pt_watch_add(&st, PT_TCP, 65535, 65535), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);

	/* some answers by hand, through the emulation */
	addr_of("198.18.0.2", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 80, &v);
	assert_true(v.bound);
	assert_int_equal(v.service, 1);		/* exact port beats the /32 range */
	emu_packet(&e, 1, PT_TCP, fam, a, 81, &v);
	assert_int_equal(v.service, 2);			/* from bind_host */
	assert_int_equal(v.action, PT_DROP_NEW);
	assert_int_equal(c.ports[81].flags, PT_PORT_BOUND | PT_PORT_HOST | PT_PORT_NET);
	addr_of("198.18.0.3", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 81, &v);
	assert_int_equal(v.service, 0);			/* a host miss: the trie */
	addr_of("198.18.0.2", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 443, &v);
	assert_int_equal(v.service, 4);		/* 0.0.0.0/0 beats any */
	emu_packet(&e, 1, PT_TCP, fam, a, 22, &v);
	assert_int_equal(v.action, PT_ALLOW);
	emu_packet(&e, 1, PT_TCP, fam, a, 1025, &v);
	assert_int_equal(v.action, PT_LIMIT);
	assert_int_equal(v.pps, 50);
	emu_packet(&e, 1, PT_UDP, fam, a, 53, &v);
	assert_false(v.bound);
	addr_of("2001:db8::1", &fam, a);
	emu_packet(&e, 1, PT_TCP, fam, a, 443, &v);
	assert_int_equal(v.service, 3);
	emu_packet(&e, 1, PT_UDP, fam, a, 53, &v);
	assert_int_equal(v.service, 1);
	emu_packet(&e, 1, PT_UDP, fam, a, 54, &v);
	assert_int_equal(v.service, 2);
	emu_packet(&e, 1, PT_UDP, fam, a, 49500, &v);
	assert_int_equal(v.action, PT_LIMIT);
	assert_int_equal(v.pps, 1000);

	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), 2, 10), 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
}

/* ---- random states ---- */

static const char *const v4_pool_s[] = {
	"0.0.0.0/0", "128.0.0.0/1", "10.0.0.0/8", "198.18.0.0/15", "198.18.0.0/16",
	"198.18.0.0/24", "198.18.0.0/31", "198.18.0.2/31", "198.18.0.2/32", "198.18.0.3/32",
	"198.18.1.0/24", "198.18.1.128/25", "198.19.0.0/16", "198.19.255.255/32",
};
static const char *const v6_pool_s[] = {
	"::/0", "8000::/1", "2001:db8::/32", "2001:db8::/48", "2001:db8::/64", "2001:db8::/127",
	"2001:db8::1/128", "2001:db8::2/128", "2001:db8:1::/48", "2001:db8:0:1::/64",
	"::ffff:198.18.0.0/112", "2001:db8::8000:0:0:0/65",
};
static struct pt_prefix v4_pool[N(v4_pool_s)], v6_pool[N(v6_pool_s)];

static void load_pools(void)
{
	for (size_t i = 0; i < N(v4_pool_s); i++)
		v4_pool[i] = pfx(v4_pool_s[i]);
	for (size_t i = 0; i < N(v6_pool_s); i++)
		v6_pool[i] = pfx(v6_pool_s[i]);
}

static struct pt_prefix rand_prefix(void)
{
	uint64_t r = rnd() % 10;

	if (r < 2)
		return (struct pt_prefix){ .family = PT_FAMILY_ANY };
	if (r < 6)
		return v4_pool[rnd() % N(v4_pool)];
	return v6_pool[rnd() % N(v6_pool)];
}

static const uint16_t range_pool[][2] = {
	{ 80, 80 }, { 79, 81 }, { 80, 81 }, { 81, 81 }, { 0, 1023 }, { 0, 0 }, { 1, 1 },
	{ 1023, 1023 }, { 1023, 1024 }, { 1024, 1024 }, { 1000, 1100 }, { 1024, 49151 },
	{ 49151, 49152 }, { 49152, 65535 }, { 0, 65535 }, { 60000, 65535 }, { 65535, 65535 },
	{ 65534, 65535 }, { 80, 443 }, { 443, 443 }, { 443, 8080 }, { 100, 200 }, { 150, 250 },
	{ 100, 115 }, { 100, 116 }, { 8000, 8100 }, { 8080, 8080 }, { 8000, 8015 },
	{ 1020, 1030 }, { 49000, 50000 }, { 50000, 50015 }, { 50000, 50016 }, { 0, 79 },
	{ 81, 65535 }, { 200, 300 }, { 0, 49151 }, { 1024, 65535 },
};

static const uint16_t hot_ports[] = {
	0, 1, 79, 80, 81, 100, 443, 1000, 1023, 1024, 8000, 8080, 49151, 49152, 50000, 65535,
};

static void rand_range(uint16_t *lo, uint16_t *hi)
{
	static const uint32_t widths[] = { 1, 1, 2, 3, 15, 16, 17, 100, 1000, 20000 };
	uint32_t l, w;

	if (rnd() % 3) {
		const uint16_t *r = range_pool[rnd() % N(range_pool)];

		*lo = r[0];
		*hi = r[1];
		return;
	}
	l = rnd() % 4 ? hot_ports[rnd() % N(hot_ports)] : (uint32_t)(rnd() % 65536);
	l = l + (uint32_t)(rnd() % 5) - 2;
	if (l > 65535)
		l = rnd() & 1 ? 0 : 65535;
	w = widths[rnd() % N(widths)];
	*lo = (uint16_t)l;
	*hi = (uint16_t)(l + w - 1 > 65535 ? 65535 : l + w - 1);
}

/* One random edit; checks the rules of edits on the way. */
static int rand_edit(struct pt_state *st, bool allow_deletes)
{
	struct pt_state before;
	size_t clash = SIZE_MAX;
	uint64_t what = rnd() % 23;
	int rc = 0, problems = 0;

	clone_state(&before, st);
	if (what < 8 && st->nservices) {
		struct pt_binding b = {
			.proto = (uint8_t)(rnd() % 2), .prefix = rand_prefix(),
			.service = st->services[rnd() % st->nservices].id,
		};

		rand_range(&b.lo, &b.hi);
		rc = pt_binding_set(st, &b, &clash);
		if (rc == -ERANGE) {
			const struct pt_binding *o = clash < before.nbindings ? &before.bindings[clash] : NULL;

			if (!o || o->proto != b.proto || !prefix_eq(&o->prefix, &b.prefix) ||
			    !partial_overlap(o->lo, o->hi, b.lo, b.hi)) {
				print_error("  binding -ERANGE with a wrong clash %zu\n", clash);
				problems++;
			}
		} else if (rc) {
			print_error("  pt_binding_set: %d\n", rc);
			problems++;
		} else if (pt_binding_find(st, b.proto, &b.prefix, b.lo, b.hi) < 0) {
			print_error("  pt_binding_set: not found after\n");
			problems++;
		}
	} else if (what < 13) {
		struct pt_policy p = {
			.proto = (uint8_t)(rnd() % 2),
			.from = rnd() % 2 ? (struct pt_prefix){ .family = PT_FAMILY_ANY } : rand_prefix(),
			.action = (uint32_t)(rnd() % 4),
		};

		p.pps = p.action == PT_LIMIT ? 1 + (uint32_t)(rnd() % 1000) : (uint32_t)(rnd() % 2);
		rand_range(&p.lo, &p.hi);
		rc = pt_policy_set(st, &p, &clash);
		if (rc == -ERANGE) {
			const struct pt_policy *o = clash < before.npolicies ? &before.policies[clash] : NULL;

			if (!o || o->proto != p.proto || !prefix_eq(&o->from, &p.from) ||
			    !partial_overlap(o->lo, o->hi, p.lo, p.hi)) {
				print_error("  policy -ERANGE with a wrong clash %zu\n", clash);
				problems++;
			}
		} else if (rc) {
			print_error("  pt_policy_set: %d\n", rc);
			problems++;
		}
	} else if (what < 15) {
		uint32_t lo = hot_ports[rnd() % N(hot_ports)], hi;

		if (rnd() % 4 == 0)
			lo = (uint32_t)(rnd() % 65536);
		hi = lo + (uint32_t)(rnd() % 4);
		if (hi > 65535)
			hi = 65535;
		rc = pt_watch_add(st, (uint8_t)(rnd() % 2), (uint16_t)lo, (uint16_t)hi);
		if (rc) {
			print_error("  pt_watch_add: %d\n", rc);
			problems++;
		}
	} else if (allow_deletes && what < 17 && st->nbindings) {
		const struct pt_binding *b = &st->bindings[rnd() % st->nbindings];
		struct pt_binding copy = *b;

		rc = pt_binding_del(st, copy.proto, &copy.prefix, copy.lo, copy.hi);
		if (rc || pt_binding_find(st, copy.proto, &copy.prefix, copy.lo, copy.hi) >= 0) {
			print_error("  pt_binding_del: %d\n", rc);
			problems++;
		}
	} else if (allow_deletes && what < 18 && st->npolicies) {
		struct pt_policy copy = st->policies[rnd() % st->npolicies];

		rc = pt_policy_del(st, copy.proto, copy.lo, copy.hi, &copy.from);
		if (rc) {
			print_error("  pt_policy_del: %d\n", rc);
			problems++;
		}
	} else if (allow_deletes && what < 19 && st->nwatches) {
		struct pt_watch copy = st->watches[rnd() % st->nwatches];

		rc = pt_watch_del(st, copy.proto, copy.lo, copy.hi);
		if (rc) {
			print_error("  pt_watch_del: %d\n", rc);
			problems++;
		}
	} else if (what >= 20) {
		struct pt_steer sr = { .proto = (uint8_t)(rnd() % 2) };

		rand_range(&sr.lo, &sr.hi);
		if (allow_deletes && what == 22 && st->nsteers) {
			struct pt_steer copy = st->steers[rnd() % st->nsteers];

			rc = pt_steer_del(st, copy.proto, copy.lo, copy.hi);
			if (rc || pt_steer_find(st, copy.proto, copy.lo, copy.hi) >= 0) {
				print_error("  pt_steer_del: %d\n", rc);
				problems++;
			}
		} else {
			/* 1-4 ascending CPUs below 8 */
			for (uint16_t cpu = (uint16_t)(rnd() % 4); cpu < 8 && sr.ncpus < 4;
			     cpu += (uint16_t)(1 + rnd() % 3))
				sr.cpus[sr.ncpus++] = cpu;
			rc = pt_steer_set(st, &sr, &clash);
			if (rc == -ERANGE) {
				const struct pt_steer *o =
					clash < before.nsteers ? &before.steers[clash] : NULL;

				if (!o || o->proto != sr.proto ||
				    !partial_overlap(o->lo, o->hi, sr.lo, sr.hi)) {
					print_error("  steer -ERANGE with a wrong clash %zu\n", clash);
					problems++;
				}
			} else if (rc || pt_steer_find(st, sr.proto, sr.lo, sr.hi) < 0) {
				print_error("  pt_steer_set: %d\n", rc);
				problems++;
			}
		}
	} else if (st->nservices) {
		/* try to remove a service: only when nothing refers to it */
		const struct pt_service *s = &st->services[rnd() % st->nservices];
		bool used = false;
		char name[PT_NAME_LEN];

		snprintf(name, sizeof(name), "%s", s->name);
		for (size_t i = 0; i < st->nbindings; i++)
			used |= st->bindings[i].service == s->id;
		rc = pt_service_del(st, name);
		if (rc != (used ? -EBUSY : 0)) {
			print_error("  pt_service_del(%s): %d, used %d\n", name, rc, used);
			problems++;
		}
	}
	if (rc && !state_equal(st, &before)) {
		print_error("  a failed edit (%d) changed the state\n", rc);
		problems++;
	}
	pt_state_free(&before);
	return problems;
}

static void rand_state(struct pt_state *st)
{
	int nsvc = 1 + (int)(rnd() % 5), nedits = (int)(rnd() % 40);

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < nsvc; i++) {
		char name[16];

		snprintf(name, sizeof(name), "svc%d", i);
		assert_int_equal(pt_service_add(st, name, NULL), 0);
	}
	for (int i = 0; i < nedits; i++)
		failures += rand_edit(st, rnd() % 4 == 0);
	/* one state in three: a range crowded with source prefixes, so that
	 * some classes have more than a policy_list holds (the trie) */
	if (rnd() % 3 == 0) {
		const uint16_t *r = range_pool[rnd() % N(range_pool)];
		uint8_t proto = (uint8_t)(rnd() % 2);

		for (int i = 8 + (int)(rnd() % 12); i > 0; i--) {
			struct pt_policy p = { .proto = proto, .lo = r[0], .hi = r[1],
					       .from = rnd() % 3 ? v4_pool[rnd() % N(v4_pool)]
								 : v6_pool[rnd() % N(v6_pool)],
					       .action = (uint32_t)(rnd() % 3) };
			int rc = pt_policy_set(st, &p, NULL);

			if (rc && rc != -ERANGE && rc != -ENOSPC) {
				print_error("  pt_policy_set: %d\n", rc);
				failures++;
			}
		}
	}
}

/* An address of the family, near one of the prefixes that matter. */
static void rand_addr(const struct pt_state *st, uint8_t family, uint8_t addr[16])
{
	const struct pt_prefix *cands[64];
	size_t nc = 0;
	unsigned int max = family == PT_INET ? 32 : 128;
	const struct pt_prefix *p;
	uint64_t how = rnd() % 8;

	memset(addr, 0, 16);
	for (size_t i = 0; i < st->nbindings && nc < N(cands); i++)
		if (st->bindings[i].prefix.family == family)
			cands[nc++] = &st->bindings[i].prefix;
	for (size_t i = 0; i < st->npolicies && nc < N(cands); i++)
		if (st->policies[i].from.family == family)
			cands[nc++] = &st->policies[i].from;
	if (!nc || rnd() % 4 == 0)
		p = family == PT_INET ? &v4_pool[rnd() % N(v4_pool)] : &v6_pool[rnd() % N(v6_pool)];
	else
		p = cands[rnd() % nc];
	memcpy(addr, p->addr, max / 8);
	switch (how) {
	case 0:		/* the network address itself */
		break;
	case 1:
	case 2:
	case 3:		/* random host bits */
		for (unsigned int b = p->plen; b < max; b++)
			if (rnd() & 1)
				addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		break;
	case 4:		/* just outside: flip the last prefix bit */
		if (p->plen)
			addr[(p->plen - 1) / 8] ^= (uint8_t)(0x80 >> ((p->plen - 1) % 8));
		break;
	case 5:		/* flip one bit near the boundary */
	{
		int b = (int)p->plen + (int)(rnd() % 5) - 2;

		if (b >= 0 && b < (int)max)
			addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		break;
	}
	case 6:		/* the last address of the prefix */
		for (unsigned int b = p->plen; b < max; b++)
			addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		break;
	default:	/* anywhere */
		for (unsigned int i = 0; i < max / 8; i++)
			addr[i] = (uint8_t)rnd();
		break;
	}
}

/* A port near a bound of some rule, a class border, or anywhere. */
static uint16_t rand_port(const struct pt_state *st)
{
	uint64_t how = rnd() % 10;
	uint32_t base;

	if (how < 5) {
		size_t n = st->nbindings + st->npolicies + st->nwatches;
		uint16_t lo, hi;

		if (!n)
			return (uint16_t)rnd();
		size_t i = rnd() % n;

		if (i < st->nbindings) {
			lo = st->bindings[i].lo;
			hi = st->bindings[i].hi;
		} else if ((i -= st->nbindings) < st->npolicies) {
			lo = st->policies[i].lo;
			hi = st->policies[i].hi;
		} else {
			i -= st->npolicies;
			lo = st->watches[i].lo;
			hi = st->watches[i].hi;
		}
		base = rnd() & 1 ? lo : hi;
	} else if (how < 8) {
		static const uint16_t borders[] = { 0, 1023, 1024, 49151, 49152, 65535 };

		base = borders[rnd() % N(borders)];
	} else {
		return (uint16_t)rnd();
	}
	base = base + (uint32_t)(rnd() % 3) - 1;
	return (uint16_t)(base > 65535 ? (rnd() & 1 ? 0 : 65535) : base);
}

static int probe_random(const struct pt_state *st, const struct emu *e, uint8_t gen, int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		uint8_t proto = (uint8_t)(rnd() % 2), family = (uint8_t)(rnd() % 2), addr[16];
		uint16_t port = rand_port(st);

		rand_addr(st, family, addr);
		if (!check_packet(e, st, gen, proto, family, addr, port) && ++bad >= 5)
			break;
	}
	return bad;
}

#define RANDOM_STATES 300
#define PROBES_PER_STATE 800

/* steer rules: CPU lists as the model holds them, laminar ranges per
 * protocol, the same range replaced, limits; nothing changes on error. */
static void test_steer_set(void **state)
{
	struct pt_state st = {}, before;
	struct pt_steer bad = { .proto = PT_UDP, .lo = 1, .hi = 1 };
	size_t clash = 99;

	/* not a list the model holds: empty, unsorted, twice, too high */
	assert_int_equal(pt_steer_set(&st, &bad, NULL), -EINVAL);
	bad.ncpus = 2;
	bad.cpus[0] = 3;
	bad.cpus[1] = 1;
	assert_int_equal(pt_steer_set(&st, &bad, NULL), -EINVAL);
	bad.cpus[1] = 3;
	assert_int_equal(pt_steer_set(&st, &bad, NULL), -EINVAL);
	bad.ncpus = 1;
	bad.cpus[0] = PT_MAX_CPUS;
	assert_int_equal(pt_steer_set(&st, &bad, NULL), -EINVAL);
	bad.cpus[0] = 1;
	bad.lo = 2;
	assert_int_equal(pt_steer_set(&st, &bad, NULL), -EINVAL);	/* lo > hi */
	assert_int_equal(st.nsteers, 0);

	assert_int_equal(steer_(&st, PT_UDP, 5000, 5999, "0-1", NULL), 0);
	assert_int_equal(steer_(&st, PT_UDP, 5500, 5500, "1", NULL), 0);	/* nested */
	assert_int_equal(steer_(&st, PT_TCP, 5500, 6500, "0", NULL), 0);	/* other proto */
	clone_state(&before, &st);
	assert_int_equal(steer_(&st, PT_UDP, 5900, 6100, "0", &clash), -ERANGE);
	assert_int_equal(clash, 0);
	assert_true(state_equal(&st, &before));
	assert_int_equal(pt_steer_del(&st, PT_UDP, 5000, 5998), -ENOENT);
	assert_true(state_equal(&st, &before));
	pt_state_free(&before);
	/* the same range again: its CPUs replaced, in place */
	assert_int_equal(steer_(&st, PT_UDP, 5500, 5500, "2-3,7", NULL), 0);
	assert_int_equal(st.nsteers, 3);
	assert_int_equal(st.steers[1].ncpus, 3);
	assert_int_equal(st.steers[1].cpus[2], 7);
	assert_int_equal(pt_model_steer_lookup(&st, PT_UDP, 5500), 1);
	assert_int_equal(pt_model_steer_lookup(&st, PT_UDP, 5501), 0);
	assert_int_equal(pt_model_steer_lookup(&st, PT_UDP, 6000), -1);
	assert_int_equal(pt_model_steer_lookup(&st, PT_TCP, 6000), 2);
	assert_int_equal(pt_steer_del(&st, PT_UDP, 5000, 5999), 0);
	assert_int_equal(pt_model_steer_lookup(&st, PT_UDP, 5501), -1);
	pt_state_free(&st);

	/* at most PT_MAX_STEERS */
	for (uint32_t i = 0; i < PT_MAX_STEERS; i++)
		assert_int_equal(steer_(&st, PT_UDP, (uint16_t)i, (uint16_t)i, "0", NULL), 0);
	assert_int_equal(steer_(&st, PT_UDP, 60000, 60000, "0", NULL), -ENOSPC);
	assert_int_equal(steer_(&st, PT_UDP, 7, 7, "1", NULL), 0);	/* a replace is fine */
	pt_state_free(&st);
	(void)state;
}

/* The compiler cuts classes at steer bounds and gives each steered port
 * the CPU set of its narrowest steer rule, after policy and binding flags. */
static void test_compile_steer(void **state)
{
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	uint32_t *fresh = NULL;
	size_t nfresh;
	const struct pt_port_ent *u = NULL;

	assert_int_equal(pt_service_add(&st, "web", NULL), 0);
	assert_int_equal(bind_(&st, PT_TCP, "any", 80, 80, 0, NULL), 0);
	assert_int_equal(steer_(&st, PT_TCP, 80, 80, "1", NULL), 0);		/* set 0 */
	assert_int_equal(steer_(&st, PT_UDP, 5000, 5999, "0-1", NULL), 0);	/* set 1 */
	assert_int_equal(steer_(&st, PT_UDP, 5500, 5500, "1", NULL), 0);	/* set 2 */
	assert_int_equal(policy_(&st, PT_UDP, 5500, 5500, NULL, PT_DROP, 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	/* tcp 80, udp 5500 on their own; the wide range as one row */
	assert_int_equal(st.nslots, 3);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.nsets, 3);
	assert_int_equal(c.sets[0].count, 1);
	assert_int_equal(c.sets[0].cpu[0], 1);
	assert_int_equal(c.sets[1].count, 2);
	assert_int_equal(c.sets[1].cpu[0], 0);
	assert_int_equal(c.sets[1].cpu[1], 1);
	assert_int_equal(c.nclasses[PT_TCP], 1);
	assert_int_equal(c.nclasses[PT_UDP], 3);	/* 5000-5499, 5500, 5501-5999 */

	assert_int_equal(c.ports[80].flags, PT_PORT_BOUND | PT_PORT_NET | PT_PORT_CPU);
	assert_int_equal(c.ports[80].steer, 0);
	assert_int_equal(c.ports[80].slot, assigned(&st, PT_TCP, 80, 80));
	assert_int_equal(c.ports[81].flags, 0);
	u = &c.ports[PT_PORTS];
	assert_int_equal(u[5000].class, 0);
	assert_int_equal(u[5000].flags, PT_PORT_CPU);
	assert_int_equal(u[5000].steer, 1);
	assert_int_equal(u[5000].action, PT_ALLOW);
	assert_int_equal(u[5000].slot, assigned(&st, PT_UDP, 5000, 5999));
	assert_int_equal(u[5499].steer, 1);
	assert_int_equal(u[5500].class, 1);
	assert_int_equal(u[5500].flags, PT_PORT_CPU);
	assert_int_equal(u[5500].steer, 2);
	assert_int_equal(u[5500].action, PT_DROP);	/* the guard drops before it steers */
	assert_int_equal(u[5500].slot, assigned(&st, PT_UDP, 5500, 5500));
	assert_int_equal(u[5501].class, 2);
	assert_int_equal(u[5501].steer, 1);
	assert_int_equal(u[5999].steer, 1);
	assert_int_equal(u[6000].flags, 0);
	assert_int_equal(u[6000].steer, 0);
	assert_int_equal(u[6000].slot, PT_CLASS_SLOT(PT_UDP, PT_CLASS_REGISTERED));
	assert_int_equal(u[4999].flags, 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
	(void)state;
}

static void test_compile_random_vs_model(void **state)
{
	unsigned int seed = seed_rng("random states");
	size_t total[6] = {};

	load_pools();
	for (int iter = 0; iter < RANDOM_STATES; iter++) {
		struct pt_state a, b;
		struct pt_compiled ca, cb;
		struct emu ea, eb;
		uint32_t *fresh = NULL;
		size_t nfresh = 0;
		int before = failures, problems;

		/* generation A from nothing */
		rand_state(&a);
		assert_int_equal(pt_assign_slots(&a, NULL, &fresh, &nfresh), 0);
		failures += check_slots(&a, NULL, fresh, nfresh);
		free(fresh);
		fresh = NULL;
		problems = compile_and_load(&a, 1, &ca, &ea);
		problems += probe_random(&a, &ea, 1, PROBES_PER_STATE);

		/* A with no counter slots at all: the class rows everywhere */
		{
			struct pt_state bare;
			struct pt_compiled cn;
			struct emu en;

			clone_state(&bare, &a);
			free(bare.slots);
			bare.slots = NULL;
			bare.nslots = 0;
			problems += compile_and_load(&bare, 1, &cn, &en);
			problems += probe_random(&bare, &en, 1, PROBES_PER_STATE / 4);
			emu_free(&en);
			pt_compiled_free(&cn);
			pt_state_free(&bare);
		}

		/* generation B: A edited, slots kept against A */
		clone_state(&b, &a);
		for (int k = (int)(rnd() % 10); k >= 0; k--)
			failures += rand_edit(&b, true);
		assert_int_equal(pt_assign_slots(&b, &a, &fresh, &nfresh), 0);
		failures += check_slots(&b, &a, fresh, nfresh);
		free(fresh);
		problems += compile_and_load(&b, 1, &cb, &eb);
		problems += probe_random(&b, &eb, 1, PROBES_PER_STATE);

		for (int p = 0; p < PT_NPROTO; p++)
			total[0] += ca.nclasses[p] + cb.nclasses[p];
		total[1] += ca.nbinds + cb.nbinds;
		total[2] += ca.npolicies + cb.npolicies;
		total[3] += a.nbindings + a.npolicies + b.nbindings + b.npolicies;
		total[4] += ca.nhosts + cb.nhosts;
		total[5] += ca.nlists + cb.nlists;
		failures += problems;
		if (failures != before) {
			print_error("state %d of seed %u (A, then B):\n", iter, seed);
			dump_state(&a);
			print_error(" B:\n");
			dump_state(&b);
		}
		emu_free(&ea);
		emu_free(&eb);
		pt_compiled_free(&ca);
		pt_compiled_free(&cb);
		pt_state_free(&a);
		pt_state_free(&b);
		if (failures > 20)
			break;
	}
	print_message("# %d states: %zu rules -> %zu classes, %zu bind (%zu host), %zu policy "
		      "entries, %zu policy lists\n", 2 * RANDOM_STATES, total[3], total[0], total[1],
		      total[4], total[2], total[5]);
	DONE();
}

/* 10,000 exact-port bindings to one IPv4 address: one class, one bind row
 * (IPv4 only: no binding names IPv6) and, as it is a /32, one host row per
 * port; no policy row. Only
 * PT_MAX_SLOTS - PT_FIRST_FREE_SLOT ports get a counter slot of their own;
 * the others count in their class row. */
static void test_compile_many_ports(void **state)
{
	static const size_t sizes[] = { 1000, 10000 };

	seed_rng("many ports");
	for (size_t si = 0; si < N(sizes); si++) {
		size_t n = sizes[si], per_family[PT_NFAMILY] = {};
		struct pt_state st = {};
		struct pt_compiled c;
		struct emu e;
		uint32_t *fresh = NULL;
		size_t nfresh;

		assert_int_equal(pt_service_add(&st, "a", NULL), 0);
		assert_int_equal(pt_service_add(&st, "b", NULL), 0);
		/* through the API for the first thousand; then directly, as
		 * pt_binding_set is linear in the count (quadratic to fill) */
		for (size_t i = 0; i < n && i < 1000; i++)
			assert_int_equal(bind_(&st, PT_TCP, "198.18.0.2/32", (uint16_t)(20000 + i),
					       (uint16_t)(20000 + i), (uint32_t)(i & 1), NULL), 0);
		if (n > 1000) {
			st.bindings = realloc(st.bindings, n * sizeof(*st.bindings));
			assert_non_null(st.bindings);
			for (size_t i = 1000; i < n; i++)
				st.bindings[i] = (struct pt_binding){
					.proto = PT_TCP, .prefix = pfx("198.18.0.2/32"),
					.lo = (uint16_t)(20000 + i), .hi = (uint16_t)(20000 + i),
					.service = (uint32_t)(i & 1),
				};
			st.nbindings = n;
		}
		assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
		free(fresh);
		assert_int_equal(st.nslots, n < PT_MAX_SLOTS - PT_FIRST_FREE_SLOT ?
						n : PT_MAX_SLOTS - PT_FIRST_FREE_SLOT);
		assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
		assert_int_equal(c.nclasses[PT_TCP], n);
		assert_int_equal(c.nclasses[PT_UDP], 0);
		assert_int_equal(c.nbinds, n);
		assert_int_equal(c.nhosts, n);
		assert_int_equal(c.npolicies, 0);
		for (size_t i = 0; i < c.nbinds; i++) {
			assert_true(c.binds[i].key.family < PT_NFAMILY);
			per_family[c.binds[i].key.family]++;
			assert_int_equal(c.binds[i].key.prefixlen, PT_LPM_KEY_BITS + 32);
		}
		assert_int_equal(per_family[PT_INET], n);
		assert_int_equal(per_family[PT_INET6], 0);
		for (size_t i = 0; i < n; i++) {
			const struct pt_port_ent *x = &c.ports[20000 + i];

			assert_int_equal(x->class, i);	/* classes numbered by port */
			assert_int_equal(x->flags, PT_PORT_BOUND | PT_PORT_HOST);	/* no trie */
			assert_int_equal(x->slot, pt_slot_of_port(&st, PT_TCP, (uint16_t)(20000 + i)));
			if (i >= PT_MAX_SLOTS - PT_FIRST_FREE_SLOT)
				assert_int_equal(x->slot, PT_CLASS_SLOT(PT_TCP, PT_CLASS_REGISTERED));
		}
		assert_int_equal(c.ports[19999].flags, 0);
		assert_int_equal(c.ports[20000 + n].flags, 0);
		/* a sample of packets, around and inside the block */
		{
			uint8_t fam, a[16];
			int bad = 0;

			addr_of("198.18.0.2", &fam, a);
			for (uint32_t port = 19990; port < 20000 + n + 10 && bad < 5; port += 1 + (uint32_t)(rnd() % 7))
				bad += !check_packet(&e, &st, 1, PT_TCP, fam, a, (uint16_t)port);
			addr_of("198.18.0.3", &fam, a);
			for (uint32_t port = 19990; port < 20000 + n + 10 && bad < 5; port += 97)
				bad += !check_packet(&e, &st, 1, PT_TCP, fam, a, (uint16_t)port);
			EXPECT(bad == 0, "%d packets disagree with %zu bindings", bad, n);
		}
		emu_free(&e);
		pt_compiled_free(&c);
		pt_state_free(&st);
	}
	DONE();
}

/*
 * Many ranges, nested and disjoint: one class per elementary interval.
 * The 60 nested ranges give 60 starts and 59 ends below 65536, the 100
 * disjoint ones 200 bounds, the class borders 2: 321 intervals, all
 * covered. 12 of the disjoint ranges (i % 40 < 4: 1, 6, 11 and 16 ports,
 * three of each) are counted port by port, which cuts them into single
 * ports: 3 * (0 + 5 + 10 + 15) = 90 more. The tables agree with the model
 * on every port.
 */
static void test_compile_nested_ranges(void **state)
{
	static const char *const addrs[] = { "198.18.0.2", "2001:db8::1" };
	struct pt_state st = {};
	struct pt_compiled c;
	struct emu e;
	uint32_t *fresh = NULL;
	size_t nfresh;

	assert_int_equal(pt_service_add(&st, "s", NULL), 0);
	for (uint32_t i = 0; i < 60; i++)	/* 60 nested ranges */
		assert_int_equal(bind_(&st, PT_UDP, "any", (uint16_t)(i * 7), (uint16_t)(65535 - i * 11),
				       0, NULL), 0);
	for (uint32_t i = 0; i < 100; i++)	/* 100 disjoint ranges inside */
		assert_int_equal(bind_(&st, PT_UDP, "198.18.0.0/15", (uint16_t)(3000 + i * 300),
				       (uint16_t)(3000 + i * 300 + (i % 40) * 5), 0, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(compile_and_load(&st, 1, &c, &e), 0);
	assert_int_equal(c.nclasses[PT_TCP], 0);
	assert_int_equal(c.nclasses[PT_UDP], 321 + 90);
	assert_int_equal(c.npolicies, 0);
	assert_int_equal(probe_all_ports(&st, &e, 1, addrs, N(addrs), 1, 5), 0);
	emu_free(&e);
	pt_compiled_free(&c);
	pt_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_service_add_ids, reset),
		cmocka_unit_test_setup(test_service_redeclare, reset),
		cmocka_unit_test_setup(test_service_add_limits, reset),
		cmocka_unit_test_setup(test_service_add_validates_name, reset),
		cmocka_unit_test_setup(test_service_del, reset),
		cmocka_unit_test_setup(test_binding_set_errors, reset),
		cmocka_unit_test_setup(test_binding_set_validates_prefix, reset),
		cmocka_unit_test_setup(test_binding_overlap, reset),
		cmocka_unit_test_setup(test_binding_del, reset),
		cmocka_unit_test_setup(test_policy_set, reset),
		cmocka_unit_test_setup(test_policy_del, reset),
		cmocka_unit_test_setup(test_watch_add_del, reset),
		cmocka_unit_test_setup(test_failed_edits_change_nothing, reset),
		cmocka_unit_test_setup(test_state_copy, reset),
		cmocka_unit_test_setup(test_prefix_helpers, reset),
		cmocka_unit_test_setup(test_model_precedence, reset),
		cmocka_unit_test_setup(test_slots_basic, reset),
		cmocka_unit_test_setup(test_slots_keep_prev, reset),
		cmocka_unit_test_setup(test_slots_enospc, reset),
		cmocka_unit_test_setup(test_slot_of_port, reset),
		cmocka_unit_test_setup(test_compile_empty, reset),
		cmocka_unit_test_setup(test_compile_one_wide_binding, reset),
		cmocka_unit_test_setup(test_compile_one_policy, reset),
		cmocka_unit_test_setup(test_compile_list_or_trie, reset),
		cmocka_unit_test_setup(test_compile_generation, reset),
		cmocka_unit_test_setup(test_compile_hand_cases, reset),
		cmocka_unit_test_setup(test_steer_set, reset),
		cmocka_unit_test_setup(test_compile_steer, reset),
		cmocka_unit_test_setup(test_compile_random_vs_model, reset),
		cmocka_unit_test_setup(test_compile_many_ports, reset),
		cmocka_unit_test_setup(test_compile_nested_ranges, reset),
	};

	/* PORTIER_TEST=pattern runs only the matching tests (cmocka globbing) */
	if (getenv("PORTIER_TEST"))
		cmocka_set_test_filter(getenv("PORTIER_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
