// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the typed parsers and formatters in core/parse.c.
 * Table-driven: each row is {input, expected result, expected outputs,
 * expected pt_why (exact when given)}. Every failing row is reported,
 * then the test fails once at its end.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "unit.h"
#include "parse.h"

/* Clear pt_why so a failure is known to have set it itself. */
static void clear_why(void)
{
	memset(pt_why, 0, sizeof(pt_why));
}

/* After a failure: pt_why is a non-empty, terminated message; when want
 * is given, exactly that text. (Newlines are folded by the error path.) */
static void check_why(const char *fn, const char *in, const char *want)
{
	EXPECT(pt_why[0] != 0, "%s(\"%s\"): failed but pt_why is empty", fn, in ? in : "NULL");
	EXPECT(memchr(pt_why, 0, sizeof(pt_why)) != NULL, "%s: pt_why not terminated", fn);
	if (want)
		EXPECT(!strcmp(pt_why, want), "%s(\"%s\"): pt_why \"%s\", want \"%s\"", fn,
		       in ? in : "NULL", pt_why, want);
}

/* Parse an expected address with the C library, not with the code under test. */
static void addr_of(uint8_t family, const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (s)
		assert_int_equal(inet_pton(family == PT_INET6 ? AF_INET6 : AF_INET, s, addr), 1);
}

/* ---- pt_parse_uint ---- */

struct uint_case {
	const char *in;
	uint64_t max;
	int rc;
	uint64_t val;
	const char *why;
};

static const struct uint_case uint_cases[] = {
	{ "0", 0, 0, 0, NULL },
	{ "1", 0, -EINVAL, 0, "1 is out of range 0-0" },
	{ "1", 1, 0, 1, NULL },
	{ "65535", 65535, 0, 65535, NULL },
	{ "65536", 65535, -EINVAL, 0, "65536 is out of range 0-65535" },
	{ "4294967295", UINT32_MAX, 0, UINT32_MAX, NULL },
	{ "4294967296", UINT32_MAX, -EINVAL, 0, NULL },
	{ "18446744073709551609", UINT64_MAX, 0, 18446744073709551609ULL, NULL },
	{ "18446744073709551616", UINT64_MAX, -EINVAL, 0, NULL },
	{ "99999999999999999999999999", UINT64_MAX, -EINVAL, 0, NULL },
	{ "00000000000000000000000000000000000000000042", 100, 0, 42, NULL },
	{ "", 100, -EINVAL, 0, "empty number" },
	{ NULL, 100, -EINVAL, 0, "empty number" },
	{ "-0", 100, -EINVAL, 0, "'-0' is not a decimal number" },
	{ "+1", 100, -EINVAL, 0, NULL },
	{ " 1", 100, -EINVAL, 0, NULL },
	{ "1 ", 100, -EINVAL, 0, NULL },
	{ "1e3", 10000, -EINVAL, 0, NULL },
	{ "0x10", 100, -EINVAL, 0, NULL },
	{ "1.5", 100, -EINVAL, 0, NULL },
};

static void run_uint_cases(const struct uint_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++, c++) {
		uint64_t v = 0xdeadbeef;
		int rc;

		clear_why();
		rc = pt_parse_uint(c->in, c->max, &v);
		EXPECT(rc == c->rc, "pt_parse_uint(\"%s\", %llu) = %d, want %d (why: %s)",
		       c->in ? c->in : "NULL", (unsigned long long)c->max, rc, c->rc, pt_why);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_uint", c->in, c->why);
			EXPECT(v == 0xdeadbeef, "pt_parse_uint(\"%s\") wrote output on failure",
			       c->in ? c->in : "NULL");
			continue;
		}
		if (rc)
			continue;
		EXPECT(v == c->val, "pt_parse_uint(\"%s\") = %llu, want %llu", c->in,
		       (unsigned long long)v, (unsigned long long)c->val);
	}
}

static void test_parse_uint(void **state)
{
	run_uint_cases(uint_cases, N(uint_cases));
	DONE();
}

/* The whole range 0..UINT64_MAX must parse when max is UINT64_MAX. */
static const struct uint_case uint_top_cases[] = {
	{ "18446744073709551610", UINT64_MAX, 0, 18446744073709551610ULL, NULL },
	{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX, NULL },
	{ "018446744073709551615", UINT64_MAX, 0, UINT64_MAX, NULL },
};

static void test_parse_uint_u64_top(void **state)
{
	run_uint_cases(uint_top_cases, N(uint_top_cases));
	DONE();
}

/* ---- pt_parse_port ---- */

struct port_case {
	const char *in;
	int rc;
	uint16_t port;
	const char *why;
};

static const struct port_case port_cases[] = {
	{ "0", 0, 0, NULL },
	{ "1", 0, 1, NULL },
	{ "80", 0, 80, NULL },
	{ "1023", 0, 1023, NULL },
	{ "49152", 0, 49152, NULL },
	{ "65535", 0, 65535, NULL },
	/* leading zeros are plain decimal, never octal */
	{ "080", 0, 80, NULL },
	{ "0000000000000000000000000000000000000000000000000000000000080", 0, 80, NULL },
	{ "65536", -EINVAL, 0, "port '65536' is not a number from 0 to 65535" },
	{ "65616", -EINVAL, 0, NULL },			/* 65536 + 80: no u16 wrap */
	{ "4294967376", -EINVAL, 0, NULL },		/* 2^32 + 80 */
	{ "18446744073709551696", -EINVAL, 0, NULL },	/* 2^64 + 80 */
	{ "99999999999999999999999999999999999999999999", -EINVAL, 0, NULL },
	{ "-1", -EINVAL, 0, "port '-1' is not a number from 0 to 65535" },
	{ "", -EINVAL, 0, "empty port" },
	{ NULL, -EINVAL, 0, "empty port" },
	{ "8a", -EINVAL, 0, "port '8a' is not a number from 0 to 65535" },
	{ "a8", -EINVAL, 0, NULL },
	{ " 80", -EINVAL, 0, NULL },
	{ "80 ", -EINVAL, 0, NULL },
	{ "8 0", -EINVAL, 0, NULL },
	{ "+80", -EINVAL, 0, NULL },
	{ "0x50", -EINVAL, 0, NULL },
	{ "80.0", -EINVAL, 0, NULL },
	{ "http", -EINVAL, 0, NULL },
	{ "\xef\xbc\x98\xef\xbc\x90", -EINVAL, 0, NULL },	/* fullwidth "80" */
};

