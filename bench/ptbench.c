// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ptbench: the kernel-side measurements of `make bench`.
 *
 *   ptbench guard-cost --guard-id ID --pin-dir DIR --empty OBJ
 *                      [--variant NAME=OBJ]... [--xdp-filter DIR]
 *                      [--repeat N] [--rounds K]
 *       Cost per packet of the guard (the program portier attached, by id)
 *       on seven crafted packets, against an empty XDP program and, on the
 *       packets that carry the same port rule, against xdp-filter's
 *       all-features program and its UDP-only or TCP-only program. Every
 *       program is first run once
 *       per packet and its verdict checked, so a configuration that does not
 *       match the packets is an error, not a number. Then K rounds, each
 *       running every (program, packet) pair with BPF_PROG_TEST_RUN and
 *       repeat N, interleaved so that drift hits all pairs alike; prints
 *       "guard.CASE.PROG NS" once per round, NS the kernel's ns per run.
 *       Each --variant (another build of the guard, loaded over the maps
 *       pinned in --pin-dir, which must have the same layout) runs on every
 *       packet, its verdict checked like the guard's: two builds side by
 *       side in the same rounds. --steer adds the
 *       steering cases (see steer_setup): a UDP port steered to a CPU
 *       against its twin without, and a port bound to an AF_XDP service
 *       with no socket (the fallback path) against one bound to a
 *       kernel-socket service; their counters are checked to have moved
 *       on the path meant (cpu, fallback) before any timing.
 *
 *   ptbench lookup-cost --empty OBJ --case TAG=DIR,ADDR:PORT [--case ...]
 *                       [--variant NAME=OBJ]... [--udp] [--repeat N] [--rounds K]
 *   ptbench lookup-cost --empty OBJ --prog-pin DIR/dispatch_prog --dst ADDR:PORT
 *                       [--tag T] ...
 *       Cost per sk_lookup run of the dispatcher pinned in each case's portier
 *       pin directory DIR, for one lookup of ADDR:PORT, against an empty
 *       sk_lookup program, and against each --variant (another build of the
 *       dispatcher, loaded over DIR's pinned maps, which must have the same
 *       layout; it must assign a socket exactly when the dispatcher does).
 *       K rounds, each running every (case, program) pair with repeat N,
 *       the cases interleaved in an order that turns each round; prints
 *       "lookup.TAG.PROG NS" once per round (PROG portier, empty or a
 *       variant's NAME) and "lookup.TAG.assigned 0|1" (whether the
 *       dispatcher handed the lookup to a socket).
 *
 *   ptbench sock-cost --obj OBJ --empty OBJ [--repeat N] [--rounds K]
 *       The socket step alone (bench/sockpick.bpf.c): a listening socket of
 *       this process in a SOCKHASH and in a SOCKMAP, taken and assigned per
 *       sk_lookup run; prints "sock.hash NS", "sock.array NS", "sock.empty
 *       NS" and "sock.assigned 0|1".
 *
 *   ptbench hostkey-cost --obj OBJ --empty OBJ [--entries N] [--repeat N] [--rounds K]
 *       The host-binding look-up alone (bench/hostkey.bpf.c): N entries
 *       (default 100,000) in a HASH with the 24-byte host key (bind_host
 *       was such a HASH before ABI 6), a
 *       12-byte IPv4 key and an 8-byte key, one looked up per sk_lookup
 *       run, and the 24-byte keys in an open-addressing ARRAY instead (each
 *       program is checked to find it, and to miss another key); prints
 *       "hostkey.k24 NS", "hostkey.k12 NS", "hostkey.k8 NS", "hostkey.arr
 *       NS" and "hostkey.empty NS" once per round.
 *
 *   ptbench txgen --obj OBJ --ifname IF --src-mac MAC --dst-mac MAC
 *                 --src ADDR --dst ADDR --dport PORT --count N
 *       Transmit N UDP frames out of IF with BPF_F_TEST_XDP_LIVE_FRAMES and
 *       a program that answers XDP_TX; prints "sent N", "elapsed_ns T" and
 *       the CLOCK_MONOTONIC "start_ns" and "end_ns" of the run (to join the
 *       windows of generators run side by side).
 *
 *   ptbench xdp-attach --obj OBJ --ifname IF --udp-port PORT [--xdp-filter]
 *       Load OBJ and attach it to IF in native mode (only where IF has no
 *       XDP program); the attachment stays after ptbench exits, until `ip
 *       link set dev IF xdpdrv off`. With --xdp-filter, OBJ is one of
 *       xdp-filter's programs, its filter_ports set to drop UDP to PORT;
 *       else OBJ has an array `ports` (bench/parse_drop_xdp.bpf.c) and
 *       ports[PORT] is set to 1.
 *
 * Exit status: 0 success, 1 a measurement failed, 2 bad usage.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "hostkey.h"
#include "portier.h"

#define MAX_ROUNDS 101
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* xdp-filter's map layout (xdp-tools, xdp-filter/common_kern_user.h):
 * filter_ports is a per-CPU array keyed by the port in network order,
 * whose value holds these flags (and a hit counter above them). */
#define XF_FLAG_DST (1u << 1)
#define XF_FLAG_TCP (1u << 2)
#define XF_FLAG_UDP (1u << 3)

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ptbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level > LIBBPF_WARN)
		return 0;
	/* libxdp's run config and xdp-filter's feature word: not libbpf's */
	if (strstr(fmt, "unrecognized data section"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double median(const uint32_t *v, int n)
{
	uint32_t s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_u32);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ---- packets ---- */

struct pktspec {
	bool v6, vlan, hbh, tcp, syn;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t smac[6], dmac[6];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A minimal well-formed frame: Ethernet [802.1Q] IPv4|IPv6 [hop-by-hop]
 * UDP|TCP and 18 bytes of payload (60 bytes for plain IPv4 UDP). */
static int pkt_build(const struct pktspec *s, uint8_t *buf, size_t cap, size_t *len)
{
	size_t l4len = s->tcp ? 20 : 8, pay = 18, off = 0, ip_off, l4_off;
	uint8_t *ip;

	if (cap < 200)
		return -EINVAL;
	memset(buf, 0, cap);
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	off = 12;
	if (s->vlan) {
		put16(buf + off, ETH_P_8021Q);
		put16(buf + off + 2, 100); /* VID 100 */
		off += 4;
	}
	put16(buf + off, s->v6 ? ETH_P_IPV6 : ETH_P_IP);
	off += 2;
	ip_off = off;
	ip = buf + ip_off;
	if (!s->v6) {
		size_t tot = 20 + l4len + pay;

		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)tot);
		ip[8] = 64;
		ip[9] = s->tcp ? IPPROTO_TCP : IPPROTO_UDP;
		if (inet_pton(AF_INET, s->src, ip + 12) != 1 ||
		    inet_pton(AF_INET, s->dst, ip + 16) != 1)
			return -EINVAL;
		put16(ip + 10, ip_csum(ip, 20));
		l4_off = ip_off + 20;
	} else {
		size_t ext = s->hbh ? 8 : 0;

		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(ext + l4len + pay));
		ip[6] = s->hbh ? IPPROTO_HOPOPTS : s->tcp ? IPPROTO_TCP : IPPROTO_UDP;
		ip[7] = 64;
		if (inet_pton(AF_INET6, s->src, ip + 8) != 1 ||
		    inet_pton(AF_INET6, s->dst, ip + 24) != 1)
			return -EINVAL;
		l4_off = ip_off + 40;
		if (s->hbh) {
			/* next header, length 0 (8 bytes), then a PadN of 4 */
			buf[l4_off] = s->tcp ? IPPROTO_TCP : IPPROTO_UDP;
			buf[l4_off + 1] = 0;
			buf[l4_off + 2] = 1; /* PadN */
			buf[l4_off + 3] = 4;
			l4_off += 8;
		}
	}
	put16(buf + l4_off, s->sport);
	put16(buf + l4_off + 2, s->dport);
	if (s->tcp) {
		buf[l4_off + 12] = 5 << 4;		 /* data offset */
		buf[l4_off + 13] = s->syn ? 0x02 : 0x10; /* SYN / ACK */
		put16(buf + l4_off + 14, 65535);
	} else {
		put16(buf + l4_off + 4, (uint16_t)(8 + pay));
	}
	*len = l4_off + l4len + pay;
	return 0;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 255)
			return false;
		mac[i] = (uint8_t)m[i];
	}
	return true;
}

