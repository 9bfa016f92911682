/* Fine-tuning tasks (spec §5.1-5.3 for opt-v1, A.3-A.4 for opt-v2; docs/training.md, "Fine-tuning"):
 *
 *   caption    v1: image only -> cross encoder -> txt_output; decoder input [0] + c[:L-1], targets c[:L-1] + [0].
 *              v2: prefix-LM: [0] + c[:L-1] through the text encoder AND the fusion with causal ∧ padding masks
 *                  (cross-attending to the image), MLM head predicts the next token, targets c[:L-1] + [0].
 *              Label-smoothed CE (cfg.label_smoothing: 0.9 on the gold token, ls/(V-1) on the others).
 *   vqa        v1: question pieces (no [CLS]/[SEP], <= 50) + image (no mask embedding) -> cross encoder ->
 *                  txt_output generates the answer; v2: [CLS] q[:28] [SEP] -> text encoder + fusion over the
 *                  image -> txt_output. Targets a[:29] + [0], same label-smoothed CE.
 *   retrieval  v1: rank head on the pooled cross-encoder output; per positive (t_i, I_i) one negative image
 *                  (t_i, I_j) and one negative text (t_k, I_i), j, k drawn uniformly among the OTHER images
 *                  (different image files, not merely other caption ids of the same image: the original's
 *                  sampler could pick the positive's own image under another caption id); hinge
 *                  mean(clip(σ(s_neg) − σ(s_pos) + 0.2, 0, 100)) over the 2B negatives.
 *              v2: ITC + ITM with hard negatives: the pre-training tasks (train/tasks.h) summed on one batch.
 *
 * Batches: each task draws the GLOBAL batch (world × B) from ctx->data_rng and keeps its rank's rows, like the
 * pre-training tasks, so the trainer's resume and data-parallel guarantees hold. Images come from the data
 * loader (decoded once, cached); text rows are built here from the dataset's ids. */
#ifndef TC_TRAIN_FINETUNE_TASKS_H
#define TC_TRAIN_FINETUNE_TASKS_H

#include "data/dataset.h"
#include "data/loader.h"
#include "model/model.h"
#include "train/trainer.h"

#define TC_FT_HINGE_MARGIN 0.2f
#define TC_FT_V1_QUESTION_LEN 50   /* v1 VQA: question pieces kept */
#define TC_FT_ANSWER_LEN 29        /* answer[:29] + [0] */

typedef enum { TC_FT_RETRIEVAL = 0, TC_FT_CAPTION = 1, TC_FT_VQA = 2 } tc_ft_kind;

typedef struct tc_ft_task {
    tc_ft_kind kind;
    tc_model *m;
    tc_loader *L;                 /* over ds (for VQA: the question list viewed as one-caption items) */
    const tc_ds_captions *ds;     /* captions (caption, retrieval) or the VQA view (questions as captions) */
    const tc_ds_vqa *vqa;         /* VQA: answers, same indexing as ds */
    int B;                        /* local batch (positives for retrieval) */
    int cap_len;                  /* caption: decoded length L (input [0] + c[:L-1]) */
    float label_smoothing;
    /* scratch */
    tc_sample *gs;
    int gs_cap;
    float *patches;               /* v1: [rows_cap, N+1, 3p²] */
    long patches_cap;
    /* counters for tests */
    long neg_pairs, neg_same_image; /* retrieval negatives drawn / that share the positive's image file (0) */
} tc_ft_task;

/* m, L, ds (and vqa for TC_FT_VQA) borrowed; the rest defaults (cap_len from the model, ls from cfg). */
void tc_ft_task_init(tc_ft_task *t, tc_ft_kind kind, tc_model *m, tc_loader *L, const tc_ds_captions *ds,
                     const tc_ds_vqa *vqa, int B);
void tc_ft_task_free(tc_ft_task *t);

/* The loss function for the trainer (user = tc_ft_task). Retrieval on v2 is not here: use the pre-training
 * tasks' ITC and ITM (tc_v2_task_itc / tc_v2_task_itm) summed. */
tc_tensor *tc_ft_task_loss(void *user, tc_graph *g, tc_train_ctx *ctx);

/* The v2 caption objective (A.3) on given image states img [B, N+1, Dv] (from tc_opt_v2_vit; shared with other
 * tasks of the step by the pre-training's text-reconstruction task): decoder rows [0] + c[:maxk] through the
 * text encoder and the fusion with causal ∧ padding masks, the MLM head predicts c[:maxk] + [0] at every real
 * position; label-smoothed CE (ls on the non-gold tokens, as the original), mean over the real positions. */
tc_tensor *tc_v2_caption_lm_loss(tc_graph *g, tc_model *m, tc_tensor *img, const tc_ds_ids *const *caps, int B, int maxk,
                                 float label_smoothing);

/* The caption length L the model can take: min(TC_V2_CAPTION_MAX_LEN / v1's 30, position tables). */
int tc_ft_caption_len(const tc_model_config *c);

/* A tc_ds_captions view of a VQA set for the loader: item i = (image of question i, one "caption" = the
 * question ids). The view borrows v's strings and ids; free it with tc_ft_vqa_view_free. */
void tc_ft_vqa_view(const tc_ds_vqa *v, tc_ds_captions *out);
void tc_ft_vqa_view_free(tc_ds_captions *view);

/* The loader configuration for fine-tuning model m: v2 -> tc_loader_cfg_v2 (text rows [CLS] t[:text_len]
 * [SEP]); v1 -> ImageNet statistics (tc_image_prep_v1 at the model's size), the patches cut per batch. */
tc_loader_cfg tc_ft_loader_cfg(const tc_model *m, int text_len);

#endif
