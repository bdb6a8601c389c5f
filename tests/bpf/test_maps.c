// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The command's table of maps (pt_maps[] in user/state.c) against the two
 * places that could drift from it:
 *  - the BPF objects: every map of dispatch and guard has a row of its
 *    name, type, key and value size, pinned under that name; every row is
 *    a map of both objects;
 *  - docs/ARCHITECTURE.md's map table: every row named once, with its type.
 * Run from the source tree (tests/run.sh does), for the document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "state.h"
#include "dispatch.skel.h"
#include "guard.skel.h"
#include "bpftest.h"

#define PIN_ROOT "/pin-root"
#define DOC "docs/ARCHITECTURE.md"

static int row_of(const char *name)
{
	for (int i = 0; i < PT_NMAPS; i++)
		if (!strcmp(pt_maps[i].name, name))
			return i;
	return -1;
}

static void check_object(struct bpf_object *obj, const char *what)
{
	bool seen[PT_NMAPS] = {};
	struct bpf_map *map;
	char pin[64];

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		int i;

		if (bpf_map__is_internal(map))
			continue;	/* .rodata, .bss: not pinned, not shared */
		i = row_of(name);
		if (i < 0)
			fail_msg("%s: map %s has no row in pt_maps[]", what, name);
		if (seen[i])
			fail_msg("%s: map %s twice", what, name);
		seen[i] = true;
		if (bpf_map__type(map) != pt_maps[i].type)
			fail_msg("%s: map %s: type %u, row says %u", what, name, bpf_map__type(map),
				 pt_maps[i].type);
		if (bpf_map__key_size(map) != pt_maps[i].key_size ||
		    bpf_map__value_size(map) != pt_maps[i].value_size)
			fail_msg("%s: map %s: key %u value %u bytes, row says %u and %u", what, name,
				 bpf_map__key_size(map), bpf_map__value_size(map),
				 pt_maps[i].key_size, pt_maps[i].value_size);
		snprintf(pin, sizeof(pin), "%s/%s", PIN_ROOT, pt_maps[i].name);
		if (!bpf_map__pin_path(map) || strcmp(bpf_map__pin_path(map), pin))
			fail_msg("%s: map %s pinned as %s, not %s", what, name,
				 bpf_map__pin_path(map) ? bpf_map__pin_path(map) : "(not pinned)", pin);
	}
	for (int i = 0; i < PT_NMAPS; i++)
		if (!seen[i])
			fail_msg("%s: row %s is no map of the object", what, pt_maps[i].name);
}

static void test_rows_are_dispatch_maps(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = PIN_ROOT);
	struct dispatch *skel = dispatch__open_opts(&opts);

	assert_non_null(skel);
	check_object(skel->obj, "dispatch");
	dispatch__destroy(skel);
}

static void test_rows_are_guard_maps(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = PIN_ROOT);
	struct guard *skel = guard__open_opts(&opts);

	assert_non_null(skel);
	check_object(skel->obj, "guard");
	guard__destroy(skel);
}

/* The generation byte inside the key; the commit's maps are the ones
 * that have one, and port_table, cpu_sets, policy_list and bind_host,
 * whose halves are the generations. */
static void test_rows_are_consistent(void **state)
{
	assert_int_equal(M_CONFIG, 0);	/* opened first: it names the ABI */
	for (int i = 0; i < PT_NMAPS; i++) {
		const struct pt_map_desc *m = &pt_maps[i];

		assert_int_equal(row_of(m->name), i);
		if (m->gen_off != PT_NO_GEN)
			assert_true(m->gen_off >= 0 && (uint32_t)m->gen_off < m->key_size);
		assert_int_equal(m->commit, m->gen_off != PT_NO_GEN || i == M_PORT_TABLE ||
						    i == M_CPU_SETS || i == M_POLICY_LIST ||
						    i == M_BIND_HOST);
	}
}

/* How the document names each type: the type cell begins with it. */
static const char *type_word(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "per-CPU array";
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_LRU_HASH:
		return "LRU hash";
	case BPF_MAP_TYPE_LPM_TRIE:
		return "LPM trie";
	case BPF_MAP_TYPE_SOCKMAP:
		return "sockmap";
	case BPF_MAP_TYPE_XSKMAP:
		return "xskmap";
	case BPF_MAP_TYPE_CPUMAP:
		return "cpumap";
	default:
		return NULL;
	}
}

/* One table line: "| `a`, `b` | type | ... |". Marks each name seen. */
static void check_doc_line(const char *line, int lineno, bool seen[PT_NMAPS])
{
	const char *cell2 = strchr(line + 1, '|'), *p = line + 1;
	char name[64];

	if (!cell2)
		fail_msg(DOC ":%d: a map row with one cell", lineno);
	cell2++;
	while (*cell2 == ' ')
		cell2++;
	while ((p = strchr(p, '`')) && p < cell2) {
		const char *end = strchr(p + 1, '`');
		const char *word;
		int i;

		if (!end || end > cell2 || (size_t)(end - p - 1) >= sizeof(name))
			fail_msg(DOC ":%d: a name without its closing `", lineno);
		memcpy(name, p + 1, (size_t)(end - p - 1));
		name[end - p - 1] = 0;
		i = row_of(name);
		if (i < 0)
			fail_msg(DOC ":%d: map %s has no row in pt_maps[]", lineno, name);
		if (seen[i])
			fail_msg(DOC ":%d: map %s listed twice", lineno, name);
		seen[i] = true;
		word = type_word(pt_maps[i].type);
		if (!word || strncmp(cell2, word, strlen(word)))
			fail_msg(DOC ":%d: map %s: the type should read \"%s\"", lineno, name,
				 word ? word : "(add the type to type_word)");
		p = end + 1;
	}
}

static void test_doc_table_is_the_rows(void **state)
{
	FILE *f = fopen(DOC, "r");
	bool seen[PT_NMAPS] = {}, in_section = false, in_table = false;
	char line[1024];
	int lineno = 0;

	if (!f)
		fail_msg("cannot open " DOC " (run from the source tree)");
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strncmp(line, "## ", 3)) {
			if (in_section)
				break;
			in_section = !strcmp(line, "## The maps\n");
			continue;
		}
		if (!in_section)
			continue;
		if (line[0] != '|') {
			if (in_table)
				break;	/* the first table of the section only */
			continue;
		}
		in_table = true;
		if (!strncmp(line, "| map |", 7) || !strncmp(line, "|---", 4))
			continue;
		check_doc_line(line, lineno, seen);
	}
	fclose(f);
	if (!in_table)
		fail_msg(DOC ": no map table under \"## The maps\"");
	for (int i = 0; i < PT_NMAPS; i++)
		if (!seen[i])
			fail_msg(DOC ": map %s is missing from the map table", pt_maps[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_are_dispatch_maps),
		cmocka_unit_test(test_rows_are_guard_maps),
		cmocka_unit_test(test_rows_are_consistent),
		cmocka_unit_test(test_doc_table_is_the_rows),
	};

	bt_libbpf_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
