// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apply FILE: check the whole file, then make the state equal to it in one
 * commit (the generation flip: a packet sees the old state or the new one,
 * never a mix; a portier killed half way leaves the old one).
 * Every apply that reaches the state is recorded in apply_info (the sha256
 * of the file's bytes when it commits; an error count and time when it is
 * refused), for status and the exporter.
 * apply --watch: the same, again on every change of the file (watch.c).
 * dump: print the state in the format apply reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "config.h"
#include "watch.h"

struct diff {
	size_t added, removed, changed;
};

/* A rule reduced to what identifies it (key) and what it does (val),
 * so that two states compare by sorting: O(n log n). */
struct keyed {
	uint8_t key[24];
	const char *name;	/* a binding's service, else NULL */
	uint64_t val;		/* what a policy or steer rule does */
};

static bool keyed_differ(const struct keyed *a, const struct keyed *b)
{
	return a->name ? strcmp(a->name, b->name) != 0 : a->val != b->val;
}

static int cmp_keyed(const void *a, const void *b)
{
	return memcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key, 24);
}

static void key_rule(struct keyed *k, uint8_t proto, const struct pt_prefix *p, uint16_t lo,
		     uint16_t hi)
{
	memset(k, 0, sizeof(*k));
	k->key[0] = proto;
	k->key[1] = p ? p->family : 0;
	k->key[2] = p ? p->plen : 0;
	k->key[3] = (uint8_t)(lo >> 8);
	k->key[4] = (uint8_t)lo;
	k->key[5] = (uint8_t)(hi >> 8);
	k->key[6] = (uint8_t)hi;
	if (p)
		memcpy(k->key + 8, p->addr, 16);
}

static struct keyed *keyed_state(const struct pt_state *st, enum pt_rule_kind kind, size_t *n)
{
	size_t cnt = kind == PT_KIND_BINDING ? st->nbindings
		     : kind == PT_KIND_POLICY ? st->npolicies
		     : kind == PT_KIND_STEER ? st->nsteers
					       : st->nwatches;
	struct keyed *k = calloc(cnt ? cnt : 1, sizeof(*k));

	*n = cnt;
	if (!k)
		return NULL;
	for (size_t i = 0; i < cnt; i++) {
		if (kind == PT_KIND_BINDING) {
			const struct pt_binding *b = &st->bindings[i];

			key_rule(&k[i], b->proto, &b->prefix, b->lo, b->hi);
			k[i].name = pt_service_name(st, b->service);
		} else if (kind == PT_KIND_POLICY) {
			const struct pt_policy *p = &st->policies[i];

			key_rule(&k[i], p->proto, &p->from, p->lo, p->hi);
			k[i].val = (uint64_t)p->action << 32 | p->pps;
		} else if (kind == PT_KIND_STEER) {
			const struct pt_steer *s = &st->steers[i];
			/* FNV-1a of the CPU list's length and CPUs */
			uint64_t h = (0xcbf29ce484222325ULL ^ s->ncpus) * 0x100000001b3ULL;

			key_rule(&k[i], s->proto, NULL, s->lo, s->hi);
			for (uint16_t j = 0; j < s->ncpus; j++)
				h = (h ^ s->cpus[j]) * 0x100000001b3ULL;
			k[i].val = h;
		} else {
			key_rule(&k[i], st->watches[i].proto, NULL, st->watches[i].lo,
				 st->watches[i].hi);
		}
	}
	if (cnt)
		qsort(k, cnt, sizeof(*k), cmp_keyed);
	return k;
}

static int diff_kind(const struct pt_state *a, const struct pt_state *b, enum pt_rule_kind kind,
		     struct diff *d)
{
	size_t na, nb, i = 0, j = 0;
	struct keyed *ka = keyed_state(a, kind, &na), *kb = keyed_state(b, kind, &nb);

	memset(d, 0, sizeof(*d));
	if (!ka || !kb) {
		free(ka);
		free(kb);
		return -ENOMEM;
	}
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : cmp_keyed(&ka[i], &kb[j]);

