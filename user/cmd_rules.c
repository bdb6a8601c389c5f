// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * service, bind, unbind, bindings, policy, unpolicy, policies, watch,
 * unwatch, steer, unsteer, steers: parse every argument first, then edit
 * the state in one commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "config.h"
#include "sockets.h"
#include "table.h"
#include "xsk.h"

/* An edit as parsed, and the id of a service being deleted. */
struct edit_arg {
	struct pt_edit ed;
	uint32_t id;
};

/* argv in the grammar apply's files speak too; argv[0] is the command. */
static int parse_edit(int argc, char **argv, struct edit_arg *a)
{
	struct pt_word_error e;

	if (!pt_edit_parse(argv, (size_t)argc, &a->ed, &e))
		return 0;
	if (e.usage)
		return pt_usage_error(argv[0], "%s", e.msg);
	return pt_bad("%s: %s", argv[0], e.msg);
}

/* Once a policy or watch is live: say so when no interface has the guard
 * that enforces or counts it. */
static int warn_unguarded(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	const struct edit_arg *a = varg;

	pt_warn_no_guard(ctx, a->ed.verb == PT_VERB_POLICY ? "this policy is not enforced"
							   : "these ports are not counted");
	return 0;
}

/* ---- service ---- */

static int edit_service(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct edit_arg *a = varg;
	const char *name = a->ed.name;
	int err;

	if (a->ed.verb == PT_VERB_SERVICE_DEL) {
		struct pt_service *s = pt_service_by_name(st, name);

		a->id = s ? s->id : 0;
		err = pt_service_del(st, name);
		if (err == -ENOENT)
			return pt_bad("service del: no service '%s'", name);
		if (err == -EBUSY)
			return pt_bad("service del: '%s' is still bound: unbind its ports first "
				      "(see portier bindings)", name);
		return err ? pt_fail("service del: %s", strerror(-err)) : 0;
	}
	err = pt_service_add(st, name, a->ed.desc);
	if (err == -ENOSPC)
		return pt_bad("service add: at most %d services", PT_MAX_SERVICES);
	return err ? pt_fail("service add: %s", strerror(-err)) : 0;
}

/* Once the service is gone: its sockets go with it (nothing was bound to
 * it, so no packet could reach them any more). */
static int clear_service(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	const struct edit_arg *a = varg;

	for (unsigned int proto = 0; proto < PT_NPROTO; proto++)
		pt_sockets_clear(ctx, a->id, proto);
	pt_xsk_clear(ctx, a->id);
	return 0;
}

int cmd_service(int argc, char **argv)
{
	struct edit_arg a = {};

	return parse_edit(argc, argv, &a) ?:
	       pt_edit_state(edit_service,
			     a.ed.verb == PT_VERB_SERVICE_DEL ? clear_service : NULL, &a);
}

/* ---- bind / unbind ---- */

static int edit_bind(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct edit_arg *a = varg;
	struct pt_binding *b = &a->ed.bind;
	char pfx[64], ports[16], opfx[64], oports[16];
	size_t clash = 0;
	int err;

	pt_format_prefix(&b->prefix, pfx, sizeof(pfx));
	pt_format_ports(b->lo, b->hi, ports, sizeof(ports));
	if (a->ed.verb == PT_VERB_UNBIND) {
		err = pt_binding_del(st, b->proto, &b->prefix, b->lo, b->hi);
		if (err == -ENOENT)
			return pt_bad("unbind: no binding %s %s %s (see portier bindings)",
				      pt_proto_name(b->proto), pfx, ports);
		return err ? pt_fail("unbind: %s", strerror(-err)) : 0;
	}
	struct pt_service *s = pt_service_by_name(st, a->ed.name);
	if (!s)
		return pt_bad("bind: no service '%s': declare it with 'portier service add %s' "
			      "or 'portier register'", a->ed.name, a->ed.name);
	b->service = s->id;
	err = pt_binding_set(st, b, &clash);
	if (err == -ERANGE) {
		const struct pt_binding *o = &st->bindings[clash];

		return pt_bad("bind: %s %s %s partly overlaps the binding %s %s %s: ranges on "
			      "one prefix must be disjoint or nested",
			      pt_proto_name(b->proto), pfx, ports, pt_proto_name(o->proto),
			      pt_format_prefix(&o->prefix, opfx, sizeof(opfx)),
			      pt_format_ports(o->lo, o->hi, oports, sizeof(oports)));
	}
	if (err == -ENOSPC)
		return pt_bad("bind: at most %zu bindings, the capacity this state was "
			      "loaded with (load --max-bindings)", pt_state_max_bindings(st));
	return err ? pt_fail("bind: %s", strerror(-err)) : pt_xsk_bind_check(ctx, st, s->id, "bind");
}

