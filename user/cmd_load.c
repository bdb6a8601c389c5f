// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* load, unload, status */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include <bpf/libbpf.h>
#include "load.h"
#include "mapmem.h"
#include "watch.h"
#include "xdp.h"

#define MAX_XDP_ARGS 64

struct load_args {
	const char *ifaces[MAX_XDP_ARGS];
	struct pt_xdp_rec recs[MAX_XDP_ARGS];
	size_t nif;
	enum pt_xdp_req mode;
	bool force;
	uint32_t max_bindings;	/* 0: not given */
};

/* --max-bindings N: a decimal count from 1 to PT_MAX_BINDINGS_LIMIT. */
static int parse_max_bindings(const char *s, uint32_t *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > PT_MAX_BINDINGS_LIMIT)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int parse_load(int argc, char **argv, struct load_args *a)
{
	static const struct option opts[] = {
		{ "xdp", required_argument, NULL, 'x' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "max-bindings", required_argument, NULL, 'b' },
		{},
	};
	bool mode_given = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'x') {
			if (a->nif == MAX_XDP_ARGS)
				return pt_bad("load: at most %d --xdp interfaces", MAX_XDP_ARGS);
			for (size_t i = 0; i < a->nif; i++)
				if (!strcmp(a->ifaces[i], optarg))
					return pt_bad("load: --xdp %s given twice", optarg);
			a->ifaces[a->nif++] = optarg;
		} else if (c == 'm') {
			if (pt_parse_xdp_mode(optarg, &a->mode))
				return pt_bad("load: bad --xdp-mode: %s", pt_why);
			mode_given = true;
		} else if (c == 'f') {
			a->force = true;
		} else if (c == 'b') {
			if (parse_max_bindings(optarg, &a->max_bindings))
				return pt_bad("load: --max-bindings %s: not a whole number from 1 to %d",
					      optarg, PT_MAX_BINDINGS_LIMIT);
		} else {
			return pt_usage_error("load", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	c = pt_check_positional("load", argc, argv, 0, 0);
	if (!c && mode_given && !a->nif)
		return pt_usage_error("load", "--xdp-mode goes with --xdp IFACE");
	return c;
}

static int load_failed(int err, const struct pt_ctx *ctx, const struct load_args *a,
		       const struct pt_load_result *res)
{
	if (err == -EPROTO)
		return pt_open_fail((struct pt_open_result){ PT_OPEN_OTHER_ABI, err }, ctx);
	if (res->max_bindings_differ)
		return pt_bad("load: --max-bindings %u: the state in %s was loaded for %u bindings "
			      "and its maps keep that size: 'portier unload' (this drops the "
			      "configuration) and load again to change it", a->max_bindings, ctx->dir,
			      ctx->max_bindings);
	if (err == -EOPNOTSUPP)
		return pt_fail("load: this kernel has no sk_lookup programs: portier needs "
			       "Linux 5.9 or later (README.md, Kernels)");
	if (err == -EEXIST)
		return pt_fail("load: portier's dispatcher is already attached to this namespace "
			       "(link %u) but its pins are not under %s: is another bpffs mounted "
			       "there? Not attaching a second one", res->link_id, PT_PIN_ROOT);
	if (res->guard_failed)
		return pt_fail("load: upgrading the guard: %s (dispatch is upgraded; "
			       "'portier status' shows each interface; 'portier load' tries again)",
			       pt_strerror(err));
	return pt_fail("load: %s", pt_strerror(err));
}

/* All or nothing: on a failure, a fresh load goes away again. */
static int attach_guards(struct pt_ctx *ctx, struct load_args *a, const struct pt_load_result *res)
{
	int err, ret;

	for (size_t i = 0; i < a->nif; i++) {
		err = pt_xdp_attach(ctx, a->ifaces[i], a->mode, a->force, &a->recs[i]);
		if (!err)
			continue;
		if (err == -EBUSY)
			ret = pt_fail("load: --xdp %s: the interface runs an XDP program portier does "
				      "not own, and libxdp cannot share it: not replacing it "
				      "(--force replaces it)", a->ifaces[i]);
		else
			ret = pt_fail("load: attaching the guard to %s: %s", a->ifaces[i],
				      pt_strerror(err));
		if (res->action == PT_LOAD_FRESH) {
			pt_xdp_detach_all(ctx);
			pt_unload(ctx);
		}
		return ret;
	}
	return 0;
}

static void print_load(const struct pt_ctx *ctx, const struct load_args *a,
		       const struct pt_load_result *res)
{
	static const char *const what[] = { "loaded", "already loaded", "upgraded" };
	json_object *o, *x, *e;

	if (!pt_json) {
		if (res->action == PT_LOAD_FRESH)
			printf("loaded: dispatch attached to network namespace %llu, state in %s\n",
			       (unsigned long long)ctx->netns_ino, ctx->dir);
		else if (res->action == PT_LOAD_ALREADY)
			printf("already loaded: %s\n", ctx->dir);
		else
			printf("upgraded: programs replaced, maps kept, in %s\n", ctx->dir);
		for (size_t i = 0; i < a->nif; i++)
			printf("guard: %s, %s mode, %s\n", a->ifaces[i],
			       pt_xdp_mode_name(a->recs[i].mode), a->recs[i].dispatcher ?
			       "through libxdp's dispatcher" : "as the interface's only XDP program");
		return;
	}
	o = json_object_new_object();
	x = json_object_new_array();
	json_object_object_add(o, "result", json_object_new_string(what[res->action]));
	json_object_object_add(o, "pin_dir", json_object_new_string(ctx->dir));
	for (size_t i = 0; i < a->nif; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "ifname", json_object_new_string(a->ifaces[i]));
		json_object_object_add(e, "mode",
				       json_object_new_string(pt_xdp_mode_name(a->recs[i].mode)));
		json_object_object_add(e, "dispatcher", json_object_new_boolean(a->recs[i].dispatcher));
		json_object_array_add(x, e);
	}
	json_object_object_add(o, "xdp", x);
	pt_json_print(o);
	json_object_put(o);
}

