/* v2 retrieval protocol with cached features (protocol_model.h; spec Appendix A.5).
 *
 * The fusion is the library TransformerDecoder of opt_v2.c (pre-LN: x += SA(LN1 x); x += XA(LNc x, img);
 * x += FFN(LN2 x)), computed here on packed valid rows like opt_v2.c's packed_block, but split so that
 *   - layer 0's self-attention and its cross-attention queries (text only) are computed once per text,
 *   - the image's cross-attention keys/values are projected once per image per batch and shared,
 *   - the last layer runs its queries, cross-attention and FFN for the [CLS] row only (the ITM head reads
 *     row 0; the other rows only feed that layer's self-attention keys/values).
 * test_eval_protocol checks the scores against tc_opt_v2_fusion + tc_opt_v2_itm_logits. */
#include "eval/protocol_model.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/gemm.h"
#include "core/threads.h"
#include "core/vmath.h"
#include "eval/protocol_rows.h"
#include "model/infer.h"
#include "model/opt_v2.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tc_eval_v2_cache {
    const tc_infer *inf;
    tc_model *m;
    tc_graph *g;
    int n_img, n_txt, R, D, E;
    float *vit;      /* [n_img][R][D] ViT states (post_layernorm) */
    float *img_emb;  /* [n_img][E] ITC image embeddings */
    float *txt_emb;  /* [n_txt][E] ITC text embeddings */
    float **txt_x;   /* [n_txt] -> [len][D]: text states after fusion layer 0's self-attention sub-block */
    float **txt_q;   /* [n_txt] -> [len][D]: layer 0's cross-attention queries of those states (text only too) */
    int *txt_len;    /* [n_txt] tokens incl. [CLS]/[SEP] */
    tc_graph **pool; /* [npool] one graph per pair-batch worker */
    int npool;
};

static void reset(tc_graph *g) {
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
}

/* Contiguous copy of t's elements (views are possible after slices). */
static void copy_out(tc_graph *g, tc_tensor *t, float *dst, long n) {
    tc_tensor *c = tc_contiguous(g, t);
    memcpy(dst, c->data, sizeof(float) * (size_t)n);
}

tc_eval_v2_cache *tc_eval_v2_cache_new(const tc_infer *inf, int n_img, int n_txt) {
    if (inf->m.cfg.arch != TC_ARCH_V2) return tc_error_set("retrieval v2 protocol: the model is not opt-v2"), NULL;
    tc_eval_v2_cache *c = tc_xcalloc(1, sizeof *c);
    c->inf = inf;
    c->m = (tc_model *)&inf->m; /* forwards only read the weights */
    c->g = tc_graph_new();
    reset(c->g);
    c->n_img = n_img;
    c->n_txt = n_txt;
    c->R = tc_opt_v2_of(c->m)->n_patches + 1;
    c->D = c->m->cfg.hidden_size;
    c->E = c->m->cfg.itc_dim;
    c->vit = tc_xmalloc(sizeof(float) * (size_t)n_img * c->R * c->D);
    c->img_emb = tc_xmalloc(sizeof(float) * (size_t)n_img * c->E);
    c->txt_emb = tc_xmalloc(sizeof(float) * (size_t)n_txt * c->E + 1);
    c->txt_x = tc_xcalloc((size_t)n_txt + 1, sizeof *c->txt_x);
    c->txt_q = tc_xcalloc((size_t)n_txt + 1, sizeof *c->txt_q);
    c->txt_len = tc_xcalloc((size_t)n_txt + 1, sizeof *c->txt_len);
    return c;
}

void tc_eval_v2_cache_free(tc_eval_v2_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n_txt; i++) {
        free(c->txt_x[i]);
        free(c->txt_q[i]);
    }
    free(c->txt_x);
    free(c->txt_q);
    free(c->txt_len);
    free(c->vit);
    free(c->img_emb);
    free(c->txt_emb);
    tc_graph_free(c->g);
    for (int i = 0; i < c->npool; i++) tc_graph_free(c->pool[i]);
    free(c->pool);
    free(c);
}

int tc_eval_v2_cache_images(tc_eval_v2_cache *c, const float *pixels, int first, int n) {
    tc_model *m = c->m;
    reset(c->g);
    tc_tensor *vit = tc_opt_v2_vit(c->g, m, pixels, n, m->cfg.train_image_size); /* [n, R, D] */
    if (!vit) return -1;
    copy_out(c->g, vit, c->vit + (long)first * c->R * c->D, (long)n * c->R * c->D);
    copy_out(c->g, tc_opt_v2_itc_image(c->g, m, vit), c->img_emb + (long)first * c->E, (long)n * c->E);
    reset(c->g);
    return 0;
}

