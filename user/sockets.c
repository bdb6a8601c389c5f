// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The occupants' doors: taking the listening TCP / unconnected UDP sockets
 * of a running process (pidfd_getfd) or of an inherited fd, checking them,
 * and installing them as a service's sockets. Each (service, protocol,
 * family) has two banks of up to 64 slots in svc_socks; the new set is
 * written to the idle bank and sock_meta flips to it in one store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "sockets.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

void pt_candidates_free(struct pt_candidates *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->socks[i].fd >= 0)
			close(c->socks[i].fd);
	free(c->socks);
	memset(c, 0, sizeof(*c));
}

static int sockopt_int(int fd, int level, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len))
		return -1;
	return v;
}

/* Describe one socket; 0 when it is a usable TCP listener or UDP socket,
 * -ENOTSOCK / -EPROTOTYPE / -ENOTCONN ... with *why set when it is not. */
static int inspect(int fd, uint64_t netns_ino, struct pt_sock *s, const char **why)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(ss);
	struct stat stt;
	int domain, type, protocol;

	*why = NULL;
	if (fstat(fd, &stt) || !S_ISSOCK(stt.st_mode)) {
		*why = "not a socket";
		return -ENOTSOCK;
	}
	s->ino = stt.st_ino;
	domain = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
	type = sockopt_int(fd, SOL_SOCKET, SO_TYPE);
	protocol = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);
	if (domain != AF_INET && domain != AF_INET6) {
		*why = "not an IPv4 or IPv6 socket";
		return -EAFNOSUPPORT;
	}
	s->family = domain == AF_INET ? PT_INET : PT_INET6;
	if (type == SOCK_STREAM && protocol == IPPROTO_TCP) {
		s->proto = PT_TCP;
		if (sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1) {
			*why = "a TCP socket that is not listening";
			return -EPROTOTYPE;
		}
	} else if (type == SOCK_DGRAM && protocol == IPPROTO_UDP) {
		s->proto = PT_UDP;
		if (!getpeername(fd, (struct sockaddr *)&ss, &len)) {
			*why = "a connected UDP socket";
			return -EISCONN;
		}
	} else {
		*why = "neither TCP nor UDP";
		return -EPROTOTYPE;
	}
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));	/* the kernel fills only the family's part */
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		*why = "no local address";
		return -errno;
	}
	memset(s->addr, 0, sizeof(s->addr));
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		memcpy(s->addr, &sin->sin_addr, 4);
		s->port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		memcpy(s->addr, &sin6->sin6_addr, 16);
		s->port = ntohs(sin6->sin6_port);
	}
	if (!s->port) {
		*why = "an unbound socket";
		return -EDESTADDRREQ;
	}
	s->v6only = s->family == PT_INET6 && sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 1;
	/* the socket must live in the namespace we steer */
	if (pt_sock_netns_check(fd, netns_ino)) {
		*why = "a socket of another network namespace";
		return -EXDEV;
	}
	len = sizeof(s->cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &s->cookie, &len))
		s->cookie = 0;
	if (s->proto == PT_UDP) {
		if (s->family == PT_INET)
			s->pktinfo = sockopt_int(fd, IPPROTO_IP, IP_PKTINFO) > 0 ||
				     sockopt_int(fd, IPPROTO_IP, IP_RECVORIGDSTADDR) > 0;
		else
			s->pktinfo = sockopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO) > 0 ||
				     sockopt_int(fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR) > 0;
	}
	return 0;
}

static bool matches(const struct pt_sock *s, const struct pt_sock_filter *f)
{
	if (f->has_proto && s->proto != f->proto)
		return false;
	if (f->has_addr) {
		if (s->port != f->port)
			return false;
		if (s->family != f->family || memcmp(s->addr, f->addr, s->family == PT_INET ? 4 : 16))
			return false;
	}
	return true;
}

static int add_cand(struct pt_candidates *c, int fd, const struct pt_sock *s)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->socks[i].ino == s->ino) {
			close(fd);	/* the same socket on another fd */
			return 0;
		}
	void *p = realloc(c->socks, (c->n + 1) * sizeof(*c->socks));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	c->socks = p;
	c->socks[c->n] = *s;
	c->socks[c->n].fd = fd;
	c->n++;
	return 0;
}

