// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: every typed parser of core/parse.h on arbitrary
 * strings. Properties:
 *   - a parser fails with -EINVAL and says why in pt_why (one line), or
 *     succeeds with a value in range;
 *   - what it accepted, formatted, parses back to the same value
 *     (format then parse is the identity on accepted values);
 *   - the grammar of the editing commands (pt_edit_parse) either names the
 *     word at fault with a reason, or gives an edit whose fields are valid;
 *   - pt_parse_uint agrees with strtoull on plain decimal strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "config.h"
#include "parse.h"

static void check_why(int err, const char *what, const char *s)
{
	FZ_CHECK(err == -EINVAL, "%s('%s') returned %d", what, s, err);
	FZ_CHECK(pt_why[0] != 0, "%s('%s') failed without saying why", what, s);
	FZ_CHECK(memchr(pt_why, 0, sizeof(pt_why)) != NULL, "pt_why unterminated");
}

static void fuzz_ports(const char *s)
{
	uint16_t lo = 1, hi = 0, lo2, hi2, p;
	char buf[32];
	int err = pt_parse_ports(s, &lo, &hi);

	if (err) {
		check_why(err, "pt_parse_ports", s);
	} else {
		FZ_CHECK(lo <= hi, "'%s' gave %u-%u", s, lo, hi);
		pt_format_ports(lo, hi, buf, sizeof(buf));
		FZ_CHECK(!pt_parse_ports(buf, &lo2, &hi2) && lo2 == lo && hi2 == hi,
			 "'%s' -> %u-%u -> '%s' does not come back", s, lo, hi, buf);
	}
	pt_why[0] = 0;
	err = pt_parse_port(s, &p);
	if (err) {
		check_why(err, "pt_parse_port", s);
		return;
	}
	snprintf(buf, sizeof(buf), "%u", p);
	FZ_CHECK(!pt_parse_port(buf, &lo2) && lo2 == p, "port '%s' -> %u does not come back", s, p);
	/* a single port is a range of one */
	FZ_CHECK(!pt_parse_ports(s, &lo, &hi) && lo == p && hi == p,
		 "'%s' is port %u but not the range %u-%u", s, p, p, p);
}

static void fuzz_prefix(const char *s)
{
	struct pt_prefix a, b;
	char buf[80];
	int err = pt_parse_prefix(s, &a);

	if (err) {
		check_why(err, "pt_parse_prefix", s);
		return;
	}
	FZ_CHECK(pt_prefix_valid(&a), "'%s' parsed to an invalid prefix", s);
	pt_format_prefix(&a, buf, sizeof(buf));
	FZ_CHECK(!pt_parse_prefix(buf, &b), "'%s' -> '%s' does not parse: %s", s, buf, pt_why);
	FZ_CHECK(fz_prefix_eq(&a, &b), "'%s' -> '%s' parses to another prefix", s, buf);
	/* a prefix contains itself, and matches its own address */
	FZ_CHECK(pt_prefix_contains(&a, &a), "'%s' does not contain itself", s);
	if (a.family != PT_FAMILY_ANY)
		FZ_CHECK(pt_prefix_match(&a, a.family, a.addr), "'%s' does not match its address", s);
}

