/* OPT-v1 against its PyTorch twin (ref/twin_opt_v1.py): the tiny model's .ckpt (original names, the three
 * tied tensors under their alias names) loads with nothing missing, and every block's activations, the
 * embeddings in each mask mode, the compact concatenation, the heads, both decoders' log-probabilities and the
 * ids of greedy and beam search match per tensor. Padded query rows are garbage in the original (§1.3) and
 * are skipped. Toggles: transposing a library-layout attention.projection and dropping the ViT pad patch
 * must change the outputs. The KV-cache step must reproduce the teacher-forced log-probabilities. */
#include "tc_golden_check.h"
#include "test_opt_v1_fixture.h"

#include <math.h>
#include <unistd.h>

static void cmp(v1_fixture *f, const char *name, const tc_tensor *x, const float *valid, double rtol, double atol) {
    tc_golden_check(f->gold, name, x, valid, rtol, atol);
}

static double max_abs_diff(const tc_tensor *a, const float *b, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs((double)a->data[i] - b[i]));
    return m;
}

static void test_load_report(void) {
    tc_model_config cfg;
    tc_model m;
    TC_CHECK(tc_model_config_load(V1_DIR "/config.json", &cfg) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_create(&m, &cfg, 7) == 0, "%s", tc_error_get());
    tc_load_report rep;
    TC_CHECK(tc_model_load_weights(&m, V1_DIR "/tiny.ckpt", 1, &rep) == 0, "%s", tc_error_get());
    /* the stored alias names stay in the file next to the canonical names they resolve to: the only extras */
    int aliases = 0;
    for (int i = 0; i < rep.n_unexpected; i++)
        aliases += strcmp(rep.unexpected[i], "cls.predictions.decoder.weight") == 0 ||
                   strcmp(rep.unexpected[i], "feat_regress.weight") == 0 ||
                   strcmp(rep.unexpected[i], "audio_feat_regress.weight") == 0;
    TC_CHECK(rep.n_unexpected == 3 && aliases == 3, "unexpected: %d (first %s)", rep.n_unexpected,
             rep.n_unexpected ? rep.unexpected[0] : "");
    TC_CHECK(rep.n_missing == 0 && rep.n_mismatched == 0 && rep.loaded == m.params.n,
             "loaded %d of %d, missing %d (first %s), mismatched %d", rep.loaded, m.params.n, rep.n_missing,
             rep.n_missing ? rep.missing[0] : "", rep.n_mismatched);
    tc_load_report_free(&rep);
    tc_model_free(&m);
}

