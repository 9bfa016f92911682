/* Retrieval evaluation protocols (src/eval/protocol_*.h):
 *   - top-k selection and its tie order;
 *   - a hand-built v2 case (3 images x 6 texts, k = 2) where the ITC candidates and the ITM re-ranking give
 *     known matrices and exact recalls, under both tie rules;
 *   - errors (NaN similarity, a missing ITM pair);
 *   - on tiny random models over a small synth dataset: the cached v2 ITM scorer equals the model's own
 *     fusion + ITM head for every pair (1 and 2 fusion layers), the v2 protocol fills the top k with those
 *     scores and -100 elsewhere, k >= n gives the full ITM matrix both ways; the v1 protocol's scores equal
 *     the cross encoder run pair by pair; recalls are valid percentages;
 *   - caption / VQA generation from dataset ids equals the public API item by item (both architectures). */
#include "tc_test.h"

#include <taichu.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/threads.h"
#include "data/dataset.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "eval/protocol_model.h"
#include "eval/protocol_retrieval.h"
#include "eval/recall.h"
#include "model/infer.h"
#include "model/model.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"

#include <string.h>
#include <unistd.h>

static char tmp_root[256];

static void test_topk(void) {
    const float v[6] = {1, 3, 3, 2, 5, 3};
    int32_t out[6];
    int n = tc_eval_topk(v, 6, 1, 3, out);
    TC_CHECK(n == 3 && out[0] == 4 && out[1] == 1 && out[2] == 2, "top3 %d: %d %d %d", n, out[0], out[1], out[2]);
    n = tc_eval_topk(v, 6, 1, 10, out); /* k clamped; ties by lower index */
    TC_CHECK(n == 6 && out[3] == 5 && out[4] == 3 && out[5] == 0, "top all %d: %d %d %d", n, out[3], out[4], out[5]);
    const float col[6] = {0, 9, 1, 8, 2, 7}; /* column 0 of a 3x2 matrix: 0, 1, 2 */
    n = tc_eval_topk(col, 3, 2, 2, out);
    TC_CHECK(n == 2 && out[0] == 2 && out[1] == 1, "strided top2: %d %d", out[0], out[1]);
}

