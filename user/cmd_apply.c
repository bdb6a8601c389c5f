// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apply FILE: check the whole file, then make the state equal to it in one
 * commit (the generation flip: a packet sees the old state or the new one,
 * never a mix; a portier killed half way leaves the old one).
 * dump: print the state in the format apply reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cmd.h"
#include "config.h"

#define PT_MAX_CONFIG_BYTES (64u << 20)

/* The whole file (or stdin for "-"), NUL-terminated, at most
 * PT_MAX_CONFIG_BYTES. */
static int read_all(const char *path, char **buf, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0), err = 0;
	size_t cap = 0, n = 0;
	struct stat stt;
	char *p = NULL;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &stt))
		err = -errno;
	else if (S_ISDIR(stt.st_mode))
		err = -EISDIR;
	while (!err) {
		ssize_t r;

		if (n == cap) {
			size_t nc = cap ? cap * 2 : 65536;
			char *q = cap >= PT_MAX_CONFIG_BYTES ? NULL : realloc(p, nc + 1);

			if (!q) {
				err = cap >= PT_MAX_CONFIG_BYTES ? -EFBIG : -ENOMEM;
				break;
			}
			p = q;
			cap = nc;
		}
		r = read(fd, p + n, cap - n);
		if (!r)
			break;
		if (r < 0 && errno != EINTR)
			err = -errno;
		n += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	if (err) {
		free(p);
		return err;
	}
	p[n] = 0;
	*buf = p;
	*len = n;
	return 0;
}

struct diff {
	size_t added, removed, changed;
};

/* A rule reduced to what identifies it (key) and what it does (val),
 * so that two states compare by sorting: O(n log n). */
struct keyed {
	uint8_t key[24];
	char val[PT_NAME_LEN + 8];
};

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
					       : st->nwatches;
	struct keyed *k = calloc(cnt ? cnt : 1, sizeof(*k));

	*n = cnt;
	if (!k)
		return NULL;
	for (size_t i = 0; i < cnt; i++) {
		if (kind == PT_KIND_BINDING) {
			const struct pt_binding *b = &st->bindings[i];

			key_rule(&k[i], b->proto, &b->prefix, b->lo, b->hi);
			snprintf(k[i].val, sizeof(k[i].val), "%s", pt_service_name(st, b->service));
		} else if (kind == PT_KIND_POLICY) {
			const struct pt_policy *p = &st->policies[i];

			key_rule(&k[i], p->proto, &p->from, p->lo, p->hi);
			snprintf(k[i].val, sizeof(k[i].val), "%u/%u", p->action, p->pps);
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
			d->changed += strcmp(ka[i].val, kb[j].val) != 0;
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

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = { { "check", no_argument, NULL, 'c' }, {} };
	struct pt_state live = {}, next = {};
	struct pt_config_error cerr;
	struct diff db, dp, dw;
	bool check = false;
	struct pt_ctx ctx;
	const char *path;
	char *text = NULL;
	size_t len = 0, svc_added;
	int c, ret, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return pt_usage_error("apply", "unknown option '%s'", argv[optind - 1]);
		check = true;
	}
	ret = pt_check_positional("apply", argc, argv, 1, 1);
	if (ret)
		return ret;
	path = argv[optind];
	err = read_all(path, &text, &len);
	if (err)
		return pt_bad("apply: %s: %s", path, strerror(-err));

	ret = pt_open_or_fail(&ctx, PT_OPEN_WRITE);
	if (ret) {
		free(text);
		return ret;
	}
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
	if (err) {
		ret = pt_fail("apply: %s", strerror(-err));
		goto cleanup;
	}
	svc_added = next.nservices - live.nservices;
	ret = pt_xsk_bind_check(&ctx, &next, UINT32_MAX, "apply");
	if (ret)
		goto cleanup;
	if (!check) {
		err = pt_state_commit(&ctx, &next, &live);
		if (err == -ENOSPC) {
			ret = pt_bad("apply: %s: more watched ports than the %d counter slots", path,
				     PT_MAX_SLOTS - PT_FIRST_FREE_SLOT);
			goto cleanup;
		}
		if (err) {
			ret = pt_fail("apply: updating the maps: %s (nothing changed)", pt_strerror(err));
			goto cleanup;
		}
		if (next.npolicies)
			pt_warn_no_guard(&ctx, "the policies of this file are not enforced");
		else if (next.nwatches)
			pt_warn_no_guard(&ctx, "the watched ports of this file are not counted");
	}
	if (pt_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "result", json_object_new_string(check ? "checked" : "applied"));
		json_object_object_add(o, "services_added", json_object_new_int64((int64_t)svc_added));
		json_diff(o, "bindings", &db);
		json_diff(o, "policies", &dp);
		json_diff(o, "watches", &dw);
		pt_json_print(o);
		json_object_put(o);
	} else {
		printf("%s %s: bindings +%zu -%zu ~%zu, policies +%zu -%zu ~%zu, watches +%zu -%zu, "
		       "services +%zu\n",
		       check ? "checked" : "applied", path, db.added, db.removed, db.changed, dp.added,
		       dp.removed, dp.changed, dw.added, dw.removed, svc_added);
	}
cleanup:
	free(text);
	pt_state_free(&live);
	pt_state_free(&next);
	pt_ctx_close(&ctx);
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
