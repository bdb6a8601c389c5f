// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel's own view of the namespace, for explain: sockets through
 * NETLINK_SOCK_DIAG (inet_diag), their owners through /proc, local
 * addresses through getifaddrs and an RTM_GETROUTE lookup.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "diag.h"
#include "portier.h"

#define NL_BUF 32768
#define NL_MAX_ROUNDS 100000	/* bound on the dump's recv() calls */

static int nl_open(int proto)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int nl_send(int fd, const void *req, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static int append(struct pt_diag_sock **v, size_t *n, size_t *cap, const struct pt_diag_sock *s)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(*v, ncap * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = ncap;
	}
	(*v)[(*n)++] = *s;
	return 0;
}

static void parse_msg(const struct nlmsghdr *h, struct pt_diag_sock *s)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *rta = (const struct rtattr *)(m + 1);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));

	memset(s, 0, sizeof(*s));
	s->family = m->idiag_family == AF_INET ? PT_INET : PT_INET6;
	s->state = m->idiag_state;
	memcpy(s->local, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	memcpy(s->remote, m->id.idiag_dst, m->idiag_family == AF_INET ? 4 : 16);
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	s->ifindex = m->id.idiag_if;
	s->cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	s->ino = m->idiag_inode;
	s->uid = m->idiag_uid;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(rta) >= 1)
			s->v6only = *(const uint8_t *)RTA_DATA(rta) != 0;
}

static int dump_family(int fd, int af, uint8_t proto, struct pt_diag_sock **v, size_t *n,
		       size_t *cap)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = (uint8_t)af,
			.sdiag_protocol = proto == PT_TCP ? IPPROTO_TCP : IPPROTO_UDP,
			.idiag_states = proto == PT_TCP ? 1u << PT_TCP_LISTEN : ~0u,
		},
	};
	char *buf = NULL;
	int err;

	err = nl_send(fd, &req, sizeof(req));
	if (err)
		return err;
	buf = malloc(NL_BUF);
	if (!buf)
		return -ENOMEM;
	for (int round = 0; round < NL_MAX_ROUNDS; round++) {
		ssize_t got = recv(fd, buf, NL_BUF, 0);
		int left;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (got == 0) {
			err = -EPROTO;
			goto out;
		}
		left = (int)got;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			struct pt_diag_sock s;

			if (h->nlmsg_type == NLMSG_DONE) {
				err = 0;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error ? e->error : -EPROTO;
				goto out;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			parse_msg(h, &s);
			err = append(v, n, cap, &s);
			if (err)
				goto out;
		}
	}
	err = -E2BIG;
out:
	free(buf);
	return err;
}

int pt_diag_dump(uint8_t proto, struct pt_diag_sock **out, size_t *n)
{
	static const int afs[] = { AF_INET, AF_INET6 };
	struct pt_diag_sock *v = NULL;
	size_t nv = 0, cap = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < 2 && !err; i++) {
		int fd = nl_open(NETLINK_SOCK_DIAG);

		if (fd < 0) {
			err = fd;
			break;
		}
		err = dump_family(fd, afs[i], proto, &v, &nv, &cap);
		/* a kernel without IPv6 has nothing to say about it; a missing
		 * protocol handler (ENOENT: no tcp_diag / udp_diag) is an error,
		 * or explain would claim that nothing listens */
		if (err == -EAFNOSUPPORT && afs[i] == AF_INET6)
			err = 0;
		close(fd);
	}
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = nv;
	return 0;
}

