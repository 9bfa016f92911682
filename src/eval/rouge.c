/* ROUGE-L as coco-caption's Rouge.calc_score: for each reference the LCS length gives
 * precision lcs/|cand| and recall lcs/|ref|; the maxima over references (taken separately) combine as
 *   F = (1 + b^2) P R / (R + b^2 P),  b = 1.2,   0 when P or R is 0,
 * and the corpus score is the mean over items.
 * Quirk kept: coco splits sentences with str.split(" "), so an empty sentence is ONE empty token; an
 * empty candidate therefore matches an empty reference (LCS 1, F = 1) and nothing else. */
#include "eval/caption_metrics.h"

#include "core/error.h"

#include <stdlib.h>

static const double BETA = 1.2;

/* LCS length with one rolling row of the shorter sequence. Sentinel -1 = coco's empty token "". */
static int lcs(const int32_t *a, int na, const int32_t *b, int nb, int *row /* [nb+1] */) {
    for (int j = 0; j <= nb; j++) row[j] = 0;
    for (int i = 0; i < na; i++) {
        int diag = 0; /* row[j-1] of the previous i */
        for (int j = 1; j <= nb; j++) {
            int up = row[j];
            row[j] = a[i] == b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
            diag = up;
        }
    }
    return row[nb];
}

int tc_rouge_l(const tc_caption_corpus *c, double *out, double *per_item) {
    if (tc_caption_corpus_check(c)) return -1;
    static const int32_t empty_tok = -1;
    int maxlen = 1;
    for (int i = 0; i < c->ref_off[c->n]; i++) maxlen = c->refs[i].n > maxlen ? c->refs[i].n : maxlen;
    int *row = tc_xmalloc((size_t)(maxlen + 1) * sizeof *row);
    double sum = 0;
    for (int i = 0; i < c->n; i++) {
        const int32_t *ct = c->cand[i].n ? c->cand[i].tok : &empty_tok;
        int cn = c->cand[i].n ? c->cand[i].n : 1;
        double pmax = 0, rmax = 0;
        for (int r = c->ref_off[i]; r < c->ref_off[i + 1]; r++) {
            const int32_t *rt = c->refs[r].n ? c->refs[r].tok : &empty_tok;
            int rn = c->refs[r].n ? c->refs[r].n : 1;
            int m = lcs(ct, cn, rt, rn, row);
            double p = (double)m / cn, rc = (double)m / rn;
            if (p > pmax) pmax = p;
            if (rc > rmax) rmax = rc;
        }
        double f = (pmax != 0 && rmax != 0) ? ((1 + BETA * BETA) * pmax * rmax) / (rmax + BETA * BETA * pmax) : 0.0;
        if (per_item) per_item[i] = f;
        sum += f;
    }
    free(row);
    *out = sum / c->n;
    return 0;
}
