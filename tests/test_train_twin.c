/* Ten training steps of the tiny transformer (src/nn/seq_encoder.h) against its PyTorch twin
 * (ref/twin_transformer.py -> tests/data/twin/tiny.bin): same initial weights (loaded by name), same
 * batches, torch.optim.AdamW + clip_grad_norm_ + warm-up/cosine LambdaLR, dropout 0.
 * Checks: every parameter name and shape matches the twin; step-0 logits and every gradient (fused and
 * unfused q/k/v projections, and via gradient accumulation over two micro-batches); per-step lr, gradient
 * norm and loss (loss within 1e-4 relative); the parameters after 10 steps. */
#include <math.h>
#include <string.h>

#include "core/optim.h"
#include "core/schedule.h"
#include "nn/seq_encoder.h"
#include "tc_golden.h"
#include "tc_test.h"

#define STEPS 10
#define B 4
#define T 8

/* Compare every parameter's tensor (data or grad) with "<prefix>.<name>"; atol scales with the tensor. */
static void compare_params(const tc_golden *gd, tc_params *ps, const char *prefix, int grad, double rtol,
                           double atol_rel) {
    char key[512];
    for (int i = 0; i < ps->n; i++) {
        tc_param *p = ps->p[i];
        snprintf(key, sizeof key, "%s.%s", prefix, p->name);
        long n;
        const float *want = tc_golden_f32(gd, key, &n);
        TC_CHECK(want && (size_t)n == p->numel, "%s present with %zu elements", key, p->numel);
        if (!want) continue;
        double atol = atol_rel * tc_max_abs(want, n) + 1e-9;
        TC_CHECK_ARRAY_CLOSE(key, grad ? p->t.grad : p->t.data, want, n, rtol, atol);
    }
}

static void set_fused(tc_seq_encoder *m, int fused) {
    for (int i = 0; i < m->enc.n; i++) m->enc.blocks[i].attn.fused = fused ? -1 : 0;
}

/* The twin's per-step records "<name>.<step>" (NULL, with a message, when absent). */
static const float *step_f32(const tc_golden *gd, const char *name, int step) {
    char key[64];
    snprintf(key, sizeof key, "%s.%d", name, step);
    return tc_golden_f32(gd, key, NULL);
}
static const int32_t *step_i32(const tc_golden *gd, const char *name, int step) {
    char key[64];
    snprintf(key, sizeof key, "%s.%d", name, step);
    return tc_golden_i32(gd, key, NULL);
}

static tc_tensor *forward_loss(tc_graph *g, tc_seq_encoder *m, const tc_golden *gd, int step, int b0, int nb,
                               tc_tensor **logits_out) {
    const int32_t *ids = step_i32(gd, "ids", step), *tgt = step_i32(gd, "tgt", step);
    const float *valid = step_f32(gd, "valid", step);
    if (!ids || !tgt || !valid) return NULL;
    tc_tensor *logits = tc_seq_encoder_fwd(g, m, ids + b0 * T, valid + b0 * T, nb, T);
    if (logits_out) *logits_out = logits;
    return tc_seq_encoder_loss(g, m, logits, tgt + b0 * T);
}