		if (c < 0) {
			d->removed++;
			i++;
		} else if (c > 0) {
			d->added++;
			j++;
		} else {
			d->changed += keyed_differ(&ka[i], &kb[j]);
			i++;
			j++;
		}
	}
	free(ka);
	free(kb);
	return 0;
}

static void json_diff(json_object *o, const char *name, const struct diff *d)
{
	json_object *x = json_object_new_object();

	json_object_object_add(x, "added", json_object_new_int64((int64_t)d->added));
	json_object_object_add(x, "removed", json_object_new_int64((int64_t)d->removed));
	json_object_object_add(x, "changed", json_object_new_int64((int64_t)d->changed));
	json_object_object_add(o, name, x);
}

/*
 * The hash of the state an apply makes, in the order status and the
 * exporter read it back from the maps, computed from a copy of the state
 * to commit (reading a million bindings back cost a third of apply) on a
 * thread of its own while the commit compiles and writes: with a million
 * bindings, sorting and hashing them is 0.4 s the other CPU has to spare.
 */
struct state_hash {
	struct pt_state st;
	uint8_t sha[PT_SHA256_LEN];
	int err;
	bool started;
	pthread_t t;
};

static void *state_hash_run(void *arg)
{
	struct state_hash *h = arg;

	pt_state_sort(&h->st);
	h->err = pt_state_sha256(&h->st, h->sha);
	pt_state_free(&h->st);
	return NULL;
}

static void state_hash_start(struct state_hash *h, const struct pt_state *st)
{
	memset(h, 0, sizeof(*h));
	h->err = pt_state_copy(&h->st, st);
	if (h->err)
		return;
	h->started = !pthread_create(&h->t, NULL, state_hash_run, h);
	if (!h->started)	/* no thread: here, now */
		state_hash_run(h);
}

/* The hash, or NULL when it could not be computed. */
static const uint8_t *state_hash_end(struct state_hash *h)
{
	if (h->started)
		pthread_join(h->t, NULL);
	h->started = false;
	return h->err ? NULL : h->sha;
}

/* What an apply came to, into apply_info (under the write lock): the
 * file's sha256, the time and the hash of the state it made (made: NULL
 * when it could not be computed; never in sync then), or (ok false) one
 * more error. */
static void record_apply(struct pt_ctx *ctx, const uint8_t *sha, bool ok, const uint8_t *made)
{
	struct pt_apply_info ai = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(ctx->fds[M_APPLY_INFO], &zero, &ai)) {
		pt_warn("apply: reading apply_info: %s", pt_strerror(-errno));
		return;
	}
	if (ok) {
		if (made)
			memcpy(ai.state_sha256, made, sizeof(ai.state_sha256));
		else
			memset(ai.state_sha256, 0, sizeof(ai.state_sha256));
		memcpy(ai.sha256, sha, PT_SHA256_LEN);
		ai.ok++;
		ai.last_ok = (__u64)time(NULL);
	} else {
		ai.errors++;
		ai.last_error = (__u64)time(NULL);
	}
	if (bpf_map_update_elem(ctx->fds[M_APPLY_INFO], &zero, &ai, BPF_ANY))
		pt_warn("apply: recording in apply_info: %s", pt_strerror(-errno));
}

/* ds: the steer rules' diff, NULL when neither state has any (the text
 * line then says nothing of them; JSON always does) */
static void print_applied(const char *path, bool check, const uint8_t *sha, size_t svc_added,
			  const struct diff *db, const struct diff *dp, const struct diff *dw,
			  const struct diff *ds)
{
	static const struct diff none;

	char hex[2 * PT_SHA256_LEN + 1];

	pt_sha256_hex(sha, hex);
	if (pt_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "result", json_object_new_string(check ? "checked" : "applied"));
		json_object_object_add(o, "sha256", json_object_new_string(hex));
		json_object_object_add(o, "services_added", json_object_new_int64((int64_t)svc_added));
		json_diff(o, "bindings", db);
		json_diff(o, "policies", dp);
		json_diff(o, "watches", dw);
		json_diff(o, "steers", ds ? ds : &none);
		pt_json_print(o);
		json_object_put(o);
	} else {
		printf("%s %s: bindings +%zu -%zu ~%zu, policies +%zu -%zu ~%zu, watches +%zu -%zu, "
		       "services +%zu",
		       check ? "checked" : "applied", path, db->added, db->removed, db->changed,
		       dp->added, dp->removed, dp->changed, dw->added, dw->removed, svc_added);
		if (ds)
			printf(", steers +%zu -%zu ~%zu", ds->added, ds->removed, ds->changed);
		putchar('\n');
	}
}

