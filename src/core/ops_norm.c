/* Row-wise normalisations over the last dim: LayerNorm, softmax, L2-normalize. One row per OpenMP
 * iteration (static schedule); statistics are computed in fp32 with a two-pass mean/variance. */
#include <math.h>
#include <omp.h>

#include "core/graph_internal.h"
#include "core/vmath.h"

/* ---------------------------------------------------------------------------------- layernorm */

static void layernorm_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *y = nd->out;
    int rows = nd->i[0], d = nd->i[1];
    const float *mean = nd->ctx, *rstd = mean + rows;
    const float *gy = y->grad, *gm = gamma ? gamma->data : NULL;
    int acc = 0;
    float *gx = x->requires_grad ? tc_grad_w(g, x, &acc) : NULL;
    int want_gb = (gamma && gamma->requires_grad) || (beta && beta->requires_grad);
    int nt = omp_get_max_threads();
    /* per-thread partial sums of dgamma, dbeta [nt][2][d], reduced in thread order afterwards */
    float *part = want_gb ? tc_graph_alloc(g, (size_t)nt * 2 * d * sizeof(float)) : NULL;
    if (part) memset(part, 0, (size_t)nt * 2 * d * sizeof(float));
    int used_threads = 1;
#pragma omp parallel if ((long)rows * d > TC_PAR_MIN)
    {
        int t = omp_get_thread_num();
#pragma omp single
        used_threads = omp_get_num_threads();
        float *pg = part ? part + (size_t)t * 2 * d : NULL, *pb = pg ? pg + d : NULL;
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            const float *xr = x->data + (long)r * d, *gr = gy + (long)r * d;
            float mu = mean[r], rs = rstd[r];
            if (pg) {
#pragma omp simd
                for (int j = 0; j < d; j++) {
                    pg[j] += gr[j] * (xr[j] - mu) * rs;
                    pb[j] += gr[j];
                }
            }
            if (gx) {
                /* dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma */
                float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
                for (int j = 0; j < d; j++) {
                    float dxh = gr[j] * (gm ? gm[j] : 1.0f);
                    s1 += dxh;
                    s2 += dxh * (xr[j] - mu) * rs;
                }
                s1 /= d;
                s2 /= d;
                float *gxr = gx + (long)r * d;
                if (acc) {
#pragma omp simd
                    for (int j = 0; j < d; j++)
                        gxr[j] += rs * (gr[j] * (gm ? gm[j] : 1.0f) - s1 - (xr[j] - mu) * rs * s2);
                } else {
#pragma omp simd
                    for (int j = 0; j < d; j++)
                        gxr[j] = rs * (gr[j] * (gm ? gm[j] : 1.0f) - s1 - (xr[j] - mu) * rs * s2);
                }
            }
        }
    }
    if (part) {
        float *dg = gamma && gamma->requires_grad ? tc_grad(g, gamma) : NULL;
        float *db = beta && beta->requires_grad ? tc_grad(g, beta) : NULL;
        for (int t = 0; t < used_threads; t++) {
            const float *pg = part + (size_t)t * 2 * d, *pb = pg + d;
            if (dg)
                for (int j = 0; j < d; j++) dg[j] += pg[j];
            if (db)
                for (int j = 0; j < d; j++) db[j] += pb[j];
        }
    }
}

tc_tensor *tc_layernorm(tc_graph *g, tc_tensor *x, tc_tensor *gamma, tc_tensor *beta, float eps) {
    x = tc_contig(g, x);
    int d = x->shape[x->ndim - 1];
    TC_REQUIRE(!gamma || (int)tc_numel(gamma) == d, "tc_layernorm", "gamma has %zu elements, expected %d",
               tc_numel(gamma), d);
    TC_REQUIRE(!beta || (int)tc_numel(beta) == d, "tc_layernorm", "beta has %zu elements, expected %d",
               tc_numel(beta), d);
    if (gamma) gamma = tc_contig(g, gamma);
    if (beta) beta = tc_contig(g, beta);
    int rows = (int)(tc_numel(x) / (d ? d : 1));
    tc_tensor *y = tc_new_like(g, x);
    float *stats = tc_graph_alloc(g, (size_t)2 * rows * sizeof(float)); /* mean [rows], rstd [rows] */
    const float *gm = gamma ? gamma->data : NULL, *bt = beta ? beta->data : NULL;
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *xr = x->data + (long)r * d;
        float *yr = y->data + (long)r * d;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += xr[j];
        float mu = s / d, v = 0;
#pragma omp simd reduction(+ : v)
        for (int j = 0; j < d; j++) v += (xr[j] - mu) * (xr[j] - mu);
        float rs = 1.0f / sqrtf(v / d + eps);
        stats[r] = mu;
        stats[rows + r] = rs;
#pragma omp simd
        for (int j = 0; j < d; j++) yr[j] = (xr[j] - mu) * rs * (gm ? gm[j] : 1.0f) + (bt ? bt[j] : 0.0f);
    }
    tc_node *nd = tc_record(g, layernorm_bw, "layernorm", y, x, gamma, beta, NULL);
    if (nd) {
        nd->ctx = stats;
        nd->i[0] = rows;
        nd->i[1] = d;
    }
    return y;
}