int pt_pid_sockets(int pid, int (*take)(int fd, void *arg), void *arg)
{
	char path[64], link[128];
	struct dirent *de;
	DIR *d = NULL;
	int pidfd, err = 0;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		err = -errno;
		goto cleanup;
	}
	while ((de = readdir(d)) && !err) {
		char fdpath[384], *end;
		ssize_t n;
		long t;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		errno = 0;
		t = strtol(de->d_name, &end, 10);
		if (errno || *end || t < 0 || t > INT_MAX)
			continue;	/* not a descriptor number */
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strncmp(link, "socket:[", 8))
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)t, 0);
		if (fd < 0) {
			/* the process closed it meanwhile (an accepting server
			 * does): not one of its sockets any more */
			if (errno != EBADF)
				err = -errno;
			continue;
		}
		err = take(fd, arg);
		if (!err)
			close(fd);	/* declined */
		err = err < 0 ? err : 0;
	}
cleanup:
	if (d)
		closedir(d);
	close(pidfd);
	return err;
}

int pt_sock_netns_check(int fd, uint64_t netns_ino)
{
	struct stat nst;
	int nsfd = ioctl(fd, SIOCGSKNS), same;

	if (nsfd < 0)
		return 0;	/* a kernel that cannot say */
	same = !fstat(nsfd, &nst) && nst.st_ino == netns_ino;
	close(nsfd);
	return same ? 0 : -EXDEV;
}

struct from_pid {
	int pid;
	uint64_t netns_ino;
	const struct pt_sock_filter *f;
	struct pt_candidates *out;
	struct pt_sock_reject *rej;
};

static int take_candidate(int fd, void *arg)
{
	struct from_pid *fp = arg;
	struct pt_sock s = { .fd = -1, .pid = (uint32_t)fp->pid };
	const char *why;
	int r = inspect(fd, fp->netns_ino, &s, &why);

	if (r) {
		fp->rej->other_netns += r == -EXDEV;
		return 0;
	}
	if (!matches(&s, fp->f))
		return 0;
	/* add_cand owns fd from here (a second fd of one socket, or a
	 * failure, it closes) */
	r = add_cand(fp->out, fd, &s);
	return r ? r : 1;
}

int pt_sockets_from_pid(int pid, uint64_t netns_ino, const struct pt_sock_filter *f,
			struct pt_candidates *out, struct pt_sock_reject *rej)
{
	struct from_pid fp;
	int err;

	memset(out, 0, sizeof(*out));
	memset(rej, 0, sizeof(*rej));
	fp = (struct from_pid){ pid, netns_ino, f, out, rej };
	err = pt_pid_sockets(pid, take_candidate, &fp);
	if (err)
		pt_candidates_free(out);
	return err;
}

int pt_socket_from_fd(int fd, uint64_t netns_ino, const struct pt_sock_filter *f,
		      struct pt_candidates *out, const char **why)
{
	struct pt_sock s = { .fd = -1 };
	int dupfd, r;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (fcntl(fd, F_GETFD) < 0) {
		*why = "not an open file descriptor";
		return -EBADF;
	}
	r = inspect(fd, netns_ino, &s, why);
	if (r)
		return r;
	if (!matches(&s, f)) {
		*why = "does not match --proto/--addr";
		return -ENOENT;
	}
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return -errno;
	return add_cand(out, dupfd, &s);
}

/* ---- choosing ---- */

static bool same_endpoint(const struct pt_sock *a, const struct pt_sock *b)
{
	return a->proto == b->proto && a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->family == PT_INET ? 4 : 16);
}

/* Is c->socks[i] the first socket of its endpoint? */
static bool first_of_endpoint(const struct pt_candidates *c, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (same_endpoint(&c->socks[j], &c->socks[i]))
			return false;
	return true;
}

size_t pt_candidates_endpoints(const struct pt_candidates *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += first_of_endpoint(c, i);
	return n;
}

bool pt_candidates_ambiguous(const struct pt_candidates *c, uint8_t *proto, uint8_t *family)
{
	size_t n[PT_NPROTO][PT_NFAMILY] = {};

	for (size_t i = 0; i < c->n; i++) {
		const struct pt_sock *s = &c->socks[i];

		if (!first_of_endpoint(c, i) || ++n[s->proto][s->family] < 2)
			continue;
		*proto = s->proto;
		*family = s->family;
		return true;
	}
	return false;
}

/* ---- installing ---- */

