/* Linear layers and matmuls: every product goes through tc_sgemm (src/core/gemm.h). */
#include <omp.h>

#include "core/gemm.h"
#include "core/graph_internal.h"

/* db[j] (+)= sum_r dy[r, j]; columns are split between threads so each sum has one fixed order. */
void tc_colsum_acc(float *db, const float *dy, int rows, int cols, int ld) {
#pragma omp parallel if ((long)rows * cols > TC_PAR_MIN)
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int per = (cols + nt - 1) / nt;
        per = (per + 15) / 16 * 16;
        int j0 = t * per, j1 = j0 + per < cols ? j0 + per : cols;
        for (int r = 0; r < rows; r++) {
            const float *row = dy + (long)r * ld;
#pragma omp simd
            for (int j = j0; j < j1; j++) db[j] += row[j];
        }
    }
}

/* ------------------------------------------------------------------------------------- linear */

static void linear_bw(tc_graph *g, tc_node *n) {
    tc_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int rows = n->i[0], K = n->i[1], N = n->i[2], ldx = n->i[3], layout = n->i[4];
    const float *dy = y->grad; /* [rows, N], contiguous */
    if (x->requires_grad) {
        int acc;
        float *dx = tc_grad_w(g, x, &acc);
        /* dx [rows, K] = dy [rows, N] · W  (W [N, K])  or  dy · Wᵀ  (W [K, N]) */
        if (layout == TC_W_OUT_IN)
            tc_sgemm(0, 0, rows, K, N, 1.0f, dy, N, w->data, K, acc ? 1.0f : 0.0f, dx, ldx);
        else
            tc_sgemm(0, 1, rows, K, N, 1.0f, dy, N, w->data, N, acc ? 1.0f : 0.0f, dx, ldx);
    }
    if (w->requires_grad) {
        float *dw = tc_grad(g, w);
        if (layout == TC_W_OUT_IN) /* dW [N, K] += dyᵀ · x */
            tc_sgemm(1, 0, N, K, rows, 1.0f, dy, N, x->data, ldx, 1.0f, dw, K);
        else /* dW [K, N] += xᵀ · dy */
            tc_sgemm(1, 0, K, N, rows, 1.0f, x->data, ldx, dy, N, 1.0f, dw, N);
    }
    if (b && b->requires_grad) tc_colsum_acc(tc_grad(g, b), dy, rows, N, N);
}

