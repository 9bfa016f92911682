/* Transformer training throughput (reported, not a timed test): the 4-layer pre-LN encoder of
 * src/nn (d 256, 4 heads, FFN 1024, GELU, MindSpore library layout) on a batch of 32 × 64 tokens with
 * dropout 0.1 (attention probabilities and hidden), the model of ref/twin_transformer.py without its
 * vocabulary head: token + position embeddings -> 4 blocks -> MSE against a fixed random target.
 *
 *   forward        inference mode (no tape, no dropout)
 *   train step     zero grads, forward (training mode: dropout on), backward, clip to norm 1, AdamW
 *
 * Prints the median and best time of each, samples/s and achieved GFLOP/s (model FLOPs: linear layers
 * and the two attention products; a training step counts 3× the forward), plus a breakdown of the
 * training step into forward / backward / optimizer, and a final machine-readable line
 *   RESULT taichu fwd_samples_per_s=... train_samples_per_s=...
 * used by bench/run_transformer.sh, which runs bench/transformer_torch.py (the PyTorch twin) beside it.
 *
 * Usage: bench_transformer [--threads N] [--steps N] [--warmup N] [--dropout P] [--batch B] [--tokens T]
 *        (TAICHU_THREADS also sets the thread count). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/optim.h"
#include "core/rng.h"
#include "core/threads.h"
#include "nn/seq_encoder.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): on a shared, noisy machine it moves much less than wall
 * time, so it is printed beside it (with active OpenMP waiting it includes spinning). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double best(const double *v, int n) {
    double b = v[0];
    for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
    return b;
}

int main(int argc, char **argv) {
    int threads = 0, steps = 10, warmup = 3, B = 32, T = 64;
    float dropout = 0.1f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threads") && v) threads = atoi(v), i++;
        else if (!strcmp(a, "--steps") && v) steps = atoi(v), i++;
        else if (!strcmp(a, "--warmup") && v) warmup = atoi(v), i++;
        else if (!strcmp(a, "--dropout") && v) dropout = (float)atof(v), i++;
        else if (!strcmp(a, "--batch") && v) B = atoi(v), i++;
        else if (!strcmp(a, "--tokens") && v) T = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--steps N] [--warmup N] [--dropout P] [--batch B] [--tokens T]\n",
                    argv[0]);
            return 2;
        }
    }
    if (steps < 1 || warmup < 0 || B < 1 || T < 1 || dropout < 0 || dropout >= 1) {
        fprintf(stderr, "bench_transformer: --steps/--batch/--tokens must be >= 1, --warmup >= 0, --dropout in [0, 1)\n");
        return 2;
    }
    threads = tc_set_threads(threads);

    tc_seq_encoder_cfg cfg = {1000, 256, 4, 1024, 4, T, dropout, 0};
    tc_seq_encoder m;
    tc_seq_encoder_init(&m, &cfg, 1);
    tc_block_cfg bc = tc_block_cfg_mindspore(cfg.d, cfg.heads, cfg.ffn, dropout);
    double fwd_flops = cfg.layers * tc_nn_block_flops(&bc, B, T);

    int32_t *ids = malloc(sizeof(int32_t) * (size_t)B * T);
    float *target = malloc(sizeof(float) * (size_t)B * T * cfg.d);
    tc_rng r;
    tc_rng_seed(&r, 3);
    for (long i = 0; i < (long)B * T; i++) ids[i] = 1 + (int32_t)tc_rng_below(&r, (uint32_t)cfg.vocab - 1);
    for (long i = 0; i < (long)B * T * cfg.d; i++) target[i] = tc_rng_normal(&r);
    int tshape[3] = {B, T, cfg.d};

    tc_graph *g = tc_graph_new();
    tc_adamw opt = tc_adamw_torch(0.01);
    double *tf = malloc(sizeof(double) * (size_t)steps), *tt = malloc(sizeof(double) * (size_t)steps);
    double *cf = malloc(sizeof(double) * (size_t)steps), *ct = malloc(sizeof(double) * (size_t)steps);
    double *tfw = malloc(sizeof(double) * (size_t)steps), *tbw = malloc(sizeof(double) * (size_t)steps),
           *top = malloc(sizeof(double) * (size_t)steps);
    float loss = 0;

    /* forward only (inference) */
    for (int s = -warmup; s < steps; s++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 0, 0, 0);
        double t0 = now(), c0 = cpu_now();
        tc_tensor *y = tc_seq_encoder_fwd(g, &m, ids, NULL, B, T);
        double t1 = now();
        if (s >= 0) tf[s] = t1 - t0, cf[s] = cpu_now() - c0;
        loss += y->data[0] * 0.0f;
    }
    /* training steps */
    for (int s = -warmup; s < steps; s++) {
        double t0 = now(), c0 = cpu_now();
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 42, (uint64_t)(s + warmup));
        tc_params_zero_grad(&m.ps);
        tc_tensor *y = tc_seq_encoder_fwd(g, &m, ids, NULL, B, T);
        tc_tensor *l = tc_mse(g, y, tc_from_data(g, target, 3, tshape), TC_REDUCE_MEAN);
        double t1 = now();
        tc_backward(g, l);
        double t2 = now();
        tc_clip_grad_norm(&m.ps, 1.0f, 1e-6f);
        tc_adamw_step(&opt, &m.ps, 1e-4f);
        double t3 = now();
        if (s >= 0) {
            tt[s] = t3 - t0;
            ct[s] = cpu_now() - c0;
            tfw[s] = t1 - t0;
            tbw[s] = t2 - t1;
            top[s] = t3 - t2;
        }
        loss = l->data[0];
    }

    double fmed = median(tf, steps), fbest = best(tf, steps);
    double tmed = median(tt, steps), tbest = best(tt, steps);
    printf("bench_transformer: %d layers d=%d heads=%d ffn=%d batch=%d tokens=%d dropout=%g threads=%d "
           "params=%zu arena=%.1f MB\n",
           cfg.layers, cfg.d, cfg.heads, cfg.ffn, B, T, dropout, threads, m.ps.total,
           tc_graph_arena_bytes(g) / 1048576.0);
    printf("  forward     median %8.2f ms  best %8.2f ms  %8.1f samples/s  %6.1f GFLOP/s\n", fmed * 1e3, fbest * 1e3,
           B / fmed, fwd_flops / fmed * 1e-9);
    printf("  train step  median %8.2f ms  best %8.2f ms  %8.1f samples/s  %6.1f GFLOP/s  (final loss %.4f)\n",
           tmed * 1e3, tbest * 1e3, B / tmed, 3 * fwd_flops / tmed * 1e-9, loss);
    printf("    CPU time  forward %.2f ms, train step %.2f ms (medians, all threads)\n", median(cf, steps) * 1e3,
           median(ct, steps) * 1e3);
    printf("    of which  forward %.2f ms, backward %.2f ms, clip+AdamW %.2f ms (medians)\n", median(tfw, steps) * 1e3,
           median(tbw, steps) * 1e3, median(top, steps) * 1e3);
    printf("RESULT taichu fwd_samples_per_s=%.2f train_samples_per_s=%.2f train_gflops=%.1f cpu_train_ms=%.2f "
           "threads=%d\n",
           B / fmed, B / tmed, 3 * fwd_flops / tmed * 1e-9, median(ct, steps) * 1e3, threads);

    free(cf), free(ct);
    free(tf), free(tt), free(tfw), free(tbw), free(top), free(ids), free(target);
    tc_graph_free(g);
    tc_seq_encoder_free(&m);
    return 0;
}