/*
 * Make socks[fam] (n[fam] of them) the sockets of (svc, proto, fam) for
 * both families: fill each idle bank, flip each sock_meta word, wait for
 * one grace period, clear the old banks. A lookup that read the old word
 * may still be using the old bank until the grace period is over; so the
 * old bank is cleared only after it, and an idle bank found with entries
 * (a command died between its flip and its grace period) is written only
 * after one.
 */
static int swap_banks(struct pt_ctx *ctx, uint32_t svc, uint8_t proto,
		      const struct pt_sock *socks[PT_NFAMILY][PT_MAX_SOCKETS],
		      const size_t n[PT_NFAMILY])
{
	int mfd = ctx->fds[M_SOCK_META], sfd = ctx->fds[M_SVC_SOCKS];
	uint32_t mi[PT_NFAMILY], bank[PT_NFAMILY];
	bool leftover = false;
	int err;

	for (unsigned int fam = 0; fam < PT_NFAMILY; fam++) {
		uint32_t meta = 0;

		mi[fam] = PT_META_INDEX(svc, proto, fam);
		if (bpf_map_lookup_elem(mfd, &mi[fam], &meta))
			return -errno;
		bank[fam] = PT_META_BANK(meta);
		for (uint32_t i = 0; i < PT_MAX_SOCKETS && !leftover; i++) {
			uint32_t key = PT_SOCK_KEY(mi[fam], bank[fam] ^ 1, i);
			uint64_t cookie;

			leftover = !bpf_map_lookup_elem(sfd, &key, &cookie);
		}
	}
	if (leftover) {
		err = pt_grace_period();
		if (err)
			return err;
	}
	/* fill the idle banks, clear what is left of an older set there */
	for (unsigned int fam = 0; fam < PT_NFAMILY; fam++) {
		for (uint32_t i = 0; i < PT_MAX_SOCKETS; i++) {
			uint32_t key = PT_SOCK_KEY(mi[fam], bank[fam] ^ 1, i);

			if (i < n[fam]) {
				uint64_t v = (uint64_t)socks[fam][i]->fd;

				if (bpf_map_update_elem(sfd, &key, &v, BPF_ANY))
					return -errno;
			} else if (bpf_map_delete_elem(sfd, &key) && errno != ENOENT &&
				   errno != EINVAL) {
				/* a socket map answers EINVAL for an empty slot */
				return -errno;
			}
		}
	}
	/* the switch: lookups see the old set or the new one, never a mix */
	for (unsigned int fam = 0; fam < PT_NFAMILY; fam++) {
		uint32_t nmeta = PT_META((uint32_t)n[fam], bank[fam] ^ 1);

		if (bpf_map_update_elem(mfd, &mi[fam], &nmeta, BPF_ANY))
			return -errno;
	}
	/* the new sets are live; without a grace period the old banks stay,
	 * and the next swap waits for one before it writes them */
	if (pt_grace_period())
		return 0;
	for (unsigned int fam = 0; fam < PT_NFAMILY; fam++)
		for (uint32_t i = 0; i < PT_MAX_SOCKETS; i++) {
			uint32_t key = PT_SOCK_KEY(mi[fam], bank[fam], i);

			bpf_map_delete_elem(sfd, &key);
		}
	return 0;
}

/* Can this socket take packets of family fam? */
static bool serves(const struct pt_sock *s, uint8_t fam)
{
	static const uint8_t any6[16];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (fam == PT_INET6)
		return s->family == PT_INET6;
	if (s->family == PT_INET)
		return true;
	/* a dual-stack IPv6 socket on :: or a v4-mapped address takes IPv4 */
	return !s->v6only && (!memcmp(s->addr, any6, 16) || !memcmp(s->addr, mapped, 12));
}

struct dead_socks {
	struct pt_ctx *ctx;
	uint64_t *cookies;
	size_t n;
};

static int collect_dead(const void *key, const void *val, void *arg)
{
	const struct pt_sock_info *info = val;
	struct dead_socks *d = arg;
	uint64_t cookie = *(const uint64_t *)key;
	void *p;

	if (info->proto == PT_SOCK_XSK)
		return 0;	/* an AF_XDP socket's: user/xsk.c keeps those */
	if (pt_service_has_cookie(d->ctx, info->service, info->proto, cookie))
		return 0;
	p = realloc(d->cookies, (d->n + 1) * sizeof(*d->cookies));
	if (!p)
		return -ENOMEM;
	d->cookies = p;
	d->cookies[d->n++] = cookie;
	return 0;
}

