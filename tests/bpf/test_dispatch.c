// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The dispatch program (sk_lookup) run through BPF_PROG_TEST_RUN with a
 * struct bpf_sk_lookup as context. The kernel reports the socket the
 * program assigned in ctx_out.cookie (0: none), so every case checks the
 * exact socket and the exact counter deltas.
 *
 * Each test loads its own copy of the dispatch object with pinning turned
 * off (nothing goes to /sys/fs/bpf), makes real sockets in this process,
 * installs them with pt_sockets_install (user/sockets.c), and installs
 * bindings the way portier does: pt_state -> pt_assign_slots -> pt_compile
 * -> port_table / bind_lpm / policy_lpm of one generation ->
 * config.gen flip.
 *
 * Tests:
 *   table          fixed bindings, one row per case {ctx, socket, counters}
 *   multi_socket   8 sockets: flow stickiness, spread, a closed socket
 *   generation     staging gen 1 changes nothing until config.gen flips
 *   bank_swap      replacing a service's socket set flips its sock_meta bank
 *   random         200 random configurations x 50 lookups against
 *                  pt_model_bind_lookup(); PORTIER_SEED=N repeats a run
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "portier.h"
#include "model.h"
#include "sockets.h"
#include "state.h"
#include "util.h"
#include "dispatch.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define MAX_SOCKS 128
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- failure reporting: every failed check is printed, the test fails
 * once at its end; a broken fixture fails at once ---- */

static unsigned int failures;

static bool check_(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool check_(bool ok, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok)
		return true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# FAIL %s:%d: %s\n", file, line, msg);
	fflush(stdout);
	failures++;
	return false;
}

/* CHECK returns whether it held, so it can steer what follows. */
#define CHECK(cond, ...) check_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* REQUIRE: the fixture is broken, nothing after it means anything. */
#define REQUIRE(cond, ...)                                                    \
	do {                                                                  \
		if (!(cond)) {                                                \
			print_error("%s:%d: ", __FILE__, __LINE__);           \
			print_error(__VA_ARGS__);                             \
			print_error("\n");                                    \
			fail();                                               \
		}                                                             \
	} while (0)
#define DONE() assert_int_equal(failures, 0)

/* ---- the fixture ---- */

struct tsock {
	char name[32];
	int fd;			/* -1 once closed */
	uint64_t cookie;
	uint8_t proto;		/* enum pt_proto */
	uint8_t family;		/* enum pt_family */
	uint16_t port;
};

struct fx {
	struct dispatch *skel;
	int prog_fd;
	struct pt_ctx ctx;		/* the skeleton's map fds, for user/ code */
	uint64_t netns_ino;
	int ncpu;
	struct tsock socks[MAX_SOCKS];
	size_t nsocks;
	struct pt_state live;		/* the live generation's state */
	bool have_live;
	uint8_t gen;			/* the live generation */
	struct pt_compiled comp[2];	/* what each generation holds */
	uint64_t serial;
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level > LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* bind_host's size for the next fixture (0: the default capacity's) */
static uint32_t fx_host_entries;

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct bpf_map *map;
	struct pt_config cfg = { .abi = PT_ABI_VERSION, .gen = 0 };
	struct stat nst;
	__u32 zero = 0;
	int err;

	if (!fx)
		return -1;
	*state = fx;
	fx->prog_fd = -1;
	for (int i = 0; i < PT_NMAPS; i++)
		fx->ctx.fds[i] = -1;
	fx->ctx.netns_fd = -1;
	fx->ctx.lock_fd = -1;
	fx->ctx.ns_lock_fd = -1;
	failures = 0;
	libbpf_set_print(quiet_print);

	fx->ncpu = libbpf_num_possible_cpus();
	if (fx->ncpu <= 0) {
		print_error("libbpf_num_possible_cpus: %d\n", fx->ncpu);
		return -1;
	}
	if (stat("/proc/self/ns/net", &nst)) {
		print_error("stat /proc/self/ns/net: %s\n", strerror(errno));
		return -1;
	}
	fx->netns_ino = nst.st_ino;

	fx->skel = dispatch__open();
	if (!fx->skel) {
		print_error("dispatch__open: %s\n", strerror(errno));
		return -1;
	}
	/* never pin: a test must not touch /sys/fs/bpf */
	bpf_object__for_each_map(map, fx->skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			print_error("set_pin_path(%s): %d\n", bpf_map__name(map), err);
			return -1;
		}
	}
	err = pt_obj_fit(fx->skel->obj, PT_MAX_BINDINGS);
	if (!err && fx_host_entries)
		err = bpf_map__set_max_entries(fx->skel->maps.bind_host, fx_host_entries);
	err = err ?: dispatch__load(fx->skel);
	if (err) {
		print_error("dispatch__load: %d (%s): BPF is required, run as root\n", err,
			    strerror(-err));
		return -1;
	}
	bpf_object__for_each_map(map, fx->skel->obj) {
		if (bpf_map__is_pinned(map) || bpf_map__pin_path(map)) {
			print_error("map %s is pinned\n", bpf_map__name(map));
			return -1;
		}
	}
	fx->prog_fd = bpf_program__fd(fx->skel->progs.portier_dispatch);

	fx->ctx.netns_ino = fx->netns_ino;
	/* every map portier knows, by its pinned name */
	for (int i = 0; i < PT_NMAPS; i++) {
		map = bpf_object__find_map_by_name(fx->skel->obj, pt_maps[i].name);
		fx->ctx.fds[i] = map ? bpf_map__fd(map) : -1;
	}
	for (int i = 0; i < PT_NMAPS; i++)
		if (fx->ctx.fds[i] < 0) {
			print_error("map %s has no fd\n", pt_maps[i].name);
			return -1;
		}
	if (bpf_map_update_elem(fx->ctx.fds[M_CONFIG], &zero, &cfg, BPF_ANY)) {
		print_error("config: %s\n", strerror(errno));
		return -1;
	}
	fx->ctx.cfg = cfg;
	return 0;
}

/* bind_host with one bucket (four ways) per generation: the random
 * configurations overflow it, and what found no way must be found in
 * bind_lpm */
static int fx_setup_one_bucket(void **state)
{
	fx_host_entries = 2;
	return fx_setup(state);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	fx_host_entries = 0;
	if (!fx)
		return 0;
	for (size_t i = 0; i < fx->nsocks; i++)
		if (fx->socks[i].fd >= 0)
			close(fx->socks[i].fd);
	pt_state_free(&fx->live);
	pt_compiled_free(&fx->comp[0]);
	pt_compiled_free(&fx->comp[1]);
	dispatch__destroy(fx->skel);	/* closes the map fds in ctx */
	free(fx);
	*state = NULL;
	return 0;
}

/* ---- sockets ---- */

/* A TCP listener or a UDP socket on addr, port chosen by the kernel.
 * Returns its index in fx->socks. */
static size_t sock_new(struct fx *fx, const char *name, uint8_t proto, const char *addr,
		       bool v6only)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	struct tsock *t;
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET, fd, on = v6only;

	REQUIRE(fx->nsocks < MAX_SOCKS, "too many sockets");
	t = &fx->socks[fx->nsocks];
	snprintf(t->name, sizeof(t->name), "%s", name);
	fd = socket(af, (proto == PT_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0, "socket %s: %s", name, strerror(errno));
	t->fd = fd;
	fx->nsocks++;
	if (af == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		REQUIRE(!setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)),
			"IPV6_V6ONLY %s: %s", name, strerror(errno));
		sin6->sin6_family = AF_INET6;
		REQUIRE(inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1, "bad address %s", addr);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		REQUIRE(inet_pton(AF_INET, addr, &sin->sin_addr) == 1, "bad address %s", addr);
		len = sizeof(*sin);
	}
	REQUIRE(!bind(fd, (struct sockaddr *)&ss, len), "bind %s: %s", name, strerror(errno));
	if (proto == PT_TCP)
		REQUIRE(!listen(fd, 16), "listen %s: %s", name, strerror(errno));
	len = sizeof(ss);
	REQUIRE(!getsockname(fd, (struct sockaddr *)&ss, &len), "getsockname %s", name);
	t->port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	len = sizeof(t->cookie);
	REQUIRE(!getsockopt(fd, SOL_SOCKET, SO_COOKIE, &t->cookie, &len) && t->cookie,
		"SO_COOKIE %s: %s", name, strerror(errno));
	t->proto = proto;
	t->family = af == AF_INET ? PT_INET : PT_INET6;
	return fx->nsocks - 1;
}

static void sock_close(struct fx *fx, size_t i)
{
	REQUIRE(fx->socks[i].fd >= 0, "socket %s closed twice", fx->socks[i].name);
	close(fx->socks[i].fd);
	fx->socks[i].fd = -1;
}