/* ---- programs ---- */

/* The first program of an object file, loaded with pinning off. When
 * pin_dir is given, every map the object declares pinned by name is reused
 * from there, so the program sees the live maps of that portier state. */
static int load_obj(const char *path, const char *pin_dir, struct bpf_object **objp, int *prog_fd)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return fail("open %s: %s", path, strerror(errno));
	bpf_object__for_each_map(map, obj)
	{
		char pin[512];
		/* declared pinned by name (libbpf gave it a path): a map of
		 * portier's to reuse; another one is the object's own */
		bool pinned = bpf_map__pin_path(map) != NULL;
		int fd;

		bpf_map__set_pin_path(map, NULL);
		/* a CPUMAP may not exceed the kernel's NR_CPUS (user/state.c's
		 * pt_obj_fit does the same for portier) */
		if (bpf_map__type(map) == BPF_MAP_TYPE_CPUMAP)
			bpf_map__set_max_entries(map, (__u32)libbpf_num_possible_cpus());
		if (!pin_dir || bpf_map__is_internal(map) || !pinned)
			continue;
		snprintf(pin, sizeof(pin), "%s/%s", pin_dir, bpf_map__name(map));
		fd = bpf_obj_get(pin);
		if (fd < 0) {
			err = errno;
			bpf_object__close(obj);
			return fail("%s: %s", pin, strerror(err));
		}
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err) {
			bpf_object__close(obj);
			return fail("reuse %s: %s", pin, strerror(-err));
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		bpf_object__close(obj);
		return fail("load %s: %s", path, strerror(-err));
	}
	prog = bpf_object__next_program(obj, NULL);
	if (!prog) {
		bpf_object__close(obj);
		return fail("%s: no program", path);
	}
	*objp = obj;
	*prog_fd = bpf_program__fd(prog);
	return 0;
}

struct xf_rule {
	uint16_t port;
	uint64_t flags;
};

/* The port rules of guard-cost, as the bench's portier configuration:
 * drop UDP to 5000 and TCP to 22. */
static const struct xf_rule xf_guard_rules[] = {{5000, XF_FLAG_DST | XF_FLAG_UDP},
						{22, XF_FLAG_DST | XF_FLAG_TCP}};

/* xdp-filter's program from FILE, its filter_ports holding rules. */
static int load_xdp_filter(const char *path, const struct xf_rule *rules, size_t nrules,
			   struct bpf_object **objp, int *prog_fd)
{
	struct bpf_map *map;
	int ncpu = libbpf_num_possible_cpus(), err;
	uint64_t *vals;

	if (load_obj(path, NULL, objp, prog_fd))
		return 1;
	map = bpf_object__find_map_by_name(*objp, "filter_ports");
	if (!map)
		return fail("%s: no filter_ports map", path);
	if (ncpu <= 0)
		return fail("possible CPUs: %s", strerror(-ncpu));
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return fail("out of memory");
	for (size_t r = 0; r < nrules; r++) {
		uint32_t key = htons(rules[r].port);

		for (int c = 0; c < ncpu; c++)
			vals[c] = rules[r].flags;
		if (bpf_map_update_elem(bpf_map__fd(map), &key, vals, BPF_ANY)) {
			err = errno;
			free(vals);
			return fail("%s: filter_ports[%u]: %s", path, rules[r].port, strerror(err));
		}
	}
	free(vals);
	return 0;
}

static int test_run(int prog_fd, struct bpf_test_run_opts *opts, uint32_t *retval,
		    uint32_t *duration)
{
	if (bpf_prog_test_run_opts(prog_fd, opts))
		return -errno;
	*retval = opts->retval;
	*duration = opts->duration;
	return 0;
}

static int xdp_run(int prog_fd, const uint8_t *pkt, size_t len, uint32_t repeat, uint32_t *retval,
		   uint32_t *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .repeat = repeat);

	return test_run(prog_fd, &opts, retval, duration);
}

static const char *xdp_verdict(uint32_t v)
{
	static const char *const n[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};

	return v < NELEM(n) ? n[v] : "?";
}

/* ---- guard-cost ---- */

enum gsteer { GS_NONE, GS_CPU, GS_FALLBACK, GS_PLAIN };

struct gcase {
	const char *name;
	struct pktspec spec;
	uint32_t want;	 /* the guard's verdict under the bench config */
	bool xdp_filter; /* xdp-filter carries the same rule */
	uint8_t pkt[256];
	size_t len;
	enum gsteer steer; /* a --steer case, and the counter its run moves */
	bool drain; /* the guard takes it once before its verdict is checked:
		     * a limit's burst */
};

/* The bench configuration (bench/guard.sh) that these packets expect:
 *   watch udp 5353; policy tcp 22 drop-new; policy udp 5000 drop;
 *   policy udp 6000 drop --from 198.18.1.0/24; and for --steer:
 *   watch udp 7000-7001; bind udp any 7100 benchx; bind udp any 7101 bench;
 *   policy udp 7200 limit 1 (udp_limited: its bucket emptied by one packet,
 * it stays empty but for one packet a second: the limited path) */