static void test_parse_port(void **state)
{
	const struct port_case *c = port_cases;

	for (size_t i = 0; i < N(port_cases); i++, c++) {
		uint16_t port = 4242;
		int rc;

		clear_why();
		rc = pt_parse_port(c->in, &port);
		EXPECT(rc == c->rc, "pt_parse_port(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_port", c->in, c->why);
			EXPECT(port == 4242, "pt_parse_port(\"%s\") wrote output on failure",
			       c->in ? c->in : "NULL");
			continue;
		}
		EXPECT(port == c->port, "pt_parse_port(\"%s\") = %u, want %u", c->in, port, c->port);
	}
	DONE();
}

/* ---- pt_parse_ports ---- */

struct ports_case {
	const char *in;
	int rc;
	uint16_t lo, hi;
	const char *why;
};

static const struct ports_case ports_cases[] = {
	{ "80", 0, 80, 80, NULL },
	{ "0", 0, 0, 0, NULL },
	{ "65535", 0, 65535, 65535, NULL },
	{ "0-65535", 0, 0, 65535, NULL },
	{ "1-2", 0, 1, 2, NULL },
	{ "80-80", 0, 80, 80, NULL },
	{ "1024-49151", 0, 1024, 49151, NULL },
	{ "00080-00090", 0, 80, 90, NULL },
	{ "100-80", -EINVAL, 0, 0, "range 100-80 has LO > HI" },
	{ "65535-0", -EINVAL, 0, 0, "range 65535-0 has LO > HI" },
	{ "80-", -EINVAL, 0, 0, "'80-' is not N or LO-HI" },
	{ "-80", -EINVAL, 0, 0, "'-80' is not N or LO-HI" },
	{ "-", -EINVAL, 0, 0, NULL },
	{ "1-2-3", -EINVAL, 0, 0, "'1-2-3' is not N or LO-HI with ports from 0 to 65535" },
	{ "1--2", -EINVAL, 0, 0, NULL },
	{ "0-65536", -EINVAL, 0, 0, NULL },
	{ "65536", -EINVAL, 0, 0, "port '65536' is not a number from 0 to 65535" },
	{ "65536-65537", -EINVAL, 0, 0, NULL },
	{ "a-b", -EINVAL, 0, 0, NULL },
	{ " 1-2", -EINVAL, 0, 0, NULL },
	{ "1 -2", -EINVAL, 0, 0, NULL },
	{ "1- 2", -EINVAL, 0, 0, NULL },
	{ "1-2 ", -EINVAL, 0, 0, NULL },
	{ "1:2", -EINVAL, 0, 0, NULL },
	{ "1,2", -EINVAL, 0, 0, NULL },
	{ "99999999999999999999999999-1", -EINVAL, 0, 0, NULL },
	{ "1-99999999999999999999999999", -EINVAL, 0, 0, NULL },
	{ "", -EINVAL, 0, 0, "empty port range" },
	{ NULL, -EINVAL, 0, 0, "empty port range" },
};

static void test_parse_ports(void **state)
{
	const struct ports_case *c = ports_cases;

	for (size_t i = 0; i < N(ports_cases); i++, c++) {
		uint16_t lo = 4242, hi = 4343;
		int rc;

		clear_why();
		rc = pt_parse_ports(c->in, &lo, &hi);
		EXPECT(rc == c->rc, "pt_parse_ports(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_ports", c->in, c->why);
			EXPECT(lo == 4242 && hi == 4343, "pt_parse_ports(\"%s\") wrote output on failure",
			       c->in ? c->in : "NULL");
			continue;
		}
		EXPECT(lo == c->lo && hi == c->hi, "pt_parse_ports(\"%s\") = %u-%u, want %u-%u",
		       c->in, lo, hi, c->lo, c->hi);
	}
	DONE();
}

/* ---- pt_parse_proto, pt_parse_action, names ---- */

struct enum_case {
	const char *in;
	int rc;
	uint32_t val;
	const char *why;
};

static const struct enum_case proto_cases[] = {
	{ "tcp", 0, PT_TCP, NULL },
	{ "udp", 0, PT_UDP, NULL },
	{ "TCP", -EINVAL, 0, "'TCP' is not a protocol (tcp or udp)" },
	{ "Udp", -EINVAL, 0, NULL },
	{ "sctp", -EINVAL, 0, "'sctp' is not a protocol (tcp or udp)" },
	{ "icmp", -EINVAL, 0, NULL },
	{ "6", -EINVAL, 0, NULL },
	{ "17", -EINVAL, 0, NULL },
	{ "tcp ", -EINVAL, 0, NULL },
	{ " tcp", -EINVAL, 0, NULL },
	{ "tc", -EINVAL, 0, NULL },
	{ "tcpx", -EINVAL, 0, NULL },
	{ "", -EINVAL, 0, "'' is not a protocol (tcp or udp)" },
	{ NULL, -EINVAL, 0, NULL },
};

