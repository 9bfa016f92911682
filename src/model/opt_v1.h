/* OPT-v1 (opt-spec §1): the tri-modal UNITER-style model. MAE-layout ViT on pre-cut patches, text / image /
 * audio embeddings, the compact ("gather") concatenation, a single-stream cross-modal encoder, the heads
 * (pooler, 5-way ITM, rank, MLM, MRFR, MAFR, MRC) and two cross-modal decoders (text, VQ image tokens).
 * Every forward is engine ops in a tc_graph, so backward reaches every module. Names/shapes: §7.3;
 * docs/models.md (v1 section) describes the decisions.
 *
 * Shapes: B batch, D hidden_size, Dv vit_hidden_size, N = (image/patch)² patches, R ViT rows (N + 1: the zero
 * pad patch), Pd = 3·patch² patch values, Tt text length, Ta audio frames, Da audio_dim, S compact length. */
#ifndef TC_MODEL_OPT_V1_H
#define TC_MODEL_OPT_V1_H

#include "model/beam.h"
#include "model/decoder.h"
#include "model/model.h"
#include "nn/transformer.h"

/* Which mask-embedding rows are added to the image (or audio) features before the projection (§1.6 item 1):
 * none (captioning, single-image VQA), row 0 on every row (pretraining, retrieval, ITM zero-shot), row 1 on
 * every row (test_vqa.py's dummy mask), or per-row table indices (pretraining's masked patches). */
typedef enum { TC_V1_MASK_NONE = 0, TC_V1_MASK_ROW0, TC_V1_MASK_ROW1, TC_V1_MASK_ROWS } tc_v1_mask;

typedef struct tc_opt_v1 {
    /* ViT: uniter.img_embeddings.vit.* (library blocks, in×out outputs) */
    tc_nn_linear stem;            /* stem.patch_to_embedding.dense [Dv, Pd] */
    tc_tensor *vit_pos;           /* encoder_pos_embedding [1, N+1, Dv] */
    tc_nn_stack vit;              /* encoder.blocks.{i} */
    tc_nn_layernorm vit_norm;     /* norm */
    /* text: uniter.embeddings.* */
    tc_nn_embedding word, pos, type;
    tc_nn_layernorm emb_ln;       /* layernorm */
    tc_nn_stack text_enc;         /* encoder.blocks.{i}: only when text_num_layers > 0 (not in the original) */
    /* image: uniter.img_embeddings.* */
    tc_nn_linear img_linear;      /* [D, Dv] out×in (stored as feat_regress.weight) */
    tc_nn_layernorm img_ln, img_ln2; /* img_layer_norm, LayerNorm */
    tc_nn_embedding img_pos, img_mask; /* position_embeddings [P, D], mask_embedding [2, Dv] */
    /* audio: uniter.audio_embeddings.* */
    tc_nn_linear audio_linear;    /* [D, Da] (stored as audio_feat_regress.weight) */
    tc_nn_layernorm aud_ln, aud_ln2;
    tc_nn_embedding aud_pos, aud_mask; /* [P, D], [2, Da] */
    tc_nn_stack audio_enc;        /* encoder.blocks.{i}: only when audio_num_layers > 0 */
    /* cross-modal encoder: uniter.encoder.encoder.blocks.{i} */
    tc_nn_stack enc;
    /* heads */
    tc_nn_linear pooler;          /* uniter.pooler.dense */
    tc_nn_linear itm, rank;       /* itm_output [5, D], rank_output [1, D] */
    tc_nn_linear mlm_dense;       /* cls.predictions.transform.dense */
    tc_nn_layernorm mlm_ln;       /* cls.predictions.transform.LayerNorm */
    tc_tensor *mlm_bias;          /* cls.predictions.decoder.bias [V] */
    tc_nn_linear mrfr_dense, mafr_dense;   /* feat_regress.dense, audio_feat_regress.dense */
    tc_nn_layernorm mrfr_ln, mafr_ln;      /* .layer_norm */
    tc_tensor *mrfr_bias, *mafr_bias;      /* feat_regress.bias [Dv], audio_feat_regress.bias [Da] */
    tc_nn_linear mrc1, mrc2;      /* region_classifier.dense_1 [D, D], dense_2 [1601, D] */
    tc_nn_layernorm mrc_ln;       /* region_classifier.layer_norm */
    /* decoders */
    tc_decoder txt_dec, img_dec;  /* txt_output, img_output (img_dec absent when img_dec_vocab_size = 0) */
    /* taichu's ITC extension (not in the original): log logit scales for image-text and audio-text InfoNCE on
     * the pooled features; present only when itc_dim = hidden_size (the audio one also needs audio_dim > 0) */
    tc_tensor *itc_scale_img, *itc_scale_aud;  /* taichu_itc.logit_scale_image / _audio [1], init ln(1/0.07) */
    int has_img_dec;
    int n_patches, patch_dim;
} tc_opt_v1;

