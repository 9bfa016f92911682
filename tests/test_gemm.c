/* tc_sgemm against a double-precision reference: every transpose case, alpha/beta variants, strided
 * lda/ldb/ldc, M/N/K tails around the 14×32 micro-tile and the KC/MC blocks, K = 0, beta = 0 over NaN
 * garbage, both backends, 1 and 2 threads, and calls from inside a parallel region. Shapes are chosen
 * around the AVX-512 kernel's 14×32 tile, the K blocks (K cut into equal blocks of at most KC = 768,
 * rounded to 16), the M blocks (MC = 336 at kc <= 256, fewer rows for longer K blocks) and NC = 2048
 * (src/core/gemm_avx512.h). */
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "gemm_ref.h"
#include "tc_test.h"

static tc_rng g_rng;

static void fill(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = tc_rng_uniform(&g_rng) * 2.0f - 1.0f;
}

/* C_ref = alpha·op(A)·op(B) + beta·C0 in double; also returns Σ|terms| per element for the tolerance. */
static void reference(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, const float *C0, int ldc, float *out, float *mag) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double m, s = tc_ref_dot(ta, tb, i, j, K, A, lda, B, ldb, &m);
            double c = beta == 0.0f ? 0.0 : (double)beta * C0[(size_t)i * ldc + j];
            out[(size_t)i * N + j] = (float)(alpha * s + c);
            mag[(size_t)i * N + j] = (float)(fabs(alpha) * m + fabs(c));
        }
}

/* One case; returns 1 when it passed. pad: extra elements per row in lda/ldb/ldc. */
static int run_case(const char *backend, int nthreads, int ta, int tb, int M, int N, int K, float alpha, float beta,
                    int pad) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    long arows = ta ? K : M, brows = tb ? N : K;
    float *A = tc_xmalloc(sizeof(float) * (size_t)(arows * lda + 1));
    float *B = tc_xmalloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = tc_xmalloc(sizeof(float) * (size_t)((long)M * ldc + 1));
    float *C0 = tc_xmalloc(sizeof(float) * (size_t)((long)M * ldc + 1));
    float *R = tc_xmalloc(sizeof(float) * (size_t)((long)M * N + 1));
    float *mag = tc_xmalloc(sizeof(float) * (size_t)((long)M * N + 1));
    fill(A, arows * lda);
    fill(B, brows * ldb);
    if (beta == 0.0f)
        for (long i = 0; i < (long)M * ldc; i++) C0[i] = NAN; /* must never be read */
    else
        fill(C0, (long)M * ldc);
    /* padding lanes get a sentinel: they must come back untouched */
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) C0[(size_t)i * ldc + j] = 12345.0f;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, R, mag);

    tc_sgemm_set_backend(backend);
    omp_set_num_threads(nthreads);
    tc_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

    /* fp32 accumulation error grows like K·eps·Σ|a·b| at worst; use a sqrt(K)-ish practical bound plus
     * an absolute floor for cancellations. */
    double eps = 1.2e-7, worst = 0;
    long bad = -1, untouched_bad = -1;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double got = C[(size_t)i * ldc + j], want = R[(size_t)i * N + j];
            double tol = 1e-6 + 4.0 * eps * (2.0 + sqrt((double)K)) * mag[(size_t)i * N + j];
            double err = isnan(got) ? INFINITY : fabs(got - want) - tol;
            if (err > worst || (bad < 0 && err > 0)) { worst = err; bad = (long)i * N + j; }
        }
        for (int j = N; j < ldc; j++)
            if (C[(size_t)i * ldc + j] != 12345.0f) untouched_bad = (long)i * ldc + j;
    }
    TC_CHECK(bad < 0, "%s t=%d ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: element (%ld,%ld) got %.9g want %.9g",
             backend, nthreads, ta, tb, M, N, K, alpha, beta, pad, bad < 0 ? 0 : bad / N, bad < 0 ? 0 : bad % N,
             bad < 0 ? 0.0 : C[(size_t)(bad / N) * ldc + bad % N], bad < 0 ? 0.0 : R[bad]);
    TC_CHECK(untouched_bad < 0, "%s ta=%d tb=%d M=%d N=%d K=%d: wrote outside N at %ld", backend, ta, tb, M, N, K,
             untouched_bad);
    free(A); free(B); free(C); free(C0); free(R); free(mag);
    return bad < 0 && untouched_bad < 0;
}

static int rand_int(int lo, int hi) { return lo + (int)(tc_rng_next(&g_rng) % (uint64_t)(hi - lo + 1)); }

