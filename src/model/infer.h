/* Library-level inference for both OPT architectures: the implementation of include/taichu.h plus what the
 * CLI commands (convert, info, itm, embed, caption, vqa) need beyond it. docs/inference.md describes the
 * task recipes (spec §5.1-5.3 for v1, A.3-A.5 for v2); docs/api.md the public API.
 *
 * The handle (tc_infer) is immutable after tc_model_open: forward passes only read the parameters, and all
 * activations live in the per-call tc_state's graph arena. */
#ifndef TC_MODEL_INFER_H
#define TC_MODEL_INFER_H

#include <taichu.h>

#include "core/tensor.h"
#include "data/detok.h"
#include "data/tokenizer.h"
#include "model/model.h"

/* v2 fine-tuning lengths the released eval scripts set with text_len 30 (spec A.3/A.4): questions
 * [CLS] q[:28] [SEP]; captions decode 30 steps. The VQA decoder's max_decode_length is a default argument
 * evaluated at import, before text_len is applied: 50. */
#define TC_V2_TASK_TEXT_LEN 30
#define TC_V2_CAPTION_MAX_LEN 30
#define TC_V1_DECODE_MAX_LEN 50   /* MAX_FULL_TEXT_LEN */
#define TC_V2_CAPTION_BEAM 4
#define TC_V2_VQA_BEAM 4

struct tc_infer {
    tc_model m;
    tc_tokenizer tok;
    tc_detok detok;
    int zero_shot;
    int v1_itm_mask, v1_vqa_mask; /* tc_v1_mask of the image rows for ITM / VQA (tc_model_set_v1_mask_rows) */        /* v1: rank_output == ITM row 2 (a pretrained, not retrieval-fine-tuned model) */
};

struct tc_state {
    tc_graph *g;
    int max_batch;
};

/* ITM and text embeddings from token ids instead of texts (ids/valid [n, T], rows padded with valid 0), as the
 * original's pre-tokenised datasets provide them; otherwise as tc_itm / tc_embed_texts. */
int tc_infer_itm_ids(const tc_infer *inf, tc_state *s, const float *image, const int32_t *ids, const float *valid,
                     int n, int T, float *logits, float *score);
int tc_infer_embed_text_ids(const tc_infer *inf, tc_state *s, const int32_t *ids, const float *valid, int n, int T,
                            float *out);

/* Give the (all-zero, unused at inference) gradient slab's pages back to the OS: only the weights stay
 * resident. The slab stays mapped and reads as zeros. Returns the bytes released. */
size_t tc_infer_release_grad_pages(tc_params *ps);

/* Which module a parameter belongs to, for `taichu info`: "vit", "embeddings", "text encoder",
 * "cross encoder" (v1) / "fusion" (v2), "text decoder", "image decoder", "heads". */
const char *tc_infer_module_of(tc_arch arch, const char *name);

#endif
