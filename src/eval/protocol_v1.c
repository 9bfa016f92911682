/* v1 retrieval protocol (protocol_model.h; spec §5.1): the cross-encoder rank score of every (text, image)
 * pair. Image embeddings (ViT -> + mask-embedding row 0 -> projection, §1.6) and text embeddings (§1.5) are
 * computed once; each pair batch runs only the compact concatenation, the cross encoder, the pooler and
 * rank_output (zero-shot: ITM row 2, fine-tuned: the trained head; tc_itm_zero_shot says which). */
#include "eval/protocol_model.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/infer.h"
#include "model/opt_v1.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void reset(tc_graph *g) {
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
}

int tc_eval_retrieval_v1(const tc_infer *inf, const char *const *img_paths, int n_img, const tc_ds_ids *texts,
                         int n_txt, const tc_eval_opts *o, float *i2t, float *t2i, tc_eval_timing *tm) {
    tc_model *m = (tc_model *)&inf->m;
    if (m->cfg.arch != TC_ARCH_V1) return tc_error_set("retrieval v1 protocol: the model is not opt-v1");
    int B = o->batch > 0 ? o->batch : 16, PB = o->pair_batch > 0 ? o->pair_batch : 64;
    int N = tc_opt_v1_of(m)->n_patches, R = N + 1, D = m->cfg.hidden_size, maxp = m->cfg.max_text_len;
    memset(tm, 0, sizeof *tm);
    tc_graph *g = tc_graph_new();
    reset(g);
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)B * per);
    float *img = tc_xmalloc(sizeof(float) * (size_t)n_img * R * D); /* [n_img][R][D] image embeddings */
    float **txt = tc_xcalloc((size_t)n_txt + 1, sizeof *txt);         /* [n_txt] -> [len][D] */
    int *len = tc_xcalloc((size_t)n_txt + 1, sizeof *len);
    int rc = 0;
    tc_progress pr;
    double t0 = tc_now_s();
    if (o->progress) tc_progress_start(&pr, "images (ViT, embeddings)", n_img);
    for (int i0 = 0; i0 < n_img && rc == 0; i0 += B) {
        int nb = n_img - i0 < B ? n_img - i0 : B;
        rc = tc_load_images(inf, img_paths + i0, nb, px);
        if (rc == 0) {
            reset(g);
            tc_tensor *f = tc_opt_v1_vit(g, m, px, nb, R);
            tc_tensor *e = f ? tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_ROW0, NULL) : NULL;
            if (!e) rc = -1;
            else memcpy(img + (long)i0 * R * D, tc_contiguous(g, e)->data, sizeof(float) * (size_t)nb * R * D);
        }
        if (o->progress) tc_progress_add(&pr, nb);
    }
    if (o->progress) tc_progress_finish(&pr);
    free(px);
    double t1 = tc_now_s();
    tm->images_s = t1 - t0;
    /* texts: [CLS] ids[:max_text_len] [SEP] -> LN(word + position + type) rows */
    for (int t0i = 0; t0i < n_txt && rc == 0; t0i += B) {
        int nb = n_txt - t0i < B ? n_txt - t0i : B, T = 2;
        for (int i = 0; i < nb; i++) {
            int l = (texts[t0i + i].n < maxp ? texts[t0i + i].n : maxp) + 2;
            if (l > T) T = l;
        }
        reset(g);
        int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)nb * T);
        float *valid = tc_graph_alloc(g, sizeof(float) * (size_t)nb * T);
        memset(ids, 0, sizeof(int32_t) * (size_t)nb * T);
        memset(valid, 0, sizeof(float) * (size_t)nb * T);
        for (int i = 0; i < nb; i++) {
            const tc_ds_ids *x = &texts[t0i + i];
            int l = x->n < maxp ? x->n : maxp;
            ids[(long)i * T] = inf->tok.cls_id;
            memcpy(ids + (long)i * T + 1, x->v, sizeof(int32_t) * (size_t)l);
            ids[(long)i * T + l + 1] = inf->tok.sep_id;
            for (int j = 0; j < l + 2; j++) valid[(long)i * T + j] = 1.f;
            len[t0i + i] = l + 2;
        }
        tc_tensor *e = tc_opt_v1_text_embed(g, m, ids, valid, nb, T);
        if (!e) { rc = -1; break; }
        e = tc_contiguous(g, e);
        for (int i = 0; i < nb; i++) {
            txt[t0i + i] = tc_xmalloc(sizeof(float) * (size_t)len[t0i + i] * D);
            memcpy(txt[t0i + i], e->data + (long)i * T * D, sizeof(float) * (size_t)len[t0i + i] * D);
        }
    }
    double t2 = tc_now_s();
    tm->texts_s = t2 - t1;
    /* every pair, text-major (the original's dataset index i -> text i / N, image i % N) */
    long np = (long)n_img * n_txt;
    if (rc == 0 && o->progress) tc_progress_start(&pr, "cross-encoder pairs", np);
    for (long p0 = 0; p0 < np && rc == 0; p0 += PB) {
        int P = np - p0 < PB ? (int)(np - p0) : PB, T = 1;
        for (int p = 0; p < P; p++)
            if (len[(p0 + p) / n_img] > T) T = len[(p0 + p) / n_img];
        reset(g);
        int ts[3] = {P, T, D}, is[3] = {P, R, D};
        tc_tensor *xt = tc_zeros(g, 3, ts), *xi = tc_new(g, 3, is);
        float *tv = tc_graph_alloc(g, sizeof(float) * (size_t)P * T);
        memset(tv, 0, sizeof(float) * (size_t)P * T);
        for (int p = 0; p < P; p++) {
            int t = (int)((p0 + p) / n_img), i = (int)((p0 + p) % n_img);
            memcpy(xt->data + (long)p * T * D, txt[t], sizeof(float) * (size_t)len[t] * D);
            for (int j = 0; j < len[t]; j++) tv[(long)p * T + j] = 1.f;
            memcpy(xi->data + (long)p * R * D, img + (long)i * R * D, sizeof(float) * (size_t)R * D);
        }
        float *valid = NULL;
        tc_tensor *x = tc_opt_v1_gather(g, xt, tv, xi, N, NULL, NULL, &valid, NULL);
        if (!x) { rc = -1; break; }
        tc_tensor *sc = tc_contiguous(g, tc_opt_v1_rank(g, m, tc_opt_v1_pooler(g, m, tc_opt_v1_encoder(g, m, x, valid))));
        for (int p = 0; p < P; p++) {
            int t = (int)((p0 + p) / n_img), i = (int)((p0 + p) % n_img);
            i2t[(long)i * n_txt + t] = sc->data[p];
            t2i[(long)t * n_img + i] = sc->data[p];
        }
        if (o->progress) tc_progress_add(&pr, P);
    }
    if (rc == 0 && o->progress) tc_progress_finish(&pr);
    tm->pairs_s = tc_now_s() - t2;
    tm->pairs = rc == 0 ? np : 0;
    for (int t = 0; t < n_txt; t++) free(txt[t]);
    free(txt);
    free(len);
    free(img);
    tc_graph_free(g);
    return rc;
}
