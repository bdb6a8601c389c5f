// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "util.h"

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

/* No word from w[from] on may be an option. */
static int no_options(struct word *w, size_t nw, size_t from, unsigned int lineno,
		      struct pt_config_error *e)
{
	for (size_t i = from; i < nw; i++)
		if (!strncmp(w[i].s, "--", 2))
			return seterr(e, lineno, w[i].col, "unknown option '%s'", w[i].s);
	return 0;
}

/* Find an option "--name VALUE" among w[from..nw); removes both words. */
static int take_option(struct word *w, size_t *nw, size_t from, const char *name,
		       const char **val, unsigned int lineno, struct pt_config_error *e)
{
	*val = NULL;
	for (size_t i = from; i < *nw; i++) {
		if (strcmp(w[i].s, name))
			continue;
		if (i + 1 >= *nw)
			return seterr(e, lineno, w[i].col, "%s needs a value", name);
		if (*val)
			return seterr(e, lineno, w[i].col, "%s given twice", name);
		*val = w[i + 1].s;
		memmove(&w[i], &w[i + 2], (*nw - i - 2) * sizeof(*w));
		*nw -= 2;
		i--;
	}
	for (size_t i = from; i < *nw; i++)
		if (!strncmp(w[i].s, "--", 2))
			return seterr(e, lineno, w[i].col, "unknown option '%s'", w[i].s);
	return 0;
}

static int want_words(struct word *w, size_t nw, size_t want, unsigned int lineno,
		      const char *usage, struct pt_config_error *e)
{
	if (nw < want)
		return seterr(e, lineno, w[nw - 1].col, "missing arguments (%s)", usage);
	if (nw > want)
		return seterr(e, lineno, w[want].col, "unexpected '%s' (%s)", w[want].s, usage);
	return 0;
}

/* What the parser collects before bulk validation. */
struct pending {
	struct pt_state *st;
	unsigned int *bind_line, *pol_line, *watch_line;
	unsigned int *bind_col, *pol_col, *watch_col;
	size_t capb, capp, capw;
};

#define PUSH(arr, lines, cols, n, cap, elem, ln, cl)                                   \
	({                                                                             \
		int __e = 0;                                                           \
		if ((n) == (cap)) {                                                    \
			size_t __nc = (cap) ? (cap) * 2 : 64;                          \
			void *__a = realloc((arr), __nc * sizeof(*(arr)));             \
			void *__l = __a ? realloc((lines), __nc * sizeof(*(lines))) : NULL; \
			void *__c = __l ? realloc((cols), __nc * sizeof(*(cols))) : NULL;   \
			if (__a)                                                       \
				(arr) = __a;                                           \
			if (__l)                                                       \
				(lines) = __l;                                         \
			if (__c)                                                       \
				(cols) = __c;                                          \
			if (!__a || !__l || !__c)                                      \
				__e = -ENOMEM;                                         \
			else                                                           \
				(cap) = __nc;                                          \
		}                                                                      \
		if (!__e) {                                                            \
			(arr)[(n)] = (elem);                                           \
			(lines)[(n)] = (ln);                                           \
			(cols)[(n)] = (cl);                                            \
			(n)++;                                                         \
		}                                                                      \
		__e;                                                                   \
	})

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

static int statement(struct pending *pd, struct word *w, size_t nw, unsigned int ln,
		     struct name_index *ix, struct pt_config_error *e)
{
	const char *cmd = w[0].s, *opt;
	int err;

