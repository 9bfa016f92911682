/* Views and data movement: contiguous, slice, transpose, reshape, concat, row gather/scatter, embedding.
 *
 * Views (slice, transpose, reshape of contiguous data) record NO tape node: a view shares its base's
 * data, and its gradient buffer aliases the matching region of the base's gradient (tc_grad), so
 * whatever an op accumulates into the view's grad lands in the base's grad directly. */
#include <stdlib.h>

#include "core/graph_internal.h"

static tc_tensor *view_of(tc_graph *g, tc_tensor *x) {
    tc_tensor *v = tc_graph_alloc(g, sizeof *v);
    *v = *x;
    v->grad = NULL; /* resolved lazily from the base by tc_grad */
    v->base = x->base ? x->base : x;
    v->node = -1;
    /* a view of a parameter (or any tensor with a grad buffer) shares that buffer right away */
    if (x->grad) v->grad = x->grad;
    v->requires_grad = x->requires_grad && g->grad_enabled;
    return v;
}

/* --------------------------------------------------------------------------------- contiguous */

static void contiguous_bw(tc_graph *g, tc_node *n) {
    tc_tensor *x = n->in[0], *y = n->out;
    if (!x->requires_grad) return;
    float *gx = tc_grad(g, x);
    tc_strided_copy(gx, x->stride, y->grad, y->stride, x->ndim, x->shape, 1);
}

tc_tensor *tc_contiguous(tc_graph *g, tc_tensor *x) {
    tc_tensor *y = tc_new_like(g, x);
    tc_strided_copy(y->data, y->stride, x->data, x->stride, x->ndim, x->shape, 0);
    tc_record(g, contiguous_bw, "contiguous", y, x, NULL, NULL, NULL);
    return y;
}

tc_tensor *tc_contig(tc_graph *g, tc_tensor *x) { return tc_is_contiguous(x) ? x : tc_contiguous(g, x); }

/* ------------------------------------------------------------------------------------- views */

tc_tensor *tc_slice(tc_graph *g, tc_tensor *x, int axis, int start, int len) {
    if (axis < 0) axis += x->ndim;
    TC_REQUIRE(axis >= 0 && axis < x->ndim, "tc_slice", "axis %d out of range for %d-D tensor", axis, x->ndim);
    TC_REQUIRE(start >= 0 && len >= 0 && start + len <= x->shape[axis], "tc_slice",
               "range [%d, %d) out of dim %d of size %d", start, start + len, axis, x->shape[axis]);
    tc_tensor *v = view_of(g, x);
    v->data = x->data + (long)start * x->stride[axis];
    if (x->grad) v->grad = x->grad + (long)start * x->stride[axis];
    v->shape[axis] = len;
    return v;
}

tc_tensor *tc_transpose(tc_graph *g, tc_tensor *x, int a0, int a1) {
    if (a0 < 0) a0 += x->ndim;
    if (a1 < 0) a1 += x->ndim;
    TC_REQUIRE(a0 >= 0 && a0 < x->ndim && a1 >= 0 && a1 < x->ndim, "tc_transpose", "axes %d,%d out of range for %d-D",
               a0, a1, x->ndim);
    tc_tensor *v = view_of(g, x);
    int s = v->shape[a0]; v->shape[a0] = v->shape[a1]; v->shape[a1] = s;
    s = v->stride[a0]; v->stride[a0] = v->stride[a1]; v->stride[a1] = s;
    return v;
}

tc_tensor *tc_reshape(tc_graph *g, tc_tensor *x, int ndim, const int *shape) {
    TC_REQUIRE(ndim >= 1 && ndim <= TC_MAX_DIMS, "tc_reshape", "ndim %d not in 1..4", ndim);
    long n = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            TC_REQUIRE(infer < 0, "tc_reshape", "more than one -1 in shape");
            infer = i;
        } else {
            n *= shape[i];
        }
    }
    int sh[TC_MAX_DIMS];
    for (int i = 0; i < ndim; i++) sh[i] = shape[i];
    long total = (long)tc_numel(x);
    if (infer >= 0) {
        TC_REQUIRE(n > 0 && total % n == 0, "tc_reshape", "cannot infer dim from %ld elements", total);
        sh[infer] = (int)(total / n);
        n = total;
    }
    TC_REQUIRE(n == total, "tc_reshape", "%ld elements cannot take a shape of %ld", total, n);
    tc_tensor *c = tc_contig(g, x);
    tc_tensor *v = view_of(g, c);
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->shape[i] = sh[i];
    tc_set_contiguous_strides(v);
    return v;
}

