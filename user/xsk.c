// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * AF_XDP services. A process's AF_XDP sockets are taken like its kernel
 * sockets (pidfd_getfd over /proc/PID/fd), but nothing in user space says
 * which queue an AF_XDP socket is bound to unless the kernel has XDP
 * socket diagnostics (CONFIG_XDP_SOCKETS_DIAG, xsk_diag). Where it has
 * not, the probe answers: bpf/xsk_probe.bpf.c, run with BPF_PROG_TEST_RUN,
 * reads the socket's queue from an XSKMAP (struct bpf_xdp_sock). The same
 * probe tells whether a slot of xsk_socks is still filled, which user
 * space cannot read either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/xdp_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sockets.h"
#include "xsk.h"
#include "xsk_probe.skel.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

void pt_xsk_set_free(struct pt_xsk_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* 0 for an AF_XDP socket of namespace netns_ino; -EXDEV for one of another
 * namespace; -ENOTSOCK for anything else. */
static int inspect_xsk(int fd, uint64_t netns_ino, struct pt_xsk *x)
{
	struct stat st;
	int domain = 0;
	socklen_t len = sizeof(domain);

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_XDP)
		return -ENOTSOCK;
	x->ino = st.st_ino;
	if (pt_sock_netns_check(fd, netns_ino))
		return -EXDEV;
	len = sizeof(x->cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &x->cookie, &len))
		x->cookie = 0;
	return 0;
}

static int add_xsk(struct pt_xsk_set *s, int fd, const struct pt_xsk *x)
{
	void *p;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].ino == x->ino) {
			close(fd);	/* the same socket on another fd */
			return 0;
		}
	p = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	s->v = p;
	s->v[s->n] = *x;
	s->v[s->n].fd = fd;
	s->n++;
	return 0;
}

struct from_pid {
	int pid;
	uint64_t netns_ino;
	struct pt_xsk_set *out;
	unsigned int *other_netns;
};

static int take_xsk(int fd, void *arg)
{
	struct from_pid *fp = arg;
	struct pt_xsk x = { .fd = -1, .pid = (uint32_t)fp->pid };
	int r = inspect_xsk(fd, fp->netns_ino, &x);

	if (r) {
		*fp->other_netns += r == -EXDEV;
		return 0;
	}
	/* add_xsk owns fd from here */
	r = add_xsk(fp->out, fd, &x);
	return r ? r : 1;
}

int pt_xsks_from_pid(int pid, uint64_t netns_ino, struct pt_xsk_set *out,
		     unsigned int *other_netns)
{
	struct from_pid fp;
	int err;

	memset(out, 0, sizeof(*out));
	*other_netns = 0;
	fp = (struct from_pid){ pid, netns_ino, out, other_netns };
	err = pt_pid_sockets(pid, take_xsk, &fp);
	if (err)
		pt_xsk_set_free(out);
	return err;
}

/* ---- where a socket is bound: the kernel's diagnostics ---- */

/* Fill ifindex and queue of every socket of s from one AF_XDP dump.
 * -EPROTONOSUPPORT when the kernel has no XDP socket diagnostics. */
static int diag_locate(struct pt_xsk_set *s)
{
	struct {
		struct nlmsghdr nlh;
		struct xdp_diag_req req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.req = { .sdiag_family = AF_XDP, .xdiag_show = XDP_SHOW_INFO },
	};
	static char buf[32768];
	size_t found = 0;
	int fd, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (send(fd, &msg, sizeof(msg), 0) < 0) {
		err = -errno;
		goto cleanup;
	}
	/* a dump ends with NLMSG_DONE; an unknown family answers an error */
	for (int rounds = 0; !done && rounds < 4096; rounds++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			err = -errno;
			goto cleanup;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			const struct xdp_diag_msg *m = NLMSG_DATA(h);
			const struct xdp_diag_info *info = NULL;
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error == -ENOENT || e->error == -EOPNOTSUPP ||
				      e->error == -EINVAL ? -EPROTONOSUPPORT : e->error;
				goto cleanup;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
				if (a->rta_type == XDP_DIAG_INFO &&
				    RTA_PAYLOAD(a) >= (int)sizeof(struct xdp_diag_info))
					info = RTA_DATA(a);
			if (!info)
				continue;
			for (size_t i = 0; i < s->n; i++)
				if (s->v[i].ino == m->xdiag_ino && !s->v[i].ifindex) {
					s->v[i].ifindex = info->ifindex;
					s->v[i].queue = info->queue_id;
					found++;
				}
		}
	}
	if (!done)
		err = -EIO;
	/* a socket the dump does not show as bound to a queue */
	else if (found < s->n)
		err = -ENOTCONN;
cleanup:
	close(fd);
	return err;
}

/* ---- the probe ---- */

