/* The v1 cross-modal decoder: teacher forcing and incremental decoding with a KV cache (see decoder.h). */
#include "model/decoder.h"

#include "core/error.h"

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tc_decoder_make(tc_decoder *dd, tc_nn *nn, const char *prefix, const tc_dec_cfg *cfg) {
    char name[512];
    memset(dd, 0, sizeof *dd);
    dd->cfg = *cfg;
    tc_init w = tc_init_normal(0.02f);
    snprintf(name, sizeof name, "%s.tfm_embedding_lookup", prefix);
    tc_nn_embedding_make(&dd->emb, nn, name, cfg->vocab, cfg->d, -1, w);
    snprintf(name, sizeof name, "%s.LinearEmbedding", prefix);
    tc_nn_linear_make(&dd->le, nn, name, cfg->d_mem, cfg->d, 1, TC_W_OUT_IN, w);
    tc_block_cfg be = tc_block_cfg_local(cfg->d, cfg->heads, cfg->ffn, cfg->dropout, 0);
    snprintf(name, sizeof name, "%s.tfm_encoder", prefix);
    tc_nn_stack_make(&dd->enc, nn, name, cfg->enc_layers, &be);
    tc_block_cfg bd = tc_block_cfg_local(cfg->d, cfg->heads, cfg->ffn, cfg->dropout, 1);
    snprintf(name, sizeof name, "%s.tfm_decoder", prefix);
    tc_nn_stack_make(&dd->dec, nn, name, cfg->dec_layers, &bd);
    dd->pe = tc_xmalloc(sizeof(float) * (size_t)cfg->max_pos * (size_t)cfg->d);
    tc_nn_sinusoid_table(dd->pe, cfg->max_pos, cfg->d);
}

void tc_decoder_free(tc_decoder *dd) {
    if (!dd) return;
    tc_nn_stack_free(&dd->enc);
    tc_nn_stack_free(&dd->dec);
    free(dd->pe);
    dd->pe = NULL;
}

tc_tensor *tc_decoder_memory(tc_graph *g, tc_decoder *dd, tc_tensor *h, const float *valid) {
    tc_tensor *s0 = tc_nn_linear_fwd(g, &dd->le, h); /* [B, S, d]; no positions (§1.10 item 1) */
    return tc_nn_stack_fwd(g, &dd->enc, s0, valid, 0, NULL, NULL);
}

static int check_ids(const tc_decoder *dd, const int32_t *ids, long n) {
    for (long i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= dd->cfg.vocab)
            return tc_error_set("decoder: token id %d at position %ld is outside [0, %d)", ids[i], i, dd->cfg.vocab);
    return 0;
}

tc_tensor *tc_decoder_embed(tc_graph *g, tc_decoder *dd, const int32_t *ids, int B, int T) {
    if (T > dd->cfg.max_pos) {
        tc_error_set("decoder: %d target positions exceed dec_max_position %d", T, dd->cfg.max_pos);
        return NULL;
    }
    if (check_ids(dd, ids, (long)B * T) != 0) return NULL;
    int d = dd->cfg.d, pshape[2] = {T, d};
    tc_tensor *x = tc_scale(g, tc_nn_embedding_fwd(g, &dd->emb, ids, B, T), sqrtf((float)d)); /* [B, T, d] */
    x = tc_add_rows(g, x, tc_from_data(g, dd->pe, 2, pshape));
    return dd->cfg.dropout > 0 ? tc_dropout(g, x, dd->cfg.dropout) : x;
}

tc_tensor *tc_decoder_states(tc_graph *g, tc_decoder *dd, const int32_t *ids, const float *tgt_valid, int B, int T,
                             tc_tensor *mem, const float *mem_valid) {
    tc_tensor *x = tc_decoder_embed(g, dd, ids, B, T);
    if (!x) return NULL;
    return tc_nn_stack_fwd(g, &dd->dec, x, tgt_valid, 1, mem, mem_valid);
}

