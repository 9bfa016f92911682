/* Finite-difference gradient checking for engine ops (used by tests/test_grad_*.c).
 *
 * The op under test is built by a callback from inputs that are parameters (so their gradients land in
 * the params' grad slab). The scalar L = sum_i R_i * out_i with fixed random weights R is
 * differentiated by tc_backward (through tc_mul + tc_sum, themselves checked) and by central
 * differences (L evaluated in double from the fp32 forward with grad disabled). Tolerances per call. */
#ifndef TC_GRADCHECK_H
#define TC_GRADCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/tensor.h"
#include "tc_test.h"

typedef tc_tensor *(*gc_build_fn)(tc_graph *g, tc_tensor **in, void *ud);

/* Fill a parameter with scale * N(0,1) (+ shift). */
static inline void gc_fill(tc_tensor *t, tc_rng *r, float scale, float shift) {
    size_t n = tc_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = scale * tc_rng_normal(r) + shift;
}

/* sum_i R_i * out_i in double, reading out through its strides. */
static inline double gc_dot(const tc_tensor *o, const float *R) {
    int sh[4] = {1, 1, 1, 1}, st[4] = {0, 0, 0, 0}, nd = o->ndim;
    for (int i = 0; i < nd; i++) { sh[4 - nd + i] = o->shape[i]; st[4 - nd + i] = o->stride[i]; }
    double s = 0;
    long k = 0;
    for (int a = 0; a < sh[0]; a++)
        for (int b = 0; b < sh[1]; b++)
            for (int c = 0; c < sh[2]; c++)
                for (int d = 0; d < sh[3]; d++)
                    s += (double)R[k++] * o->data[(long)a * st[0] + (long)b * st[1] + (long)c * st[2] + (long)d * st[3]];
    return s;
}

/* Returns 1 if every input's gradient matches. Checks at most max_elems elements per input (spread
 * evenly), so big inputs stay fast. */
static inline int gc_check(const char *name, tc_params *ps, int nin, tc_tensor **in, gc_build_fn f, void *ud,
                           int training, float h, double rtol, double atol, int max_elems) {
    tc_graph *g = tc_graph_new();
    tc_params_zero_grad(ps);
    tc_graph_set_mode(g, 1, training, 1234, 7);
    tc_tensor *out = f(g, in, ud);
    size_t n = tc_numel(out);
    float *R = malloc(n * sizeof(float));
    tc_rng r;
    tc_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) R[i] = tc_rng_normal(&r);
    tc_tensor *Rt = tc_from_data(g, R, out->ndim, out->shape);
    tc_tensor *loss = tc_sum(g, tc_mul(g, tc_contiguous(g, out), Rt));
    TC_CHECK(loss->requires_grad, "%s: loss does not require grad", name);
    tc_backward(g, loss);
    int ok = 1;
    for (int k = 0; k < nin; k++) {
        tc_tensor *x = in[k];
        if (!x->requires_grad) continue; /* the caller marks inputs that are not differentiated */
        size_t m = tc_numel(x);
        int cnt = (int)(m < (size_t)max_elems ? m : (size_t)max_elems);
        float *ana = malloc((size_t)cnt * sizeof(float)), *num = malloc((size_t)cnt * sizeof(float));
        for (int e = 0; e < cnt; e++) {
            size_t idx = (size_t)e * m / (size_t)cnt;
            ana[e] = x->grad[idx];
            float keep = x->data[idx];
            double lp, lm;
            x->data[idx] = keep + h;
            tc_graph_reset(g);
            tc_graph_set_mode(g, 0, training, 1234, 7);
            lp = gc_dot(f(g, in, ud), R);
            x->data[idx] = keep - h;
            tc_graph_reset(g);
            lm = gc_dot(f(g, in, ud), R);
            x->data[idx] = keep;
            num[e] = (float)((lp - lm) / (2.0 * h));
        }
        char what[160];
        snprintf(what, sizeof what, "%s: d/d input %d", name, k);
        ok &= tc_check_array_close_at(__FILE__, __LINE__, what, ana, num, cnt, rtol, atol);
        free(ana);
        free(num);
    }
    free(R);
    tc_graph_free(g);
    return ok;
}

/* Convenience: a params store holding nin inputs of the given shapes, filled with scale*N(0,1). */
typedef struct {
    tc_params ps;
    tc_tensor *in[12];
    int n;
} gc_inputs;

static inline void gc_inputs_make(gc_inputs *gi, int n, const int *ndims, const int (*shapes)[4], uint64_t seed,
                                  float scale) {
    tc_params_init(&gi->ps);
    if (n > 12) n = 12; /* capacity of gc_inputs.in */
    gi->n = n;
    for (int i = 0; i < n; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "in%d", i);
        gi->in[i] = tc_params_add(&gi->ps, nm, ndims[i], shapes[i]);
    }
    tc_params_finalize(&gi->ps);
    tc_rng r;
    tc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) gc_fill(gi->in[i], &r, scale, 0.0f);
}

#endif
