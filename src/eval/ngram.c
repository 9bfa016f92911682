/* N-gram interning and per-sentence n-gram bags (see ngram.h). */
#include "eval/ngram.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_KEY UINT64_MAX

void tc_ngram_table_init(tc_ngram_table *t) {
    memset(t, 0, sizeof *t);
    t->nslot = 4096;
    t->key = tc_xmalloc(t->nslot * sizeof *t->key);
    t->val = tc_xmalloc(t->nslot * sizeof *t->val);
    memset(t->key, 0xff, t->nslot * sizeof *t->key);
}

void tc_ngram_table_free(tc_ngram_table *t) {
    free(t->key);
    free(t->val);
    free(t->order);
    memset(t, 0, sizeof *t);
}

static inline size_t mix(uint64_t k) { /* splitmix64 finaliser */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    k ^= k >> 31;
    return (size_t)k;
}

static void grow(tc_ngram_table *t) {
    size_t ns = t->nslot * 2;
    uint64_t *key = tc_xmalloc(ns * sizeof *key);
    int32_t *val = tc_xmalloc(ns * sizeof *val);
    memset(key, 0xff, ns * sizeof *key);
    for (size_t i = 0; i < t->nslot; i++) {
        if (t->key[i] == EMPTY_KEY) continue;
        size_t j = mix(t->key[i]) & (ns - 1);
        while (key[j] != EMPTY_KEY) j = (j + 1) & (ns - 1);
        key[j] = t->key[i];
        val[j] = t->val[i];
    }
    free(t->key);
    free(t->val);
    t->key = key;
    t->val = val;
    t->nslot = ns;
}

/* gid of (prefix, tok); prefix = -1 for a unigram. */
static int32_t intern(tc_ngram_table *t, int32_t prefix, int32_t tok, int order) {
    uint64_t k = ((uint64_t)(uint32_t)(prefix + 1) << 32) | (uint32_t)tok;
    size_t j = mix(k) & (t->nslot - 1);
    while (t->key[j] != EMPTY_KEY) {
        if (t->key[j] == k) return t->val[j];
        j = (j + 1) & (t->nslot - 1);
    }
    if (t->ngid == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->order = tc_xrealloc(t->order, (size_t)t->cap);
    }
    int32_t g = t->ngid++;
    t->order[g] = (int8_t)order;
    t->key[j] = k;
    t->val[j] = g;
    if ((size_t)t->ngid * 2 > t->nslot) grow(t);
    return g;
}

static int cmp_count(const void *a, const void *b) {
    int32_t x = ((const tc_ngram_count *)a)->gid, y = ((const tc_ngram_count *)b)->gid;
    return (x > y) - (x < y);
}

void tc_ngram_bag_build(tc_ngram_table *t, const tc_tokseq *s, int maxn, tc_ngram_bag *bag) {
    int L = s->n;
    int total = 0;
    for (int k = 1; k <= maxn; k++) total += L - k + 1 > 0 ? L - k + 1 : 0;
    tc_ngram_count *v = tc_xmalloc((size_t)(total > 0 ? total : 1) * sizeof *v);
    int m = 0;
    /* Walk each start position, extending the n-gram one token at a time: gid(n) = (gid(n-1), tok). */
    for (int i = 0; i < L; i++) {
        int32_t g = -1;
        for (int k = 1; k <= maxn && i + k <= L; k++) {
            g = intern(t, g, s->tok[i + k - 1], k);
            v[m].gid = g;
            v[m].count = 1;
            m++;
        }
    }
    qsort(v, (size_t)m, sizeof *v, cmp_count);
    int w = 0;
    for (int r = 0; r < m; r++) {
        if (w > 0 && v[w - 1].gid == v[r].gid) v[w - 1].count++;
        else v[w++] = v[r];
    }
    bag->v = v;
    bag->n = w;
}

void tc_ngram_bag_free(tc_ngram_bag *bag) {
    free(bag->v);
    bag->v = NULL;
    bag->n = 0;
}