static void test_blocks(v1_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    const tc_model_config *c = &m->cfg;
    int N = v->n_patches, B = f->B;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    /* ViT stage by stage */
    int xs[3] = {B, f->R, v->patch_dim}, ps[2] = {N + 1, c->vit_hidden_size};
    tc_tensor *x = tc_nn_linear_fwd(g, &v->stem, tc_from_data(g, f->patches, 3, xs));
    x = tc_add_rows(g, x, tc_reshape(g, v->vit_pos, 2, ps));
    cmp(f, "vit.embed", x, NULL, 1e-5, 1e-5);
    for (int i = 0; i < v->vit.n; i++) {
        char k[64];
        snprintf(k, sizeof k, "vit.block.%d", i);
        x = tc_nn_block_fwd(g, &v->vit.blocks[i], x, NULL, 0, NULL, NULL);
        cmp(f, k, x, NULL, 1e-4, 1e-4);
    }
    cmp(f, "vit.out", tc_nn_layernorm_fwd(g, &v->vit_norm, x), NULL, 1e-4, 1e-4);

    /* everything through the public API */
    v1_outputs o;
    TC_CHECK(v1_fixture_forward(f, g, &o) == 0, "forward: %s", tc_error_get());
    if (!o.x) return;
    cmp(f, "vit.out", o.vit, NULL, 1e-4, 1e-4);
    cmp(f, "text.emb", o.txt, NULL, 1e-5, 1e-5);
    cmp(f, "img.emb", o.img, NULL, 1e-4, 1e-4);
    cmp(f, "audio.emb", o.aud, NULL, 1e-5, 1e-5);
    cmp(f, "img.emb_none", tc_opt_v1_img_embed(g, m, o.vit, TC_V1_MASK_NONE, NULL), NULL, 1e-4, 1e-4);
    cmp(f, "img.emb_row1", tc_opt_v1_img_embed(g, m, o.vit, TC_V1_MASK_ROW1, NULL), NULL, 1e-4, 1e-4);
    /* per-row mask indices: all ones equals row 1 everywhere */
    int32_t *ones = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * f->R);
    for (int i = 0; i < B * f->R; i++) ones[i] = 1;
    cmp(f, "img.emb_row1", tc_opt_v1_img_embed(g, m, o.vit, TC_V1_MASK_ROWS, ones), NULL, 1e-4, 1e-4);
    cmp(f, "audio.emb_none",
        tc_opt_v1_audio_embed(g, m, f->audio, f->aud_valid, B, f->Ta, TC_V1_MASK_NONE, NULL), NULL, 1e-5, 1e-5);
    /* compact concatenation: same length, same validity, same valid rows */
    const tc_golden_rec *gvr = tc_golden_find(f->gold, "gather.valid");
    TC_CHECK(gvr && gvr->shape[1] == o.S, "compact length %d vs golden %d", o.S, gvr ? gvr->shape[1] : -1);
    if (!gvr || gvr->shape[1] != o.S) return;
    const float *gvalid = gvr->data;
    for (int i = 0; i < B * o.S; i++) TC_CHECK(o.valid[i] == gvalid[i], "gather valid[%d] %g vs %g", i, o.valid[i], gvalid[i]);
    cmp(f, "gather.x", o.x, gvalid, 1e-5, 1e-4);
    x = o.x;
    for (int i = 0; i < v->enc.n; i++) {
        char k[64];
        snprintf(k, sizeof k, "enc.block.%d", i);
        x = tc_nn_block_fwd(g, &v->enc.blocks[i], x, o.valid, 0, NULL, NULL);
        cmp(f, k, x, gvalid, 1e-4, 1e-4);
    }
    cmp(f, "pooler", o.pooled, NULL, 1e-4, 1e-5);
    cmp(f, "itm.logits", o.itm, NULL, 1e-4, 1e-5);
    cmp(f, "rank.logits", o.rank, NULL, 1e-4, 1e-5);
    cmp(f, "mlm.logits", o.mlm, NULL, 1e-4, 1e-4);
    cmp(f, "mrfr.out", o.mrfr, NULL, 1e-4, 1e-4);
    cmp(f, "mafr.out", o.mafr, NULL, 1e-4, 1e-4);
    cmp(f, "mrc.logits", o.mrc, NULL, 1e-4, 1e-4);
    /* decoders */
    cmp(f, "txt_dec.memory", o.mem_txt, gvalid, 1e-4, 1e-4);
    tc_tensor *e = tc_decoder_embed(g, &v->txt_dec, f->in_txt, B, f->Tg);
    cmp(f, "txt_dec.embed", e, NULL, 1e-5, 1e-5);
    for (int i = 0; i < v->txt_dec.dec.n; i++) {
        char k[64];
        snprintf(k, sizeof k, "txt_dec.block.%d", i);
        e = tc_nn_block_fwd(g, &v->txt_dec.dec.blocks[i], e, f->w_txt, 1, o.mem_txt, o.valid);
        cmp(f, k, e, f->w_txt, 1e-4, 1e-3);
    }
    cmp(f, "txt_dec.logprobs", o.lp_txt, f->w_txt, 1e-4, 1e-3);
    cmp(f, "img_dec.logprobs", o.lp_img, f->w_img, 1e-4, 1e-3);

    /* MLM argmax over the (here small) vocabulary agrees with the golden logits' argmax */
    int32_t am[16];
    tc_opt_v1_mlm_argmax(o.mlm, am);
    const float *gl = v1_f32(f, "mlm.logits");
    for (int i = 0; i < f->n_mlm && gl; i++) {
        int best = 0;
        for (int j = 1; j < c->vocab_size; j++)
            if (gl[i * c->vocab_size + j] > gl[i * c->vocab_size + best]) best = j;
        TC_CHECK(am[i] == best, "MLM argmax %d: %d vs %d", i, am[i], best);
    }

    /* KV cache: feeding the teacher-forcing inputs one step at a time gives the same log-probs */
    tc_dec_cache cache;
    TC_CHECK(tc_dec_cache_init(&cache, g, &v->txt_dec, o.mem_txt, o.valid, 1, f->Tg) == 0, "%s", tc_error_get());
    const float *glp = v1_f32(f, "txt_dec.logprobs");
    int Vt = c->txt_dec_vocab_size;
    for (int t = 0; t < f->Tg && glp; t++) {
        int32_t step_ids[8];
        for (int b = 0; b < B; b++) step_ids[b] = f->in_txt[b * f->Tg + t];
        tc_tensor *lp = tc_dec_step(g, &v->txt_dec, &cache, step_ids);
        TC_CHECK(lp != NULL, "step %d: %s", t, tc_error_get());
        if (!lp) break;
        for (int b = 0; b < B; b++) {
            if (f->w_txt[b * f->Tg + t] == 0) continue; /* rows past the padding: garbage in teacher forcing */
            char k[64];
            snprintf(k, sizeof k, "kv step %d row %d", t, b);
            TC_CHECK_ARRAY_CLOSE(k, lp->data + (long)b * Vt, glp + ((long)b * f->Tg + t) * Vt, Vt, 1e-4, 1e-3);
        }
    }
    TC_CHECK(tc_dec_step(g, &v->txt_dec, &cache, f->in_txt) == NULL, "a full cache must refuse another step");
    tc_dec_cache_free(&cache);
}

