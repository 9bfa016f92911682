/* Pre-LN transformer blocks and stacks with the original's parameter names (opt-spec §1.3, §7.3):
 *
 *   <prefix>.layernorm1.{gamma,beta}                x = x + MHA(LN1(x))          (self-attention)
 *   <prefix>.attention.{dense1,dense2,dense3,projection}.{weight,bias}
 *   <prefix>.cross_attention_layernorm.{gamma,beta} x = x + MHA_c(LN_c(x), mem)  (decoder blocks only;
 *   <prefix>.cross_attention.{dense1..3,projection}.* mem is used without normalisation)
 *   <prefix>.layernorm2.{gamma,beta}                x = x + FFN(LN2(x))
 *   <prefix>.output.mapping.{weight,bias}           FFN = dropout(projection(act(mapping(x))))
 *   <prefix>.output.projection.{weight,bias}
 *
 * A stack names its blocks <prefix>.blocks.{i} and has no final LayerNorm (as every stack in OPT).
 * Dropout: attention probabilities (attn_dropout) and the outputs of attention and FFN (hidden_dropout),
 * as MindSpore's library TransformerEncoderLayer; active only when the graph is in training mode. */
#ifndef TC_NN_TRANSFORMER_H
#define TC_NN_TRANSFORMER_H

#include "nn/attention.h"

typedef struct tc_block_cfg {
    int d, heads, ffn;
    tc_act act;                  /* FFN activation: GELU (tanh) in the cross encoder/ViT, ReLU in the decoders */
    float ln_eps;                /* 1e-5 everywhere in OPT v1 */
    float hidden_dropout, attn_dropout;
    tc_weight_layout out_layout; /* attention.projection, output.mapping, output.projection: TC_W_IN_OUT in
                                    MindSpore's library transformer, TC_W_OUT_IN in the repo-local decoders */
    int cross;                   /* 1: decoder block with cross-attention */
    tc_init winit;               /* weights (biases zero, LayerNorm γ 1, β 0) */
} tc_block_cfg;

/* MindSpore library TransformerEncoder block (cross encoder, ViT): GELU, in×out outputs, normal(0.02). */
tc_block_cfg tc_block_cfg_mindspore(int d, int heads, int ffn, float dropout);
/* The repo-local Transformer (decoder-side encoder and decoder, opt-spec §1.10): ReLU, all out×in. */
tc_block_cfg tc_block_cfg_local(int d, int heads, int ffn, float dropout, int cross);

typedef struct tc_nn_ffn {
    tc_nn_linear mapping, projection;
    tc_act act;
    float dropout;
} tc_nn_ffn;

void tc_nn_ffn_make(tc_nn_ffn *f, tc_nn *nn, const char *prefix, const tc_block_cfg *cfg);
tc_tensor *tc_nn_ffn_fwd(tc_graph *g, const tc_nn_ffn *f, tc_tensor *x);

typedef struct tc_nn_block {
    tc_block_cfg cfg;
    tc_nn_layernorm ln1, ln2, lnc;
    tc_nn_mha attn, xattn;
    tc_nn_ffn ffn;
} tc_nn_block;

void tc_nn_block_make(tc_nn_block *b, tc_nn *nn, const char *prefix, const tc_block_cfg *cfg);
/* x [B, T, d]; valid [B, T] key validity or NULL; causal self-attention mask; mem [B, S, d] and mem_valid
 * [B, S] for cross-attention blocks (else NULL). Returns [B, T, d]. */
tc_tensor *tc_nn_block_fwd(tc_graph *g, tc_nn_block *b, tc_tensor *x, const float *valid, int causal,
                           tc_tensor *mem, const float *mem_valid);

typedef struct tc_nn_stack {
    tc_nn_block *blocks;
    int n;
} tc_nn_stack;

void tc_nn_stack_make(tc_nn_stack *s, tc_nn *nn, const char *prefix, int layers, const tc_block_cfg *cfg);
tc_tensor *tc_nn_stack_fwd(tc_graph *g, tc_nn_stack *s, tc_tensor *x, const float *valid, int causal,
                           tc_tensor *mem, const float *mem_valid);
void tc_nn_stack_free(tc_nn_stack *s);

/* Forward FLOPs of one block for B×T tokens (self-attention only), for benchmarks' GFLOP/s. */
double tc_nn_block_flops(const tc_block_cfg *cfg, int B, int T);

#endif
