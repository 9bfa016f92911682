/* OPT-v1 batching: padding is invisible. Each sample of the golden batch (different text and audio lengths,
 * so different compact lengths and padding) run alone gives the same ITM logits, MLM logits and decoder
 * log-probabilities as inside the batch, and batched greedy / beam search gives each sample the ids it gets
 * alone. Also the opt-v1-tiny preset end to end (fbank-sized audio, full vocabulary): builds, captions
 * deterministically, and its text decoder never emits an id past vocab_limit. */
#include "test_opt_v1_fixture.h"

#include <math.h>

typedef struct one_out {
    float itm[TC_OPT_V1_ITM_CLASSES];
    float *mlm0;      /* MLM logits of the sample's first text token after [CLS] */
    int32_t ids[3][16]; /* greedy, beam 3, beam 4 over the tri-modal memory */
} one_out;

/* Forward sample(s) [b0, b0 + nb) of the fixture. */
static int run(v1_fixture *f, tc_graph *g, int b0, int nb, one_out *out) {
    tc_model *m = &f->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int R = f->R, Pd = v->patch_dim, Tt = f->Tt, Ta = f->Ta, Da = m->cfg.audio_dim, V = m->cfg.vocab_size;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *vit = tc_opt_v1_vit(g, m, f->patches + (long)b0 * R * Pd, nb, R);
    tc_tensor *txt = tc_opt_v1_text_embed(g, m, f->ids + (long)b0 * Tt, f->txt_valid + (long)b0 * Tt, nb, Tt);
    tc_tensor *aud = tc_opt_v1_audio_embed(g, m, f->audio + (long)b0 * Ta * Da, f->aud_valid + (long)b0 * Ta, nb, Ta,
                                           TC_V1_MASK_ROW0, NULL);
    if (!vit || !txt || !aud) return -1;
    tc_tensor *img = tc_opt_v1_img_embed(g, m, vit, TC_V1_MASK_ROW0, NULL);
    float *valid;
    int S;
    tc_tensor *x = tc_opt_v1_gather(g, txt, f->txt_valid + (long)b0 * Tt, img, v->n_patches, aud,
                                    f->aud_valid + (long)b0 * Ta, &valid, &S);
    if (!x) return -1;
    tc_tensor *h = tc_opt_v1_encoder(g, m, x, valid);
    tc_tensor *itm = tc_opt_v1_itm(g, m, tc_opt_v1_pooler(g, m, h));
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)nb);
    for (int b = 0; b < nb; b++) rows[b] = b * S + 1;
    tc_tensor *mlm = tc_opt_v1_mlm(g, m, h, rows, nb);
    for (int b = 0; b < nb; b++) {
        memcpy(out[b].itm, itm->data + b * TC_OPT_V1_ITM_CLASSES, sizeof out[b].itm);
        out[b].mlm0 = malloc(sizeof(float) * (size_t)V);
        memcpy(out[b].mlm0, mlm->data + (long)b * V, sizeof(float) * (size_t)V);
    }
    static const int beams[3] = {1, 3, 4};
    for (int s = 0; s < 3; s++) {
        /* the search resets g: rebuild the memory each time from a fresh forward */
        if (s > 0) {
            tc_graph_reset(g);
            vit = tc_opt_v1_vit(g, m, f->patches + (long)b0 * R * Pd, nb, R);
            txt = tc_opt_v1_text_embed(g, m, f->ids + (long)b0 * Tt, f->txt_valid + (long)b0 * Tt, nb, Tt);
            aud = tc_opt_v1_audio_embed(g, m, f->audio + (long)b0 * Ta * Da, f->aud_valid + (long)b0 * Ta, nb, Ta,
                                        TC_V1_MASK_ROW0, NULL);
            img = tc_opt_v1_img_embed(g, m, vit, TC_V1_MASK_ROW0, NULL);
            x = tc_opt_v1_gather(g, txt, f->txt_valid + (long)b0 * Tt, img, v->n_patches, aud,
                                 f->aud_valid + (long)b0 * Ta, &valid, &S);
            h = tc_opt_v1_encoder(g, m, x, valid);
        }
        tc_tensor *mem = tc_decoder_memory(g, &v->txt_dec, h, valid);
        tc_beam_cfg c = tc_beam_cfg_default();
        c.beam = beams[s], c.max_len = 9;
        int32_t ids[4 * 16];
        if (tc_beam_search(g, &v->txt_dec, mem, valid, &c, ids, NULL, NULL) != 0) return -1;
        for (int b = 0; b < nb; b++) memcpy(out[b].ids[s], ids + b * 10, sizeof(int32_t) * 10);
    }
    return 0;
}