int cmd_bind(int argc, char **argv)
{
	struct edit_arg a = {};

	return parse_edit(argc, argv, &a) ?: pt_edit_state(edit_bind, NULL, &a);
}

/* ---- policy / unpolicy ---- */

static int edit_policy(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	struct edit_arg *a = varg;
	struct pt_policy *p = &a->ed.policy;
	char ports[16], from[64], oports[16], ofrom[64];
	size_t clash = 0;
	int err;

	pt_format_ports(p->lo, p->hi, ports, sizeof(ports));
	pt_format_prefix(&p->from, from, sizeof(from));
	if (a->ed.verb == PT_VERB_UNPOLICY) {
		err = pt_policy_del(st, p->proto, p->lo, p->hi, &p->from);
		if (err == -ENOENT)
			return pt_bad("unpolicy: no policy %s %s from %s (see portier policies)",
				      pt_proto_name(p->proto), ports, from);
		return err ? pt_fail("unpolicy: %s", strerror(-err)) : 0;
	}
	err = pt_policy_set(st, p, &clash);
	if (err == -ERANGE) {
		const struct pt_policy *o = &st->policies[clash];

		return pt_bad("policy: %s %s from %s partly overlaps the policy %s %s from %s: "
			      "ranges with one source must be disjoint or nested",
			      pt_proto_name(p->proto), ports, from, pt_proto_name(o->proto),
			      pt_format_ports(o->lo, o->hi, oports, sizeof(oports)),
			      pt_format_prefix(&o->from, ofrom, sizeof(ofrom)));
	}
	if (err == -ENOSPC)
		return pt_bad("policy: at most %d policies", PT_MAX_POLICIES);
	return err ? pt_fail("policy: %s", strerror(-err)) : 0;
}

int cmd_policy(int argc, char **argv)
{
	struct edit_arg a = {};

	return parse_edit(argc, argv, &a) ?:
	       pt_edit_state(edit_policy, a.ed.verb == PT_VERB_POLICY ? warn_unguarded : NULL, &a);
}

/* ---- watch / unwatch ---- */

static int edit_watch(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	const struct edit_arg *a = varg;
	const struct pt_watch *w = &a->ed.watch;
	char ports[16];
	int err;

	pt_format_ports(w->lo, w->hi, ports, sizeof(ports));
	if (a->ed.verb == PT_VERB_UNWATCH) {
		err = pt_watch_del(st, w->proto, w->lo, w->hi);
		if (err == -ENOENT)
			return pt_bad("unwatch: %s %s is not watched", pt_proto_name(w->proto), ports);
		return err ? pt_fail("unwatch: %s", strerror(-err)) : 0;
	}
	err = pt_watch_add(st, w->proto, w->lo, w->hi);
	if (err == -ENOSPC)
		return pt_bad("watch: at most %d watch rules", PT_MAX_WATCHES);
	return err ? pt_fail("watch: %s", strerror(-err)) : 0;
}

int cmd_watch(int argc, char **argv)
{
	struct edit_arg a = {};

	return parse_edit(argc, argv, &a) ?:
	       pt_edit_state(edit_watch, a.ed.verb == PT_VERB_WATCH ? warn_unguarded : NULL, &a);
}

/* ---- steer / unsteer ---- */

/* The online CPUs, from the kernel's list ("0-3,8"): a bitmap of
 * PT_MAX_CPUS bits. */
static int online_cpus(uint8_t online[PT_MAX_CPUS / 8])
{
	char buf[4096], *p = buf;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	size_t n;

	memset(online, 0, PT_MAX_CPUS / 8);
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	while (*p && *p != '\n') {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;

		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				return -EINVAL;
		}
		for (unsigned long c = a; c <= b && c < PT_MAX_CPUS; c++)
			online[c / 8] |= (uint8_t)(1u << (c % 8));
		p = end;
		if (*p == ',')
			p++;
	}
	return 0;
}

