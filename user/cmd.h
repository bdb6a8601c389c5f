/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The command handlers and what they share. Each returns an exit status. */
#ifndef PORTIER_CMD_H
#define PORTIER_CMD_H

#include <getopt.h>
#include <json-c/json.h>
#include "model.h"
#include "state.h"
#include "util.h"

extern const char *pt_netns;	/* --netns */

struct pt_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;	/* compact BNF, without "portier " */
	bool privileged;
};

/* How far pt_open goes: into the namespace, then the lock (exclusive),
 * then the maps (under the exclusive lock, or the shared one to read). */
enum pt_open_how { PT_OPEN_NETNS, PT_OPEN_LOCK, PT_OPEN_WRITE, PT_OPEN_READ };
/* What opening a namespace's state came to. */
enum pt_open_outcome {
	PT_OPENED,
	PT_OPEN_NO_NETNS,	/* --netns names no network namespace: bad input */
	PT_OPEN_NETNS_FAILED,	/* the namespace cannot be entered */
	PT_OPEN_PERM,		/* bpffs, the pin root or the pins refuse us */
	PT_OPEN_NO_BPFFS,	/* bpffs cannot be mounted, or the lock taken */
	PT_OPEN_NOT_LOADED,	/* no pins, or the pins of a dead namespace */
	PT_OPEN_OTHER_ABI,	/* the pins speak ABI ctx->cfg.abi */
	PT_OPEN_MAPS_FAILED,	/* the pins are there and cannot be opened */
};
struct pt_open_result {
	enum pt_open_outcome outcome;
	int err;		/* the -errno behind it */
};
/* The one open of the target namespace's state. ctx is always usable
 * after it (pt_ctx_close it); on failure it is open as far as it got. */
struct pt_open_result pt_open(struct pt_ctx *ctx, enum pt_open_how how);
/* The one line for a failed open (without "portier: ") into buf, and its
 * exit status: 2 for a --netns that names no namespace, else 1. pt_open_fail
 * prints it. The same failure has the same words in every command. */
int pt_open_why(struct pt_open_result r, const struct pt_ctx *ctx, char *buf, size_t len);
int pt_open_fail(struct pt_open_result r, const struct pt_ctx *ctx);
/* pt_open that prints the failure, closes ctx and returns the status. */
int pt_open_or_fail(struct pt_ctx *ctx, enum pt_open_how how);
/* A reading command's start: the state open under the shared lock and the
 * live generation loaded. On failure prints the error, closes ctx and
 * returns the exit status. */
int pt_read_state(const char *cmd, struct pt_ctx *ctx, struct pt_state *st);
/* A reader's snapshot is taken: release the lock (and the maps) before
 * printing, so a reader blocked on its output never holds up a writer.
 * ctx's plain fields (dir, netns_ino, cfg) stay readable; pt_ctx_close
 * after it does nothing. */
void pt_read_done(struct pt_ctx *ctx);

/* Does the guard run on at least one interface of ctx's namespace (the
 * calling thread must be in it)? */
bool pt_guard_enforces(struct pt_ctx *ctx);
/* policy, watch, apply: one warning line when no interface has the guard
 * ("WHAT until 'portier load --xdp IFACE'"); the change stands. */
void pt_warn_no_guard(struct pt_ctx *ctx, const char *what);

/* Load, edit, commit, then after() (if any) once the change is live, still
 * under the lock. edit() returns an exit status and prints its own errors;
 * nothing is committed unless it returns 0. */
typedef int (*pt_edit_fn)(struct pt_ctx *ctx, struct pt_state *next, void *arg);
int pt_edit_state(pt_edit_fn edit, pt_edit_fn after, void *arg);

/* Option parsing: reset getopt and parse argv[1..]; positional arguments
 * are left in argv[optind..argc). Returns 0, or an exit status. */
int pt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pt_check_positional(const char *cmd, int argc, char **argv, int want_min, int want_max);
/* A command of no options and no arguments: 0, or the usage error. */
int pt_no_args(const char *cmd, int argc, char **argv);
const char *pt_cmd_usage(const char *cmd);

void pt_json_print(json_object *o);
/* bindings, policies and dump: the JSON arrays of a state's rules. */
json_object *pt_json_bindings(const struct pt_state *st);
json_object *pt_json_policies(const struct pt_state *st);
json_object *pt_json_steers(const struct pt_state *st);
/* steer, apply: every CPU of the rules is online and has a cpu_map entry
 * to take; else one line naming the CPU, exit status 2 (1 when the kernel
 * cannot be asked). */
int pt_steer_check_cpus(struct pt_ctx *ctx, const char *what, const struct pt_steer *steers,
			size_t n);

/* bind, apply: each binding of st to an AF_XDP service (of service svc, or
 * of any with UINT32_MAX) needs the guard on the service's interface, which
 * steers its packets; else the error (exit 1) with the hint. */
int pt_xsk_bind_check(struct pt_ctx *ctx, const struct pt_state *st, uint32_t svc,
		      const char *cmd);

int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_service(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_unregister(int argc, char **argv);
int cmd_services(int argc, char **argv);
/* bind, policy and watch also serve unbind, unpolicy and unwatch (argv[0]) */
int cmd_bind(int argc, char **argv);
int cmd_bindings(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_policies(int argc, char **argv);
int cmd_watch(int argc, char **argv);
/* steer also serves unsteer */
int cmd_steer(int argc, char **argv);
int cmd_steers(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_exporter(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_dump(int argc, char **argv);

#endif