static struct gcase gcases[] = {
    {"udp_watched",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 5353},
     XDP_PASS,
     false,
     {},
     0,
     GS_NONE, false},
    {"tcp_syn_policed",
     {.tcp = true,
      .syn = true,
      .src = "198.18.0.1",
      .dst = "198.18.0.2",
      .sport = 40000,
      .dport = 22},
     XDP_DROP,
     true,
     {},
     0,
     GS_NONE, false},
    {"ipv6_ext",
     {.v6 = true,
      .hbh = true,
      .src = "2001:db8::1",
      .dst = "2001:db8::2",
      .sport = 40000,
      .dport = 5353},
     XDP_PASS,
     false,
     {},
     0,
     GS_NONE, false},
    {"vlan",
     {.vlan = true, .src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 5353},
     XDP_PASS,
     false,
     {},
     0,
     GS_NONE, false},
    {"from_rule",
     {.src = "198.18.1.7", .dst = "198.18.0.2", .sport = 40000, .dport = 6000},
     XDP_DROP,
     false,
     {},
     0,
     GS_NONE, false},
    {"udp_drop",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 5000},
     XDP_DROP,
     true,
     {},
     0,
     GS_NONE, false},
    {"udp_steer_cpu",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 7000},
     XDP_REDIRECT,
     false,
     {},
     0,
     GS_CPU, false},
    {"udp_steer_none",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 7001},
     XDP_PASS,
     false,
     {},
     0,
     GS_PLAIN, false},
    {"udp_xsk_fallback",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 7100},
     XDP_PASS,
     false,
     {},
     0,
     GS_FALLBACK, false},
    {"udp_bound",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 7101},
     XDP_PASS,
     false,
     {},
     0,
     GS_PLAIN, false},
    {"udp_limited",
     {.src = "198.18.0.1", .dst = "198.18.0.2", .sport = 40000, .dport = 7200},
     XDP_DROP,
     false,
     {},
     0,
     GS_NONE,
     true},
};

/* ---- the steering cases ---- */

static int pin_get(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	return fd;
}

/* The live generation's port_table entry of a UDP port: flags ORed in, and
 * its CPU set index. */
static int port_set(int fd, uint32_t gen, uint16_t port, uint8_t flags, uint16_t steer)
{
	uint32_t idx = PT_PORT_INDEX(gen, PT_UDP, port);
	struct pt_port_ent e;

	if (bpf_map_lookup_elem(fd, &idx, &e))
		return fail("port_table[udp %u]: %s", port, strerror(errno));
	e.flags |= flags;
	e.steer = steer;
	if (bpf_map_update_elem(fd, &idx, &e, BPF_EXIST))
		return fail("port_table[udp %u]: %s", port, strerror(errno));
	return 0;
}

/*
 * Switch the guard's steering on for the steering cases by writing the
 * pinned maps after portier's last edit (a later commit rewrites
 * port_table): udp 7000 gets PT_PORT_CPU with CPU set 0 of the live
 * generation = {CPU 0} and a cpumap queue on CPU 0 (a test run returns
 * XDP_REDIRECT and sends nothing); service benchx, bound on udp 7100,
 * becomes an AF_XDP service on ifindex 1 (lo, the ingress interface of a
 * test run without a context) with no socket on queue 0: the XSKMAP slot is
 * empty and the guard falls back. udp 7001 (watched) and 7101 (bound to
 * bench, a kernel-socket service) stay as they are: the twins.
 */
static int steer_setup(const char *dir)
{
	enum { F_CONFIG, F_PORTS, F_SETS, F_CPUS, F_XMETA, F_SVC, F_N };
	static const char *const names[F_N] = {
		PT_MAP_NAME(PT_MAP_CONFIG),   PT_MAP_NAME(PT_MAP_PORT_TABLE),
		PT_MAP_NAME(PT_MAP_CPU_SETS), PT_MAP_NAME(PT_MAP_CPU_MAP),
		PT_MAP_NAME(PT_MAP_XSK_META), PT_MAP_NAME(PT_MAP_SVC_TABLE),
	};
	int fd[F_N], ret = 1;
	struct pt_config cfg;
	struct pt_cpu_set set = {.count = 1, .cpu = {0}};
	struct bpf_cpumap_val cv = {.qsize = PT_CPU_QSIZE};
	struct pt_xsk_meta meta = {.ifindex = 1};
	struct pt_svc_key sk;
	struct pt_svc_rec rec;
	uint32_t zero = 0, gen, idx;

	for (int i = 0; i < F_N; i++)
		fd[i] = -1;
	for (int i = 0; i < F_N; i++)
		if ((fd[i] = pin_get(dir, names[i])) < 0)
			goto out;
	if (bpf_map_lookup_elem(fd[F_CONFIG], &zero, &cfg)) {
		fail("config: %s", strerror(errno));
		goto out;
	}
	gen = cfg.gen & 1;
	idx = PT_CPU_SET_INDEX(gen, 0);
	if (bpf_map_update_elem(fd[F_SETS], &idx, &set, BPF_ANY) ||
	    bpf_map_update_elem(fd[F_CPUS], &zero, &cv, BPF_ANY)) {
		fail("cpu_sets, cpu_map: %s", strerror(errno));
		goto out;
	}
	memset(&sk, 0, sizeof(sk));
	sk.gen = (uint8_t)gen;
	snprintf(sk.name, sizeof(sk.name), "benchx");
	if (bpf_map_lookup_elem(fd[F_SVC], &sk, &rec)) {
		fail("service benchx: %s (is the bench config loaded?)", strerror(errno));
		goto out;
	}
	if (bpf_map_update_elem(fd[F_XMETA], &rec.id, &meta, BPF_ANY)) {
		fail("xsk_meta[%u]: %s", rec.id, strerror(errno));
		goto out;
	}
	if (port_set(fd[F_PORTS], gen, 7000, PT_PORT_CPU, 0) ||
	    port_set(fd[F_PORTS], gen, 7100, PT_PORT_XSK, 0))
		goto out;
	ret = 0;
out:
	for (int i = 0; i < F_N; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return ret;
}

/* The counters of a UDP port's slot, summed over the CPUs. */
static int port_counters(const char *dir, uint16_t port, struct pt_counters *out)
{
	int pfd = pin_get(dir, PT_MAP_NAME(PT_MAP_PORT_TABLE)), cfd = -1, sfd = -1, ret = 1;
	int ncpu = libbpf_num_possible_cpus();
	struct pt_counters *per = NULL;
	struct pt_port_ent e;
	struct pt_config cfg;
	uint32_t zero = 0, idx, slot;

	memset(out, 0, sizeof(*out));
	cfd = pin_get(dir, PT_MAP_NAME(PT_MAP_CONFIG));
	sfd = pin_get(dir, PT_MAP_NAME(PT_MAP_PORT_STATS));
	per = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*per)) : NULL;
	if (pfd < 0 || cfd < 0 || sfd < 0 || !per)
		goto out;
	if (bpf_map_lookup_elem(cfd, &zero, &cfg)) {
		fail("config: %s", strerror(errno));
		goto out;
	}
	idx = PT_PORT_INDEX(cfg.gen & 1, PT_UDP, port);
	if (bpf_map_lookup_elem(pfd, &idx, &e)) {
		fail("port_table[udp %u]: %s", port, strerror(errno));
		goto out;
	}
	slot = e.slot;
	if (bpf_map_lookup_elem(sfd, &slot, per)) {
		fail("port_stats[%u]: %s", slot, strerror(errno));
		goto out;
	}
	for (int c = 0; c < ncpu; c++) {
		out->packets += per[c].packets;
		out->cpu += per[c].cpu;
		out->xsk += per[c].xsk;
		out->fallback += per[c].fallback;
	}
	ret = 0;