int main(void) {
    tc_rng_seed(&g_rng, 2026);
    const char *backends[2] = {"blas", "avx512"};
    int nb = __builtin_cpu_supports("avx512f") ? 2 : 1;
    if (nb == 1) printf("test_gemm: no AVX-512F on this CPU, testing the OpenBLAS path only\n");

    /* Edge shapes: 1×1×1, primes, tails around MR=14 / NR=32 / 16-lane halves, the K and M blocks:
     * K 769 = 2 blocks of 400 (M block 210), K 1540 = 3 blocks of 528 (M block 154), K 770 with M 113
     * (2 blocks of 400, rows just past 8 panels), K 256 with M 337 (one block, M block 336). */
    static const int shapes[][3] = {
        {1, 1, 1},     {1, 1, 7},     {2, 3, 5},     {13, 31, 17},  {14, 32, 16},   {15, 33, 15},
        {28, 16, 64},  {29, 17, 3},   {7, 47, 257},  {57, 64, 64},  {64, 64, 64},   {43, 97, 101},
        {3, 100, 300}, {100, 3, 300}, {337, 40, 33}, {61, 129, 513}, {350, 70, 260}, {1, 2049, 5},
        {215, 17, 769}, {170, 9, 1540}, {113, 17, 770}, {337, 17, 256},
    };
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    for (int b = 0; b < nb; b++)
        for (int s = 0; s < nshapes; s++)
            for (int t = 0; t < 4; t++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                run_case(backends[b], 1, t >> 1, t & 1, M, N, K, 1.0f, 0.0f, 0);
                run_case(backends[b], 1 + (s & 1), t >> 1, t & 1, M, N, K, -0.75f, 1.0f, 3);
                run_case(backends[b], 2, t >> 1, t & 1, M, N, K, 1.5f, -0.5f, (s % 3) * 5);
            }

    /* Random shapes, all parameters varied, 1 and 2 threads. */
#ifdef TAICHU_SANITIZED
    int nrand = 40, maxd = 90;
#else
    int nrand = 150, maxd = 300;
#endif
    for (int r = 0; r < nrand; r++) {
        int M = rand_int(1, maxd), N = rand_int(1, maxd), K = rand_int(1, maxd);
        static const float alphas[] = {1.0f, -1.0f, 0.3f, 2.0f};
        static const float betas[] = {0.0f, 1.0f, -0.7f, 0.0f};
        for (int b = 0; b < nb; b++)
            run_case(backends[b], 1 + (r & 1), rand_int(0, 1), rand_int(0, 1), M, N, K, alphas[r & 3],
                     betas[(r >> 2) & 3], rand_int(0, 9));
    }

    /* 2 threads, the three work splits of gemm_avx512.c: M with private B panels (tall, thin), M with a
     * shared B panel and barriers, N with private panels. */
    for (int b = 0; b < nb; b++)
        for (int t = 0; t < 4; t++) {
            run_case(backends[b], 2, t >> 1, t & 1, 1201, 33, 41, 1.0f, 0.0f, 2);
            run_case(backends[b], 2, t >> 1, t & 1, 350, 70, 260, 0.5f, 1.0f, 0);
            run_case(backends[b], 2, t >> 1, t & 1, 90, 300, 200, 1.0f, -1.0f, 1);
        }
    /* Larger shapes that cross several KC/MC/NC blocks with 2 threads. */
#ifndef TAICHU_SANITIZED
    for (int b = 0; b < nb; b++) {
        run_case(backends[b], 2, 0, 1, 100, 2100, 300, 1.0f, 0.0f, 0);
        run_case(backends[b], 2, 1, 0, 256, 300, 1100, 1.0f, 1.0f, 1);
    }
#endif

    /* K = 0 and alpha = 0: C = beta·C, A and B are not read (NULL is fine). */
    for (int b = 0; b < nb; b++) {
        tc_sgemm_set_backend(backends[b]);
        float C[6] = {1, 2, 3, 4, 5, 6}, Z[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
        tc_sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3);
        for (int i = 0; i < 6; i++) TC_CHECK(C[i] == 2.0f * (i + 1), "K=0 beta=2: C[%d] = %g", i, C[i]);
        tc_sgemm(1, 1, 2, 3, 0, 1.0f, NULL, 2, NULL, 1, 0.0f, Z, 3);
        for (int i = 0; i < 6; i++) TC_CHECK(Z[i] == 0.0f, "K=0 beta=0 over NaN: Z[%d] = %g", i, Z[i]);
        float A[2] = {1, 2}, Bm[3] = {NAN, 1, 1};
        tc_sgemm(0, 0, 2, 3, 1, 0.0f, A, 1, Bm, 3, 1.0f, C, 3);
        for (int i = 0; i < 6; i++) TC_CHECK(C[i] == 2.0f * (i + 1), "alpha=0: C[%d] = %g", i, C[i]);
    }

    /* Called from inside a parallel region (attention per head): each thread runs its own GEMM. */
    for (int b = 0; b < nb; b++) {
        tc_sgemm_set_backend(backends[b]);
        enum { H = 4, T = 64, D = 64 };
        static float q[H][T * D], k[H][T * D], s[H][T * T], ref[H][T * T], mag[H][T * T];
        for (int h = 0; h < H; h++) { fill(q[h], T * D); fill(k[h], T * D); }
        omp_set_num_threads(2);
#pragma omp parallel for
        for (int h = 0; h < H; h++) tc_sgemm(0, 1, T, T, D, 0.125f, q[h], D, k[h], D, 0.0f, s[h], T);
        for (int h = 0; h < H; h++) {
            reference(0, 1, T, T, D, 0.125f, q[h], D, k[h], D, 0.0f, NULL, T, ref[h], mag[h]);
            TC_CHECK_ARRAY_CLOSE("QK^T inside omp parallel", s[h], ref[h], T * T, 1e-5, 1e-5);
        }
    }

    /* Backend naming and selection. */
    TC_CHECK(tc_sgemm_set_backend("blas") == 0, "set blas");
    TC_CHECK(!strcmp(tc_sgemm_backend(512, 512, 512), "openblas"), "blas forced: %s", tc_sgemm_backend(512, 512, 512));
    TC_CHECK(tc_sgemm_set_backend("bogus") == -1 && strstr(tc_error_get(), "bogus"), "bad name: %s", tc_error_get());
    if (nb == 2) {
        TC_CHECK(tc_sgemm_set_backend("avx512") == 0, "set avx512");
        TC_CHECK(!strcmp(tc_sgemm_backend(512, 512, 512), "avx512"), "avx512 forced");
        TC_CHECK(tc_sgemm_set_backend("auto") == 0, "set auto");
        TC_CHECK(!strcmp(tc_sgemm_backend(2048, 768, 256), "avx512"), "auto on AVX-512: %s",
                 tc_sgemm_backend(2048, 768, 256));
    }
    return tc_test_summary("test_gemm");
}
