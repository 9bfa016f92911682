/* Model-free pieces of the retrieval protocols (protocol_retrieval.h). */
#include "eval/protocol_retrieval.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a ranks before b: larger value, then lower index */
static int before(float va, int ia, float vb, int ib) { return va > vb || (va == vb && ia < ib); }

int tc_eval_topk(const float *v, int n, int stride, int k, int32_t *out) {
    if (k > n) k = n;
    if (k <= 0) return 0;
    float *best = tc_xmalloc(sizeof(float) * (size_t)k); /* [k] values of out, sorted */
    int have = 0;
    for (int i = 0; i < n; i++) {
        float x = v[(long)i * stride];
        /* cheap rejection: not better than the current k-th */
        if (have == k && !before(x, i, best[k - 1], out[k - 1])) continue;
        int pos = have < k ? have : k - 1;
        while (pos > 0 && before(x, i, best[pos - 1], out[pos - 1])) {
            best[pos] = best[pos - 1];
            out[pos] = out[pos - 1];
            pos--;
        }
        best[pos] = x;
        out[pos] = i;
        if (have < k) have++;
    }
    free(best);
    return have;
}

static int pair_cmp(const void *a, const void *b) {
    const tc_eval_pair *x = a, *y = b;
    if (x->img != y->img) return x->img < y->img ? -1 : 1;
    return x->txt < y->txt ? -1 : x->txt > y->txt;
}

long tc_eval_rerank_pairs(const float *sim, int n_img, int n_txt, int k, tc_eval_pair **pairs) {
    *pairs = NULL;
    if (n_img < 1 || n_txt < 1 || k < 1)
        return tc_error_set("retrieval re-ranking: %d images, %d texts, k %d (expected >= 1 each)", n_img, n_txt, k);
    for (long i = 0; i < (long)n_img * n_txt; i++)
        if (isnan(sim[i]))
            return tc_error_set("retrieval re-ranking: similarity of image %ld, text %ld is NaN", i / n_txt, i % n_txt);
    int ki = k < n_txt ? k : n_txt, kt = k < n_img ? k : n_img;
    long cap = (long)n_img * ki + (long)n_txt * kt, np = 0;
    tc_eval_pair *p = tc_xmalloc(sizeof *p * (size_t)cap);
    int32_t *idx = tc_xmalloc(sizeof(int32_t) * (size_t)(ki > kt ? ki : kt));
    for (int i = 0; i < n_img; i++) {
        int got = tc_eval_topk(sim + (long)i * n_txt, n_txt, 1, ki, idx);
        for (int j = 0; j < got; j++) p[np++] = (tc_eval_pair){i, idx[j]};
    }
    for (int t = 0; t < n_txt; t++) {
        int got = tc_eval_topk(sim + t, n_img, n_txt, kt, idx);
        for (int j = 0; j < got; j++) p[np++] = (tc_eval_pair){idx[j], t};
    }
    free(idx);
    qsort(p, (size_t)np, sizeof *p, pair_cmp);
    long u = 0;
    for (long i = 0; i < np; i++)
        if (u == 0 || pair_cmp(&p[u - 1], &p[i]) != 0) p[u++] = p[i];
    *pairs = tc_xrealloc(p, sizeof *p * (size_t)u);
    return u;
}

static long find_pair(const tc_eval_pair *pairs, long np, int img, int txt) {
    tc_eval_pair key = {img, txt};
    const tc_eval_pair *f = bsearch(&key, pairs, (size_t)np, sizeof key, pair_cmp);
    return f ? f - pairs : -1;
}

int tc_eval_rerank_fill(const float *sim, int n_img, int n_txt, int k, const tc_eval_pair *pairs, long np,
                        const float *itm, float *i2t, float *t2i) {
    long n = (long)n_img * n_txt;
    for (long i = 0; i < n; i++) i2t[i] = t2i[i] = TC_EVAL_RERANK_FILL;
    int ki = k < n_txt ? k : n_txt, kt = k < n_img ? k : n_img;
    int32_t *idx = tc_xmalloc(sizeof(int32_t) * (size_t)(ki > kt ? ki : kt));
    int rc = 0;
    for (int i = 0; i < n_img && rc == 0; i++) {
        int got = tc_eval_topk(sim + (long)i * n_txt, n_txt, 1, ki, idx);
        for (int j = 0; j < got && rc == 0; j++) {
            long p = find_pair(pairs, np, i, idx[j]);
            if (p < 0) rc = tc_error_set("retrieval re-ranking: no ITM score for image %d, text %d", i, idx[j]);
            else i2t[(long)i * n_txt + idx[j]] = itm[p];
        }
    }
    for (int t = 0; t < n_txt && rc == 0; t++) {
        int got = tc_eval_topk(sim + t, n_img, n_txt, kt, idx);
        for (int j = 0; j < got && rc == 0; j++) {
            long p = find_pair(pairs, np, idx[j], t);
            if (p < 0) rc = tc_error_set("retrieval re-ranking: no ITM score for image %d, text %d", idx[j], t);
            else t2i[(long)t * n_img + idx[j]] = itm[p];
        }
    }
    free(idx);
    return rc;
}
