/* Batched caption / VQA generation for the evaluation commands (protocol_model.h; spec §5.2, §5.3, A.3, A.4).
 * Captions go through the public tc_caption; VQA runs from the dataset's question ids (the public tc_vqa
 * takes text), with the same model calls as tc_vqa. */
#include "eval/protocol_model.h"

#include "core/error.h"
#include "core/progress.h"
#include "model/beam.h"
#include "model/infer.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"

#include <stdlib.h>
#include <string.h>

int tc_eval_caption_gen(const tc_infer *inf, const char *const *img_paths, int n, const tc_gen_params *gp,
                        const tc_eval_opts *o, char **texts) {
    int B = o->batch > 0 ? o->batch : 16, L = gp->max_len + 1;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)B * per);
    int32_t *ids = tc_xmalloc(sizeof(int32_t) * (size_t)B * L);
    tc_state *s = tc_state_new(B);
    tc_progress pr;
    if (o->progress) tc_progress_start(&pr, "captions", n);
    int rc = 0;
    for (int i0 = 0; i0 < n && rc == 0; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        rc = tc_load_images(inf, img_paths + i0, nb, px);
        if (rc == 0) rc = tc_caption(inf, s, px, nb, gp, ids, NULL);
        for (int i = 0; i < nb && rc == 0; i++)
            texts[i0 + i] = tc_ids_to_text(inf, ids + (long)i * L + 1, gp->max_len); /* after the BOS 0 */
        if (o->progress) tc_progress_add(&pr, nb);
    }
    if (o->progress) tc_progress_finish(&pr);
    tc_state_free(s);
    free(px);
    free(ids);
    return rc;
}

/* One batch of questions: ids [nb][T] + valid -> out ids [nb][L]. */
static int vqa_batch(const tc_infer *inf, tc_state *s, const float *px, const tc_ds_ids *q, int nb,
                     const tc_beam_cfg *bc, int32_t *out) {
    tc_model *m = (tc_model *)&inf->m;
    int v1 = m->cfg.arch == TC_ARCH_V1;
    /* v1: the pieces alone (spec §5.3, as tc_vqa: up to max_text_len + 2); v2: [CLS] q[:28] [SEP] (A.4) */
    int maxp = v1 ? m->cfg.max_text_len + 2 : TC_V2_TASK_TEXT_LEN - 2, extra = v1 ? 0 : 2, T = 1;
    for (int i = 0; i < nb; i++) {
        int l = (q[i].n < maxp ? q[i].n : maxp) + extra;
        if (l > T) T = l;
    }
    int32_t *ids = tc_xcalloc((size_t)nb * T, sizeof *ids);
    float *valid = tc_xcalloc((size_t)nb * T, sizeof *valid);
    for (int i = 0; i < nb; i++) {
        int l = q[i].n < maxp ? q[i].n : maxp, k = 0;
        int32_t *o = ids + (long)i * T;
        if (!v1) o[k++] = inf->tok.cls_id;
        memcpy(o + k, q[i].v, sizeof(int32_t) * (size_t)l);
        k += l;
        if (!v1) o[k++] = inf->tok.sep_id;
        for (int t = 0; t < k; t++) valid[(long)i * T + t] = 1.f;
    }
    tc_graph *g = s->g;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    int rc = -1;
    if (v1) {
        tc_opt_v1 *v = tc_opt_v1_of(m);
        tc_tensor *f = tc_opt_v1_vit(g, m, px, nb, v->n_patches + 1);
        tc_tensor *e = f ? tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_NONE, NULL) : NULL;
        tc_tensor *t = e ? tc_opt_v1_text_embed(g, m, ids, valid, nb, T) : NULL;
        float *gv = NULL;
        tc_tensor *x = t ? tc_opt_v1_gather(g, t, valid, e, v->n_patches, NULL, NULL, &gv, NULL) : NULL;
        if (x) {
            tc_tensor *mem = tc_decoder_memory(g, &v->txt_dec, tc_opt_v1_encoder(g, m, x, gv), gv);
            rc = tc_beam_search(g, &v->txt_dec, mem, gv, bc, out, NULL, NULL);
        }
    } else {
        rc = tc_opt_v2_vqa_answer(g, m, px, m->cfg.train_image_size, ids, valid, nb, T, bc, out, NULL, NULL);
    }
    free(ids);
    free(valid);
    tc_graph_reset(g);
    return rc;
}

int tc_eval_vqa_gen(const tc_infer *inf, const char *const *img_paths, const tc_ds_ids *questions, int n,
                    const tc_gen_params *gp, const tc_eval_opts *o, char **answers) {
    if (!tc_model_has_vqa(inf))
        return tc_error_set("eval vqa: this opt-v2 model has no VQA decoder (txt_output.*; config dec_num_layers 0)");
    const tc_model *m = &inf->m;
    tc_decoder *dd = m->cfg.arch == TC_ARCH_V1 ? &tc_opt_v1_of(m)->txt_dec : &tc_opt_v2_of(m)->vqa;
    if (gp->beam < 1 || gp->max_len < 1 || gp->max_len > dd->cfg.max_pos)
        return tc_error_set("eval vqa: beam %d / max_len %d, expected beam >= 1 and max_len 1..%d", gp->beam,
                            gp->max_len, dd->cfg.max_pos);
    tc_beam_cfg bc = {gp->beam, gp->max_len, gp->length_penalty, gp->vocab_limit};
    int B = o->batch > 0 ? o->batch : 16, L = gp->max_len + 1;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)B * per);
    int32_t *ids = tc_xmalloc(sizeof(int32_t) * (size_t)B * L);
    tc_state *s = tc_state_new(B);
    tc_progress pr;
    if (o->progress) tc_progress_start(&pr, "answers", n);
    int rc = 0;
    for (int i0 = 0; i0 < n && rc == 0; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        rc = tc_load_images(inf, img_paths + i0, nb, px);
        if (rc == 0) rc = vqa_batch(inf, s, px, questions + i0, nb, &bc, ids);
        for (int i = 0; i < nb && rc == 0; i++) answers[i0 + i] = tc_ids_to_text(inf, ids + (long)i * L + 1, gp->max_len);
        if (o->progress) tc_progress_add(&pr, nb);
    }
    if (o->progress) tc_progress_finish(&pr);
    tc_state_free(s);
    free(px);
    free(ids);
    return rc;
}
