/* OPT-v1 pre-training tasks at three levels (spec §4.1; docs/training.md, "OPT-v1 pre-training").
 *
 * Token level (every task runs text + image + audio through the cross encoder, like the original):
 *   mlm   mlmThree:  text masked (fixed: 2 pieces -> [MASK]; BERT 15 % 80/10/10: tc_v2_mlm_mask_row);
 *                    MLM head at the masked text rows; CE.
 *   mvm   mrfrThree: image patches masked (fixed 2, or mrm_prob each, >= 1): pixels zeroed before the ViT and
 *                    mask-embedding row 1 on those rows; the MRFR head at the masked image rows, followed by the
 *                    ViT patch embedding used as its inverse (stem weight untransposed: Dv -> Pd), regresses the
 *                    masked patch's normalised pixels; MSE. (The original's target was the ViT output of the
 *                    masked input: degenerate. A no-gradient ViT target of the unmasked image can collapse.)
 *   mam   mafrThree: audio frames masked (same rule): frames zeroed + mask row 1; MAFR head regresses the
 *                    original frames (the original's targets were all zeros: a key bug); MSE.
 *   mac   macThree:  same masking; MAFR head output vs the original frames of every masked frame of the batch:
 *                    InfoNCE with cosine similarity / 0.1 (the original used the cosine DISTANCE as logit).
 * Sample level:
 *   itm3  itmThree:  5-way matching (§4.1 labels 0..4) with parts replaced by those of other samples of the
 *                    batch (always another image); pooler -> itm_output; CE. Without audio only labels 1 and 4.
 *   itc   image-text InfoNCE on L2-normalised pooled features of single-modality passes (text alone, image
 *                    alone through the cross encoder + pooler), scale exp(taichu_itc.logit_scale_image) <= 100.
 *   itc_audio        the same for audio-text (taichu_itc.logit_scale_audio). ITC is a taichu extension.
 * Modality level (tdThree, idThree) are H2's (train/tasks_v1_gen.h) and use tc_v1_tasks_batch.
 *
 * Batches: the GLOBAL batch (world × B samples, distinct images) is drawn from ctx->data_rng once per (step,
 * micro) and shared by every task of that step; the next one is prefetched. */
#ifndef TC_TRAIN_TASKS_V1_H
#define TC_TRAIN_TASKS_V1_H

#include "data/dataset.h"
#include "data/loader_v1.h"
#include "model/model.h"
#include "model/opt_v1.h"
#include "train/tasks.h"
#include "train/trainer.h"

typedef struct tc_v1_tasks {
    tc_model *m;
    tc_v1_loader *L;
    const tc_ds_captions *ds;
    int B;                    /* local batch */
    tc_mlm_mode mask_mode;    /* TC_MLM_FIXED2: 2 pieces / patches / frames; TC_MLM_BERT: probabilities */
    float mlm_prob;           /* BERT text masking (0.15) */
    float mrm_prob;           /* patches / frames in probability mode (the original's mrm_prob, 0.15) */
    int mask_id, rand_lo, rand_hi;
    float mac_temp;           /* MAC temperature (0.1, as the original's divisor) */
    uint64_t seed;
    tc_v2_tasks mlm;          /* masking parameters for tc_v2_mlm_mask_row (no loader) */
    /* per-(step, micro) batch cache */
    long c_step;
    int c_micro, c_valid;
    const tc_v1_batch *c_batch;
    tc_sample *gs;
    int gs_cap;
    /* counters for tests and logs */
    long itm3_label[5];       /* labels drawn */
    long itm3_same_item;      /* replaced parts that came from the sample's own image (must stay 0) */
    long itm3_correct, itm3_seen; /* itmThree rows whose argmax logit is the label, and rows scored (accuracy) */
    long mvm_masked, mam_masked, mlm_masked;
    int *last_itm3_label;     /* [B] the last itmThree step: label, image source row, audio source row */
    int *last_itm3_img, *last_itm3_aud;
} tc_v1_tasks;

void tc_v1_tasks_init(tc_v1_tasks *t, tc_model *m, tc_v1_loader *L, const tc_ds_captions *ds, int B, uint64_t seed);
void tc_v1_tasks_free(tc_v1_tasks *t);

/* The step's batch (the contract with H2): drawn and loaded once per (step, micro), shared by every task;
 * sets ctx->samples on the first call of the step. NULL with a message on error. */
const tc_v1_batch *tc_v1_tasks_batch(tc_v1_tasks *t, tc_train_ctx *ctx);

tc_tensor *tc_v1_task_mlm(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_mvm(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_mam(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_mac(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_itm3(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_itc(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v1_task_itc_audio(void *user, tc_graph *g, tc_train_ctx *ctx);

/* Task by name (the original's and short names: mlmThree/mlm, mrfrThree/mvm, mafrThree/mam, macThree/mac,
 * itmThree/itm3, itc, itc_audio, tdThree/td, idThree/id). NULL if unknown. *needs_audio / *needs_tokens
 * (may be NULL) say what the task requires of the dataset. */
tc_task_loss_fn tc_v1_task_by_name(const char *name, int *needs_audio, int *needs_tokens);

/* The 5-way matching plan of row i of a batch of B samples s (exposed for tests): label in 0..4 and the rows
 * whose image / audio replace row i's (i itself when kept). A replacing row always shows another image than
 * row i (s[j].item != s[i].item); for label 3 the two sources are different rows of different images.
 * has_audio 0: labels 1 and 4 only. Draws from tc_rng seeded by (seed, key, grow = the global row).
 * 0, or -1 with a message when the batch has too few distinct images. */
int tc_v1_itm3_plan(const tc_v1_tasks *t, const tc_sample *s, int B, int i, int has_audio, uint64_t key, int grow,
                    int *label, int *img_src, int *aud_src);

/* Token-level masking of n items (patches or frames; exposed for tests): fixed mode exactly min(2, n);
 * probability mode each with mrm_prob, at least one. Writes the sorted positions to pos, returns the count. */
int tc_v1_mask_items(const tc_v1_tasks *t, int n, uint64_t stream, uint64_t key, int row, int *pos);

/* The ITC features tc_v1_pooled_text / _image / _audio are in model/opt_v1.h (shared with `taichu embed`). */

#endif
