/* OPT-v2 VQA (spec A.4) against the twin (ref/twin_opt_v2.py, whose decoder is ref/twin_opt_v1.py's): the
 * model with txt_output (dec_num_layers 2) loads the tiny .ckpt plus the txt_output-only .ckpt; the decoder
 * memory over the fused question states, teacher-forcing log-probabilities, and greedy / beam-3 answers match;
 * the loss trains the fusion through the decoder; a model without txt_output says so. */
#include "test_opt_v2_fixture.h"

#include <math.h>
#include <string.h>

int main(void) {
    tc_golden *vg = tc_golden_load(V2_DIR "/vqa_golden.bin");
    v2_fixture f; /* inputs (and the model without a decoder) */
    if (!vg || v2_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v2 VQA goldens");
        return tc_test_summary("opt_v2_vqa");
    }
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *fused0 = tc_opt_v2_fusion(g, &f.m, tc_opt_v2_text(g, &f.m, f.ids, f.valid, f.B, f.T, 0), f.valid,
                                         tc_opt_v2_vit(g, &f.m, f.pixels, f.B, f.S), 0);
    TC_CHECK(tc_opt_v2_vqa_memory(g, &f.m, fused0, f.valid) == NULL && strstr(tc_error_get(), "dec_num_layers"),
             "model without txt_output: %s", tc_error_get());

    tc_model_config cfg;
    tc_model m;
    TC_CHECK(tc_model_config_load(V2_DIR "/vqa_config.json", &cfg) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_create(&m, &cfg, 3) == 0, "%s", tc_error_get());
    tc_load_report r1, r2;
    TC_CHECK(tc_model_load_weights(&m, V2_DIR "/tiny.ckpt", 0, &r1) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_load_weights(&m, V2_DIR "/vqa_txt_output.ckpt", 0, &r2) == 0, "%s", tc_error_get());
    TC_CHECK(r1.loaded + r2.loaded == m.params.n && r2.n_unexpected == 0,
             "loaded %d + %d of %d parameters, %d unexpected in the txt_output file", r1.loaded, r2.loaded,
             m.params.n, r2.n_unexpected);
    tc_load_report_free(&r1);
    tc_load_report_free(&r2);

    /* memory and teacher forcing */
    tc_graph_reset(g);
    tc_tensor *img = tc_opt_v2_vit(g, &m, f.pixels, f.B, f.S);
    tc_tensor *fused = tc_opt_v2_fusion(g, &m, tc_opt_v2_text(g, &m, f.ids, f.valid, f.B, f.T, 0), f.valid, img, 0);
    tc_tensor *mem = tc_opt_v2_vqa_memory(g, &m, fused, f.valid);
    TC_CHECK(mem != NULL, "%s", tc_error_get());
    const float *want = tc_golden_f32(vg, "vqa.memory", NULL);
    int D = mem->shape[2];
    for (int b = 0; b < f.B; b++)
        for (int t = 0; t < f.T; t++) {
            if (f.valid[b * f.T + t] == 0) continue; /* padded rows are garbage in the original */
            char what[64];
            snprintf(what, sizeof what, "vqa.memory[%d][%d]", b, t);
            TC_CHECK_ARRAY_CLOSE(what, mem->data + ((long)b * f.T + t) * D, want + ((long)b * f.T + t) * D, D, 1e-4,
                                 1e-4);
        }
    const tc_golden_rec *tg = tc_golden_find(vg, "vqa.tgt_ids");
    int Ta = tg->shape[1];
    tc_tensor *lp = tc_opt_v2_vqa_logprobs(g, &m, mem, f.valid, tg->data, NULL, f.B, Ta);
    TC_CHECK(lp != NULL, "%s", tc_error_get());
    long n_lp = 0;
    const float *want_lp = tc_golden_f32(vg, "vqa.logprobs", &n_lp);
    TC_CHECK((long)tc_numel(lp) == n_lp, "logprobs: %zu vs %ld", tc_numel(lp), n_lp);
    TC_CHECK_ARRAY_CLOSE("vqa.logprobs", tc_contiguous(g, lp)->data, want_lp, n_lp, 1e-4, 2e-4);

    /* greedy and beam search answers */
    static const int beams[2] = {1, 3};
    for (int k = 0; k < 2; k++) {
        char key[64];
        snprintf(key, sizeof key, "vqa.beam%d.ids", beams[k]);
        const tc_golden_rec *gi = tc_golden_find(vg, key);
        int L = gi->shape[1] - 1;
        tc_beam_cfg bc = tc_beam_cfg_default();
        bc.beam = beams[k];
        bc.max_len = L;
        int32_t *ids = calloc((size_t)f.B * (L + 1), sizeof *ids);
        float score[8];
        int len[8];
        TC_CHECK(tc_opt_v2_vqa_answer(g, &m, f.pixels, f.S, f.ids, f.valid, f.B, f.T, &bc, ids, score, len) == 0, "%s",
                 tc_error_get());
        TC_CHECK(memcmp(ids, gi->data, (size_t)f.B * (L + 1) * sizeof *ids) == 0, "beam %d: ids differ from the twin",
                 beams[k]);
        snprintf(key, sizeof key, "vqa.beam%d.score", beams[k]);
        const float *ws = tc_golden_f32(vg, key, NULL);
        snprintf(key, sizeof key, "vqa.beam%d.len", beams[k]);
        const int32_t *wl = tc_golden_i32(vg, key, NULL);
        for (int b = 0; b < f.B; b++) {
            TC_CHECK_CLOSE(score[b], ws[b], 1e-4, 1e-4);
            TC_CHECK(len[b] == wl[b], "beam %d input %d: length %d vs %d", beams[k], b, len[b], wl[b]);
        }
        free(ids);
    }

    /* VQA fine-tuning trains through the decoder into the fusion and both towers */
    tc_graph_reset(g);
    tc_graph_set_mode(g, 1, 0, 0, 0);
    tc_params_zero_grad(&m.params);
    img = tc_opt_v2_vit(g, &m, f.pixels, f.B, f.S);
    fused = tc_opt_v2_fusion(g, &m, tc_opt_v2_text(g, &m, f.ids, f.valid, f.B, f.T, 0), f.valid, img, 0);
    mem = tc_opt_v2_vqa_memory(g, &m, fused, f.valid);
    tc_tensor *h = tc_decoder_states(g, &tc_opt_v2_of(&m)->vqa, tg->data, NULL, f.B, Ta, mem, f.valid);
    tc_backward(g, tc_decoder_loss(g, &tc_opt_v2_of(&m)->vqa, tc_decoder_logits(g, &tc_opt_v2_of(&m)->vqa, h),
                                   tg->data, NULL, 0.1f));
    static const char *const reach[] = {"txt_output.LinearEmbedding.weight", "txt_output.tfm_decoder.blocks.1.output.mapping.weight",
                                        "uniter.encoder.decoder.blocks.0.cross_attention.dense3.weight",
                                        "uniter.embeddings.encoder.blocks.0.attention.dense1.weight",
                                        "uniter.img_embeddings.vit.encoder.layers.0.mlp.fc2.weight"};
    for (int i = 0; i < 5; i++) {
        const tc_param *p = tc_params_find(&m.params, reach[i]);
        int nz = 0;
        for (size_t j = 0; p && j < p->numel && !nz; j++) nz = p->t.grad[j] != 0.f;
        TC_CHECK(nz, "%s: no gradient from the VQA loss", reach[i]);
    }

    tc_graph_free(g);
    tc_model_free(&m);
    v2_fixture_close(&f);
    tc_golden_free(vg);
    return tc_test_summary("opt_v2_vqa");
}
