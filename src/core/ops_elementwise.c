/* Element-wise ops: add / sub / bias / rows / mul / scale / clamp, activations, dropout.
 * Inputs are made contiguous first (tc_contig) so every loop is a flat, vectorisable, statically
 * scheduled OpenMP loop. Backward functions write fresh gradients without a zeroing pass (tc_grad_w).
 * Activations run AVX2 kernels (vmath.h) or, on AVX-512 CPUs, those of ops_act512.c. */
#include <math.h>

#include <stdlib.h>

#include "core/graph_internal.h"
#include "core/ops_act.h"
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

enum { BIN_ADD, BIN_SUB, BIN_MUL };

/* y = a op b for a and b of one shape (the caller checks it, with its own message): the forward of
 * tc_add, tc_sub and tc_mul, recorded with backward bw. One plain loop per op, so each stays vectorised. */
static tc_tensor *binary(tc_graph *g, tc_tensor *a, tc_tensor *b, int op, tc_backward_fn bw, const char *name) {
    a = tc_contig(g, a);
    b = tc_contig(g, b);
    tc_tensor *y = tc_new_like(g, a);
    long n = (long)tc_numel(a);
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    switch (op) {
    case BIN_ADD:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = pa[i] + pb[i];
        break;
    case BIN_SUB:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = pa[i] - pb[i];
        break;
    default:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = pa[i] * pb[i];
        break;
    }
    tc_record(g, bw, name, y, a, b, NULL, NULL);
    return y;
}

enum { SC_SCALE, SC_ADD, SC_CLAMP };

/* y = s * x (tc_scale), x + s (tc_add_scalar) or x clamped to [s, s2] (tc_clamp), recorded with backward bw;
 * the node keeps s and s2 in f[0] and f[1]. One plain loop per op, as in binary(). */
static tc_tensor *scalar_op(tc_graph *g, tc_tensor *x, int op, float s, float s2, tc_backward_fn bw, const char *name) {
    x = tc_contig(g, x);
    tc_tensor *y = tc_new_like(g, x);
    long n = (long)tc_numel(x);
    const float *px = x->data;
    float *py = y->data;
    switch (op) {
    case SC_SCALE:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = s * px[i];
        break;
    case SC_ADD:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = px[i] + s;
        break;
    default:
        PAR_FOR
        for (long i = 0; i < n; i++) py[i] = px[i] < s ? s : (px[i] > s2 ? s2 : px[i]);
        break;
    }
    tc_node *nd = tc_record(g, bw, name, y, x, NULL, NULL, NULL);
    if (nd) {
        nd->f[0] = s;
        nd->f[1] = s2;
    }
    return y;
}

static void add_bw(tc_graph *g, tc_node *nd) {
    long n = (long)tc_numel(nd->out);
    axpy_grad(g, nd->in[0], nd->out->grad, 1.0f, n);
    axpy_grad(g, nd->in[1], nd->out->grad, 1.0f, n);
}

tc_tensor *tc_add(tc_graph *g, tc_tensor *a, tc_tensor *b) {
    TC_REQUIRE(tc_same_shape(a, b), "tc_add", "shapes differ (%d-D vs %d-D or sizes)", a->ndim, b->ndim);
    return binary(g, a, b, BIN_ADD, add_bw, "add");
}

static void scale_bw(tc_graph *g, tc_node *nd) {
    axpy_grad(g, nd->in[0], nd->out->grad, nd->f[0], (long)tc_numel(nd->out));
}

tc_tensor *tc_scale(tc_graph *g, tc_tensor *x, float s) { return scalar_op(g, x, SC_SCALE, s, 0.0f, scale_bw, "scale"); }

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
    return binary(g, a, b, BIN_MUL, mul_bw, "mul");
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
        /* sum over the batch: blocks of r's elements go to threads, each summed in batch order */
        const float *gy = y->grad;