/* [CLS] ids[:max_text_len] [SEP] for each text, padded: ids [n][T], valid [n][T]; returns T. */
static int text_input(const tc_infer *inf, const tc_ds_ids *texts, int n, int32_t **ids_out, float **valid_out) {
    int maxp = inf->m.cfg.max_text_len, T = 2;
    for (int i = 0; i < n; i++) {
        int l = (texts[i].n < maxp ? texts[i].n : maxp) + 2;
        if (l > T) T = l;
    }
    int32_t *ids = tc_xcalloc((size_t)n * T, sizeof *ids);
    float *valid = tc_xcalloc((size_t)n * T, sizeof *valid);
    for (int i = 0; i < n; i++) {
        int l = texts[i].n < maxp ? texts[i].n : maxp;
        int32_t *o = ids + (long)i * T;
        o[0] = inf->tok.cls_id;
        memcpy(o + 1, texts[i].v, sizeof(int32_t) * (size_t)l);
        o[l + 1] = inf->tok.sep_id;
        for (int t = 0; t < l + 2; t++) valid[(long)i * T + t] = 1.f;
    }
    *ids_out = ids;
    *valid_out = valid;
    return T;
}

/* tc_eval_v2_cache_texts with graph g (a worker's own, or c->g). */
static int cache_texts_g(tc_eval_v2_cache *c, tc_graph *g, const tc_ds_ids *texts, int first, int n) {
    tc_model *m = c->m;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    int32_t *ids;
    float *valid;
    int T = text_input(c->inf, texts, n, &ids, &valid), D = c->D;
    reset(g);
    tc_tensor *st = tc_opt_v2_text(g, m, ids, valid, n, T, 0); /* [n, T, D] */
    int rc = -1;
    if (st) {
        copy_out(g, tc_opt_v2_itc_text(g, m, st), c->txt_emb + (long)first * c->E, (long)n * c->E);
        tc_tensor *x = st, *q = NULL;
        if (v->fusion.n > 0) { /* layer 0's self-attention sub-block and cross-attention queries: text only */
            tc_nn_block *b = &v->fusion.blocks[0];
            x = tc_add(g, x, tc_nn_mha_fwd(g, &b->attn, tc_nn_layernorm_fwd(g, &b->ln1, x), NULL, valid, 0));
            q = tc_contiguous(g, tc_nn_linear_fwd(g, &b->xattn.q, tc_nn_layernorm_fwd(g, &b->lnc, x)));
        }
        x = tc_contiguous(g, x);
        for (int i = 0; i < n; i++) {
            int len = 0;
            while (len < T && valid[(long)i * T + len] != 0) len++;
            int k = first + i;
            free(c->txt_x[k]);
            c->txt_x[k] = tc_xmalloc(sizeof(float) * (size_t)len * D);
            memcpy(c->txt_x[k], x->data + (long)i * T * D, sizeof(float) * (size_t)len * D);
            free(c->txt_q[k]);
            c->txt_q[k] = NULL;
            if (q) {
                c->txt_q[k] = tc_xmalloc(sizeof(float) * (size_t)len * D);
                memcpy(c->txt_q[k], q->data + (long)i * T * D, sizeof(float) * (size_t)len * D);
            }
            c->txt_len[k] = len;
        }
        rc = 0;
    }
    reset(g);
    free(ids);
    free(valid);
    return rc;
}

int tc_eval_v2_cache_texts(tc_eval_v2_cache *c, const tc_ds_ids *texts, int first, int n) {
    return cache_texts_g(c, c->g, texts, first, n);
}

void tc_eval_v2_similarity(const tc_eval_v2_cache *c, float *sim) {
    /* A plain ordered dot product per entry, images split between threads: every value is bit-for-bit what
     * the serial loop gives, so the top-k sets (and which pairs get re-ranked) never depend on the thread
     * count or a GEMM backend's summation order (near-ties at rank k would otherwise flip). */
    int E = c->E;
#pragma omp parallel for schedule(static) num_threads(tc_get_threads())
    for (int i = 0; i < c->n_img; i++)
        for (int t = 0; t < c->n_txt; t++) {
            const float *a = c->img_emb + (long)i * E, *b = c->txt_emb + (long)t * E;
            float s = 0;
            for (int e = 0; e < E; e++) s += a[e] * b[e];
            sim[(long)i * c->n_txt + t] = s;
        }
}

