/* AVX-512 versions of the activation kernels (GELU tanh/erf, QuickGELU, ReLU, tanh, exp, sigmoid): the same
 * formulas as vmath.h's AVX2 code in 16 lanes, for CPUs that have AVX-512 (chosen at run time; this
 * file alone is compiled for that target, the rest of the engine stays AVX2). */
#include <immintrin.h>

#include "core/ops_act.h"

static int have512 = -1;

__attribute__((constructor)) static void detect(void) {
    __builtin_cpu_init();
    have512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

int tc_have_avx512(void) {
    if (have512 < 0) detect();
    return have512;
}

/* per-function target attributes (not #pragma GCC target, which clang ignores) */
#define TC512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

#define S(c) _mm512_set1_ps(c)

TC512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, S(-87.3f)), S(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, S(1.44269504089f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, S(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, S(1.428606765330187e-06f), r);
    __m512 p = S(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, S(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, S(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, S(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, S(0.5f));
    p = _mm512_fmadd_ps(p, r, S(1.0f));
    p = _mm512_fmadd_ps(p, r, S(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

TC512 static inline __m512 abs16(__m512 x) { return _mm512_andnot_ps(S(-0.0f), x); }
TC512 static inline __m512 copysign16(__m512 mag, __m512 sgn) { return _mm512_or_ps(mag, _mm512_and_ps(sgn, S(-0.0f))); }

TC512 static inline __m512 tanh16(__m512 x) {
    __m512 t = exp16(_mm512_mul_ps(S(-2.0f), abs16(x)));
    return copysign16(_mm512_div_ps(_mm512_sub_ps(S(1.0f), t), _mm512_add_ps(S(1.0f), t)), x);
}

TC512 static inline __m512 sigmoid16(__m512 x) {
    return _mm512_div_ps(S(1.0f), _mm512_add_ps(S(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

TC512 static inline __m512 erf16_e(__m512 x, __m512 *e_out) {
    __m512 a = abs16(x);
    __m512 t = _mm512_div_ps(S(1.0f), _mm512_fmadd_ps(S(0.3275911f), a, S(1.0f)));
    __m512 p = S(1.061405429f);
    p = _mm512_fmadd_ps(p, t, S(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, S(1.421413741f));
    p = _mm512_fmadd_ps(p, t, S(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, S(0.254829592f));
    __m512 e = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), a), a));
    *e_out = e;
    return copysign16(_mm512_fnmadd_ps(_mm512_mul_ps(p, t), e, S(1.0f)), x);
}

TC512 static inline __attribute__((always_inline)) __m512 f16(int kind, __m512 x) {
    __m512 e;
    switch (kind) {
    case TC_ACT_GELU_TANH: {
        __m512 u = _mm512_mul_ps(S(TC_GELU_K), _mm512_fmadd_ps(_mm512_mul_ps(S(TC_GELU_C), x), _mm512_mul_ps(x, x), x));
        return _mm512_mul_ps(_mm512_mul_ps(S(0.5f), x), _mm512_add_ps(S(1.0f), tanh16(u)));
    }
    case TC_ACT_GELU_ERF:
        return _mm512_mul_ps(_mm512_mul_ps(S(0.5f), x), _mm512_add_ps(S(1.0f), erf16_e(_mm512_mul_ps(x, S(TC_INV_SQRT2)), &e)));
    case TC_ACT_QUICK_GELU: return _mm512_mul_ps(x, sigmoid16(_mm512_mul_ps(S(1.702f), x)));
    case TC_ACT_RELU: return _mm512_max_ps(x, _mm512_setzero_ps());
    case TC_ACT_TANH: return tanh16(x);
    case TC_ACT_SIGMOID: return sigmoid16(x);
    default: return exp16(x);
    }
}

TC512 static inline __attribute__((always_inline)) __m512 d16(int kind, __m512 x, __m512 y) {
    __m512 one = S(1.0f);
    switch (kind) {
    case TC_ACT_GELU_TANH: {
        __m512 x2 = _mm512_mul_ps(x, x);
        __m512 t = tanh16(_mm512_mul_ps(S(TC_GELU_K), _mm512_fmadd_ps(_mm512_mul_ps(S(TC_GELU_C), x), x2, x)));
        __m512 du = _mm512_mul_ps(S(TC_GELU_K), _mm512_fmadd_ps(S(3.0f * TC_GELU_C), x2, one));
        __m512 a = _mm512_mul_ps(S(0.5f), _mm512_add_ps(one, t));
        __m512 b = _mm512_mul_ps(_mm512_mul_ps(S(0.5f), x), _mm512_fnmadd_ps(t, t, one));
        return _mm512_fmadd_ps(b, du, a);
    }
    case TC_ACT_GELU_ERF: {
        __m512 e;
        __m512 a = _mm512_mul_ps(S(0.5f), _mm512_add_ps(one, erf16_e(_mm512_mul_ps(x, S(TC_INV_SQRT2)), &e)));
        return _mm512_fmadd_ps(_mm512_mul_ps(x, S(TC_INV_SQRT_2PI)), e, a);
    }
    case TC_ACT_QUICK_GELU: {
        __m512 sg = sigmoid16(_mm512_mul_ps(S(1.702f), x));
        return _mm512_fmadd_ps(_mm512_mul_ps(S(1.702f), x), _mm512_mul_ps(sg, _mm512_sub_ps(one, sg)), sg);
    }
    case TC_ACT_RELU: return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), one);
    case TC_ACT_TANH: return _mm512_fnmadd_ps(y, y, one);
    case TC_ACT_SIGMOID: return _mm512_mul_ps(y, _mm512_sub_ps(one, y));
    default: return y;
    }
}

TC512 static inline __attribute__((always_inline)) void fwd(int kind, const float *x, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f16(kind, _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, f16(kind, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

TC512 static inline __attribute__((always_inline)) void bwd(int kind, const float *x, const float *y, const float *gy,
                                                      float *gx, long n, int acc) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gy + i),
                                 d16(kind, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
        if (acc) g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(m, gx + i));
        _mm512_mask_storeu_ps(gx + i, m, g);
    }
}

TC512 void tc_act512_fwd(int kind, const float *x, float *y, long n) {
    switch (kind) {
    case TC_ACT_GELU_TANH: fwd(TC_ACT_GELU_TANH, x, y, n); break;
    case TC_ACT_GELU_ERF: fwd(TC_ACT_GELU_ERF, x, y, n); break;
    case TC_ACT_QUICK_GELU: fwd(TC_ACT_QUICK_GELU, x, y, n); break;
    case TC_ACT_RELU: fwd(TC_ACT_RELU, x, y, n); break;
    case TC_ACT_TANH: fwd(TC_ACT_TANH, x, y, n); break;
    case TC_ACT_SIGMOID: fwd(TC_ACT_SIGMOID, x, y, n); break;
    default: fwd(TC_ACT_EXP, x, y, n); break;
    }
}

TC512 void tc_act512_bwd(int kind, const float *x, const float *y, const float *gy, float *gx, long n, int acc) {
    switch (kind) {
    case TC_ACT_GELU_TANH: bwd(TC_ACT_GELU_TANH, x, y, gy, gx, n, acc); break;
    case TC_ACT_GELU_ERF: bwd(TC_ACT_GELU_ERF, x, y, gy, gx, n, acc); break;
    case TC_ACT_QUICK_GELU: bwd(TC_ACT_QUICK_GELU, x, y, gy, gx, n, acc); break;
    case TC_ACT_RELU: bwd(TC_ACT_RELU, x, y, gy, gx, n, acc); break;
    case TC_ACT_TANH: bwd(TC_ACT_TANH, x, y, gy, gx, n, acc); break;
    case TC_ACT_SIGMOID: bwd(TC_ACT_SIGMOID, x, y, gy, gx, n, acc); break;
    default: bwd(TC_ACT_EXP, x, y, gy, gx, n, acc); break;
    }
}

