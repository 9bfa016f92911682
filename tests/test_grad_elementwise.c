/* Gradient checks: add, bias, rows, mul (incl. x*x), scale, every activation, softmax, LayerNorm,
 * L2-normalize and dropout (training mode: the mask is fixed by seed/step, so the op is linear). */
#include "core/ops_act.h"
#include "gradcheck.h"

enum { ADD, ADD_SAME, ADD_BIAS, ADD_ROWS, MUL, MUL_SAME, SCALE, GELU_T, GELU_E, QGELU, RELU, TANH, EXP, SOFTMAX,
       LAYERNORM, LAYERNORM_NOAFF, L2N, DROPOUT, TRANSPOSED_GELU, SIGMOID, LOG_SOFTMAX, SUB, ADD_SCALAR, CLAMP, NOPS };
static const char *names[NOPS] = {"add", "add(x,x)", "add_bias", "add_rows", "mul", "mul(x,x)", "scale",
                                  "gelu_tanh", "gelu_erf", "quick_gelu", "relu", "tanh", "exp", "softmax",
                                  "layernorm", "layernorm(no affine)", "l2_normalize", "dropout", "gelu(transposed view)",
                                  "sigmoid", "log_softmax", "sub", "add_scalar", "clamp"};

static tc_tensor *build(tc_graph *g, tc_tensor **in, void *ud) {
    int op = *(int *)ud;
    tc_tensor *x = in[0];
    switch (op) {
    case ADD: return tc_add(g, x, in[1]);
    case ADD_SAME: return tc_add(g, x, x);
    case ADD_BIAS: return tc_add_bias(g, x, in[2]);
    case ADD_ROWS: return tc_add_rows(g, x, in[3]);
    case MUL: return tc_mul(g, x, in[1]);
    case MUL_SAME: return tc_mul(g, x, x);
    case SCALE: return tc_scale(g, x, -1.7f);
    case GELU_T: return tc_gelu_tanh(g, x);
    case GELU_E: return tc_gelu_erf(g, x);
    case QGELU: return tc_quick_gelu(g, x);
    case RELU: return tc_relu(g, x);
    case TANH: return tc_tanh(g, x);
    case EXP: return tc_exp(g, x);
    case SOFTMAX: return tc_softmax(g, x);
    case LAYERNORM: return tc_layernorm(g, x, in[2], in[4], 1e-5f);
    case LAYERNORM_NOAFF: return tc_layernorm(g, x, NULL, NULL, 1e-12f);
    case L2N: return tc_l2_normalize(g, x, 1e-12f);
    case DROPOUT: return tc_dropout(g, x, 0.3f);
    case TRANSPOSED_GELU: return tc_gelu_erf(g, tc_transpose(g, x, 0, 2));
    case SIGMOID: return tc_sigmoid(g, x);
    case LOG_SOFTMAX: return tc_log_softmax(g, x);
    case SUB: return tc_sub(g, x, in[1]);
    case ADD_SCALAR: return tc_add_scalar(g, x, 0.7f);
    default: return tc_clamp(g, x, -0.5f, 0.8f);
    }
}

int main(void) {
    for (int pass = 0; pass < 2 * NOPS; pass++) {
        int op = pass % NOPS;
        tc_act_force_avx2(pass >= NOPS); /* second round: the AVX2 kernels on an AVX-512 machine */
        gc_inputs gi;
        int nd[5] = {3, 3, 1, 2, 1};
        int sh[5][4] = {{2, 3, 6}, {2, 3, 6}, {6}, {3, 6}, {6}};
        gc_inputs_make(&gi, 5, nd, sh, 100 + op, 1.0f);
        /* keep relu's inputs away from its kink (finite differences straddling 0 are meaningless) */
        if (op == RELU || op == CLAMP)
            for (int i = 0; i < 36; i++)
                if (fabsf(gi.in[0]->data[i]) < 0.05f || fabsf(gi.in[0]->data[i] + 0.5f) < 0.05f ||
                    fabsf(gi.in[0]->data[i] - 0.8f) < 0.05f)
                    gi.in[0]->data[i] = 0.3f;
        /* layernorm: one row with a large offset (checks the two-pass variance) */
        if (op == LAYERNORM)
            for (int i = 0; i < 6; i++) gi.in[0]->data[i] += 20.0f;
        float h = op == LAYERNORM ? 3e-3f : 1e-2f;
        gc_check(names[op], &gi.ps, 5, gi.in, build, &op, op == DROPOUT, h, 2e-3, 1e-3, 64);
        tc_params_free(&gi.ps);
    }
    return tc_test_summary("grad_elementwise");
}
