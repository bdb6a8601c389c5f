// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the one grammar of the editing commands (core/config.c):
 * pt_edit_parse on word lists as argv gives them, and pt_config_parse,
 * which feeds each line of a file through the same parser. Table-driven:
 * each row is {words or text, expected edit or expected error (word or
 * line:col, usage or not, exact message)}. Every failing row is
 * reported, then the test fails once at its end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "unit.h"
#include "config.h"
#include "parse.h"

/* Split a test's command line at blanks (the shell's job for argv). */
static size_t words_of(const char *line, char *buf, size_t len, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	snprintf(buf, len, "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return n;
}

/* ---- accepted ---- */

struct ok_case {
	const char *line;
	enum pt_verb verb;
	const char *name, *desc;
	uint16_t lo, hi;
	uint32_t action, pps;
	uint8_t from_family;	/* policies: PT_FAMILY_ANY unless --from */
};

static void test_edit_accepts(void **state)
{
	static const struct ok_case cases[] = {
		{ "service add web", PT_VERB_SERVICE_ADD, "web", NULL, 0, 0, 0, 0, 0 },
		{ "service add web --desc hello", PT_VERB_SERVICE_ADD, "web", "hello", 0, 0, 0, 0, 0 },
		{ "service --desc=hi add web", PT_VERB_SERVICE_ADD, "web", "hi", 0, 0, 0, 0, 0 },
		{ "service del db", PT_VERB_SERVICE_DEL, "db", NULL, 0, 0, 0, 0, 0 },
		{ "bind tcp any 80 web", PT_VERB_BIND, "web", NULL, 80, 80, 0, 0, 0 },
		{ "bind udp 198.18.0.0/15 5000-5010 dns", PT_VERB_BIND, "dns", NULL, 5000, 5010, 0, 0, 0 },
		{ "bind -- tcp any 1 web", PT_VERB_BIND, "web", NULL, 1, 1, 0, 0, 0 },
		{ "unbind tcp any 0-65535", PT_VERB_UNBIND, NULL, NULL, 0, 65535, 0, 0, 0 },
		{ "policy tcp 22 drop", PT_VERB_POLICY, NULL, NULL, 22, 22, PT_DROP, 0,
		  PT_FAMILY_ANY },
		{ "policy udp 53 limit 1000000000 --from 2001:db8::/32", PT_VERB_POLICY, NULL, NULL,
		  53, 53, PT_LIMIT, 1000000000, PT_INET6 },
		{ "policy --from=198.18.0.0/24 tcp 80-90 drop-new", PT_VERB_POLICY, NULL, NULL, 80,
		  90, PT_DROP_NEW, 0, PT_INET },
		{ "unpolicy tcp 22", PT_VERB_UNPOLICY, NULL, NULL, 22, 22, 0, 0, PT_FAMILY_ANY },
		{ "watch udp 5000-5010", PT_VERB_WATCH, NULL, NULL, 5000, 5010, 0, 0, 0 },
		{ "unwatch tcp 8080", PT_VERB_UNWATCH, NULL, NULL, 8080, 8080, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct ok_case *c = &cases[i];
		char buf[256], *w[16];
		size_t nw = words_of(c->line, buf, sizeof(buf), w, N(w));
		struct pt_word_error e;
		struct pt_edit ed;
		uint16_t lo, hi;
		int err = pt_edit_parse(w, nw, &ed, &e);

		EXPECT(!err, "'%s': %d (%s)", c->line, err, e.msg);
		if (err)
			continue;
		EXPECT(ed.verb == c->verb, "'%s': verb %d, want %d", c->line, ed.verb, c->verb);
		EXPECT(!c->name == !ed.name && (!c->name || !strcmp(c->name, ed.name)),
		       "'%s': name %s", c->line, ed.name ? ed.name : "NULL");
		EXPECT(!c->desc == !ed.desc && (!c->desc || !strcmp(c->desc, ed.desc)),
		       "'%s': desc %s", c->line, ed.desc ? ed.desc : "NULL");
		if (c->verb == PT_VERB_SERVICE_ADD || c->verb == PT_VERB_SERVICE_DEL)
			continue;
		lo = c->verb == PT_VERB_BIND || c->verb == PT_VERB_UNBIND ? ed.bind.lo
		     : c->verb == PT_VERB_WATCH || c->verb == PT_VERB_UNWATCH ? ed.watch.lo
									      : ed.policy.lo;
		hi = c->verb == PT_VERB_BIND || c->verb == PT_VERB_UNBIND ? ed.bind.hi
		     : c->verb == PT_VERB_WATCH || c->verb == PT_VERB_UNWATCH ? ed.watch.hi
									      : ed.policy.hi;
		EXPECT(lo == c->lo && hi == c->hi, "'%s': ports %u-%u", c->line, lo, hi);
		if (c->verb == PT_VERB_POLICY || c->verb == PT_VERB_UNPOLICY)
			EXPECT(ed.policy.action == c->action && ed.policy.pps == c->pps &&
				       ed.policy.from.family == c->from_family,
			       "'%s': action %u pps %u from family %u", c->line, ed.policy.action,
			       ed.policy.pps, ed.policy.from.family);
	}
	assert_int_equal(failures, 0);
}

/* ---- refused ---- */

struct bad_case {
	const char *line;
	size_t word;
	bool usage;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "service", 0, true, "missing 'add' or 'del'" },
	{ "service list web", 1, true, "unknown subcommand 'list'" },
	{ "service add", 1, true, "missing SERVICE" },
	{ "service add web db", 3, true, "unexpected argument 'db'" },
	{ "service add Web", 2, false,
	  "bad service name 'Web': 'Web' has 'W': service names are [a-z0-9_.-]" },
	{ "service del web --desc x", 4, true, "--desc goes with add" },
	{ "service add web --desc", 3, true, "--desc needs a value" },
	{ "service add web --desc a --desc b", 5, true, "--desc given twice" },
	{ "service add web --size 3", 3, true, "unknown option '--size'" },
	{ "service add -x", 2, true, "unknown option '-x'" },
	{ "bind tcp any 80", 3, true, "missing arguments" },
	{ "bind tcp any 80 web more", 5, true, "unexpected argument 'more'" },
	{ "bind sctp any 80 web", 1, false, "bad protocol: 'sctp' is not a protocol (tcp or udp)" },
	{ "bind tcp 198.18.0.1/33 80 web", 2, false,
	  "bad prefix: prefix length in '198.18.0.1/33' is not a number from 0 to 32" },
	{ "bind tcp any 99999 web", 3, false,
	  "bad ports: port '99999' is not a number from 0 to 65535" },
	{ "bind tcp any 80 web --from any", 5, true, "unknown option '--from'" },
	{ "policy tcp", 1, true, "missing PORTS" },
	{ "policy tcp 80", 2, true, "missing action" },
	{ "policy tcp 80 reject", 3, false,
	  "bad action: 'reject' is not an action (allow, drop, drop-new, limit PPS)" },
	{ "policy tcp 80 limit", 3, true, "limit needs PPS" },
	{ "policy tcp 80 limit 0", 4, false, "PPS is packets per second from 1 to 1000000000" },
	{ "policy tcp 80 limit 1000000001", 4, false,
	  "PPS is packets per second from 1 to 1000000000" },
	{ "policy tcp 80 drop 5", 4, true, "unexpected argument '5'" },
	{ "policy tcp 80 drop --from nowhere", 5, false,
	  "bad --from prefix: 'nowhere' is not an IPv4 or IPv6 prefix (ADDR/LEN or any)" },
	{ "unpolicy tcp 80 drop", 3, true, "unexpected argument 'drop'" },
	{ "watch udp", 1, true, "missing arguments" },
	{ "unwatch udp 1-2 --desc x", 3, true, "unknown option '--desc'" },
	{ "frobnicate udp 1", 0, true, "unknown command 'frobnicate'" },
	{ "steer udp", 1, true, "missing PORTS" },
	{ "steer udp 5000", 2, true, "missing 'cpus LIST'" },
	{ "steer udp 5000 cpu 1", 3, true, "expected 'cpus', not 'cpu'" },
	{ "steer udp 5000 cpus", 3, true, "cpus needs a LIST like 1,3-5" },
	{ "steer udp 5000 cpus 1 2", 5, true, "unexpected argument '2'" },
	{ "steer tcp 80-70 cpus 1", 2, false, "bad ports: range 80-70 has LO > HI" },
	{ "steer udp 5000 cpus 1,1", 4, false, "bad CPU list: CPU 1 is listed twice in '1,1'" },
	{ "steer udp 5000 cpus 0-3,2", 4, false,
	  "bad CPU list: CPU 2 is listed twice in '0-3,2'" },
	{ "steer udp 5000 cpus 3-1", 4, false, "bad CPU list: CPU range 3-1 has LO > HI" },
	{ "steer udp 5000 cpus 1024", 4, false,
	  "bad CPU list: '1024' is not a CPU list like 1,3-5 (CPUs 0-1023)" },
	{ "steer udp 5000 cpus 0-64", 4, false, "bad CPU list: more than 64 CPUs in '0-64'" },
	{ "steer udp 5000 cpus 1,", 4, false, "bad CPU list: '1,' is not a CPU list like 1,3-5" },
	{ "steer udp 5000 cpus ,1", 4, false, "bad CPU list: ',1' is not a CPU list like 1,3-5" },
	/* a word that starts with '-' is an option, as everywhere */
	{ "steer udp 5000 cpus -1", 4, true, "unknown option '-1'" },
	{ "steer udp 5000 cpus a", 4, false,
	  "bad CPU list: 'a' is not a CPU list like 1,3-5 (CPUs 0-1023)" },
	{ "unsteer udp 5000 cpus 1", 3, true, "unexpected argument 'cpus'" },
	{ "unsteer udp", 1, true, "missing PORTS" },
};

static void test_edit_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char buf[256], *w[16];
		size_t nw = words_of(c->line, buf, sizeof(buf), w, N(w));
		struct pt_word_error e;
		struct pt_edit ed;
		int err = pt_edit_parse(w, nw, &ed, &e);

		EXPECT(err == -EINVAL, "'%s': %d, want -EINVAL", c->line, err);
		if (err != -EINVAL)
			continue;
		EXPECT(e.word == c->word, "'%s': word %zu, want %zu", c->line, e.word, c->word);
		EXPECT(e.usage == c->usage, "'%s': usage %d", c->line, e.usage);
		EXPECT(!strcmp(e.msg, c->msg), "'%s': \"%s\", want \"%s\"", c->line, e.msg, c->msg);
	}
	assert_int_equal(failures, 0);
}

