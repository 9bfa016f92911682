/* Greedy / beam search of the original (see beam.h) over the decoder's KV cache. */
#include "model/beam.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEG_INF (-1e9f) /* the original's INF = 1e9: initial scores of beams 1.., finished-beam mask */

tc_beam_cfg tc_beam_cfg_default(void) {
    tc_beam_cfg c = {1, 50, 1.0f, 0};
    return c;
}

/* Top-k of cand over the flattened [K][V] array of one input: val/idx sorted descending, the lower flat index
 * first among equal values (a stable top-k). */
static void topk(const float *lp, const float *score, const unsigned char *fin, int K, int V, int limit, float *val,
                 long *idx) {
    int have = 0;
    for (int b = 0; b < K; b++) {
        const float *row = lp + (long)b * V;
        float base = score[b], mask = fin[b] ? NEG_INF : 0.f;
        int vend = limit > 0 && limit < V ? limit : V;
        for (int v = 0; v < vend; v++) {
            float s = (row[v] + base) + mask; /* the original: (log_probs + state) + mask */
            if (have == K && !(s > val[K - 1])) continue;
            int j = have < K ? have++ : K - 1;
            while (j > 0 && s > val[j - 1]) { val[j] = val[j - 1]; idx[j] = idx[j - 1]; j--; }
            val[j] = s;
            idx[j] = (long)b * V + v;
        }
    }
    for (int j = have; j < K; j++) val[j] = -INFINITY, idx[j] = 0; /* only when K > candidates */
}

int tc_beam_search_fn(int B, int V, const tc_beam_cfg *cfg, tc_beam_step_fn step_fn, void *ctx, int32_t *out_ids,
                      float *out_score, int *out_len) {
    int K = cfg->beam, T = cfg->max_len;
    if (K < 1 || T < 1 || B < 1 || V < 1)
        return tc_error_set("beam search: beam %d, max_len %d, batch %d, vocab %d must be >= 1", K, T, B, V);
    int n = B * K, L = T + 1;
    /* zero-initialised: positions after an early stop stay 0, as the original's trailing EOS ids */
    int32_t *seq = tc_xcalloc((size_t)n * L, sizeof *seq), *nseq = tc_xcalloc((size_t)n * L, sizeof *nseq); /* [n][L] */
    float *score = tc_xcalloc((size_t)n, sizeof(float)), *nscore = tc_xcalloc((size_t)n, sizeof(float));
    int *len = tc_xcalloc((size_t)n, sizeof *len), *nlen = tc_xcalloc((size_t)n, sizeof *nlen);
    int *src = tc_xcalloc((size_t)n, sizeof(int));
    unsigned char *fin = tc_xcalloc((size_t)n, 1), *nfin = tc_xcalloc((size_t)n, 1);
    int32_t *ids = tc_xcalloc((size_t)n, sizeof *ids);
    float *val = tc_xcalloc((size_t)K, sizeof(float)), *sv = tc_xcalloc((size_t)K, sizeof(float));
    long *idx = tc_xcalloc((size_t)K, sizeof(long));
    int *sb = tc_xcalloc((size_t)K, sizeof(int)), *sw = tc_xcalloc((size_t)K, sizeof(int));
    int *order = tc_xcalloc((size_t)K, sizeof(int));
    for (int r = 0; r < n; r++) score[r] = r % K == 0 ? 0.f : NEG_INF;
    int rc = 0;
    for (int step = 0; step < T; step++) {
        int all = 1;
        for (int r = 0; r < n; r++) all &= fin[r];
        if (all) break; /* exact: every later step keeps every slot as it is */
        const float *lp = step_fn(ctx, step == 0 ? NULL : src, ids); /* [n, V] */
        if (!lp) { rc = -1; break; }
        for (int b = 0; b < B; b++) {
            int o = b * K;
            topk(lp + (long)o * V, score + o, fin + o, K, V, cfg->vocab_limit, val, idx);
            for (int k = 0; k < K; k++) {
                if (fin[o + k]) sb[k] = k, sw[k] = 0, sv[k] = score[o + k]; /* slot override */
                else sb[k] = (int)(idx[k] / V), sw[k] = (int)(idx[k] % V), sv[k] = val[k];
            }
            /* EOS slots after the others: stable sort on (w == 0 ? −1e9 : s), descending */
            for (int k = 0; k < K; k++) {
                float key = sw[k] == 0 ? NEG_INF : sv[k];
                int j = k;
                while (j > 0) {
                    int p = order[j - 1];
                    float pk = sw[p] == 0 ? NEG_INF : sv[p];
                    if (!(key > pk)) break;
                    order[j] = p;
                    j--;
                }
                order[j] = k;
            }
            for (int k = 0; k < K; k++) {
                int s = order[k], from = o + sb[s], r = o + k;
                src[r] = from;
                nlen[r] = len[from] + (fin[from] ? 0 : 1);
                memcpy(nseq + (long)r * L, seq + (long)from * L, sizeof(int32_t) * (size_t)(step + 1));
                nseq[(long)r * L + step + 1] = sw[s];
                nfin[r] = sw[s] == 0;
                nscore[r] = sv[s];
                ids[r] = sw[s];
            }
        }
        int32_t *ti = seq; seq = nseq; nseq = ti;
        float *tf = score; score = nscore; nscore = tf;
        int *tl = len; len = nlen; nlen = tl;
        unsigned char *tb = fin; fin = nfin; nfin = tb;
    }
    if (rc == 0)
        for (int b = 0; b < B; b++) {
            int best = 0;
            float bs = -INFINITY;
            for (int k = 0; k < K; k++) {
                int r = b * K + k;
                float ns = score[r] / powf((5.f + (float)len[r]) / 6.f, cfg->length_penalty);
                if (ns > bs) bs = ns, best = k;
            }
            int r = b * K + best;
            memcpy(out_ids + (long)b * L, seq + (long)r * L, sizeof(int32_t) * (size_t)L); /* zeros after a stop */
            if (out_score) out_score[b] = bs;
            if (out_len) out_len[b] = len[r];
        }
    free(seq), free(nseq), free(score), free(nscore), free(len), free(nlen), free(src), free(fin), free(nfin);
    free(ids), free(val), free(sv), free(idx), free(sb), free(sw), free(order);
    return rc;
}