/* 3 images x 6 texts, text t shows image t / 2, k = 2 (worked out by hand in the comments). */
static void test_hand_built(void) {
    const float sim[3 * 6] = {
        0.9f, 0.1f, 0.8f, 0.7f, 0.0f, 0.2f, /* image 0: top-2 texts 0, 2 */
        0.5f, 0.6f, 0.1f, 0.3f, 0.4f, 0.0f, /* image 1: 1, 0 */
        0.2f, 0.3f, 0.4f, 0.1f, 0.5f, 0.9f, /* image 2: 5, 4 */
    }; /* per text (columns): t0 -> 0,1; t1 -> 1,2; t2 -> 0,2; t3 -> 0,1; t4 -> 2,1; t5 -> 2,0 */
    const float itm_full[3 * 6] = {
        1, 9, 5, 7, 9, 3,
        2, 4, 9, 8, 6, 9,
        9, 1, 3, 9, 2, 6,
    };
    tc_eval_pair *pairs = NULL;
    long np = tc_eval_rerank_pairs(sim, 3, 6, 2, &pairs);
    const int want[12][2] = {{0, 0}, {0, 2}, {0, 3}, {0, 5}, {1, 0}, {1, 1}, {1, 3}, {1, 4}, {2, 1}, {2, 2}, {2, 4}, {2, 5}};
    TC_CHECK(np == 12, "distinct pairs %ld, expected 12", np);
    for (long p = 0; p < np && p < 12; p++)
        TC_CHECK(pairs[p].img == want[p][0] && pairs[p].txt == want[p][1], "pair %ld = (%d, %d), expected (%d, %d)", p,
                 pairs[p].img, pairs[p].txt, want[p][0], want[p][1]);
    float itm[12], i2t[18], t2i[18];
    for (long p = 0; p < np && p < 12; p++) itm[p] = itm_full[pairs[p].img * 6 + pairs[p].txt];
    TC_CHECK(tc_eval_rerank_fill(sim, 3, 6, 2, pairs, np, itm, i2t, t2i) == 0, "fill: %s", tc_error_get());
    const float F = TC_EVAL_RERANK_FILL;
    const float want_i2t[18] = {1, F, 5, F, F, F, 2, 4, F, F, F, F, F, F, F, F, 2, 6};
    const float want_t2i[18] = {1, 2, F, F, 4, 1, 5, F, 3, 7, 8, F, F, 6, 2, 3, F, 6};
    for (int i = 0; i < 18; i++) {
        TC_CHECK(i2t[i] == want_i2t[i], "i2t[%d] = %g, expected %g", i, i2t[i], want_i2t[i]);
        TC_CHECK(t2i[i] == want_t2i[i], "t2i[%d] = %g, expected %g", i, t2i[i], want_t2i[i]);
    }
    /* TR (image queries): image 0 ranks t2 then t0 (GT 0/1: rank 1); image 1: t1 (4), t0 (2), then the -100
     * ties; argsort puts higher indices first (t5, t4, t3, t2) so GT t3 is rank 4, pessimistic makes it 5;
     * image 2: GT t5 first. IR (text queries): t0 rank 1, t1 rank 2, t2 rank 2, t3 0, t4 1, t5 0. */
    const int txt2img[6] = {0, 0, 1, 1, 2, 2};
    tc_retrieval_scores r;
    TC_CHECK(tc_retrieval_recall(i2t, t2i, 3, 6, txt2img, TC_TIES_ARGSORT, &r) == 0, "%s", tc_error_get());
    TC_CHECK_CLOSE(r.tr[0], 100.0 / 3, 1e-12, 1e-12);
    TC_CHECK_CLOSE(r.tr[1], 100.0, 1e-12, 1e-12);
    TC_CHECK_CLOSE(r.ir[0], 100.0 / 3, 1e-12, 1e-12);
    TC_CHECK_CLOSE(r.ir[1], 100.0, 1e-12, 1e-12);
    TC_CHECK_CLOSE(r.ir[2], 100.0, 1e-12, 1e-12);
    TC_CHECK(tc_retrieval_recall(i2t, t2i, 3, 6, txt2img, TC_TIES_PESSIMISTIC, &r) == 0, "%s", tc_error_get());
    TC_CHECK_CLOSE(r.tr[1], 200.0 / 3, 1e-12, 1e-12);
    TC_CHECK_CLOSE(r.ir[0], 100.0 / 3, 1e-12, 1e-12);
    /* a pair list without (0, 2) cannot fill image 0's candidates */
    tc_eval_pair short_list[2] = {{0, 0}, {1, 1}};
    TC_CHECK(tc_eval_rerank_fill(sim, 3, 6, 2, short_list, 2, itm, i2t, t2i) != 0, "missing pair accepted");
    TC_CHECK(strstr(tc_error_get(), "image 0, text 2") != NULL, "message: %s", tc_error_get());
    free(pairs);
    float bad[18];
    memcpy(bad, sim, sizeof bad);
    bad[7] = NAN;
    TC_CHECK(tc_eval_rerank_pairs(bad, 3, 6, 2, &pairs) < 0 && pairs == NULL, "NaN accepted");
    TC_CHECK(strstr(tc_error_get(), "image 1, text 1") != NULL, "message: %s", tc_error_get());
}

/* ------------------------------------------------------------------------------------------ models */

static tc_model_config small_cfg(int arch, int fusion_layers, int vqa) {
    tc_model_config c;
    tc_model_config_preset(arch == 1 ? "opt-v1-tiny" : "opt-v2-tiny", &c);
    c.hidden_size = 32; c.num_hidden_layers = fusion_layers; c.num_attention_heads = 2; c.intermediate_size = 64;
    c.vocab_size = 256; c.max_position_embeddings = 64; c.patch_size = 8; c.train_image_size = 32;
    c.vit_hidden_size = 32; c.vit_num_layers = 1; c.vit_num_heads = 2; c.vit_intermediate_size = 64;
    c.max_text_len = 30; c.dec_hidden_size = 32; c.dec_num_layers = 1; c.dec_num_heads = 2;
    c.dec_intermediate_size = 64; c.dec_max_position = 16; c.txt_dec_vocab_size = 256;
    if (arch == 1) { c.audio_dim = 16; c.img_dec_vocab_size = 0; }
    else { c.text_num_layers = 1; c.itc_dim = 16; c.dec_num_layers = vqa; }
    return c;
}

