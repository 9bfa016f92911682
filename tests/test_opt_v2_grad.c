/* OPT-v2 training readiness and API behaviour on the tiny golden model:
 *  - backward of ITC + ITM + MLM reaches every parameter that takes part (non-zero gradient), and none of the
 *    checkpoint-only ones (pooler, itm_output, clip_temp, the position_ids buffer) — the pooler separately;
 *  - analytic gradients of selected elements of every module agree with central finite differences;
 *  - training mode (dropout) runs forward and backward;
 *  - a model directory round trip (config.json + model.safetensors) reproduces the outputs;
 *  - bad inputs give one-line errors, not crashes. */
#include "test_opt_v2_fixture.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static int unused_in_loss(const char *name) {
    return strncmp(name, "uniter.pooler.", 14) == 0 || strncmp(name, "itm_output.", 11) == 0 ||
           strcmp(name, "clip_temp") == 0 || strstr(name, "position_ids") != NULL;
}

static int any_nonzero(const tc_param *p) {
    for (size_t i = 0; i < p->numel; i++)
        if (p->t.grad[i] != 0.f) return 1;
    return 0;
}

static double loss_value(v2_fixture *f, tc_graph *g) {
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    v2_outputs o;
    if (v2_fixture_loss(f, g, &o) != 0) return NAN;
    return o.loss->data[0];
}

static void test_grads(v2_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&m->params);
    v2_outputs o;
    TC_CHECK(v2_fixture_loss(f, g, &o) == 0, "%s", tc_error_get());
    tc_backward(g, o.loss);
    int used = 0;
    for (int i = 0; i < m->params.n; i++) {
        const tc_param *p = m->params.p[i];
        if (unused_in_loss(p->name)) {
            TC_CHECK(!any_nonzero(p), "%s: gradient from a loss that does not use it", p->name);
        } else {
            TC_CHECK(any_nonzero(p), "%s: no gradient reached it", p->name);
            used++;
        }
    }
    TC_CHECK(used > 100, "only %d parameters in the loss", used);

    /* the pooler trains too when a task uses it */
    tc_graph_reset(g);
    tc_params_zero_grad(&m->params);
    TC_CHECK(v2_fixture_loss(f, g, &o) == 0, "%s", tc_error_get());
    tc_backward(g, tc_sum(g, tc_opt_v2_pooler(g, m, o.fused)));
    TC_CHECK(any_nonzero(tc_params_find(&m->params, "uniter.pooler.dense.weight")), "pooler: no gradient");
    TC_CHECK(any_nonzero(tc_params_find(&m->params, "uniter.img_embeddings.vit.patch_embed.weight")),
             "pooler loss did not reach the ViT");

    /* finite differences: one element in each kind of module */
    static const struct { const char *name; long idx; } pts[] = {
        {"clip_loss.clip_temp", 0},
        {"uniter.img_embeddings.vit.class_embedding", 3},
        {"uniter.img_embeddings.vit.pos_embed.embedding_table", 2 * 64 + 5},
        {"uniter.img_embeddings.vit.patch_embed.weight", 100},
        {"uniter.img_embeddings.vit.encoder.layers.1.layer_norm2.gamma", 7},
        {"uniter.img_embeddings.vit.encoder.layers.0.self_attn.k_proj.weight", 77},
        {"uniter.embeddings.word_embeddings.embedding_table", 17 * 64 + 3},
        {"uniter.embeddings.token_type_embeddings.embedding_table", 1},
        {"uniter.embeddings.encoder.blocks.0.attention.dense1.weight", 10},
        {"uniter.encoder.decoder.blocks.1.cross_attention.projection.weight", 123},
        {"uniter.encoder.decoder.blocks.0.output.projection.bias", 4},
        {"cls.predictions.transform.dense.weight", 300},
        {"itm_head_two.3.weight", 5},
        {"text_proj.weight", 9},
        {"vision_proj.weight", 11},
    };
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&m->params);
    TC_CHECK(v2_fixture_loss(f, g, &o) == 0, "%s", tc_error_get());
    tc_backward(g, o.loss);
    float an[sizeof pts / sizeof pts[0]];
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) an[i] = tc_params_find(&m->params, pts[i].name)->t.grad[pts[i].idx];
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        float *w = tc_params_find(&m->params, pts[i].name)->t.data + pts[i].idx;
        float keep = *w, h = 1e-2f;
        *w = keep + h;
        double lp = loss_value(f, g);
        *w = keep - h;
        double lm = loss_value(f, g);
        *w = keep;
        double fd = (lp - lm) / (2.0 * h);
        if (getenv("TC_VERBOSE")) printf("%s[%ld]: backward %.6g, finite difference %.6g\n", pts[i].name, pts[i].idx, an[i], fd);
        TC_CHECK(fabs(fd - an[i]) <= 2e-3 + 3e-2 * fabs(fd), "%s[%ld]: backward %.6g vs finite difference %.6g",
                 pts[i].name, pts[i].idx, an[i], fd);
    }
}

