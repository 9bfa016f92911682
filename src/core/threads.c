#include "core/threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

static int tc_threads_now; /* 0 until first set */

/* OpenMP waiting policy. libgomp's default lets idle team threads spin for ~300k iterations after each
 * parallel region; a training step has ~200 regions with serial work between them, so on a shared or
 * oversubscribed machine the spinning thread steals the core the main thread needs: measured 3× the CPU
 * time per step and 2.6× the wall time of OMP_WAIT_POLICY=PASSIVE (bench/README.md, bench_transformer).
 * libgomp reads the variable once, in its own constructor, so it is set from the executable's
 * .preinit_array, which the dynamic loader runs before any shared library's constructors. An explicit
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT from the user always wins. (This object is linked into every program
 * that uses the engine, since tc_get_threads is called by the ops.) */
static void tc_omp_default_wait_policy(void) {
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
}
__attribute__((section(".preinit_array"), used)) static void (*const tc_omp_preinit)(void) = tc_omp_default_wait_policy;

int tc_set_threads(int n) {
    if (n <= 0) {
        const char *env = getenv("TAICHU_THREADS");
        if (env && *env) n = atoi(env);
    }
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n > 1024) n = 1024;
    omp_set_num_threads(n);
    omp_set_max_active_levels(1); /* a tc_sgemm inside an engine loop must not spawn a second team */
    openblas_set_num_threads(n);
    tc_threads_now = n;
    return n;
}

int tc_get_threads(void) {
    if (!tc_threads_now) tc_set_threads(0);
    return tc_threads_now;
}

void tc_blas_single_begin(void) {
    if (tc_get_threads() > 1) openblas_set_num_threads(1);
}

void tc_blas_single_end(void) {
    if (tc_threads_now > 1) openblas_set_num_threads(tc_threads_now);
}
