// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference model of the guard: see guard_model.h. Written from the
 * protocol definitions (byte offsets into the frame), not from the BPF
 * code, so that a shared mistake is less likely.
 */
#include <string.h>
#include <linux/bpf.h>
#include "guard_model.h"

/* Protocol numbers, spelled out here rather than borrowed. */
#define GM_ETH_IP 0x0800
#define GM_ETH_IPV6 0x86dd
#define GM_ETH_8021Q 0x8100
#define GM_ETH_8021AD 0x88a8
#define GM_IP_TCP 6
#define GM_IP_UDP 17
#define GM_IP6_HOP 0
#define GM_IP6_ROUTING 43
#define GM_IP6_FRAGMENT 44
#define GM_IP6_AH 51
#define GM_IP6_DSTOPTS 60
#define GM_MAX_VLAN 2
#define GM_MAX_EXT 8

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int is_ext(uint8_t nh)
{
	return nh == GM_IP6_HOP || nh == GM_IP6_ROUTING || nh == GM_IP6_FRAGMENT ||
	       nh == GM_IP6_AH || nh == GM_IP6_DSTOPTS;
}

#define GM_VLAN_SCAN 8

const char *gm_kind_name(enum gm_kind kind)
{
	switch (kind) {
	case GM_MALFORMED:
		return "malformed";
	case GM_FRAGMENT:
		return "fragment";
	case GM_OTHER:
		return "other";
	case GM_POLICED:
		return "policed";
	case GM_UNREADABLE:
		return "unreadable";
	case GM_FRAG_PORT:
		return "fragment-of-port";
	case GM_NKINDS:
		break;
	}
	return "?";
}

/* What the parse found about fragmentation. */
struct gm_frag_info {
	uint8_t mf;		/* the (last) fragment header's more-fragments bit */
	uint16_t off;		/* its offset, 8-byte units */
	uint8_t l4;		/* IPv4 protocol / the fragment header's next header */
	uint32_t id;
	uint8_t daddr[16];
};

/* Parse results besides enum gm_kind: a later fragment, and a header cut
 * by the end of the IP packet (malformed, or unreadable in a first
 * fragment). */
enum { P_LATER = 100, P_CUT = 101 };

static int is_vlan(uint16_t et)
{
	return et == GM_ETH_8021Q || et == GM_ETH_8021AD;
}

