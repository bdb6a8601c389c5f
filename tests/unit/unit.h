/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the unit test files share. EXPECT records a failure and goes on, so
 * every failing row of a table is reported; a test then fails once, at its
 * end (DONE). reset is the cmocka setup that starts a test with none.
 * Include after <cmocka.h>.
 */
#ifndef PT_TESTS_UNIT_H
#define PT_TESTS_UNIT_H

static int failures;

#define EXPECT(cond, ...)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			failures++;                                           \
			print_error("%s:%d: ", __FILE__, __LINE__);           \
			print_error(__VA_ARGS__);                             \
			print_error("\n");                                    \
		}                                                             \
	} while (0)
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DONE() assert_int_equal(failures, 0)

static inline int reset(void **state)
{
	(void)state;
	failures = 0;
	return 0;
}

#endif /* PT_TESTS_UNIT_H */