tc_tensor *tc_decoder_logits(tc_graph *g, tc_decoder *dd, tc_tensor *states) {
    return tc_linear(g, states, dd->emb.table, NULL, TC_W_OUT_IN); /* tied, no bias */
}

tc_tensor *tc_decoder_logprobs(tc_graph *g, tc_decoder *dd, tc_tensor *states) {
    return tc_log_softmax(g, tc_decoder_logits(g, dd, states));
}

tc_tensor *tc_decoder_loss(tc_graph *g, tc_decoder *dd, tc_tensor *logits, const int32_t *targets,
                           const float *weights, float label_smoothing) {
    long n = (long)tc_numel(logits) / dd->cfg.vocab;
    int32_t *tg = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    for (long i = 0; i < n; i++) tg[i] = (weights && weights[i] == 0) ? -100 : targets[i];
    int shape[2] = {(int)n, dd->cfg.vocab};
    float V = (float)dd->cfg.vocab;
    /* torch-style smoothing spreads eps/V over all classes; eps = ls·V/(V−1) gives ls/(V−1) off the gold */
    return tc_cross_entropy(g, tc_reshape(g, logits, 2, shape), tg, -100, label_smoothing * V / (V - 1.f),
                            TC_REDUCE_MEAN);
}

/* ------------------------------------------------------------------------------------------ KV cache */

/* A grad-free leaf view [n0, n1, n2] over caller-owned memory with row stride s0 (elements). */
static tc_tensor leaf3(float *data, int n0, int n1, int n2, long s0) {
    tc_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.ndim = 3;
    t.shape[0] = n0, t.shape[1] = n1, t.shape[2] = n2, t.shape[3] = 1;
    t.stride[0] = (int)s0, t.stride[1] = n2, t.stride[2] = 1, t.stride[3] = 1;
    t.node = -1;
    return t;
}

/* Copy x [B, R, d] (any strides) into dst [B·rep][R][d], each batch row repeated rep times. */
static void copy_rep(const tc_tensor *x, int rep, float *dst) {
    int B = x->shape[0], R = x->shape[1], d = x->shape[2];
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            const float *src = x->data + (long)b * x->stride[0] + (long)r * x->stride[1];
            for (int k = 0; k < rep; k++) {
                float *o = dst + (((long)b * rep + k) * R + r) * d;
                for (int i = 0; i < d; i++) o[i] = src[(long)i * x->stride[2]];
            }
        }
}

int tc_dec_cache_init(tc_dec_cache *c, tc_graph *g, tc_decoder *dd, tc_tensor *mem, const float *mem_valid,
                      int rep, int cap) {
    memset(c, 0, sizeof *c);
    if (mem->ndim != 3 || mem->shape[2] != dd->cfg.d)
        return tc_error_set("decoder cache: memory must be [B, S, %d]", dd->cfg.d);
    if (rep < 1 || cap < 1 || cap > dd->cfg.max_pos)
        return tc_error_set("decoder cache: %d positions (beam %d) must be within 1..dec_max_position %d", cap, rep,
                            dd->cfg.max_pos);
    int B = mem->shape[0], S = mem->shape[1], d = dd->cfg.d, L = dd->dec.n;
    c->n = B * rep, c->S = S, c->cap = cap, c->t = 0, c->layers = L, c->d = d;
    size_t self = (size_t)L * c->n * cap * d, cross = (size_t)L * c->n * S * d;
    c->k = tc_xmalloc(sizeof(float) * (self ? self : 1));
    c->v = tc_xmalloc(sizeof(float) * (self ? self : 1));
    c->xk = tc_xmalloc(sizeof(float) * (cross ? cross : 1));
    c->xv = tc_xmalloc(sizeof(float) * (cross ? cross : 1));
    c->tmp = tc_xmalloc(sizeof(float) * (size_t)c->n * cap * d);
    c->mem_valid = tc_xmalloc(sizeof(float) * (size_t)c->n * S);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < rep; k++)
            for (int s = 0; s < S; s++) c->mem_valid[((long)b * rep + k) * S + s] = mem_valid ? mem_valid[(long)b * S + s] : 1.f;
    for (int l = 0; l < L; l++) {
        tc_nn_mha *xa = &dd->dec.blocks[l].xattn;
        tc_tensor *k = tc_nn_linear_fwd(g, &xa->k, mem), *v = tc_nn_linear_fwd(g, &xa->v, mem); /* [B, S, d] */
        copy_rep(k, rep, c->xk + (size_t)l * c->n * S * d);
        copy_rep(v, rep, c->xv + (size_t)l * c->n * S * d);
    }
    return 0;
}