/* ------------------------------------------------------------------------------------- concat */

static void concat_bw(tc_graph *g, tc_node *n) {
    tc_tensor *y = n->out, **xs = n->ctx;
    int count = n->i[0], axis = n->i[1], off = 0;
    for (int k = 0; k < count; k++) {
        tc_tensor *x = xs[k];
        if (x->requires_grad) {
            float *gx = tc_grad(g, x);
            tc_strided_copy(gx, x->stride, y->grad + (long)off * y->stride[axis], y->stride, x->ndim, x->shape, 1);
        }
        off += x->shape[axis];
    }
}

tc_tensor *tc_concat(tc_graph *g, tc_tensor *const *xs, int n, int axis) {
    TC_REQUIRE(n >= 1, "tc_concat", "needs at least one tensor");
    int nd = xs[0]->ndim;
    if (axis < 0) axis += nd;
    TC_REQUIRE(axis >= 0 && axis < nd, "tc_concat", "axis %d out of range for %d-D", axis, nd);
    int shape[TC_MAX_DIMS];
    for (int i = 0; i < nd; i++) shape[i] = xs[0]->shape[i];
    shape[axis] = 0;
    int need = 0;
    for (int k = 0; k < n; k++) {
        TC_REQUIRE(xs[k]->ndim == nd, "tc_concat", "input %d is %d-D, expected %d-D", k, xs[k]->ndim, nd);
        for (int i = 0; i < nd; i++)
            TC_REQUIRE(i == axis || xs[k]->shape[i] == xs[0]->shape[i], "tc_concat",
                       "input %d: dim %d is %d, expected %d", k, i, xs[k]->shape[i], xs[0]->shape[i]);
        shape[axis] += xs[k]->shape[axis];
        need |= xs[k]->requires_grad;
    }
    tc_tensor *y = tc_new(g, nd, shape);
    int off = 0;
    for (int k = 0; k < n; k++) {
        tc_strided_copy(y->data + (long)off * y->stride[axis], y->stride, xs[k]->data, xs[k]->stride, nd,
                        xs[k]->shape, 0);
        off += xs[k]->shape[axis];
    }
    if (g->grad_enabled && need) {
        /* the tape node has 4 input slots; the full list is saved in the arena */
        tc_node *nd_ = tc_record(g, concat_bw, "concat", y, xs[0], NULL, NULL, NULL);
        if (!nd_) { /* xs[0] may not need grad: force the record through another input */
            for (int k = 1; k < n && !nd_; k++)
                if (xs[k]->requires_grad) nd_ = tc_record(g, concat_bw, "concat", y, xs[k], NULL, NULL, NULL);
        }
        tc_tensor **saved = tc_graph_alloc(g, (size_t)n * sizeof *saved);
        for (int k = 0; k < n; k++) saved[k] = xs[k];
        nd_->ctx = saved;
        nd_->i[0] = n;
        nd_->i[1] = axis;
    }
    return y;
}

/* ---------------------------------------------------------------------------- gather / scatter */

static int32_t *save_idx(tc_graph *g, const int32_t *idx, int n) {
    int32_t *s = tc_graph_alloc(g, (size_t)(n > 0 ? n : 1) * sizeof *s);
    if (n > 0) memcpy(s, idx, (size_t)n * sizeof *s);
    return s;
}

