// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * explain PROTO ADDR:PORT [--from ADDR[:PORT]]: what happens to such a
 * packet here, step by step, and why. Exit 0 when it would be delivered
 * to a socket, 1 when not, 2 on bad input. Works without portier loaded
 * too: then the kernel alone decides, and explain says what it finds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "explain_gather.h"

static void print_json(const struct pt_explain_facts *f, const char *from,
		       const struct pt_explain *x)
{
	json_object *o = json_object_new_object(), *steps = json_object_new_array();
	char a[64];

	json_object_object_add(o, "proto", json_object_new_string(pt_proto_name(f->proto)));
	json_object_object_add(o, "addr", json_object_new_string(pt_format_addr(f->family, f->addr,
										  a, sizeof(a))));
	json_object_object_add(o, "port", json_object_new_int(f->port));
	json_object_object_add(o, "from", from ? json_object_new_string(from) : NULL);
	for (size_t i = 0; i < x->nsteps; i++) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "check", json_object_new_string(x->steps[i].check));
		json_object_object_add(s, "result", json_object_new_string(x->steps[i].result));
		json_object_object_add(s, "detail", json_object_new_string(x->steps[i].detail));
		json_object_array_add(steps, s);
	}
	json_object_object_add(o, "steps", steps);
	json_object_object_add(o, "verdict", json_object_new_string(x->verdict));
	json_object_object_add(o, "delivered", json_object_new_boolean(x->delivered));
	pt_json_print(o);
	json_object_put(o);
}

static void print_text(const struct pt_explain_facts *f, const char *from,
		       const struct pt_explain *x)
{
	char pkt[64];

	pt_format_addrport(f->family, f->addr, f->port, pkt, sizeof(pkt));
	printf("%s %s from %s\n", pt_proto_name(f->proto), pkt, from ? from : "any source");
	for (size_t i = 0; i < x->nsteps; i++)
		printf("%2zu. %-9s %s\n", i + 1, x->steps[i].check, x->steps[i].detail);
	printf("verdict: %s\n", x->verdict);
}

/* PROTO ADDR:PORT [--from ADDR[:PORT]] into f; *from is --from's text. */
static int parse_explain(int argc, char **argv, struct pt_explain_facts *f, const char **from)
{
	static const struct option opts[] = { { "from", required_argument, NULL, 'f' }, {} };
	uint8_t from_family = 0;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return pt_usage_error("explain", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		*from = optarg;
	}
	ret = pt_check_positional("explain", argc, argv, 2, 2);
	if (ret)
		return ret;
	if (pt_parse_proto(argv[optind], &f->proto))
		return pt_bad("explain: %s", pt_why);
	if (pt_parse_addrport(argv[optind + 1], &f->family, f->addr, &f->port, false, NULL))
		return pt_bad("explain: bad ADDR:PORT: %s", pt_why);
	if (!*from)
		return 0;
	if (pt_parse_addrport(*from, &from_family, f->from, &f->from_port, true, &f->has_from_port))
		return pt_bad("explain: bad --from: %s", pt_why);
	if (from_family != f->family)
		return pt_bad("explain: --from %s is %s and %s is %s: a packet has one family", *from,
			      from_family == PT_INET ? "IPv4" : "IPv6", argv[optind + 1],
			      f->family == PT_INET ? "IPv4" : "IPv6");
	f->has_from = true;
	return 0;
}

/* The facts, under the shared lock; "not loaded" is an answer here. */
static int gather_explain(struct pt_ctx *ctx, struct pt_state *st, struct pt_explain_facts *f)
{
	struct pt_open_result r = pt_open(ctx, PT_OPEN_READ);
	bool loaded = r.outcome == PT_OPENED;
	int err;

	if (!loaded && r.outcome != PT_OPEN_NOT_LOADED)
		return pt_open_fail(r, ctx);
	if (loaded) {
		err = pt_state_load(ctx, st);
		if (err)
			return pt_fail("explain: reading the pinned state: %s", pt_strerror(err));
	}
	err = pt_explain_gather(ctx, loaded, st, f);
	if (err)
		return pt_fail("explain: reading the sockets (NETLINK_SOCK_DIAG): %s%s", strerror(-err),
			       err == -ENOENT ? " (are the inet_diag, tcp_diag and udp_diag modules "
			       "available?)" : "");
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	struct pt_explain_facts f = {};
	struct pt_explain *x = NULL;
	struct pt_state st = {};
	const char *from = NULL;
	struct pt_ctx ctx;
	int ret;

	ret = parse_explain(argc, argv, &f, &from);
	if (ret)
		return ret;
	ret = gather_explain(&ctx, &st, &f);
	pt_read_done(&ctx);	/* decide and print without the lock */
	if (ret)
		goto cleanup;
	x = calloc(1, sizeof(*x));
	if (!x) {
		ret = pt_fail("explain: %s", strerror(ENOMEM));
		goto cleanup;
	}
	pt_explain_decide(&f, x);
	if (pt_json)
		print_json(&f, from, x);
	else
		print_text(&f, from, x);
	ret = x->delivered ? PT_EXIT_OK : PT_EXIT_FAIL;
cleanup:
	free(x);
	pt_explain_facts_free(&f);
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return ret;
}
