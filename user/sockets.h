/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PORTIER_SOCKETS_H
#define PORTIER_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "state.h"

/* One socket portier holds a duplicate of. */
struct pt_sock {
	int fd;
	uint64_t ino;
	uint64_t cookie;
	uint32_t pid;
	uint8_t proto, family;
	bool v6only;
	bool pktinfo;		/* UDP: answers from the original destination */
	uint8_t addr[16];
	uint16_t port;
};

struct pt_candidates {
	struct pt_sock *socks;
	size_t n;
};

struct pt_sock_filter {
	bool has_proto, has_addr;
	uint8_t proto, family;
	uint8_t addr[16];
	uint16_t port;
};

struct pt_sock_reject {
	unsigned int other_netns;
};

/* Take each socket of process pid (pidfd_getfd) and hand it to take, which
 * declines it (returns 0: closed here), keeps it (1: take owns fd from
 * then on) or fails (< 0: take has disposed of fd; the walk stops with that
 * error). A descriptor the process closes meanwhile is skipped. */
int pt_pid_sockets(int pid, int (*take)(int fd, void *arg), void *arg);
/* -EXDEV when fd's socket lives in another network namespace than netns_ino
 * (0 where the kernel cannot say: before 5.6's SIOCGSKNS on any socket). */
int pt_sock_netns_check(int fd, uint64_t netns_ino);
int pt_sockets_from_pid(int pid, uint64_t netns_ino, const struct pt_sock_filter *f,
			struct pt_candidates *out, struct pt_sock_reject *rej);
int pt_socket_from_fd(int fd, uint64_t netns_ino, const struct pt_sock_filter *f,
		      struct pt_candidates *out, const char **why);
void pt_candidates_free(struct pt_candidates *c);
/*
 * register takes one endpoint per (protocol, family) unless told which
 * (--addr) or told to take them all (--all). The distinct endpoints of c
 * (protocol, family, address, port: a reuseport group on one address is
 * one endpoint); true, with the first (protocol, family) that has more
 * than one, when c is ambiguous.
 */
size_t pt_candidates_endpoints(const struct pt_candidates *c);
bool pt_candidates_ambiguous(const struct pt_candidates *c, uint8_t *proto, uint8_t *family);

/* -E2BIG (and the protocol) when c has more than PT_MAX_SOCKETS sockets
 * for one protocol and family: checked before anything changes. */
int pt_sockets_check(const struct pt_candidates *c, uint8_t *proto);
/* Make c's sockets of proto the service's sockets of proto, atomically
 * per family. -E2BIG over PT_MAX_SOCKETS. */
int pt_sockets_install(struct pt_ctx *ctx, uint32_t svc, uint8_t proto,
		       const struct pt_candidates *c);
int pt_sockets_clear(struct pt_ctx *ctx, uint32_t svc, uint8_t proto);
/* Live sockets of a service, as cookies, deduplicated across families. */
int pt_service_sockets(struct pt_ctx *ctx, uint32_t svc, uint8_t proto, uint64_t *cookies,
		       size_t max, size_t *n);
bool pt_service_has_cookie(struct pt_ctx *ctx, uint32_t svc, uint8_t proto, uint64_t cookie);

#endif
