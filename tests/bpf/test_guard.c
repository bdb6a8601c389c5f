// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The guard (bpf/guard.bpf.c) under BPF_PROG_TEST_RUN.
 *
 * 1. A table of cases {name, frame, verdict, counters}: one hand-written
 *    rule set is put in the maps directly (not through the compiler), and
 *    each case checks the verdict, the counters of the slot it must move,
 *    that no other slot moved, and the global counters, exactly.
 * 2. The token bucket over time and under two CPUs.
 * 3. The reference model (guard_model.c) against the same table, then
 *    against the program on random and mutated frames over random rule
 *    sets compiled by pt_compile(): verdict of every frame, counter deltas
 *    per block of frames. PT_SEED=N replays a run.
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
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <cmocka.h>

#include "portier.h"
#include "model.h"
#include "guard.skel.h"
#include "bpftest.h"
#include "guard_model.h"
#include "pkt.h"

#define NWORDS(type) (sizeof(type) / sizeof(uint64_t))

/* ---- the loaded program ---- */

static struct guard *skel;
static int skel_err;
static bool tables_are_table_rules;

static struct guard *guard_env(void)
{
	int err;

	if (skel || skel_err)
		return skel;
	bt_libbpf_quiet();
	skel = guard__open();
	if (!skel) {
		skel_err = errno ? -errno : -EINVAL;
		fprintf(stderr, "# guard: open failed: %s\n", strerror(-skel_err));
		return NULL;
	}
	err = bt_unpin_maps(skel->obj);
	if (!err)
		err = guard__load(skel);
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

/* Delete every key whose generation byte (at gen_off) is not keep. */
static void purge_gen(int fd, size_t key_size, size_t gen_off, uint8_t keep)
{
	uint8_t *keys = NULL, cur[64], next[64];
	size_t n = 0, cap = 0, i;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (next[gen_off] != keep) {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				keys = realloc(keys, cap * key_size);
				assert_non_null(keys);
			}
			memcpy(keys + n * key_size, next, key_size);
			n++;
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	for (i = 0; i < n; i++)
		assert_int_equal(bpf_map_delete_elem(fd, keys + i * key_size), 0);
	free(keys);
}

static void clear_tables(void)
{
	clear_map(fd_of(skel->maps.port_class), sizeof(struct pt_class_key));
	clear_map(fd_of(skel->maps.policy_lpm), sizeof(struct pt_lpm_key));
	clear_map(fd_of(skel->maps.port_slots), sizeof(struct pt_port_key));
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
	tables_are_table_rules = false;
}

static void set_gen(uint8_t gen)
{
	struct pt_config cfg = { .abi = PT_ABI_VERSION, .gen = gen, .serial = 1 };
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.config), &zero, &cfg, BPF_ANY), 0);
}

/* port_class entries for [lo, hi]: its cover by aligned blocks. */
static void put_class(uint8_t gen, uint8_t proto, uint16_t lo, uint16_t hi, uint32_t class)
{
	uint32_t p = lo;

	while (p <= hi) {
		unsigned int k = 0;
		struct pt_class_key key = { .gen = gen, .proto = proto };

		while (k < 16 && !(p & ((2u << k) - 1)) && p + (2u << k) - 1 <= hi)
			k++;
		key.prefixlen = PT_CLASS_KEY_BITS - k;
		key.port = htons((uint16_t)p);
		assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.port_class), &key, &class,
						     BPF_ANY), 0);
		p += 1u << k;
	}
}

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

/* One policy_lpm entry per family the prefix covers. */
static void put_policy(uint8_t gen, uint8_t proto, uint32_t class, const char *from,
		       const struct pt_policy_val *val)
{
	uint8_t family, plen, addr[16];
	int f;

	assert_int_equal(parse_prefix(from, &family, addr, &plen), 0);
	for (f = 0; f < PT_NFAMILY; f++) {
		struct pt_lpm_key key = {
			.gen = gen, .proto = proto, .family = (uint8_t)f,
			.class = htonl(class),
		};

		if (family != GM_FAMILY_ANY && family != f)
			continue;
		key.prefixlen = PT_LPM_KEY_BITS + plen;
		memcpy(key.addr, addr, 16);
		assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.policy_lpm), &key, val,
						     BPF_ANY), 0);
	}
}

