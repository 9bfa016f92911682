/* The double-precision reference of the GEMM tests (test_gemm.c, test_gemm_bias.c). Header-only. */
#ifndef TC_TEST_GEMM_REF_H
#define TC_TEST_GEMM_REF_H

#include <math.h>

/* Σ_k op(A)[i,k]·op(B)[k,j] in double (op transposes when ta / tb), and in *mag Σ_k |term|, which scales the
 * rounding tolerance. */
static inline double tc_ref_dot(int ta, int tb, int i, int j, int K, const float *A, int lda, const float *B, int ldb,
                                double *mag) {
    double s = 0, m = 0;
    for (int k = 0; k < K; k++) {
        double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        s += a * b;
        m += fabs(a * b);
    }
    *mag = m;
    return s;
}

#endif