static void test_parse_proto(void **state)
{
	const struct enum_case *c = proto_cases;

	for (size_t i = 0; i < N(proto_cases); i++, c++) {
		uint8_t proto = 77;
		int rc;

		clear_why();
		rc = pt_parse_proto(c->in, &proto);
		EXPECT(rc == c->rc, "pt_parse_proto(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_proto", c->in, c->why);
			EXPECT(proto == 77, "pt_parse_proto wrote output on failure");
			continue;
		}
		EXPECT(proto == c->val, "pt_parse_proto(\"%s\") = %u, want %u", c->in, proto, c->val);
	}
	DONE();
}

static const struct enum_case action_cases[] = {
	{ "allow", 0, PT_ALLOW, NULL },
	{ "drop", 0, PT_DROP, NULL },
	{ "drop-new", 0, PT_DROP_NEW, NULL },
	{ "limit", 0, PT_LIMIT, NULL },
	{ "Drop", -EINVAL, 0, "'Drop' is not an action (allow, drop, drop-new, limit PPS)" },
	{ "deny", -EINVAL, 0, NULL },
	{ "accept", -EINVAL, 0, NULL },
	{ "drop_new", -EINVAL, 0, NULL },
	{ "dropnew", -EINVAL, 0, NULL },
	{ "limit 10", -EINVAL, 0, NULL },
	{ "limit10", -EINVAL, 0, NULL },
	{ "0", -EINVAL, 0, NULL },
	{ "?", -EINVAL, 0, NULL },
	{ "", -EINVAL, 0, NULL },
	{ NULL, -EINVAL, 0, NULL },
};

static void test_parse_action(void **state)
{
	const struct enum_case *c = action_cases;

	for (size_t i = 0; i < N(action_cases); i++, c++) {
		uint32_t action = 77;
		int rc;

		clear_why();
		rc = pt_parse_action(c->in, &action);
		EXPECT(rc == c->rc, "pt_parse_action(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_action", c->in, c->why);
			EXPECT(action == 77, "pt_parse_action wrote output on failure");
			continue;
		}
		EXPECT(action == c->val, "pt_parse_action(\"%s\") = %u, want %u", c->in, action,
		       c->val);
		/* and the name prints back as the input */
		EXPECT(!strcmp(pt_action_name(action), c->in), "pt_action_name(%u) = %s", action,
		       pt_action_name(action));
	}
	DONE();
}

static void test_names(void **state)
{
	EXPECT(!strcmp(pt_proto_name(PT_TCP), "tcp"), "tcp name");
	EXPECT(!strcmp(pt_proto_name(PT_UDP), "udp"), "udp name");
	EXPECT(!strcmp(pt_proto_name(2), "?"), "bad proto name");
	EXPECT(!strcmp(pt_proto_name(255), "?"), "bad proto name");
	EXPECT(!strcmp(pt_action_name(PT_ALLOW), "allow"), "allow");
	EXPECT(!strcmp(pt_action_name(PT_DROP), "drop"), "drop");
	EXPECT(!strcmp(pt_action_name(PT_DROP_NEW), "drop-new"), "drop-new");
	EXPECT(!strcmp(pt_action_name(PT_LIMIT), "limit"), "limit");
	EXPECT(!strcmp(pt_action_name(4), "?"), "bad action");
	EXPECT(!strcmp(pt_action_name(UINT32_MAX), "?"), "bad action");
	EXPECT(!strcmp(pt_class_name(PT_CLASS_WELL_KNOWN), "well-known"), "well-known");
	EXPECT(!strcmp(pt_class_name(PT_CLASS_REGISTERED), "registered"), "registered");
	EXPECT(!strcmp(pt_class_name(PT_CLASS_EPHEMERAL), "ephemeral"), "ephemeral");
	EXPECT(!strcmp(pt_class_name(PT_NCLASS), "?"), "bad class");
	/* every protocol and action name parses back to itself */
	for (uint8_t p = 0; p < PT_NPROTO; p++) {
		uint8_t q = 99;

		EXPECT(!pt_parse_proto(pt_proto_name(p), &q) && q == p, "proto %u round trip", p);
	}
	DONE();
}

/* ---- pt_parse_name ---- */

struct name_case {
	const char *in;
	int rc;
	const char *why;
};

#define A31 "abcdefghijklmnopqrstuvwxyz01234"
static const struct name_case name_cases[] = {
	{ "a", 0, NULL },
	{ "0", 0, NULL },
	{ "_", 0, NULL },
	{ A31, 0, NULL },
	{ "web-1.prod_2", 0, NULL },
	{ "irene", 0, NULL },
	{ "abcdefghijklmnopqrstuvwxyz0123456789_.-", -EINVAL, NULL },	/* 39 chars */
	{ A31 "5", -EINVAL, "service names are 1-31 characters of [a-z0-9_.-]" },
	{ "", -EINVAL, "service names are 1-31 characters of [a-z0-9_.-]" },
	{ NULL, -EINVAL, "service names are 1-31 characters of [a-z0-9_.-]" },
	{ "Web", -EINVAL, "'Web' has 'W': service names are [a-z0-9_.-]" },
	{ "webA", -EINVAL, NULL },
	{ "a b", -EINVAL, "'a b' has ' ': service names are [a-z0-9_.-]" },
	{ " a", -EINVAL, NULL },
	{ "a ", -EINVAL, NULL },
	{ "a/b", -EINVAL, "'a/b' has '/': service names are [a-z0-9_.-]" },
	{ "a:b", -EINVAL, NULL },
	{ "a\tb", -EINVAL, NULL },
	{ "a\nb", -EINVAL, NULL },
	{ "a*", -EINVAL, NULL },
	{ "caf\xc3\xa9", -EINVAL, NULL },
};

