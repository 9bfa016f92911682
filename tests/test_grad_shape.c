/* Gradient checks for views and data movement: slice, transpose, reshape, contiguous, concat (every
 * axis), gather/scatter rows (with repeats), embedding with a padding index. */
#include "gradcheck.h"

enum { SLICE, TRANSPOSE, RESHAPE_T, CONCAT0, CONCAT1, CONCAT2, GATHER, SCATTER, EMBED, SLICE_OF_T, EMBED_PAD, NOPS };
static const char *names[NOPS] = {"slice", "transpose", "reshape(transposed)", "concat axis 0", "concat axis 1",
                                  "concat axis 2", "gather_rows", "scatter_rows", "embedding",
                                  "slice of transpose + linear", "embedding(padding 2)"};

static const int32_t idx[5] = {4, 0, 4, 2, 5};
static const int32_t ids[6] = {1, 2, 3, 2, 0, 3};

static tc_tensor *build(tc_graph *g, tc_tensor **in, void *ud) {
    int op = *(int *)ud;
    tc_tensor *x = in[0]; /* [2, 3, 4] */
    switch (op) {
    case SLICE: return tc_slice(g, x, 1, 1, 2);
    case TRANSPOSE: return tc_transpose(g, x, 0, 2);
    case RESHAPE_T: {
        int s[2] = {4, 6};
        return tc_reshape(g, tc_transpose(g, x, 1, 2), 2, s);
    }
    case CONCAT0: case CONCAT1: case CONCAT2: {
        tc_tensor *xs[3] = {x, tc_scale(g, x, 2.0f), tc_slice(g, x, op - CONCAT0, 0, 1)};
        return tc_concat(g, xs, 3, op - CONCAT0);
    }
    case GATHER: return tc_gather_rows(g, x, idx, 5);
    case SCATTER: return tc_scatter_rows(g, tc_slice(g, x, 1, 0, 1), idx, 2, 7); /* [2,1,4] -> [7, 4] */
    case EMBED: return tc_embedding(g, in[1], ids, 6, -1);
    case EMBED_PAD: return tc_embedding(g, in[1], ids, 6, 2);
    default: return tc_linear(g, tc_slice(g, tc_transpose(g, x, 1, 2), 1, 1, 2), in[2], NULL, TC_W_OUT_IN);
    }
}

int main(void) {
    for (int op = 0; op < NOPS; op++) {
        gc_inputs gi;
        int nd[3] = {3, 2, 2};
        int sh[3][4] = {{2, 3, 4}, {4, 5}, {2, 3}};
        gc_inputs_make(&gi, 3, nd, sh, 500 + op, 1.0f);
        /* with a padding index the op is deliberately not the derivative of its forward (torch's
         * padding_idx semantics), so that case gets the exact check below instead */
        if (op != EMBED_PAD) gc_check(names[op], &gi.ps, 3, gi.in, build, &op, 0, 1e-2f, 1e-3, 1e-3, 64);
        if (op == EMBED_PAD) { /* the padding row gets exactly zero gradient; the others are counted */
            tc_graph *g = tc_graph_new();
            tc_params_zero_grad(&gi.ps);
            tc_backward(g, tc_sum(g, build(g, gi.in, &op)));
            for (int j = 0; j < 5; j++) {
                TC_CHECK(gi.in[1]->grad[2 * 5 + j] == 0.0f, "padding row grad %g", gi.in[1]->grad[2 * 5 + j]);
                TC_CHECK(gi.in[1]->grad[3 * 5 + j] == 2.0f, "row 3 appears twice: grad %g", gi.in[1]->grad[3 * 5 + j]);
                TC_CHECK(gi.in[1]->grad[1 * 5 + j] == 1.0f, "row 1 appears once: grad %g", gi.in[1]->grad[1 * 5 + j]);
                TC_CHECK(gi.in[1]->grad[4 * 5 + j] == 0.0f, "row 4 unused: grad %g", gi.in[1]->grad[4 * 5 + j]);
            }
            tc_graph_free(g);
        }
        tc_params_free(&gi.ps);
    }
    return tc_test_summary("grad_shape");
}
