// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * stats: the counters of every individually counted port (watched, bound,
 * policed) or wide range, the class rows for all other ports, and the
 * parser's global counters. One batched read of the per-CPU counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "table.h"

struct stats_filter {
	bool has_proto, has_port;
	uint8_t proto;
	uint16_t port;
	const char *service;
	bool exact;
};

static int cmp_slot(const void *a, const void *b)
{
	const struct pt_slot *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	return x->hi - y->hi;
}

/* The services bound to a counted port or range, comma separated. */
static void slot_services(const struct pt_state *st, const struct pt_slot *s, char *buf,
			  size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];
		const struct pt_service *svc;
		bool covers = s->lo == s->hi ? (b->lo <= s->lo && s->lo <= b->hi)
					     : (b->lo == s->lo && b->hi == s->hi);

		if (b->proto != s->proto || !covers)
			continue;
		svc = pt_service_by_id(st, b->service);
		if (!svc || strstr(buf, svc->name))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", svc->name);
	}
}

static bool service_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static void num(uint64_t v, bool exact, char *buf, size_t len)
{
	if (exact)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		pt_format_human(v, buf, len);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "exact", no_argument, NULL, 'e' },
		{},
	};
	struct stats_filter f = {};
	struct pt_counters *cnt = NULL;
	struct pt_global glob;
	struct pt_state st = {};
	struct pt_ctx ctx;
	json_object *root = NULL, *ports = NULL, *classes = NULL;
	struct pt_table t;
	int c, ret, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (pt_parse_proto(optarg, &f.proto))
				return pt_bad("stats: bad --proto: %s", pt_why);
			f.has_proto = true;
			break;
		case 'p':
			if (pt_parse_port(optarg, &f.port))
				return pt_bad("stats: bad --port: %s", pt_why);
			f.has_port = true;
			break;
		case 's':
			if (pt_parse_name(optarg))
				return pt_bad("stats: bad --service '%s': %s", optarg, pt_why);
			f.service = optarg;
			break;
		case 'e':
			f.exact = true;
			break;
		default:
			return pt_usage_error("stats", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	ret = pt_check_positional("stats", argc, argv, 0, 0);
	ret = ret ?: pt_open_locked(&ctx);
	if (ret)
		return ret;
	err = pt_state_load(&ctx, &st);
	if (err) {
		ret = pt_fail("stats: reading the pinned state: %s", pt_strerror(err));
		goto cleanup;
	}
	if (f.service && !pt_service_by_name(&st, f.service)) {
		ret = pt_bad("stats: no service '%s'", f.service);
		goto cleanup;
	}
	cnt = calloc(PT_MAX_SLOTS, sizeof(*cnt));
	if (!cnt) {
		ret = pt_fail("stats: out of memory");
		goto cleanup;
	}
	err = pt_read_all_counters(&ctx, cnt);
	err = err ?: pt_read_global(&ctx, &glob);
	if (err) {
		ret = pt_fail("stats: reading the counters: %s", pt_strerror(err));
		goto cleanup;
	}
	/* the counters are read; the lock is not needed to print them */
	if (st.nslots)
		qsort(st.slots, st.nslots, sizeof(*st.slots), cmp_slot);

	if (pt_json) {
		root = json_object_new_object();
		ports = json_object_new_array();
		classes = json_object_new_array();
	} else {
		static const char *const hdr[] = { "PROTO", "PORT", "SERVICE", "PACKETS", "BYTES",
						   "DROPPED", "LIMITED", "STEERED", "NO_SOCKET" };

		pt_table_init(&t, 9, hdr);
		for (size_t col = 3; col < 9; col++)
			pt_table_align_right(&t, col);
	}
	for (size_t i = 0; i < st.nslots; i++) {
		const struct pt_slot *s = &st.slots[i];
		const struct pt_counters *k = &cnt[s->slot < PT_MAX_SLOTS ? s->slot : 0];
		char svcs[256], port[16];

		if (f.has_proto && s->proto != f.proto)
			continue;
		if (f.has_port && (f.port < s->lo || f.port > s->hi))
			continue;
		slot_services(&st, s, svcs, sizeof(svcs));
		if (f.service && !service_listed(svcs, f.service))
			continue;
		if (pt_json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(s->proto)));
			json_object_object_add(o, "port", json_object_new_int(s->lo));
			if (s->hi != s->lo)
				json_object_object_add(o, "port_hi", json_object_new_int(s->hi));
			json_object_object_add(o, "service", json_object_new_string(svcs));
			json_object_object_add(o, "packets", json_object_new_int64((int64_t)k->packets));
			json_object_object_add(o, "bytes", json_object_new_int64((int64_t)k->bytes));
			json_object_object_add(o, "dropped", json_object_new_int64((int64_t)k->dropped));
			json_object_object_add(o, "limited", json_object_new_int64((int64_t)k->limited));
			json_object_object_add(o, "steered", json_object_new_int64((int64_t)k->steered));
			json_object_object_add(o, "no_socket",
					       json_object_new_int64((int64_t)k->no_socket));
			json_object_array_add(ports, o);
			continue;
		}
		char v[6][24];
		num(k->packets, f.exact, v[0], sizeof(v[0]));
		num(k->bytes, f.exact, v[1], sizeof(v[1]));
		num(k->dropped, f.exact, v[2], sizeof(v[2]));
		num(k->limited, f.exact, v[3], sizeof(v[3]));
		num(k->steered, f.exact, v[4], sizeof(v[4]));
		num(k->no_socket, f.exact, v[5], sizeof(v[5]));
		const char *row[] = { pt_proto_name(s->proto),
				      pt_format_ports(s->lo, s->hi, port, sizeof(port)),
				      svcs[0] ? svcs : "-", v[0], v[1], v[2], v[3], v[4], v[5] };
		pt_table_add(&t, row);
	}
	/* class rows: the ports not counted one by one */
	for (uint8_t proto = 0; proto < PT_NPROTO && !f.has_port && !f.service; proto++) {
		if (f.has_proto && proto != f.proto)
			continue;
		for (int cl = 0; cl < PT_NCLASS; cl++) {
			const struct pt_counters *k = &cnt[PT_CLASS_SLOT(proto, cl)];

			if (pt_json) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "proto",
						       json_object_new_string(pt_proto_name(proto)));
				json_object_object_add(o, "class",
						       json_object_new_string(pt_class_name(cl)));
				json_object_object_add(o, "packets",
						       json_object_new_int64((int64_t)k->packets));
				json_object_object_add(o, "bytes", json_object_new_int64((int64_t)k->bytes));
				json_object_object_add(o, "dropped",
						       json_object_new_int64((int64_t)k->dropped));
				json_object_object_add(o, "limited",
						       json_object_new_int64((int64_t)k->limited));
				json_object_array_add(classes, o);
				continue;
			}
			char v[4][24];
			num(k->packets, f.exact, v[0], sizeof(v[0]));
			num(k->bytes, f.exact, v[1], sizeof(v[1]));
			num(k->dropped, f.exact, v[2], sizeof(v[2]));
			num(k->limited, f.exact, v[3], sizeof(v[3]));
			const char *row[] = { pt_proto_name(proto), pt_class_name(cl), "(other ports)",
					      v[0], v[1], v[2], v[3], "-", "-" };
			pt_table_add(&t, row);
		}
	}
	if (pt_json) {
		json_object_object_add(root, "ports", ports);
		json_object_object_add(root, "classes", classes);
		json_object_object_add(root, "malformed", json_object_new_int64((int64_t)glob.malformed));
		json_object_object_add(root, "fragments", json_object_new_int64((int64_t)glob.fragments));
		json_object_object_add(root, "other", json_object_new_int64((int64_t)glob.other));
		json_object_object_add(root, "unbound_lookups",
				       json_object_new_int64((int64_t)glob.dispatch_other));
		pt_json_print(root);
		json_object_put(root);
	} else {
		char v[4][24];

		pt_table_print(&t);
		pt_table_free(&t);
		num(glob.malformed, f.exact, v[0], sizeof(v[0]));
		num(glob.fragments, f.exact, v[1], sizeof(v[1]));
		num(glob.other, f.exact, v[2], sizeof(v[2]));
		num(glob.dispatch_other, f.exact, v[3], sizeof(v[3]));
		printf("guard: malformed %s, fragments %s, other %s; dispatch: unbound lookups %s\n",
		       v[0], v[1], v[2], v[3]);
	}
cleanup:
	free(cnt);
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return ret;
}
