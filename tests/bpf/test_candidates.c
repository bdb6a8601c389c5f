// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of register's choice (user/sockets.c): a process's sockets
 * are ambiguous when one (protocol, family) has more than one endpoint.
 * Table-driven: each row is {name, sockets, expected endpoints, expected
 * ambiguity and the (protocol, family) it names}. In the bpf suite because
 * it links user/ (the unit suite links the pure core alone).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "sockets.h"

#define MAXS 8

struct sock_spec {
	uint8_t proto, family;
	const char *addr;
	uint16_t port;
};

struct row {
	const char *name;
	struct sock_spec socks[MAXS];
	size_t n;
	size_t endpoints;
	bool ambiguous;
	uint8_t proto, family;
};

static const struct row rows[] = {
	{ "one listener", { { PT_TCP, PT_INET, "127.0.0.1", 3001 } }, 1, 1, false, 0, 0 },
	{ "app and admin", { { PT_TCP, PT_INET, "127.0.0.1", 3001 },
			     { PT_TCP, PT_INET, "127.0.0.1", 3002 } }, 2, 2, true, PT_TCP, PT_INET },
	{ "one port on two addresses", { { PT_TCP, PT_INET, "127.0.0.1", 80 },
					 { PT_TCP, PT_INET, "198.18.0.2", 80 } }, 2, 2, true,
	  PT_TCP, PT_INET },
	{ "IPv4 and IPv6: two families", { { PT_TCP, PT_INET, "127.0.0.1", 3001 },
					  { PT_TCP, PT_INET6, "::1", 3001 } }, 2, 2, false, 0, 0 },
	{ "TCP and UDP: two protocols", { { PT_TCP, PT_INET, "127.0.0.1", 53 },
					 { PT_UDP, PT_INET, "127.0.0.1", 53 } }, 2, 2, false, 0, 0 },
	{ "a reuseport group: one endpoint", { { PT_TCP, PT_INET, "127.0.0.1", 80 },
					      { PT_TCP, PT_INET, "127.0.0.1", 80 },
					      { PT_TCP, PT_INET, "127.0.0.1", 80 } }, 3, 1, false, 0, 0 },
	{ "two UDP sockets, one TCP", { { PT_TCP, PT_INET, "127.0.0.1", 80 },
				       { PT_UDP, PT_INET, "127.0.0.1", 53 },
				       { PT_UDP, PT_INET, "127.0.0.1", 54 } }, 3, 3, true, PT_UDP, PT_INET },
	{ "two IPv6 listeners", { { PT_TCP, PT_INET, "127.0.0.1", 80 },
				 { PT_TCP, PT_INET6, "::1", 80 },
				 { PT_TCP, PT_INET6, "::", 8080 } }, 3, 3, true, PT_TCP, PT_INET6 },
	{ "a group and an admin", { { PT_TCP, PT_INET, "127.0.0.1", 80 },
				   { PT_TCP, PT_INET, "127.0.0.1", 80 },
				   { PT_TCP, PT_INET, "127.0.0.1", 9000 } }, 3, 2, true, PT_TCP, PT_INET },
	{ "none", { { 0 } }, 0, 0, false, 0, 0 },
};

static void fill(const struct row *r, struct pt_sock *socks, struct pt_candidates *c)
{
	memset(socks, 0, MAXS * sizeof(*socks));
	for (size_t i = 0; i < r->n; i++) {
		const struct sock_spec *sp = &r->socks[i];

		socks[i].fd = -1;
		socks[i].proto = sp->proto;
		socks[i].family = sp->family;
		socks[i].port = sp->port;
		socks[i].ino = 100 + i;
		assert_int_equal(inet_pton(sp->family == PT_INET ? AF_INET : AF_INET6, sp->addr,
					   socks[i].addr), 1);
	}
	c->socks = socks;
	c->n = r->n;
}

static void test_ambiguity(void **state)
{
	int failures = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct pt_sock socks[MAXS];
		struct pt_candidates c;
		uint8_t proto = 0xff, family = 0xff;
		size_t eps;
		bool amb;

		fill(r, socks, &c);
		eps = pt_candidates_endpoints(&c);
		amb = pt_candidates_ambiguous(&c, &proto, &family);
		if (eps != r->endpoints || amb != r->ambiguous ||
		    (amb && (proto != r->proto || family != r->family))) {
			print_error("%s: endpoints %zu ambiguous %d (%u, %u); expected %zu %d (%u, %u)\n",
				    r->name, eps, amb, proto, family, r->endpoints, r->ambiguous,
				    r->proto, r->family);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ambiguity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
