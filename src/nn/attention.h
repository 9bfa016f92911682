/* Multi-head attention with the original's parameter names (MindSpore library MultiHeadAttention):
 *   <prefix>.dense1 (query), .dense2 (key), .dense3 (value)  W [d, d] out×in, bias [d]
 *   <prefix>.projection                                      W [d, d] in×out (library transformer:
 *                                                            cross encoder, ViT) or out×in (the repo-local
 *                                                            decoder transformer), bias [d]
 * out = dropout_hidden(projection(attention(q, k, v))), with attention-probability dropout inside the
 * engine's tc_attention, the −10000 additive key-padding mask and an optional causal mask.
 *
 * Speed: dense1..3 are registered back to back (weights, then biases), so in the slab they form one
 * [3d, d] matrix and one [3d] vector; self-attention then projects q|k|v with ONE GEMM (and cross-attention
 * k|v with one) through views of the three parameters. Names and checkpoints are unaffected. */
#ifndef TC_NN_ATTENTION_H
#define TC_NN_ATTENTION_H

#include "nn/layers.h"

typedef struct tc_nn_mha {
    tc_nn_linear q, k, v, proj;  /* dense1, dense2, dense3, projection */
    int d, heads;
    float attn_dropout, hidden_dropout;
    /* fused views over the slab (valid after finalize when the slab keeps them adjacent) */
    tc_tensor qkv_w, qkv_b;      /* [3d, d], [3d] */
    tc_tensor kv_w, kv_b;        /* [2d, d], [2d] */
    int fused;                   /* -1: not checked yet, 0: separate GEMMs, 1: fused */
} tc_nn_mha;

void tc_nn_mha_make(tc_nn_mha *m, tc_nn *nn, const char *prefix, int d, int heads, tc_weight_layout proj_layout,
                    float attn_dropout, float hidden_dropout, tc_init winit);
/* x [B, Tq, d] attends to mem [B, Tk, d] (mem == x or NULL: self-attention). key_valid [B, Tk] (1 real,
 * 0 padding) or NULL. Returns [B, Tq, d]. */
tc_tensor *tc_nn_mha_fwd(tc_graph *g, tc_nn_mha *m, tc_tensor *x, tc_tensor *mem, const float *key_valid,
                         int causal);

#endif
