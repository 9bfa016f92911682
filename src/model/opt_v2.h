/* OPT-v2 (spec Appendix A): CLIP-layout ViT + BERT-style text encoder + fusion decoder (text queries
 * cross-attend to image tokens) + ITC / ITM / MLM heads. Every forward is engine ops in a tc_graph, so
 * backward reaches every module. docs/models.md describes the modules, names and decisions.
 *
 * Inputs are padded batches: text ids [B, T] with validity valid [B, T] (1 real token, 0 padding);
 * images are normalised CHW float pixels [B, 3, S, S] with S = cfg.train_image_size.
 * Shapes: Dv ViT width, D hidden (= Dv, checked by the config), N = (S/p)² patches, E = itc_dim, V vocab. */
#ifndef TC_MODEL_OPT_V2_H
#define TC_MODEL_OPT_V2_H

#include "model/beam.h"
#include "model/decoder.h"
#include "model/model.h"
#include "nn/transformer.h"

typedef struct tc_opt_v2 {
    /* ViT: uniter.img_embeddings.vit.* (HF CLIP names) */
    tc_tensor *patch_w;          /* patch_embed.weight [Dv, 3, p, p] (conv, no bias) */
    tc_tensor patch_w2;          /* the same memory viewed as [Dv, 3·p·p] (out×in over patchified pixels) */
    tc_tensor *class_embedding;  /* [Dv] */
    tc_tensor *position_ids;     /* [1, N+1]: an int32 buffer in the checkpoint, held as floats; never trained */
    tc_nn_embedding vit_pos;     /* pos_embed.embedding_table [N+1, Dv] */
    tc_nn_layernorm pre_ln, post_ln;
    tc_nn_block *vit;            /* encoder.layers.{i}: CLIP layer as a pre-LN block (QuickGELU, out×in) */
    /* text: uniter.embeddings.* */
    tc_nn_embedding word, pos, type;
    tc_nn_layernorm emb_ln;
    tc_nn_stack text_enc;        /* uniter.embeddings.encoder.blocks.{i} (library layout) */
    /* fusion: uniter.encoder.decoder.blocks.{i} (library TransformerDecoder) */
    tc_nn_stack fusion;
    /* heads */
    tc_nn_linear pooler;         /* uniter.pooler.dense (tanh; in the checkpoint, unused by the v2 tasks) */
    tc_nn_linear mlm_dense;      /* cls.predictions.transform.dense */
    tc_nn_layernorm mlm_ln;      /* cls.predictions.transform.LayerNorm */
    tc_tensor *mlm_bias;         /* cls.predictions.decoder.bias [V]; weight tied to the word table */
    tc_nn_linear itm_output;     /* itm_output [2, D] (in the checkpoint, unused) */
    tc_nn_linear itm0, itm3;     /* itm_head_two.0 [2D, D], itm_head_two.3 [2, 2D] */
    tc_nn_layernorm itm1;        /* itm_head_two.1 */
    tc_nn_linear text_proj, vision_proj; /* [E, D] */
    tc_tensor *clip_temp_unused; /* clip_temp (scalar 0.07, unused) */
    tc_tensor *clip_temp;        /* clip_loss.clip_temp: t, logits scale exp(t) (init ln(1/0.07)) */
    /* VQA (A.4): txt_output, the v1 decoder layout over the fusion output (d_mem = hidden_size); registered
     * only when dec_num_layers > 0 — pretraining/retrieval checkpoints have no txt_output.* */
    tc_decoder vqa;
    int has_vqa;
    int n_patches;
    /* graphs of tc_opt_v2_embed_{images,texts}, one per worker, kept so their arenas are reused */
    tc_graph **pool;
    int npool;
} tc_opt_v2;

/* Hooks for tc_model_create / tc_model_free (model.h). */
int tc_opt_v2_build(tc_model *m, uint64_t seed);
void tc_opt_v2_free(tc_model *m);

static inline tc_opt_v2 *tc_opt_v2_of(const tc_model *m) { return (tc_opt_v2 *)m->impl; }

/* The scale exp(t) is clamped at 100 (CLIP's rule; the original does not clamp): above it the scale is a
 * constant and t gets no gradient. */
#define TC_OPT_V2_MAX_LOGIT_SCALE 100.0f

/* pixels [B, 3, S, S] -> ViT states [B, N+1, Dv] (post_layernorm on all tokens, row 0 = class token).
 * NULL with a message if S != train_image_size or the position_ids buffer holds an out-of-range id. */
tc_tensor *tc_opt_v2_vit(tc_graph *g, tc_model *m, const float *pixels, int B, int S);
/* ids [B, T] -> text-encoder states [B, T, D]. causal = 1 for captioning (causal ∧ padding). NULL with a
 * message for an id outside [0, V) or T > max_position_embeddings. */
tc_tensor *tc_opt_v2_text(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int T,
                          int causal);
/* text [B, T, D] (queries, self-attention with valid [B, T] and optional causal mask) cross-attending to
 * every token of img [B, N+1, D] (memory mask all ones) -> fused [B, T, D]. */
tc_tensor *tc_opt_v2_fusion(tc_graph *g, tc_model *m, tc_tensor *text, const float *valid, tc_tensor *img,
                            int causal);
