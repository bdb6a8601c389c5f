// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The guard (bpf/guard.bpf.c) under BPF_PROG_TEST_RUN.
 *
 * 1. A table of cases {name, frame, verdict, counters}: one rule set, held
 *    as a pt_state and written the way portier writes a generation
 *    (pt_assign_slots, pt_compile, pt_gen_write), with decoy rules in the
 *    other generation; each case checks the verdict, the counters of the
 *    slot it must move, that no other slot moved, and the global counters,
 *    exactly. A few cases (hand_only) run after policy_lpm rows that the
 *    compiler always writes were removed by hand: a port whose class has
 *    source-scoped rules but no entry for the source keeps its port_table
 *    policy and slot. The port_table entries themselves are checked too.
 * 2. The token bucket over time and under two CPUs; the bucket sets: a
 *    full set limits (never passes), a way idle for 1 s is reclaimed, two
 *    ports share a set, the seed is drawn once.
 * 3. The reference model (guard_model.c) against the same table, then
 *    against the program on random and mutated frames over random rule
 *    sets compiled by pt_compile(): verdict of every frame, counter deltas
 *    per block of frames. PORTIER_SEED=N replays a run.
 *
 * Maps are never pinned: the skeleton is loaded with pinning disabled.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "portier.h"
#include "model.h"
#include "config.h"
#include "parse.h"
#include "state.h"
#include "guard.skel.h"
#include "bpftest.h"
#include "guard_model.h"
#include "pkt.h"

#define NWORDS(type) (sizeof(type) / sizeof(uint64_t))

/* ---- the loaded program ---- */

static struct guard *skel;
static int skel_err;
static bool tables_are_table_rules;
/* the skeleton's maps by enum pt_map_id, for pt_gen_write */
static int map_fds[PT_NMAPS];

static struct guard *guard_env(void)
{
	int err, i;

	if (skel || skel_err)
		return skel;
	bt_libbpf_quiet();
	skel = guard__open();
	if (!skel) {
		skel_err = errno ? -errno : -EINVAL;
		fprintf(stderr, "# guard: open failed: %s\n", strerror(-skel_err));
		return NULL;
	}
	/* bind_host of one bucket (four ways) per generation: the random
	 * rounds' host bindings to AF_XDP services overflow it, and the
	 * guard must find those in bind_lpm (as dispatch does) */
	err = bt_unpin_maps(skel->obj) ?: pt_obj_fit(skel->obj, PT_MAX_BINDINGS) ?:
	      bpf_map__set_max_entries(skel->maps.bind_host, 2);
	if (!err)
		err = guard__load(skel);
	for (i = 0; i < PT_NMAPS && !err; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, pt_maps[i].name);

		map_fds[i] = map ? bpf_map__fd(map) : -1;
		if (map_fds[i] < 0) {
			fprintf(stderr, "# guard: map %s has no fd\n", pt_maps[i].name);
			err = -ENOENT;
		}
	}
	if (err) {
		skel_err = err;
		fprintf(stderr, "# guard: load failed: %s (BPF unavailable?)\n", strerror(-err));
		guard__destroy(skel);
		skel = NULL;
	}
	return skel;
}

#define REQUIRE_GUARD()                                                          \
	do {                                                                     \
		if (!guard_env())                                                \
			fail_msg("cannot load the guard: %s", strerror(-skel_err)); \
	} while (0)

static int fd_of(const struct bpf_map *map)
{
	return bpf_map__fd(map);
}

/* ---- map writing ---- */

static void clear_map(int fd, size_t key_size)
{
	uint8_t key[64];

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, NULL, key))
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

/* Every bucket set empty (every way idle since boot: free), and the hash
 * seed the model uses, so that a test knows which set a bucket is in. */
static void reset_buckets(int fd)
{
	static struct pt_bucket_set sets[PT_BUCKET_ENTRIES];
	static __u32 keys[PT_BUCKET_ENTRIES];
	__u32 count = PT_BUCKET_ENTRIES;

	for (__u32 i = 0; i < PT_BUCKET_ENTRIES; i++)
		keys[i] = i;
	sets[PT_BUCKET_SEED_INDEX].seed = GM_BUCKET_SEED;
	assert_int_equal(bpf_map_update_batch(fd, keys, sets, &count, NULL), 0);
	assert_int_equal(count, PT_BUCKET_ENTRIES);
}

/* How many keys have their generation byte (at gen_off) equal to gen. */
static size_t count_gen(int fd, size_t key_size, size_t gen_off, uint8_t gen)
{
	uint8_t cur[64], next[64];
	void *prev = NULL;
	size_t n = 0;

	assert_true(key_size <= sizeof(cur));
	while (!bpf_map_get_next_key(fd, prev, next)) {
		n += next[gen_off] == gen;
		memcpy(cur, next, key_size);
		prev = cur;
	}
	return n;
}

/* config.enforce of each generation, as the compiler said when it was
 * written (pt_compiled.enforce): set_gen writes it with the flip. */
static uint8_t gen_enforce[2];

static void set_gen(uint8_t gen)
{
	struct pt_config cfg = { .abi = PT_ABI_VERSION, .gen = gen, .serial = 1,
				 .enforce = { gen_enforce[0], gen_enforce[1] } };
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.config), &zero, &cfg, BPF_ANY), 0);
}

/* Compile st (slots assigned) as generation gen and write its tables with
 * portier's own writer. The compiled tables go to *keep when not NULL
 * (the caller frees them), so that pt_gen_delete can remove them later. */
static void write_gen(const struct pt_state *st, uint8_t gen, struct pt_compiled *keep)
{
	struct pt_compiled c = {};

	assert_int_equal(pt_compile(st, gen, &c), 0);
	assert_int_equal(c.gen, gen);
	assert_int_equal(pt_gen_write(map_fds, NULL, &c), 0);
	gen_enforce[gen & 1] = c.enforce;
	if (keep)
		*keep = c;
	else
		pt_compiled_free(&c);
}

/* No rules at all: the derived tables empty, and both generations of
 * port_table (an array: every entry exists) at their default, every port
 * in its class row with no policy. */
static void reset_tables(void)
{
	struct pt_state empty = {};

	clear_map(map_fds[M_BIND_LPM], sizeof(struct pt_lpm_key));
	clear_map(map_fds[M_POLICY_LPM], sizeof(struct pt_lpm_key));
	reset_buckets(map_fds[M_RATE_BUCKETS]);
	clear_map(map_fds[M_FRAG_TABLE], sizeof(struct pt_frag_key));
	write_gen(&empty, 0, NULL);
	write_gen(&empty, 1, NULL);
	tables_are_table_rules = false;
}

/* parse_prefix fills a pt_prefix as well as a gm_policy */
_Static_assert(GM_FAMILY_ANY == PT_FAMILY_ANY, "one value for `any`");

/* "198.18.0.0/24", "2001:db8::/32"; NULL is `any`. */
static int parse_prefix(const char *text, uint8_t *family, uint8_t addr[16], uint8_t *plen)
{
	char buf[64], *slash;

	memset(addr, 0, 16);
	if (!text) {
		*family = GM_FAMILY_ANY;
		*plen = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	*plen = (uint8_t)atoi(slash + 1);
	*family = strchr(buf, ':') ? PT_INET6 : PT_INET;
	return inet_pton(*family == PT_INET6 ? AF_INET6 : AF_INET, buf, addr) == 1 ? 0 : -1;
}

/* ---- the table's rule set ---- */

/*
 * Counter slots the cases name. The class rows are fixed by the ABI; every
 * other slot is the one pt_assign_slots gave the named port or range of the
 * table's rule set, looked up when the rule set is built (sym_slot()).
 */
enum {
	S_TCP_WK = PT_CLASS_SLOT(PT_TCP, PT_CLASS_WELL_KNOWN),
	S_TCP_REG = PT_CLASS_SLOT(PT_TCP, PT_CLASS_REGISTERED),
	S_TCP_EPH = PT_CLASS_SLOT(PT_TCP, PT_CLASS_EPHEMERAL),
	S_UDP_WK = PT_CLASS_SLOT(PT_UDP, PT_CLASS_WELL_KNOWN),
	S_UDP_REG = PT_CLASS_SLOT(PT_UDP, PT_CLASS_REGISTERED),
	S_UDP_EPH = PT_CLASS_SLOT(PT_UDP, PT_CLASS_EPHEMERAL),
	SYM_BASE = 1000,
	S_TCP9100 = SYM_BASE,	/* watched, no policy */
	S_UDP5353,		/* watched, no policy */
	S_TCP22,		/* allow */
	S_TCP23,		/* drop */
	S_TCP25,		/* drop-new */
	S_UDP53,		/* limit 3 */
	S_TCP443,		/* limit 3 */
	S_UDP26,		/* drop-new */
	S_UDP7000,		/* drop from 2001:db8::/32 */
	S_UDP30K,		/* 30000-30999 drop from 198.18.0.0/15 */
	S_TCP8K,		/* 8000-8999, scoped rules */
	S_TCP8443,		/* allow, inside 8000-8999 */
	S_UDP40K,		/* 40000-40099 limit 2 */
	S_UDP54,		/* limit HAMMER_PPS */
	S_TCP9200,		/* watched, no policy */
	S_UDP30303,		/* watched, inside 30000-30999 (source-scoped) */
	S_TCP9310,		/* watched, inside 9300-9399 (drop) */
	S_TCP93K,		/* 9300-9399 drop */
	S_UDP31K,		/* 31000-31999 drop, allow from 198.18.0.0/15 */
	S_UDP32K,		/* 32000-32999: 8 IPv4 prefixes, the trie */
	S_UDP33K,		/* 33000-33999: 7 IPv4 prefixes, a full list */
	SYM_END,
	NSYMS = SYM_END - SYM_BASE,
	NO_SLOT = -1,
};

/* The port or range each symbol counts. */
static const struct {
	uint8_t proto;
	uint16_t lo, hi;
} syms[NSYMS] = {
	[S_TCP9100 - SYM_BASE] = { PT_TCP, 9100, 9100 },
	[S_UDP5353 - SYM_BASE] = { PT_UDP, 5353, 5353 },
	[S_TCP22 - SYM_BASE] = { PT_TCP, 22, 22 },
	[S_TCP23 - SYM_BASE] = { PT_TCP, 23, 23 },
	[S_TCP25 - SYM_BASE] = { PT_TCP, 25, 25 },
	[S_UDP53 - SYM_BASE] = { PT_UDP, 53, 53 },
	[S_TCP443 - SYM_BASE] = { PT_TCP, 443, 443 },
	[S_UDP26 - SYM_BASE] = { PT_UDP, 26, 26 },
	[S_UDP7000 - SYM_BASE] = { PT_UDP, 7000, 7000 },
	[S_UDP30K - SYM_BASE] = { PT_UDP, 30000, 30999 },
	[S_TCP8K - SYM_BASE] = { PT_TCP, 8000, 8999 },
	[S_TCP8443 - SYM_BASE] = { PT_TCP, 8443, 8443 },
	[S_UDP40K - SYM_BASE] = { PT_UDP, 40000, 40099 },
	[S_UDP54 - SYM_BASE] = { PT_UDP, 54, 54 },
	[S_TCP9200 - SYM_BASE] = { PT_TCP, 9200, 9200 },
	[S_UDP30303 - SYM_BASE] = { PT_UDP, 30303, 30303 },
	[S_TCP9310 - SYM_BASE] = { PT_TCP, 9310, 9310 },
	[S_TCP93K - SYM_BASE] = { PT_TCP, 9300, 9399 },
	[S_UDP31K - SYM_BASE] = { PT_UDP, 31000, 31999 },
	[S_UDP32K - SYM_BASE] = { PT_UDP, 32000, 32999 },
	[S_UDP33K - SYM_BASE] = { PT_UDP, 33000, 33999 },
};

#define TBL_GEN 1
#define DECOY_GEN 0
#define HAMMER_PPS 1000
#define MAX_SNAP 64		/* slots a table case can look at */

/* The rule set. pt_policy_set numbers the rules 1, 2, ... in this order
 * (checked): the rule ids are the 1-based indices. */
static const struct {
	uint8_t proto;
	uint16_t lo, hi;
	const char *from;
	uint32_t action, pps;
} table_policies[] = {
	{ PT_TCP, 22, 22, NULL, PT_ALLOW, 0 },			/* rule 1 */
	{ PT_TCP, 23, 23, NULL, PT_DROP, 0 },			/* 2 */
	{ PT_TCP, 25, 25, NULL, PT_DROP_NEW, 0 },		/* 3 */
	{ PT_TCP, 8000, 8999, "198.18.0.0/24", PT_DROP, 0 },	/* 4 */
	{ PT_TCP, 8000, 8999, "198.18.0.7/32", PT_ALLOW, 0 },	/* 5 */
	{ PT_TCP, 8000, 8999, "2001:db8:1::/48", PT_DROP, 0 },	/* 6 */
	{ PT_TCP, 8443, 8443, NULL, PT_ALLOW, 0 },		/* 7 */
	{ PT_TCP, 443, 443, NULL, PT_LIMIT, 3 },		/* 8 */
	{ PT_UDP, 53, 53, NULL, PT_LIMIT, 3 },			/* 9 */
	{ PT_UDP, 26, 26, NULL, PT_DROP_NEW, 0 },		/* 10 */
	{ PT_UDP, 7000, 7000, "2001:db8::/32", PT_DROP, 0 },	/* 11 */
	{ PT_UDP, 30000, 30999, "198.18.0.0/15", PT_DROP, 0 },	/* 12 */
	{ PT_UDP, 40000, 40099, NULL, PT_LIMIT, 2 },		/* 13 */
	{ PT_UDP, 54, 54, NULL, PT_LIMIT, HAMMER_PPS },	/* 14 */
	{ PT_TCP, 9300, 9399, NULL, PT_DROP, 0 },		/* 15 */
	{ PT_UDP, 31000, 31999, NULL, PT_DROP, 0 },		/* 16 */
	{ PT_UDP, 31000, 31999, "198.18.0.0/15", PT_ALLOW, 0 },	/* 17 */
	/* nested prefixes, each longer one turning the answer: 8 IPv4 ones
	 * and the /0 row are more than a policy_list holds (the trie) */
	{ PT_UDP, 32000, 32999, "198.18.0.0/15", PT_DROP, 0 },	/* 18 */
	{ PT_UDP, 32000, 32999, "198.18.4.0/22", PT_ALLOW, 0 },	/* 19 */
	{ PT_UDP, 32000, 32999, "198.18.5.0/24", PT_DROP, 0 },	/* 20 */
	{ PT_UDP, 32000, 32999, "198.18.5.128/25", PT_ALLOW, 0 },	/* 21 */
	{ PT_UDP, 32000, 32999, "198.18.5.192/26", PT_DROP, 0 },	/* 22 */
	{ PT_UDP, 32000, 32999, "198.18.5.200/32", PT_ALLOW, 0 },	/* 23 */
	{ PT_UDP, 32000, 32999, "198.19.0.0/16", PT_ALLOW, 0 },	/* 24 */
	{ PT_UDP, 32000, 32999, "198.19.7.0/24", PT_DROP, 0 },	/* 25 */
	{ PT_UDP, 32000, 32999, "2001:db8:5::/48", PT_DROP, 0 },	/* 26 */
	/* more IPv6 lengths in 8000-8999's list: /128, /64, /48, /0 */
	{ PT_TCP, 8000, 8999, "2001:db8:1:2::/64", PT_ALLOW, 0 },	/* 27 */
	{ PT_TCP, 8000, 8999, "2001:db8:1:2::5/128", PT_DROP, 0 },	/* 28 */
	/* 32000-32999's first 7: with the /0 row a full policy_list */
	{ PT_UDP, 33000, 33999, "198.18.0.0/15", PT_DROP, 0 },	/* 29 */
	{ PT_UDP, 33000, 33999, "198.18.4.0/22", PT_ALLOW, 0 },	/* 30 */
	{ PT_UDP, 33000, 33999, "198.18.5.0/24", PT_DROP, 0 },	/* 31 */
	{ PT_UDP, 33000, 33999, "198.18.5.128/25", PT_ALLOW, 0 },	/* 32 */
	{ PT_UDP, 33000, 33999, "198.18.5.192/26", PT_DROP, 0 },	/* 33 */
	{ PT_UDP, 33000, 33999, "198.18.5.200/32", PT_ALLOW, 0 },	/* 34 */
	{ PT_UDP, 33000, 33999, "198.19.0.0/16", PT_LIMIT, 3 },	/* 35 */
};
#define N_TABLE_POLICIES (sizeof(table_policies) / sizeof(table_policies[0]))

static const struct pt_watch table_watches[] = {
	{ PT_TCP, 9100, 9100 },
	{ PT_UDP, 5353, 5353 },
	{ PT_TCP, 9200, 9200 },
	{ PT_UDP, 30303, 30303 },	/* a class of its own inside rule 12 */
	{ PT_TCP, 9310, 9310 },		/* a class of its own inside rule 15 */
};
#define N_TABLE_WATCHES (sizeof(table_watches) / sizeof(table_watches[0]))

/* Generation DECOY_GEN holds rules that must not apply while TBL_GEN is
 * live: TCP 22 and UDP 69 dropped, TCP 3000 watched. Their ranges differ
 * from the table's, so that they have counter slots of their own. */
static const struct {
	uint8_t proto;
	uint16_t lo, hi;
} decoy_drops[] = { { PT_TCP, 20, 40 }, { PT_UDP, 60, 79 } };

static struct pt_state tbl_st, decoy_st;
static struct pt_compiled tbl_comp;	/* what TBL_GEN holds, while installed */
static uint32_t sym_slots[NSYMS];
static uint32_t n_snap;			/* slots 0..n_snap-1 are checked per case */
static bool tbl_built;

/* The slot pt_assign_slots gave exactly (proto, lo, hi) in st. */
static uint32_t assigned_slot(const struct pt_state *st, uint8_t proto, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].proto == proto && st->slots[i].lo == lo && st->slots[i].hi == hi)
			return st->slots[i].slot;
	fail_msg("no counter slot for %s %u-%u", proto == PT_TCP ? "tcp" : "udp", lo, hi);
	return 0;
}

/* Build the table's rule set and the decoys as portier would hold them,
 * counter slots assigned (the decoys' with the table as the live state, so
 * they never share one), and name the slots. Pure: no BPF. */
static void table_build(void)
{
	uint32_t *fresh = NULL;
	size_t nfresh = 0, i, j;

	if (tbl_built)
		return;
	for (i = 0; i < N_TABLE_POLICIES; i++) {
		struct pt_policy p = {
			.proto = table_policies[i].proto,
			.lo = table_policies[i].lo,
			.hi = table_policies[i].hi,
			.action = table_policies[i].action,
			.pps = table_policies[i].pps,
		};

		assert_int_equal(parse_prefix(table_policies[i].from, &p.from.family,
					      p.from.addr, &p.from.plen), 0);
		assert_int_equal(pt_policy_set(&tbl_st, &p, NULL), 0);
		assert_int_equal(tbl_st.npolicies, i + 1);
		assert_int_equal(tbl_st.policies[i].rule, i + 1);
	}
	for (i = 0; i < N_TABLE_WATCHES; i++)
		assert_int_equal(pt_watch_add(&tbl_st, table_watches[i].proto, table_watches[i].lo,
					      table_watches[i].hi), 0);
	assert_int_equal(pt_assign_slots(&tbl_st, NULL, &fresh, &nfresh), 0);
	assert_int_equal(nfresh, tbl_st.nslots);
	free(fresh);

	for (i = 0; i < sizeof(decoy_drops) / sizeof(decoy_drops[0]); i++) {
		struct pt_policy p = { .proto = decoy_drops[i].proto, .lo = decoy_drops[i].lo,
				       .hi = decoy_drops[i].hi, .action = PT_DROP,
				       .from = { .family = PT_FAMILY_ANY } };

		assert_int_equal(pt_policy_set(&decoy_st, &p, NULL), 0);
	}
	assert_int_equal(pt_watch_add(&decoy_st, PT_TCP, 3000, 3000), 0);
	fresh = NULL;
	assert_int_equal(pt_assign_slots(&decoy_st, &tbl_st, &fresh, &nfresh), 0);
	assert_int_equal(nfresh, decoy_st.nslots);
	free(fresh);

	/* The named slots: assigned, distinct, none a class row, none a
	 * decoy's, and the one each of their ports is counted in. */
	n_snap = PT_FIRST_FREE_SLOT;
	for (i = 0; i < NSYMS; i++) {
		uint32_t s = assigned_slot(&tbl_st, syms[i].proto, syms[i].lo, syms[i].hi);

		sym_slots[i] = s;
		assert_true(s >= PT_FIRST_FREE_SLOT && s < PT_MAX_SLOTS);
		for (j = 0; j < i; j++)
			assert_int_not_equal(sym_slots[j], s);
		assert_int_equal(pt_slot_of_port(&tbl_st, syms[i].proto, syms[i].lo), s);
		assert_int_equal(pt_slot_of_port(&tbl_st, syms[i].proto, syms[i].hi), s);
	}
	for (i = 0; i < tbl_st.nslots; i++)
		for (j = 0; j < decoy_st.nslots; j++)
			assert_int_not_equal(tbl_st.slots[i].slot, decoy_st.slots[j].slot);
	for (i = 0; i < tbl_st.nslots; i++)
		if (tbl_st.slots[i].slot >= n_snap)
			n_snap = tbl_st.slots[i].slot + 1;
	for (i = 0; i < decoy_st.nslots; i++)
		if (decoy_st.slots[i].slot >= n_snap)
			n_snap = decoy_st.slots[i].slot + 1;
	n_snap += 4;		/* and a few never assigned */
	assert_true(n_snap <= MAX_SNAP);
	tbl_built = true;
}

