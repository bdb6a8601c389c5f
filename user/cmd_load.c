// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* load, unload, status */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include <bpf/libbpf.h>
#include "load.h"
#include "mapmem.h"
#include "xdp.h"

#define MAX_XDP_ARGS 64

int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "xdp", required_argument, NULL, 'x' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{},
	};
	static const char *const what[] = { "loaded", "already loaded", "upgraded" };
	const char *ifaces[MAX_XDP_ARGS];
	struct pt_xdp_rec recs[MAX_XDP_ARGS];
	enum pt_xdp_req mode = PT_XDP_REQ_AUTO;
	struct pt_load_result res;
	bool force = false, mode_given = false;
	size_t nif = 0, nattached = 0;
	struct pt_ctx ctx;
	int c, ret, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			if (nif == MAX_XDP_ARGS)
				return pt_bad("load: at most %d --xdp interfaces", MAX_XDP_ARGS);
			for (size_t i = 0; i < nif; i++)
				if (!strcmp(ifaces[i], optarg))
					return pt_bad("load: --xdp %s given twice", optarg);
			ifaces[nif++] = optarg;
			break;
		case 'm':
			if (pt_parse_xdp_mode(optarg, &mode))
				return pt_bad("load: bad --xdp-mode: %s", pt_why);
			mode_given = true;
			break;
		case 'f':
			force = true;
			break;
		default:
			return pt_usage_error("load", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	ret = pt_check_positional("load", argc, argv, 0, 0);
	if (ret)
		return ret;
	if (mode_given && !nif)
		return pt_usage_error("load", "--xdp-mode goes with --xdp IFACE");
	err = pt_ctx_init(&ctx, pt_netns);
	if (err)
		return pt_bad("--netns %s: %s", pt_netns ? pt_netns : "", strerror(-err));
	/* every interface must exist before anything changes */
	for (size_t i = 0; i < nif; i++)
		if (strlen(ifaces[i]) >= IF_NAMESIZE || !if_nametoindex(ifaces[i])) {
			pt_ctx_close(&ctx);
			return pt_bad("load: --xdp %s: no such interface in this network namespace",
				      ifaces[i]);
		}
	err = pt_ctx_lock(&ctx);
	if (err) {
		pt_ctx_close(&ctx);
		return pt_fail("%s: %s", PT_PIN_ROOT, strerror(-err));
	}
	err = pt_load(&ctx, &res);
	if (err == -EPROTO) {
		ret = pt_fail("load: %s holds state of ABI %u, this portier speaks ABI %d: "
			      "run 'portier unload' first (this drops the configuration), "
			      "or use the portier that loaded it", ctx.dir, ctx.cfg.abi,
			      PT_ABI_VERSION);
		goto cleanup;
	}
	if (err == -EOPNOTSUPP) {
		ret = pt_fail("load: this kernel has no sk_lookup programs: portier needs "
			      "Linux 5.9 or later (README.md, Kernels)");
		goto cleanup;
	}
	if (err == -EEXIST) {
		ret = pt_fail("load: portier's dispatcher is already attached to this namespace "
			      "(link %u) but its pins are not under %s: is another bpffs mounted "
			      "there? Not attaching a second one", res.link_id, PT_PIN_ROOT);
		goto cleanup;
	}
	if (err && res.guard_failed) {
		ret = pt_fail("load: upgrading the guard: %s (dispatch is upgraded; "
			      "'portier status' shows each interface; 'portier load' tries again)",
			      pt_strerror(err));
		goto cleanup;
	}
	if (err) {
		ret = pt_fail("load: %s", pt_strerror(err));
		goto cleanup;
	}
	for (; nattached < nif; nattached++) {
		err = pt_xdp_attach(&ctx, ifaces[nattached], mode, force, &recs[nattached]);
		if (!err)
			continue;
		if (err == -EBUSY)
			ret = pt_fail("load: --xdp %s: the interface runs an XDP program portier does "
				      "not own, and libxdp cannot share it: not replacing it "
				      "(--force replaces it)", ifaces[nattached]);
		else
			ret = pt_fail("load: attaching the guard to %s: %s", ifaces[nattached],
				      pt_strerror(err));
		/* all or nothing: a fresh load goes away again */
		if (res.action == PT_LOAD_FRESH) {
			pt_xdp_detach_all(&ctx);
			pt_unload(&ctx);
		}
		goto cleanup;
	}
	if (pt_json) {
		json_object *o = json_object_new_object(), *x = json_object_new_array();

		json_object_object_add(o, "result", json_object_new_string(what[res.action]));
		json_object_object_add(o, "pin_dir", json_object_new_string(ctx.dir));
		for (size_t i = 0; i < nif; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "ifname", json_object_new_string(ifaces[i]));
			json_object_object_add(e, "mode",
					       json_object_new_string(pt_xdp_mode_name(recs[i].mode)));
			json_object_object_add(e, "dispatcher",
					       json_object_new_boolean(recs[i].dispatcher));
			json_object_array_add(x, e);
		}
		json_object_object_add(o, "xdp", x);
		pt_json_print(o);
		json_object_put(o);
	} else {
		if (res.action == PT_LOAD_FRESH)
			printf("loaded: dispatch attached to network namespace %llu, state in %s\n",
			       (unsigned long long)ctx.netns_ino, ctx.dir);
		else if (res.action == PT_LOAD_ALREADY)
			printf("already loaded: %s\n", ctx.dir);
		else
			printf("upgraded: programs replaced, maps kept, in %s\n", ctx.dir);
		for (size_t i = 0; i < nif; i++)
			printf("guard: %s, %s mode, %s\n", ifaces[i], pt_xdp_mode_name(recs[i].mode),
			       recs[i].dispatcher ? "through libxdp's dispatcher"
						  : "as the interface's only XDP program");
	}
