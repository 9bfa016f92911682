/* Machine peak for MFU: see peak.h. */
#include "train/peak.h"

#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/threads.h"

/* 12 independent FMA chains (> latency 4 × 2 pipes), written out so they stay in registers at -O2. */
#define FMA12(F, A, B)                                                                                         \
    do {                                                                                                      \
        a0 = F(a0, A, B); a1 = F(a1, A, B); a2 = F(a2, A, B); a3 = F(a3, A, B); a4 = F(a4, A, B);             \
        a5 = F(a5, A, B); a6 = F(a6, A, B); a7 = F(a7, A, B); a8 = F(a8, A, B); a9 = F(a9, A, B);             \
        a10 = F(a10, A, B); a11 = F(a11, A, B);                                                               \
    } while (0)

#if defined(__clang__)
#define TC_OPT_O2          /* clang has no per-function optimize attribute (and keeps these in registers anyway) */
#else
#define TC_OPT_O2 , optimize("O2")
#endif
#define TC_PEAK_ATTR(...) __attribute__((__VA_ARGS__ TC_OPT_O2))

/* Returns FLOPs done; the sink defeats dead-code elimination. Optimised even in Debug builds, where -O0
 * would keep the accumulators in memory and measure store forwarding instead of the FMA pipes. */
TC_PEAK_ATTR(target("avx512f")) static double fma_loop512(long iters, float *sink) {
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3);
    __m512 a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7);
    __m512 a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long i = 0; i < iters; i++) FMA12(_mm512_fmadd_ps, m, c);
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    *sink += _mm512_reduce_add_ps(s);
    return (double)iters * 12 * 16 * 2;
}

TC_PEAK_ATTR(noinline) static double fma_loop256(long iters, float *sink) {
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long i = 0; i < iters; i++) FMA12(_mm256_fmadd_ps, m, c);
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float t[8];
    _mm256_storeu_ps(t, s);
    for (int k = 0; k < 8; k++) *sink += t[k];
    return (double)iters * 12 * 8 * 2;
}

static int have_avx512(void) { return __builtin_cpu_supports("avx512f") != 0; }

double tc_peak_measure(int threads, double seconds) {
    if (threads < 1) threads = 1;
    int wide = have_avx512();
    long iters = 1000;
    double best = 0;
    float sink = 0;
    double t_end = tc_now_s() + seconds;
    /* One thread, many ~1 ms bursts, keep the fastest: on a shared machine some burst runs undisturbed at
     * the core's full rate, whereas all threads at once rarely get all cores together. The peak of
     * `threads` cores is that rate times the thread count. */
    do {
        double t0 = tc_now_s();
        double flops = wide ? fma_loop512(iters, &sink) : fma_loop256(iters, &sink);
        double dt = tc_now_s() - t0;
        if (dt < 5e-4) iters *= 2;
        else if (flops / dt > best) best = flops / dt;
    } while (tc_now_s() < t_end || best == 0);
    if (sink == 12345.0f) fprintf(stderr, " ");   /* keep the result alive */
    return best * threads / 1e9;
}

static char *cache_path(void) {
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char *base = x && *x ? tc_path_join(x, "taichu") : h && *h ? tc_path_join(h, ".cache/taichu") : NULL;
    if (!base) return NULL;
    char *p = tc_path_join(base, "peak-gflops");
    free(base);
    return p;
}

double tc_peak_gflops(double override_gflops) {
    if (override_gflops > 0) return override_gflops;
    const char *e = getenv("TAICHU_PEAK_GFLOPS");
    if (e && atof(e) > 0) return atof(e);
    int threads = tc_get_threads(), wide = have_avx512();
    char key[64];
    snprintf(key, sizeof key, "threads=%d avx512=%d ", threads, wide);
    char *path = cache_path();
    if (path) {
        size_t len;
        char *text = tc_read_file(path, &len);
        if (text) {
            /* one line per configuration: "threads=2 avx512=1 412.3" */
            for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (!strncmp(line, key, strlen(key)) && atof(line + strlen(key)) > 0) {
                    double v = atof(line + strlen(key));
                    free(text);
                    free(path);
                    return v;
                }
            free(text);
        }
    }
    double v = tc_peak_measure(threads, 0.2);
    if (path) {
        size_t len = 0;
        char *old = tc_read_file(path, &len);
        size_t cap = len + 128;
        char *buf = malloc(cap);
        if (buf) {
            snprintf(buf, cap, "%s%s%.1f\n", old ? old : "", key, v);
            char *dir = tc_xstrdup(path);
            char *slash = strrchr(dir, '/');
            if (slash) *slash = 0;
            if (tc_mkdir_p(dir) == 0) tc_write_file_atomic(path, buf, strlen(buf)); /* best effort */
            free(dir);
            free(buf);
        }
        free(old);
        free(path);
    }
    return v;
}