/* The file says what the command line says, at the column of the word
 * the command line names. */
static void test_file_speaks_the_grammar(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char text[300], buf[256], *w[16];
		size_t nw = words_of(c->line, buf, sizeof(buf), w, N(w));
		struct pt_config_error e;
		struct pt_state st;
		int err;

		/* the statements a file may hold */
		if (strncmp(c->line, "bind ", 5) && strncmp(c->line, "policy ", 7) &&
		    strncmp(c->line, "watch ", 6) && strncmp(c->line, "service add", 11) &&
		    strncmp(c->line, "steer ", 6))
			continue;
		snprintf(text, sizeof(text), "service add web\n%s\n", c->line);
		err = pt_config_parse(text, strlen(text), NULL, &st, &e);
		EXPECT(err == -EINVAL, "file '%s': %d, want -EINVAL", c->line, err);
		if (err != -EINVAL) {
			pt_state_free(&st);
			continue;
		}
		EXPECT(e.line == 2 && e.col == (unsigned int)(w[c->word < nw ? c->word : 0] - buf) + 1,
		       "file '%s': at %u:%u, want 2:%td", c->line, e.line, e.col,
		       w[c->word] - buf + 1);
		EXPECT(!strcmp(e.msg, c->msg), "file '%s': \"%s\", want \"%s\"", c->line, e.msg,
		       c->msg);
	}
	assert_int_equal(failures, 0);
}

