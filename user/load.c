// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * load, unload: the programs, their links and the maps, pinned under the
 * namespace's pin directory. A first load builds everything in a
 * directory beside the final one and renames it into place, so a reader
 * never sees half a state. A load over a different build reuses the pinned
 * maps (their contents stay) and swaps the program behind the pinned link
 * atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dispatch.skel.h"
#include "load.h"
#include "state.h"
#include "util.h"
#include "xdp.h"

#define PIN_DISPATCH_PROG PT_PIN_DISPATCH_PROG
#define PIN_DISPATCH_LINK PT_PIN_DISPATCH_LINK

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Every BPF object the binary carries: a release that changes only the
 * guard is another build too. */
uint64_t pt_build_id(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t sz = 0;
	const void *elf = dispatch__elf_bytes(&sz);

	h = fnv1a(h, &sz, sizeof(sz));
	h = fnv1a(h, elf, sz);
	elf = pt_xdp_guard_elf(&sz);
	h = fnv1a(h, &sz, sizeof(sz));
	h = fnv1a(h, elf, sz);
	return h;
}

static int rm_dir_pins(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* The namespace lock of the state in dir (state.h, PT_NS_LOCK): removed
 * with the state, under PT_PIN_ROOT held exclusively, so no command waits
 * on it. */
static int rm_ns_lock(const char *dir)
{
	char path[PATH_MAX + sizeof(PT_NS_LOCK)];

	snprintf(path, sizeof(path), "%s%s", dir, PT_NS_LOCK);
	if (rmdir(path) && errno != ENOENT)
		return -errno;
	return 0;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Open the dispatch object with its maps taken from (or pinned into) dir,
 * the binding maps sized for max_bindings per generation. */
static int open_dispatch(const char *dir, uint32_t max_bindings, struct dispatch **out)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	struct dispatch *skel;
	int err;

	skel = dispatch__open_opts(&opts);
	if (!skel)
		return -errno;
	err = pt_obj_fit(skel->obj, max_bindings) ?: dispatch__load(skel);
	if (err) {
		dispatch__destroy(skel);
		/* a kernel before 5.9 has no sk_lookup programs: say so */
		if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_LOOKUP, NULL) == 0)
			return -EOPNOTSUPP;
		return err;
	}
	*out = skel;
	return 0;
}

/*
 * Is a portier dispatcher already attached to this namespace? Its pins may
 * be invisible here (another bpffs mounted over /sys/fs/bpf, a private
 * mount namespace): a second one must not be attached beside it.
 */
static uint32_t attached_dispatcher(uint64_t netns_ino)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info = {};
		struct bpf_prog_info pinfo = {};
		__u32 len = sizeof(info), plen = sizeof(pinfo);
		int fd = bpf_link_get_fd_by_id(id), pfd;
		bool ours = false;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_NETNS &&
		    info.netns.attach_type == BPF_SK_LOOKUP && info.netns.netns_ino == netns_ino) {
			pfd = bpf_prog_get_fd_by_id(info.prog_id);
			if (pfd >= 0) {
				/* the kernel keeps 15 characters of a name */
				ours = !bpf_obj_get_info_by_fd(pfd, &pinfo, &plen) &&
				       !strncmp(pinfo.name, "portier_dispatch", sizeof(pinfo.name) - 1);
				close(pfd);
			}
		}
		close(fd);
		if (ours)
			return id;
	}
	return 0;
}

/*
 * A load that died before its rename left <ino>_new: never live as a
 * state, but its pinned link, if it got that far, is attached to the
 * namespace. Detach it first (a pin removed frees its link only later),
 * then remove the directory.
 */
static int rm_unfinished(const char *tmp)
{
	char path[PATH_MAX + 64];
	int fd, err;

	err = pin_path(path, sizeof(path), tmp, PIN_DISPATCH_LINK);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	return rm_dir_pins(tmp);
}

/* The port table starts as every port in its class row: commit the empty
 * state into the new directory, before anything runs on it. */
static int commit_empty(const struct pt_ctx *ctx, const char *tmp)
{
	struct pt_state empty = {};
	struct pt_ctx t = *ctx;
	int err;

	for (int i = 0; i < PT_NMAPS; i++)
		t.fds[i] = -1;
	if ((size_t)snprintf(t.dir, sizeof(t.dir), "%s", tmp) >= sizeof(t.dir))
		return -ENAMETOOLONG;
	err = pt_ctx_open(&t);
	err = err ?: pt_state_commit(&t, &empty, &empty);
	pt_state_free(&empty);
	pt_ctx_close_maps(&t);
	return err;
}

