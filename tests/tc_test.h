/* Minimal test harness: each tests/test_*.c is one ctest executable.
 *   TC_CHECK(cond, fmt, ...)         records a failure (with file:line) and continues
 *   TC_CHECK_CLOSE(a, b, rtol, atol)  |a-b| <= atol + rtol*|b|
 *   return tc_test_summary("name");   prints "name: N checks, M failed" and the exit status
 * Tolerances are per call site (per tensor), never global. */
#ifndef TC_TEST_H
#define TC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int tc_test_checks, tc_test_failures;

#define TC_CHECK(cond, ...)                                                          \
    do {                                                                             \
        tc_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            tc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n");                                                   \
        }                                                                            \
    } while (0)

#define TC_CHECK_CLOSE(a, b, rtol, atol)                                                        \
    do {                                                                                        \
        double tc_a_ = (double)(a), tc_b_ = (double)(b);                                        \
        TC_CHECK(fabs(tc_a_ - tc_b_) <= (atol) + (rtol) * fabs(tc_b_) && !isnan(tc_a_),          \
                 "%s = %.9g vs %s = %.9g (rtol %g, atol %g)", #a, tc_a_, #b, tc_b_,           \
                 (double)(rtol), (double)(atol));                                               \
    } while (0)

/* Compare two float arrays element-wise; reports the worst element. Returns 1 when all pass. */
static inline int tc_check_array_close_at(const char *file, int line, const char *what, const float *got,
                                          const float *want, long n, double rtol, double atol) {
    long worst = -1;
    double worst_excess = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double allowed = atol + rtol * fabs((double)want[i]);
        double excess = isnan(got[i]) != isnan(want[i]) ? INFINITY : d - allowed;
        if (excess > worst_excess || (worst < 0 && excess > 0)) { worst_excess = excess; worst = i; }
    }
    tc_test_checks++;
    if (worst >= 0) {
        tc_test_failures++;
        fprintf(stderr, "%s:%d: %s: element %ld: got %.9g want %.9g (rtol %g, atol %g)\n", file, line, what,
                worst, got[worst], want[worst], rtol, atol);
        return 0;
    }
    return 1;
}
#define TC_CHECK_ARRAY_CLOSE(what, got, want, n, rtol, atol) \
    tc_check_array_close_at(__FILE__, __LINE__, what, got, want, n, rtol, atol)

/* max_i |x[i]| (0 for n = 0): for tolerances that scale with a tensor. */
static inline float tc_max_abs(const float *x, long n) {
    float m = 0;
    for (long i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

static inline int tc_test_summary(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tc_test_checks, tc_test_failures);
    return tc_test_failures ? 1 : 0;
}

#endif