/* A case's slot: a class row, NO_SLOT, or a named slot. */
static long sym_slot(int sym)
{
	if (sym < SYM_BASE)
		return sym;
	assert_true(sym < SYM_END);
	table_build();
	return sym_slots[sym - SYM_BASE];
}

static uint32_t port_class_id(uint8_t proto, uint16_t port)
{
	return tbl_comp.ports[(size_t)proto * PT_PORTS + port].class;
}

/* Does the class of proto's port keep its source rules in policy_list
 * (in the live table generation)? */
static bool class_has_list(uint8_t proto, uint16_t port)
{
	return tbl_comp.ports[(size_t)proto * PT_PORTS + port].flags & PT_PORT_LIST;
}

/* Set (val) or remove (NULL) the row of a class for every source of one
 * family (its /0), wherever the class keeps it: policy_lpm, or the last
 * prefix of its policy_list entry. Returns 0 or -errno. */
static int edit_default_row(uint8_t proto, uint16_t port, uint8_t family,
			    const struct pt_policy_val *val)
{
	uint32_t class = port_class_id(proto, port);
	struct pt_lpm_key key = { .prefixlen = PT_LPM_KEY_BITS, .gen = TBL_GEN, .proto = proto,
				  .family = family, .class = htonl(class) };
	struct pt_policy_list l;
	uint32_t index = PT_LIST_INDEX(TBL_GEN, proto, family, class), last;

	if (!class_has_list(proto, port)) {
		if (val)
			return bpf_map_update_elem(map_fds[M_POLICY_LPM], &key, val, BPF_EXIST) ?
				-errno : 0;
		return bpf_map_delete_elem(map_fds[M_POLICY_LPM], &key) ? -errno : 0;
	}
	if (bpf_map_lookup_elem(map_fds[M_POLICY_LIST], &index, &l))
		return -errno;
	if (!l.count)
		return -ENOENT;
	last = l.count - 1;
	if (l.prefix[last].mask[0] || l.prefix[last].mask[3])
		return -ENOENT;		/* not the /0 row */
	if (val) {
		l.val[last] = *val;
	} else {
		/* as the compiler fills a slot past count: matches nothing */
		memset(&l.prefix[last], 0, sizeof(l.prefix[last]));
		memset(&l.val[last], 0, sizeof(l.val[last]));
		l.prefix[last].addr[0] = PT_LIST_NONE;
		l.count--;
	}
	return bpf_map_update_elem(map_fds[M_POLICY_LIST], &index, &l, BPF_EXIST) ? -errno : 0;
}

static int del_default_row(uint8_t proto, uint16_t port, uint8_t family)
{
	return edit_default_row(proto, port, family, NULL);
}

/*
 * The rule set, written the way a commit writes it: the decoys as
 * generation DECOY_GEN, the table as TBL_GEN, then config.gen to TBL_GEN.
 * Then, by hand, the /0 rows of some classes with source-scoped rules go
 * (the hand_only cases): UDP 30000-30999 has no row for any source outside
 * 198.18.0.0/15 in either family (but its watched port 30303, a class of
 * its own, keeps its rows), and UDP 31000-31999 none for IPv6 sources.
 */
static void install_table_rules(void)
{
	uint32_t done[4], ndone = 0, class, k;
	uint16_t p;

	table_build();
	reset_tables();
	pt_compiled_free(&tbl_comp);
	write_gen(&decoy_st, DECOY_GEN, NULL);
	write_gen(&tbl_st, TBL_GEN, &tbl_comp);
	set_gen(TBL_GEN);

	for (p = 30000; p <= 30999; p++) {
		if (p == 30303)
			continue;
		class = port_class_id(PT_UDP, p);
		for (k = 0; k < ndone && done[k] != class; k++)
			;
		if (k < ndone)
			continue;
		assert_true(ndone < 4);
		done[ndone++] = class;
		assert_int_not_equal(class, port_class_id(PT_UDP, 30303));
		assert_int_equal(del_default_row(PT_UDP, p, PT_INET), 0);
		assert_int_equal(del_default_row(PT_UDP, p, PT_INET6), 0);
	}
	/* 30000-30302 and 30304-30999 */
	assert_int_equal(ndone, 2);
	assert_int_equal(del_default_row(PT_UDP, 31000, PT_INET6), 0);
	tables_are_table_rules = true;
}

/* ---- steering, as the model sees it ---- */

/* cpu_map entries the tests make: bit c for CPU c. */
static uint8_t cpu_ready[PT_MAX_CPUS / 8];
static uint8_t xsk_none[PT_XSK_ENTRIES / 8];

/* Give CPU cpu a cpu_map entry (a queue, no program), or take it away. */
static void cpu_entry(uint32_t cpu, bool on)
{
	struct bpf_cpumap_val val = { .qsize = PT_CPU_QSIZE };

	if (on) {
		assert_int_equal(bpf_map_update_elem(map_fds[M_CPU_MAP], &cpu, &val, BPF_ANY), 0);
		cpu_ready[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
	} else {
		assert_int_equal(bpf_map_delete_elem(map_fds[M_CPU_MAP], &cpu), 0);
		cpu_ready[cpu / 8] &= (uint8_t)~(1u << (cpu % 8));
	}
}

/* The interface BPF_PROG_TEST_RUN says a frame came in on: loopback. */
static uint32_t lo_ifindex(void)
{
	static uint32_t lo;

	if (!lo)
		lo = if_nametoindex("lo");
	assert_int_not_equal(lo, 0);
	return lo;
}

/* xsk_meta of service svc: an AF_XDP service on ifindex (0: not). */
static void xsk_meta_set(uint32_t svc, uint32_t ifindex)
{
	struct pt_xsk_meta m = { .ifindex = ifindex };

	assert_int_equal(bpf_map_update_elem(map_fds[M_XSK_META], &svc, &m, BPF_ANY), 0);
}

/* The steer rules and bindings of st for the model (allocated: free them
 * with gm_steering_free), the cpu_map entries made so far, no AF_XDP
 * socket in any slot, frames coming in on lo's queue 0. */
static void gm_steering_of(const struct pt_state *st, struct gm_rules *rules)
{
	struct gm_steer *steers = calloc(st->nsteers + 1, sizeof(*steers));
	struct gm_bind *binds = calloc(st->nbindings + 1, sizeof(*binds));
	size_t i;

	assert_non_null(steers);
	assert_non_null(binds);
	for (i = 0; i < st->nsteers; i++) {
		const struct pt_steer *x = &st->steers[i];

		steers[i] = (struct gm_steer){ .proto = x->proto, .lo = x->lo, .hi = x->hi,
					       .ncpus = x->ncpus };
		memcpy(steers[i].cpus, x->cpus, sizeof(steers[i].cpus));
	}
	for (i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];
		const struct pt_service *svc = pt_service_by_id(st, b->service);

		binds[i] = (struct gm_bind){
			.proto = b->proto, .lo = b->lo, .hi = b->hi,
			.family = b->prefix.family == PT_FAMILY_ANY ? GM_FAMILY_ANY : b->prefix.family,
			.plen = b->prefix.plen, .service = b->service,
			.xsk_ifindex = svc ? svc->xsk_ifindex : 0,
		};
		memcpy(binds[i].addr, b->prefix.addr, 16);
	}
	rules->steers = steers;
	rules->nsteers = st->nsteers;
	rules->binds = binds;
	rules->nbinds = st->nbindings;
	rules->cpu_ready = cpu_ready;
	rules->xsk_ready = xsk_none;
	rules->ifindex = lo_ifindex();
	rules->rx_queue = 0;
}

static void gm_steering_free(struct gm_rules *rules)
{
	free((void *)rules->steers);
	free((void *)rules->binds);
	rules->steers = NULL;
	rules->binds = NULL;
}

static struct gm_policy table_gm_policies[N_TABLE_POLICIES];
static struct gm_slot table_gm_slots[64];

/* The rules of st as the model sees them, into pols and slots. */
static void gm_rules_of(const struct pt_state *st, struct gm_policy *pols, struct gm_slot *slots,
			struct gm_rules *rules)
{
	size_t i;

	for (i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		pols[i] = (struct gm_policy){
			.proto = p->proto, .lo = p->lo, .hi = p->hi,
			.family = p->from.family == PT_FAMILY_ANY ? GM_FAMILY_ANY : p->from.family,
			.plen = p->from.plen, .action = p->action, .pps = p->pps,
			.rule = p->rule,
		};
		memcpy(pols[i].addr, p->from.addr, 16);
	}
	for (i = 0; i < st->nslots; i++)
		slots[i] = (struct gm_slot){ st->slots[i].proto, st->slots[i].lo, st->slots[i].hi,
					     st->slots[i].slot };
	*rules = (struct gm_rules){ .policies = pols, .npolicies = st->npolicies,
				    .slots = slots, .nslots = st->nslots };
	gm_steering_of(st, rules);
}

static void table_gm_rules(struct gm_rules *rules)
{
	table_build();
	assert_true(tbl_st.nslots <= sizeof(table_gm_slots) / sizeof(table_gm_slots[0]));
	gm_rules_of(&tbl_st, table_gm_policies, table_gm_slots, rules);
}

/* ---- counters ---- */

struct snap {
	struct pt_counters slot[MAX_SNAP];
	struct pt_global g;
};

static void read_slot(uint32_t slot, struct pt_counters *c)
{
	assert_int_equal(bt_percpu_sum(fd_of(skel->maps.port_stats), slot, (uint64_t *)c,
				       NWORDS(*c)), 0);
}

static void read_global(struct pt_global *g)
{
	assert_int_equal(bt_percpu_sum(fd_of(skel->maps.global_stats), 0, (uint64_t *)g,
				       NWORDS(*g)), 0);
}

static void snap_take(struct snap *s)
{
	uint32_t i;

	for (i = 0; i < n_snap; i++)
		read_slot(i, &s->slot[i]);
	read_global(&s->g);
}

/* ---- the table ---- */

struct gcase {
	const char *name;
	struct pkt_spec spec;
	uint32_t verdict;	/* n == 1 */
	int slot;		/* the slot that moves, or NO_SLOT */
	uint64_t dropped, limited, malformed, fragments, other, unreadable;
	int n;			/* frames sent (0: one) */
	int npass;		/* n > 1: the first npass pass, the rest drop */
	bool hand_only;		/* needs the rows install_table_rules removes by
				 * hand: not for the model */
	bool refused;		/* shorter than Ethernet: BPF_PROG_TEST_RUN refuses it
				 * (-EINVAL), so no XDP program ever sees one; the
				 * expectations are the model's */
};

#define SRC4 "198.19.1.1"
#define DST4 "198.18.0.1"
#define SRC6 "2001:db8:2::1"
#define DST6 "2001:db8::1"
#define V4 .family = 4, .src = SRC4, .dst = DST4
#define V4S(s) .family = 4, .src = (s), .dst = DST4
#define V6 .family = 6, .src = SRC6, .dst = DST6
#define V6S(s) .family = 6, .src = (s), .dst = DST6
#define TCPF(p, f) .l4 = IPPROTO_TCP, .sport = 33000, .dport = (p), .tcp_flags = (f)
#define TCP(p) TCPF(p, PKT_TCP_ACK)
#define UDPP(p, len) .l4 = IPPROTO_UDP, .sport = 33000, .dport = (p), .payload = (len)
#define UDP(p) UDPP(p, 16)
#define PASS .verdict = XDP_PASS
#define DROP .verdict = XDP_DROP
#define EXT(t, l) { .type = (t), .hdrlen = (l) }
#define FRAG(off, m) { .type = IPPROTO_FRAGMENT, .frag_off = (off), .more = (m) }
#define VLAN10 PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q, \
	       PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q
#define DST8 EXT(60, 0), EXT(60, 0), EXT(60, 0), EXT(60, 0), \
	     EXT(60, 0), EXT(60, 0), EXT(60, 0), EXT(60, 0)

