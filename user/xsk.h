/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * AF_XDP services: taking a process's AF_XDP sockets, finding the queue
 * (and, where the kernel says it, the interface) each is bound to, and
 * making them a service's sockets in xsk_socks / xsk_meta / sock_info.
 */
#ifndef PORTIER_XSK_H
#define PORTIER_XSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "state.h"

/* One AF_XDP socket portier holds a duplicate of. */
struct pt_xsk {
	int fd;
	uint64_t ino;
	uint64_t cookie;
	uint32_t pid;
	uint32_t ifindex;	/* 0: the kernel did not say (no xsk_diag) */
	uint32_t queue;
};

struct pt_xsk_set {
	struct pt_xsk *v;
	size_t n;
};

void pt_xsk_set_free(struct pt_xsk_set *s);
/* The AF_XDP sockets of process pid that live in namespace netns_ino
 * (the others counted in *other_netns). -ESRCH: no such process. */
int pt_xsks_from_pid(int pid, uint64_t netns_ino, struct pt_xsk_set *out,
		     unsigned int *other_netns);
/*
 * Where each socket of s is bound: the kernel's XDP socket diagnostics
 * (NETLINK_SOCK_DIAG) give the interface and queue; without them, the
 * probe (bpf/xsk_probe.bpf.c) gives the queue and the interface stays 0.
 * The calling thread must be in the sockets' namespace. -ENOTCONN with
 * *bad the socket's index: a socket not bound to any queue; -ENOBUFS: one
 * without a receive ring.
 */
int pt_xsks_locate(struct pt_xsk_set *s, bool *by_diag, size_t *bad);
/* The probe alone (tests compare it with diag where both work). */
int pt_xsks_probe_queues(struct pt_xsk_set *s, size_t *bad);

/*
 * Make s the AF_XDP sockets of service svc on ifindex: each queue's slot
 * is replaced in one map update; with !partial the service's queues that s
 * does not name are emptied too (a partial register, --queue, keeps them).
 * Then xsk_meta[svc] and the sock_info records follow.
 */
int pt_xsk_install(struct pt_ctx *ctx, uint32_t svc, uint32_t ifindex,
		   const struct pt_xsk_set *s, bool partial);
/* Empty the service's slots, xsk_meta and sock_info records. */
int pt_xsk_clear(struct pt_ctx *ctx, uint32_t svc);

/* The service's AF_XDP sockets as registered, by queue, each with whether
 * it is still in its slot (a socket whose process exited has left it). */
struct pt_xsk_row {
	uint32_t queue, ifindex, pid;
	bool live;
};
int pt_xsk_rows(struct pt_ctx *ctx, uint32_t svc, struct pt_xsk_row *rows, size_t max,
		size_t *n);

#endif
