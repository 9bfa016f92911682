/* Shared by the opt-v2 tests: the tiny golden model of ref/twin_opt_v2.py (tests/data/opt_v2/{config.json,
 * tiny.ckpt, golden.bin}) and the pretraining-style loss ITC + ITM + MLM on its inputs. */
#ifndef TEST_OPT_V2_FIXTURE_H
#define TEST_OPT_V2_FIXTURE_H

#include "model/opt_v2.h"
#include "tc_golden.h"
#include "tc_test.h"

#define V2_DIR TAICHU_TEST_DATA "/opt_v2"

typedef struct v2_fixture {
    tc_model m;
    tc_golden *gold;
    const float *pixels, *valid;
    const int32_t *ids, *mlm_rows, *mlm_targets, *itm_targets;
    int B, T, S, n_mlm;
} v2_fixture;

static inline int v2_fixture_open(v2_fixture *f) {
    memset(f, 0, sizeof *f);
    f->gold = tc_golden_load(V2_DIR "/golden.bin");
    if (!f->gold) return -1;
    tc_model_config cfg;
    if (tc_model_config_load(V2_DIR "/config.json", &cfg) != 0 || tc_model_create(&f->m, &cfg, 1) != 0 ||
        tc_model_load_weights(&f->m, V2_DIR "/tiny.ckpt", 1, NULL) != 0) {
        fprintf(stderr, "opt-v2 fixture: %s\n", tc_error_get());
        return -1;
    }
    const tc_golden_rec *ids = tc_golden_find(f->gold, "in.ids");
    const tc_golden_rec *px = tc_golden_find(f->gold, "in.pixels");
    const tc_golden_rec *rows = tc_golden_find(f->gold, "in.mlm_rows");
    if (!ids || !px || !rows) return -1;
    f->B = ids->shape[0];
    f->T = ids->shape[1];
    f->S = px->shape[2];
    f->n_mlm = (int)rows->numel;
    f->ids = ids->data;
    f->pixels = px->data;
    f->valid = tc_golden_f32(f->gold, "in.valid", NULL);
    f->mlm_rows = rows->data;
    f->mlm_targets = tc_golden_i32(f->gold, "in.mlm_targets", NULL);
    f->itm_targets = tc_golden_i32(f->gold, "in.itm_targets", NULL);
    return 0;
}

static inline void v2_fixture_close(v2_fixture *f) {
    tc_model_free(&f->m);
    tc_golden_free(f->gold);
}

typedef struct v2_outputs {
    tc_tensor *img, *txt, *fused, *itc_img, *itc_txt, *scale, *itm, *mlm, *l_itc, *l_itm, *l_mlm, *loss;
} v2_outputs;

/* The whole model through the public forward API, and loss = ITC (symmetric InfoNCE) + ITM CE + MLM CE. */
static inline int v2_fixture_loss(v2_fixture *f, tc_graph *g, v2_outputs *o) {
    tc_model *m = &f->m;
    o->img = tc_opt_v2_vit(g, m, f->pixels, f->B, f->S);
    o->txt = tc_opt_v2_text(g, m, f->ids, f->valid, f->B, f->T, 0);
    if (!o->img || !o->txt) return -1;
    o->fused = tc_opt_v2_fusion(g, m, o->txt, f->valid, o->img, 0);
    o->itc_img = tc_opt_v2_itc_image(g, m, o->img);
    o->itc_txt = tc_opt_v2_itc_text(g, m, o->txt);
    o->scale = tc_opt_v2_itc_scale(g, m);
    o->itm = tc_opt_v2_itm_logits(g, m, o->fused);
    o->mlm = tc_opt_v2_mlm_logits(g, m, o->fused, f->mlm_rows, f->n_mlm);
    if (!o->mlm) return -1;
    o->l_itc = tc_info_nce(g, o->itc_img, o->itc_txt, o->scale);
    o->l_itm = tc_cross_entropy(g, o->itm, f->itm_targets, -100, 0.f, TC_REDUCE_MEAN);
    o->l_mlm = tc_cross_entropy(g, o->mlm, f->mlm_targets, -100, 0.f, TC_REDUCE_MEAN);
    o->loss = tc_add(g, tc_add(g, o->l_itc, o->l_itm), o->l_mlm);
    return 0;
}

#endif
