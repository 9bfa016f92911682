/* GFLOP/s of tc_sgemm's AVX-512 backend vs OpenBLAS on taichu's shapes, 1 and 2 threads, best of N,
 * beside the measured zmm FMA peak and OpenBLAS's large-square sgemm peak.
 *
 *   OPENBLAS_CORETYPE=Haswell build-x/bench/bench_gemm [reps]      (Haswell is what users and CI get)
 *
 * The machine is shared and its clock drifts, so read the ratios, not the absolute numbers: the two
 * backends alternate rep by rep and each keeps its best. Results: docs/gemm.md. */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/gemm.h"

/* With 1 thread, the calling thread's CPU time: on a shared machine it leaves out the time the thread
 * was preempted. With 2 threads, wall time (waiting for the slower thread is part of the cost). */
static clockid_t g_clock = CLOCK_MONOTONIC;
static double now(void) {
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- FMA peak: 24 independent zmm accumulators (latency 4 × 2 pipes needs >= 8) ---- */
__attribute__((target("avx512f"), noinline)) static float fma_loop(long iters) {
    __m512 acc[24], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

static double fma_peak(int threads, int reps) {
    const long iters = 300000; /* about 2 ms: short runs find the quiet moments */
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < 4 * reps; r++) {
        double t0 = now();
#pragma omp parallel num_threads(threads)
        { float v = fma_loop(iters); if (v == 1234.5f) sink = v; }
        double dt = now() - t0, gf = threads * iters * 24.0 * 32.0 / dt * 1e-9;
        if (gf > best) best = gf;
    }
    (void)sink;
    return best;
}

typedef struct {
    const char *name;
    int ta, tb, M, N, K;
} shape;

static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
}

/* Switch backend, then let the other library's idle worker threads stop spinning (OpenBLAS's spin for
 * a while after each call and would steal the second core from the next measurement). */
static int g_threads = 1;
static void use_backend(const char *name) {
    tc_sgemm_set_backend(name);
    if (g_threads > 1) usleep(100000);
}

/* GFLOP/s of one run of a shape (the call repeated until >= 10 ms), after one warm-up call. */
static double run_shape(const shape *s, float *A, float *B, float *C) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double flops = 2.0 * s->M * s->N * s->K;
    tc_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
    int n = 0;
    double t0 = now(), dt;
    do {
        tc_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
        n++;
        dt = now() - t0;
    } while (dt < 0.01);
    return flops * n / dt * 1e-9;
}

/* Best of reps for both backends, alternating so that both see the same machine load. */
static void time_both(const shape *s, int reps, float *A, float *B, float *C, double *own, double *blas) {
    *own = *blas = 0;
    for (int r = 0; r < reps; r++) {
        use_backend("avx512");
        double g = run_shape(s, A, B, C);
        if (g > *own) *own = g;
        use_backend("blas");
        g = run_shape(s, A, B, C);
        if (g > *blas) *blas = g;
    }
}

/* Attention per (batch, head): B·H independent 64×64×64 products. With 2 threads the heads are split
 * across threads (each GEMM single-threaded inside the parallel region), as the attention op does. */
