#include "core/threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

static int tc_threads_now; /* 0 until first set */

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
