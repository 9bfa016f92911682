/* Element-wise ops: add / bias / rows / mul / scale, activations, dropout.
 * Inputs are made contiguous first (tc_contig) so every loop is a flat, vectorisable, statically
 * scheduled OpenMP loop. Backward functions write fresh gradients without a zeroing pass (tc_grad_w). */
#include <math.h>

#include "core/graph_internal.h"
#include "core/vmath.h"

#define PAR_FOR _Pragma("omp parallel for simd schedule(static) if (n > TC_PAR_MIN)")

/* g[i] (+)= s * gy[i] */
static void axpy_grad(tc_graph *g, tc_tensor *x, const float *gy, float s, long n) {
    if (!x->requires_grad) return;
    int acc;
    float *gx = tc_grad_w(g, x, &acc);
    if (acc) {
        PAR_FOR
        for (long i = 0; i < n; i++) gx[i] += s * gy[i];
    } else {
        PAR_FOR
        for (long i = 0; i < n; i++) gx[i] = s * gy[i];
    }
}

/* ------------------------------------------------------------------------------ add / scale / mul */

static void add_bw(tc_graph *g, tc_node *nd) {
    long n = (long)tc_numel(nd->out);
    axpy_grad(g, nd->in[0], nd->out->grad, 1.0f, n);
    axpy_grad(g, nd->in[1], nd->out->grad, 1.0f, n);
}

tc_tensor *tc_add(tc_graph *g, tc_tensor *a, tc_tensor *b) {
    TC_REQUIRE(tc_same_shape(a, b), "tc_add", "shapes differ (%d-D vs %d-D or sizes)", a->ndim, b->ndim);
    a = tc_contig(g, a);
    b = tc_contig(g, b);
    tc_tensor *y = tc_new_like(g, a);
    long n = (long)tc_numel(a);
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    PAR_FOR
    for (long i = 0; i < n; i++) py[i] = pa[i] + pb[i];
    tc_record(g, add_bw, "add", y, a, b, NULL, NULL);
    return y;
}

static void scale_bw(tc_graph *g, tc_node *nd) {
    axpy_grad(g, nd->in[0], nd->out->grad, nd->f[0], (long)tc_numel(nd->out));
}

tc_tensor *tc_scale(tc_graph *g, tc_tensor *x, float s) {
    x = tc_contig(g, x);
    tc_tensor *y = tc_new_like(g, x);
    long n = (long)tc_numel(x);
    const float *px = x->data;
    float *py = y->data;
    PAR_FOR
    for (long i = 0; i < n; i++) py[i] = s * px[i];
    tc_node *nd = tc_record(g, scale_bw, "scale", y, x, NULL, NULL, NULL);
    if (nd) nd->f[0] = s;
    return y;
}

static void mul_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *a = nd->in[0], *b = nd->in[1];
    long n = (long)tc_numel(nd->out);
    const float *gy = nd->out->grad;
    /* request and fill a's grad before b's: mul(x, x) must accumulate the second term */
    for (int k = 0; k < 2; k++) {
        tc_tensor *x = k ? b : a, *o = k ? a : b;
        if (!x->requires_grad) continue;
        int acc;
        float *gx = tc_grad_w(g, x, &acc);
        const float *po = o->data;
        if (acc) {
            PAR_FOR
            for (long i = 0; i < n; i++) gx[i] += gy[i] * po[i];
        } else {
            PAR_FOR
            for (long i = 0; i < n; i++) gx[i] = gy[i] * po[i];
        }
    }
}

tc_tensor *tc_mul(tc_graph *g, tc_tensor *a, tc_tensor *b) {
    TC_REQUIRE(tc_same_shape(a, b), "tc_mul", "shapes differ");
    a = tc_contig(g, a);
    b = tc_contig(g, b);
    tc_tensor *y = tc_new_like(g, a);
    long n = (long)tc_numel(a);
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    PAR_FOR
    for (long i = 0; i < n; i++) py[i] = pa[i] * pb[i];
    tc_record(g, mul_bw, "mul", y, a, b, NULL, NULL);
    return y;
}

/* ------------------------------------------------------------------------- broadcast adds */

void tc_colsum_acc(float *db, const float *dy, int rows, int cols, int ld); /* ops_linear.c */

static void add_bias_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *b = nd->in[1], *y = nd->out;
    long n = (long)tc_numel(y);
    axpy_grad(g, x, y->grad, 1.0f, n);
    if (b->requires_grad) {
        int d = nd->i[0];
        tc_colsum_acc(tc_grad(g, b), y->grad, (int)(n / d), d, d);
    }
}