static void test_parse_name(void **state)
{
	const struct name_case *c = name_cases;
	char name[PT_NAME_LEN + 8];

	for (size_t i = 0; i < N(name_cases); i++, c++) {
		int rc;

		clear_why();
		rc = pt_parse_name(c->in);
		EXPECT(rc == c->rc, "pt_parse_name(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc && rc)
			check_why("pt_parse_name", c->in, c->why);
	}
	/* every allowed character, alone and in a 31-char name */
	for (int ch = 1; ch < 256; ch++) {
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
			  ch == '.' || ch == '-';

		name[0] = (char)ch;
		name[1] = 0;
		EXPECT((pt_parse_name(name) == 0) == ok, "pt_parse_name of char %d", ch);
		memset(name, 'x', 31);
		name[15] = (char)ch;
		name[31] = 0;
		EXPECT((pt_parse_name(name) == 0) == ok, "pt_parse_name of 31 chars with %d", ch);
	}
	/* lengths 1..31 pass, 32..39 fail */
	for (size_t n = 0; n < sizeof(name) - 1; n++) {
		memset(name, 'a', n);
		name[n] = 0;
		EXPECT((pt_parse_name(name) == 0) == (n >= 1 && n <= 31),
		       "pt_parse_name of %zu chars", n);
	}
	DONE();
}

/* ---- pt_parse_addr ---- */

struct addr_case {
	const char *in;
	int rc;
	uint8_t family;
	const char *addr;	/* expected, parsed by inet_pton */
	const char *why;
};

static const struct addr_case addr_cases[] = {
	{ "198.18.0.2", 0, PT_INET, "198.18.0.2", NULL },
	{ "0.0.0.0", 0, PT_INET, "0.0.0.0", NULL },
	{ "255.255.255.255", 0, PT_INET, "255.255.255.255", NULL },
	{ "127.0.0.1", 0, PT_INET, "127.0.0.1", NULL },
	{ "2001:db8::1", 0, PT_INET6, "2001:db8::1", NULL },
	{ "::", 0, PT_INET6, "::", NULL },
	{ "::1", 0, PT_INET6, "::1", NULL },
	{ "2001:DB8::A", 0, PT_INET6, "2001:db8::a", NULL },
	{ "::ffff:198.18.0.2", 0, PT_INET6, "::ffff:198.18.0.2", NULL },
	{ "2001:db8:0:0:0:0:0:1", 0, PT_INET6, "2001:db8::1", NULL },
	{ "198.18.0.2/32", -EINVAL, 0, NULL, "'198.18.0.2/32' is not an IPv4 address" },
	{ "2001:db8::1/128", -EINVAL, 0, NULL, "'2001:db8::1/128' is not an IPv6 address" },
	{ "198.18.0", -EINVAL, 0, NULL, NULL },
	{ "198.18.0.256", -EINVAL, 0, NULL, NULL },
	{ "198.18.0.2.1", -EINVAL, 0, NULL, NULL },
	{ " 198.18.0.2", -EINVAL, 0, NULL, NULL },
	{ "198.18.0.2 ", -EINVAL, 0, NULL, NULL },
	{ "2001:db8:::1", -EINVAL, 0, NULL, NULL },
	{ "2001:db8::g", -EINVAL, 0, NULL, NULL },
	{ "[::1]", -EINVAL, 0, NULL, NULL },
	{ "any", -EINVAL, 0, NULL, NULL },
	{ "localhost", -EINVAL, 0, NULL, NULL },
	{ "", -EINVAL, 0, NULL, "empty address" },
	{ NULL, -EINVAL, 0, NULL, "empty address" },
};

static void test_parse_addr(void **state)
{
	const struct addr_case *c = addr_cases;

	for (size_t i = 0; i < N(addr_cases); i++, c++) {
		uint8_t family = 99, addr[16], want[16];
		int rc;

		memset(addr, 0xaa, sizeof(addr));
		clear_why();
		rc = pt_parse_addr(c->in, &family, addr);
		EXPECT(rc == c->rc, "pt_parse_addr(\"%s\") = %d, want %d", c->in ? c->in : "NULL",
		       rc, c->rc);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_addr", c->in, c->why);
			continue;
		}
		addr_of(c->family, c->addr, want);
		EXPECT(family == c->family, "pt_parse_addr(\"%s\") family %u, want %u", c->in, family,
		       c->family);
		/* IPv4 in addr[0..3], the rest zero */
		EXPECT(!memcmp(addr, want, 16), "pt_parse_addr(\"%s\") address bytes", c->in);
	}
	DONE();
}

/* ---- pt_parse_prefix ---- */

struct prefix_case {
	const char *in;
	int rc;
	uint8_t family;
	uint8_t plen;
	const char *addr;
	const char *why;
};

