// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* register, unregister, services */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "sockets.h"
#include "table.h"
#include "xdp.h"
#include "xsk.h"

struct register_arg {
	const char *name;
	struct pt_sock_filter filter;
	struct pt_candidates cand;
	const char *pid_s, *fd_s;	/* --pid, --fd */
	bool all;			/* --all */
	/* --xsk: the process's AF_XDP sockets, on ifindex (--ifname, or what
	 * the kernel says); --queue takes only that queue's socket */
	bool xsk, has_queue;
	const char *ifname;
	uint32_t queue, ifindex;
	struct pt_xsk_set xs;
};

/* Does the service hold live kernel sockets? */
static bool has_kernel_sockets(struct pt_ctx *ctx, uint32_t svc)
{
	uint64_t cookies[2 * PT_MAX_SOCKETS];
	size_t n = 0;

	for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
		if (!pt_service_sockets(ctx, svc, proto, cookies, 2 * PT_MAX_SOCKETS, &n) && n)
			return true;
	return false;
}

static int refuse_xsk_service(const char *name)
{
	return pt_bad("register: '%s' is an AF_XDP service: a service holds kernel sockets or "
		      "AF_XDP sockets, not both ('portier unregister %s' first)", name, name);
}

/* register declares the service when it is new; the sockets go in only
 * once that is committed, so they never hang under an id with no service */
static int edit_register(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct register_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	int err;

	if (s && s->xsk_ifindex)
		return refuse_xsk_service(a->name);
	if (s)
		return 0;
	err = pt_service_add(st, a->name, NULL);
	if (err == -ENOSPC)
		return pt_bad("register: at most %d services", PT_MAX_SERVICES);
	return err ? pt_fail("register: %s", strerror(-err)) : 0;
}

static int install_sockets(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct register_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	int err;

	if (!s)
		return pt_fail("register: service '%s' vanished", a->name);
	for (unsigned int proto = 0; proto < PT_NPROTO; proto++) {
		bool any = false;

		for (size_t i = 0; i < a->cand.n; i++)
			any |= a->cand.socks[i].proto == proto;
		if (!any)
			continue;
		err = pt_sockets_install(ctx, s->id, proto, &a->cand);
		if (err == -E2BIG)
			return pt_bad("register: more than %d %s sockets of one family for '%s'",
				      PT_MAX_SOCKETS, pt_proto_name(proto), a->name);
		if (err)
			return pt_fail("register: installing the sockets: %s", pt_strerror(err));
	}
	return 0;
}

/* The refusal of an ambiguous --pid: every candidate endpoint, in one line. */
static int refuse_ambiguous(const struct register_arg *a, unsigned long long pid, uint8_t proto,
			    uint8_t family)
{
	enum { SHOWN = 8 };
	char list[SHOWN * 72 + 32] = "";
	size_t used = 0, shown = 0, total = pt_candidates_endpoints(&a->cand);

	for (size_t i = 0; i < a->cand.n && shown < SHOWN; i++) {
		const struct pt_sock *s = &a->cand.socks[i];
		char local[64];
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= s->proto == a->cand.socks[j].proto &&
			       s->family == a->cand.socks[j].family && s->port == a->cand.socks[j].port &&
			       !memcmp(s->addr, a->cand.socks[j].addr, 16);
		if (dup)
			continue;
		pt_format_addrport(s->family, s->addr, s->port, local, sizeof(local));
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s %s", shown ? ", " : "",
					 pt_proto_name(s->proto), local);
		shown++;
	}
	if (total > shown)
		snprintf(list + used, sizeof(list) - used, ", and %zu more", total - shown);
	return pt_bad("register: pid %llu: %zu candidates, more than one %s over %s (%s); choose "
		      "with --addr ADDR:PORT or take all with --all", pid, total,
		      pt_proto_name(proto), family == PT_INET ? "IPv4" : "IPv6", list);
}

static void describe_warnings(const struct register_arg *a)
{
	for (size_t i = 0; i < a->cand.n; i++) {
		const struct pt_sock *s = &a->cand.socks[i];
		char local[64];

		if (s->proto != PT_UDP || s->pktinfo)
			continue;
		pt_format_addrport(s->family, s->addr, s->port, local, sizeof(local));
		pt_warn("register: udp socket %s of '%s' has neither %s nor %s set: its replies "
			"leave from %s, not from the address and port the client sent to",
			local, a->name, s->family == PT_INET ? "IP_PKTINFO" : "IPV6_RECVPKTINFO",
			s->family == PT_INET ? "IP_RECVORIGDSTADDR" : "IPV6_RECVORIGDSTADDR", local);
	}
}