tc_tensor *tc_add_bias(tc_graph *g, tc_tensor *x, tc_tensor *b) {
    x = tc_contig(g, x);
    b = tc_contig(g, b);
    int d = x->shape[x->ndim - 1];
    TC_REQUIRE((int)tc_numel(b) == d, "tc_add_bias", "bias has %zu elements, expected %d", tc_numel(b), d);
    tc_tensor *y = tc_new_like(g, x);
    long rows = (long)tc_numel(x) / (d ? d : 1);
    const float *pb = b->data;
#pragma omp parallel for schedule(static) if (rows * d > TC_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const float *px = x->data + r * d;
        float *py = y->data + r * d;
#pragma omp simd
        for (int j = 0; j < d; j++) py[j] = px[j] + pb[j];
    }
    tc_node *nd = tc_record(g, add_bias_bw, "add_bias", y, x, b, NULL, NULL);
    if (nd) nd->i[0] = d;
    return y;
}

static void add_rows_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *r = nd->in[1], *y = nd->out;
    long n = (long)tc_numel(y);
    axpy_grad(g, x, y->grad, 1.0f, n);
    if (r->requires_grad) {
        long m = (long)tc_numel(r);
        float *gr = tc_grad(g, r);
        long reps = n / m;
        /* sum over the batch: split r's elements between threads, fixed order over the batch */
#pragma omp parallel for simd schedule(static) if (n > TC_PAR_MIN)
        for (long i = 0; i < m; i++) {
            float s = 0;
            for (long k = 0; k < reps; k++) s += y->grad[k * m + i];
            gr[i] += s;
        }
    }
}

tc_tensor *tc_add_rows(tc_graph *g, tc_tensor *x, tc_tensor *r) {
    x = tc_contig(g, x);
    r = tc_contig(g, r);
    long n = (long)tc_numel(x), m = (long)tc_numel(r);
    TC_REQUIRE(r->ndim >= 1 && x->ndim >= r->ndim && m > 0 && n % m == 0, "tc_add_rows",
               "x (%d-D, %ld elements) is not a stack of r (%d-D, %ld elements)", x->ndim, n, r->ndim, m);
    for (int i = 1; i <= r->ndim; i++)
        TC_REQUIRE(x->shape[x->ndim - i] == r->shape[r->ndim - i], "tc_add_rows",
                   "trailing dim %d: x has %d, r has %d", -i, x->shape[x->ndim - i], r->shape[r->ndim - i]);
    tc_tensor *y = tc_new_like(g, x);
    long reps = n / m;
    const float *pr = r->data;
#pragma omp parallel for schedule(static) if (n > TC_PAR_MIN)
    for (long k = 0; k < reps; k++) {
        const float *px = x->data + k * m;
        float *py = y->data + k * m;
#pragma omp simd
        for (long i = 0; i < m; i++) py[i] = px[i] + pr[i];
    }
    tc_record(g, add_rows_bw, "add_rows", y, x, r, NULL, NULL);
    return y;
}

/* ---------------------------------------------------------------------------- activations */

enum { ACT_GELU_TANH, ACT_GELU_ERF, ACT_QUICK_GELU, ACT_RELU, ACT_TANH, ACT_EXP };

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

static void act_forward(int kind, const float *x, float *y, long n) {
    switch (kind) {
    case ACT_GELU_TANH:
        PAR_FOR
        for (long i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + tc_vtanh(GELU_K * (v + GELU_C * v * v * v)));
        }
        break;
    case ACT_GELU_ERF:
        PAR_FOR
        for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + tc_verf(x[i] * INV_SQRT2));
        break;
    case ACT_QUICK_GELU:
        PAR_FOR
        for (long i = 0; i < n; i++) y[i] = x[i] * tc_vsigmoid(1.702f * x[i]);
        break;
    case ACT_RELU:
        PAR_FOR
        for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
        break;
    case ACT_TANH:
        PAR_FOR
        for (long i = 0; i < n; i++) y[i] = tc_vtanh(x[i]);
        break;
    default:
        PAR_FOR
        for (long i = 0; i < n; i++) y[i] = tc_vexp(x[i]);
        break;
    }
}