static void check_search(v1_fixture *f, const char *name, const int32_t *ids, const float *score, const int *len, int B,
                         int L) {
    char k[96];
    snprintf(k, sizeof k, "search.%s.ids", name);
    int n = 0;
    const int32_t *gi = v1_i32(f, k, &n);
    TC_CHECK(n == B * L, "%s: %d ids vs %d", k, n, B * L);
    for (int i = 0; gi && i < n && i < B * L; i++) TC_CHECK(ids[i] == gi[i], "%s[%d]: %d vs golden %d", k, i, ids[i], gi[i]);
    snprintf(k, sizeof k, "search.%s.len", name);
    const int32_t *gl = v1_i32(f, k, NULL);
    for (int b = 0; gl && b < B; b++) TC_CHECK(len[b] == gl[b], "%s[%d]: %d vs %d", k, b, len[b], gl[b]);
    snprintf(k, sizeof k, "search.%s.score", name);
    const float *gs = v1_f32(f, k);
    if (gs) TC_CHECK_ARRAY_CLOSE(k, score, gs, B, 1e-4, 1e-3);
}

static void test_search(v1_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int B = f->B, N = v->n_patches;
    struct { const char *name; int img_dec, tri, beam, len; } runs[] = {
        {"greedy", 0, 1, 1, 12}, {"beam3", 0, 1, 3, 12}, {"beam4", 0, 1, 4, 9}, {"img_beam2", 1, 1, 2, 10},
        {"cap_greedy", 0, 0, 1, 12},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 0, 0, 0);
        tc_decoder *dd = runs[r].img_dec ? &v->img_dec : &v->txt_dec;
        tc_tensor *h;
        float *valid = NULL;
        if (runs[r].tri) {
            v1_outputs o;
            TC_CHECK(v1_fixture_forward(f, g, &o) == 0, "%s", tc_error_get());
            h = o.h, valid = o.valid;
        } else {
            h = tc_opt_v1_encode_image(g, m, f->patches, B);
            cmp(f, "cap.H", h, NULL, 1e-4, 1e-4);
        }
        tc_tensor *mem = tc_decoder_memory(g, dd, h, valid);
        if (!runs[r].tri) cmp(f, "cap.memory", mem, NULL, 1e-4, 1e-4);
        tc_beam_cfg bc = tc_beam_cfg_default();
        bc.beam = runs[r].beam, bc.max_len = runs[r].len;
        int L = bc.max_len + 1, len[8];
        int32_t ids[64];
        float score[8];
        TC_CHECK(tc_beam_search(g, dd, mem, valid, &bc, ids, score, len) == 0, "%s: %s", runs[r].name, tc_error_get());
        check_search(f, runs[r].name, ids, score, len, B, L);
    }
    /* the high-level caption call equals the cap_greedy run */
    tc_beam_cfg bc = tc_beam_cfg_default();
    bc.max_len = 12;
    int32_t ids[64];
    float score[4];
    int len[4] = {0};
    TC_CHECK(tc_opt_v1_caption(g, m, f->patches, B, &bc, ids, score) == 0, "%s", tc_error_get());
    const int32_t *gi = v1_i32(f, "search.cap_greedy.ids", NULL);
    for (int i = 0; gi && i < B * 13; i++) TC_CHECK(ids[i] == gi[i], "caption ids[%d] %d vs %d", i, ids[i], gi[i]);
    (void)len;
    (void)N;
    /* errors: beam 0, a sequence beyond the sinusoid table */
    bc.beam = 0;
    TC_CHECK(tc_opt_v1_caption(g, m, f->patches, B, &bc, ids, score) != 0, "beam 0 must be refused");
    bc.beam = 1, bc.max_len = m->cfg.dec_max_position + 1;
    TC_CHECK(tc_opt_v1_caption(g, m, f->patches, B, &bc, ids, score) != 0, "max_len past dec_max_position refused");
    TC_CHECK(strstr(tc_error_get(), "dec_max_position") != NULL, "message: %s", tc_error_get());
}