int pt_steer_check_cpus(struct pt_ctx *ctx, const char *what, const struct pt_steer *steers,
			size_t n)
{
	uint8_t online[PT_MAX_CPUS / 8];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char ports[16];
	int err = online_cpus(online);

	if (err)
		return pt_fail("%s: reading /sys/devices/system/cpu/online: %s", what,
			       strerror(-err));
	if (bpf_obj_get_info_by_fd(ctx->fds[M_CPU_MAP], &info, &len))
		return pt_fail("%s: reading cpu_map: %s", what, strerror(errno));
	for (size_t i = 0; i < n; i++)
		for (uint16_t j = 0; j < steers[i].ncpus; j++) {
			uint16_t cpu = steers[i].cpus[j];

			pt_format_ports(steers[i].lo, steers[i].hi, ports, sizeof(ports));
			if (cpu >= info.max_entries)
				return pt_bad("%s: %s %s: CPU %u is beyond this host's CPUs (0-%u)",
					      what, pt_proto_name(steers[i].proto), ports, cpu,
					      info.max_entries - 1);
			if (!(online[cpu / 8] & (1u << (cpu % 8))))
				return pt_bad("%s: %s %s: CPU %u is not online (see "
					      "/sys/devices/system/cpu/online)",
					      what, pt_proto_name(steers[i].proto), ports, cpu);
		}
	return 0;
}

static int edit_steer(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	const struct edit_arg *a = varg;
	const struct pt_steer *s = &a->ed.steer;
	char ports[16], oports[16];
	size_t clash = 0;
	int err;

	pt_format_ports(s->lo, s->hi, ports, sizeof(ports));
	if (a->ed.verb == PT_VERB_UNSTEER) {
		err = pt_steer_del(st, s->proto, s->lo, s->hi);
		if (err == -ENOENT)
			return pt_bad("unsteer: no steer rule %s %s (see portier steers)",
				      pt_proto_name(s->proto), ports);
		return err ? pt_fail("unsteer: %s", strerror(-err)) : 0;
	}
	err = pt_steer_check_cpus(ctx, "steer", s, 1);
	if (err)
		return err;
	err = pt_steer_set(st, s, &clash);
	if (err == -ERANGE) {
		const struct pt_steer *o = &st->steers[clash];

		return pt_bad("steer: %s %s partly overlaps the steer rule %s %s: ranges of one "
			      "protocol must be disjoint or nested",
			      pt_proto_name(s->proto), ports, pt_proto_name(o->proto),
			      pt_format_ports(o->lo, o->hi, oports, sizeof(oports)));
	}
	if (err == -ENOSPC)
		return pt_bad("steer: at most %d steer rules", PT_MAX_STEERS);
	return err ? pt_fail("steer: %s", strerror(-err)) : 0;
}

/* Once a steer rule is live: say so when no interface has the guard. */
static int warn_unsteered(struct pt_ctx *ctx, struct pt_state *st, void *varg)
{
	pt_warn_no_guard(ctx, "these ports are not steered");
	return 0;
}

int cmd_steer(int argc, char **argv)
{
	struct edit_arg a = {};

	return parse_edit(argc, argv, &a) ?:
	       pt_edit_state(edit_steer, a.ed.verb == PT_VERB_STEER ? warn_unsteered : NULL, &a);
}

/* ---- bindings, policies, steers: the lists (and dump's JSON of them) ---- */

