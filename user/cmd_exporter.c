// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * exporter [--listen ADDR:PORT]: the counters as Prometheus metrics over
 * HTTP (text exposition format 0.0.4), GET /metrics; 127.0.0.1:9469 by
 * default, in the caller's network namespace: with --netns it reads that
 * namespace's state (the pins are in the caller's bpffs) and listens where
 * the host's Prometheus can reach it. Each scrape reopens the pinned state
 * and reads every counter in one batched pass under the shared lock, then
 * renders without it, so new bindings appear and an unload/load is
 * followed.
 *
 * One thread serves (libmicrohttpd driven by MHD_run_wait) and enforces
 * the bounds that keep slow or idle clients from starving a scrape: at most
 * CONN_MAX connections, CONN_PER_CLIENT from one address, an idle timeout,
 * and a total deadline per connection that no trickle of bytes extends.
 * The same loop takes SIGTERM and SIGINT and stops cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "load.h"
#include "stats.h"
#include "watch.h"

#define DEFAULT_LISTEN "127.0.0.1:9469"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define CONN_MAX 64		/* connections at once */
#define CONN_PER_CLIENT 8	/* connections at once from one client address */
#define CONN_IDLE_S 5		/* idle timeout: reset by every byte */
#define CONN_DEADLINE_S 10	/* a connection's whole life, however busy */
#define LOOP_MS 250		/* the longest wait between two deadline sweeps */

/* The caller's namespace: where the exporter listens, and where the scrape
 * comes back to after naming --netns's. */
static int caller_netns = -1;

/* A growing text buffer; on allocation failure it stops growing and
 * remembers it. */
struct out {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap ? o->cap * 2 : 16384;

		while (ncap - o->len <= (size_t)n)
			ncap *= 2;
		char *np = realloc(o->p, ncap);

		if (!np) {
			o->oom = true;
			return;
		}
		o->p = np;
		o->cap = ncap;
	}
}