/* Parse the frame; for GM_POLICED fill proto, family, saddr, dport, flags. */
static int parse(const uint8_t *p, size_t len, struct gm_result *r, struct gm_frag_info *fi)
{
	size_t off, end, hl;
	uint16_t et;
	uint8_t l4;
	int i;

	if (len < 14)
		return GM_MALFORMED;
	et = be16(p + 12);
	off = 14;
	for (i = 0; i < GM_MAX_VLAN && is_vlan(et); i++) {
		if (off + 4 > len)
			return GM_MALFORMED;
		et = be16(p + off + 2);
		off += 4;
	}
	if (is_vlan(et)) {
		/* more tags than parsed: is there IP (or more tags) behind? */
		for (i = 0; i < GM_VLAN_SCAN && is_vlan(et); i++) {
			if (off + 4 > len)
				return GM_MALFORMED;
			et = be16(p + off + 2);
			off += 4;
		}
		if (et == GM_ETH_IP || et == GM_ETH_IPV6 || is_vlan(et))
			return GM_UNREADABLE;
		return GM_OTHER;
	}

	if (et == GM_ETH_IP) {
		size_t tot;
		uint16_t fo;

		if (off + 20 > len)
			return GM_MALFORMED;
		hl = (size_t)(p[off] & 0x0f) * 4;
		if (p[off] >> 4 != 4 || hl < 20)
			return GM_MALFORMED;
		tot = be16(p + off + 2);
		if (off + tot > len || tot < hl)
			return GM_MALFORMED;
		r->family = PT_INET;
		memset(r->saddr, 0, 16);
		memcpy(r->saddr, p + off + 12, 4);
		memset(fi->daddr, 0, 16);
		memcpy(fi->daddr, p + off + 16, 4);
		fo = be16(p + off + 6);
		fi->off = fo & 0x1fff;
		fi->mf = (fo >> 13) & 1;
		fi->l4 = p[off + 9];
		fi->id = be16(p + off + 4);
		if (fi->off)
			return P_LATER;
		end = off + tot;
		l4 = p[off + 9];
		off += hl;
	} else if (et == GM_ETH_IPV6) {
		if (off + 40 > len)
			return GM_MALFORMED;
		if (p[off] >> 4 != 6)
			return GM_MALFORMED;
		end = off + 40 + be16(p + off + 4);
		if (end > len)
			return GM_MALFORMED;
		l4 = p[off + 6];
		r->family = PT_INET6;
		memcpy(r->saddr, p + off + 8, 16);
		memcpy(fi->daddr, p + off + 24, 16);
		off += 40;
		for (i = 0; is_ext(l4); i++) {
			if (i == GM_MAX_EXT)
				return GM_UNREADABLE;
			if (l4 == GM_IP6_FRAGMENT) {
				uint16_t fo;

				if (off + 8 > end)
					return P_CUT;
				fo = be16(p + off + 2);
				fi->off = fo >> 3;
				fi->mf = fo & 1;
				fi->l4 = p[off];
				fi->id = (uint32_t)be16(p + off + 4) << 16 | be16(p + off + 6);
				if (fi->off)
					return P_LATER;
				hl = 8;
			} else {
				if (off + 2 > end)
					return P_CUT;
				if (l4 == GM_IP6_AH)
					hl = ((size_t)p[off + 1] + 2) * 4;
				else
					hl = ((size_t)p[off + 1] + 1) * 8;
				if (off + hl > end)
					return P_CUT;
			}
			l4 = p[off];
			off += hl;
		}
	} else {
		return GM_OTHER;
	}

	if (l4 == GM_IP_TCP) {
		if (off + 20 > end)
			return P_CUT;
		hl = (size_t)(p[off + 12] >> 4) * 4;
		if (hl < 20)
			return GM_MALFORMED;
		if (off + hl > end)
			return P_CUT;
		r->proto = PT_TCP;
		r->tcp_flags = p[off + 13];
	} else if (l4 == GM_IP_UDP) {
		if (off + 8 > end)
			return P_CUT;
		r->proto = PT_UDP;
	} else {
		return GM_OTHER;
	}
	r->sport = be16(p + off);
	r->dport = be16(p + off + 2);
	return GM_POLICED;
}

static int prefix_match(const struct gm_policy *pol, uint8_t family, const uint8_t *addr)
{
	unsigned int full, rest;

	if (pol->family == GM_FAMILY_ANY)
		return 1;
	if (pol->family != family)
		return 0;
	full = pol->plen / 8;
	rest = pol->plen % 8;
	if (memcmp(pol->addr, addr, full))
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00 >> rest);

		if ((pol->addr[full] ^ addr[full]) & mask)
			return 0;
	}
	return 1;
}

long gm_policy_lookup(const struct gm_rules *rules, uint8_t proto, uint8_t family,
		      const uint8_t saddr[16], uint16_t port)
{
	long best = -1;
	size_t i;

	for (i = 0; i < rules->npolicies; i++) {
		const struct gm_policy *p = &rules->policies[i], *b;

		if (p->proto != proto || port < p->lo || port > p->hi ||
		    !prefix_match(p, family, saddr))
			continue;
		if (best < 0) {
			best = (long)i;
			continue;
		}
		b = &rules->policies[best];
		if (p->hi - p->lo < b->hi - b->lo ||
		    (p->hi - p->lo == b->hi - b->lo && p->plen > b->plen))
			best = (long)i;
	}
	return best;
}

/* Does the destination prefix of a binding hold addr? */
static int bind_match(const struct gm_bind *b, uint8_t family, const uint8_t *addr)
{
	struct gm_policy as = { .family = b->family, .plen = b->plen };

	memcpy(as.addr, b->addr, 16);
	return prefix_match(&as, family, addr);
}

