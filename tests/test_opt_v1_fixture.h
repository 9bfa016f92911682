/* Shared by the opt-v1 tests: the tiny golden model of ref/twin_opt_v1.py (tests/data/opt_v1/{config.json,
 * tiny.ckpt, golden.bin}), its inputs, and the whole model with the twin's training-style loss
 * (ITM + MLM + MRFR + MAFR + MRC + both decoders' label-smoothed sequence losses). */
#ifndef TEST_OPT_V1_FIXTURE_H
#define TEST_OPT_V1_FIXTURE_H

#include "model/opt_v1.h"
#include "tc_golden.h"
#include "tc_test.h"

#include <stdlib.h>
#include <string.h>

#define V1_DIR TAICHU_TEST_DATA "/opt_v1"

typedef struct v1_fixture {
    tc_model m;
    tc_golden *gold;
    const float *patches, *txt_valid, *audio, *aud_valid, *w_txt, *w_img;
    const int32_t *ids, *mlm_rows, *img_rows, *aud_rows, *itm_t, *mlm_t, *mrc_t, *tgt_txt, *tgt_img;
    int B, R, Tt, Ta, Tg, n_mlm, n_img, n_aud;
    int32_t *in_txt, *in_img; /* decoder inputs [0, g0, .., g_{n-2}] */
} v1_fixture;

static inline const float *v1_f32(v1_fixture *f, const char *name) {
    const float *p = tc_golden_f32(f->gold, name, NULL);
    TC_CHECK(p != NULL, "golden %s missing", name);
    return p;
}

static inline const int32_t *v1_i32(v1_fixture *f, const char *name, int *n) {
    const tc_golden_rec *r = tc_golden_find(f->gold, name);
    TC_CHECK(r != NULL, "golden %s missing", name);
    if (n) *n = r ? (int)r->numel : 0;
    return r ? (const int32_t *)r->data : NULL;
}

static inline int32_t *v1_shift(const int32_t *tgt, int B, int T) {
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * T);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) in[b * T + t] = t == 0 ? 0 : tgt[b * T + t - 1];
    return in;
}

static inline int v1_fixture_open(v1_fixture *f) {
    memset(f, 0, sizeof *f);
    f->gold = tc_golden_load(V1_DIR "/golden.bin");
    if (!f->gold) return -1;
    tc_model_config cfg;
    if (tc_model_config_load(V1_DIR "/config.json", &cfg) != 0 || tc_model_create(&f->m, &cfg, 1) != 0 ||
        tc_model_load_weights(&f->m, V1_DIR "/tiny.ckpt", 1, NULL) != 0) {
        fprintf(stderr, "opt-v1 fixture: %s\n", tc_error_get());
        return -1;
    }
    const tc_golden_rec *px = tc_golden_find(f->gold, "in.patches"), *ids = tc_golden_find(f->gold, "in.ids");
    const tc_golden_rec *au = tc_golden_find(f->gold, "in.audio"), *tg = tc_golden_find(f->gold, "in.tgt_txt");
    if (!px || !ids || !au || !tg) return -1;
    f->B = px->shape[0], f->R = px->shape[1], f->Tt = ids->shape[1], f->Ta = au->shape[1], f->Tg = tg->shape[1];
    f->patches = px->data;
    f->ids = ids->data;
    f->audio = au->data;
    f->txt_valid = v1_f32(f, "in.txt_valid");
    f->aud_valid = v1_f32(f, "in.aud_valid");
    f->w_txt = v1_f32(f, "in.w_txt");
    f->w_img = v1_f32(f, "in.w_img");
    f->mlm_rows = v1_i32(f, "in.mlm_rows", &f->n_mlm);
    f->img_rows = v1_i32(f, "in.img_rows", &f->n_img);
    f->aud_rows = v1_i32(f, "in.aud_rows", &f->n_aud);
    f->itm_t = v1_i32(f, "in.itm_targets", NULL);
    f->mlm_t = v1_i32(f, "in.mlm_targets", NULL);
    f->mrc_t = v1_i32(f, "in.mrc_targets", NULL);
    f->tgt_txt = tg->data;
    f->tgt_img = v1_i32(f, "in.tgt_img", NULL);
    f->in_txt = v1_shift(f->tgt_txt, f->B, f->Tg);
    f->in_img = v1_shift(f->tgt_img, f->B, f->Tg);
    return 0;
}

static inline void v1_fixture_close(v1_fixture *f) {
    tc_model_free(&f->m);
    tc_golden_free(f->gold);
    free(f->in_txt);
    free(f->in_img);
}

typedef struct v1_outputs {
    tc_tensor *vit, *txt, *img, *aud, *x, *h, *pooled, *itm, *rank, *mlm, *mrfr, *mafr, *mrc;
    tc_tensor *mem_txt, *mem_img, *lp_txt, *lp_img, *logit_txt, *logit_img;
    tc_tensor *l_itm, *l_mlm, *l_mrfr, *l_mafr, *l_mrc, *l_txt, *l_img, *loss;
    float *valid;
    int S;
} v1_outputs;

