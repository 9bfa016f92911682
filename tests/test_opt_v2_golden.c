/* OPT-v2 against its PyTorch twin (ref/twin_opt_v2.py): the tiny model's .ckpt (original names, word table
 * under its alias, int32 position_ids, scalar temperatures) loads with nothing missing or unexpected, and
 * every block's activations, the heads, the losses and selected gradients match per tensor. Padded query
 * rows are garbage in the original (spec §1.3) and are skipped. Also: the causal (captioning) masks, and
 * the toggle test — transposing a library-layout attention.projection must change the outputs. */
#include "tc_golden_check.h"
#include "test_opt_v2_fixture.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"

/* use_valid: skip the padded text rows (f->valid) */
static void cmp(v2_fixture *f, const char *name, const tc_tensor *x, int use_valid, double rtol, double atol) {
    tc_golden_check(f->gold, name, x, use_valid ? f->valid : NULL, rtol, atol);
}

static void cmp_grad(v2_fixture *f, const char *pname, double rtol, double atol) {
    char key[300];
    snprintf(key, sizeof key, "grad.%s", pname);
    const tc_golden_rec *r = tc_golden_find(f->gold, key);
    tc_param *p = tc_params_find(&f->m.params, pname);
    TC_CHECK(r && p, "%s: golden or parameter missing", pname);
    if (!r || !p) return;
    TC_CHECK((long)p->numel == r->numel, "%s: %zu vs %ld", pname, p->numel, r->numel);
    if ((long)p->numel == r->numel) TC_CHECK_ARRAY_CLOSE(key, p->t.grad, r->data, r->numel, rtol, atol);
}

static void test_load_report(void) {
    tc_model_config cfg;
    tc_model m;
    TC_CHECK(tc_model_config_load(V2_DIR "/config.json", &cfg) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_create(&m, &cfg, 7) == 0, "%s", tc_error_get());
    tc_load_report rep;
    TC_CHECK(tc_model_load_weights(&m, V2_DIR "/tiny.ckpt", 1, &rep) == 0, "%s", tc_error_get());
    /* the stored alias name of the word table stays in the file next to its canonical alias: the only extra */
    TC_CHECK(rep.n_unexpected == 1 && strcmp(rep.unexpected[0], "cls.predictions.decoder.weight") == 0,
             "unexpected: %d (%s)", rep.n_unexpected, rep.n_unexpected ? rep.unexpected[0] : "");
    TC_CHECK(rep.n_missing == 0 && rep.n_mismatched == 0 && rep.loaded == m.params.n,
             "loaded %d of %d, missing %d unexpected %d mismatched %d", rep.loaded, m.params.n, rep.n_missing,
             rep.n_unexpected, rep.n_mismatched);
    tc_load_report_free(&rep);
    tc_opt_v2 *v = tc_opt_v2_of(&m);
    TC_CHECK(v->position_ids->data[5] == 5.f, "position_ids[5] = %g", v->position_ids->data[5]);
    TC_CHECK_CLOSE(v->clip_temp->data[0], log(1 / 0.07), 1e-6, 1e-6);
    tc_model_free(&m);
}