out:
	free(per);
	for (int f = 0; f < 3; f++) {
		int x = f == 0 ? pfd : f == 1 ? cfd : sfd;

		if (x >= 0)
			close(x);
	}
	return ret;
}

/* One run of the guard on a steering case moved exactly the counter of
 * its path: cpu or fallback by one, the others not at all. */
static int steer_check(const char *dir, const struct gcase *c, const struct pt_counters *before)
{
	struct pt_counters after;
	uint64_t dc, dx, df;

	if (port_counters(dir, c->spec.dport, &after))
		return 1;
	dc = after.cpu - before->cpu;
	dx = after.xsk - before->xsk;
	df = after.fallback - before->fallback;
	if (after.packets - before->packets != 1 || dx || dc != (c->steer == GS_CPU) ||
	    df != (c->steer == GS_FALLBACK))
		return fail("%s: one run counted packets +%llu, cpu +%llu, xsk +%llu, fallback "
			    "+%llu: not the path meant",
			    c->name, (unsigned long long)(after.packets - before->packets),
			    (unsigned long long)dc, (unsigned long long)dx, (unsigned long long)df);
	return 0;
}

#define MAX_VARIANTS 4
enum gprog {
	G_EMPTY,
	G_GUARD,
	G_XF_ALL,
	G_XF_UDP,
	G_XF_TCP,
	G_VAR0,
	G_NPROG = G_VAR0 + MAX_VARIANTS
};
static const char *gprog_name[G_NPROG] = {"empty", "guard", "xdpfilter_all", "xdpfilter_udp",
					  "xdpfilter_tcp"};

struct gjob {
	struct gcase *c;
	int p; /* enum gprog */
	uint32_t dur[MAX_ROUNDS];
};

static int cmd_guard_cost(int argc, char **argv)
{
	static const struct option opts[] = {{"guard-id", required_argument, NULL, 'g'},
					     {"pin-dir", required_argument, NULL, 'd'},
					     {"empty", required_argument, NULL, 'e'},
					     {"xdp-filter", required_argument, NULL, 'x'},
					     {"variant", required_argument, NULL, 'v'},
					     {"repeat", required_argument, NULL, 'r'},
					     {"rounds", required_argument, NULL, 'k'},
					     {"steer", no_argument, NULL, 's'},
					     {}};
	const char *pin_dir = NULL, *empty = NULL, *xf_dir = NULL;
	const char *variant_obj[MAX_VARIANTS] = {};
	struct bpf_object *objs[G_NPROG] = {};
	int fds[G_NPROG], opt, ret = 1, njobs = 0, nvariants = 0;
	bool steer = false;
	uint32_t guard_id = 0, repeat = 1000000, rounds = 9;
	struct gjob jobs[NELEM(gcases) * G_NPROG];

	for (int i = 0; i < G_NPROG; i++)
		fds[i] = -1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			if (!parse_u32(optarg, 1, UINT32_MAX, &guard_id))
				return fail("bad --guard-id %s", optarg) + 1;
			break;
		case 'd':
			pin_dir = optarg;
			break;
		case 'e':
			empty = optarg;
			break;
		case 'x':
			xf_dir = optarg;
			break;
		case 'v': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || !eq[1] || nvariants == MAX_VARIANTS)
				return fail("bad --variant %s (NAME=OBJ, %d at most)", optarg,
					    MAX_VARIANTS) +
				       1;
			*eq = 0;
			gprog_name[G_VAR0 + nvariants] = optarg;
			variant_obj[nvariants++] = eq + 1;
			break;
		}
		case 'r':
			if (!parse_u32(optarg, 1, 100000000, &repeat))
				return fail("bad --repeat %s", optarg) + 1;
			break;
		case 'k':
			if (!parse_u32(optarg, 1, MAX_ROUNDS, &rounds))
				return fail("bad --rounds %s", optarg) + 1;
			break;
		case 's':
			steer = true;
			break;
		default:
			return 2;
		}
	}
	if (!guard_id || !empty || ((nvariants || steer) && !pin_dir))
		return fail("guard-cost: --guard-id and --empty are required; --variant and --steer "
			    "need --pin-dir") +
		       1;
	if (steer && steer_setup(pin_dir))
		return 1;

	fds[G_GUARD] = bpf_prog_get_fd_by_id(guard_id);
	if (fds[G_GUARD] < 0) {
		fail("guard program %u: %s", guard_id, strerror(errno));
		goto cleanup;
	}
	if (load_obj(empty, NULL, &objs[G_EMPTY], &fds[G_EMPTY]))
		goto cleanup;
	for (int v = 0; v < nvariants; v++)
		if (load_obj(variant_obj[v], pin_dir, &objs[G_VAR0 + v], &fds[G_VAR0 + v]))
			goto cleanup;
	if (xf_dir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/xdpfilt_alw_all.o", xf_dir);
		if (load_xdp_filter(path, xf_guard_rules, NELEM(xf_guard_rules), &objs[G_XF_ALL],
				    &fds[G_XF_ALL]))
			goto cleanup;
		snprintf(path, sizeof(path), "%s/xdpfilt_alw_udp.o", xf_dir);
		if (load_xdp_filter(path, xf_guard_rules, NELEM(xf_guard_rules), &objs[G_XF_UDP],
				    &fds[G_XF_UDP]))
			goto cleanup;
		snprintf(path, sizeof(path), "%s/xdpfilt_alw_tcp.o", xf_dir);
		if (load_xdp_filter(path, xf_guard_rules, NELEM(xf_guard_rules), &objs[G_XF_TCP],
				    &fds[G_XF_TCP]))
			goto cleanup;
	}

	/* every pair once, verdict checked: the config must match the packets */
	for (size_t i = 0; i < NELEM(gcases); i++) {
		struct gcase *c = &gcases[i];

		memcpy(c->spec.smac, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
		memcpy(c->spec.dmac, (uint8_t[]){0x02, 0, 0, 0, 0, 2}, 6);
		if (pkt_build(&c->spec, c->pkt, sizeof(c->pkt), &c->len)) {
			fail("%s: cannot build the packet", c->name);
			goto cleanup;
		}
		if (c->steer && !steer)
			continue;
		for (int p = 0; p < G_NPROG; p++) {
			uint32_t want = p == G_EMPTY ? XDP_PASS : c->want, got, dur;
			struct pt_counters before;
			int err;

			if (fds[p] < 0)
				continue;
			if (p == G_XF_UDP && (!c->xdp_filter || c->spec.tcp))
				continue;
			if (p == G_XF_TCP && (!c->xdp_filter || !c->spec.tcp))
				continue;
			if (p == G_XF_ALL && !c->xdp_filter)
				continue;
			if (p == G_GUARD && c->steer && port_counters(pin_dir, c->spec.dport, &before))
				goto cleanup;
			if (p == G_GUARD && c->drain)
				err = xdp_run(fds[p], c->pkt, c->len, 1, &got, &dur);
			else
				err = 0;
			err = err ?: xdp_run(fds[p], c->pkt, c->len, 1, &got, &dur);
			if (err) {
				fail("%s on %s: test run: %s", gprog_name[p], c->name,
				     strerror(-err));
				goto cleanup;
			}
			if (got != want) {
				fail("%s on %s: verdict %s, want %s (is the bench config loaded?)",
				     gprog_name[p], c->name, xdp_verdict(got), xdp_verdict(want));
				goto cleanup;
			}
			if (p == G_GUARD && c->steer && steer_check(pin_dir, c, &before))
				goto cleanup;
			jobs[njobs++] = (struct gjob){.c = c, .p = p};
		}
	}

	for (uint32_t r = 0; r < rounds; r++)
		for (int j = 0; j < njobs; j++) {
			uint32_t got;
			int err = xdp_run(fds[jobs[j].p], jobs[j].c->pkt, jobs[j].c->len, repeat,
					  &got, &jobs[j].dur[r]);

			if (err) {
				fail("%s on %s: test run: %s", gprog_name[jobs[j].p],
				     jobs[j].c->name, strerror(-err));
				goto cleanup;
			}
		}
	/* every round's figure: the report takes the median, and the median of
	 * per-round ratios for pairs timed back to back in the same rounds */
	for (int j = 0; j < njobs; j++)
		for (uint32_t r = 0; r < rounds; r++)
			printf("guard.%s.%s %u\n", jobs[j].c->name, gprog_name[jobs[j].p],
			       jobs[j].dur[r]);
	ret = 0;
cleanup:
	if (fds[G_GUARD] >= 0)
		close(fds[G_GUARD]);
	for (int i = 0; i < G_NPROG; i++)
		bpf_object__close(objs[i]);
	return ret;
}

