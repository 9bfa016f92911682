/* coco-caption's caption metrics on token-id sentences (docs/metrics.md has the exact definitions,
 * the quirks kept on purpose, and what differs from the original Java/Python tool chain).
 *
 * A corpus is n items; item i has one candidate cand[i] and the references refs[ref_off[i] ..
 * ref_off[i+1]) (at least one). Scores follow pycocoevalcap / the AI-Challenger fork the original uses:
 *   tc_bleu      BLEU-1..4, corpus level, "closest" reference length, tiny = 1e-15, small = 1e-9;
 *   tc_rouge_l   ROUGE-L, beta = 1.2, max precision / max recall over references, mean over items;
 *   tc_cider_d   CIDEr-D: n = 4, sigma = 6, df from the references of this corpus, clipped tf-idf,
 *                Gaussian length penalty, x10, mean over items;
 *   tc_meteor    METEOR 1.5, exact matching only, English "rank" parameters, corpus score from summed
 *                statistics (the EVAL line of the Java tool).
 * Each returns the corpus score and, when per_item is not NULL, fills per-item scores ([n], for BLEU
 * [n][4] as coco's per-image bleu lists). All are deterministic and single-threaded. */
#ifndef TC_EVAL_CAPTION_METRICS_H
#define TC_EVAL_CAPTION_METRICS_H

#include <stdint.h>

typedef struct tc_tokseq {
    const int32_t *tok; /* [n] token ids (any non-negative ints; equal ids = equal tokens) */
    int n;
} tc_tokseq;

typedef struct tc_caption_corpus {
    int n;                 /* items */
    const tc_tokseq *cand; /* [n] */
    const int *ref_off;    /* [n+1], ref_off[0] = 0, strictly increasing */
    const tc_tokseq *refs; /* [ref_off[n]] */
    /* METEOR only: is_function[token id] != 0 marks METEOR's English function words (see
     * tc_meteor_is_function_word); NULL = every token is a content word. */
    const uint8_t *is_function;
    int32_t n_tokens;      /* size of is_function */
} tc_caption_corpus;

/* METEOR 1.5 parameters for "-l en" (default task "rank"): alpha, beta, gamma, delta; beam width. */
#define TC_METEOR_ALPHA 0.85
#define TC_METEOR_BETA 0.20
#define TC_METEOR_GAMMA 0.60
#define TC_METEOR_DELTA 0.75
#define TC_METEOR_BEAM 40

/* All return -1 (message set) when the corpus is malformed (n < 1, an item without references). */
int tc_bleu(const tc_caption_corpus *c, double out[4], double (*per_item)[4]);
int tc_rouge_l(const tc_caption_corpus *c, double *out, double *per_item);
int tc_cider_d(const tc_caption_corpus *c, double *out, double *per_item);
int tc_meteor(const tc_caption_corpus *c, double *out, double *per_item);

/* METEOR's sufficient statistics (MeteorStats with one exact stage). */
typedef struct tc_meteor_stats {
    double test_len, ref_len;                 /* words */
    double test_func, ref_func;               /* function words among them */
    double test_match_content, test_match_func, ref_match_content, ref_match_func;
    double chunks;
} tc_meteor_stats;
/* Align one pair and fill its statistics; is_function as in tc_caption_corpus (may be NULL). */
void tc_meteor_align(const tc_tokseq *test, const tc_tokseq *ref, const uint8_t *is_function, int32_t n_tokens,
                     tc_meteor_stats *st);
double tc_meteor_score(const tc_meteor_stats *st);
/* Is this (lower-cased) token in METEOR 1.5's English function-word list? */
int tc_meteor_is_function_word(const char *tok);

/* Validate the corpus layout; shared by the metrics. */
int tc_caption_corpus_check(const tc_caption_corpus *c);

#endif
