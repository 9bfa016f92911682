/* A toy multi-task problem for the trainer tests (test_trainer*, test_resume*, test_mpi*), built on the
 * tiny transformer of src/nn/seq_encoder.h. One shared model, three tasks:
 *   "copy":     predict the input tokens themselves (token cross-entropy)
 *   "incr":     predict each token + 1 (wrapping within 1..V-1)
 *   "reverse":  predict the tokens in reverse order (needs attention; slower to learn)
 *   "contrast": symmetric InfoNCE between the mean-pooled hidden states of a sequence and of its reversal,
 *               over the GLOBAL batch (tc_dist_allgather_rows), the pattern of ITC.
 * Every micro-batch draws the global batch (world × B samples, sample after sample) from ctx->data_rng and
 * keeps the rank's rows, so 2 ranks × B see exactly the samples of 1 rank × 2B. */
#ifndef TC_TESTS_TRAINER_TOY_H
#define TC_TESTS_TRAINER_TOY_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/seq_encoder.h"
#include "train/trainer.h"

#define TOY_T 8
#define TOY_V 12

typedef struct toy {
    tc_seq_encoder m;
    int B;               /* local micro-batch size */
} toy;

static inline void toy_init(toy *t, int B, float dropout, uint64_t seed) {
    tc_seq_encoder_cfg cfg = {TOY_V, 32, 2, 64, 1, TOY_T, dropout, 1};
    memset(t, 0, sizeof *t);
    tc_seq_encoder_init(&t->m, &cfg, seed);
    t->B = B;
}

static inline void toy_free(toy *t) { tc_seq_encoder_free(&t->m); }

/* The rank's B samples of the global batch: ids [B*T] in 1..V-1. */
static inline void toy_batch(tc_train_ctx *ctx, int B, int32_t *ids) {
    int G = B * ctx->world;
    for (int s = 0; s < G; s++)
        for (int k = 0; k < TOY_T; k++) {
            int32_t v = 1 + (int32_t)tc_rng_below(ctx->data_rng, TOY_V - 1);
            if (s / B == ctx->rank) ids[(s % B) * TOY_T + k] = v;
        }
}

static inline double toy_flops(const toy *t, int B) {
    const tc_seq_encoder_cfg *c = &t->m.cfg;
    tc_block_cfg bc = tc_block_cfg_mindspore(c->d, c->heads, c->ffn, 0);
    return c->layers * tc_nn_block_flops(&bc, B, TOY_T) + 2.0 * B * TOY_T * c->d * c->vocab;
}

/* target of token k of sample b for kind 0 copy, 1 reverse, 2 increment */
static inline int32_t toy_target(const int32_t *ids, int b, int k, int kind) {
    int32_t v = ids[b * TOY_T + (kind == 1 ? TOY_T - 1 - k : k)];
    return kind == 2 ? v % (TOY_V - 1) + 1 : v;
}

static inline tc_tensor *toy_seq_loss(void *user, tc_graph *g, tc_train_ctx *ctx, int kind) {
    toy *t = user;
    int B = t->B;
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)(B * TOY_T));
    int32_t *tgt = tc_graph_alloc(g, sizeof(int32_t) * (size_t)(B * TOY_T));
    toy_batch(ctx, B, ids);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < TOY_T; k++) tgt[b * TOY_T + k] = toy_target(ids, b, k, kind);
    ctx->samples = B;
    ctx->flops = toy_flops(t, B);
    return tc_seq_encoder_loss(g, &t->m, tc_seq_encoder_fwd(g, &t->m, ids, NULL, B, TOY_T), tgt);
}

static inline tc_tensor *toy_reverse(void *user, tc_graph *g, tc_train_ctx *ctx) { return toy_seq_loss(user, g, ctx, 1); }
static inline tc_tensor *toy_copy(void *user, tc_graph *g, tc_train_ctx *ctx) { return toy_seq_loss(user, g, ctx, 0); }
static inline tc_tensor *toy_incr(void *user, tc_graph *g, tc_train_ctx *ctx) { return toy_seq_loss(user, g, ctx, 2); }