int cmd_load(int argc, char **argv)
{
	struct load_args a = { .mode = PT_XDP_REQ_AUTO };
	struct pt_load_result res;
	struct pt_ctx ctx;
	int ret, err;

	ret = parse_load(argc, argv, &a);
	ret = ret ?: pt_open_or_fail(&ctx, PT_OPEN_LOCK);
	if (ret)
		return ret;
	/* every interface must exist before anything changes */
	for (size_t i = 0; i < a.nif; i++)
		if (strlen(a.ifaces[i]) >= IF_NAMESIZE || !if_nametoindex(a.ifaces[i])) {
			ret = pt_bad("load: --xdp %s: no such interface in this network namespace",
				     a.ifaces[i]);
			goto cleanup;
		}
	err = pt_load(&ctx, a.max_bindings, &res);
	ret = err ? load_failed(err, &ctx, &a, &res) : attach_guards(&ctx, &a, &res);
	if (!ret)
		print_load(&ctx, &a, &res);
cleanup:
	pt_ctx_close(&ctx);
	return ret;
}

int cmd_unload(int argc, char **argv)
{
	struct pt_ctx ctx;
	int ret, err;

	ret = pt_no_args("unload", argc, argv);
	ret = ret ?: pt_open_or_fail(&ctx, PT_OPEN_LOCK);
	if (ret)
		return ret;
	/* the guard first: its record is in the maps that unload removes */
	if (!pt_ctx_open(&ctx))
		pt_xdp_detach_all(&ctx);
	pt_xdp_sweep();
	err = pt_unload(&ctx);
	if (err == -ENOENT)
		ret = pt_open_fail((struct pt_open_result){ PT_OPEN_NOT_LOADED, err }, &ctx);
	else if (err)
		ret = pt_fail("unload: %s", strerror(-err));
	else if (!pt_json)
		printf("unloaded: %s removed\n", ctx.dir);
	else {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "result", json_object_new_string("unloaded"));
		pt_json_print(o);
		json_object_put(o);
	}
	pt_ctx_close(&ctx);
	return ret;
}

static void fmt_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024.0));
	else
		snprintf(buf, len, "%.1f KiB", (double)b / 1024.0);
}