static void put_port(uint8_t gen, uint8_t proto, uint16_t port, uint32_t slot)
{
	struct pt_port_key key = { .gen = gen, .proto = proto, .port = port };

	assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.port_slots), &key, &slot, BPF_ANY), 0);
}

/* ---- the table's rule set ---- */

enum {
	S_TCP_WK = PT_CLASS_SLOT(PT_TCP, PT_CLASS_WELL_KNOWN),
	S_TCP_REG = PT_CLASS_SLOT(PT_TCP, PT_CLASS_REGISTERED),
	S_TCP_EPH = PT_CLASS_SLOT(PT_TCP, PT_CLASS_EPHEMERAL),
	S_UDP_WK = PT_CLASS_SLOT(PT_UDP, PT_CLASS_WELL_KNOWN),
	S_UDP_REG = PT_CLASS_SLOT(PT_UDP, PT_CLASS_REGISTERED),
	S_UDP_EPH = PT_CLASS_SLOT(PT_UDP, PT_CLASS_EPHEMERAL),
	S_TCP9100 = 10,		/* watched */
	S_UDP5353 = 11,		/* watched */
	S_TCP22 = 12,		/* allow */
	S_TCP23 = 13,		/* drop */
	S_TCP25 = 14,		/* drop-new */
	S_UDP53 = 15,		/* limit 3 */
	S_TCP443 = 16,		/* limit 3 */
	S_UDP26 = 17,		/* drop-new */
	S_UDP7000 = 18,		/* drop from 2001:db8::/32 */
	S_UDP30K = 19,		/* 30000-30999 drop from 198.18.0.0/15 */
	S_TCP8K = 20,		/* 8000-8999, scoped rules */
	S_TCP8443 = 21,		/* allow, inside 8000-8999 */
	S_UDP40K = 22,		/* 40000-40099 limit 2 */
	S_UDP54 = 23,		/* limit HAMMER_PPS */
	S_TCP9200 = 24,		/* in port_slots, no class */
	S_UDP30303 = 25,	/* in port_slots, inside the 30000-30999 class */
	S_DECOY = 30,		/* generation 0 only */
	TBL_SLOTS = 40,		/* slots a table case looks at */
	NO_SLOT = -1,
};

#define TBL_GEN 1
#define HAMMER_PPS 1000

/* The rule set as the model sees it. Rule ids are 1-based indices. */
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
};
#define N_TABLE_POLICIES (sizeof(table_policies) / sizeof(table_policies[0]))

static const struct gm_slot table_slots[] = {
	{ PT_TCP, 22, 22, S_TCP22 },
	{ PT_TCP, 23, 23, S_TCP23 },
	{ PT_TCP, 25, 25, S_TCP25 },
	{ PT_TCP, 443, 443, S_TCP443 },
	{ PT_TCP, 8000, 8999, S_TCP8K },
	{ PT_TCP, 8443, 8443, S_TCP8443 },
	{ PT_TCP, 9100, 9100, S_TCP9100 },
	{ PT_UDP, 26, 26, S_UDP26 },
	{ PT_UDP, 53, 53, S_UDP53 },
	{ PT_UDP, 5353, 5353, S_UDP5353 },
	{ PT_UDP, 7000, 7000, S_UDP7000 },
	{ PT_UDP, 30000, 30999, S_UDP30K },
	{ PT_UDP, 40000, 40099, S_UDP40K },
	{ PT_UDP, 54, 54, S_UDP54 },
	{ PT_TCP, 9200, 9200, S_TCP9200 },
	{ PT_UDP, 30303, 30303, S_UDP30303 },
};
#define N_TABLE_SLOTS (sizeof(table_slots) / sizeof(table_slots[0]))

/* Classes and their policy entries, compiled by hand the way pt_compile
 * does it: every class gets an allow at /0 in both families unless a rule
 * covers that, except UDP 30000-30999 (no_default), which tests a class
 * with no entry for the source. */
