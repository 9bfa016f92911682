/* Losses and reductions; each returns a 1-element tensor.
 * Cross-entropy is fused with its softmax: forward saves only each row's log-sum-exp, backward rebuilds
 * the probabilities in the same pass that writes the logits' gradient. */
#include <math.h>
#include <omp.h>

#include "core/gemm.h"
#include "core/graph_internal.h"
#include "core/vmath.h"

/* ------------------------------------------------------------------------------- sum / mean */

static void sum_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0];
    if (!x->requires_grad) return;
    float gs = nd->out->grad[0] * nd->f[0];
    long n = (long)tc_numel(x);
    int acc;
    float *gx = tc_grad_w(g, x, &acc);
#pragma omp parallel for simd schedule(static) if (n > TC_PAR_MIN)
    for (long i = 0; i < n; i++) gx[i] = (acc ? gx[i] : 0.0f) + gs;
}

static tc_tensor *reduce(tc_graph *g, tc_tensor *x, int mean) {
    x = tc_contig(g, x);
    long n = (long)tc_numel(x);
    double s = 0; /* double accumulation: a loss should not depend on the summation order */
    for (long i = 0; i < n; i++) s += x->data[i];
    tc_tensor *y = tc_scalar(g, (float)(mean ? s / (n ? n : 1) : s));
    tc_node *nd = tc_record(g, sum_bw, mean ? "mean" : "sum", y, x, NULL, NULL, NULL);
    if (nd) nd->f[0] = mean ? 1.0f / (float)(n ? n : 1) : 1.0f;
    return y;
}

tc_tensor *tc_sum(tc_graph *g, tc_tensor *x) { return reduce(g, x, 0); }
tc_tensor *tc_mean(tc_graph *g, tc_tensor *x) { return reduce(g, x, 1); }

/* ------------------------------------------------------------------------------ cross-entropy */

typedef struct {
    int32_t *targets; /* [N] */
    float *lse;       /* [N] log-sum-exp of each row */
    float eps, norm;  /* label smoothing; 1 / (count or 1) */
    int ignore;
} ce_ctx;

static void ce_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0];
    if (!x->requires_grad) return;
    const ce_ctx *c = nd->ctx;
    int N = nd->i[0], V = nd->i[1], acc;
    float gs = nd->out->grad[0] * c->norm, eps = c->eps, u = eps / V;
    float *gx = tc_grad_w(g, x, &acc);
#pragma omp parallel for schedule(static) if ((long)N * V > TC_PAR_MIN)
    for (int r = 0; r < N; r++) {
        float *gr = gx + (long)r * V;
        const float *xr = x->data + (long)r * V;
        int t = c->targets[r];
        if (t == c->ignore) {
            if (!acc) memset(gr, 0, (size_t)V * sizeof(float));
            continue;
        }
        float l = c->lse[r];
        /* d loss / d x_j = p_j - (1 - eps) [j == t] - eps / V, with p_j = exp(x_j - lse) */
        __m256 vl = _mm256_set1_ps(l), vu = _mm256_set1_ps(u), vg = _mm256_set1_ps(gs);
        for (int j = 0; j < V; j += 8) {
            __m256i m = tc_v8_tailmask(V - j < 8 ? V - j : 8);
            __m256 p = tc_v8_exp(_mm256_sub_ps(_mm256_maskload_ps(xr + j, m), vl));
            __m256 v = _mm256_mul_ps(vg, _mm256_sub_ps(p, vu));
            if (acc) v = _mm256_add_ps(v, _mm256_maskload_ps(gr + j, m));
            _mm256_maskstore_ps(gr + j, m, v);
        }
        gr[t] -= gs * (1.0f - eps);
    }
}

