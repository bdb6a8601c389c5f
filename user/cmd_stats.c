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
#include "stats.h"
#include "table.h"

struct stats_filter {
	bool has_proto, has_port;
	uint8_t proto;
	uint16_t port;
	const char *service;
	bool exact;
};

static void num(uint64_t v, bool exact, char *buf, size_t len)
{
	if (exact)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		pt_format_human(v, buf, len);
}

static bool row_wanted(const struct stats_filter *f, const struct pt_stat_row *r)
{
	if (f->has_proto && r->proto != f->proto)
		return false;
	if (f->has_port && (f->port < r->lo || f->port > r->hi))
		return false;
	return !f->service || pt_stats_has_service(r->services, f->service);
}

static void add_counters_json(json_object *o, const struct pt_counters *c, bool dispatch)
{
	json_object_object_add(o, "packets", json_object_new_int64((int64_t)c->packets));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)c->bytes));
	json_object_object_add(o, "dropped", json_object_new_int64((int64_t)c->dropped));
	json_object_object_add(o, "limited", json_object_new_int64((int64_t)c->limited));
	json_object_object_add(o, "xsk", json_object_new_int64((int64_t)c->xsk));
	json_object_object_add(o, "cpu", json_object_new_int64((int64_t)c->cpu));
	json_object_object_add(o, "fallback", json_object_new_int64((int64_t)c->fallback));
	if (!dispatch)
		return;
	json_object_object_add(o, "steered", json_object_new_int64((int64_t)c->steered));
	json_object_object_add(o, "no_socket", json_object_new_int64((int64_t)c->no_socket));
}

static void print_json(const struct stats_filter *f, const struct pt_stats *s)
{
	json_object *root = json_object_new_object(), *ports = json_object_new_array(),
		    *classes = json_object_new_array();

	for (size_t i = 0; i < s->nrows; i++) {
		const struct pt_stat_row *r = &s->rows[i];
		json_object *o;

		if (!row_wanted(f, r))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(r->proto)));
		json_object_object_add(o, "port", json_object_new_int(r->lo));
		if (r->hi != r->lo)
			json_object_object_add(o, "port_hi", json_object_new_int(r->hi));
		json_object_object_add(o, "service", json_object_new_string(r->services));
		add_counters_json(o, &r->c, true);
		json_object_array_add(ports, o);
	}
	for (size_t i = 0; i < PT_NPROTO * PT_NCLASS && !f->has_port && !f->service; i++) {
		const struct pt_class_row *r = &s->classes[i];
		json_object *o;

		if (f->has_proto && r->proto != f->proto)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(r->proto)));
		json_object_object_add(o, "class", json_object_new_string(pt_class_name(r->class)));
		add_counters_json(o, &r->c, false);
		json_object_array_add(classes, o);
	}
	json_object_object_add(root, "ports", ports);
	json_object_object_add(root, "classes", classes);
	json_object_object_add(root, "malformed", json_object_new_int64((int64_t)s->global.malformed));
	json_object_object_add(root, "fragments", json_object_new_int64((int64_t)s->global.fragments));
	json_object_object_add(root, "other", json_object_new_int64((int64_t)s->global.other));
	json_object_object_add(root, "unreadable",
			       json_object_new_int64((int64_t)s->global.unreadable));
	json_object_object_add(root, "unbound_lookups",
			       json_object_new_int64((int64_t)s->global.dispatch_other));
	pt_json_print(root);
	json_object_put(root);
}

static void print_table(const struct stats_filter *f, const struct pt_stats *s)
{
	static const char *const hdr[] = { "PROTO", "PORT", "SERVICE", "PACKETS", "BYTES",
					   "DROPPED", "LIMITED", "STEERED", "NO_SOCKET" };
	struct pt_table t;
	char v[6][24];

	pt_table_init(&t, 9, hdr);
	for (size_t col = 3; col < 9; col++)
		pt_table_align_right(&t, col);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct pt_stat_row *r = &s->rows[i];
		char port[16];

		if (!row_wanted(f, r))
			continue;
		num(r->c.packets, f->exact, v[0], sizeof(v[0]));
		num(r->c.bytes, f->exact, v[1], sizeof(v[1]));
		num(r->c.dropped, f->exact, v[2], sizeof(v[2]));
		num(r->c.limited, f->exact, v[3], sizeof(v[3]));
		num(r->c.steered, f->exact, v[4], sizeof(v[4]));
		num(r->c.no_socket, f->exact, v[5], sizeof(v[5]));
		const char *row[] = { pt_proto_name(r->proto),
				      pt_format_ports(r->lo, r->hi, port, sizeof(port)),
				      r->services[0] ? r->services : "-", v[0], v[1], v[2], v[3], v[4],
				      v[5] };
		pt_table_add(&t, row);
	}
	/* class rows: the ports not counted one by one */
	for (size_t i = 0; i < PT_NPROTO * PT_NCLASS && !f->has_port && !f->service; i++) {
		const struct pt_class_row *r = &s->classes[i];

		if (f->has_proto && r->proto != f->proto)
			continue;
		num(r->c.packets, f->exact, v[0], sizeof(v[0]));
		num(r->c.bytes, f->exact, v[1], sizeof(v[1]));
		num(r->c.dropped, f->exact, v[2], sizeof(v[2]));
		num(r->c.limited, f->exact, v[3], sizeof(v[3]));
		const char *row[] = { pt_proto_name(r->proto), pt_class_name(r->class), "(other ports)",
				      v[0], v[1], v[2], v[3], "-", "-" };
		pt_table_add(&t, row);
	}
	pt_table_print(&t);
	pt_table_free(&t);
	num(s->global.malformed, f->exact, v[0], sizeof(v[0]));
	num(s->global.fragments, f->exact, v[1], sizeof(v[1]));
	num(s->global.other, f->exact, v[2], sizeof(v[2]));
	num(s->global.unreadable, f->exact, v[3], sizeof(v[3]));
	num(s->global.dispatch_other, f->exact, v[4], sizeof(v[4]));
	printf("guard: malformed %s, fragments %s, other %s, unreadable %s; "
	       "dispatch: unbound lookups %s\n", v[0], v[1], v[2], v[3], v[4]);
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
	struct pt_stats stats = {};
	struct pt_state st = {};
	struct pt_ctx ctx;
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
	ret = ret ?: pt_read_state("stats", &ctx, &st);
	if (ret)
		return ret;
	if (f.service && !pt_service_by_name(&st, f.service)) {
		ret = pt_bad("stats: no service '%s'", f.service);
		goto cleanup;
	}
	err = pt_stats_collect(&ctx, &st, &stats);
	if (err) {
		ret = pt_fail("stats: reading the counters: %s", pt_strerror(err));
		goto cleanup;
	}
	pt_read_done(&ctx);	/* print without the lock */
	if (pt_json)
		print_json(&f, &stats);
	else
		print_table(&f, &stats);
cleanup:
	pt_stats_free(&stats);
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return ret;
}