long gm_bind_lookup(const struct gm_rules *rules, uint8_t proto, uint8_t family,
		    const uint8_t daddr[16], uint16_t port)
{
	long best = -1;
	size_t i;

	for (i = 0; i < rules->nbinds; i++) {
		const struct gm_bind *b = &rules->binds[i], *w;
		int rb, rw;

		if (b->proto != proto || port < b->lo || port > b->hi ||
		    !bind_match(b, family, daddr))
			continue;
		if (best < 0) {
			best = (long)i;
			continue;
		}
		w = &rules->binds[best];
		/* narrowest range; then longest prefix, a family before any */
		rb = b->plen * 2 + (b->family != GM_FAMILY_ANY);
		rw = w->plen * 2 + (w->family != GM_FAMILY_ANY);
		if (b->hi - b->lo < w->hi - w->lo || (b->hi - b->lo == w->hi - w->lo && rb > rw))
			best = (long)i;
	}
	return best;
}

static uint32_t rol32(uint32_t w, unsigned int s)
{
	return (w << s) | (w >> ((32 - s) & 31));
}

/* Bob Jenkins' final mix of three words (lookup3.c, final()). */
static uint32_t jenkins_final(uint32_t a, uint32_t b, uint32_t c)
{
	a += 0xdeadbeef;
	b += 0xdeadbeef;
	c += 0xdeadbeef;
	c ^= b;
	c -= rol32(b, 14);
	a ^= c;
	a -= rol32(c, 11);
	b ^= a;
	b -= rol32(a, 25);
	c ^= b;
	c -= rol32(b, 16);
	a ^= c;
	a -= rol32(c, 4);
	b ^= a;
	b -= rol32(a, 14);
	c ^= b;
	c -= rol32(b, 24);
	return c;
}