static const struct prefix_case prefix_cases[] = {
	{ "198.18.0.0/15", 0, PT_INET, 15, "198.18.0.0", NULL },
	{ "198.18.0.0/16", 0, PT_INET, 16, "198.18.0.0", NULL },
	{ "198.18.0.2/32", 0, PT_INET, 32, "198.18.0.2", NULL },
	{ "198.18.0.2", 0, PT_INET, 32, "198.18.0.2", NULL },
	{ "10.0.0.0/8", 0, PT_INET, 8, "10.0.0.0", NULL },
	{ "128.0.0.0/1", 0, PT_INET, 1, "128.0.0.0", NULL },
	{ "0.0.0.0/0", 0, PT_INET, 0, "0.0.0.0", NULL },
	{ "0.0.0.0", 0, PT_INET, 32, "0.0.0.0", NULL },
	{ "255.255.255.255/32", 0, PT_INET, 32, "255.255.255.255", NULL },
	{ "2001:db8::/32", 0, PT_INET6, 32, "2001:db8::", NULL },
	{ "2001:db8::/64", 0, PT_INET6, 64, "2001:db8::", NULL },
	{ "2001:db8::1", 0, PT_INET6, 128, "2001:db8::1", NULL },
	{ "2001:db8::1/128", 0, PT_INET6, 128, "2001:db8::1", NULL },
	{ "2001:db8::/127", 0, PT_INET6, 127, "2001:db8::", NULL },
	{ "8000::/1", 0, PT_INET6, 1, "8000::", NULL },
	{ "::/0", 0, PT_INET6, 0, "::", NULL },
	{ "::", 0, PT_INET6, 128, "::", NULL },
	{ "::ffff:198.18.0.0/112", 0, PT_INET6, 112, "::ffff:198.18.0.0", NULL },
	{ "any", 0, PT_FAMILY_ANY, 0, NULL, NULL },
	{ "198.18.0.0/33", -EINVAL, 0, 0, NULL,
	  "prefix length in '198.18.0.0/33' is not a number from 0 to 32" },
	{ "198.18.0.0/128", -EINVAL, 0, 0, NULL, NULL },
	{ "2001:db8::/129", -EINVAL, 0, 0, NULL,
	  "prefix length in '2001:db8::/129' is not a number from 0 to 128" },
	{ "2001:db8::/256", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.1/24", -EINVAL, 0, 0, NULL,
	  "'198.18.0.1/24' has host bits set (did you mean 198.18.0.0/24?)" },
	{ "198.19.0.0/15", -EINVAL, 0, 0, NULL,
	  "'198.19.0.0/15' has host bits set (did you mean 198.18.0.0/15?)" },
	{ "0.0.0.1/0", -EINVAL, 0, 0, NULL,
	  "'0.0.0.1/0' has host bits set (did you mean 0.0.0.0/0?)" },
	{ "198.18.0.3/31", -EINVAL, 0, 0, NULL,
	  "'198.18.0.3/31' has host bits set (did you mean 198.18.0.2/31?)" },
	{ "2001:db8::1/64", -EINVAL, 0, 0, NULL,
	  "'2001:db8::1/64' has host bits set (did you mean 2001:db8::/64?)" },
	{ "2001:db8::1/127", -EINVAL, 0, 0, NULL,
	  "'2001:db8::1/127' has host bits set (did you mean 2001:db8::/127?)" },
	{ "2001:db8:ffff::/31", -EINVAL, 0, 0, NULL,
	  "'2001:db8:ffff::/31' has host bits set (did you mean 2001:db8::/31?)" },
	{ "garbage", -EINVAL, 0, 0, NULL,
	  "'garbage' is not an IPv4 or IPv6 prefix (ADDR/LEN or any)" },
	{ "198.18.0/24", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/-1", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/+8", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/8x", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/ 8", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0 /8", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/24/8", -EINVAL, 0, 0, NULL, NULL },
	{ "198.18.0.0/255.255.0.0", -EINVAL, 0, 0, NULL, NULL },
	{ "256.0.0.0/8", -EINVAL, 0, 0, NULL, NULL },
	{ "/24", -EINVAL, 0, 0, NULL, NULL },
	{ "/", -EINVAL, 0, 0, NULL, NULL },
	{ "ANY", -EINVAL, 0, 0, NULL, NULL },
	{ "any/0", -EINVAL, 0, 0, NULL, NULL },
	{ " any", -EINVAL, 0, 0, NULL, NULL },
	{ "[2001:db8::]/32", -EINVAL, 0, 0, NULL, NULL },
	{ "2001:db8::/", -EINVAL, 0, 0, NULL, NULL },
	{ "2001:db8:::/32", -EINVAL, 0, 0, NULL, NULL },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/128", -EINVAL, 0, 0, NULL, NULL },
	{ "", -EINVAL, 0, 0, NULL, "empty prefix" },
	{ NULL, -EINVAL, 0, 0, NULL, "empty prefix" },
};

static void test_parse_prefix(void **state)
{
	const struct prefix_case *c = prefix_cases;
	char longstr[400];

	for (size_t i = 0; i < N(prefix_cases); i++, c++) {
		struct pt_prefix p;
		uint8_t want[16];
		int rc;

		memset(&p, 0xaa, sizeof(p));
		clear_why();
		rc = pt_parse_prefix(c->in, &p);
		EXPECT(rc == c->rc, "pt_parse_prefix(\"%s\") = %d, want %d (why: %s)",
		       c->in ? c->in : "NULL", rc, c->rc, pt_why);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_prefix", c->in, c->why);
			continue;
		}
		addr_of(c->family, c->addr, want);
		EXPECT(p.family == c->family && p.plen == c->plen,
		       "pt_parse_prefix(\"%s\") = family %u /%u, want family %u /%u", c->in,
		       p.family, p.plen, c->family, c->plen);
		EXPECT(!memcmp(p.addr, want, 16), "pt_parse_prefix(\"%s\") address bytes", c->in);
	}
	/* an over-long string fails cleanly */
	memset(longstr, '1', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = 0;
	{
		struct pt_prefix p;

		clear_why();
		EXPECT(pt_parse_prefix(longstr, &p) == -EINVAL, "long prefix string");
		check_why("pt_parse_prefix", "(400 x '1')", NULL);
	}
	DONE();
}

