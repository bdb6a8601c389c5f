// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* register, unregister, services */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "sockets.h"
#include "table.h"

struct register_arg {
	const char *name;
	struct pt_sock_filter filter;
	struct pt_candidates cand;
	const char *pid_s, *fd_s;	/* --pid, --fd */
	bool all;			/* --all */
};

/* register declares the service when it is new; the sockets go in only
 * once that is committed, so they never hang under an id with no service */
static int edit_register(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct register_arg *a = varg;
	int err;

	if (pt_service_by_name(st, a->name))
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
};

static int edit_unregister(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct unregister_arg *a = varg;
	struct pt_service *s = pt_service_by_name(st, a->name);
	int err;

	if (!s)
		return pt_bad("unregister: no service '%s'", a->name);
	for (unsigned int proto = 0; proto < PT_NPROTO; proto++) {
		if (a->has_proto && proto != a->proto)
			continue;
		err = pt_sockets_clear(ctx, s->id, proto);
		if (err)
			return pt_fail("unregister: %s", pt_strerror(err));
	}
	return 0;
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
	return pt_edit_state(edit_unregister, NULL, &a);
}

/* One socket of a service, as `services` shows it. */
struct sock_row {
	uint8_t proto;
	char local[64];
	uint32_t pid;
};

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

			r->proto = proto;
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

		if (pt_json) {
			json_object *o = json_object_new_object(), *socks = json_object_new_array();

			json_object_object_add(o, "name", json_object_new_string(s->name));
			json_object_object_add(o, "desc", json_object_new_string(s->desc));
			for (size_t k = 0; k < n; k++) {
				json_object *so = json_object_new_object();

				json_object_object_add(so, "proto",
						       json_object_new_string(pt_proto_name(rows[k].proto)));
				json_object_object_add(so, "local", json_object_new_string(rows[k].local));
				json_object_object_add(so, "pid", json_object_new_int64(rows[k].pid));
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
			const char *row[] = { k ? "" : s->name, pt_proto_name(rows[k].proto),
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
		pt_json_print(arr);
		json_object_put(arr);
	} else {
		pt_table_print(&t);
		pt_table_free(&t);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}
