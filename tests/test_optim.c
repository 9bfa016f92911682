/* AdamW (torch and MindSpore variants), global-norm clipping and the LR schedules against a PyTorch trace
 * (tests/data/optim/trace.bin, written by ref/optim_trace.py), plus gradient accumulation and the
 * original's weight-decay exclusion rule. */
#include <math.h>
#include <string.h>

#include "core/optim.h"
#include "core/rng.h"
#include "core/schedule.h"
#include "tc_golden.h"
#include "tc_test.h"

#define STEPS 12
static const char *const NAMES[] = {"enc.blocks.0.attention.dense1.weight", "enc.blocks.0.attention.dense1.bias",
                                    "enc.blocks.0.layernorm1.gamma", "head.weight"};
static const int SHAPES[4][2] = {{6, 10}, {6, 0}, {10, 0}, {37, 0}};
#define NP 4

static void build(tc_params *ps, const tc_golden *gd) {
    tc_params_init(ps);
    for (int i = 0; i < NP; i++) {
        int nd = SHAPES[i][1] ? 2 : 1;
        tc_params_add(ps, NAMES[i], nd, SHAPES[i]);
    }
    tc_params_finalize(ps);
    const char *const excl[] = {"layernorm", "bias", NULL};
    tc_params_set_decay(ps, excl);
    char key[256];
    for (int i = 0; i < NP; i++) {
        snprintf(key, sizeof key, "init.%s", NAMES[i]);
        long n;
        const float *src = tc_golden_f32(gd, key, &n);
        TC_CHECK(src && (size_t)n == ps->p[i]->numel, "%s: init shape", key);
        if (src) memcpy(ps->p[i]->t.data, src, sizeof(float) * ps->p[i]->numel);
    }
}

static void set_grads(tc_params *ps, const tc_golden *gd, int t) {
    char key[256];
    tc_params_zero_grad(ps);
    for (int i = 0; i < NP; i++) {
        snprintf(key, sizeof key, "grad.%d.%s", t, NAMES[i]);
        const float *g = tc_golden_f32(gd, key, NULL);
        if (g) memcpy(ps->p[i]->t.grad, g, sizeof(float) * ps->p[i]->numel);
    }
}

/* Runs one variant ("torch" or "ms") for STEPS steps and compares lr, norm and parameters per step. */
static void run_variant(const tc_golden *gd, const char *variant) {
    int torch = strcmp(variant, "torch") == 0;
    tc_params ps;
    build(&ps, gd);
    tc_adamw opt = torch ? tc_adamw_torch(0.05) : tc_adamw_mindspore();
    if (torch) opt.beta2 = 0.98, opt.eps = 1e-6;
    tc_lr_schedule sch = torch ? (tc_lr_schedule){TC_LR_WARMUP_COSINE, 1e-2, 1e-4, 3, STEPS}
                               : (tc_lr_schedule){TC_LR_MINDSPORE, 1e-2, 1e-4, 3, 10};
    char key[256], what[300];
    for (int t = 0; t < STEPS; t++) {
        set_grads(&ps, gd, t);
        double lr = tc_lr_at(&sch, t);
        snprintf(key, sizeof key, "%s.lr.%d", variant, t);
        const float *want_lr = tc_golden_f32(gd, key, NULL);
        if (want_lr) TC_CHECK_CLOSE(lr, want_lr[0], 1e-6, 1e-12);
        double norm = tc_clip_grad_norm(&ps, 1.0f, torch ? 1e-6f : 0.0f);
        snprintf(key, sizeof key, "%s.norm.%d", variant, t);
        const float *want_norm = tc_golden_f32(gd, key, NULL);
        if (want_norm) TC_CHECK_CLOSE(norm, want_norm[0], 1e-6, 1e-7);
        tc_adamw_step(&opt, &ps, (float)lr);
        for (int i = 0; i < NP; i++) {
            snprintf(key, sizeof key, "%s.p.%d.%s", variant, t, NAMES[i]);
            const float *want = tc_golden_f32(gd, key, NULL);
            snprintf(what, sizeof what, "%s step %d %s", variant, t, NAMES[i]);
            /* same formula in float32 on both sides: differences are a few ulps of the update */
            if (want) TC_CHECK_ARRAY_CLOSE(what, ps.p[i]->t.data, want, (long)ps.p[i]->numel, 2e-6, 1e-7);
        }
    }
    TC_CHECK(opt.step == STEPS, "step counter %ld", opt.step);
    tc_params_free(&ps);
}

static void check_schedule(const tc_golden *gd, const char *key, tc_lr_schedule s) {
    long n = 0;
    const float *want = tc_golden_f32(gd, key, &n);
    TC_CHECK(want && n == 300, "%s: 300 steps", key);
    if (!want) return;
    float got[300];
    for (int t = 0; t < 300; t++) got[t] = (float)tc_lr_at(&s, t);
    TC_CHECK_ARRAY_CLOSE(key, got, want, 300, 1e-6, 1e-13);
}