static const struct gcase cases[] = {
	/* Unwatched ports: their class row, per protocol and family. */
	{ "udp4_class_well_known_gen0_rule_ignored", { V4, UDP(69) }, PASS, S_UDP_WK },
	{ "udp4_class_registered_1024", { V4, UDP(1024) }, PASS, S_UDP_REG },
	{ "udp4_class_ephemeral_49152", { V4, UDP(49152) }, PASS, S_UDP_EPH },
	{ "tcp4_class_well_known_1023", { V4, TCP(1023) }, PASS, S_TCP_WK },
	{ "tcp4_class_registered_49151", { V4, TCP(49151) }, PASS, S_TCP_REG },
	{ "tcp4_class_ephemeral_65535", { V4, TCP(65535) }, PASS, S_TCP_EPH },
	{ "tcp4_class_port_0", { V4, TCP(0) }, PASS, S_TCP_WK },
	{ "udp6_class_well_known_0", { V6, UDP(0) }, PASS, S_UDP_WK },
	{ "udp6_class_registered", { V6, UDP(3000) }, PASS, S_UDP_REG },
	{ "udp6_class_ephemeral", { V6, UDP(60000) }, PASS, S_UDP_EPH },
	{ "tcp6_class_well_known", { V6, TCP(80) }, PASS, S_TCP_WK },
	{ "tcp6_class_registered_gen0_slot_ignored", { V6, TCP(3000) }, PASS, S_TCP_REG },
	{ "tcp6_class_ephemeral", { V6, TCP(50000) }, PASS, S_TCP_EPH },

	/* Watched ports: their own slot. */
	{ "tcp4_watched", { V4, TCP(9100) }, PASS, S_TCP9100 },
	{ "tcp4_watched_no_policy", { V4, TCP(9200) }, PASS, S_TCP9200 },
	{ "udp6_watched", { V6, UDP(5353) }, PASS, S_UDP5353 },

	/* A watched port inside a policed range: its own slot, the range's
	 * policy (any source, from the port table alone)... */
	{ "tcp4_watched_port_in_drop_range", { V4, TCP(9310) }, DROP, S_TCP9310,
	  .dropped = 1 },
	{ "tcp6_watched_port_in_drop_range", { V6, TCPF(9310, PKT_TCP_SYN) }, DROP, S_TCP9310,
	  .dropped = 1 },
	{ "tcp4_drop_range_beside_watched_port", { V4, TCP(9311) }, DROP, S_TCP93K,
	  .dropped = 1 },
	{ "tcp4_drop_range_low_edge", { V4, TCP(9300) }, DROP, S_TCP93K, .dropped = 1 },
	{ "tcp6_drop_range_high_edge", { V6, TCP(9399) }, DROP, S_TCP93K, .dropped = 1 },
	{ "tcp4_drop_range_above", { V4, TCP(9400) }, PASS, S_TCP_REG },
	/* ... and inside a source-scoped range: its own slot, the source's
	 * policy from policy_lpm. */
	{ "udp4_watched_port_in_from_range", { V4, UDP(30303) }, DROP, S_UDP30303,
	  .dropped = 1 },
	{ "udp4_watched_port_in_from_range_outside_prefix",
	  { V4S("203.0.113.1"), UDP(30303) }, PASS, S_UDP30303 },
	{ "udp6_watched_port_in_from_range_other_family", { V6, UDP(30303) }, PASS,
	  S_UDP30303 },

	/* Actions. */
	{ "tcp4_allow_gen0_drop_ignored", { V4, TCP(22) }, PASS, S_TCP22 },
	{ "tcp4_drop", { V4, TCP(23) }, DROP, S_TCP23, .dropped = 1 },
	{ "tcp6_drop", { V6, TCP(23) }, DROP, S_TCP23, .dropped = 1 },
	{ "tcp4_drop_new_syn", { V4, TCPF(25, PKT_TCP_SYN) }, DROP, S_TCP25, .dropped = 1 },
	{ "tcp6_drop_new_syn", { V6, TCPF(25, PKT_TCP_SYN) }, DROP, S_TCP25, .dropped = 1 },
	{ "tcp4_drop_new_syn_fin", { V4, TCPF(25, PKT_TCP_SYN | PKT_TCP_FIN) }, DROP, S_TCP25,
	  .dropped = 1 },
	{ "tcp4_drop_new_syn_ack", { V4, TCPF(25, PKT_TCP_SYN | PKT_TCP_ACK) }, PASS, S_TCP25 },
	{ "tcp4_drop_new_ack", { V4, TCPF(25, PKT_TCP_ACK) }, PASS, S_TCP25 },
	{ "tcp6_drop_new_ack_psh", { V6, TCPF(25, PKT_TCP_ACK | PKT_TCP_PSH) }, PASS, S_TCP25 },
	{ "tcp4_drop_new_rst", { V4, TCPF(25, PKT_TCP_RST) }, PASS, S_TCP25 },
	{ "udp4_drop_new_passes_udp", { V4, UDP(26) }, PASS, S_UDP26 },
	{ "udp4_limit_3pps_5_sent", { V4, UDP(53) }, .slot = S_UDP53, .limited = 2,
	  .n = 5, .npass = 3 },
	{ "tcp6_limit_3pps_5_sent", { V6, TCPF(443, PKT_TCP_SYN) }, .slot = S_TCP443,
	  .limited = 2, .n = 5, .npass = 3 },
	{ "udp6_limit_range_2pps_3_sent", { V6, UDP(40050) }, .slot = S_UDP40K, .limited = 1,
	  .n = 3, .npass = 2 },

	/* Source-scoped rules: narrowest range, then longest prefix. */
	{ "tcp4_from_inside_prefix", { V4S("198.18.0.5"), TCP(8080) }, DROP, S_TCP8K,
	  .dropped = 1 },
	{ "tcp4_from_longer_prefix_allows", { V4S("198.18.0.7"), TCP(8080) }, PASS, S_TCP8K },
	{ "tcp4_from_outside_prefix", { V4S("198.18.1.5"), TCP(8080) }, PASS, S_TCP8K },
	{ "tcp4_from_narrower_range_wins", { V4S("198.18.0.5"), TCP(8443) }, PASS, S_TCP8443 },
	{ "tcp4_from_inside_range_low_edge", { V4S("198.18.0.5"), TCP(8000) }, DROP, S_TCP8K,
	  .dropped = 1 },
	{ "tcp4_from_inside_range_high_edge", { V4S("198.18.0.255"), TCP(8999) }, DROP,
	  S_TCP8K, .dropped = 1 },
	{ "tcp4_from_below_range", { V4S("198.18.0.5"), TCP(7999) }, PASS, S_TCP_REG },
	{ "tcp4_from_above_range", { V4S("198.18.0.5"), TCP(9000) }, PASS, S_TCP_REG },
	{ "tcp6_from_inside_prefix", { V6S("2001:db8:1::5"), TCP(8999) }, DROP, S_TCP8K,
	  .dropped = 1 },
	{ "tcp6_from_outside_prefix", { V6, TCP(8000) }, PASS, S_TCP8K },
	{ "udp6_from_v6_prefix", { V6, UDP(7000) }, DROP, S_UDP7000, .dropped = 1 },
	{ "udp6_from_outside_v6_prefix", { V6S("2001:db9::1"), UDP(7000) }, PASS, S_UDP7000 },
	{ "udp4_v6_rule_skips_v4", { V4, UDP(7000) }, PASS, S_UDP7000 },
	{ "udp4_range_from_inside_prefix", { V4, UDP(30500) }, DROP, S_UDP30K, .dropped = 1 },
	{ "udp4_range_from_inside_prefix_above_watched", { V4S("198.18.200.1"), UDP(30999) },
	  DROP, S_UDP30K, .dropped = 1 },
	/* An any-source drop with a source-scoped allow in the same range. */
	{ "udp4_from_allow_beats_any_drop", { V4, UDP(31500) }, PASS, S_UDP31K },
	{ "udp4_any_drop_outside_from_prefix", { V4S("203.0.113.1"), UDP(31000) }, DROP,
	  S_UDP31K, .dropped = 1 },
	/* Longest prefix wins, in the trie (32000-32999: 9 IPv4 rows) and in
	 * a full list (33000-33999: 8), at every length. */
	{ "udp4_trie_15", { V4S("198.18.1.1"), UDP(32500) }, DROP, S_UDP32K, .dropped = 1 },
	{ "udp4_trie_22", { V4S("198.18.4.1"), UDP(32000) }, PASS, S_UDP32K },
	{ "udp4_trie_24", { V4S("198.18.5.1"), UDP(32999) }, DROP, S_UDP32K, .dropped = 1 },
	{ "udp4_trie_25", { V4S("198.18.5.130"), UDP(32500) }, PASS, S_UDP32K },
	{ "udp4_trie_26", { V4S("198.18.5.193"), UDP(32500) }, DROP, S_UDP32K, .dropped = 1 },
	{ "udp4_trie_32", { V4S("198.18.5.200"), UDP(32500) }, PASS, S_UDP32K },
	{ "udp4_trie_32_neighbour", { V4S("198.18.5.201"), UDP(32500) }, DROP, S_UDP32K,
	  .dropped = 1 },
	{ "udp4_trie_eighth_prefix", { V4S("198.19.7.1"), UDP(32500) }, DROP, S_UDP32K,
	  .dropped = 1 },
	{ "udp4_trie_16", { V4S("198.19.8.1"), UDP(32500) }, PASS, S_UDP32K },
	{ "udp4_trie_no_prefix", { V4S("203.0.113.1"), UDP(32500) }, PASS, S_UDP32K },
	{ "udp6_trie_48", { V6S("2001:db8:5::1"), UDP(32500) }, DROP, S_UDP32K, .dropped = 1 },
	{ "udp6_trie_no_prefix", { V6S("2001:db8:6::1"), UDP(32500) }, PASS, S_UDP32K },
	{ "udp4_list_15", { V4S("198.18.1.1"), UDP(33500) }, DROP, S_UDP33K, .dropped = 1 },
	{ "udp4_list_22", { V4S("198.18.4.1"), UDP(33000) }, PASS, S_UDP33K },
	{ "udp4_list_24", { V4S("198.18.5.1"), UDP(33999) }, DROP, S_UDP33K, .dropped = 1 },
	{ "udp4_list_25", { V4S("198.18.5.130"), UDP(33500) }, PASS, S_UDP33K },
	{ "udp4_list_26", { V4S("198.18.5.193"), UDP(33500) }, DROP, S_UDP33K, .dropped = 1 },
	{ "udp4_list_32", { V4S("198.18.5.200"), UDP(33500) }, PASS, S_UDP33K },
	{ "udp4_list_32_neighbour", { V4S("198.18.5.201"), UDP(33500) }, DROP, S_UDP33K,
	  .dropped = 1 },
	{ "udp4_list_16_limit_3pps_5_sent", { V4S("198.19.7.1"), UDP(33500) }, .slot = S_UDP33K,
	  .limited = 2, .n = 5, .npass = 3 },
	{ "udp4_list_no_prefix", { V4S("203.0.113.1"), UDP(33500) }, PASS, S_UDP33K },
	{ "udp6_list_v4_rules_only", { V6S("2001:db8:5::1"), UDP(33500) }, PASS, S_UDP33K },
	{ "tcp6_list_128", { V6S("2001:db8:1:2::5"), TCP(8500) }, DROP, S_TCP8K, .dropped = 1 },
	{ "tcp6_list_64", { V6S("2001:db8:1:2::6"), TCP(8500) }, PASS, S_TCP8K },
	{ "tcp6_list_48", { V6S("2001:db8:1:3::5"), TCP(8500) }, DROP, S_TCP8K, .dropped = 1 },
	/* No policy_lpm row for the source (removed by hand; the compiler
	 * always writes a /0 row per family): the port table's policy, allow
	 * or drop, and its slot. */
	{ "udp4_range_no_entry_for_source", { V4S("203.0.113.1"), UDP(30000) }, PASS,
	  S_UDP30K, .hand_only = true },
	{ "udp6_range_no_entry_for_family", { V6, UDP(30999) }, PASS, S_UDP30K,
	  .hand_only = true },
	{ "udp6_no_entry_keeps_port_drop", { V6, UDP(31999) }, DROP, S_UDP31K, .dropped = 1,
	  .hand_only = true },

	/* VLAN tags. */
	{ "vlan_8021q_tcp4_drop", { .vlan = { PKT_ETH_8021Q }, V4, TCP(23) }, DROP, S_TCP23,
	  .dropped = 1 },
	{ "vlan_qinq_8021ad_8021q_tcp4_drop",
	  { .vlan = { PKT_ETH_8021AD, PKT_ETH_8021Q }, V4, TCP(23) }, DROP, S_TCP23,
	  .dropped = 1 },
	{ "vlan_double_8021q_udp6_watched",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021Q }, V6, UDP(5353) }, PASS, S_UDP5353 },
	{ "vlan_8021q_8021ad_tcp6_drop",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021AD }, V6, TCP(23) }, DROP, S_TCP23,
	  .dropped = 1 },
	/* More tags than parsed: the stack strips stacked priority tags, so
	 * IP (or more tags) behind them is unreadable, and dropped here. */
	{ "vlan_three_tags_ip_unreadable",
	  { .vlan = { PKT_ETH_8021AD, PKT_ETH_8021Q, PKT_ETH_8021Q }, V4, TCP(23) }, DROP,
	  NO_SLOT, .unreadable = 1 },
	{ "vlan_three_tags_allowed_port_unreadable",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q }, V6, UDP(5353) }, DROP,
	  NO_SLOT, .unreadable = 1 },
	{ "vlan_ten_tags_ip_unreadable",
	  { .vlan = { VLAN10 }, V4, TCP(9100) }, DROP, NO_SLOT, .unreadable = 1 },
	{ "vlan_eleven_tags_unreadable",
	  { .vlan = { VLAN10, PKT_ETH_8021Q }, V4, TCP(9100) }, DROP, NO_SLOT, .unreadable = 1 },
	{ "vlan_three_tags_arp_other",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q }, .ethertype = PKT_ETH_ARP },
	  PASS, NO_SLOT, .other = 1 },
	{ "vlan_ten_tags_arp_other", { .vlan = { VLAN10 }, .ethertype = PKT_ETH_ARP }, PASS,
	  NO_SLOT, .other = 1 },
	{ "vlan_third_tag_truncated_malformed",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q }, V4, TCP(23),
	    .cut_layer = PKT_L2, .cut_len = 24 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "vlan_tag_truncated",
	  { .vlan = { PKT_ETH_8021Q }, V4, TCP(23), .cut_layer = PKT_L2, .cut_len = 16 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "vlan_second_tag_truncated",
	  { .vlan = { PKT_ETH_8021AD, PKT_ETH_8021Q }, V4, TCP(23), .cut_layer = PKT_L2,
	    .cut_len = 20 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "vlan_arp_other", { .vlan = { PKT_ETH_8021Q }, .ethertype = PKT_ETH_ARP }, PASS,
	  NO_SLOT, .other = 1 },

	/* IPv4 options. */
	{ "ipv4_options_tcp_drop", { V4, .ip_opts = 20, TCP(23) }, DROP, S_TCP23, .dropped = 1 },
	{ "ipv4_options_max_udp_watched", { V4, .ip_opts = 40, UDP(5353) }, PASS, S_UDP5353 },

	/* Fragments: a first fragment has ports, the others do not. */
	{ "ipv4_first_fragment_tcp_drop", { V4, .mf = true, TCP(23) }, DROP, S_TCP23,
	  .dropped = 1 },
	{ "ipv4_nonfirst_fragment", { V4, .frag_off = 185, .mf = true, TCP(23) }, PASS,
	  NO_SLOT, .fragments = 1 },
	{ "ipv4_last_fragment_udp", { V4, .frag_off = 3, UDP(53) }, PASS, NO_SLOT,
	  .fragments = 1 },
	{ "ipv4_nonfirst_fragment_ihl_below_5_malformed",
	  { V4, .frag_off = 185, TCP(23), .ihl = 4 }, PASS, NO_SLOT, .malformed = 1 },
	{ "ipv4_nonfirst_fragment_total_length_past_frame_malformed",
	  { V4, .frag_off = 185, TCP(23), .tot_len = 1500 }, PASS, NO_SLOT, .malformed = 1 },
	{ "ipv4_nonfirst_fragment_icmp", { V4, .frag_off = 1, .l4 = IPPROTO_ICMP }, PASS,
	  NO_SLOT, .fragments = 1 },
	{ "ipv6_first_fragment_tcp_drop",
	  { V6, .ext = { FRAG(0, true) }, .next = 1, TCP(23) }, DROP, S_TCP23, .dropped = 1 },
	{ "ipv6_nonfirst_fragment",
	  { V6, .ext = { FRAG(185, true) }, .next = 1, TCP(23) }, PASS, NO_SLOT,
	  .fragments = 1 },
	{ "ipv6_nonfirst_fragment_after_hop",
	  { V6, .ext = { EXT(0, 0), FRAG(1, false) }, .next = 2, UDP(53) }, PASS, NO_SLOT,
	  .fragments = 1 },
	{ "ipv6_fragment_header_past_payload_length",
	  { V6, .ext = { FRAG(185, false) }, .next = 1, UDP(53), .plen6 = 4 }, PASS, NO_SLOT,
	  .malformed = 1 },
	/* First fragments without their whole TCP/UDP header (RFC 1858,
	 * RFC 7112): unreadable, whatever the port (the ports may be read,
	 * the flags not); dropped, since the table has non-allow rules. */
	{ "ipv4_tiny_first_fragment_8_bytes_unreadable",
	  { V4, .mf = true, TCPF(23, PKT_TCP_SYN), .tot_len = 20 + 8 }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv4_tiny_first_fragment_allowed_port_unreadable",
	  { V4, .mf = true, TCP(9100), .tot_len = 20 + 8 }, DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv4_first_fragment_16_bytes_unreadable",
	  { V4, .mf = true, TCPF(25, PKT_TCP_SYN), .tot_len = 20 + 16 }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv4_first_fragment_19_bytes_unreadable",
	  { V4, .ip_opts = 8, .mf = true, TCPF(25, PKT_TCP_SYN), .tot_len = 28 + 19 }, DROP,
	  NO_SLOT, .unreadable = 1 },
	{ "ipv4_first_fragment_tcp_options_cut_unreadable",
	  { V4, .mf = true, TCPF(25, PKT_TCP_SYN), .tcp_opts = 20, .tot_len = 20 + 24 }, DROP,
	  NO_SLOT, .unreadable = 1 },
	{ "ipv4_first_fragment_doff_below_5_malformed",
	  { V4, .mf = true, TCP(23), .doff = 4 }, PASS, NO_SLOT, .malformed = 1 },
	{ "ipv4_first_fragment_udp_4_bytes_unreadable",
	  { V4, .mf = true, UDP(5353), .tot_len = 20 + 4 }, DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv4_first_fragment_udp_whole_header_policed",
	  { V4, .mf = true, UDPP(5353, 0), .tot_len = 20 + 8 }, PASS, S_UDP5353 },
	{ "ipv4_first_fragment_tcp_whole_header_policed",
	  { V4, .mf = true, TCPF(25, PKT_TCP_SYN), .tot_len = 20 + 20 }, DROP, S_TCP25,
	  .dropped = 1 },
	{ "ipv4_first_fragment_icmp_cut_other",
	  { V4, .mf = true, .l4 = IPPROTO_ICMP, .payload = 8, .tot_len = 20 + 4 }, PASS, NO_SLOT,
	  .other = 1 },
	{ "ipv4_tcp_fragment_offset_1_unreadable",
	  { V4, .frag_off = 1, .mf = true, TCP(23) }, DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv4_tcp_fragment_offset_2_fragments",
	  { V4, .frag_off = 2, .mf = true, TCP(23) }, PASS, NO_SLOT, .fragments = 1 },
	{ "ipv4_udp_fragment_offset_1_fragments", { V4, .frag_off = 1, UDP(53) }, PASS, NO_SLOT,
	  .fragments = 1 },
	{ "ipv4_vlan_tiny_first_fragment_unreadable",
	  { .vlan = { PKT_ETH_8021Q, PKT_ETH_8021AD }, V4, .mf = true, TCP(9100),
	    .tot_len = 20 + 8 },
	  DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv6_tiny_first_fragment_unreadable",
	  { V6, .ext = { FRAG(0, true) }, .next = 1, TCPF(23, PKT_TCP_SYN), .plen6 = 8 + 8 },
	  DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv6_first_fragment_udp_cut_unreadable",
	  { V6, .ext = { FRAG(0, true) }, .next = 1, UDP(5353), .plen6 = 8 + 6 }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv6_first_fragment_chain_cut_unreadable",
	  { V6, .ext = { FRAG(0, true), EXT(60, 3) }, .next = 2, TCP(23), .plen6 = 8 + 16 },
	  DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv6_chain_cut_before_fragment_header_malformed",
	  { V6, .ext = { EXT(0, 3), FRAG(0, true) }, .next = 2, TCP(23), .plen6 = 16 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "ipv6_atomic_fragment_cut_malformed",
	  { V6, .ext = { FRAG(0, false) }, .next = 1, TCP(23), .plen6 = 8 + 8 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv6_tcp_fragment_offset_1_unreadable",
	  { V6, .ext = { FRAG(1, true) }, .next = 1, TCP(23) }, DROP, NO_SLOT, .unreadable = 1 },
	{ "ipv6_udp_fragment_offset_1_fragments",
	  { V6, .ext = { FRAG(1, false) }, .next = 1, UDP(53) }, PASS, NO_SLOT, .fragments = 1 },
	{ "ipv6_atomic_fragment_udp",
	  { V6, .ext = { FRAG(0, false) }, .next = 1, UDP(5353) }, PASS, S_UDP5353 },

	/* IPv6 extension header chains. */
	{ "ipv6_hop_dst_tcp_drop",
	  { V6, .ext = { EXT(0, 0), EXT(60, 1) }, .next = 2, TCP(23) }, DROP, S_TCP23,
	  .dropped = 1 },
	{ "ipv6_routing_ah_udp_watched",
	  { V6, .ext = { EXT(43, 2), EXT(51, 4) }, .next = 2, UDP(5353) }, PASS, S_UDP5353 },
	{ "ipv6_chain_at_bound_8", { V6, .ext = { DST8 }, .next = 8, TCP(23) }, DROP,
	  S_TCP23, .dropped = 1 },
	/* Past the bound the stack still follows the chain: unreadable. */
	{ "ipv6_chain_over_bound_9_unreadable",
	  { V6, .ext = { DST8, EXT(60, 0) }, .next = 9, TCPF(23, PKT_TCP_SYN) }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv6_chain_over_bound_allowed_port_unreadable",
	  { V6, .ext = { DST8, EXT(43, 1) }, .next = 9, UDP(5353) }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv6_chain_40_unreadable",
	  { V6, .ext = { DST8, DST8, DST8, DST8, DST8 }, .next = 40, TCP(23) }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv6_first_fragment_chain_over_bound_unreadable",
	  { V6, .ext = { FRAG(0, true), DST8 }, .next = 9, TCP(23) }, DROP, NO_SLOT,
	  .unreadable = 1 },
	{ "ipv6_chain_9_cut_still_unreadable",
	  { V6, .ext = { DST8, EXT(60, 4) }, .next = 9, TCP(23), .plen6 = 64 + 8 }, DROP,
	  NO_SLOT, .unreadable = 1 },
	{ "ipv6_ext_past_payload_length",
	  { V6, .ext = { EXT(0, 3) }, .next = 1, TCP(23), .plen6 = 16 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv6_ext_truncated_frame",
	  { V6, .ext = { EXT(0, 10) }, .next = 1, TCP(23), .cut_layer = PKT_L3,
	    .cut_len = 60 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "ipv6_no_next_header_other", { V6, .l4 = 59 }, PASS, NO_SLOT, .other = 1 },
	{ "ipv6_esp_other", { V6, .l4 = 50, .payload = 24 }, PASS, NO_SLOT, .other = 1 },

	/* Truncated headers. */
	{ "trunc_eth_empty_refused", { V4, TCP(23), .cut_layer = PKT_L2, .cut_len = 0 },
	  PASS, NO_SLOT, .malformed = 1, .refused = true },
	{ "trunc_eth_13_refused", { V4, TCP(23), .cut_layer = PKT_L2, .cut_len = 13 }, PASS,
	  NO_SLOT, .malformed = 1, .refused = true },
	{ "trunc_eth_header_only_ipv4", { V4, TCP(23), .cut_layer = PKT_L2, .cut_len = 14 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "trunc_eth_header_only_ipv6", { V6, UDP(53), .cut_layer = PKT_L2, .cut_len = 14 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "trunc_eth_header_only_vlan", { .vlan = { PKT_ETH_8021AD }, V6, UDP(53),
					  .cut_layer = PKT_L2, .cut_len = 14 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "trunc_ipv4_header", { V4, TCP(23), .cut_layer = PKT_L3, .cut_len = 10 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "trunc_ipv6_header", { V6, TCP(23), .cut_layer = PKT_L3, .cut_len = 30 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "trunc_tcp_header", { V4, TCP(23), .cut_layer = PKT_L4, .cut_len = 10 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "trunc_udp_header", { V6, UDP(53), .cut_layer = PKT_L4, .cut_len = 4 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "tcp_header_past_ipv4_total_length", { V4, TCP(23), .tot_len = 30 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "udp_header_in_padding_only", { V4, UDPP(53, 0), .tot_len = 24,
					    .pad_to = 60 },
	  PASS, NO_SLOT, .malformed = 1 },
	{ "tcp_header_past_ipv6_payload_length", { V6, TCP(23), .plen6 = 10 }, PASS,
	  NO_SLOT, .malformed = 1 },
	{ "tcp_doff_below_5", { V4, TCP(23), .doff = 4 }, PASS, NO_SLOT, .malformed = 1 },
	{ "tcp_doff_past_packet", { V4, TCP(23), .doff = 15 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "tcp_doff_max_options", { V4, TCP(23), .tcp_opts = 40 }, DROP, S_TCP23,
	  .dropped = 1 },
	{ "tcp_doff_covers_payload", { V6, TCP(23), .doff = 15, .payload = 40 }, DROP,
	  S_TCP23, .dropped = 1 },

	/* Inconsistent IP headers. */
	{ "ipv4_ihl_below_5", { V4, TCP(23), .ihl = 4 }, PASS, NO_SLOT, .malformed = 1 },
	{ "ipv4_ihl_1", { V4, TCP(23), .ihl = 1 }, PASS, NO_SLOT, .malformed = 1 },
	{ "ipv4_ihl_past_total_length", { V4, TCP(23), .ihl = 15 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv4_total_length_past_frame", { V4, TCP(23), .tot_len = 1000 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv4_total_length_below_header", { V4, TCP(23), .tot_len = 16 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv4_bad_version", { V4, TCP(23), .ip_version = 5 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv6_bad_version", { V6, TCP(23), .ip_version = 4 }, PASS, NO_SLOT,
	  .malformed = 1 },
	{ "ipv6_payload_length_past_frame", { V6, TCP(23), .plen6 = 1000 }, PASS, NO_SLOT,
	  .malformed = 1 },

	/* Bytes are the frame's, padding included. */
	{ "udp4_padded_frame_bytes", { V4, UDPP(5353, 0), .pad_to = 60 }, PASS,
	  S_UDP5353 },
	{ "tcp4_vlan_bytes_include_tag", { .vlan = { PKT_ETH_8021Q }, V4, TCP(9100),
					   .payload = 100 },
	  PASS, S_TCP9100 },

	/* Not TCP or UDP. */
	{ "arp_other", { .ethertype = PKT_ETH_ARP }, PASS, NO_SLOT, .other = 1 },
	{ "lldp_other", { .ethertype = 0x88cc, .payload = 40 }, PASS, NO_SLOT, .other = 1 },
	{ "ieee8023_length_other", { .ethertype = 0x0040, .payload = 46 }, PASS, NO_SLOT,
	  .other = 1 },
	{ "icmp4_other", { V4, .l4 = IPPROTO_ICMP, .payload = 56 }, PASS, NO_SLOT,
	  .other = 1 },
	{ "icmp6_other", { V6, .l4 = IPPROTO_ICMPV6, .payload = 56 }, PASS, NO_SLOT,
	  .other = 1 },
	{ "gre4_other", { V4, .l4 = 47, .payload = 8 }, PASS, NO_SLOT, .other = 1 },
	{ "ipv6_hop_icmp6_other", { V6, .ext = { EXT(0, 0) }, .next = 1,
				    .l4 = IPPROTO_ICMPV6 },
	  PASS, NO_SLOT, .other = 1 },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static int case_frame(const struct gcase *c, uint8_t *buf)
{
	int len = pkt_build(&c->spec, buf, NULL);

	if (len < 0)
		fail_msg("%s: the frame does not build", c->name);
	return len;
}

static uint32_t case_verdict(const struct gcase *c, int i)
{
	if (c->n > 1)
		return i < c->npass ? XDP_PASS : XDP_DROP;
	return c->verdict;
}

static const char *verdict_name(uint32_t v)
{
	return v == XDP_PASS ? "PASS" : v == XDP_DROP ? "DROP" : v == XDP_REDIRECT ? "REDIRECT"
											   : "other";
}

/* Compare one counter; print and count a mismatch. */
static int expect(const char *name, const char *what, long slot, uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	if (slot >= 0)
		fprintf(stderr, "# %s: slot %ld %s: got %llu, want %llu\n", name, slot, what,
			(unsigned long long)got, (unsigned long long)want);
	else
		fprintf(stderr, "# %s: %s: got %llu, want %llu\n", name, what,
			(unsigned long long)got, (unsigned long long)want);
	return 1;
}

static int expect_counters(const char *name, long slot, const struct pt_counters *got,
			   const struct pt_counters *want)
{
	return expect(name, "packets", slot, got->packets, want->packets) +
	       expect(name, "bytes", slot, got->bytes, want->bytes) +
	       expect(name, "dropped", slot, got->dropped, want->dropped) +
	       expect(name, "limited", slot, got->limited, want->limited) +
	       expect(name, "xsk", slot, got->xsk, want->xsk) +
	       expect(name, "cpu", slot, got->cpu, want->cpu) +
	       expect(name, "fallback", slot, got->fallback, want->fallback);
}

static int expect_globals(const char *name, const struct pt_global *got,
			  const struct pt_global *want)
{
	return expect(name, "malformed", -1, got->malformed, want->malformed) +
	       expect(name, "fragments", -1, got->fragments, want->fragments) +
	       expect(name, "other", -1, got->other, want->other) +
	       expect(name, "unreadable", -1, got->unreadable, want->unreadable);
}

static void case_want(const struct gcase *c, int len, struct pt_counters *slot,
		      struct pt_global *g)
{
	int n = c->n ? c->n : 1;

	memset(slot, 0, sizeof(*slot));
	memset(g, 0, sizeof(*g));
	if (c->slot != NO_SLOT) {
		slot->packets = (uint64_t)n;
		slot->bytes = (uint64_t)n * (uint64_t)len;
		slot->dropped = c->dropped;
		slot->limited = c->limited;
	}
	g->malformed = c->malformed;
	g->fragments = c->fragments;
	g->other = c->other;
	g->unreadable = c->unreadable;
}

static void run_case(void **state)
{
	const struct gcase *c = *state;
	struct pt_counters want, got, zero = {};
	struct pt_global gwant, gdelta;
	uint8_t buf[PKT_MAX];
	struct snap before, after;
	int len, i, n = c->n ? c->n : 1, bad = 0;
	uint32_t s, verdict;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	clear_map(fd_of(skel->maps.frag_table), sizeof(struct pt_frag_key));
	len = case_frame(c, buf);
	if (c->refused) {
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
					    (size_t)len, &verdict), -EINVAL);
		return;
	}

	snap_take(&before);
	for (i = 0; i < n; i++) {
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
					    (size_t)len, &verdict), 0);
		if (verdict != case_verdict(c, i)) {
			fprintf(stderr, "# %s: frame %d: verdict %s, want %s\n", c->name, i,
				verdict_name(verdict), verdict_name(case_verdict(c, i)));
			bad++;
		}
	}
	snap_take(&after);

	case_want(c, len, &want, &gwant);
	for (s = 0; s < n_snap; s++) {
		got.packets = after.slot[s].packets - before.slot[s].packets;
		got.bytes = after.slot[s].bytes - before.slot[s].bytes;
		got.dropped = after.slot[s].dropped - before.slot[s].dropped;
		got.limited = after.slot[s].limited - before.slot[s].limited;
		got.xsk = after.slot[s].xsk - before.slot[s].xsk;
		got.cpu = after.slot[s].cpu - before.slot[s].cpu;
		got.fallback = after.slot[s].fallback - before.slot[s].fallback;
		bad += expect_counters(c->name, s, &got, (long)s == sym_slot(c->slot) ? &want : &zero);
	}
	gdelta.malformed = after.g.malformed - before.g.malformed;
	gdelta.fragments = after.g.fragments - before.g.fragments;
	gdelta.other = after.g.other - before.g.other;
	gdelta.unreadable = after.g.unreadable - before.g.unreadable;
	bad += expect_globals(c->name, &gdelta, &gwant);
	if (bad) {
		pkt_hexdump(buf, (size_t)len);
		fail_msg("%s: %d mismatches", c->name, bad);
	}
}

static void send_n(const struct pkt_spec *spec, int n, int *passed, int *dropped)
{
	uint8_t buf[PKT_MAX];
	uint32_t verdict;
	int len = pkt_build(spec, buf, NULL), i;

	assert_true(len > 0);
	*passed = *dropped = 0;
	for (i = 0; i < n; i++) {
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
					    (size_t)len, &verdict), 0);
		if (verdict == XDP_PASS)
			(*passed)++;
		else
			(*dropped)++;
	}
}

/* ---- fragments: a datagram's frames in sequence (frag_table) ---- */

struct fstep {
	struct pkt_spec spec;
	uint32_t verdict;
	bool on_slot;		/* counted on the sequence's slot */
};

struct fseq {
	const char *name;
	struct fstep steps[6];
	int slot;		/* the slot the on_slot frames move, or NO_SLOT */
	uint64_t dropped, limited, fragments, unreadable;
};

#define ID(n) .ip_id = (n)
#define FIRST4(n) V4, .mf = true, ID(n)
#define LATER4(n, off, m) V4, .frag_off = (off), .mf = (m), ID(n)

static const struct fseq fseqs[] = {
	{ "udp_first_passed_later_on_its_port",
	  { { { FIRST4(7), UDP(5353) }, PASS, true },
	    { { LATER4(7, 3, true), UDP(5353) }, PASS, true },
	    { { LATER4(7, 9, false), UDP(5353) }, PASS, true } },
	  S_UDP5353, .dropped = 0 },
	{ "tcp_first_dropped_later_dropped_on_its_port",
	  { { { FIRST4(8), TCPF(23, PKT_TCP_SYN) }, DROP, true },
	    { { LATER4(8, 5, false), TCP(23) }, DROP, true } },
	  S_TCP23, .dropped = 2 },
	{ "drop_new_syn_first_dropped_later_dropped",
	  { { { FIRST4(9), TCPF(25, PKT_TCP_SYN) }, DROP, true },
	    { { LATER4(9, 3, false), TCP(25) }, DROP, true } },
	  S_TCP25, .dropped = 2 },
	{ "tiny_first_offset_1_and_rest_all_unreadable",
	  { { { FIRST4(10), TCPF(9100, PKT_TCP_SYN), .tot_len = 28 }, DROP },
	    { { LATER4(10, 1, true), TCP(9100) }, DROP },
	    { { LATER4(10, 2, false), TCP(9100) }, DROP } },
	  NO_SLOT, .unreadable = 3 },
	{ "later_before_first_is_unknown",
	  { { { LATER4(11, 3, true), UDP(5353) }, PASS },
	    { { FIRST4(11), UDP(5353) }, PASS, true },
	    { { LATER4(11, 4, false), UDP(5353) }, PASS, true } },
	  S_UDP5353, .fragments = 1 },
	{ "other_id_not_attributed",
	  { { { FIRST4(12), TCP(23) }, DROP, true },
	    { { LATER4(13, 3, false), TCP(23) }, PASS } },
	  S_TCP23, .dropped = 1, .fragments = 1 },
	{ "ipv4_protocol_is_part_of_the_key",
	  { { { FIRST4(14), TCP(23) }, DROP, true },
	    { { LATER4(14, 3, false), UDP(23) }, PASS } },
	  S_TCP23, .dropped = 1, .fragments = 1 },
	{ "other_source_not_attributed",
	  { { { FIRST4(15), TCP(23) }, DROP, true },
	    { { V4S("198.19.1.2"), .frag_off = 3, ID(15), TCP(23) }, PASS } },
	  S_TCP23, .dropped = 1, .fragments = 1 },
	{ "limited_first_later_limited",
	  { { { V4, UDP(53) }, PASS, true },
	    { { V4, UDP(53) }, PASS, true },
	    { { V4, UDP(53) }, PASS, true },
	    { { FIRST4(16), UDP(53) }, DROP, true },
	    { { LATER4(16, 3, false), UDP(53) }, DROP, true } },
	  S_UDP53, .limited = 2 },
	{ "ipv6_first_dropped_later_dropped",
	  { { { V6, .ext = { FRAG(0, true) }, .next = 1, ID(17), TCP(23) }, DROP, true },
	    { { V6, .ext = { FRAG(3, false) }, .next = 1, ID(17), TCP(23) }, DROP, true } },
	  S_TCP23, .dropped = 2 },
	{ "ipv6_later_any_next_header_same_datagram",
	  { { { V6, .ext = { FRAG(0, true) }, .next = 1, ID(18), UDP(5353) }, PASS, true },
	    { { V6, .ext = { FRAG(3, false) }, .next = 1, ID(18), .l4 = 59 }, PASS, true } },
	  S_UDP5353, .dropped = 0 },
	{ "ipv6_tiny_first_later_unreadable",
	  { { { V6, .ext = { FRAG(0, true) }, .next = 1, ID(19), UDP(5353), .plen6 = 8 + 4 },
	      DROP },
	    { { V6, .ext = { FRAG(1, false) }, .next = 1, ID(19), UDP(5353) }, DROP } },
	  NO_SLOT, .unreadable = 2 },
	{ "vlan_tagged_fragments_same_datagram",
	  { { { .vlan = { PKT_ETH_8021Q }, FIRST4(20), TCP(23) }, DROP, true },
	    { { LATER4(20, 3, false), TCP(23) }, DROP, true } },
	  S_TCP23, .dropped = 2 },
};
#define N_FSEQS (sizeof(fseqs) / sizeof(fseqs[0]))

static void test_fragment_sequences(void **state)
{
	struct gm_model *m = malloc(sizeof(*m));
	struct gm_rules rules;
	uint8_t buf[PKT_MAX];
	size_t k;
	int bad = 0;

	REQUIRE_GUARD();
	assert_non_null(m);
	if (!tables_are_table_rules)
		install_table_rules();
	table_gm_rules(&rules);
	for (k = 0; k < N_FSEQS; k++) {
		const struct fseq *q = &fseqs[k];
		struct pt_counters want = {}, got, zero = {};
		struct pt_global gwant = {}, gd;
		struct snap before, after;
		uint32_t sl, verdict;
		int i;

		reset_buckets(fd_of(skel->maps.rate_buckets));
		clear_map(fd_of(skel->maps.frag_table), sizeof(struct pt_frag_key));
		gm_init(m, &rules);
		snap_take(&before);
		for (i = 0; i < 6 && q->steps[i].spec.family; i++) {
			const struct fstep *st = &q->steps[i];
			int len = pkt_build(&st->spec, buf, NULL);
			struct gm_result r;

			assert_true(len > 0);
			assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
						    (size_t)len, &verdict), 0);
			gm_run(m, buf, (size_t)len, &r);
			if (verdict != st->verdict || r.verdict != st->verdict) {
				fprintf(stderr, "# %s: frame %d: guard %s, model %s, want %s\n", q->name,
					i, verdict_name(verdict), verdict_name(r.verdict),
					verdict_name(st->verdict));
				bad++;
			}
			if (st->on_slot) {
				want.packets++;
				want.bytes += (uint64_t)len;
			}
		}
		snap_take(&after);
		want.dropped = q->dropped;
		want.limited = q->limited;
		for (sl = 0; sl < n_snap; sl++) {
			got.packets = after.slot[sl].packets - before.slot[sl].packets;
			got.bytes = after.slot[sl].bytes - before.slot[sl].bytes;
			got.dropped = after.slot[sl].dropped - before.slot[sl].dropped;
			got.limited = after.slot[sl].limited - before.slot[sl].limited;
			got.xsk = after.slot[sl].xsk - before.slot[sl].xsk;
			got.cpu = after.slot[sl].cpu - before.slot[sl].cpu;
			got.fallback = after.slot[sl].fallback - before.slot[sl].fallback;
			bad += expect_counters(q->name, sl, &got,
					       (long)sl == sym_slot(q->slot) ? &want : &zero);
		}
		gwant.fragments = q->fragments;
		gwant.unreadable = q->unreadable;
		gd.malformed = after.g.malformed - before.g.malformed;
		gd.fragments = after.g.fragments - before.g.fragments;
		gd.other = after.g.other - before.g.other;
		gd.unreadable = after.g.unreadable - before.g.unreadable;
		bad += expect_globals(q->name, &gd, &gwant);
	}
	free(m);
	gm_steering_free(&rules);
	if (bad)
		fail_msg("fragment sequences: %d mismatches", bad);
}

/* Unreadable frames, sent with and without non-allow rules. */
static const struct pkt_spec unreadable_frames[] = {
	{ V4, .mf = true, TCPF(23, PKT_TCP_SYN), .tot_len = 28, ID(30) },
	{ V4, .frag_off = 1, .mf = true, ID(30), TCP(23) },
	{ V4, .frag_off = 2, ID(30), TCP(23) },	/* its first was unreadable */
	{ V6, .ext = { DST8, EXT(60, 0) }, .next = 9, TCPF(23, PKT_TCP_SYN) },
	{ .vlan = { PKT_ETH_8021Q, PKT_ETH_8021Q, PKT_ETH_8021Q }, V4, TCPF(23, PKT_TCP_SYN) },
};
#define N_UNREADABLE (sizeof(unreadable_frames) / sizeof(unreadable_frames[0]))

static void send_unreadable(uint32_t want_verdict, const char *when)
{
	struct pt_global b, a;
	uint8_t buf[PKT_MAX];
	uint32_t verdict;
	size_t i;

	clear_map(map_fds[M_FRAG_TABLE], sizeof(struct pt_frag_key));
	read_global(&b);
	for (i = 0; i < N_UNREADABLE; i++) {
		int len = pkt_build(&unreadable_frames[i], buf, NULL);

		assert_true(len > 0);
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
					    (size_t)len, &verdict), 0);
		if (verdict != want_verdict)
			fail_msg("%s: frame %zu: %s, want %s", when, i, verdict_name(verdict),
				 verdict_name(want_verdict));
	}
	read_global(&a);
	assert_int_equal(a.unreadable - b.unreadable, N_UNREADABLE);
	assert_int_equal(a.malformed - b.malformed, 0);
	assert_int_equal(a.fragments - b.fragments, 0);
}

/* With no rules, or only allow rules, the guard changes nothing: what it
 * cannot read is counted and passed. config.enforce is per generation: a
 * flip to a generation with a drop rule makes it drop. */
static void test_unreadable_needs_a_rule(void **state)
{
	struct pt_state st = {};
	struct pt_policy allow = { .proto = PT_TCP, .lo = 1, .hi = 65535, .action = PT_ALLOW,
				   .from = { .family = PT_FAMILY_ANY } };
	struct pt_policy drop = { .proto = PT_UDP, .lo = 9, .hi = 9, .action = PT_DROP,
				  .from = { .family = PT_FAMILY_ANY } };
	uint32_t *fresh = NULL;
	size_t nfresh = 0;

	REQUIRE_GUARD();
	reset_tables();
	set_gen(0);
	send_unreadable(XDP_PASS, "no rules, generation 0");
	set_gen(1);
	send_unreadable(XDP_PASS, "no rules, generation 1");

	assert_int_equal(pt_policy_set(&st, &allow, NULL), 0);
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	write_gen(&st, 0, NULL);
	assert_int_equal(gen_enforce[0], 0);
	set_gen(0);
	send_unreadable(XDP_PASS, "allow rules only");

	/* a drop on another protocol and port still closes the door */
	assert_int_equal(pt_policy_set(&st, &drop, NULL), 0);
	fresh = NULL;
	assert_int_equal(pt_assign_slots(&st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	write_gen(&st, 1, NULL);
	assert_int_equal(gen_enforce[1], 1);
	send_unreadable(XDP_PASS, "drop rule written, not yet live");
	set_gen(1);
	send_unreadable(XDP_DROP, "drop rule live");
	set_gen(0);
	send_unreadable(XDP_PASS, "back to allow rules only");
	pt_state_free(&st);
	reset_tables();
}

/* config.gen picks the tables: generation 0 holds the decoys. */
static void test_config_gen(void **state)
{
	const struct pkt_spec tcp22 = { V4, TCP(22) }, udp69 = { V6, UDP(69) };
	struct pt_counters b22, a22, b69, a69, bt, at;
	uint32_t d22, d69;
	int passed, dropped;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	d22 = pt_slot_of_port(&decoy_st, PT_TCP, 22);
	d69 = pt_slot_of_port(&decoy_st, PT_UDP, 69);
	assert_int_equal(d22, assigned_slot(&decoy_st, PT_TCP, 20, 40));
	assert_int_equal(d69, assigned_slot(&decoy_st, PT_UDP, 60, 79));
	read_slot(d22, &b22);
	read_slot(d69, &b69);
	read_slot((uint32_t)sym_slot(S_TCP22), &bt);
	set_gen(DECOY_GEN);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
	send_n(&udp69, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
	read_slot(d22, &a22);
	read_slot(d69, &a69);
	read_slot((uint32_t)sym_slot(S_TCP22), &at);
	assert_int_equal(a22.packets - b22.packets, 1);
	assert_int_equal(a22.dropped - b22.dropped, 1);
	assert_int_equal(a69.packets - b69.packets, 1);
	assert_int_equal(a69.dropped - b69.dropped, 1);
	assert_int_equal(at.packets - bt.packets, 0);
	set_gen(3);		/* only the low bit counts */
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
	set_gen(TBL_GEN);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
}

/* ---- the port table ---- */

static void port_ent(uint8_t gen, uint8_t proto, uint16_t port, struct pt_port_ent *e)
{
	uint32_t key = PT_PORT_INDEX(gen, proto, port);

	assert_int_equal(bpf_map_lookup_elem(map_fds[M_PORT_TABLE], &key, e), 0);
}

/* Every entry of both generations is what pt_compile made of the rule
 * sets, at the index the guard computes. */
static void test_port_table_written(void **state)
{
	struct pt_compiled decoy = {};
	struct pt_port_ent e;
	uint32_t i, bad = 0;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	assert_int_equal(pt_compile(&decoy_st, DECOY_GEN, &decoy), 0);
	for (i = 0; i < (uint32_t)PT_NPROTO * PT_PORTS; i++) {
		uint8_t proto = (uint8_t)(i / PT_PORTS);
		uint16_t port = (uint16_t)(i % PT_PORTS);

		port_ent(TBL_GEN, proto, port, &e);
		if (memcmp(&e, &tbl_comp.ports[i], sizeof(e)) && bad++ < 5)
			fprintf(stderr, "# gen %u %s %u: entry differs\n", TBL_GEN,
				proto == PT_TCP ? "tcp" : "udp", port);
		/* the slot of every port: pt_slot_of_port's */
		if (e.slot != pt_slot_of_port(&tbl_st, proto, port) && bad++ < 5)
			fprintf(stderr, "# %s %u: slot %u, pt_slot_of_port %u\n",
				proto == PT_TCP ? "tcp" : "udp", port, e.slot,
				pt_slot_of_port(&tbl_st, proto, port));
		port_ent(DECOY_GEN, proto, port, &e);
		if (memcmp(&e, &decoy.ports[i], sizeof(e)) && bad++ < 5)
			fprintf(stderr, "# gen %u %s %u: entry differs\n", DECOY_GEN,
				proto == PT_TCP ? "tcp" : "udp", port);
	}
	pt_compiled_free(&decoy);
	assert_int_equal(bad, 0);
}

/* What the guard reads per packet, for the kinds of port the table has. */
#define FROM_LIST (PT_PORT_FROM | PT_PORT_LIST)
static void test_port_table_entries(void **state)
{
	static const struct {
		const char *what;
		uint8_t proto;
		uint16_t port;
		int sym;
		uint8_t flags, action;
		uint32_t pps, rule;
	} want[] = {
		{ "no rule", PT_TCP, 1023, S_TCP_WK, 0, PT_ALLOW, 0, 0 },
		{ "no rule", PT_UDP, 65535, S_UDP_EPH, 0, PT_ALLOW, 0, 0 },
		{ "watched, no policy", PT_TCP, 9100, S_TCP9100, 0, PT_ALLOW, 0, 0 },
		{ "watched, no policy", PT_TCP, 9200, S_TCP9200, 0, PT_ALLOW, 0, 0 },
		{ "watched, in a drop range", PT_TCP, 9310, S_TCP93K, 0, PT_DROP, 0, 15 },
		{ "drop range", PT_TCP, 9399, S_TCP93K, 0, PT_DROP, 0, 15 },
		{ "drop", PT_TCP, 23, S_TCP23, 0, PT_DROP, 0, 2 },
		{ "limit", PT_UDP, 53, S_UDP53, 0, PT_LIMIT, 3, 9 },
		{ "limit range", PT_UDP, 40099, S_UDP40K, 0, PT_LIMIT, 2, 13 },
		{ "--from rules only", PT_TCP, 8080, S_TCP8K, FROM_LIST, PT_ALLOW, 0, 0 },
		{ "any-source allow in --from range", PT_TCP, 8443, S_TCP8443, FROM_LIST,
		  PT_ALLOW, 0, 7 },
		{ "watched, in a --from range", PT_UDP, 30303, S_UDP30303, FROM_LIST,
		  PT_ALLOW, 0, 0 },
		{ "any-source drop and --from allow", PT_UDP, 31000, S_UDP31K, FROM_LIST,
		  PT_DROP, 0, 16 },
		{ "--from rules, more than a list holds", PT_UDP, 32000, S_UDP32K, PT_PORT_FROM,
		  PT_ALLOW, 0, 0 },
		{ "--from rules, a full list", PT_UDP, 33999, S_UDP33K, FROM_LIST, PT_ALLOW, 0,
		  0 },
	};
	struct pt_port_ent e;
	size_t i;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		long slot = sym_slot(want[i].sym);

		/* the watched port keeps its own slot */
		if (want[i].port == 9310)
			slot = sym_slot(S_TCP9310);
		port_ent(TBL_GEN, want[i].proto, want[i].port, &e);
		if (e.slot != slot || e.flags != want[i].flags || e.action != want[i].action ||
		    e.pps != want[i].pps || e.rule != want[i].rule)
			fail_msg("%s %u (%s): slot %u flags %u action %u pps %u rule %u; want "
				 "slot %ld flags %u action %u pps %u rule %u",
				 want[i].proto == PT_TCP ? "tcp" : "udp", want[i].port, want[i].what,
				 e.slot, e.flags, e.action, e.pps, e.rule, slot, want[i].flags,
				 want[i].action, want[i].pps, want[i].rule);
	}
	/* the decoys, in the other generation */
	port_ent(DECOY_GEN, PT_TCP, 22, &e);
	assert_int_equal(e.action, PT_DROP);
	assert_int_equal(e.slot, assigned_slot(&decoy_st, PT_TCP, 20, 40));
	port_ent(DECOY_GEN, PT_TCP, 3000, &e);
	assert_int_equal(e.slot, assigned_slot(&decoy_st, PT_TCP, 3000, 3000));
	port_ent(TBL_GEN, PT_TCP, 3000, &e);
	assert_int_equal(e.slot, S_TCP_REG);
}

/* Only a port flagged PT_PORT_FROM reads its source rules, and from the
 * structure PT_PORT_LIST names: a policy_lpm row or a policy_list entry
 * for the class of a port without the flag changes nothing, while the
 * /0 row of a flagged class decides, in its list (8080, few prefixes) or
 * in the trie (32500, more than a list holds). */
static void test_policy_lpm_only_with_from(void **state)
{
	const struct pkt_spec tcp22 = { V4, TCP(22) }, tcp8080 = { V4, TCP(8080) },
			      udp32500 = { V4S("203.0.113.1"), UDP(32500) };
	struct pt_policy_val drop = { .action = PT_DROP, .rule = 99 };
	struct pt_lpm_key key = { .prefixlen = PT_LPM_KEY_BITS, .gen = TBL_GEN, .proto = PT_TCP,
				  .family = PT_INET };
	struct pt_policy_list l = { .count = 1, .val = { drop } }, saved;
	struct pt_port_ent e;
	uint32_t index;
	int passed, dropped;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	port_ent(TBL_GEN, PT_TCP, 22, &e);
	assert_int_equal(e.flags & (PT_PORT_FROM | PT_PORT_LIST), 0);
	key.class = htonl(e.class);
	/* no row for a class without --from rules: add one */
	assert_int_equal(bpf_map_update_elem(map_fds[M_POLICY_LPM], &key, &drop, BPF_NOEXIST), 0);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(bpf_map_delete_elem(map_fds[M_POLICY_LPM], &key), 0);
	assert_int_equal(passed, 1);
	/* nor a list: a /0 drop in its policy_list element */
	index = PT_LIST_INDEX(TBL_GEN, PT_TCP, PT_INET, e.class);
	assert_int_equal(bpf_map_lookup_elem(map_fds[M_POLICY_LIST], &index, &saved), 0);
	assert_int_equal(bpf_map_update_elem(map_fds[M_POLICY_LIST], &index, &l, BPF_EXIST), 0);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(bpf_map_update_elem(map_fds[M_POLICY_LIST], &index, &saved, BPF_EXIST), 0);
	assert_int_equal(passed, 1);

	/* which structure each --from class reads */
	port_ent(TBL_GEN, PT_TCP, 8080, &e);
	assert_int_equal(e.flags & (PT_PORT_FROM | PT_PORT_LIST), PT_PORT_FROM | PT_PORT_LIST);
	port_ent(TBL_GEN, PT_UDP, 33500, &e);
	assert_int_equal(e.flags & (PT_PORT_FROM | PT_PORT_LIST), PT_PORT_FROM | PT_PORT_LIST);
	port_ent(TBL_GEN, PT_UDP, 32500, &e);
	assert_int_equal(e.flags & (PT_PORT_FROM | PT_PORT_LIST), PT_PORT_FROM);

	/* the /0 row of 8080's class (allow: the source is outside every
	 * prefix) turned into a drop, in its list; and 32500's in the trie */
	send_n(&tcp8080, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
	send_n(&udp32500, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
	tables_are_table_rules = false;		/* reinstalled by the next user */
	assert_int_equal(edit_default_row(PT_TCP, 8080, PT_INET, &drop), 0);
	send_n(&tcp8080, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
	assert_int_equal(edit_default_row(PT_UDP, 32500, PT_INET, &drop), 0);
	send_n(&udp32500, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
}

/* ---- the token bucket over time and across CPUs ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* 3 pps: a burst of 3, then 1.2 tokens after 400 ms, then a full bucket
 * (3, not more) after 1.2 s. */
static void test_limit_refill(void **state)
{
	const struct pkt_spec spec = { V4, TCPF(443, PKT_TCP_SYN) };
	int passed, dropped;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	send_n(&spec, 4, &passed, &dropped);
	assert_int_equal(passed, 3);
	sleep_ms(400);
	send_n(&spec, 2, &passed, &dropped);
	assert_int_equal(passed, 1);
	sleep_ms(1200);
	send_n(&spec, 5, &passed, &dropped);
	assert_int_equal(passed, 3);
	assert_int_equal(dropped, 2);
}

/* Each port of a limited range has its own bucket. */
static void test_limit_bucket_per_port(void **state)
{
	const struct pkt_spec a = { V4, UDP(40000) }, b = { V6, UDP(40099) };
	int passed, dropped;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	send_n(&a, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&b, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&a, 1, &passed, &dropped);
	assert_int_equal(passed, 0);
}

/* ---- the bucket sets: bounded, failing closed, reclaimed after 1 s ---- */

#define LIMIT_RULE_40K 13	/* udp 40000-40099 limit 2 */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* bpf_ktime_get_ns()'s clock */
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void read_set(__u32 index, struct pt_bucket_set *set)
{
	assert_int_equal(bpf_map_lookup_elem(fd_of(skel->maps.rate_buckets), &index, set), 0);
}

static void write_set(__u32 index, const struct pt_bucket_set *set)
{
	assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.rate_buckets), &index, set,
					     BPF_F_LOCK), 0);
}

/* Which way of the set holds key, or -1. */
static int way_of(const struct pt_bucket_set *set, uint64_t key)
{
	for (int w = 0; w < PT_BUCKET_WAYS; w++)
		if (set->way[w].key == key)
			return w;
	return -1;
}

/* The bucket clock (ns in 1/PT_TAT_SCALE) shift_ns from now. The guard's
 * clock is the coarse one, up to a tick (10 ms at most) behind this. */
static uint64_t bucket_clock(int64_t shift_ns)
{
	return (uint64_t)((int64_t)mono_ns() + shift_ns) * PT_TAT_SCALE;
}

/* The set of udp port 40000 is full of buckets of other keys, each due
 * its next packet due_ns from now (in debt when positive, full when not). */
static __u32 fill_set_of_40000(int64_t due_ns)
{
	uint64_t key = PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000);
	__u32 index = pt_bucket_set(GM_BUCKET_SEED, key);
	struct pt_bucket_set set = {};
	uint64_t tat = bucket_clock(due_ns);

	for (int w = 0; w < PT_BUCKET_WAYS; w++)
		/* rules no policy has: ports of another rule set's sweep */
		set.way[w] = (struct pt_bucket){ .key = PT_BUCKET_KEY(1000 + w, PT_UDP, 20000 + w),
						 .tat = tat };
	write_set(index, &set);
	return index;
}

/* A set whose every way holds a bucket in debt (one packet due 900 ms
 * from now: a limit 1 port swept 100 ms ago): a packet with no bucket of
 * its own there is limited (dropped, counted), never passed, and the set
 * is left as it was. */
static void test_limit_set_full_fails_closed(void **state)
{
	const struct pkt_spec spec = { V4, UDP(40000) };
	struct pt_counters before, after;
	struct pt_bucket_set set;
	int passed, dropped;
	__u32 index;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	index = fill_set_of_40000(900000000LL);	/* in debt for 900 ms */
	read_slot((uint32_t)sym_slot(S_UDP40K), &before);
	send_n(&spec, 3, &passed, &dropped);
	read_slot((uint32_t)sym_slot(S_UDP40K), &after);
	assert_int_equal(passed, 0);
	assert_int_equal(dropped, 3);
	assert_int_equal(after.packets - before.packets, 3);
	assert_int_equal(after.limited - before.limited, 3);
	assert_int_equal(after.dropped - before.dropped, 0);
	read_set(index, &set);
	assert_int_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000)), -1);
	for (int w = 0; w < PT_BUCKET_WAYS; w++)
		assert_int_equal(set.way[w].key, PT_BUCKET_KEY(1000 + w, PT_UDP, 20000 + w));
	/* a port of the same rule in another set is not touched by it */
	send_n(&(const struct pkt_spec){ V4, UDP(40001) }, 3, &passed, &dropped);
	if (pt_bucket_set(GM_BUCKET_SEED, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40001)) != index)
		assert_int_equal(passed, 2);
}

/* The same set, its buckets' next packets due 50 ms ago: they are
 * full again, as good as fresh, so the packet takes the first of them and
 * the port gets exactly its own bucket: 2 of 3 pass. No sleep: the ways'
 * times are written in the past. */
static void test_limit_set_reclaimed_after_1s(void **state)
{
	const struct pkt_spec spec = { V4, UDP(40000) };
	struct pt_counters before, after;
	struct pt_bucket_set set;
	int passed, dropped;
	__u32 index;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	index = fill_set_of_40000(-50000000LL);	/* full since 50 ms */
	read_slot((uint32_t)sym_slot(S_UDP40K), &before);
	send_n(&spec, 3, &passed, &dropped);
	read_slot((uint32_t)sym_slot(S_UDP40K), &after);
	assert_int_equal(passed, 2);
	assert_int_equal(dropped, 1);
	assert_int_equal(after.packets - before.packets, 3);
	assert_int_equal(after.limited - before.limited, 1);
	read_set(index, &set);
	assert_int_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000)), 0);
	/* 2 packets of limit 2 taken: the bucket is empty for about a second */
	assert_true(set.way[0].tat > bucket_clock(900000000LL));
	for (int w = 1; w < PT_BUCKET_WAYS; w++)
		assert_int_equal(set.way[w].key, PT_BUCKET_KEY(1000 + w, PT_UDP, 20000 + w));

	/* one way full, seven in debt: the full one is taken */
	fill_set_of_40000(900000000LL);
	read_set(index, &set);
	set.way[5].tat = bucket_clock(-50000000LL);
	write_set(index, &set);
	send_n(&spec, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	read_set(index, &set);
	assert_int_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000)), 5);
}