	if (!strcmp(cmd, "service")) {
		err = take_option(w, &nw, 1, "--desc", &opt, ln, e);
		if (err)
			return err;
		if (nw < 2 || strcmp(w[1].s, "add"))
			return seterr(e, ln, nw < 2 ? w[0].col : w[1].col,
				      "expected 'service add SERVICE [--desc TEXT]'");
		err = want_words(w, nw, 3, ln, "service add SERVICE [--desc TEXT]", e);
		if (err)
			return err;
		if (pt_parse_name(w[2].s))
			return seterr(e, ln, w[2].col, "bad service name: %s", pt_why);
		if (opt && strlen(opt) >= PT_DESC_LEN)
			return seterr(e, ln, w[2].col, "--desc is longer than %d characters",
				      PT_DESC_LEN - 1);
		if (opt && !pt_text_valid(opt))
			return seterr(e, ln, w[2].col,
				      "--desc must be UTF-8 text without control characters");
		err = pt_service_add(pd->st, w[2].s, opt);
		if (err == -ENOSPC)
			return seterr(e, ln, w[2].col, "more than %d services", PT_MAX_SERVICES);
		if (err)
			return err;
		/* rebuild the index: services are few, declarations rare */
		free(ix->v);
		ix->n = pd->st->nservices;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
		ix->v = malloc((ix->n ? ix->n : 1) * sizeof(*ix->v));
		if (!ix->v)
			return -ENOMEM;
		for (size_t i = 0; i < ix->n; i++)
			ix->v[i] = &pd->st->services[i];
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
		qsort(ix->v, ix->n, sizeof(*ix->v), cmp_svc_ptr);
		return 0;
	}
	if (!strcmp(cmd, "bind")) {
		struct pt_binding b = {};
		const struct pt_service *s;

		err = no_options(w, nw, 1, ln, e);
		err = err ?: want_words(w, nw, 5, ln, "bind PROTO PREFIX PORTS SERVICE", e);
		if (err)
			return err;
		if (pt_parse_proto(w[1].s, &b.proto))
			return seterr(e, ln, w[1].col, "%s", pt_why);
		if (pt_parse_prefix(w[2].s, &b.prefix))
			return seterr(e, ln, w[2].col, "%s", pt_why);
		if (pt_parse_ports(w[3].s, &b.lo, &b.hi))
			return seterr(e, ln, w[3].col, "%s", pt_why);
		if (pt_parse_name(w[4].s))
			return seterr(e, ln, w[4].col, "bad service name: %s", pt_why);
		s = index_find(ix, w[4].s);
		if (!s)
			return seterr(e, ln, w[4].col,
				      "no service '%s': declare it with 'service add %s'", w[4].s,
				      w[4].s);
		b.service = s->id;
		return PUSH(pd->st->bindings, pd->bind_line, pd->bind_col, pd->st->nbindings,
			    pd->capb, b, ln, w[0].col);
	}
	if (!strcmp(cmd, "policy")) {
		struct pt_policy p = { .from.family = PT_FAMILY_ANY };
		uint64_t pps;
		size_t want = 4;

		err = take_option(w, &nw, 1, "--from", &opt, ln, e);
		if (err)
			return err;
		if (nw < 4)
			return want_words(w, nw, 4, ln, "policy PROTO PORTS ACTION [PPS] [--from PREFIX]", e);
		if (pt_parse_proto(w[1].s, &p.proto))
			return seterr(e, ln, w[1].col, "%s", pt_why);
		if (pt_parse_ports(w[2].s, &p.lo, &p.hi))
			return seterr(e, ln, w[2].col, "%s", pt_why);
		if (pt_parse_action(w[3].s, &p.action))
			return seterr(e, ln, w[3].col, "%s", pt_why);
		if (p.action == PT_LIMIT) {
			want = 5;
			if (nw < 5)
				return seterr(e, ln, w[3].col, "limit needs PPS");
			if (pt_parse_uint(w[4].s, 1000000000ULL, &pps) || !pps)
				return seterr(e, ln, w[4].col,
					      "PPS is packets per second from 1 to 1000000000");
			p.pps = (uint32_t)pps;
		}
		err = want_words(w, nw, want, ln, "policy PROTO PORTS ACTION [PPS] [--from PREFIX]", e);
		if (err)
			return err;
		if (opt && pt_parse_prefix(opt, &p.from))
			return seterr(e, ln, w[0].col, "--from: %s", pt_why);
		return PUSH(pd->st->policies, pd->pol_line, pd->pol_col, pd->st->npolicies, pd->capp,
			    p, ln, w[0].col);
	}
	if (!strcmp(cmd, "watch")) {
		struct pt_watch wt = {};

		err = no_options(w, nw, 1, ln, e);
		err = err ?: want_words(w, nw, 3, ln, "watch PROTO PORTS", e);
		if (err)
			return err;
		if (pt_parse_proto(w[1].s, &wt.proto))
			return seterr(e, ln, w[1].col, "%s", pt_why);
		if (pt_parse_ports(w[2].s, &wt.lo, &wt.hi))
			return seterr(e, ln, w[2].col, "%s", pt_why);
		return PUSH(pd->st->watches, pd->watch_line, pd->watch_col, pd->st->nwatches,
			    pd->capw, wt, ln, w[0].col);
	}
	return seterr(e, ln, w[0].col,
		      "unknown statement '%s' (service add, bind, policy, watch)", cmd);
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

/* by group (proto, prefix), then lo ascending, hi descending: a range
 * comes before the ranges nested in it */
static int cmp_ref(const void *x, const void *y)
{
	const struct ref *a = x, *b = y;
	int c;

	if (a->proto != b->proto)
		return (int)a->proto - (int)b->proto;
	c = cmp_prefix_key(a->prefix, b->prefix);
	if (c)
		return c;
	if (a->lo != b->lo)
		return (int)a->lo - (int)b->lo;
	if (a->hi != b->hi)
		return (int)b->hi - (int)a->hi;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Within each (proto, prefix) group, ranges must be disjoint or nested and
 * keys unique. Sorted, a stack of open ranges checks each one against its
 * enclosing range only: O(n log n). *first / *second index the clash. */
static int check_laminar(struct ref *r, size_t n, size_t *first, size_t *second, bool *dup)
{
	size_t *stack = NULL, top = 0;

	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), cmp_ref);
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