int main(void) {
    test_load_report();
    v2_fixture f;
    if (v2_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v2 fixture");
        return tc_test_summary("opt_v2_golden");
    }
    tc_model *m = &f.m;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    const tc_model_config *c = &m->cfg;
    tc_graph *g = tc_graph_new();

    /* ---- block by block (inference mode) */
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *x = tc_opt_v2_vit_embed(g, m, f.pixels, f.B, f.S);
    TC_CHECK(x != NULL, "%s", tc_error_get());
    cmp(&f, "vit.embed", x, 0, 1e-5, 1e-5);
    x = tc_nn_layernorm_fwd(g, &v->pre_ln, x);
    for (int i = 0; i < c->vit_num_layers; i++) {
        char k[64];
        snprintf(k, sizeof k, "vit.layer.%d", i);
        x = tc_nn_block_fwd(g, &v->vit[i], x, NULL, 0, NULL, NULL);
        cmp(&f, k, x, 0, 1e-4, 1e-4);
    }
    tc_tensor *img = tc_nn_layernorm_fwd(g, &v->post_ln, x);
    cmp(&f, "vit.out", img, 0, 1e-4, 1e-4);
    x = tc_opt_v2_text_embed(g, m, f.ids, f.B, f.T);
    cmp(&f, "text.emb", x, 1, 1e-5, 1e-5);
    for (int i = 0; i < c->text_num_layers; i++) {
        char k[64];
        snprintf(k, sizeof k, "text.layer.%d", i);
        x = tc_nn_block_fwd(g, &v->text_enc.blocks[i], x, f.valid, 0, NULL, NULL);
        cmp(&f, k, x, 1, 1e-4, 1e-4);
    }
    for (int i = 0; i < c->num_hidden_layers; i++) {
        char k[64];
        snprintf(k, sizeof k, "fusion.layer.%d", i);
        x = tc_nn_block_fwd(g, &v->fusion.blocks[i], x, f.valid, 0, img, NULL);
        cmp(&f, k, x, 1, 1e-4, 1e-4);
    }

    /* ---- causal (captioning) masks in the text encoder and the fusion */
    tc_graph_reset(g);
    tc_tensor *t = tc_opt_v2_text(g, m, f.ids, f.valid, f.B, f.T, 1);
    cmp(&f, "causal.text.layer.1", t, 1, 1e-4, 1e-4);
    img = tc_opt_v2_vit(g, m, f.pixels, f.B, f.S);
    tc_tensor *fc = tc_opt_v2_fusion(g, m, t, f.valid, img, 1);
    cmp(&f, "causal.fusion.layer.1", fc, 1, 1e-4, 1e-4);

    /* ---- the embed path: last ViT layer for the class token only */
    tc_graph_reset(g);
    cmp(&f, "itc.img", tc_opt_v2_image_embed(g, m, f.pixels, f.B, f.S), 0, 1e-4, 1e-5);

    /* ---- batch helpers: one graph, and (2 threads) one single-threaded slice per worker: same numbers */
    for (int threads = 1; threads <= 2; threads++) {
        int keep_threads = tc_get_threads();
        tc_set_threads(threads);
        int E = c->itc_dim;
        float *emb = calloc((size_t)f.B * E, sizeof *emb);
        TC_CHECK(tc_opt_v2_embed_images(m, f.pixels, f.B, f.S, emb) == 0, "%s", tc_error_get());
        TC_CHECK_ARRAY_CLOSE("embed_images", emb, tc_golden_f32(f.gold, "itc.img", NULL), (long)f.B * E, 1e-4, 1e-5);
        TC_CHECK(tc_opt_v2_embed_texts(m, f.ids, f.valid, f.B, f.T, emb) == 0, "%s", tc_error_get());
        TC_CHECK_ARRAY_CLOSE("embed_texts", emb, tc_golden_f32(f.gold, "itc.txt", NULL), (long)f.B * E, 1e-4, 1e-5);
        int32_t *bad = malloc((size_t)f.B * f.T * sizeof *bad);
        memcpy(bad, f.ids, (size_t)f.B * f.T * sizeof *bad);
        bad[(f.B - 1) * f.T + 1] = c->vocab_size; /* last sample: from a worker when threads = 2 */
        TC_CHECK(tc_opt_v2_embed_texts(m, bad, f.valid, f.B, f.T, emb) != 0 && strstr(tc_error_get(), "token id"),
                 "bad id through the helper: %s", tc_error_get());
        TC_CHECK(tc_get_threads() == threads, "thread count not restored: %d", tc_get_threads());
        free(bad);
        free(emb);
        tc_set_threads(keep_threads);
    }

    /* ---- whole model with gradients: heads, losses, parameter gradients */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&m->params);
    v2_outputs o;
    TC_CHECK(v2_fixture_loss(&f, g, &o) == 0, "%s", tc_error_get());
    cmp(&f, "vit.out", o.img, 0, 1e-4, 1e-4);
    cmp(&f, "fusion.layer.1", o.fused, 1, 1e-4, 1e-4);
    cmp(&f, "itc.img", o.itc_img, 0, 1e-4, 1e-5);
    cmp(&f, "itc.txt", o.itc_txt, 0, 1e-4, 1e-5);
    cmp(&f, "itc.scale", o.scale, 0, 1e-6, 0);
    cmp(&f, "itm.logits", o.itm, 0, 1e-4, 1e-4);
    cmp(&f, "mlm.logits", o.mlm, 0, 1e-4, 1e-3);
    cmp(&f, "loss.itc", o.l_itc, 0, 1e-5, 1e-5);
    cmp(&f, "loss.itm", o.l_itm, 0, 1e-5, 1e-5);
    cmp(&f, "loss.mlm", o.l_mlm, 0, 1e-5, 1e-4);
    cmp(&f, "loss.total", o.loss, 0, 1e-5, 1e-4);
    tc_tensor *pooled = tc_opt_v2_pooler(g, m, o.fused);
    cmp(&f, "pooler", pooled, 0, 1e-4, 1e-4);
    tc_backward(g, o.loss);
    static const char *const grads[] = {
        "uniter.embeddings.word_embeddings.embedding_table", "uniter.embeddings.layernorm.gamma",
        "uniter.embeddings.encoder.blocks.1.output.mapping.weight",
        "uniter.embeddings.encoder.blocks.0.attention.projection.weight",
        "uniter.img_embeddings.vit.patch_embed.weight", "uniter.img_embeddings.vit.class_embedding",
        "uniter.img_embeddings.vit.pos_embed.embedding_table",
        "uniter.img_embeddings.vit.encoder.layers.0.self_attn.q_proj.weight",
        "uniter.img_embeddings.vit.encoder.layers.1.mlp.fc1.bias", "uniter.img_embeddings.vit.post_layernorm.gamma",
        "uniter.encoder.decoder.blocks.0.cross_attention.dense2.weight",
        "uniter.encoder.decoder.blocks.1.cross_attention_layernorm.beta", "cls.predictions.decoder.bias",
        "itm_head_two.0.weight", "itm_head_two.1.gamma", "text_proj.weight", "vision_proj.bias",
        "clip_loss.clip_temp",
    };
    for (size_t i = 0; i < sizeof grads / sizeof grads[0]; i++) cmp_grad(&f, grads[i], 1e-3, 1e-5);

    /* ---- toggle: the library layout stores attention.projection in×out; using it transposed must show */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *w = v->fusion.blocks[0].attn.proj.w;
    int d = w->shape[0];
    float *wt = malloc((size_t)d * d * sizeof *wt), *keep = malloc((size_t)d * d * sizeof *keep);
    memcpy(keep, w->data, (size_t)d * d * sizeof *keep);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) wt[i * d + j] = keep[j * d + i];
    memcpy(w->data, wt, (size_t)d * d * sizeof *wt);
    v2_outputs o2;
    TC_CHECK(v2_fixture_loss(&f, g, &o2) == 0, "%s", tc_error_get());
    const float *want = tc_golden_f32(f.gold, "itm.logits", NULL);
    double maxdiff = 0;
    for (int i = 0; i < 4; i++) maxdiff = fmax(maxdiff, fabs(o2.itm->data[i] - want[i]));
    TC_CHECK(maxdiff > 1e-2, "transposed attention.projection changed ITM logits by only %g", maxdiff);
    memcpy(w->data, keep, (size_t)d * d * sizeof *keep);
    free(wt);
    free(keep);

    tc_graph_free(g);
    v2_fixture_close(&f);
    return tc_test_summary("opt_v2_golden");
}