/* ------------------------------------------------------------------------------------ softmax */

/* y = softmax(x) over rows of length d (in place allowed). */
void tc_softmax_rows(const float *x, float *y, int rows, int d) {
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * d;
        float *yr = y + (long)r * d;
        float m = tc_row_max(xr, d);
        float sum = tc_row_exp_sum(xr, yr, d, m);
        tc_row_scale(yr, d, 1.0f / sum);
    }
}

static void softmax_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    int d = y->shape[y->ndim - 1], rows = (int)(tc_numel(y) / (d ? d : 1)), acc;
    float *gx = tc_grad_w(g, x, &acc);
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *yr = y->data + (long)r * d, *gr = y->grad + (long)r * d;
        float *gxr = gx + (long)r * d;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += gr[j] * yr[j];
        if (acc) {
#pragma omp simd
            for (int j = 0; j < d; j++) gxr[j] += yr[j] * (gr[j] - s);
        } else {
#pragma omp simd
            for (int j = 0; j < d; j++) gxr[j] = yr[j] * (gr[j] - s);
        }
    }
}

tc_tensor *tc_softmax(tc_graph *g, tc_tensor *x) {
    x = tc_contig(g, x);
    int d = x->shape[x->ndim - 1];
    tc_tensor *y = tc_new_like(g, x);
    tc_softmax_rows(x->data, y->data, (int)(tc_numel(x) / (d ? d : 1)), d);
    tc_record(g, softmax_bw, "softmax", y, x, NULL, NULL, NULL);
    return y;
}

/* ------------------------------------------------------------------------------ l2 normalize */
/* y = x / max(||x||, eps) (torch.nn.functional.normalize) */

static void l2n_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    int d = y->shape[y->ndim - 1], rows = (int)(tc_numel(y) / (d ? d : 1)), acc;
    const float *norm = nd->ctx;
    float eps = nd->f[0];
    float *gx = tc_grad_w(g, x, &acc);
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *yr = y->data + (long)r * d, *gr = y->grad + (long)r * d;
        float *gxr = gx + (long)r * d;
        float inv = 1.0f / norm[r], s = 0;
        int clamped = norm[r] <= eps; /* below eps the op is x / eps: linear */
        if (!clamped) {
#pragma omp simd reduction(+ : s)
            for (int j = 0; j < d; j++) s += gr[j] * yr[j];
        }
        for (int j = 0; j < d; j++) {
            float v = inv * (gr[j] - yr[j] * s);
            gxr[j] = acc ? gxr[j] + v : v;
        }
    }
}

tc_tensor *tc_l2_normalize(tc_graph *g, tc_tensor *x, float eps) {
    x = tc_contig(g, x);
    int d = x->shape[x->ndim - 1], rows = (int)(tc_numel(x) / (d ? d : 1));
    tc_tensor *y = tc_new_like(g, x);
    float *norm = tc_graph_alloc(g, (size_t)rows * sizeof(float)); /* max(||x||, eps) [rows] */
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *xr = x->data + (long)r * d;
        float *yr = y->data + (long)r * d;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += xr[j] * xr[j];
        float nr = sqrtf(s);
        nr = nr > eps ? nr : eps;
        norm[r] = nr;
        float inv = 1.0f / nr;
        for (int j = 0; j < d; j++) yr[j] = xr[j] * inv;
    }
    tc_node *nd = tc_record(g, l2n_bw, "l2_normalize", y, x, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = norm;
        nd->f[0] = eps;
    }
    return y;
}
