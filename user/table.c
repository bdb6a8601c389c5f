// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "table.h"

int pt_table_init(struct pt_table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = calloc(ncols, sizeof(*t->right));
	if (!t->right)
		return -ENOMEM;
	return pt_table_add(t, header);
}

void pt_table_align_right(struct pt_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = 1;
}

int pt_table_add(struct pt_table *t, const char *const *row)
{
	char **p = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*p));

	if (!p)
		return -ENOMEM;
	t->cells = p;
	for (size_t c = 0; c < t->ncols; c++) {
		char *s = strdup(row[c] ? row[c] : "");

		if (!s) {
			for (size_t k = 0; k < c; k++)
				free(t->cells[t->nrows * t->ncols + k]);
			return -ENOMEM;
		}
		t->cells[t->nrows * t->ncols + c] = s;
	}
	t->nrows++;
	return 0;
}

void pt_table_print(const struct pt_table *t)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int width = (int)w[c];
			int last = c + 1 == t->ncols;

			if (t->right[c])
				printf("%*s", width, s);
			else if (last)
				printf("%s", s);
			else
				printf("%-*s", width, s);
			if (!last)
				printf("  ");
		}
		printf("\n");
	}
	free(w);
}

void pt_table_free(struct pt_table *t)
{
	if (t->cells)
		for (size_t i = 0; i < t->nrows * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->right);
	memset(t, 0, sizeof(*t));
}