/* A flood of a limited port only reads its bucket's set: after its burst,
 * 50 more packets are limited (dropped, counted) and the set is byte for
 * byte what it was (the v2 lock before it wrote the bucket on every
 * packet). limit 2: after the burst the next packet is due in 0.5 s, far
 * longer than the 50 runs take. */
static void test_limit_flood_reads_only(void **state)
{
	const struct pkt_spec spec = { V4, UDP(40000) };
	__u32 index = pt_bucket_set(GM_BUCKET_SEED, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000));
	struct pt_bucket_set before, after;
	struct pt_counters c0, c1;
	int passed, dropped, w;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	send_n(&spec, 2, &passed, &dropped);
	assert_int_equal(passed, 2);
	read_set(index, &before);
	w = way_of(&before, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000));
	assert_true(w >= 0);
	assert_true(before.way[w].tat > bucket_clock(0));	/* in debt */
	read_slot((uint32_t)sym_slot(S_UDP40K), &c0);
	send_n(&spec, 50, &passed, &dropped);
	read_slot((uint32_t)sym_slot(S_UDP40K), &c1);
	read_set(index, &after);
	assert_int_equal(passed, 0);
	assert_int_equal(dropped, 50);
	assert_int_equal(c1.packets - c0.packets, 50);
	assert_int_equal(c1.limited - c0.limited, 50);
	assert_memory_equal(before.way, after.way, sizeof(before.way));
	reset_buckets(fd_of(skel->maps.rate_buckets));
}