/* Drop sock_info records whose socket is in no service any more. */
static void gc_sock_info(struct pt_ctx *ctx)
{
	struct dead_socks d = { .ctx = ctx };

	pt_map_walk(ctx->fds, M_SOCK_INFO, -1, collect_dead, &d);
	for (size_t i = 0; i < d.n; i++)
		bpf_map_delete_elem(ctx->fds[M_SOCK_INFO], &d.cookies[i]);
	free(d.cookies);
}

int pt_sockets_check(const struct pt_candidates *c, uint8_t *proto_out)
{
	size_t n[PT_NPROTO][PT_NFAMILY] = {};

	for (size_t i = 0; i < c->n; i++)
		for (unsigned int fam = 0; fam < PT_NFAMILY; fam++)
			if (serves(&c->socks[i], fam) && ++n[c->socks[i].proto][fam] > PT_MAX_SOCKETS) {
				*proto_out = c->socks[i].proto;
				return -E2BIG;
			}
	return 0;
}

int pt_sockets_install(struct pt_ctx *ctx, uint32_t svc, uint8_t proto,
		       const struct pt_candidates *c)
{
	const struct pt_sock *fam_socks[PT_NFAMILY][PT_MAX_SOCKETS];
	size_t nfam[PT_NFAMILY] = {};
	int err;

	for (size_t i = 0; i < c->n; i++) {
		const struct pt_sock *s = &c->socks[i];

		if (s->proto != proto)
			continue;
		for (unsigned int fam = 0; fam < PT_NFAMILY; fam++) {
			if (!serves(s, fam))
				continue;
			if (nfam[fam] >= PT_MAX_SOCKETS)
				return -E2BIG;
			fam_socks[fam][nfam[fam]++] = s;
		}
	}
	err = swap_banks(ctx, svc, proto, fam_socks, nfam);
	if (err)
		return err;
	for (size_t i = 0; i < c->n; i++) {
		const struct pt_sock *s = &c->socks[i];
		struct pt_sock_info info = {
			.pid = s->pid, .service = svc, .proto = s->proto, .family = s->family,
			.v6only = s->v6only, .local_port = s->port,
		};

		if (s->proto != proto || !s->cookie)
			continue;
		memcpy(info.local_addr, s->addr, 16);
		bpf_map_update_elem(ctx->fds[M_SOCK_INFO], &s->cookie, &info, BPF_ANY);
	}
	gc_sock_info(ctx);
	return 0;
}

int pt_sockets_clear(struct pt_ctx *ctx, uint32_t svc, uint8_t proto)
{
	static const struct pt_sock *none[PT_NFAMILY][PT_MAX_SOCKETS];
	static const size_t zero[PT_NFAMILY];
	int err = swap_banks(ctx, svc, proto, none, zero);

	gc_sock_info(ctx);
	return err;
}

int pt_service_sockets(struct pt_ctx *ctx, uint32_t svc, uint8_t proto, uint64_t *cookies,
		       size_t max, size_t *n)
{
	*n = 0;
	for (unsigned int fam = 0; fam < PT_NFAMILY; fam++) {
		uint32_t mi = PT_META_INDEX(svc, proto, fam), meta = 0;

		if (bpf_map_lookup_elem(ctx->fds[M_SOCK_META], &mi, &meta))
			return -errno;
		for (uint32_t i = 0; i < PT_META_COUNT(meta) && i < PT_MAX_SOCKETS; i++) {
			uint32_t key = PT_SOCK_KEY(mi, PT_META_BANK(meta), i);
			uint64_t cookie;
			bool dup = false;

			/* a socket whose process exited has left the map */
			if (bpf_map_lookup_elem(ctx->fds[M_SVC_SOCKS], &key, &cookie))
				continue;
			for (size_t j = 0; j < *n; j++)
				dup |= cookies[j] == cookie;
			if (!dup && *n < max)
				cookies[(*n)++] = cookie;
		}
	}
	return 0;
}

bool pt_service_has_cookie(struct pt_ctx *ctx, uint32_t svc, uint8_t proto, uint64_t cookie)
{
	uint64_t cookies[2 * PT_MAX_SOCKETS];
	size_t n = 0;

	if (svc >= PT_MAX_SERVICES || proto >= PT_NPROTO)
		return false;
	if (pt_service_sockets(ctx, svc, proto, cookies, 2 * PT_MAX_SOCKETS, &n))
		return true;	/* unsure: keep the record */
	for (size_t i = 0; i < n; i++)
		if (cookies[i] == cookie)
			return true;
	return false;
}