static void fuzz_addrport(const char *s)
{
	uint8_t fam = 9, fam2 = 9, addr[16], addr2[16];
	uint16_t port = 0, port2 = 0;
	bool has = true, has2 = true;
	char buf[96];
	int err;

	err = pt_parse_addrport(s, &fam, addr, &port, false, NULL);
	if (err) {
		check_why(err, "pt_parse_addrport", s);
	} else {
		FZ_CHECK(fam == PT_INET || fam == PT_INET6, "'%s': family %u", s, fam);
		pt_format_addrport(fam, addr, port, buf, sizeof(buf));
		FZ_CHECK(!pt_parse_addrport(buf, &fam2, addr2, &port2, false, NULL),
			 "'%s' -> '%s' does not parse: %s", s, buf, pt_why);
		FZ_CHECK(fam2 == fam && port2 == port &&
			 !memcmp(addr, addr2, fam == PT_INET ? 4 : 16),
			 "'%s' -> '%s' parses to another address", s, buf);
	}
	pt_why[0] = 0;
	err = pt_parse_addrport(s, &fam, addr, &port, true, &has);
	if (err) {
		check_why(err, "pt_parse_addrport(optional)", s);
		return;
	}
	if (has) {
		pt_format_addrport(fam, addr, port, buf, sizeof(buf));
	} else {
		pt_format_addr(fam, addr, buf, sizeof(buf));
		/* a bare IPv6 address is accepted without brackets */
	}
	FZ_CHECK(!pt_parse_addrport(buf, &fam2, addr2, &port2, true, &has2),
		 "'%s' -> '%s' does not parse: %s", s, buf, pt_why);
	FZ_CHECK(fam2 == fam && has2 == has && (!has || port2 == port) &&
		 !memcmp(addr, addr2, fam == PT_INET ? 4 : 16),
		 "'%s' -> '%s' parses to something else", s, buf);
}

static void fuzz_addr(const char *s)
{
	uint8_t fam, fam2, addr[16], addr2[16];
	char buf[64];
	int err = pt_parse_addr(s, &fam, addr);

	if (err) {
		check_why(err, "pt_parse_addr", s);
		return;
	}
	pt_format_addr(fam, addr, buf, sizeof(buf));
	FZ_CHECK(!pt_parse_addr(buf, &fam2, addr2) && fam2 == fam && !memcmp(addr, addr2, 16),
		 "'%s' -> '%s' does not come back", s, buf);
	if (fam == PT_INET) {
		static const uint8_t zero[12];

		FZ_CHECK(!memcmp(addr + 4, zero, 12), "'%s': IPv4 with bytes past 4", s);
	}
}

static void fuzz_name(const char *s)
{
	int err = pt_parse_name(s);

	if (err)
		check_why(err, "pt_parse_name", s);
	else
		FZ_CHECK(strlen(s) < PT_NAME_LEN, "'%s' accepted, too long", s);
}

/* The input as words split at blanks, behind each editing command. */
static void fuzz_edit(const char *s)
{
	static const char *const cmds[] = { "service", "bind",	   "unbind", "policy",
					    "unpolicy", "watch", "unwatch", "steer", "unsteer" };
	char buf[256], *w[17], *save = NULL;
	struct pt_word_error e;
	struct pt_edit ed;
	size_t nw = 1;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, " ", &save); t && nw < 17; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int err;

		w[0] = (char *)cmds[i];
		err = pt_edit_parse(w, nw, &ed, &e);
		if (err) {
			FZ_CHECK(err == -EINVAL && e.word < nw && e.msg[0], "'%s %s': %d, word %zu",
				 cmds[i], s, err, e.word);
			continue;
		}
		if (ed.name)
			FZ_CHECK(pt_name_valid(ed.name), "'%s %s': bad name accepted", cmds[i], s);
		if (ed.desc)
			FZ_CHECK(pt_desc_valid(ed.desc), "'%s %s': bad desc accepted", cmds[i], s);
		if (ed.verb == PT_VERB_POLICY && ed.policy.action == PT_LIMIT)
			FZ_CHECK(ed.policy.pps >= 1 && ed.policy.pps <= PT_MAX_PPS,
				 "'%s %s': pps %u", cmds[i], s, ed.policy.pps);
		if (ed.verb == PT_VERB_STEER)
			FZ_CHECK(pt_cpus_valid(ed.steer.cpus, ed.steer.ncpus) &&
					 ed.steer.lo <= ed.steer.hi,
				 "'%s %s': a steer rule the model would refuse", cmds[i], s);
	}
}

/* A CPU list: ascending, distinct, in range, and its shortest form parses
 * back to the same list. */
