/* A 2-layer transformer (src/nn/seq_encoder.h) learns to reverse 8-token sequences in 200 AdamW steps:
 * the training loss must reach near zero and a fresh batch must be reversed exactly (inference mode).
 * Exercises the whole training path: embeddings, masked attention, dropout, LayerNorm, GELU, cross-entropy,
 * tape backward, clipping, warm-up/cosine schedule and AdamW, with a fixed seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/optim.h"
#include "core/rng.h"
#include "core/schedule.h"
#include "nn/seq_encoder.h"
#include "tc_test.h"

#ifdef TAICHU_SANITIZED /* the Debug + sanitizer build is ~10x slower: a smaller model that still converges */
#define B 8
#define DM 32
#define LR 6e-3
#else
#define B 16
#define DM 64
#define LR 3e-3
#endif
#define T 10  /* 8 real tokens + 2 padded positions holding random junk that the key mask must hide */
#define N 8
#define V 12
#define STEPS 200

/* N tokens of 1..V-1, then T-N padded positions (valid 0) with random ids; targets: the real tokens
 * reversed, -1 on padding. (Variable lengths make reversal need counting: too slow a task for 200 steps.) */
static void make_batch(tc_rng *r, int32_t *ids, int32_t *tgt, float *valid) {
    for (int b = 0; b < B; b++) {
        int n = N;
        for (int t = 0; t < T; t++) {
            ids[b * T + t] = 1 + (int32_t)tc_rng_below(r, V - 1);
            valid[b * T + t] = t < n ? 1.0f : 0.0f;
        }
        for (int t = 0; t < T; t++) tgt[b * T + t] = t < n ? ids[b * T + n - 1 - t] : -1;
    }
}

int main(void) {
    tc_seq_encoder_cfg cfg = {V, DM, 4, 2 * DM, 2, T, 0.05f, 1};
    tc_seq_encoder m;
    tc_seq_encoder_init(&m, &cfg, 42);
    /* initialisation per tc_nn: LayerNorm γ 1 / β 0, biases 0, weights N(0, 0.02²), padding row 0; decay
     * off exactly for names containing "layernorm" or "bias" */
    for (int i = 0; i < m.ps.n; i++) {
        tc_param *p = m.ps.p[i];
        const float *x = p->t.data;
        double s1 = 0, s2 = 0;
        for (size_t j = 0; j < p->numel; j++) s1 += x[j], s2 += (double)x[j] * x[j];
        double mean = s1 / p->numel, sd = sqrt(s2 / p->numel - mean * mean);
        int is_ln = strstr(p->name, "layernorm") != NULL, is_bias = strstr(p->name, ".bias") != NULL;
        if (is_ln && strstr(p->name, "gamma")) TC_CHECK(mean == 1.0 && sd == 0.0, "%s: want all ones", p->name);
        else if (is_ln || is_bias) TC_CHECK(mean == 0.0 && sd == 0.0, "%s: want all zeros", p->name);
        else TC_CHECK(fabs(sd - 0.02) < 0.004 && fabs(mean) < 0.004, "%s: mean %g sd %g, want N(0, 0.02²)", p->name,
                      mean, sd);
        TC_CHECK(p->decay == !(is_ln || is_bias), "%s: decay flag %d", p->name, p->decay);
    }
    int nonzero = 0;
    for (int j = 0; j < cfg.d; j++) nonzero += m.word.table->data[j] != 0.0f;
    TC_CHECK(nonzero == 0, "padding row 0 must start at zero (%d non-zero)", nonzero);

    tc_graph *g = tc_graph_new();
    tc_adamw opt = tc_adamw_torch(0.01);
    tc_lr_schedule sch = {TC_LR_WARMUP_COSINE, LR, 1e-4, 20, STEPS};
    tc_rng r;
    tc_rng_seed(&r, 7);
    int32_t ids[B * T], tgt[B * T];
    float valid[B * T];
    double first = 0, last = 0;
    for (int step = 0; step < STEPS; step++) {
        make_batch(&r, ids, tgt, valid);
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 99, (uint64_t)step);
        tc_params_zero_grad(&m.ps);
        tc_tensor *loss = tc_seq_encoder_loss(g, &m, tc_seq_encoder_fwd(g, &m, ids, valid, B, T), tgt);
        tc_backward(g, loss);
        tc_clip_grad_norm(&m.ps, 1.0f, 1e-6f);
        tc_adamw_step(&opt, &m.ps, (float)tc_lr_at(&sch, step));
        if (step < 10) first += loss->data[0] / 10;
        if (step >= STEPS - 10) last += loss->data[0] / 10;
        if (step % 25 == 0 || step == STEPS - 1) printf("step %3d loss %.5f\n", step, loss->data[0]);
    }
    TC_CHECK(first > 2.0, "initial loss %.4f should be near ln(%d) = %.2f", first, V, log(V));
    TC_CHECK(last < 0.02, "mean loss of the last 10 steps %.5f, want < 0.02", last);

    /* held-out batch, inference mode (no tape, no dropout): every real token reversed correctly */
    make_batch(&r, ids, tgt, valid);
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *logits = tc_seq_encoder_fwd(g, &m, ids, valid, B, T);
    int wrong = 0, total = 0;
    for (int i = 0; i < B * T; i++) {
        if (tgt[i] < 0) continue;
        const float *row = logits->data + (long)i * V;
        int best = 0;
        for (int v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        wrong += best != tgt[i];
        total++;
    }
    TC_CHECK(wrong == 0, "held-out batch: %d of %d tokens wrong", wrong, total);

    /* the key-padding mask hides padded positions completely: new junk there changes no real token's logits */
    float *before = malloc(sizeof(float) * B * T * V);
    memcpy(before, logits->data, sizeof(float) * B * T * V);
    for (int b = 0; b < B; b++)
        for (int t = N; t < T; t++) ids[b * T + t] = 1 + (int32_t)tc_rng_below(&r, V - 1);
    tc_graph_reset(g);
    tc_tensor *again = tc_seq_encoder_fwd(g, &m, ids, valid, B, T);
    int changed = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < N; t++)
            for (int v = 0; v < V; v++) changed += again->data[(b * T + t) * V + v] != before[(b * T + t) * V + v];
    TC_CHECK(changed == 0, "%d logits of real tokens changed with the padding's content", changed);
    free(before);
    printf("held-out: %d/%d tokens correct; arena high water %zu bytes\n", total - wrong, total,
           tc_graph_arena_bytes(g));
    tc_graph_free(g);
    tc_seq_encoder_free(&m);
    return tc_test_summary("train_toy");
}
