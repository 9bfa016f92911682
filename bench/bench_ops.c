/* Engine op throughput (reported, not a timed test):
 *   - the machine's FMA peak (AVX-512 when the CPU has it, else AVX2) and raw tc_sgemm GFLOP/s;
 *   - tc_linear forward and backward GFLOP/s at transformer sizes, and their ratio to raw sgemm;
 *   - tc_attention forward and forward+backward GFLOP/s (scores + P·V products; fused softmax/mask);
 *   - LayerNorm and GELU forward/backward bandwidth in GB/s (bytes each pass must read + write).
 * Usage: bench_ops [--threads N] [--reps N] [--clock wall|cpu]. Each number is the best of --reps runs. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/threads.h"

/* Wall clock by default; --clock cpu uses the process CPU time, which on a shared machine measures a
 * 1-thread run without the time other processes take (with more threads it also counts spinning). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int reps = 5;

/* ---- FMA peak: 12 independent accumulator chains per thread ---- */
/* (the AVX-512 loop is its own target function, called inside the parallel region: an OpenMP
 * outlined body does not inherit a target attribute under clang) */
__attribute__((target("avx512f"))) static float fma_chains_512(long iters) {
    __m512 a[12], m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    for (int k = 0; k < 12; k++) a[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm512_fmadd_ps(a[k], m, c);
    float sink = 0;
    for (int k = 0; k < 12; k++) sink += _mm512_reduce_add_ps(a[k]);
    return sink;
}

static double fma_peak_512(long iters) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        sink += fma_chains_512(iters);
        double t = now() - t0, gf = 2.0 * 16 * 12 * iters * tc_get_threads() / t * 1e-9;
        if (gf > best) best = gf;
        if (sink == 12345.0f) printf(" ");
    }
    return best;
}

static double fma_peak_256(long iters) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
            __m256 a[12], m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
            for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps((float)k);
            for (long i = 0; i < iters; i++)
                for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], m, c);
            float tmp[8];
            for (int k = 0; k < 12; k++) {
                _mm256_storeu_ps(tmp, a[k]);
                sink += tmp[0];
            }
        }
        double t = now() - t0, gf = 2.0 * 8 * 12 * iters * tc_get_threads() / t * 1e-9;
        if (gf > best) best = gf;
        if (sink == 12345.0f) printf(" ");
    }
    return best;
}

static void fill(float *p, size_t n, tc_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = 0.1f * tc_rng_normal(r);
}

static double sgemm_gflops(int M, int N, int K) {
    float *A = malloc((size_t)M * K * 4), *B = malloc((size_t)N * K * 4), *C = malloc((size_t)M * N * 4);
    tc_rng r;
    tc_rng_seed(&r, 1);
    fill(A, (size_t)M * K, &r);
    fill(B, (size_t)N * K, &r);
    double best = 1e30;
    for (int i = 0; i < reps + 1; i++) {
        double t0 = now();
        tc_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
        double t = now() - t0;
        if (i && t < best) best = t;
    }
    free(A); free(B); free(C);
    return 2.0 * M * N * K / best * 1e-9;
}

static void bench_linear(int M, int K, int N, double raw) {
    tc_params ps;
    tc_params_init(&ps);
    int ws[2] = {N, K}, bs[1] = {N};
    tc_tensor *w = tc_params_add(&ps, "w", 2, ws), *b = tc_params_add(&ps, "b", 1, bs);
    tc_params_finalize(&ps);
    tc_rng r;
    tc_rng_seed(&r, 2);
    fill(ps.data, ps.total, &r);
    float *x0 = malloc((size_t)M * K * 4);
    fill(x0, (size_t)M * K, &r);
    tc_graph *g = tc_graph_new();
    double bf = 1e30, bb = 1e30;
    for (int i = 0; i < reps + 1; i++) {
        tc_graph_reset(g);
        int xs[2] = {M, K};
        tc_tensor *x = tc_from_data(g, x0, 2, xs);
        x->requires_grad = 1;
        double t0 = now();
        tc_tensor *y = tc_linear(g, x, w, b, TC_W_OUT_IN);
        double t1 = now();
        tc_tensor *l = tc_sum(g, y);
        double t2 = now();
        tc_backward(g, l); /* dx, dW, db (plus a broadcast of the loss grad, small next to the GEMMs) */
        double t3 = now();
        if (i) {
            bf = fmin(bf, t1 - t0);
            bb = fmin(bb, t3 - t2);
        }
    }
    double fl = 2.0 * M * N * K;
    printf("linear %5dx%4dx%4d   fwd %7.1f GFLOP/s (%3.0f%% of sgemm)   bwd %7.1f GFLOP/s (%3.0f%%)\n", M, K, N,
           fl / bf * 1e-9, 100 * fl / bf * 1e-9 / raw, 2 * fl / bb * 1e-9, 100 * 2 * fl / bb * 1e-9 / raw);
    free(x0);
    tc_graph_free(g);
    tc_params_free(&ps);
}

