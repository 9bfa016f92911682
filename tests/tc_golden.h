/* Reader for golden files written by ref/golden.py (format documented there): named float32/int32
 * arrays. Header-only, for tests. tc_golden_load returns NULL with a one-line message on stderr when the
 * file is missing or malformed; lookups of absent names return NULL. */
#ifndef TC_GOLDEN_H
#define TC_GOLDEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tc_golden_rec {
    char name[256];
    int dtype;          /* 0 float32, 1 int32 */
    int ndim;
    int shape[8];
    long numel;
    void *data;         /* own aligned copy (the file's offsets are not 4-byte aligned) */
} tc_golden_rec;

typedef struct tc_golden {
    unsigned char *buf;
    long len;
    int n;
    tc_golden_rec *rec;
} tc_golden;

static inline uint32_t tc_golden_u32_(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void tc_golden_free(tc_golden *g) {
    if (!g) return;
    free(g->buf);
    for (int i = 0; i < g->n; i++) free(g->rec[i].data);
    free(g->rec);
    free(g);
}

static inline tc_golden *tc_golden_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "%s: cannot open golden file\n", path); return NULL; }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    tc_golden *g = calloc(1, sizeof *g);
    g->buf = malloc(len > 0 ? (size_t)len : 1);
    g->len = len;
    if (fread(g->buf, 1, (size_t)len, f) != (size_t)len) len = -1;
    fclose(f);
    if (len < 12 || memcmp(g->buf, "TCGOLD01", 8) != 0) {
        fprintf(stderr, "%s: not a golden file (expected magic TCGOLD01)\n", path);
        tc_golden_free(g);
        return NULL;
    }
    g->n = (int)tc_golden_u32_(g->buf + 8);
    g->rec = calloc(g->n > 0 ? (size_t)g->n : 1, sizeof *g->rec);
    long pos = 12;
    for (int i = 0; i < g->n; i++) {
        tc_golden_rec *r = &g->rec[i];
        if (pos + 4 > len) goto bad;
        uint32_t ln = tc_golden_u32_(g->buf + pos); pos += 4;
        if (ln >= sizeof r->name || pos + ln + 8 > len) goto bad;
        memcpy(r->name, g->buf + pos, ln); r->name[ln] = 0; pos += ln;
        r->dtype = (int)tc_golden_u32_(g->buf + pos);
        r->ndim = (int)tc_golden_u32_(g->buf + pos + 4); pos += 8;
        if (r->dtype > 1 || r->ndim > 8 || pos + 4L * r->ndim > len) goto bad;
        r->numel = 1;
        for (int d = 0; d < r->ndim; d++) { r->shape[d] = (int)tc_golden_u32_(g->buf + pos); pos += 4; r->numel *= r->shape[d]; }
        if (pos + 4 * r->numel > len) goto bad;
        r->data = malloc(r->numel > 0 ? 4 * (size_t)r->numel : 4);
        memcpy(r->data, g->buf + pos, 4 * (size_t)r->numel);
        pos += 4 * r->numel;
    }
    return g;
bad:
    fprintf(stderr, "%s: truncated or malformed golden record\n", path);
    tc_golden_free(g);
    return NULL;
}

static inline const tc_golden_rec *tc_golden_find(const tc_golden *g, const char *name) {
    for (int i = 0; i < g->n; i++) if (strcmp(g->rec[i].name, name) == 0) return &g->rec[i];
    return NULL;
}
/* Float data of `name` (NULL when absent or not float32); *n gets the element count if n != NULL. */
static inline const float *tc_golden_f32(const tc_golden *g, const char *name, long *n) {
    const tc_golden_rec *r = tc_golden_find(g, name);
    if (!r || r->dtype != 0) { fprintf(stderr, "golden: no float32 record \"%s\"\n", name); return NULL; }
    if (n) *n = r->numel;
    return (const float *)r->data;
}
static inline const int32_t *tc_golden_i32(const tc_golden *g, const char *name, long *n) {
    const tc_golden_rec *r = tc_golden_find(g, name);
    if (!r || r->dtype != 1) { fprintf(stderr, "golden: no int32 record \"%s\"\n", name); return NULL; }
    if (n) *n = r->numel;
    return (const int32_t *)r->data;
}

#endif
