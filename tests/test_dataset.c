/* Dataset readers (src/data/dataset.h): good and malformed fixtures in tests/data/dataset, the
 * original's path rules, skip_bad, and a round trip over a dataset written by taichu synth. */
#include "tc_test.h"

#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/dataset.h"
#include "data/synth.h"
#include "data/synth_text.h"

#define D TAICHU_TEST_DATA "/dataset/"
#define IMG TAICHU_TEST_DATA "/dataset/image"

static int has(const char *s, const char *frag) { return strstr(s, frag) != NULL; }

/* The load must fail and the message mention every fragment. */
#define CHECK_FAILS(call, ...)                                                                       \
    do {                                                                                             \
        tc_error_clear();                                                                            \
        int rc_ = (call);                                                                            \
        const char *frags_[] = {__VA_ARGS__};                                                        \
        int ok_ = rc_ != 0;                                                                          \
        for (size_t f_ = 0; f_ < sizeof frags_ / sizeof frags_[0]; f_++) ok_ &= has(tc_error_get(), frags_[f_]); \
        TC_CHECK(ok_, "%s: rc %d, message \"%s\"", #call, rc_, tc_error_get());                    \
    } while (0)

static void test_captions(void) {
    tc_ds_opts o = tc_ds_opts_default();
    tc_ds_captions c;
    TC_CHECK(tc_ds_load_captions(D "test_ok.json", IMG, TC_DS_CAPS_FIVE, &o, &c) == 0, "test_ok: %s", tc_error_get());
    TC_CHECK(c.n == 2 && c.items[0].ncap == 5 && c.items[1].ncap == 5, "2 images x 5 captions");
    if (c.n == 2) {
        TC_CHECK(strcmp(c.items[1].image, IMG "/sub/c.jpg") == 0 && strcmp(c.items[1].image_rel, "sub/c.jpg") == 0,
                 "image path %s", c.items[1].image);
        TC_CHECK(c.items[0].caps[0].n == 2 && c.items[0].caps[0].v[0] == 2769 && c.items[0].caps[0].v[1] == 4638,
                 "caption ids");
        TC_CHECK(c.items[1].caps[4].v[0] == 21127, "last id of the vocab accepted");
    }
    tc_ds_captions_free(&c);

    TC_CHECK(tc_ds_load_captions(D "train_ok.json", IMG, TC_DS_CAPS_SOME, &o, &c) == 0, "train_ok: %s", tc_error_get());
    TC_CHECK(c.n == 3 && c.items[0].ncap == 1 && c.items[0].caps[0].n == 3 && c.items[1].ncap == 2 && c.items[2].ncap == 1,
             "flat list = one caption, list of lists = several");
    tc_ds_captions_free(&c);
    TC_CHECK(tc_ds_load_captions(D "captest_ok.json", IMG, TC_DS_CAPS_OPTIONAL, &o, &c) == 0, "captest: %s", tc_error_get());
    TC_CHECK(c.n == 3 && c.items[0].ncap == 0 && c.items[1].ncap == 0 && c.items[2].ncap == 1, "captions optional");
    tc_ds_captions_free(&c);
    CHECK_FAILS(tc_ds_load_captions(D "captest_ok.json", IMG, TC_DS_CAPS_SOME, &o, &c), "captest_ok.json", "entry 0",
                "\"caption\" is missing");

    /* file-level errors */
    CHECK_FAILS(tc_ds_load_captions(D "bad_json.json", IMG, TC_DS_CAPS_FIVE, &o, &c), "bad_json.json", "broken JSON",
                "line 2, column 43");
    CHECK_FAILS(tc_ds_load_captions(D "bad_empty_file.json", IMG, TC_DS_CAPS_FIVE, &o, &c), "bad_empty_file.json", "empty");
    CHECK_FAILS(tc_ds_load_captions(D "bad_not_list.json", IMG, TC_DS_CAPS_FIVE, &o, &c), "bad_not_list.json",
                "expected a JSON list");
    CHECK_FAILS(tc_ds_load_captions(D "no_such_file.json", IMG, TC_DS_CAPS_FIVE, &o, &c), "no_such_file.json");

    /* entry-level errors, one at a time: each names the file, the entry and the problem */
    struct { const char *frag[3]; } want[] = {
        {{"entry 1 (image \"b.jpg\")", "caption 2", "id 30000 is outside the vocab (21128 ids)"}},
        {{"entry 2 (image \"b.jpg\")", "empty caption list", ""}},
        {{"entry 3 (image \"missing.jpg\")", "missing.jpg does not exist", ""}},
        {{"entry 4", "expected 5 captions, found 4", ""}},
        {{"entry 5", "caption 2", "empty token id list"}},
        {{"entry 6", "caption 2", "expected an integer id"}},
        {{"entry 7", "caption 2", "expected an integer id"}},
        {{"entry 8", "\"image\"", "non-empty path"}},
        {{"entry 9", "expected an object", ""}},
    };
    /* the reader stops at the first bad entry; skip_bad goes on and counts */
    CHECK_FAILS(tc_ds_load_captions(D "bad_entries.json", IMG, TC_DS_CAPS_FIVE, &o, &c), "bad_entries.json",
                want[0].frag[0], want[0].frag[1], want[0].frag[2]);
    o.skip_bad = 1;
    TC_CHECK(tc_ds_load_captions(D "bad_entries.json", IMG, TC_DS_CAPS_FIVE, &o, &c) == 0, "skip_bad: %s", tc_error_get());
    TC_CHECK(c.n == 2 && c.report.skipped == 9, "kept %d, skipped %d", c.n, c.report.skipped);
    TC_CHECK(has(c.report.first_skip, "bad_entries.json") && has(c.report.first_skip, "30000"), "first skip: %s",
             c.report.first_skip);
    TC_CHECK(c.n == 2 && strcmp(c.items[1].image_rel, "sub/c.jpg") == 0, "good entries kept in order");
    tc_ds_captions_free(&c);
    /* each bad entry alone, so every message is checked */
    {
        size_t len;
        char *all = tc_read_file(D "bad_entries.json", &len);
        char *line = all ? strchr(all, '\n') + 1 : NULL;
        o.skip_bad = 0;
        for (int i = 0; line && i < 11; i++) {
            char *nl = strchr(line, '\n');
            char one[512];
            int n = (int)(nl - line);
            if (n > 0 && line[n - 1] == ',') n--;
            /* pad with good entries so the bad one keeps its index i */
            int off = snprintf(one, sizeof one, "[");
            for (int k = 0; k < i; k++) off += snprintf(one + off, sizeof one - (size_t)off, "{\"image\": \"a.jpg\", \"caption\": [[1],[2],[3],[4],[5]]},");
            if (off + n + 3 >= (int)sizeof one) break;
            snprintf(one + off, sizeof one - (size_t)off, "%.*s]", n, line);
            line = nl + 1;
            if (i == 0 || i == 10) continue; /* the good ones */
            tc_error_clear();
            int rc = tc_ds_parse_captions(one, strlen(one), "bad.json", IMG, TC_DS_CAPS_FIVE, &o, &c);
            int ok = rc != 0 && has(tc_error_get(), "bad.json: ");
            for (int f = 0; f < 3; f++) ok &= has(tc_error_get(), want[i - 1].frag[f]);
            TC_CHECK(ok, "bad entry %d: \"%s\"", i, tc_error_get());
        }
        free(all);
    }
    /* without the image check, missing images pass; vocab_size 0 disables the id range check */
    o.check_images = 0;
    o.vocab_size = 0;
    o.skip_bad = 1;
    TC_CHECK(tc_ds_load_captions(D "bad_entries.json", IMG, TC_DS_CAPS_FIVE, &o, &c) == 0 && c.n == 4 && c.report.skipped == 7,
             "no checks: kept %d skipped %d", c.n, c.report.skipped);
    tc_ds_captions_free(&c);
}

static void test_gt(void) {
    tc_ds_opts o = tc_ds_opts_default();
    tc_ds_gt gt;
    TC_CHECK(tc_ds_load_caption_gt(D "gt_ok.json", &o, &gt) == 0, "gt_ok: %s", tc_error_get());
    const tc_ds_gt_entry *e = tc_ds_gt_find(&gt, "391895");
    TC_CHECK(gt.n == 2 && e && e->ncap == 2 && strcmp(e->caps[1], "街上有人骑车。") == 0, "GT lookup");
    TC_CHECK(tc_ds_gt_find(&gt, "391896") == NULL, "absent id");
    tc_ds_gt_free(&gt);
    CHECK_FAILS(tc_ds_load_caption_gt(D "gt_bad.json", &o, &gt), "gt_bad.json", "image id \"000001\"", "empty caption list");
    o.skip_bad = 1;
    TC_CHECK(tc_ds_load_caption_gt(D "gt_bad.json", &o, &gt) == 0 && gt.n == 2 && gt.report.skipped == 2,
             "skip_bad GT: n %d skipped %d", gt.n, gt.report.skipped);
    tc_ds_gt_free(&gt);
    char id[16];
    tc_ds_coco_image_id("mscoco/val2014/COCO_val2014_000000391895.jpg", id, sizeof id);
    TC_CHECK(strcmp(id, "391895") == 0, "coco id %s", id);
    tc_ds_coco_image_id("synth/synth_000007.jpg", id, sizeof id);
    TC_CHECK(strcmp(id, "000007") == 0, "synth id %s", id);
    tc_ds_coco_image_id("ab.jpg", id, sizeof id);
    TC_CHECK(strcmp(id, "ab") == 0, "short stem %s", id);
}

static void test_vqa(void) {
    tc_ds_opts o = tc_ds_opts_default();
    tc_ds_vqa v;
    TC_CHECK(tc_ds_load_vqa(D "vqa_ok.json", IMG, 1, &o, &v) == 0, "vqa_ok: %s", tc_error_get());
    TC_CHECK(v.n == 2 && strcmp(v.items[0].question_id, "17") == 0 && strcmp(v.items[1].question_id, "q18") == 0 &&
                 v.items[0].question.n == 3 && v.items[0].answer.n == 2 && v.items[0].answer.v[1] == 5 &&
                 strcmp(v.items[1].image, IMG "/sub/c.jpg") == 0,
             "VQA items");
    tc_ds_vqa_free(&v);
    TC_CHECK(tc_ds_load_vqa(D "vqa_test_noanswer.json", IMG, 0, &o, &v) == 0 && v.n == 1 && !v.items[0].has_answer,
             "answer optional: %s", tc_error_get());
    tc_ds_vqa_free(&v);
    CHECK_FAILS(tc_ds_load_vqa(D "vqa_test_noanswer.json", IMG, 1, &o, &v), "entry 0 (question_id 19)", "\"Answer\": missing");
    CHECK_FAILS(tc_ds_load_vqa(D "vqa_bad.json", IMG, 1, &o, &v), "vqa_bad.json", "entry 0 (question_id 1)",
                "\"Answer\": expected a list of token ids");
    o.skip_bad = 1;
    TC_CHECK(tc_ds_load_vqa(D "vqa_bad.json", IMG, 1, &o, &v) == 0 && v.n == 1 && v.report.skipped == 5 &&
                 strcmp(v.items[0].question_id, "6") == 0,
             "skip_bad VQA: n %d skipped %d", v.n, v.report.skipped);
    tc_ds_vqa_free(&v);
    o.skip_bad = 0;
    const char *one_bad[][2] = {
        {"[{\"image_id\": \"a.jpg\", \"Question\": [], \"Answer\": [4], \"question_id\": 2}]", "\"Question\": empty token id list"},
        {"[{\"image_id\": \"nope.jpg\", \"Question\": [1], \"Answer\": [4], \"question_id\": 3}]", "nope.jpg does not exist"},
        {"[{\"image_id\": \"a.jpg\", \"Question\": [1], \"Answer\": [99999], \"question_id\": 4}]", "id 99999 is outside the vocab"},
        {"[{\"image_id\": \"a.jpg\", \"Question\": [1], \"Answer\": [4]}]", "\"question_id\": expected"},
    };
    for (int i = 0; i < 4; i++)
        CHECK_FAILS(tc_ds_parse_vqa(one_bad[i][0], strlen(one_bad[i][0]), "q.json", IMG, 1, &o, &v), "q.json: entry 0",
                    one_bad[i][1]);

    TC_CHECK(tc_ds_load_vqa_v1(D "vqa_v1_ok.json", 1, &o, &v) == 0 && v.n == 2, "v1 VQA: %s", tc_error_get());
    TC_CHECK(v.n == 2 && strcmp(v.items[1].question_id, "1002") == 0 && v.items[1].answer.n == 2 && !v.items[1].image,
             "v1 VQA items");
    tc_ds_vqa_free(&v);
    CHECK_FAILS(tc_ds_load_vqa_v1(D "vqa_v1_bad.json", 1, &o, &v), "vqa_v1_bad.json", "question_id \"1001\"",
                "\"answer_ids\": missing");
    CHECK_FAILS(tc_ds_load_vqa_v1(D "vqa_v1_bad.json", 0, &o, &v), "question_id \"1002\"", "\"input_ids\": missing");

    tc_ds_fmiqa f;
    TC_CHECK(tc_ds_load_fmiqa(D "fmiqa_ok.json", &o, &f) == 0, "fmiqa: %s", tc_error_get());
    TC_CHECK(f.ntrain == 1 && f.nval == 2 && strcmp(f.val[0].answer, "两个") == 0 && strcmp(f.val[1].question_id, "3") == 0 &&
                 f.val[1].question == NULL && strcmp(f.val[0].image_id, "391895") == 0,
             "FM-IQA items");
    tc_ds_fmiqa_free(&f);
    CHECK_FAILS(tc_ds_load_fmiqa(D "fmiqa_bad.json", &o, &f), "fmiqa_bad.json", "val entry 0", "\"Answer\": expected a string");
    CHECK_FAILS(tc_ds_load_fmiqa(D "fmiqa_noval.json", &o, &f), "fmiqa_noval.json", "\"val\" is missing");
    o.skip_bad = 1;
    TC_CHECK(tc_ds_load_fmiqa(D "fmiqa_bad.json", &o, &f) == 0 && f.nval == 1 && f.report.skipped == 1, "skip_bad FM-IQA");
    tc_ds_fmiqa_free(&f);
    char *p = tc_ds_fmiqa_image_path("/img", 1, "391895");
    TC_CHECK(strcmp(p, "/img/mscoco/val2014/COCO_val2014_000000391895.jpg") == 0, "FM-IQA image path %s", p);
    free(p);
}

static void test_v1(void) {
    tc_ds_opts o = tc_ds_opts_default();
    /* path rules */
    char *p = tc_ds_v1_image_path(IMG, "sub/c.jpg3");
    TC_CHECK(strcmp(p, IMG "/sub/c.jpg") == 0, "caption index stripped: %s", p);
    free(p);
    p = tc_ds_v1_image_path(IMG, "elsewhere/base_only.jpg12");
    TC_CHECK(strcmp(p, IMG "/base_only.jpg") == 0, "basename fallback: %s", p);
    free(p);
    p = tc_ds_v1_image_path(IMG, "mscoco/train2014/COCO_train2014_000000000009");
    TC_CHECK(strcmp(p, IMG "/mscoco/train2014/COCO_train2014_000000000009.jpg") == 0, ".jpg appended: %s", p);
    free(p);
    p = tc_ds_v1_token_path(D "img_tokens", "img/a.jpg3", 2);
    TC_CHECK(strcmp(p, D "img_tokens/img/a.jpg.npz") == 0, "token path .jpg.npz: %s", p);
    int64_t *codes;
    int n;
    TC_CHECK(tc_ds_load_img_tokens(p, &codes, &n) == 0 && n == 64 && codes[0] == 0 && codes[63] == 63, "tokens [8,8] flattened");
    free(codes);
    free(p);
    p = tc_ds_v1_token_path(D "img_tokens", "img/b.jpg0", 2);
    TC_CHECK(strcmp(p, D "img_tokens/img/b.npz") == 0, "token path fallback .npz: %s", p);
    TC_CHECK(tc_ds_load_img_tokens(p, &codes, &n) == 0 && n == 64 && codes[0] == 64, "int64 tokens");
    free(codes);
    free(p);
    p = tc_ds_v1_token_path("/t", "a_b_c", 1);
    TC_CHECK(strcmp(p, "/t/a/b/c.npz") == 0, "data_type 1: %s", p);
    free(p);
    p = tc_ds_v1_token_path("/t", "x.jpg3", 0);
    TC_CHECK(strcmp(p, "/t/x.jpg3.npz") == 0, "data_type 0: %s", p);
    free(p);
    CHECK_FAILS(tc_ds_load_img_tokens(D "img_tokens/img/empty.npz", &codes, &n), "empty.npz", "non-empty");
    CHECK_FAILS(tc_ds_load_img_tokens(D "img_tokens/img/none.npz", &codes, &n), "none.npz");

    /* id lists + text db */
    tc_ds_v1 d;
    TC_CHECK(tc_ds_v1_load(D "v1/ids.json", D "v1/txt", IMG, NULL, &o, &d) == 0, "v1 load: %s", tc_error_get());
    TC_CHECK(d.n == 4 && d.db.cls == 101 && d.db.v_lo == 999 && d.db.v_hi == 21128, "v1 meta and count");
    if (d.n == 4) {
        TC_CHECK(d.items[0].input_ids.n == 3 && d.items[0].input_ids.v[2] == 1921, "text db ids");
        TC_CHECK(d.items[2].input_ids.n == 2 && d.items[2].input_ids.v[0] == 500, "laion400m drops 3 ids");
        TC_CHECK(d.items[3].input_ids.n == 2 && d.items[3].input_ids.v[0] == 7, "<db>_json fallback");
        TC_CHECK(strcmp(d.items[2].image, IMG "/b.jpg") == 0, "image by basename: %s", d.items[2].image);
    }
    tc_ds_v1_free(&d);
    CHECK_FAILS(tc_ds_v1_load(D "v1/ids_bad.json", D "v1/txt", IMG, NULL, &o, &d), "ids_bad.json", "entry 1 (id \"a.jpg7\")",
                "neither");
    o.skip_bad = 1;
    TC_CHECK(tc_ds_v1_load(D "v1/ids_bad.json", D "v1/txt", IMG, NULL, &o, &d) == 0 && d.n == 2 && d.report.skipped == 3,
             "skip_bad v1: n %d skipped %d (%s)", d.n, d.report.skipped, tc_error_get());
    tc_ds_v1_free(&d);
    o.skip_bad = 0;
    tc_ds_txtdb db;
    TC_CHECK(tc_ds_txtdb_open(D "v1/txt", &db) == 0, "txtdb open");
    tc_ds_ids ids;
    CHECK_FAILS(tc_ds_txtdb_get(&db, "sub/c.jpg3", &o, &ids), "c.jpg3.json", "id 21128 is outside the vocab");
    CHECK_FAILS(tc_ds_txtdb_get(&db, "a.jpg5", &o, &ids), "a.jpg5.json", "empty token id list");
    tc_ds_txtdb_close(&db);
    CHECK_FAILS(tc_ds_txtdb_open(D "v1/badmeta", &db), "badmeta/meta.json", "v_range");
    CHECK_FAILS(tc_ds_txtdb_open(D "v1/none", &db), "none/meta.json");
    char **list;
    CHECK_FAILS(tc_ds_load_id_list(D "v1/ids_not_strings.json", &list, &n), "ids_not_strings.json", "entry 1");
}

/* Everything taichu synth writes is readable with the strict options (images checked, vocab range). */
static void test_synth_roundtrip(void) {
    const char *dir = TAICHU_BINARY_DIR "/test_dataset_synth";
    tc_synth_opts so = {dir, 30, 24, 3, 0, 0, 1, 90};
    tc_synth_stats st;
    TC_CHECK(tc_synth_generate(&so, &st) == 0, "synth: %s", tc_error_get());
    tc_ds_opts o = tc_ds_opts_default();
    o.vocab_size = st.vocab_size;
    char img[512], f[512];
    snprintf(img, sizeof img, "%s/image", dir);
    tc_ds_captions c;
    snprintf(f, sizeof f, "%s/text/flickr30k_test_zh_token.json", dir);
    TC_CHECK(tc_ds_load_captions(f, img, TC_DS_CAPS_FIVE, &o, &c) == 0 && c.n == st.n_test, "synth test: %s", tc_error_get());
    tc_ds_captions_free(&c);
    snprintf(f, sizeof f, "%s/text/json_coco_train_zh_token.json", dir);
    TC_CHECK(tc_ds_load_captions(f, img, TC_DS_CAPS_SOME, &o, &c) == 0 && c.n == st.n_train, "synth train: %s", tc_error_get());
    tc_ds_captions_free(&c);
    snprintf(f, sizeof f, "%s/text/json_coco_test_zh_token_for_cap.json", dir);
    TC_CHECK(tc_ds_load_captions(f, img, TC_DS_CAPS_OPTIONAL, &o, &c) == 0 && c.n == st.n_test, "synth cap test: %s", tc_error_get());
    /* GT keys are the metric ids of the test images */
    tc_ds_gt gt;
    snprintf(f, sizeof f, "%s/text/json_coco_trans_captions.json", dir);
    TC_CHECK(tc_ds_load_caption_gt(f, &o, &gt) == 0 && gt.n == st.n_test, "synth GT: %s", tc_error_get());
    for (int i = 0; i < c.n; i++) {
        char id[16];
        tc_ds_coco_image_id(c.items[i].image, id, sizeof id);
        const tc_ds_gt_entry *e = tc_ds_gt_find(&gt, id);
        TC_CHECK(e && e->ncap == 5, "GT for %s", id);
    }
    tc_ds_gt_free(&gt);
    tc_ds_captions_free(&c);
    tc_ds_vqa v;
    snprintf(f, sizeof f, "%s/text/FM-IQA_train_token_ids_for_vqa.json", dir);
    TC_CHECK(tc_ds_load_vqa(f, img, 1, &o, &v) == 0 && v.n > st.n_train, "synth VQA train: %s", tc_error_get());
    int ntrain_q = v.n;
    tc_ds_vqa_free(&v);
    snprintf(f, sizeof f, "%s/text/FM-IQA_val_token_ids.json", dir);
    TC_CHECK(tc_ds_load_vqa(f, img, 1, &o, &v) == 0 && v.n >= st.n_test, "synth VQA val: %s", tc_error_get());
    tc_ds_fmiqa fm;
    snprintf(f, sizeof f, "%s/text/FM-IQA.json", dir);
    TC_CHECK(tc_ds_load_fmiqa(f, &o, &fm) == 0 && fm.nval == v.n && fm.ntrain == ntrain_q, "synth FM-IQA: %s", tc_error_get());
    for (int i = 0; i < fm.nval && i < v.n; i++)
        TC_CHECK(strcmp(fm.val[i].question_id, v.items[i].question_id) == 0, "question ids agree");
    tc_ds_fmiqa_free(&fm);
    tc_ds_vqa_free(&v);
    /* v1: id lists + text db + VQ tokens by the original's data_type 2 rule */
    char ids[512], db[512], tok[512];
    snprintf(ids, sizeof ids, "%s/v1/train_ids.json", dir);
    snprintf(db, sizeof db, "%s/v1/txt", dir);
    snprintf(tok, sizeof tok, "%s/img_tokens", dir);
    tc_ds_v1 d;
    TC_CHECK(tc_ds_v1_load(ids, db, img, NULL, &o, &d) == 0 && d.n == 5 * st.n_train, "synth v1: %s", tc_error_get());
    if (d.n > 0) {
        char *tp = tc_ds_v1_token_path(tok, d.items[0].id, 2);
        int64_t *codes;
        int n;
        TC_CHECK(tc_ds_load_img_tokens(tp, &codes, &n) == 0 && n == 64, "synth VQ tokens via v1 rule: %s", tc_error_get());
        free(codes);
        free(tp);
    }
    tc_ds_v1_free(&d);
}

int main(void) {
    test_captions();
    test_gt();
    test_vqa();
    test_v1();
    test_synth_roundtrip();
    return tc_test_summary("dataset");
}