/* Two ports of one rule whose buckets share a set (a seed is searched
 * for that puts two ports of the range there): each has its own bucket in
 * its own way. */
static void test_limit_two_ports_one_set(void **state)
{
	struct pt_bucket_set set = {};
	int passed, dropped, pa = -1, pb = -1;
	__u32 seed, index = PT_BUCKET_SEED_INDEX;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	for (seed = GM_BUCKET_SEED; seed < GM_BUCKET_SEED + 1000 && pb < 0; seed++) {
		__u32 first[PT_BUCKET_SETS];

		memset(first, 0, sizeof(first));
		for (int p = 40000; p <= 40099 && pb < 0; p++) {
			__u32 i = pt_bucket_set(seed, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, p));

			if (first[i]) {
				pa = (int)first[i];
				pb = p;
			}
			first[i] = (__u32)p;
		}
	}
	seed--;
	assert_true(pb > 0);
	fprintf(stderr, "# seed %#x: ports %d and %d share a set\n", seed, pa, pb);
	set.seed = seed;
	write_set(index, &set);
	index = pt_bucket_set(seed, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, pa));
	send_n(&(const struct pkt_spec){ V4, UDP((uint16_t)pa) }, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&(const struct pkt_spec){ V6, UDP((uint16_t)pb) }, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&(const struct pkt_spec){ V4, UDP((uint16_t)pa) }, 1, &passed, &dropped);
	assert_int_equal(passed, 0);
	read_set(index, &set);
	assert_int_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, pa)), 0);
	assert_int_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, pb)), 1);
	reset_buckets(fd_of(skel->maps.rate_buckets));
}

/* A zero seed is drawn by the guard on first use, once. */
static void test_limit_seed_drawn(void **state)
{
	struct pt_bucket_set set = {}, seed;
	int passed, dropped;
	__u32 index = PT_BUCKET_SEED_INDEX;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	write_set(index, &set);
	send_n(&(const struct pkt_spec){ V4, UDP(40000) }, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
	read_set(index, &seed);
	assert_int_not_equal(seed.seed, 0);
	read_set(pt_bucket_set(seed.seed, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000)), &set);
	assert_int_not_equal(way_of(&set, PT_BUCKET_KEY(LIMIT_RULE_40K, PT_UDP, 40000)), -1);
	send_n(&(const struct pkt_spec){ V4, UDP(40001) }, 1, &passed, &dropped);
	read_set(index, &set);
	assert_int_equal(set.seed, seed.seed);
	reset_buckets(fd_of(skel->maps.rate_buckets));
}

struct hammer {
	int cpu;
	pthread_barrier_t *start;
	const uint8_t *frame;
	size_t len;
	int err;
};

#define HAMMER_RUNS 40
#define HAMMER_REPEAT 5000

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		h->err = -errno;
	pthread_barrier_wait(h->start);
	for (i = 0; i < HAMMER_RUNS && !h->err; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = h->frame,
			    .data_size_in = (uint32_t)h->len, .repeat = HAMMER_REPEAT);

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.portier_guard), &opts))
			h->err = -errno;
	}
	return NULL;
}

/* Two CPUs hammer one bucket of HAMMER_PPS: it passes its burst, and no
 * more than its burst plus its rate over the time taken (the spin lock
 * keeps the books: a lost update would pass extra frames). */
static void test_limit_two_cpus(void **state)
{
	const struct pkt_spec spec = { V4, UDP(54) };
	struct hammer h[2] = {};
	pthread_barrier_t start;
	pthread_t th[2];
	struct pt_counters before, after;
	struct timespec t0, t1;
	uint8_t buf[PKT_MAX];
	uint64_t sent, passed;
	double secs, bound;
	int len, i, nthreads = bt_ncpus() >= 2 ? 2 : 1;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	reset_buckets(fd_of(skel->maps.rate_buckets));
	len = pkt_build(&spec, buf, NULL);
	assert_true(len > 0);
	read_slot((uint32_t)sym_slot(S_UDP54), &before);
	assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned int)nthreads), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++) {
		h[i] = (struct hammer){ .cpu = i, .start = &start, .frame = buf,
					.len = (size_t)len };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].err, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_barrier_destroy(&start);
	read_slot((uint32_t)sym_slot(S_UDP54), &after);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	sent = after.packets - before.packets;
	passed = sent - (after.limited - before.limited);
	bound = HAMMER_PPS + HAMMER_PPS * secs + 1;
	fprintf(stderr, "# limit_two_cpus: %d cpus, %llu frames in %.3f s, %llu passed (bound %.1f)\n",
		nthreads, (unsigned long long)sent, secs, (unsigned long long)passed, bound);
	assert_int_equal(sent, (uint64_t)nthreads * HAMMER_RUNS * HAMMER_REPEAT);
	assert_true(passed >= HAMMER_PPS);
	assert_true((double)passed <= bound);
}

/* ---- the model against the table ---- */

static void test_model_table(void **state)
{
	struct gm_model *m = malloc(sizeof(*m));
	struct gm_rules rules;
	struct gm_result r;
	uint8_t buf[PKT_MAX];
	size_t k;
	int bad = 0;

	assert_non_null(m);
	table_gm_rules(&rules);
	for (k = 0; k < N_CASES; k++) {
		const struct gcase *c = &cases[k];
		struct pt_counters want, got = {};
		struct pt_global gwant, gsum = {};
		int len, i, n = c->n ? c->n : 1;
		long slot = NO_SLOT;

		if (c->hand_only)
			continue;
		len = case_frame(c, buf);
		gm_init(m, &rules);
		for (i = 0; i < n; i++) {
			gm_run(m, buf, (size_t)len, &r);
			if (r.verdict != case_verdict(c, i)) {
				fprintf(stderr, "# model %s: frame %d: verdict %s, want %s\n",
					c->name, i, verdict_name(r.verdict),
					verdict_name(case_verdict(c, i)));
				bad++;
			}
			if (GM_HAS_SLOT(r.kind)) {
				if (slot != NO_SLOT && slot != (long)r.slot)
					bad++;
				slot = r.slot;
			}
			got.packets += r.slot_delta.packets;
			got.bytes += r.slot_delta.bytes;
			got.dropped += r.slot_delta.dropped;
			got.limited += r.slot_delta.limited;
			got.xsk += r.slot_delta.xsk;
			got.cpu += r.slot_delta.cpu;
			got.fallback += r.slot_delta.fallback;
			gsum.malformed += r.global_delta.malformed;
			gsum.fragments += r.global_delta.fragments;
			gsum.other += r.global_delta.other;
			gsum.unreadable += r.global_delta.unreadable;
		}
		case_want(c, len, &want, &gwant);
		if (slot != sym_slot(c->slot)) {
			fprintf(stderr, "# model %s: slot %ld, want %ld\n", c->name, slot,
				sym_slot(c->slot));
			bad++;
		}
		bad += expect_counters(c->name, slot, &got, &want);
		bad += expect_globals(c->name, &gsum, &gwant);
	}
	free(m);
	gm_steering_free(&rules);
	if (bad)
		fail_msg("the model disagrees with the table: %d mismatches", bad);
}

/* ---- steering: to AF_XDP sockets and to CPUs, after policy ---- */

/*
 * The rules of the steering cases, in apply's words. Services: web holds
 * kernel sockets; game is an AF_XDP service on lo (where test runs come
 * in) with no socket in any slot; far is one on another interface.
 */
static const char steer_conf[] =
	"service add web\nservice add game\nservice add far\n"
	"bind udp any 3064-3099 game\n"
	"bind udp 198.18.0.1 3070 web\n"	/* narrower: kernel sockets, then steered */
	"bind udp any 4000 far\n"
	"bind udp any 5000 web\n"
	"bind udp any 5100 web\n"		/* bound, not steered */
	"steer udp 3064-3099 cpus 1\n"
	"steer udp 5000 cpus 1\n"
	"steer udp 5001 cpus 1\n"
	"steer udp 5002 cpus 0-1\n"
	"steer udp 7000 cpus 1023\n"		/* beyond cpu_map: no queue there */
	"steer tcp 80 cpus 1\n"
	"policy tcp 80 drop-new\n"
	"steer udp 6000-6001 cpus 0\n"
	"policy udp 6000 drop\n"
	"policy udp 6001 limit 2\n"
	"policy udp 3080 drop\n";
#define FAR_IFINDEX 999999

struct steer_env {
	struct pt_state st;
	struct pt_compiled c;
	struct gm_policy pols[8];
	struct gm_slot slots[64];
	struct gm_rules rules;
	struct gm_model *model;
};

/* Install steer_conf as generation 1 (gen 0 empty), with queues on CPUs
 * 0 and 1, xsk_meta for the services, and the model of it all. */