/* packed [n, ch] -> [P, T, ch] with zero rows at padding */
static tc_tensor *unpack(tc_graph *g, tc_tensor *x, const int32_t *rows, int n, int P, int T) {
    int ch = x->shape[x->ndim - 1], shape[3] = {P, T, ch};
    return tc_reshape(g, tc_scatter_rows(g, x, rows, n, P * T), 3, shape);
}

/* Cross-attention of packed query rows q [nq, D] to the batch's images: group u's rows [r0[u], r0[u+1]) all
 * attend to image u's keys/values ku/vu [nu, R, D] (no memory mask), so each group is one attention call
 * over a [1, rows, D] query and the image's [1, R, D] keys: nothing is copied per pair. -> [nq, D] */
static tc_tensor *cross_groups(tc_graph *g, tc_tensor *q, tc_tensor *ku, tc_tensor *vu, const int *r0, int nu,
                               int heads) {
    int D = q->shape[1], R = ku->shape[1];
    tc_tensor **parts = tc_graph_alloc(g, sizeof(tc_tensor *) * (size_t)nu);
    for (int u = 0; u < nu; u++) {
        int nr = r0[u + 1] - r0[u], qs[3] = {1, nr, D}, ks[3] = {1, R, D}, os[2] = {nr, D};
        tc_tensor *qq = tc_reshape(g, tc_slice(g, q, 0, r0[u], nr), 3, qs);
        tc_tensor *kk = tc_reshape(g, tc_slice(g, ku, 0, u, 1), 3, ks), *vv = tc_reshape(g, tc_slice(g, vu, 0, u, 1), 3, ks);
        parts[u] = tc_reshape(g, tc_attention(g, qq, kk, vv, heads, NULL, 0, 0.f), 2, os);
    }
    return nu == 1 ? parts[0] : tc_concat(g, parts, nu, 0);
}

/* A linear layer's weight as the [dh, D] block of output rows e0..e0+dh of W (W·x convention): GEMM operand
 * B for op(B) = that block ([K = dh, N = D], trans 0) or its transpose ([K = D, N = dh], trans 1 requested
 * by want_t). Sets *ptr, *ld and returns the trans flag. */
static int w_rows(const tc_nn_linear *l, int e0, int want_t, const float **ptr, int *ld) {
    if (l->layout == TC_W_OUT_IN) { /* W [out][in]: rows e0.. are contiguous rows */
        *ptr = l->w->data + (long)e0 * l->in;
        *ld = l->in;
        return want_t;
    }
    *ptr = l->w->data + e0; /* W [in][out]: the block is columns e0.., so its transpose is stored */
    *ld = l->out;
    return !want_t;
}

/* Self-attention of one query row per pair (the [CLS] row of the last fusion layer) over the pair's packed
 * rows, without projecting keys and values for every row. With y the layer-normed rows and q = Wq y_cls + bq:
 *   score_j,h = s·q_h·(Wk_h y_j + bk_h) = y_j·u_h + c_h,   u_h = s·Wk_hᵀ q_h,  c_h = s·q_h·bk_h
 *   out_h     = Σ_j p_j,h (Wv_h y_j + bv_h) = Wv_h (Σ_j p_j,h y_j) + bv_h      (Σ_j p_j,h = 1)
 * so per row only H dot products and H axpys of width D remain, instead of two D×D projections: the same
 * sums in another order (float rounding apart). y [n, D] contiguous, q [P, D] contiguous; pair p's rows
 * are r0[p] .. r0[p] + len[p] - 1. -> [P, D] before the output projection. */