/* ---- what only a file says ---- */

struct file_case {
	const char *text;
	unsigned int line, col;
	const char *msg;
};

static void test_file_errors(void **state)
{
	static const struct file_case cases[] = {
		{ "service add web\nservice del web\n", 2, 9,
		  "a file declares services: 'service add SERVICE [--desc TEXT]'" },
		{ "unbind tcp any 80\n", 1, 1,
		  "unknown statement 'unbind' (service add, bind, policy, watch, steer)" },
		{ "unsteer udp 80\n", 1, 1,
		  "unknown statement 'unsteer' (service add, bind, policy, watch, steer)" },
		{ "steer udp 10-20 cpus 1\nsteer tcp 15-25 cpus 1\nsteer udp 15-25 cpus 0\n", 3, 1,
		  "ports partly overlap the steer rule at line 1: ranges of one protocol must be "
		  "disjoint or nested" },
		{ "steer udp 10 cpus 1\n steer udp 10 cpus 0\n", 2, 2,
		  "the same steer rule again (first at line 1)" },
		{ "service add web\nbind tcp any 10 webb\n", 2, 17,
		  "no service 'webb': declare it with 'service add webb'" },
		{ "service add web\nbind tcp any 10-20 web\nbind tcp any 15-25 web\n", 3, 1,
		  "ports partly overlap the binding at line 2: ranges on one prefix must be "
		  "disjoint or nested" },
		{ "watch udp 1\n  watch udp 1\n", 2, 3, "the same watch again (first at line 1)" },
		{ "service add web --desc 'a\tb'\n", 1, 24,
		  "--desc must be UTF-8 text without control characters" },
		{ "bind tcp any 'x\n", 1, 14, "unterminated ' quote" },
		{ "# only a comment\n\tpolicy tcp 80 limit 0 # zero\n", 2, 22,
		  "PPS is packets per second from 1 to 1000000000" },
		/* what tests/e2e/test_ops_nodowntime.sh expects of apply */
		{ "policy tcp 80 limit 0\n", 1, 21, "PPS is packets per second from 1 to 1000000000" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct file_case *c = &cases[i];
		struct pt_config_error e;
		struct pt_state st;
		int err = pt_config_parse(c->text, strlen(c->text), NULL, &st, &e);

		EXPECT(err == -EINVAL, "case %zu: %d, want -EINVAL", i, err);
		if (err != -EINVAL) {
			pt_state_free(&st);
			continue;
		}
		EXPECT(e.line == c->line && e.col == c->col, "case %zu: at %u:%u, want %u:%u", i,
		       e.line, e.col, c->line, c->col);
		EXPECT(!strcmp(e.msg, c->msg), "case %zu: \"%s\", want \"%s\"", i, e.msg, c->msg);
	}
	assert_int_equal(failures, 0);
}

/* steer: the words to a rule, and a file's steer lines through dump and
 * back to the same rules. */
static void test_steer_grammar(void **state)
{
	static const struct {
		const char *line;
		enum pt_verb verb;
		uint8_t proto;
		uint16_t lo, hi, ncpus;
		uint16_t cpus[4];
	} cases[] = {
		{ "steer udp 5000 cpus 1", PT_VERB_STEER, PT_UDP, 5000, 5000, 1, { 1 } },
		{ "steer tcp 80-90 cpus 5,1,3-4", PT_VERB_STEER, PT_TCP, 80, 90, 4, { 1, 3, 4, 5 } },
		{ "steer -- udp 0-65535 cpus 1023", PT_VERB_STEER, PT_UDP, 0, 65535, 1, { 1023 } },
		{ "unsteer udp 7", PT_VERB_UNSTEER, PT_UDP, 7, 7, 0, { 0 } },
	};
	static const char text[] = "steer udp 27015 cpus 2-3\nsteer tcp 80 cpus 0,2,4-6\n"
				   "steer udp 27000-27999 cpus 1\n";
	struct pt_config_error ce;
	struct pt_state st, again;
	char *buf = NULL, fmt[64];
	size_t len = 0;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char b[256], *w[16];
		size_t nw = words_of(cases[i].line, b, sizeof(b), w, N(w));
		struct pt_word_error e;
		struct pt_edit ed;
		int err = pt_edit_parse(w, nw, &ed, &e);

		EXPECT(!err, "'%s': %d (%s)", cases[i].line, err, e.msg);
		if (err)
			continue;
		EXPECT(ed.verb == cases[i].verb && ed.steer.proto == cases[i].proto &&
			       ed.steer.lo == cases[i].lo && ed.steer.hi == cases[i].hi &&
			       ed.steer.ncpus == cases[i].ncpus,
		       "'%s': verb %d proto %u %u-%u, %u CPUs", cases[i].line, ed.verb,
		       ed.steer.proto, ed.steer.lo, ed.steer.hi, ed.steer.ncpus);
		for (uint16_t j = 0; j < cases[i].ncpus && j < ed.steer.ncpus; j++)
			EXPECT(ed.steer.cpus[j] == cases[i].cpus[j], "'%s': CPU %u is %u",
			       cases[i].line, j, ed.steer.cpus[j]);
	}
	/* the shortest list, ranges where they save words */
	EXPECT(!strcmp(pt_format_cpus((const uint16_t[]){ 0, 2, 4, 5, 6 }, 5, fmt, sizeof(fmt)),
		       "0,2,4-6"), "format: %s", fmt);
	EXPECT(!strcmp(pt_format_cpus((const uint16_t[]){ 1, 2 }, 2, fmt, sizeof(fmt)), "1-2"),
	       "format: %s", fmt);

	assert_int_equal(pt_config_parse(text, strlen(text), NULL, &st, &ce), 0);
	assert_int_equal(st.nsteers, 3);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pt_config_dump(f, &st);
	fclose(f);
	EXPECT(!strcmp(buf, text), "dump:\n%s", buf);
	assert_int_equal(pt_config_parse(buf, len, NULL, &again, &ce), 0);
	assert_int_equal(again.nsteers, st.nsteers);
	for (size_t i = 0; i < st.nsteers; i++)
		EXPECT(!memcmp(&st.steers[i], &again.steers[i], sizeof(st.steers[i])),
		       "steer %zu differs after dump and parse", i);
	free(buf);
	pt_state_free(&st);
	pt_state_free(&again);
	DONE();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_edit_accepts, reset),
		cmocka_unit_test_setup(test_edit_rejects, reset),
		cmocka_unit_test_setup(test_file_speaks_the_grammar, reset),
		cmocka_unit_test_setup(test_file_errors, reset),
		cmocka_unit_test_setup(test_steer_grammar, reset),
	};

	/* PORTIER_TEST=pattern runs only the matching tests (cmocka globbing) */
	if (getenv("PORTIER_TEST"))
		cmocka_set_test_filter(getenv("PORTIER_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