static void steer_env_make(struct steer_env *env)
{
	struct pt_config_error ce;
	uint32_t *fresh = NULL;
	size_t nfresh = 0;

	REQUIRE_GUARD();
	if (bt_ncpus() < 2)
		fail_msg("steering cases need two possible CPUs, this host has %d", bt_ncpus());
	memset(env, 0, sizeof(*env));
	reset_tables();
	assert_int_equal(pt_config_parse(steer_conf, sizeof(steer_conf) - 1, NULL, &env->st, &ce),
			 0);
	pt_service_by_name(&env->st, "game")->xsk_ifindex = lo_ifindex();
	pt_service_by_name(&env->st, "far")->xsk_ifindex = FAR_IFINDEX;
	for (size_t i = 0; i < env->st.nservices; i++)
		xsk_meta_set(env->st.services[i].id, env->st.services[i].xsk_ifindex);
	assert_int_equal(pt_assign_slots(&env->st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_true(env->st.npolicies <= 8 && env->st.nslots <= 64);
	cpu_entry(0, true);
	cpu_entry(1, true);
	write_gen(&env->st, 1, &env->c);
	set_gen(1);
	gm_rules_of(&env->st, env->pols, env->slots, &env->rules);
	env->model = malloc(sizeof(*env->model));
	assert_non_null(env->model);
	gm_init(env->model, &env->rules);
	/* the cpu_map has no entry where the map ends */
	assert_true(bt_ncpus() <= 1023);
}

static void steer_env_free(struct steer_env *env)
{
	/* the next test starts from no rules; CPU 1 keeps no queue */
	reset_tables();
	cpu_entry(1, false);
	free(env->model);
	gm_steering_free(&env->rules);
	pt_compiled_free(&env->c);
	pt_state_free(&env->st);
}

struct scase {
	const char *name;
	struct pkt_spec spec;
	int n;			/* frames (0: one) */
	int npass;		/* of n: the first npass get verdict, the rest XDP_DROP */
	uint32_t verdict;
	uint64_t dropped, limited, xsk, cpu, fallback;	/* per frame, of the first npass */
};

/* Run one case: every frame's verdict, the exact counters of the port's
 * slot, nothing elsewhere, and the model's verdicts and counters alike. */
static int steer_run(struct steer_env *env, const struct scase *c)
{
	struct pt_counters before, after, want = {}, model = {};
	uint8_t buf[PKT_MAX];
	struct gm_result r;
	int len = pkt_build(&c->spec, buf, NULL), n = c->n ? c->n : 1, bad = 0, i;
	int npass = c->n ? c->npass : 1;
	uint32_t slot, verdict;

	if (len < 0)
		fail_msg("%s: the frame does not build", c->name);
	slot = pt_slot_of_port(&env->st, c->spec.l4 == IPPROTO_TCP ? PT_TCP : PT_UDP,
			       c->spec.dport);
	read_slot(slot, &before);
	for (i = 0; i < n; i++) {
		uint32_t want_v = i < npass ? c->verdict : XDP_DROP;

		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
					    (size_t)len, &verdict), 0);
		gm_run(env->model, buf, (size_t)len, &r);
		if (verdict != want_v || r.verdict != want_v) {
			fprintf(stderr, "# %s: frame %d: guard %s, model %s, want %s\n", c->name, i,
				verdict_name(verdict), verdict_name(r.verdict), verdict_name(want_v));
			bad++;
		}
		model.packets += r.slot_delta.packets;
		model.bytes += r.slot_delta.bytes;
		model.dropped += r.slot_delta.dropped;
		model.limited += r.slot_delta.limited;
		model.xsk += r.slot_delta.xsk;
		model.cpu += r.slot_delta.cpu;
		model.fallback += r.slot_delta.fallback;
	}
	read_slot(slot, &after);
	want.packets = (uint64_t)n;
	want.bytes = (uint64_t)n * (uint64_t)len;
	want.dropped = c->dropped * (uint64_t)npass;
	want.limited = c->limited + (uint64_t)(n - npass);
	want.xsk = c->xsk * (uint64_t)npass;
	want.cpu = c->cpu * (uint64_t)npass;
	want.fallback = c->fallback * (uint64_t)npass;
	after.packets -= before.packets;
	after.bytes -= before.bytes;
	after.dropped -= before.dropped;
	after.limited -= before.limited;
	after.xsk -= before.xsk;
	after.cpu -= before.cpu;
	after.fallback -= before.fallback;
	bad += expect_counters(c->name, slot, &after, &want);
	bad += expect_counters("model", slot, &model, &want);
	if (bad)
		pkt_hexdump(buf, (size_t)len);
	return bad;
}

#define REDIRECT .verdict = XDP_REDIRECT
#define FIRST_FRAG(p) .family = 4, .src = SRC4, .dst = DST4, .mf = true, UDP(p)

static const struct scase steer_cases[] = {
	{ "steer_udp_to_cpu", { V4, UDP(5001) }, REDIRECT, .cpu = 1 },
	{ "steer_udp_ipv6_to_cpu", { V6, UDP(5001) }, REDIRECT, .cpu = 1 },
	{ "steer_bound_to_kernel_socket_service_still_steered", { V4, UDP(5000) }, REDIRECT,
	  .cpu = 1 },
	{ "steer_same_flow_same_cpu", { V4, UDP(5002) }, .n = 20, .npass = 20, REDIRECT,
	  .cpu = 1 },
	{ "steer_cpu_beyond_the_map_passes_uncounted", { V4, UDP(7000) }, PASS },
	{ "steer_tcp_ack_steered", { V4, TCP(80) }, REDIRECT, .cpu = 1 },
	{ "steer_drop_new_wins_over_steering", { V4, TCPF(80, PKT_TCP_SYN) }, DROP, .dropped = 1 },
	{ "steer_drop_wins_over_steering", { V4, UDP(6000) }, DROP, .dropped = 1 },
	{ "steer_limit_wins_over_steering", { V4, UDP(6001) }, .n = 3, .npass = 2, REDIRECT,
	  .cpu = 1 },
	{ "steer_first_fragment_not_steered", { FIRST_FRAG(5001) }, PASS },
	{ "steer_unsteered_port_passes", { V4, UDP(5003) }, PASS },
	{ "bound_kernel_service_unsteered_plain_pass", { V4, UDP(5100) }, PASS },
	{ "xsk_empty_slot_falls_back", { V4, UDP(3065) }, PASS, .fallback = 1 },
	{ "xsk_ipv6_empty_slot_falls_back", { V6, UDP(3099) }, PASS, .fallback = 1 },
	{ "xsk_other_interface_falls_back", { V4, UDP(4000) }, PASS, .fallback = 1 },
	{ "xsk_drop_wins_never_steered", { V4, UDP(3080) }, DROP, .dropped = 1 },
	{ "xsk_narrower_kernel_binding_then_cpu", { V4, UDP(3070) }, REDIRECT, .cpu = 1 },
	{ "xsk_kernel_binding_other_address_is_xsk", { .family = 4, .src = SRC4,
						       .dst = "198.18.0.2", UDP(3070) }, PASS, .fallback = 1 },
	{ "xsk_first_fragment_not_steered", { FIRST_FRAG(3065) }, PASS },
};
#define N_STEER_CASES (sizeof(steer_cases) / sizeof(steer_cases[0]))

static void test_steer_cases(void **state)
{
	struct steer_env env;
	int bad = 0;

	steer_env_make(&env);
	for (size_t i = 0; i < N_STEER_CASES; i++) {
		reset_buckets(map_fds[M_RATE_BUCKETS]);
		gm_init(env.model, &env.rules);
		bad += steer_run(&env, &steer_cases[i]);
	}
	steer_env_free(&env);
	if (bad)
		fail_msg("steering: %d mismatches", bad);
}

/*
 * Which CPU: with CPU 1's queue gone, a set of CPU 1 alone passes
 * uncounted, and a set of 0-1 redirects exactly the flows whose hash picks
 * CPU 0 (as the model says, flow by flow, the same every time).
 */
static void test_steer_which_cpu(void **state)
{
	struct steer_env env;
	struct pt_counters before, after;
	uint8_t buf[PKT_MAX];
	unsigned int on0 = 0, on1 = 0;
	uint32_t slot, verdict;
	int bad = 0;

	steer_env_make(&env);
	cpu_entry(1, false);
	bad += steer_run(&env, &(struct scase){ "cpu1_gone_set_of_1", { V4, UDP(5001) }, PASS });
	bad += steer_run(&env, &(struct scase){ "cpu1_gone_bound_port", { V4, UDP(5000) }, PASS });
	slot = pt_slot_of_port(&env.st, PT_UDP, 5002);
	read_slot(slot, &before);
	for (uint16_t sport = 1000; sport < 1064; sport++) {
		struct pkt_spec sp = { V4, UDP(5002) };
		struct gm_result r;
		int len;

		sp.sport = sport;
		len = pkt_build(&sp, buf, NULL);
		assert_true(len > 0);
		gm_run(env.model, buf, (size_t)len, &r);
		assert_true(r.cpu == 0 || r.cpu == 1);
		on0 += r.cpu == 0;
		on1 += r.cpu == 1;
		for (int k = 0; k < 3; k++) {
			assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), buf,
						    (size_t)len, &verdict), 0);
			if (verdict != (r.cpu == 0 ? XDP_REDIRECT : XDP_PASS)) {
				fprintf(stderr, "# sport %u: guard %s, the model's CPU %d\n", sport,
					verdict_name(verdict), r.cpu);
				bad++;
			}
		}
	}
	read_slot(slot, &after);
	/* the hash spreads 64 flows over both CPUs */
	if (!on0 || !on1) {
		fprintf(stderr, "# 64 flows: %u on CPU 0, %u on CPU 1\n", on0, on1);
		bad++;
	}
	bad += expect("which_cpu", "cpu", (long)slot, after.cpu - before.cpu, 3ULL * on0);
	bad += expect("which_cpu", "packets", (long)slot, after.packets - before.packets, 3ULL * 64);
	steer_env_free(&env);
	if (bad)
		fail_msg("which CPU: %d mismatches", bad);
}

/*
 * A filled AF_XDP slot: a child process in a network namespace of its own
 * makes a veth pair, binds an AF_XDP socket (copy mode, libxdp's xsk API,
 * no program of libxdp's) to queue 0 of one end, puts it in game's slot
 * for queue 0 and runs a frame of game's port: XDP_REDIRECT, xsk +1 (a
 * test run comes in on the child's lo, queue 0: game's interface is set to
 * it). When the child has exited, its socket has left the map by itself:
 * the same frame falls back, fallback +1.
 */
#define XSK_FRAMES 64

static int xsk_child(int prog_fd, const uint8_t *frame, size_t len, uint32_t svc)
{
	struct xsk_socket_config cfg = { .rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
					 .tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
					 .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
					 .bind_flags = XDP_COPY };
	size_t size = (size_t)XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem = NULL;
	struct xsk_socket *xsk = NULL;
	struct pt_xsk_meta meta = {};
	uint32_t key = PT_XSK_KEY(svc, 0), verdict = 0;
	int fd;
	void *area;

	if (unshare(CLONE_NEWNET))
		return 10;
	if (system("ip link add ptxa type veth peer name ptxb && ip link set ptxa up && "
		   "ip link set ptxb up && ip link set lo up"))
		return 11;
	area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || xsk_umem__create(&umem, area, size, &fill, &comp, NULL))
		return 12;
	if (xsk_socket__create(&xsk, "ptxa", 0, umem, &rx, &tx, &cfg))
		return 13;
	fd = xsk_socket__fd(xsk);
	if (bpf_map_update_elem(map_fds[M_XSK_SOCKS], &key, &fd, BPF_ANY))
		return 14;
	meta.ifindex = if_nametoindex("lo");
	if (bpf_map_update_elem(map_fds[M_XSK_META], &svc, &meta, BPF_ANY))
		return 15;
	if (bt_xdp_run(prog_fd, frame, len, &verdict))
		return 16;
	if (verdict != XDP_REDIRECT) {
		fprintf(stderr, "# filled slot: verdict %s\n", verdict_name(verdict));
		return 17;
	}
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	return 0;
}

static void test_xsk_filled_slot(void **state)
{
	struct steer_env env;
	struct pt_counters before, mid, after;
	struct pkt_spec sp = { V4, UDP(3065) };
	uint8_t buf[PKT_MAX];
	int len, status = 0, prog_fd;
	uint32_t slot, svc, verdict;
	pid_t pid;

	steer_env_make(&env);
	svc = pt_service_by_name(&env.st, "game")->id;
	len = pkt_build(&sp, buf, NULL);
	assert_true(len > 0);
	prog_fd = bpf_program__fd(skel->progs.portier_guard);
	slot = pt_slot_of_port(&env.st, PT_UDP, 3065);
	read_slot(slot, &before);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(xsk_child(prog_fd, buf, (size_t)len, svc));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	read_slot(slot, &mid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("the AF_XDP child failed at step %d (10 netns, 11 veth, 12 umem, "
			 "13 socket, 14 xsk_socks, 15 xsk_meta, 16 test run, 17 verdict)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_int_equal(mid.xsk - before.xsk, 1);
	assert_int_equal(mid.fallback - before.fallback, 0);
	assert_int_equal(mid.packets - before.packets, 1);
	/* the child is gone, and its socket with it: the slot is empty */
	xsk_meta_set(svc, lo_ifindex());
	assert_int_equal(bt_xdp_run(prog_fd, buf, (size_t)len, &verdict), 0);
	assert_int_equal(verdict, XDP_PASS);
	read_slot(slot, &after);
	assert_int_equal(after.xsk - mid.xsk, 0);
	assert_int_equal(after.fallback - mid.fallback, 1);
	steer_env_free(&env);
}

/* cpu_map as a commit keeps it: pt_cpu_map_add gives every listed CPU an
 * entry (and refuses a CPU beyond the map), pt_cpu_map_prune removes the
 * entries of CPUs a generation does not list; walks see exactly the
 * entries, and xsk_socks cannot be walked. */
static int count_cpu(const void *key, const void *val, void *arg)
{
	const struct bpf_cpumap_val *v = val;

	assert_int_equal(v->qsize, PT_CPU_QSIZE);
	assert_int_equal(v->bpf_prog.fd, 0);
	*(uint32_t *)arg |= 1u << *(const uint32_t *)key;
	return 0;
}

static uint32_t cpu_map_bits(void)
{
	uint32_t bits = 0;

	assert_int_equal(pt_map_walk(map_fds, M_CPU_MAP, -1, count_cpu, &bits), 0);
	return bits;
}

static void compile_steers(const char *conf, uint8_t gen, struct pt_compiled *c)
{
	struct pt_config_error ce;
	struct pt_state st;

	assert_int_equal(pt_config_parse(conf, strlen(conf), NULL, &st, &ce), 0);
	assert_int_equal(pt_compile(&st, gen, c), 0);
	pt_state_free(&st);
}

static void test_cpu_map_add_prune(void **state)
{
	struct pt_compiled both, zero, none, far;
	char conf[64];

	REQUIRE_GUARD();
	if (bt_ncpus() < 2)
		fail_msg("needs two possible CPUs, this host has %d", bt_ncpus());
	cpu_entry(0, false);
	cpu_entry(1, false);
	assert_int_equal(cpu_map_bits(), 0);
	compile_steers("steer udp 1 cpus 1\nsteer udp 2-9 cpus 0-1\n", 0, &both);
	compile_steers("steer tcp 1 cpus 0\n", 1, &zero);
	compile_steers("", 0, &none);
	snprintf(conf, sizeof(conf), "steer udp 1 cpus 0,%d\n", bt_ncpus());
	compile_steers(conf, 1, &far);

	assert_int_equal(pt_cpu_map_add(map_fds, &both), 0);
	assert_int_equal(cpu_map_bits(), 3);
	assert_int_equal(pt_cpu_map_add(map_fds, &both), 0);	/* entries kept as they are */
	assert_int_equal(cpu_map_bits(), 3);
	assert_int_equal(pt_cpu_map_prune(map_fds, &zero), 0);
	assert_int_equal(cpu_map_bits(), 1);
	assert_int_equal(pt_cpu_map_prune(map_fds, &none), 0);
	assert_int_equal(cpu_map_bits(), 0);
	/* a CPU beyond the map: refused, the CPUs before it may have entries */
	assert_int_equal(pt_cpu_map_add(map_fds, &far), -ERANGE);
	assert_int_equal(pt_cpu_map_prune(map_fds, &none), 0);
	assert_int_equal(cpu_map_bits(), 0);
	memset(cpu_ready, 0, sizeof(cpu_ready));
	assert_int_equal(pt_map_walk(map_fds, M_XSK_SOCKS, -1, count_cpu, NULL), -EOPNOTSUPP);
	pt_compiled_free(&both);
	pt_compiled_free(&zero);
	pt_compiled_free(&none);
	pt_compiled_free(&far);
}

/* ---- random and mutated frames against the model ---- */

#define ROUNDS 8
#define VALID_PER_ROUND 20000
#define MUTATED_PER_ROUND 20000
#define ADVERSARIAL_PER_ROUND 130000	/* >= 10^6 adversarial frames a run */
#define BATCH 1000

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

struct round {
	struct pt_state st;
	struct gm_policy *pols;
	struct gm_slot *slots;
	struct gm_rules rules;
	struct gm_model *model;
	uint16_t ports[PT_NPROTO][512];
	size_t nports[PT_NPROTO];
	uint32_t max_slot;
	uint8_t gen;
};

static const uint16_t hot_ports[] = {
	0, 1, 22, 53, 80, 443, 1023, 1024, 3000, 8080, 9100, 49151, 49152, 60000, 65535,
};
#define N_HOT (sizeof(hot_ports) / sizeof(hot_ports[0]))

static uint16_t clamp16(long v)
{
	return (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
}

static void mask_prefix(uint8_t addr[16], uint8_t plen)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff00 >> (plen - 8 * i));
	}
}

static void random_prefix(struct rng *r, struct pt_prefix *p)
{
	static const uint8_t plen4[] = { 8, 15, 16, 20, 24, 28, 31, 32 };
	static const uint8_t plen6[] = { 16, 32, 40, 48, 56, 64, 100, 127, 128 };
	unsigned int i;

	memset(p, 0, sizeof(*p));
	switch (below(r, 10)) {
	case 0: case 1: case 2: case 3:
		p->family = PT_FAMILY_ANY;
		return;
	case 4: case 5: case 6:
		p->family = PT_INET;
		p->addr[0] = 198;
		p->addr[1] = (uint8_t)(18 + below(r, 2));
		p->addr[2] = (uint8_t)below(r, 4);
		p->addr[3] = (uint8_t)below(r, 256);
		p->plen = plen4[below(r, sizeof(plen4))];
		break;
	default:
		p->family = PT_INET6;
		p->addr[0] = 0x20;
		p->addr[1] = 0x01;
		p->addr[2] = 0x0d;
		p->addr[3] = 0xb8;
		p->addr[5] = (uint8_t)below(r, 4);
		for (i = 6; i < 16; i++)
			p->addr[i] = chance(r, 50) ? (uint8_t)rnd(r) : 0;
		p->plen = plen6[below(r, sizeof(plen6))];
		break;
	}
	mask_prefix(p->addr, p->plen);
}

static void add_port(struct round *rd, uint8_t proto, long port)
{
	if (port < 0 || port > 65535 || rd->nports[proto] >= 512)
		return;
	rd->ports[proto][rd->nports[proto]++] = (uint16_t)port;
}

/* A port range around a hot or random port, as wide as rules get. */
static void random_range(struct rng *r, uint16_t *lo, uint16_t *hi)
{
	long center = chance(r, 70) ? hot_ports[below(r, N_HOT)] : below(r, 65536);

	switch (below(r, 4)) {
	case 0:
		*lo = *hi = (uint16_t)center;
		break;
	case 1:
		*lo = clamp16(center - below(r, 8));
		*hi = clamp16(center + below(r, 8));
		break;
	case 2:
		*lo = clamp16(center - below(r, 3000));
		*hi = clamp16(center + below(r, 3000));
		break;
	default:
		*lo = 0;
		*hi = 65535;
		break;
	}
}

/* The services of the random rounds: kernel sockets, AF_XDP on the
 * interface the test runs come in on, AF_XDP on another interface. */
#define RND_XSK_OTHER_IFINDEX 999999

/*
 * Steering in a random rule set: up to 5 steer rules over CPUs 0-3 (only
 * CPU 0 has a cpu_map entry: the others pass uncounted, or are beyond the
 * map), and up to 6 bindings to the three services, with prefixes that
 * often hold the frames' destination.
 */
