/* CIDEr-D exactly as coco-caption's CiderScorer (the "CIDEr" the original OPT reports):
 *   df(g)   = number of items whose references (as a set) contain n-gram g, over THIS corpus;
 *   w(g)    = tf(g) * (log(N) - log(max(1, df(g)))),  N = number of items;
 *   per n (1..4) and reference: sum over the candidate's n-grams of min(w_c, w_r) * w_r  (clipping),
 *           divided by |w_c|_n * |w_r|_n when both are non-zero, times exp(-(dl^2) / (2 sigma^2)),
 *           sigma = 6, where dl is the difference of the sentences' BIGRAM counts (coco's `length`
 *           accumulates term frequencies of n-grams with index 1, i.e. bigrams; kept on purpose);
 *   item    = mean over n, summed over references / #references, x10;  corpus = mean over items. */
#include "eval/caption_metrics.h"
#include "eval/ngram.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CIDER_N 4
static const double SIGMA = 6.0;

typedef struct {
    tc_ngram_bag bag;
    double norm[CIDER_N];
    int length; /* bigram count, see above */
} cvec;

static void cvec_finish(cvec *v, const tc_ngram_table *t, const double *idf) {
    double sq[CIDER_N] = {0};
    v->length = 0;
    for (int j = 0; j < v->bag.n; j++) {
        int32_t g = v->bag.v[j].gid;
        int k = t->order[g] - 1;
        double w = v->bag.v[j].count * idf[g];
        sq[k] += w * w;
        if (k == 1) v->length += v->bag.v[j].count;
    }
    for (int k = 0; k < CIDER_N; k++) v->norm[k] = sqrt(sq[k]);
}

int tc_cider_d(const tc_caption_corpus *c, double *out, double *per_item) {
    if (tc_caption_corpus_check(c)) return -1;
    tc_ngram_table t;
    tc_ngram_table_init(&t);
    int nref_tot = c->ref_off[c->n];
    cvec *cv = tc_xcalloc((size_t)c->n, sizeof *cv);      /* [n] candidates */
    cvec *rv = tc_xcalloc((size_t)nref_tot, sizeof *rv);  /* [nref_tot] references */
    for (int i = 0; i < c->n; i++) {
        for (int r = c->ref_off[i]; r < c->ref_off[i + 1]; r++) tc_ngram_bag_build(&t, &c->refs[r], CIDER_N, &rv[r].bag);
        tc_ngram_bag_build(&t, &c->cand[i], CIDER_N, &cv[i].bag);
    }
    /* document frequency over the items' reference sets */
    double *df = tc_xcalloc((size_t)t.ngid + 1, sizeof *df);
    int32_t *last = tc_xmalloc(((size_t)t.ngid + 1) * sizeof *last); /* last item that counted g */
    memset(last, 0xff, ((size_t)t.ngid + 1) * sizeof *last);
    for (int i = 0; i < c->n; i++)
        for (int r = c->ref_off[i]; r < c->ref_off[i + 1]; r++)
            for (int j = 0; j < rv[r].bag.n; j++) {
                int32_t g = rv[r].bag.v[j].gid;
                if (last[g] != i) { last[g] = i; df[g] += 1; }
            }
    double ref_len = log((double)c->n);
    double *idf = df; /* reuse: idf(g) = log(N) - log(max(1, df(g))) */
    for (int32_t g = 0; g < t.ngid; g++) idf[g] = ref_len - log(df[g] > 1.0 ? df[g] : 1.0);
    for (int i = 0; i < c->n; i++) cvec_finish(&cv[i], &t, idf);
    for (int r = 0; r < nref_tot; r++) cvec_finish(&rv[r], &t, idf);

    double sum = 0;
    for (int i = 0; i < c->n; i++) {
        const cvec *h = &cv[i];
        double score[CIDER_N] = {0};
        for (int r = c->ref_off[i]; r < c->ref_off[i + 1]; r++) {
            const cvec *f = &rv[r];
            double val[CIDER_N] = {0};
            int a = 0, b = 0; /* merge-join the sorted bags; only the candidate's n-grams contribute */
            while (a < h->bag.n && b < f->bag.n) {
                int32_t ga = h->bag.v[a].gid, gb = f->bag.v[b].gid;
                if (ga < gb) a++;
                else if (gb < ga) b++;
                else {
                    double wh = h->bag.v[a].count * idf[ga], wr = f->bag.v[b].count * idf[ga];
                    val[t.order[ga] - 1] += (wh < wr ? wh : wr) * wr;
                    a++;
                    b++;
                }
            }
            double delta = (double)(h->length - f->length);
            double pen = exp(-(delta * delta) / (2 * SIGMA * SIGMA));
            for (int k = 0; k < CIDER_N; k++) {
                if (h->norm[k] != 0 && f->norm[k] != 0) val[k] /= h->norm[k] * f->norm[k];
                score[k] += val[k] * pen;
            }
        }
        double avg = (score[0] + score[1] + score[2] + score[3]) / CIDER_N;
        avg /= (c->ref_off[i + 1] - c->ref_off[i]);
        avg *= 10.0;
        if (per_item) per_item[i] = avg;
        sum += avg;
    }
    *out = sum / c->n;
    for (int i = 0; i < c->n; i++) tc_ngram_bag_free(&cv[i].bag);
    for (int r = 0; r < nref_tot; r++) tc_ngram_bag_free(&rv[r].bag);
    free(cv);
    free(rv);
    free(df);
    free(last);
    tc_ngram_table_free(&t);
    return 0;
}