/* The probe object: to read queues (xsk_socks_fd < 0: a private map), or
 * the slots of the pinned xsk_socks (by fd). */
static int probe_open(struct xsk_probe **out, int xsk_socks_fd)
{
	struct xsk_probe *p = xsk_probe__open();
	int err;

	*out = NULL;
	if (!p)
		return -errno ?: -ENOMEM;
	if (xsk_socks_fd >= 0) {
		bpf_program__set_autoload(p->progs.probe_queue, false);
		bpf_map__set_autocreate(p->maps.probe_xsk, false);
		err = bpf_map__reuse_fd(p->maps.xsk_socks, xsk_socks_fd);
	} else {
		bpf_program__set_autoload(p->progs.probe_slot, false);
		err = bpf_map__set_autocreate(p->maps.xsk_socks, false);
	}
	err = err ?: xsk_probe__load(p);
	if (err) {
		xsk_probe__destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

/* One run: the program's answer, in p->bss->result. */
static int probe_run(struct xsk_probe *p, const struct bpf_program *prog)
{
	static uint8_t frame[64];	/* XDP wants at least an Ethernet header */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	p->bss->result = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return -errno;
	return 0;
}

int pt_xsks_probe_queues(struct pt_xsk_set *s, size_t *bad)
{
	struct xsk_probe *p = NULL;
	uint32_t zero = 0;
	int err;

	err = probe_open(&p, -1);
	if (err)
		return err;
	for (size_t i = 0; i < s->n && !err; i++) {
		uint32_t v = (uint32_t)s->v[i].fd;

		/* the kernel refuses a socket bound to no queue */
		if (bpf_map_update_elem(bpf_map__fd(p->maps.probe_xsk), &zero, &v, BPF_ANY)) {
			*bad = i;
			err = errno == EOPNOTSUPP || errno == EINVAL || errno == EBADFD ? -ENOTCONN
											  : -errno;
			break;
		}
		err = probe_run(p, p->progs.probe_queue);
		if (!err && !p->bss->result) {
			*bad = i;
			err = -ENOTCONN;
		}
		if (!err)
			s->v[i].queue = p->bss->result - 1;
		bpf_map_delete_elem(bpf_map__fd(p->maps.probe_xsk), &zero);
	}
	xsk_probe__destroy(p);
	return err;
}

/*
 * Can the socket take redirected packets? A zero-length receive asks the
 * kernel without taking anything: ENXIO for a socket bound to no queue
 * (an XSKMAP takes it all the same, and the probe would read queue 0),
 * ENOBUFS for one without a receive ring; a bound socket with one answers
 * 0 (copy mode) or wakes its driver's receive (zero-copy), both harmless.
 */
static int check_bound(int fd)
{
	if (recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) == 0)
		return 0;
	if (errno == ENXIO)
		return -ENOTCONN;
	if (errno == ENOBUFS)
		return -ENOBUFS;
	return 0;	/* the interface is down, say: it may come up */
}

int pt_xsks_locate(struct pt_xsk_set *s, bool *by_diag, size_t *bad)
{
	int err;

	*by_diag = false;
	*bad = 0;
	for (size_t i = 0; i < s->n; i++) {
		err = check_bound(s->v[i].fd);
		if (err) {
			*bad = i;
			return err;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		s->v[i].ifindex = 0;
	err = diag_locate(s);
	if (!err) {
		*by_diag = true;
		return 0;
	}
	for (size_t i = 0; i < s->n; i++)
		s->v[i].ifindex = 0;	/* all from one source */
	return pt_xsks_probe_queues(s, bad);
}

/* ---- installing ---- */

struct xsk_records {
	uint32_t svc;
	uint64_t *cookies;
	struct pt_sock_info *info;
	size_t n;
};

static int collect_records(const void *key, const void *val, void *arg)
{
	const struct pt_sock_info *info = val;
	struct xsk_records *r = arg;
	void *p, *q;

	if (info->proto != PT_SOCK_XSK || info->service != r->svc)
		return 0;
	p = realloc(r->cookies, (r->n + 1) * sizeof(*r->cookies));
	if (!p)
		return -ENOMEM;
	r->cookies = p;
	q = realloc(r->info, (r->n + 1) * sizeof(*r->info));
	if (!q)
		return -ENOMEM;
	r->info = q;
	r->cookies[r->n] = *(const uint64_t *)key;
	r->info[r->n++] = *info;
	return 0;
}

static int records_of(struct pt_ctx *ctx, uint32_t svc, struct xsk_records *r)
{
	memset(r, 0, sizeof(*r));
	r->svc = svc;
	return pt_map_walk(ctx->fds, M_SOCK_INFO, -1, collect_records, r);
}

static void records_free(struct xsk_records *r)
{
	free(r->cookies);
	free(r->info);
	memset(r, 0, sizeof(*r));
}

static int empty_slot(int fd, uint32_t key)
{
	/* an XSKMAP answers ENOENT (or EINVAL) for an empty slot */
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT && errno != EINVAL)
		return -errno;
	return 0;
}

int pt_xsk_install(struct pt_ctx *ctx, uint32_t svc, uint32_t ifindex,
		   const struct pt_xsk_set *s, bool partial)
{
	int sfd = ctx->fds[M_XSK_SOCKS], mfd = ctx->fds[M_XSK_META];
	struct pt_xsk_meta meta = {}, old = {};
	struct xsk_records rec;
	uint64_t present = 0;
	int err;

	if (svc >= PT_MAX_SERVICES)
		return -EINVAL;
	bpf_map_lookup_elem(mfd, &svc, &old);
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].queue >= PT_MAX_QUEUES)
			return -ERANGE;
		present |= 1ULL << s->v[i].queue;
	}
	/* each queue's socket replaced in one update: a packet finds the old
	 * socket or the new one */
	for (size_t i = 0; i < s->n; i++) {
		uint32_t key = PT_XSK_KEY(svc, s->v[i].queue), v = (uint32_t)s->v[i].fd;

		if (bpf_map_update_elem(sfd, &key, &v, BPF_ANY))
			return -errno;
	}
	for (uint32_t q = 0; q < PT_MAX_QUEUES && !partial; q++)
		if (!(present >> q & 1)) {
			err = empty_slot(sfd, PT_XSK_KEY(svc, q));
			if (err)
				return err;
		}
	meta.ifindex = ifindex;
	meta.queues = (uint32_t)present | (partial && old.ifindex == ifindex ? old.queues : 0);
	if (bpf_map_update_elem(mfd, &svc, &meta, BPF_ANY))
		return -errno;
	/* the records: the replaced queues' go, the new ones come */
	err = records_of(ctx, svc, &rec);
	for (size_t i = 0; !err && i < rec.n; i++)
		if (!partial || present >> (rec.info[i].queue & 63) & 1)
			bpf_map_delete_elem(ctx->fds[M_SOCK_INFO], &rec.cookies[i]);
	records_free(&rec);
	for (size_t i = 0; !err && i < s->n; i++) {
		struct pt_sock_info info = {
			.pid = s->v[i].pid, .service = svc, .proto = PT_SOCK_XSK,
			.ifindex = ifindex, .queue = s->v[i].queue,
		};

		if (s->v[i].cookie &&
		    bpf_map_update_elem(ctx->fds[M_SOCK_INFO], &s->v[i].cookie, &info, BPF_ANY))
			err = -errno;
	}
	return err;
}