static char *make_model(int arch, int layers, const char *name, const char *vocab, const char *ids) {
    tc_model_config c = small_cfg(arch, layers, strstr(name, "vqa") != NULL);
    tc_model m;
    char *dir = tc_path_join(tmp_root, name);
    if (tc_model_create(&m, &c, 77 + (uint64_t)arch * 10 + (uint64_t)layers) != 0) {
        TC_CHECK(0, "create: %s", tc_error_get());
        return dir;
    }
    /* livelier random weights than normal(0.02), so the scores spread */
    for (int i = 0; i < m.params.n; i++)
        if (strstr(m.params.p[i]->name, "layernorm") == NULL && strstr(m.params.p[i]->name, "LayerNorm") == NULL &&
            strstr(m.params.p[i]->name, "layer_norm") == NULL && strstr(m.params.p[i]->name, "position_ids") == NULL)
            for (size_t k = 0; k < m.params.p[i]->numel; k++) m.params.p[i]->t.data[k] *= 5.0f;
    /* generation tests: a zero table row for id 0 (EOS) gives it logit 0 under the tied output, so random
     * models emit some tokens before stopping instead of stopping at once */
    for (int i = 0; i < m.params.n; i++)
        if (strncmp(m.params.p[i]->name, "txt_output.tfm_embedding_lookup", 31) == 0)
            memset(m.params.p[i]->t.data, 0, sizeof(float) * (size_t)m.params.p[i]->t.shape[1]);
    TC_CHECK(tc_model_save_dir(&m, dir, vocab, ids) == 0, "save: %s", tc_error_get());
    tc_model_free(&m);
    return dir;
}

typedef struct dataset {
    tc_ds_captions caps;
    const char **paths;
    tc_ds_ids *texts;
    int *txt2img;
    int n_img, n_txt;
} dataset;

static int load_dataset(const char *root, dataset *d) {
    char *text = tc_path_join(root, "text/flickr30k_test_zh_token.json"), *img = tc_path_join(root, "image");
    tc_ds_opts o = tc_ds_opts_default();
    o.vocab_size = 256;
    int rc = tc_ds_load_captions(text, img, TC_DS_CAPS_FIVE, &o, &d->caps);
    free(text);
    free(img);
    if (rc) return -1;
    d->n_img = d->caps.n;
    d->n_txt = 5 * d->n_img;
    d->paths = tc_xmalloc(sizeof(char *) * (size_t)d->n_img);
    d->texts = tc_xmalloc(sizeof(tc_ds_ids) * (size_t)d->n_txt);
    d->txt2img = tc_xmalloc(sizeof(int) * (size_t)d->n_txt);
    for (int i = 0; i < d->n_img; i++) {
        d->paths[i] = d->caps.items[i].image;
        for (int c = 0; c < 5; c++) {
            d->texts[5 * i + c] = d->caps.items[i].caps[c];
            d->txt2img[5 * i + c] = i;
        }
    }
    return 0;
}

static void free_dataset(dataset *d) {
    free(d->paths);
    free(d->texts);
    free(d->txt2img);
    tc_ds_captions_free(&d->caps);
}

/* A fresh model (make_model) opened, with the dataset: 0, or -1 with the failure reported and nothing left open. */
static int open_model_data(int arch, int layers, const char *name, const char *data_root, const char *vocab,
                           const char *ids_json, char **dir, tc_infer **inf, dataset *d) {
    *dir = make_model(arch, layers, name, vocab, ids_json);
    *inf = tc_model_open(*dir);
    TC_CHECK(*inf != NULL, "open %s: %s", *dir, tc_error_get());
    if (*inf && !load_dataset(data_root, d)) return 0;
    TC_CHECK(0, "dataset: %s", tc_error_get());
    free(*dir);
    tc_model_close(*inf);
    return -1;
}

