/* End-to-end inference through include/taichu.h on tiny random models of both architectures, built with
 * tc_model_create + saved as model directories: shapes, determinism, batched == one-by-one, the retrieval
 * score rules, unit-norm ITC embeddings, captions decoded through ids_to_tokens_zh.json, the v2 prefix-LM
 * caption against a plain full-recompute greedy loop, the ITM plumbing against the model's own forward
 * functions, and the errors (missing image, bad model dir, v2 without a VQA decoder). */
#include "tc_test.h"

#include <taichu.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/infer.h"
#include "model/model.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMG_DIR TAICHU_TEST_DATA "/image/sources/"
static const char *const IMAGES[3] = {IMG_DIR "coffee.jpg", IMG_DIR "rocket.jpg", IMG_DIR "camera.png"};
static const char *const TEXTS[3] = {"a cat on a mat", "hello", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"};

static char tmp_root[512];

static char *path_in(const char *a, const char *b) { return tc_path_join(a, b); }

/* vocab: the first 256 lines of the tokenizer test vocabulary ([UNK] 100, [CLS] 101, [SEP] 102 included);
 * ids_to_tokens: "<id>," for every id, so a decoded caption spells its ids. */
static void write_vocab_files(char **vocab, char **ids_json) {
    size_t len;
    char *all = tc_read_file(TAICHU_TEST_DATA "/tokenizer/vocab.txt", &len);
    TC_CHECK(all != NULL, "%s", tc_error_get());
    size_t cut = 0;
    for (int lines = 0; cut < len && lines < 256; cut++)
        if (all[cut] == '\n') lines++;
    *vocab = path_in(tmp_root, "vocab256.txt");
    TC_CHECK(tc_write_file_atomic(*vocab, all, cut) == 0, "%s", tc_error_get());
    free(all);
    char *js = tc_xmalloc(256 * 16 + 16);
    size_t o = (size_t)sprintf(js, "{");
    for (int i = 0; i < 256; i++) o += (size_t)sprintf(js + o, "%s\"%d\": \"%d,\"", i ? ", " : "", i, i);
    o += (size_t)sprintf(js + o, "}");
    *ids_json = path_in(tmp_root, "ids_to_tokens_zh.json");
    TC_CHECK(tc_write_file_atomic(*ids_json, js, o) == 0, "%s", tc_error_get());
    free(js);
}

static tc_model_config small_cfg(int arch) {
    tc_model_config c;
    tc_model_config_preset(arch == 1 ? "opt-v1-tiny" : "opt-v2-tiny", &c);
    c.hidden_size = 32; c.num_hidden_layers = 1; c.num_attention_heads = 2; c.intermediate_size = 64;
    c.vocab_size = 256; c.max_position_embeddings = 64; c.patch_size = 8; c.train_image_size = 32;
    c.vit_hidden_size = 32; c.vit_num_layers = 1; c.vit_num_heads = 2; c.vit_intermediate_size = 64;
    c.max_text_len = 12; c.dec_hidden_size = 32; c.dec_num_layers = 1; c.dec_num_heads = 2;
    c.dec_intermediate_size = 64; c.dec_max_position = 16; c.txt_dec_vocab_size = 256;
    if (arch == 1) { c.audio_dim = 16; c.img_dec_vocab_size = 0; }
    else { c.text_num_layers = 1; c.itc_dim = 16; }
    return c;
}

/* Build, save and return the directory of a random model. v2 gets the VQA decoder when vqa = 1; v1 gets a
 * retrieval-fine-tuned rank head (not ITM row 2) when finetuned = 1. */
static char *make_model(int arch, const char *name, int vqa, int finetuned, const char *vocab, const char *ids) {
    tc_model_config c = small_cfg(arch);
    if (arch == 2 && !vqa) c.dec_num_layers = 0; /* no txt_output */
    tc_model m;
    char *dir = path_in(tmp_root, name);
    if (tc_model_create(&m, &c, 1234 + (uint64_t)arch) != 0) {
        TC_CHECK(0, "create: %s", tc_error_get());
        return dir;
    }
    if (finetuned) tc_opt_v1_of(&m)->rank.b->data[0] += 0.5f;
    if (arch == 2 && vqa) {
        /* livelier random answers than normal(0.02) weights give */
        for (int i = 0; i < m.params.n; i++)
            if (strncmp(m.params.p[i]->name, "txt_output.", 11) == 0)
                for (size_t k = 0; k < m.params.p[i]->numel; k++) m.params.p[i]->t.data[k] *= 4.0f;
    }
    TC_CHECK(tc_model_save_dir(&m, dir, vocab, ids) == 0, "save: %s", tc_error_get());
    tc_model_free(&m);
    return dir;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* ITM of (image 0, text 0) through the architecture's forward functions directly, batch 1. */
static void itm_reference(tc_infer *inf, const float *img, const char *text, float *logits) {
    tc_model *m = &inf->m;
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    int32_t ids[64];
    int T = tc_text_ids(inf, text, ids, 64);
    float valid[64];
    for (int t = 0; t < T; t++) valid[t] = 1;
    tc_tensor *lg;
    if (m->cfg.arch == TC_ARCH_V1) {
        int N = tc_opt_v1_of(m)->n_patches;
        tc_tensor *e = tc_opt_v1_img_embed(g, m, tc_opt_v1_vit(g, m, img, 1, N + 1), TC_V1_MASK_ROW0, NULL);
        tc_tensor *t = tc_opt_v1_text_embed(g, m, ids, valid, 1, T);
        float *gv;
        tc_tensor *x = tc_opt_v1_gather(g, t, valid, e, N, NULL, NULL, &gv, NULL);
        lg = tc_opt_v1_itm(g, m, tc_opt_v1_pooler(g, m, tc_opt_v1_encoder(g, m, x, gv)));
    } else {
        tc_tensor *v = tc_opt_v2_vit(g, m, img, 1, m->cfg.train_image_size);
        tc_tensor *t = tc_opt_v2_text(g, m, ids, valid, 1, T, 0);
        lg = tc_opt_v2_itm_logits(g, m, tc_opt_v2_fusion(g, m, t, valid, v, 0));
    }
    for (int c = 0; c < lg->shape[1]; c++) logits[c] = lg->data[c * lg->stride[1]];
    tc_graph_free(g);
}

/* v2 greedy captioning the plain way: every step re-runs ViT, text encoder and fusion on the whole prefix
 * (padding-only masks) and takes the MLM argmax at the last position. ids [max_len + 1]. */
static void v2_greedy_reference(tc_infer *inf, const float *img, int max_len, int32_t *ids) {
    tc_model *m = &inf->m;
    tc_graph *g = tc_graph_new();
    memset(ids, 0, sizeof(int32_t) * (size_t)(max_len + 1));
    for (int t = 1; t <= max_len; t++) {
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 0, 0, 0);
        tc_tensor *v = tc_opt_v2_vit(g, m, img, 1, m->cfg.train_image_size);
        tc_tensor *x = tc_opt_v2_text(g, m, ids, NULL, 1, t, 0);
        tc_tensor *f = tc_opt_v2_fusion(g, m, x, NULL, v, 0);
        int32_t row = t - 1;
        tc_tensor *lg = tc_opt_v2_mlm_logits(g, m, f, &row, 1);
        ids[t] = argmax(lg->data, lg->shape[1]);
        if (ids[t] == 0) break;
    }
    tc_graph_free(g);
}

static void check_caption_text(tc_infer *inf, const int32_t *gen, int n) {
    char *text = tc_ids_to_text(inf, gen, n);
    char want[4096] = "";
    size_t o = 0;
    for (int i = 0; i < n && gen[i] != 0; i++) o += (size_t)snprintf(want + o, sizeof want - o, "%d,", gen[i]);
    TC_CHECK(strcmp(text, want) == 0, "decoded \"%s\", expected \"%s\"", text, want);
    free(text);
}

static void test_arch(int arch, const char *vocab, const char *ids_json) {
    char *dir = make_model(arch, arch == 1 ? "v1" : "v2", arch == 2, 0, vocab, ids_json);
    tc_infer *inf = tc_model_open(dir);
    TC_CHECK(inf != NULL, "open %s: %s", dir, tc_error_get());
    if (!inf) { free(dir); return; }
    TC_CHECK(tc_model_arch(inf) == arch, "arch %d", tc_model_arch(inf));
    long per = tc_image_floats(inf);
    TC_CHECK(per == (arch == 1 ? 17L * 192 : 3L * 32 * 32), "image floats %ld", per);
    float *px = tc_xmalloc(sizeof(float) * (size_t)per * 3);
    TC_CHECK(tc_load_images(inf, IMAGES, 3, px) == 0, "%s", tc_error_get());
    if (arch == 1)
        for (int i = 0; i < 192; i++) TC_CHECK(px[16 * 192 + i] == 0.f, "v1 pad patch value %d nonzero", i);

    tc_state *s8 = tc_state_new(8), *s1 = tc_state_new(1);

    /* ---- ITM */
    int C = tc_itm_classes(inf);
    TC_CHECK(C == (arch == 1 ? 5 : 2), "classes %d", C);
    float lg8[15], sc8[3], lg1[15], sc1[3], lg8b[15], sc8b[3], ref[5];
    TC_CHECK(tc_itm(inf, s8, px, TEXTS, 3, lg8, sc8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_itm(inf, s8, px, TEXTS, 3, lg8b, sc8b) == 0, "%s", tc_error_get());
    TC_CHECK(memcmp(lg8, lg8b, sizeof lg8[0] * 3 * C) == 0 && memcmp(sc8, sc8b, sizeof sc8) == 0, "itm not deterministic");
    TC_CHECK(tc_itm(inf, s1, px, TEXTS, 3, lg1, sc1) == 0, "%s", tc_error_get());
    TC_CHECK_ARRAY_CLOSE("itm logits batched vs one by one", lg8, lg1, 3L * C, 1e-5, 1e-5);
    TC_CHECK_ARRAY_CLOSE("itm scores batched vs one by one", sc8, sc1, 3, 1e-5, 1e-5);
    itm_reference(inf, px, TEXTS[2], ref);
    TC_CHECK_ARRAY_CLOSE("itm logits vs the model's forward", lg8 + 2 * C, ref, C, 1e-5, 1e-5);
    for (int t = 0; t < 3; t++) {
        /* v1 pretrained: rank = ITM row 2 (zero-shot); v2: class-1 logit */
        int cls = arch == 1 ? 2 : 1;
        TC_CHECK_CLOSE(sc8[t], lg8[t * C + cls], 1e-5, 1e-6);
    }
    if (arch == 1) {
        TC_CHECK(tc_itm_zero_shot(inf) == 1, "pretrained v1 model not detected as zero-shot");
        /* the mask-embedding row is part of the ITM input: row 1 instead of row 0 changes the logits; row 0 is
         * zero-initialised (as in the original), so in this untrained model "none" equals row 0 */
        float lgn[15], scn[3];
        TC_CHECK(tc_model_set_v1_mask_rows(inf, 1, -1) == 0, "%s", tc_last_error());
        TC_CHECK(tc_itm(inf, s8, px, TEXTS, 3, lgn, scn) == 0, "%s", tc_error_get());
        TC_CHECK(fabs(lgn[0] - lg8[0]) > 1e-6, "mask row 1 gives the row-0 logits");
        TC_CHECK(tc_model_set_v1_mask_rows(inf, -1, -1) == 0, "%s", tc_last_error());
        TC_CHECK(tc_itm(inf, s8, px, TEXTS, 3, lgn, scn) == 0, "%s", tc_error_get());
        TC_CHECK_ARRAY_CLOSE("mask none vs zero row 0", lgn, lg8, 15, 1e-6, 1e-6);
        TC_CHECK(tc_model_set_v1_mask_rows(inf, 2, 0) == -1, "row 2 accepted");
        TC_CHECK(tc_model_set_v1_mask_rows(inf, 0, -1) == 0, "%s", tc_last_error());
        TC_CHECK(tc_itm(inf, s8, px, TEXTS, 3, lgn, scn) == 0, "%s", tc_error_get());
        TC_CHECK(memcmp(lgn, lg8, sizeof(float) * 15) == 0, "back to row 0: logits differ");
    } else {
        TC_CHECK(tc_model_set_v1_mask_rows(inf, 0, 0) == -1 && strstr(tc_last_error(), "opt-v1 only"),
                 "v2 accepted mask rows");
    }
    TC_CHECK(lg8[0] != lg8[C] || lg8[1] != lg8[C + 1], "different texts give identical logits");

    /* ---- embeddings */
    int Ei = tc_embed_dim(inf, 1), Et = tc_embed_dim(inf, 0);
    TC_CHECK(Ei == (arch == 1 ? 32 : 16) && Et == (arch == 1 ? 32 : 16), "embed dims %d %d", Ei, Et);
    float *ei8 = tc_xmalloc(sizeof(float) * 3 * (size_t)Ei), *ei1 = tc_xmalloc(sizeof(float) * 3 * (size_t)Ei);
    float *et8 = tc_xmalloc(sizeof(float) * 3 * (size_t)Et), *et1 = tc_xmalloc(sizeof(float) * 3 * (size_t)Et);
    TC_CHECK(tc_embed_images(inf, s8, px, 3, ei8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_embed_images(inf, s1, px, 3, ei1) == 0, "%s", tc_error_get());
    TC_CHECK(tc_embed_texts(inf, s8, TEXTS, 3, et8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_embed_texts(inf, s1, TEXTS, 3, et1) == 0, "%s", tc_error_get());
    TC_CHECK_ARRAY_CLOSE("image embeddings batched vs one by one", ei8, ei1, 3L * Ei, 1e-5, 1e-6);
    TC_CHECK_ARRAY_CLOSE("text embeddings batched vs one by one", et8, et1, 3L * Et, 1e-5, 1e-6);

    if (arch == 1) {
        /* `taichu embed` (tc_embed_*) returns exactly the features v1 ITC pre-training aligns: tc_v1_pooled_*
         * (mean-pooled single-modality passes, L2-normalised) on the same patches / [CLS] pieces [SEP] ids */
        tc_model *mm = (tc_model *)&inf->m;
        int cap = mm->cfg.max_text_len + 2, T = 0, len[3];
        int32_t *ids = tc_xcalloc((size_t)3 * cap, sizeof(int32_t));
        float *valid = tc_xcalloc((size_t)3 * cap, sizeof(float));
        for (int r = 0; r < 3; r++) {
            len[r] = tc_text_ids(inf, TEXTS[r], ids + r * cap, cap);
            if (len[r] > cap) len[r] = cap;
            if (len[r] > T) T = len[r];
        }
        int32_t *idc = tc_xcalloc((size_t)3 * T, sizeof(int32_t)); /* [3, T], compacted to the longest text */
        float *vc = tc_xcalloc((size_t)3 * T, sizeof(float));
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < len[r]; k++) idc[r * T + k] = ids[r * cap + k], vc[r * T + k] = 1.0f;
        tc_graph *g = tc_graph_new();
        tc_tensor *pi = tc_v1_pooled_image(g, mm, px, 3), *pt = tc_v1_pooled_text(g, mm, idc, vc, 3, T);
        TC_CHECK(pi && pt, "%s", tc_error_get());
        TC_CHECK(pi->shape[1] == Ei && pt->shape[1] == Et, "pooled widths %d %d", pi->shape[1], pt->shape[1]);
        pi = tc_contiguous(g, pi);
        pt = tc_contiguous(g, pt);
        TC_CHECK_ARRAY_CLOSE("v1 image embeddings == tc_v1_pooled_image", ei8, pi->data, 3L * Ei, 1e-5, 1e-6);
        TC_CHECK_ARRAY_CLOSE("v1 text embeddings == tc_v1_pooled_text", et8, pt->data, 3L * Et, 1e-5, 1e-6);
        tc_graph_free(g);
        free(ids); free(valid); free(idc); free(vc);
    }
    for (int r = 0; r < 3; r++) { /* both architectures' embeddings are unit vectors */
        double a = 0, b = 0;
        for (int e = 0; e < Ei; e++) a += (double)ei8[r * Ei + e] * ei8[r * Ei + e];
        for (int e = 0; e < Et; e++) b += (double)et8[r * Et + e] * et8[r * Et + e];
        TC_CHECK_CLOSE(sqrt(a), 1.0, 0, 1e-5);
        TC_CHECK_CLOSE(sqrt(b), 1.0, 0, 1e-5);
    }

    /* ---- captions */
    tc_gen_params gp = tc_caption_defaults(inf);
    TC_CHECK(gp.beam == (arch == 1 ? 1 : 4), "default beam %d", gp.beam);
    TC_CHECK(gp.max_len == (arch == 1 ? 16 : 30), "default max_len %d (clamped to the position table)", gp.max_len);
    gp.max_len = 10;
    int L = gp.max_len + 1;
    int32_t ids8[33], ids1[33], idsb[33];
    float cs8[3], cs1[3];
    TC_CHECK(tc_caption(inf, s8, px, 3, &gp, ids8, cs8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_caption(inf, s1, px, 3, &gp, ids1, cs1) == 0, "%s", tc_error_get());
    TC_CHECK(memcmp(ids8, ids1, sizeof(int32_t) * 3 * (size_t)L) == 0, "caption ids: batched != one by one");
    TC_CHECK_ARRAY_CLOSE("caption scores batched vs one by one", cs8, cs1, 3, 1e-5, 1e-6);
    TC_CHECK(tc_caption(inf, s8, px, 3, &gp, idsb, NULL) == 0, "%s", tc_error_get());
    TC_CHECK(memcmp(ids8, idsb, sizeof(int32_t) * 3 * (size_t)L) == 0, "caption not deterministic");
    int nonempty = 0;
    for (int i = 0; i < 3; i++) {
        TC_CHECK(ids8[i * L] == 0, "caption %d does not start with BOS 0", i);
        nonempty += ids8[i * L + 1] != 0;
        check_caption_text(inf, ids8 + i * L + 1, gp.max_len);
    }
    TC_CHECK(nonempty > 0, "every caption is empty");
    if (arch == 2) {
        tc_gen_params g1 = gp;
        g1.beam = 1;
        int32_t want[11];
        TC_CHECK(tc_caption(inf, s8, px, 3, &g1, ids8, NULL) == 0, "%s", tc_error_get());
        for (int i = 0; i < 3; i++) {
            v2_greedy_reference(inf, px + i * per, gp.max_len, want);
            TC_CHECK(memcmp(ids8 + i * L, want, sizeof want) == 0, "v2 greedy caption %d differs from the full "
                     "recompute (first ids %d %d vs %d %d)", i, ids8[i * L + 1], ids8[i * L + 2], want[1], want[2]);
        }
    }

    /* ---- VQA */
    TC_CHECK(tc_model_has_vqa(inf) == 1, "VQA not available");
    tc_gen_params vp = tc_vqa_defaults(inf);
    vp.max_len = 8;
    const char *qs[3] = {"what is it", "1 2", "where"};
    int32_t a8[27], a1[27];
    float as8[3], as1[3];
    TC_CHECK(tc_vqa(inf, s8, px, qs, 3, &vp, a8, as8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_vqa(inf, s1, px, qs, 3, &vp, a1, as1) == 0, "%s", tc_error_get());
    TC_CHECK(memcmp(a8, a1, sizeof(int32_t) * 27) == 0, "vqa ids: batched != one by one");
    TC_CHECK_ARRAY_CLOSE("vqa scores batched vs one by one", as8, as1, 3, 1e-5, 1e-6);
    for (int i = 0; i < 3; i++) TC_CHECK(a8[i * 9] == 0, "answer %d does not start with BOS 0", i);

    /* ---- errors */
    const char *bad[2] = {IMAGES[0], TAICHU_TEST_DATA "/image/no_such.jpg"};
    TC_CHECK(tc_load_images(inf, bad, 2, px) == -1 && strstr(tc_last_error(), "no_such.jpg"),
             "missing image: \"%s\"", tc_last_error());
    const char *trunc[1] = {TAICHU_TEST_DATA "/image/bad/truncated.jpg"};
    TC_CHECK(tc_load_images(inf, trunc, 1, px) == -1 && strstr(tc_last_error(), "truncated.jpg"),
             "truncated image: \"%s\"", tc_last_error());
    gp.max_len = 1000;
    TC_CHECK(tc_caption(inf, s8, px, 1, &gp, ids8, NULL) == -1 && strstr(tc_last_error(), "max_len"),
             "max_len beyond the position table: \"%s\"", tc_last_error());

    free(ei8); free(ei1); free(et8); free(et1);
    tc_state_free(s8);
    tc_state_free(s1);
    free(px);
    tc_model_close(inf);
    free(dir);
}

static void test_v1_finetuned_and_errors(const char *vocab, const char *ids_json) {
    char *dir = make_model(1, "v1_ft", 0, 1, vocab, ids_json);
    tc_infer *inf = tc_model_open(dir);
    TC_CHECK(inf != NULL, "%s", tc_error_get());
    if (inf) {
        TC_CHECK(tc_itm_zero_shot(inf) == 0, "fine-tuned rank head taken for zero-shot");
        float *px = tc_xmalloc(sizeof(float) * (size_t)tc_image_floats(inf));
        TC_CHECK(tc_load_images(inf, IMAGES, 1, px) == 0, "%s", tc_error_get());
        tc_state *s = tc_state_new(0);
        float lg[5], sc;
        TC_CHECK(tc_itm(inf, s, px, TEXTS, 1, lg, &sc) == 0, "%s", tc_error_get());
        TC_CHECK_CLOSE(sc, lg[2] + 0.5f, 1e-5, 1e-5); /* rank bias = ITM bias 2 + 0.5, same weights */
        tc_state_free(s);
        free(px);
        tc_model_close(inf);
    }
    /* a v2 model without the VQA decoder */
    char *d2 = make_model(2, "v2_novqa", 0, 0, vocab, NULL);
    inf = tc_model_open(d2);
    TC_CHECK(inf != NULL, "%s", tc_error_get());
    if (inf) {
        TC_CHECK(tc_model_has_vqa(inf) == 0, "v2 without txt_output claims VQA");
        float *px = tc_xmalloc(sizeof(float) * (size_t)tc_image_floats(inf));
        TC_CHECK(tc_load_images(inf, IMAGES, 1, px) == 0, "%s", tc_error_get());
        tc_state *s = tc_state_new(0);
        tc_gen_params vp = tc_vqa_defaults(inf);
        int32_t ids[64];
        const char *q = "what";
        TC_CHECK(tc_vqa(inf, s, px, &q, 1, &vp, ids, NULL) == -1 && strstr(tc_last_error(), "txt_output"),
                 "\"%s\"", tc_last_error());
        /* without ids_to_tokens_zh.json, ids decode through vocab.txt */
        int32_t g[3] = {101, 102, 0};
        char *t = tc_ids_to_text(inf, g, 3);
        TC_CHECK(strcmp(t, "[CLS][SEP]") == 0, "vocab decode \"%s\"", t);
        free(t);
        tc_state_free(s);
        free(px);
        tc_model_close(inf);
    }
    /* bad model directories */
    TC_CHECK(tc_model_open(TAICHU_TEST_DATA "/no_such_model") == NULL && strstr(tc_last_error(), "config.json"),
             "missing dir: \"%s\"", tc_last_error());
    char *st = path_in(d2, "model.safetensors"), *voc = path_in(d2, "vocab.txt");
    unlink(voc);
    TC_CHECK(tc_model_open(d2) == NULL && strstr(tc_last_error(), "vocab.txt"), "no vocab: \"%s\"", tc_last_error());
    TC_CHECK(tc_write_file_atomic(st, "garbage!", 8) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_open(d2) == NULL && strstr(tc_last_error(), "model.safetensors"), "bad weights: \"%s\"",
             tc_last_error());
    free(st);
    free(voc);
    free(d2);
    free(dir);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/test_infer_tmp", TAICHU_BINARY_DIR);
    tc_mkdir_p(tmp_root);
    tc_set_num_threads(2);
    char *vocab, *ids_json;
    write_vocab_files(&vocab, &ids_json);
    test_arch(1, vocab, ids_json);
    test_arch(2, vocab, ids_json);
    test_v1_finetuned_and_errors(vocab, ids_json);
    free(vocab);
    free(ids_json);
    return tc_test_summary("infer");
}
