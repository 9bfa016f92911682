/* OPT-v1 modality-level pre-training tasks (opt-spec §4.1; the original's td_three.py and id_three.py;
 * docs/training.md, v1 task table):
 *
 *   TD (tdThree)  text reconstruction. Every word piece of the caption becomes [MASK] ([CLS]/[SEP] kept).
 *                 Per sample one draw u: u < 0.3 image fully masked + audio "15 %"; u < 0.6 image "15 %" +
 *                 audio fully masked; else both "15 %". "15 %" = each of the N real patches (valid frames)
 *                 independently with p 0.15, at least one (a uniform one when none was drawn). A masked patch
 *                 is zeroed before the ViT and its ViT row gets mask-embedding row 1 (unmasked rows and the
 *                 pad patch get row 0); a masked audio frame is zeroed and gets audio mask row 1.
 *                 The text decoder rebuilds the caption: targets = pieces[:29] + EOS 0, teacher forcing
 *                 with inputs [0, g0 … g_{n-2}], memory = the cross encoder's states with their validity.
 *   ID (idThree)  image reconstruction. All N patches zeroed; the image gets mask row 0 on every row (the
 *                 original's collate passes img_masks = None, replaced by zeros). Per sample u: u < 0.3 text
 *                 fully masked + audio "15 %"; u < 0.6 text "15 %" + audio fully masked; else text "15 %" +
 *                 audio "15 %". Text "15 %" = with p 0.15 every piece masked, otherwise BERT masking (each
 *                 piece with p 0.15: 80 % [MASK], 10 % a random id of [rand_lo, rand_hi), 10 % kept; when
 *                 none is drawn the FIRST piece becomes [MASK], as the original's random_word). The image
 *                 decoder predicts the VQ tokens (code + 1, first 63, EOS 0: 64 positions).
 *   Both: the original's label-smoothed sequence loss (0.9 on the gold token, 0.1/(V−1) elsewhere, mean over
 *   the real target positions of the whole batch), tc_decoder_loss.
 *   Without audio (Ta = 0) only the image (TD) / text (ID) part of the draw applies: TD then masks the whole
 *   image with p 0.3 and 15 % of it with p 0.7; ID masks the whole text with p 0.3, "15 %" with p 0.7.
 *
 * Masking draws are pure functions of (seed, key = step·accum + micro, global row = rank·B + i) through
 * tc_rng_hash, so a resumed or MPI run repeats an uninterrupted single-process one bit for bit.
 *
 * Two layers: the core works on plain arrays (tc_v1_gen_batch) and builds the graph; tc_v1_task_td /
 * tc_v1_task_id adapt it to the trainer with the v1 task context (train/tasks_v1.h). */
#ifndef TC_TRAIN_TASKS_V1_GEN_H
#define TC_TRAIN_TASKS_V1_GEN_H

#include <stdint.h>

#include "model/model.h"
#include "train/trainer.h"

typedef enum { TC_V1_GEN_TD = 0, TC_V1_GEN_ID = 1 } tc_v1_gen_task;

/* The per-sample draw, as the original's mask_type: TD: 0 image all + audio 15 %, 1 image 15 % + audio all,
 * 2 both 15 %; ID: 0 text all + audio 15 %, 1 text "15 %" + audio all, 2 text "15 %" + audio 15 %. */
enum { TC_V1_GEN_CASE_A = 0, TC_V1_GEN_CASE_B = 1, TC_V1_GEN_CASE_BOTH = 2 };

#define TC_V1_GEN_ALL_PROB 0.3f     /* each of the two "fully masked" cases */
#define TC_V1_GEN_ITEM_PROB 0.15f   /* per item ("15 %") and, for ID's text, the "mask every piece" share */
#define TC_V1_GEN_TXT_TARGETS 29    /* MAX_TEXT_GTS_LEN: pieces kept as TD targets (+ EOS) */
#define TC_V1_GEN_IMG_TARGETS 63    /* MAX_IMG_GTS_LEN: VQ tokens kept as ID targets (+ EOS) */

