/* Basic layers (see layers.h): parameter registration plus a composition of engine ops. */
#include "nn/layers.h"

#include <math.h>

tc_tensor *tc_nn_act(tc_graph *g, tc_tensor *x, tc_act act) {
    switch (act) {
    case TC_ACT_NONE: return x;
    case TC_ACT_GELU_TANH: return tc_gelu_tanh(g, x);
    case TC_ACT_GELU_ERF: return tc_gelu_erf(g, x);
    case TC_ACT_QUICK_GELU: return tc_quick_gelu(g, x);
    case TC_ACT_RELU: return tc_relu(g, x);
    case TC_ACT_TANH: return tc_tanh(g, x);
    }
    return x;
}

void tc_nn_linear_make(tc_nn_linear *l, tc_nn *nn, const char *prefix, int in, int out, int bias,
                       tc_weight_layout layout, tc_init winit) {
    int shape[2] = {layout == TC_W_OUT_IN ? out : in, layout == TC_W_OUT_IN ? in : out};
    l->w = tc_nn_param(nn, winit, 2, shape, "%s.weight", prefix);
    l->b = bias ? tc_nn_param(nn, tc_init_zeros(), 1, &out, "%s.bias", prefix) : NULL;
    l->layout = layout;
    l->in = in;
    l->out = out;
}

tc_tensor *tc_nn_linear_fwd(tc_graph *g, const tc_nn_linear *l, tc_tensor *x) {
    return tc_linear(g, x, l->w, l->b, l->layout);
}

void tc_nn_layernorm_make(tc_nn_layernorm *ln, tc_nn *nn, const char *prefix, int d, float eps) {
    ln->gamma = tc_nn_param(nn, tc_init_ones(), 1, &d, "%s.gamma", prefix);
    ln->beta = tc_nn_param(nn, tc_init_zeros(), 1, &d, "%s.beta", prefix);
    ln->eps = eps;
}

tc_tensor *tc_nn_layernorm_fwd(tc_graph *g, const tc_nn_layernorm *ln, tc_tensor *x) {
    return tc_layernorm(g, x, ln->gamma, ln->beta, ln->eps);
}

void tc_nn_embedding_make(tc_nn_embedding *e, tc_nn *nn, const char *prefix, int vocab, int d, int padding_idx,
                          tc_init init) {
    int shape[2] = {vocab, d};
    e->table = tc_nn_param(nn, init, 2, shape, "%s.embedding_table", prefix);
    e->vocab = vocab;
    e->d = d;
    e->padding_idx = padding_idx;
}

tc_tensor *tc_nn_embedding_fwd(tc_graph *g, const tc_nn_embedding *e, const int32_t *ids, int B, int T) {
    tc_tensor *rows = tc_embedding(g, e->table, ids, B * T, e->padding_idx); /* [B*T, d] */
    int shape[3] = {B, T, e->d};
    return tc_reshape(g, rows, 3, shape);
}

void tc_nn_sinusoid_table(float *out, int T, int d) {
    int h = d / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < h; i++) {
            double w = exp(-(double)i * log(10000.0) / (double)(h > 1 ? h - 1 : 1));
            out[(long)t * d + i] = (float)sin(t * w);
            out[(long)t * d + h + i] = (float)cos(t * w);
        }
}