int main(void) {
    tc_golden *gd = tc_golden_load(TAICHU_TEST_DATA "/twin/tiny.bin");
    TC_CHECK(gd != NULL, "golden file loads");
    if (!gd) return tc_test_summary("train_twin");

    tc_seq_encoder_cfg cfg = {13, 32, 4, 64, 2, T, 0.0f, 1};
    tc_seq_encoder m;
    tc_seq_encoder_init(&m, &cfg, 1);
    /* names: the model's parameters are exactly the twin's */
    int ninit = 0;
    for (int i = 0; i < gd->n; i++) ninit += strncmp(gd->rec[i].name, "init.", 5) == 0;
    TC_CHECK(ninit == m.ps.n, "twin has %d parameters, model %d", ninit, m.ps.n);
    char key[512];
    for (int i = 0; i < m.ps.n; i++) {
        tc_param *p = m.ps.p[i];
        snprintf(key, sizeof key, "init.%s", p->name);
        const tc_golden_rec *r = tc_golden_find(gd, key);
        int same = r && r->ndim == p->t.ndim;
        for (int d = 0; same && d < r->ndim; d++) same = r->shape[d] == p->t.shape[d];
        TC_CHECK(same, "%s: missing in the twin or shape differs", p->name);
        if (same) memcpy(p->t.data, r->data, p->numel * sizeof(float));
    }

    tc_graph *g = tc_graph_new();
    /* step-0 logits and gradients, with fused and separate q/k/v projections */
    for (int fused = 1; fused >= 0; fused--) {
        set_fused(&m, fused);
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 1234, 0);
        tc_params_zero_grad(&m.ps);
        tc_tensor *logits = NULL;
        tc_tensor *loss = forward_loss(g, &m, gd, 0, 0, B, &logits);
        TC_CHECK(loss != NULL, "batch 0 present");
        if (!loss) break;
        long n;
        const float *want = tc_golden_f32(gd, "logits.0", &n);
        TC_CHECK(want && (size_t)n == tc_numel(logits), "logits.0 size");
        if (want) TC_CHECK_ARRAY_CLOSE(fused ? "logits.0 (fused qkv)" : "logits.0 (separate qkv)", logits->data, want, n,
                                       1e-5, 1e-6);
        tc_backward(g, loss);
        compare_params(gd, &m.ps, "grad0", 1, 1e-4, 1e-5);
    }
    set_fused(&m, 1);
    TC_CHECK(m.enc.blocks[0].attn.fused != 0, "d = 32: q/k/v are adjacent in the slab, fused path used");

    /* the same gradients from two micro-batches of 2 samples, each loss weighted by its token share */
    {
        const float *valid = tc_golden_f32(gd, "valid.0", NULL);
        float tok[2] = {0, 0};
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) tok[b / 2] += valid[b * T + t];
        tc_grad_accum acc;
        tc_grad_accum_begin(&acc, &m.ps);
        for (int half = 0; half < 2; half++) {
            tc_graph_reset(g);
            tc_graph_set_mode(g, 1, 1, 1234, 0);
            tc_tensor *loss = forward_loss(g, &m, gd, 0, 2 * half, 2, NULL);
            tc_backward(g, tc_scale(g, loss, tok[half] / (tok[0] + tok[1])));
            tc_grad_accum_add(&acc);
        }
        tc_grad_accum_end(&acc, &m.ps, 0);
        compare_params(gd, &m.ps, "grad0", 1, 1e-4, 1e-5);
    }

    /* ten steps */
    tc_adamw opt = tc_adamw_torch(0.01);
    opt.beta2 = 0.98;
    opt.eps = 1e-6;
    tc_lr_schedule sch = {TC_LR_WARMUP_COSINE, 1e-2, 1e-3, 2, STEPS};
    for (int step = 0; step < STEPS; step++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 1234, (uint64_t)step);
        tc_params_zero_grad(&m.ps);
        tc_tensor *loss = forward_loss(g, &m, gd, step, 0, B, NULL);
        if (!loss) break;
        tc_backward(g, loss);
        double lr = tc_lr_at(&sch, step);
        double norm = tc_clip_grad_norm(&m.ps, 1.0f, 1e-6f);
        const float *wl = step_f32(gd, "loss", step), *wn = step_f32(gd, "norm", step), *wlr = step_f32(gd, "lr", step);
        if (wl) TC_CHECK_CLOSE(loss->data[0], wl[0], 1e-4, 0);
        if (wn) TC_CHECK_CLOSE(norm, wn[0], 1e-5, 0);
        if (wlr) TC_CHECK_CLOSE(lr, wlr[0], 1e-6, 0);
        printf("step %d: loss %.6f (torch %.6f)  norm %.5f (torch %.5f)\n", step, loss->data[0], wl ? wl[0] : NAN,
               norm, wn ? wn[0] : NAN);
        tc_adamw_step(&opt, &m.ps, (float)lr);
    }
    compare_params(gd, &m.ps, "final", 0, 1e-4, 1e-4);

    tc_graph_free(g);
    tc_seq_encoder_free(&m);
    tc_golden_free(gd);
    return tc_test_summary("train_twin");
}