static int parse_register(int argc, char **argv, struct register_arg *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "fd", required_argument, NULL, 'f' },
		{ "proto", required_argument, NULL, 'P' },
		{ "addr", required_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "xsk", no_argument, NULL, 'x' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "queue", required_argument, NULL, 'q' },
		{},
	};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p') {
			a->pid_s = optarg;
		} else if (c == 'f') {
			a->fd_s = optarg;
		} else if (c == 'P') {
			if (pt_parse_proto(optarg, &a->filter.proto))
				return pt_bad("register: bad --proto: %s", pt_why);
			a->filter.has_proto = true;
		} else if (c == 'a') {
			if (pt_parse_addrport(optarg, &a->filter.family, a->filter.addr,
					      &a->filter.port, false, NULL))
				return pt_bad("register: bad --addr: %s", pt_why);
			a->filter.has_addr = true;
		} else if (c == 'A') {
			a->all = true;
		} else if (c == 'x') {
			a->xsk = true;
		} else if (c == 'i') {
			a->ifname = optarg;
		} else if (c == 'q') {
			uint64_t v;

			if (pt_parse_uint(optarg, PT_MAX_QUEUES - 1, &v))
				return pt_bad("register: bad --queue '%s': a receive queue 0-%d",
					      optarg, PT_MAX_QUEUES - 1);
			a->queue = (uint32_t)v;
			a->has_queue = true;
		} else {
			return pt_usage_error("register", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	ret = pt_check_positional("register", argc, argv, 1, 1);
	if (ret)
		return ret;
	a->name = argv[optind];
	if (pt_parse_name(a->name))
		return pt_bad("register: bad service name '%s': %s", a->name, pt_why);
	if (!a->pid_s == !a->fd_s)
		return pt_usage_error("register", "give exactly one of --pid and --fd");
	if (a->all && a->filter.has_addr)
		return pt_usage_error("register", "--addr takes one socket, --all takes them all: "
				      "give one of them");
	if (a->all && a->fd_s)
		return pt_usage_error("register", "--all goes with --pid");
	if (!a->xsk && (a->ifname || a->has_queue))
		return pt_usage_error("register", "--ifname and --queue go with --xsk");
	if (a->xsk && (a->fd_s || a->all || a->filter.has_proto || a->filter.has_addr))
		return pt_usage_error("register", "--xsk takes a process's AF_XDP sockets: it goes "
				      "with --pid [--ifname IF --queue Q] only");
	return 0;
}

/* --pid: the candidates among the process's sockets in namespace netns_ino. */
static int sockets_of_pid(struct register_arg *a, uint64_t netns_ino)
{
	struct pt_sock_reject rej;
	uint8_t aproto, afam;
	uint64_t v;
	int err;

	if (pt_parse_uint(a->pid_s, 0x7fffffff, &v) || v == 0)
		return pt_bad("register: bad --pid '%s': a process id", a->pid_s);
	err = pt_sockets_from_pid((int)v, netns_ino, &a->filter, &a->cand, &rej);
	if (err == -ESRCH || err == -ENOENT)
		return pt_bad("register: no process with pid %llu", (unsigned long long)v);
	if (err)
		return pt_fail("register: taking the sockets of pid %llu: %s",
			       (unsigned long long)v, strerror(-err));
	if (!a->cand.n && rej.other_netns)
		return pt_bad("register: pid %llu has only sockets of another network "
			      "namespace (use --netns)", (unsigned long long)v);
	if (!a->cand.n)
		return pt_bad("register: pid %llu has no listening TCP or unconnected UDP "
			      "socket%s", (unsigned long long)v,
			      a->filter.has_proto || a->filter.has_addr ?
			      " matching --proto/--addr" : "");
	/* an admin or debug listener beside the service's own is never
	 * taken by accident: more than one endpoint per (protocol,
	 * family) needs --addr or --all */
	if (!a->all && !a->filter.has_addr && pt_candidates_ambiguous(&a->cand, &aproto, &afam))
		return refuse_ambiguous(a, (unsigned long long)v, aproto, afam);
	return 0;
}

/* --fd: the caller's socket, when it is one of namespace netns_ino. */
static int socket_of_fd(struct register_arg *a, uint64_t netns_ino)
{
	const char *why = NULL;
	uint64_t v;
	int err;

	if (pt_parse_uint(a->fd_s, 0x7fffffff, &v))
		return pt_bad("register: bad --fd '%s': a file descriptor number", a->fd_s);
	err = pt_socket_from_fd((int)v, netns_ino, &a->filter, &a->cand, &why);
	if (err)
		return pt_bad("register: fd %llu: %s", (unsigned long long)v,
			      why ? why : strerror(-err));
	return 0;
}

/* ---- register --xsk ---- */

static bool guarded(struct pt_ctx *ctx, uint32_t ifindex)
{
	static struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
	size_t n = 0;

	if (pt_xdp_list(ctx, xif, PT_MAX_XDP_IFACES, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (xif[i].ifindex == ifindex && xif[i].attached && xif[i].exists)
			return true;
	return false;
}

int pt_xsk_bind_check(struct pt_ctx *ctx, const struct pt_state *st, uint32_t svc, const char *cmd)
{
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_service *s = pt_service_by_id(st, st->bindings[i].service);
		char ifn[IF_NAMESIZE];

		if (!s || !s->xsk_ifindex || (svc != UINT32_MAX && s->id != svc) ||
		    guarded(ctx, s->xsk_ifindex))
			continue;
		if (!if_indextoname(s->xsk_ifindex, ifn))
			return pt_fail("%s: '%s' is an AF_XDP service whose interface (index %u) is "
				       "gone: register it again", cmd, s->name, s->xsk_ifindex);
		return pt_fail("%s: '%s' is an AF_XDP service on %s, which has no portier guard "
			       "to steer its packets: 'portier load --xdp %s' first", cmd, s->name,
			       ifn, ifn);
	}
	return 0;
}

/* The interfaces that have the guard, for a hint: "veth0, veth1". */
static void guarded_names(struct pt_ctx *ctx, char *buf, size_t len)
{
	static struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
	size_t n = 0, used = 0;

	buf[0] = 0;
	if (pt_xdp_list(ctx, xif, PT_MAX_XDP_IFACES, &n))
		n = 0;
	for (size_t i = 0; i < n && used < len; i++)
		if (xif[i].attached && xif[i].exists)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 xif[i].rec.ifname);
}

static int edit_register_xsk(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct register_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	char names[256], ifn[IF_NAMESIZE] = "?";
	int err;

	if (!a->ifindex) {
		guarded_names(ctx, names, sizeof(names));
		return pt_bad("register: this kernel does not say which interface an AF_XDP socket "
			      "is bound to (no XDP socket diagnostics): name it with --ifname IF "
			      "(%s%s)", names[0] ? "interfaces with the guard: " : "no interface has "
			      "the guard yet: portier load --xdp IF", names);
	}
	if (s && has_kernel_sockets(ctx, s->id))
		return pt_bad("register: '%s' holds kernel sockets: a service holds kernel sockets "
			      "or AF_XDP sockets, not both ('portier unregister %s' first)",
			      a->name, a->name);
	if (s && a->has_queue && s->xsk_ifindex && s->xsk_ifindex != a->ifindex)
		return pt_bad("register: '%s' has AF_XDP sockets on %s: all of a service's AF_XDP "
			      "sockets are on one interface", a->name,
			      if_indextoname(s->xsk_ifindex, ifn) ? ifn : "another interface");
	if (!s) {
		err = pt_service_add(st, a->name, NULL);
		if (err == -ENOSPC)
			return pt_bad("register: at most %d services", PT_MAX_SERVICES);
		if (err)
			return pt_fail("register: %s", strerror(-err));
		s = pt_service_by_name(st, a->name);
		if (!s)
			return pt_fail("register: service '%s' vanished", a->name);
	}
	/* the commit marks the ports bound to it for the guard */
	s->xsk_ifindex = a->ifindex;
	return 0;
}

static int install_xsk(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct register_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	int err;

	if (!s)
		return pt_fail("register: service '%s' vanished", a->name);
	err = pt_xsk_install(ctx, s->id, a->ifindex, &a->xs, a->has_queue);
	if (err)
		return pt_fail("register: installing the AF_XDP sockets: %s", pt_strerror(err));
	return 0;
}

/* Queues of s as "0, 1, 3", for messages. */
static void queue_list(const struct pt_xsk_set *s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < s->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%u", i ? ", " : "",
					 s->v[i].queue);
}