tc_tensor *tc_cross_entropy(tc_graph *g, tc_tensor *logits, const int32_t *targets, int ignore_index,
                            float label_smoothing, tc_reduction red) {
    logits = tc_contig(g, logits);
    int V = logits->shape[logits->ndim - 1], N = (int)(tc_numel(logits) / (V ? V : 1));
    TC_REQUIRE(label_smoothing >= 0.0f && label_smoothing <= 1.0f, "tc_cross_entropy",
               "label_smoothing %g not in [0, 1]", (double)label_smoothing);
    ce_ctx *c = tc_graph_alloc(g, sizeof *c);
    c->targets = tc_graph_alloc(g, (size_t)(N ? N : 1) * sizeof(int32_t));
    c->lse = tc_graph_alloc(g, (size_t)(N ? N : 1) * sizeof(float));
    c->eps = label_smoothing;
    c->ignore = ignore_index;
    int count = 0;
    for (int r = 0; r < N; r++) {
        int t = targets[r];
        c->targets[r] = t;
        if (t == ignore_index) continue;
        TC_REQUIRE(t >= 0 && t < V, "tc_cross_entropy", "target %d of row %d not in [0, %d)", t, r, V);
        count++;
    }
    float *rowloss = tc_graph_alloc(g, (size_t)(N ? N : 1) * sizeof(float));
    float eps = label_smoothing;
#pragma omp parallel for schedule(static) if ((long)N * V > TC_PAR_MIN)
    for (int r = 0; r < N; r++) {
        const float *xr = logits->data + (long)r * V;
        float m = tc_row_max(xr, V);
        float s = tc_row_exp_sum(xr, NULL, V, m), sx = 0;
#pragma omp simd reduction(+ : sx)
        for (int j = 0; j < V; j++) sx += xr[j];
        float l = m + logf(s);
        c->lse[r] = l;
        int t = c->targets[r];
        /* (1-eps) * (lse - x_t) + eps * mean_j (lse - x_j) */
        rowloss[r] = t == ignore_index ? 0.0f : (1.0f - eps) * (l - xr[t]) + eps * (l - sx / V);
    }
    double total = 0;
    for (int r = 0; r < N; r++) total += rowloss[r];
    /* torch: mean over non-ignored rows (NaN when all are ignored; we return 0 with zero gradient) */
    c->norm = red == TC_REDUCE_MEAN ? (count ? 1.0f / (float)count : 0.0f) : 1.0f;
    tc_tensor *y = tc_scalar(g, (float)(total * c->norm));
    tc_node *nd = tc_record(g, ce_bw, "cross_entropy", y, logits, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = c;
        nd->i[0] = N;
        nd->i[1] = V;
    }
    return y;
}

/* ---------------------------------------------------------------------------------------- mse */

static void mse_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *p = nd->in[0], *t = nd->in[1];
    long n = (long)tc_numel(p);
    float gs = 2.0f * nd->out->grad[0] * nd->f[0];
    for (int k = 0; k < 2; k++) {
        tc_tensor *x = k ? t : p;
        if (!x->requires_grad) continue;
        float s = k ? -gs : gs;
        int acc;
        float *gx = tc_grad_w(g, x, &acc);
        const float *pp = p->data, *pt = t->data;
#pragma omp parallel for simd schedule(static) if (n > TC_PAR_MIN)
        for (long i = 0; i < n; i++) gx[i] = (acc ? gx[i] : 0.0f) + s * (pp[i] - pt[i]);
    }
}

tc_tensor *tc_mse(tc_graph *g, tc_tensor *pred, tc_tensor *target, tc_reduction red) {
    TC_REQUIRE(tc_same_shape(pred, target), "tc_mse", "pred and target shapes differ");
    pred = tc_contig(g, pred);
    target = tc_contig(g, target);
    long n = (long)tc_numel(pred);
    double s = 0;
    for (long i = 0; i < n; i++) {
        double d = (double)pred->data[i] - target->data[i];
        s += d * d;
    }
    float norm = red == TC_REDUCE_MEAN ? 1.0f / (float)(n ? n : 1) : 1.0f;
    tc_tensor *y = tc_scalar(g, (float)(s * norm));
    tc_node *nd = tc_record(g, mse_bw, "mse", y, pred, target, NULL, NULL);
    if (nd) nd->f[0] = norm;
    return y;
}