/* What status shows, gathered under the lock and printed without it. */
struct status {
	struct pt_state st;
	struct bpf_prog_info pinfo;
	struct bpf_link_info linfo;
	bool have_prog, have_link;
	struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
	size_t nxif;
	uint64_t map_bytes, map_max, map_kernel, map_computed;
	uint64_t bind_bytes, bind_max;	/* the maps sized by the binding capacity */
	struct pt_apply_info ai;	/* what apply last did */
};

/* The config the state came from: the file last applied, and whether
 * commands have edited the state since (config.serial moved on). */
static bool config_applied(const struct status *s)
{
	return s->ai.ok > 0;
}

static bool config_in_sync(const struct status *s)
{
	uint8_t now[PT_SHA256_LEN];

	return config_applied(s) && !pt_state_sha256(&s->st, now) &&
	       !memcmp(now, s->ai.state_sha256, sizeof(now));
}

static void fmt_utc(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "never");
}

static json_object *json_config(const struct status *s)
{
	json_object *o = json_object_new_object();
	char hex[2 * PT_SHA256_LEN + 1];

	pt_sha256_hex(s->ai.sha256, hex);
	json_object_object_add(o, "sha256", config_applied(s) ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "in_sync", json_object_new_boolean(config_in_sync(s)));
	json_object_object_add(o, "applied_ok", json_object_new_int64((int64_t)s->ai.ok));
	json_object_object_add(o, "applied_error", json_object_new_int64((int64_t)s->ai.errors));
	json_object_object_add(o, "last_apply", json_object_new_int64((int64_t)s->ai.last_ok));
	json_object_object_add(o, "last_error", json_object_new_int64((int64_t)s->ai.last_error));
	return o;
}

static void print_config_text(const struct status *s)
{
	char hex[2 * PT_SHA256_LEN + 1], t_ok[32], t_err[32];

	pt_sha256_hex(s->ai.sha256, hex);
	fmt_utc(s->ai.last_ok, t_ok, sizeof(t_ok));
	fmt_utc(s->ai.last_error, t_err, sizeof(t_err));
	if (!config_applied(s))
		printf("config:      never applied");
	else
		printf("config:      sha256 %s, applied %s%s", hex, t_ok,
		       config_in_sync(s) ? "" : ", EDITED since by other commands");
	printf("; applies: %llu ok, %llu refused", (unsigned long long)s->ai.ok,
	       (unsigned long long)s->ai.errors);
	if (s->ai.errors)
		printf(" (last %s)", t_err);
	printf("\n");
}

static void print_not_loaded(const struct pt_ctx *ctx)
{
	json_object *o;

	if (!pt_json) {
		printf("loaded:      no (network namespace %llu)\n", (unsigned long long)ctx->netns_ino);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "loaded", json_object_new_boolean(0));
	json_object_object_add(o, "version", json_object_new_string(PORTIER_VERSION));
	json_object_object_add(o, "xdp", json_object_new_array());
	json_object_object_add(o, "services", json_object_new_int(0));
	json_object_object_add(o, "bindings", json_object_new_int(0));
	json_object_object_add(o, "policies", json_object_new_int(0));
	json_object_object_add(o, "map_bytes", json_object_new_int(0));
	json_object_object_add(o, "config_sha256", NULL);
	pt_json_print(o);
	json_object_put(o);
}

static int gather_status(struct pt_ctx *ctx, struct status *s)
{
	int err = pt_state_load(ctx, &s->st);

	if (err)
		return pt_fail("status: reading the pinned state: %s", pt_strerror(err));
	for (int i = 0; i < PT_NMAPS; i++) {
		struct pt_map_mem mm;

		if (pt_map_mem(ctx->fds[i], &mm))
			continue;
		s->map_kernel += mm.kernel;
		s->map_computed += mm.used;
		s->map_max += mm.max;
		if (i == M_BIND_TABLE || i == M_BIND_LPM || i == M_BIND_HOST) {
			s->bind_bytes += pt_kernel_counts_map_memory() ? mm.kernel : mm.used;
			s->bind_max += mm.max;
		}
	}
	/* the kernel's own count where it is one (6.4+), else computed */
	s->map_bytes = pt_kernel_counts_map_memory() ? s->map_kernel : s->map_computed;
	{
		__u32 zero = 0;

		if (bpf_map_lookup_elem(ctx->fds[M_APPLY_INFO], &zero, &s->ai))
			memset(&s->ai, 0, sizeof(s->ai));
	}
	pt_xdp_list(ctx, s->xif, PT_MAX_XDP_IFACES, &s->nxif);
	s->have_prog = !pt_prog_info(ctx->dir, pt_dispatch_prog_pin(), &s->pinfo);
	s->have_link = !pt_link_info(ctx->dir, pt_dispatch_link_pin(), &s->linfo);
	return 0;
}