tc_tensor *tc_linear(tc_graph *g, tc_tensor *x, tc_tensor *w, tc_tensor *b, tc_weight_layout layout) {
    int rows, K, ldx;
    if (!tc_rows(x, &rows, &K, &ldx)) {
        x = tc_contiguous(g, x);
        tc_rows(x, &rows, &K, &ldx);
    }
    TC_REQUIRE(w->ndim == 2 && tc_is_contiguous(w), "tc_linear", "weight must be a contiguous 2-D tensor");
    int N = layout == TC_W_OUT_IN ? w->shape[0] : w->shape[1];
    int wk = layout == TC_W_OUT_IN ? w->shape[1] : w->shape[0];
    TC_REQUIRE(wk == K, "tc_linear", "input has %d features, weight [%d, %d] expects %d (%s layout)", K, w->shape[0],
               w->shape[1], wk, layout == TC_W_OUT_IN ? "out×in" : "in×out");
    TC_REQUIRE(!b || (int)tc_numel(b) == N, "tc_linear", "bias has %zu elements, expected %d", tc_numel(b), N);
    int shape[TC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[i];
    shape[x->ndim - 1] = N;
    tc_tensor *y = tc_new(g, x->ndim, shape);
    /* y = x·W + bias, the bias added in the GEMM's store (no pre-fill pass over y) */
    const float *bias = b ? b->data : NULL;
    if (layout == TC_W_OUT_IN)
        tc_sgemm_bias(0, 1, rows, N, K, 1.0f, x->data, ldx, w->data, K, 0.0f, y->data, N, bias);
    else
        tc_sgemm_bias(0, 0, rows, N, K, 1.0f, x->data, ldx, w->data, N, 0.0f, y->data, N, bias);
    tc_node *nd = tc_record(g, linear_bw, "linear", y, x, w, b, NULL);
    if (nd) {
        nd->i[0] = rows;
        nd->i[1] = K;
        nd->i[2] = N;
        nd->i[3] = ldx;
        nd->i[4] = layout;
    }
    return y;
}

/* ------------------------------------------------------------------------------------- matmul */

/* Element offset of flattened batch index i over the leading (ndim-2) dims of t. */
static long batch_off(const tc_tensor *t, long i) {
    long off = 0;
    for (int d = t->ndim - 3; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return off;
}

static int mat_ok(const tc_tensor *t) {
    return t->ndim >= 2 && (t->stride[t->ndim - 1] == 1 || t->shape[t->ndim - 1] == 1) &&
           t->stride[t->ndim - 2] >= t->shape[t->ndim - 1];
}

static void matmul_bw(tc_graph *g, tc_node *n) {
    tc_tensor *a = n->in[0], *b = n->in[1], *c = n->out;
    int ta = n->i[0], tb = n->i[1], M = n->i[2], N = n->i[3], K = n->i[4], lda = n->i[5], ldb = n->i[6];
    long nb = n->i[7];
    int bbatched = b->ndim > 2;
    float *da = a->requires_grad ? tc_grad(g, a) : NULL;
    float *db = b->requires_grad ? tc_grad(g, b) : NULL;
    for (long i = 0; i < nb; i++) {
        long oa = batch_off(a, i), ob = bbatched ? batch_off(b, i) : 0;
        const float *dc = c->grad + i * (long)M * N;
        const float *A = a->data + oa, *B = b->data + ob;
        if (da) {
            if (!ta) tc_sgemm(0, !tb, M, K, N, 1.0f, dc, N, B, ldb, 1.0f, da + oa, lda);
            else tc_sgemm(tb, 1, K, M, N, 1.0f, B, ldb, dc, N, 1.0f, da + oa, lda);
        }
        if (db) {
            if (!tb) tc_sgemm(!ta, 0, K, N, M, 1.0f, A, lda, dc, N, 1.0f, db + ob, ldb);
            else tc_sgemm(1, ta, N, K, M, 1.0f, dc, N, A, lda, 1.0f, db + ob, ldb);
        }
    }
}

tc_tensor *tc_matmul(tc_graph *g, tc_tensor *a, tc_tensor *b, int trans_a, int trans_b) {
    if (!mat_ok(a)) a = tc_contiguous(g, a);
    if (!mat_ok(b)) b = tc_contiguous(g, b);
    int na = a->ndim, nbd = b->ndim;
    int M = trans_a ? a->shape[na - 1] : a->shape[na - 2];
    int K = trans_a ? a->shape[na - 2] : a->shape[na - 1];
    int Kb = trans_b ? b->shape[nbd - 1] : b->shape[nbd - 2];
    int N = trans_b ? b->shape[nbd - 2] : b->shape[nbd - 1];
    TC_REQUIRE(K == Kb, "tc_matmul", "inner dims differ: %d vs %d", K, Kb);
    TC_REQUIRE(nbd == 2 || nbd == na, "tc_matmul", "b must be 2-D or have a's %d dims, has %d", na, nbd);
    long nbatch = 1;
    for (int d = 0; d < na - 2; d++) {
        TC_REQUIRE(nbd == 2 || b->shape[d] == a->shape[d], "tc_matmul", "batch dim %d differs: %d vs %d", d,
                   a->shape[d], b->shape[d]);
        nbatch *= a->shape[d];
    }
    int shape[TC_MAX_DIMS];
    for (int d = 0; d < na - 2; d++) shape[d] = a->shape[d];
    shape[na - 2] = M;
    shape[na - 1] = N;
    tc_tensor *c = tc_new(g, na, shape);
    int lda = a->stride[na - 2], ldb = b->stride[nbd - 2];
    for (long i = 0; i < nbatch; i++) {
        long ob = nbd > 2 ? batch_off(b, i) : 0;
        tc_sgemm(trans_a, trans_b, M, N, K, 1.0f, a->data + batch_off(a, i), lda, b->data + ob, ldb, 0.0f,
                 c->data + i * (long)M * N, N);
    }
    tc_node *nd = tc_record(g, matmul_bw, "matmul", c, a, b, NULL, NULL);
    if (nd) {
        nd->i[0] = trans_a;
        nd->i[1] = trans_b;
        nd->i[2] = M;
        nd->i[3] = N;
        nd->i[4] = K;
        nd->i[5] = lda;
        nd->i[6] = ldb;
        nd->i[7] = (int)nbatch;
    }
    return c;
}