/* ---- the decoder as a step function: KV cache, one graph reset per step */
typedef struct dec_ctx {
    tc_graph *g;
    tc_decoder *dd;
    tc_dec_cache cache;
} dec_ctx;

static const float *dec_step(void *p, const int *src, const int32_t *ids) {
    dec_ctx *c = p;
    if (src) tc_dec_cache_reorder(&c->cache, src);
    tc_graph_reset(c->g);
    tc_tensor *lp = tc_dec_step(c->g, c->dd, &c->cache, ids); /* [n, V], contiguous */
    return lp ? lp->data : NULL;
}

int tc_beam_search(tc_graph *g, tc_decoder *dd, tc_tensor *mem, const float *mem_valid, const tc_beam_cfg *cfg,
                   int32_t *out_ids, float *out_score, int *out_len) {
    if (cfg->beam < 1 || cfg->max_len < 1)
        return tc_error_set("beam search: beam %d and max_len %d must be >= 1", cfg->beam, cfg->max_len);
    if (cfg->max_len > dd->cfg.max_pos)
        return tc_error_set("beam search: max_len %d exceeds dec_max_position %d", cfg->max_len, dd->cfg.max_pos);
    dec_ctx c = {g, dd, {0}};
    /* mem may live in g's arena: it is projected into the cache before g is reset */
    if (tc_dec_cache_init(&c.cache, g, dd, mem, mem_valid, cfg->beam, cfg->max_len) != 0) return -1;
    int rc = tc_beam_search_fn(mem->shape[0], dd->cfg.vocab, cfg, dec_step, &c, out_ids, out_score, out_len);
    tc_graph_reset(g);
    tc_dec_cache_free(&c.cache);
    return rc;
}
