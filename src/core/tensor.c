/* Tensor layout helpers: sizes, contiguity, strided copies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/graph_internal.h"

size_t tc_numel(const tc_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

int tc_is_contiguous(const tc_tensor *t) {
    long expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
        expect *= t->shape[i];
    }
    return 1;
}

void tc_set_contiguous_strides(tc_tensor *t) {
    int s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
    for (int i = t->ndim; i < TC_MAX_DIMS; i++) { t->shape[i] = 1; t->stride[i] = 1; }
}

int tc_same_shape(const tc_tensor *a, const tc_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

int tc_rows(const tc_tensor *x, int *n, int *d, int *ld) {
    int nd = x->ndim;
    if (nd < 1) return 0;
    *d = x->shape[nd - 1];
    if (*d > 1 && x->stride[nd - 1] != 1) return 0;
    long rows = 1;
    for (int i = 0; i < nd - 1; i++) rows *= x->shape[i];
    *n = (int)rows;
    if (nd == 1) { *ld = *d; return 1; }
    /* Leading dims must collapse into one uniformly strided dimension (size-1 dims are free). */
    int ld_ = -1;
    long expect = -1;
    for (int i = nd - 2; i >= 0; i--) {
        if (x->shape[i] == 1) continue;
        if (ld_ < 0) {
            ld_ = x->stride[i];
            expect = (long)ld_ * x->shape[i];
        } else {
            if (x->stride[i] != expect) return 0;
            expect *= x->shape[i];
        }
    }
    if (ld_ < 0) ld_ = *d; /* a single row */
    if (ld_ < *d) return 0;  /* overlapping rows (e.g. a broadcast) */
    *ld = ld_;
    return 1;
}

void tc_strided_copy(float *dst, const int *ds, const float *src, const int *ss, int ndim, const int *shape,
                     int acc) {
    int sh[4] = {1, 1, 1, 1}, a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
    for (int i = 0; i < ndim; i++) {
        sh[4 - ndim + i] = shape[i];
        a[4 - ndim + i] = ds[i];
        b[4 - ndim + i] = ss[i];
    }
    long outer = (long)sh[0] * sh[1] * sh[2];
#pragma omp parallel for schedule(static) if (outer * sh[3] > TC_PAR_MIN && outer > 1)
    for (long o = 0; o < outer; o++) {
        int i0 = (int)(o / ((long)sh[1] * sh[2])), r = (int)(o % ((long)sh[1] * sh[2]));
        int i1 = r / sh[2], i2 = r % sh[2];
        float *dp = dst + (long)i0 * a[0] + (long)i1 * a[1] + (long)i2 * a[2];
        const float *sp = src + (long)i0 * b[0] + (long)i1 * b[1] + (long)i2 * b[2];
        int n = sh[3], da = a[3], sb = b[3];
        if (da == 1 && sb == 1) {
            if (acc) {
#pragma omp simd
                for (int i = 0; i < n; i++) dp[i] += sp[i];
            } else
                memcpy(dp, sp, (size_t)n * sizeof(float));
        } else if (acc) {
            for (int i = 0; i < n; i++) dp[(long)i * da] += sp[(long)i * sb];
        } else {
            for (int i = 0; i < n; i++) dp[(long)i * da] = sp[(long)i * sb];
        }
    }
}

void tc_shape_fail(const char *op, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "taichu: engine: %s: ", op);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}