/* [CLS] ids[:max_text_len] [SEP] of one text. Returns T. */
static int model_ids(const tc_infer *inf, const tc_ds_ids *t, int32_t *ids, float *valid) {
    int l = t->n < inf->m.cfg.max_text_len ? t->n : inf->m.cfg.max_text_len;
    ids[0] = inf->tok.cls_id;
    memcpy(ids + 1, t->v, sizeof(int32_t) * (size_t)l);
    ids[l + 1] = inf->tok.sep_id;
    for (int k = 0; k < l + 2; k++) valid[k] = 1;
    return l + 2;
}

/* v2: the model's own fusion + ITM head on one pair -> class-1 logit; ITC cosine -> *sim */
static float v2_reference(const tc_infer *inf, const float *px, const tc_ds_ids *t, float *sim) {
    tc_model *m = (tc_model *)&inf->m;
    tc_graph *g = tc_graph_new();
    tc_graph_set_mode(g, 0, 0, 0, 0);
    int32_t ids[64];
    float valid[64];
    int T = model_ids(inf, t, ids, valid);
    tc_tensor *v = tc_opt_v2_vit(g, m, px, 1, m->cfg.train_image_size);
    tc_tensor *x = tc_opt_v2_text(g, m, ids, valid, 1, T, 0);
    tc_tensor *ei = tc_contiguous(g, tc_opt_v2_itc_image(g, m, v)), *et = tc_contiguous(g, tc_opt_v2_itc_text(g, m, x));
    double s = 0;
    for (int e = 0; e < m->cfg.itc_dim; e++) s += (double)ei->data[e] * et->data[e];
    *sim = (float)s;
    tc_tensor *lg = tc_contiguous(g, tc_opt_v2_itm_logits(g, m, tc_opt_v2_fusion(g, m, x, valid, v, 0)));
    float out = lg->data[1];
    tc_graph_free(g);
    return out;
}

static void check_recalls(const tc_retrieval_scores *r, const char *what) {
    for (int k = 0; k < 3; k++) {
        TC_CHECK(r->ir[k] >= 0 && r->ir[k] <= 100 && r->tr[k] >= 0 && r->tr[k] <= 100, "%s: R@%d %g %g", what, k,
                 r->ir[k], r->tr[k]);
        if (k) TC_CHECK(r->ir[k] >= r->ir[k - 1] && r->tr[k] >= r->tr[k - 1], "%s: recall not monotone", what);
    }
    TC_CHECK_CLOSE(r->r_mean, (r->ir[0] + r->ir[1] + r->ir[2] + r->tr[0] + r->tr[1] + r->tr[2]) / 6, 1e-9, 1e-9);
}

