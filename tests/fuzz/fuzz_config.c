// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the declarative configuration parser (core/config.c).
 *
 * Arbitrary bytes go to pt_config_parse against a live state. Whatever it
 * returns must be a valid state (or a clean error with a place), and the
 * parser and the dumper must agree:
 *   - parse(dump(S), live = S) == S, rule ids included;
 *   - dump(parse(dump(S), live = none)) == dump(S), byte for byte;
 *   - S then assigns counter slots and compiles without error (or runs
 *     out of slots, which apply reports).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fuzz_common.h"
#include "parse.h"

static struct pt_state live;

static void make_live(void)
{
	struct pt_binding b = { .proto = PT_TCP, .lo = 80, .hi = 80 };
	struct pt_policy p = { .proto = PT_TCP, .lo = 22, .hi = 22, .action = PT_DROP };

	if (pt_service_add(&live, "web", "web app") || pt_service_add(&live, "db", NULL) ||
	    pt_service_add(&live, "a.b_c-9", "dns \"resolver\" # \\ 'q'"))
		abort();
	if (pt_parse_prefix("198.18.0.2/32", &b.prefix))
		abort();
	b.service = pt_service_by_name(&live, "web")->id;
	if (pt_binding_set(&live, &b, NULL))
		abort();
	p.from.family = PT_FAMILY_ANY;
	if (pt_policy_set(&live, &p, NULL))
		abort();
	p.lo = p.hi = 53;
	p.proto = PT_UDP;
	p.action = PT_LIMIT;
	p.pps = 100;
	if (pt_policy_set(&live, &p, NULL))
		abort();
}

static char *dump_text(const struct pt_state *st, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	pt_config_dump(f, st);
	if (fclose(f))
		abort();
	return buf;
}

/* Length of line `line` (1-based) of text, or -1 past the end. */
static long line_length(const char *text, size_t len, unsigned int line)
{
	size_t pos = 0;

	for (unsigned int l = 1; pos <= len; l++) {
		size_t end = pos;

		while (end < len && text[end] != '\n')
			end++;
		if (l == line)
			return (long)(end - pos);
		pos = end + 1;
	}
	return -1;
}

