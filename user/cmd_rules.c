// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * service, bind, unbind, bindings, policy, unpolicy, policies, watch,
 * unwatch: parse every argument first, then edit the state in one commit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "sockets.h"
#include "table.h"

static const struct option no_opts[] = { {} };

/* Parse options that none of these commands take: only --from / --desc
 * are handled by their own commands. */
static int parse_plain(const char *cmd, int argc, char **argv)
{
	opterr = 0;
	if (getopt_long(argc, argv, "+", no_opts, NULL) != -1)
		return pt_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	return 0;
}

/* ---- service ---- */

struct service_arg {
	const char *name, *desc;
	bool del;
};

static int edit_service(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct service_arg *a = varg;
	int err;

	if (a->del) {
		struct pt_service *s = pt_service_by_name(st, a->name);
		uint32_t id = s ? s->id : 0;

		err = pt_service_del(st, a->name);
		if (err == -ENOENT)
			return pt_bad("service del: no service '%s'", a->name);
		if (err == -EBUSY)
			return pt_bad("service del: '%s' is still bound: unbind its ports first "
				      "(see portier bindings)", a->name);
		if (err)
			return pt_fail("service del: %s", strerror(-err));
		/* its sockets go with it: nothing is bound to it, so no packet
		 * can reach them any more */
		for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
			pt_sockets_clear(ctx, id, proto);
		return 0;
	}
	err = pt_service_add(st, a->name, a->desc);
	if (err == -ENOSPC)
		return pt_bad("service add: at most %d services", PT_MAX_SERVICES);
	if (err)
		return pt_fail("service add: %s", strerror(-err));
	return 0;
}

int cmd_service(int argc, char **argv)
{
	static const struct option opts[] = { { "desc", required_argument, NULL, 'd' }, {} };
	struct service_arg a = {};
	const char *sub;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return pt_usage_error("service", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		a.desc = optarg;
	}
	if (argc - optind < 1)
		return pt_usage_error("service", "missing 'add' or 'del'");
	sub = argv[optind];
	if (strcmp(sub, "add") && strcmp(sub, "del"))
		return pt_usage_error("service", "unknown subcommand '%s'", sub);
	a.del = !strcmp(sub, "del");
	if (argc - optind < 2)
		return pt_usage_error("service", "missing SERVICE");
	if (argc - optind > 2)
		return pt_usage_error("service", "unexpected argument '%s'", argv[optind + 2]);
	a.name = argv[optind + 1];
	if (pt_parse_name(a.name))
		return pt_bad("service %s: bad service name '%s': %s", sub, a.name, pt_why);
	if (a.del && a.desc)
		return pt_usage_error("service", "--desc goes with add");
	if (a.desc && strlen(a.desc) >= PT_DESC_LEN)
		return pt_bad("service add: --desc is longer than %d characters", PT_DESC_LEN - 1);
	if (a.desc && !pt_text_valid(a.desc))
		return pt_bad("service add: --desc must be UTF-8 text without control characters");
	return pt_edit_state(edit_service, &a);
}

/* ---- bind / unbind ---- */

struct bind_arg {
	struct pt_binding b;
	const char *service;
	bool del;
};

static int edit_bind(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct bind_arg *a = varg;
	char pfx[64], ports[16], opfx[64], oports[16];
	size_t clash = 0;
	int err;

	pt_format_prefix(&a->b.prefix, pfx, sizeof(pfx));
	pt_format_ports(a->b.lo, a->b.hi, ports, sizeof(ports));
	if (a->del) {
		err = pt_binding_del(st, a->b.proto, &a->b.prefix, a->b.lo, a->b.hi);
		if (err == -ENOENT)
			return pt_bad("unbind: no binding %s %s %s (see portier bindings)",
				      pt_proto_name(a->b.proto), pfx, ports);
		return err ? pt_fail("unbind: %s", strerror(-err)) : 0;
	}
	struct pt_service *s = pt_service_by_name(st, a->service);
	if (!s)
		return pt_bad("bind: no service '%s': declare it with 'portier service add %s' "
			      "or 'portier register'", a->service, a->service);
	a->b.service = s->id;
	err = pt_binding_set(st, &a->b, &clash);
	if (err == -ERANGE) {
		const struct pt_binding *o = &st->bindings[clash];

		return pt_bad("bind: %s %s %s partly overlaps the binding %s %s %s: ranges on "
			      "one prefix must be disjoint or nested",
			      pt_proto_name(a->b.proto), pfx, ports, pt_proto_name(o->proto),
			      pt_format_prefix(&o->prefix, opfx, sizeof(opfx)),
			      pt_format_ports(o->lo, o->hi, oports, sizeof(oports)));
	}
	if (err == -ENOSPC)
		return pt_bad("bind: at most %d bindings", PT_MAX_BINDINGS);
	return err ? pt_fail("bind: %s", strerror(-err)) : 0;
}