void tc_dec_cache_free(tc_dec_cache *c) {
    free(c->k), free(c->v), free(c->xk), free(c->xv), free(c->tmp), free(c->mem_valid);
    memset(c, 0, sizeof *c);
}

static void reorder_rows(float *base, float *tmp, const int *src, int n, long row, long used) {
    for (int r = 0; r < n; r++) memcpy(tmp + r * row, base + (long)src[r] * row, sizeof(float) * (size_t)used);
    for (int r = 0; r < n; r++) memcpy(base + r * row, tmp + r * row, sizeof(float) * (size_t)used);
}

void tc_dec_cache_reorder(tc_dec_cache *c, const int *src) {
    int identity = 1;
    for (int r = 0; r < c->n; r++) identity &= src[r] == r;
    if (identity || c->t == 0) return;
    long row = (long)c->cap * c->d, used = (long)c->t * c->d, per = (long)c->n * row;
    for (int l = 0; l < c->layers; l++) {
        reorder_rows(c->k + l * per, c->tmp, src, c->n, row, used);
        reorder_rows(c->v + l * per, c->tmp, src, c->n, row, used);
    }
    /* cross keys/values are the same for every beam of one input, and beams never change input */
}

/* Sum of the 8 lanes. */
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* y [n, out] = x [n, in] · Wᵀ (+ b) for an out×in W, for the handful of rows of one decode step. A GEMM call
 * would pack all of W to multiply one row; this streams each W row once for up to 4 x rows (a decode step is
 * bound by reading the weights), with the outputs split across threads. Inference only: records no backward
 * (tc_dec_step runs with grad disabled). */
static tc_tensor *lin_step(tc_graph *g, const tc_nn_linear *l, tc_tensor *x) {
    if (l->layout != TC_W_OUT_IN || !tc_is_contiguous(l->w)) return tc_nn_linear_fwd(g, l, x);
    if (!tc_is_contiguous(x)) x = tc_contiguous(g, x);
    int in = l->in, out = l->out, n = (int)(tc_numel(x) / (size_t)in);
    int shape[TC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[i];
    shape[x->ndim - 1] = out;
    tc_tensor *y = tc_new(g, x->ndim, shape);
    const float *W = l->w->data, *bias = l->b ? l->b->data : NULL, *X = x->data;
    float *Y = y->data;
    int k8 = in / 8 * 8;
    for (int r0 = 0; r0 < n; r0 += 4) {
        int nr = n - r0 < 4 ? n - r0 : 4;
        const float *x0 = X + (long)r0 * in, *x1 = x0 + (nr > 1 ? in : 0), *x2 = x0 + (nr > 2 ? 2L * in : 0),
                    *x3 = x0 + (nr > 3 ? 3L * in : 0);
#pragma omp parallel for schedule(static) if ((long)out * in >= (1L << 16))
        for (int o = 0; o < out; o++) {
            const float *w = W + (long)o * in;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < k8; k += 8) {
                __m256 wv = _mm256_loadu_ps(w + k);
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + k), wv, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x1 + k), wv, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x2 + k), wv, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x3 + k), wv, a3);
            }
            float s[4] = {hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3)};
            for (int k = k8; k < in; k++) s[0] += x0[k] * w[k], s[1] += x1[k] * w[k], s[2] += x2[k] * w[k], s[3] += x3[k] * w[k];
            for (int r = 0; r < nr; r++) Y[(long)(r0 + r) * out + o] = s[r] + (bias ? bias[o] : 0.f);
        }
    }
    return y;
}

