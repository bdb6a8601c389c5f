// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * connload: the load generator and the servers of the dispatch benchmark.
 *
 *   connload tcp-server ADDR:PORT [--threads N] [--lifetime S]
 *       Listen; every connection gets "hi\n" and is closed. N threads
 *       accept on the one listener.
 *   connload udp-server ADDR:PORT [--lifetime S]
 *       Answer every datagram with its own payload, from the address the
 *       datagram was sent to (IP_PKTINFO / IPV6_RECVPKTINFO), so that a
 *       connected client accepts the reply whichever socket took it.
 *   connload tcp-client ADDR:PORT --count N [--threads T] [--timeout S]
 *       N connections, split over T threads, each: connect, read the
 *       greeting, close with SO_LINGER 0 (a reset: no TIME_WAIT).
 *   connload udp-client ADDR:PORT --count N [--window W] [--timeout S]
 *       One connected socket, W requests in flight; stops after N replies.
 *       A lull of 200 ms counts the requests in flight as lost and sends
 *       W new ones.
 *
 * Clients print "ok N", "failed F", "elapsed_s T" and "rate R" (per
 * second), and stop after S seconds (default 60) whatever the count.
 * Servers exit after their lifetime (default 900 s): nothing outlives a
 * benchmark that forgot it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

struct opts {
	struct target t;
	uint32_t count, threads, window, timeout, lifetime;
};

static int parse_target(const char *s, struct target *t)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	memset(t, 0, sizeof(*t));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	if (host[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&t->ss;
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -1;
		host[n - 1] = 0;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -1;
		t->len = sizeof(*a);
		t->family = AF_INET6;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&t->ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		t->len = sizeof(*a);
		t->family = AF_INET;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(uint64_t ok, uint64_t failed, double elapsed)
{
	printf("ok %llu\nfailed %llu\nelapsed_s %.6f\nrate %.1f\n", (unsigned long long)ok,
	       (unsigned long long)failed, elapsed, elapsed > 0 ? (double)ok / elapsed : 0.0);
}

static int set_timeouts(int fd, uint32_t seconds)
{
	struct timeval tv = {.tv_sec = seconds};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

/* ---- TCP ---- */

static int listen_fd = -1;

static void *tcp_accept_loop(void *arg)
{
	static const char greeting[] = "hi\n";

	(void)arg;
	for (;;) {
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			perror("connload: accept");
			exit(1);
		}
		if (write(c, greeting, sizeof(greeting) - 1) < 0 && errno != ECONNRESET &&
		    errno != EPIPE)
			perror("connload: write");
		close(c);
	}
	return NULL;
}

static int tcp_server(const struct opts *o)
{
	pthread_t th[MAX_THREADS];
	int on = 1;

	listen_fd = socket(o->t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(listen_fd, (const struct sockaddr *)&o->t.ss, o->t.len) ||
	    listen(listen_fd, 4096)) {
		perror("connload: tcp-server");
		return 1;
	}
	for (uint32_t i = 1; i < o->threads; i++)
		if (pthread_create(&th[i], NULL, tcp_accept_loop, NULL)) {
			fprintf(stderr, "connload: pthread_create failed\n");
			return 1;
		}
	tcp_accept_loop(NULL);
	return 0;
}

struct tcp_worker {
	const struct opts *o;
	uint32_t n;
	double deadline;
	uint64_t ok, failed;
};

static void *tcp_client_loop(void *arg)
{
	struct tcp_worker *w = arg;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	char buf[64];

	for (uint32_t i = 0; i < w->n; i++) {
		int fd;
		ssize_t r;

		if ((i & 63) == 0 && now_s() > w->deadline)
			break;
		fd = socket(w->o->t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			w->failed++;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) || set_timeouts(fd, 2) ||
		    connect(fd, (const struct sockaddr *)&w->o->t.ss, w->o->t.len)) {
			w->failed++;
			close(fd);
			continue;
		}
		r = read(fd, buf, sizeof(buf));
		if (r > 0)
			w->ok++;
		else
			w->failed++;
		close(fd);
	}
	return NULL;
}

static int tcp_client(const struct opts *o)
{
	struct tcp_worker w[MAX_THREADS] = {};
	pthread_t th[MAX_THREADS];
	uint64_t ok = 0, failed = 0;
	double t0 = now_s();

	for (uint32_t i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].n = o->count / o->threads + (i < o->count % o->threads);
		w[i].deadline = t0 + o->timeout;
		if (pthread_create(&th[i], NULL, tcp_client_loop, &w[i])) {
			fprintf(stderr, "connload: pthread_create failed\n");
			return 1;
		}
	}
	for (uint32_t i = 0; i < o->threads; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
		failed += w[i].failed;
	}
	report(ok, failed, now_s() - t0);
	return ok ? 0 : 1;
}

/* ---- UDP ---- */

