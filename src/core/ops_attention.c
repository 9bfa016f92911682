/* Multi-head scaled dot-product attention, one (batch, head) pair per OpenMP iteration.
 *
 * Per pair, with Q [Tq, dh], K/V [Tk, dh] read in place from the projected tensors (row stride = their
 * row stride, head h at column offset h*dh: no split/merge-heads copies):
 *   S = Q Kᵀ / sqrt(dh) + bias;   bias = -10000 for padded keys, and -10000 more for j > i when causal
 *   P = softmax(S) (fp32, saved for backward);  Pd = dropout(P);  O = Pd V written into out[:, h*dh..]
 * The three products are tc_sgemm calls (OpenBLAS forced single-threaded inside the parallel loop);
 * mask add, softmax and dropout are fused into one pass over each score row. */
#include <math.h>
#include <omp.h>

#include "core/gemm.h"
#include "core/graph_internal.h"
#include "core/threads.h"
#include "core/vmath.h"

typedef struct {
    float *P;      /* [B, H, Tq, Tk] softmax probabilities (before dropout) */
    uint8_t *keep; /* [B, H, Tq, Tk] dropout keep-mask, NULL without dropout */
    int B, H, Tq, Tk, D, dh;
    float drop_scale;
} attn_ctx;

/* Fork only when there is enough work to pay for waking the team (tiny problems run serially). */
static int attn_parallel(int pairs, size_t per, int dh) { return pairs > 1 && (double)pairs * per * dh >= 65536.0; }

static int attn_ok(const tc_tensor *t) { return t->ndim == 3 && t->stride[2] == 1; }

static void attn_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *q = nd->in[0], *k = nd->in[1], *v = nd->in[2], *o = nd->out;
    const attn_ctx *c = nd->ctx;
    int B = c->B, H = c->H, Tq = c->Tq, Tk = c->Tk, D = c->D, dh = c->dh;
    float scale = 1.0f / sqrtf((float)dh), ds = c->drop_scale;
    float *gq = q->requires_grad ? tc_grad(g, q) : NULL;
    float *gk = k->requires_grad ? tc_grad(g, k) : NULL;
    float *gv = v->requires_grad ? tc_grad(g, v) : NULL;
    int nt = tc_get_threads();
    size_t per = (size_t)Tq * Tk;
    float *scratch = tc_graph_alloc(g, (size_t)nt * 2 * per * sizeof(float));
    int par = attn_parallel(B * H, per, dh);
    tc_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        float *dP = scratch + (size_t)omp_get_thread_num() * 2 * per, *Pd = dP + per;
        const float *P = c->P + (size_t)bh * per;
        const uint8_t *keep = c->keep ? c->keep + (size_t)bh * per : NULL;
        const float *Q = q->data + (long)b * q->stride[0] + h * dh;
        const float *K = k->data + (long)b * k->stride[0] + h * dh;
        const float *V = v->data + (long)b * v->stride[0] + h * dh;
        const float *dO = o->grad + (long)b * Tq * D + h * dh;
        int ldq = q->stride[1], ldk = k->stride[1], ldv = v->stride[1];
        if (keep) {
#pragma omp simd
            for (size_t e = 0; e < per; e++) Pd[e] = P[e] * (ds * (float)keep[e]);
        }
        const float *PP = keep ? Pd : P;
        /* dV += Pdᵀ dO */
        if (gv) tc_sgemm(1, 0, Tk, dh, Tq, 1.0f, PP, Tk, dO, D, 1.0f, gv + (long)b * v->stride[0] + h * dh, ldv);
        if (!gq && !gk) continue;
        /* dPd = dO Vᵀ, then through dropout and softmax: dS = P * (dP - rowsum(dP * P)) */
        tc_sgemm(0, 1, Tq, Tk, dh, 1.0f, dO, D, V, ldv, 0.0f, dP, Tk);
        for (int i = 0; i < Tq; i++) {
            float *dr = dP + (size_t)i * Tk;
            const float *pr = P + (size_t)i * Tk;
            if (keep) {
                const uint8_t *kr = keep + (size_t)i * Tk;
#pragma omp simd
                for (int j = 0; j < Tk; j++) dr[j] = dr[j] * (ds * (float)kr[j]);
            }
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (int j = 0; j < Tk; j++) s += dr[j] * pr[j];
#pragma omp simd
            for (int j = 0; j < Tk; j++) dr[j] = pr[j] * (dr[j] - s);
        }
        /* S = scale * Q Kᵀ: dQ += scale * dS K, dK += scale * dSᵀ Q */
        if (gq) tc_sgemm(0, 0, Tq, dh, Tk, scale, dP, Tk, K, ldk, 1.0f, gq + (long)b * q->stride[0] + h * dh, ldq);
        if (gk) tc_sgemm(1, 0, Tk, dh, Tq, scale, dP, Tk, Q, ldq, 1.0f, gk + (long)b * k->stride[0] + h * dh, ldk);
    }
    tc_blas_single_end();
}