/* ---- lookup-cost ---- */

static int parse_addrport(const char *s, struct bpf_sk_lookup *ctx)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint32_t port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) || !parse_u32(colon + 1, 1, 65535, &port))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -EINVAL;
		host[n - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, ctx->local_ip6) != 1)
			return -EINVAL;
		ctx->family = AF_INET6;
		/* a source of the same family: 2001:db8::1 */
		ctx->remote_ip6[0] = htonl(0x20010db8);
		ctx->remote_ip6[3] = htonl(1);
	} else {
		if (inet_pton(AF_INET, host, &ctx->local_ip4) != 1)
			return -EINVAL;
		ctx->family = AF_INET;
		ctx->remote_ip4 = htonl(0xc6120101); /* 198.18.1.1 */
	}
	ctx->local_port = port;		 /* host order */
	ctx->remote_port = htons(40000); /* network order */
	return 0;
}

#define MAX_LCASES 8
#define MAX_LVARIANTS 8
#define L_NPROG (2 + MAX_LVARIANTS) /* dispatch, empty, variants */

/* One lookup timed: a portier state (its pin directory) and the address
 * and port of one of its bindings. */
struct lcase {
	const char *tag;
	char dir[448];
	struct bpf_sk_lookup ctx;
	int fd[L_NPROG];
	struct bpf_object *obj[L_NPROG];
	bool assigned;
	uint32_t dur[L_NPROG][MAX_ROUNDS];
};

/* TAG=DIR,ADDR:PORT */
static int parse_lcase(char *s, struct lcase *c)
{
	char *eq = strchr(s, '='), *comma;

	if (!eq || eq == s)
		return -EINVAL;
	comma = strchr(eq + 1, ',');
	if (!comma || comma == eq + 1 || (size_t)(comma - eq - 1) >= sizeof(c->dir))
		return -EINVAL;
	*eq = 0;
	*comma = 0;
	c->tag = s;
	snprintf(c->dir, sizeof(c->dir), "%s", eq + 1);
	return parse_addrport(comma + 1, &c->ctx);
}

/* One run of prog_fd on c's lookup; *assigned tells whether it handed the
 * lookup to a socket. */
static int lookup_once(int prog_fd, const struct bpf_sk_lookup *ctx, bool *assigned)
{
	struct bpf_sk_lookup in = *ctx, out = *ctx;
	uint32_t rv, dur;
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &in, .ctx_size_in = sizeof(in), .ctx_out = &out,
		    .ctx_size_out = sizeof(out), .repeat = 1);
	int err = test_run(prog_fd, &o, &rv, &dur);

	*assigned = out.cookie != 0;
	return err;
}

