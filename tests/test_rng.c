/* The RNG is part of the reproducibility contract (docs/rng.md): fixed outputs, sane statistics. */
#include "core/rng.h"
#include "tc_test.h"

int main(void) {
    /* xoshiro256** reference: state {1,2,3,4} gives 11520, 0, 1509978240, 1215971899390074240. */
    tc_rng r = {{1, 2, 3, 4}};
    TC_CHECK(tc_rng_next(&r) == 11520ull, "first output");
    TC_CHECK(tc_rng_next(&r) == 0ull, "second output");
    TC_CHECK(tc_rng_next(&r) == 1509978240ull, "third output");
    TC_CHECK(tc_rng_next(&r) == 1215971899390074240ull, "fourth output");

    /* Same seed, same stream; different seed, different stream. */
    tc_rng a, b, c;
    tc_rng_seed(&a, 42); tc_rng_seed(&b, 42); tc_rng_seed(&c, 43);
    int same = 1, diff = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = tc_rng_next(&a), y = tc_rng_next(&b), z = tc_rng_next(&c);
        same &= x == y; diff += x != z;
    }
    TC_CHECK(same, "same seed must repeat");
    TC_CHECK(diff == 100, "different seeds must differ");

    /* Moments of uniform and normal draws. */
    tc_rng_seed(&a, 7);
    double su = 0, sn = 0, sn2 = 0;
    const int n = 200000;
    float umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        float u = tc_rng_uniform(&a);
        if (u < umin) umin = u;
        if (u > umax) umax = u;
        su += u;
        float g = tc_rng_normal(&a);
        sn += g; sn2 += (double)g * g;
    }
    TC_CHECK(umin >= 0.0f && umax < 1.0f, "uniform range [%g, %g]", umin, umax);
    TC_CHECK_CLOSE(su / n, 0.5, 0, 0.005);
    TC_CHECK_CLOSE(sn / n, 0.0, 0, 0.01);
    TC_CHECK_CLOSE(sn2 / n, 1.0, 0, 0.01);

    /* below(n) is within range and hits every value. */
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t k = tc_rng_below(&a, 7);
        TC_CHECK(k < 7, "below out of range: %u", k);
        if (k < 7) hist[k]++;
    }
    for (int k = 0; k < 7; k++) TC_CHECK(hist[k] > 9000 && hist[k] < 11000, "bucket %d: %d", k, hist[k]);

    /* Shuffle is a permutation. */
    int p[50], seen[50] = {0};
    for (int i = 0; i < 50; i++) p[i] = i;
    tc_rng_shuffle_int(&a, p, 50);
    int moved = 0;
    for (int i = 0; i < 50; i++) { seen[p[i]]++; moved += p[i] != i; }
    for (int i = 0; i < 50; i++) TC_CHECK(seen[i] == 1, "value %d seen %d times", i, seen[i]);
    TC_CHECK(moved > 30, "shuffle moved only %d", moved);

    /* Counter-based draws: pure and decorrelated across streams. */
    TC_CHECK(tc_rng_hash(1, 2, 3) == tc_rng_hash(1, 2, 3), "hash is pure");
    TC_CHECK(tc_rng_hash(1, 2, 3) != tc_rng_hash(1, 3, 3), "streams differ");
    double hs = 0;
    for (int i = 0; i < n; i++) hs += tc_rng_hash_uniform(9, 1, (uint64_t)i);
    TC_CHECK_CLOSE(hs / n, 0.5, 0, 0.005);
    return tc_test_summary("rng");
}