/* Keep only the socket of --queue. */
static int pick_queue(struct register_arg *a, unsigned long long pid)
{
	char qs[256];
	size_t k = 0;

	queue_list(&a->xs, qs, sizeof(qs));
	for (size_t i = 0; i < a->xs.n; i++) {
		if (a->xs.v[i].queue == a->queue) {
			struct pt_xsk t = a->xs.v[k];

			a->xs.v[k++] = a->xs.v[i];
			a->xs.v[i] = t;
		}
	}
	if (!k)
		return pt_bad("register: pid %llu has no AF_XDP socket on queue %u (its sockets are "
			      "on queue%s %s)", pid, a->queue, a->xs.n > 1 ? "s" : "", qs);
	for (size_t i = k; i < a->xs.n; i++)
		close(a->xs.v[i].fd);
	a->xs.n = k;
	return 0;
}

/* The process's AF_XDP sockets and where they are bound; the calling
 * thread is in the target namespace. */
static int xsks_of_pid(struct register_arg *a, uint64_t netns_ino)
{
	char ifn[IF_NAMESIZE] = "?";
	unsigned int other = 0;
	unsigned long long pid;
	uint32_t given = 0;
	bool by_diag;
	size_t bad;
	uint64_t v;
	int err;

	if (pt_parse_uint(a->pid_s, 0x7fffffff, &v) || v == 0)
		return pt_bad("register: bad --pid '%s': a process id", a->pid_s);
	pid = (unsigned long long)v;
	if (a->ifname) {
		given = if_nametoindex(a->ifname);
		if (!given)
			return pt_bad("register: bad --ifname '%s': no such interface in this network "
				      "namespace", a->ifname);
	}
	err = pt_xsks_from_pid((int)v, netns_ino, &a->xs, &other);
	if (err == -ESRCH || err == -ENOENT)
		return pt_bad("register: no process with pid %llu", pid);
	if (err)
		return pt_fail("register: taking the sockets of pid %llu: %s", pid, strerror(-err));
	if (!a->xs.n)
		return pt_bad("register: pid %llu has no AF_XDP socket%s", pid,
			      other ? " in this network namespace (use --netns)" : "");
	err = pt_xsks_locate(&a->xs, &by_diag, &bad);
	if (err == -ENOTCONN)
		return pt_bad("register: pid %llu has an AF_XDP socket bound to no queue", pid);
	if (err == -ENOBUFS)
		return pt_bad("register: pid %llu has an AF_XDP socket without a receive ring: it "
			      "cannot take packets", pid);
	if (err)
		return pt_fail("register: finding the queues of pid %llu's AF_XDP sockets: %s", pid,
			       pt_strerror(err));
	if (by_diag) {
		for (size_t i = 1; i < a->xs.n; i++)
			if (a->xs.v[i].ifindex != a->xs.v[0].ifindex)
				return pt_bad("register: pid %llu has AF_XDP sockets on more than one "
					      "interface: all of a service's are on one", pid);
		if (given && given != a->xs.v[0].ifindex)
			return pt_bad("register: pid %llu's AF_XDP sockets are bound to %s, not "
				      "--ifname %s", pid,
				      if_indextoname(a->xs.v[0].ifindex, ifn) ? ifn : "another "
				      "interface", a->ifname);
		a->ifindex = a->xs.v[0].ifindex;
	} else {
		a->ifindex = given;	/* 0: the edit says what is missing */
	}
	if (a->has_queue) {
		err = pick_queue(a, pid);
		if (err)
			return err;
	}
	for (size_t i = 0; i < a->xs.n; i++)
		for (size_t j = 0; j < i; j++)
			if (a->xs.v[i].queue == a->xs.v[j].queue)
				return pt_bad("register: pid %llu has more than one AF_XDP socket on "
					      "queue %u: one socket per queue", pid, a->xs.v[i].queue);
	return 0;
}