#define TC_OPT_V1_ITM_CLASSES 5
#define TC_OPT_V1_ZERO_SHOT_CLASS 2   /* zero-shot retrieval score: ITM logit of class 2 (§5.1) */
#define TC_OPT_V1_MRC_CLASSES 1601
#define TC_OPT_V1_REAL_VOCAB 21128    /* bert-base-chinese: MLM argmax is restricted to ids below it (§3.2) */

#define TC_OPT_V1_MAX_LOGIT_SCALE 100.0f

/* Hooks for tc_model_create / tc_model_free (model.h). */
int tc_opt_v1_build(tc_model *m, uint64_t seed);
void tc_opt_v1_free(tc_model *m);
static inline tc_opt_v1 *tc_opt_v1_of(const tc_model *m) { return (tc_opt_v1 *)m->impl; }

/* Zero-shot rank head: rank_output := ITM row 2 (weight and bias). Only fine-tuned retrieval checkpoints hold
 * rank_output; call this after loading any other checkpoint so rank == the zero-shot ITM score. */
void tc_opt_v1_rank_from_itm(tc_model *m);

/* Inference-only processes: hand the (all-zero) gradient slab's pages back to the OS so only the weights stay
 * resident (4.7 GB instead of 9.5 GB for opt-v1-1b). The slab stays mapped and reads as zeros, so a later
 * backward still works (its pages fault back in). tc_params_finalize zero-fills both slabs with memset, so
 * the peak during model creation is not lowered by this; see docs/models.md. Returns the bytes released. */
size_t tc_opt_v1_release_grad_pages(tc_model *m);

/* ViT (§1.4): patches [B, rows, Pd] (row-major, from tc_image_patchify with one zero pad row) -> the final
 * LayerNorm's output [B, rows, Dv]. rows is normally N + 1; N (pad patch dropped) exists for the toggle test.
 * NULL with a message when rows is not N or N + 1. */
tc_tensor *tc_opt_v1_vit(tc_graph *g, tc_model *m, const float *patches, int B, int rows);

/* Text embeddings (§1.5): ids [B, Tt] -> LN(word + position + type 0) [B, Tt, D] (then the optional text
 * encoder with valid [B, Tt]). NULL with a message for an id outside [0, V) or Tt > max_position_embeddings. */
tc_tensor *tc_opt_v1_text_embed(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt);
/* Image embeddings (§1.6): ViT output F [B, R, Dv] -> [B, R, D]. mask_rows [B, R] (table rows 0/1) is read
 * only for TC_V1_MASK_ROWS. */
tc_tensor *tc_opt_v1_img_embed(tc_graph *g, tc_model *m, tc_tensor *feat, tc_v1_mask mode, const int32_t *mask_rows);
/* Audio embeddings (§1.7): feats [B, Ta, Da] (the original's 1024-d frames or stacked fbank frames),
 * valid [B, Ta] for the optional audio encoder -> [B, Ta, D]. NULL when Ta > max_position_embeddings. */
tc_tensor *tc_opt_v1_audio_embed(tc_graph *g, tc_model *m, const float *feats, const float *valid, int B, int Ta,
                                 tc_v1_mask mode, const int32_t *mask_rows);

/* The compact concatenation (§1.8): per sample, the valid text rows, then n_img image rows (N: the pad patch
 * is not copied), then the valid audio rows, padded to S = the longest; any part may be NULL.
 * txt [B, Tt, D] with txt_valid [B, Tt] (valid rows must be a prefix), img [B, R, D], aud [B, Ta, D] with
 * aud_valid [B, Ta] (prefix). Returns x [B, S, D]; *valid_out gets an arena array [B, S] (1 real, 0 pad) and
 * *S_out the length. NULL with a message when nothing is given or a validity vector is not a prefix. */
tc_tensor *tc_opt_v1_gather(tc_graph *g, tc_tensor *txt, const float *txt_valid, tc_tensor *img, int n_img,
                            tc_tensor *aud, const float *aud_valid, float **valid_out, int *S_out);

/* Cross-modal encoder (§1.9): x [B, S, D], valid [B, S] -> H [B, S, D]. */
tc_tensor *tc_opt_v1_encoder(tc_graph *g, tc_model *m, tc_tensor *x, const float *valid);