static const struct {
	uint8_t proto;
	uint16_t lo, hi;
	uint32_t class, slot;
	bool no_default;
	int rules[4];		/* 1-based table_policies, 0 ends */
} table_classes[] = {
	{ PT_TCP, 22, 22, 1, S_TCP22, false, { 1 } },
	{ PT_TCP, 23, 23, 2, S_TCP23, false, { 2 } },
	{ PT_TCP, 25, 25, 3, S_TCP25, false, { 3 } },
	{ PT_TCP, 9100, 9100, 4, S_TCP9100, false, { 0 } },
	{ PT_TCP, 8000, 8442, 5, S_TCP8K, false, { 4, 5, 6 } },
	{ PT_TCP, 8443, 8443, 6, S_TCP8443, false, { 7 } },
	{ PT_TCP, 8444, 8999, 7, S_TCP8K, false, { 4, 5, 6 } },
	{ PT_TCP, 443, 443, 8, S_TCP443, false, { 8 } },
	{ PT_UDP, 53, 53, 1, S_UDP53, false, { 9 } },
	{ PT_UDP, 5353, 5353, 2, S_UDP5353, false, { 0 } },
	{ PT_UDP, 26, 26, 3, S_UDP26, false, { 10 } },
	{ PT_UDP, 7000, 7000, 4, S_UDP7000, false, { 11 } },
	{ PT_UDP, 30000, 30999, 5, S_UDP30K, true, { 12 } },
	{ PT_UDP, 40000, 40099, 6, S_UDP40K, false, { 13 } },
	{ PT_UDP, 54, 54, 7, S_UDP54, false, { 14 } },
};
#define N_TABLE_CLASSES (sizeof(table_classes) / sizeof(table_classes[0]))

static void install_table_rules(void)
{
	struct pt_policy_val decoy = { .action = PT_DROP, .slot = S_DECOY, .rule = 99 };
	size_t i, j;

	clear_tables();
	for (i = 0; i < N_TABLE_CLASSES; i++) {
		bool any_rule = false;

		put_class(TBL_GEN, table_classes[i].proto, table_classes[i].lo,
			  table_classes[i].hi, table_classes[i].class);
		for (j = 0; j < 4 && table_classes[i].rules[j]; j++) {
			int rule = table_classes[i].rules[j];
			struct pt_policy_val val = {
				.action = table_policies[rule - 1].action,
				.pps = table_policies[rule - 1].pps,
				.slot = table_classes[i].slot,
				.rule = (uint32_t)rule,
			};

			any_rule |= !table_policies[rule - 1].from;
			put_policy(TBL_GEN, table_classes[i].proto, table_classes[i].class,
				   table_policies[rule - 1].from, &val);
		}
		if (!any_rule && !table_classes[i].no_default) {
			struct pt_policy_val allow = { .action = PT_ALLOW,
						       .slot = table_classes[i].slot };

			put_policy(TBL_GEN, table_classes[i].proto, table_classes[i].class,
				   NULL, &allow);
		}
	}
	for (i = 0; i < N_TABLE_SLOTS; i++)
		if (table_slots[i].lo == table_slots[i].hi)
			put_port(TBL_GEN, table_slots[i].proto, table_slots[i].lo,
				 table_slots[i].slot);

	/* Generation 0 holds rules that must not apply while 1 is live. */
	put_class(0, PT_TCP, 22, 22, 1);
	put_policy(0, PT_TCP, 1, NULL, &decoy);
	put_class(0, PT_UDP, 69, 69, 9);
	put_policy(0, PT_UDP, 9, NULL, &decoy);
	put_port(0, PT_TCP, 3000, S_DECOY + 1);
	set_gen(TBL_GEN);
	tables_are_table_rules = true;
}

static struct gm_policy table_gm_policies[N_TABLE_POLICIES];

static void table_gm_rules(struct gm_rules *rules)
{
	size_t i;

	for (i = 0; i < N_TABLE_POLICIES; i++) {
		struct gm_policy *p = &table_gm_policies[i];

		memset(p, 0, sizeof(*p));
		p->proto = table_policies[i].proto;
		p->lo = table_policies[i].lo;
		p->hi = table_policies[i].hi;
		assert_int_equal(parse_prefix(table_policies[i].from, &p->family, p->addr,
					      &p->plen), 0);
		p->action = table_policies[i].action;
		p->pps = table_policies[i].pps;
		p->rule = (uint32_t)(i + 1);
	}
	rules->policies = table_gm_policies;
	rules->npolicies = N_TABLE_POLICIES;
	rules->slots = table_slots;
	rules->nslots = N_TABLE_SLOTS;
}

/* ---- counters ---- */

struct snap {
	struct pt_counters slot[TBL_SLOTS];
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