/* dy/dx at x (and y, for tanh/exp whose derivative is a function of the output) */
static inline float act_deriv(int kind, float v, float y) {
    switch (kind) {
    case ACT_GELU_TANH: {
        float t = tc_vtanh(GELU_K * (v + GELU_C * v * v * v));
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v);
    }
    case ACT_GELU_ERF:
        return 0.5f * (1.0f + tc_verf(v * INV_SQRT2)) + v * INV_SQRT_2PI * tc_vexp(-0.5f * v * v);
    case ACT_QUICK_GELU: {
        float s = tc_vsigmoid(1.702f * v);
        return s + v * 1.702f * s * (1.0f - s);
    }
    case ACT_RELU: return v > 0 ? 1.0f : 0.0f;
    case ACT_TANH: return 1.0f - y * y;
    default: return y;
    }
}

#define ACT_BW_LOOP(KIND, OP)                                                  \
    PAR_FOR                                                                    \
    for (long i = 0; i < n; i++) gx[i] OP gy[i] * act_deriv(KIND, px[i], py[i]);

static void act_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    int kind = nd->i[0], acc;
    long n = (long)tc_numel(y);
    float *gx = tc_grad_w(g, x, &acc);
    const float *gy = y->grad, *px = x->data, *py = y->data;
    /* one loop per kind so the switch is resolved outside the vector loop */
    switch (kind) {
#define CASE(K)                                                \
    case K:                                                    \
        if (acc) { ACT_BW_LOOP(K, +=) } else { ACT_BW_LOOP(K, =) } \
        break;
        CASE(ACT_GELU_TANH)
        CASE(ACT_GELU_ERF)
        CASE(ACT_QUICK_GELU)
        CASE(ACT_RELU)
        CASE(ACT_TANH)
        CASE(ACT_EXP)
#undef CASE
    }
}

static tc_tensor *activation(tc_graph *g, tc_tensor *x, int kind, const char *name) {
    x = tc_contig(g, x);
    tc_tensor *y = tc_new_like(g, x);
    act_forward(kind, x->data, y->data, (long)tc_numel(x));
    tc_node *nd = tc_record(g, act_bw, name, y, x, NULL, NULL, NULL);
    if (nd) nd->i[0] = kind;
    return y;
}

tc_tensor *tc_gelu_tanh(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_GELU_TANH, "gelu_tanh"); }
tc_tensor *tc_gelu_erf(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_GELU_ERF, "gelu_erf"); }
tc_tensor *tc_quick_gelu(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_QUICK_GELU, "quick_gelu"); }
tc_tensor *tc_relu(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_RELU, "relu"); }
tc_tensor *tc_tanh(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_TANH, "tanh"); }
tc_tensor *tc_exp(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_EXP, "exp"); }

/* ------------------------------------------------------------------------------------ dropout */

static void dropout_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    long n = (long)tc_numel(y);
    int acc;
    float *gx = tc_grad_w(g, x, &acc);
    const uint8_t *m = nd->ctx;
    const float *gy = y->grad;
    float s = nd->f[0];
    if (acc) {
        PAR_FOR
        for (long i = 0; i < n; i++) gx[i] += m[i] ? s * gy[i] : 0.0f;
    } else {
        PAR_FOR
        for (long i = 0; i < n; i++) gx[i] = m[i] ? s * gy[i] : 0.0f;
    }
}

/* Keep-mask of n elements for stream `stream`: element i is kept iff
 * tc_rng_hash_uniform(seed, stream, i) >= p (same bits for any thread count). */
void tc_dropout_mask(uint8_t *m, long n, uint64_t seed, uint64_t stream, float p) {
    uint64_t key = tc_hash_key(seed, stream);
    uint32_t thr = tc_dropout_threshold(p);
#pragma omp parallel for simd schedule(static) if (n > TC_PAR_MIN)
    for (long i = 0; i < n; i++) m[i] = (uint32_t)(tc_hash_at(key, (uint64_t)i) >> 40) >= thr;
}

tc_tensor *tc_dropout(tc_graph *g, tc_tensor *x, float p) {
    TC_REQUIRE(p >= 0.0f && p < 1.0f, "tc_dropout", "p = %g, expected 0 <= p < 1", (double)p);
    if (!g->training || p == 0.0f) return x;
    x = tc_contig(g, x);
    long n = (long)tc_numel(x);
    uint8_t *m = tc_graph_alloc(g, (size_t)n);
    tc_dropout_mask(m, n, g->seed, tc_next_stream(g), p);
    tc_tensor *y = tc_new_like(g, x);
    float s = 1.0f / (1.0f - p);
    const float *px = x->data;
    float *py = y->data;
    PAR_FOR
    for (long i = 0; i < n; i++) py[i] = m[i] ? s * px[i] : 0.0f;
    tc_node *nd = tc_record(g, dropout_bw, "dropout", y, x, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = m;
        nd->f[0] = s;
    }
    return y;
}
