/* vocab.txt loading and hashed lookup (see vocab.h). */
#include "data/vocab.h"

#include "core/error.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: streams byte by byte, so the "##" prefix can be hashed without building the string. */
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static inline uint32_t fnv_bytes(uint32_t h, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
    return h;
}

static inline uint32_t hash_token(const char *s, size_t len, int cont) {
    uint32_t h = FNV_OFFSET;
    if (cont) h = fnv_bytes(h, "##", 2);
    h = fnv_bytes(h, s, len);
    /* FNV's low bits mix poorly for short keys; fold the high bits in before masking. */
    return h ^ (h >> 15);
}

static int token_equals(const tc_vocab *v, uint32_t id, const char *s, size_t len, int cont) {
    const char *t = v->arena + v->offset[id];
    size_t tl = v->length[id];
    if (cont) {
        if (tl != len + 2 || t[0] != '#' || t[1] != '#') return 0;
        t += 2;
    } else if (tl != len) {
        return 0;
    }
    return memcmp(t, s, len) == 0;
}

int32_t tc_vocab_find(const tc_vocab *v, const char *s, size_t len, int cont) {
    uint32_t h = hash_token(s, len, cont), mask = v->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t slot = v->slots[i];
        if (!slot) return -1;
        if (v->hashes[i] == h && token_equals(v, slot - 1, s, len, cont)) return (int32_t)(slot - 1);
    }
}

int tc_vocab_parse(tc_vocab *v, const char *data, size_t len, const char *name) {
    memset(v, 0, sizeof *v);
    if (len == 0) return tc_error_set("%s: empty vocabulary: expected one token per line (vocab.txt)", name);
    if (len > (size_t)UINT32_MAX / 2)
        return tc_error_set("%s: vocabulary of %zu bytes is too large (at most 2 GiB)", name, len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    if (data[len - 1] != '\n') lines++;
    if (lines > (size_t)INT32_MAX / 4) return tc_error_set("%s: too many lines (%zu)", name, lines);

    v->n = (int32_t)lines;
    v->arena = tc_xmalloc(len + 1);
    v->offset = tc_xmalloc(lines * sizeof *v->offset);
    v->length = tc_xmalloc(lines * sizeof *v->length);
    size_t pos = 0, at = 0;
    for (size_t id = 0; id < lines; id++) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len, tl = end - pos;
        if (tl && data[end - 1] == '\r') tl--; /* vocab written on Windows */
        memcpy(v->arena + at, data + pos, tl);
        v->arena[at + tl] = 0;
        v->offset[id] = (uint32_t)at;
        v->length[id] = (uint32_t)tl;
        size_t body = tl >= 2 && data[pos] == '#' && data[pos + 1] == '#' ? tl - 2 : tl;
        if (body > v->max_len) v->max_len = body;
        at += tl + 1;
        pos = end + 1;
    }
    v->arena_len = at;

    uint32_t cap = 16;
    while (cap < 2 * lines) cap <<= 1;
    v->cap = cap;
    v->slots = tc_xcalloc(cap, sizeof *v->slots);
    v->hashes = tc_xcalloc(cap, sizeof *v->hashes);
    for (int32_t id = 0; id < v->n; id++) {
        const char *t = v->arena + v->offset[id];
        uint32_t h = hash_token(t, v->length[id], 0);
        for (uint32_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
            uint32_t slot = v->slots[i];
            if (!slot) {
                v->slots[i] = (uint32_t)id + 1;
                v->hashes[i] = h;
                break;
            }
            if (v->hashes[i] == h && token_equals(v, slot - 1, t, v->length[id], 0)) {
                v->slots[i] = (uint32_t)id + 1; /* duplicate line: the later id wins */
                break;
            }
        }
    }
    return 0;
}

int tc_vocab_load(tc_vocab *v, const char *path) {
    size_t len = 0;
    char *data = tc_read_file(path, &len);
    if (!data) {
        memset(v, 0, sizeof *v);
        return -1;
    }
    int rc = tc_vocab_parse(v, data, len, path);
    free(data);
    return rc;
}

void tc_vocab_free(tc_vocab *v) {
    free(v->arena);
    free(v->offset);
    free(v->length);
    free(v->slots);
    free(v->hashes);
    memset(v, 0, sizeof *v);
}