static const struct tsock *sock_by_name(struct fx *fx, const char *name)
{
	for (size_t i = 0; i < fx->nsocks; i++)
		if (!strcmp(fx->socks[i].name, name))
			return &fx->socks[i];
	REQUIRE(0, "no socket named %s", name);
	return NULL;
}

/* Which of our sockets a cookie is, for messages. */
static const char *cookie_name(struct fx *fx, uint64_t cookie)
{
	static char buf[64];

	if (!cookie)
		return "none";
	for (size_t i = 0; i < fx->nsocks; i++)
		if (fx->socks[i].cookie == cookie)
			return fx->socks[i].name;
	snprintf(buf, sizeof(buf), "unknown cookie %llu", (unsigned long long)cookie);
	return buf;
}

/* Make the sockets idx[0..n) the sockets of (svc, proto), through the same
 * code path as `portier register`: inspect (pt_socket_from_fd) and
 * install (pt_sockets_install). portier's duplicates are closed after. */
static void sock_install(struct fx *fx, uint32_t svc, uint8_t proto, const size_t *idx, size_t n)
{
	struct pt_sock_filter none = {};
	struct pt_candidates all = {};
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		struct pt_candidates one = {};
		const char *why = NULL;
		void *p;

		err = pt_socket_from_fd(fx->socks[idx[i]].fd, fx->netns_ino, &none, &one, &why);
		if (err) {
			print_error("pt_socket_from_fd(%s): %d %s\n", fx->socks[idx[i]].name, err,
				    why ? why : "");
			break;
		}
		p = realloc(all.socks, (all.n + one.n) * sizeof(*all.socks));
		if (!p) {
			pt_candidates_free(&one);
			err = -ENOMEM;
			break;
		}
		all.socks = p;
		memcpy(all.socks + all.n, one.socks, one.n * sizeof(*one.socks));
		all.n += one.n;
		free(one.socks);	/* moved, fds and all */
	}
	if (!err)
		err = pt_sockets_install(&fx->ctx, svc, proto, &all);
	pt_candidates_free(&all);
	REQUIRE(!err, "installing %zu sockets for service %u: %d (%s)", n, svc, err,
		strerror(-err));
}

/* Put one socket straight into slot 0 of a (svc, proto, family) bank, the
 * way no portier command would: for what the kernel itself refuses. */
static void sock_force(struct fx *fx, uint32_t svc, uint8_t proto, uint8_t family, size_t i)
{
	uint32_t mi = PT_META_INDEX(svc, proto, family), meta = PT_META(1, 0);
	uint32_t key = PT_SOCK_KEY(mi, 0, 0);
	uint64_t v = (uint64_t)fx->socks[i].fd;

	REQUIRE(!bpf_map_update_elem(fx->ctx.fds[M_SVC_SOCKS], &key, &v, BPF_ANY),
		"svc_socks <- %s: %s", fx->socks[i].name, strerror(errno));
	REQUIRE(!bpf_map_update_elem(fx->ctx.fds[M_SOCK_META], &mi, &meta, BPF_ANY),
		"sock_meta: %s", strerror(errno));
}

/* ---- configuration: pt_state -> compiled generation -> maps ---- */

static uint32_t st_service(struct pt_state *st, const char *name)
{
	const struct pt_service *s;
	int err = pt_service_add(st, name, NULL);

	REQUIRE(!err, "service add %s: %d", name, err);
	s = pt_service_by_name(st, name);
	REQUIRE(s, "service %s vanished", name);
	return s->id;
}

static uint32_t st_id(const struct pt_state *st, const char *name)
{
	const struct pt_service *s = pt_service_by_name(st, name);

	REQUIRE(s, "no service %s", name);
	return s->id;
}

/* "PROTO PREFIX PORTS SERVICE", as `portier bind` takes it. */
static void st_bind(struct pt_state *st, const char *spec)
{
	char proto[8], prefix[64], ports[16], svc[PT_NAME_LEN];
	struct pt_binding b = {};
	int err;

	REQUIRE(sscanf(spec, "%7s %63s %15s %31s", proto, prefix, ports, svc) == 4,
		"bad binding spec '%s'", spec);
	REQUIRE(!pt_parse_proto(proto, &b.proto), "bad proto in '%s'", spec);
	REQUIRE(!pt_parse_prefix(prefix, &b.prefix), "bad prefix in '%s': %s", spec, pt_why);
	REQUIRE(!pt_parse_ports(ports, &b.lo, &b.hi), "bad ports in '%s': %s", spec, pt_why);
	b.service = st_id(st, svc);
	err = pt_binding_set(st, &b, NULL);
	REQUIRE(!err, "bind '%s': %d", spec, err);
}

/* The compiled tables only (no records), through portier's own writer. */
static int comp_write(struct fx *fx, const struct pt_compiled *c)
{
	return pt_gen_write(fx->ctx.fds, NULL, c);
}

static int comp_delete(struct fx *fx, const struct pt_compiled *c)
{
	/* nothing compiled yet for this generation */
	if (!c->ports)
		return 0;
	return pt_gen_delete(fx->ctx.fds, NULL, c);
}

/* Write st as generation gen, replacing whatever gen held; nothing reads
 * it until config.gen names it. Assigns st's slots against the live state. */
static void gen_stage(struct fx *fx, struct pt_state *st, uint8_t gen)
{
	const struct pt_state *prev = fx->have_live && gen != fx->gen ? &fx->live : NULL;
	int err;

	err = comp_delete(fx, &fx->comp[gen]);
	REQUIRE(!err, "clearing generation %u: %s", gen, strerror(-err));
	pt_compiled_free(&fx->comp[gen]);
	err = pt_assign_slots(st, prev, NULL, NULL);
	REQUIRE(!err, "pt_assign_slots: %d", err);
	err = pt_compile(st, gen, &fx->comp[gen]);
	REQUIRE(!err, "pt_compile: %d", err);
	err = comp_write(fx, &fx->comp[gen]);
	REQUIRE(!err, "writing generation %u: %s", gen, strerror(-err));
}

static void gen_flip(struct fx *fx, uint8_t gen)
{
	struct pt_config cfg = { .abi = PT_ABI_VERSION, .gen = gen, .serial = ++fx->serial };
	__u32 zero = 0;

	REQUIRE(!bpf_map_update_elem(fx->ctx.fds[M_CONFIG], &zero, &cfg, BPF_ANY),
		"config.gen <- %u: %s", gen, strerror(errno));
	fx->ctx.cfg = cfg;
}

/* Record st as the live state of generation gen (for slots, expectations). */
static void gen_is_live(struct fx *fx, const struct pt_state *st, uint8_t gen)
{
	pt_state_free(&fx->live);
	REQUIRE(!pt_state_copy(&fx->live, st), "pt_state_copy");
	fx->gen = gen;
	fx->have_live = true;
}

/* The whole commit: stage the idle generation, flip, drop the old one. */
static void commit(struct fx *fx, struct pt_state *st)
{
	uint8_t old = fx->gen, ng = fx->have_live ? old ^ 1 : 0;
	bool had = fx->have_live;
	int err;

	gen_stage(fx, st, ng);
	gen_flip(fx, ng);
	gen_is_live(fx, st, ng);
	if (had) {
		err = comp_delete(fx, &fx->comp[old]);
		REQUIRE(!err, "clearing generation %u: %s", old, strerror(-err));
		pt_compiled_free(&fx->comp[old]);
	}
}

/* ---- running the program ---- */

struct lookup {
	uint8_t proto;		/* enum pt_proto */
	uint8_t family;		/* enum pt_family */
	uint8_t dst[16];
	uint16_t dport;		/* host order */
	uint8_t src[16];
	uint16_t sport;		/* host order */
};

static void parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (strchr(s, ':')) {
		*family = PT_INET6;
		REQUIRE(inet_pton(AF_INET6, s, addr) == 1, "bad address %s", s);
	} else {
		*family = PT_INET;
		REQUIRE(inet_pton(AF_INET, s, addr) == 1, "bad address %s", s);
	}
}

static struct lookup mk_lookup(uint8_t proto, const char *dst, uint16_t dport, const char *src,
			       uint16_t sport)
{
	struct lookup l = { .proto = proto, .dport = dport, .sport = sport };
	uint8_t sfam;

	parse_addr(dst, &l.family, l.dst);
	parse_addr(src, &sfam, l.src);
	REQUIRE(sfam == l.family, "mixed families %s / %s", dst, src);
	return l;
}

static char *fmt_lookup(const struct lookup *l, char *buf, size_t len)
{
	char d[64], s[64];

	pt_format_addrport(l->family, l->dst, l->dport, d, sizeof(d));
	pt_format_addrport(l->family, l->src, l->sport, s, sizeof(s));
	snprintf(buf, len, "%s to %s from %s", pt_proto_name(l->proto), d, s);
	return buf;
}