typedef struct tc_v1_gen_cfg {
    uint64_t seed;             /* the run's seed (masking streams are derived from it) */
    int mask_id;               /* [MASK] = 103 */
    int rand_lo, rand_hi;      /* ID's BERT random replacements: [rand_lo, rand_hi) (meta.json v_range) */
    float label_smoothing;     /* the model config's (0.1) */
} tc_v1_gen_cfg;

/* [MASK] 103, random ids from [106, vocab_size), the model's label smoothing. */
tc_v1_gen_cfg tc_v1_gen_defaults(const tc_model *m, uint64_t seed);

/* One batch as plain arrays (N = number of patches of the model, Pd = 3·patch², Da = audio_dim). */
typedef struct tc_v1_gen_batch {
    int B;
    int Tt;
    const int32_t *ids;        /* [B, Tt] [CLS] pieces [SEP], 0-padded */
    const float *valid;        /* [B, Tt] a prefix of ones */
    const float *patches;      /* [B, N+1, Pd] (row N = the zero pad patch) */
    int Ta;                    /* audio frames; 0 = the batch has no audio */
    const float *audio;        /* [B, Ta, Da] or NULL */
    const float *audio_valid;  /* [B, Ta] prefix of ones, or NULL */
    int Tg;
    const int32_t *targets;    /* [B, Tg] decoder targets: tokens, EOS 0, then 0 padding. TD: the caption's
                                  pieces[:29] + 0 (Tg >= 30); ID: the VQ tokens code+1 [:63] + 0 (Tg >= 64).
                                  NULL for ID = the dataset has no VQ tokens (an error). */
} tc_v1_gen_batch;

/* The masked inputs of one batch (arena memory of the graph). */
typedef struct tc_v1_gen_masked {
    int32_t *ids;              /* [B, Tt] */
    float *patches;            /* [B, N+1, Pd] */
    int32_t *img_rows;         /* [B, N+1] mask-embedding row per ViT row (TD); NULL for ID (row 0 on all) */
    float *audio;              /* [B, Ta, Da] or NULL */
    int32_t *aud_rows;         /* [B, Ta] audio mask-embedding rows, or NULL */
    int *cases;                /* [B] TC_V1_GEN_CASE_* */
    int *txt_all;              /* [B] ID: 1 when every piece was masked (always 1 for TD) */
} tc_v1_gen_masked;

/* Mask batch b for task (draws from (c->seed, key, row0 + i) for sample i). Fills out with arena arrays of g.
 * 0, or -1 with a message (bad shapes). */
int tc_v1_gen_mask(tc_graph *g, const tc_model *m, const tc_v1_gen_cfg *c, tc_v1_gen_task task,
                   const tc_v1_gen_batch *b, uint64_t key, int row0, tc_v1_gen_masked *out);

/* ID needs VQ tokens and an image decoder: 0, or -1 with a one-line message naming what is missing. Call it
 * when a run is configured (before the first step); the loss checks again. */
int tc_v1_gen_id_check(const tc_model *m, int dataset_has_tokens);

/* Mask, encode, decode: the task's scalar loss (graph in g), or NULL with a message. masked (may be NULL)
 * receives the masked inputs; flops (may be NULL) gets the forward FLOPs added. */
tc_tensor *tc_v1_gen_loss(tc_graph *g, tc_model *m, const tc_v1_gen_cfg *c, tc_v1_gen_task task,
                          const tc_v1_gen_batch *b, uint64_t key, int row0, tc_v1_gen_masked *masked, double *flops);

/* Trainer tasks (tc_task_loss_fn): user = the v1 task context (tc_v1_tasks *, train/tasks_v1.h). The step's
 * batch comes from tc_v1_tasks_batch (shared with the other v1 tasks of the step); masking key = step·accum +
 * micro, rows rank·B + i; ctx->flops gets the forward FLOPs. ID refuses (one-line message) when the loader
 * has no VQ tokens or the model no image decoder. */
tc_tensor *tc_v1_task_td(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_id(void *user, tc_graph *g, tc_train_ctx *ctx);

#endif
