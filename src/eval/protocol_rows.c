/* Row kernels of the direct v2 fusion path (protocol_rows.h). The GELU uses the engine's AVX-512 kernel
 * when the CPU has it (the one tc_gelu_* runs), else the AVX2 formulas of core/vmath.h. */
#include "eval/protocol_rows.h"

#include "core/ops_act.h"
#include "core/vmath.h"

#include <math.h>

void tc_evr_layernorm(const float *x, int ldx, float *y, int ldy, int rows, int d, const float *gamma,
                      const float *beta, float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * ldx;
        float *yr = y + (long)r * ldy;
        float mu = 0.f, var = 0.f;
#pragma omp simd reduction(+ : mu)
        for (int j = 0; j < d; j++) mu += xr[j];
        mu /= (float)d;
#pragma omp simd reduction(+ : var)
        for (int j = 0; j < d; j++) var += (xr[j] - mu) * (xr[j] - mu);
        float rs = 1.0f / sqrtf(var / (float)d + eps);
#pragma omp simd
        for (int j = 0; j < d; j++) yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
    }
}

static inline __m256 gelu8(__m256 x, int erf) {
    __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), x), one = _mm256_set1_ps(1.0f);
    if (erf) return _mm256_mul_ps(half_x, _mm256_add_ps(one, tc_v8_erf(_mm256_mul_ps(x, _mm256_set1_ps(TC_INV_SQRT2)))));
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(TC_GELU_K),
                             _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(TC_GELU_C), x), _mm256_mul_ps(x, x), x));
    return _mm256_mul_ps(half_x, _mm256_add_ps(one, tc_v8_tanh(u)));
}

void tc_evr_gelu(float *x, long n, int erf) {
    if (tc_have_avx512()) {
        tc_act512_fwd(erf ? TC_ACT_GELU_ERF : TC_ACT_GELU_TANH, x, x, n);
        return;
    }
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i), erf));
    if (i < n) {
        __m256i m = tc_v8_tailmask((int)(n - i));
        _mm256_maskstore_ps(x + i, m, gelu8(_mm256_maskload_ps(x + i, m), erf));
    }
}

void tc_evr_softmax_rows(float *s, int rows, int n, int lds) {
    for (int r = 0; r < rows; r++) {
        float *sr = s + (long)r * lds;
        float sum = tc_row_exp_sum(sr, sr, n, tc_row_max(sr, n));
        tc_row_scale(sr, n, 1.0f / sum);
    }
}