static void fuzz_cpus(const char *s)
{
	uint16_t cpus[PT_MAX_STEER_CPUS], again[PT_MAX_STEER_CPUS], n = 0, n2 = 0;
	char buf[PT_MAX_STEER_CPUS * 6];
	int err = pt_parse_cpus(s, cpus, &n);

	if (err) {
		check_why(err, "pt_parse_cpus", s);
		return;
	}
	FZ_CHECK(pt_cpus_valid(cpus, n), "'%s' gave an invalid list of %u", s, n);
	pt_format_cpus(cpus, n, buf, sizeof(buf));
	FZ_CHECK(!pt_parse_cpus(buf, again, &n2) && n2 == n && !memcmp(cpus, again, n * 2),
		 "'%s' -> '%s' does not come back", s, buf);
}

static void fuzz_small(const char *s)
{
	uint32_t action;
	uint8_t proto;
	int err;

	err = pt_parse_action(s, &action);
	if (err)
		check_why(err, "pt_parse_action", s);
	else
		FZ_CHECK(action <= PT_LIMIT && !strcmp(pt_action_name(action), s),
			 "'%s' -> action %u", s, action);
	err = pt_parse_proto(s, &proto);
	if (err)
		check_why(err, "pt_parse_proto", s);
	else
		FZ_CHECK(proto < PT_NPROTO && !strcmp(pt_proto_name(proto), s), "'%s' -> proto %u", s,
			 proto);
}

static void fuzz_uint(const char *s, uint64_t max)
{
	uint64_t v = 0, v2;
	char buf[32], *end;
	int err = pt_parse_uint(s, max, &v);
	bool digits = *s != 0;

	for (const char *p = s; *p; p++)
		digits &= *p >= '0' && *p <= '9';
	if (err) {
		check_why(err, "pt_parse_uint", s);
		if (digits && strlen(s) < 20) {
			/* all digits, fits in 64 bits: only the maximum can refuse it */
			errno = 0;
			v2 = strtoull(s, &end, 10);
			FZ_CHECK(v2 > max, "'%s' (= %llu) refused under max %llu", s,
				 (unsigned long long)v2, (unsigned long long)max);
		}
		return;
	}
	FZ_CHECK(digits, "'%s' accepted as a number", s);
	FZ_CHECK(v <= max, "'%s' -> %llu over %llu", s, (unsigned long long)v,
		 (unsigned long long)max);
	errno = 0;
	v2 = strtoull(s, &end, 10);
	FZ_CHECK(!errno && !*end && v2 == v, "'%s': %llu, strtoull says %llu", s,
		 (unsigned long long)v, (unsigned long long)v2);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	FZ_CHECK(!pt_parse_uint(buf, max, &v2) && v2 == v, "%s does not come back", buf);
}

static void fuzz_human(uint64_t v)
{
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	pt_format_human(v, buf, sizeof(buf));
	FZ_CHECK(memchr(buf, 0, sizeof(buf)) && buf[0], "pt_format_human(%llu) empty or unterminated",
		 (unsigned long long)v);
	FZ_CHECK(strlen(buf) <= 5, "pt_format_human(%llu) = '%s': wider than a column",
		 (unsigned long long)v, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint64_t max = 0, v = 0;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;	/* an embedded NUL just ends the string early, as argv would */
	for (size_t i = 0; i < size && i < 8; i++) {
		max = max << 8 | data[i];
		v = v << 8 | data[size - 1 - i];
	}
	pt_why[0] = 0;
	fuzz_ports(s);
	pt_why[0] = 0;
	fuzz_prefix(s);
	pt_why[0] = 0;
	fuzz_addrport(s);
	pt_why[0] = 0;
	fuzz_addr(s);
	pt_why[0] = 0;
	fuzz_name(s);
	fuzz_edit(s);
	pt_why[0] = 0;
	fuzz_cpus(s);
	pt_why[0] = 0;
	fuzz_small(s);
	pt_why[0] = 0;
	fuzz_uint(s, 65535);
	pt_why[0] = 0;
	fuzz_uint(s, UINT64_MAX);
	pt_why[0] = 0;
	fuzz_uint(s, max);
	fuzz_human(v);
	fuzz_human(size);
	free(s);
	return 0;
}