static void test_toggles(v1_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int N = v->n_patches, Dv = m->cfg.vit_hidden_size;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    /* dropping the pad patch: matches the twin's no-pad run and differs from the real rows of the padded run */
    float *p = malloc(sizeof(float) * (size_t)f->B * N * v->patch_dim);
    for (int b = 0; b < f->B; b++)
        memcpy(p + (long)b * N * v->patch_dim, f->patches + (long)b * f->R * v->patch_dim,
               sizeof(float) * (size_t)N * v->patch_dim);
    tc_tensor *nopad = tc_opt_v1_vit(g, m, p, f->B, N);
    cmp(f, "vit_nopad.out", nopad, NULL, 1e-4, 1e-4);
    const float *full = v1_f32(f, "vit.out");
    double d = 0;
    for (int b = 0; b < f->B && nopad && full; b++)
        for (long i = 0; i < (long)N * Dv; i++)
            d = fmax(d, fabs(nopad->data[(long)b * N * Dv + i] - full[(long)b * (N + 1) * Dv + i]));
    TC_CHECK(d > 1e-2, "dropping the pad patch changed the ViT output by only %g", d);
    TC_CHECK(tc_opt_v1_vit(g, m, p, f->B, N - 1) == NULL, "a wrong patch count must be refused");
    free(p);
    /* transposing the (square, in×out) attention.projection of cross-encoder block 0 changes ITM logits */
    tc_tensor *w = v->enc.blocks[0].attn.proj.w;
    int D = w->shape[0];
    const float *gitm = v1_f32(f, "itm.logits");
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < D; i++)
            for (int j = i + 1; j < D; j++) {
                float t = w->data[i * D + j];
                w->data[i * D + j] = w->data[j * D + i];
                w->data[j * D + i] = t;
            }
        if (pass == 1) break; /* restored */
        tc_graph_reset(g);
        v1_outputs o;
        TC_CHECK(v1_fixture_forward(f, g, &o) == 0, "%s", tc_error_get());
        double dd = gitm && o.itm ? max_abs_diff(o.itm, gitm, tc_numel(o.itm)) : 0;
        TC_CHECK(dd > 1e-2, "transposed attention.projection changed the ITM logits by only %g", dd);
    }
    tc_graph_reset(g);
    v1_outputs o;
    TC_CHECK(v1_fixture_forward(f, g, &o) == 0, "%s", tc_error_get());
    cmp(f, "itm.logits", o.itm, NULL, 1e-4, 1e-5);
}

