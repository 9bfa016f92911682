/* Branch-free float math that gcc vectorises inside `#pragma omp simd` loops (libm's expf/erff/tanhf are
 * scalar calls that block vectorisation). Accuracy: exp ≈ 2 ulp, tanh/sigmoid ≈ 1e-7 absolute,
 * erf ≈ 1.5e-7 absolute (Abramowitz & Stegun 7.1.26). Internal to the engine. */
#ifndef TC_CORE_VMATH_H
#define TC_CORE_VMATH_H

#include <stdint.h>

static inline float tc_vexp(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float n = __builtin_floorf(x * 1.44269504089f + 0.5f);
    float r = x - n * 0.693145751953125f; /* ln2 split hi/lo: r exact-ish in [-ln2/2, ln2/2] */
    r = r - n * 1.428606765330187e-06f;
    /* minimax-ish Taylor to degree 6 on the reduced range */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } s;
    s.i = ((int32_t)n + 127) << 23;
    return p * s.f;
}

static inline float tc_vtanh(float x) {
    float a = x < 0 ? -x : x;
    float t = tc_vexp(-2.0f * a);
    float y = (1.0f - t) / (1.0f + t);
    return x < 0 ? -y : y;
}

static inline float tc_vsigmoid(float x) { return 1.0f / (1.0f + tc_vexp(-x)); }

static inline float tc_verf(float x) {
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * tc_vexp(-a * a);
    return x < 0 ? -y : y;
}

#endif