static void test_v2(const char *data_root, const char *vocab, const char *ids_json, int layers) {
    char name[32];
    snprintf(name, sizeof name, "v2_l%d", layers);
    char *dir;
    tc_infer *inf;
    dataset d;
    if (open_model_data(2, layers, name, data_root, vocab, ids_json, &dir, &inf, &d)) return;
    int ni = d.n_img, nt = d.n_txt;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)ni * per);
    TC_CHECK(tc_load_images(inf, d.paths, ni, px) == 0, "%s", tc_error_get());
    /* cached scorer vs the model's own forward, every pair; odd batch sizes split image groups */
    tc_eval_v2_cache *c = tc_eval_v2_cache_new(inf, ni, nt);
    TC_CHECK(tc_eval_v2_cache_images(c, px, 0, 2) == 0 && tc_eval_v2_cache_images(c, px + 2 * per, 2, ni - 2) == 0,
             "%s", tc_error_get());
    TC_CHECK(tc_eval_v2_cache_texts(c, d.texts, 0, 7) == 0 && tc_eval_v2_cache_texts(c, d.texts + 7, 7, nt - 7) == 0,
             "%s", tc_error_get());
    float *sim = tc_xmalloc(sizeof(float) * (size_t)ni * nt), *ref = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    float *ref_sim = tc_xmalloc(sizeof(float) * (size_t)ni * nt), *got = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    tc_eval_v2_similarity(c, sim);
    tc_eval_pair *all = tc_xmalloc(sizeof(tc_eval_pair) * (size_t)ni * nt);
    for (int i = 0; i < ni; i++)
        for (int t = 0; t < nt; t++) {
            all[i * nt + t] = (tc_eval_pair){i, t};
            ref[i * nt + t] = v2_reference(inf, px + (long)i * per, &d.texts[t], &ref_sim[i * nt + t]);
        }
    TC_CHECK(tc_eval_v2_itm_pairs(c, all, (long)ni * nt, 13, got, 0) == 0, "%s", tc_error_get());
    TC_CHECK_ARRAY_CLOSE("cached ITM vs fusion", got, ref, (long)ni * nt, 1e-4, 1e-4);
    /* pair batches on 1 and on 2 worker threads: a batch's scores do not depend on the worker (every op in
     * it runs single-threaded either way), so the two runs agree exactly */
    int threads0 = tc_get_threads();
    float *got1 = tc_xmalloc(sizeof(float) * (size_t)ni * nt), *got2 = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    tc_set_threads(1);
    TC_CHECK(tc_eval_v2_itm_pairs(c, all, (long)ni * nt, 7, got1, 0) == 0, "%s", tc_error_get());
    tc_set_threads(2);
    TC_CHECK(tc_eval_v2_itm_pairs(c, all, (long)ni * nt, 7, got2, 0) == 0, "%s", tc_error_get());
    tc_set_threads(threads0);
    TC_CHECK_ARRAY_CLOSE("ITM on 2 workers vs 1", got2, got1, (long)ni * nt, 0, 0);
    TC_CHECK_ARRAY_CLOSE("ITM batch 7 vs fusion", got1, ref, (long)ni * nt, 1e-4, 1e-4);
    free(got1);
    free(got2);
    TC_CHECK_ARRAY_CLOSE("ITC similarity", sim, ref_sim, (long)ni * nt, 1e-4, 1e-5);
    float spread = 0;
    for (int p = 1; p < ni * nt; p++) spread = fmaxf(spread, fabsf(ref[p] - ref[0]));
    TC_CHECK(spread > 1e-3f, "ITM scores do not depend on the pair (spread %g)", spread);
    tc_eval_pair bad = {ni, 0};
    TC_CHECK(tc_eval_v2_itm_pairs(c, &bad, 1, 4, got, 0) != 0, "pair outside the cache accepted");
    tc_eval_v2_cache_free(c);

    /* the whole protocol, k = 3: top-3 entries carry the ITM score, the rest -100 */
    tc_eval_opts o = {3, 5, 0};
    tc_eval_timing tm;
    float *i2t = tc_xmalloc(sizeof(float) * (size_t)ni * nt), *t2i = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    int k = 3;
    TC_CHECK(tc_eval_retrieval_v2(inf, d.paths, ni, d.texts, nt, k, &o, sim, i2t, t2i, &tm) == 0, "%s", tc_error_get());
    int32_t top[64];
    for (int i = 0; i < ni; i++) {
        int n = tc_eval_topk(sim + (long)i * nt, nt, 1, k, top), kept = 0;
        for (int t = 0; t < nt; t++) {
            int in = 0;
            for (int j = 0; j < n; j++) in |= top[j] == t;
            float w = in ? ref[i * nt + t] : TC_EVAL_RERANK_FILL;
            kept += in;
            TC_CHECK(fabsf(i2t[i * nt + t] - w) <= 1e-4f + 1e-4f * fabsf(w), "i2t[%d][%d] = %g, expected %g", i, t,
                     i2t[i * nt + t], w);
        }
        TC_CHECK(kept == k, "image %d: %d candidates", i, kept);
    }
    for (int t = 0; t < nt; t++) {
        int n = tc_eval_topk(sim + t, ni, nt, k, top);
        for (int i = 0; i < ni; i++) {
            int in = 0;
            for (int j = 0; j < n; j++) in |= top[j] == i;
            float w = in ? ref[i * nt + t] : TC_EVAL_RERANK_FILL;
            TC_CHECK(fabsf(t2i[t * ni + i] - w) <= 1e-4f + 1e-4f * fabsf(w), "t2i[%d][%d] = %g, expected %g", t, i,
                     t2i[t * ni + i], w);
        }
    }
    TC_CHECK(tm.pairs > 0 && tm.pairs <= (long)ni * k + (long)nt * k, "pairs scored %ld", tm.pairs);
    tc_retrieval_scores r;
    TC_CHECK(tc_retrieval_recall(i2t, t2i, ni, nt, d.txt2img, TC_TIES_ARGSORT, &r) == 0, "%s", tc_error_get());
    check_recalls(&r, "v2 k=3");
    /* k >= n: every pair re-ranked, both matrices are the full ITM matrix */
    TC_CHECK(tc_eval_retrieval_v2(inf, d.paths, ni, d.texts, nt, 1000, &o, NULL, i2t, t2i, &tm) == 0, "%s",
             tc_error_get());
    TC_CHECK(tm.pairs == (long)ni * nt, "pairs %ld", tm.pairs);
    for (int i = 0; i < ni; i++)
        for (int t = 0; t < nt; t++) got[t * ni + i] = i2t[i * nt + t];
    TC_CHECK_ARRAY_CLOSE("i2t full", i2t, ref, (long)ni * nt, 1e-4, 1e-4);
    TC_CHECK_ARRAY_CLOSE("t2i = i2t^T", t2i, got, (long)ni * nt, 0, 0);
    free(i2t);
    free(t2i);
    free(all);
    free(sim);
    free(ref);
    free(ref_sim);
    free(got);
    free(px);
    free_dataset(&d);
    tc_model_close(inf);
    free(dir);
}