/* One sk_lookup run; the cookie of the assigned socket, 0 for none. */
static uint64_t run(struct fx *fx, const struct lookup *l)
{
	struct bpf_sk_lookup ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));
	char buf[160];
	int err;

	ctx.family = l->family == PT_INET ? AF_INET : AF_INET6;
	ctx.protocol = l->proto == PT_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	if (l->family == PT_INET) {
		memcpy(&ctx.local_ip4, l->dst, 4);
		memcpy(&ctx.remote_ip4, l->src, 4);
	} else {
		memcpy(ctx.local_ip6, l->dst, 16);
		memcpy(ctx.remote_ip6, l->src, 16);
	}
	ctx.local_port = l->dport;		/* host order */
	ctx.remote_port = htons(l->sport);	/* network order */
	err = bpf_prog_test_run_opts(fx->prog_fd, &opts);
	REQUIRE(!err, "test run (%s): %d (%s)", fmt_lookup(l, buf, sizeof(buf)), err,
		strerror(-err));
	REQUIRE(opts.retval == SK_PASS, "test run (%s): verdict %u, want SK_PASS",
		fmt_lookup(l, buf, sizeof(buf)), opts.retval);
	return ctx.cookie;
}

/* ---- counters ---- */

static void counters_add(struct pt_counters *d, const struct pt_counters *s)
{
	d->packets += s->packets;
	d->bytes += s->bytes;
	d->dropped += s->dropped;
	d->limited += s->limited;
	d->steered += s->steered;
	d->no_socket += s->no_socket;
}

static struct pt_counters slot_read(struct fx *fx, uint32_t slot)
{
	struct pt_counters per[fx->ncpu], sum = {};

	REQUIRE(!bpf_map_lookup_elem(fx->ctx.fds[M_PORT_STATS], &slot, per),
		"port_stats[%u]: %s", slot, strerror(errno));
	for (int c = 0; c < fx->ncpu; c++)
		counters_add(&sum, &per[c]);
	return sum;
}

static struct pt_global global_read(struct fx *fx)
{
	struct pt_global per[fx->ncpu], sum = {};
	__u32 zero = 0;

	REQUIRE(!bpf_map_lookup_elem(fx->ctx.fds[M_GLOBAL_STATS], &zero, per),
		"global_stats: %s", strerror(errno));
	for (int c = 0; c < fx->ncpu; c++) {
		sum.malformed += per[c].malformed;
		sum.fragments += per[c].fragments;
		sum.other += per[c].other;
		sum.dispatch_other += per[c].dispatch_other;
	}
	return sum;
}

/* Every slot and the globals, summed over the CPUs. */
struct snap {
	struct pt_counters *slot;	/* PT_MAX_SLOTS */
	struct pt_global g;
};

static void snap_take(struct fx *fx, struct snap *s)
{
	size_t ncpu = (size_t)fx->ncpu, done = 0;
	__u32 *keys = calloc(PT_MAX_SLOTS, sizeof(*keys));
	struct pt_counters *vals = calloc(PT_MAX_SLOTS * ncpu, sizeof(*vals));
	__u32 in_batch = 0, out_batch = 0;
	bool first = true;

	REQUIRE(keys && vals, "out of memory");
	if (!s->slot)
		s->slot = calloc(PT_MAX_SLOTS, sizeof(*s->slot));
	REQUIRE(s->slot, "out of memory");
	memset(s->slot, 0, PT_MAX_SLOTS * sizeof(*s->slot));
	while (done < PT_MAX_SLOTS) {
		__u32 count = (__u32)(PT_MAX_SLOTS - done);
		int err = bpf_map_lookup_batch(fx->ctx.fds[M_PORT_STATS], first ? NULL : &in_batch,
					       &out_batch, keys + done, vals + done * ncpu, &count,
					       NULL);

		REQUIRE(!err || errno == ENOENT, "port_stats batch: %s", strerror(errno));
		first = false;
		in_batch = out_batch;
		done += count;
		if (err || !count)
			break;
	}
	REQUIRE(done == PT_MAX_SLOTS, "port_stats batch read %zu of %d slots", done,
		PT_MAX_SLOTS);
	for (size_t i = 0; i < done; i++) {
		REQUIRE(keys[i] < PT_MAX_SLOTS, "port_stats batch key %u", keys[i]);
		for (size_t c = 0; c < ncpu; c++)
			counters_add(&s->slot[keys[i]], &vals[i * ncpu + c]);
	}
	s->g = global_read(fx);
	free(keys);
	free(vals);
}

enum outcome {
	STEERED,	/* a socket was assigned: steered+1 on the slot */
	NO_SOCKET,	/* bound, no live socket: no_socket+1 on the slot */
	UNBOUND,	/* no binding: global dispatch_other+1 */
};

static const char *const outcome_name[] = { "steered", "no_socket", "dispatch_other" };

/* After exactly one run: the counters moved by exactly what `want` says,
 * on `slot`, and nothing else moved. */
static bool snap_check(const struct snap *a, const struct snap *b, enum outcome want,
		       uint32_t slot, const char *what)
{
	unsigned int bad = 0;
	bool ok = true;

	for (uint32_t i = 0; i < PT_MAX_SLOTS; i++) {
		const struct pt_counters *x = &a->slot[i], *y = &b->slot[i];
		uint64_t ds = y->steered - x->steered, dn = y->no_socket - x->no_socket;
		uint64_t ws = i == slot && want == STEERED, wn = i == slot && want == NO_SOCKET;
		bool guard = y->packets != x->packets || y->bytes != x->bytes ||
			     y->dropped != x->dropped || y->limited != x->limited;

		if (ds == ws && dn == wn && !guard)
			continue;
		ok = false;
		if (bad++ < 4)
			CHECK(false,
			      "%s: slot %u: steered +%llu no_socket +%llu (want +%llu +%llu)%s; "
			      "expected %s on slot %u",
			      what, i, (unsigned long long)ds, (unsigned long long)dn,
			      (unsigned long long)ws, (unsigned long long)wn,
			      guard ? ", guard counters moved" : "", outcome_name[want], slot);
	}
	if (bad > 4)
		CHECK(false, "%s: %u slots moved in all", what, bad);
	ok &= CHECK(b->g.dispatch_other - a->g.dispatch_other == (want == UNBOUND),
		    "%s: dispatch_other +%llu, want +%d", what,
		    (unsigned long long)(b->g.dispatch_other - a->g.dispatch_other),
		    want == UNBOUND);
	ok &= CHECK(b->g.malformed == a->g.malformed && b->g.fragments == a->g.fragments &&
			    b->g.other == a->g.other,
		    "%s: guard's global counters moved", what);
	return ok;
}

/* ---- table ---- */

struct dcase {
	const char *name;
	const char *proto;
	const char *dst;	/* local address */
	uint16_t dport;
	const char *want;	/* socket name, NULL: none */
	enum outcome outcome;
};

static const char *const table_services[] = {
	"web", "dual", "v6only", "empty", "gone", "narrow", "long", "short", "long24",
	"anysvc", "zero4", "zero6", "range", "exact", "rangelong", "all", "forced_fam",
	"forced_proto",
};

static const char *const table_bindings[] = {
	"tcp 198.18.0.2/32 80 web",
	"tcp 2001:db8::2/128 80 web",
	"udp 198.18.0.2 53 web",
	"udp 2001:db8::2 53 web",
	/* narrowest range beats the longer prefix */
	"tcp 198.18.0.0/16 8000-8009 narrow",
	"tcp 198.18.5.5/32 8000-8099 long",
	/* equal width: longest prefix */
	"tcp 198.18.0.0/15 9000 short",
	"tcp 198.18.7.0/24 9000 long24",
	/* `any` against an explicit /0 */
	"tcp any 9100 anysvc",
	"tcp 0.0.0.0/0 9100 zero4",
	"tcp any 9101 anysvc",
	"tcp ::/0 9101 zero6",
	/* an exact port inside a range, and a range with a longer prefix */
	"tcp 198.18.0.0/15 9200-9299 range",
	"tcp 198.18.0.0/15 9250 exact",
	"tcp 198.18.9.9/32 9200-9299 rangelong",
	"tcp 198.18.10.0/24 0-65535 all",
	/* sockets of the other family, none, gone, refused */
	"tcp 198.18.0.2 7000 dual",
	"tcp 2001:db8::2 7000 dual",
	"udp 198.18.0.2 7000 dual",
	"tcp any 7001 v6only",
	"tcp any 7002 empty",
	"tcp any 7003 gone",
	"tcp any 7004 forced_fam",
	"tcp any 7005 forced_proto",
};

