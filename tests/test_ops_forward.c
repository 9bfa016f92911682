/* Forward values against simple references: activations against libm, LayerNorm, softmax and attention
 * (masked, causal, cross) against naive double-precision loops, and the losses against numbers printed
 * by torch 1.13 (torch.nn.functional.cross_entropy with ignore_index / label_smoothing, CLIP loss). */
#include <math.h>
#include <string.h>

#include "core/ops_act.h" /* tc_act_force_avx2: check both kernel sets */
#include "core/rng.h"
#include "core/tensor.h"
#include "tc_test.h"

static tc_rng R;
static float *randn(int n, float s) {
    float *p = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) p[i] = s * tc_rng_normal(&R);
    return p;
}

static void check_activations(tc_graph *g) {
    enum { N = 4001 };
    float x[N], want[N];
    for (int i = 0; i < N; i++) x[i] = -10.0f + 20.0f * i / (N - 1);
    int sh[1] = {N};
    tc_tensor *t = tc_from_data(g, x, 1, sh);
    for (int i = 0; i < N; i++) want[i] = 0.5f * x[i] * (1.0f + erff(x[i] / sqrtf(2.0f)));
    /* erf is Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, the same formula as PyTorch's vectorised CPU
     * erf), so gelu_erf's absolute error is bounded by 0.5 * |x| * 1.5e-7 + rounding: 1e-6 on [-10, 10] */
    TC_CHECK_ARRAY_CLOSE("gelu_erf", tc_gelu_erf(g, t)->data, want, N, 1e-5, 1e-6);
    for (int i = 0; i < N; i++) {
        double v = x[i];
        want[i] = (float)(0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
    }
    TC_CHECK_ARRAY_CLOSE("gelu_tanh", tc_gelu_tanh(g, t)->data, want, N, 1e-5, 2e-7);
    for (int i = 0; i < N; i++) want[i] = (float)(x[i] / (1.0 + exp(-1.702 * x[i])));
    TC_CHECK_ARRAY_CLOSE("quick_gelu", tc_quick_gelu(g, t)->data, want, N, 1e-5, 2e-7);
    for (int i = 0; i < N; i++) want[i] = tanhf(x[i]);
    TC_CHECK_ARRAY_CLOSE("tanh", tc_tanh(g, t)->data, want, N, 1e-5, 2e-7);
    for (int i = 0; i < N; i++) want[i] = expf(x[i]);
    TC_CHECK_ARRAY_CLOSE("exp", tc_exp(g, t)->data, want, N, 2e-6, 0);
    for (int i = 0; i < N; i++) want[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
    TC_CHECK_ARRAY_CLOSE("sigmoid", tc_sigmoid(g, t)->data, want, N, 1e-5, 2e-7);
    for (int i = 0; i < N; i++) want[i] = x[i] < -1 ? -1 : (x[i] > 2 ? 2 : x[i]);
    TC_CHECK_ARRAY_CLOSE("clamp", tc_clamp(g, t, -1, 2)->data, want, N, 0, 0);
    for (int i = 0; i < N; i++) want[i] = x[i] > 0 ? x[i] : 0;
    TC_CHECK_ARRAY_CLOSE("relu", tc_relu(g, t)->data, want, N, 0, 0);
    /* extreme inputs stay finite */
    float big[4] = {-1000.0f, 1000.0f, -88.0f, 88.0f};
    int s4[1] = {4};
    tc_tensor *e = tc_exp(g, tc_from_data(g, big, 1, s4)), *ge = tc_gelu_erf(g, tc_from_data(g, big, 1, s4));
    TC_CHECK(e->data[0] >= 0 && e->data[0] < 1e-37f && isfinite(e->data[1]), "exp saturates: %g %g", e->data[0], e->data[1]);
    TC_CHECK(ge->data[0] == 0.0f && ge->data[1] == 1000.0f, "gelu tails: %g %g", ge->data[0], ge->data[1]);
}

static void check_layernorm_softmax(tc_graph *g) {
    int rows = 33, d = 203, sh[2] = {rows, d}; /* d not a multiple of 8: masked row tails */
    float *x = randn(rows * d, 3.0f), *gm = randn(d, 1.0f), *bt = randn(d, 1.0f);
    for (int i = 0; i < d; i++) x[i] += 1000.0f; /* a row far from zero: two-pass variance */
    float *want = malloc((size_t)rows * d * sizeof(float)), *wsm = malloc((size_t)rows * d * sizeof(float));
    for (int r = 0; r < rows; r++) {
        double m = 0, v = 0, mx = -INFINITY, s = 0;
        for (int j = 0; j < d; j++) m += x[r * d + j];
        m /= d;
        for (int j = 0; j < d; j++) v += (x[r * d + j] - m) * (x[r * d + j] - m);
        v /= d;
        for (int j = 0; j < d; j++) want[r * d + j] = (float)((x[r * d + j] - m) / sqrt(v + 1e-5) * gm[j] + bt[j]);
        for (int j = 0; j < d; j++) mx = fmax(mx, x[r * d + j]);
        for (int j = 0; j < d; j++) s += exp(x[r * d + j] - mx);
        for (int j = 0; j < d; j++) wsm[r * d + j] = (float)(exp(x[r * d + j] - mx) / s);
    }
    int sd[1] = {d};
    tc_tensor *y = tc_layernorm(g, tc_from_data(g, x, 2, sh), tc_from_data(g, gm, 1, sd), tc_from_data(g, bt, 1, sd), 1e-5f);
    TC_CHECK_ARRAY_CLOSE("layernorm", y->data, want, rows * d, 1e-4, 1e-4);
    TC_CHECK_ARRAY_CLOSE("softmax", tc_softmax(g, tc_from_data(g, x, 2, sh))->data, wsm, rows * d, 1e-5, 1e-9);
    for (int i = 0; i < rows * d; i++) wsm[i] = logf(wsm[i] > 1e-30f ? wsm[i] : 1e-30f);
    tc_tensor *ls = tc_log_softmax(g, tc_from_data(g, x, 2, sh));
    for (int i = 0; i < rows * d; i++) if (wsm[i] < -60) ls->data[i] = wsm[i]; /* underflowed reference */
    /* row 0 sits near 1000, where fp32 x - lse resolves only 6e-5: compare the other rows */
    TC_CHECK_ARRAY_CLOSE("log_softmax", ls->data + d, wsm + d, (rows - 1) * d, 1e-5, 1e-5);
    free(x); free(gm); free(bt); free(want); free(wsm);
}

/* naive attention in double: out [B, Tq, D] */
static void naive_attention(const float *q, const float *k, const float *v, int B, int Tq, int Tk, int D, int H,
                            const float *valid, int causal, float *out) {
    int dh = D / H;
    double *s = malloc((size_t)Tk * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Tq; i++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < Tk; j++) {
                    double d = 0;
                    for (int c = 0; c < dh; c++) d += (double)q[(b * Tq + i) * D + h * dh + c] * k[(b * Tk + j) * D + h * dh + c];
                    d /= sqrt((double)dh);
                    /* the masked score is an fp32 number (spacing 1e-3 near -10000), in the engine, in
                     * torch and in the original alike: round it the same way here */
                    float sf = (float)d;
                    if (valid) sf += (1.0f - valid[b * Tk + j]) * -10000.0f;
                    if (causal && j > i) sf += -10000.0f;
                    d = sf;
                    s[j] = d;
                    mx = fmax(mx, d);
                }
                for (int j = 0; j < Tk; j++) sum += (s[j] = exp(s[j] - mx));
                for (int c = 0; c < dh; c++) {
                    double o = 0;
                    for (int j = 0; j < Tk; j++) o += s[j] / sum * v[(b * Tk + j) * D + h * dh + c];
                    out[(b * Tq + i) * D + h * dh + c] = (float)o;
                }
            }
    free(s);
}

static void check_attention(tc_graph *g) {
    struct { int B, Tq, Tk, D, H, mask, causal; } cs[] = {
        {3, 7, 7, 16, 4, 0, 0}, {3, 7, 7, 16, 4, 1, 0}, {2, 9, 9, 12, 3, 1, 1}, {2, 5, 11, 16, 2, 1, 0}, {1, 33, 33, 64, 1, 0, 1},
        {3, 4, 2, 8, 2, 1, 0}, /* batch 2 has no valid key at all: uniform weights, as in OPT */
    };
    for (int c = 0; c < (int)(sizeof cs / sizeof cs[0]); c++) {
        int B = cs[c].B, Tq = cs[c].Tq, Tk = cs[c].Tk, D = cs[c].D, H = cs[c].H;
        float *q = randn(B * Tq * D, 1), *k = randn(B * Tk * D, 1), *v = randn(B * Tk * D, 1);
        float *valid = malloc((size_t)B * Tk * sizeof(float)), *want = malloc((size_t)B * Tq * D * sizeof(float));
        for (int i = 0; i < B * Tk; i++) valid[i] = (i % Tk) < Tk - 1 - (i / Tk) ? 1.0f : 0.0f;
        naive_attention(q, k, v, B, Tq, Tk, D, H, cs[c].mask ? valid : NULL, cs[c].causal, want);
        int sq[3] = {B, Tq, D}, sk[3] = {B, Tk, D};
        tc_tensor *o = tc_attention(g, tc_from_data(g, q, 3, sq), tc_from_data(g, k, 3, sk), tc_from_data(g, v, 3, sk), H,
                                    cs[c].mask ? valid : NULL, cs[c].causal, 0.1f /* no effect: not training */);
        char name[64];
        snprintf(name, sizeof name, "attention case %d", c);
        TC_CHECK_ARRAY_CLOSE(name, o->data, want, B * Tq * D, 1e-4, 1e-5);
        free(q); free(k); free(v); free(valid); free(want);
    }
}

static void check_losses(tc_graph *g) {
    float x[12] = {0.5f, -1.0f, 2.0f, 0.1f, 1.5f, 0.2f, -0.3f, 0.0f, 0.0f, 0.0f, 1.0f, -2.0f};
    int32_t t[3] = {2, -100, 3};
    int sh[2] = {3, 4};
    tc_tensor *l = tc_from_data(g, x, 2, sh);
    /* torch 1.13: F.cross_entropy(x, t, ignore_index=-100, label_smoothing=eps[, reduction='sum']) */
    TC_CHECK_CLOSE(tc_cross_entropy(g, l, t, -100, 0.0f, TC_REDUCE_MEAN)->data[0], 1.9660651683807373, 1e-6, 0);
    TC_CHECK_CLOSE(tc_cross_entropy(g, l, t, -100, 0.0f, TC_REDUCE_SUM)->data[0], 3.9321303367614746, 1e-6, 0);
    TC_CHECK_CLOSE(tc_cross_entropy(g, l, t, -100, 0.1f, TC_REDUCE_MEAN)->data[0], 1.95856511592865, 1e-6, 0);
    TC_CHECK_CLOSE(tc_cross_entropy(g, l, t, -100, 0.1f, TC_REDUCE_SUM)->data[0], 3.9171302318573, 1e-6, 0);
    /* CLIP loss: (CE(4 a_n b_nᵀ, arange) + CE(transposed)) / 2 with a, b L2-normalised rows */
    float a[9] = {1, 2, 0.5f, 0.3f, -1, 2, 1, 1, 1}, b[9] = {0.5f, 2, 0.1f, 0.3f, -0.5f, 2, -1, 1, 0.2f};
    int s3[2] = {3, 3}, s1[1] = {1};
    float four = 4.0f;
    tc_tensor *nce = tc_info_nce(g, tc_l2_normalize(g, tc_from_data(g, a, 2, s3), 1e-12f),
                                 tc_l2_normalize(g, tc_from_data(g, b, 2, s3), 1e-12f), tc_from_data(g, &four, 1, s1));
    TC_CHECK_CLOSE(nce->data[0], 0.8289687633514404, 1e-6, 0);
    float p[4] = {1, 2, 3, 4}, q[4] = {1.5f, 2, 2, 5};
    int s4[1] = {4};
    TC_CHECK_CLOSE(tc_mse(g, tc_from_data(g, p, 1, s4), tc_from_data(g, q, 1, s4), TC_REDUCE_MEAN)->data[0], 2.25 / 4, 1e-7, 0);
    TC_CHECK_CLOSE(tc_mse(g, tc_from_data(g, p, 1, s4), tc_from_data(g, q, 1, s4), TC_REDUCE_SUM)->data[0], 2.25, 1e-7, 0);
    TC_CHECK_CLOSE(tc_mean(g, tc_from_data(g, p, 1, s4))->data[0], 2.5, 0, 0);
    TC_CHECK_CLOSE(tc_sum(g, tc_from_data(g, p, 1, s4))->data[0], 10, 0, 0);
}

static void check_shapes(tc_graph *g) {
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    int sh[3] = {2, 3, 4};
    tc_tensor *t = tc_from_data(g, x, 3, sh);
    tc_tensor *tr = tc_transpose(g, t, 0, 2); /* [4, 3, 2] view */
    TC_CHECK(tr->data == t->data && !tc_is_contiguous(tr) && tr->shape[0] == 4, "transpose is a view");
    tc_tensor *c = tc_contiguous(g, tr);
    TC_CHECK(c->data[1] == 12 && c->data[2] == 4 && c->data[6] == 1, "contiguous of transpose: %g %g %g", c->data[1], c->data[2], c->data[6]);
    tc_tensor *s = tc_slice(g, t, 1, 1, 2);
    TC_CHECK(s->data == t->data + 4 && s->shape[1] == 2, "slice is a view");
    int r2[2] = {6, -1};
    tc_tensor *rs = tc_reshape(g, t, 2, r2);
    TC_CHECK(rs->data == t->data && rs->shape[1] == 4, "reshape of contiguous is a view");
    tc_tensor *parts[2] = {t, s};
    tc_tensor *cat = tc_concat(g, parts, 2, 1); /* [2, 5, 4] */
    TC_CHECK(cat->shape[1] == 5 && cat->data[12] == 4 && cat->data[20] == 12, "concat axis 1: %g %g", cat->data[12], cat->data[20]);
    int32_t idx[3] = {5, 0, 5};
    tc_tensor *gr = tc_gather_rows(g, t, idx, 3);
    TC_CHECK(gr->data[0] == 20 && gr->data[4] == 0 && gr->data[8] == 20, "gather rows");
    tc_tensor *sc = tc_scatter_rows(g, gr, idx, 3, 7);
    TC_CHECK(sc->data[20] == 40 && sc->data[0] == 0 && sc->data[4] == 0, "scatter rows adds repeats: %g", sc->data[20]);
}

int main(void) {
    tc_rng_seed(&R, 2024);
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    check_activations(g); /* AVX-512 kernels where the CPU has them */
    tc_act_force_avx2(1);
    check_activations(g); /* the AVX2 kernels */
    tc_act_force_avx2(0);
    check_layernorm_softmax(g);
    check_attention(g);
    check_losses(g);
    check_shapes(g);
    tc_graph_free(g);
    return tc_test_summary("ops_forward");
}