/*
 * A first load: everything is built in <ino>_new and renamed into place,
 * so a load killed anywhere leaves either no state (and a directory the
 * next load removes) or the whole one.
 */
static int fresh_load(struct pt_ctx *ctx, uint32_t max_bindings, struct pt_load_result *res)
{
	char tmp[PATH_MAX + 8], path[PATH_MAX + 64];
	struct dispatch *skel = NULL;
	struct bpf_link *link = NULL;
	struct pt_config cfg = { .abi = PT_ABI_VERSION, .build_id = pt_build_id() };
	__u32 zero = 0;
	int err;

	snprintf(tmp, sizeof(tmp), "%s_new", ctx->dir);
	/* a previous load that died half way left this; it was never live */
	err = rm_unfinished(tmp);
	if (err)
		return err;
	res->link_id = attached_dispatcher(ctx->netns_ino);
	if (res->link_id)
		return -EEXIST;
	if (mkdir(tmp, 0700))
		return -errno;
	err = open_dispatch(tmp, max_bindings ? max_bindings : PT_MAX_BINDINGS, &skel);
	if (err)
		goto fail;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	err = commit_empty(ctx, tmp);
	if (err)
		goto fail;
	link = bpf_program__attach_netns(skel->progs.portier_dispatch, ctx->netns_fd);
	if (!link) {
		err = -errno;
		goto fail;
	}
	err = pin_path(path, sizeof(path), tmp, PIN_DISPATCH_LINK);
	err = err ?: bpf_link__pin(link, path);
	err = err ?: pin_path(path, sizeof(path), tmp, PIN_DISPATCH_PROG);
	err = err ?: bpf_program__pin(skel->progs.portier_dispatch, path);
	if (err)
		goto fail;
	if (rename(tmp, ctx->dir)) {
		err = -errno;
		goto fail;
	}
	res->action = PT_LOAD_FRESH;
	bpf_link__destroy(link);	/* the pin keeps it attached */
	dispatch__destroy(skel);
	return 0;
fail:
	if (link) {
		bpf_link__unpin(link);
		bpf_link__destroy(link);
	}
	dispatch__destroy(skel);
	rm_dir_pins(tmp);
	return err;
}

static int upgrade(struct pt_ctx *ctx, struct pt_load_result *res)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 64];
	struct dispatch *skel = NULL;
	struct pt_config cfg = ctx->cfg;
	int link_fd = -1, err;
	__u32 zero = 0;

	err = open_dispatch(ctx->dir, ctx->max_bindings, &skel);
	if (err)
		return err;
	err = pin_path(path, sizeof(path), ctx->dir, PIN_DISPATCH_LINK);
	if (err)
		goto cleanup;
	link_fd = bpf_obj_get(path);
	if (link_fd < 0) {
		/* maps survived but the link is gone: attach again */
		struct bpf_link *link = bpf_program__attach_netns(skel->progs.portier_dispatch,
								  ctx->netns_fd);
		if (!link) {
			err = -errno;
			goto cleanup;
		}
		err = bpf_link__pin(link, path);
		bpf_link__destroy(link);
		if (err)
			goto cleanup;
	} else if (bpf_link_update(link_fd, bpf_program__fd(skel->progs.portier_dispatch), NULL)) {
		err = -errno;
		goto cleanup;
	}
	/* replace the program pin: pin the new one beside, rename over */
	err = pin_path(tmp, sizeof(tmp), ctx->dir, PIN_DISPATCH_PROG "_new");
	if (err)
		goto cleanup;
	unlink(tmp);
	err = bpf_program__pin(skel->progs.portier_dispatch, tmp);
	if (err)
		goto cleanup;
	err = pin_path(path, sizeof(path), ctx->dir, PIN_DISPATCH_PROG);
	if (err || rename(tmp, path)) {
		err = err ?: -errno;
		unlink(tmp);
		goto cleanup;
	}
	/* the guard, on every interface it runs on; the build id goes in
	 * last, so a load that fails or dies before it is done again whole */
	err = pt_xdp_upgrade_all(ctx, &res->guards);
	if (err) {
		res->guard_failed = true;
		goto cleanup;
	}
	cfg.build_id = pt_build_id();
	/* another build may compile other keys: scan, never trust, the idle
	 * generation before writing it next */
	cfg.idle_dirty = 1;
	if (bpf_map_update_elem(ctx->fds[M_CONFIG], &zero, &cfg, BPF_ANY)) {
		err = -errno;
		goto cleanup;
	}
	ctx->cfg = cfg;
	res->action = PT_LOAD_UPGRADED;
