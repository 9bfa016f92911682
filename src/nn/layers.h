/* Basic layers with the original's parameter names:
 *   linear     <prefix>.weight, <prefix>.bias   W [out, in] (TC_W_OUT_IN: nn.Dense, torch) or [in, out]
 *                                               (TC_W_IN_OUT: MindSpore's library transformer _Linear)
 *   layernorm  <prefix>.gamma, <prefix>.beta    [d], ε per layer (OPT: 1e-5)
 *   embedding  <prefix>.embedding_table         [V, d]
 * Forward functions compose engine ops, so backward comes from the tape. */
#ifndef TC_NN_LAYERS_H
#define TC_NN_LAYERS_H

#include "nn/module.h"

typedef enum { TC_ACT_NONE = 0, TC_ACT_GELU_TANH, TC_ACT_GELU_ERF, TC_ACT_QUICK_GELU, TC_ACT_RELU, TC_ACT_TANH } tc_act;

/* y = act(x) through the matching engine op (TC_ACT_NONE: x). */
tc_tensor *tc_nn_act(tc_graph *g, tc_tensor *x, tc_act act);

typedef struct tc_nn_linear {
    tc_tensor *w, *b;        /* b NULL without bias */
    tc_weight_layout layout;
    int in, out;
} tc_nn_linear;

/* Weight init winit (bias: zeros). */
void tc_nn_linear_make(tc_nn_linear *l, tc_nn *nn, const char *prefix, int in, int out, int bias,
                       tc_weight_layout layout, tc_init winit);
tc_tensor *tc_nn_linear_fwd(tc_graph *g, const tc_nn_linear *l, tc_tensor *x); /* [..., in] -> [..., out] */

typedef struct tc_nn_layernorm {
    tc_tensor *gamma, *beta;
    float eps;
} tc_nn_layernorm;

void tc_nn_layernorm_make(tc_nn_layernorm *ln, tc_nn *nn, const char *prefix, int d, float eps);
tc_tensor *tc_nn_layernorm_fwd(tc_graph *g, const tc_nn_layernorm *ln, tc_tensor *x);

typedef struct tc_nn_embedding {
    tc_tensor *table;        /* [V, d] */
    int vocab, d, padding_idx; /* padding_idx < 0: none */
} tc_nn_embedding;

void tc_nn_embedding_make(tc_nn_embedding *e, tc_nn *nn, const char *prefix, int vocab, int d, int padding_idx,
                          tc_init init);
/* ids [B*T] (row-major [B, T]) -> [B, T, d]. Ids outside [0, V) are a caller bug (engine asserts). */
tc_tensor *tc_nn_embedding_fwd(tc_graph *g, const tc_nn_embedding *e, const int32_t *ids, int B, int T);

/* OPT's decoder positional table (opt-spec §1.10): PE[t][i] = sin(t·ω_i), PE[t][d/2+i] = cos(t·ω_i),
 * ω_i = exp(−i·ln(10000)/(d/2 − 1)); sines in the first half, cosines in the second. out [T, d], d even. */
void tc_nn_sinusoid_table(float *out, int T, int d);

#endif
