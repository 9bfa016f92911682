/* taichu's own AVX-512 SGEMM (internal to src/core/gemm*.c; everyone else calls tc_sgemm).
 *
 * Same contract as tc_sgemm (row-major, C = alpha·op(A)·op(B) + beta·C, beta = 0 never reads C), plus
 * the number of OpenMP threads to use (1 = run on the calling thread, no parallel region).
 * Only call it when the CPU has AVX-512F (tc_gemm_cpu_has_avx512). Design: docs/gemm.md. */
#ifndef TC_CORE_GEMM_AVX512_H
#define TC_CORE_GEMM_AVX512_H

void tc_sgemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                     const float *B, long ldb, float beta, float *C, long ldc, int nthreads);

/* Micro-kernel tile and cache-block sizes, exposed for tests that want to hit every edge. */
enum { TC_GEMM_MR = 14, TC_GEMM_NR = 32, TC_GEMM_KC = 256, TC_GEMM_MC = 14 * 24, TC_GEMM_NC = 2048 };

#endif