#pragma omp parallel for schedule(static) if (n > TC_PAR_MIN)
        for (long i0 = 0; i0 < m; i0 += 256) {
            long i1 = i0 + 256 < m ? i0 + 256 : m;
            for (long k = 0; k < reps; k++) {
                const float *src = gy + k * m;
#pragma omp simd
                for (long i = i0; i < i1; i++) gr[i] += src[i];
            }
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

#define ACT_GELU_TANH TC_ACT_GELU_TANH
#define ACT_GELU_ERF TC_ACT_GELU_ERF
#define ACT_QUICK_GELU TC_ACT_QUICK_GELU
#define ACT_RELU TC_ACT_RELU
#define ACT_TANH TC_ACT_TANH
#define ACT_EXP TC_ACT_EXP
#define ACT_SIGMOID TC_ACT_SIGMOID
#define GELU_K TC_GELU_K
#define GELU_C TC_GELU_C
#define INV_SQRT2 TC_INV_SQRT2
#define INV_SQRT_2PI TC_INV_SQRT_2PI

/* AVX-512 kernels (ops_act512.c) when the CPU has them; TAICHU_NO_AVX512 in the environment forces
 * the AVX2 ones (for comparisons). */
static int use512 = -1;
static int act_use512(void) {
    if (use512 < 0) {
        const char *e = getenv("TAICHU_NO_AVX512");
        use512 = tc_have_avx512() && !(e && *e && *e != '0');
    }
    return use512;
}

void tc_act_force_avx2(int on) { use512 = on ? 0 : -1; }

#define V1(c) _mm256_set1_ps(c)

/* y = f(x), 8 lanes; `kind` is a constant after inlining, so each kernel below is specialised. */
static inline __attribute__((always_inline)) __m256 act_f(int kind, __m256 x) {
    switch (kind) {
    case ACT_GELU_TANH: { /* 0.5 x (1 + tanh(k (x + c x^3))) */
        __m256 u = _mm256_mul_ps(V1(GELU_K), _mm256_fmadd_ps(_mm256_mul_ps(V1(GELU_C), x), _mm256_mul_ps(x, x), x));
        return _mm256_mul_ps(_mm256_mul_ps(V1(0.5f), x), _mm256_add_ps(V1(1.0f), tc_v8_tanh(u)));
    }
    case ACT_GELU_ERF:
        return _mm256_mul_ps(_mm256_mul_ps(V1(0.5f), x), _mm256_add_ps(V1(1.0f), tc_v8_erf(_mm256_mul_ps(x, V1(INV_SQRT2)))));
    case ACT_QUICK_GELU: return _mm256_mul_ps(x, tc_v8_sigmoid(_mm256_mul_ps(V1(1.702f), x)));
    case ACT_RELU: return _mm256_max_ps(x, _mm256_setzero_ps());
    case ACT_TANH: return tc_v8_tanh(x);
    case ACT_SIGMOID: return tc_v8_sigmoid(x);
    default: return tc_v8_exp(x);
    }
}

/* dy/dx from the input x (and the output y, for tanh and exp) */
static inline __attribute__((always_inline)) __m256 act_d(int kind, __m256 x, __m256 y) {
    __m256 one = V1(1.0f);
    switch (kind) {
    case ACT_GELU_TANH: {
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 t = tc_v8_tanh(_mm256_mul_ps(V1(GELU_K), _mm256_fmadd_ps(_mm256_mul_ps(V1(GELU_C), x), x2, x)));
        /* 0.5 (1 + t) + 0.5 x (1 - t²) k (1 + 3c x²) */
        __m256 du = _mm256_mul_ps(V1(GELU_K), _mm256_fmadd_ps(V1(3.0f * GELU_C), x2, one));
        __m256 a = _mm256_mul_ps(V1(0.5f), _mm256_add_ps(one, t));
        __m256 b = _mm256_mul_ps(_mm256_mul_ps(V1(0.5f), x), _mm256_fnmadd_ps(t, t, one));
        return _mm256_fmadd_ps(b, du, a);
    }
    case ACT_GELU_ERF: { /* 0.5 (1 + erf(x/√2)) + x φ(x); erf's exp(-z²) is exp(-x²/2) = √(2π) φ(x) */
        __m256 e;
        __m256 a = _mm256_mul_ps(V1(0.5f), _mm256_add_ps(one, tc_v8_erf_e(_mm256_mul_ps(x, V1(INV_SQRT2)), &e)));
        return _mm256_fmadd_ps(_mm256_mul_ps(x, V1(INV_SQRT_2PI)), e, a);
    }
    case ACT_QUICK_GELU: { /* s + 1.702 x s (1 - s) */
        __m256 sg = tc_v8_sigmoid(_mm256_mul_ps(V1(1.702f), x));
        return _mm256_fmadd_ps(_mm256_mul_ps(V1(1.702f), x), _mm256_mul_ps(sg, _mm256_sub_ps(one, sg)), sg);
    }
    case ACT_RELU: return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), one);
    case ACT_TANH: return _mm256_fnmadd_ps(y, y, one);
    case ACT_SIGMOID: return _mm256_mul_ps(y, _mm256_sub_ps(one, y));
    default: return y;
    }
}

