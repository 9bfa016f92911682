/* A token-sequence encoder model built from src/nn blocks: the PyTorch twin in ref/twin_transformer.py,
 * used by the training tests and bench/bench_transformer.c, and a worked example of composing a task:
 *
 *   x = emb.word_embeddings[ids] + emb.position_embeddings[:T]   (word padding_idx 0)
 *   x = enc.blocks.{0..L-1}(x, key_valid)                        (pre-LN, MindSpore library layout)
 *   logits = head(final_layernorm(x))                            (head.weight [V, d] out×in, head.bias)
 *
 * With head = 0 the model stops after the stack (hidden states [B, T, d]). */
#ifndef TC_NN_SEQ_ENCODER_H
#define TC_NN_SEQ_ENCODER_H

#include "nn/transformer.h"

typedef struct tc_seq_encoder_cfg {
    int vocab, d, heads, ffn, layers, max_t;
    float dropout;   /* hidden and attention dropout */
    int head;        /* 1: final LayerNorm + vocabulary head */
} tc_seq_encoder_cfg;

typedef struct tc_seq_encoder {
    tc_seq_encoder_cfg cfg;
    tc_params ps;
    tc_nn_embedding word, pos;
    tc_nn_stack enc;
    tc_nn_layernorm final_ln;
    tc_nn_linear head;
} tc_seq_encoder;

/* Registers, allocates and initialises every parameter (seeded), and sets the original's decay rule. */
void tc_seq_encoder_init(tc_seq_encoder *m, const tc_seq_encoder_cfg *cfg, uint64_t seed);
void tc_seq_encoder_free(tc_seq_encoder *m);
/* ids [B, T], valid [B, T] (1 real token, 0 padding; NULL = all real) -> logits [B, T, V] (or [B, T, d]). */
tc_tensor *tc_seq_encoder_fwd(tc_graph *g, tc_seq_encoder *m, const int32_t *ids, const float *valid, int B, int T);
/* Mean token cross-entropy of the logits against targets [B, T] (-1 = ignored). */
tc_tensor *tc_seq_encoder_loss(tc_graph *g, tc_seq_encoder *m, tc_tensor *logits, const int32_t *targets);

#endif