static void test_padding_invisible(void) {
    v1_fixture f;
    if (v1_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v1 fixture");
        return;
    }
    tc_graph *g = tc_graph_new();
    one_out all[2], one[2];
    memset(all, 0, sizeof all), memset(one, 0, sizeof one);
    TC_CHECK(run(&f, g, 0, 2, all) == 0, "batch: %s", tc_error_get());
    for (int b = 0; b < 2; b++) TC_CHECK(run(&f, g, b, 1, &one[b]) == 0, "sample %d: %s", b, tc_error_get());
    for (int b = 0; b < 2; b++) {
        char k[64];
        snprintf(k, sizeof k, "itm sample %d", b);
        TC_CHECK_ARRAY_CLOSE(k, all[b].itm, one[b].itm, TC_OPT_V1_ITM_CLASSES, 1e-4, 1e-5);
        snprintf(k, sizeof k, "mlm sample %d", b);
        if (all[b].mlm0 && one[b].mlm0) TC_CHECK_ARRAY_CLOSE(k, all[b].mlm0, one[b].mlm0, f.m.cfg.vocab_size, 1e-4, 1e-4);
        for (int s = 0; s < 3; s++)
            for (int t = 0; t < 10; t++)
                TC_CHECK(all[b].ids[s][t] == one[b].ids[s][t], "search %d sample %d pos %d: batch %d alone %d", s, b, t,
                         all[b].ids[s][t], one[b].ids[s][t]);
        free(all[b].mlm0), free(one[b].mlm0);
    }
    tc_graph_free(g);
    v1_fixture_close(&f);
}

static void test_tiny_preset(void) {
    tc_model_config cfg;
    TC_CHECK(tc_model_config_preset("opt-v1-tiny", &cfg) == 0, "%s", tc_error_get());
    tc_model m;
    TC_CHECK(tc_model_create(&m, &cfg, 3) == 0, "%s", tc_error_get());
    if (!m.impl) return;
    tc_opt_v1 *v = tc_opt_v1_of(&m);
    TC_CHECK(tc_params_find(&m.params, "uniter.audio_embeddings.audio_linear.weight")->t.shape[1] == cfg.audio_dim,
             "audio_linear must take audio_dim inputs");
    TC_CHECK(v->img_mask.table->data[0] == 0 && v->img_mask.table->data[cfg.vit_hidden_size] != 0,
             "mask_embedding row 0 zero, row 1 random");
    TC_CHECK(tc_opt_v1_release_grad_pages(&m) > 0 || m.params.total * sizeof(float) < 8192, "grad pages released");
    tc_params_zero_grad(&m.params); /* the slab stays usable */
    int N = v->n_patches, Pd = v->patch_dim, B = 2;
    float *p = calloc((size_t)B * (N + 1) * Pd, sizeof(float));
    for (int b = 0; b < B; b++)
        for (long i = 0; i < (long)N * Pd; i++) p[(long)b * (N + 1) * Pd + i] = sinf(0.37f * (float)i + b);
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_beam_cfg c = tc_beam_cfg_default();
    c.beam = 2, c.max_len = 6, c.vocab_limit = 100;
    int32_t a[2 * 7], b2[2 * 7];
    TC_CHECK(tc_opt_v1_caption(g, &m, p, B, &c, a, NULL) == 0, "%s", tc_error_get());
    TC_CHECK(tc_opt_v1_caption(g, &m, p, B, &c, b2, NULL) == 0, "%s", tc_error_get());
    for (int i = 0; i < B * 7; i++) {
        TC_CHECK(a[i] == b2[i], "caption not deterministic at %d", i);
        TC_CHECK(a[i] >= 0 && a[i] < 100, "id %d past vocab_limit", a[i]);
    }
    TC_CHECK(a[0] == 0 && a[7] == 0, "sequences start with BOS 0");
    /* fbank-sized audio through the audio path */
    int Ta = 4;
    float *au = calloc((size_t)B * Ta * cfg.audio_dim, sizeof(float));
    float av[8] = {1, 1, 1, 1, 1, 1, 0, 0};
    tc_graph_reset(g);
    tc_tensor *e = tc_opt_v1_audio_embed(g, &m, au, av, B, Ta, TC_V1_MASK_ROW1, NULL);
    TC_CHECK(e && e->shape[0] == B && e->shape[1] == Ta && e->shape[2] == cfg.hidden_size, "audio embed shape");
    free(au);
    free(p);
    tc_graph_free(g);
    tc_model_free(&m);
}