static int register_xsk(struct register_arg *a)
{
	struct pt_open_result r;
	struct pt_ctx probe;
	int ret;

	r = pt_open(&probe, PT_OPEN_NETNS);
	ret = r.outcome != PT_OPENED ? pt_open_fail(r, &probe) : xsks_of_pid(a, probe.netns_ino);
	pt_ctx_close(&probe);
	ret = ret ?: pt_edit_state(edit_register_xsk, install_xsk, a);
	pt_xsk_set_free(&a->xs);
	return ret;
}

int cmd_register(int argc, char **argv)
{
	struct register_arg a = {};
	struct pt_open_result r;
	struct pt_ctx probe;
	uint8_t proto = 0;
	int ret;

	ret = parse_register(argc, argv, &a);
	if (ret)
		return ret;
	if (a.xsk)
		return register_xsk(&a);
	/* the namespace decides which sockets are acceptable */
	r = pt_open(&probe, PT_OPEN_NETNS);
	if (r.outcome != PT_OPENED)
		ret = pt_open_fail(r, &probe);
	else
		ret = a.pid_s ? sockets_of_pid(&a, probe.netns_ino)
			      : socket_of_fd(&a, probe.netns_ino);
	pt_ctx_close(&probe);
	if (!ret && pt_sockets_check(&a.cand, &proto))
		ret = pt_bad("register: more than %d %s sockets of one family for '%s'",
			     PT_MAX_SOCKETS, pt_proto_name(proto), a.name);
	if (!ret) {
		ret = pt_edit_state(edit_register, install_sockets, &a);
		if (!ret)
			describe_warnings(&a);
	}
	pt_candidates_free(&a.cand);
	return ret;
}