static void test_errors(v1_fixture *f, tc_graph *g) {
    tc_model *m = &f->m;
    tc_graph_reset(g);
    int32_t bad[2] = {5, m->cfg.vocab_size};
    TC_CHECK(tc_opt_v1_text_embed(g, m, bad, NULL, 1, 2) == NULL, "out-of-range token id must be refused");
    TC_CHECK(strstr(tc_error_get(), "vocab_size") != NULL, "message: %s", tc_error_get());
    float holes[3] = {1, 0, 1};
    tc_tensor *t = tc_opt_v1_text_embed(g, m, bad, NULL, 1, 1);
    float *valid;
    int32_t three[3] = {1, 2, 3};
    t = tc_opt_v1_text_embed(g, m, three, NULL, 1, 3);
    TC_CHECK(tc_opt_v1_gather(g, t, holes, NULL, 0, NULL, NULL, &valid, NULL) == NULL, "validity with holes refused");
    TC_CHECK(tc_opt_v1_gather(g, NULL, NULL, NULL, 0, NULL, NULL, &valid, NULL) == NULL, "empty gather refused");
    int32_t row = 1 << 20;
    TC_CHECK(tc_opt_v1_mlm(g, m, t, &row, 1) == NULL, "head row out of range refused");
    int32_t dbad[2] = {0, m->cfg.txt_dec_vocab_size};
    TC_CHECK(tc_decoder_embed(g, &tc_opt_v1_of(m)->txt_dec, dbad, 1, 2) == NULL, "decoder id out of range refused");
}

/* config.json + model.safetensors round trip through the common handle: same parameters, same ITM logits */
static void test_dir_roundtrip(v1_fixture *f, tc_graph *g) {
    char dir[] = "/tmp/taichu_v1_dirXXXXXX";
    TC_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    TC_CHECK(tc_model_save_dir(&f->m, dir, NULL, NULL) == 0, "%s", tc_error_get());
    tc_model m2;
    TC_CHECK(tc_model_load_dir(&m2, dir) == 0, "%s", tc_error_get());
    if (m2.impl) {
        TC_CHECK(m2.params.n == f->m.params.n && m2.params.total == f->m.params.total, "parameter layout differs");
        TC_CHECK(memcmp(m2.params.data, f->m.params.data, sizeof(float) * f->m.params.total) == 0, "values differ");
        TC_CHECK(m2.cfg.arch == TC_ARCH_V1 && m2.cfg.audio_dim == f->m.cfg.audio_dim, "config differs");
        tc_model_free(&m2);
    }
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    rmdir(dir);
    (void)g;
}

int main(void) {
    test_load_report();
    v1_fixture f;
    if (v1_fixture_open(&f) != 0) {
        TC_CHECK(0, "cannot open the opt-v1 fixture");
        return tc_test_summary("opt_v1_golden");
    }
    tc_graph *g = tc_graph_new();
    test_blocks(&f, g);
    test_search(&f, g);
    test_toggles(&f, g);
    test_errors(&f, g);
    test_dir_roundtrip(&f, g);
    tc_graph_free(g);
    v1_fixture_close(&f);
    return tc_test_summary("opt_v1_golden");
}