int pt_xsk_clear(struct pt_ctx *ctx, uint32_t svc)
{
	struct pt_xsk_meta meta = {};
	struct xsk_records rec;
	int err = 0;

	if (svc >= PT_MAX_SERVICES)
		return -EINVAL;
	if (bpf_map_update_elem(ctx->fds[M_XSK_META], &svc, &meta, BPF_ANY))
		err = -errno;
	for (uint32_t q = 0; q < PT_MAX_QUEUES; q++) {
		int e = empty_slot(ctx->fds[M_XSK_SOCKS], PT_XSK_KEY(svc, q));

		err = err ?: e;
	}
	if (!records_of(ctx, svc, &rec))
		for (size_t i = 0; i < rec.n; i++)
			bpf_map_delete_elem(ctx->fds[M_SOCK_INFO], &rec.cookies[i]);
	records_free(&rec);
	return err;
}

static int cmp_row(const void *a, const void *b)
{
	const struct pt_xsk_row *x = a, *y = b;

	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

int pt_xsk_rows(struct pt_ctx *ctx, uint32_t svc, struct pt_xsk_row *rows, size_t max, size_t *n)
{
	struct xsk_probe *p = NULL;
	struct xsk_records rec;
	int err;

	*n = 0;
	err = records_of(ctx, svc, &rec);
	if (err || !rec.n)
		goto cleanup;
	err = probe_open(&p, ctx->fds[M_XSK_SOCKS]);
	for (size_t i = 0; i < rec.n && *n < max; i++) {
		struct pt_xsk_row *r = &rows[(*n)++];

		r->queue = rec.info[i].queue;
		r->ifindex = rec.info[i].ifindex;
		r->pid = rec.info[i].pid;
		r->live = false;
		if (err || r->queue >= PT_MAX_QUEUES)
			continue;
		p->bss->key = PT_XSK_KEY(svc, r->queue);
		/* the slot still holds a socket on this queue: the one
		 * registered (a re-register rewrites the record with the slot) */
		r->live = !probe_run(p, p->progs.probe_slot) && p->bss->result == r->queue + 1;
	}
	qsort(rows, *n, sizeof(*rows), cmp_row);
cleanup:
	xsk_probe__destroy(p);
	records_free(&rec);
	return err;
}