static tc_tensor *cls_self_attention(tc_graph *g, const tc_nn_mha *a, const tc_tensor *y, const tc_tensor *q,
                                     const int32_t *r0, const int *len, int P) {
    int D = y->shape[1], H = a->heads, dh = D / H, HD = H * D, maxl = 1;
    float scale = 1.0f / sqrtf((float)dh);
    for (int p = 0; p < P; p++) maxl = len[p] > maxl ? len[p] : maxl;
    float *u = tc_graph_alloc(g, sizeof(float) * (size_t)P * HD); /* [P][H][D] */
    float *w = tc_graph_alloc(g, sizeof(float) * (size_t)P * HD); /* [P][H][D] probability-weighted rows */
    float *s = tc_graph_alloc(g, sizeof(float) * (size_t)maxl);    /* [maxl] one head's scores */
    int os[2] = {P, D};
    tc_tensor *out = tc_new(g, 2, os);
    for (int h = 0; h < H; h++) { /* u_h = s · q_h Wk_h: [P, dh] x [dh, D] */
        const float *wk;
        int ld, tb = w_rows(&a->k, h * dh, 0, &wk, &ld);
        tc_sgemm(0, tb, P, D, dh, scale, q->data + h * dh, D, wk, ld, 0.0f, u + h * D, HD);
    }
    for (int p = 0; p < P; p++) {
        const float *yp = y->data + (long)r0[p] * D, *qp = q->data + (long)p * D;
        int n = len[p];
        for (int h = 0; h < H; h++) {
            const float *uh = u + (long)p * HD + (long)h * D;
            float ch = 0.f;
            if (a->k.b) {
                const float *bk = a->k.b->data + h * dh;
                for (int e = 0; e < dh; e++) ch += qp[h * dh + e] * bk[e];
                ch *= scale;
            }
            for (int j = 0; j < n; j++) {
                const float *yj = yp + (long)j * D;
                float acc = 0.f;
#pragma omp simd reduction(+ : acc)
                for (int e = 0; e < D; e++) acc += yj[e] * uh[e];
                s[j] = acc + ch;
            }
            float sum = tc_row_exp_sum(s, s, n, tc_row_max(s, n));
            tc_row_scale(s, n, 1.0f / sum);
            float *wh = w + (long)p * HD + (long)h * D;
            memset(wh, 0, sizeof(float) * (size_t)D);
            for (int j = 0; j < n; j++) {
                const float *yj = yp + (long)j * D;
                float pj = s[j];
#pragma omp simd
                for (int e = 0; e < D; e++) wh[e] += pj * yj[e];
            }
        }
    }
    for (int h = 0; h < H; h++) { /* out_h = w_h Wv_hᵀ + bv_h: [P, D] x [D, dh] */
        const float *wv;
        int ld, tb = w_rows(&a->v, h * dh, 1, &wv, &ld);
        if (a->v.b)
            tc_sgemm_bias(0, tb, P, dh, D, 1.0f, w + h * D, HD, wv, ld, 0.0f, out->data + h * dh, D, a->v.b->data + h * dh);
        else
            tc_sgemm(0, tb, P, dh, D, 1.0f, w + h * D, HD, wv, ld, 0.0f, out->data + h * dh, D);
    }
    return out;
}

/* y [rows, out] = x W (+ bias) + beta·y through the layer's weight layout, outside the graph. */
static void lin_rows(const tc_nn_linear *l, const float *x, int ldx, int rows, float beta, float *y, int ldy) {
    int t = l->layout == TC_W_OUT_IN;
    tc_sgemm_bias(0, t, rows, l->out, l->in, 1.0f, x, ldx, l->w->data, t ? l->in : l->out, beta, y, ldy,
                  l->b ? l->b->data : NULL);
}

#define ROWS_CHUNK 128 /* rows per direct-path chunk: its [rows, ffn] hidden stays in L2 (256 KiB at ffn 512) */

/* Fusion layer 0 when more layers follow, on the batch's packed rows x [n, D], in place: cross-attention
 * (queries cached per text), its projection, LN2 and the FFN, chunk by chunk (a chunk = consecutive pairs
 * of one image, about ROWS_CHUNK rows) so that each chunk's intermediates stay in cache; the layer's self-
 * attention already ran per text. When y is not NULL, also y [n, D] = ln_next(x) (the last layer's LN1).
 * Pair p's rows start at r0[p] and number len[p]; image group u is pairs pg[u] .. pg[u+1]-1 with keys and
 * values ku, vu [nu][R][D]. Same sums as the graph ops (float rounding apart). */