static double run_heads(int tb, int heads, int threads, float *A, float *B, float *C) {
    const int T = 64, D = 64;
    double flops = 2.0 * T * T * D * heads;
    for (int warm = 1; warm >= 0; warm--) {
        int n = 0;
        double t0 = now(), dt;
        do {
#pragma omp parallel for num_threads(threads) schedule(static)
            for (int h = 0; h < heads; h++)
                tc_sgemm(0, tb, T, T, D, 1.0f, A + (size_t)h * T * D, D, B + (size_t)h * T * D, D, 0.0f,
                         C + (size_t)h * T * T, T);
            n++;
            dt = now() - t0;
        } while (dt < 0.01);
        if (!warm) return flops * n / dt * 1e-9;
    }
    return 0;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("bench_gemm: OpenBLAS core %s (OPENBLAS_CORETYPE=%s), best of %d\n", openblas_get_corename(),
           ct ? ct : "(unset)", reps);
    if (!ct || strcmp(ct, "Haswell"))
        printf("  note: users and CI run OpenBLAS with OPENBLAS_CORETYPE=Haswell; set it for comparable numbers\n");
    if (!__builtin_cpu_supports("avx512f")) {
        printf("bench_gemm: no AVX-512F on this CPU: tc_sgemm is OpenBLAS here, nothing to compare\n");
        return 0;
    }
    static const shape shapes[] = {
        {"fwd  x·Wᵀ  2048×256×768", 0, 1, 2048, 256, 768},
        {"fwd  x·Wᵀ  2048×256×256", 0, 1, 2048, 256, 256},
        {"fwd  x·Wᵀ  2048×1024×256", 0, 1, 2048, 1024, 256},
        {"fwd  x·Wᵀ  2048×256×1024", 0, 1, 2048, 256, 1024},
        {"dX   dY·W  2048×768×256", 0, 0, 2048, 768, 256},
        {"dX   dY·W  2048×256×256", 0, 0, 2048, 256, 256},
        {"dX   dY·W  2048×256×1024", 0, 0, 2048, 256, 1024},
        {"dX   dY·W  2048×1024×256", 0, 0, 2048, 1024, 256},
        {"dW   dYᵀ·X 256×768×2048", 1, 0, 256, 768, 2048},
        {"dW   dYᵀ·X 256×256×2048", 1, 0, 256, 256, 2048},
        {"dW   dYᵀ·X 1024×256×2048", 1, 0, 1024, 256, 2048},
        {"dW   dYᵀ·X 256×1024×2048", 1, 0, 256, 1024, 2048},
        {"big  x·W   4096×3072×768", 0, 0, 4096, 3072, 768},
        {"big  x·Wᵀ  4096×3072×768", 0, 1, 4096, 3072, 768},
        /* opt-v2-base ViT-B/16 at 224, one embedding slice of 4 images (4 × 197 tokens), x·Wᵀ */
        {"vit  qkv   788×2304×768", 0, 1, 788, 2304, 768},
        {"vit  proj  788×768×768", 0, 1, 788, 768, 768},
        {"vit  fc1   788×3072×768", 0, 1, 788, 3072, 768},
        {"vit  fc2   788×768×3072", 0, 1, 788, 768, 3072},
        {"vit  QKᵀ   197×197×64 (NT)", 0, 1, 197, 197, 64},
        {"vit  P·V   197×64×197 (NN)", 0, 0, 197, 64, 197},
        {"one  64×64×64 (NN)", 0, 0, 64, 64, 64},
        {"one  64×64×64 (NT)", 0, 1, 64, 64, 64},
    };
    const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    size_t maxel = (size_t)4096 * 3072;
    float *A = tc_xmalloc(maxel * sizeof(float)), *B = tc_xmalloc(maxel * sizeof(float));
    float *C = tc_xmalloc(maxel * sizeof(float)), *C2 = tc_xmalloc(maxel * sizeof(float));
    fill(A, maxel);
    fill(B, maxel);

    /* Sanity: the two backends agree on a big shape before anything is timed. */
    tc_sgemm_set_backend("avx512");
    tc_sgemm(0, 1, 512, 768, 1000, 1.0f, A, 1000, B, 1000, 0.0f, C, 768);
    tc_sgemm_set_backend("blas");
    tc_sgemm(0, 1, 512, 768, 1000, 1.0f, A, 1000, B, 1000, 0.0f, C2, 768);
    double maxdiff = 0;
    for (size_t i = 0; i < (size_t)512 * 768; i++) {
        double d = C[i] > C2[i] ? C[i] - C2[i] : C2[i] - C[i];
        if (d > maxdiff) maxdiff = d;
    }
    printf("  backends agree: max |avx512 - blas| = %.3g on 512×768×1000\n", maxdiff);

    for (int threads = 1; threads <= 2; threads++) {
        g_threads = threads;
        g_clock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
        double peak = fma_peak(threads, reps);
        shape sq = {"square", 0, 0, 2048, 2048, 2048};
        double own_peak, blas_peak;
        time_both(&sq, reps, A, B, C, &own_peak, &blas_peak);
        printf("\n== %d thread%s (%s time): zmm FMA peak %.0f GFLOP/s; sgemm 2048³: OpenBLAS %.0f, taichu %.0f\n",
               threads, threads > 1 ? "s" : "", threads == 1 ? "CPU" : "wall", peak, blas_peak, own_peak);
        printf("%-28s %9s %9s %7s %9s %9s\n", "shape (M×N×K)", "taichu", "openblas", "ratio", "%sgemmpk", "%fmapk");
        for (int s = 0; s < nshapes; s++) {
            double own, ob;
            time_both(&shapes[s], reps, A, B, C, &own, &ob);
            printf("%-30s %9.1f %9.1f %7.2f %8.0f%% %8.0f%%\n", shapes[s].name, own, ob, own / ob,
                   100 * own / blas_peak, 100 * own / peak);
        }
        /* OpenBLAS inside our parallel region must not spawn its own threads */
        openblas_set_num_threads(1);
        for (int tb = 0; tb <= 1; tb++) {
            double own = 0, ob = 0;
            for (int r = 0; r < reps; r++) {
                use_backend("avx512");
                double g = run_heads(tb, 128, threads, A, B, C);
                if (g > own) own = g;
                use_backend("blas");
                g = run_heads(tb, 128, threads, A, B, C);
                if (g > ob) ob = g;
            }
            printf("%-30s %9.1f %9.1f %7.2f %8.0f%% %8.0f%%\n",
                   tb ? "attn 128 heads 64³ QKᵀ" : "attn 128 heads 64³ P·V", own, ob, own / ob,
                   100 * own / blas_peak, 100 * own / peak);
        }
    }
    free(A); free(B); free(C); free(C2);
    return 0;
}