static void print_status_json(const struct pt_ctx *ctx, const struct status *s)
{
	json_object *o = json_object_new_object(), *progs = json_object_new_array(),
		    *xa = json_object_new_array(), *e;
	char buf[64];

	json_object_object_add(o, "loaded", json_object_new_boolean(1));
	json_object_object_add(o, "version", json_object_new_string(PORTIER_VERSION));
	json_object_object_add(o, "abi", json_object_new_int(PT_ABI_VERSION));
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)ctx->cfg.build_id);
	json_object_object_add(o, "build", json_object_new_string(buf));
	json_object_object_add(o, "build_current",
			       json_object_new_boolean(ctx->cfg.build_id == pt_build_id()));
	json_object_object_add(o, "netns", json_object_new_int64((int64_t)ctx->netns_ino));
	json_object_object_add(o, "pin_dir", json_object_new_string(ctx->dir));
	if (s->have_prog) {
		e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string("dispatch"));
		json_object_object_add(e, "type", json_object_new_string("sk_lookup"));
		json_object_object_add(e, "id", json_object_new_int64(s->pinfo.id));
		json_object_object_add(e, "link_id",
				       json_object_new_int64(s->have_link ? s->linfo.id : 0));
		json_object_object_add(e, "attached", json_object_new_boolean(
			s->have_link && s->linfo.netns.netns_ino == ctx->netns_ino));
		json_object_array_add(progs, e);
	}
	json_object_object_add(o, "programs", progs);
	for (size_t i = 0; i < s->nxif; i++) {
		const struct pt_xdp_iface *x = &s->xif[i];

		e = json_object_new_object();
		json_object_object_add(e, "ifname", json_object_new_string(x->rec.ifname));
		json_object_object_add(e, "ifindex", json_object_new_int64(x->ifindex));
		json_object_object_add(e, "mode", json_object_new_string(pt_xdp_mode_name(x->rec.mode)));
		json_object_object_add(e, "prog_id", json_object_new_int64(x->rec.prog_id));
		json_object_object_add(e, "attached", json_object_new_boolean(x->attached));
		json_object_object_add(e, "exists", json_object_new_boolean(x->exists));
		json_object_object_add(e, "dispatcher", json_object_new_boolean(x->rec.dispatcher));
		if (!x->rec.dispatcher)
			json_object_object_add(e, "why", json_object_new_string(x->rec.why));
		json_object_array_add(xa, e);
	}
	json_object_object_add(o, "xdp", xa);
	json_object_object_add(o, "services", json_object_new_int64((int64_t)s->st.nservices));
	json_object_object_add(o, "bindings", json_object_new_int64((int64_t)s->st.nbindings));
	json_object_object_add(o, "max_bindings", json_object_new_int64(ctx->max_bindings));
	json_object_object_add(o, "binding_map_bytes", json_object_new_int64((int64_t)s->bind_bytes));
	json_object_object_add(o, "binding_map_bytes_max",
			       json_object_new_int64((int64_t)s->bind_max));
	json_object_object_add(o, "policies", json_object_new_int64((int64_t)s->st.npolicies));
	json_object_object_add(o, "watches", json_object_new_int64((int64_t)s->st.nwatches));
	json_object_object_add(o, "map_bytes", json_object_new_int64((int64_t)s->map_bytes));
	json_object_object_add(o, "map_bytes_from", json_object_new_string(
		pt_kernel_counts_map_memory() ? "kernel" : "computed"));
	json_object_object_add(o, "map_bytes_kernel", json_object_new_int64((int64_t)s->map_kernel));
	json_object_object_add(o, "map_bytes_computed",
			       json_object_new_int64((int64_t)s->map_computed));
	json_object_object_add(o, "map_bytes_max", json_object_new_int64((int64_t)s->map_max));
	json_object_object_add(o, "generation", json_object_new_int64(ctx->cfg.serial));
	e = json_config(s);
	json_object_object_add(o, "config_sha256",
			       json_object_get(json_object_object_get(e, "sha256")));
	json_object_object_add(o, "config", e);
	pt_json_print(o);
	json_object_put(o);
}