/* Accumulating k micro-batch gradients then ending with mean = 1 equals the mean gradient. */
static void check_accumulation(void) {
    tc_params ps;
    tc_params_init(&ps);
    int shape[1] = {100003}; /* large enough for the threaded path */
    tc_tensor *w = tc_params_add(&ps, "w", 1, shape);
    tc_params_finalize(&ps);
    tc_grad_accum acc;
    tc_grad_accum_begin(&acc, &ps);
    for (int k = 0; k < 3; k++) {
        for (int j = 0; j < shape[0]; j++) w->grad[j] += (float)(k + 1) * (float)(j % 7);
        tc_grad_accum_add(&acc);
    }
    tc_grad_accum_end(&acc, &ps, 1);
    int bad = 0;
    for (int j = 0; j < shape[0]; j++) bad += fabsf(w->grad[j] - 2.0f * (float)(j % 7)) > 1e-5f;
    TC_CHECK(bad == 0, "accumulated mean gradient wrong at %d elements", bad);
    TC_CHECK(acc.micro == 3, "micro count %d", acc.micro);
    /* norm of the threaded path against a double reference */
    double ref = 0;
    for (int j = 0; j < shape[0]; j++) ref += (double)w->grad[j] * w->grad[j];
    TC_CHECK_CLOSE(tc_grad_norm(&ps), sqrt(ref), 1e-9, 0);
    /* non-finite gradients: the norm says so and clipping leaves the gradients alone */
    w->grad[5] = NAN;
    float keep = w->grad[6];
    TC_CHECK(isnan(tc_clip_grad_norm(&ps, 1.0f, 1e-6f)), "NaN gradient must give a NaN norm");
    TC_CHECK(w->grad[6] == keep, "clipping must not touch non-finite gradients");
    tc_params_free(&ps);
}

/* The original's decay rule: names containing "layernorm" (any case) or "bias" are exempt. */
static void check_decay_rule(void) {
    static const char *names[] = {"uniter.encoder.encoder.blocks.0.layernorm1.gamma",
                                  "uniter.encoder.encoder.blocks.0.attention.dense1.bias",
                                  "uniter.embeddings.LayerNorm.beta",
                                  "uniter.img_embeddings.img_layer_norm.gamma",
                                  "uniter.encoder.encoder.blocks.0.output.mapping.weight",
                                  "uniter.img_embeddings.vit.norm.gamma"};
    static const int want[] = {0, 0, 0, 1, 1, 1};
    tc_params ps;
    tc_params_init(&ps);
    int shape[1] = {4};
    for (int i = 0; i < 6; i++) tc_params_add(&ps, names[i], 1, shape);
    tc_params_finalize(&ps);
    tc_params_set_decay(&ps, tc_opt_decay_exclude);
    for (int i = 0; i < 6; i++) TC_CHECK(ps.p[i]->decay == want[i], "%s: decay %d, want %d", names[i], ps.p[i]->decay, want[i]);
    tc_params_free(&ps);
}

/* Threaded path with thread boundaries inside and between parameters: same result as a scalar reference
 * written straight from the formula in optim.h (MindSpore variant, decay on some parameters). p2 is frozen
 * (requires_grad cleared, as a frozen tower): it keeps its values exactly, although it has a gradient and
 * decay applies to its name. */
static void check_threaded_step(void) {
    static const int sizes[] = {70001, 3, 50000, 17};
    tc_params ps;
    tc_params_init(&ps);
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, i % 2 ? "p%d.bias" : "p%d.weight", i);
        tc_params_add(&ps, name, 1, &sizes[i]);
    }
    tc_params_finalize(&ps);
    tc_params_set_decay(&ps, tc_opt_decay_exclude);
    ps.p[2]->t.requires_grad = 0;
    tc_rng r;
    tc_rng_seed(&r, 5);
    float *ref[4], *mref[4], *vref[4];
    for (int i = 0; i < 4; i++) {
        ref[i] = calloc((size_t)sizes[i], sizeof(float));
        mref[i] = calloc((size_t)sizes[i], sizeof(float));
        vref[i] = calloc((size_t)sizes[i], sizeof(float));
        for (int j = 0; j < sizes[i]; j++) ps.p[i]->t.data[j] = ref[i][j] = tc_rng_normal(&r);
    }
    tc_adamw opt = tc_adamw_mindspore();
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < sizes[i]; j++) ps.p[i]->t.grad[j] = 0.1f * tc_rng_normal(&r);
        tc_adamw_step(&opt, &ps, 1e-3f);
        for (int i = 0; i < 4; i++) {
            float wd = ps.p[i]->decay ? 0.01f : 0.0f;
            for (int j = 0; j < sizes[i] && i != 2; j++) {
                float g = ps.p[i]->t.grad[j];
                mref[i][j] = 0.9f * mref[i][j] + 0.1f * g;
                vref[i][j] = 0.98f * vref[i][j] + 0.02f * g * g;
                ref[i][j] -= 1e-3f * (mref[i][j] / (sqrtf(vref[i][j]) + 1e-6f) + wd * ref[i][j]);
            }
            snprintf(name, sizeof name, "threaded step %d p%d", step, i);
            TC_CHECK_ARRAY_CLOSE(name, ps.p[i]->t.data, ref[i], sizes[i], 1e-6, 1e-7);
        }
        TC_CHECK(memcmp(ps.p[2]->t.data, ref[2], sizeof(float) * (size_t)sizes[2]) == 0,
                 "step %d: the frozen parameter changed", step);
    }
    TC_CHECK(ps.p[0]->decay == 1 && ps.p[1]->decay == 0, "decay flags from names");
    for (int i = 0; i < 4; i++) free(ref[i]), free(mref[i]), free(vref[i]);
    tc_params_free(&ps);
}

int main(void) {
    tc_golden *gd = tc_golden_load(TAICHU_TEST_DATA "/optim/trace.bin");
    TC_CHECK(gd != NULL, "golden trace loads");
    if (gd) {
        run_variant(gd, "torch");
        run_variant(gd, "ms");
        check_schedule(gd, "sched.cos", (tc_lr_schedule){TC_LR_WARMUP_COSINE, 5e-5, 1e-7, 20, 250});
        check_schedule(gd, "sched.ms", (tc_lr_schedule){TC_LR_MINDSPORE, 5e-5, 1e-7, 20, 250});
        tc_golden_free(gd);
    }
    check_accumulation();
    check_threaded_step();
    check_decay_rule();
    return tc_test_summary("optim");
}