	for (i = 0; i < TBL_SLOTS; i++)
		read_slot(i, &s->slot[i]);
	read_global(&s->g);
}

/* ---- the table ---- */

struct gcase {
	const char *name;
	struct pkt_spec spec;
	uint32_t verdict;	/* n == 1 */
	int slot;		/* the slot that moves, or NO_SLOT */
	uint64_t dropped, limited, malformed, fragments, other;
	int n;			/* frames sent (0: one) */
	int npass;		/* n > 1: the first npass pass, the rest drop */
	bool hand_only;		/* maps the compiler never writes: not for the model */
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
	{ "tcp4_port_slot_without_class", { V4, TCP(9200) }, PASS, S_TCP9200 },
	{ "udp4_port_slot_beats_policy_slot", { V4, UDP(30303) }, DROP, S_UDP30303,
	  .dropped = 1 },
	{ "udp6_watched", { V6, UDP(5353) }, PASS, S_UDP5353 },

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
	{ "udp4_range_no_entry_for_source", { V4S("203.0.113.1"), UDP(30000) }, PASS,
	  S_UDP_REG, .hand_only = true },
	{ "udp6_range_no_entry_for_family", { V6, UDP(30999) }, PASS, S_UDP_REG,
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
	{ "vlan_three_tags_other",
	  { .vlan = { PKT_ETH_8021AD, PKT_ETH_8021Q, PKT_ETH_8021Q }, V4, TCP(23) }, PASS,
	  NO_SLOT, .other = 1 },
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
	{ "ipv6_chain_over_bound_9", { V6, .ext = { DST8, EXT(0, 0) }, .next = 9, TCP(23) },
	  PASS, NO_SLOT, .malformed = 1 },
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
	return v == XDP_PASS ? "PASS" : v == XDP_DROP ? "DROP" : "other";
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
	       expect(name, "limited", slot, got->limited, want->limited);
}

static int expect_globals(const char *name, const struct pt_global *got,
			  const struct pt_global *want)
{
	return expect(name, "malformed", -1, got->malformed, want->malformed) +
	       expect(name, "fragments", -1, got->fragments, want->fragments) +
	       expect(name, "other", -1, got->other, want->other);
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
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
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
	for (s = 0; s < TBL_SLOTS; s++) {
		got.packets = after.slot[s].packets - before.slot[s].packets;
		got.bytes = after.slot[s].bytes - before.slot[s].bytes;
		got.dropped = after.slot[s].dropped - before.slot[s].dropped;
		got.limited = after.slot[s].limited - before.slot[s].limited;
		bad += expect_counters(c->name, s, &got, (int)s == c->slot ? &want : &zero);
	}
	gdelta.malformed = after.g.malformed - before.g.malformed;
	gdelta.fragments = after.g.fragments - before.g.fragments;
	gdelta.other = after.g.other - before.g.other;
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

/* config.gen picks the tables: generation 0 holds the decoys. */
static void test_config_gen(void **state)
{
	const struct pkt_spec tcp22 = { V4, TCP(22) }, udp69 = { V6, UDP(69) };
	struct pt_counters before, after;
	int passed, dropped;

	REQUIRE_GUARD();
	if (!tables_are_table_rules)
		install_table_rules();
	read_slot(S_DECOY, &before);
	set_gen(0);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
	send_n(&udp69, 1, &passed, &dropped);
	assert_int_equal(dropped, 1);
	read_slot(S_DECOY, &after);
	assert_int_equal(after.packets - before.packets, 2);
	assert_int_equal(after.dropped - before.dropped, 2);
	set_gen(3);		/* only the low bit counts */
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
	set_gen(TBL_GEN);
	send_n(&tcp22, 1, &passed, &dropped);
	assert_int_equal(passed, 1);
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
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
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
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
	send_n(&a, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&b, 3, &passed, &dropped);
	assert_int_equal(passed, 2);
	send_n(&a, 1, &passed, &dropped);
	assert_int_equal(passed, 0);
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
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
	len = pkt_build(&spec, buf, NULL);
	assert_true(len > 0);
	read_slot(S_UDP54, &before);
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
	read_slot(S_UDP54, &after);
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
			if (r.kind == GM_POLICED) {
				if (slot != NO_SLOT && slot != (long)r.slot)
					bad++;
				slot = r.slot;
			}
			got.packets += r.slot_delta.packets;
			got.bytes += r.slot_delta.bytes;
			got.dropped += r.slot_delta.dropped;
			got.limited += r.slot_delta.limited;
			gsum.malformed += r.global_delta.malformed;
			gsum.fragments += r.global_delta.fragments;
			gsum.other += r.global_delta.other;
		}
		case_want(c, len, &want, &gwant);
		if (slot != c->slot) {
			fprintf(stderr, "# model %s: slot %ld, want %d\n", c->name, slot, c->slot);
			bad++;
		}
		bad += expect_counters(c->name, slot, &got, &want);
		bad += expect_globals(c->name, &gsum, &gwant);
	}
	free(m);
	if (bad)
		fail_msg("the model disagrees with the table: %d mismatches", bad);
}

