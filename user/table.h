/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Plain-text tables: columns sized to their widest cell. */
#ifndef PORTIER_TABLE_H
#define PORTIER_TABLE_H

#include <stddef.h>

struct pt_table {
	size_t ncols, nrows;
	char **cells;		/* nrows * ncols, row 0 is the header */
	int *right;		/* per column: right-align (numbers) */
};

int pt_table_init(struct pt_table *t, size_t ncols, const char *const *header);
void pt_table_align_right(struct pt_table *t, size_t col);
/* Add one row of ncols strings (copied). */
int pt_table_add(struct pt_table *t, const char *const *row);
void pt_table_print(const struct pt_table *t);
void pt_table_free(struct pt_table *t);

#endif