struct unregister_arg {
	const char *name;
	bool has_proto;
	uint8_t proto;
	uint32_t id;
};

static int edit_unregister(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct unregister_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	int err;

	if (!s)
		return pt_bad("unregister: no service '%s'", a->name);
	a->id = s->id;
	if (s->xsk_ifindex) {
		if (a->has_proto)
			return pt_bad("unregister: '%s' is an AF_XDP service: unregister it without "
				      "--proto", a->name);
		/* the commit unmarks its ports; then its sockets go */
		s->xsk_ifindex = 0;
		return 0;
	}
	for (unsigned int proto = 0; proto < PT_NPROTO; proto++) {
		if (a->has_proto && proto != a->proto)
			continue;
		err = pt_sockets_clear(ctx, s->id, proto);
		if (err)
			return pt_fail("unregister: %s", pt_strerror(err));
	}
	return 0;
}

/* An AF_XDP service's sockets go once no port is marked for it any more. */
static int after_unregister(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	const struct unregister_arg *a = varg;
	int err;

	if (a->has_proto)
		return 0;
	err = pt_xsk_clear(ctx, a->id);
	return err ? pt_fail("unregister: %s", pt_strerror(err)) : 0;
}

int cmd_unregister(int argc, char **argv)
{
	static const struct option opts[] = { { "proto", required_argument, NULL, 'P' }, {} };
	struct unregister_arg a = {};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'P')
			return pt_usage_error("unregister", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		if (pt_parse_proto(optarg, &a.proto))
			return pt_bad("unregister: bad --proto: %s", pt_why);
		a.has_proto = true;
	}
	ret = pt_check_positional("unregister", argc, argv, 1, 1);
	if (ret)
		return ret;
	a.name = argv[optind];
	if (pt_parse_name(a.name))
		return pt_bad("unregister: bad service name '%s': %s", a.name, pt_why);
	return pt_edit_state(edit_unregister, after_unregister, &a);
}

/* One socket of a service, as `services` shows it. */
struct sock_row {
	const char *proto;
	char local[64];
	uint32_t pid;
	bool gone;		/* an AF_XDP socket that has left its slot */
};

/* An AF_XDP service's sockets, by queue: "lobby queue 0". */
static int xsk_rows(struct pt_ctx *ctx, const struct pt_service *s, struct sock_row *rows,
		    size_t max, size_t *n)
{
	struct pt_xsk_row xr[PT_MAX_QUEUES];
	size_t nx = 0;
	int err = pt_xsk_rows(ctx, s->id, xr, PT_MAX_QUEUES, &nx);

	if (err)
		return err;
	for (size_t i = 0; i < nx && *n < max; i++) {
		struct sock_row *r = &rows[(*n)++];
		char ifn[IF_NAMESIZE];

		r->proto = "xsk";
		r->pid = xr[i].pid;
		r->gone = !xr[i].live;
		if (!if_indextoname(xr[i].ifindex, ifn))
			snprintf(ifn, sizeof(ifn), "if%u", xr[i].ifindex);
		snprintf(r->local, sizeof(r->local), "%s queue %u%s", ifn, xr[i].queue,
			 r->gone ? " (gone)" : "");
	}
	return 0;
}

