/* The graph: arena reuse without growth after the first step, views aliasing their base's gradient,
 * inference mode recording nothing, gradient accumulation into parameters, and dropout masks that are
 * a function of (seed, step, op, element) only: identical for 1 and 2 threads, equal to tc_rng_hash. */
#include <omp.h>
#include <string.h>

#include "core/graph_internal.h" /* tc_keep_mask: the vector and scalar mask paths */
#include "core/rng.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "tc_test.h"

/* A small transformer-ish step: every kind of allocation the training loop makes. */
static tc_tensor *step(tc_graph *g, tc_tensor *w, tc_tensor *b, tc_tensor *gm, tc_tensor *bt, const float *x0) {
    int sh[3] = {4, 16, 32};
    tc_tensor *x = tc_from_data(g, x0, 3, sh);
    tc_tensor *h = tc_linear(g, x, w, b, TC_W_OUT_IN);            /* [4, 16, 96] */
    tc_tensor *q = tc_slice(g, h, 2, 0, 32), *k = tc_slice(g, h, 2, 32, 32), *v = tc_slice(g, h, 2, 64, 32);
    tc_tensor *a = tc_attention(g, q, k, v, 4, NULL, 1, 0.1f);
    tc_tensor *y = tc_layernorm(g, tc_add(g, tc_dropout(g, a, 0.1f), x), gm, bt, 1e-5f);
    int32_t t[64];
    for (int i = 0; i < 64; i++) t[i] = i % 32;
    int s2[2] = {64, 32};
    return tc_cross_entropy(g, tc_reshape(g, tc_gelu_erf(g, y), 2, s2), t, -100, 0.1f, TC_REDUCE_MEAN);
}