/* ---- random and mutated frames against the model ---- */

#define ROUNDS 8
#define VALID_PER_ROUND 20000
#define MUTATED_PER_ROUND 20000
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

static void random_rules(struct rng *r, struct round *rd)
{
	uint32_t n = 4 + below(r, 28), i;
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
		p.action = below(r, 4);
		if (p.action == PT_LIMIT)
			p.pps = 100000000 + below(r, 1000);	/* never runs out here */
		err = pt_policy_set(&rd->st, &p, NULL);
		if (err != -ERANGE)	/* a partial overlap is refused; nothing else may be */
			assert_int_equal(err, 0);
	}
	n = below(r, 8);
	for (i = 0; i < n; i++) {
		uint8_t proto = (uint8_t)below(r, PT_NPROTO);
		long lo = chance(r, 50) ? hot_ports[below(r, N_HOT)] : below(r, 65536);

		assert_int_equal(pt_watch_add(&rd->st, proto, (uint16_t)lo,
					      clamp16(lo + below(r, 4))), 0);
	}
}

static void write_compiled(const struct pt_compiled *out)
{
	size_t i;

	for (i = 0; i < out->nclasses; i++)
		assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.port_class),
						     &out->classes[i].key, &out->classes[i].class,
						     BPF_ANY), 0);
	for (i = 0; i < out->npolicies; i++)
		assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.policy_lpm),
						     &out->policies[i].key, &out->policies[i].val,
						     BPF_ANY), 0);
	for (i = 0; i < out->nports; i++)
		assert_int_equal(bpf_map_update_elem(fd_of(skel->maps.port_slots),
						     &out->ports[i].key, &out->ports[i].slot,
						     BPF_ANY), 0);
}

/* A random rule set, compiled into generation gen and made live the way
 * portier does it: write the new generation, flip config, purge the old. */
