/* BLEU-1..4 exactly as coco-caption's BleuScorer.compute_score(option="closest"):
 *   per item: clipped n-gram matches against the per-n-gram maximum count over the references,
 *             guesses max(0, len - k + 1), reference length = the reference length closest to the
 *             candidate length (ties -> the shorter);
 *   corpus:   BLEU-k = (prod_{i<=k} (correct_i + 1e-15) / (guess_i + 1e-9))^(1/k), times the brevity
 *             penalty exp(1 - 1/ratio) when ratio = (testlen + 1e-15) / (reflen + 1e-9) < 1.
 * The per-item values are coco's per-image bleu lists (same formula on one item). */
#include "eval/caption_metrics.h"
#include "eval/ngram.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLEU_N 4
static const double TINY = 1e-15, SMALL = 1e-9;

int tc_caption_corpus_check(const tc_caption_corpus *c) {
    if (!c || c->n < 1) return tc_error_set("caption metrics: the corpus is empty (expected at least one item)");
    if (c->ref_off[0] != 0) return tc_error_set("caption metrics: ref_off[0] must be 0");
    for (int i = 0; i < c->n; i++) {
        if (c->ref_off[i + 1] <= c->ref_off[i])
            return tc_error_set("caption metrics: item %d has no reference (expected at least one)", i);
        if (c->cand[i].n < 0) return tc_error_set("caption metrics: item %d: negative candidate length", i);
    }
    return 0;
}

/* BLEU from totals; writes out[k] for k = 0..3. */
static void bleu_from_counts(const double correct[BLEU_N], const double guess[BLEU_N], double testlen,
                             double reflen, double out[BLEU_N]) {
    double b = 1.0;
    for (int k = 0; k < BLEU_N; k++) {
        b *= (correct[k] + TINY) / (guess[k] + SMALL);
        out[k] = pow(b, 1.0 / (k + 1));
    }
    double ratio = (testlen + TINY) / (reflen + SMALL);
    if (ratio < 1)
        for (int k = 0; k < BLEU_N; k++) out[k] *= exp(1 - 1 / ratio);
}

int tc_bleu(const tc_caption_corpus *c, double out[4], double (*per_item)[4]) {
    if (tc_caption_corpus_check(c)) return -1;
    tc_ngram_table t;
    tc_ngram_table_init(&t);
    double correct[BLEU_N] = {0}, guess[BLEU_N] = {0}, testlen = 0, reflen = 0;
    int32_t *maxc = NULL; /* [ngid] max count over the current item's references; reset after use */
    int32_t maxc_cap = 0;
    for (int i = 0; i < c->n; i++) {
        const tc_tokseq *cand = &c->cand[i];
        int nref = c->ref_off[i + 1] - c->ref_off[i];
        tc_ngram_bag *rb = tc_xmalloc((size_t)nref * sizeof *rb);
        tc_ngram_bag cb;
        for (int r = 0; r < nref; r++) tc_ngram_bag_build(&t, &c->refs[c->ref_off[i] + r], BLEU_N, &rb[r]);
        tc_ngram_bag_build(&t, cand, BLEU_N, &cb);
        if (t.ngid > maxc_cap) {
            int32_t nc = t.ngid * 2;
            maxc = tc_xrealloc(maxc, (size_t)nc * sizeof *maxc);
            memset(maxc + maxc_cap, 0, (size_t)(nc - maxc_cap) * sizeof *maxc);
            maxc_cap = nc;
        }
        /* closest reference length: min over (|l - testlen|, l) */
        int tl = cand->n, best_l = -1, best_d = 0;
        for (int r = 0; r < nref; r++) {
            int l = c->refs[c->ref_off[i] + r].n, d = abs(l - tl);
            if (best_l < 0 || d < best_d || (d == best_d && l < best_l)) { best_l = l; best_d = d; }
            for (int j = 0; j < rb[r].n; j++)
                if (rb[r].v[j].count > maxc[rb[r].v[j].gid]) maxc[rb[r].v[j].gid] = rb[r].v[j].count;
        }
        double ci[BLEU_N] = {0}, gi[BLEU_N];
        for (int j = 0; j < cb.n; j++) {
            int32_t g = cb.v[j].gid, m = maxc[g];
            ci[t.order[g] - 1] += cb.v[j].count < m ? cb.v[j].count : m;
        }
        for (int k = 0; k < BLEU_N; k++) {
            gi[k] = tl - k > 0 ? tl - k : 0;
            correct[k] += ci[k];
            guess[k] += gi[k];
        }
        testlen += tl;
        reflen += best_l;
        if (per_item) bleu_from_counts(ci, gi, tl, best_l, per_item[i]);
        for (int r = 0; r < nref; r++) {
            for (int j = 0; j < rb[r].n; j++) maxc[rb[r].v[j].gid] = 0;
            tc_ngram_bag_free(&rb[r]);
        }
        free(rb);
        tc_ngram_bag_free(&cb);
    }
    bleu_from_counts(correct, guess, testlen, reflen, out);
    free(maxc);
    tc_ngram_table_free(&t);
    return 0;
}