/* ------------------------------------------------------------------------------------ InfoNCE */

typedef struct {
    float *S;  /* [N, N] a·bᵀ (unscaled) */
    float *Pr; /* [N, N] row softmax of scale*S */
    float *Pc; /* [N, N] column softmax of scale*S (stored row-major, Pc[i][j] = softmax over i) */
} nce_ctx;

static void nce_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *a = nd->in[0], *b = nd->in[1], *sc = nd->in[2];
    const nce_ctx *c = nd->ctx;
    int N = nd->i[0], E = nd->i[1];
    float s = sc->data[0], gl = nd->out->grad[0];
    /* dL/dlogits = ((Pr - I) + (Pc - I)) / (2N) */
    float *G = tc_graph_alloc(g, (size_t)N * N * sizeof(float));
    double gscale = 0;
    float k = gl / (2.0f * N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float v = k * (c->Pr[(long)i * N + j] + c->Pc[(long)i * N + j] - (i == j ? 2.0f : 0.0f));
            G[(long)i * N + j] = v;
            gscale += (double)v * c->S[(long)i * N + j];
        }
    if (a->requires_grad) tc_sgemm(0, 0, N, E, N, s, G, N, b->data, E, 1.0f, tc_grad(g, a), E);
    if (b->requires_grad) tc_sgemm(1, 0, N, E, N, s, G, N, a->data, E, 1.0f, tc_grad(g, b), E);
    if (sc->requires_grad) tc_grad(g, sc)[0] += (float)gscale;
}

tc_tensor *tc_info_nce(tc_graph *g, tc_tensor *a, tc_tensor *b, tc_tensor *scale) {
    TC_REQUIRE(a->ndim == 2 && tc_same_shape(a, b), "tc_info_nce", "a and b must both be [N, E]");
    TC_REQUIRE(tc_numel(scale) == 1, "tc_info_nce", "scale must have one element");
    a = tc_contig(g, a);
    b = tc_contig(g, b);
    int N = a->shape[0], E = a->shape[1];
    float s = scale->data[0];
    nce_ctx *c = tc_graph_alloc(g, sizeof *c);
    size_t nn = (size_t)N * N;
    c->S = tc_graph_alloc(g, nn * sizeof(float));
    c->Pr = tc_graph_alloc(g, nn * sizeof(float));
    c->Pc = tc_graph_alloc(g, nn * sizeof(float));
    tc_sgemm(0, 1, N, N, E, 1.0f, a->data, E, b->data, E, 0.0f, c->S, N);
    double loss = 0;
    for (int i = 0; i < N; i++) { /* rows: a_i against every b */
        const float *sr = c->S + (long)i * N;
        float m = -INFINITY, sum = 0;
        for (int j = 0; j < N; j++) m = s * sr[j] > m ? s * sr[j] : m;
        for (int j = 0; j < N; j++) sum += (c->Pr[(long)i * N + j] = expf(s * sr[j] - m));
        for (int j = 0; j < N; j++) c->Pr[(long)i * N + j] /= sum;
        loss += (double)(m + logf(sum) - s * sr[i]) / (2.0 * N);
    }
    for (int j = 0; j < N; j++) { /* columns: b_j against every a */
        float m = -INFINITY, sum = 0;
        for (int i = 0; i < N; i++) m = s * c->S[(long)i * N + j] > m ? s * c->S[(long)i * N + j] : m;
        for (int i = 0; i < N; i++) sum += (c->Pc[(long)i * N + j] = expf(s * c->S[(long)i * N + j] - m));
        for (int i = 0; i < N; i++) c->Pc[(long)i * N + j] /= sum;
        loss += (double)(m + logf(sum) - s * c->S[(long)j * N + j]) / (2.0 * N);
    }
    tc_tensor *y = tc_scalar(g, (float)loss);
    tc_node *nd = tc_record(g, nce_bw, "info_nce", y, a, b, scale, NULL);
    if (nd) {
        nd->ctx = c;
        nd->i[0] = N;
        nd->i[1] = E;
    }
    return y;
}
