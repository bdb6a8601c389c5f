/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the kernel itself knows about the sockets and addresses of the
 * current network namespace: the sockets of a protocol (NETLINK_SOCK_DIAG,
 * both families), which processes hold them (/proc), and whether an
 * address is local (getifaddrs, then the routing table). Used by explain.
 */
#ifndef PORTIER_DIAG_H
#define PORTIER_DIAG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parse.h"	/* PT_TCP_* */

struct pt_diag_sock {
	uint8_t family;		/* PT_INET or PT_INET6 */
	uint8_t state;		/* a PT_TCP_* state; UDP: CLOSE unconnected, ESTABLISHED connected */
	bool v6only;
	uint8_t local[16];	/* network order */
	uint16_t lport;		/* host order */
	uint8_t remote[16];
	uint16_t rport;
	uint32_t ifindex;	/* SO_BINDTODEVICE, 0 when not bound to a device */
	uint64_t cookie;
	uint32_t ino;
	uint32_t uid;
};

/* Every socket of proto (enum pt_proto) in both families: TCP listeners,
 * UDP sockets in every state. *out is malloc'ed (caller frees). */
int pt_diag_dump(uint8_t proto, struct pt_diag_sock **out, size_t *n);

/* For each socket inode, a process holding it (0 when none is found), by
 * one scan of /proc/PID/fd. */
int pt_diag_owners(const uint32_t *inos, size_t n, pid_t *pids);
/* Does process pid hold the socket with inode ino? */
bool pt_diag_pid_holds(pid_t pid, uint32_t ino);
/* The command name of a process ("" when it is gone). */
void pt_diag_comm(pid_t pid, char *buf, size_t len);

/* Is addr (enum pt_family) an address of this host? 1: an address of
 * the interface written to ifname; 2: local through a local route (AnyIP,
 * `ip route add local PREFIX dev lo`); 0: not local; -errno on error. */
int pt_addr_local(uint8_t family, const uint8_t addr[16], char ifname[IF_NAMESIZE]);

/* The name of an interface, or its index in decimal when it has none. */
void pt_ifname(uint32_t ifindex, char buf[IF_NAMESIZE + 8]);

#endif