/* A label value, escaped as the exposition format wants: \\, \" and \n. */
static void put_label(struct out *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			put(o, "\\\\");
		else if (*v == '"')
			put(o, "\\\"");
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void port_labels(struct out *o, const struct pt_stat_row *r)
{
	char ports[16];

	put(o, "{proto=\"%s\",port=\"%s\",service=\"", pt_proto_name(r->proto),
	    pt_format_ports(r->lo, r->hi, ports, sizeof(ports)));
	put_label(o, r->services);
	put(o, "\"}");
}

enum field { F_PACKETS, F_BYTES, F_DROPPED, F_LIMITED, F_STEERED, F_NO_SOCKET, F_XSK, F_CPU,
	     F_FALLBACK };

static uint64_t field_of(const struct pt_counters *c, enum field f)
{
	switch (f) {
	case F_PACKETS: return c->packets;
	case F_BYTES: return c->bytes;
	case F_DROPPED: return c->dropped;
	case F_LIMITED: return c->limited;
	case F_STEERED: return c->steered;
	case F_XSK: return c->xsk;
	case F_CPU: return c->cpu;
	case F_FALLBACK: return c->fallback;
	default: return c->no_socket;
	}
}

static const struct {
	const char *name;
	enum field field;
	const char *help;
} port_metrics[] = {
	{ "portier_port_packets_total", F_PACKETS,
	  "Packets the guard (XDP) saw to a port or range counted one by one." },
	{ "portier_port_bytes_total", F_BYTES,
	  "Bytes (frame length) the guard saw to a port or range counted one by one." },
	{ "portier_port_dropped_total", F_DROPPED,
	  "Packets the guard dropped by a drop or drop-new policy." },
	{ "portier_port_limited_total", F_LIMITED,
	  "Packets the guard dropped by a rate limit (limit PPS)." },
	{ "portier_port_steered_total", F_STEERED,
	  "New connections and datagrams the dispatcher (sk_lookup) handed to a service socket." },
	{ "portier_port_no_socket_total", F_NO_SOCKET,
	  "Lookups of a bound port whose service had no live socket: left to the kernel." },
	{ "portier_port_xsk_total", F_XSK,
	  "Packets the guard redirected to an AF_XDP service's socket (XDP steering)." },
	{ "portier_port_cpu_total", F_CPU,
	  "Packets the guard redirected to a CPU of a steer rule (cpumap)." },
	{ "portier_port_fallback_total", F_FALLBACK,
	  "Packets bound to an AF_XDP service that its socket could not take (no socket on "
	  "the receive queue, or another interface): passed to the kernel stack." },
}, class_metrics[] = {
	{ "portier_class_packets_total", F_PACKETS,
	  "Packets the guard saw to the ports of a class not counted one by one." },
	{ "portier_class_bytes_total", F_BYTES,
	  "Bytes the guard saw to the ports of a class not counted one by one." },
	{ "portier_class_dropped_total", F_DROPPED,
	  "Packets to the ports of a class that the guard dropped by a drop or drop-new policy." },
	{ "portier_class_limited_total", F_LIMITED,
	  "Packets to the ports of a class that the guard dropped by a rate limit." },
	{ "portier_class_xsk_total", F_XSK,
	  "Packets to the ports of a class that the guard redirected to an AF_XDP socket." },
	{ "portier_class_cpu_total", F_CPU,
	  "Packets to the ports of a class that the guard redirected to a steer rule's CPU." },
	{ "portier_class_fallback_total", F_FALLBACK,
	  "Packets to the ports of a class bound to an AF_XDP service, passed to the stack." },
};

static void render_info(struct out *o, bool loaded)
{
	family(o, "portier_build_info", "gauge", "The portier build serving these metrics.");
	put(o, "portier_build_info{version=\"");
	put_label(o, PORTIER_VERSION);
	put(o, "\",abi=\"%d\",build_id=\"%016llx\"} 1\n", PT_ABI_VERSION,
	    (unsigned long long)pt_build_id());
	family(o, "portier_loaded", "gauge",
	       "1 when portier is loaded in the network namespace, 0 when not.");
	put(o, "portier_loaded %d\n", loaded);
}

/* The state is still the one the last apply made. */
static bool config_in_sync(const struct pt_state *st, const struct pt_apply_info *ai)
{
	uint8_t now[PT_SHA256_LEN];

	return ai->ok && !pt_state_sha256(st, now) && !memcmp(now, ai->state_sha256, sizeof(now));
}

/* The fleet's view: which file the state came from (apply_info). One
 * PromQL query, count by (sha256) (portier_config_info), shows drift. */
static void render_config(struct out *o, const struct pt_apply_info *ai, bool in_sync)
{
	char hex[2 * PT_SHA256_LEN + 1];

	family(o, "portier_config_info", "gauge",
	       "The config file last applied, by the sha256 of its bytes (absent: never applied).");
	if (ai->ok) {
		pt_sha256_hex(ai->sha256, hex);
		put(o, "portier_config_info{sha256=\"%s\"} 1\n", hex);
	}
	family(o, "portier_config_in_sync", "gauge",
	       "1 while the state is the config last applied; 0 once other commands edited it "
	       "(or never applied).");
	put(o, "portier_config_in_sync %d\n", in_sync);
	family(o, "portier_config_apply_total", "counter",
	       "Applies of a config file: ok (committed) or error (refused, state kept).");
	put(o, "portier_config_apply_total{result=\"ok\"} %llu\n", (unsigned long long)ai->ok);
	put(o, "portier_config_apply_total{result=\"error\"} %llu\n",
	    (unsigned long long)ai->errors);
	family(o, "portier_config_last_apply_timestamp_seconds", "gauge",
	       "When a config was last applied (Unix time; 0: never).");
	put(o, "portier_config_last_apply_timestamp_seconds %llu\n", (unsigned long long)ai->last_ok);
	family(o, "portier_config_last_error_timestamp_seconds", "gauge",
	       "When a config was last refused (Unix time; 0: never).");
	put(o, "portier_config_last_error_timestamp_seconds %llu\n",
	    (unsigned long long)ai->last_error);
}

static void render(struct out *o, const struct pt_state *st, const struct pt_stats *s,
		   const struct pt_apply_info *ai, bool in_sync)
{
	render_info(o, true);
	render_config(o, ai, in_sync);
	for (size_t m = 0; m < sizeof(port_metrics) / sizeof(port_metrics[0]); m++) {
		family(o, port_metrics[m].name, "counter", port_metrics[m].help);
		for (size_t i = 0; i < s->nrows; i++) {
			put(o, "%s", port_metrics[m].name);
			port_labels(o, &s->rows[i]);
			put(o, " %llu\n",
			    (unsigned long long)field_of(&s->rows[i].c, port_metrics[m].field));
		}
	}
	for (size_t m = 0; m < sizeof(class_metrics) / sizeof(class_metrics[0]); m++) {
		family(o, class_metrics[m].name, "counter", class_metrics[m].help);
		for (size_t i = 0; i < PT_NPROTO * PT_NCLASS; i++) {
			const struct pt_class_row *r = &s->classes[i];

			put(o, "%s{proto=\"%s\",class=\"%s\"} %llu\n", class_metrics[m].name,
			    pt_proto_name(r->proto), pt_class_name(r->class),
			    (unsigned long long)field_of(&r->c, class_metrics[m].field));
		}
	}
	family(o, "portier_malformed_total", "counter",
	       "Frames with truncated or inconsistent headers, passed to the stack.");
	put(o, "portier_malformed_total %llu\n", (unsigned long long)s->global.malformed);
	family(o, "portier_fragments_total", "counter",
	       "Non-first IP fragments (they carry no port), passed.");
	put(o, "portier_fragments_total %llu\n", (unsigned long long)s->global.fragments);
	family(o, "portier_other_total", "counter",
	       "Frames that are neither TCP nor UDP over IP, passed.");
	put(o, "portier_other_total %llu\n", (unsigned long long)s->global.other);
	family(o, "portier_unreadable_total", "counter",
	       "Frames the stack could deliver whose port or TCP flags the guard cannot read "
	       "(tiny first fragments, TCP fragments at offset 1, too long header chains); "
	       "dropped while any rule is not allow.");
	put(o, "portier_unreadable_total %llu\n", (unsigned long long)s->global.unreadable);
	family(o, "portier_unbound_lookups_total", "counter",
	       "Dispatcher lookups for no binding, left to the kernel untouched.");
	put(o, "portier_unbound_lookups_total %llu\n", (unsigned long long)s->global.dispatch_other);
	family(o, "portier_services", "gauge", "Declared services.");
	put(o, "portier_services %zu\n", st->nservices);
	family(o, "portier_services_with_socket", "gauge",
	       "Services with at least one live socket.");
	put(o, "portier_services_with_socket %zu\n", s->live_services);
	family(o, "portier_bindings", "gauge", "Bindings (proto, prefix, ports -> service).");
	put(o, "portier_bindings %zu\n", st->nbindings);
	family(o, "portier_policies", "gauge", "Guard policies.");
	put(o, "portier_policies %zu\n", st->npolicies);
	family(o, "portier_watches", "gauge", "Watched port ranges.");
	put(o, "portier_watches %zu\n", st->nwatches);
}

/* One scrape: 200 with the metrics (portier_loaded 0 when not loaded),
 * or 500 with why the state could not be read. The target namespace is
 * entered to name its pin directory; nothing a scrape does needs to be
 * inside it, so the thread goes straight back to the caller's. */
static unsigned int scrape(struct out *o)
{
	struct pt_stats s = {};
	struct pt_state st = {};
	struct pt_apply_info ai = {};
	struct pt_ctx ctx;
	__u32 zero = 0;
	bool in_sync;
	struct pt_open_result r = pt_open(&ctx, PT_OPEN_READ);
	unsigned int code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	char why[512];
	int err;

	if (pt_netns && setns(caller_netns, CLONE_NEWNET)) {
		put(o, "portier: network namespace: %s\n", strerror(errno));
		goto cleanup;
	}
	if (r.outcome == PT_OPEN_NOT_LOADED) {
		render_info(o, false);
		code = MHD_HTTP_OK;
		goto cleanup;
	}
	if (r.outcome != PT_OPENED) {
		pt_open_why(r, &ctx, why, sizeof(why));
		put(o, "portier: %s\n", why);
		goto cleanup;
	}
	err = pt_state_load(&ctx, &st);
	err = err ?: pt_stats_collect(&ctx, &st, &s);
	if (!err && bpf_map_lookup_elem(ctx.fds[M_APPLY_INFO], &zero, &ai))
		err = -errno;
	pt_ctx_close(&ctx);	/* the snapshot is taken: render without the lock */
	in_sync = !err && config_in_sync(&st, &ai);
	if (err) {
		put(o, "portier: reading the pinned state in %s: %s\n", ctx.dir, pt_strerror(err));
		goto cleanup;
	}
	render(o, &st, &s, &ai, in_sync);
	code = MHD_HTTP_OK;
cleanup:
	pt_stats_free(&s);
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return code;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct out o = {};
	unsigned int code;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		put(&o, "only GET and HEAD\n");
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics")) {
		put(&o, "not found: the metrics are at /metrics\n");
		code = MHD_HTTP_NOT_FOUND;
	} else {
		code = scrape(&o);
	}
	if (o.oom) {
		free(o.p);
		return MHD_NO;
	}
	return reply(conn, code, code == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8",
		     o.p ? o.p : strdup(""), o.len);
}

