/* Batched caption / VQA generation for the evaluation commands (protocol_model.h; spec §5.2, §5.3, A.3, A.4).
 * Captions go through the public tc_caption, answers through tc_vqa_ids (the dataset's question ids). */
#include "eval/protocol_model.h"

#include "core/error.h"
#include "core/progress.h"

#include <stdlib.h>

/* Batches of images through the decoder -> texts[n] (malloc'd each): captions (questions NULL) or the answers
 * to questions[n]. label names the progress bar. */
static int generate(const tc_infer *inf, const char *const *img_paths, const tc_ds_ids *questions, int n,
                    const tc_gen_params *gp, const tc_eval_opts *o, const char *label, char **texts) {
    int B = o->batch > 0 ? o->batch : 16, L = gp->max_len + 1;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)B * per);
    int32_t *ids = tc_xmalloc(sizeof(int32_t) * (size_t)B * L);
    const int32_t **q = questions ? tc_xmalloc(sizeof *q * (size_t)B) : NULL; /* [B] the batch's question ids */
    int *ql = questions ? tc_xmalloc(sizeof *ql * (size_t)B) : NULL;
    tc_state *s = tc_state_new(B);
    tc_progress pr;
    if (o->progress) tc_progress_start(&pr, label, n);
    int rc = 0;
    for (int i0 = 0; i0 < n && rc == 0; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        for (int i = 0; q && i < nb; i++) {
            q[i] = questions[i0 + i].v;
            ql[i] = questions[i0 + i].n;
        }
        rc = tc_load_images(inf, img_paths + i0, nb, px);
        if (rc == 0) rc = q ? tc_vqa_ids(inf, s, px, q, ql, nb, gp, ids, NULL) : tc_caption(inf, s, px, nb, gp, ids, NULL);
        for (int i = 0; i < nb && rc == 0; i++)
            texts[i0 + i] = tc_ids_to_text(inf, ids + (long)i * L + 1, gp->max_len); /* after the BOS 0 */
        if (o->progress) tc_progress_add(&pr, nb);
    }
    if (o->progress) tc_progress_finish(&pr);
    tc_state_free(s);
    free(px);
    free(ids);
    free(q);
    free(ql);
    return rc;
}

int tc_eval_caption_gen(const tc_infer *inf, const char *const *img_paths, int n, const tc_gen_params *gp,
                        const tc_eval_opts *o, char **texts) {
    return generate(inf, img_paths, NULL, n, gp, o, "captions", texts);
}

int tc_eval_vqa_gen(const tc_infer *inf, const char *const *img_paths, const tc_ds_ids *questions, int n,
                    const tc_gen_params *gp, const tc_eval_opts *o, char **answers) {
    if (!tc_model_has_vqa(inf))
        return tc_error_set("eval vqa: this opt-v2 model has no VQA decoder (txt_output.*; config dec_num_layers 0)");
    return generate(inf, img_paths, questions, n, gp, o, "answers", answers);
}