static int parse_rule_head(const char *cmd, char **args, uint8_t *proto, struct pt_prefix *pfx,
			   uint16_t *lo, uint16_t *hi)
{
	if (pt_parse_proto(args[0], proto))
		return pt_bad("%s: bad protocol: %s", cmd, pt_why);
	if (pt_parse_prefix(args[1], pfx))
		return pt_bad("%s: bad prefix: %s", cmd, pt_why);
	if (pt_parse_ports(args[2], lo, hi))
		return pt_bad("%s: bad ports: %s", cmd, pt_why);
	return 0;
}

int cmd_bind(int argc, char **argv)
{
	struct bind_arg a = {};
	int ret;

	ret = parse_plain("bind", argc, argv);
	ret = ret ?: pt_check_positional("bind", argc, argv, 4, 4);
	ret = ret ?: parse_rule_head("bind", &argv[optind], &a.b.proto, &a.b.prefix, &a.b.lo,
				     &a.b.hi);
	if (ret)
		return ret;
	a.service = argv[optind + 3];
	if (pt_parse_name(a.service))
		return pt_bad("bind: bad service name '%s': %s", a.service, pt_why);
	return pt_edit_state(edit_bind, &a);
}

int cmd_unbind(int argc, char **argv)
{
	struct bind_arg a = { .del = true };
	int ret;

	ret = parse_plain("unbind", argc, argv);
	ret = ret ?: pt_check_positional("unbind", argc, argv, 3, 3);
	ret = ret ?: parse_rule_head("unbind", &argv[optind], &a.b.proto, &a.b.prefix, &a.b.lo,
				     &a.b.hi);
	if (ret)
		return ret;
	return pt_edit_state(edit_bind, &a);
}

static const char *service_name(const struct pt_state *st, uint32_t id)
{
	const struct pt_service *s = pt_service_by_id(st, id);

	return s ? s->name : "?";
}

int cmd_bindings(int argc, char **argv)
{
	struct pt_state st = {};
	struct pt_ctx ctx;
	int ret;

	ret = parse_plain("bindings", argc, argv);
	ret = ret ?: pt_check_positional("bindings", argc, argv, 0, 0);
	ret = ret ?: pt_read_state("bindings", &ctx, &st);
	if (ret)
		return ret;
	pt_read_done(&ctx);	/* print without the lock */
	if (pt_json) {
		json_object *arr = json_object_new_array();

		for (size_t i = 0; i < st.nbindings; i++) {
			const struct pt_binding *b = &st.bindings[i];
			json_object *o = json_object_new_object();
			char pfx[64];

			json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(b->proto)));
			json_object_object_add(o, "prefix", json_object_new_string(
				pt_format_prefix(&b->prefix, pfx, sizeof(pfx))));
			json_object_object_add(o, "port_lo", json_object_new_int(b->lo));
			json_object_object_add(o, "port_hi", json_object_new_int(b->hi));
			json_object_object_add(o, "service", json_object_new_string(
				service_name(&st, b->service)));
			json_object_array_add(arr, o);
		}
		pt_json_print(arr);
		json_object_put(arr);
	} else {
		static const char *const hdr[] = { "PROTO", "PREFIX", "PORTS", "SERVICE" };
		struct pt_table t;

		pt_table_init(&t, 4, hdr);
		for (size_t i = 0; i < st.nbindings; i++) {
			const struct pt_binding *b = &st.bindings[i];
			char pfx[64], ports[16];
			const char *row[] = { pt_proto_name(b->proto),
					      pt_format_prefix(&b->prefix, pfx, sizeof(pfx)),
					      pt_format_ports(b->lo, b->hi, ports, sizeof(ports)),
					      service_name(&st, b->service) };
			pt_table_add(&t, row);
		}
		pt_table_print(&t);
		pt_table_free(&t);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}