/* The embedding stages alone (what the per-block tests compare): ViT patch projection + class token +
 * positions before pre_layrnorm [B, N+1, Dv]; text word + position + type-0 embeddings after LayerNorm and
 * dropout [B, T, D]. Same errors as above. */
tc_tensor *tc_opt_v2_vit_embed(tc_graph *g, tc_model *m, const float *pixels, int B, int S);
tc_tensor *tc_opt_v2_text_embed(tc_graph *g, tc_model *m, const int32_t *ids, int B, int T);
/* ITC embeddings: the projection of row 0 (CLS) of ViT or text-encoder states, L2-normalised
 * (x / max(‖x‖, 0.01), MindSpore's L2Normalize with ε 1e-4 on the squared norm) -> [B, E]. */
tc_tensor *tc_opt_v2_itc_image(tc_graph *g, tc_model *m, tc_tensor *vit_states);
tc_tensor *tc_opt_v2_itc_text(tc_graph *g, tc_model *m, tc_tensor *text_states);
/* Pixels straight to the ITC image embedding [B, E] (= itc_image(vit(...)) up to rounding), running the
 * last ViT layer for the class token only — for `embed`, where the other tokens are not needed. */
tc_tensor *tc_opt_v2_image_embed(tc_graph *g, tc_model *m, const float *pixels, int B, int S);
/* Batch inference helpers for `embed` (and retrieval): L2-normalised ITC embeddings into out [B, E].
 * With tc_get_threads() = n > 1 and B >= n, the batch is cut into n slices that run concurrently, one
 * single-threaded graph each (data parallelism: no barrier per op, which matters on a loaded machine);
 * otherwise one graph with the engine's own threading. Same numbers either way. Call from the main thread
 * outside any parallel region (they switch the engine's thread count to 1 and back). 0 or -1 with a message. */
int tc_opt_v2_embed_images(tc_model *m, const float *pixels, int B, int S, float *out);
int tc_opt_v2_embed_texts(tc_model *m, const int32_t *ids, const float *valid, int B, int T, float *out);
/* The original's vit_freeze / freeze_text: clear requires_grad of the ViT ("uniter.img_embeddings.vit.*")
 * and/or the text tower ("uniter.embeddings.*": word, position and type tables, its layer norm and blocks).
 * The optimiser then leaves them alone and no backward pass runs through them (docs/engine.md); the ITC
 * projections, the fusion and the heads still train. n[2] / floats[2] (may be NULL): tensors and floats
 * frozen per tower (ViT, text). */
void tc_opt_v2_freeze_towers(tc_model *m, int vit, int text, int n[2], size_t floats[2]);

/* The same scale as a value (no graph): for reading, e.g. to weigh mined negatives. */
float tc_opt_v2_itc_scale_value(const tc_model *m);
/* exp(t) clamped at TC_OPT_V2_MAX_LOGIT_SCALE -> [1] (for tc_info_nce and similarity scores). */
tc_tensor *tc_opt_v2_itc_scale(tc_graph *g, tc_model *m);
/* itm_head_two on the fusion CLS: Dense D→2D, LayerNorm, GELU (tanh), Dense 2D→2 -> [B, 2]. */
tc_tensor *tc_opt_v2_itm_logits(tc_graph *g, tc_model *m, tc_tensor *fused);
/* MLM logits at flat positions rows[n] (row = b·T + t) of fused [B, T, D] -> [n, V]
 * (ReLU transform + LayerNorm, tied word table, bias). */
tc_tensor *tc_opt_v2_mlm_logits(tc_graph *g, tc_model *m, tc_tensor *fused, const int32_t *rows, int n);
/* Pooler tanh(W·h0 + b) on row 0 -> [B, D]. */
tc_tensor *tc_opt_v2_pooler(tc_graph *g, tc_model *m, tc_tensor *states);

/* ---- VQA (spec A.4; needs dec_num_layers > 0, else NULL / -1 with a message)
 * The question `[CLS] q[:28] [SEP]` and the image go through the text encoder and the fusion (padding mask,
 * not causal); the fused states [B, T, D] with the question's validity are the decoder's memory. */
/* Decoder-side encoder over fused [B, T, D] -> M [B, T, dec_hidden_size]. */
tc_tensor *tc_opt_v2_vqa_memory(tc_graph *g, tc_model *m, tc_tensor *fused, const float *valid);
/* Teacher forcing: answer-decoder inputs ids [B, Ta] ([0, a0, …]), tgt_valid [B, Ta] or NULL, memory from
 * tc_opt_v2_vqa_memory -> log-probabilities [B, Ta, txt_dec_vocab_size]. */
tc_tensor *tc_opt_v2_vqa_logprobs(tc_graph *g, tc_model *m, tc_tensor *mem, const float *mem_valid,
                                  const int32_t *ids, const float *tgt_valid, int B, int Ta);
/* Whole VQA inference: pixels [B, 3, S, S], questions ids/valid [B, T] -> answers out_ids [B][max_len + 1]
 * (leading 0, then the answer, 0 = EOS/padding), out_score / out_len as tc_beam_search (may be NULL).
 * Uses and resets g. 0 or -1 with a message. */
int tc_opt_v2_vqa_answer(tc_graph *g, tc_model *m, const float *pixels, int S, const int32_t *ids,
                         const float *valid, int B, int T, const tc_beam_cfg *cfg, int32_t *out_ids,
                         float *out_score, int *out_len);

#endif