json_object *pt_json_bindings(const struct pt_state *st)
{
	json_object *arr = json_object_new_array();
	char pfx[64];

	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(b->proto)));
		json_object_object_add(o, "prefix", json_object_new_string(
			pt_format_prefix(&b->prefix, pfx, sizeof(pfx))));
		json_object_object_add(o, "port_lo", json_object_new_int(b->lo));
		json_object_object_add(o, "port_hi", json_object_new_int(b->hi));
		json_object_object_add(o, "service",
				       json_object_new_string(pt_service_name(st, b->service)));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *pt_json_policies(const struct pt_state *st)
{
	json_object *arr = json_object_new_array();
	char from[64];

	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(p->proto)));
		json_object_object_add(o, "port_lo", json_object_new_int(p->lo));
		json_object_object_add(o, "port_hi", json_object_new_int(p->hi));
		json_object_object_add(o, "action", json_object_new_string(pt_action_name(p->action)));
		json_object_object_add(o, "pps", json_object_new_int64(p->pps));
		json_object_object_add(o, "from", json_object_new_string(
			pt_format_prefix(&p->from, from, sizeof(from))));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *pt_json_steers(const struct pt_state *st)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *s = &st->steers[i];
		json_object *o = json_object_new_object(), *cpus = json_object_new_array();

		json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(s->proto)));
		json_object_object_add(o, "port_lo", json_object_new_int(s->lo));
		json_object_object_add(o, "port_hi", json_object_new_int(s->hi));
		for (uint16_t j = 0; j < s->ncpus; j++)
			json_object_array_add(cpus, json_object_new_int(s->cpus[j]));
		json_object_object_add(o, "cpus", cpus);
		json_object_array_add(arr, o);
	}
	return arr;
}

static void table_bindings(const struct pt_state *st, struct pt_table *t)
{
	static const char *const hdr[] = { "PROTO", "PREFIX", "PORTS", "SERVICE" };
	char pfx[64], ports[16];

	pt_table_init(t, 4, hdr);
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];
		const char *row[] = { pt_proto_name(b->proto),
				      pt_format_prefix(&b->prefix, pfx, sizeof(pfx)),
				      pt_format_ports(b->lo, b->hi, ports, sizeof(ports)),
				      pt_service_name(st, b->service) };

		pt_table_add(t, row);
	}
}

static void table_policies(const struct pt_state *st, struct pt_table *t)
{
	static const char *const hdr[] = { "PROTO", "PORTS", "ACTION", "PPS", "FROM" };
	char ports[16], from[64], pps[16];

	pt_table_init(t, 5, hdr);
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];
		const char *row[] = { pt_proto_name(p->proto),
				      pt_format_ports(p->lo, p->hi, ports, sizeof(ports)),
				      pt_action_name(p->action), pps,
				      pt_format_prefix(&p->from, from, sizeof(from)) };

		if (p->action == PT_LIMIT)
			snprintf(pps, sizeof(pps), "%u", p->pps);
		else
			snprintf(pps, sizeof(pps), "-");
		pt_table_add(t, row);
	}
}

static void table_steers(const struct pt_state *st, struct pt_table *t)
{
	static const char *const hdr[] = { "PROTO", "PORTS", "CPUS" };
	char ports[16], cpus[PT_MAX_STEER_CPUS * 6];

	pt_table_init(t, 3, hdr);
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *s = &st->steers[i];
		const char *row[] = { pt_proto_name(s->proto),
				      pt_format_ports(s->lo, s->hi, ports, sizeof(ports)),
				      pt_format_cpus(s->cpus, s->ncpus, cpus, sizeof(cpus)) };

		pt_table_add(t, row);
	}
}

/* Read the state, then print it as JSON or as a table, without the lock. */
static int list_rules(const char *cmd, int argc, char **argv,
		      json_object *(*json)(const struct pt_state *st),
		      void (*table)(const struct pt_state *st, struct pt_table *t))
{
	struct pt_state st = {};
	struct pt_ctx ctx;
	int ret;

	/* these take no argument and no option */
	if (argc > 1 && argv[1][0] == '-')
		return pt_usage_error(cmd, "unknown option '%s'", argv[1]);
	if (argc > 1)
		return pt_usage_error(cmd, "unexpected argument '%s'", argv[1]);
	ret = pt_read_state(cmd, &ctx, &st);
	if (ret)
		return ret;
	pt_read_done(&ctx);
	if (pt_json) {
		json_object *o = json(&st);

		pt_json_print(o);
		json_object_put(o);
	} else {
		struct pt_table t;

		table(&st, &t);
		pt_table_print(&t);
		pt_table_free(&t);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}

int cmd_bindings(int argc, char **argv)
{
	return list_rules("bindings", argc, argv, pt_json_bindings, table_bindings);
}

int cmd_policies(int argc, char **argv)
{
	return list_rules("policies", argc, argv, pt_json_policies, table_policies);
}

int cmd_steers(int argc, char **argv)
{
	return list_rules("steers", argc, argv, pt_json_steers, table_steers);
}