/* ---- pt_parse_addrport ---- */

struct addrport_case {
	const char *in;
	bool optional;
	int rc;
	uint8_t family;
	const char *addr;
	uint16_t port;
	bool has_port;
	const char *why;
};

static const struct addrport_case addrport_cases[] = {
	{ "198.18.0.2:80", false, 0, PT_INET, "198.18.0.2", 80, true, NULL },
	{ "198.18.0.2:80", true, 0, PT_INET, "198.18.0.2", 80, true, NULL },
	{ "0.0.0.0:0", false, 0, PT_INET, "0.0.0.0", 0, true, NULL },
	{ "127.0.0.1:65535", false, 0, PT_INET, "127.0.0.1", 65535, true, NULL },
	{ "[2001:db8::1]:53", false, 0, PT_INET6, "2001:db8::1", 53, true, NULL },
	{ "[2001:db8::1]:53", true, 0, PT_INET6, "2001:db8::1", 53, true, NULL },
	{ "[::]:0", false, 0, PT_INET6, "::", 0, true, NULL },
	{ "[::1]:65535", false, 0, PT_INET6, "::1", 65535, true, NULL },
	{ "[::ffff:198.18.0.2]:80", false, 0, PT_INET6, "::ffff:198.18.0.2", 80, true, NULL },
	/* bare addresses: fine when the port is optional */
	{ "2001:db8::1", true, 0, PT_INET6, "2001:db8::1", 0, false, NULL },
	{ "::1", true, 0, PT_INET6, "::1", 0, false, NULL },
	{ "::", true, 0, PT_INET6, "::", 0, false, NULL },
	{ "198.18.0.2", true, 0, PT_INET, "198.18.0.2", 0, false, NULL },
	{ "[2001:db8::1]", true, 0, PT_INET6, "2001:db8::1", 0, false, NULL },
	/* ... and refused when it is required */
	{ "2001:db8::1", false, -EINVAL, 0, NULL, 0, false,
	  "'2001:db8::1' has no port (ADDR:PORT, or [IPV6]:PORT)" },
	{ "198.18.0.2", false, -EINVAL, 0, NULL, 0, false,
	  "'198.18.0.2' has no port (ADDR:PORT, or [IPV6]:PORT)" },
	{ "[2001:db8::1]", false, -EINVAL, 0, NULL, 0, false, NULL },
	/* bad ports */
	{ "198.18.0.2:65536", false, -EINVAL, 0, NULL, 0, false,
	  "port '65536' is not a number from 0 to 65535" },
	{ "198.18.0.2:65536", true, -EINVAL, 0, NULL, 0, false, NULL },
	{ "198.18.0.2:-1", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "198.18.0.2:http", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "198.18.0.2:", false, -EINVAL, 0, NULL, 0, false, "empty port" },
	{ "198.18.0.2:", true, -EINVAL, 0, NULL, 0, false, NULL },
	{ "198.18.0.2:80:81", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "[2001:db8::1]:", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "[2001:db8::1]:65536", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "[2001:db8::1]53", false, -EINVAL, 0, NULL, 0, false,
	  "'[2001:db8::1]53' is not [IPV6]:PORT" },
	{ "[2001:db8::1", false, -EINVAL, 0, NULL, 0, false, "'[2001:db8::1' is not [IPV6]:PORT" },
	{ "2001:db8::1]:53", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "[2001:db8::g]:53", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "[]:53", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "198.18.0.256:80", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ "localhost:80", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ ":80", false, -EINVAL, 0, NULL, 0, false, NULL },
	{ ":80", true, -EINVAL, 0, NULL, 0, false, NULL },
	{ "", true, -EINVAL, 0, NULL, 0, false, NULL },
	{ NULL, true, -EINVAL, 0, NULL, 0, false, NULL },
};

static void test_parse_addrport(void **state)
{
	const struct addrport_case *c = addrport_cases;

	for (size_t i = 0; i < N(addrport_cases); i++, c++) {
		uint8_t family = 99, addr[16], want[16];
		uint16_t port = 4242;
		bool has_port = !c->has_port;
		int rc;

		clear_why();
		rc = pt_parse_addrport(c->in, &family, addr, &port, c->optional, &has_port);
		EXPECT(rc == c->rc, "pt_parse_addrport(\"%s\", optional=%d) = %d, want %d (why: %s)",
		       c->in ? c->in : "NULL", c->optional, rc, c->rc, pt_why);
		if (c->rc) {
			if (rc)
				check_why("pt_parse_addrport", c->in, c->why);
			continue;
		}
		addr_of(c->family, c->addr, want);
		EXPECT(family == c->family, "pt_parse_addrport(\"%s\") family %u, want %u", c->in,
		       family, c->family);
		EXPECT(!memcmp(addr, want, 16), "pt_parse_addrport(\"%s\") address bytes", c->in);
		EXPECT(has_port == c->has_port, "pt_parse_addrport(\"%s\") has_port %d, want %d",
		       c->in, has_port, c->has_port);
		if (c->has_port)
			EXPECT(port == c->port, "pt_parse_addrport(\"%s\") port %u, want %u", c->in, port,
			       c->port);
		/* has_port may be NULL */
		EXPECT(pt_parse_addrport(c->in, &family, addr, &port, c->optional, NULL) == 0,
		       "pt_parse_addrport(\"%s\") with has_port NULL", c->in);
	}
	DONE();
}

