/* OPT-v1 caption latency and memory (reported, not a timed test): image → greedy caption with random weights
 * of the real size (opt-v1-1b: ViT-B/32 at 448, 12 × 2048 cross encoder, 6 + 6 × 1024 text decoder).
 *
 *   encode   ViT on 197 patch rows → image embeddings → cross encoder on the 196 real rows → LinearEmbedding
 *            and the decoder-side encoder (the memory M)
 *   decode   --steps greedy steps with the KV cache (argmax each step; no stop at EOS so every run does the
 *            same work — random weights would stop at arbitrary points)
 * Memory: VmHWM (peak RSS) after model creation, then the peak during captioning alone (VmHWM reset through
 * /proc/self/clear_refs, with the all-zero gradient slab handed back: tc_opt_v1_release_grad_pages);
 * rss_all_gb is the larger of the two.
 * The whole model is built (every head and the image decoder: 1.19 B parameters).
 * Last line, for bench/run_caption_v1.sh:  RESULT taichu encode_s=... decode_s=... total_s=... rss_gb=...
 *
 * Usage: bench_caption_v1 [--preset opt-v1-1b] [--threads N] [--steps 20] [--reps 3] [--batch 1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/threads.h"
#include "model/opt_v1.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double rss_peak_gb(void) { /* VmHWM from /proc/self/status, GB */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb / (1024.0 * 1024.0);
}

static int reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *preset = "opt-v1-1b";
    int threads = 0, steps = 20, reps = 3, B = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--preset") && v) preset = v, i++;
        else if (!strcmp(a, "--threads") && v) threads = atoi(v), i++;
        else if (!strcmp(a, "--steps") && v) steps = atoi(v), i++;
        else if (!strcmp(a, "--reps") && v) reps = atoi(v), i++;
        else if (!strcmp(a, "--batch") && v) B = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s [--preset NAME] [--threads N] [--steps N] [--reps N] [--batch B]\n", argv[0]);
            return 2;
        }
    }
    tc_model_config cfg;
    if (tc_model_config_preset(preset, &cfg) != 0 || cfg.arch != TC_ARCH_V1 || steps < 1 || reps < 1 || B < 1 ||
        steps > cfg.dec_max_position) {
        fprintf(stderr, "bench_caption_v1: need an opt-v1 preset, 1 <= --steps <= dec_max_position, --reps/--batch >= 1 (%s)\n",
                tc_error_get());
        return 2;
    }
    threads = tc_set_threads(threads);
    double t0 = now();
    tc_model m;
    if (tc_model_create(&m, &cfg, 1) != 0) {
        fprintf(stderr, "bench_caption_v1: %s\n", tc_error_get());
        return 1;
    }
    double t_create = now() - t0;
    size_t released = tc_opt_v1_release_grad_pages(&m);
    tc_opt_v1 *v = tc_opt_v1_of(&m);
    int N = v->n_patches, Pd = v->patch_dim, V = cfg.txt_dec_vocab_size;
    printf("model %s: %d tensors, %zu parameters (%.2f GB fp32), created in %.1f s; %.2f GB of zero gradient pages released\n",
           preset, m.params.n, tc_model_count_params(&m, ""), tc_model_count_params(&m, "") * 4e-9, t_create,
           released * 1e-9);

    /* normalised pixels ~ N(0, 1) in the 196 patches, the zero pad row last */
    float *patches = calloc((size_t)B * (N + 1) * Pd, sizeof(float));
    tc_rng r;
    tc_rng_seed(&r, 5);
    for (int b = 0; b < B; b++)
        for (long i = 0; i < (long)N * Pd; i++) patches[(long)b * (N + 1) * Pd + i] = tc_rng_normal(&r);
    double create_peak = rss_peak_gb(); /* model creation: weights (+ whatever of the gradient slab was touched) */
    int peak_reset = reset_peak();

    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    int32_t *ids = calloc((size_t)B * (steps + 1), sizeof(int32_t)), *cur = calloc((size_t)B, sizeof(int32_t));
    double best_enc = 1e30, best_dec = 1e30, best_tot = 1e30;
    for (int rep = 0; rep <= reps; rep++) { /* rep 0 warms up (arena growth, page faults) */
        double a = now();
        tc_graph_reset(g);
        tc_tensor *h = tc_opt_v1_encode_image(g, &m, patches, B);
        tc_tensor *mem = h ? tc_decoder_memory(g, &v->txt_dec, h, NULL) : NULL;
        tc_dec_cache cache;
        if (!mem || tc_dec_cache_init(&cache, g, &v->txt_dec, mem, NULL, 1, steps) != 0) {
            fprintf(stderr, "bench_caption_v1: %s\n", tc_error_get());
            return 1;
        }
        double b = now();
        memset(cur, 0, sizeof(int32_t) * (size_t)B);
        for (int t = 0; t < steps; t++) {
            tc_graph_reset(g);
            tc_tensor *lp = tc_dec_step(g, &v->txt_dec, &cache, cur); /* [B, V] */
            if (!lp) {
                fprintf(stderr, "bench_caption_v1: %s\n", tc_error_get());
                return 1;
            }
            for (int i = 0; i < B; i++) {
                const float *row = lp->data + (long)i * V;
                int best = 0;
                for (int k = 1; k < V; k++) best = row[k] > row[best] ? k : best;
                cur[i] = best;
                ids[(long)i * (steps + 1) + t + 1] = best;
            }
        }
        double c = now();
        tc_dec_cache_free(&cache);
        if (rep == 0) continue;
        if (c - a < best_tot) best_enc = b - a, best_dec = c - b, best_tot = c - a; /* the fastest rep */
        printf("rep %d: encode %.3f s, decode %d steps %.3f s (%.1f ms/step), total %.3f s\n", rep, b - a, steps, c - b,
               (c - b) * 1e3 / steps, c - a);
    }
    double cap_peak = rss_peak_gb(), all_peak = cap_peak > create_peak ? cap_peak : create_peak;
    printf("first ids:");
    for (int t = 1; t <= steps && t <= 10; t++) printf(" %d", ids[t]);
    printf("\npeak RSS: model creation %.2f GB, captioning %s%.2f GB (target <= 6 GB), graph arena %.1f MB\n",
           create_peak, peak_reset == 0 ? "" : "(peak not reset: includes creation) ", cap_peak,
           tc_graph_arena_bytes(g) / 1048576.0);
    printf("RESULT taichu threads=%d batch=%d steps=%d encode_s=%.3f decode_s=%.3f total_s=%.3f rss_gb=%.2f "
           "rss_all_gb=%.2f\n",
           threads, B, steps, best_enc, best_dec, best_tot, cap_peak, all_peak);
    tc_graph_free(g);
    tc_model_free(&m);
    free(patches), free(ids), free(cur);
    return 0;
}