static const struct dcase table_cases[] = {
	{ "exact port, tcp v4", "tcp", "198.18.0.2", 80, "web_t4", STEERED },
	{ "exact port, udp v4", "udp", "198.18.0.2", 53, "web_u4", STEERED },
	{ "exact port, tcp v6", "tcp", "2001:db8::2", 80, "web_t6", STEERED },
	{ "exact port, udp v6", "udp", "2001:db8::2", 53, "web_u6", STEERED },
	{ "unbound port, no class (udp)", "udp", "198.18.0.2", 54, NULL, UNBOUND },
	{ "unbound port, classed (tcp)", "tcp", "198.18.0.2", 81, NULL, UNBOUND },
	{ "unbound port, v6", "tcp", "2001:db8::2", 81, NULL, UNBOUND },
	{ "unbound address", "tcp", "198.18.0.3", 80, NULL, UNBOUND },
	{ "unbound address, v6", "tcp", "2001:db8::3", 80, NULL, UNBOUND },
	{ "udp to a tcp-only port", "udp", "198.18.0.2", 80, NULL, UNBOUND },
	{ "tcp to a udp-only port", "tcp", "198.18.0.2", 53, NULL, UNBOUND },
	{ "v6 to a v4-only binding", "tcp", "2001:db8::2", 9000, NULL, UNBOUND },
	{ "v4-mapped v6 address is v6", "tcp", "::ffff:198.18.0.2", 80, NULL, UNBOUND },
	{ "narrowest range beats longer prefix", "tcp", "198.18.5.5", 8005, "narrow_t", STEERED },
	{ "wider range with longer prefix", "tcp", "198.18.5.5", 8050, "long_t", STEERED },
	{ "narrow range, another address", "tcp", "198.18.200.1", 8009, "narrow_t", STEERED },
	{ "narrow range ends at 8009", "tcp", "198.18.200.1", 8010, NULL, UNBOUND },
	{ "no range covers the address", "tcp", "198.19.5.5", 8005, NULL, UNBOUND },
	{ "equal width: longest prefix", "tcp", "198.18.7.1", 9000, "long24_t", STEERED },
	{ "equal width: outside the longer prefix", "tcp", "198.19.0.1", 9000, "short_t", STEERED },
	{ "explicit 0.0.0.0/0 beats any (v4)", "tcp", "198.18.0.50", 9100, "zero4_t", STEERED },
	{ "any still covers v6", "tcp", "2001:db8::50", 9100, "anysvc_t", STEERED },
	{ "explicit ::/0 beats any (v6)", "tcp", "2001:db8::50", 9101, "zero6_t", STEERED },
	{ "any still covers v4", "tcp", "198.18.0.50", 9101, "anysvc_t", STEERED },
	{ "exact port beats range", "tcp", "198.18.0.50", 9250, "exact_t", STEERED },
	{ "range around the exact port", "tcp", "198.18.0.50", 9251, "range_t", STEERED },
	{ "range low end", "tcp", "198.18.0.50", 9200, "range_t", STEERED },
	{ "range high end", "tcp", "198.18.0.50", 9299, "range_t", STEERED },
	{ "exact port beats a range of longer prefix", "tcp", "198.18.9.9", 9250, "exact_t", STEERED },
	{ "range of longer prefix", "tcp", "198.18.9.9", 9299, "rangelong_t", STEERED },
	{ "range 0-65535: port 0", "tcp", "198.18.10.1", 0, "all_t", STEERED },
	{ "range 0-65535: port 65535", "tcp", "198.18.10.1", 65535, "all_t", STEERED },
	{ "range 0-65535: a port bound elsewhere", "tcp", "198.18.10.1", 80, "all_t", STEERED },
	{ "range 0-65535 loses to an exact port", "tcp", "198.18.10.1", 9250, "exact_t", STEERED },
	{ "range 0-65535: udp is not bound", "udp", "198.18.10.1", 80, NULL, UNBOUND },
	{ "v4 to a dual-stack v6 socket", "tcp", "198.18.0.2", 7000, "dual_t", STEERED },
	{ "v6 to a dual-stack v6 socket", "tcp", "2001:db8::2", 7000, "dual_t", STEERED },
	{ "udp v4 to a dual-stack v6 socket", "udp", "198.18.0.2", 7000, "dual_u", STEERED },
	{ "v4 to an IPv6-only socket", "tcp", "198.18.0.2", 7001, NULL, NO_SOCKET },
	{ "v6 to an IPv6-only socket", "tcp", "2001:db8::2", 7001, "v6only_t", STEERED },
	{ "bound service without sockets", "tcp", "198.18.0.2", 7002, NULL, NO_SOCKET },
	{ "bound service without sockets, v6", "tcp", "2001:db8::2", 7002, NULL, NO_SOCKET },
	{ "socket closed after install", "tcp", "198.18.0.2", 7003, NULL, NO_SOCKET },
	{ "kernel refuses v6-only socket for v4", "tcp", "198.18.0.2", 7004, NULL, NO_SOCKET },
	{ "kernel refuses udp socket for tcp", "tcp", "198.18.0.2", 7005, NULL, NO_SOCKET },
};

static void test_table(void **state)
{
	struct fx *fx = *state;
	struct pt_state st = {};
	struct snap a = {}, b = {};
	size_t i, gone;
	uint8_t proto;

	for (i = 0; i < NELEM(table_services); i++)
		st_service(&st, table_services[i]);
	for (i = 0; i < NELEM(table_bindings); i++)
		st_bind(&st, table_bindings[i]);
	commit(fx, &st);

	/* web: its own socket per protocol and family */
	{
		size_t t4 = sock_new(fx, "web_t4", PT_TCP, "127.0.0.1", false);
		size_t t6 = sock_new(fx, "web_t6", PT_TCP, "::1", true);
		size_t u4 = sock_new(fx, "web_u4", PT_UDP, "127.0.0.1", false);
		size_t u6 = sock_new(fx, "web_u6", PT_UDP, "::1", true);
		size_t tcp[] = { t4, t6 }, udp[] = { u4, u6 };

		sock_install(fx, st_id(&st, "web"), PT_TCP, tcp, 2);
		sock_install(fx, st_id(&st, "web"), PT_UDP, udp, 2);
	}
	/* one dual-stack socket on :: for each precedence service */
	static const char *const dual[] = { "dual", "narrow", "long", "short", "long24", "anysvc",
					    "zero4", "zero6", "range", "exact", "rangelong",
					    "all" };
	for (i = 0; i < NELEM(dual); i++) {
		char name[32];
		size_t s;

		snprintf(name, sizeof(name), "%s_t", dual[i]);
		s = sock_new(fx, name, PT_TCP, "::", false);
		sock_install(fx, st_id(&st, dual[i]), PT_TCP, &s, 1);
	}
	i = sock_new(fx, "dual_u", PT_UDP, "::", false);
	sock_install(fx, st_id(&st, "dual"), PT_UDP, &i, 1);
	i = sock_new(fx, "v6only_t", PT_TCP, "::", true);
	sock_install(fx, st_id(&st, "v6only"), PT_TCP, &i, 1);
	/* gone: installed, then its process "exits" */
	gone = sock_new(fx, "gone_t", PT_TCP, "127.0.0.1", false);
	sock_install(fx, st_id(&st, "gone"), PT_TCP, &gone, 1);
	{
		uint32_t mi = PT_META_INDEX(st_id(&st, "gone"), PT_TCP, PT_INET), meta = 0;
		uint32_t key;
		uint64_t cookie = 0;

		REQUIRE(!bpf_map_lookup_elem(fx->ctx.fds[M_SOCK_META], &mi, &meta), "sock_meta");
		REQUIRE(PT_META_COUNT(meta) == 1, "gone: sock_meta count %u", PT_META_COUNT(meta));
		key = PT_SOCK_KEY(mi, PT_META_BANK(meta), 0);
		REQUIRE(!bpf_map_lookup_elem(fx->ctx.fds[M_SVC_SOCKS], &key, &cookie) &&
				cookie == fx->socks[gone].cookie,
			"gone: socket not in svc_socks before close");
		sock_close(fx, gone);
		CHECK(bpf_map_lookup_elem(fx->ctx.fds[M_SVC_SOCKS], &key, &cookie) && errno == ENOENT,
		      "gone: closed socket still in svc_socks (cookie %llu)",
		      (unsigned long long)cookie);
	}
	/* what no command would install: the kernel must refuse it */
	i = sock_new(fx, "forced_fam_t", PT_TCP, "::", true);
	sock_force(fx, st_id(&st, "forced_fam"), PT_TCP, PT_INET, i);
	i = sock_new(fx, "forced_proto_u", PT_UDP, "127.0.0.1", false);
	sock_force(fx, st_id(&st, "forced_proto"), PT_TCP, PT_INET, i);

	for (i = 0; i < NELEM(table_cases); i++) {
		const struct dcase *c = &table_cases[i];
		const char *src;
		struct lookup l;
		uint64_t want = 0, got;
		uint32_t slot;
		char buf[160];

		REQUIRE(!pt_parse_proto(c->proto, &proto), "bad proto %s", c->proto);
		src = strchr(c->dst, ':') ? "2001:db8::100" : "198.18.0.100";
		l = mk_lookup(proto, c->dst, c->dport, src, (uint16_t)(40000 + i));
		if (c->want)
			want = sock_by_name(fx, c->want)->cookie;
		slot = pt_slot_of_port(&fx->live, proto, c->dport);

		snap_take(fx, &a);
		got = run(fx, &l);
		snap_take(fx, &b);

		bool ok = CHECK(got == want, "%s: got socket %s, want %s", c->name,
				cookie_name(fx, got), c->want ? c->want : "none");
		ok &= snap_check(&a, &b, c->outcome, slot, c->name);
		printf("# %s %s: %s -> %s\n", ok ? "ok  " : "FAIL", c->name,
		       fmt_lookup(&l, buf, sizeof(buf)), cookie_name(fx, got));
	}
	free(a.slot);
	free(b.slot);
	pt_state_free(&st);
	DONE();
}

