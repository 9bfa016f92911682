/* The inference API against the PyTorch twin's goldens (tests/data/opt_v{1,2}/, ref/): the twin's tiny
 * checkpoints written as model directories, opened with tc_model_open, then
 *   v1: tc_caption on the golden patches == the twin's greedy caption ids (and scores);
 *   v2: tc_embed_images / text embeddings from ids == the twin's ITC embeddings; ITM logits of each
 *       (image b, text b) pair == the twin's itm_head_two logits, the score being the class-1 logit. */
#include "tc_golden.h"
#include "tc_test.h"

#include <taichu.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/infer.h"
#include "model/model.h"

#include <string.h>

static char root[512];

/* config.json + tiny.ckpt of the twin -> a model directory with a 256-line vocabulary */
static char *make_dir(const char *arch_dir, const char *name, const char *vocab) {
    char cfg_path[600], ck[600];
    snprintf(cfg_path, sizeof cfg_path, "%s/%s/config.json", TAICHU_TEST_DATA, arch_dir);
    snprintf(ck, sizeof ck, "%s/%s/tiny.ckpt", TAICHU_TEST_DATA, arch_dir);
    tc_model_config c;
    tc_model m;
    char *dir = tc_path_join(root, name);
    TC_CHECK(tc_model_config_load(cfg_path, &c) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_create(&m, &c, 1) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_load_weights(&m, ck, 1, NULL) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_save_dir(&m, dir, vocab, NULL) == 0, "%s", tc_error_get());
    tc_model_free(&m);
    return dir;
}

static void test_v1(const char *vocab) {
    tc_golden *gold = tc_golden_load(TAICHU_TEST_DATA "/opt_v1/golden.bin");
    TC_CHECK(gold != NULL, "opt_v1 golden missing");
    if (!gold) return;
    char *dir = make_dir("opt_v1", "v1", vocab);
    tc_infer *m = tc_model_open(dir);
    TC_CHECK(m != NULL, "%s", tc_error_get());
    const tc_golden_rec *px = tc_golden_find(gold, "in.patches");
    const int32_t *want = tc_golden_i32(gold, "search.cap_greedy.ids", NULL);
    const float *want_score = tc_golden_f32(gold, "search.cap_greedy.score", NULL);
    if (m && px && want && want_score) {
        int B = px->shape[0];
        TC_CHECK(px->numel == (long)B * tc_image_floats(m), "golden patches %ld floats", px->numel);
        tc_state *s = tc_state_new(0);
        tc_gen_params gp = tc_caption_defaults(m);
        TC_CHECK(gp.beam == 1, "v1 caption default beam %d", gp.beam);
        gp.max_len = 12;
        int32_t ids[2 * 13];
        float score[2];
        TC_CHECK(tc_caption(m, s, px->data, B, &gp, ids, score) == 0, "%s", tc_error_get());
        for (int i = 0; i < B * 13; i++) TC_CHECK(ids[i] == want[i], "caption ids[%d] %d vs twin %d", i, ids[i], want[i]);
        TC_CHECK_ARRAY_CLOSE("caption scores", score, want_score, B, 1e-4, 1e-5);
        tc_state_free(s);
    }
    tc_model_close(m);
    free(dir);
    tc_golden_free(gold);
}

static void test_v2(const char *vocab) {
    tc_golden *gold = tc_golden_load(TAICHU_TEST_DATA "/opt_v2/golden.bin");
    TC_CHECK(gold != NULL, "opt_v2 golden missing");
    if (!gold) return;
    char *dir = make_dir("opt_v2", "v2", vocab);
    tc_infer *m = tc_model_open(dir);
    TC_CHECK(m != NULL, "%s", tc_error_get());
    const tc_golden_rec *px = tc_golden_find(gold, "in.pixels"), *ids = tc_golden_find(gold, "in.ids");
    const float *valid = tc_golden_f32(gold, "in.valid", NULL);
    const float *itc_img = tc_golden_f32(gold, "itc.img", NULL), *itc_txt = tc_golden_f32(gold, "itc.txt", NULL);
    const float *itm = tc_golden_f32(gold, "itm.logits", NULL);
    if (m && px && ids && valid && itc_img && itc_txt && itm) {
        int B = px->shape[0], T = ids->shape[1], E = tc_embed_dim(m, 1);
        long per = tc_image_floats(m);
        TC_CHECK(px->numel == (long)B * per, "golden pixels %ld floats", px->numel);
        for (int max_batch = 1; max_batch <= 2; max_batch++) {
            tc_state *s = tc_state_new(max_batch);
            float emb[2 * 64];
            TC_CHECK(tc_embed_images(m, s, px->data, B, emb) == 0, "%s", tc_error_get());
            TC_CHECK_ARRAY_CLOSE("image ITC embeddings", emb, itc_img, (long)B * E, 1e-4, 1e-5);
            TC_CHECK(tc_infer_embed_text_ids(m, s, ids->data, valid, B, T, emb) == 0, "%s", tc_error_get());
            TC_CHECK_ARRAY_CLOSE("text ITC embeddings", emb, itc_txt, (long)B * E, 1e-4, 1e-5);
            for (int b = 0; b < B; b++) {
                float lg[2], sc;
                TC_CHECK(tc_infer_itm_ids(m, s, (const float *)px->data + b * per, (const int32_t *)ids->data + b * T,
                                          valid + b * T, 1, T, lg, &sc) == 0,
                         "%s", tc_error_get());
                TC_CHECK_ARRAY_CLOSE("ITM logits", lg, itm + 2 * b, 2, 1e-4, 1e-4);
                TC_CHECK(sc == lg[1], "score %g is not the class-1 logit %g", sc, lg[1]);
            }
            tc_state_free(s);
        }
    }
    tc_model_close(m);
    free(dir);
    tc_golden_free(gold);
}

int main(void) {
    snprintf(root, sizeof root, "%s/test_infer_golden_tmp", TAICHU_BINARY_DIR);
    tc_mkdir_p(root);
    /* the twin's vocabularies have 256 rows: the first 256 lines of the tokenizer test vocabulary */
    size_t len;
    char *all = tc_read_file(TAICHU_TEST_DATA "/tokenizer/vocab.txt", &len);
    TC_CHECK(all != NULL, "%s", tc_error_get());
    if (!all) return tc_test_summary("infer_golden");
    size_t cut = 0;
    for (int lines = 0; cut < len && lines < 256; cut++)
        if (all[cut] == '\n') lines++;
    char *vocab = tc_path_join(root, "vocab.txt");
    TC_CHECK(tc_write_file_atomic(vocab, all, cut) == 0, "%s", tc_error_get());
    free(all);
    tc_set_num_threads(2);
    test_v1(vocab);
    test_v2(vocab);
    free(vocab);
    return tc_test_summary("infer_golden");
}