/* Blocks of 1024 floats per OpenMP iteration; the last partial vector uses masked loads/stores. */
#define ACT_BLOCK 1024

static inline __attribute__((always_inline)) void act_fwd_kernel(int kind, const float *x, float *y, long n) {
    long nb = (n + ACT_BLOCK - 1) / ACT_BLOCK;
    int v512 = act_use512();
#pragma omp parallel for schedule(static) if (n > TC_PAR_MIN)
    for (long b = 0; b < nb; b++) {
        long i = b * ACT_BLOCK, e = i + ACT_BLOCK < n ? i + ACT_BLOCK : n;
        if (v512) {
            tc_act512_fwd(kind, x + i, y + i, e - i);
            continue;
        }
        for (; i + 8 <= e; i += 8) _mm256_storeu_ps(y + i, act_f(kind, _mm256_loadu_ps(x + i)));
        if (i < e) {
            __m256i m = tc_v8_tailmask((int)(e - i));
            _mm256_maskstore_ps(y + i, m, act_f(kind, _mm256_maskload_ps(x + i, m)));
        }
    }
}

static inline __attribute__((always_inline)) void act_bwd_kernel(int kind, const float *x, const float *y,
                                                                 const float *gy, float *gx, long n, int acc) {
    long nb = (n + ACT_BLOCK - 1) / ACT_BLOCK;
    int v512 = act_use512();
#pragma omp parallel for schedule(static) if (n > TC_PAR_MIN)
    for (long b = 0; b < nb; b++) {
        long i = b * ACT_BLOCK, e = i + ACT_BLOCK < n ? i + ACT_BLOCK : n;
        if (v512) {
            tc_act512_bwd(kind, x + i, y + i, gy + i, gx + i, e - i, acc);
            continue;
        }
        for (; i + 8 <= e; i += 8) {
            __m256 g = _mm256_mul_ps(_mm256_loadu_ps(gy + i), act_d(kind, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
            if (acc) g = _mm256_add_ps(g, _mm256_loadu_ps(gx + i));
            _mm256_storeu_ps(gx + i, g);
        }
        if (i < e) {
            __m256i m = tc_v8_tailmask((int)(e - i));
            __m256 d = act_d(kind, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m));
            __m256 g = _mm256_mul_ps(_mm256_maskload_ps(gy + i, m), d);
            if (acc) g = _mm256_add_ps(g, _mm256_maskload_ps(gx + i, m));
            _mm256_maskstore_ps(gx + i, m, g);
        }
    }
}

static void act_forward(int kind, const float *x, float *y, long n) {
    switch (kind) {
    case ACT_GELU_TANH: act_fwd_kernel(ACT_GELU_TANH, x, y, n); break;
    case ACT_GELU_ERF: act_fwd_kernel(ACT_GELU_ERF, x, y, n); break;
    case ACT_QUICK_GELU: act_fwd_kernel(ACT_QUICK_GELU, x, y, n); break;
    case ACT_RELU: act_fwd_kernel(ACT_RELU, x, y, n); break;
    case ACT_TANH: act_fwd_kernel(ACT_TANH, x, y, n); break;
    case ACT_SIGMOID: act_fwd_kernel(ACT_SIGMOID, x, y, n); break;
    default: act_fwd_kernel(ACT_EXP, x, y, n); break;
    }
}

static void act_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    int acc;
    long n = (long)tc_numel(y);
    float *gx = tc_grad_w(g, x, &acc);
    const float *gy = y->grad, *px = x->data, *py = y->data;
    switch (nd->i[0]) {
    case ACT_GELU_TANH: act_bwd_kernel(ACT_GELU_TANH, px, py, gy, gx, n, acc); break;
    case ACT_GELU_ERF: act_bwd_kernel(ACT_GELU_ERF, px, py, gy, gx, n, acc); break;
    case ACT_QUICK_GELU: act_bwd_kernel(ACT_QUICK_GELU, px, py, gy, gx, n, acc); break;
    case ACT_RELU: act_bwd_kernel(ACT_RELU, px, py, gy, gx, n, acc); break;
    case ACT_TANH: act_bwd_kernel(ACT_TANH, px, py, gy, gx, n, acc); break;
    case ACT_SIGMOID: act_bwd_kernel(ACT_SIGMOID, px, py, gy, gx, n, acc); break;
    default: act_bwd_kernel(ACT_EXP, px, py, gy, gx, n, acc); break;
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
tc_tensor *tc_sigmoid(tc_graph *g, tc_tensor *x) { return activation(g, x, ACT_SIGMOID, "sigmoid"); }

/* -------------------------------------------------------------------- sub / add_scalar / clamp */

static void sub_bw(tc_graph *g, tc_node *nd) {
    long n = (long)tc_numel(nd->out);
    axpy_grad(g, nd->in[0], nd->out->grad, 1.0f, n);
    axpy_grad(g, nd->in[1], nd->out->grad, -1.0f, n);
}

tc_tensor *tc_sub(tc_graph *g, tc_tensor *a, tc_tensor *b) {
    TC_REQUIRE(tc_same_shape(a, b), "tc_sub", "shapes differ");
    return binary(g, a, b, BIN_SUB, sub_bw, "sub");
}

static void add_scalar_bw(tc_graph *g, tc_node *nd) { axpy_grad(g, nd->in[0], nd->out->grad, 1.0f, (long)tc_numel(nd->out)); }

tc_tensor *tc_add_scalar(tc_graph *g, tc_tensor *x, float c) {
    return scalar_op(g, x, SC_ADD, c, 0.0f, add_scalar_bw, "add_scalar");
}

static void clamp_bw(tc_graph *g, tc_node *nd) {
    tc_tensor *x = nd->in[0], *y = nd->out;
    if (!x->requires_grad) return;
    long n = (long)tc_numel(y);
    float lo = nd->f[0], hi = nd->f[1];
    int acc;
    float *gx = tc_grad_w(g, x, &acc);
    const float *px = x->data, *gy = y->grad;
    /* torch: the gradient passes where lo <= x <= hi */
    PAR_FOR
    for (long i = 0; i < n; i++) {
        float v = px[i] >= lo && px[i] <= hi ? gy[i] : 0.0f;
        gx[i] = acc ? gx[i] + v : v;
    }
}

tc_tensor *tc_clamp(tc_graph *g, tc_tensor *x, float lo, float hi) {
    TC_REQUIRE(lo <= hi, "tc_clamp", "lo %g > hi %g", (double)lo, (double)hi);
    return scalar_op(g, x, SC_CLAMP, lo, hi, clamp_bw, "clamp");
}

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
        for (long i = 0; i < n; i++) gx[i] += gy[i] * (s * (float)m[i]);
    } else {
        PAR_FOR
        for (long i = 0; i < n; i++) gx[i] = gy[i] * (s * (float)m[i]);
    }
}