static void round_make(struct rng *r, struct round *rd, uint8_t gen)
{
	struct pt_compiled out = {};
	uint32_t *fresh = NULL;
	size_t nfresh = 0, i;

	memset(rd, 0, sizeof(*rd));
	rd->gen = gen;
	random_rules(r, rd);
	assert_int_equal(pt_assign_slots(&rd->st, NULL, &fresh, &nfresh), 0);
	free(fresh);
	assert_int_equal(pt_compile(&rd->st, gen, &out), 0);
	write_compiled(&out);
	set_gen(gen);
	purge_gen(fd_of(skel->maps.port_class), sizeof(struct pt_class_key),
		  offsetof(struct pt_class_key, gen), gen);
	purge_gen(fd_of(skel->maps.policy_lpm), sizeof(struct pt_lpm_key),
		  offsetof(struct pt_lpm_key, gen), gen);
	purge_gen(fd_of(skel->maps.port_slots), sizeof(struct pt_port_key),
		  offsetof(struct pt_port_key, gen), gen);
	clear_map(fd_of(skel->maps.rate_buckets), sizeof(struct pt_bucket_key));
	tables_are_table_rules = false;
	fprintf(stderr, "# round gen %u: %zu policies, %zu watches, %zu slots -> "
		"%zu class, %zu policy, %zu port entries\n", gen, rd->st.npolicies,
		rd->st.nwatches, rd->st.nslots, out.nclasses, out.npolicies, out.nports);
	pt_compiled_free(&out);

	/* The same rules, as the model sees them. */
	rd->pols = calloc(rd->st.npolicies + 1, sizeof(*rd->pols));
	rd->slots = calloc(rd->st.nslots + 1, sizeof(*rd->slots));
	rd->model = malloc(sizeof(*rd->model));
	assert_non_null(rd->pols);
	assert_non_null(rd->slots);
	assert_non_null(rd->model);
	rd->max_slot = PT_FIRST_FREE_SLOT - 1;
	for (i = 0; i < rd->st.npolicies; i++) {
		const struct pt_policy *p = &rd->st.policies[i];

		rd->pols[i] = (struct gm_policy){
			.proto = p->proto, .lo = p->lo, .hi = p->hi,
			.family = p->from.family == PT_FAMILY_ANY ? GM_FAMILY_ANY : p->from.family,
			.plen = p->from.plen, .action = p->action, .pps = p->pps,
			.rule = p->rule,
		};
		memcpy(rd->pols[i].addr, p->from.addr, 16);
		add_port(rd, p->proto, (long)p->lo - 1);
		add_port(rd, p->proto, p->lo);
		add_port(rd, p->proto, ((long)p->lo + p->hi) / 2);
		add_port(rd, p->proto, p->hi);
		add_port(rd, p->proto, (long)p->hi + 1);
	}
	for (i = 0; i < rd->st.nslots; i++) {
		const struct pt_slot *s = &rd->st.slots[i];

		rd->slots[i] = (struct gm_slot){ s->proto, s->lo, s->hi, s->slot };
		assert_true(s->slot < PT_MAX_SLOTS);
		if (s->slot > rd->max_slot)
			rd->max_slot = s->slot;
		add_port(rd, s->proto, s->lo);
		add_port(rd, s->proto, s->hi);
	}
	rd->rules = (struct gm_rules){ rd->pols, rd->st.npolicies, rd->slots, rd->st.nslots };
	gm_init(rd->model, &rd->rules);
}