/* ---- several sockets per service ---- */

#define POOL 8
#define FLOWS 256

static void test_multi_socket(void **state)
{
	struct fx *fx = *state;
	struct pt_state st = {};
	size_t socks[POOL];
	uint64_t first[2][FLOWS];
	unsigned int per[2][POOL] = {};
	uint32_t svc, slot;
	struct pt_counters c0, c1;
	size_t victim = 0;
	unsigned int runs = 0, moved = 0;

	svc = st_service(&st, "pool");
	st_bind(&st, "tcp any 6000 pool");
	commit(fx, &st);
	for (size_t i = 0; i < POOL; i++) {
		char name[16];

		snprintf(name, sizeof(name), "pool%zu", i);
		socks[i] = sock_new(fx, name, PT_TCP, "::", false);	/* both families */
	}
	sock_install(fx, svc, PT_TCP, socks, POOL);
	slot = pt_slot_of_port(&fx->live, PT_TCP, 6000);
	c0 = slot_read(fx, slot);

	for (int fam = 0; fam < 2; fam++) {
		const char *dst = fam ? "2001:db8::2" : "198.18.0.2";
		const char *src = fam ? "2001:db8::100" : "198.18.0.100";
		unsigned int used = 0;

		for (unsigned int f = 0; f < FLOWS; f++) {
			struct lookup l = mk_lookup(PT_TCP, dst, 6000, src, (uint16_t)(20000 + f));
			int which = -1;

			first[fam][f] = run(fx, &l);
			runs++;
			for (size_t i = 0; i < POOL; i++)
				if (fx->socks[socks[i]].cookie == first[fam][f])
					which = (int)i;
			CHECK(which >= 0, "%s flow %u: got socket %s, want one of the pool",
			      fam ? "v6" : "v4", f, cookie_name(fx, first[fam][f]));
			if (which >= 0)
				per[fam][which]++;
			/* one flow, one socket */
			for (int r = 0; r < 3; r++) {
				uint64_t again = run(fx, &l);

				runs++;
				CHECK(again == first[fam][f],
				      "%s flow %u: run %d got %s, first run got %s",
				      fam ? "v6" : "v4", f, r + 2, cookie_name(fx, again),
				      cookie_name(fx, first[fam][f]));
			}
		}
		printf("# %s: %u flows per socket:", fam ? "v6" : "v4", FLOWS);
		for (size_t i = 0; i < POOL; i++) {
			printf(" %u", per[fam][i]);
			used += per[fam][i] > 0;
		}
		printf("\n");
		CHECK(used > 1, "%s: all %u flows went to one socket", fam ? "v6" : "v4", FLOWS);
		/* the inputs are fixed, so this is deterministic, not flaky */
		CHECK(used == POOL, "%s: only %u of %d sockets got any of %u flows",
		      fam ? "v6" : "v4", used, POOL, FLOWS);
	}
	c1 = slot_read(fx, slot);
	CHECK(c1.steered - c0.steered == runs && c1.no_socket == c0.no_socket,
	      "pool: steered +%llu no_socket +%llu, want +%u +0",
	      (unsigned long long)(c1.steered - c0.steered),
	      (unsigned long long)(c1.no_socket - c0.no_socket), runs);

	/* close the busiest socket: its flows move to live ones, others stay */
	for (size_t i = 1; i < POOL; i++)
		if (per[0][i] > per[0][victim])
			victim = i;
	uint64_t dead = fx->socks[socks[victim]].cookie;
	sock_close(fx, socks[victim]);
	c0 = slot_read(fx, slot);
	runs = 0;
	for (int fam = 0; fam < 2; fam++) {
		const char *dst = fam ? "2001:db8::2" : "198.18.0.2";
		const char *src = fam ? "2001:db8::100" : "198.18.0.100";

		for (unsigned int f = 0; f < FLOWS; f++) {
			struct lookup l = mk_lookup(PT_TCP, dst, 6000, src, (uint16_t)(20000 + f));
			uint64_t now = run(fx, &l), again = run(fx, &l);
			bool live = false;

			runs += 2;
			for (size_t i = 0; i < POOL; i++)
				live |= i != victim && fx->socks[socks[i]].cookie == now;
			CHECK(again == now, "%s flow %u after close: %s then %s", fam ? "v6" : "v4",
			      f, cookie_name(fx, now), cookie_name(fx, again));
			if (first[fam][f] == dead) {
				moved++;
				CHECK(live, "%s flow %u of the closed socket: got %s, want a live pool socket",
				      fam ? "v6" : "v4", f, cookie_name(fx, now));
			} else {
				CHECK(now == first[fam][f],
				      "%s flow %u was on %s, now on %s after closing %s",
				      fam ? "v6" : "v4", f, cookie_name(fx, first[fam][f]),
				      cookie_name(fx, now), cookie_name(fx, dead));
			}
		}
	}
	CHECK(moved > 0, "no flow was on the closed socket");
	c1 = slot_read(fx, slot);
	CHECK(c1.steered - c0.steered == runs && c1.no_socket == c0.no_socket,
	      "pool after close: steered +%llu no_socket +%llu, want +%u +0",
	      (unsigned long long)(c1.steered - c0.steered),
	      (unsigned long long)(c1.no_socket - c0.no_socket), runs);
	printf("# closed pool%zu: %u flows moved to live sockets\n", victim, moved);

	/* every socket gone: none, counted as no_socket */
	for (size_t i = 0; i < POOL; i++)
		if (i != victim)
			sock_close(fx, socks[i]);
	c0 = slot_read(fx, slot);
	for (unsigned int f = 0; f < 16; f++) {
		struct lookup l = mk_lookup(PT_TCP, "198.18.0.2", 6000, "198.18.0.100",
					    (uint16_t)(20000 + f));
		uint64_t got = run(fx, &l);

		CHECK(!got, "flow %u with every socket closed: got %s", f, cookie_name(fx, got));
	}
	c1 = slot_read(fx, slot);
	CHECK(c1.no_socket - c0.no_socket == 16 && c1.steered == c0.steered,
	      "all closed: no_socket +%llu steered +%llu, want +16 +0",
	      (unsigned long long)(c1.no_socket - c0.no_socket),
	      (unsigned long long)(c1.steered - c0.steered));
	pt_state_free(&st);
	DONE();
}

/* ---- generations ---- */

static void expect_run(struct fx *fx, const char *when, uint8_t proto, const char *dst,
		       uint16_t port, const char *want)
{
	const char *src = strchr(dst, ':') ? "2001:db8::100" : "198.18.0.100";
	struct lookup l = mk_lookup(proto, dst, port, src, 33333);
	uint64_t got = run(fx, &l);
	uint64_t cookie = want ? sock_by_name(fx, want)->cookie : 0;
	char buf[160];

	CHECK(got == cookie, "%s: %s: got %s, want %s", when, fmt_lookup(&l, buf, sizeof(buf)),
	      cookie_name(fx, got), want ? want : "none");
}

/* ---- bind_host's placement ---- */

/* n host bindings of one shape into c (gen 0): 0, sequential IPv4
 * addresses in one class; 1, IPv4 addresses over 1,000 classes of both
 * protocols; 2, IPv6 addresses that differ in their last word. */
static void host_keys(struct pt_compiled *c, uint32_t n, int shape)
{
	memset(c, 0, sizeof(*c));
	c->hosts = calloc(n, sizeof(*c->hosts));
	REQUIRE(c->hosts, "calloc");
	c->nhosts = n;
	for (uint32_t i = 0; i < n; i++) {
		struct pt_bind_entry *e = &c->hosts[i];
		uint32_t a = htonl(0xc6120000u + (shape == 1 ? i / 2000 : i));

		e->key.proto = shape == 1 ? (uint8_t)(i & 1) : PT_TCP;
		e->key.family = shape == 2 ? PT_INET6 : PT_INET;
		e->key.class = htonl(shape == 1 ? (i >> 1) % 1000 : 7);
		e->key.prefixlen = PT_LPM_KEY_BITS + (shape == 2 ? 128 : 32);
		if (shape == 2) {
			uint32_t w[4] = { htonl(0x20010db8), 0, 0, htonl(i) };

			memcpy(e->key.addr, w, 16);
		} else {
			memcpy(e->key.addr, &a, 4);
		}
		e->val.service = i % PT_MAX_SERVICES;
		e->val.slot = i % PT_MAX_SLOTS;
	}
}