tc_tensor *tc_dropout(tc_graph *g, tc_tensor *x, float p) {
    TC_REQUIRE(p >= 0.0f && p < 1.0f, "tc_dropout", "p = %g, expected 0 <= p < 1", (double)p);
    if (!g->training || p == 0.0f) return x;
    x = tc_contig(g, x);
    long n = (long)tc_numel(x);
    uint8_t *m = tc_graph_alloc(g, (size_t)n);
    uint64_t key = tc_hash_key(g->seed, tc_next_stream(g));
    uint32_t thr = tc_dropout_threshold(p);
    tc_tensor *y = tc_new_like(g, x);
    float s = 1.0f / (1.0f - p);
    const float *px = x->data;
    float *py = y->data;
    long nb = (n + ACT_BLOCK - 1) / ACT_BLOCK;
    /* mask and apply in one pass per block, while the block is in L1; multiplying by s·m (not a
     * select) keeps the loop branch-free: a 10% mask would mispredict on every dropped element */
#pragma omp parallel for schedule(static) if (n > TC_PAR_MIN)
    for (long b = 0; b < nb; b++) {
        long i0 = b * ACT_BLOCK, e = i0 + ACT_BLOCK < n ? i0 + ACT_BLOCK : n;
        tc_keep_mask(m + i0, e - i0, key, (uint64_t)i0, thr);
#pragma omp simd
        for (long i = i0; i < e; i++) py[i] = px[i] * (s * (float)m[i]);
    }
    tc_node *nd = tc_record(g, dropout_bw, "dropout", y, x, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = m;
        nd->f[0] = s;
    }
    return y;
}