static void layer0_rows(tc_graph *g, const tc_eval_v2_cache *c, const tc_nn_block *b, const tc_nn_layernorm *ln_next,
                        const tc_eval_pair *pairs, const int32_t *r0, const int *len, const int *pg, int nu,
                        const float *ku, const float *vu, float *x, float *y) {
    const tc_nn_mha *xa = &b->xattn;
    int D = c->D, R = c->R, H = xa->heads, dh = D / H, F = b->ffn.mapping.out, cap = ROWS_CHUNK;
    int erf = b->ffn.act == TC_ACT_GELU_ERF;
    float scale = 1.0f / sqrtf((float)dh);
    for (int u = 0; u < nu; u++)
        for (int p = pg[u]; p < pg[u + 1]; p++) cap = len[p] > cap ? len[p] : cap;
    float *qb = tc_graph_alloc(g, sizeof(float) * (size_t)cap * D); /* [cap, D] queries */
    float *sb = tc_graph_alloc(g, sizeof(float) * (size_t)cap * R); /* [cap, R] one head's probabilities */
    float *ab = tc_graph_alloc(g, sizeof(float) * (size_t)cap * D); /* [cap, D] attention out, then LN2 out */
    float *hb = tc_graph_alloc(g, sizeof(float) * (size_t)cap * F); /* [cap, F] FFN hidden */
    for (int u = 0; u < nu; u++) {
        const float *K = ku + (long)u * R * D, *V = vu + (long)u * R * D;
        for (int p = pg[u]; p < pg[u + 1];) {
            int p1 = p, nr = 0;
            while (p1 < pg[u + 1] && nr + len[p1] <= cap) {
                memcpy(qb + (long)nr * D, c->txt_q[pairs[p1].txt], sizeof(float) * (size_t)len[p1] * D);
                nr += len[p1++];
            }
            float *xr = x + (long)r0[p] * D;
            for (int h = 0; h < H; h++) {
                tc_sgemm(0, 1, nr, R, dh, scale, qb + h * dh, D, K + h * dh, D, 0.0f, sb, R);
                tc_evr_softmax_rows(sb, nr, R, R);
                tc_sgemm(0, 0, nr, dh, R, 1.0f, sb, R, V + h * dh, D, 0.0f, ab + h * dh, D);
            }
            lin_rows(&xa->proj, ab, D, nr, 1.0f, xr, D); /* x += XA */
            tc_evr_layernorm(xr, D, ab, D, nr, D, b->ln2.gamma->data, b->ln2.beta->data, b->ln2.eps);
            lin_rows(&b->ffn.mapping, ab, D, nr, 0.0f, hb, F);
            tc_evr_gelu(hb, (long)nr * F, erf);
            lin_rows(&b->ffn.projection, hb, F, nr, 1.0f, xr, D); /* x += FFN */
            if (y)
                tc_evr_layernorm(xr, D, y + (long)r0[p] * D, D, nr, D, ln_next->gamma->data, ln_next->beta->data,
                                 ln_next->eps);
            p = p1;
        }
    }
}