tc_tensor *tc_attention(tc_graph *g, tc_tensor *q, tc_tensor *k, tc_tensor *v, int heads, const float *key_valid,
                        int causal, float dropout_p) {
    if (!attn_ok(q)) q = tc_contiguous(g, q);
    if (!attn_ok(k)) k = tc_contiguous(g, k);
    if (!attn_ok(v)) v = tc_contiguous(g, v);
    TC_REQUIRE(q->ndim == 3 && k->ndim == 3 && v->ndim == 3, "tc_attention", "q, k, v must be [B, T, D]");
    int B = q->shape[0], Tq = q->shape[1], D = q->shape[2], Tk = k->shape[1];
    TC_REQUIRE(k->shape[0] == B && v->shape[0] == B, "tc_attention", "batch sizes differ: q %d, k %d, v %d", B,
               k->shape[0], v->shape[0]);
    TC_REQUIRE(k->shape[2] == D && v->shape[2] == D && v->shape[1] == Tk, "tc_attention",
               "k [%d, %d, %d] and v [%d, %d, %d] must be [B, Tk, %d]", k->shape[0], k->shape[1], k->shape[2],
               v->shape[0], v->shape[1], v->shape[2], D);
    TC_REQUIRE(heads > 0 && D % heads == 0, "tc_attention", "width %d is not divisible by %d heads", D, heads);
    TC_REQUIRE(dropout_p >= 0.0f && dropout_p < 1.0f, "tc_attention", "dropout %g not in [0, 1)", (double)dropout_p);
    int H = heads, dh = D / H;
    float scale = 1.0f / sqrtf((float)dh);
    int shape[3] = {B, Tq, D};
    tc_tensor *o = tc_new(g, 3, shape);
    size_t per = (size_t)Tq * Tk;
    attn_ctx *c = tc_graph_alloc(g, sizeof *c);
    c->P = tc_graph_alloc(g, (size_t)B * H * per * sizeof(float));
    int drop = g->training && dropout_p > 0.0f;
    c->keep = drop ? tc_graph_alloc(g, (size_t)B * H * per) : NULL;
    c->B = B; c->H = H; c->Tq = Tq; c->Tk = Tk; c->D = D; c->dh = dh;
    c->drop_scale = drop ? 1.0f / (1.0f - dropout_p) : 1.0f;
    uint64_t key = drop ? tc_hash_key(g->seed, tc_next_stream(g)) : 0;
    uint32_t thr = drop ? tc_dropout_threshold(dropout_p) : 0;
    int nt = tc_get_threads();
    float *scratch = drop ? tc_graph_alloc(g, (size_t)nt * per * sizeof(float)) : NULL;
    int par = attn_parallel(B * H, per, dh);
    tc_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(nt) if (par)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        float *P = c->P + (size_t)bh * per;
        const float *Q = q->data + (long)b * q->stride[0] + h * dh;
        const float *K = k->data + (long)b * k->stride[0] + h * dh;
        const float *V = v->data + (long)b * v->stride[0] + h * dh;
        tc_sgemm(0, 1, Tq, Tk, dh, scale, Q, q->stride[1], K, k->stride[1], 0.0f, P, Tk);
        const float *valid = key_valid ? key_valid + (long)b * Tk : NULL;
        uint8_t *keep = drop ? c->keep + (size_t)bh * per : NULL;
        float *Pd = drop ? scratch + (size_t)omp_get_thread_num() * per : P;
        for (int i = 0; i < Tq; i++) {
            float *s = P + (size_t)i * Tk;
            /* (omp simd: without it gcc -O2 cannot rule out s/valid aliasing and stays scalar) */
            if (valid) {
#pragma omp simd
                for (int j = 0; j < Tk; j++) s[j] += (1.0f - valid[j]) * -10000.0f;
            }
            if (causal) {
#pragma omp simd
                for (int j = i + 1; j < Tk; j++) s[j] += -10000.0f;
            }
            float sum = tc_row_exp_sum(s, s, Tk, tc_row_max(s, Tk));
            tc_row_scale(s, Tk, 1.0f / sum);
            if (drop) {
                uint8_t *kr = keep + (size_t)i * Tk;
                float *pd = Pd + (size_t)i * Tk;
                uint64_t base = (uint64_t)bh * per + (uint64_t)i * Tk;
                tc_keep_mask(kr, Tk, key, base, thr);
                float ds = c->drop_scale;
#pragma omp simd
                for (int j = 0; j < Tk; j++) pd[j] = s[j] * (ds * (float)kr[j]);
            }
        }
        tc_sgemm(0, 0, Tq, dh, Tk, 1.0f, Pd, Tk, V, v->stride[1], 0.0f, o->data + (long)b * Tq * D + h * dh, D);
    }
    tc_blas_single_end();
    tc_node *nd = tc_record(g, attn_bw, "attention", o, q, k, v, NULL);
    if (nd) nd->ctx = c;
    return o;
}
