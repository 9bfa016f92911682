/* Markdown results tables like the OPT README's (spec §8): a header row, a separator row and the data
 * rows, each column padded to its widest cell (display width, so CJK text lines up). */
#ifndef TC_EVAL_TABLE_H
#define TC_EVAL_TABLE_H

#include <stdio.h>

/* header: [ncols]; cells: [nrows x ncols] row-major. */
void tc_table_print(FILE *f, int ncols, const char *const *header, int nrows, const char *const *cells);

/* Terminal display width of a UTF-8 string (East Asian wide characters count 2). */
int tc_display_width(const char *s);

#endif