/* One batch of pairs (sorted by image) -> ITM class-1 logits out [P]. */
static int itm_batch(tc_eval_v2_cache *c, tc_graph *g, const tc_eval_pair *pairs, int P, float *out) {
    tc_model *m = c->m;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    int D = c->D, R = c->R, L = v->fusion.n, T = 1, n = 0;
    reset(g);
    for (int p = 0; p < P; p++) {
        int l = c->txt_len[pairs[p].txt];
        if (l > T) T = l;
        n += l;
    }
    /* packed text rows x [n, D], their flat positions rows [n] in [P, T], validity [P, T], CLS rows [P] */
    int xs[2] = {n, D};
    /* the direct (graph-free, chunked) path for layer 0: for the GELU activations the fusion uses */
    int direct = L > 1 && (v->fusion.blocks[0].ffn.act == TC_ACT_GELU_TANH || v->fusion.blocks[0].ffn.act == TC_ACT_GELU_ERF);
    /* xq: layer 0's cached queries, for the graph path (the direct path reads them from the cache) */
    tc_tensor *x = tc_new(g, 2, xs), *xq = L > 0 && !direct ? tc_new(g, 2, xs) : NULL;
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n), *cls = tc_graph_alloc(g, sizeof(int32_t) * (size_t)P);
    int *plen = tc_graph_alloc(g, sizeof(int) * (size_t)P); /* [P] rows of each pair */
    float *valid = tc_graph_alloc(g, sizeof(float) * (size_t)P * T);
    memset(valid, 0, sizeof(float) * (size_t)P * T);
    /* the distinct images of the batch (consecutive: pairs are sorted by image); per image group u its first
     * packed row rg[u] and first pair pg[u] (rg[nu] = n, pg[nu] = P) */
    int *uimg = tc_graph_alloc(g, sizeof(int) * (size_t)P), *rg = tc_graph_alloc(g, sizeof(int) * (size_t)(P + 1)),
        *pg = tc_graph_alloc(g, sizeof(int) * (size_t)(P + 1)), nu = 0;
    int r = 0;
    for (int p = 0; p < P; p++) {
        int t = pairs[p].txt, l = c->txt_len[t];
        if (nu == 0 || uimg[nu - 1] != pairs[p].img) {
            uimg[nu] = pairs[p].img;
            rg[nu] = r;
            pg[nu++] = p;
        }
        memcpy(x->data + (long)r * D, c->txt_x[t], sizeof(float) * (size_t)l * D);
        if (xq) memcpy(xq->data + (long)r * D, c->txt_q[t], sizeof(float) * (size_t)l * D);
        cls[p] = r;
        plen[p] = l;
        for (int j = 0; j < l; j++) {
            rows[r + j] = p * T + j;
            valid[(long)p * T + j] = 1.f;
        }
        r += l;
    }
    rg[nu] = n;
    pg[nu] = P;
    int us[3] = {nu, R, D};
    tc_tensor *img = tc_new(g, 3, us); /* [nu, R, D] */
    for (int u = 0; u < nu; u++) memcpy(img->data + (long)u * R * D, c->vit + (long)uimg[u] * R * D, sizeof(float) * (size_t)R * D);
    tc_tensor *h0 = NULL; /* [P, D]: the CLS rows once the last layer narrows to them */
    tc_tensor *y_last = NULL; /* [n, D]: the last layer's LN1 of every row, when layer 0's direct path made it */
    for (int li = 0; li < L; li++) {
        tc_nn_block *b = &v->fusion.blocks[li];
        tc_nn_mha *a = &b->attn, *xa = &b->xattn;
        /* cross-attention keys/values of the batch's images [nu, R, D], shared by their pairs */
        tc_tensor *ku = tc_contiguous(g, tc_nn_linear_fwd(g, &xa->k, img));
        tc_tensor *vu = tc_contiguous(g, tc_nn_linear_fwd(g, &xa->v, img));
        if (li == 0 && L > 1 && direct) {
            tc_tensor *next_ln1 = NULL;
            if (L == 2) { /* the last layer reads LN1 of every row: fuse it into the chunk loop */
                y_last = tc_new(g, 2, xs);
                next_ln1 = y_last;
            }
            layer0_rows(g, c, b, &v->fusion.blocks[1].ln1, pairs, cls, plen, pg, nu, ku->data, vu->data, x->data,
                        next_ln1 ? next_ln1->data : NULL);
        } else if (li < L - 1) {
            if (li > 0) {
                tc_tensor *y = tc_nn_layernorm_fwd(g, &b->ln1, x);
                tc_tensor *q = unpack(g, tc_nn_linear_fwd(g, &a->q, y), rows, n, P, T);
                tc_tensor *k = unpack(g, tc_nn_linear_fwd(g, &a->k, y), rows, n, P, T);
                tc_tensor *vv = unpack(g, tc_nn_linear_fwd(g, &a->v, y), rows, n, P, T);
                tc_tensor *att = tc_gather_rows(g, tc_attention(g, q, k, vv, a->heads, valid, 0, 0.f), rows, n);
                x = tc_add(g, x, tc_nn_linear_fwd(g, &a->proj, att));
            }
            tc_tensor *q = li == 0 ? xq : tc_contiguous(g, tc_nn_linear_fwd(g, &xa->q, tc_nn_layernorm_fwd(g, &b->lnc, x)));
            x = tc_add(g, x, tc_nn_linear_fwd(g, &xa->proj, cross_groups(g, q, ku, vu, rg, nu, xa->heads)));
            x = tc_add(g, x, tc_nn_ffn_fwd(g, &b->ffn, tc_nn_layernorm_fwd(g, &b->ln2, x)));
        } else {
            h0 = tc_gather_rows(g, x, cls, P); /* [P, D] */
            if (li > 0) {
                tc_tensor *y = y_last ? y_last : tc_contiguous(g, tc_nn_layernorm_fwd(g, &b->ln1, x)); /* [n, D] */
                tc_tensor *q = tc_contiguous(g, tc_nn_linear_fwd(g, &a->q, tc_gather_rows(g, y, cls, P)));
                tc_tensor *att = cls_self_attention(g, a, y, q, cls, plen, P); /* [P, D] */
                h0 = tc_add(g, h0, tc_nn_linear_fwd(g, &a->proj, att));
            }
            tc_tensor *q = li == 0 ? tc_gather_rows(g, xq, cls, P)
                                   : tc_contiguous(g, tc_nn_linear_fwd(g, &xa->q, tc_nn_layernorm_fwd(g, &b->lnc, h0)));
            h0 = tc_add(g, h0, tc_nn_linear_fwd(g, &xa->proj, cross_groups(g, q, ku, vu, pg, nu, xa->heads)));
            h0 = tc_add(g, h0, tc_nn_ffn_fwd(g, &b->ffn, tc_nn_layernorm_fwd(g, &b->ln2, h0)));
        }
    }
    if (!h0) h0 = tc_gather_rows(g, x, cls, P); /* no fusion layers */
    tc_tensor *hh = tc_nn_linear_fwd(g, &v->itm0, h0);
    hh = tc_gelu_tanh(g, tc_nn_layernorm_fwd(g, &v->itm1, hh));
    tc_tensor *lg = tc_contiguous(g, tc_nn_linear_fwd(g, &v->itm3, hh)); /* [P, 2] */
    for (int p = 0; p < P; p++) out[p] = lg->data[p * 2 + 1];
    reset(g);
    return 0;
}

