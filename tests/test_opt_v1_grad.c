/* OPT-v1 backward: the twin's training-style loss (ITM + MLM + MRFR + MAFR + MRC + both decoders' smoothed
 * sequence losses) matches per term, selected gradients match the twin's, every parameter that takes part
 * gets a nonzero gradient (only rank_output is outside this loss), central finite differences agree with the
 * tape for entries of one parameter per module, and training mode turns dropout on. */
#include "test_opt_v1_fixture.h"

#include <math.h>

static float loss_value(v1_fixture *f, tc_graph *g) {
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    v1_outputs o;
    if (v1_fixture_loss(f, g, &o) != 0) return NAN;
    return o.loss->data[0];
}

int main(void) {
    v1_fixture f;
    if (v1_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v1 fixture");
        return tc_test_summary("opt_v1_grad");
    }
    tc_model *m = &f.m;
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 1, 0, 0, 0); /* gradients, no dropout: the twin's setting */
    tc_params_zero_grad(&m->params);
    v1_outputs o;
    TC_CHECK(v1_fixture_loss(&f, g, &o) == 0, "loss: %s", tc_error_get());
    if (!o.loss) return tc_test_summary("opt_v1_grad");
    struct { const char *name; tc_tensor *t; } terms[] = {
        {"loss.itm", o.l_itm}, {"loss.mlm", o.l_mlm}, {"loss.mrfr", o.l_mrfr}, {"loss.mafr", o.l_mafr},
        {"loss.mrc", o.l_mrc}, {"loss.txt_dec", o.l_txt}, {"loss.img_dec", o.l_img}, {"loss.total", o.loss},
    };
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
        const float *gv = v1_f32(&f, terms[i].name);
        if (gv) TC_CHECK_CLOSE(terms[i].t->data[0], gv[0], 1e-4, 1e-4);
    }
    tc_backward(g, o.loss);

    /* gradients against the twin (every golden grad.* record) */
    int n_grad = 0;
    for (int i = 0; i < f.gold->n; i++) {
        const tc_golden_rec *r = &f.gold->rec[i];
        if (strncmp(r->name, "grad.", 5) != 0) continue;
        tc_param *p = tc_params_find(&m->params, r->name + 5);
        TC_CHECK(p != NULL, "%s: no such parameter", r->name);
        if (!p) continue;
        TC_CHECK((long)p->numel == r->numel, "%s: %zu vs %ld", r->name, p->numel, r->numel);
        if ((long)p->numel != r->numel) continue;
        double scale = 0;
        for (long k = 0; k < r->numel; k++) scale = fmax(scale, fabs(((const float *)r->data)[k]));
        TC_CHECK_ARRAY_CLOSE(r->name, p->t.grad, (const float *)r->data, r->numel, 1e-3, 1e-4 * scale + 1e-6);
        n_grad++;
    }
    TC_CHECK(n_grad >= 25, "only %d gradient goldens", n_grad);

    /* every participating parameter receives a gradient */
    for (int i = 0; i < m->params.n; i++) {
        tc_param *p = m->params.p[i];
        double s = 0;
        for (size_t k = 0; k < p->numel; k++) s += fabs(p->t.grad[k]);
        if (strncmp(p->name, "rank_output", 11) == 0) {
            TC_CHECK(s == 0, "%s is outside the loss but got gradient %g", p->name, s);
            continue;
        }
        TC_CHECK(s > 0, "%s: zero gradient", p->name);
    }

    /* finite differences on entries of one parameter per module */
    static const struct { const char *name; long idx; } fd[] = {
        {"uniter.img_embeddings.vit.stem.patch_to_embedding.dense.weight", 17},
        {"uniter.img_embeddings.vit.encoder.blocks.1.attention.projection.weight", 5},
        {"uniter.img_embeddings.mask_embedding.embedding_table", 3},
        {"uniter.audio_embeddings.audio_linear.bias", 2},
        {"uniter.encoder.encoder.blocks.0.output.mapping.weight", 40},
        {"uniter.embeddings.word_embeddings.embedding_table", 5 * 48 + 1},
        {"feat_regress.dense.bias", 7},
        {"txt_output.LinearEmbedding.weight", 11},
        {"txt_output.tfm_decoder.blocks.0.cross_attention.dense3.weight", 9},
        {"img_output.tfm_embedding_lookup.embedding_table", 8 * 32 + 4},
    };
    for (size_t i = 0; i < sizeof fd / sizeof fd[0]; i++) {
        tc_param *p = tc_params_find(&m->params, fd[i].name);
        TC_CHECK(p != NULL && (size_t)fd[i].idx < p->numel, "%s", fd[i].name);
        if (!p || (size_t)fd[i].idx >= p->numel) continue;
        float *x = &p->t.data[fd[i].idx], x0 = *x, eps = 2e-3f;
        *x = x0 + eps;
        float lp = loss_value(&f, g);
        *x = x0 - eps;
        float lm = loss_value(&f, g);
        *x = x0;
        double num = ((double)lp - lm) / (2.0 * eps), ana = p->t.grad[fd[i].idx];
        TC_CHECK(fabs(num - ana) <= 0.03 * fabs(ana) + 0.03, "%s[%ld]: finite difference %g vs tape %g", fd[i].name,
                 fd[i].idx, num, ana);
    }

    /* training mode: dropout changes the outputs; inference mode reproduces them */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 1, 42, 0);
    v1_outputs t;
    TC_CHECK(v1_fixture_forward(&f, g, &t) == 0, "%s", tc_error_get());
    const float *gitm = v1_f32(&f, "itm.logits");
    double d = 0;
    for (int i = 0; t.itm && gitm && i < f.B * TC_OPT_V1_ITM_CLASSES; i++) d = fmax(d, fabs(t.itm->data[i] - gitm[i]));
    TC_CHECK(d > 1e-3, "dropout in training mode changed ITM logits by only %g", d);

    tc_graph_free(g);
    v1_fixture_close(&f);
    return tc_test_summary("opt_v1_grad");
}