static void test_v1(const char *data_root, const char *vocab, const char *ids_json) {
    char *dir;
    tc_infer *inf;
    dataset d;
    if (open_model_data(1, 1, "v1", data_root, vocab, ids_json, &dir, &inf, &d)) return;
    int ni = d.n_img < 3 ? d.n_img : 3, nt = 5 * ni;
    tc_eval_opts o = {2, 7, 0};
    tc_eval_timing tm;
    float *i2t = tc_xmalloc(sizeof(float) * (size_t)ni * nt), *t2i = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    TC_CHECK(tc_eval_retrieval_v1(inf, d.paths, ni, d.texts, nt, &o, i2t, t2i, &tm) == 0, "%s", tc_error_get());
    TC_CHECK(tm.pairs == (long)ni * nt, "pairs %ld", tm.pairs);
    /* reference: the cross encoder on one pair at a time */
    tc_model *m = &inf->m;
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)ni * per);
    TC_CHECK(tc_load_images(inf, d.paths, ni, px) == 0, "%s", tc_error_get());
    tc_graph *g = tc_graph_new();
    int N = tc_opt_v1_of(m)->n_patches;
    float lo = 1e30f, hi = -1e30f;
    for (int i = 0; i < ni; i++)
        for (int t = 0; t < nt; t++) {
            tc_graph_reset(g);
            tc_graph_set_mode(g, 0, 0, 0, 0);
            int32_t ids[64];
            float valid[64];
            int T = model_ids(inf, &d.texts[t], ids, valid);
            tc_tensor *e = tc_opt_v1_img_embed(g, m, tc_opt_v1_vit(g, m, px + (long)i * per, 1, N + 1), TC_V1_MASK_ROW0, NULL);
            tc_tensor *x = tc_opt_v1_text_embed(g, m, ids, valid, 1, T);
            float *gv;
            x = tc_opt_v1_gather(g, x, valid, e, N, NULL, NULL, &gv, NULL);
            tc_tensor *s = tc_contiguous(g, tc_opt_v1_rank(g, m, tc_opt_v1_pooler(g, m, tc_opt_v1_encoder(g, m, x, gv))));
            float w = s->data[0];
            lo = fminf(lo, w);
            hi = fmaxf(hi, w);
            TC_CHECK(fabsf(i2t[i * nt + t] - w) <= 1e-4f + 1e-4f * fabsf(w), "v1 i2t[%d][%d] = %g, expected %g", i, t,
                     i2t[i * nt + t], w);
            TC_CHECK(t2i[t * ni + i] == i2t[i * nt + t], "v1 t2i is not the transpose at (%d, %d)", t, i);
        }
    TC_CHECK(hi - lo > 1e-4f, "v1 scores do not depend on the pair (%g .. %g)", lo, hi);
    TC_CHECK(tc_itm_zero_shot(inf) == 1, "a fresh model's rank head is ITM row 2 (zero-shot)");
    tc_retrieval_scores r;
    TC_CHECK(tc_retrieval_recall(i2t, t2i, ni, nt, d.txt2img, TC_TIES_PESSIMISTIC, &r) == 0, "%s", tc_error_get());
    check_recalls(&r, "v1");
    /* the wrong architecture is refused with a message */
    TC_CHECK(tc_eval_retrieval_v2(inf, d.paths, ni, d.texts, nt, 3, &o, NULL, i2t, t2i, &tm) != 0, "v2 on a v1 model");
    TC_CHECK(strstr(tc_error_get(), "opt-v2") != NULL, "message: %s", tc_error_get());
    tc_graph_free(g);
    free(px);
    free(i2t);
    free(t2i);
    free_dataset(&d);
    tc_model_close(inf);
    free(dir);
}