/* The xor of an address's four words, as the host reads them. */
static uint32_t fold(const uint8_t addr[16])
{
	uint32_t w[4];

	memcpy(w, addr, 16);
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

uint16_t gm_steer_cpu(const struct gm_steer *s, uint8_t proto, uint8_t family,
		      const uint8_t saddr[16], const uint8_t daddr[16], uint16_t sport,
		      uint16_t dport)
{
	uint32_t h = jenkins_final(fold(saddr), fold(daddr) ^ proto,
				   (uint32_t)sport << 16 | dport);

	(void)family;	/* an IPv4 address has zero words beyond the first */
	return s->cpus[h % s->ncpus];
}

static long steer_lookup(const struct gm_rules *rules, uint8_t proto, uint16_t port)
{
	long best = -1;
	size_t i;

	for (i = 0; i < rules->nsteers; i++) {
		const struct gm_steer *s = &rules->steers[i];

		if (s->proto != proto || port < s->lo || port > s->hi)
			continue;
		if (best < 0 || s->hi - s->lo < rules->steers[best].hi - rules->steers[best].lo)
			best = (long)i;
	}
	return best;
}

static int bit(const uint8_t *map, uint32_t i)
{
	return map && (map[i / 8] >> (i % 8)) & 1;
}

/* A packet the policy passed: to an AF_XDP socket, to a CPU, or on. */
static void steer(const struct gm_model *m, struct gm_result *r)
{
	const struct gm_rules *ru = &m->rules;
	long b = gm_bind_lookup(ru, r->proto, r->family, r->daddr, r->dport);

	if (b >= 0 && ru->binds[b].xsk_ifindex) {
		uint32_t svc = ru->binds[b].service;

		r->bind = b;
		if (ru->binds[b].xsk_ifindex == ru->ifindex && ru->rx_queue < PT_MAX_QUEUES &&
		    svc < PT_MAX_SERVICES && bit(ru->xsk_ready, PT_XSK_KEY(svc, ru->rx_queue))) {
			r->verdict = XDP_REDIRECT;
			r->slot_delta.xsk = 1;
			return;
		}
		r->slot_delta.fallback = 1;	/* passed to the stack */
		return;
	}
	r->steer = steer_lookup(ru, r->proto, r->dport);
	if (r->steer < 0)
		return;
	r->cpu = gm_steer_cpu(&ru->steers[r->steer], r->proto, r->family, r->saddr, r->daddr,
			      r->sport, r->dport);
	if (!bit(ru->cpu_ready, (uint32_t)r->cpu))
		return;		/* no queue on that CPU: passed, uncounted */
	r->verdict = XDP_REDIRECT;
	r->slot_delta.cpu = 1;
}

static uint32_t class_row(uint8_t proto, uint16_t port)
{
	if (port <= 1023)
		return PT_CLASS_SLOT(proto, PT_CLASS_WELL_KNOWN);
	if (port <= 49151)
		return PT_CLASS_SLOT(proto, PT_CLASS_REGISTERED);
	return PT_CLASS_SLOT(proto, PT_CLASS_EPHEMERAL);
}

/* The port's own slot, else the narrowest counted range holding it (the
 * lower one of two equally wide), else its class row. */
static uint32_t slot_of(const struct gm_rules *rules, uint8_t proto, uint16_t port)
{
	const struct gm_slot *range = NULL;
	size_t i;

	for (i = 0; i < rules->nslots; i++) {
		const struct gm_slot *s = &rules->slots[i];

		if (s->proto != proto || port < s->lo || port > s->hi)
			continue;
		if (s->lo == s->hi)
			return s->slot;
		if (!range || s->hi - s->lo < range->hi - range->lo ||
		    (s->hi - s->lo == range->hi - range->lo && s->lo < range->lo))
			range = s;
	}
	if (range)
		return range->slot;
	return class_row(proto, port);
}

/* Take one packet from the bucket of (rule, port, proto): 1 if it passes.
 * No bucket of its own and no free way in its set: limited. */
static int bucket_take(struct gm_model *m, const struct gm_policy *pol, uint16_t port)
{
	uint64_t key = PT_BUCKET_KEY(pol->rule, pol->proto, port);
	struct gm_bucket *set = m->buckets[pt_bucket_set(m->bucket_seed, key)], *b = NULL;
	size_t w;

	for (w = 0; w < PT_BUCKET_WAYS && !b; w++)
		if (set[w].used && set[w].key == key)
			b = &set[w];
	for (w = 0; w < PT_BUCKET_WAYS && !b; w++)
		if (!set[w].used) {
			b = &set[w];
			*b = (struct gm_bucket){ .key = key, .tokens = pol->pps, .used = 1 };
		}
	if (!b || !b->tokens)
		return 0;
	b->tokens--;
	return 1;
}

void gm_init(struct gm_model *m, const struct gm_rules *rules)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->rules = *rules;
	for (i = 0; i < rules->npolicies; i++)
		if (rules->policies[i].action != PT_ALLOW)
			m->enforce = 1;
	m->bucket_seed = GM_BUCKET_SEED;
}

void gm_forget_fragments(struct gm_model *m)
{
	memset(m->frags, 0, sizeof(m->frags));
	m->nfrags = 0;
}

/* The remembered first fragment of a datagram, or NULL; with add, a place
 * for it (the oldest is overwritten when the table is full). */
static struct gm_frag *frag_find(struct gm_model *m, const struct gm_result *r,
				 const struct gm_frag_info *fi, int add)
{
	uint8_t l4 = r->family == PT_INET ? fi->l4 : 0;
	size_t i;

	for (i = 0; i < m->nfrags; i++) {
		struct gm_frag *e = &m->frags[i];

		if (e->family == r->family && e->l4 == l4 && e->id == fi->id &&
		    !memcmp(e->saddr, r->saddr, 16) && !memcmp(e->daddr, fi->daddr, 16))
			return e;
	}
	if (!add)
		return NULL;
	i = m->nfrags < GM_FRAGS ? m->nfrags++ : fi->id % GM_FRAGS;
	m->frags[i] = (struct gm_frag){ .used = 1, .family = r->family, .l4 = l4, .id = fi->id };
	memcpy(m->frags[i].saddr, r->saddr, 16);
	memcpy(m->frags[i].daddr, fi->daddr, 16);
	return &m->frags[i];
}

static void unreadable(struct gm_model *m, struct gm_result *r)
{
	r->kind = GM_UNREADABLE;
	r->global_delta.unreadable = 1;
	r->verdict = m->enforce ? XDP_DROP : XDP_PASS;
}