/* the task helpers equal their compositions; zero-shot rank = ITM class 2 */
static void test_helpers(void) {
    v1_fixture f;
    if (v1_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v1 fixture");
        return;
    }
    tc_model *m = &f.m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int B = f.B, N = v->n_patches;
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_opt_v1_rank_from_itm(m);
    tc_tensor *itm = NULL, *rank = tc_opt_v1_match(g, m, f.ids, f.txt_valid, B, f.Tt, f.patches, &itm);
    TC_CHECK(rank && itm, "%s", tc_error_get());
    /* the same by hand: text + image (row 0), no audio */
    tc_tensor *t = tc_opt_v1_text_embed(g, m, f.ids, f.txt_valid, B, f.Tt);
    tc_tensor *e = tc_opt_v1_img_embed(g, m, tc_opt_v1_vit(g, m, f.patches, B, N + 1), TC_V1_MASK_ROW0, NULL);
    float *cv;
    tc_tensor *x = tc_opt_v1_gather(g, t, f.txt_valid, e, N, NULL, NULL, &cv, NULL);
    tc_tensor *itm2 = tc_opt_v1_itm(g, m, tc_opt_v1_pooler(g, m, tc_opt_v1_encoder(g, m, x, cv)));
    if (rank && itm) {
        TC_CHECK_ARRAY_CLOSE("match itm", itm->data, itm2->data, B * TC_OPT_V1_ITM_CLASSES, 1e-6, 1e-6);
        for (int b = 0; b < B; b++)
            TC_CHECK_CLOSE(rank->data[b], itm->data[b * TC_OPT_V1_ITM_CLASSES + TC_OPT_V1_ZERO_SHOT_CLASS], 1e-5, 1e-5);
    }
    /* VQA: question = the text ids without [CLS]/[SEP] here simply the fixture ids; by hand vs helper */
    tc_beam_cfg c = tc_beam_cfg_default();
    c.beam = 2, c.max_len = 7;
    int32_t a[2 * 8], b2[2 * 8];
    TC_CHECK(tc_opt_v1_vqa(g, m, f.ids, f.txt_valid, B, f.Tt, f.patches, TC_V1_MASK_NONE, &c, a, NULL) == 0, "%s",
             tc_error_get());
    tc_graph_reset(g);
    t = tc_opt_v1_text_embed(g, m, f.ids, f.txt_valid, B, f.Tt);
    e = tc_opt_v1_img_embed(g, m, tc_opt_v1_vit(g, m, f.patches, B, N + 1), TC_V1_MASK_NONE, NULL);
    x = tc_opt_v1_gather(g, t, f.txt_valid, e, N, NULL, NULL, &cv, NULL);
    tc_tensor *mem = tc_decoder_memory(g, &v->txt_dec, tc_opt_v1_encoder(g, m, x, cv), cv);
    TC_CHECK(tc_beam_search(g, &v->txt_dec, mem, cv, &c, b2, NULL, NULL) == 0, "%s", tc_error_get());
    for (int i = 0; i < B * 8; i++) TC_CHECK(a[i] == b2[i], "vqa ids[%d] %d vs %d", i, a[i], b2[i]);
    int32_t bad[2] = {1, -1};
    TC_CHECK(tc_opt_v1_vqa(g, m, bad, NULL, 1, 2, f.patches, TC_V1_MASK_NONE, &c, a, NULL) != 0, "bad id accepted");
    TC_CHECK(tc_opt_v1_match(g, m, bad, NULL, 1, 2, f.patches, NULL) == NULL, "bad id accepted");
    tc_graph_free(g);
    v1_fixture_close(&f);
}

int main(void) {
    test_padding_invisible();
    test_helpers();
    test_tiny_preset();
    return tc_test_summary("opt_v1_batch");
}