/* Append x [n, 1, d] (contiguous or not) at position t of a [n][cap][d] buffer. */
static void append(float *buf, const tc_tensor *x, int t, int cap) {
    int n = x->shape[0], d = x->shape[2];
    for (int r = 0; r < n; r++) {
        const float *s = x->data + (long)r * x->stride[0];
        float *o = buf + ((long)r * cap + t) * d;
        for (int i = 0; i < d; i++) o[i] = s[(long)i * x->stride[2]];
    }
}

tc_tensor *tc_dec_step(tc_graph *g, tc_decoder *dd, tc_dec_cache *c, const int32_t *ids) {
    int n = c->n, d = c->d, t = c->t, S = c->S;
    if (t >= c->cap) {
        tc_error_set("decoder: cache full (%d positions)", c->cap);
        return NULL;
    }
    if (check_ids(dd, ids, n) != 0) return NULL;
    int pshape[2] = {1, d};
    tc_tensor *x = tc_scale(g, tc_nn_embedding_fwd(g, &dd->emb, ids, n, 1), sqrtf((float)d)); /* [n, 1, d] */
    x = tc_add_rows(g, x, tc_from_data(g, dd->pe + (long)t * d, 2, pshape));
    long self_per = (long)n * c->cap * d, cross_per = (long)n * S * d;
    for (int l = 0; l < c->layers; l++) {
        tc_nn_block *b = &dd->dec.blocks[l];
        /* self-attention over the cached prefix plus this position (all earlier positions are real tokens:
         * the original feeds the whole prefix with a causal mask only) */
        tc_tensor *h = tc_nn_layernorm_fwd(g, &b->ln1, x);
        tc_tensor *q = lin_step(g, &b->attn.q, h);
        append(c->k + l * self_per, lin_step(g, &b->attn.k, h), t, c->cap);
        append(c->v + l * self_per, lin_step(g, &b->attn.v, h), t, c->cap);
        tc_tensor kc = leaf3(c->k + l * self_per, n, t + 1, d, (long)c->cap * d);
        tc_tensor vc = leaf3(c->v + l * self_per, n, t + 1, d, (long)c->cap * d);
        tc_tensor *a = tc_attention(g, q, &kc, &vc, b->cfg.heads, NULL, 0, 0.f);
        x = tc_add(g, x, lin_step(g, &b->attn.proj, a));
        /* cross-attention to the memory's cached keys/values */
        h = tc_nn_layernorm_fwd(g, &b->lnc, x);
        q = lin_step(g, &b->xattn.q, h);
        tc_tensor xk = leaf3(c->xk + l * cross_per, n, S, d, (long)S * d);
        tc_tensor xv = leaf3(c->xv + l * cross_per, n, S, d, (long)S * d);
        a = tc_attention(g, q, &xk, &xv, b->cfg.heads, c->mem_valid, 0, 0.f);
        x = tc_add(g, x, lin_step(g, &b->xattn.proj, a));
        h = tc_nn_act(g, lin_step(g, &b->ffn.mapping, tc_nn_layernorm_fwd(g, &b->ln2, x)), b->ffn.act);
        x = tc_add(g, x, lin_step(g, &b->ffn.projection, h));
    }
    c->t = t + 1;
    int oshape[2] = {n, dd->cfg.vocab};
    tc_nn_linear out = {dd->emb.table, NULL, TC_W_OUT_IN, dd->cfg.d, dd->cfg.vocab}; /* tied, no bias */
    return tc_reshape(g, tc_log_softmax(g, lin_step(g, &out, x)), 2, oshape);
}