/* Heads. pooler: tanh(W·H[:, 0] + b) -> [B, D]; itm: [B, 5]; rank: [B, 1] (both on the pooled output). */
tc_tensor *tc_opt_v1_pooler(tc_graph *g, tc_model *m, tc_tensor *h);
/* taichu's pooled feature: the pooler (dense + tanh) on the MEAN of the rows of H [B, S, D] whose valid [B, S]
 * is non-zero -> [B, D]. Row 0 is the [CLS] of a text pass but the top-left patch of an image pass and the
 * first (often silent) frame of an audio pass, so ITC and the v1 embeddings pool the mean. */
tc_tensor *tc_opt_v1_pooler_mean(tc_graph *g, tc_model *m, tc_tensor *h, const float *valid);
tc_tensor *tc_opt_v1_itm(tc_graph *g, tc_model *m, tc_tensor *pooled);
tc_tensor *tc_opt_v1_rank(tc_graph *g, tc_model *m, tc_tensor *pooled);
/* At flat rows (b·S + s) of H [B, S, D]: MLM logits [n, V] (ReLU transform, LayerNorm, tied word table, bias);
 * MRFR [n, Dv] (GELU, LayerNorm, img_linear's weight used untransposed, bias); MAFR [n, Da]; MRC [n, 1601]. */
tc_tensor *tc_opt_v1_mlm(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n);
tc_tensor *tc_opt_v1_mrfr(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n);
tc_tensor *tc_opt_v1_mafr(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n);
tc_tensor *tc_opt_v1_mrc(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n);
/* taichu ITC: exp(logit_scale) clamped at TC_OPT_V1_MAX_LOGIT_SCALE -> [1] (audio = 1: the audio-text one).
 * NULL with a message when the model has none (itc_dim 0). */
tc_tensor *tc_opt_v1_itc_scale(tc_graph *g, tc_model *m, int audio);
/* Argmax of MLM logits [n, V] over ids below min(V, 21128). out [n]. */
void tc_opt_v1_mlm_argmax(const tc_tensor *logits, int32_t *out);

/* The v1 retrieval features (taichu ITC, `taichu embed`): one single-modality pass through the cross encoder
 * (image and audio with mask-embedding row 0), tc_opt_v1_pooler_mean, L2-normalised -> [B, D].
 * text ids [B, Tt] (valid [B, Tt] a prefix of ones); patches [B, N+1, Pd]; audio [B, Ta, Da] (valid [B, Ta]).
 * NULL with a message on bad input. ITC pre-training (train/tasks_v1.c) computes exactly these. */
tc_tensor *tc_v1_pooled_text(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt);
tc_tensor *tc_v1_pooled_image(tc_graph *g, tc_model *m, const float *patches, int B);
tc_tensor *tc_v1_pooled_audio(tc_graph *g, tc_model *m, const float *audio, const float *valid, int B, int Ta);

/* Image → cross encoder states for captioning (Appendix B): patches [B, N+1, Pd], no mask embedding, the N
 * real patches kept -> H [B, N, D] (all valid). */
tc_tensor *tc_opt_v1_encode_image(tc_graph *g, tc_model *m, const float *patches, int B);
/* Caption B images: patches [B, N+1, Pd] -> ids [B][cfg.max_len + 1] (leading 0; stop at the first 0 after it)
 * and normalised scores [B] (may be NULL), with the text decoder. Uses and resets g. */
int tc_opt_v1_caption(tc_graph *g, tc_model *m, const float *patches, int B, const tc_beam_cfg *cfg, int32_t *ids,
                      float *scores);

/* Text–image matching (§5.1): text ids [B, Tt] ([CLS] … [SEP], valid [B, Tt] a prefix of ones) with image
 * patches [B, N+1, Pd], mask-embedding row 0 on the image (retrieval/zero-shot), no audio -> ITM logits
 * [B, 5] in *itm (may be NULL) and the retrieval score [B, 1] of the rank head (zero-shot: = ITM class 2 after
 * tc_opt_v1_rank_from_itm). NULL with a message on bad input. */
tc_tensor *tc_opt_v1_match(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt,
                           const float *patches, tc_tensor **itm);
/* VQA (§5.3): question ids [B, Tq] (no [CLS]/[SEP]; valid prefix) + image patches -> answer ids
 * [B][cfg.max_len + 1] (leading 0) from the text decoder, memory = question tokens + the N real patches.
 * mask: TC_V1_MASK_NONE as inference_vqa.py, TC_V1_MASK_ROW1 as test_vqa.py's evaluation. Uses and resets g. */
int tc_opt_v1_vqa(tc_graph *g, tc_model *m, const int32_t *q_ids, const float *q_valid, int B, int Tq,
                  const float *patches, tc_v1_mask mask, const tc_beam_cfg *cfg, int32_t *ids, float *scores);

#endif
