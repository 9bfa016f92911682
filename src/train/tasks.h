/* OPT-v2 pre-training tasks (spec Appendix A.1; docs/training.md, "Tasks and deviations"):
 *   MLM  masked text (fixed: exactly 2 word pieces -> [MASK], as the original; or BERT 15 % with 80/10/10)
 *        through the text encoder and the fusion over the image; MLM head; CE over the masked pieces.
 *   ITC  symmetric InfoNCE between the L2-normalised CLS projections, scale exp(t) clamped at 100,
 *        over the GLOBAL batch (embeddings all-gathered over MPI ranks).
 *   ITM  fusion CLS -> itm_head_two; per sample one positive pair and two negatives (a text for the
 *        image, an image for the text) mined from the ITC similarities (hard: the most similar non-match;
 *        sampled: softmax over the non-matches' ITC logits; or uniformly random); CE over 3R pairs (R =
 *        itm_rows or B), class 1 = match.
 * All three share one batch and one encoder pass when run as a weighted sum in the same step (the
 * original's "itmTwo"); under the MetaLoader each task draws its own batch.
 *
 * Batches: the task draws the GLOBAL batch (world × B samples, distinct images) from ctx->data_rng and keeps
 * its rank's rows; the loader builds it (prefetched: the next batch is predicted from a copy of the RNG). */
#ifndef TC_TRAIN_TASKS_H
#define TC_TRAIN_TASKS_H

#include "data/dataset.h"
#include "data/loader.h"
#include "model/model.h"
#include "train/trainer.h"

typedef enum { TC_MLM_FIXED2 = 0, TC_MLM_BERT = 1 } tc_mlm_mode;
/* ITM negatives: the most ITC-similar non-match (the original's softmax + argmax), a uniform one, or one
 * drawn with probability softmax(ITC logit) over the non-matches (ALBEF's sampling: mostly hard, sometimes
 * easy, never the same hardest pair every step). */
typedef enum { TC_ITM_NEG_HARD = 0, TC_ITM_NEG_RANDOM = 1, TC_ITM_NEG_SAMPLED = 2 } tc_itm_neg;

typedef struct tc_v2_tasks {
    tc_model *m;
    tc_loader *L;
    const tc_ds_captions *ds;
    int B;                   /* local batch (samples per rank and micro-batch) */
    tc_mlm_mode mlm_mode;
    float mlm_prob;          /* BERT mode: 0.15 */
    int mask_id;             /* [MASK] = 103 */
    int rand_lo, rand_hi;    /* BERT mode random replacements from [rand_lo, rand_hi) (meta.json v_range) */
    tc_itm_neg itm_neg;
    long itm_hard_from;      /* with HARD or SAMPLED: steps before this one draw random negatives (a curriculum; 0: none) */
    int itm_rows;            /* ITM triples for the first itm_rows samples of the batch (0: all B); negatives still
                              * come from all B, so a large ITC batch can feed a cheaper ITM */
    uint64_t seed;
    /* per-(step, micro) cache: the batch and the encoder outputs shared by the tasks of one step */
    long c_step;
    int c_micro, c_valid;
    tc_graph *c_graph;
    const tc_batch *c_batch;
    tc_tensor *c_img, *c_txt, *c_ie, *c_te;  /* ViT [B,N+1,D], text [B,T,D], ITC [B,E] x2 */
    tc_sample *gs;           /* [world·B] scratch for the global draw */
    int gs_cap;
    /* counters for tests/logs */
    long itm_pairs, itm_neg_same_item;   /* negatives drawn; negatives that share the positive's image (must stay 0) */
    int *last_neg_t, *last_neg_i;        /* [B] the last ITM step's negatives (tests) */
} tc_v2_tasks;

/* t->m, L, ds, B must be set; the rest gets defaults (fixed MLM, hard negatives, [MASK] 103). */
void tc_v2_tasks_init(tc_v2_tasks *t, tc_model *m, tc_loader *L, const tc_ds_captions *ds, int B, uint64_t seed);
void tc_v2_tasks_free(tc_v2_tasks *t);

tc_tensor *tc_v2_task_mlm(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v2_task_itc(void *user, tc_graph *g, tc_train_ctx *ctx);
tc_tensor *tc_v2_task_itm(void *user, tc_graph *g, tc_train_ctx *ctx);
/* TD (modality level, a taichu extension for v2): the whole caption is rebuilt from the image alone, with the
 * captioning objective (A.3 prefix-LM through the text encoder and the fusion, label-smoothed CE); the ViT
 * pass is shared with the other tasks of the step. */
tc_tensor *tc_v2_task_td(void *user, tc_graph *g, tc_train_ctx *ctx);

/* Task by name ("mlm", "itc", "itm", "td"; the original's "mlmTwo" = mlm, "itmTwo" = all three summed is
 * expanded by the caller). NULL if unknown. */
tc_task_loss_fn tc_v2_task_by_name(const char *name);

/* One ITM negative among n candidates (ok[j] != 0), by their similarities sim[j * stride]: the largest (hard;
 * the first on ties), one drawn with probability softmax(scale * sim) (sampled), or a uniform one (random).
 * Draws from r. -1 when no candidate is allowed. */
int tc_v2_itm_negative(const float *sim, int stride, const unsigned char *ok, int n, tc_itm_neg mode, float scale,
                       tc_rng *r);

/* MLM masking of one text row (exposed for tests): ids [T] with valid [T] -> masked copy in out [T],
 * masked positions (row offsets) in pos, original ids in tgt; returns the count (>= 1 when the row has a
 * word piece). Draws come from tc_rng seeded by (seed, key, row). */
int tc_v2_mlm_mask_row(const tc_v2_tasks *t, const int32_t *ids, const float *valid, int T, uint64_t key, int row,
                       int32_t *out, int *pos, int32_t *tgt);

#endif