static void round_free(struct round *rd)
{
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

/* Damage a valid frame: cut it, flip header bytes, rewrite a length field,
 * or append junk. */
static size_t mutate(struct rng *r, uint8_t *buf, size_t len, const struct pkt_layout *lay)
{
	size_t hdr_end = lay->l4 + 24 < len ? lay->l4 + 24 : len, off;
	unsigned int i, n;

	switch (below(r, 10)) {
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
	size_t kinds[GM_POLICED + 1];	/* what the frames were */
	size_t dropped;
};

static void add_counters(struct pt_counters *a, const struct pt_counters *d)
{
	a->packets += d->packets;
	a->bytes += d->bytes;
	a->dropped += d->dropped;
	a->limited += d->limited;
}

static void add_global(struct pt_global *a, const struct pt_global *d)
{
	a->malformed += d->malformed;
	a->fragments += d->fragments;
	a->other += d->other;
}

static void report_frame(const struct fuzz *fz, size_t index, const uint8_t *frame, size_t len,
			 const struct gm_result *r)
{
	fprintf(stderr, "# MISMATCH seed=%llu frame=%zu len=%zu (replay: PT_SEED=%llu)\n",
		(unsigned long long)fz->seed, index, len, (unsigned long long)fz->seed);
	fprintf(stderr, "# model: %s verdict=%s", gm_kind_name(r->kind), verdict_name(r->verdict));
	if (r->kind == GM_POLICED)
		fprintf(stderr, " %s dport=%u family=%u flags=0x%02x policy=%ld slot=%u",
			r->proto == PT_TCP ? "tcp" : "udp", r->dport, r->family, r->tcp_flags,
			r->policy, r->slot);
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
		if (quiet)
			bad += memcmp(&got, &fz->want[s], offsetof(struct pt_counters, steered)) != 0;
		else
			bad += expect_counters(name, s, &got, &fz->want[s]);
	}
	read_global(&g);
	gd.malformed = g.malformed - fz->gbase.malformed;
	gd.fragments = g.fragments - fz->gbase.fragments;
	gd.other = g.other - fz->gbase.other;
	if (quiet)
		bad += gd.malformed != fz->gwant.malformed || gd.fragments != fz->gwant.fragments ||
		       gd.other != fz->gwant.other;
	else
		bad += expect_globals(name, &gd, &fz->gwant);
	return bad;
}

/* A block's counters disagree: replay it frame by frame to name one. */
static void fuzz_find_culprit(struct fuzz *fz, struct round *rd)
{
	struct pt_counters before, after;
	struct pt_global gb, ga;
	struct gm_result r;
	uint32_t verdict;
	size_t i;

	for (i = 0; i < fz->nblock; i++) {
		gm_run(rd->model, fz->frames[i], fz->lens[i], &r);
		read_slot(r.slot, &before);
		read_global(&gb);
		assert_int_equal(bt_xdp_run(bpf_program__fd(skel->progs.portier_guard),
					    fz->frames[i], fz->lens[i], &verdict), 0);
		read_slot(r.slot, &after);
		read_global(&ga);
		if ((r.kind == GM_POLICED &&
		     (after.packets - before.packets != 1 ||
		      after.bytes - before.bytes != fz->lens[i] ||
		      after.dropped - before.dropped != r.slot_delta.dropped ||
		      after.limited - before.limited != r.slot_delta.limited)) ||
		    ga.malformed - gb.malformed != r.global_delta.malformed ||
		    ga.fragments - gb.fragments != r.global_delta.fragments ||
		    ga.other - gb.other != r.global_delta.other) {
			report_frame(fz, fz->index - fz->nblock + i, fz->frames[i], fz->lens[i], &r);
			fprintf(stderr, "# guard moved: slot %u +%llu packets +%llu dropped "
				"+%llu limited; malformed +%llu fragments +%llu other +%llu\n",
				r.slot, (unsigned long long)(after.packets - before.packets),
				(unsigned long long)(after.dropped - before.dropped),
				(unsigned long long)(after.limited - before.limited),
				(unsigned long long)(ga.malformed - gb.malformed),
				(unsigned long long)(ga.fragments - gb.fragments),
				(unsigned long long)(ga.other - gb.other));
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
	if (r.kind == GM_POLICED)
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
	const char *env = getenv("PT_SEED");
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
	struct rng r;
	struct round rd;
	struct pkt_layout lay;
	uint8_t buf[PKT_MAX];
	struct timespec t0, t1;
	uint32_t s;
	int ri, i, len;

	REQUIRE_GUARD();
	fz.seed = fuzz_seed();
	r.s = fz.seed ? fz.seed : 1;
	fprintf(stderr, "# random: seed=%llu (PT_SEED=%llu replays this run)\n",
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
	clear_tables();
	for (ri = 0; ri < ROUNDS; ri++) {
		round_make(&r, &rd, (uint8_t)((ri + 1) & 1));
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
		fuzz_end_block(&fz, &rd);
		round_free(&rd);
	}
	/* Nothing was counted anywhere the model did not expect. */
	if (fuzz_check_counters(&fz, PT_MAX_SLOTS - 1, false))
		fail_msg("random: counters outside the rule sets' slots moved (seed %llu)",
			 (unsigned long long)fz.seed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# random: %zu frames (%d rule sets) in %.2f s: %zu policed (%zu dropped), "
		"%zu malformed, %zu fragments, %zu other\n", fz.index, ROUNDS,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		fz.kinds[GM_POLICED], fz.dropped, fz.kinds[GM_MALFORMED], fz.kinds[GM_FRAGMENT],
		fz.kinds[GM_OTHER]);
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

	tests = calloc(N_CASES + 10, sizeof(*tests));
	if (!tests)
		return 1;
	tests[n++] = (struct CMUnitTest){ .name = "program_shape", .test_func = test_program_shape };
	for (i = 0; i < N_CASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)(uintptr_t)&cases[i],
		};
	tests[n++] = (struct CMUnitTest){ .name = "config_gen_selects_tables",
					  .test_func = test_config_gen };
	tests[n++] = (struct CMUnitTest){ .name = "limit_refill", .test_func = test_limit_refill };
	tests[n++] = (struct CMUnitTest){ .name = "limit_bucket_per_port",
					  .test_func = test_limit_bucket_per_port };
	tests[n++] = (struct CMUnitTest){ .name = "limit_two_cpus",
					  .test_func = test_limit_two_cpus };
	tests[n++] = (struct CMUnitTest){ .name = "model_agrees_with_table",
					  .test_func = test_model_table };
	tests[n++] = (struct CMUnitTest){ .name = "random_and_mutated_vs_model",
					  .test_func = test_random };
	ret = _cmocka_run_group_tests("guard", tests, n, NULL, NULL);
	if (skel)
		guard__destroy(skel);
	free(tests);
	return ret;
}