static int cmd_lookup_cost(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"case", required_argument, NULL, 'c'},	{"prog-pin", required_argument, NULL, 'p'},
	    {"empty", required_argument, NULL, 'e'},	{"dst", required_argument, NULL, 'd'},
	    {"udp", no_argument, NULL, 'u'},		{"tag", required_argument, NULL, 't'},
	    {"variant", required_argument, NULL, 'v'}, {"repeat", required_argument, NULL, 'r'},
	    {"rounds", required_argument, NULL, 'k'},	{}};
	const char *pin = NULL, *empty = NULL, *dst = NULL, *tag = "x";
	const char *vname[MAX_LVARIANTS] = {}, *vobj[MAX_LVARIANTS] = {};
	static struct lcase cases[MAX_LCASES];
	struct bpf_object *eobj = NULL;
	uint32_t repeat = 1000000, rounds = 9;
	int efd = -1, opt, ret = 1, err, ncases = 0, nvariants = 0, nprog;
	bool udp = false;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (ncases == MAX_LCASES || parse_lcase(optarg, &cases[ncases]))
				return fail("bad --case %s (TAG=DIR,ADDR:PORT, %d at most)", optarg,
					    MAX_LCASES) +
				       1;
			ncases++;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'e':
			empty = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 'u':
			udp = true;
			break;
		case 't':
			tag = optarg;
			break;
		case 'v': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || !eq[1] || nvariants == MAX_LVARIANTS)
				return fail("bad --variant %s (NAME=OBJ, %d at most)", optarg,
					    MAX_LVARIANTS) +
				       1;
			*eq = 0;
			vname[nvariants] = optarg;
			vobj[nvariants++] = eq + 1;
			break;
		}
		case 'r':
			if (!parse_u32(optarg, 1, 100000000, &repeat))
				return fail("bad --repeat %s", optarg) + 1;
			break;
		case 'k':
			if (!parse_u32(optarg, 1, MAX_ROUNDS, &rounds))
				return fail("bad --rounds %s", optarg) + 1;
			break;
		default:
			return 2;
		}
	}
	/* --prog-pin DIR/dispatch_prog --dst A:P --tag T: one case */
	if (pin || dst) {
		const char *slash = pin ? strrchr(pin, '/') : NULL;
		struct lcase *c = &cases[ncases];

		if (!pin || !dst || !slash || ncases == MAX_LCASES)
			return fail("lookup-cost: --prog-pin DIR/dispatch_prog and --dst go "
				    "together") +
			       1;
		if (parse_addrport(dst, &c->ctx))
			return fail("bad --dst %s (ADDR:PORT or [ADDR6]:PORT)", dst) + 1;
		snprintf(c->dir, sizeof(c->dir), "%.*s", (int)(slash - pin), pin);
		c->tag = tag;
		ncases++;
	}
	if (!empty || !ncases)
		return fail("lookup-cost: --empty and a --case (or --prog-pin and --dst) are "
			    "required") +
		       1;
	nprog = 2 + nvariants;

	for (int i = 0; i < ncases; i++)
		for (int p = 0; p < L_NPROG; p++)
			cases[i].fd[p] = -1;
	if (load_obj(empty, NULL, &eobj, &efd))
		goto cleanup;
	for (int i = 0; i < ncases; i++) {
		struct lcase *c = &cases[i];
		char path[512];

		c->ctx.protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
		snprintf(path, sizeof(path), "%s/dispatch_prog", c->dir);
		c->fd[0] = bpf_obj_get(path);
		if (c->fd[0] < 0) {
			fail("%s: %s", path, strerror(errno));
			goto cleanup;
		}
		c->fd[1] = efd;
		/* each variant over this state's pinned maps */
		for (int v = 0; v < nvariants; v++)
			if (load_obj(vobj[v], c->dir, &c->obj[2 + v], &c->fd[2 + v]))
				goto cleanup;
		/* once each: whether the dispatcher assigns a socket; a variant
		 * must do as the dispatcher does, or its figure means nothing */
		err = lookup_once(c->fd[0], &c->ctx, &c->assigned);
		for (int v = 0; !err && v < nvariants; v++) {
			bool a;

			err = lookup_once(c->fd[2 + v], &c->ctx, &a);
			if (!err && a != c->assigned) {
				fail("%s on %s: %s a socket, the dispatcher %s", vname[v], c->tag,
				     a ? "assigns" : "assigns no", a ? "does not" : "does");
				goto cleanup;
			}
		}
		if (err) {
			fail("test run on %s: %s", c->tag, strerror(-err));
			goto cleanup;
		}
	}

	/* K rounds; in each, every (case, program) pair once, the cases in
	 * an order that turns by one each round, so that drift and position
	 * hit every case alike */
	for (uint32_t r = 0; r < rounds; r++)
		for (int k = 0; k < ncases; k++) {
			struct lcase *c = &cases[(k + (int)r) % ncases];

			for (int p = 0; p < nprog; p++) {
				struct bpf_sk_lookup in = c->ctx;
				uint32_t rv;
				LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &in,
					    .ctx_size_in = sizeof(in), .repeat = repeat);

				err = test_run(c->fd[p], &o, &rv, &c->dur[p][r]);
				if (err) {
					fail("test run on %s: %s", c->tag, strerror(-err));
					goto cleanup;
				}
			}
		}
	/* every round's figure: the report takes medians, and medians of
	 * per-round ratios and differences */
	for (int i = 0; i < ncases; i++) {
		struct lcase *c = &cases[i];

		for (int p = 0; p < nprog; p++)
			for (uint32_t r = 0; r < rounds; r++)
				printf("lookup.%s.%s %u\n", c->tag,
				       p == 0 ? "portier" : p == 1 ? "empty" : vname[p - 2],
				       c->dur[p][r]);
		printf("lookup.%s.assigned %d\n", c->tag, c->assigned);
	}
	ret = 0;
cleanup:
	for (int i = 0; i < ncases; i++) {
		if (cases[i].fd[0] >= 0)
			close(cases[i].fd[0]);
		for (int p = 2; p < L_NPROG; p++)
			bpf_object__close(cases[i].obj[p]);
	}
	bpf_object__close(eobj);
	return ret;
}

/* ---- sock-cost ---- */

static int cmd_sock_cost(int argc, char **argv)
{
	static const struct option opts[] = {{"obj", required_argument, NULL, 'o'},
					     {"empty", required_argument, NULL, 'e'},
					     {"repeat", required_argument, NULL, 'r'},
					     {"rounds", required_argument, NULL, 'k'},
					     {}};
	const char *obj_path = NULL, *empty = NULL;
	struct bpf_object *obj = NULL, *eobj = NULL;
	struct bpf_program *ph, *pa;
	struct bpf_map *mh, *ma;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);
	struct bpf_sk_lookup ctx = {}, out;
	uint32_t repeat = 1000000, rounds = 9, dur[3][MAX_ROUNDS], rv, key = 0;
	uint64_t val;
	int opt, ret = 1, lfd = -1, efd = -1, fds[3], err, unused;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			obj_path = optarg;
			break;
		case 'e':
			empty = optarg;
			break;
		case 'r':
			if (!parse_u32(optarg, 1, 100000000, &repeat))
				return fail("bad --repeat %s", optarg) + 1;
			break;
		case 'k':
			if (!parse_u32(optarg, 1, MAX_ROUNDS, &rounds))
				return fail("bad --rounds %s", optarg) + 1;
			break;
		default:
			return 2;
		}
	}
	if (!obj_path || !empty)
		return fail("sock-cost: --obj and --empty are required") + 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen)) {
		fail("listener: %s", strerror(errno));
		goto cleanup;
	}
	if (load_obj(obj_path, NULL, &obj, &unused) || load_obj(empty, NULL, &eobj, &efd))
		goto cleanup;
	ph = bpf_object__find_program_by_name(obj, "bench_pick_hash");
	pa = bpf_object__find_program_by_name(obj, "bench_pick_array");
	mh = bpf_object__find_map_by_name(obj, "pick_hash");
	ma = bpf_object__find_map_by_name(obj, "pick_array");
	if (!ph || !pa || !mh || !ma) {
		fail("%s: not the sockpick object", obj_path);
		goto cleanup;
	}
	val = (uint64_t)lfd;
	if (bpf_map_update_elem(bpf_map__fd(mh), &key, &val, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(ma), &key, &val, BPF_ANY)) {
		fail("socket into the maps: %s", strerror(errno));
		goto cleanup;
	}
	fds[0] = bpf_program__fd(ph);
	fds[1] = bpf_program__fd(pa);
	fds[2] = efd;
	ctx.family = AF_INET;
	ctx.protocol = IPPROTO_TCP;
	ctx.local_ip4 = sin.sin_addr.s_addr;
	ctx.local_port = ntohs(sin.sin_port); /* host order */
	ctx.remote_ip4 = htonl(INADDR_LOOPBACK);
	ctx.remote_port = htons(40000); /* network order */

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .ctx_out = &out, .ctx_size_out = sizeof(out), .repeat = 1);

		out = ctx;
		err = test_run(fds[i], &o, &rv, &dur[0][0]);
		if (err || !out.cookie) {
			fail("sock-cost: program %d assigned no socket (%s)", i,
			     err ? strerror(-err) : "no cookie");
			goto cleanup;
		}
	}
	for (uint32_t r = 0; r < rounds; r++)
		for (int i = 0; i < 3; i++) {
			struct bpf_sk_lookup c = ctx;
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c),
				    .repeat = repeat);

			err = test_run(fds[i], &o, &rv, &dur[i][r]);
			if (err) {
				fail("test run: %s", strerror(-err));
				goto cleanup;
			}
		}
	printf("sock.hash %.1f\n", median(dur[0], (int)rounds));
	printf("sock.array %.1f\n", median(dur[1], (int)rounds));
	printf("sock.empty %.1f\n", median(dur[2], (int)rounds));
	printf("sock.assigned 1\n");
	ret = 0;