	if (a->proto != b->proto)
		return a->proto - b->proto;
	if (a->lo != b->lo)
		return a->lo - b->lo;
	if (a->hi != b->hi)
		return a->hi - b->hi;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static unsigned int max_u(unsigned int a, unsigned int b)
{
	return a > b ? a : b;
}

static int validate(struct pending *pd, struct pt_config_error *e)
{
	struct pt_state *st = pd->st;
	size_t n = st->nbindings > st->npolicies ? st->nbindings : st->npolicies;
	struct ref *r = calloc(n ? n : 1, sizeof(*r));
	size_t a = 0, b = 0;
	bool dup = false;
	int err;

	if (!r)
		return -ENOMEM;
	if (st->nbindings > PT_MAX_BINDINGS) {
		free(r);
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
		return seterr(e, pd->bind_line[PT_MAX_BINDINGS], 1, "more than %d bindings",
			      PT_MAX_BINDINGS);
	}
	for (size_t i = 0; i < st->nbindings; i++)
		r[i] = (struct ref){ st->bindings[i].proto, &st->bindings[i].prefix,
				     st->bindings[i].lo, st->bindings[i].hi, i };
	err = check_laminar(r, st->nbindings, &a, &b, &dup);
	if (err == -EEXIST || err == -ERANGE) {
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
		unsigned int la = pd->bind_line[a], lb = pd->bind_line[b];
		size_t later = lb > la ? b : a;

		free(r);
		if (dup)
			return seterr(e, max_u(la, lb), pd->bind_col[later],
				      "the same binding again (first at line %u)", la < lb ? la : lb);
		return seterr(e, max_u(la, lb), pd->bind_col[later],
			      "ports partly overlap the binding at line %u: ranges on one prefix "
			      "must be disjoint or nested", la < lb ? la : lb);
	}
	if (err) {
		free(r);
		return err;
	}
	if (st->npolicies > PT_MAX_POLICIES) {
		free(r);
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
		return seterr(e, pd->pol_line[PT_MAX_POLICIES], 1, "more than %d policies",
			      PT_MAX_POLICIES);
	}
	for (size_t i = 0; i < st->npolicies; i++)
		r[i] = (struct ref){ st->policies[i].proto, &st->policies[i].from,
				     st->policies[i].lo, st->policies[i].hi, i };
	err = check_laminar(r, st->npolicies, &a, &b, &dup);
	free(r);
	if (err == -EEXIST || err == -ERANGE) {
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the line arrays grow with their rule arrays, never NULL while a count is above zero */
		unsigned int la = pd->pol_line[a], lb = pd->pol_line[b];
		size_t later = lb > la ? b : a;

		if (dup)
			return seterr(e, max_u(la, lb), pd->pol_col[later],
				      "the same policy again (first at line %u)", la < lb ? la : lb);
		return seterr(e, max_u(la, lb), pd->pol_col[later],
			      "ports partly overlap the policy at line %u: ranges with one "
			      "source must be disjoint or nested", la < lb ? la : lb);
	}
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
				return seterr(e, pd->watch_line[later], pd->watch_col[later],
					      "the same watch again (first at line %u)",
					      pd->watch_line[first]);
			}
		}
		free(ix);
	}
	if (st->nwatches > PT_MAX_WATCHES)
		return seterr(e, pd->watch_line[PT_MAX_WATCHES], 1, "more than %d watches",
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
	ix.n = out->nservices;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	ix.v = malloc((ix.n ? ix.n : 1) * sizeof(*ix.v));
	line = malloc(MAX_LINE + 1);
	if (!ix.v || !line) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < ix.n; i++)
		ix.v[i] = &out->services[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element (a pointer) on purpose */
	qsort(ix.v, ix.n, sizeof(*ix.v), cmp_svc_ptr);

	while (pos < len) {
		struct word w[MAX_WORDS];
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
	free(pd.bind_line);
	free(pd.bind_col);
	free(pd.pol_line);
	free(pd.pol_col);
	free(pd.watch_line);
	free(pd.watch_col);
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
		const struct pt_service *s = pt_service_by_id(st, bd->service);

		fprintf(f, "bind %s %s %s %s\n", pt_proto_name(bd->proto),
			pt_format_prefix(&bd->prefix, a, sizeof(a)),
			pt_format_ports(bd->lo, bd->hi, b, sizeof(b)), s ? s->name : "?");
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
}