cleanup:
	pt_ctx_close(&ctx);
	return ret;
}

int cmd_unload(int argc, char **argv)
{
	static const struct option opts[] = { {} };
	struct pt_ctx ctx;
	int ret, err;

	opterr = 0;
	if (getopt_long(argc, argv, "", opts, NULL) != -1)
		return pt_usage_error("unload", "unknown option '%s'", argv[optind - 1]);
	ret = pt_check_positional("unload", argc, argv, 0, 0);
	if (ret)
		return ret;
	err = pt_ctx_init(&ctx, pt_netns);
	if (err)
		return pt_bad("--netns %s: %s", pt_netns ? pt_netns : "", strerror(-err));
	err = pt_ctx_lock(&ctx);
	if (err) {
		pt_ctx_close(&ctx);
		return pt_fail("%s: %s", PT_PIN_ROOT, strerror(-err));
	}
	/* the guard first: its record is in the maps that unload removes */
	if (!pt_ctx_open(&ctx))
		pt_xdp_detach_all(&ctx);
	pt_xdp_sweep();
	err = pt_unload(&ctx);
	if (err == -ENOENT)
		ret = pt_fail("unload: not loaded in this network namespace");
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

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = { {} };
	struct bpf_prog_info pinfo;
	struct bpf_link_info linfo;
	struct pt_state st = {};
	struct pt_ctx ctx;
	uint64_t map_bytes = 0, map_max = 0, map_kernel = 0, map_computed = 0;
	bool have_prog, have_link;
	static struct pt_xdp_iface xif[PT_MAX_XDP_IFACES];
	size_t nxif = 0;
	char buf[64];
	int ret, err;

	opterr = 0;
	if (getopt_long(argc, argv, "", opts, NULL) != -1)
		return pt_usage_error("status", "unknown option '%s'", argv[optind - 1]);
	ret = pt_check_positional("status", argc, argv, 0, 0);
	if (ret)
		return ret;
	err = pt_ctx_init(&ctx, pt_netns);
	if (err)
		return pt_bad("--netns %s: %s", pt_netns ? pt_netns : "", strerror(-err));
	ctx.shared = true;
	err = pt_ctx_lock(&ctx);
	err = err ?: pt_ctx_open(&ctx);
	if (err == -ENOENT || err == -ESTALE) {
		if (pt_json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "loaded", json_object_new_boolean(0));
			json_object_object_add(o, "version", json_object_new_string(PORTIER_VERSION));
			json_object_object_add(o, "xdp", json_object_new_array());
			json_object_object_add(o, "services", json_object_new_int(0));
			json_object_object_add(o, "bindings", json_object_new_int(0));
			json_object_object_add(o, "policies", json_object_new_int(0));
			json_object_object_add(o, "map_bytes", json_object_new_int(0));
			pt_json_print(o);
			json_object_put(o);
		} else {
			printf("loaded:      no (network namespace %llu)\n",
			       (unsigned long long)ctx.netns_ino);
		}
		pt_ctx_close(&ctx);
		return 0;
	}
	if (err) {
		pt_ctx_close(&ctx);
		if (err == -EPROTO)
			return pt_fail("status: %s holds state of ABI %u; this portier speaks ABI %d",
				       ctx.dir, ctx.cfg.abi, PT_ABI_VERSION);
		return pt_fail("status: %s", pt_strerror(err));
	}
	err = pt_state_load(&ctx, &st);
	if (err) {
		pt_ctx_close(&ctx);
		return pt_fail("status: reading the pinned state: %s", pt_strerror(err));
	}
	for (int i = 0; i < PT_NMAPS; i++) {
		struct pt_map_mem mm;

		if (pt_map_mem(ctx.fds[i], &mm))
			continue;
		map_kernel += mm.kernel;
		map_computed += mm.used;
		map_max += mm.max;
	}
	/* the kernel's own count where it is one (6.4+), else computed */
	map_bytes = pt_kernel_counts_map_memory() ? map_kernel : map_computed;
	pt_xdp_list(&ctx, xif, PT_MAX_XDP_IFACES, &nxif);
	have_prog = !pt_prog_info(ctx.dir, pt_dispatch_prog_pin(), &pinfo);
	have_link = !pt_link_info(ctx.dir, pt_dispatch_link_pin(), &linfo);
	pt_read_done(&ctx);	/* print without the lock */

	if (pt_json) {
		json_object *o = json_object_new_object(), *progs = json_object_new_array();

		json_object_object_add(o, "loaded", json_object_new_boolean(1));
		json_object_object_add(o, "version", json_object_new_string(PORTIER_VERSION));
		json_object_object_add(o, "abi", json_object_new_int(PT_ABI_VERSION));
		snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)ctx.cfg.build_id);
		json_object_object_add(o, "build", json_object_new_string(buf));
		json_object_object_add(o, "build_current",
				       json_object_new_boolean(ctx.cfg.build_id == pt_build_id()));
		json_object_object_add(o, "netns", json_object_new_int64((int64_t)ctx.netns_ino));
		json_object_object_add(o, "pin_dir", json_object_new_string(ctx.dir));
		if (have_prog) {
			json_object *p = json_object_new_object();

			json_object_object_add(p, "name", json_object_new_string("dispatch"));
			json_object_object_add(p, "type", json_object_new_string("sk_lookup"));
			json_object_object_add(p, "id", json_object_new_int64(pinfo.id));
			json_object_object_add(p, "link_id",
					       json_object_new_int64(have_link ? linfo.id : 0));
			json_object_object_add(p, "attached", json_object_new_boolean(
				have_link && linfo.netns.netns_ino == ctx.netns_ino));
			json_object_array_add(progs, p);
		}
		json_object_object_add(o, "programs", progs);
		json_object *xa = json_object_new_array();
		for (size_t i = 0; i < nxif; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "ifname", json_object_new_string(xif[i].rec.ifname));
			json_object_object_add(e, "ifindex", json_object_new_int64(xif[i].ifindex));
			json_object_object_add(e, "mode",
					       json_object_new_string(pt_xdp_mode_name(xif[i].rec.mode)));
			json_object_object_add(e, "prog_id", json_object_new_int64(xif[i].rec.prog_id));
			json_object_object_add(e, "attached", json_object_new_boolean(xif[i].attached));
			json_object_object_add(e, "exists", json_object_new_boolean(xif[i].exists));
			json_object_object_add(e, "dispatcher",
					       json_object_new_boolean(xif[i].rec.dispatcher));
			if (!xif[i].rec.dispatcher)
				json_object_object_add(e, "why", json_object_new_string(xif[i].rec.why));
			json_object_array_add(xa, e);
		}
		json_object_object_add(o, "xdp", xa);
		json_object_object_add(o, "services", json_object_new_int64((int64_t)st.nservices));
		json_object_object_add(o, "bindings", json_object_new_int64((int64_t)st.nbindings));
		json_object_object_add(o, "policies", json_object_new_int64((int64_t)st.npolicies));
		json_object_object_add(o, "watches", json_object_new_int64((int64_t)st.nwatches));
		json_object_object_add(o, "map_bytes", json_object_new_int64((int64_t)map_bytes));
		json_object_object_add(o, "map_bytes_from",
				       json_object_new_string(pt_kernel_counts_map_memory() ? "kernel"
											      : "computed"));
		json_object_object_add(o, "map_bytes_kernel", json_object_new_int64((int64_t)map_kernel));
		json_object_object_add(o, "map_bytes_computed",
				       json_object_new_int64((int64_t)map_computed));
		json_object_object_add(o, "map_bytes_max", json_object_new_int64((int64_t)map_max));
		json_object_object_add(o, "generation", json_object_new_int64(ctx.cfg.serial));
		pt_json_print(o);
		json_object_put(o);
	} else {
		printf("loaded:      yes (network namespace %llu, %s)\n",
		       (unsigned long long)ctx.netns_ino, ctx.dir);
		printf("version:     %s, abi %d, build %016llx%s\n", PORTIER_VERSION, PT_ABI_VERSION,
		       (unsigned long long)ctx.cfg.build_id,
		       ctx.cfg.build_id == pt_build_id() ? "" : " (another build: 'portier load' upgrades)");
		if (have_prog)
			printf("dispatch:    sk_lookup prog %u, link %u, %s\n", pinfo.id,
			       have_link ? linfo.id : 0,
			       have_link && linfo.netns.netns_ino == ctx.netns_ino ? "attached"
										    : "NOT attached");
		else
			printf("dispatch:    program missing: run 'portier load' to repair\n");
		if (!nxif)
			printf("guard:       not attached (load --xdp IFACE attaches it)\n");
		for (size_t i = 0; i < nxif; i++) {
			const struct pt_xdp_iface *x = &xif[i];

			printf("guard:       %s (ifindex %u), xdp prog %u, %s mode, ", x->rec.ifname,
			       x->ifindex, x->rec.prog_id, pt_xdp_mode_name(x->rec.mode));
			if (!x->exists)
				printf("INTERFACE GONE\n");
			else if (!x->attached)
				printf("NOT attached any more (load --xdp %s attaches it again)\n",
				       x->rec.ifname);
			else if (x->rec.dispatcher)
				printf("through libxdp's dispatcher\n");
			else
				printf("the interface's only XDP program: libxdp's dispatcher is not "
				       "usable here (%s)\n", x->rec.why);
		}
		printf("services:    %zu\n", st.nservices);
		printf("bindings:    %zu\n", st.nbindings);
		printf("policies:    %zu\n", st.npolicies);
		printf("watches:     %zu\n", st.nwatches);
		fmt_bytes(map_bytes, buf, sizeof(buf));
		printf("map memory:  %s (%llu bytes, %d CPUs; %s)", buf, (unsigned long long)map_bytes,
		       libbpf_num_possible_cpus(),
		       pt_kernel_counts_map_memory() ? "the kernel's count"
						     : "computed: this kernel's count is a bound");
		fmt_bytes(map_max, buf, sizeof(buf));
		printf(", at most %s when every map is full\n", buf);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}
