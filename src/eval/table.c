/* Markdown table printer (see table.h). */
#include "eval/table.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int tc_display_width(const char *s) {
    int w = 0;
    size_t len = strlen(s), pos = 0;
    while (pos < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + pos, (utf8proc_ssize_t)(len - pos), &c);
        if (k <= 0) { k = 1; c = '?'; }
        pos += (size_t)k;
        int cw = utf8proc_charwidth(c);
        w += cw > 0 ? cw : 0;
    }
    return w;
}

static void cell(FILE *f, const char *s, int width) {
    int pad = width - tc_display_width(s);
    fprintf(f, " %s%*s |", s, pad > 0 ? pad : 0, "");
}

void tc_table_print(FILE *f, int ncols, const char *const *header, int nrows, const char *const *cells) {
    int *w = tc_xcalloc((size_t)ncols, sizeof *w);
    for (int c = 0; c < ncols; c++) {
        w[c] = tc_display_width(header[c]);
        for (int r = 0; r < nrows; r++) {
            int x = tc_display_width(cells[(size_t)r * ncols + c]);
            if (x > w[c]) w[c] = x;
        }
        if (w[c] < 3) w[c] = 3;
    }
    fputc('|', f);
    for (int c = 0; c < ncols; c++) cell(f, header[c], w[c]);
    fputs("\n|", f);
    for (int c = 0; c < ncols; c++) {
        fputc(' ', f);
        for (int i = 0; i < w[c]; i++) fputc('-', f);
        fputs(" |", f);
    }
    fputc('\n', f);
    for (int r = 0; r < nrows; r++) {
        fputc('|', f);
        for (int c = 0; c < ncols; c++) cell(f, cells[(size_t)r * ncols + c], w[c]);
        fputc('\n', f);
    }
    free(w);
}