static size_t service_rows(struct pt_ctx *ctx, const struct pt_service *s, struct sock_row *rows,
			   size_t max)
{
	size_t n = 0;

	for (unsigned int proto = 0; proto < PT_NPROTO; proto++) {
		uint64_t cookies[2 * PT_MAX_SOCKETS];
		size_t nc = 0;

		if (pt_service_sockets(ctx, s->id, proto, cookies, 2 * PT_MAX_SOCKETS, &nc))
			continue;
		for (size_t i = 0; i < nc && n < max; i++) {
			struct pt_sock_info info;
			struct sock_row *r = &rows[n++];

			r->proto = pt_proto_name((uint8_t)proto);
			r->gone = false;
			r->pid = 0;
			snprintf(r->local, sizeof(r->local), "?");
			if (bpf_map_lookup_elem(ctx->fds[M_SOCK_INFO], &cookies[i], &info))
				continue;
			r->pid = info.pid;
			pt_format_addrport(info.family, info.local_addr, info.local_port, r->local,
					   sizeof(r->local));
		}
	}
	return n;
}

int cmd_services(int argc, char **argv)
{
	struct sock_row rows[4 * PT_MAX_SOCKETS];
	struct pt_state st = {};
	struct pt_ctx ctx;
	json_object *arr = NULL;
	struct pt_table t;
	int ret;

	ret = pt_no_args("services", argc, argv);
	ret = ret ?: pt_read_state("services", &ctx, &st);
	if (ret)
		return ret;
	if (pt_json) {
		arr = json_object_new_array();
	} else {
		static const char *const hdr[] = { "SERVICE", "PROTO", "LOCAL", "PID", "DESCRIPTION" };

		pt_table_init(&t, 5, hdr);
		pt_table_align_right(&t, 3);
	}
	for (size_t i = 0; i < st.nservices; i++) {
		const struct pt_service *s = &st.services[i];
		size_t n = service_rows(&ctx, s, rows, sizeof(rows) / sizeof(rows[0]));

		if (s->xsk_ifindex && xsk_rows(&ctx, s, rows, sizeof(rows) / sizeof(rows[0]), &n)) {
			ret = pt_fail("services: reading the AF_XDP sockets of '%s': the probe "
				      "failed", s->name);
			break;
		}
		if (pt_json) {
			json_object *o = json_object_new_object(), *socks = json_object_new_array();

			json_object_object_add(o, "name", json_object_new_string(s->name));
			json_object_object_add(o, "desc", json_object_new_string(s->desc));
			for (size_t k = 0; k < n; k++) {
				json_object *so = json_object_new_object();

				json_object_object_add(so, "proto", json_object_new_string(rows[k].proto));
				json_object_object_add(so, "local", json_object_new_string(rows[k].local));
				json_object_object_add(so, "pid", json_object_new_int64(rows[k].pid));
				if (!strcmp(rows[k].proto, "xsk"))
					json_object_object_add(so, "gone",
							       json_object_new_boolean(rows[k].gone));
				json_object_array_add(socks, so);
			}
			json_object_object_add(o, "sockets", socks);
			json_object_array_add(arr, o);
			continue;
		}
		if (!n) {
			const char *row[] = { s->name, "-", "(no socket)", "-", s->desc };

			pt_table_add(&t, row);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			char pid[16];
			const char *row[] = { k ? "" : s->name, rows[k].proto,
					      rows[k].local, pid, k ? "" : s->desc };

			if (rows[k].pid)
				snprintf(pid, sizeof(pid), "%u", rows[k].pid);
			else
				snprintf(pid, sizeof(pid), "-");
			pt_table_add(&t, row);
		}
	}
	pt_read_done(&ctx);	/* print without the lock */
	if (pt_json) {
		if (!ret)
			pt_json_print(arr);
		json_object_put(arr);
	} else {
		if (!ret)
			pt_table_print(&t);
		pt_table_free(&t);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return ret;
}