/* ---- formatters ---- */

static void test_format_ports(void **state)
{
	static const struct {
		uint16_t lo, hi;
		const char *want;
	} cases[] = {
		{ 80, 80, "80" },
		{ 0, 0, "0" },
		{ 65535, 65535, "65535" },
		{ 0, 65535, "0-65535" },
		{ 1, 2, "1-2" },
		{ 1024, 49151, "1024-49151" },
	};
	char buf[32];

	for (size_t i = 0; i < N(cases); i++) {
		uint16_t lo, hi;

		memset(buf, 'x', sizeof(buf));
		EXPECT(pt_format_ports(cases[i].lo, cases[i].hi, buf, sizeof(buf)) == buf,
		       "returns buf");
		EXPECT(!strcmp(buf, cases[i].want), "pt_format_ports(%u, %u) = \"%s\", want \"%s\"",
		       cases[i].lo, cases[i].hi, buf, cases[i].want);
		/* and it parses back */
		EXPECT(!pt_parse_ports(buf, &lo, &hi) && lo == cases[i].lo && hi == cases[i].hi,
		       "pt_format_ports(%u, %u) does not parse back", cases[i].lo, cases[i].hi);
	}
	/* a short buffer truncates, always terminated */
	memset(buf, 'x', sizeof(buf));
	pt_format_ports(0, 65535, buf, 4);
	EXPECT(!strcmp(buf, "0-6"), "truncated to \"%s\"", buf);
	DONE();
}

static void test_format_addr(void **state)
{
	static const struct {
		uint8_t family;
		const char *addr;
		uint16_t port;
		const char *want_addr, *want_addrport;
	} cases[] = {
		{ PT_INET, "198.18.0.2", 80, "198.18.0.2", "198.18.0.2:80" },
		{ PT_INET, "0.0.0.0", 0, "0.0.0.0", "0.0.0.0:0" },
		{ PT_INET, "255.255.255.255", 65535, "255.255.255.255", "255.255.255.255:65535" },
		{ PT_INET6, "2001:db8::1", 53, "2001:db8::1", "[2001:db8::1]:53" },
		{ PT_INET6, "::", 0, "::", "[::]:0" },
		{ PT_INET6, "::1", 65535, "::1", "[::1]:65535" },
		{ PT_INET6, "2001:db8:0:0:1:0:0:1", 8080, "2001:db8::1:0:0:1", "[2001:db8::1:0:0:1]:8080" },
		{ PT_INET6, "::ffff:198.18.0.2", 80, "::ffff:198.18.0.2", "[::ffff:198.18.0.2]:80" },
	};
	char buf[64];

	for (size_t i = 0; i < N(cases); i++) {
		uint8_t addr[16], back[16], family;
		uint16_t port;
		bool has_port;

		addr_of(cases[i].family, cases[i].addr, addr);
		EXPECT(pt_format_addr(cases[i].family, addr, buf, sizeof(buf)) == buf, "returns buf");
		EXPECT(!strcmp(buf, cases[i].want_addr), "pt_format_addr(%s) = \"%s\"",
		       cases[i].addr, buf);
		EXPECT(pt_format_addrport(cases[i].family, addr, cases[i].port, buf, sizeof(buf)) == buf,
		       "returns buf");
		EXPECT(!strcmp(buf, cases[i].want_addrport), "pt_format_addrport(%s, %u) = \"%s\", want \"%s\"",
		       cases[i].addr, cases[i].port, buf, cases[i].want_addrport);
		/* it parses back to the same thing */
		EXPECT(!pt_parse_addrport(buf, &family, back, &port, false, &has_port) &&
			       family == cases[i].family && !memcmp(back, addr, 16) &&
			       port == cases[i].port && has_port,
		       "pt_format_addrport output \"%s\" does not parse back", buf);
	}
	DONE();
}

static void test_format_prefix(void **state)
{
	static const char *const canon[] = {
		"any", "0.0.0.0/0", "198.18.0.0/15", "198.18.0.2/32", "10.0.0.0/8",
		"128.0.0.0/1", "255.255.255.254/31", "::/0", "2001:db8::/32",
		"2001:db8::1/128", "2001:db8:1::/48", "8000::/1", "::ffff:198.18.0.0/112",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
	};
	char buf[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < N(canon); i++) {
		struct pt_prefix p;

		EXPECT(!pt_parse_prefix(canon[i], &p), "parse %s", canon[i]);
		EXPECT(pt_format_prefix(&p, buf, sizeof(buf)) == buf, "returns buf");
		EXPECT(!strcmp(buf, canon[i]), "format(parse(\"%s\")) = \"%s\"", canon[i], buf);
	}
	/* bare addresses come back with their host length */
	{
		struct pt_prefix p;

		EXPECT(!pt_parse_prefix("198.18.0.2", &p), "parse");
		EXPECT(!strcmp(pt_format_prefix(&p, buf, sizeof(buf)), "198.18.0.2/32"), "%s", buf);
		EXPECT(!pt_parse_prefix("2001:db8::1", &p), "parse");
		EXPECT(!strcmp(pt_format_prefix(&p, buf, sizeof(buf)), "2001:db8::1/128"), "%s", buf);
	}
	DONE();
}

