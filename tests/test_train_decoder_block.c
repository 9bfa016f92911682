/* One decoder block of the repo-local Transformer layout (src/nn/transformer.h with tc_block_cfg_local:
 * every matrix out×in, ReLU FFN, causal + key-padding self-attention, cross-attention to an un-normalised
 * memory with its own key mask) against PyTorch (ref/twin_transformer.py -> tests/data/twin/decoder.bin):
 * the output and the gradients of every parameter and of both inputs, with fused and separate q/k/v. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/transformer.h"
#include "tc_golden.h"
#include "tc_test.h"

#define B 2
#define T 5
#define S 6
#define D 32

/* OPT's decoder positions (opt-spec §1.10): sines in the first half, cosines in the second,
 * ω_i = exp(−i·ln(10000)/(d/2 − 1)), so ω_0 = 1 and ω_{d/2−1} = 1e-4. */
static void check_sinusoid(void) {
    enum { TT = 150, DD = 1024, HH = DD / 2 };
    float *pe = malloc(sizeof(float) * TT * DD);
    tc_nn_sinusoid_table(pe, TT, DD);
    double worst = 0;
    for (int t = 0; t < TT; t++) {
        worst = fmax(worst, fabs(pe[t * DD + 0] - sin((double)t)));
        worst = fmax(worst, fabs(pe[t * DD + HH] - cos((double)t)));
        worst = fmax(worst, fabs(pe[t * DD + HH - 1] - sin(t * 1e-4)));
        worst = fmax(worst, fabs(pe[t * DD + DD - 1] - cos(t * 1e-4)));
        worst = fmax(worst, fabs(pe[t * DD + 100] - sin(t * pow(10000.0, -100.0 / (HH - 1)))));
    }
    TC_CHECK(worst < 1e-6, "sinusoid table off by %g", worst);
    free(pe);
}

int main(void) {
    check_sinusoid();
    tc_golden *gd = tc_golden_load(TAICHU_TEST_DATA "/twin/decoder.bin");
    TC_CHECK(gd != NULL, "golden file loads");
    if (!gd) return tc_test_summary("train_decoder_block");

    tc_params ps;
    tc_params_init(&ps);
    tc_nn nn;
    tc_nn_begin(&nn, &ps);
    tc_block_cfg cfg = tc_block_cfg_local(D, 4, 48, 0.0f, 1);
    tc_nn_block blk;
    tc_nn_block_make(&blk, &nn, "dec.blocks.0", &cfg);
    /* the inputs as parameters, so their gradients land in the slab too */
    int xs[3] = {B, T, D}, ms[3] = {B, S, D};
    tc_tensor *x = tc_params_add(&ps, "x", 3, xs);
    tc_tensor *mem = tc_params_add(&ps, "mem", 3, ms);
    tc_nn_finalize(&nn, 1);
    tc_nn_end(&nn);

    char key[512];
    int nblock = 0;
    for (int i = 0; i < ps.n; i++) {
        tc_param *p = ps.p[i];
        if (p->t.data == x->data || p->t.data == mem->data) snprintf(key, sizeof key, "%s", p->name);
        else snprintf(key, sizeof key, "init.%s", p->name), nblock++;
        long n;
        const float *src = tc_golden_f32(gd, key, &n);
        TC_CHECK(src && (size_t)n == p->numel, "%s: present with %zu elements", key, p->numel);
        if (src && (size_t)n == p->numel) memcpy(p->t.data, src, p->numel * sizeof(float));
    }
    int ngold = 0;
    for (int i = 0; i < gd->n; i++) ngold += strncmp(gd->rec[i].name, "init.", 5) == 0;
    TC_CHECK(ngold == nblock, "block has %d parameters, twin %d", nblock, ngold);

    const float *valid = tc_golden_f32(gd, "valid", NULL), *mem_valid = tc_golden_f32(gd, "mem_valid", NULL);
    const float *R = tc_golden_f32(gd, "R", NULL), *want_out = tc_golden_f32(gd, "out", NULL);
    tc_graph *g = tc_graph_new();
    for (int fused = 1; fused >= 0 && valid && mem_valid && R && want_out; fused--) {
        blk.attn.fused = blk.xattn.fused = fused ? -1 : 0;
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 1, 0);
        tc_params_zero_grad(&ps);
        tc_tensor *out = tc_nn_block_fwd(g, &blk, x, valid, 1, mem, mem_valid);
        TC_CHECK(out->ndim == 3 && out->shape[0] == B && out->shape[1] == T && out->shape[2] == D, "output shape");
        TC_CHECK_ARRAY_CLOSE(fused ? "out (fused)" : "out (separate)", out->data, want_out, B * T * D, 1e-5,
                             1e-5 * tc_max_abs(want_out, B * T * D));
        tc_backward(g, tc_sum(g, tc_mul(g, out, tc_from_data(g, R, 3, xs))));
        for (int i = 0; i < ps.n; i++) {
            tc_param *p = ps.p[i];
            snprintf(key, sizeof key, "grad.%s", p->name);
            long n;
            const float *want = tc_golden_f32(gd, key, &n);
            if (!want || (size_t)n != p->numel) { TC_CHECK(0, "%s missing", key); continue; }
            snprintf(key, sizeof key, "grad.%s (%s)", p->name, fused ? "fused" : "separate");
            /* absolute floor: dense2.bias (the key bias) has an analytically zero gradient (softmax is
             * invariant to a per-row shift), so both sides hold float rounding noise of ~1e-7..1e-6 */
            TC_CHECK_ARRAY_CLOSE(key, p->t.grad, want, n, 1e-4, 1e-5 * tc_max_abs(want, n) + 5e-6);
        }
        if (fused) TC_CHECK(blk.attn.fused == 1 && blk.xattn.fused == 1, "d = 32: fused projections in use");
    }
    tc_graph_free(g);
    tc_params_free(&ps);
    tc_golden_free(gd);
    return tc_test_summary("train_decoder_block");
}