static int udp_server(const struct opts *o)
{
	int fd, on = 1;
	char buf[2048];
	union {
		char v4[CMSG_SPACE(sizeof(struct in_pktinfo))];
		char v6[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cin, cout;

	fd = socket(o->t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (o->t.family == AF_INET
		 ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on))
		 : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on))) ||
	    bind(fd, (const struct sockaddr *)&o->t.ss, o->t.len)) {
		perror("connload: udp-server");
		return 1;
	}
	for (;;) {
		struct sockaddr_storage peer;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr m = {.msg_name = &peer,
				   .msg_namelen = sizeof(peer),
				   .msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = &cin,
				   .msg_controllen = sizeof(cin)};
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &m, 0);
		size_t clen = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("connload: recvmsg");
			return 1;
		}
		memset(&cout, 0, sizeof(cout));
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct cmsghdr *oc = (struct cmsghdr *)&cout;

			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				/* answer from the address the client sent to */
				pi.ipi_spec_dst = pi.ipi_addr;
				pi.ipi_ifindex = 0;
				oc->cmsg_level = IPPROTO_IP;
				oc->cmsg_type = IP_PKTINFO;
				oc->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(oc), &pi, sizeof(pi));
				clen = CMSG_SPACE(sizeof(pi));
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				pi.ipi6_ifindex = 0;
				oc->cmsg_level = IPPROTO_IPV6;
				oc->cmsg_type = IPV6_PKTINFO;
				oc->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(oc), &pi, sizeof(pi));
				clen = CMSG_SPACE(sizeof(pi));
			}
		}
		iov.iov_len = (size_t)n;
		m.msg_control = clen ? &cout : NULL;
		m.msg_controllen = clen;
		if (sendmsg(fd, &m, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN)
			perror("connload: sendmsg");
	}
}

static int udp_client(const struct opts *o)
{
	uint64_t ok = 0, lost = 0, inflight = 0;
	double t0 = now_s(), deadline = t0 + o->timeout;
	char req[32] = "ping", buf[64];
	int fd;

	fd = socket(o->t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&o->t.ss, o->t.len)) {
		perror("connload: udp-client");
		return 1;
	}
	while (ok < o->count && now_s() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r;

		while (inflight < o->window && ok + inflight < o->count) {
			if (send(fd, req, sizeof(req), 0) < 0) {
				if (errno == ECONNREFUSED || errno == EAGAIN || errno == ENOBUFS)
					break;
				perror("connload: send");
				return 1;
			}
			inflight++;
		}
		r = poll(&p, 1, 200);
		if (r < 0 && errno != EINTR) {
			perror("connload: poll");
			return 1;
		}
		if (r <= 0) {
			lost += inflight; /* a lull: what is in flight is gone */
			inflight = 0;
			continue;
		}
		while (inflight) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0) {
				if (errno == ECONNREFUSED) {
					lost++;
					inflight--;
					continue;
				}
				break;
			}
			ok++;
			inflight--;
		}
	}
	report(ok, lost, now_s() - t0);
	return ok ? 0 : 1;
}

/* ---- main ---- */

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: connload { tcp-server | udp-server } ADDR:PORT [--threads N] [--lifetime S]\n"
	    "       connload { tcp-client | udp-client } ADDR:PORT --count N [--threads T]\n"
	    "                [--window W] [--timeout S]\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"count", required_argument, NULL, 'n'},	{"threads", required_argument, NULL, 't'},
	    {"window", required_argument, NULL, 'w'},	{"timeout", required_argument, NULL, 'T'},
	    {"lifetime", required_argument, NULL, 'L'}, {}};
	struct opts o = {.count = 0, .threads = 1, .window = 8, .timeout = 60, .lifetime = 900};
	const char *mode;
	int opt;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (parse_target(argv[2], &o.t)) {
		fprintf(stderr, "connload: bad address %s (ADDR:PORT or [ADDR6]:PORT)\n", argv[2]);
		return 2;
	}
	optind = 3;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'n':
			bad = parse_u32(optarg, 1, 100000000, &o.count);
			break;
		case 't':
			bad = parse_u32(optarg, 1, MAX_THREADS, &o.threads);
			break;
		case 'w':
			bad = parse_u32(optarg, 1, 1024, &o.window);
			break;
		case 'T':
			bad = parse_u32(optarg, 1, 3600, &o.timeout);
			break;
		case 'L':
			bad = parse_u32(optarg, 1, 86400, &o.lifetime);
			break;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "connload: bad value %s\n", optarg);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "tcp-server") || !strcmp(mode, "udp-server")) {
		alarm(o.lifetime); /* SIGALRM ends the server */
		return mode[0] == 't' ? tcp_server(&o) : udp_server(&o);
	}
	if (!strcmp(mode, "tcp-client") || !strcmp(mode, "udp-client")) {
		if (!o.count) {
			fprintf(stderr, "connload: --count is required\n");
			return 2;
		}
		return mode[0] == 't' ? tcp_client(&o) : udp_client(&o);
	}
	usage(stderr);
	return 2;
}