/* Check text, then (unless check) commit it, and record the outcome.
 * Returns the exit status. */
static int apply_text(const char *path, const char *text, size_t len,
		      const uint8_t sha[PT_SHA256_LEN], bool check)
{
	struct pt_state live = {}, next = {};
	struct pt_config_error cerr;
	struct diff db, dp, dw, ds;
	struct state_hash hash = {};
	const uint8_t *made = NULL;
	struct pt_ctx ctx;
	size_t svc_added;
	bool ok = false;
	int ret, err;

	ret = pt_open_or_fail(&ctx, PT_OPEN_WRITE);
	if (ret)
		return ret;
	err = pt_state_load(&ctx, &live);
	if (err) {
		ret = pt_fail("apply: reading the pinned state: %s", pt_strerror(err));
		goto cleanup;
	}
	err = pt_config_parse(text, len, &live, &next, &cerr);
	if (err == -EINVAL) {
		ret = pt_bad("%s:%u:%u: %s", path, cerr.line, cerr.col, cerr.msg);
		goto cleanup;
	}
	if (err) {
		ret = pt_fail("apply: %s", strerror(-err));
		goto cleanup;
	}
	err = diff_kind(&live, &next, PT_KIND_BINDING, &db);
	err = err ?: diff_kind(&live, &next, PT_KIND_POLICY, &dp);
	err = err ?: diff_kind(&live, &next, PT_KIND_WATCH, &dw);
	err = err ?: diff_kind(&live, &next, PT_KIND_STEER, &ds);
	if (err) {
		ret = pt_fail("apply: %s", strerror(-err));
		goto cleanup;
	}
	svc_added = next.nservices - live.nservices;
	ret = pt_steer_check_cpus(&ctx, path, next.steers, next.nsteers);
	if (ret)
		goto cleanup;
	ret = pt_xsk_bind_check(&ctx, &next, UINT32_MAX, "apply");
	if (ret)
		goto cleanup;
	if (!check) {
		state_hash_start(&hash, &next);
		err = pt_state_commit(&ctx, &next, &live);
		made = state_hash_end(&hash);
		if (err == -ENOSPC) {
			ret = pt_bad("apply: %s: more watched ports than the %d counter slots", path,
				     PT_MAX_SLOTS - PT_FIRST_FREE_SLOT);
			goto cleanup;
		}
		if (err) {
			ret = pt_fail("apply: updating the maps: %s (nothing changed)", pt_strerror(err));
			goto cleanup;
		}
		ok = true;
		if (next.npolicies)
			pt_warn_no_guard(&ctx, "the policies of this file are not enforced");
		else if (next.nwatches)
			pt_warn_no_guard(&ctx, "the watched ports of this file are not counted");
	}
	print_applied(path, check, sha, svc_added, &db, &dp, &dw,
		      live.nsteers || next.nsteers ? &ds : NULL);
cleanup:
	/* a check changes nothing, apply_info included */
	if (!check && ctx.fds[M_APPLY_INFO] >= 0)
		record_apply(&ctx, sha, ok, made);
	pt_state_free(&live);
	pt_state_free(&next);
	pt_ctx_close(&ctx);
	return ret;
}

/* apply --watch: the file could not be read (gone, or refused): one line,
 * one error in apply_info; the state stays. */