static void bench_attention(int B, int T, int D, int H) {
    size_t n = (size_t)B * T * D;
    float *q0 = malloc(n * 4), *k0 = malloc(n * 4), *v0 = malloc(n * 4);
    tc_rng r;
    tc_rng_seed(&r, 3);
    fill(q0, n, &r); fill(k0, n, &r); fill(v0, n, &r);
    tc_graph *g = tc_graph_new();
    double bf = 1e30, bb = 1e30;
    for (int i = 0; i < reps + 1; i++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 1, 1, 1, (uint64_t)i);
        int s[3] = {B, T, D};
        tc_tensor *q = tc_from_data(g, q0, 3, s), *k = tc_from_data(g, k0, 3, s), *v = tc_from_data(g, v0, 3, s);
        q->requires_grad = k->requires_grad = v->requires_grad = 1;
        double t0 = now();
        tc_tensor *o = tc_attention(g, q, k, v, H, NULL, 0, 0.1f);
        double t1 = now();
        tc_tensor *l = tc_sum(g, o);
        double t2 = now();
        tc_backward(g, l);
        double t3 = now();
        if (i) {
            bf = fmin(bf, t1 - t0);
            bb = fmin(bb, t3 - t2);
        }
    }
    double fl = 4.0 * B * T * T * D; /* QKᵀ and P·V: 2·T·T·dh each per (b, h) */
    printf("attention B=%d T=%d d=%d h=%d   fwd %6.1f GFLOP/s (%.2f ms)   bwd %6.1f GFLOP/s (%.2f ms)\n", B, T, D,
           H, fl / bf * 1e-9, bf * 1e3, 2 * fl / bb * 1e-9, bb * 1e3);
    free(q0); free(k0); free(v0);
    tc_graph_free(g);
}

static void bench_rows(int rows, int d) {
    size_t n = (size_t)rows * d;
    float *x0 = malloc(n * 4);
    tc_rng r;
    tc_rng_seed(&r, 4);
    fill(x0, n, &r);
    tc_params ps;
    tc_params_init(&ps);
    int ds[1] = {d};
    tc_tensor *gm = tc_params_add(&ps, "g", 1, ds), *bt = tc_params_add(&ps, "b", 1, ds);
    tc_params_finalize(&ps);
    for (int i = 0; i < d; i++) gm->data[i] = 1;
    tc_graph *g = tc_graph_new();
    double t[4] = {1e30, 1e30, 1e30, 1e30};
    for (int i = 0; i < reps + 1; i++) {
        for (int op = 0; op < 2; op++) {
            tc_graph_reset(g);
            int s[2] = {rows, d};
            tc_tensor *x = tc_from_data(g, x0, 2, s);
            x->requires_grad = 1;
            double t0 = now();
            tc_tensor *y = op ? tc_gelu_erf(g, x) : tc_layernorm(g, x, gm, bt, 1e-12f);
            double t1 = now();
            tc_tensor *l = tc_sum(g, y);
            double t2 = now();
            tc_backward(g, l);
            double t3 = now();
            if (i) {
                t[2 * op] = fmin(t[2 * op], t1 - t0);
                t[2 * op + 1] = fmin(t[2 * op + 1], t3 - t2);
            }
        }
    }
    /* bytes: fwd reads x, writes y; bwd reads x, y (or stats) and dy, writes dx */
    double fb = 8.0 * n, bb = 16.0 * n;
    printf("layernorm %dx%d   fwd %6.1f GB/s   bwd %6.1f GB/s\n", rows, d, fb / t[0] * 1e-9, (bb - 4.0 * n) / t[1] * 1e-9);
    printf("gelu_erf  %dx%d   fwd %6.1f GB/s   bwd %6.1f GB/s\n", rows, d, fb / t[2] * 1e-9, bb / t[3] * 1e-9);
    free(x0);
    tc_graph_free(g);
    tc_params_free(&ps);
}

int main(int argc, char **argv) {
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--clock") && (!strcmp(argv[i + 1], "cpu") || !strcmp(argv[i + 1], "wall")))
            bench_clock = !strcmp(argv[i + 1], "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
        else {
            fprintf(stderr, "usage: bench_ops [--threads N] [--reps N] [--clock wall|cpu]\n");
            return 1;
        }
    }
    tc_set_threads(threads);
    if (reps < 1) reps = 1;
    printf("threads %d, clock %s\n", tc_get_threads(), bench_clock == CLOCK_MONOTONIC ? "wall" : "process CPU time");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) printf("FMA peak (AVX-512): %.1f GFLOP/s\n", fma_peak_512(20000000));
    printf("FMA peak (AVX2):    %.1f GFLOP/s\n", fma_peak_256(20000000));
    int sizes[][3] = {{4096, 768, 3072}, {2048, 256, 1024}, {2048, 1024, 256}, {2048, 256, 768}};
    for (int i = 0; i < 4; i++) {
        int M = sizes[i][0], K = sizes[i][1], N = sizes[i][2];
        double raw = sgemm_gflops(M, N, K);
        printf("sgemm  %5dx%4dx%4d   %7.1f GFLOP/s (%s)\n", M, K, N, raw, tc_sgemm_backend(M, N, K));
        bench_linear(M, K, N, raw);
    }
    bench_attention(32, 64, 256, 4);
    bench_attention(1, 246, 2048, 32);
    bench_rows(2048, 256);
    bench_rows(2048, 1024);
    return 0;
}