/* Mean-pool the logits [B, T, V] -> [B, V] with a matmul by a constant averaging row. */
static inline tc_tensor *toy_pool(tc_graph *g, tc_tensor *logits, int B) {
    int shp[3] = {B, 1, TOY_T};
    tc_tensor *avg = tc_new(g, 3, shp);
    for (int i = 0; i < B * TOY_T; i++) avg->data[i] = 1.0f / TOY_T;
    int out[2] = {B, TOY_V};
    return tc_reshape(g, tc_matmul(g, avg, logits, 0, 0), 2, out);
}

static inline tc_tensor *toy_contrast(void *user, tc_graph *g, tc_train_ctx *ctx) {
    toy *t = user;
    int B = t->B;
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)(B * TOY_T));
    int32_t *rev = tc_graph_alloc(g, sizeof(int32_t) * (size_t)(B * TOY_T));
    toy_batch(ctx, B, ids);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < TOY_T; k++) rev[b * TOY_T + k] = ids[b * TOY_T + TOY_T - 1 - k];
    tc_tensor *a = toy_pool(g, tc_seq_encoder_fwd(g, &t->m, ids, NULL, B, TOY_T), B);
    tc_tensor *b = toy_pool(g, tc_seq_encoder_fwd(g, &t->m, rev, NULL, B, TOY_T), B);
    a = tc_dist_allgather_rows(g, ctx->dist, tc_l2_normalize(g, a, 1e-6f));
    b = tc_dist_allgather_rows(g, ctx->dist, tc_l2_normalize(g, b, 1e-6f));
    int one = 1;
    tc_tensor *scale = tc_new(g, 1, &one);
    scale->data[0] = 10.0f;
    ctx->samples = B;
    ctx->flops = 2 * toy_flops(t, B);
    return tc_info_nce(g, a, b, scale);
}

/* Validation: token accuracy of "incr" on a fixed held-out batch of 16. */
static inline int toy_eval(void *user, tc_graph *g, long step, tc_metric *out, int max) {
    toy *t = user;
    (void)step;
    tc_rng r;
    tc_rng_seed(&r, 987654321);
    enum { NB = 16 };
    int32_t ids[NB * TOY_T];
    for (int i = 0; i < NB * TOY_T; i++) ids[i] = 1 + (int32_t)tc_rng_below(&r, TOY_V - 1);
    tc_tensor *logits = tc_seq_encoder_fwd(g, &t->m, ids, NULL, NB, TOY_T);
    int right = 0;
    for (int b = 0; b < NB; b++)
        for (int k = 0; k < TOY_T; k++) {
            const float *row = logits->data + (long)(b * TOY_T + k) * TOY_V;
            int best = 0;
            for (int v = 1; v < TOY_V; v++) if (row[v] > row[best]) best = v;
            right += best == toy_target(ids, b, k, 2);
        }
    if (max < 1) return 0;
    snprintf(out[0].name, sizeof out[0].name, "incr_acc");
    out[0].value = (double)right / (NB * TOY_T);
    return 1;
}

/* A quiet, fast configuration for tests (the original's optimizer, shorter warm-up, higher lr). */
static inline tc_trainer_cfg toy_cfg(const char *run_dir, long steps) {
    tc_trainer_cfg c = tc_trainer_defaults(steps);
    c.run_dir = run_dir;
    c.lr = (tc_lr_schedule){TC_LR_WARMUP_COSINE, 3e-3, 1e-4, 5, steps};
    c.progress = 0;
    c.peak_gflops = 100;
    c.plot = 0;
    return c;
}

/* rm -rf for test run directories (checkpoints/step-*, files at the top). */
static inline void toy_rm_run(const char *dir) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

#endif
