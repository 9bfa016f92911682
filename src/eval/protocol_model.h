/* Model-driven evaluation (spec §5.1-5.3, Appendix A.3-A.5; docs/metrics.md "Evaluation commands"):
 * the retrieval score matrices of both protocols, and batched caption / VQA generation from token ids.
 *
 * Texts are word-piece id lists without [CLS]/[SEP] (the dataset files' form); the model input is
 * [CLS] ids[:max_text_len] [SEP] for retrieval, as the loaders of both originals build it.
 *
 * Speed (v2): the ViT states and ITC embeddings of every image, and every text's ITC embedding plus its
 * state after the first fusion layer's self-attention, with that layer's cross-attention queries (text-only
 * work), are computed once; each re-ranked pair then runs the rest of the fusion, and the last fusion layer
 * only for the [CLS] row the ITM head reads. Pairs are sorted by image, so a batch projects the
 * cross-attention keys/values of one or two images and shares them. (v1): image embeddings (ViT + mask row 0
 * + projection) and text embeddings are cached; each pair runs the gather, the cross encoder, the pooler and the rank head, batched. */
#ifndef TC_EVAL_PROTOCOL_MODEL_H
#define TC_EVAL_PROTOCOL_MODEL_H

#include <taichu.h>

#include "data/dataset.h"
#include "eval/protocol_retrieval.h"

typedef struct tc_eval_opts {
    int batch;     /* images / texts per forward pass (0: 16) */
    int pair_batch;/* pairs per cross-encoder / fusion pass (0: 128) */
    int progress;  /* draw progress bars on stderr */
} tc_eval_opts;

typedef struct tc_eval_timing {
    double images_s, texts_s, pairs_s; /* wall seconds per stage */
    long pairs;                        /* pairs scored by the cross encoder / fusion */
} tc_eval_timing;

/* Cached per-model features for v2 re-ranking (opaque). */
typedef struct tc_eval_v2_cache tc_eval_v2_cache;

/* Images (preprocessed pixels [n][tc_image_floats]) or texts into a new cache; a cache holds both. */
tc_eval_v2_cache *tc_eval_v2_cache_new(const tc_infer *inf, int n_img, int n_txt);
void tc_eval_v2_cache_free(tc_eval_v2_cache *c);
/* Store images first..first+n-1 of the cache from pixels [n][floats]. */
int tc_eval_v2_cache_images(tc_eval_v2_cache *c, const float *pixels, int first, int n);
int tc_eval_v2_cache_texts(tc_eval_v2_cache *c, const tc_ds_ids *texts, int first, int n);
/* ITC similarity img·txt (cosine, unscaled: the ranking is the same) -> sim [n_img x n_txt]. */
void tc_eval_v2_similarity(const tc_eval_v2_cache *c, float *sim);
/* ITM class-1 logits of pairs [np] -> out [np]. */
int tc_eval_v2_itm_pairs(tc_eval_v2_cache *c, const tc_eval_pair *pairs, long np, int pair_batch, float *out,
                         int progress);

/* The v2 protocol end to end: images (paths), texts, k -> sim (optional) [n_img x n_txt], i2t [n_img x n_txt],
 * t2i [n_txt x n_img]. */
int tc_eval_retrieval_v2(const tc_infer *inf, const char *const *img_paths, int n_img, const tc_ds_ids *texts,
                         int n_txt, int k, const tc_eval_opts *o, float *sim, float *i2t, float *t2i,
                         tc_eval_timing *tm);
/* The v1 protocol: every (text, image) pair's cross-encoder rank score -> i2t [n_img x n_txt] and its
 * transpose t2i. */
int tc_eval_retrieval_v1(const tc_infer *inf, const char *const *img_paths, int n_img, const tc_ds_ids *texts,
                         int n_txt, const tc_eval_opts *o, float *i2t, float *t2i, tc_eval_timing *tm);

/* Captions of n images (paths) -> texts[n] (malloc'd each). */
int tc_eval_caption_gen(const tc_infer *inf, const char *const *img_paths, int n, const tc_gen_params *gp,
                        const tc_eval_opts *o, char **texts);
/* Answers of n questions (ids without [CLS]/[SEP]) about images (paths) -> answers[n] (malloc'd). The question
 * input is the architecture's (v1: the pieces alone; v2: [CLS] q[:28] [SEP]). */
int tc_eval_vqa_gen(const tc_infer *inf, const char *const *img_paths, const tc_ds_ids *questions, int n,
                    const tc_gen_params *gp, const tc_eval_opts *o, char **answers);

#endif
