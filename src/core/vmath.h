/* Vector math for the engine's activation, softmax and loss loops, in AVX2+FMA intrinsics (the baseline
 * ISA): libm's expf/erff/tanhf are scalar calls, and gcc does not vectorise the branchy scalar forms.
 * Accuracy: exp ≈ 2 ulp on [-87, 88] (clamped outside, so it never returns inf/NaN for finite input),
 * tanh/sigmoid ≈ 1e-7 absolute, erf ≤ 1.5e-7 absolute (Abramowitz & Stegun 7.1.26, the formula PyTorch's
 * vectorised CPU erf uses too). The scalar tc_s* forms evaluate the same formulas one lane at a time, for
 * loop tails and scalar code. Internal to the engine. */
#ifndef TC_CORE_VMATH_H
#define TC_CORE_VMATH_H

#include <immintrin.h>
#include <stdint.h>

static inline __m256 tc_v8_exp(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x); /* ln2 split in hi + lo */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 tc_v8_abs(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
static inline __m256 tc_v8_copysign(__m256 mag, __m256 sgn) {
    return _mm256_or_ps(mag, _mm256_and_ps(sgn, _mm256_set1_ps(-0.0f)));
}

/* tanh(x) = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}) */
static inline __m256 tc_v8_tanh(__m256 x) {
    __m256 t = tc_v8_exp(_mm256_mul_ps(_mm256_set1_ps(-2.0f), tc_v8_abs(x)));
    __m256 one = _mm256_set1_ps(1.0f);
    return tc_v8_copysign(_mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t)), x);
}

static inline __m256 tc_v8_sigmoid(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, tc_v8_exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* erf(x); *e_out = exp(-x²), which callers (GELU's derivative) can reuse */
static inline __m256 tc_v8_erf_e(__m256 x, __m256 *e_out) {
    __m256 a = tc_v8_abs(x), one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    __m256 e = tc_v8_exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), a), a));
    *e_out = e;
    __m256 y = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, one);
    return tc_v8_copysign(y, x);
}

static inline __m256 tc_v8_erf(__m256 x) {
    __m256 e;
    return tc_v8_erf_e(x, &e);
}

/* Scalar forms (same formulas, lane 0 of the vector code): for tails and non-vector code. */
#define TC_SCALAR_OF(name, vfn)                                               \
    static inline float name(float x) { return _mm256_cvtss_f32(vfn(_mm256_set1_ps(x))); }
TC_SCALAR_OF(tc_vexp, tc_v8_exp)
TC_SCALAR_OF(tc_vtanh, tc_v8_tanh)
TC_SCALAR_OF(tc_vsigmoid, tc_v8_sigmoid)
TC_SCALAR_OF(tc_verf, tc_v8_erf)
#undef TC_SCALAR_OF

/* Load/store n < 8 floats (loop tails) */
static inline __m256i tc_v8_tailmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float tc_v8_hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static inline float tc_v8_hmax(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/* max_j x[j] (n >= 1) */
static inline float tc_row_max(const float *x, int n) {
    __m256 m = _mm256_set1_ps(-__builtin_inff());
    int j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
    float r = tc_v8_hmax(m);
    for (; j < n; j++) r = x[j] > r ? x[j] : r;
    return r;
}

/* y[j] = exp(x[j] - shift) (y may be x, or NULL to only sum); returns sum_j y[j]. */
static inline float tc_row_exp_sum(const float *x, float *y, int n, float shift) {
    __m256 acc = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = tc_v8_exp(_mm256_sub_ps(_mm256_loadu_ps(x + j), sh));
        if (y) _mm256_storeu_ps(y + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (j < n) {
        __m256i m = tc_v8_tailmask(n - j);
        __m256 e = tc_v8_exp(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), sh));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        if (y) _mm256_maskstore_ps(y + j, m, e);
        acc = _mm256_add_ps(acc, e);
    }
    return tc_v8_hsum(acc);
}

/* y[j] *= s */
static inline void tc_row_scale(float *y, int n, float s) {
    __m256 v = _mm256_set1_ps(s);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), v));
    for (; j < n; j++) y[j] *= s;
}

#endif