/* splitmix64: a small, seeded, reproducible generator */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void test_format_prefix_round_trip(void **state)
{
	char buf[INET6_ADDRSTRLEN + 8], again[INET6_ADDRSTRLEN + 8];
	unsigned int seed = 20240601;
	const char *env = getenv("PORTIER_SEED");

	if (env)
		seed = (unsigned int)strtoul(env, NULL, 0);
	rng_state = seed;
	print_message("# seed %u (PORTIER_SEED=%u replays this run)\n", seed, seed);
	for (int i = 0; i < 20000; i++) {
		struct pt_prefix p = {}, q;
		unsigned int max;

		p.family = (uint8_t)(rnd() % 3);
		if (p.family != PT_FAMILY_ANY) {
			max = p.family == PT_INET ? 32 : 128;
			p.plen = (uint8_t)(rnd() % (max + 1));
			for (unsigned int b = 0; b < p.plen; b++)
				if (rnd() & 1)
					p.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			/* runs of zeros, so that "::" compression shows up */
			if (p.family == PT_INET6 && (rnd() & 1))
				memset(p.addr + 4, 0, 8);
		}
		pt_format_prefix(&p, buf, sizeof(buf));
		memset(&q, 0x55, sizeof(q));
		if (pt_parse_prefix(buf, &q)) {
			EXPECT(0, "\"%s\" does not parse back: %s", buf, pt_why);
			continue;
		}
		EXPECT(q.family == p.family && q.plen == p.plen && !memcmp(q.addr, p.addr, 16),
		       "\"%s\" parses back to another prefix", buf);
		pt_format_prefix(&q, again, sizeof(again));
		EXPECT(!strcmp(buf, again), "\"%s\" formats again as \"%s\"", buf, again);
		/* and a host bit set below the length is refused with the masked hint */
		if (p.family != PT_FAMILY_ANY && p.plen < (p.family == PT_INET ? 32 : 128)) {
			struct pt_prefix h = p;
			unsigned int b = p.plen + (unsigned int)(rnd() % ((p.family == PT_INET ? 32u : 128u) - p.plen));
			char hb[INET6_ADDRSTRLEN + 8], hint[INET6_ADDRSTRLEN + 64];

			h.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			/* format the address by hand: pt_format_prefix of h */
			pt_format_prefix(&h, hb, sizeof(hb));
			clear_why();
			EXPECT(pt_parse_prefix(hb, &q) == -EINVAL, "\"%s\" has host bits but parsed", hb);
			snprintf(hint, sizeof(hint), "(did you mean %s?)", buf);
			EXPECT(strstr(pt_why, hint) != NULL, "\"%s\": why \"%s\" lacks \"%s\"", hb, pt_why,
			       hint);
		}
	}
	DONE();
}

struct human_case {
	uint64_t v;
	const char *want;
};

static void run_human(const struct human_case *c, size_t n)
{
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		memset(buf, 'x', sizeof(buf));
		EXPECT(pt_format_human(c[i].v, buf, sizeof(buf)) == buf, "returns buf");
		EXPECT(!strcmp(buf, c[i].want), "pt_format_human(%llu) = \"%s\", want \"%s\"",
		       (unsigned long long)c[i].v, buf, c[i].want);
	}
}

static void test_format_human(void **state)
{
	static const struct human_case cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 999, "999" },
		{ 1000, "1.0k" },
		{ 1049, "1.0k" },
		{ 1234, "1.2k" },
		{ 9900, "9.9k" },
		{ 10000, "10k" },
		{ 12345, "12k" },
		{ 123456, "123k" },
		{ 1000000, "1.0M" },
		{ 1234567, "1.2M" },
		{ 12345678, "12M" },
		{ 123456789, "123M" },
		{ 1000000000, "1.0G" },
		{ 1000000000000ULL, "1.0T" },
		{ 1000000000000000ULL, "1.0P" },
		{ 1000000000000000000ULL, "1.0E" },
		{ UINT64_MAX, "18E" },
	};

	run_human(cases, N(cases));
	DONE();
}

/* At the rounding edges the unit and the decimals must follow the rounded
 * value: "one decimal under 10, none above", and never 1000 of a unit. */
static void test_format_human_rounding(void **state)
{
	static const struct human_case cases[] = {
		{ 9999, "10k" },
		{ 999999, "1.0M" },
		{ 999999999, "1.0G" },
		{ 9999999, "10M" },
	};

	run_human(cases, N(cases));
	DONE();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_uint, reset),
		cmocka_unit_test_setup(test_parse_uint_u64_top, reset),
		cmocka_unit_test_setup(test_parse_port, reset),
		cmocka_unit_test_setup(test_parse_ports, reset),
		cmocka_unit_test_setup(test_parse_proto, reset),
		cmocka_unit_test_setup(test_parse_action, reset),
		cmocka_unit_test_setup(test_names, reset),
		cmocka_unit_test_setup(test_parse_name, reset),
		cmocka_unit_test_setup(test_parse_addr, reset),
		cmocka_unit_test_setup(test_parse_prefix, reset),
		cmocka_unit_test_setup(test_parse_addrport, reset),
		cmocka_unit_test_setup(test_format_ports, reset),
		cmocka_unit_test_setup(test_format_addr, reset),
		cmocka_unit_test_setup(test_format_prefix, reset),
		cmocka_unit_test_setup(test_format_prefix_round_trip, reset),
		cmocka_unit_test_setup(test_format_human, reset),
		cmocka_unit_test_setup(test_format_human_rounding, reset),
	};

	/* PORTIER_TEST=pattern runs only the matching tests (cmocka globbing) */
	if (getenv("PORTIER_TEST"))
		cmocka_set_test_filter(getenv("PORTIER_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