static void random_steering(struct rng *r, struct round *rd)
{
	static const char *const names[] = { "kern", "xsk-lo", "xsk-other" };
	static const char *const dsts[] = { "198.18.0.0/24", "198.18.0.1", "2001:db8::/32",
					    "2001:db8::1", "0.0.0.0/0" };
	uint32_t n, i;
	int err;

	for (i = 0; i < 3; i++) {
		assert_int_equal(pt_service_add(&rd->st, names[i], NULL), 0);
		rd->st.services[i].xsk_ifindex = i == 1 ? lo_ifindex()
					       : i == 2 ? RND_XSK_OTHER_IFINDEX : 0;
	}
	n = below(r, 6);
	for (i = 0; i < n; i++) {
		struct pt_steer sr = { .proto = (uint8_t)below(r, PT_NPROTO) };

		random_range(r, &sr.lo, &sr.hi);
		for (uint16_t c = 0; c < 4; c++)
			if (chance(r, 50))
				sr.cpus[sr.ncpus++] = c;
		if (!sr.ncpus)
			sr.cpus[sr.ncpus++] = (uint16_t)below(r, 4);
		err = pt_steer_set(&rd->st, &sr, NULL);
		if (err != -ERANGE)
			assert_int_equal(err, 0);
	}
	n = below(r, 7);
	for (i = 0; i < n; i++) {
		struct pt_binding b = { .proto = (uint8_t)below(r, PT_NPROTO),
					.service = below(r, 3) };

		random_range(r, &b.lo, &b.hi);
		if (chance(r, 50))
			assert_int_equal(pt_parse_prefix(dsts[below(r, 5)], &b.prefix), 0);
		else
			random_prefix(r, &b.prefix);
		err = pt_binding_set(&rd->st, &b, NULL);
		if (err != -ERANGE)
			assert_int_equal(err, 0);
	}
}

static void random_rules(struct rng *r, struct round *rd)
{
	/* a third of the configs have only allow rules (or none): the guard
	 * must then change nothing, unreadable frames included */
	bool allow_only = chance(r, 33);
	uint32_t n = allow_only && chance(r, 30) ? 0 : 4 + below(r, 28), i;
	int err;

	for (i = 0; i < n; i++) {
		struct pt_policy p = {};
		long center = hot_ports[below(r, N_HOT)];

		if (chance(r, 30))
			center = below(r, 65536);
		p.proto = (uint8_t)below(r, PT_NPROTO);
		switch (below(r, 20)) {
		case 0: case 1: case 2: case 3: case 4: case 5: case 6:
			p.lo = p.hi = (uint16_t)center;
			break;
		case 7: case 8: case 9: case 10: case 11:
			p.lo = clamp16(center - below(r, 8));
			p.hi = clamp16(center + below(r, 8));
			break;
		case 12:
			p.lo = 0;
			p.hi = 65535;
			break;
		default:
			p.lo = clamp16(center - below(r, 3000));
			p.hi = clamp16(center + below(r, 3000));
			break;
		}
		random_prefix(r, &p.from);
		p.action = allow_only ? PT_ALLOW : below(r, 4);
		if (p.action == PT_LIMIT)
			p.pps = 100000000 + below(r, 1000);	/* never runs out here */
		err = pt_policy_set(&rd->st, &p, NULL);
		if (err != -ERANGE)	/* a partial overlap is refused; nothing else may be */
			assert_int_equal(err, 0);
	}
	/* some rounds crowd one range with source prefixes: more than a
	 * policy_list holds, so the trie path runs too */
	if (chance(r, 40)) {
		struct pt_policy p = { .proto = (uint8_t)below(r, PT_NPROTO) };
		long center = hot_ports[below(r, N_HOT)];
		uint8_t family = (uint8_t)below(r, PT_NFAMILY);

		p.lo = clamp16(center - below(r, 4));
		p.hi = clamp16(center + below(r, 4));
		/* 6-17 prefixes of one family: a list (full or not) or the trie */
		for (n = 6 + below(r, 12), i = 0; i < n; i++) {
			do
				random_prefix(r, &p.from);
			while (p.from.family != family);
			p.action = allow_only ? PT_ALLOW : below(r, 3);
			err = pt_policy_set(&rd->st, &p, NULL);
			if (err != -ERANGE)
				assert_int_equal(err, 0);
		}
	}
	n = below(r, 8);
	for (i = 0; i < n; i++) {
		uint8_t proto = (uint8_t)below(r, PT_NPROTO);
		long lo = chance(r, 50) ? hot_ports[below(r, N_HOT)] : below(r, 65536);

		assert_int_equal(pt_watch_add(&rd->st, proto, (uint16_t)lo,
					      clamp16(lo + below(r, 4))), 0);
	}
	random_steering(r, rd);
}

/*
 * A random rule set, compiled into generation gen and made live the way
 * portier's commit does it: write the new generation (pt_gen_write), flip
 * config, then delete what the old one wrote (pt_gen_delete; port_table, an
 * array, is overwritten by the next write of that generation instead).
 * *live holds the compiled tables of the live generation (none when
 * ports is NULL) and is replaced by the new ones.
 */
static void round_make(struct rng *r, struct round *rd, uint8_t gen, struct pt_compiled *live)
{
	struct pt_compiled out = {};
	uint32_t *fresh = NULL;
	size_t nfresh = 0, i;

	memset(rd, 0, sizeof(*rd));
	rd->gen = gen;
	random_rules(r, rd);
	/* the services' interfaces, and a queue on CPU 0 only */
	xsk_meta_set(0, 0);
	xsk_meta_set(1, lo_ifindex());
	xsk_meta_set(2, RND_XSK_OTHER_IFINDEX);
	cpu_entry(0, true);
	if (bt_ncpus() > 1 && (cpu_ready[0] & 2))
		cpu_entry(1, false);
	assert_int_equal(pt_assign_slots(&rd->st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	write_gen(&rd->st, gen, &out);
	set_gen(gen);
	if (live->ports) {
		assert_int_equal(live->gen, gen ^ 1);
		assert_int_equal(pt_gen_delete(map_fds, NULL, live), 0);
	}
	pt_compiled_free(live);
	/* pt_gen_delete left nothing of the idle generation behind */
	assert_int_equal(count_gen(map_fds[M_POLICY_LPM], sizeof(struct pt_lpm_key),
				   offsetof(struct pt_lpm_key, gen), gen ^ 1), 0);
	assert_int_equal(count_gen(map_fds[M_POLICY_LPM], sizeof(struct pt_lpm_key),
				   offsetof(struct pt_lpm_key, gen), gen), out.npolicies);
	reset_buckets(map_fds[M_RATE_BUCKETS]);
	tables_are_table_rules = false;
	fprintf(stderr, "# round gen %u: %zu policies, %zu watches, %zu steers, %zu bindings, "
		"%zu slots -> %u+%u classes, %zu policy entries, %zu policy lists, %zu host "
		"bindings\n", gen,
		rd->st.npolicies, rd->st.nwatches, rd->st.nsteers, rd->st.nbindings, rd->st.nslots,
		out.nclasses[PT_TCP], out.nclasses[PT_UDP], out.npolicies, out.nlists, out.nhosts);
	*live = out;

	/* The same rules, as the model sees them. */
	rd->pols = calloc(rd->st.npolicies + 1, sizeof(*rd->pols));
	rd->slots = calloc(rd->st.nslots + 1, sizeof(*rd->slots));
	rd->model = malloc(sizeof(*rd->model));
	assert_non_null(rd->pols);
	assert_non_null(rd->slots);
	assert_non_null(rd->model);
	gm_rules_of(&rd->st, rd->pols, rd->slots, &rd->rules);
	rd->max_slot = PT_FIRST_FREE_SLOT - 1;
	for (i = 0; i < rd->st.npolicies; i++) {
		const struct pt_policy *p = &rd->st.policies[i];

		add_port(rd, p->proto, (long)p->lo - 1);
		add_port(rd, p->proto, p->lo);
		add_port(rd, p->proto, ((long)p->lo + p->hi) / 2);
		add_port(rd, p->proto, p->hi);
		add_port(rd, p->proto, (long)p->hi + 1);
	}
	for (i = 0; i < rd->st.nsteers; i++) {
		const struct pt_steer *x = &rd->st.steers[i];

		add_port(rd, x->proto, x->lo);
		add_port(rd, x->proto, x->hi);
	}
	for (i = 0; i < rd->st.nbindings; i++) {
		const struct pt_binding *b = &rd->st.bindings[i];

		add_port(rd, b->proto, b->lo);
		add_port(rd, b->proto, (long)b->hi + 1);
	}
	for (i = 0; i < rd->st.nslots; i++) {
		const struct pt_slot *s = &rd->st.slots[i];

		assert_true(s->slot < PT_MAX_SLOTS);
		if (s->slot > rd->max_slot)
			rd->max_slot = s->slot;
		add_port(rd, s->proto, s->lo);
		add_port(rd, s->proto, s->hi);
	}
	gm_init(rd->model, &rd->rules);
}

static void round_free(struct round *rd)
{
	gm_steering_free(&rd->rules);
	pt_state_free(&rd->st);
	free(rd->pols);
	free(rd->slots);
	free(rd->model);
}

static uint16_t random_port(struct rng *r, const struct round *rd, uint8_t proto)
{
	if (rd->nports[proto] && chance(r, 70))
		return rd->ports[proto][below(r, (uint32_t)rd->nports[proto])];
	if (chance(r, 20))
		return hot_ports[below(r, N_HOT)];
	return (uint16_t)below(r, 65536);
}

/* A source address: often inside (or just outside) a rule's prefix. */
static void random_source(struct rng *r, const struct round *rd, uint8_t family,
			  uint8_t addr[16])
{
	size_t i, tries;
	unsigned int alen = family == PT_INET ? 4 : 16;

	memset(addr, 0, 16);
	for (tries = 0; rd->st.npolicies && tries < 4 && chance(r, 80); tries++) {
		const struct pt_policy *p = &rd->st.policies[below(r, (uint32_t)rd->st.npolicies)];
		unsigned int bit;

		if (p->from.family != family)
			continue;
		for (i = 0; i < alen; i++)
			addr[i] = (uint8_t)rnd(r);
		for (bit = 0; bit < p->from.plen; bit++) {
			uint8_t m = (uint8_t)(0x80 >> (bit % 8));

			addr[bit / 8] = (uint8_t)((addr[bit / 8] & ~m) | (p->from.addr[bit / 8] & m));
		}
		if (p->from.plen && chance(r, 20)) {
			bit = below(r, p->from.plen);
			addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		}
		return;
	}
	for (i = 0; i < alen; i++)
		addr[i] = (uint8_t)rnd(r);
	if (chance(r, 50)) {
		if (family == PT_INET) {
			addr[0] = 198;
			addr[1] = (uint8_t)(18 + below(r, 2));
		} else {
			memcpy(addr, "\x20\x01\x0d\xb8", 4);
		}
	}
}

static int random_frame(struct rng *r, const struct round *rd, uint8_t *buf,
			struct pkt_layout *lay)
{
	static const uint8_t ext_types[] = { 0, 43, 44, 51, 60 };
	static const uint16_t other_types[] = { PKT_ETH_ARP, 0x88cc, 0x8847, 0x0042, 0x9000 };
	static const uint8_t dst4[16] = { 198, 18, 0, 1 };
	static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct pkt_spec s = {};
	unsigned int i, nvlan;
	uint32_t roll;
	uint8_t proto;

	roll = below(r, 100);
	nvlan = roll < 60 ? 0 : roll < 85 ? 1 : roll < 97 ? 2 : 3;
	for (i = 0; i < nvlan; i++)
		s.vlan[i] = chance(r, 50) ? PKT_ETH_8021Q : PKT_ETH_8021AD;

	roll = below(r, 100);
	if (roll < 8) {
		s.ethertype = other_types[below(r, sizeof(other_types) / sizeof(other_types[0]))];
		s.payload = (uint16_t)(28 + below(r, 40));
		return pkt_build(&s, buf, lay);
	}
	s.family = roll < 54 ? 4 : 6;

	roll = below(r, 100);
	s.l4 = roll < 45 ? IPPROTO_TCP : roll < 90 ? IPPROTO_UDP :
	       roll < 95 ? (s.family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) :
	       (uint8_t)below(r, 256);
	proto = s.l4 == IPPROTO_UDP ? PT_UDP : PT_TCP;
	s.dport = random_port(r, rd, proto);
	s.sport = (uint16_t)below(r, 65536);
	s.tcp_flags = chance(r, 50) ? (uint8_t)rnd(r) :
		      (chance(r, 50) ? PKT_TCP_SYN : PKT_TCP_ACK);
	if (chance(r, 30))
		s.tcp_opts = (uint8_t)(4 * below(r, 11));
	s.payload = chance(r, 30) ? 0 : (uint16_t)below(r, 300);
	random_source(r, rd, s.family == 4 ? PT_INET : PT_INET6, s.saddr);
	memcpy(s.daddr, s.family == 4 ? dst4 : dst6, 16);

	if (s.family == 4) {
		if (chance(r, 25))
			s.ip_opts = (uint8_t)(4 * below(r, 11));
		roll = below(r, 100);
		if (roll < 8) {
			s.frag_off = (uint16_t)(1 + below(r, 0x1fff));
			s.mf = chance(r, 50);
		} else if (roll < 14) {
			s.mf = true;
		}
	} else if (chance(r, 40)) {
		s.next = (uint8_t)(1 + below(r, chance(r, 80) ? 3 : 10));
		for (i = 0; i < s.next; i++) {
			struct pkt_ext *e = &s.ext[i];

			e->type = ext_types[below(r, sizeof(ext_types))];
			e->hdrlen = (uint8_t)below(r, 4);
			if (e->type == IPPROTO_FRAGMENT) {
				e->frag_off = chance(r, 70) ? 0 : (uint16_t)(1 + below(r, 0x1fff));
				e->more = chance(r, 50);
			}
		}
	}
	if (chance(r, 15))
		s.pad_to = 60;
	return pkt_build(&s, buf, lay);
}

/*
 * Adversarial frames: what a guard that cannot read must not pass.
 *  - one datagram cut into fragments of every size and offset, first
 *    fragments tiny (0..28 bytes of L4) or whole, later ones at any
 *    offset (1 included), overlapping, duplicated, out of order, some
 *    never sent; both families, with and without VLAN tags;
 *  - IPv6 header chains of 0..40 extension headers, fragment headers
 *    among them;
 *  - stacks of 0..12 VLAN tags before IP and non-IP.
 * The frames of one datagram share (source, destination, id), drawn from
 * a small set so that datagrams also collide. Returns the number of frames
 * written to out[] (at most ADV_MAX).
 */
#define ADV_MAX 12

static void adv_base(struct rng *r, const struct round *rd, struct pkt_spec *s)
{
	static const uint8_t dst4[16] = { 198, 18, 0, 1 };
	static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	unsigned int i, nvlan = chance(r, 70) ? 0 : below(r, 4);

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nvlan; i++)
		s->vlan[i] = chance(r, 50) ? PKT_ETH_8021Q : PKT_ETH_8021AD;
	s->family = chance(r, 50) ? 4 : 6;
	s->l4 = chance(r, 50) ? IPPROTO_TCP : chance(r, 85) ? IPPROTO_UDP : IPPROTO_ICMP;
	s->dport = random_port(r, rd, s->l4 == IPPROTO_UDP ? PT_UDP : PT_TCP);
	s->sport = (uint16_t)below(r, 65536);
	s->tcp_flags = chance(r, 60) ? PKT_TCP_SYN : (uint8_t)rnd(r);
	if (chance(r, 40))
		s->tcp_opts = (uint8_t)(4 * below(r, 11));
	s->payload = (uint16_t)below(r, 120);
	/* few sources and ids: datagrams collide */
	if (chance(r, 50) && rd->st.npolicies)
		random_source(r, rd, s->family == 4 ? PT_INET : PT_INET6, s->saddr);
	else if (s->family == 4)
		memcpy(s->saddr, (const uint8_t[4]){ 198, 19, 0, (uint8_t)below(r, 4) }, 4);
	else
		memcpy(s->saddr, (const uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, 0, 2,
						       [15] = (uint8_t)below(r, 4) }, 16);
	memcpy(s->daddr, s->family == 4 ? dst4 : dst6, 16);
	s->ip_id = 1 + below(r, 8);
}

/* Copy the datagram's L2+L3 headers and L4 bytes [from, from + n) of full
 * into out as a fragment at offset from / 8. IPv6: full's last extension
 * header is its fragment header. */
static size_t adv_fragment(const uint8_t *full, const struct pkt_layout *lay, uint8_t family,
			   size_t from, size_t n, bool more, uint8_t *out)
{
	size_t hdr = lay->l4, l4len = lay->end - lay->l4, i;
	uint16_t off8 = (uint16_t)(from / 8);

	memcpy(out, full, hdr);
	for (i = 0; i < n && hdr + i < PKT_MAX; i++)
		out[hdr + i] = from + i < l4len ? full[hdr + from + i] : (uint8_t)(0xa5 ^ i);
	if (family == 4) {
		out[lay->l3 + 2] = (uint8_t)((hdr - lay->l3 + n) >> 8);
		out[lay->l3 + 3] = (uint8_t)(hdr - lay->l3 + n);
		out[lay->l3 + 6] = (uint8_t)((more ? 0x20 : 0) | (off8 >> 8));
		out[lay->l3 + 7] = (uint8_t)off8;
	} else {
		size_t plen = hdr - lay->l3 - 40 + n;
		uint16_t fo = (uint16_t)(off8 << 3 | (more ? 1 : 0));

		out[lay->l3 + 4] = (uint8_t)(plen >> 8);
		out[lay->l3 + 5] = (uint8_t)plen;
		out[hdr - 8 + 2] = (uint8_t)(fo >> 8);
		out[hdr - 8 + 3] = (uint8_t)fo;
	}
	return hdr + n;
}

static int adv_fragments(struct rng *r, const struct round *rd, uint8_t out[][PKT_MAX],
			 size_t *lens)
{
	static const uint8_t ext_types[] = { 0, 43, 51, 60 };
	struct pkt_spec s;
	struct pkt_layout lay;
	uint8_t full[PKT_MAX];
	size_t l4len, first, i, n = 0, k;
	int len;

	adv_base(r, rd, &s);
	if (s.family == 4) {
		s.mf = true;
		if (chance(r, 20))
			s.ip_opts = (uint8_t)(4 * below(r, 11));
	} else {
		s.next = (uint8_t)below(r, 4);
		for (i = 0; i < s.next; i++)
			s.ext[i] = (struct pkt_ext){ .type = ext_types[below(r, 4)],
						     .hdrlen = (uint8_t)below(r, 3) };
		s.ext[s.next++] = (struct pkt_ext){ .type = IPPROTO_FRAGMENT, .more = true };
	}
	len = pkt_build(&s, full, &lay);
	assert_true(len > 0);
	l4len = lay.end - lay.l4;

	/* the first fragment: tiny, cut anywhere, or whole */
	switch (below(r, 4)) {
	case 0:
		first = 8 * (1 + below(r, 3));		/* 8, 16, 24 */
		break;
	case 1:
		first = below(r, 29);			/* 0..28, any byte */
		break;
	default:
		first = 8 * ((l4len + 7) / 8);		/* all of it, rounded up */
		if (first > 8 && chance(r, 50))
			first = 8 * (3 + below(r, (uint32_t)(first / 8 - 2)));
		break;
	}
	if (chance(r, 90))
		lens[n] = adv_fragment(full, &lay, s.family, 0, first, true, out[n]), n++;
	/* later fragments: the rest in pieces, plus overlaps and offset 1 */
	for (size_t at = first ? 8 * ((first + 7) / 8) : 8; at < l4len + 16 && n < ADV_MAX - 3;) {
		size_t size = 8 * (1 + below(r, 6));
		bool last = at + size >= l4len;

		if (chance(r, 85))
			lens[n] = adv_fragment(full, &lay, s.family, at, size, !last, out[n]), n++;
		at += size;
	}
	for (k = below(r, 4); k > 0 && n < ADV_MAX; k--) {
		size_t at = chance(r, 30) ? 8 : 8 * below(r, (uint32_t)(l4len / 8 + 3));

		lens[n] = adv_fragment(full, &lay, s.family, at, 8 * (1 + below(r, 4)),
				       chance(r, 70), out[n]);
		n++;
	}
	/* out of order */
	for (i = n; i > 1; i--) {
		uint8_t tmp[PKT_MAX];
		size_t j = below(r, (uint32_t)i), tl;

		if (!chance(r, 30))
			continue;
		memcpy(tmp, out[i - 1], PKT_MAX);
		memcpy(out[i - 1], out[j], PKT_MAX);
		memcpy(out[j], tmp, PKT_MAX);
		tl = lens[i - 1];
		lens[i - 1] = lens[j];
		lens[j] = tl;
	}
	return (int)n;
}

/* One frame: an IPv6 chain of 0..40 headers, or a stack of 0..12 tags. */
static int adv_chain(struct rng *r, const struct round *rd, uint8_t *buf)
{
	static const uint8_t ext_types[] = { 0, 43, 44, 51, 60, 60, 60 };
	struct pkt_spec s;
	unsigned int i, n;

	adv_base(r, rd, &s);
	if (chance(r, 50)) {
		s.family = 6;
		s.l4 = chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP;
		n = chance(r, 50) ? 6 + below(r, 6) : below(r, 41);
		s.next = (uint8_t)n;
		for (i = 0; i < n; i++) {
			struct pkt_ext *e = &s.ext[i];

			e->type = ext_types[below(r, sizeof(ext_types))];
			e->hdrlen = (uint8_t)below(r, 2);
			if (e->type == IPPROTO_FRAGMENT) {
				e->frag_off = chance(r, 70) ? 0 : (uint16_t)below(r, 3);
				e->more = chance(r, 70);
			}
		}
		if (chance(r, 20))
			s.plen6 = (uint16_t)(8 * below(r, 60));
	} else {
		memset(s.vlan, 0, sizeof(s.vlan));
		n = below(r, PKT_MAX_VLAN + 1);
		for (i = 0; i < n; i++)
			s.vlan[i] = chance(r, 60) ? PKT_ETH_8021Q : PKT_ETH_8021AD;
		if (chance(r, 20)) {
			s.family = 0;
			s.ethertype = chance(r, 50) ? PKT_ETH_ARP : 0x88cc;
			s.payload = 28;
		}
		if (chance(r, 10)) {
			s.cut_layer = PKT_L2;
			s.cut_len = (uint16_t)(14 + 4 * below(r, n + 1));
		}
	}
	return pkt_build(&s, buf, NULL);
}

/* Damage a valid frame: cut it, flip header bytes, rewrite a length field,
 * or append junk. */
/*
 * A length one step either side of where the guard's readers change their
 * mind: the IP packet's length against the frame (exactly the frame, one
 * byte more, a few less), against the upper-layer header (exactly a UDP or
 * TCP header, one byte less), and the TCP header's own length against what
 * the packet holds. Random bytes seldom land on these; the common-frame
 * reader (pt_parse_fast) and the full parser must agree on every one.
 */
static void mutate_boundary(struct rng *r, uint8_t *buf, size_t len, const struct pkt_layout *lay)
{
	size_t l3 = lay->l3, l4 = lay->l4, ip_len;
	long want;
	int v4;

	if (l3 + 40 > len || l4 >= len)
		return;
	v4 = (buf[l3] >> 4) == 4;
	ip_len = len - l3;			/* the IP packet fills the frame */
	switch (below(r, 4)) {
	case 0:		/* the IP length: the frame, one more, up to 8 fewer */
		want = (long)ip_len + 1 - (long)below(r, 10);
		break;
	case 1:		/* exactly the upper-layer header, or one byte short */
		want = (long)(l4 - l3) + (chance(r, 50) ? 8 : 20) - (long)below(r, 2);
		break;
	case 2:		/* the TCP data offset around what the packet holds */
		if (l4 + 13 > len)
			return;
		want = ((long)(len - l4) / 4 + (long)below(r, 3) - 1);
		if (want < 0)
			want = 0;
		buf[l4 + 12] = (uint8_t)((buf[l4 + 12] & 0x0f) | ((want & 0x0f) << 4));
		return;
	default:	/* a VLAN tag's EtherType where the IP one was, or back */
		if (l3 >= 16 && buf[l3 - 4] == 0x81)
			buf[l3 - 2] ^= 0x01;	/* 0x0800 -> 0x0801, 0x86dd -> 0x86dc */
		return;
	}
	if (want < 0)
		want = 0;
	if (!v4)
		want -= 40;			/* the payload length */
	if (want < 0)
		want = 0;
	buf[l3 + (v4 ? 2 : 4)] = (uint8_t)(want >> 8);
	buf[l3 + (v4 ? 3 : 5)] = (uint8_t)want;
}

static size_t mutate(struct rng *r, uint8_t *buf, size_t len, const struct pkt_layout *lay)
{
	size_t hdr_end = lay->l4 + 24 < len ? lay->l4 + 24 : len, off;
	unsigned int i, n;

	switch (below(r, 12)) {
	case 9: case 10:
		mutate_boundary(r, buf, len, lay);
		return len;
	case 0: case 1: case 2:
		/* Not below 14 bytes: no XDP program sees those. */
		return len <= 14 ? len : 14 + below(r, (uint32_t)len - 14 + 1);
	case 3: case 4: case 5: case 6:
		n = 1 + below(r, 4);
		for (i = 0; i < n && hdr_end; i++) {
			off = below(r, (uint32_t)hdr_end);
			if (chance(r, 50))
				buf[off] ^= (uint8_t)(1u << below(r, 8));
			else
				buf[off] = (uint8_t)rnd(r);
		}
		return len;
	case 7: case 8: {
		/* A length or version field: IPv4 ver/ihl, total length,
		 * IPv6 payload length, an upper-layer or extension length. */
		size_t fields[] = { lay->l3, lay->l3 + 2, lay->l3 + 3, lay->l3 + 4, lay->l3 + 5,
				    lay->l3 + 41, lay->l4 + 12, lay->l4 + 1 };

		off = fields[below(r, sizeof(fields) / sizeof(fields[0]))];
		if (off < len)
			buf[off] = (uint8_t)rnd(r);
		return len;
	}
	default:
		n = below(r, 64);
		for (i = 0; i < n && len < PKT_MAX; i++)
			buf[len++] = (uint8_t)rnd(r);
		return len;
	}
}

/* The whole random run: counters the model expects, since the start. */
struct fuzz {
	uint64_t seed;
	struct pt_counters *base;	/* PT_MAX_SLOTS, at the start */
	struct pt_counters *want;	/* PT_MAX_SLOTS, deltas since the start */
	struct pt_global gbase, gwant;
	uint8_t (*frames)[PKT_MAX];	/* the current block */
	size_t *lens;
	size_t nblock;
	size_t index;			/* frames run so far */
	size_t kinds[GM_NKINDS];	/* what the frames were */
	size_t dropped;
	size_t to_cpu, fallback;	/* steered to a CPU; AF_XDP fallbacks */
};

static void add_counters(struct pt_counters *a, const struct pt_counters *d)
{
	a->packets += d->packets;
	a->bytes += d->bytes;
	a->dropped += d->dropped;
	a->limited += d->limited;
	a->xsk += d->xsk;
	a->cpu += d->cpu;
	a->fallback += d->fallback;
}

static void add_global(struct pt_global *a, const struct pt_global *d)
{
	a->malformed += d->malformed;
	a->fragments += d->fragments;
	a->other += d->other;
	a->unreadable += d->unreadable;
}

static void report_frame(const struct fuzz *fz, size_t index, const uint8_t *frame, size_t len,
			 const struct gm_result *r)
{
	fprintf(stderr, "# MISMATCH seed=%llu frame=%zu len=%zu (replay: PORTIER_SEED=%llu)\n",
		(unsigned long long)fz->seed, index, len, (unsigned long long)fz->seed);
	fprintf(stderr, "# model: %s verdict=%s", gm_kind_name(r->kind), verdict_name(r->verdict));
	if (GM_HAS_SLOT(r->kind))
		fprintf(stderr, " %s dport=%u family=%u flags=0x%02x policy=%ld slot=%u",
			r->proto == PT_TCP ? "tcp" : "udp", r->dport, r->family, r->tcp_flags,
			r->policy, r->slot);
	if (r->steer >= 0 || r->bind >= 0)
		fprintf(stderr, " steer=%ld cpu=%d bind=%ld sport=%u", r->steer, r->cpu, r->bind,
			r->sport);
	fprintf(stderr, "\n");
	pkt_hexdump(frame, len);
}

/* Do the counters since the start match the model's? Slots up to
 * max_slot, or all of them. Returns the number of mismatches. */
static int fuzz_check_counters(struct fuzz *fz, uint32_t max_slot, bool quiet)
{
	struct pt_counters now, got;
	struct pt_global g, gd;
	uint32_t s;
	int bad = 0;
	char name[64];

	snprintf(name, sizeof(name), "random (seed %llu)", (unsigned long long)fz->seed);
	for (s = 0; s <= max_slot && s < PT_MAX_SLOTS; s++) {
		read_slot(s, &now);
		got.packets = now.packets - fz->base[s].packets;
		got.bytes = now.bytes - fz->base[s].bytes;
		got.dropped = now.dropped - fz->base[s].dropped;
		got.limited = now.limited - fz->base[s].limited;
		got.steered = now.steered - fz->base[s].steered;
		got.no_socket = now.no_socket - fz->base[s].no_socket;
		got.xsk = now.xsk - fz->base[s].xsk;
		got.cpu = now.cpu - fz->base[s].cpu;
		got.fallback = now.fallback - fz->base[s].fallback;
		if (quiet)
			bad += memcmp(&got, &fz->want[s], sizeof(got)) != 0;
		else
			bad += expect_counters(name, s, &got, &fz->want[s]);
	}
	read_global(&g);
	gd.malformed = g.malformed - fz->gbase.malformed;
	gd.fragments = g.fragments - fz->gbase.fragments;
	gd.other = g.other - fz->gbase.other;
	gd.unreadable = g.unreadable - fz->gbase.unreadable;
	if (quiet)
		bad += gd.malformed != fz->gwant.malformed || gd.fragments != fz->gwant.fragments ||
		       gd.other != fz->gwant.other || gd.unreadable != fz->gwant.unreadable;
	else
		bad += expect_globals(name, &gd, &fz->gwant);
	return bad;
}

/* Empty the guard's frag_table and the model's: each block of frames
 * starts from none, so the kernel's LRU (PT_MAX_FRAGS) never fills and
 * never evicts what the model keeps. */
static void fragments_forget(struct round *rd)
{
	clear_map(fd_of(skel->maps.frag_table), sizeof(struct pt_frag_key));
	gm_forget_fragments(rd->model);
}

/* A block's counters disagree: replay it frame by frame to name one. */
static void fuzz_find_culprit(struct fuzz *fz, struct round *rd)
{
	struct pt_counters before, after;
	struct pt_global gb, ga;
	struct gm_result r;
	uint32_t verdict;
	size_t i;

	/* every block starts with no first fragments remembered */
	fragments_forget(rd);
	for (i = 0; i < fz->nblock; i++) {
		gm_run(rd->model, fz->frames[i], fz->lens[i], &r);
		read_slot(r.slot, &before);
		read_global(&gb);
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard),
					    fz->frames[i], fz->lens[i], &verdict), 0);
		read_slot(r.slot, &after);
		read_global(&ga);
		if ((GM_HAS_SLOT(r.kind) &&
		     (after.packets - before.packets != 1 ||
		      after.bytes - before.bytes != fz->lens[i] ||
		      after.dropped - before.dropped != r.slot_delta.dropped ||
		      after.limited - before.limited != r.slot_delta.limited ||
		      after.xsk - before.xsk != r.slot_delta.xsk ||
		      after.cpu - before.cpu != r.slot_delta.cpu ||
		      after.fallback - before.fallback != r.slot_delta.fallback)) ||
		    ga.malformed - gb.malformed != r.global_delta.malformed ||
		    ga.fragments - gb.fragments != r.global_delta.fragments ||
		    ga.other - gb.other != r.global_delta.other ||
		    ga.unreadable - gb.unreadable != r.global_delta.unreadable) {
			report_frame(fz, fz->index - fz->nblock + i, fz->frames[i], fz->lens[i], &r);
			fprintf(stderr, "# guard moved: slot %u +%llu packets +%llu dropped "
				"+%llu limited +%llu xsk +%llu cpu +%llu fallback; malformed +%llu "
				"fragments +%llu other +%llu unreadable +%llu\n",
				r.slot, (unsigned long long)(after.packets - before.packets),
				(unsigned long long)(after.dropped - before.dropped),
				(unsigned long long)(after.limited - before.limited),
				(unsigned long long)(after.xsk - before.xsk),
				(unsigned long long)(after.cpu - before.cpu),
				(unsigned long long)(after.fallback - before.fallback),
				(unsigned long long)(ga.malformed - gb.malformed),
				(unsigned long long)(ga.fragments - gb.fragments),
				(unsigned long long)(ga.other - gb.other),
				(unsigned long long)(ga.unreadable - gb.unreadable));
			return;
		}
	}
	fprintf(stderr, "# seed=%llu: the block ending at frame %zu disagrees, no single frame does\n",
		(unsigned long long)fz->seed, fz->index);
}

