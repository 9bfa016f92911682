/* Seeded random numbers used everywhere in taichu: parameter init, dropout, masking, data order,
 * augmentation, synthetic data and sampling. The algorithms are fixed and documented (docs/rng.md)
 * so results are reproducible across machines and thread counts:
 *
 *   - tc_rng: xoshiro256** (Blackman & Vigna 2018), state seeded from a 64-bit seed by SplitMix64.
 *     Sequential; one generator per consumer (e.g. the data loader owns its own).
 *   - tc_rng_hash: a counter-based generator, SplitMix64's finaliser over (seed, stream, index).
 *     Stateless, so a parallel loop draws the same value for element i whatever the thread count
 *     (dropout masks use it with stream = step*K + op id).
 *
 * Floats: uniform in [0,1) from the top 24 bits (exactly representable); normals by Box–Muller. */
#ifndef TC_CORE_RNG_H
#define TC_CORE_RNG_H

#include <stdint.h>

typedef struct tc_rng {
    uint64_t s[4];
} tc_rng;

void tc_rng_seed(tc_rng *r, uint64_t seed);
uint64_t tc_rng_next(tc_rng *r);            /* 64 random bits */
float tc_rng_uniform(tc_rng *r);            /* [0, 1) */
float tc_rng_normal(tc_rng *r);             /* N(0, 1) */
uint32_t tc_rng_below(tc_rng *r, uint32_t n); /* uniform integer in [0, n), unbiased; n > 0 */
/* Fisher–Yates shuffle of n ints. */
void tc_rng_shuffle_int(tc_rng *r, int *a, int n);

/* Counter-based draws: pure functions of their arguments. */
uint64_t tc_rng_hash(uint64_t seed, uint64_t stream, uint64_t index);
static inline float tc_rng_hash_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return (float)(tc_rng_hash(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

#endif