/* Caption and VQA generation from dataset ids equal the public API run one item at a time on text (the
 * question spelled from its vocabulary pieces, which the tokenizer maps back to the same ids). */
static void test_generation(const char *data_root, const char *vocab, const char *ids_json, int arch) {
    char *dir = make_model(arch, 1, arch == 1 ? "v1_vqa" : "v2_vqa", vocab, ids_json);
    tc_infer *inf = tc_model_open(dir);
    TC_CHECK(inf != NULL, "open %s: %s", dir, tc_error_get());
    char *qpath = tc_path_join(data_root, "text/FM-IQA_val_token_ids.json"), *img = tc_path_join(data_root, "image");
    tc_ds_opts dso = tc_ds_opts_default();
    dso.vocab_size = 256;
    tc_ds_vqa q;
    int ok = inf && tc_ds_load_vqa(qpath, img, 0, &dso, &q) == 0;
    TC_CHECK(ok, "%s", tc_error_get());
    if (!ok) {
        free(qpath);
        free(img);
        free(dir);
        tc_model_close(inf);
        return;
    }
    enum { NQ = 3 };
    int n = q.n < NQ ? q.n : NQ;
    const char *paths[NQ];
    tc_ds_ids qs[NQ];
    for (int i = 0; i < n; i++) {
        paths[i] = q.items[i].image;
        qs[i] = q.items[i].question;
    }
    tc_gen_params gp = tc_vqa_defaults(inf);
    gp.max_len = 6;
    tc_eval_opts o = {2, 0, 0};
    char *ans[NQ] = {0}, *caps[NQ] = {0};
    TC_CHECK(tc_eval_vqa_gen(inf, paths, qs, n, &gp, &o, ans) == 0, "vqa: %s", tc_error_get());
    tc_gen_params cp = tc_caption_defaults(inf);
    cp.max_len = 6;
    TC_CHECK(tc_eval_caption_gen(inf, paths, n, &cp, &o, caps) == 0, "caption: %s", tc_error_get());
    long per = tc_image_floats(inf);
    float *px = tc_xmalloc(sizeof(float) * (size_t)per);
    int32_t ids[16];
    tc_state *s = tc_state_new(1);
    for (int i = 0; i < n && ans[i] && caps[i]; i++) {
        char text[512] = "";
        for (int k = 0; k < qs[i].n; k++) strncat(text, tc_tokenizer_piece(&inf->tok, qs[i].v[k]), sizeof text - strlen(text) - 1);
        const char *tp = text;
        TC_CHECK(tc_load_images(inf, &paths[i], 1, px) == 0, "%s", tc_error_get());
        TC_CHECK(tc_vqa(inf, s, px, &tp, 1, &gp, ids, NULL) == 0, "%s", tc_error_get());
        char *want = tc_ids_to_text(inf, ids + 1, gp.max_len);
        TC_CHECK(strcmp(ans[i], want) == 0, "arch %d question %d (%s): answer \"%s\", tc_vqa \"%s\"", arch, i, text,
                 ans[i], want);
        free(want);
        TC_CHECK(tc_caption(inf, s, px, 1, &cp, ids, NULL) == 0, "%s", tc_error_get());
        want = tc_ids_to_text(inf, ids + 1, cp.max_len);
        TC_CHECK(strcmp(caps[i], want) == 0, "arch %d image %d: caption \"%s\", tc_caption \"%s\"", arch, i, caps[i],
                 want);
        free(want);
    }
    int nonempty = 0;
    for (int i = 0; i < n; i++) {
        nonempty += (ans[i] && ans[i][0]) + (caps[i] && caps[i][0]);
        free(ans[i]);
        free(caps[i]);
    }
    TC_CHECK(nonempty > 0, "arch %d: every answer and caption is empty (the comparison would be vacuous)", arch);
    /* tc_vqa_ids: ids outside the vocabulary and negative lengths are errors, not crashes */
    if (n > 0) {
        int32_t bad[2] = {qs[0].n > 0 ? qs[0].v[0] : 1, 256};
        const int32_t *bq = bad;
        int bl = 2;
        TC_CHECK(tc_load_images(inf, &paths[0], 1, px) == 0, "%s", tc_error_get());
        TC_CHECK(tc_vqa_ids(inf, s, px, &bq, &bl, 1, &gp, ids, NULL) != 0 &&
                     strstr(tc_last_error(), "outside the vocabulary") != NULL,
                 "id 256 of a 256-piece vocabulary accepted (%s)", tc_last_error());
        bl = -1;
        TC_CHECK(tc_vqa_ids(inf, s, px, &bq, &bl, 1, &gp, ids, NULL) != 0, "negative question length accepted");
    }
    tc_state_free(s);
    free(px);
    tc_ds_vqa_free(&q);
    free(qpath);
    free(img);
    free(dir);
    tc_model_close(inf);
}

