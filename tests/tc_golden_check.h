/* Checking an engine tensor against its golden record (tc_golden.h), for the model twin tests
 * (test_opt_v1_golden.c, test_opt_v2_golden.c). Header-only, for tests. */
#ifndef TC_GOLDEN_CHECK_H
#define TC_GOLDEN_CHECK_H

#include "core/error.h"
#include "core/tensor.h"
#include "tc_golden.h"
#include "tc_test.h"

/* Copy the elements of x [B, T, D] (or [N, D], or [N]) into out, skipping rows (t of b) whose validity
 * valid[b * T + t] is 0 (valid NULL: all rows); x may be strided. Returns the count. */
static inline long tc_golden_gather_valid(const tc_tensor *x, const float *valid, float *out) {
    if (x->ndim == 1) {
        for (int i = 0; i < x->shape[0]; i++) out[i] = x->data[(long)i * x->stride[0]];
        return x->shape[0];
    }
    int nd = x->ndim, B = nd == 3 ? x->shape[0] : 1, T = x->shape[nd - 2], D = x->shape[nd - 1];
    long k = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            if (valid && valid[b * T + t] == 0) continue;
            for (int d = 0; d < D; d++) {
                long off = (nd == 3 ? (long)b * x->stride[0] : 0) + (long)t * x->stride[nd - 2] + (long)d * x->stride[nd - 1];
                out[k++] = x->data[off];
            }
        }
    return k;
}

/* x (an op's output; NULL fails with the engine's error) against golden record `name` of the same shape, per
 * element within rtol/atol, over the rows that valid keeps (padded query rows are garbage in the originals,
 * spec §1.3). */
static inline void tc_golden_check(const tc_golden *gold, const char *name, const tc_tensor *x, const float *valid,
                                   double rtol, double atol) {
    const tc_golden_rec *r = tc_golden_find(gold, name);
    TC_CHECK(r != NULL, "golden %s missing", name);
    TC_CHECK(x != NULL, "%s: no output (%s)", name, tc_error_get());
    if (!r || !x) return;
    TC_CHECK((long)tc_numel(x) == r->numel, "%s: %zu elements vs golden %ld", name, tc_numel(x), r->numel);
    if ((long)tc_numel(x) != r->numel) return;
    float *a = malloc(r->numel * sizeof *a), *b = malloc(r->numel * sizeof *b);
    tc_tensor gv = *x;
    gv.data = r->data; /* the golden is laid out contiguously with the same shape */
    long st = 1;
    for (int i = x->ndim - 1; i >= 0; i--) gv.stride[i] = (int)st, st *= x->shape[i];
    long n = tc_golden_gather_valid(x, valid, a);
    tc_golden_gather_valid(&gv, valid, b);
    TC_CHECK_ARRAY_CLOSE(name, a, b, n, rtol, atol);
    free(a);
    free(b);
}

#endif