/* ---- policy / unpolicy ---- */

struct policy_arg {
	struct pt_policy p;
	bool del;
};

static int edit_policy(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct policy_arg *a = varg;
	char ports[16], from[64], oports[16], ofrom[64];
	size_t clash = 0;
	int err;

	pt_format_ports(a->p.lo, a->p.hi, ports, sizeof(ports));
	pt_format_prefix(&a->p.from, from, sizeof(from));
	if (a->del) {
		err = pt_policy_del(st, a->p.proto, a->p.lo, a->p.hi, &a->p.from);
		if (err == -ENOENT)
			return pt_bad("unpolicy: no policy %s %s from %s (see portier policies)",
				      pt_proto_name(a->p.proto), ports, from);
		return err ? pt_fail("unpolicy: %s", strerror(-err)) : 0;
	}
	err = pt_policy_set(st, &a->p, &clash);
	if (err == -ERANGE) {
		const struct pt_policy *o = &st->policies[clash];

		return pt_bad("policy: %s %s from %s partly overlaps the policy %s %s from %s: "
			      "ranges with one source must be disjoint or nested",
			      pt_proto_name(a->p.proto), ports, from, pt_proto_name(o->proto),
			      pt_format_ports(o->lo, o->hi, oports, sizeof(oports)),
			      pt_format_prefix(&o->from, ofrom, sizeof(ofrom)));
	}
	if (err == -ENOSPC)
		return pt_bad("policy: at most %d policies", PT_MAX_POLICIES);
	return err ? pt_fail("policy: %s", strerror(-err)) : 0;
}

/* The largest rate a limit takes: beyond it the bucket arithmetic of the
 * guard (tokens scaled by 1e9 in 64 bits) would overflow. */
#define PT_MAX_PPS 1000000000ULL

static int parse_policy(const char *cmd, int argc, char **argv, struct policy_arg *a,
			bool with_action)
{
	static const struct option opts[] = { { "from", required_argument, NULL, 'f' }, {} };
	const char *from = NULL;
	int c, nargs;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return pt_usage_error(cmd, "unknown option or missing value '%s'",
					      argv[optind - 1]);
		from = optarg;
	}
	nargs = argc - optind;
	if (pt_parse_proto(nargs > 0 ? argv[optind] : NULL, &a->p.proto))
		return nargs > 0 ? pt_bad("%s: bad protocol: %s", cmd, pt_why)
				 : pt_usage_error(cmd, "missing arguments");
	if (nargs < 2)
		return pt_usage_error(cmd, "missing PORTS");
	if (pt_parse_ports(argv[optind + 1], &a->p.lo, &a->p.hi))
		return pt_bad("%s: bad ports: %s", cmd, pt_why);
	a->p.from.family = PT_FAMILY_ANY;
	if (from && pt_parse_prefix(from, &a->p.from))
		return pt_bad("%s: bad --from prefix: %s", cmd, pt_why);
	if (!with_action)
		return pt_check_positional(cmd, argc, argv, 2, 2);
	if (nargs < 3)
		return pt_usage_error(cmd, "missing action");
	if (pt_parse_action(argv[optind + 2], &a->p.action))
		return pt_bad("%s: bad action: %s", cmd, pt_why);
	if (a->p.action == PT_LIMIT) {
		uint64_t pps;

		if (nargs < 4)
			return pt_usage_error(cmd, "limit needs PPS");
		if (pt_parse_uint(argv[optind + 3], PT_MAX_PPS, &pps) || pps == 0)
			return pt_bad("%s: bad PPS '%s': packets per second from 1 to %llu", cmd,
				      argv[optind + 3], PT_MAX_PPS);
		a->p.pps = (uint32_t)pps;
		return pt_check_positional(cmd, argc, argv, 4, 4);
	}
	return pt_check_positional(cmd, argc, argv, 3, 3);
}

/* Once the policy is live: say so when no interface can enforce it. */
static int warn_policy(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	(void)st;
	(void)varg;
	pt_warn_no_guard(ctx, "this policy is not enforced");
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	struct policy_arg a = {};
	int ret = parse_policy("policy", argc, argv, &a, true);

	return ret ?: pt_edit_state_then(edit_policy, warn_policy, &a);
}