static void test_dropout_training(v2_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    double eval = loss_value(f, g);
    v2_outputs o;
    tc_params_zero_grad(&m->params);
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 1, 42, 3);
    TC_CHECK(v2_fixture_loss(f, g, &o) == 0, "%s", tc_error_get());
    double train = o.loss->data[0];
    tc_backward(g, o.loss);
    TC_CHECK(isfinite(train) && fabs(train - eval) > 1e-6, "training-mode loss %g vs eval %g (dropout inactive?)",
             train, eval);
    TC_CHECK(any_nonzero(tc_params_find(&m->params, "uniter.encoder.decoder.blocks.0.attention.dense3.weight")),
             "no gradient in training mode");
}

static void test_roundtrip(v2_fixture *f, tc_graph *g) {
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/taichu_v2_%d", (int)getpid());
    TC_CHECK(tc_model_save_dir(&f->m, dir, V2_DIR "/config.json", NULL) == 0, "%s", tc_error_get());
    tc_model m2;
    TC_CHECK(tc_model_load_dir(&m2, dir) == 0, "%s", tc_error_get());
    if (!m2.impl) return;
    TC_CHECK(m2.params.n == f->m.params.n, "%d vs %d parameters", m2.params.n, f->m.params.n);
    double before = loss_value(f, g);
    tc_model keep = f->m;
    f->m = m2;
    double after = loss_value(f, g);
    f->m = keep;
    TC_CHECK(before == after, "loss %.9g after the round trip, %.9g before", after, before);
    TC_CHECK(tc_model_count_params(&m2, "uniter.img_embeddings.vit.") > 0, "no ViT parameters counted");
    tc_model_free(&m2);
    char path[256];
    const char *files[] = {"config.json", "model.safetensors", "vocab.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        TC_CHECK(unlink(path) == 0, "%s was not written", path);
    }
    rmdir(dir);
}

static void test_errors(v2_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    TC_CHECK(tc_opt_v2_vit(g, m, f->pixels, 1, 16) == NULL && strstr(tc_error_get(), "train_image_size"),
             "wrong image size: %s", tc_error_get());
    int32_t bad[3] = {1, m->cfg.vocab_size, 2};
    TC_CHECK(tc_opt_v2_text(g, m, bad, NULL, 1, 3, 0) == NULL && strstr(tc_error_get(), "token id"),
             "bad id: %s", tc_error_get());
    tc_tensor *t = tc_opt_v2_text(g, m, f->ids, f->valid, f->B, f->T, 0);
    int32_t row = f->B * f->T;
    TC_CHECK(tc_opt_v2_mlm_logits(g, m, t, &row, 1) == NULL && strstr(tc_error_get(), "MLM"), "bad row: %s",
             tc_error_get());
    float *pid = tc_opt_v2_of(m)->position_ids->data;
    float keep = pid[2];
    pid[2] = 1.5f;
    TC_CHECK(tc_opt_v2_vit(g, m, f->pixels, 1, f->S) == NULL && strstr(tc_error_get(), "position_ids"),
             "bad position id: %s", tc_error_get());
    pid[2] = keep;
    TC_CHECK(tc_model_load_weights(m, V2_DIR "/absent.ckpt", 1, NULL) != 0, "absent checkpoint accepted");
    tc_model m2;
    TC_CHECK(tc_model_load_dir(&m2, V2_DIR "/no_such_dir") != 0 && strchr(tc_error_get(), '\n') == NULL,
             "missing model dir: %s", tc_error_get());
    tc_model_config cfg = m->cfg;
    cfg.vit_hidden_size = cfg.hidden_size + 8;
    TC_CHECK(tc_model_create(&m2, &cfg, 1) != 0 && strstr(tc_error_get(), "vit_hidden_size"), "%s", tc_error_get());
}

int main(void) {
    v2_fixture f;
    if (v2_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v2 fixture");
        return tc_test_summary("opt_v2_grad");
    }
    tc_graph *g = tc_graph_new();
    test_grads(&f, g);
    test_dropout_training(&f, g);
    test_roundtrip(&f, g);
    test_errors(&f, g);
    tc_graph_free(g);
    v2_fixture_close(&f);
    return tc_test_summary("opt_v2_grad");
}