int main(void) {
    test_topk();
    test_hand_built();

    snprintf(tmp_root, sizeof tmp_root, "/tmp/tc_test_eval_protocol_%d", (int)getpid());
    TC_CHECK(tc_mkdir_p(tmp_root) == 0, "%s", tc_error_get());
    char *data = tc_path_join(tmp_root, "data");
    tc_synth_opts so = {data, 50, 32, 7, 0, 0, 0, 90};
    tc_synth_stats st;
    TC_CHECK(tc_synth_generate(&so, &st) == 0, "synth: %s", tc_error_get());
    char *vocab = tc_path_join(data, "text/bert-base-chinese-vocab.txt");
    char *ids_json = tc_path_join(data, "text/ids_to_tokens_zh.json");
    test_v2(data, vocab, ids_json, 3); /* layer 0 direct, a middle layer through the graph, the [CLS] layer */
    test_v2(data, vocab, ids_json, 2); /* the tiny preset's depth: layer 0 direct with the last layer's LN1 fused */
    test_v2(data, vocab, ids_json, 1); /* the only layer is the [CLS] layer (cached queries) */
    test_v1(data, vocab, ids_json);
    test_generation(data, vocab, ids_json, 1);
    test_generation(data, vocab, ids_json, 2);
    free(vocab);
    free(ids_json);
    free(data);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    TC_CHECK(system(cmd) == 0, "cleanup");
    return tc_test_summary("eval_protocol");
}
