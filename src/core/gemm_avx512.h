/* taichu's own AVX-512 SGEMM (internal to src/core/gemm*.c; everyone else calls tc_sgemm).
 *
 * Same contract as tc_sgemm (row-major, C = alpha·op(A)·op(B) + beta·C, beta = 0 never reads C), plus
 * the number of OpenMP threads to use (1 = run on the calling thread, no parallel region).
 * Only call it when the CPU has AVX-512F (tc_gemm_cpu_has_avx512). Design: docs/gemm.md. */
#ifndef TC_CORE_GEMM_AVX512_H
#define TC_CORE_GEMM_AVX512_H

void tc_sgemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                     const float *B, long ldb, float beta, float *C, long ldc, int nthreads);

/* The same plus bias[N] added to every row of C in the kernel's store (bias may be NULL). */
void tc_sgemm_avx512_bias(int transA, int transB, int M, int N, int K, float alpha, const float *A, long lda,
                          const float *B, long ldb, float beta, float *C, long ldc, const float *bias,
                          int nthreads);

/* Micro-kernel tile and cache-block sizes, exposed for tests that want to hit every edge. */
#ifndef TC_GEMM_MR
#define TC_GEMM_MR 14   /* rows of the C tile (broadcasts of A) */
#define TC_GEMM_NR 32   /* columns of the C tile (zmm vectors of B), a multiple of 16 */
#endif
#ifndef TC_GEMM_KC
#define TC_GEMM_KC 768  /* largest K block (K is cut into equal blocks of at most this, multiples of 16) */
#endif
#ifndef TC_GEMM_MC
#define TC_GEMM_MC (TC_GEMM_MR * 24) /* largest M block */
#endif
#ifndef TC_GEMM_A_FLOATS
#define TC_GEMM_A_FLOATS (TC_GEMM_MR * 24 * 256) /* A block MC×kc budget (344 KB, L2): MC = 336 at kc 256, 112 at 768 */
#endif
#ifndef TC_GEMM_NC
#define TC_GEMM_NC 2048 /* N block: B panel kc×NC in L3 */
#endif
#endif
