/* tc_sgemm_bias (C = alpha·op(A)·op(B) + beta·C + bias broadcast over rows) against a double-precision
 * reference: every transpose case, beta = 0 over NaN garbage (C must not be read), beta ≠ 0, strided
 * ldc with sentinels past N (never written), tails around the 14×32 micro-tile, K > KC = 768 (the bias
 * must be added exactly once, on the first of several K blocks), 1 and 2 threads, both backends, K = 0, NULL bias. */
#include <omp.h>
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

static void run_case(const char *backend, int nt, int ta, int tb, int M, int N, int K, float alpha, float beta,
                     int pad, int with_bias) {
    int lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + pad;
    long arows = ta ? K : M, brows = tb ? N : K;
    float *A = tc_xmalloc(sizeof(float) * (size_t)(arows * lda));
    float *B = tc_xmalloc(sizeof(float) * (size_t)(brows * ldb));
    float *bias = tc_xmalloc(sizeof(float) * (size_t)N);
    float *C = tc_xmalloc(sizeof(float) * (size_t)M * ldc), *C0 = tc_xmalloc(sizeof(float) * (size_t)M * ldc);
    fill(A, arows * lda);
    fill(B, brows * ldb);
    fill(bias, N);
    for (long i = 0; i < (long)M * ldc; i++) C0[i] = beta == 0.0f ? NAN : tc_rng_uniform(&g_rng) - 0.5f;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) C0[(size_t)i * ldc + j] = 12345.0f;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    TC_CHECK(tc_sgemm_set_backend(backend) == 0, "backend %s", backend);
    omp_set_num_threads(nt);
    tc_sgemm_bias(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, with_bias ? bias : NULL);
    long bad = -1, outside = -1;
    double got_bad = 0, want_bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double mag, s = tc_ref_dot(ta, tb, i, j, K, A, lda, B, ldb, &mag);
            double c = beta == 0.0f ? 0.0 : (double)beta * C0[(size_t)i * ldc + j];
            double want = alpha * s + c + (with_bias ? bias[j] : 0.0);
            double tol = 1e-6 + 4.8e-7 * (2.0 + sqrt((double)K)) * (fabs(alpha) * mag + fabs(c) + 1.0);
            double got = C[(size_t)i * ldc + j];
            if (bad < 0 && !(fabs(got - want) <= tol)) bad = (long)i * N + j, got_bad = got, want_bad = want;
        }
        for (int j = N; j < ldc; j++)
            if (C[(size_t)i * ldc + j] != 12345.0f) outside = (long)i * ldc + j;
    }
    TC_CHECK(bad < 0, "%s t=%d ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g bias=%d: (%ld,%ld) got %.9g want %.9g",
             backend, nt, ta, tb, M, N, K, alpha, beta, with_bias, bad / (N ? N : 1), bad % (N ? N : 1), got_bad,
             want_bad);
    TC_CHECK(outside < 0, "%s M=%d N=%d K=%d: wrote past N at %ld", backend, M, N, K, outside);
    free(A); free(B); free(bias); free(C); free(C0);
}

int main(void) {
    tc_rng_seed(&g_rng, 77);
    const char *backends[2] = {"blas", "avx512"};
    int nb = __builtin_cpu_supports("avx512f") ? 2 : 1;
    static const int shapes[][3] = {
        {1, 1, 1}, {13, 31, 17}, {14, 32, 16}, {15, 33, 300}, {64, 64, 64}, {29, 70, 257}, {150, 100, 40},
        {31, 40, 800}, /* two K blocks of 400 */
#ifndef TAICHU_SANITIZED
        {400, 96, 520}, {700, 260, 64}, {130, 50, 1700},
#endif
    };
    int ns = (int)(sizeof shapes / sizeof shapes[0]);
    for (int b = 0; b < nb; b++)
        for (int s = 0; s < ns; s++)
            for (int t = 0; t < 4; t++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                run_case(backends[b], 1, t >> 1, t & 1, M, N, K, 1.0f, 0.0f, 0, 1);
                run_case(backends[b], 2, t >> 1, t & 1, M, N, K, 1.0f, 0.0f, 3, 1);
                run_case(backends[b], 1 + (s & 1), t >> 1, t & 1, M, N, K, -0.5f, 0.75f, 5, 1);
                run_case(backends[b], 2, t >> 1, t & 1, M, N, K, 2.0f, 1.0f, 1, 0);
            }
    /* K = 0 / alpha = 0: C = beta·C + bias, A and B not read. */
    for (int b = 0; b < nb; b++) {
        tc_sgemm_set_backend(backends[b]);
        float C[6] = {1, 2, 3, 4, 5, 6}, Z[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, bias[3] = {10, 20, 30};
        tc_sgemm_bias(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 2.0f, C, 3, bias);
        for (int i = 0; i < 6; i++) TC_CHECK(C[i] == 2.0f * (i + 1) + bias[i % 3], "K=0: C[%d] = %g", i, C[i]);
        tc_sgemm_bias(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, Z, 3, bias);
        for (int i = 0; i < 6; i++) TC_CHECK(Z[i] == bias[i % 3], "K=0 beta=0 over NaN: Z[%d] = %g", i, Z[i]);
    }
    tc_sgemm_set_backend("auto");
    return tc_test_summary("test_gemm_bias");
}
