/* Caption tokenisation: character segmentation with coco-caption's PTB punctuation filter. */
#include "eval/segment.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------------------------------------- */
/* vocabulary: open addressing over FNV-1a hashes, power-of-two capacity, load factor <= 1/2 */

struct tc_tokdict {
    char **str;      /* [n] interned strings */
    int32_t n, cap_str;
    int32_t *slot;   /* [nslot] id or -1 */
    uint64_t *hash;  /* [nslot] hash of the string in the slot */
    size_t nslot;
};

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

tc_tokdict *tc_tokdict_new(void) {
    tc_tokdict *v = tc_xcalloc(1, sizeof *v);
    v->nslot = 1024;
    v->slot = tc_xmalloc(v->nslot * sizeof *v->slot);
    v->hash = tc_xcalloc(v->nslot, sizeof *v->hash);
    memset(v->slot, 0xff, v->nslot * sizeof *v->slot);
    return v;
}

void tc_tokdict_free(tc_tokdict *v) {
    if (!v) return;
    for (int32_t i = 0; i < v->n; i++) free(v->str[i]);
    free(v->str);
    free(v->slot);
    free(v->hash);
    free(v);
}

static void vocab_grow(tc_tokdict *v) {
    size_t ns = v->nslot * 2;
    int32_t *slot = tc_xmalloc(ns * sizeof *slot);
    uint64_t *hash = tc_xcalloc(ns, sizeof *hash);
    memset(slot, 0xff, ns * sizeof *slot);
    for (size_t i = 0; i < v->nslot; i++) {
        if (v->slot[i] < 0) continue;
        size_t j = v->hash[i] & (ns - 1);
        while (slot[j] >= 0) j = (j + 1) & (ns - 1);
        slot[j] = v->slot[i];
        hash[j] = v->hash[i];
    }
    free(v->slot);
    free(v->hash);
    v->slot = slot;
    v->hash = hash;
    v->nslot = ns;
}

int32_t tc_tokdict_intern(tc_tokdict *v, const char *s, size_t len) {
    uint64_t h = fnv1a(s, len);
    size_t j = h & (v->nslot - 1);
    while (v->slot[j] >= 0) {
        const char *t = v->str[v->slot[j]];
        if (v->hash[j] == h && strlen(t) == len && memcmp(t, s, len) == 0) return v->slot[j];
        j = (j + 1) & (v->nslot - 1);
    }
    if (v->n == v->cap_str) {
        v->cap_str = v->cap_str ? 2 * v->cap_str : 256;
        v->str = tc_xrealloc(v->str, (size_t)v->cap_str * sizeof *v->str);
    }
    char *copy = tc_xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = 0;
    int32_t id = v->n++;
    v->str[id] = copy;
    v->slot[j] = id;
    v->hash[j] = h;
    if ((size_t)v->n * 2 > v->nslot) vocab_grow(v);
    return id;
}

const char *tc_tokdict_str(const tc_tokdict *v, int32_t id) { return id >= 0 && id < v->n ? v->str[id] : NULL; }
int32_t tc_tokdict_size(const tc_tokdict *v) { return v->n; }

/* ---------------------------------------------------------------------------------------------- */

int tc_segment_mode_parse(const char *name, tc_segment_mode *out) {
    if (strcmp(name, "char") == 0) { *out = TC_SEGMENT_CHAR; return 0; }
    if (strcmp(name, "space") == 0) { *out = TC_SEGMENT_SPACE; return 0; }
    return tc_error_set("--segment: expected \"char\" or \"space\", got \"%s\"", name);
}

const char *tc_segment_mode_name(tc_segment_mode mode) { return mode == TC_SEGMENT_SPACE ? "space" : "char"; }

/* Python's str.isspace() for the code points that occur in text. */
static int is_space_cp(int32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85) return 1;
    if (c < 0x80) return 0;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