/* At least n worker graphs in c->pool. */
static void ensure_pool(tc_eval_v2_cache *c, int n) {
    if (c->npool >= n) return;
    c->pool = tc_xrealloc(c->pool, sizeof *c->pool * (size_t)n);
    while (c->npool < n) c->pool[c->npool++] = tc_graph_new();
}

/* All n texts into the cache in batches of B. The first batch runs alone on c->g (with the ops' own
 * threads), so that whatever the forward sets up lazily in the shared model happens once, before any
 * worker; the others go to workers like the pair batches (one batch per core, ops single-threaded). A
 * batch's states do not depend on the worker. */
static int cache_all_texts(tc_eval_v2_cache *c, const tc_ds_ids *texts, int n, int B, int progress) {
    tc_progress pr;
    if (progress) tc_progress_start(&pr, "texts (encoder, ITC)", n);
    int n0 = n < B ? n : B;
    if (cache_texts_g(c, c->g, texts, 0, n0) != 0) return -1;
    if (progress) tc_progress_add(&pr, n0);
    long nb = (n - n0 + B - 1) / B, next = 0;
    int nt = tc_get_threads(), workers = nt < nb ? nt : (int)nb, failed = 0;
    char msg[512] = "";
    if (workers <= 1) {
        for (int t0 = n0; t0 < n && !failed; t0 += B) {
            int m = n - t0 < B ? n - t0 : B;
            failed = cache_texts_g(c, c->g, texts + t0, t0, m) != 0;
            if (progress) tc_progress_add(&pr, m);
        }
        if (failed) return -1;
    } else {
        ensure_pool(c, workers);
        tc_set_threads(1);
#pragma omp parallel num_threads(workers)
        {
            tc_graph *g = c->pool[omp_get_thread_num()];
            for (;;) {
                long b;
                int f;
#pragma omp atomic capture
                b = next++;
#pragma omp atomic read
                f = failed;
                if (b >= nb || f) break;
                int t0 = n0 + (int)b * B, m = n - t0 < B ? n - t0 : B;
                if (cache_texts_g(c, g, texts + t0, t0, m) != 0) {
#pragma omp critical(tc_eval_v2_error)
                    if (!msg[0]) snprintf(msg, sizeof msg, "%s", tc_error_get());
#pragma omp atomic write
                    failed = 1;
                    break;
                }
                if (progress) tc_progress_add(&pr, m);
            }
        }
        tc_set_threads(nt);
        if (failed) return tc_error_set("%s", msg);
    }
    if (progress) tc_progress_finish(&pr);
    return 0;
}

/* The shared state of one tc_eval_v2_itm_pairs call: workers take batch numbers from next. */
typedef struct pair_run {
    tc_eval_v2_cache *c;
    const tc_eval_pair *pairs;
    long np, nb, next;
    int pair_batch, progress, failed;
    float *out;
    tc_progress pr;
    char msg[512]; /* the first error (messages are thread-local) */
} pair_run;

/* Score batches until none is left (or one failed), with graph g. */
static void run_batches(pair_run *r, tc_graph *g) {
    for (;;) {
        long b;
        int failed;
#pragma omp atomic capture
        b = r->next++;
#pragma omp atomic read
        failed = r->failed;
        if (b >= r->nb || failed) return;
        long p0 = b * r->pair_batch;
        int P = r->np - p0 < r->pair_batch ? (int)(r->np - p0) : r->pair_batch;
        if (itm_batch(r->c, g, r->pairs + p0, P, r->out + p0) != 0) {
#pragma omp critical(tc_eval_v2_error)
            if (!r->msg[0]) snprintf(r->msg, sizeof r->msg, "%s", tc_error_get());
#pragma omp atomic write
            r->failed = 1;
            return;
        }
        if (r->progress) {
#pragma omp critical(tc_eval_v2_progress)
            tc_progress_add(&r->pr, P);
        }
    }
}

