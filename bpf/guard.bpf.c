// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * guard: the guard at the door. An XDP program that parses each frame
 * (Ethernet, two VLAN tags, IPv4 with options, IPv6 with its extension
 * headers, TCP, UDP), counts it against its destination port's counter
 * slot and applies the port's policy: allow, drop, drop-new or a
 * per-port token bucket. Bad headers the stack itself drops are counted
 * and passed to the stack, which is their judge. What the stack could
 * still deliver but whose port or flags the guard cannot read (a first
 * fragment without its whole TCP/UDP header, a TCP fragment at offset 1,
 * a header chain or a tag stack past our bounds) is counted `unreadable`
 * and dropped whenever the live generation has a rule other than allow:
 * it fails closed. With no rules it changes nothing but counters.
 *
 * Later fragments carry no port: frag_table remembers what each first
 * fragment was judged, and they share its fate and its counters.
 *
 * Most frames are read by a one-pass reader (pt_parse_fast) and, when
 * their port needs only its own action, judged from registers; the rest by
 * the full parser (see docs/ARCHITECTURE.md, "Two readers").
 *
 * Cost per TCP/UDP packet: two array look-ups (config, port_table) and one
 * per-CPU array look-up (counters), all inlined by the verifier; one LPM
 * look-up (class and source address) only for ports with source-scoped
 * rules; two array look-ups only for rate-limited ports, and a spin lock
 * for those of their packets that may pass (a limited one only reads);
 * one LRU hash update or look-up only for fragments. Steering (after
 * policy): for a port bound to an AF_XDP service, the binding's look-up (as
 * dispatch does it), one array and one XSKMAP look-up; for a steered port,
 * one array look-up, a hash and a CPUMAP look-up.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <xdp/xdp_helpers.h>
#include "portier.h"
#include "maps.bpf.h"
#include "parsing.bpf.h"
#include "hash.bpf.h"

/* libxdp: run before most programs, and let the chain go on on XDP_PASS. */
struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(portier_guard);

enum pt_global_field {
	PT_G_MALFORMED,
	PT_G_FRAGMENTS,
	PT_G_OTHER,
	PT_G_UNREADABLE,
};

static __always_inline void count_global(enum pt_global_field field)
{
	__u32 zero = 0;
	struct pt_global *g = bpf_map_lookup_elem(&global_stats, &zero);

	if (!g)
		return;
	if (field == PT_G_MALFORMED)
		g->malformed++;
	else if (field == PT_G_FRAGMENTS)
		g->fragments++;
	else if (field == PT_G_UNREADABLE)
		g->unreadable++;
	else
		g->other++;
}

/* Count a frame we do not police, and hand it to the stack. */
static __always_inline int pass_uncounted(enum pt_global_field field)
{
	count_global(field);
	return XDP_PASS;
}

/* A frame the stack could deliver but we cannot read. */
static __always_inline int unreadable(const struct pt_config *cfg, __u32 gen)
{
	count_global(PT_G_UNREADABLE);
	/* Some rule of the live generation refuses something: what we
	 * cannot read could be it. */
	if (cfg->enforce[gen])
		return XDP_DROP;
	return XDP_PASS;
}

/* The seed of the bucket sets' hash: drawn once, on first use. */
static __always_inline __u32 bucket_seed(void)
{
	__u32 index = PT_BUCKET_SEED_INDEX, seed, fresh;
	struct pt_bucket_set *s = bpf_map_lookup_elem(&rate_buckets, &index);

	if (!s)
		return 0;
	seed = *(volatile __u32 *)&s->seed;
	if (seed)
		return seed;
	fresh = bpf_get_prandom_u32() | 1;
	bpf_spin_lock(&s->lock);
	if (!s->seed)
		s->seed = fresh;	/* another CPU may have been first */
	seed = s->seed;
	bpf_spin_unlock(&s->lock);
	return seed;
}