int main(void) {
    tc_params ps;
    tc_params_init(&ps);
    int ws[2] = {96, 32}, bs[1] = {96}, ds[1] = {32};
    tc_tensor *w = tc_params_add(&ps, "w", 2, ws), *b = tc_params_add(&ps, "b", 1, bs);
    tc_tensor *gm = tc_params_add(&ps, "ln.gamma", 1, ds), *bt = tc_params_add(&ps, "ln.beta", 1, ds);
    tc_params_finalize(&ps);
    tc_rng r;
    tc_rng_seed(&r, 5);
    for (size_t i = 0; i < tc_numel(w); i++) w->data[i] = 0.2f * tc_rng_normal(&r);
    for (int i = 0; i < 32; i++) gm->data[i] = 1.0f;
    float x0[4 * 16 * 32];
    for (int i = 0; i < 4 * 16 * 32; i++) x0[i] = tc_rng_normal(&r);

    /* 1. arena: capacity fixed after step one, identical losses for identical steps */
    tc_graph *g = tc_graph_new();
    size_t cap1 = 0;
    int chunks1 = 0;
    float first = 0;
    for (int s = 0; s < 5; s++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 42, 3);
        tc_params_zero_grad(&ps);
        tc_tensor *loss = step(g, w, b, gm, bt, x0);
        tc_backward(g, loss);
        if (s == 0) {
            cap1 = tc_graph_arena_capacity(g);
            chunks1 = tc_graph_arena_chunks(g);
            first = loss->data[0];
        } else {
            TC_CHECK(tc_graph_arena_capacity(g) == cap1, "arena grew after step one: %zu -> %zu", cap1,
                     tc_graph_arena_capacity(g));
            TC_CHECK(tc_graph_arena_chunks(g) == chunks1, "arena chunks %d -> %d", chunks1, tc_graph_arena_chunks(g));
            TC_CHECK(loss->data[0] == first, "same step, same loss: %.9g vs %.9g", loss->data[0], first);
        }
    }
    TC_CHECK(tc_graph_arena_bytes(g) > 0 && tc_graph_arena_bytes(g) <= cap1, "high-water %zu within capacity %zu",
             tc_graph_arena_bytes(g), cap1);

    /* 2. gradient accumulation: two backward passes without zeroing give twice the gradient */
    float *g1 = malloc(ps.total * sizeof(float));
    tc_graph_reset(g);
    tc_params_zero_grad(&ps);
    tc_backward(g, step(g, w, b, gm, bt, x0));
    memcpy(g1, ps.grad, ps.total * sizeof(float));
    tc_graph_reset(g);
    tc_backward(g, step(g, w, b, gm, bt, x0));
    int twice = 1;
    for (size_t i = 0; i < ps.total; i++) twice &= fabsf(ps.grad[i] - 2 * g1[i]) <= 1e-6f + 1e-5f * fabsf(g1[i]);
    TC_CHECK(twice, "accumulated gradient is twice the single one");

    /* 3. thread-count independence: dropout masks equal bit for bit, grads equal up to rounding */
    tc_set_threads(1);
    tc_graph_reset(g);
    tc_params_zero_grad(&ps);
    tc_tensor *lt1 = step(g, w, b, gm, bt, x0);
    float l1 = lt1->data[0];
    tc_backward(g, lt1);
    memcpy(g1, ps.grad, ps.total * sizeof(float));
    tc_set_threads(2);
    tc_graph_reset(g);
    tc_params_zero_grad(&ps);
    tc_tensor *lt2 = step(g, w, b, gm, bt, x0);
    float l2 = lt2->data[0];
    tc_backward(g, lt2);
    TC_CHECK_CLOSE(l2, l1, 1e-5, 0);
    TC_CHECK_ARRAY_CLOSE("param grads, 2 threads vs 1", ps.grad, g1, (long)ps.total, 1e-4, 1e-6);
    int n = 70001;
    int sh[1] = {n};
    float *ones = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) ones[i] = 1.0f;
    float *m1 = malloc((size_t)n * sizeof(float));
    for (int t = 1; t <= 2; t++) {
        tc_set_threads(t);
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 1, 77, 9);
        tc_tensor *d0 = tc_dropout(g, tc_from_data(g, ones, 1, sh), 0.5f); /* op 0 of step 9 */
        tc_tensor *d = tc_dropout(g, tc_from_data(g, ones, 1, sh), 0.25f); /* op 1 of step 9 */
        (void)d0;
        if (t == 1) {
            memcpy(m1, d->data, (size_t)n * sizeof(float));
            long kept = 0, match = 0, scaled = 0;
            for (int i = 0; i < n; i++) {
                int keep = tc_rng_hash_uniform(77, 9 * 65536 + 1, (uint64_t)i) >= 0.25f;
                match += keep == (d->data[i] != 0);
                kept += d->data[i] != 0;
                scaled += d->data[i] == 0 || fabsf(d->data[i] - 1.0f / 0.75f) <= 1e-6f;
            }
            TC_CHECK(scaled == n, "kept values are scaled by 1/(1-p): %ld of %d", scaled, n);
            TC_CHECK(match == n, "mask equals tc_rng_hash draws (%ld of %d)", match, n);
            TC_CHECK(fabs(kept / (double)n - 0.75) < 0.01, "keep rate %g", kept / (double)n);
        } else {
            TC_CHECK(memcmp(m1, d->data, (size_t)n * sizeof(float)) == 0, "mask differs between 1 and 2 threads");
        }
    }
    /* the AVX-512 mask generator (when the CPU has it) and the scalar one give the same bits */
    {
        long nm = 10007;
        uint8_t *ka = malloc((size_t)nm), *ks = malloc((size_t)nm);
        uint64_t key = 0x123456789abcdefull;
        tc_keep_mask_force(-1);
        tc_keep_mask(ka, nm, key, 5, 1677722);
        tc_keep_mask_force(0);
        tc_keep_mask(ks, nm, key, 5, 1677722);
        tc_keep_mask_force(-1);
        TC_CHECK(memcmp(ka, ks, (size_t)nm) == 0, "vector and scalar keep-masks differ");
        long agree = 0;
        for (long i = 0; i < nm; i++)
            agree += ks[i] == ((uint32_t)(tc_hash_at(key, 5 + (uint64_t)i) >> 40) >= 1677722u);
        TC_CHECK(agree == nm, "scalar mask follows tc_hash_at");
        free(ka);
        free(ks);
    }
    /* a different step gives a different mask */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 1, 77, 10);
    tc_dropout(g, tc_from_data(g, ones, 1, sh), 0.5f);
    tc_tensor *d10 = tc_dropout(g, tc_from_data(g, ones, 1, sh), 0.25f);
    TC_CHECK(memcmp(m1, d10->data, (size_t)n * sizeof(float)) != 0, "step 10 must differ from step 9");
    /* eval mode: dropout is the identity (the same tensor) */
    tc_graph_set_mode(g, 0, 0, 77, 10);
    tc_tensor *xe = tc_from_data(g, ones, 1, sh);
    TC_CHECK(tc_dropout(g, xe, 0.5f) == xe, "eval dropout returns its input");

    /* 4. inference mode records nothing and leaves outputs without grad */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *li = step(g, w, b, gm, bt, x0);
    TC_CHECK(!li->requires_grad && li->node == -1, "inference output is a leaf");

    /* 5. a view's gradient aliases its base's: grads of two slices land in one buffer */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&ps);
    tc_tensor *s0 = tc_slice(g, w, 0, 0, 10), *s1 = tc_slice(g, w, 0, 5, 10);
    tc_backward(g, tc_add(g, tc_sum(g, s0), tc_scale(g, tc_sum(g, tc_transpose(g, s1, 0, 1)), 3.0f)));
    int okv = 1;
    for (int row = 0; row < 96; row++)
        for (int c = 0; c < 32; c++) {
            float want = (row < 10 ? 1.0f : 0.0f) + (row >= 5 && row < 15 ? 3.0f : 0.0f);
            okv &= w->grad[row * 32 + c] == want;
        }
    TC_CHECK(okv, "slice/transpose grads accumulate into the parameter's grad slab");

    /* 6. a frozen parameter (requires_grad cleared) gets no gradient; the others still do */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&ps);
    w->requires_grad = 0;
    tc_backward(g, step(g, w, b, gm, bt, x0));
    w->requires_grad = 1;
    int wz = 1, bnz = 0;
    for (size_t i = 0; i < tc_numel(w); i++) wz &= w->grad[i] == 0.0f;
    for (size_t i = 0; i < tc_numel(b); i++) bnz |= b->grad[i] != 0.0f;
    TC_CHECK(wz && bnz, "frozen weight untouched (%d), bias still trained (%d)", wz, bnz);

    /* 7. thread count: TAICHU_THREADS when n = 0, and OpenMP follows */
    setenv("TAICHU_THREADS", "1", 1);
    TC_CHECK(tc_set_threads(0) == 1 && omp_get_max_threads() == 1, "TAICHU_THREADS=1 honoured");
    unsetenv("TAICHU_THREADS");
    TC_CHECK(tc_set_threads(3) == 3 && omp_get_max_threads() == 3 && tc_get_threads() == 3, "explicit count");
    TC_CHECK(tc_set_threads(0) >= 1, "default: the online cores");

    free(g1);
    free(ones);
    free(m1);
    tc_graph_free(g);
    tc_params_free(&ps);
    return tc_test_summary("graph");
}
