// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "parse.h"

#define MAX_WORDS 16
#define MAX_LINE 4096

struct word {
	char *s;
	unsigned int col;
};

static int seterr(struct pt_config_error *e, unsigned int line, unsigned int col,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int seterr(struct pt_config_error *e, unsigned int line, unsigned int col,
		  const char *fmt, ...)
{
	va_list ap;

	e->line = line;
	e->col = col;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split one line (NUL-terminated, writable: words are unquoted in place). */
static int split(char *line, unsigned int lineno, struct word *w, size_t *nw,
		 struct pt_config_error *e)
{
	char *p = line;

	*nw = 0;
	for (;;) {
		char *out, quote = 0;
		unsigned int col;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			return 0;
		if (*nw == MAX_WORDS)
			return seterr(e, lineno, (unsigned int)(p - line) + 1,
				      "more than %d words", MAX_WORDS);
		col = (unsigned int)(p - line) + 1;
		out = p;
		w[*nw].s = out;
		w[*nw].col = col;
		while (*p && (quote || (*p != ' ' && *p != '\t' && *p != '\r'))) {
			if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p++;
				continue;
			}
			if (quote && *p == quote) {
				quote = 0;
				p++;
				continue;
			}
			if (quote == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\')) {
				p++;
				*out++ = *p++;
				continue;
			}
			if (!quote && *p == '#')
				break;
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return seterr(e, lineno, (unsigned int)(p - line) + 1,
					      "control character in a word");
			*out++ = *p++;
		}
		if (quote)
			return seterr(e, lineno, col, "unterminated %c quote", quote);
		bool end = !*p || *p == '#';

		*out = 0;
		(*nw)++;
		if (end)
			return 0;
		p++;
	}
}

/* ---- the grammar: a word list to an edit ---- */

static int gerr(struct pt_word_error *e, size_t word, bool usage, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int gerr(struct pt_word_error *e, size_t word, bool usage, const char *fmt, ...)
{
	va_list ap;

	e->word = word;
	e->usage = usage;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define MAX_POS 6

/* The words of one command, options taken out. */
struct words {
	char *const *w;
	size_t nw;
	size_t pos[MAX_POS], npos;	/* the positional words (the first MAX_POS) */
	const char *opt;		/* the value of the command's one option */
	size_t optword;
};

/* Sort w[1..nw) into positional words and the one option name takes. */
static int take_words(struct words *ws, const char *name, struct pt_word_error *e)
{
	size_t ol = name ? strlen(name) : 0;
	bool ended = false;

	for (size_t i = 1; i < ws->nw; i++) {
		const char *s = ws->w[i];

		if (ended || s[0] != '-' || !s[1]) {
			if (ws->npos < MAX_POS)
				ws->pos[ws->npos] = i;
			ws->npos++;
			continue;
		}
		if (!strcmp(s, "--")) {
			ended = true;
			continue;
		}
		if (!name || strncmp(s, name, ol) || (s[ol] && s[ol] != '='))
			return gerr(e, i, true, "unknown option '%s'", s);
		if (ws->opt)
			return gerr(e, i, true, "%s given twice", name);
		if (!s[ol] && i + 1 >= ws->nw)
			return gerr(e, i, true, "%s needs a value", name);
		ws->optword = s[ol] ? i : i + 1;
		ws->opt = s[ol] ? s + ol + 1 : ws->w[++i];
	}
	return 0;
}

static const char *word(const struct words *ws, size_t k)
{
	return ws->w[ws->pos[k]];
}

static int want_pos(const struct words *ws, size_t want, struct pt_word_error *e)
{
	if (ws->npos < want)
		return gerr(e, ws->nw - 1, true, "missing arguments");
	if (ws->npos > want)
		return gerr(e, ws->pos[want], true, "unexpected argument '%s'", word(ws, want));
	return 0;
}

static int parse_proto(const struct words *ws, size_t k, uint8_t *proto, struct pt_word_error *e)
{
	if (pt_parse_proto(word(ws, k), proto))
		return gerr(e, ws->pos[k], false, "bad protocol: %s", pt_why);
	return 0;
}

static int parse_ports(const struct words *ws, size_t k, uint16_t *lo, uint16_t *hi,
		       struct pt_word_error *e)
{
	if (pt_parse_ports(word(ws, k), lo, hi))
		return gerr(e, ws->pos[k], false, "bad ports: %s", pt_why);
	return 0;
}

static int parse_service(struct words *ws, struct pt_edit *out, struct pt_word_error *e)
{
	int err = take_words(ws, "--desc", e);

	if (err)
		return err;
	if (!ws->npos)
		return gerr(e, ws->nw - 1, true, "missing 'add' or 'del'");
	if (strcmp(word(ws, 0), "add") && strcmp(word(ws, 0), "del"))
		return gerr(e, ws->pos[0], true, "unknown subcommand '%s'", word(ws, 0));
	out->verb = strcmp(word(ws, 0), "add") ? PT_VERB_SERVICE_DEL : PT_VERB_SERVICE_ADD;
	if (ws->npos < 2)
		return gerr(e, ws->nw - 1, true, "missing SERVICE");
	err = want_pos(ws, 2, e);
	if (err)
		return err;
	out->name = word(ws, 1);
	out->desc = ws->opt;
	if (pt_parse_name(out->name))
		return gerr(e, ws->pos[1], false, "bad service name '%s': %s", out->name, pt_why);
	if (out->desc && out->verb == PT_VERB_SERVICE_DEL)
		return gerr(e, ws->optword, true, "--desc goes with add");
	if (out->desc && strlen(out->desc) >= PT_DESC_LEN)
		return gerr(e, ws->optword, false, "--desc is longer than %d characters",
			    PT_DESC_LEN - 1);
	if (out->desc && !pt_desc_valid(out->desc))
		return gerr(e, ws->optword, false,
			    "--desc must be UTF-8 text without control characters");
	return 0;
}

static int parse_bind(struct words *ws, struct pt_edit *out, struct pt_word_error *e)
{
	struct pt_binding *b = &out->bind;
	int err = take_words(ws, NULL, e);

	err = err ?: want_pos(ws, out->verb == PT_VERB_BIND ? 4 : 3, e);
	err = err ?: parse_proto(ws, 0, &b->proto, e);
	if (err)
		return err;
	if (pt_parse_prefix(word(ws, 1), &b->prefix))
		return gerr(e, ws->pos[1], false, "bad prefix: %s", pt_why);
	err = parse_ports(ws, 2, &b->lo, &b->hi, e);
	if (err)
		return err;
	if (out->verb == PT_VERB_UNBIND)
		return 0;
	out->name = word(ws, 3);
	if (pt_parse_name(out->name))
		return gerr(e, ws->pos[3], false, "bad service name '%s': %s", out->name, pt_why);
	return 0;
}

static int parse_policy(struct words *ws, struct pt_edit *out, struct pt_word_error *e)
{
	struct pt_policy *p = &out->policy;
	uint64_t pps;
	int err = take_words(ws, "--from", e);

	if (err)
		return err;
	if (ws->npos < 2)
		return gerr(e, ws->nw - 1, true, ws->npos ? "missing PORTS" : "missing arguments");
	err = parse_proto(ws, 0, &p->proto, e);
	err = err ?: parse_ports(ws, 1, &p->lo, &p->hi, e);
	if (err)
		return err;
	p->from.family = PT_FAMILY_ANY;
	if (ws->opt && pt_parse_prefix(ws->opt, &p->from))
		return gerr(e, ws->optword, false, "bad --from prefix: %s", pt_why);
	if (out->verb == PT_VERB_UNPOLICY)
		return want_pos(ws, 2, e);
	if (ws->npos < 3)
		return gerr(e, ws->nw - 1, true, "missing action");
	if (pt_parse_action(word(ws, 2), &p->action))
		return gerr(e, ws->pos[2], false, "bad action: %s", pt_why);
	if (p->action != PT_LIMIT)
		return want_pos(ws, 3, e);
	if (ws->npos < 4)
		return gerr(e, ws->pos[2], true, "limit needs PPS");
	if (pt_parse_uint(word(ws, 3), PT_MAX_PPS, &pps) || !pps)
		return gerr(e, ws->pos[3], false, "PPS is packets per second from 1 to %llu",
			    PT_MAX_PPS);
	p->pps = (uint32_t)pps;
	return want_pos(ws, 4, e);
}

static int parse_watch(struct words *ws, struct pt_edit *out, struct pt_word_error *e)
{
	int err = take_words(ws, NULL, e);

	err = err ?: want_pos(ws, 2, e);
	err = err ?: parse_proto(ws, 0, &out->watch.proto, e);
	return err ?: parse_ports(ws, 1, &out->watch.lo, &out->watch.hi, e);
}

/* steer PROTO PORTS cpus LIST | unsteer PROTO PORTS */
static int parse_steer(struct words *ws, struct pt_edit *out, struct pt_word_error *e)
{
	struct pt_steer *s = &out->steer;
	int err = take_words(ws, NULL, e);

	if (err)
		return err;
	if (ws->npos < 2)
		return gerr(e, ws->nw - 1, true, ws->npos ? "missing PORTS" : "missing arguments");
	err = parse_proto(ws, 0, &s->proto, e);
	err = err ?: parse_ports(ws, 1, &s->lo, &s->hi, e);
	if (err || out->verb == PT_VERB_UNSTEER)
		return err ?: want_pos(ws, 2, e);
	if (ws->npos < 3)
		return gerr(e, ws->nw - 1, true, "missing 'cpus LIST'");
	if (strcmp(word(ws, 2), "cpus"))
		return gerr(e, ws->pos[2], true, "expected 'cpus', not '%s'", word(ws, 2));
	if (ws->npos < 4)
		return gerr(e, ws->pos[2], true, "cpus needs a LIST like 1,3-5");
	if (pt_parse_cpus(word(ws, 3), s->cpus, &s->ncpus))
		return gerr(e, ws->pos[3], false, "bad CPU list: %s", pt_why);
	return want_pos(ws, 4, e);
}

int pt_edit_parse(char *const *w, size_t nw, struct pt_edit *out, struct pt_word_error *e)
{
	static const struct {
		const char *cmd;
		enum pt_verb verb;
		int (*parse)(struct words *ws, struct pt_edit *out, struct pt_word_error *e);
	} verbs[] = {
		{ "service", PT_VERB_SERVICE_ADD, parse_service },
		{ "bind", PT_VERB_BIND, parse_bind },
		{ "unbind", PT_VERB_UNBIND, parse_bind },
		{ "policy", PT_VERB_POLICY, parse_policy },
		{ "unpolicy", PT_VERB_UNPOLICY, parse_policy },
		{ "watch", PT_VERB_WATCH, parse_watch },
		{ "unwatch", PT_VERB_UNWATCH, parse_watch },
		{ "steer", PT_VERB_STEER, parse_steer },
		{ "unsteer", PT_VERB_UNSTEER, parse_steer },
	};
	struct words ws = { .w = w, .nw = nw };

	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; nw && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(w[0], verbs[i].cmd)) {
			out->verb = verbs[i].verb;
			return verbs[i].parse(&ws, out, e);
		}
	return gerr(e, 0, true, "unknown command '%s'", nw ? w[0] : "");
}

/* Where a rule stands in the file. */
struct loc {
	unsigned int line, col;
};

/* What the parser collects before bulk validation: the rules' places,
 * index for index with the rules of st. */
struct pending {
	struct pt_state *st;
	struct loc *bind_at, *pol_at, *watch_at, *steer_at;
	size_t capb, capp, capw, capbl, cappl, capwl, caps, capsl;
};

/* Append a rule and its place (both arrays have n used). */
#define PUSH(arr, at, n, cap, capl, rule, l)                                        \
	(PT_GROW(arr, n, cap) ?: PT_GROW(at, n, capl) ?: ((at)[n] = (l), (arr)[(n)++] = (rule), 0))

/* Services by name: a sorted index for the bindings' look-ups. */
struct name_index {
	const struct pt_service **v;
	size_t n;
};

static int cmp_svc_ptr(const void *a, const void *b)
{
	return strcmp((*(const struct pt_service *const *)a)->name,
		      (*(const struct pt_service *const *)b)->name);
}

static const struct pt_service *index_find(const struct name_index *ix, const char *name)
{
	struct pt_service key;
	const struct pt_service *kp = &key, *const *hit;

	snprintf(key.name, sizeof(key.name), "%s", name);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	hit = bsearch(&kp, ix->v, ix->n, sizeof(*ix->v), cmp_svc_ptr);
	return hit ? *hit : NULL;
}

/* Services by name again, after a declaration: services are few,
 * declarations rare. */
static int index_build(struct name_index *ix, const struct pt_state *st)
{
	free(ix->v);
	ix->n = st->nservices;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	ix->v = malloc((ix->n ? ix->n : 1) * sizeof(*ix->v));
	if (!ix->v)
		return -ENOMEM;
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i] = &st->services[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	qsort(ix->v, ix->n, sizeof(*ix->v), cmp_svc_ptr);
	return 0;
}

/* One line of a file: the command line's own grammar, then what a file may
 * say (declare services, bind, police, watch, steer). */
static int statement(struct pending *pd, struct word *w, size_t nw, unsigned int ln,
		     struct name_index *ix, struct pt_config_error *e)
{
	char *words[MAX_WORDS] = { NULL };
	struct pt_word_error we;
	struct pt_edit ed;
	const struct loc at = { ln, w[0].col };
	const struct pt_service *s;
	int err;

	for (size_t i = 0; i < nw; i++)
		words[i] = w[i].s;
	if (!nw || !words[0])	/* split() gives a line with words only */
		return seterr(e, ln, 1, "empty statement");
	if (strcmp(words[0], "service") && strcmp(words[0], "bind") &&
	    strcmp(words[0], "policy") && strcmp(words[0], "watch") && strcmp(words[0], "steer"))
		return seterr(e, ln, w[0].col,
			      "unknown statement '%s' (service add, bind, policy, watch, steer)",
			      words[0]);
	if (pt_edit_parse(words, nw, &ed, &we))
		return seterr(e, ln, w[we.word < nw ? we.word : 0].col, "%s", we.msg);
	switch (ed.verb) {
	case PT_VERB_SERVICE_ADD:
		err = pt_service_add(pd->st, ed.name, ed.desc);
		if (err == -ENOSPC)
			return seterr(e, ln, w[2].col, "more than %d services", PT_MAX_SERVICES);
		return err ?: index_build(ix, pd->st);
	case PT_VERB_BIND:
		s = index_find(ix, ed.name);
		if (!s)	/* the service is the last word */
			return seterr(e, ln, w[nw - 1].col,
				      "no service '%s': declare it with 'service add %s'", ed.name,
				      ed.name);
		ed.bind.service = s->id;
		return PUSH(pd->st->bindings, pd->bind_at, pd->st->nbindings, pd->capb, pd->capbl,
			    ed.bind, at);
	case PT_VERB_POLICY:
		return PUSH(pd->st->policies, pd->pol_at, pd->st->npolicies, pd->capp, pd->cappl,
			    ed.policy, at);
	case PT_VERB_WATCH:
		return PUSH(pd->st->watches, pd->watch_at, pd->st->nwatches, pd->capw, pd->capwl,
			    ed.watch, at);
	case PT_VERB_STEER:
		return PUSH(pd->st->steers, pd->steer_at, pd->st->nsteers, pd->caps, pd->capsl,
			    ed.steer, at);
	default:
		return seterr(e, ln, w[1].col, "a file declares services: 'service add SERVICE [--desc TEXT]'");
	}
}

/* ---- bulk validation: sort, then check neighbours ---- */

struct ref {
	uint8_t proto;
	const struct pt_prefix *prefix;
	uint16_t lo, hi;
	size_t index;
};

static int cmp_prefix_key(const struct pt_prefix *a, const struct pt_prefix *b)
{
	if (a->family != b->family)
		return (int)a->family - (int)b->family;
	if (a->plen != b->plen)
		return (int)a->plen - (int)b->plen;
	return memcmp(a->addr, b->addr, 16);
}

/* A ref's place in the order check_laminar needs, as one memcmp key:
 * by group (proto, prefix), then lo ascending, hi descending (a range
 * comes before the ranges nested in it), then index. 32 bytes with the
 * ref's position, sorted in place: not through pointers to the refs and
 * on to their prefixes, which a million bindings paid in cache misses. */
struct ref_key {
	uint8_t k[28];		/* proto, family, plen, addr, lo, 65535 - hi,
				 * index: big-endian */
	uint32_t pos;		/* in r[] */
};

static int cmp_ref_key(const void *x, const void *y)
{
	return memcmp(((const struct ref_key *)x)->k, ((const struct ref_key *)y)->k, 28);
}

/* Sort r in ref_key's order. */
static int sort_refs(struct ref *r, size_t n)
{
	struct ref_key *ks = malloc(n * sizeof(*ks));
	struct ref *tmp = malloc(n * sizeof(*tmp));

	if (!ks || !tmp || n > UINT32_MAX) {
		free(ks);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *k = ks[i].k;
		uint16_t lo = r[i].lo, hi = (uint16_t)(65535 - r[i].hi);
		uint64_t ix = r[i].index;

		k[0] = r[i].proto;
		k[1] = r[i].prefix->family;
		k[2] = r[i].prefix->plen;
		memcpy(k + 3, r[i].prefix->addr, 16);
		k[19] = (uint8_t)(lo >> 8);
		k[20] = (uint8_t)lo;
		k[21] = (uint8_t)(hi >> 8);
		k[22] = (uint8_t)hi;
		for (int b = 0; b < 5; b++)	/* an index below 2^40 */
			k[27 - b] = (uint8_t)(ix >> (8 * b));
		ks[i].pos = (uint32_t)i;
	}
	qsort(ks, n, sizeof(*ks), cmp_ref_key);
	for (size_t i = 0; i < n; i++)
		tmp[i] = r[ks[i].pos];
	memcpy(r, tmp, n * sizeof(*r));
	free(ks);
	free(tmp);
	return 0;
}

static int check_laminar(struct ref *r, size_t n, size_t *first, size_t *second, bool *dup)
{
	size_t *stack = NULL, top = 0;
	int err;

	if (!n)
		return 0;
	err = sort_refs(r, n);
	if (err)
		return err;
	stack = malloc(n * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i && (r[i].proto != r[i - 1].proto ||
			  cmp_prefix_key(r[i].prefix, r[i - 1].prefix)))
			top = 0;	/* a new group */
		if (i && top && r[i].lo == r[i - 1].lo && r[i].hi == r[i - 1].hi &&
		    r[i].proto == r[i - 1].proto && !cmp_prefix_key(r[i].prefix, r[i - 1].prefix)) {
			*first = r[i - 1].index;
			*second = r[i].index;
			*dup = true;
			free(stack);
			return -EEXIST;
		}
		while (top && r[stack[top - 1]].hi < r[i].lo)
			top--;	/* ended before this one starts */
		if (top && r[i].hi > r[stack[top - 1]].hi) {
			*first = r[stack[top - 1]].index;
			*second = r[i].index;
			*dup = false;
			free(stack);
			return -ERANGE;
		}
		stack[top++] = i;
	}
	free(stack);
	return 0;
}

/* qsort has no context argument: the array the indices point into */
static const struct pt_watch *sort_watches;

static int cmp_watch_ix(const void *x, const void *y)
{
	const struct pt_watch *a = &sort_watches[*(const size_t *)x];
	const struct pt_watch *b = &sort_watches[*(const size_t *)y];
	int c = pt_cmp_range(a->proto, a->lo, a->hi, b->proto, b->lo, b->hi);

	return c ? c : *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static unsigned int max_u(unsigned int a, unsigned int b)
{
	return a > b ? a : b;
}

/* The bindings or the policies of the file: within limits, and laminar
 * (r has room for them); an error names the later of two lines. */
static int check_rules(struct pending *pd, enum pt_rule_kind kind, struct ref *r,
		       struct pt_config_error *e)
{
	static const struct pt_prefix none = { .family = PT_FAMILY_ANY };
	const struct pt_state *st = pd->st;
	bool bind = kind == PT_KIND_BINDING, steer = kind == PT_KIND_STEER;
	size_t n = bind ? st->nbindings : steer ? st->nsteers : st->npolicies, a = 0, b = 0;
	size_t max = bind ? pt_state_max_bindings(st) : steer ? PT_MAX_STEERS : PT_MAX_POLICIES;
	const struct loc *at = bind ? pd->bind_at : steer ? pd->steer_at : pd->pol_at;
	const char *what = bind ? "binding" : steer ? "steer rule" : "policy";
	bool dup = false;
	int err;

	if (n > max)
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
		return seterr(e, at[max].line, 1, "more than %zu %s", max,
			      bind ? "bindings" : steer ? "steer rules" : "policies");
	for (size_t i = 0; i < n; i++)
		r[i] = bind ? (struct ref){ st->bindings[i].proto, &st->bindings[i].prefix,
					    st->bindings[i].lo, st->bindings[i].hi, i }
		       : steer ? (struct ref){ st->steers[i].proto, &none, st->steers[i].lo,
					       st->steers[i].hi, i }
			    : (struct ref){ st->policies[i].proto, &st->policies[i].from,
					    st->policies[i].lo, st->policies[i].hi, i };
	err = check_laminar(r, n, &a, &b, &dup);
	if (err != -EEXIST && err != -ERANGE)
		return err;
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
	unsigned int la = at[a].line, lb = at[b].line, first = la < lb ? la : lb;

	if (dup)
		return seterr(e, max_u(la, lb), at[lb > la ? b : a].col,
			      "the same %s again (first at line %u)", what, first);
	return seterr(e, max_u(la, lb), at[lb > la ? b : a].col,
		      "ports partly overlap the %s at line %u: ranges %s must be disjoint or nested",
		      what, first, bind ? "on one prefix" : steer ? "of one protocol" : "with one source");
}

static int validate(struct pending *pd, struct pt_config_error *e)
{
	struct pt_state *st = pd->st;
	size_t n = st->nbindings > st->npolicies ? st->nbindings : st->npolicies;
	struct ref *r;

	if (st->nsteers > n)
		n = st->nsteers;
	r = calloc(n ? n : 1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	err = check_rules(pd, PT_KIND_BINDING, r, e);
	err = err ?: check_rules(pd, PT_KIND_POLICY, r, e);
	err = err ?: check_rules(pd, PT_KIND_STEER, r, e);
	free(r);
	if (err)
		return err;
	/* watches: identical ones are harmless, but a file says each once */
	if (st->nwatches > 1) {
		size_t *ix = malloc(st->nwatches * sizeof(*ix));

		if (!ix)
			return -ENOMEM;
		for (size_t i = 0; i < st->nwatches; i++)
			ix[i] = i;
		sort_watches = st->watches;
		qsort(ix, st->nwatches, sizeof(*ix), cmp_watch_ix);
		for (size_t i = 1; i < st->nwatches; i++) {
			const struct pt_watch *w1 = &st->watches[ix[i - 1]], *w2 = &st->watches[ix[i]];

			if (w1->proto == w2->proto && w1->lo == w2->lo && w1->hi == w2->hi) {
				size_t first = ix[i - 1] < ix[i] ? ix[i - 1] : ix[i];
				size_t later = ix[i - 1] < ix[i] ? ix[i] : ix[i - 1];

				free(ix);
				/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
				return seterr(e, pd->watch_at[later].line, pd->watch_at[later].col,
					      "the same watch again (first at line %u)",
					      pd->watch_at[first].line);
			}
		}
		free(ix);
	}
	if (st->nwatches > PT_MAX_WATCHES)
		return seterr(e, pd->watch_at[PT_MAX_WATCHES].line, 1, "more than %d watches",
			      PT_MAX_WATCHES);
	return 0;
}

/* Kept policies keep their rule id (their token buckets); new ones get
 * ids no live policy uses. */
static void assign_rules(struct pt_state *st, const struct pt_state *live)
{
	uint32_t next = 0;

	for (size_t i = 0; live && i < live->npolicies; i++)
		if (live->policies[i].rule > next)
			next = live->policies[i].rule;
	for (size_t i = 0; i < st->npolicies; i++) {
		struct pt_policy *p = &st->policies[i];
		ssize_t old = live ? pt_policy_find(live, p->proto, p->lo, p->hi, &p->from) : -1;

		p->rule = old >= 0 ? live->policies[old].rule : ++next;
	}
}

int pt_config_parse(const char *text, size_t len, const struct pt_state *live,
		    struct pt_state *out, struct pt_config_error *e)
{
	struct pending pd = { .st = out };
	struct name_index ix = {};
	char *line = NULL;
	unsigned int lineno = 0;
	size_t pos = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	if (live && live->nservices) {
		out->services = malloc(live->nservices * sizeof(*out->services));
		if (!out->services)
			return -ENOMEM;
		memcpy(out->services, live->services, live->nservices * sizeof(*out->services));
		out->nservices = live->nservices;
	}
	if (live)
		out->max_bindings = live->max_bindings;
	line = malloc(MAX_LINE + 1);
	err = line ? index_build(&ix, out) : -ENOMEM;
	if (err)
		goto cleanup;

	while (pos < len) {
		struct word w[MAX_WORDS] = {};
		size_t nw, end = pos;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (end - pos > MAX_LINE) {
			err = seterr(e, lineno, MAX_LINE + 1, "line longer than %d characters", MAX_LINE);
			goto cleanup;
		}
		if (memchr(text + pos, 0, end - pos)) {
			err = seterr(e, lineno,
				     (unsigned int)((const char *)memchr(text + pos, 0, end - pos) -
						    (text + pos)) + 1,
				     "NUL byte: not a text file");
			goto cleanup;
		}
		memcpy(line, text + pos, end - pos);
		line[end - pos] = 0;
		pos = end + 1;
		err = split(line, lineno, w, &nw, e);
		if (err)
			goto cleanup;
		if (!nw)
			continue;
		err = statement(&pd, w, nw, lineno, &ix, e);
		if (err)
			goto cleanup;
	}
	err = validate(&pd, e);
	if (!err)
		assign_rules(out, live);
cleanup:
	free(line);
	free(ix.v);
	free(pd.bind_at);
	free(pd.pol_at);
	free(pd.watch_at);
	free(pd.steer_at);
	if (err)
		pt_state_free(out);
	return err;
}

/* ---- dump ---- */

/* Quote a word for the parser when it needs it. */
static void put_word(FILE *f, const char *s)
{
	bool plain = *s != 0;

	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\'' || *p == '"' || *p == '#' || *p == '\\')
			plain = false;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

void pt_config_dump(FILE *f, const struct pt_state *st)
{
	char a[64], b[64];

	for (size_t i = 0; i < st->nservices; i++) {
		fprintf(f, "service add %s", st->services[i].name);
		if (st->services[i].desc[0]) {
			fputs(" --desc ", f);
			put_word(f, st->services[i].desc);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < st->nbindings; i++) {
		const struct pt_binding *bd = &st->bindings[i];

		const char *w[4] = { pt_proto_name(bd->proto),
				     pt_format_prefix(&bd->prefix, a, sizeof(a)),
				     pt_format_ports(bd->lo, bd->hi, b, sizeof(b)),
				     pt_service_name(st, bd->service) };

		char line[256] = "bind";
		size_t len = 4;

		/* "bind %s %s %s %s\n" without fprintf, one write: a dump of a
		 * million bindings spent most of its time in stdio */
		for (int k = 0; k < 4; k++) {
			size_t wl = strlen(w[k]);

			line[len++] = ' ';
			memcpy(line + len, w[k], wl);
			len += wl;
		}
		line[len++] = '\n';
		fwrite(line, 1, len, f);
	}
	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];

		fprintf(f, "policy %s %s %s", pt_proto_name(p->proto),
			pt_format_ports(p->lo, p->hi, b, sizeof(b)), pt_action_name(p->action));
		if (p->action == PT_LIMIT)
			fprintf(f, " %u", p->pps);
		if (p->from.family != PT_FAMILY_ANY)
			fprintf(f, " --from %s", pt_format_prefix(&p->from, a, sizeof(a)));
		fputc('\n', f);
	}
	for (size_t i = 0; i < st->nwatches; i++)
		fprintf(f, "watch %s %s\n", pt_proto_name(st->watches[i].proto),
			pt_format_ports(st->watches[i].lo, st->watches[i].hi, b, sizeof(b)));
	for (size_t i = 0; i < st->nsteers; i++) {
		const struct pt_steer *s = &st->steers[i];
		char cpus[PT_MAX_STEER_CPUS * 6];

		fprintf(f, "steer %s %s cpus %s\n", pt_proto_name(s->proto),
			pt_format_ports(s->lo, s->hi, b, sizeof(b)),
			pt_format_cpus(s->cpus, s->ncpus, cpus, sizeof(cpus)));
	}
}