cleanup:
	if (lfd >= 0)
		close(lfd);
	bpf_object__close(obj);
	bpf_object__close(eobj);
	return ret;
}

/* ---- hostkey-cost ---- */

/* The key layouts of bench/hostkey.bpf.c. */
struct hk12 {
	uint8_t gen, proto, family, pad;
	uint32_t class_be, addr;
};

struct hk8 {
	uint32_t addr;
	uint16_t class;
	uint8_t gen, proto;
};

#define HK_PORT 10000

/* N entries in each map: 198.18.0.0 + i, TCP port HK_PORT as the class,
 * generation 1; the probe is the one in the middle. maps[3] is the
 * open-addressing ARRAY: each key in the first free slot from its hash on,
 * HK_PROBES at most, as bench_hostarr looks. slots: HK_SLOTS zeroed. */
static int hostkey_fill(struct bpf_map *const maps[4], uint32_t n, struct hk_slot *slots)
{
	struct pt_bind_val v = {.service = 0, .slot = 0};

	for (uint32_t i = 0; i < n; i++) {
		uint32_t addr = htonl(0xc6120000u + i), w[6], h, p;
		struct pt_host_key k24 = {.gen = 1, .proto = PT_TCP, .family = PT_INET};
		struct hk12 k12 = {.gen = 1, .proto = PT_TCP, .family = PT_INET};
		struct hk8 k8 = {.addr = addr, .class = HK_PORT, .gen = 1, .proto = PT_TCP};
		struct hk_slot ks = {.gen = 1, .proto = PT_TCP, .family = PT_INET, .used = 1};

		k24.class = htonl(HK_PORT);
		memcpy(k24.addr, &addr, 4);
		k12.class_be = htonl(HK_PORT);
		k12.addr = addr;
		v.slot = i;
		if (bpf_map_update_elem(bpf_map__fd(maps[0]), &k24, &v, BPF_NOEXIST) ||
		    bpf_map_update_elem(bpf_map__fd(maps[1]), &k12, &v, BPF_NOEXIST) ||
		    bpf_map_update_elem(bpf_map__fd(maps[2]), &k8, &v, BPF_NOEXIST))
			return fail("hostkey-cost: entry %u: %s", i, strerror(errno));
		ks.class = htonl(HK_PORT);
		memcpy(ks.addr, &addr, 4);
		ks.val = v;
		memcpy(w, &ks, sizeof(w));
		h = hk_hash(w);
		for (p = 0; p < HK_PROBES && slots[(h + p) & (HK_SLOTS - 1)].used; p++)
			;
		if (p == HK_PROBES)
			return fail("hostkey-cost: entry %u: no free slot in %d probes", i,
				    HK_PROBES);
		slots[(h + p) & (HK_SLOTS - 1)] = ks;
	}
	for (uint32_t i = 0; i < HK_SLOTS; i++)
		if (slots[i].used && bpf_map_update_elem(bpf_map__fd(maps[3]), &i, &slots[i], BPF_ANY))
			return fail("hostkey-cost: slot %u: %s", i, strerror(errno));
	return 0;
}

static int cmd_hostkey_cost(int argc, char **argv)
{
	static const struct option opts[] = {{"obj", required_argument, NULL, 'o'},
					     {"empty", required_argument, NULL, 'e'},
					     {"entries", required_argument, NULL, 'n'},
					     {"repeat", required_argument, NULL, 'r'},
					     {"rounds", required_argument, NULL, 'k'},
					     {}};
	static const char *const prog_name[4] = {"bench_host24", "bench_host12", "bench_host8",
						 "bench_hostarr"};
	static const char *const map_name[4] = {"host24", "host12", "host8", "hostarr"};
	static const char *const out_name[5] = {"k24", "k12", "k8", "arr", "empty"};
	const char *obj_path = NULL, *empty = NULL;
	struct bpf_object *obj = NULL, *eobj = NULL;
	struct bpf_map *maps[4];
	struct hk_slot *slots = NULL;
	struct bpf_sk_lookup ctx = {};
	uint32_t repeat = 1000000, rounds = 9, entries = 100000, dur[5][MAX_ROUNDS], rv;
	int opt, ret = 1, fds[5] = {-1, -1, -1, -1, -1}, err, unused;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			obj_path = optarg;
			break;
		case 'e':
			empty = optarg;
			break;
		case 'n':
			if (!parse_u32(optarg, 1, HK_HASH_ENTRIES, &entries))
				return fail("bad --entries %s (1-%u)", optarg, HK_HASH_ENTRIES) +
				       1;
			break;
		case 'r':
			if (!parse_u32(optarg, 1, 100000000, &repeat))
				return fail("bad --repeat %s", optarg) + 1;
			break;
		case 'k':
			if (!parse_u32(optarg, 1, MAX_ROUNDS, &rounds))
				return fail("bad --rounds %s", optarg) + 1;
			break;
		default:
			return 2;
		}
	}
	if (!obj_path || !empty)
		return fail("hostkey-cost: --obj and --empty are required") + 1;
	if (load_obj(obj_path, NULL, &obj, &unused) || load_obj(empty, NULL, &eobj, &fds[4]))
		goto cleanup;
	for (int i = 0; i < 4; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, prog_name[i]);

		maps[i] = bpf_object__find_map_by_name(obj, map_name[i]);
		if (!p || !maps[i]) {
			fail("%s: not the hostkey object", obj_path);
			goto cleanup;
		}
		fds[i] = bpf_program__fd(p);
	}
	slots = calloc(HK_SLOTS, sizeof(*slots));
	if (!slots) {
		fail("hostkey-cost: %s", strerror(errno));
		goto cleanup;
	}
	if (hostkey_fill(maps, entries, slots))
		goto cleanup;
	ctx.family = AF_INET;
	ctx.protocol = IPPROTO_TCP;
	ctx.local_ip4 = htonl(0xc6120000u + entries / 2);
	ctx.local_port = HK_PORT; /* host order */
	ctx.remote_ip4 = htonl(0xc6120101);
	ctx.remote_port = htons(40000); /* network order */

	/* every program finds the probe (SK_PASS), and misses another port */
	for (int i = 0; i < 4; i++)
		for (int miss = 0; miss < 2; miss++) {
			struct bpf_sk_lookup c = ctx;
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c),
				    .repeat = 1);

			c.local_port = HK_PORT + (uint32_t)miss;
			err = test_run(fds[i], &o, &rv, &dur[0][0]);
			if (err || rv != (miss ? SK_DROP : SK_PASS)) {
				fail("hostkey-cost: %s %s the %s (%s)", prog_name[i],
				     miss ? "finds" : "misses", miss ? "wrong key" : "probe",
				     err ? strerror(-err) : "verdict");
				goto cleanup;
			}
		}
	for (uint32_t r = 0; r < rounds; r++)
		for (int i = 0; i < 5; i++) {
			struct bpf_sk_lookup c = ctx;
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c),
				    .repeat = repeat);

			err = test_run(fds[i], &o, &rv, &dur[i][r]);
			if (err) {
				fail("test run: %s", strerror(-err));
				goto cleanup;
			}
		}
	for (int i = 0; i < 5; i++)
		for (uint32_t r = 0; r < rounds; r++)
			printf("hostkey.%s %u\n", out_name[i], dur[i][r]);
	printf("hostkey.entries %u\n", entries);
	ret = 0;