/* ---- connection bounds ---- */

/* A live connection and when it began. The server's one thread notifies,
 * sweeps and closes, so the list needs no lock. */
struct conn {
	struct conn *next;
	int fd;
	struct timespec start;
	bool cut;
};

static struct conn *conns;

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void notify_conn(void *cls, struct MHD_Connection *mc, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct conn *c = *socket_context, **pp;
	const union MHD_ConnectionInfo *info;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		for (pp = &conns; c && *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		free(c);
		*socket_context = NULL;
		return;
	}
	info = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* a connection whose deadline cannot be kept is not served */
		shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = info->connect_fd;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->next = conns;
	conns = c;
	*socket_context = c;
}

/* Cut every connection past its deadline, whatever it is doing (sending a
 * header a byte at a time, or not reading its response): shutdown() wakes
 * the server on that socket, which then sees the end and closes it. The fd
 * is still the connection's: the server closes it only after the CLOSED
 * notification has taken it off the list, on this same thread. */
static void sweep(void)
{
	for (struct conn *c = conns; c; c = c->next) {
		if (c->cut || since(&c->start) < CONN_DEADLINE_S)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
	}
}

/* libmicrohttpd's messages (a client refused at a limit, a timeout) could
 * be provoked at will by any client: shown only with --debug. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (!pt_debug)
		return;
	fprintf(stderr, "portier: exporter: ");
	vfprintf(stderr, fmt, ap);
}

static bool is_loopback(uint8_t family_, const uint8_t addr[16])
{
	static const uint8_t one6[16] = { [15] = 1 };

	return family_ == PT_INET ? addr[0] == 127 : !memcmp(addr, one6, 16);
}

/* The listening socket, made here so a failure says exactly why. */
static int listen_on(uint8_t fam, const uint8_t addr[16], uint16_t port, int *fd_out)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd, one = 1, err;

	if (fam == PT_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == PT_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/* Serve until SIGTERM or SIGINT: 0, or 1 when the server loop fails. */
static int serve(struct MHD_Daemon *d, const sigset_t *sigs)
{
	const struct timespec poll_only = { 0, 0 };
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &poll_only);
		if (sig > 0)
			break;
		if (MHD_run_wait(d, LOOP_MS) != MHD_YES)
			return pt_fail("exporter: the HTTP server failed");
		sweep();
	}
	fprintf(stderr, "portier: exporter: stopped by %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}

/* Say early when the state is not there yet, and stop at a bad --netns;
 * then back to the caller's namespace to listen. */
static int probe_state(void)
{
	struct pt_ctx ctx;
	struct pt_open_result r = pt_open(&ctx, PT_OPEN_READ);
	int ret = r.outcome == PT_OPENED ? 0 : pt_open_fail(r, &ctx);

	pt_ctx_close(&ctx);
	if (pt_netns && setns(caller_netns, CLONE_NEWNET))
		return pt_fail("exporter: back to the caller's network namespace: %s",
			       strerror(errno));
	if (r.outcome == PT_OPEN_NOT_LOADED)
		pt_warn("exporter: serving portier_loaded 0 until portier is loaded there");
	return ret == PT_EXIT_USAGE ? ret : 0;
}

int cmd_exporter(int argc, char **argv)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, 'l' }, {} };
	const char *listen_s = DEFAULT_LISTEN;
	struct MHD_Daemon *d = NULL;
	uint8_t fam, addr[16];
	char where[80];
	sigset_t sigs;
	uint16_t port;
	int c, ret, err, fd = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'l')
			return pt_usage_error("exporter", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		listen_s = optarg;
	}
	ret = pt_check_positional("exporter", argc, argv, 0, 0);
	if (ret)
		return ret;
	if (pt_parse_addrport(listen_s, &fam, addr, &port, false, NULL))
		return pt_bad("exporter: bad --listen: %s", pt_why);
	if (!port)
		return pt_bad("exporter: bad --listen '%s': the port must be 1-65535", listen_s);
	pt_format_addrport(fam, addr, port, where, sizeof(where));

	caller_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (caller_netns < 0)
		return pt_fail("exporter: network namespace: %s", strerror(errno));
	ret = probe_state();
	if (ret)
		goto cleanup;
	err = listen_on(fam, addr, port, &fd);
	if (err) {
		ret = pt_fail("exporter: cannot listen on %s: %s", where, strerror(-err));
		goto cleanup;
	}
	if (!is_loopback(fam, addr))
		pt_warn("exporter: %s is not a loopback address: the metrics are exposed to "
			"whoever can reach it", where);

	/* blocked: only sigtimedwait() in serve() sees them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_MAX,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)CONN_PER_CLIENT,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_IDLE_S,
			     MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL, MHD_OPTION_END);
	if (!d) {
		close(fd);
		ret = pt_fail("exporter: cannot start the HTTP server on %s", where);
		goto cleanup;
	}
	printf("exporter: serving http://%s/metrics\n", where);
	fflush(stdout);
	ret = serve(d, &sigs);
	MHD_stop_daemon(d);	/* closes the listening socket */
cleanup:
	close(caller_netns);
	caller_netns = -1;
	return ret;
}
