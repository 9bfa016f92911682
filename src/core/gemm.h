/* Single-precision GEMM, row-major, the one entry point every matmul in taichu goes through:
 *
 *   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C[M,N]
 *   op(X) = X (trans = 0) or Xᵀ (trans = 1); lda/ldb/ldc are row strides in elements.
 *
 * All four transpose cases are supported, since the original stores some weights in×out and others
 * out×in. beta = 0 never reads C (it may hold garbage); K = 0 or alpha = 0 only scales C by beta.
 * The implementation chooses at run time between taichu's own AVX-512 kernels (CPUID) and
 * OpenBLAS's cblas_sgemm; TAICHU_GEMM=blas|avx512|auto forces one. Results may differ between backends
 * only by float summation order. The AVX-512 backend uses omp_get_max_threads() threads for large
 * problems, and runs single-threaded when called inside a parallel region. Design: docs/gemm.md. */
#ifndef TC_CORE_GEMM_H
#define TC_CORE_GEMM_H

void tc_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);

/* tc_sgemm plus a row-broadcast bias: C[M,N] = alpha·op(A)·op(B) + beta·C + 1·biasᵀ (bias[N], may be NULL).
 * The AVX-512 backend adds the bias in the micro-kernel's store, so C is written once (no pre-fill pass
 * and no read of C when beta = 0); linear layers use it. */
void tc_sgemm_bias(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc, const float *bias);

/* Name of the backend tc_sgemm uses for a problem of this size ("openblas", "avx512", ...). */
const char *tc_sgemm_backend(int M, int N, int K);

/* Force a backend for this process: "blas", "avx512" or "auto" (CPUID + size). Overrides TAICHU_GEMM.
 * Returns 0, or -1 (with tc_error_set) for an unknown name or "avx512" on a CPU without AVX-512F.
 * For tests and benchmarks; not thread-safe against concurrent tc_sgemm calls. */
int tc_sgemm_set_backend(const char *name);

#endif