static void gather_bw(tc_graph *g, tc_node *n) {
    tc_tensor *x = n->in[0], *y = n->out;
    if (!x->requires_grad) return;
    int rows = n->i[0], d = n->i[1], ld = n->i[2], skip = n->i[3];
    const int32_t *idx = n->ctx;
    float *gx = tc_grad(g, x);
    /* serial: two gathered rows may name the same source row */
    for (int r = 0; r < rows; r++) {
        if (idx[r] == skip) continue;
        float *dst = gx + (long)idx[r] * ld;
        const float *src = y->grad + (long)r * d;
#pragma omp simd
        for (int j = 0; j < d; j++) dst[j] += src[j];
    }
}

static tc_tensor *gather_impl(tc_graph *g, tc_tensor *x, const int32_t *idx, int n, int skip, const char *op) {
    int rows, d, ld;
    if (!tc_rows(x, &rows, &d, &ld)) {
        x = tc_contiguous(g, x);
        tc_rows(x, &rows, &d, &ld);
    }
    for (int r = 0; r < n; r++)
        TC_REQUIRE(idx[r] >= 0 && idx[r] < rows, op, "index %d at position %d out of range [0, %d)", idx[r], r, rows);
    int shape[2] = {n, d};
    tc_tensor *y = tc_new(g, 2, shape);
#pragma omp parallel for schedule(static) if ((long)n * d > TC_PAR_MIN)
    for (int r = 0; r < n; r++) memcpy(y->data + (long)r * d, x->data + (long)idx[r] * ld, (size_t)d * sizeof(float));
    tc_node *nd = tc_record(g, gather_bw, op, y, x, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = save_idx(g, idx, n);
        nd->i[0] = n;
        nd->i[1] = d;
        nd->i[2] = ld;
        nd->i[3] = skip;
    }
    return y;
}

tc_tensor *tc_gather_rows(tc_graph *g, tc_tensor *x, const int32_t *idx, int n) {
    return gather_impl(g, x, idx, n, INT32_MIN, "tc_gather_rows");
}

tc_tensor *tc_embedding(tc_graph *g, tc_tensor *table, const int32_t *ids, int n, int padding_idx) {
    TC_REQUIRE(table->ndim == 2, "tc_embedding", "table must be [V, D], is %d-D", table->ndim);
    return gather_impl(g, table, ids, n, padding_idx >= 0 ? padding_idx : INT32_MIN, "tc_embedding");
}

static void scatter_bw(tc_graph *g, tc_node *n) {
    tc_tensor *src = n->in[0], *y = n->out;
    if (!src->requires_grad) return;
    int cnt = n->i[0], d = n->i[1], ld = n->i[2];
    const int32_t *idx = n->ctx;
    float *gs = tc_grad(g, src);
    for (int r = 0; r < cnt; r++) {
        float *dst = gs + (long)r * ld;
        const float *gy = y->grad + (long)idx[r] * d;
#pragma omp simd
        for (int j = 0; j < d; j++) dst[j] += gy[j];
    }
}

tc_tensor *tc_scatter_rows(tc_graph *g, tc_tensor *src, const int32_t *idx, int n, int rows) {
    int sn, d, ld;
    if (!tc_rows(src, &sn, &d, &ld)) {
        src = tc_contiguous(g, src);
        tc_rows(src, &sn, &d, &ld);
    }
    TC_REQUIRE(sn == n, "tc_scatter_rows", "source has %d rows, index list has %d", sn, n);
    for (int r = 0; r < n; r++)
        TC_REQUIRE(idx[r] >= 0 && idx[r] < rows, "tc_scatter_rows", "index %d at position %d out of range [0, %d)",
                   idx[r], r, rows);
    int shape[2] = {rows, d};
    tc_tensor *y = tc_zeros(g, 2, shape);
    /* rows named twice accumulate (scatter-add), so the op stays linear and its backward a gather */
    for (int r = 0; r < n; r++) {
        float *dst = y->data + (long)idx[r] * d;
        const float *s = src->data + (long)r * ld;
#pragma omp simd
        for (int j = 0; j < d; j++) dst[j] += s[j];
    }
    tc_node *nd = tc_record(g, scatter_bw, "scatter_rows", y, src, NULL, NULL, NULL);
    if (nd) {
        nd->ctx = save_idx(g, idx, n);
        nd->i[0] = n;
        nd->i[1] = d;
        nd->i[2] = ld;
    }
    return y;
}