int cmd_unpolicy(int argc, char **argv)
{
	struct policy_arg a = { .del = true };
	int ret = parse_policy("unpolicy", argc, argv, &a, false);

	return ret ?: pt_edit_state(edit_policy, &a);
}

int cmd_policies(int argc, char **argv)
{
	struct pt_state st = {};
	struct pt_ctx ctx;
	int ret;

	ret = parse_plain("policies", argc, argv);
	ret = ret ?: pt_check_positional("policies", argc, argv, 0, 0);
	ret = ret ?: pt_read_state("policies", &ctx, &st);
	if (ret)
		return ret;
	pt_read_done(&ctx);	/* print without the lock */
	if (pt_json) {
		json_object *arr = json_object_new_array();

		for (size_t i = 0; i < st.npolicies; i++) {
			const struct pt_policy *p = &st.policies[i];
			json_object *o = json_object_new_object();
			char from[64];

			json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(p->proto)));
			json_object_object_add(o, "port_lo", json_object_new_int(p->lo));
			json_object_object_add(o, "port_hi", json_object_new_int(p->hi));
			json_object_object_add(o, "action", json_object_new_string(pt_action_name(p->action)));
			json_object_object_add(o, "pps", json_object_new_int64(p->pps));
			json_object_object_add(o, "from", json_object_new_string(
				pt_format_prefix(&p->from, from, sizeof(from))));
			json_object_array_add(arr, o);
		}
		pt_json_print(arr);
		json_object_put(arr);
	} else {
		static const char *const hdr[] = { "PROTO", "PORTS", "ACTION", "PPS", "FROM" };
		struct pt_table t;

		pt_table_init(&t, 5, hdr);
		for (size_t i = 0; i < st.npolicies; i++) {
			const struct pt_policy *p = &st.policies[i];
			char ports[16], from[64], pps[16];
			const char *row[] = { pt_proto_name(p->proto),
					      pt_format_ports(p->lo, p->hi, ports, sizeof(ports)),
					      pt_action_name(p->action), pps,
					      pt_format_prefix(&p->from, from, sizeof(from)) };

			if (p->action == PT_LIMIT)
				snprintf(pps, sizeof(pps), "%u", p->pps);
			else
				snprintf(pps, sizeof(pps), "-");
			pt_table_add(&t, row);
		}
		pt_table_print(&t);
		pt_table_free(&t);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}

/* ---- watch / unwatch ---- */

struct watch_arg {
	uint8_t proto;
	uint16_t lo, hi;
	bool del;
};

static int edit_watch(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct watch_arg *a = varg;
	char ports[16];
	int err;

	pt_format_ports(a->lo, a->hi, ports, sizeof(ports));
	if (a->del) {
		err = pt_watch_del(st, a->proto, a->lo, a->hi);
		if (err == -ENOENT)
			return pt_bad("unwatch: %s %s is not watched", pt_proto_name(a->proto), ports);
		return err ? pt_fail("unwatch: %s", strerror(-err)) : 0;
	}
	err = pt_watch_add(st, a->proto, a->lo, a->hi);
	if (err == -ENOSPC)
		return pt_bad("watch: at most %d watch rules", PT_MAX_WATCHES);
	return err ? pt_fail("watch: %s", strerror(-err)) : 0;
}

static int warn_watch(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	(void)st;
	(void)varg;
	pt_warn_no_guard(ctx, "these ports are not counted");
	return 0;
}

static int watch_common(const char *cmd, int argc, char **argv, bool del)
{
	struct watch_arg a = { .del = del };
	int ret;

	ret = parse_plain(cmd, argc, argv);
	ret = ret ?: pt_check_positional(cmd, argc, argv, 2, 2);
	if (ret)
		return ret;
	if (pt_parse_proto(argv[optind], &a.proto))
		return pt_bad("%s: bad protocol: %s", cmd, pt_why);
	if (pt_parse_ports(argv[optind + 1], &a.lo, &a.hi))
		return pt_bad("%s: bad ports: %s", cmd, pt_why);
	return pt_edit_state_then(edit_watch, del ? NULL : warn_watch, &a);
}

int cmd_watch(int argc, char **argv)
{
	return watch_common("watch", argc, argv, false);
}

int cmd_unwatch(int argc, char **argv)
{
	return watch_common("unwatch", argc, argv, true);
}
