/* Gradient checks for losses and reductions: cross-entropy (plain, ignore index, label smoothing, sum),
 * MSE (target with and without grad), InfoNCE (a, b and the temperature scale), mean and sum. */
#include "gradcheck.h"

enum { CE, CE_IGNORE, CE_SMOOTH, CE_SUM, MSE, MSE_BOTH, NCE, MEAN, SUM, NOPS };
static const char *names[NOPS] = {"cross_entropy", "cross_entropy ignore", "cross_entropy smoothing 0.1",
                                  "cross_entropy sum", "mse", "mse (target grad)", "info_nce", "mean", "sum"};
static const int32_t tg[6] = {0, 3, -100, 4, 1, -100};

static tc_tensor *build(tc_graph *g, tc_tensor **in, void *ud) {
    int op = *(int *)ud;
    tc_tensor *x = in[0]; /* [6, 5] */
    switch (op) {
    case CE: { static const int32_t t2[6] = {0, 3, 2, 4, 1, 1}; return tc_cross_entropy(g, x, t2, -100, 0, TC_REDUCE_MEAN); }
    case CE_IGNORE: return tc_cross_entropy(g, x, tg, -100, 0, TC_REDUCE_MEAN);
    case CE_SMOOTH: return tc_cross_entropy(g, x, tg, -100, 0.1f, TC_REDUCE_MEAN);
    case CE_SUM: return tc_cross_entropy(g, x, tg, -100, 0.2f, TC_REDUCE_SUM);
    case MSE: {
        tc_tensor *t = tc_from_data(g, in[1]->data, 2, in[1]->shape); /* a constant target */
        return tc_mse(g, x, t, TC_REDUCE_MEAN);
    }
    case MSE_BOTH: return tc_mse(g, x, in[1], TC_REDUCE_SUM);
    case NCE: return tc_info_nce(g, tc_l2_normalize(g, x, 1e-12f), tc_l2_normalize(g, in[1], 1e-12f), tc_exp(g, in[2]));
    case MEAN: return tc_mean(g, x);
    default: return tc_sum(g, x);
    }
}

int main(void) {
    for (int op = 0; op < NOPS; op++) {
        gc_inputs gi;
        int nd[3] = {2, 2, 1};
        int sh[3][4] = {{6, 5}, {6, 5}, {1}};
        gc_inputs_make(&gi, 3, nd, sh, 700 + op, 1.0f);
        gi.in[2]->data[0] = 1.5f; /* log temperature: scale = e^1.5 */
        if (op == MSE) gi.in[1]->requires_grad = 0; /* a constant target: not an input of this check */
        gc_check(names[op], &gi.ps, 3, gi.in, build, &op, 0, 1e-2f, 2e-3, 1e-4, 64);
        tc_params_free(&gi.ps);
    }
    return tc_test_summary("grad_loss");
}