cleanup:
	free(slots);
	bpf_object__close(obj);
	bpf_object__close(eobj);
	return ret;
}

/* ---- txgen ---- */

static int cmd_txgen(int argc, char **argv)
{
	static const struct option opts[] = {{"obj", required_argument, NULL, 'o'},
					     {"ifname", required_argument, NULL, 'i'},
					     {"src-mac", required_argument, NULL, 'S'},
					     {"dst-mac", required_argument, NULL, 'D'},
					     {"src", required_argument, NULL, 's'},
					     {"dst", required_argument, NULL, 'd'},
					     {"dport", required_argument, NULL, 'p'},
					     {"count", required_argument, NULL, 'c'},
					     {}};
	struct pktspec spec = {.sport = 40000};
	const char *obj_path = NULL, *ifname = NULL;
	struct bpf_object *obj = NULL;
	uint32_t count = 0, port = 0, ifindex;
	uint8_t pkt[256];
	size_t len;
	int opt, fd, ret = 1;
	bool smac = false, dmac = false;
	struct timespec t0, t1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			obj_path = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'S':
			smac = parse_mac(optarg, spec.smac);
			break;
		case 'D':
			dmac = parse_mac(optarg, spec.dmac);
			break;
		case 's':
			spec.src = optarg;
			break;
		case 'd':
			spec.dst = optarg;
			break;
		case 'p':
			if (!parse_u32(optarg, 1, 65535, &port))
				return fail("bad --dport %s", optarg) + 1;
			break;
		case 'c':
			if (!parse_u32(optarg, 1, 1000000000, &count))
				return fail("bad --count %s", optarg) + 1;
			break;
		default:
			return 2;
		}
	}
	if (!obj_path || !ifname || !smac || !dmac || !spec.src || !spec.dst || !port || !count)
		return fail("txgen: --obj --ifname --src-mac --dst-mac --src --dst --dport "
			    "--count") +
		       1;
	spec.dport = (uint16_t)port;
	spec.v6 = strchr(spec.dst, ':') != NULL;
	if (pkt_build(&spec, pkt, sizeof(pkt), &len))
		return fail("txgen: bad addresses %s -> %s", spec.src, spec.dst) + 1;
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return fail("%s: %s", ifname, strerror(errno));
	if (load_obj(obj_path, NULL, &obj, &fd))
		return 1;

	{
		struct xdp_md ctx = {.data_end = (uint32_t)len, .ingress_ifindex = ifindex};
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = count,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (bpf_prog_test_run_opts(fd, &o)) {
			fail("live frames on %s: %s", ifname, strerror(errno));
			goto cleanup;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
	}
	printf("sent %u\n", count);
	printf("elapsed_ns %lld\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	printf("start_ns %lld\nend_ns %lld\n",
	       (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec,
	       (long long)t1.tv_sec * 1000000000LL + t1.tv_nsec);
	ret = 0;
cleanup:
	bpf_object__close(obj);
	return ret;
}

/* ---- xdp-attach ---- */

static int cmd_xdp_attach(int argc, char **argv)
{
	static const struct option opts[] = {{"obj", required_argument, NULL, 'o'},
					     {"ifname", required_argument, NULL, 'i'},
					     {"udp-port", required_argument, NULL, 'p'},
					     {"xdp-filter", no_argument, NULL, 'x'},
					     {}};
	const char *obj_path = NULL, *ifname = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_map *map;
	uint32_t port = 0, ifindex;
	bool xf = false;
	int opt, fd, err, ret = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			obj_path = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'p':
			if (!parse_u32(optarg, 1, 65535, &port))
				return fail("bad --udp-port %s", optarg) + 1;
			break;
		case 'x':
			xf = true;
			break;
		default:
			return 2;
		}
	}
	if (!obj_path || !ifname || !port)
		return fail("xdp-attach: --obj --ifname --udp-port") + 1;
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return fail("%s: %s", ifname, strerror(errno));
	if (xf) {
		const struct xf_rule rule = {(uint16_t)port, XF_FLAG_DST | XF_FLAG_UDP};

		if (load_xdp_filter(obj_path, &rule, 1, &obj, &fd))
			goto cleanup;
	} else {
		uint32_t key = port;
		uint8_t one = 1;

		if (load_obj(obj_path, NULL, &obj, &fd))
			return 1;
		map = bpf_object__find_map_by_name(obj, "ports");
		if (!map) {
			fail("%s: no ports map", obj_path);
			goto cleanup;
		}
		if (bpf_map_update_elem(bpf_map__fd(map), &key, &one, BPF_ANY)) {
			fail("%s: ports[%u]: %s", obj_path, port, strerror(errno));
			goto cleanup;
		}
	}
	/* native mode, and only on an interface without an XDP program; the
	 * attachment outlives this process (ip link set dev IF xdpdrv off) */
	err = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err) {
		fail("attach to %s: %s", ifname, strerror(-err));
		goto cleanup;
	}
	ret = 0;
cleanup:
	bpf_object__close(obj);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptbench { guard-cost | lookup-cost | sock-cost | hostkey-cost | txgen | xdp-attach } "
		   "OPTIONS\n"
		   "(see the comment at the top of bench/ptbench.c)\n");
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet_print);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "guard-cost"))
		return cmd_guard_cost(argc - 1, argv + 1);
	if (!strcmp(argv[1], "lookup-cost"))
		return cmd_lookup_cost(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sock-cost"))
		return cmd_sock_cost(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hostkey-cost"))
		return cmd_hostkey_cost(argc - 1, argv + 1);
	if (!strcmp(argv[1], "txgen"))
		return cmd_txgen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp-attach"))
		return cmd_xdp_attach(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