/* Every placed slot is one of c's bindings in one of its two buckets, with
 * its service and slot; returns how many are placed. */
static size_t host_check(const struct pt_compiled *c, const struct pt_host_bucket *t,
			 uint32_t nb)
{
	size_t placed = 0;

	for (uint32_t b = 0; b < nb; b++)
		for (int w = 0; w < PT_HOST_WAYS; w++) {
			const struct pt_host_slot *s = &t[b].way[w];
			uint64_t h;
			uint32_t i;

			if (!s->tag)
				continue;
			placed++;
			h = pt_host_hash(s->tag, s->addr[0], s->addr[1], s->addr[2], s->addr[3]);
			REQUIRE(PT_HOST_BUCKET(h, nb) == b || PT_HOST_BUCKET(h >> 32, nb) == b,
				"bucket %u way %d: in neither of its buckets", b, w);
			for (i = 0; i < c->nhosts; i++) {
				const struct pt_bind_entry *e = &c->hosts[i];

				if (PT_HOST_TAG(e->key.proto, e->key.family, ntohl(e->key.class)) ==
					    s->tag &&
				    !memcmp(e->key.addr, s->addr, 16))
					break;
			}
			REQUIRE(i < c->nhosts, "bucket %u way %d: no such binding", b, w);
			REQUIRE(s->service == c->hosts[i].val.service && s->slot == c->hosts[i].val.slot,
				"bucket %u way %d: service %u slot %u, want %u %u", b, w, s->service,
				s->slot, c->hosts[i].val.service, c->hosts[i].val.slot);
		}
	return placed;
}

/*
 * At the default capacity every one of PT_MAX_BINDINGS host bindings finds
 * a way (the half is 7/8 full), whatever their shape, each once and in one
 * of its buckets; the same bindings place the same way every time (a
 * commit deletes what it wrote by placing them again); a table too small
 * places what fits and counts the rest.
 */
static void test_host_table(void **state)
{
	const uint32_t nb = PT_HOST_BUCKETS(PT_MAX_BINDINGS);
	struct pt_host_bucket *t, *again;
	struct pt_compiled c;
	size_t spilled, spilled2;
	uint32_t n;

	(void)state;
	failures = 0;
	for (int shape = 0; shape < 3; shape++) {
		host_keys(&c, PT_MAX_BINDINGS, shape);
		REQUIRE(!pt_host_table(&c, nb, &t, &spilled), "pt_host_table");
		CHECK(spilled == 0, "shape %d: %zu of %u bindings found no way", shape, spilled,
		      PT_MAX_BINDINGS);
		REQUIRE(!pt_host_table(&c, nb, &again, &spilled2), "pt_host_table");
		CHECK(spilled2 == spilled && !memcmp(t, again, nb * sizeof(*t)),
		      "shape %d: placed differently the second time", shape);
		free(again);
		{
			size_t placed = 0;

			for (uint32_t b = 0; b < nb; b++)
				for (int w = 0; w < PT_HOST_WAYS; w++)
					placed += t[b].way[w].tag != 0;
			CHECK(placed == PT_MAX_BINDINGS, "shape %d: %zu placed", shape, placed);
		}
		free(t);
		pt_compiled_free(&c);
		/* slot by slot (a quadratic check) at the same load, on a
		 * smaller table */
		n = 3500;
		host_keys(&c, n, shape);
		REQUIRE(!pt_host_table(&c, PT_HOST_BUCKETS(n), &t, &spilled), "pt_host_table");
		CHECK(spilled == 0, "shape %d, %u: %zu found no way", shape, n, spilled);
		CHECK(host_check(&c, t, PT_HOST_BUCKETS(n)) == n, "shape %d: not every binding placed",
		      shape);
		free(t);
		pt_compiled_free(&c);
	}
	/* one bucket, ten bindings: four placed, six left for the trie */
	host_keys(&c, 10, 0);
	REQUIRE(!pt_host_table(&c, 1, &t, &spilled), "pt_host_table");
	CHECK(spilled == 6, "one bucket: %zu left, want 6", spilled);
	CHECK(host_check(&c, t, 1) == 4, "one bucket: not four placed");
	free(t);
	pt_compiled_free(&c);
	DONE();
}

static void test_generation(void **state)
{
	struct fx *fx = *state;
	struct pt_state s0 = {}, s1 = {};
	struct pt_global g0, g1;
	size_t a, b;

	st_service(&s0, "alpha");
	st_service(&s0, "beta");
	st_bind(&s0, "tcp any 5000 alpha");
	st_bind(&s0, "udp 198.18.0.0/15 5353 beta");
	commit(fx, &s0);
	REQUIRE(fx->gen == 0, "first commit went to generation %u", fx->gen);
	a = sock_new(fx, "alpha_t", PT_TCP, "::", false);
	b = sock_new(fx, "beta_t", PT_TCP, "::", false);
	sock_install(fx, st_id(&s0, "alpha"), PT_TCP, &a, 1);
	sock_install(fx, st_id(&s0, "beta"), PT_TCP, &b, 1);
	a = sock_new(fx, "alpha_u", PT_UDP, "::", false);
	b = sock_new(fx, "beta_u", PT_UDP, "::", false);
	sock_install(fx, st_id(&s0, "alpha"), PT_UDP, &a, 1);
	sock_install(fx, st_id(&s0, "beta"), PT_UDP, &b, 1);

	expect_run(fx, "gen 0", PT_TCP, "198.18.0.2", 5000, "alpha_t");
	expect_run(fx, "gen 0", PT_TCP, "2001:db8::2", 5000, "alpha_t");
	expect_run(fx, "gen 0", PT_TCP, "198.18.0.2", 5001, NULL);
	expect_run(fx, "gen 0", PT_UDP, "198.18.0.2", 5353, "beta_u");

	/* generation 1: 5000 moves to beta, 5001 appears, 5353 goes */
	st_service(&s1, "alpha");
	st_service(&s1, "beta");
	st_bind(&s1, "tcp any 5000 beta");
	st_bind(&s1, "tcp 198.18.0.0/15 5001 alpha");
	gen_stage(fx, &s1, 1);
	expect_run(fx, "gen 1 staged, gen 0 live", PT_TCP, "198.18.0.2", 5000, "alpha_t");
	expect_run(fx, "gen 1 staged, gen 0 live", PT_TCP, "198.18.0.2", 5001, NULL);
	expect_run(fx, "gen 1 staged, gen 0 live", PT_UDP, "198.18.0.2", 5353, "beta_u");

	gen_flip(fx, 1);
	gen_is_live(fx, &s1, 1);
	expect_run(fx, "gen 1 live", PT_TCP, "198.18.0.2", 5000, "beta_t");
	expect_run(fx, "gen 1 live", PT_TCP, "2001:db8::2", 5000, "beta_t");
	expect_run(fx, "gen 1 live", PT_TCP, "198.18.0.2", 5001, "alpha_t");
	expect_run(fx, "gen 1 live", PT_TCP, "2001:db8::2", 5001, NULL);
	g0 = global_read(fx);
	expect_run(fx, "gen 1 live", PT_UDP, "198.18.0.2", 5353, NULL);
	g1 = global_read(fx);
	CHECK(g1.dispatch_other - g0.dispatch_other == 1,
	      "gen 1 live: unbound 5353 counted dispatch_other +%llu, want +1",
	      (unsigned long long)(g1.dispatch_other - g0.dispatch_other));

	/* dropping generation 0's entries changes nothing for gen 1 */
	REQUIRE(!comp_delete(fx, &fx->comp[0]), "clearing generation 0");
	pt_compiled_free(&fx->comp[0]);
	expect_run(fx, "gen 0 cleared", PT_TCP, "198.18.0.2", 5000, "beta_t");
	expect_run(fx, "gen 0 cleared", PT_TCP, "198.18.0.2", 5001, "alpha_t");

	/* pointing config.gen at the empty generation: nothing is bound */
	gen_flip(fx, 0);
	expect_run(fx, "flipped to empty gen 0", PT_TCP, "198.18.0.2", 5000, NULL);
	expect_run(fx, "flipped to empty gen 0", PT_TCP, "198.18.0.2", 5001, NULL);
	gen_flip(fx, 1);
	expect_run(fx, "flipped back to gen 1", PT_TCP, "198.18.0.2", 5000, "beta_t");

	/* and the regular commit path keeps alternating */
	commit(fx, &s0);
	CHECK(fx->gen == 0, "commit after gen 1 went to generation %u", fx->gen);
	expect_run(fx, "gen 0 again", PT_TCP, "198.18.0.2", 5000, "alpha_t");
	expect_run(fx, "gen 0 again", PT_TCP, "198.18.0.2", 5001, NULL);
	pt_state_free(&s0);
	pt_state_free(&s1);
	DONE();
}

