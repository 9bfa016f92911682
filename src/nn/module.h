/* Building models out of engine ops: named parameters with deferred initialisation.
 *
 * A model is built in two phases because parameter memory exists only after tc_params_finalize:
 *   1. modules register parameters by name (the original's checkpoint names, opt-spec §7.3) together with
 *      how to initialise them: tc_nn_param(...);
 *   2. tc_nn_finalize allocates the slabs and runs every initialiser in registration order, each from its
 *      own counter-based stream (seed, parameter index), so adding a parameter at the end leaves the
 *      others' initial values unchanged.
 * Checkpoint loading after finalize simply overwrites the values by name (tc_params_find).
 *
 * The forward functions of src/nn compose engine ops only; gradients come from the tape (tc_backward). */
#ifndef TC_NN_MODULE_H
#define TC_NN_MODULE_H

#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"

typedef enum {
    TC_INIT_ZEROS = 0,
    TC_INIT_ONES,
    TC_INIT_NORMAL,    /* N(0, a²) */
    TC_INIT_TRUNC_NORMAL, /* N(0, a²) redrawn outside ±2a (BERT/UNITER's TruncatedNormal) */
    TC_INIT_UNIFORM,   /* U(−a, a) */
    TC_INIT_CONST,     /* every element = a */
} tc_init_kind;

typedef struct tc_init {
    tc_init_kind kind;
    float a;
} tc_init;

static inline tc_init tc_init_normal(float std) { tc_init i = {TC_INIT_NORMAL, std}; return i; }
static inline tc_init tc_init_zeros(void) { tc_init i = {TC_INIT_ZEROS, 0}; return i; }
static inline tc_init tc_init_ones(void) { tc_init i = {TC_INIT_ONES, 1}; return i; }

typedef struct tc_nn {
    tc_params *ps;
    tc_init *init;   /* one per parameter registered through nn, in registration order */
    int *index;      /* its index in ps->p */
    int n, cap;
} tc_nn;

void tc_nn_begin(tc_nn *nn, tc_params *ps);   /* ps: tc_params_init'ed, not yet finalized */
/* Register parameter "<printf name>" of the given shape; returns its stable tensor handle. */
tc_tensor *tc_nn_param(tc_nn *nn, tc_init init, int ndim, const int *shape, const char *fmt, ...) TC_PRINTF(5, 6);
/* Seed meaning "allocate but do not initialise" (every value stays 0): for models about to load a checkpoint. */
#define TC_NN_NO_INIT UINT64_MAX
/* tc_params_finalize, then initialise every parameter registered through nn (unless seed == TC_NN_NO_INIT). */
void tc_nn_finalize(tc_nn *nn, uint64_t seed);
void tc_nn_end(tc_nn *nn);   /* frees the builder (not the parameters) */

/* Fill n floats per an initialiser (used by tc_nn_finalize; handy for tests). */
void tc_nn_fill(float *x, size_t n, tc_init init, uint64_t seed, uint64_t stream);

#endif