/* Pair batches run on worker threads, each with its own graph and every op inside single-threaded (nested
 * OpenMP is off and tc_sgemm sees omp_in_parallel()): a batch is a few hundred small GEMMs and row loops,
 * which scale far better one batch per core than split across cores op by op. A batch's result does not
 * depend on which worker runs it. With one worker the ops thread themselves as usual (no enclosing
 * region: an inactive one would make every op's parallel region a nested team, created afresh each time). */
int tc_eval_v2_itm_pairs(tc_eval_v2_cache *c, const tc_eval_pair *pairs, long np, int pair_batch, float *out,
                         int progress) {
    if (pair_batch < 1) pair_batch = 256;
    for (long i = 0; i < np; i++)
        if (pairs[i].img < 0 || pairs[i].img >= c->n_img || pairs[i].txt < 0 || pairs[i].txt >= c->n_txt)
            return tc_error_set("retrieval v2: pair %ld (image %d, text %d) outside the cache", i, pairs[i].img,
                                pairs[i].txt);
    pair_run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.pairs = pairs;
    r.np = np;
    r.nb = (np + pair_batch - 1) / pair_batch;
    r.pair_batch = pair_batch;
    r.progress = progress;
    r.out = out;
    int nt = tc_get_threads(), workers = nt < r.nb ? nt : (int)r.nb;
    if (workers < 1) workers = 1;
    ensure_pool(c, workers);
    if (progress) tc_progress_start(&r.pr, "ITM re-rank pairs", np);
    if (workers == 1) {
        run_batches(&r, c->pool[0]);
    } else {
        tc_set_threads(1);
#pragma omp parallel num_threads(workers)
        run_batches(&r, c->pool[omp_get_thread_num()]);
        tc_set_threads(nt);
    }
    if (r.failed) return tc_error_set("%s", r.msg);
    if (progress) tc_progress_finish(&r.pr);
    return 0;
}

int tc_eval_retrieval_v2(const tc_infer *inf, const char *const *img_paths, int n_img, const tc_ds_ids *texts,
                         int n_txt, int k, const tc_eval_opts *o, float *sim, float *i2t, float *t2i,
                         tc_eval_timing *tm) {
    int B = o->batch > 0 ? o->batch : 16;
    memset(tm, 0, sizeof *tm);
    tc_eval_v2_cache *c = tc_eval_v2_cache_new(inf, n_img, n_txt);
    if (!c) return -1;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)B * per);
    int rc = 0;
    tc_progress pr;
    double t0 = tc_now_s();
    if (o->progress) tc_progress_start(&pr, "images (ViT, ITC)", n_img);
    for (int i0 = 0; i0 < n_img && rc == 0; i0 += B) {
        int nb = n_img - i0 < B ? n_img - i0 : B;
        rc = tc_load_images(inf, img_paths + i0, nb, px);
        if (rc == 0) rc = tc_eval_v2_cache_images(c, px, i0, nb);
        if (o->progress) tc_progress_add(&pr, nb);
    }
    if (o->progress) tc_progress_finish(&pr);
    free(px);
    double t1 = tc_now_s();
    tm->images_s = t1 - t0;
    if (rc == 0) rc = cache_all_texts(c, texts, n_txt, B, o->progress);
    double t2 = tc_now_s();
    tm->texts_s = t2 - t1;
    float *s = NULL;
    tc_eval_pair *pairs = NULL;
    float *itm = NULL;
    if (rc == 0) {
        s = sim ? sim : tc_xmalloc(sizeof(float) * (size_t)n_img * n_txt);
        tc_eval_v2_similarity(c, s);
        long np = tc_eval_rerank_pairs(s, n_img, n_txt, k, &pairs);
        if (np < 0) rc = -1;
        else {
            itm = tc_xmalloc(sizeof(float) * (size_t)np);
            rc = tc_eval_v2_itm_pairs(c, pairs, np, o->pair_batch, itm, o->progress);
            if (rc == 0) rc = tc_eval_rerank_fill(s, n_img, n_txt, k, pairs, np, itm, i2t, t2i);
            tm->pairs = np;
        }
    }
    tm->pairs_s = tc_now_s() - t2;
    if (s != sim) free(s);
    free(pairs);
    free(itm);
    tc_eval_v2_cache_free(c);
    return rc;
}
