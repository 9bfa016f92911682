/* The v1 cross-modal decoder (opt-spec §1.10; the original's transformer_model.py: TransformerModel with the
 * repo-local parallel_transformer.py), used for OPT-v1's text and VQ-image decoders and for v2's VQA decoder.
 *
 * Names under <prefix> (txt_output / img_output), every matrix out×in (repo-local layout, §7.3):
 *   LinearEmbedding.{weight [d, d_mem], bias [d]}      S0 = H·Wᵀ + b           (no positions added)
 *   tfm_encoder.blocks.{i}.*                           decoder-side encoder: pre-LN, ReLU, no final LN,
 *                                                      self-attention mask = outer product of mem validity
 *   tfm_embedding_lookup.embedding_table [V, d]        target tokens AND the tied output projection
 *   tfm_decoder.blocks.{i}.*                           x = √d·E[y_t] + PE[t] ([sin | cos] halves);
 *                                                      pre-LN self-attn (causal ∧ padding), cross-attn to M
 *                                                      (keys not normalised), FFN; no final LN
 * logits = x·Eᵀ (no bias), log_softmax.
 *
 * Token conventions: 0 = BOS = EOS = PAD. Teacher forcing feeds [0, g0, …, g_{n-2}].
 *
 * Incremental decoding (beam.h) keeps, per layer, the self-attention keys/values of every generated position
 * and the cross-attention keys/values of M (computed once): tc_dec_cache. One step costs O(t·d) attention
 * per row instead of re-running the whole prefix, and gives the same numbers as the full pass. */
#ifndef TC_MODEL_DECODER_H
#define TC_MODEL_DECODER_H

#include "nn/transformer.h"

typedef struct tc_dec_cfg {
    int d_mem;        /* width of the memory fed to LinearEmbedding (v1: hidden_size 2048; v2: 768) */
    int d, heads, ffn;
    int enc_layers, dec_layers;
    int vocab;        /* target vocabulary (36560 text, 8192 image tokens) */
    int max_pos;      /* sinusoid table length (150): longest target/prefix */
    float dropout;    /* hidden and attention dropout in training mode (0.2 in the original) */
} tc_dec_cfg;

typedef struct tc_decoder {
    tc_dec_cfg cfg;
    tc_nn_linear le;          /* LinearEmbedding */
    tc_nn_stack enc;          /* tfm_encoder */
    tc_nn_embedding emb;      /* tfm_embedding_lookup */
    tc_nn_stack dec;          /* tfm_decoder */
    float *pe;                /* [max_pos, d] sinusoid table */
} tc_decoder;

void tc_decoder_make(tc_decoder *dd, tc_nn *nn, const char *prefix, const tc_dec_cfg *cfg);
void tc_decoder_free(tc_decoder *dd);

/* Decoder-side encoder: h [B, S, d_mem], valid [B, S] (NULL = all) -> M [B, S, d]. */
tc_tensor *tc_decoder_memory(tc_graph *g, tc_decoder *dd, tc_tensor *h, const float *valid);
/* Target embeddings √d·E[ids] + PE[0..T-1] (+ dropout): ids [B, T] -> [B, T, d]. NULL with a message for an
 * id outside [0, V) or T > max_pos. */
tc_tensor *tc_decoder_embed(tc_graph *g, tc_decoder *dd, const int32_t *ids, int B, int T);
/* Teacher forcing: ids [B, T] (decoder inputs), tgt_valid [B, T] (NULL = all), memory M [B, S, d] with
 * mem_valid [B, S] -> decoder states before the output projection [B, T, d]. */
tc_tensor *tc_decoder_states(tc_graph *g, tc_decoder *dd, const int32_t *ids, const float *tgt_valid, int B, int T,
                             tc_tensor *mem, const float *mem_valid);
/* Tied output: states [..., d] -> logits x·Eᵀ [..., V] (no bias); log-probabilities = their log_softmax. */
tc_tensor *tc_decoder_logits(tc_graph *g, tc_decoder *dd, tc_tensor *states);
tc_tensor *tc_decoder_logprobs(tc_graph *g, tc_decoder *dd, tc_tensor *states);
/* Label-smoothed sequence loss of the original: (1 − ls) on the gold token and ls/(V−1) on every other one,
 * averaged over positions whose weight is nonzero. logits [B, T, V], targets [B, T], weights [B, T] (0/1;
 * NULL = all). Returns a scalar. */
tc_tensor *tc_decoder_loss(tc_graph *g, tc_decoder *dd, tc_tensor *logits, const int32_t *targets,
                           const float *weights, float label_smoothing);

/* ---- incremental decoding */
typedef struct tc_dec_cache {
    int n, S, cap, t;         /* rows (batch × beam), memory length, capacity in positions, positions held */
    int layers, d;
    float *k, *v;             /* self-attention [layers][n][cap][d] */
    float *xk, *xv;           /* cross-attention [layers][n][S][d] */
    float *mem_valid;         /* [n][S] */
    float *tmp;               /* reorder scratch [n][cap][d] */
} tc_dec_cache;

/* Project the memory M [B, S, d] into every layer's cross-attention keys/values, each batch row repeated
 * `rep` times (beam width), for sequences of up to cap positions. mem_valid [B, S] or NULL. 0 or -1. */
int tc_dec_cache_init(tc_dec_cache *c, tc_graph *g, tc_decoder *dd, tc_tensor *mem, const float *mem_valid,
                      int rep, int cap);
void tc_dec_cache_free(tc_dec_cache *c);
/* Row r of the cache takes over the history of row src[r] (beam re-ordering), for all held positions. */
void tc_dec_cache_reorder(tc_dec_cache *c, const int *src);
/* Feed token ids[n] at position c->t for every row, append to the cache and return the log-probabilities
 * [n, V] of the next token (contiguous, in g's arena; the caller resets g between steps). NULL with a message
 * when the cache is full or an id is out of range. Inference only: its linear layers stream each weight row
 * once for up to 4 rows (no GEMM packing per token) and record no backward. */
tc_tensor *tc_dec_step(tc_graph *g, tc_decoder *dd, tc_dec_cache *c, const int32_t *ids);

#endif