static void check_valid(const struct pt_state *st)
{
	uint32_t max_live_rule = 0;

	for (size_t i = 0; i < live.npolicies; i++)
		if (live.policies[i].rule > max_live_rule)
			max_live_rule = live.policies[i].rule;
	FZ_CHECK(st->nservices >= live.nservices, "%zu services, live has %zu", st->nservices,
		 live.nservices);
	for (size_t i = 0; i < st->nservices; i++) {
		const struct pt_service *s = &st->services[i];

		FZ_CHECK(memchr(s->name, 0, sizeof(s->name)) && pt_name_valid(s->name),
			 "service %zu has a bad name", i);
		FZ_CHECK(memchr(s->desc, 0, sizeof(s->desc)) != NULL, "service %s: desc unterminated",
			 s->name);
		FZ_CHECK(s->id < PT_MAX_SERVICES, "service %s: id %u", s->name, s->id);
		for (size_t j = 0; j < i; j++) {
			FZ_CHECK(strcmp(st->services[j].name, s->name), "service %s twice", s->name);
			FZ_CHECK(st->services[j].id != s->id, "id %u twice", s->id);
		}
	}
	/* live's services are kept with their ids */
	for (size_t i = 0; i < live.nservices; i++) {
		const struct pt_service *s = pt_service_by_name(st, live.services[i].name);

		FZ_CHECK(s && s->id == live.services[i].id, "live service %s lost or renumbered",
			 live.services[i].name);
	}
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *b = &st->bindings[i];

		FZ_CHECK(b->proto < PT_NPROTO && b->lo <= b->hi && pt_prefix_valid(&b->prefix),
			 "binding %zu malformed", i);
		FZ_CHECK(pt_service_by_id(st, b->service) != NULL, "binding %zu: no service %u", i,
			 b->service);
		for (size_t j = 0; j < i; j++) {
			const struct pt_binding *o = &st->bindings[j];
			bool disjoint = o->hi < b->lo || b->hi < o->lo;
			bool nested = (o->lo <= b->lo && b->hi <= o->hi) ||
				      (b->lo <= o->lo && o->hi <= b->hi);
			bool same = o->lo == b->lo && o->hi == b->hi;

			if (o->proto != b->proto || !fz_prefix_eq(&o->prefix, &b->prefix))
				continue;
			FZ_CHECK((disjoint || nested) && !same, "bindings %zu and %zu clash", j, i);
		}
	}
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];
		ssize_t old = pt_policy_find(&live, p->proto, p->lo, p->hi, &p->from);

		FZ_CHECK(p->proto < PT_NPROTO && p->lo <= p->hi && pt_prefix_valid(&p->from) &&
			 p->action <= PT_LIMIT, "policy %zu malformed", i);
		FZ_CHECK((p->action == PT_LIMIT) == (p->pps != 0), "policy %zu: action %u pps %u", i,
			 p->action, p->pps);
		if (old >= 0)
			FZ_CHECK(p->rule == live.policies[old].rule, "policy %zu lost its rule id", i);
		else
			FZ_CHECK(p->rule > max_live_rule, "policy %zu: new rule id %u reuses a live one",
				 i, p->rule);
		for (size_t j = 0; j < i; j++) {
			const struct pt_policy *o = &st->policies[j];

			FZ_CHECK(o->rule != p->rule, "policies %zu and %zu share rule %u", j, i, p->rule);
			if (o->proto != p->proto || !fz_prefix_eq(&o->from, &p->from))
				continue;
			FZ_CHECK(!(o->lo == p->lo && o->hi == p->hi), "policies %zu and %zu: same key",
				 j, i);
		}
	}
	for (size_t i = 0; i < st->nwatches; i++) {
		const struct pt_watch *w = &st->watches[i];

		FZ_CHECK(w->proto < PT_NPROTO && w->lo <= w->hi, "watch %zu malformed", i);
		for (size_t j = 0; j < i; j++)
			FZ_CHECK(!(st->watches[j].proto == w->proto && st->watches[j].lo == w->lo &&
				   st->watches[j].hi == w->hi), "watch %zu twice", i);
	}
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *r = &st->steers[i];

		FZ_CHECK(r->proto < PT_NPROTO && r->lo <= r->hi && pt_cpus_valid(r->cpus, r->ncpus),
			 "steer rule %zu malformed", i);
		for (size_t j = 0; j < i; j++) {
			const struct pt_steer *o = &st->steers[j];
			bool disjoint = o->hi < r->lo || r->hi < o->lo;
			bool nested = (o->lo <= r->lo && r->hi <= o->hi) ||
				      (r->lo <= o->lo && o->hi <= r->hi);

			if (o->proto == r->proto)
				FZ_CHECK((disjoint || nested) && !(o->lo == r->lo && o->hi == r->hi),
					 "steer rules %zu and %zu clash", j, i);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_state st = {}, again = {}, fresh = {};
	struct pt_config_error e;
	struct pt_compiled c = {};
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0, nfresh = 0;
	uint32_t *freshslots = NULL;
	const char *why;
	int err;

	if (!live.nservices)
		make_live();
	err = pt_config_parse((const char *)data, size, &live, &st, &e);
	if (err) {
		long ll;

		FZ_CHECK(err == -EINVAL, "error %d", err);
		FZ_CHECK(memchr(e.msg, 0, sizeof(e.msg)) && e.msg[0], "empty error message");
		FZ_CHECK(!strchr(e.msg, '\n'), "error message with a newline: %s", e.msg);
		FZ_CHECK(!st.nservices && !st.nbindings && !st.services, "state kept after an error");
		if (e.line) {
			ll = line_length((const char *)data, size, e.line);
			FZ_CHECK(ll >= 0, "error on line %u past the end: %s", e.line, e.msg);
			FZ_CHECK(e.col >= 1 && (long)e.col <= ll + 1,
				 "error at %u:%u, the line has %ld characters: %s", e.line, e.col, ll,
				 e.msg);
		}
		return 0;
	}
	check_valid(&st);

	/* dump, and parse the dump again over the parsed state */
	text = dump_text(&st, &len);
	err = pt_config_parse(text, len, &st, &again, &e);
	FZ_CHECK(!err, "the dump does not parse: %u:%u: %s\n--- dump:\n%s", e.line, e.col, e.msg,
		 text);
	FZ_CHECK(fz_state_eq(&st, &again, true, &why), "%s differs after dump and parse\n%s", why,
		 text);

	/* with no live state: the same text comes out */
	err = pt_config_parse(text, len, NULL, &fresh, &e);
	FZ_CHECK(!err, "the dump does not parse without a live state: %u:%u: %s", e.line, e.col,
		 e.msg);
	text2 = dump_text(&fresh, &len2);
	FZ_CHECK(len == len2 && !memcmp(text, text2, len), "dump differs:\n%s---\n%s", text, text2);

	/* and it compiles */
	err = pt_assign_slots(&st, &live, &freshslots, &nfresh);
	FZ_CHECK(!err || err == -ENOSPC, "pt_assign_slots: %d", err);
	if (!err) {
		err = pt_compile(&st, 1, &c);
		FZ_CHECK(!err, "pt_compile: %d", err);
	}
	pt_compiled_free(&c);
	free(freshslots);
	free(text);
	free(text2);
	pt_state_free(&st);
	pt_state_free(&again);
	pt_state_free(&fresh);
	return 0;
}