/* The tri-modal forward with the twin's choices (ITM mode: mask row 0 on image and audio rows). */
static inline int v1_fixture_forward(v1_fixture *f, tc_graph *g, v1_outputs *o) {
    tc_model *m = &f->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    memset(o, 0, sizeof *o);
    o->vit = tc_opt_v1_vit(g, m, f->patches, f->B, f->R);
    o->txt = tc_opt_v1_text_embed(g, m, f->ids, f->txt_valid, f->B, f->Tt);
    o->aud = tc_opt_v1_audio_embed(g, m, f->audio, f->aud_valid, f->B, f->Ta, TC_V1_MASK_ROW0, NULL);
    if (!o->vit || !o->txt || !o->aud) return -1;
    o->img = tc_opt_v1_img_embed(g, m, o->vit, TC_V1_MASK_ROW0, NULL);
    o->x = tc_opt_v1_gather(g, o->txt, f->txt_valid, o->img, v->n_patches, o->aud, f->aud_valid, &o->valid, &o->S);
    if (!o->x) return -1;
    o->h = tc_opt_v1_encoder(g, m, o->x, o->valid);
    o->pooled = tc_opt_v1_pooler(g, m, o->h);
    o->itm = tc_opt_v1_itm(g, m, o->pooled);
    o->rank = tc_opt_v1_rank(g, m, o->pooled);
    o->mlm = tc_opt_v1_mlm(g, m, o->h, f->mlm_rows, f->n_mlm);
    o->mrfr = tc_opt_v1_mrfr(g, m, o->h, f->img_rows, f->n_img);
    o->mafr = tc_opt_v1_mafr(g, m, o->h, f->aud_rows, f->n_aud);
    o->mrc = tc_opt_v1_mrc(g, m, o->h, f->img_rows, f->n_img);
    if (!o->mlm || !o->mrfr || !o->mafr || !o->mrc) return -1;
    o->mem_txt = tc_decoder_memory(g, &v->txt_dec, o->h, o->valid);
    tc_tensor *st = tc_decoder_states(g, &v->txt_dec, f->in_txt, f->w_txt, f->B, f->Tg, o->mem_txt, o->valid);
    o->mem_img = tc_decoder_memory(g, &v->img_dec, o->h, o->valid);
    tc_tensor *si = tc_decoder_states(g, &v->img_dec, f->in_img, f->w_img, f->B, f->Tg, o->mem_img, o->valid);
    if (!st || !si) return -1;
    o->logit_txt = tc_decoder_logits(g, &v->txt_dec, st);
    o->logit_img = tc_decoder_logits(g, &v->img_dec, si);
    o->lp_txt = tc_log_softmax(g, o->logit_txt);
    o->lp_img = tc_log_softmax(g, o->logit_img);
    return 0;
}

/* forward + the twin's loss. The MRFR targets are the ViT features of the chosen patches, the MAFR targets
 * the raw audio frames (constants, as the twin's detached targets). */
static inline int v1_fixture_loss(v1_fixture *f, tc_graph *g, v1_outputs *o) {
    if (v1_fixture_forward(f, g, o) != 0) return -1;
    const tc_model_config *c = &f->m.cfg;
    int N = tc_opt_v1_of(&f->m)->n_patches, Dv = c->vit_hidden_size, Da = c->audio_dim;
    const float *vit_out = v1_f32(f, "vit.out");
    /* image rows in the compact sequence -> patch rows (b·(N+1) + j) of the ViT output */
    float *ti = tc_graph_alloc(g, sizeof(float) * (size_t)f->n_img * Dv);
    float *ta = tc_graph_alloc(g, sizeof(float) * (size_t)f->n_aud * Da);
    for (int i = 0; i < f->n_img; i++) {
        int b = f->img_rows[i] / o->S, s = f->img_rows[i] % o->S, lt = 0;
        while (lt < f->Tt && f->txt_valid[b * f->Tt + lt] != 0) lt++;
        memcpy(ti + (long)i * Dv, vit_out + ((long)b * (N + 1) + (s - lt)) * Dv, sizeof(float) * (size_t)Dv);
    }
    for (int i = 0; i < f->n_aud; i++) {
        int b = f->aud_rows[i] / o->S, s = f->aud_rows[i] % o->S, lt = 0;
        while (lt < f->Tt && f->txt_valid[b * f->Tt + lt] != 0) lt++;
        memcpy(ta + (long)i * Da, f->audio + ((long)b * f->Ta + (s - lt - N)) * Da, sizeof(float) * (size_t)Da);
    }
    int si[2] = {f->n_img, Dv}, sa[2] = {f->n_aud, Da};
    o->l_itm = tc_cross_entropy(g, o->itm, f->itm_t, -100, 0.f, TC_REDUCE_MEAN);
    o->l_mlm = tc_cross_entropy(g, o->mlm, f->mlm_t, -100, 0.f, TC_REDUCE_MEAN);
    o->l_mrfr = tc_mse(g, o->mrfr, tc_from_data(g, ti, 2, si), TC_REDUCE_MEAN);
    o->l_mafr = tc_mse(g, o->mafr, tc_from_data(g, ta, 2, sa), TC_REDUCE_MEAN);
    o->l_mrc = tc_cross_entropy(g, o->mrc, f->mrc_t, -100, 0.f, TC_REDUCE_MEAN);
    tc_opt_v1 *v = tc_opt_v1_of(&f->m);
    o->l_txt = tc_decoder_loss(g, &v->txt_dec, o->logit_txt, f->tgt_txt, f->w_txt, c->label_smoothing);
    o->l_img = tc_decoder_loss(g, &v->img_dec, o->logit_img, f->tgt_img, f->w_img, c->label_smoothing);
    tc_tensor *parts[7] = {o->l_itm, o->l_mlm, o->l_mrfr, o->l_mafr, o->l_mrc, o->l_txt, o->l_img};
    o->loss = parts[0];
    for (int i = 1; i < 7; i++) o->loss = tc_add(g, o->loss, parts[i]);
    return 0;
}

#endif
