/* taichu: the public C API for OPT inference (docs/api.md).
 *
 * whisper.cpp style: a model handle holds the immutable weights and vocabulary; every call takes a state
 * that owns the scratch memory (the graph arena) of that call, so a handle can be shared and a state serves
 * one call at a time. Concurrency: each call already uses every core (OpenMP + OpenBLAS), and the engine's
 * attention switches OpenBLAS to one thread process-wide while it runs (core/threads.h), so calls must not
 * run at the same time from several threads yet — serialise them (docs/api.md).
 *
 *   tc_infer *m = tc_model_open("opt-v2-base");               // config.json, model.safetensors, vocab.txt
 *   tc_state *s = tc_state_new(0);
 *   float *img = malloc(sizeof(float) * tc_image_floats(m));
 *   const char *path = "cat.jpg";
 *   tc_load_images(m, &path, 1, img);                           // the architecture's preprocessing
 *   tc_gen_params gp = tc_caption_defaults(m);
 *   int32_t *ids = malloc(sizeof(int32_t) * (gp.max_len + 1));
 *   tc_caption(m, s, img, 1, &gp, ids, NULL);
 *   char *text = tc_ids_to_text(m, ids + 1, gp.max_len);        // drop the leading BOS 0
 *
 * Every function that can fail returns -1 (or NULL) and leaves a one-line message in tc_last_error()
 * (thread-local), naming the file or field at fault. Nothing here prints. */
#ifndef TAICHU_H
#define TAICHU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_infer tc_infer; /* model + vocabulary; immutable once opened */
typedef struct tc_state tc_state; /* per-call scratch */

/* The last error message of this thread ("" if none). */
const char *tc_last_error(void);
/* Worker threads for OpenMP and OpenBLAS together; 0 = $TAICHU_THREADS or all cores. Returns the count. */
int tc_set_num_threads(int n);

/* A model directory: config.json + model.safetensors + vocab.txt (+ ids_to_tokens_zh.json, used for
 * ids -> text when present). NULL on error. */
tc_infer *tc_model_open(const char *dir);
void tc_model_close(tc_infer *m);
int tc_model_arch(const tc_infer *m);       /* 1 = opt-v1, 2 = opt-v2 */
int tc_model_image_size(const tc_infer *m); /* input side in pixels (config train_image_size) */

/* max_batch: most images/texts one forward pass holds (0 = 8); bigger requests run in chunks. */
tc_state *tc_state_new(int max_batch);
void tc_state_free(tc_state *s);

/* ---- inputs */
/* Floats of one preprocessed image: opt-v1 patches [(S/p)² + 1][3p²] (the zero pad patch last),
 * opt-v2 pixels [3][S][S]. */
long tc_image_floats(const tc_infer *m);
/* Decode and preprocess n image files per the architecture (v1 §2.1, v2 A.1 eval) into out [n][floats]. */
int tc_load_images(const tc_infer *m, const char *const *paths, int n, float *out);
/* The model's text input for ITM/embeddings: [CLS] + word pieces[:max_text_len] + [SEP]. Writes at most
 * cap ids and returns how many the text has (may exceed cap). */
int tc_text_ids(const tc_infer *m, const char *text, int32_t *ids, int cap);
/* Generated ids -> text (stop at the first 0; ids_to_tokens_zh.json or vocab.txt). malloc'd. */
char *tc_ids_to_text(const tc_infer *m, const int32_t *ids, int n);

/* ---- image-text matching: one image against n texts */
int tc_itm_classes(const tc_infer *m); /* 5 (v1) or 2 (v2) */
/* logits [n][tc_itm_classes] (may be NULL), score [n]: the retrieval score (v1: the rank head, which is
 * ITM class 2 for a pretrained model (zero-shot) and the fine-tuned rank_output otherwise; v2: itm_head_two
 * class 1). */
int tc_itm(const tc_infer *m, tc_state *s, const float *image, const char *const *texts, int n, float *logits,
           float *score);
/* 1 when the v1 retrieval score is zero-shot (rank_output equals ITM row 2), else 0. */
int tc_itm_zero_shot(const tc_infer *m);

/* ---- embeddings (docs/inference.md: what they are per architecture) */
int tc_embed_dim(const tc_infer *m, int image); /* image = 1: image embeddings, 0: text */
int tc_embed_images(const tc_infer *m, tc_state *s, const float *images, int n, float *out); /* out [n][dim] */
int tc_embed_texts(const tc_infer *m, tc_state *s, const char *const *texts, int n, float *out);

/* ---- generation (greedy for beam = 1; the original's beam search otherwise) */
typedef struct tc_gen_params {
    int beam;             /* beam width */
    int max_len;          /* decode steps */
    float length_penalty; /* GNMT alpha (1.0) */
    int vocab_limit;      /* > 0: never emit ids >= vocab_limit; 0 = the original (no limit) */
} tc_gen_params;
tc_gen_params tc_caption_defaults(const tc_infer *m); /* v1: beam 1, 50 steps; v2: beam 4, 30 steps (at most the
                                                         model's position table) */
tc_gen_params tc_vqa_defaults(const tc_infer *m);     /* v1: beam 1, 50 steps; v2: beam 4, 50 steps */
/* ids [n][max_len + 1]: a leading 0 (BOS), then the tokens, 0 from the end of the answer on.
 * score [n] (may be NULL): the length-normalised log-probability. */
int tc_caption(const tc_infer *m, tc_state *s, const float *images, int n, const tc_gen_params *p, int32_t *ids,
               float *score);
int tc_vqa(const tc_infer *m, tc_state *s, const float *images, const char *const *questions, int n,
           const tc_gen_params *p, int32_t *ids, float *score);
/* tc_vqa from word-piece ids instead of text, as the original's pre-tokenised VQA files give questions:
 * question i is questions[i][0 .. lens[i]), without [CLS]/[SEP]. The model input is built as tc_vqa builds
 * it from the tokenised text (v1: the pieces alone, up to max_text_len + 2; v2: [CLS] q[:28] [SEP]). */
int tc_vqa_ids(const tc_infer *m, tc_state *s, const float *images, const int32_t *const *questions,
               const int *lens, int n, const tc_gen_params *p, int32_t *ids, float *score);
/* opt-v1 only: which mask-embedding row is added to the image features (spec §1.6): -1 none, 0 row 0, 1 row 1.
 * Defaults: ITM 0 (pretraining, retrieval and zero-shot all add row 0), VQA -1 (inference_vqa.py; the
 * original's test_vqa.py evaluation adds row 1), captions always none. Call before sharing the handle.
 * Returns -1 for another architecture or a bad row. */
int tc_model_set_v1_mask_rows(tc_infer *m, int itm_row, int vqa_row);
/* 1 when tc_vqa can run (v1 always; v2 needs the VQA decoder txt_output.* in the model directory). */
int tc_model_has_vqa(const tc_infer *m);

#ifdef __cplusplus
}
#endif

#endif