/* ---- socket bank swap ---- */

static bool cookie_in(struct fx *fx, uint64_t cookie, const size_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fx->socks[set[i]].cookie == cookie)
			return true;
	return false;
}

static uint32_t meta_read(struct fx *fx, uint32_t svc, uint8_t proto, uint8_t fam)
{
	uint32_t mi = PT_META_INDEX(svc, proto, fam), meta = 0;

	REQUIRE(!bpf_map_lookup_elem(fx->ctx.fds[M_SOCK_META], &mi, &meta), "sock_meta: %s",
		strerror(errno));
	return meta;
}

/* 32 flows, all to sockets of set (or none when n == 0). */
static void flows_in(struct fx *fx, const char *when, const size_t *set, size_t n)
{
	for (unsigned int f = 0; f < 32; f++) {
		const char *dst = f & 1 ? "2001:db8::2" : "198.18.0.2";
		const char *src = f & 1 ? "2001:db8::100" : "198.18.0.100";
		struct lookup l = mk_lookup(PT_TCP, dst, 5100, src, (uint16_t)(30000 + f));
		uint64_t got = run(fx, &l);
		char buf[160];

		if (n)
			CHECK(cookie_in(fx, got, set, n), "%s: %s got %s, want one of the set", when,
			      fmt_lookup(&l, buf, sizeof(buf)), cookie_name(fx, got));
		else
			CHECK(!got, "%s: %s got %s, want none", when,
			      fmt_lookup(&l, buf, sizeof(buf)), cookie_name(fx, got));
	}
}

static void test_bank_swap(void **state)
{
	struct fx *fx = *state;
	struct pt_state st = {};
	size_t set1[2], set2[3];
	uint32_t svc, m0, m1, m2;
	struct pt_counters c0, c1;
	uint32_t slot;

	svc = st_service(&st, "swap");
	st_bind(&st, "tcp any 5100 swap");
	commit(fx, &st);
	slot = pt_slot_of_port(&fx->live, PT_TCP, 5100);
	set1[0] = sock_new(fx, "old0", PT_TCP, "::", false);
	set1[1] = sock_new(fx, "old1", PT_TCP, "::", false);
	for (size_t i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "new%zu", i);
		set2[i] = sock_new(fx, name, PT_TCP, "::", false);
	}

	sock_install(fx, svc, PT_TCP, set1, 2);
	m0 = meta_read(fx, svc, PT_TCP, PT_INET);
	CHECK(PT_META_COUNT(m0) == 2, "set 1: count %u, want 2", PT_META_COUNT(m0));
	flows_in(fx, "set 1", set1, 2);

	sock_install(fx, svc, PT_TCP, set2, 3);
	m1 = meta_read(fx, svc, PT_TCP, PT_INET);
	CHECK(PT_META_BANK(m1) != PT_META_BANK(m0) && PT_META_COUNT(m1) == 3,
	      "set 2: meta %#x after %#x, want the other bank with 3", m1, m0);
	CHECK(PT_META_BANK(meta_read(fx, svc, PT_TCP, PT_INET6)) == PT_META_BANK(m1),
	      "set 2: v6 bank did not flip with v4");
	flows_in(fx, "set 2", set2, 3);
	/* the old bank is empty: nothing can reach the old set any more */
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t key = PT_SOCK_KEY(PT_META_INDEX(svc, PT_TCP, PT_INET), PT_META_BANK(m0), i);
		uint64_t cookie;

		CHECK(bpf_map_lookup_elem(fx->ctx.fds[M_SVC_SOCKS], &key, &cookie) && errno == ENOENT,
		      "old bank slot %u still holds %s", i, cookie_name(fx, cookie));
	}

	sock_install(fx, svc, PT_TCP, set1, 2);
	m2 = meta_read(fx, svc, PT_TCP, PT_INET);
	CHECK(PT_META_BANK(m2) == PT_META_BANK(m0) && PT_META_COUNT(m2) == 2,
	      "set 1 again: meta %#x, want bank %u with 2", m2, PT_META_BANK(m0));
	flows_in(fx, "set 1 again", set1, 2);

	/* an empty set: bound, no socket */
	REQUIRE(!pt_sockets_clear(&fx->ctx, svc, PT_TCP), "pt_sockets_clear");
	c0 = slot_read(fx, slot);
	flows_in(fx, "cleared", NULL, 0);
	c1 = slot_read(fx, slot);
	CHECK(c1.no_socket - c0.no_socket == 32 && c1.steered == c0.steered,
	      "cleared: no_socket +%llu steered +%llu, want +32 +0",
	      (unsigned long long)(c1.no_socket - c0.no_socket),
	      (unsigned long long)(c1.steered - c0.steered));
	pt_state_free(&st);
	DONE();
}

/* ---- random configurations against the reference model ---- */

#define RND_CONFIGS 200
#define RND_LOOKUPS 50
#define RND_SERVICES 6		/* the last one never has sockets */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: small, and the same everywhere */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static const char *const rnd_prefixes[] = {
	"any", "0.0.0.0/0", "198.16.0.0/12", "198.18.0.0/15", "198.18.0.0/16",
	"198.18.0.0/23", "198.18.0.0/24", "198.18.0.0/30", "198.18.0.0/31", "198.18.0.2/31",
	"198.18.0.2/32", "198.18.0.3/32", "198.18.0.128/25", "198.18.1.0/24", "198.18.2.0/24",
	"198.19.0.0/16", "::/0", "2001:db8::/32", "2001:db8::/48", "2001:db8::/64",
	"2001:db8::/126", "2001:db8::/127", "2001:db8::2/128", "2001:db8::3/128",
	"2001:db8:0:1::/64", "2001:db8:1::/48",
};

static const struct {
	uint16_t lo, hi;
} rnd_ranges[] = {
	{ 80, 80 }, { 443, 443 }, { 53, 53 }, { 79, 81 }, { 80, 95 }, { 80, 96 },
	{ 0, 1023 }, { 0, 65535 }, { 1024, 49151 }, { 49152, 65535 }, { 1000, 2000 },
	{ 1500, 2500 }, { 1500, 1500 }, { 8000, 8999 }, { 65535, 65535 }, { 0, 0 },
	{ 1023, 1024 }, { 49151, 49152 },
};

static const char *const rnd_addrs4[] = {
	"198.18.0.2", "198.18.0.3", "198.18.0.0", "198.18.0.1", "198.18.0.129", "198.18.1.1",
	"198.18.2.7", "198.18.255.255", "198.19.0.1", "198.19.255.255", "198.17.0.1",
	"10.1.2.3", "0.0.0.0", "255.255.255.255",
};

static const char *const rnd_addrs6[] = {
	"2001:db8::2", "2001:db8::3", "2001:db8::", "2001:db8::1", "2001:db8::4",
	"2001:db8:0:1::1", "2001:db8:1::1", "2001:db8:ffff::1", "2001:db9::1", "::1", "::",
	"::ffff:198.18.0.2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

/* A random address of the pool for family fam, inside p when the pool has
 * one (p may be NULL). */
static void pick_addr(uint8_t fam, const struct pt_prefix *p, uint8_t addr[16])
{
	const char *const *pool = fam == PT_INET ? rnd_addrs4 : rnd_addrs6;
	size_t n = fam == PT_INET ? NELEM(rnd_addrs4) : NELEM(rnd_addrs6);
	size_t start = rnd_below((uint32_t)n);
	uint8_t f;

	for (size_t i = 0; i < n && p; i++) {
		parse_addr(pool[(start + i) % n], &f, addr);
		if (pt_prefix_match(p, fam, addr))
			return;
	}
	parse_addr(pool[start], &f, addr);
}

/*
 * Most lookups aim at one of the bindings (its protocol, an address inside
 * its prefix, a port at or around its bounds), where the rules overlap and
 * precedence decides; the rest are anything at all.
 */
static void pick_lookup(const struct pt_state *st, const uint16_t *ports, size_t nports,
			struct lookup *l)
{
	const struct pt_binding *b = NULL;
	uint8_t f;

	memset(l, 0, sizeof(*l));
	if (st->nbindings && rnd_below(10) < 7)
		b = &st->bindings[rnd_below((uint32_t)st->nbindings)];
	if (b) {
		l->proto = b->proto;
		l->family = b->prefix.family == PT_FAMILY_ANY ? (uint8_t)rnd_below(PT_NFAMILY)
							      : b->prefix.family;
		pick_addr(l->family, &b->prefix, l->dst);
		switch (rnd_below(4)) {
		case 0:
			l->dport = b->lo;
			break;
		case 1:
			l->dport = b->hi;
			break;
		case 2:
			l->dport = (uint16_t)(b->lo + rnd_below((uint32_t)(b->hi - b->lo) + 1));
			break;
		default:
			l->dport = ports[rnd_below((uint32_t)nports)];
			break;
		}
	} else {
		l->proto = (uint8_t)rnd_below(PT_NPROTO);
		l->family = (uint8_t)rnd_below(PT_NFAMILY);
		pick_addr(l->family, NULL, l->dst);
		l->dport = rnd_below(2) ? ports[rnd_below((uint32_t)nports)]
					: (uint16_t)rnd_below(65536);
	}
	parse_addr(l->family == PT_INET ? "198.18.0.100" : "2001:db8::100", &f, l->src);
	l->sport = (uint16_t)(1024 + rnd_below(64512));
}

/* How many bindings cover the lookup (more than one: precedence decides). */
static unsigned int candidates(const struct pt_state *st, const struct lookup *l)
{
	unsigned int n = 0;

	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		n += b->proto == l->proto && l->dport >= b->lo && l->dport <= b->hi &&
		     pt_prefix_match(&b->prefix, l->family, l->dst);
	}
	return n;
}