/* Is this (already lower-cased, UTF-8) token one that coco-caption's PTB punctuation list removes?
 * Tokens are compared after PTB's rendering: ( ) { -> -lrb- -rrb- -lcb-, " and curly quotes -> `` '',
 * U+2026 -> ..., en/em dash -> --. "}" renders as -rcb-, which the list misses; "." is missed too. */
static int ptb_removed(const char *t, size_t len) {
    static const char *const removed[] = {
        "''", "'", "``", "`", "?", "!", ",", ":", "-", "--", "...", ";", "(", ")", "{", "\"",
        "\xe2\x80\x9c" /* U+201C */, "\xe2\x80\x9d" /* U+201D */, "\xe2\x80\x98" /* U+2018 */,
        "\xe2\x80\x99" /* U+2019 */, "\xe2\x80\xa6" /* U+2026 */, "\xe2\x80\x93" /* U+2013 */,
        "\xe2\x80\x94" /* U+2014 */,
    };
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++)
        if (strlen(removed[i]) == len && memcmp(removed[i], t, len) == 0) return 1;
    return 0;
}

typedef struct {
    tc_tokdict *v;
    int32_t **toks;
    int *n, *cap;
    int added;
} emitter;

static void emit(emitter *e, const char *s, size_t len) {
    if (len == 0 || ptb_removed(s, len)) return;
    if (*e->n == *e->cap) {
        *e->cap = *e->cap ? 2 * *e->cap : 64;
        *e->toks = tc_xrealloc(*e->toks, (size_t)*e->cap * sizeof **e->toks);
    }
    (*e->toks)[(*e->n)++] = tc_tokdict_intern(e->v, s, len);
    e->added++;
}

/* Lower-case, drop "。", and record for each code point its UTF-8 bytes. `buf` receives the encoded
 * normalised text; cps[i] the code point, off[i] its byte offset in buf (off[n] = end). */
static int normalise(const char *text, char **buf_out, int32_t **cps_out, size_t **off_out) {
    size_t len = strlen(text);
    char *buf = tc_xmalloc(4 * len + 4);
    int32_t *cps = tc_xmalloc((len + 1) * sizeof *cps);
    size_t *off = tc_xmalloc((len + 2) * sizeof *off);
    size_t pos = 0, bl = 0;
    int n = 0;
    while (pos < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + pos, (utf8proc_ssize_t)(len - pos), &c);
        if (k <= 0) { c = 0xFFFD; k = 1; } /* invalid byte: one replacement-character token */
        pos += (size_t)k;
        if (c == 0x3002) continue; /* "。" */
        c = utf8proc_tolower(c);
        cps[n] = c;
        off[n] = bl;
        bl += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)buf + bl);
        n++;
    }
    off[n] = bl;
    buf[bl] = 0;
    *buf_out = buf;
    *cps_out = cps;
    *off_out = off;
    return n;
}

static int is_ascii_alnum(int32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

int tc_segment(tc_tokdict *v, const char *text, tc_segment_mode mode, int32_t **toks, int *n, int *cap) {
    char *buf;
    int32_t *cps;
    size_t *off;
    int ncp = normalise(text, &buf, &cps, &off);
    emitter e = {v, toks, n, cap, 0};
    int i = 0;
    while (i < ncp) {
        int32_t c = cps[i];
        if (is_space_cp(c)) { i++; continue; }
        int j = i + 1;
        if (mode == TC_SEGMENT_SPACE) {
            while (j < ncp && !is_space_cp(cps[j])) j++;
        } else if (c >= 0x80) {
            /* one token per non-ASCII code point */
        } else if (is_ascii_alnum(c)) {
            while (j < ncp && cps[j] < 0x80 && is_ascii_alnum(cps[j])) j++;
        } else {
            while (j < ncp && cps[j] == c) j++; /* "...", "--" */
        }
        emit(&e, buf + off[i], off[j] - off[i]);
        i = j;
    }
    free(buf);
    free(cps);
    free(off);
    return e.added;
}