static void print_guard_text(const struct pt_xdp_iface *x)
{
	printf("guard:       %s (ifindex %u), xdp prog %u, %s mode, ", x->rec.ifname, x->ifindex,
	       x->rec.prog_id, pt_xdp_mode_name(x->rec.mode));
	if (!x->exists)
		printf("INTERFACE GONE\n");
	else if (!x->attached)
		printf("NOT attached any more (load --xdp %s attaches it again)\n", x->rec.ifname);
	else if (x->rec.dispatcher)
		printf("through libxdp's dispatcher\n");
	else
		printf("the interface's only XDP program: libxdp's dispatcher is not "
		       "usable here (%s)\n", x->rec.why);
}

static void print_status_text(const struct pt_ctx *ctx, const struct status *s)
{
	char buf[64], buf2[64];

	printf("loaded:      yes (network namespace %llu, %s)\n", (unsigned long long)ctx->netns_ino,
	       ctx->dir);
	printf("version:     %s, abi %d, build %016llx%s\n", PORTIER_VERSION, PT_ABI_VERSION,
	       (unsigned long long)ctx->cfg.build_id,
	       ctx->cfg.build_id == pt_build_id() ? "" : " (another build: 'portier load' upgrades)");
	if (s->have_prog)
		printf("dispatch:    sk_lookup prog %u, link %u, %s\n", s->pinfo.id,
		       s->have_link ? s->linfo.id : 0,
		       s->have_link && s->linfo.netns.netns_ino == ctx->netns_ino ? "attached"
										  : "NOT attached");
	else
		printf("dispatch:    program missing: run 'portier load' to repair\n");
	if (!s->nxif)
		printf("guard:       not attached (load --xdp IFACE attaches it)\n");
	for (size_t i = 0; i < s->nxif; i++)
		print_guard_text(&s->xif[i]);
	printf("services:    %zu\n", s->st.nservices);
	fmt_bytes(s->bind_bytes, buf, sizeof(buf));
	fmt_bytes(s->bind_max, buf2, sizeof(buf2));
	printf("bindings:    %zu of at most %u (load --max-bindings); their maps: %s, %s when full\n",
	       s->st.nbindings, ctx->max_bindings, buf, buf2);
	printf("policies:    %zu\n", s->st.npolicies);
	printf("watches:     %zu\n", s->st.nwatches);
	print_config_text(s);
	fmt_bytes(s->map_bytes, buf, sizeof(buf));
	printf("map memory:  %s (%llu bytes, %d CPUs; %s)", buf, (unsigned long long)s->map_bytes,
	       libbpf_num_possible_cpus(),
	       pt_kernel_counts_map_memory() ? "the kernel's count"
					     : "computed: this kernel's count is a bound");
	fmt_bytes(s->map_max, buf, sizeof(buf));
	printf(", at most %s when every map is full\n", buf);
}

int cmd_status(int argc, char **argv)
{
	static struct status s;
	struct pt_open_result r;
	struct pt_ctx ctx;
	int ret;

	ret = pt_no_args("status", argc, argv);
	if (ret)
		return ret;
	r = pt_open(&ctx, PT_OPEN_READ);
	if (r.outcome == PT_OPEN_NOT_LOADED)
		print_not_loaded(&ctx);
	else if (r.outcome != PT_OPENED)
		ret = pt_open_fail(r, &ctx);
	else
		ret = gather_status(&ctx, &s);
	pt_read_done(&ctx);	/* print without the lock */
	if (r.outcome == PT_OPENED && !ret) {
		if (pt_json)
			print_status_json(&ctx, &s);
		else
			print_status_text(&ctx, &s);
	}
	pt_state_free(&s.st);
	pt_ctx_close(&ctx);
	return ret;
}