/* The socket inode an fd link names, 0 when it is not a socket. */
static uint32_t link_ino(const char *path)
{
	char link[64];
	ssize_t len = readlink(path, link, sizeof(link) - 1);
	unsigned long v;
	char *end;

	if (len <= 8)
		return 0;
	link[len] = 0;
	if (strncmp(link, "socket:[", 8))
		return 0;
	v = strtoul(link + 8, &end, 10);
	if (*end != ']')
		return 0;
	return (uint32_t)v;
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool pt_diag_pid_holds(pid_t pid, uint32_t ino)
{
	char path[64], fdpath[320];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (pid <= 0 || !ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (!numeric(de->d_name))
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		found = link_ino(fdpath) == ino;
	}
	closedir(d);
	return found;
}

int pt_diag_owners(const uint32_t *inos, size_t n, pid_t *pids)
{
	struct dirent *pe, *de;
	size_t missing = n;
	DIR *proc;

	for (size_t i = 0; i < n; i++) {
		pids[i] = 0;
		if (!inos[i])
			missing--;
	}
	if (!missing)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (missing && (pe = readdir(proc))) {
		char path[64], fdpath[320];
		DIR *d;

		if (!numeric(pe->d_name) || strlen(pe->d_name) > 16)
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/fd", pe->d_name);
		d = opendir(path);
		if (!d)
			continue;	/* gone, or a kernel thread */
		while (missing && (de = readdir(d))) {
			uint32_t ino;

			if (!numeric(de->d_name))
				continue;
			snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
			ino = link_ino(fdpath);
			if (!ino)
				continue;
			for (size_t i = 0; i < n; i++)
				if (inos[i] == ino && !pids[i]) {
					pids[i] = (pid_t)strtol(pe->d_name, NULL, 10);
					missing--;
				}
		}
		closedir(d);
	}
	closedir(proc);
	return 0;
}

void pt_diag_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = 0;
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* Ask the routing table: is a packet to addr delivered locally? */
static int route_local(uint8_t family, const uint8_t addr[16])
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[64];
	} req = {};
	size_t alen = family == PT_INET ? 4 : 16;
	struct rtattr *rta;
	char buf[4096];
	ssize_t got;
	int fd, err, left;

	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.n.nlmsg_type = RTM_GETROUTE;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = 1;
	req.r.rtm_family = family == PT_INET ? AF_INET : AF_INET6;
	req.r.rtm_dst_len = (uint8_t)(alen * 8);
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr, alen);
	req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(rta->rta_len);

	fd = nl_open(NETLINK_ROUTE);
	if (fd < 0)
		return fd;
	err = nl_send(fd, &req, req.n.nlmsg_len);
	if (err)
		goto out;
	got = recv(fd, buf, sizeof(buf), 0);
	if (got < 0) {
		err = -errno;
		goto out;
	}
	err = 0;
	left = (int)got;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			/* no route at all: certainly not local */
			err = e->error == -ENETUNREACH || e->error == -EHOSTUNREACH ||
			      e->error == -ENETDOWN || e->error == -EINVAL ? 0 : e->error;
			break;
		}
		if (h->nlmsg_type == RTM_NEWROUTE) {
			const struct rtmsg *r = NLMSG_DATA(h);

			err = r->rtm_type == RTN_LOCAL;
			break;
		}
	}
out:
	close(fd);
	return err;
}

int pt_addr_local(uint8_t family, const uint8_t addr[16], char ifname[IF_NAMESIZE])
{
	struct ifaddrs *ifa = NULL;
	int r;

	ifname[0] = 0;
	if (getifaddrs(&ifa))
		return -errno;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		bool same;

		if (!sa)
			continue;
		if (family == PT_INET && sa->sa_family == AF_INET)
			same = !memcmp(&((const struct sockaddr_in *)sa)->sin_addr, addr, 4);
		else if (family == PT_INET6 && sa->sa_family == AF_INET6)
			same = !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, addr, 16);
		else
			continue;
		if (same) {
			snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
			freeifaddrs(ifa);
			return 1;
		}
	}
	freeifaddrs(ifa);
	r = route_local(family, addr);
	if (r < 0)
		return r;
	return r ? 2 : 0;
}

void pt_ifname(uint32_t ifindex, char buf[IF_NAMESIZE + 8])
{
	char name[IF_NAMESIZE];

	if (if_indextoname(ifindex, name))
		snprintf(buf, IF_NAMESIZE + 8, "%s", name);
	else
		snprintf(buf, IF_NAMESIZE + 8, "ifindex %u", ifindex);
}