static int record_unreadable(const char *path, int err)
{
	struct pt_ctx ctx;
	int ret = pt_open_or_fail(&ctx, PT_OPEN_WRITE);

	if (!ret) {
		record_apply(&ctx, NULL, false, NULL);
		pt_ctx_close(&ctx);
	}
	pt_warn("apply: %s: %s; keeping the state applied before", path, strerror(-err));
	return PT_EXIT_USAGE;
}

struct watch_arg {
	const char *path;
};

static int watch_step(const char *text, size_t len, const uint8_t sha[PT_SHA256_LEN], int err,
		      void *arg)
{
	const struct watch_arg *wa = arg;

	if (!text)
		return record_unreadable(wa->path, err);
	return apply_text(wa->path, text, len, sha, false);
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = { { "check", no_argument, NULL, 'c' },
					       { "watch", no_argument, NULL, 'w' },
					       { "debounce", required_argument, NULL, 'd' },
					       {} };
	uint8_t sha[PT_SHA256_LEN];
	bool check = false, watch = false;
	unsigned int debounce = 0;
	const char *path;
	char *text = NULL;
	size_t len = 0;
	int c, ret, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c') {
			check = true;
		} else if (c == 'w') {
			watch = true;
		} else if (c == 'd') {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v < 10 || v > 60000)
				return pt_usage_error("apply", "bad --debounce '%s': 10-60000 ms",
						      optarg);
			debounce = (unsigned int)v;
		} else {
			return pt_usage_error("apply", "unknown option or missing value '%s'",
					      argv[optind - 1]);
		}
	}
	ret = pt_check_positional("apply", argc, argv, 1, 1);
	if (ret)
		return ret;
	path = argv[optind];
	if (watch && check)
		return pt_usage_error("apply", "--check and --watch do not go together");
	if (debounce && !watch)
		return pt_usage_error("apply", "--debounce is for --watch");
	if (watch) {
		struct watch_arg wa = { path };
		struct pt_watcher w = { .path = path, .debounce_ms = debounce, .fn = watch_step,
				      .arg = &wa };

		return pt_watch_run(&w);
	}
	err = pt_read_file(path, &text, &len);
	if (err)
		return pt_bad("apply: %s: %s", path, strerror(-err));
	pt_sha256(text, len, sha);
	ret = apply_text(path, text, len, sha, check);
	free(text);
	return ret;
}

int cmd_dump(int argc, char **argv)
{
	struct pt_state st = {};
	struct pt_ctx ctx;
	int ret;

	ret = pt_no_args("dump", argc, argv);
	ret = ret ?: pt_read_state("dump", &ctx, &st);
	if (ret)
		return ret;
	pt_read_done(&ctx);	/* print without the lock */
	if (pt_json) {
		json_object *o = json_object_new_object(), *a;

		a = json_object_new_array();
		for (size_t i = 0; i < st.nservices; i++) {
			json_object *s = json_object_new_object();

			json_object_object_add(s, "name", json_object_new_string(st.services[i].name));
			json_object_object_add(s, "desc", json_object_new_string(st.services[i].desc));
			json_object_array_add(a, s);
		}
		json_object_object_add(o, "services", a);
		json_object_object_add(o, "bindings", pt_json_bindings(&st));
		json_object_object_add(o, "policies", pt_json_policies(&st));
		a = json_object_new_array();
		for (size_t i = 0; i < st.nwatches; i++) {
			json_object *x = json_object_new_object();

			json_object_object_add(x, "proto",
					       json_object_new_string(pt_proto_name(st.watches[i].proto)));
			json_object_object_add(x, "port_lo", json_object_new_int(st.watches[i].lo));
			json_object_object_add(x, "port_hi", json_object_new_int(st.watches[i].hi));
			json_object_array_add(a, x);
		}
		json_object_object_add(o, "watches", a);
		json_object_object_add(o, "steers", pt_json_steers(&st));
		pt_json_print(o);
		json_object_put(o);
	} else {
		printf("# portier %s: state of network namespace %llu\n", PORTIER_VERSION,
		       (unsigned long long)ctx.netns_ino);
		pt_config_dump(stdout, &st);
	}
	pt_state_free(&st);
	pt_ctx_close(&ctx);
	return 0;
}