static void fuzz_end_block(struct fuzz *fz, struct round *rd)
{
	if (fuzz_check_counters(fz, rd->max_slot, true)) {
		fuzz_check_counters(fz, rd->max_slot, false);
		fuzz_find_culprit(fz, rd);
		fail_msg("random: counters disagree with the model (seed %llu)",
			 (unsigned long long)fz->seed);
	}
	fz->nblock = 0;
	fragments_forget(rd);
}

static void fuzz_one(struct fuzz *fz, struct round *rd, const uint8_t *frame, size_t len)
{
	struct gm_result r;
	uint32_t verdict;

	assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard), frame, len,
				    &verdict), 0);
	gm_run(rd->model, frame, len, &r);
	if (verdict != r.verdict) {
		report_frame(fz, fz->index, frame, len, &r);
		fprintf(stderr, "# guard verdict: %s\n", verdict_name(verdict));
		fail_msg("random: verdict disagrees with the model (seed %llu, frame %zu)",
			 (unsigned long long)fz->seed, fz->index);
	}
	fz->kinds[r.kind]++;
	fz->dropped += r.verdict == XDP_DROP;
	fz->to_cpu += r.slot_delta.cpu;
	fz->fallback += r.slot_delta.fallback;
	if (GM_HAS_SLOT(r.kind))
		add_counters(&fz->want[r.slot], &r.slot_delta);
	add_global(&fz->gwant, &r.global_delta);
	memcpy(fz->frames[fz->nblock], frame, len);
	fz->lens[fz->nblock++] = len;
	fz->index++;
	if (fz->nblock == BATCH)
		fuzz_end_block(fz, rd);
}

static uint64_t fuzz_seed(void)
{
	const char *env = getenv("PORTIER_SEED");
	struct timespec ts;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

static void test_random(void **state)
{
	struct fuzz fz = {};
	struct pt_compiled live = {};
	struct rng r;
	struct round rd;
	struct pkt_layout lay;
	uint8_t buf[PKT_MAX];
	static uint8_t adv[ADV_MAX][PKT_MAX];
	size_t adv_len[ADV_MAX];
	struct timespec t0, t1;
	uint32_t s;
	int ri, i, len;

	REQUIRE_GUARD();
	fz.seed = fuzz_seed();
	r.s = fz.seed ? fz.seed : 1;
	fprintf(stderr, "# random: seed=%llu (PORTIER_SEED=%llu replays this run)\n",
		(unsigned long long)fz.seed, (unsigned long long)fz.seed);
	fz.base = calloc(PT_MAX_SLOTS, sizeof(*fz.base));
	fz.want = calloc(PT_MAX_SLOTS, sizeof(*fz.want));
	fz.frames = calloc(BATCH, sizeof(*fz.frames));
	fz.lens = calloc(BATCH, sizeof(*fz.lens));
	assert_non_null(fz.base);
	assert_non_null(fz.want);
	assert_non_null(fz.frames);
	assert_non_null(fz.lens);
	for (s = 0; s < PT_MAX_SLOTS; s++)
		read_slot(s, &fz.base[s]);
	read_global(&fz.gbase);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	reset_tables();
	for (ri = 0; ri < ROUNDS; ri++) {
		round_make(&r, &rd, (uint8_t)((ri + 1) & 1), &live);
		for (i = 0; i < VALID_PER_ROUND; i++) {
			len = random_frame(&r, &rd, buf, &lay);
			assert_true(len > 0);
			fuzz_one(&fz, &rd, buf, (size_t)len);
		}
		for (i = 0; i < MUTATED_PER_ROUND; i++) {
			len = random_frame(&r, &rd, buf, &lay);
			assert_true(len > 0);
			len = (int)mutate(&r, buf, (size_t)len, &lay);
			fuzz_one(&fz, &rd, buf, (size_t)len);
		}
		for (i = 0; i < ADVERSARIAL_PER_ROUND;) {
			if (chance(&r, 70)) {
				int k, nf = adv_fragments(&r, &rd, adv, adv_len);

				for (k = 0; k < nf; k++)
					fuzz_one(&fz, &rd, adv[k], adv_len[k]);
				i += nf;
			} else {
				len = adv_chain(&r, &rd, buf);
				assert_true(len > 0);
				fuzz_one(&fz, &rd, buf, (size_t)len);
				i++;
			}
		}
		fuzz_end_block(&fz, &rd);
		round_free(&rd);
	}
	pt_compiled_free(&live);
	/* Nothing was counted anywhere the model did not expect. */
	if (fuzz_check_counters(&fz, PT_MAX_SLOTS - 1, false))
		fail_msg("random: counters outside the rule sets' slots moved (seed %llu)",
			 (unsigned long long)fz.seed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# random: %zu frames (%d rule sets, %d adversarial) in %.2f s: "
		"%zu policed (%zu dropped), %zu malformed, %zu fragments, %zu fragments of a "
		"port, %zu unreadable, %zu other; %zu steered to a CPU, %zu AF_XDP fallbacks\n",
		fz.index, ROUNDS,
		ROUNDS * ADVERSARIAL_PER_ROUND,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		fz.kinds[GM_POLICED], fz.dropped, fz.kinds[GM_MALFORMED], fz.kinds[GM_FRAGMENT],
		fz.kinds[GM_FRAG_PORT], fz.kinds[GM_UNREADABLE], fz.kinds[GM_OTHER], fz.to_cpu,
		fz.fallback);
	free(fz.base);
	free(fz.want);
	free(fz.frames);
	free(fz.lens);
}

/* ---- the program itself ---- */

/* The program's section, and the run config libxdp reads from it: run
 * at priority 20, let the chain go on after XDP_PASS only. */
static void test_program_shape(void **state)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .prog_name = "portier_guard");
	struct xdp_program *prog;
	long err;

	REQUIRE_GUARD();
	assert_int_equal(bpf_program__type(skel->progs.portier_guard), BPF_PROG_TYPE_XDP);
	assert_string_equal(bpf_program__section_name(skel->progs.portier_guard), "xdp");

	opts.obj = skel->obj;
	prog = xdp_program__create(&opts);
	err = libxdp_get_error(prog);
	if (err)
		fail_msg("libxdp does not take the guard: %s", strerror((int)-err));
	assert_int_equal(xdp_program__run_prio(prog), 20);
	assert_true(xdp_program__chain_call_enabled(prog, XDP_PASS));
	assert_false(xdp_program__chain_call_enabled(prog, XDP_DROP));
	xdp_program__close(prog);	/* the object stays the skeleton's */
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t n = 0, i;
	int ret;

	/* the table's cases and up to 32 named tests */
	tests = calloc(N_CASES + 32, sizeof(*tests));
	if (!tests)
		return 1;
	tests[n++] = (struct CMUnitTest){ .name = "program_shape", .test_func = test_program_shape };
	for (i = 0; i < N_CASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)(uintptr_t)&cases[i],
		};
	tests[n++] = (struct CMUnitTest){ .name = "fragment_sequences",
					  .test_func = test_fragment_sequences };
	tests[n++] = (struct CMUnitTest){ .name = "unreadable_needs_a_non_allow_rule",
					  .test_func = test_unreadable_needs_a_rule };
	tests[n++] = (struct CMUnitTest){ .name = "config_gen_selects_tables",
					  .test_func = test_config_gen };
	tests[n++] = (struct CMUnitTest){ .name = "port_table_written_whole",
					  .test_func = test_port_table_written };
	tests[n++] = (struct CMUnitTest){ .name = "port_table_entries",
					  .test_func = test_port_table_entries };
	tests[n++] = (struct CMUnitTest){ .name = "policy_lpm_only_with_from_flag",
					  .test_func = test_policy_lpm_only_with_from };
	tests[n++] = (struct CMUnitTest){ .name = "limit_refill", .test_func = test_limit_refill };
	tests[n++] = (struct CMUnitTest){ .name = "limit_bucket_per_port",
					  .test_func = test_limit_bucket_per_port };
	tests[n++] = (struct CMUnitTest){ .name = "limit_two_cpus",
					  .test_func = test_limit_two_cpus };
	tests[n++] = (struct CMUnitTest){ .name = "limit_set_full_fails_closed",
					  .test_func = test_limit_set_full_fails_closed };
	tests[n++] = (struct CMUnitTest){ .name = "limit_set_reclaimed_after_1s",
					  .test_func = test_limit_set_reclaimed_after_1s };
	tests[n++] = (struct CMUnitTest){ .name = "limit_flood_reads_only",
					  .test_func = test_limit_flood_reads_only };
	tests[n++] = (struct CMUnitTest){ .name = "limit_two_ports_one_set",
					  .test_func = test_limit_two_ports_one_set };
	tests[n++] = (struct CMUnitTest){ .name = "limit_seed_drawn",
					  .test_func = test_limit_seed_drawn };
	tests[n++] = (struct CMUnitTest){ .name = "model_agrees_with_table",
					  .test_func = test_model_table };
	tests[n++] = (struct CMUnitTest){ .name = "steer_cases", .test_func = test_steer_cases };
	tests[n++] = (struct CMUnitTest){ .name = "steer_which_cpu",
					  .test_func = test_steer_which_cpu };
	tests[n++] = (struct CMUnitTest){ .name = "cpu_map_add_prune",
					  .test_func = test_cpu_map_add_prune };
	tests[n++] = (struct CMUnitTest){ .name = "xsk_filled_slot_redirects",
					  .test_func = test_xsk_filled_slot };
	tests[n++] = (struct CMUnitTest){ .name = "random_and_mutated_vs_model",
					  .test_func = test_random };
	ret = _cmocka_run_group_tests("guard", tests, n, NULL, NULL);
	if (skel)
		guard__destroy(skel);
	pt_compiled_free(&tbl_comp);
	pt_state_free(&tbl_st);
	pt_state_free(&decoy_st);
	free(tests);
	return ret;
}