/* A later fragment: its first's fate, or unknown. */
static void later_fragment(struct gm_model *m, struct gm_result *r, const struct gm_frag_info *fi,
			   size_t len)
{
	const struct gm_frag *e;

	if (fi->l4 == GM_IP_TCP && fi->off == 1) {
		unreadable(m, r);	/* can rewrite the first's flags (RFC 3128) */
		return;
	}
	e = frag_find(m, r, fi, 0);
	if (!e) {
		r->kind = GM_FRAGMENT;
		r->global_delta.fragments = 1;
		return;
	}
	switch (e->verdict) {
	case PT_FRAG_UNREADABLE:
	case PT_FRAG_UNREADABLE_DROPPED:
		r->kind = GM_UNREADABLE;
		r->global_delta.unreadable = 1;
		r->verdict = e->verdict == PT_FRAG_UNREADABLE ? XDP_PASS : XDP_DROP;
		return;
	default:
		break;
	}
	r->kind = GM_FRAG_PORT;
	r->slot = e->slot;
	r->slot_delta.packets = 1;
	r->slot_delta.bytes = len;
	if (e->verdict == PT_FRAG_DROPPED) {
		r->slot_delta.dropped = 1;
		r->verdict = XDP_DROP;
	} else if (e->verdict == PT_FRAG_LIMITED) {
		r->slot_delta.limited = 1;
		r->verdict = XDP_DROP;
	}
}

void gm_run(struct gm_model *m, const uint8_t *frame, size_t len, struct gm_result *r)
{
	const struct gm_policy *pol = NULL;
	struct gm_frag_info fi = {};
	struct gm_frag *e;
	int kind;

	memset(r, 0, sizeof(*r));
	r->verdict = XDP_PASS;
	r->policy = -1;
	r->steer = -1;
	r->cpu = -1;
	r->bind = -1;
	kind = parse(frame, len, r, &fi);
	memcpy(r->daddr, fi.daddr, 16);
	if (kind == P_CUT)
		kind = fi.mf ? GM_UNREADABLE : GM_MALFORMED;
	switch (kind) {
	case GM_MALFORMED:
		r->kind = GM_MALFORMED;
		r->global_delta.malformed = 1;
		return;
	case GM_OTHER:
		r->kind = GM_OTHER;
		r->global_delta.other = 1;
		return;
	case P_LATER:
		later_fragment(m, r, &fi, len);
		return;
	case GM_UNREADABLE:
		unreadable(m, r);
		if (fi.mf) {
			e = frag_find(m, r, &fi, 1);
			e->verdict = m->enforce ? PT_FRAG_UNREADABLE_DROPPED : PT_FRAG_UNREADABLE;
			e->slot = 0;
		}
		return;
	default:
		break;
	}

	r->kind = GM_POLICED;
	r->policy = gm_policy_lookup(&m->rules, r->proto, r->family, r->saddr, r->dport);
	if (r->policy >= 0)
		pol = &m->rules.policies[r->policy];
	r->slot = slot_of(&m->rules, r->proto, r->dport);
	r->slot_delta.packets = 1;
	r->slot_delta.bytes = len;
	if (pol) {
		switch (pol->action) {
		case PT_DROP:
			r->verdict = XDP_DROP;
			r->slot_delta.dropped = 1;
			break;
		case PT_DROP_NEW:
			if (r->proto == PT_TCP && (r->tcp_flags & 0x12) == 0x02) {
				r->verdict = XDP_DROP;
				r->slot_delta.dropped = 1;
			}
			break;
		case PT_LIMIT:
			if (!bucket_take(m, pol, r->dport)) {
				r->verdict = XDP_DROP;
				r->slot_delta.limited = 1;
			}
			break;
		default:
			break;
		}
	}
	/* steered only when passed and whole */
	if (r->verdict == XDP_PASS && !fi.mf)
		steer(m, r);
	if (fi.mf) {
		e = frag_find(m, r, &fi, 1);
		e->slot = r->slot;
		e->verdict = r->slot_delta.dropped ? PT_FRAG_DROPPED :
			     r->slot_delta.limited ? PT_FRAG_LIMITED : PT_FRAG_PASSED;
	}
}
