/* Internal to src/eval: n-gram interning for BLEU and CIDEr-D.
 * Every distinct n-gram (n = 1..4) of a corpus gets a dense id ("gid"): a unigram is keyed by its
 * token, an n-gram by (gid of its first n-1 tokens, last token), so equal n-grams get equal gids
 * without hashing whole tuples and without collisions. A sentence becomes a bag: (gid, count) pairs
 * sorted by gid, which the metrics merge-join. */
#ifndef TC_EVAL_NGRAM_H
#define TC_EVAL_NGRAM_H

#include "eval/caption_metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tc_ngram_table {
    uint64_t *key;  /* [nslot] packed (prefix gid + 1, token); UINT64_MAX = empty */
    int32_t *val;   /* [nslot] gid */
    size_t nslot;
    int8_t *order;  /* [ngid] n-gram length 1..4 */
    int32_t ngid, cap;
} tc_ngram_table;

typedef struct tc_ngram_count {
    int32_t gid, count;
} tc_ngram_count;

typedef struct tc_ngram_bag {
    tc_ngram_count *v; /* [n] sorted by gid */
    int n;
} tc_ngram_bag;

void tc_ngram_table_init(tc_ngram_table *t);
void tc_ngram_table_free(tc_ngram_table *t);
/* Build the bag of all 1..maxn-grams of s (maxn <= 4). */
void tc_ngram_bag_build(tc_ngram_table *t, const tc_tokseq *s, int maxn, tc_ngram_bag *bag);
void tc_ngram_bag_free(tc_ngram_bag *bag);

#endif