static void print_config(const struct pt_state *st)
{
	char p[64], r[16];

	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		printf("#     [%zu] bind %s %s %s r%u\n", i, pt_proto_name(b->proto),
		       pt_format_prefix(&b->prefix, p, sizeof(p)),
		       pt_format_ports(b->lo, b->hi, r, sizeof(r)), b->service);
	}
}

/* The host bindings of generation gen (compiled in fx->comp[gen]) that
 * found no way in bind_host's half, and went to bind_lpm. */
static size_t host_spilled(struct fx *fx, uint8_t gen)
{
	int fd = fx->ctx.fds[M_BIND_HOST];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), nb;
	size_t placed = 0;

	REQUIRE(!bpf_obj_get_info_by_fd(fd, &info, &len), "bind_host: %s", strerror(errno));
	nb = info.max_entries / 2;
	for (__u32 i = 0; i < nb; i++) {
		struct pt_host_bucket b;
		__u32 key = i + (gen ? nb : 0);

		REQUIRE(!bpf_map_lookup_elem(fd, &key, &b), "bind_host[%u]: %s", key,
			strerror(errno));
		for (int w = 0; w < PT_HOST_WAYS; w++)
			placed += b.way[w].tag != 0;
	}
	REQUIRE(placed <= fx->comp[gen].nhosts, "bind_host: %zu placed of %zu", placed,
		fx->comp[gen].nhosts);
	return fx->comp[gen].nhosts - placed;
}

static void test_random(void **state)
{
	struct fx *fx = *state;
	size_t spilled = 0;
	const char *env = getenv("PORTIER_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0)
			    : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	/* rs[svc][proto][family]: each service's own socket */
	size_t rs[RND_SERVICES][PT_NPROTO][PT_NFAMILY];
	unsigned int reported = 0, steered = 0, nosock = 0, unbound = 0, contested = 0;
	struct pt_state st = {};

	rng_state = seed;
	printf("# random: seed %llu (PORTIER_SEED=%llu repeats this run)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	fflush(stdout);

	for (uint32_t s = 0; s < RND_SERVICES; s++) {
		char name[16];

		snprintf(name, sizeof(name), "r%u", s);
		REQUIRE(st_service(&st, name) == s, "service ids are not dense");
	}
	for (uint32_t s = 0; s + 1 < RND_SERVICES; s++)
		for (uint8_t p = 0; p < PT_NPROTO; p++) {
			char name[16];

			snprintf(name, sizeof(name), "r%u_%s4", s, pt_proto_name(p));
			rs[s][p][PT_INET] = sock_new(fx, name, p, "127.0.0.1", false);
			snprintf(name, sizeof(name), "r%u_%s6", s, pt_proto_name(p));
			rs[s][p][PT_INET6] = sock_new(fx, name, p, "::1", true);
			sock_install(fx, s, p, rs[s][p], 2);
		}

	for (unsigned int cfg = 0; cfg < RND_CONFIGS; cfg++) {
		unsigned int want = 1 + rnd_below(16);
		uint16_t ports[64];
		size_t nports = 0;

		/* a fresh configuration over the same services */
		free(st.bindings);
		st.bindings = NULL;
		st.nbindings = 0;
		for (unsigned int tries = 0; st.nbindings < want && tries < 4 * want; tries++) {
			struct pt_binding b = {};
			size_t r = rnd_below(NELEM(rnd_ranges));
			int err;

			b.proto = (uint8_t)rnd_below(PT_NPROTO);
			REQUIRE(!pt_parse_prefix(rnd_prefixes[rnd_below(NELEM(rnd_prefixes))],
						 &b.prefix),
				"prefix pool: %s", pt_why);
			b.lo = rnd_ranges[r].lo;
			b.hi = rnd_ranges[r].hi;
			b.service = rnd_below(RND_SERVICES);
			err = pt_binding_set(&st, &b, NULL);
			REQUIRE(!err || err == -ERANGE, "pt_binding_set: %d", err);
		}
		commit(fx, &st);
		spilled += host_spilled(fx, fx->gen);
		for (size_t i = 0; i < st.nbindings && nports + 4 <= NELEM(ports); i++) {
			const struct pt_binding *b = &st.bindings[i];

			ports[nports++] = b->lo;
			ports[nports++] = b->hi;
			ports[nports++] = (uint16_t)(b->lo - 1);	/* wraps: 0 -> 65535 */
			ports[nports++] = (uint16_t)(b->hi + 1);
		}

		for (unsigned int k = 0; k < RND_LOOKUPS; k++) {
			struct lookup l = {};
			struct pt_counters c0, c1;
			struct pt_global g0, g1;
			ssize_t bi;
			uint64_t want_cookie = 0, got;
			enum outcome oc = UNBOUND;
			uint32_t slot = 0, svc = 0;
			char buf[160];
			bool ok;

			pick_lookup(&st, ports, nports, &l);
			bi = pt_model_bind_lookup(&st, l.proto, l.family, l.dst, l.dport);
			if (bi >= 0) {
				svc = st.bindings[bi].service;
				slot = pt_slot_of_port(&st, l.proto, l.dport);
				if (svc + 1 < RND_SERVICES) {
					want_cookie = fx->socks[rs[svc][l.proto][l.family]].cookie;
					oc = STEERED;
				} else {
					oc = NO_SOCKET;
				}
			}
			if (bi >= 0)
				c0 = slot_read(fx, slot);
			g0 = global_read(fx);
			got = run(fx, &l);
			g1 = global_read(fx);
			ok = got == want_cookie &&
			     g1.dispatch_other - g0.dispatch_other == (oc == UNBOUND);
			if (bi >= 0) {
				c1 = slot_read(fx, slot);
				ok &= c1.steered - c0.steered == (oc == STEERED) &&
				      c1.no_socket - c0.no_socket == (oc == NO_SOCKET);
			} else {
				c0 = c1 = (struct pt_counters){};
			}
			contested += candidates(&st, &l) > 1;
			steered += oc == STEERED;
			nosock += oc == NO_SOCKET;
			unbound += oc == UNBOUND;
			if (ok)
				continue;
			failures++;
			if (reported++ >= 5)
				continue;
			printf("# FAIL random: seed %llu, configuration %u, lookup %u: %s\n",
			       (unsigned long long)seed, cfg, k, fmt_lookup(&l, buf, sizeof(buf)));
			print_config(&st);
			if (bi >= 0)
				printf("#   model: binding [%zd] of service r%u, slot %u; "
				       "want socket %s, %s\n",
				       bi, svc, slot, cookie_name(fx, want_cookie), outcome_name[oc]);
			else
				printf("#   model: no binding; want socket none, dispatch_other\n");
			printf("#   got: socket %s; dispatch_other +%llu, slot %u steered +%llu "
			       "no_socket +%llu\n",
			       cookie_name(fx, got),
			       (unsigned long long)(g1.dispatch_other - g0.dispatch_other), slot,
			       (unsigned long long)(c1.steered - c0.steered),
			       (unsigned long long)(c1.no_socket - c0.no_socket));
			fflush(stdout);
		}
	}
	printf("# random: %u configurations x %u lookups: %u steered, %u no_socket, %u unbound, "
	       "%u decided by precedence; %zu host bindings in bind_lpm for want of a way; "
	       "%u mismatches\n",
	       RND_CONFIGS, RND_LOOKUPS, steered, nosock, unbound, contested, spilled, failures);
	CHECK(steered > 0 && nosock > 0 && unbound > 0 && contested > 0,
	      "random: the configurations never reached every outcome");
	/* a table of one bucket per generation must overflow, and the
	 * lookups above found every binding all the same */
	CHECK(fx_host_entries != 2 || spilled > 0,
	      "random, one bucket: no host binding ever went to bind_lpm");
	pt_state_free(&st);
	DONE();
}

/* the same, over a bind_host of one bucket per generation */
static void test_random_one_bucket(void **state)
{
	test_random(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_table),
		cmocka_unit_test_setup_teardown(test_table, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_multi_socket, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_generation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bank_swap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_random, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_random_one_bucket, fx_setup_one_bucket,
						fx_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
