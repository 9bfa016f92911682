/* tc_sgemm dispatch: argument checks, the K = 0 / alpha = 0 scaling cases, backend choice (CPUID,
 * TAICHU_GEMM, problem size) and the thread count. The kernels live in gemm_avx512.c. */
#include "core/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm_avx512.h"

enum { MODE_UNSET = 0, MODE_AUTO, MODE_BLAS, MODE_AVX512 };
static int g_mode;       /* MODE_*, resolved once from TAICHU_GEMM (or tc_sgemm_set_backend) */
static int g_has_avx512; /* valid once g_mode != MODE_UNSET */

/* Below this many multiply-adds a second thread costs more (wake-up, barriers) than it saves. */
#define GEMM_PARALLEL_MIN_MACS (1L << 20)

static int parse_mode(const char *s) {
    if (!s || !*s || !strcmp(s, "auto")) return MODE_AUTO;
    if (!strcmp(s, "blas") || !strcmp(s, "openblas")) return MODE_BLAS;
    if (!strcmp(s, "avx512")) return MODE_AVX512;
    return MODE_UNSET;
}

static int resolve_mode(void) {
    int m = __atomic_load_n(&g_mode, __ATOMIC_ACQUIRE);
    if (m != MODE_UNSET) return m;
    __builtin_cpu_init();
    g_has_avx512 = __builtin_cpu_supports("avx512f");
    const char *env = getenv("TAICHU_GEMM");
    m = parse_mode(env);
    if (m == MODE_UNSET) {
        fprintf(stderr, "taichu: warning: TAICHU_GEMM=\"%s\": expected blas, avx512 or auto; using auto\n", env);
        m = MODE_AUTO;
    }
    if (m == MODE_AVX512 && !g_has_avx512) {
        fprintf(stderr, "taichu: warning: TAICHU_GEMM=avx512 but this CPU has no AVX-512F; using OpenBLAS\n");
        m = MODE_BLAS;
    }
    __atomic_store_n(&g_mode, m, __ATOMIC_RELEASE);
    return m;
}

int tc_sgemm_set_backend(const char *name) {
    resolve_mode(); /* detects the CPU */
    int m = parse_mode(name);
    if (m == MODE_UNSET) return tc_error_set("tc_sgemm_set_backend: name \"%s\": expected blas, avx512 or auto", name);
    if (m == MODE_AVX512 && !g_has_avx512)
        return tc_error_set("tc_sgemm_set_backend: \"avx512\": this CPU has no AVX-512F");
    __atomic_store_n(&g_mode, m, __ATOMIC_RELEASE);
    return 0;
}

static int use_avx512(int M, int N, int K) {
    int m = resolve_mode();
    (void)M; (void)N; (void)K;
    if (m == MODE_BLAS) return 0;
    if (m == MODE_AVX512) return 1;
    return g_has_avx512;
}

const char *tc_sgemm_backend(int M, int N, int K) { return use_avx512(M, N, K) ? "avx512" : "openblas"; }

/* C = beta·C over M×N (beta = 0 writes zeros without reading C). */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* C = beta·C + bias (row broadcast) over M×N, the part of C that does not depend on the product. */
static void scale_c_bias(int M, int N, float beta, float *C, int ldc, const float *bias) {
    scale_c(M, N, beta, C, ldc);
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] += bias[j];
    }
}

void tc_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
    tc_sgemm_bias(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void tc_sgemm_bias(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc, const float *bias) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        if (bias) scale_c_bias(M, N, beta, C, ldc, bias);
        else scale_c(M, N, beta, C, ldc);
        return;
    }
    if (!use_avx512(M, N, K)) {
        if (bias) { /* OpenBLAS has no epilogue: C = beta·C + bias first, then accumulate into it */
            scale_c_bias(M, N, beta, C, ldc, bias);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
                    alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int nt = 1;
    if (!omp_in_parallel() && (long)M * N * K >= GEMM_PARALLEL_MIN_MACS) nt = omp_get_max_threads();
    tc_sgemm_avx512_bias(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, nt);
}