/*
 * The buckets' clock, in ns: the kernel's coarse monotonic clock (the time
 * of the last tick) where the kernel has it (5.11), CLOCK_MONOTONIC itself
 * before. Reading CLOCK_MONOTONIC was half of what a limited packet cost
 * above a dropped one (30-35 ns of 65-70, in a KVM guest); the coarse
 * clock is the last tick's time, read. It moves by ticks (1-10 ms): a bucket refills by a tick's worth
 * at once, its rate over any longer time is the same, and its burst is
 * still at most PPS.
 */
static __always_inline __u64 bucket_clock(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

/* A bucket due at tat (bucket clock) cannot take a packet of a pps bucket
 * at now, told without a division: debt + step > span, where step is
 * PT_BUCKET_SPAN / pps rounded down, so more than that less 1. Both sides
 * stay below 1.6e10 * 1e9 + 1.6e10 + 1e9 < 2^64. Another CPU's clock may
 * be a little ahead of ours: a debt past the span is empty too. */
static __always_inline int bucket_over(__u64 tat, __u64 now, __u32 pps)
{
	__u64 debt = tat > now ? tat - now : 0;

	return debt > PT_BUCKET_SPAN ||
	       debt * pps + PT_BUCKET_SPAN > PT_BUCKET_SPAN * pps + pps;
}

/*
 * Token bucket of (rule, port, proto), PPS packets per second with a
 * burst of PPS, as GCRA: the bucket is the time its next packet is due
 * (tat, on a clock in 1/PT_TAT_SCALE ns); a packet costs step =
 * PT_BUCKET_SPAN / PPS of it, and it passes when taking it leaves tat at
 * most one second (PT_BUCKET_SPAN) ahead of now. Returns 1 when the
 * packet may pass.
 *
 * The bucket lives in one set of PT_BUCKET_WAYS ways. With no way of its
 * own, the packet takes a way whose bucket is full, tat not after now:
 * exactly what a fresh bucket would be (an empty way, tat 0, is one of
 * them). With neither, no state can be had and the packet is limited: a
 * sweep of many ports never switches a limit off, it can only make idle
 * ports that share a set with eight ports in debt start limited.
 *
 * A look without the lock comes first, and decides what a flood is made
 * of: a packet over its bucket's limit, or with no way to be had, is
 * limited having only read the set. The CPUs that receive a flood share
 * the set's cache lines read-only; only a packet that may pass takes the
 * set's lock, and decides again under it. Without the lock, tat can only
 * be read older (smaller: the lock then decides), or, in the instant a
 * full bucket's way is handed to another key, be that key's: one packet
 * of a port whose bucket was full is limited, never one passed.
 */
static __always_inline int bucket_take(__u32 rule, __u16 port, __u8 proto, __u32 pps)
{
	__u64 key = PT_BUCKET_KEY(rule, proto, port);
	__u64 now = bucket_clock() * PT_TAT_SCALE;
	__u64 tat, step;
	struct pt_bucket_set *s;
	struct pt_bucket *b;
	__u32 index, w, hit = PT_BUCKET_WAYS, idle = PT_BUCKET_WAYS;
	int ok;

	if (pps > PT_BUCKET_MAX_PPS)
		pps = PT_BUCKET_MAX_PPS;	/* portier never writes more */
	index = pt_bucket_set(bucket_seed(), key);
	s = bpf_map_lookup_elem(&rate_buckets, &index);
	if (!s)
		return 0;	/* cannot happen (index < PT_BUCKET_SETS): limited */

	/* the look without the lock */
#pragma unroll
	for (w = 0; w < PT_BUCKET_WAYS; w++) {
		if (*(volatile __u64 *)&s->way[w].key == key) {
			hit = w;
			break;
		}
		if (idle == PT_BUCKET_WAYS && *(volatile __u64 *)&s->way[w].tat <= now)
			idle = w;
	}
	if (hit < PT_BUCKET_WAYS) {
		tat = *(volatile __u64 *)&s->way[hit & (PT_BUCKET_WAYS - 1)].tat;
		if (bucket_over(tat, now, pps))
			return 0;	/* over the rate: the flood's path */
	} else if (idle >= PT_BUCKET_WAYS) {
		return 0;	/* every way holds a bucket in debt */
	}

	step = PT_BUCKET_SPAN / pps;	/* pps 0 is always over, above */
	hit = PT_BUCKET_WAYS;
	idle = PT_BUCKET_WAYS;
	bpf_spin_lock(&s->lock);
#pragma unroll
	for (w = 0; w < PT_BUCKET_WAYS; w++) {
		if (s->way[w].key == key) {
			hit = w;
			break;
		}
		if (idle == PT_BUCKET_WAYS && s->way[w].tat <= now)
			idle = w;
	}
	if (hit >= PT_BUCKET_WAYS) {
		if (idle >= PT_BUCKET_WAYS) {
			bpf_spin_unlock(&s->lock);
			/* taken by another key since the look */
			return 0;
		}
		hit = idle;
		s->way[hit & (PT_BUCKET_WAYS - 1)].key = key;	/* full: as fresh */
	}
	b = &s->way[hit & (PT_BUCKET_WAYS - 1)];
	tat = b->tat > now ? b->tat : now;
	ok = tat + step <= now + PT_BUCKET_SPAN;
	if (ok)
		b->tat = tat + step;
	bpf_spin_unlock(&s->lock);
	return ok;
}

/*
 * Steering, after policy: only a packet the policy passed gets here, and
 * only a whole one (a first fragment is left to the stack, which
 * reassembles its datagram).
 *
 * To an AF_XDP service: the binding is looked up as dispatch looks it up
 * (bind_host's buckets, then the trie); a binding to a kernel-socket service is
 * dispatch's business and the packet passes. The service's socket for this
 * receive queue takes it; with none there (no socket on that queue, its
 * process gone, or the packet came in on another interface), the redirect
 * falls back to the stack, counted as `fallback`. Returns -1 when the
 * packet is not bound to an AF_XDP service.
 */
static __always_inline int steer_xsk(const struct xdp_md *ctx, const struct pt_flow *f,
				     __u32 gen, const struct pt_port_ent *port,
				     struct pt_counters *cnt)
{
	struct pt_xsk_meta *meta;
	__u32 svc, slot, queue = ctx->rx_queue_index, a[4];
	long ret;

	__builtin_memcpy(a, f->daddr, sizeof(a));
	if (!pt_bind_find(gen, f->proto, f->family, port, a[0], a[1], a[2], a[3], &svc, &slot))
		return -1;
	meta = bpf_map_lookup_elem(&xsk_meta, &svc);
	if (!meta || !meta->ifindex)
		return -1;
	if (meta->ifindex == ctx->ingress_ifindex && queue < PT_MAX_QUEUES) {
		ret = bpf_redirect_map(&xsk_socks, PT_XSK_KEY(svc, queue), XDP_PASS);
		if (ret == XDP_REDIRECT) {
			if (cnt)
				cnt->xsk++;
			return XDP_REDIRECT;
		}
	}
	if (cnt)
		cnt->fallback++;
	return XDP_PASS;
}

/* To the CPUs of a steer rule: one of them by a hash of the flow, so one
 * flow stays on one CPU. */
static __always_inline int steer_cpu(const struct pt_flow *f, __u32 gen,
				     const struct pt_port_ent *port, struct pt_counters *cnt)
{
	__u32 index = PT_CPU_SET_INDEX(gen, port->steer & (PT_MAX_STEERS - 1));
	struct pt_cpu_set *set = bpf_map_lookup_elem(&cpu_sets, &index);
	__u32 s[4], d[4], n, h, i;
	long ret;

	if (!set)
		return XDP_PASS;
	n = set->count;
	if (!n || n > PT_MAX_STEER_CPUS)
		return XDP_PASS;
	__builtin_memcpy(s, f->saddr, sizeof(s));
	__builtin_memcpy(d, f->daddr, sizeof(d));
	h = pt_hash_3(s[0] ^ s[1] ^ s[2] ^ s[3], d[0] ^ d[1] ^ d[2] ^ d[3] ^ f->proto,
		      ((__u32)f->sport << 16) | f->dport);
	i = h % n;
	/* the compiler knows i < n <= 64 and would drop the mask the
	 * verifier needs */
	asm volatile("" : "+r"(i));
	ret = bpf_redirect_map(&cpu_map, set->cpu[i & (PT_MAX_STEER_CPUS - 1)], XDP_PASS);
	if (ret == XDP_REDIRECT && cnt)
		cnt->cpu++;
	return ret;
}

/* The port's entry in generation gen. */
static __always_inline struct pt_port_ent *port_entry(__u32 gen, __u8 proto, __u16 dport)
{
	__u32 index = PT_PORT_INDEX(gen, proto, dport);

	return bpf_map_lookup_elem(&port_table, &index);
}

/*
 * Count a TCP or UDP packet against its counter slot and apply an action
 * (the port's, or that of the rule for its source). Returns the verdict
 * of a packet refused (XDP_DROP), or -1 for one the policy passes. rec,
 * when given, gets the refusal, for a first fragment's later fragments.
 */
static __always_inline int judge(__u32 slot, __u32 action, __u32 pps, __u32 rule, __u8 proto,
				 __u16 dport, __u8 tcp_flags, __u64 frame_len,
				 struct pt_frag_val *rec, struct pt_counters **cntp)
{
	struct pt_counters *cnt = bpf_map_lookup_elem(&port_stats, &slot);

	*cntp = cnt;
	if (cnt) {
		cnt->packets++;
		cnt->bytes += frame_len;
	}

	switch (action) {
	case PT_DROP:
		/* The operator closed this port (to this source). */
		if (rec)
			rec->verdict = PT_FRAG_DROPPED;
		if (cnt)
			cnt->dropped++;
		return XDP_DROP;
	case PT_DROP_NEW:
		if (proto == PT_TCP &&
		    (tcp_flags & (PT_TCP_FLAG_SYN | PT_TCP_FLAG_ACK)) == PT_TCP_FLAG_SYN) {
			/* A new inbound connection to a port closed to them;
			 * replies to the host's own connections carry ACK. */
			if (rec)
				rec->verdict = PT_FRAG_DROPPED;
			if (cnt)
				cnt->dropped++;
			return XDP_DROP;
		}
		break;
	case PT_LIMIT:
		if (!bucket_take(rule, dport, proto, pps)) {
			/* Over the port's rate: its bucket is empty. */
			if (rec)
				rec->verdict = PT_FRAG_LIMITED;
			if (cnt)
				cnt->limited++;
			return XDP_DROP;
		}
		break;
	default:
		break;
	}
	return -1;
}

/* A port whose packets need more than the port's own action: a source
 * look-up, or steering. */
#define PT_PORT_NEEDS_FLOW (PT_PORT_FROM | PT_PORT_XSK | PT_PORT_CPU)

/* Does source word s (zero-extended) match a list prefix's word? In 64
 * bits: the mask is hidden from the compiler, which would otherwise
 * narrow the AND to 32 bits and zero-extend its result (two shifts a
 * word without alu32). */
static __always_inline int list_word(__u64 s, __u32 mask, __u32 addr)
{
	__u64 m = mask;

	asm volatile("" : "+r"(m));
	return (s & m) == addr;
}

/* The policy of the packet's source in its class's short list
 * (PT_PORT_LIST): the prefixes are sorted longest first, so the first
 * that matches is the longest match, the row policy_lpm would hold. An
 * IPv4 prefix is one 32-bit word, an IPv6 one four. The slots past count
 * hold a prefix that matches nothing (host bits set), so the unrolled
 * scan needs no bound of its own. NULL for an empty list (never written):
 * the port's own policy applies. s: the source address as four words
 * (IPv4: s[0]), network order. */
static __always_inline const struct pt_policy_val *
list_policy(__u8 proto, __u8 family, const __u32 s[4], __u32 gen, const struct pt_port_ent *port)
{
	__u32 index = PT_LIST_INDEX(gen, proto, family, port->class % PT_LIST_CLASSES);
	const struct pt_policy_list *l = bpf_map_lookup_elem(&policy_list, &index);
	__u64 s0, s1, s2, s3;
	__u32 i;

	if (!l || !l->count)
		return NULL;
	s0 = s[0];
	asm volatile("" : "+r"(s0));
	if (family == PT_INET) {
#pragma unroll
		for (i = 0; i < PT_LIST_LEN; i++)
			if (list_word(s0, l->prefix[i].mask[0], l->prefix[i].addr[0]))
				return &l->val[i];
		return NULL;
	}
	s1 = s[1];
	s2 = s[2];
	s3 = s[3];
	asm volatile("" : "+r"(s1), "+r"(s2), "+r"(s3));
#pragma unroll
	for (i = 0; i < PT_LIST_LEN; i++) {
		const struct pt_list_prefix *p = &l->prefix[i];

		if (list_word(s0, p->mask[0], p->addr[0]) && list_word(s1, p->mask[1], p->addr[1]) &&
		    list_word(s2, p->mask[2], p->addr[2]) && list_word(s3, p->mask[3], p->addr[3]))
			return &l->val[i];
	}
	return NULL;
}

/* A whole common frame to a port whose source rules are in its class's
 * short list and which steers nothing: police() without a struct pt_flow.
 * h.l3 was read by pt_parse_fast on this path; the bounds are tested
 * again for the verifier. */
static __always_inline int judge_listed(const struct pt_fast *h, void *data_end, __u32 gen,
					const struct pt_port_ent *port, __u64 frame_len)
{
	const struct pt_policy_val *pol;
	struct pt_counters *cnt;
	__u32 src[4] = {}, action = port->action, pps = port->pps, rule = port->rule;
	int verdict;

	if (pt_fast_addrs(h, data_end, src, NULL))
		return XDP_PASS;	/* cannot happen */
	pol = list_policy(h->proto, h->family, src, gen, port);
	if (pol) {
		action = pol->action;
		pps = pol->pps;
		rule = pol->rule;
	}
	verdict = judge(port->slot, action, pps, rule, h->proto, h->dport, h->tcp_flags, frame_len,
			NULL, &cnt);
	return verdict >= 0 ? verdict : XDP_PASS;
}

/* Count a TCP or UDP packet against its port and apply the policy of
 * generation gen. rec gets what was decided, for a first fragment's
 * later fragments. */
static __always_inline int police(const struct xdp_md *ctx, const struct pt_flow *f,
				  __u32 gen, const struct pt_port_ent *port, __u64 frame_len,
				  struct pt_frag_val *rec)
{
	struct pt_policy_val *pol;
	struct pt_counters *cnt;
	__u32 slot, action, pps, rule;
	int verdict;

	slot = port->slot;
	action = port->action;
	pps = port->pps;
	rule = port->rule;

	/* only ports with source-scoped rules pay for the source look-up */
	if (port->flags & PT_PORT_FROM) {
		if (port->flags & PT_PORT_LIST) {
			/* few prefixes: matched in line */
			__u32 src[4];

			__builtin_memcpy(src, f->saddr, sizeof(src));
			pol = (struct pt_policy_val *)list_policy(f->proto, f->family, src, gen,
								   port);
		} else {
			struct pt_lpm_key pkey = {};

			pkey.gen = gen & 1;
			pkey.proto = f->proto;
			pkey.family = f->family;
			pkey.class = bpf_htonl(port->class);
			__builtin_memcpy(pkey.addr, f->saddr, sizeof(pkey.addr));
			pkey.prefixlen = PT_LPM_KEY_BITS + (f->family == PT_INET ? 32 : 128);
			pol = bpf_map_lookup_elem(&policy_lpm, &pkey);
		}
		if (pol) {
			action = pol->action;
			pps = pol->pps;
			rule = pol->rule;
		}
	}

	/* what a first fragment's later ones will need (rec's verdict is
	 * zero, PT_FRAG_PASSED, until the policy says otherwise) */
	if (f->mf) {
		rec->slot = slot;
		rec->port = f->dport;
		rec->proto = f->proto;
	}
	verdict = judge(slot, action, pps, rule, f->proto, f->dport, f->tcp_flags, frame_len, rec,
			&cnt);
	if (verdict >= 0)
		return verdict;

	/* Passed. Steered, when its port is and it is whole. */
	if (f->mf || !(port->flags & (PT_PORT_XSK | PT_PORT_CPU)))
		return XDP_PASS;
	if (port->flags & PT_PORT_XSK) {
		verdict = steer_xsk(ctx, f, gen, port, cnt);
		if (verdict >= 0)
			return verdict;
	}
	if (port->flags & PT_PORT_CPU)
		return steer_cpu(f, gen, port, cnt);
	return XDP_PASS;
}

/* The key the stack reassembles a fragment's datagram by. */
static __always_inline void frag_key(const struct pt_flow *f, struct pt_frag_key *k)
{
	k->family = f->family;
	k->l4 = f->family == PT_INET ? f->l4 : 0;
	k->id = f->frag_id;
	__builtin_memcpy(k->saddr, f->saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, f->daddr, sizeof(k->daddr));
}

/* Remember how a first fragment was judged. */
static __always_inline void frag_remember(const struct pt_flow *f, const struct pt_frag_val *v)
{
	struct pt_frag_key k = {};

	frag_key(f, &k);
	bpf_map_update_elem(&frag_table, &k, v, BPF_ANY);
}

/* A first fragment we cannot read: its later fragments follow it. */
static __always_inline int unreadable_first(const struct pt_flow *f,
					    const struct pt_config *cfg, __u32 gen)
{
	int verdict = unreadable(cfg, gen);
	struct pt_frag_val v = {
		.verdict = verdict == XDP_DROP ? PT_FRAG_UNREADABLE_DROPPED : PT_FRAG_UNREADABLE,
	};

	frag_remember(f, &v);
	return verdict;
}

/* A fragment after the first: no port of its own. */
static __always_inline int later_fragment(const struct pt_flow *f,
					  const struct pt_config *cfg, __u32 gen, __u64 frame_len)
{
	struct pt_frag_key k = {};
	struct pt_counters *cnt;
	struct pt_frag_val *v;
	__u32 slot;

	/* At offset 1 (8 bytes) a TCP fragment can rewrite the flags and the
	 * header length of the first (RFC 3128). */
	if (f->l4 == IPPROTO_TCP && f->frag_off == 1)
		return unreadable(cfg, gen);

	frag_key(f, &k);
	v = bpf_map_lookup_elem(&frag_table, &k);
	if (!v)
		return pass_uncounted(PT_G_FRAGMENTS);

	switch (v->verdict) {
	case PT_FRAG_UNREADABLE:
		return pass_uncounted(PT_G_UNREADABLE);
	case PT_FRAG_UNREADABLE_DROPPED:
		/* Its first fragment was unreadable and dropped. */
		count_global(PT_G_UNREADABLE);
		return XDP_DROP;
	default:
		break;
	}
	slot = v->slot;
	cnt = bpf_map_lookup_elem(&port_stats, &slot);
	if (cnt) {
		cnt->packets++;
		cnt->bytes += frame_len;
	}
	if (v->verdict == PT_FRAG_DROPPED) {
		/* Its first fragment was dropped by the port's policy. */
		if (cnt)
			cnt->dropped++;
		return XDP_DROP;
	}
	if (v->verdict == PT_FRAG_LIMITED) {
		/* Its first fragment was over the port's rate. */
		if (cnt)
			cnt->limited++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("xdp")
int portier_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 frame_len = data_end - data;
	struct pt_cursor c = { .pos = data, .end = data_end, .left = frame_len };
	struct pt_counters *cnt;
	struct pt_port_ent *port;
	struct pt_frag_val rec;
	struct pt_config *cfg;
	struct pt_fast h;
	struct pt_flow f;
	__u32 zero = 0, gen;
	int next, verdict;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_PASS;
	/* The generation is read once: a commit may flip it at any time, and
	 * one frame is judged by one generation. */
	gen = *(volatile __u32 *)&cfg->gen & 1;

#ifdef PT_TEST_GUARD_B
	/* only in the test build build/tests/portier-guardB: another program
	 * with the same verdicts, for the guard-only upgrade test */
	volatile __u32 test_build = 0xb;
	(void)test_build;
#endif
	/*
	 * The common frame, to a port that needs nothing but its own action:
	 * judged from what the one-pass reader left in registers. A port
	 * with source rules or steering gets the struct pt_flow the full
	 * parser would have made.
	 */
	if (!pt_parse_fast(data, data_end, &h)) {
		port = port_entry(gen, h.proto, h.dport);
		if (!port)
			return XDP_PASS;
		if (!(port->flags & PT_PORT_NEEDS_FLOW)) {
			verdict = judge(port->slot, port->action, port->pps, port->rule, h.proto,
					h.dport, h.tcp_flags, frame_len, NULL, &cnt);
			return verdict >= 0 ? verdict : XDP_PASS;
		}
		/* source rules in a short list, no steering: the source
		 * address straight from the packet */
		if ((port->flags & (PT_PORT_NEEDS_FLOW | PT_PORT_LIST)) ==
		    (PT_PORT_FROM | PT_PORT_LIST))
			return judge_listed(&h, data_end, gen, port, frame_len);
		__builtin_memset(&f, 0, sizeof(f));
		__builtin_memset(&rec, 0, sizeof(rec));
		pt_fast_flow(&h, data_end, &f);
		return police(ctx, &f, gen, port, frame_len, &rec);
	}

	/* Everything else: the full parser. */
	__builtin_memset(&f, 0, sizeof(f));
	__builtin_memset(&rec, 0, sizeof(rec));
	next = pt_parse_eth(&c);
	if (next == PT_ERR_UNREADABLE)
		return unreadable(cfg, gen);
	if (next < 0)
		return pass_uncounted(PT_G_MALFORMED);
	if (next == ETH_P_IP)
		next = pt_parse_ipv4(&c, &f);
	else if (next == ETH_P_IPV6)
		next = pt_parse_ipv6(&c, &f);
	else
		return pass_uncounted(PT_G_OTHER);

	if (next == PT_ERR_FRAGMENT)
		return later_fragment(&f, cfg, gen, frame_len);
	if (next >= 0) {
		if (next == IPPROTO_TCP)
			next = pt_parse_tcp(&c, &f);
		else if (next == IPPROTO_UDP)
			next = pt_parse_udp(&c, &f);
		else
			return pass_uncounted(PT_G_OTHER);
	}
	if (next == PT_ERR_UNREADABLE || (next == PT_ERR_CUT && f.mf)) {
		/* a first fragment cut short: its later fragments follow it */
		if (f.mf)
			return unreadable_first(&f, cfg, gen);
		return unreadable(cfg, gen);
	}
	if (next < 0)
		return pass_uncounted(PT_G_MALFORMED);

	port = port_entry(gen, f.proto, f.dport);
	if (!port)
		return XDP_PASS;
	verdict = police(ctx, &f, gen, port, frame_len, &rec);
	if (f.mf)
		frag_remember(&f, &rec);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
