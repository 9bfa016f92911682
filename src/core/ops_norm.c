/* Row-wise normalisations over the last dim: LayerNorm, softmax, L2-normalize. One row per OpenMP
 * iteration (static schedule); statistics are computed in fp32 with a two-pass mean/variance. */
#include <math.h>
#include <omp.h>

#include "core/graph_internal.h"
#include "core/vmath.h"

/* ---------------------------------------------------------------------------------- layernorm */
/* Row kernels in AVX2 (d any size; the last partial vector is masked). Missing gamma/beta are replaced
 * by arena rows of ones/zeros so the kernels have one shape. */

static inline __m256 ld8(const float *p, int n) {
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tc_v8_tailmask(n));
}
static inline void st8(float *p, __m256 v, int n) {
    if (n >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, tc_v8_tailmask(n), v);
}

/* y = (x - mu) * rs * g + b; returns mu and rs */
static void ln_row_fwd(const float *x, float *y, const float *gm, const float *bt, int d, float eps, float *mu_out,
                       float *rs_out) {
    __m256 acc = _mm256_setzero_ps();
    for (int j = 0; j < d; j += 8) acc = _mm256_add_ps(acc, ld8(x + j, d - j));
    float mu = tc_v8_hsum(acc) / d;
    __m256 vm = _mm256_set1_ps(mu);
    acc = _mm256_setzero_ps();
    for (int j = 0; j < d; j += 8) {
        int n = d - j;
        __m256 c = _mm256_sub_ps(ld8(x + j, n), vm);
        if (n < 8) c = _mm256_and_ps(c, _mm256_castsi256_ps(tc_v8_tailmask(n)));
        acc = _mm256_fmadd_ps(c, c, acc);
    }
    float rs = 1.0f / sqrtf(tc_v8_hsum(acc) / d + eps);
    __m256 vr = _mm256_set1_ps(rs);
    for (int j = 0; j < d; j += 8) {
        int n = d - j;
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ld8(x + j, n), vm), vr);
        st8(y + j, _mm256_fmadd_ps(xh, ld8(gm + j, n), ld8(bt + j, n)), n);
    }
    *mu_out = mu;
    *rs_out = rs;
}

/* pg += dy * xhat, pb += dy (if pg); dx (+)= rs * (dy g - mean(dy g) - xhat * mean(dy g xhat)) (if gx) */
static void ln_row_bwd(const float *x, const float *gy, const float *gm, float mu, float rs, int d, float *pg,
                       float *pb, float *gx, int acc) {
    __m256 vm = _mm256_set1_ps(mu), vr = _mm256_set1_ps(rs), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps();
    for (int j = 0; j < d; j += 8) {
        int n = d - j;
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ld8(x + j, n), vm), vr), dy = ld8(gy + j, n);
        if (pg) {
            st8(pg + j, _mm256_fmadd_ps(dy, xh, ld8(pg + j, n)), n);
            st8(pb + j, _mm256_add_ps(dy, ld8(pb + j, n)), n);
        }
        __m256 dxh = _mm256_mul_ps(dy, ld8(gm + j, n)); /* masked lanes load 0: they add nothing */
        s1 = _mm256_add_ps(s1, dxh);
        s2 = _mm256_fmadd_ps(dxh, xh, s2);
    }
    if (!gx) return;
    __m256 m1 = _mm256_set1_ps(tc_v8_hsum(s1) / d), m2 = _mm256_set1_ps(tc_v8_hsum(s2) / d);
    for (int j = 0; j < d; j += 8) {
        int n = d - j;
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ld8(x + j, n), vm), vr);
        __m256 dxh = _mm256_mul_ps(ld8(gy + j, n), ld8(gm + j, n));
        __m256 v = _mm256_mul_ps(vr, _mm256_sub_ps(_mm256_sub_ps(dxh, m1), _mm256_mul_ps(xh, m2)));
        if (acc) v = _mm256_add_ps(v, ld8(gx + j, n));
        st8(gx + j, v, n);
    }
}

static void layernorm_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *y = nd->out;
    int rows = nd->i[0], d = nd->i[1];
    const float *mean = nd->ctx, *rstd = mean + rows, *gm = nd->ctx2;
    const float *gy = y->grad;
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
        for (int r = 0; r < rows; r++)
            ln_row_bwd(x->data + (long)r * d, gy + (long)r * d, gm, mean[r], rstd[r], d, pg, pb,
                       gx ? gx + (long)r * d : NULL, acc);
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
    if (!gm || !bt) {
        float *c = tc_graph_alloc(g, (size_t)2 * d * sizeof(float)); /* ones [d], zeros [d] */
        for (int j = 0; j < d; j++) c[j] = 1.0f, c[d + j] = 0.0f;
        if (!gm) gm = c;
        if (!bt) bt = c + d;
    }
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++)
        ln_row_fwd(x->data + (long)r * d, y->data + (long)r * d, gm, bt, d, eps, &stats[r], &stats[rows + r]);
    tc_node *nd = tc_record(g, layernorm_bw, "layernorm", y, x, gamma, beta, NULL);
    if (nd) {
        nd->ctx = stats;
        nd->ctx2 = (void *)gm;
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

/* ------------------------------------------------------------------------------ log_softmax */

static void log_softmax_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    int d = y->shape[y->ndim - 1], rows = (int)(tc_numel(y) / (d ? d : 1)), acc;
    float *gx = tc_grad_w(g, x, &acc);
    /* dx = dy - softmax(x) * sum(dy), softmax = exp(y) */
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *yr = y->data + (long)r * d, *gr = y->grad + (long)r * d;
        float *gxr = gx + (long)r * d;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += gr[j];
        for (int j = 0; j < d; j++) {
            float v = gr[j] - tc_vexp(yr[j]) * s;
            gxr[j] = acc ? gxr[j] + v : v;
        }
    }
}

tc_tensor *tc_log_softmax(tc_graph *g, tc_tensor *x) {
    x = tc_contig(g, x);
    int d = x->shape[x->ndim - 1], rows = (int)(tc_numel(x) / (d ? d : 1));
    tc_tensor *y = tc_new_like(g, x);
#pragma omp parallel for schedule(static) if ((long)rows * d > TC_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *xr = x->data + (long)r * d;
        float *yr = y->data + (long)r * d;
        float m = tc_row_max(xr, d);
        float l = m + logf(tc_row_exp_sum(xr, NULL, d, m));
#pragma omp simd
        for (int j = 0; j < d; j++) yr[j] = xr[j] - l;
    }
    tc_record(g, log_softmax_bw, "log_softmax", y, x, NULL, NULL, NULL);
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
#pragma omp simd
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
#pragma omp simd
        for (int j = 0; j < d; j++) yr[j] = xr[j] * inv;
    }
    tc_node *nd = tc_record(g, l2n_bw, "l2_normalize", y, x, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = norm;
        nd->f[0] = eps;
    }
    return y;
}
