/* Named parameters with deferred initialisation (see module.h). */
#include "nn/module.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"

void tc_nn_begin(tc_nn *nn, tc_params *ps) {
    memset(nn, 0, sizeof *nn);
    nn->ps = ps;
}

tc_tensor *tc_nn_param(tc_nn *nn, tc_init init, int ndim, const int *shape, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (nn->n == nn->cap) {
        nn->cap = nn->cap ? 2 * nn->cap : 64;
        nn->init = tc_xrealloc(nn->init, (size_t)nn->cap * sizeof *nn->init);
        nn->index = tc_xrealloc(nn->index, (size_t)nn->cap * sizeof *nn->index);
    }
    nn->init[nn->n] = init;
    nn->index[nn->n++] = nn->ps->n;
    return tc_params_add(nn->ps, name, ndim, shape);
}

void tc_nn_fill(float *x, size_t n, tc_init init, uint64_t seed, uint64_t stream) {
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(seed, stream, 0));
    switch (init.kind) {
    case TC_INIT_ZEROS: memset(x, 0, n * sizeof *x); break;
    case TC_INIT_ONES: for (size_t i = 0; i < n; i++) x[i] = 1.0f; break;
    case TC_INIT_CONST: for (size_t i = 0; i < n; i++) x[i] = init.a; break;
    case TC_INIT_NORMAL: for (size_t i = 0; i < n; i++) x[i] = init.a * tc_rng_normal(&r); break;
    case TC_INIT_TRUNC_NORMAL:
        for (size_t i = 0; i < n; i++) {
            float z;
            do z = tc_rng_normal(&r); while (z < -2.0f || z > 2.0f);
            x[i] = init.a * z;
        }
        break;
    case TC_INIT_UNIFORM: for (size_t i = 0; i < n; i++) x[i] = init.a * (2.0f * tc_rng_uniform(&r) - 1.0f); break;
    }
}

void tc_nn_finalize(tc_nn *nn, uint64_t seed) {
    tc_params *ps = nn->ps;
    tc_params_finalize(ps);
    /* TC_NN_NO_INIT: a checkpoint is about to overwrite every value, so skip the (single-threaded, for a 1B
     * model minutes-long) random init and leave the lazily-zeroed slab untouched. */
    if (seed == TC_NN_NO_INIT) return;
    /* parameters registered directly with tc_params_add (not through nn) stay zero */
    for (int i = 0; i < nn->n; i++) {
        tc_param *p = ps->p[nn->index[i]];
        tc_nn_fill(p->t.data, p->numel, nn->init[i], seed, (uint64_t)nn->index[i]);
    }
}

void tc_nn_end(tc_nn *nn) {
    free(nn->init);
    free(nn->index);
    memset(nn, 0, sizeof *nn);
}