cleanup:
	if (link_fd >= 0)
		close(link_fd);
	dispatch__destroy(skel);
	return err;
}

static bool link_alive(const char *dir)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, PIN_DISPATCH_LINK);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * A namespace deleted without `portier unload` leaves its pins behind: the
 * kernel detached its link, but bpffs keeps the maps. Remove every such
 * directory and its namespace lock, and every namespace lock without a
 * state (the caller holds PT_PIN_ROOT exclusively). Returns how many
 * states were removed.
 */
int pt_prune_dead(void)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(PT_PIN_ROOT);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char link[PATH_MAX + 300];
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		size_t nlen = strlen(de->d_name);
		struct stat stt;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", PT_PIN_ROOT, de->d_name);
		if (nlen > strlen(PT_NS_LOCK) &&
		    !strcmp(de->d_name + nlen - strlen(PT_NS_LOCK), PT_NS_LOCK)) {
			/* a namespace lock: kept while its state is there */
			path[strlen(path) - strlen(PT_NS_LOCK)] = 0;
			if (stat(path, &stt) && errno == ENOENT)
				rm_ns_lock(path);
			continue;
		}
		snprintf(link, sizeof(link), "%s/%s", path, PIN_DISPATCH_LINK);
		fd = bpf_obj_get(link);
		if (fd < 0)
			continue;	/* being built, or broken: not ours to judge */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.netns.netns_ino == 0) {
			close(fd);
			if (!rm_dir_pins(path)) {
				n++;
				rm_ns_lock(path);
			}
			continue;
		}
		close(fd);
	}
	closedir(d);
	return n;
}

int pt_load(struct pt_ctx *ctx, uint32_t max_bindings, struct pt_load_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	pt_prune_dead();
	err = pt_ctx_open(ctx);
	if (err == -ESTALE) {
		/* another namespace's leftovers under our inode number */
		pt_ctx_close_maps(ctx);
		err = rm_dir_pins(ctx->dir);
		if (err)
			return err;
		err = -ENOENT;
	}
	if (err == -ENOENT) {
		/* a directory without maps is debris of a failed unload */
		pt_ctx_close_maps(ctx);
		err = rm_dir_pins(ctx->dir);
		if (err)
			return err;
		err = fresh_load(ctx, max_bindings, res);
		return err ?: pt_ctx_open(ctx);
	}
	if (err)
		return err;
	/* the binding maps keep the size they were made with: another one
	 * needs a new state (unload, load) */
	if (max_bindings && max_bindings != ctx->max_bindings) {
		res->max_bindings_differ = true;
		return -EINVAL;
	}
	/* this build, attached, and every guard the recorded one: nothing to
	 * do; anything else is upgraded (or repaired) in place */
	if (ctx->cfg.build_id == pt_build_id() && link_alive(ctx->dir) && !pt_xdp_strays(ctx)) {
		res->action = PT_LOAD_ALREADY;
		return 0;
	}
	return upgrade(ctx, res);
}

int pt_unload(struct pt_ctx *ctx)
{
	char path[PATH_MAX + 64];
	struct stat stt;
	int fd;

	if (stat(ctx->dir, &stt))
		return errno == ENOENT ? -ENOENT : -errno;
	/* detach first, so the namespace stops using portier even if some
	 * other process still holds the link open */
	snprintf(path, sizeof(path), "%s/%s", ctx->dir, PIN_DISPATCH_LINK);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	pt_ctx_close_maps(ctx);
	return rm_dir_pins(ctx->dir) ?: rm_ns_lock(ctx->dir);
}

/* The info of a pinned program or link. */
static int pin_info(const char *dir, const char *pin, void *info, __u32 size)
{
	char path[PATH_MAX + 64];
	__u32 len = size;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(info, 0, size);
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		err = -errno;
	close(fd);
	return err;
}

int pt_prog_info(const char *dir, const char *pin, struct bpf_prog_info *info)
{
	return pin_info(dir, pin, info, sizeof(*info));
}

int pt_link_info(const char *dir, const char *pin, struct bpf_link_info *info)
{
	return pin_info(dir, pin, info, sizeof(*info));
}

const char *pt_dispatch_prog_pin(void)
{
	return PIN_DISPATCH_PROG;
}

const char *pt_dispatch_link_pin(void)
{
	return PIN_DISPATCH_LINK;
}
