/* Dropout keep-masks from the counter-based hash (docs/rng.md): m[i] = 1 iff
 * tc_rng_hash(seed, stream, start + i) >> 40 >= thr, i.e. the element's uniform draw is >= p.
 * SplitMix64's finaliser needs 64-bit multiplies; AVX-512DQ has them (8 lanes, chosen at run time),
 * elsewhere the scalar loop runs. Both give identical bits. */
#include <immintrin.h>

#include "core/graph_internal.h"

static void keep_scalar(uint8_t *m, long n, uint64_t key, uint64_t start, uint32_t thr) {
    for (long i = 0; i < n; i++) m[i] = (uint32_t)(tc_hash_at(key, start + (uint64_t)i) >> 40) >= thr;
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void keep_avx512(uint8_t *m, long n,
                                                                                        uint64_t key,
                                                                                        uint64_t start,
                                                                                        uint32_t thr) {
    const __m512i vk = _mm512_set1_epi64((long long)key), gold = _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ull);
    const __m512i c1 = _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull);
    const __m512i c2 = _mm512_set1_epi64((long long)0x94D049BB133111EBull);
    const __m512i vt = _mm512_set1_epi64(thr), eight = _mm512_set1_epi64(8);
    const __m128i one = _mm_set1_epi8(1);
    __m512i idx = _mm512_add_epi64(_mm512_set1_epi64((long long)start), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i z = _mm512_add_epi64(_mm512_xor_si512(vk, idx), gold);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), c1);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), c2);
        z = _mm512_srli_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 31)), 40);
        __mmask8 k = _mm512_cmpge_epu64_mask(z, vt);
        _mm_storel_epi64((__m128i *)(m + i), _mm_maskz_mov_epi8((__mmask16)k, one));
        idx = _mm512_add_epi64(idx, eight);
    }
    if (i < n) keep_scalar(m + i, n - i, key, start + (uint64_t)i, thr);
}

static int have_avx512 = -1;

/* Decided once at load time, so worker threads only ever read the flag. */
__attribute__((constructor)) static void keep_mask_detect(void) {
    __builtin_cpu_init();
    have_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

void tc_keep_mask(uint8_t *m, long n, uint64_t key, uint64_t start, uint32_t thr) {
    if (have_avx512 > 0) keep_avx512(m, n, key, start, thr);
    else keep_scalar(m, n, key, start, thr);
}

/* For tests: force the scalar path (0) or go back to the detected one (-1). */
void tc_keep_mask_force(int avx512) {
    if (avx512 < 0) keep_mask_detect();
    else have_avx512 = avx512 && have_avx512;
}
