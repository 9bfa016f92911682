/* Caption metrics on hand-computed cases (token ids), METEOR alignment details, error handling. */
#include "eval/caption_metrics.h"
#include "eval/caption_score.h"
#include "eval/segment.h"
#include "eval/table.h"

#include "core/error.h"
#include "tc_test.h"

#include <math.h>
#include <string.h>

#define SEQ(...) ((tc_tokseq){(const int32_t[]){__VA_ARGS__}, (int)(sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))})

static void bleu_hand(void) {
    /* cand a b c d, ref a b c e: matches 3/4, 2/3, 1/2, 0/1. Equal lengths still get a brevity factor
     * of exp(1 - 1/ratio) ~ 1 - 2.5e-10, ratio = (4 + 1e-15) / (4 + 1e-9) < 1, as coco computes it. */
    tc_tokseq cand[1] = {SEQ(1, 2, 3, 4)}, refs[1] = {SEQ(1, 2, 3, 5)};
    int off[2] = {0, 1};
    tc_caption_corpus c = {1, cand, off, refs, NULL, 0};
    double b[4], per[1][4];
    TC_CHECK(tc_bleu(&c, b, per) == 0, "%s", tc_error_get());
    double p1 = (3 + 1e-15) / (4 + 1e-9), p2 = (2 + 1e-15) / (3 + 1e-9), p3 = (1 + 1e-15) / (2 + 1e-9),
           p4 = (0 + 1e-15) / (1 + 1e-9);
    double bp = exp(1 - 1 / ((4 + 1e-15) / (4 + 1e-9)));
    TC_CHECK(bp < 1.0, "equal-length brevity factor %.17g", bp);
    TC_CHECK_CLOSE(b[0], p1 * bp, 1e-14, 0);
    TC_CHECK_CLOSE(b[1], sqrt(p1 * p2) * bp, 1e-14, 0);
    TC_CHECK_CLOSE(b[2], cbrt(p1 * p2 * p3) * bp, 1e-14, 0);
    TC_CHECK_CLOSE(b[3], pow(p1 * p2 * p3 * p4, 0.25) * bp, 1e-12, 0);
    TC_CHECK_CLOSE(per[0][1], b[1], 1e-14, 0);

    /* closest reference length with a tie: cand length 4, refs of length 3 and 5 -> the shorter (3),
     * so ratio > 1 and no brevity penalty... except that ratio is (4+1e-15)/(3+1e-9) > 1: none; clipping: "x x x x" against "x x y" counts 2 unigram matches. */
    tc_tokseq c2[1] = {SEQ(9, 9, 9, 9)}, r2[2] = {SEQ(9, 9, 7), SEQ(7, 7, 7, 7, 7)};
    int off2[2] = {0, 2};
    tc_caption_corpus cc = {1, c2, off2, r2, NULL, 0};
    TC_CHECK(tc_bleu(&cc, b, NULL) == 0, "%s", tc_error_get());
    TC_CHECK_CLOSE(b[0], (2 + 1e-15) / (4 + 1e-9), 1e-14, 0);
    /* brevity penalty: cand of 2 against a ref of 4 -> exp(1 - 4/2) on every order */
    tc_tokseq c3[1] = {SEQ(1, 2)}, r3[1] = {SEQ(1, 2, 3, 4)};
    int off3[2] = {0, 1};
    tc_caption_corpus c3c = {1, c3, off3, r3, NULL, 0};
    TC_CHECK(tc_bleu(&c3c, b, NULL) == 0, "%s", tc_error_get());
    double ratio = (2 + 1e-15) / (4 + 1e-9);
    TC_CHECK_CLOSE(b[0], (2 + 1e-15) / (2 + 1e-9) * exp(1 - 1 / ratio), 1e-14, 0);
}

static void rouge_hand(void) {
    /* LCS(1 2 3 4, 1 3 5) = 2: P = 1/2, R = 2/3 */
    tc_tokseq cand[2] = {SEQ(1, 2, 3, 4), {NULL, 0}}, refs[3] = {SEQ(1, 3, 5), {NULL, 0}, SEQ(8)};
    int off[3] = {0, 1, 3};
    tc_caption_corpus c = {2, cand, off, refs, NULL, 0};
    double r, per[2];
    TC_CHECK(tc_rouge_l(&c, &r, per) == 0, "%s", tc_error_get());
    double P = 0.5, R = 2.0 / 3, b2 = 1.44;
    TC_CHECK_CLOSE(per[0], (1 + b2) * P * R / (R + b2 * P), 1e-15, 0);
    /* coco quirk: an empty candidate is one empty token, equal to an empty reference */
    TC_CHECK_CLOSE(per[1], 1.0, 0, 1e-15);
    TC_CHECK_CLOSE(r, (per[0] + per[1]) / 2, 1e-15, 0);
}

static void cider_hand(void) {
    /* two items, each candidate identical to its single reference, disjoint vocabularies: every
     * n-gram has df 1, idf log 2, cosine 1 at every n, no length penalty -> 10 each. */
    tc_tokseq cand[2] = {SEQ(1, 2, 3, 4, 5), SEQ(6, 7, 8)}, refs[2] = {SEQ(1, 2, 3, 4, 5), SEQ(6, 7, 8)};
    int off[3] = {0, 1, 2};
    tc_caption_corpus c = {2, cand, off, refs, NULL, 0};
    double s, per[2];
    TC_CHECK(tc_cider_d(&c, &s, per) == 0, "%s", tc_error_get());
    /* item 1 has no 4-grams: that order contributes 0, so (1 + 1 + 1 + 0) / 4 * 10 */
    TC_CHECK_CLOSE(per[0], 10.0, 1e-14, 0);
    TC_CHECK_CLOSE(per[1], 7.5, 1e-14, 0);
    /* a one-item corpus: log(N) = 0 makes every weight 0 -> CIDEr-D 0 (as coco) */
    tc_caption_corpus one = {1, cand, off, refs, NULL, 0};
    TC_CHECK(tc_cider_d(&one, &s, NULL) == 0 && s == 0.0, "one-item corpus: %g", s);
    /* length penalty on bigram counts: candidate 1 2 3 vs reference 1 2 3 9 9 9 9 9 (bigrams 2 vs 7) */
    tc_tokseq c2[2] = {SEQ(1, 2, 3), SEQ(6)}, r2[2] = {SEQ(1, 2, 3, 9, 9, 9, 9, 9), SEQ(7)};
    tc_caption_corpus cc = {2, c2, off, r2, NULL, 0};
    TC_CHECK(tc_cider_d(&cc, &s, per) == 0, "%s", tc_error_get());
    double pen = exp(-25.0 / 72.0);
    /* unigrams: hyp (1,2,3) w = L each; ref has 1,2,3 once and 9 five times: cos = 3L^2/(sqrt(3)L*sqrt(3+25)L) */
    double u = 3.0 / (sqrt(3.0) * sqrt(28.0));
    double bgm = 2.0 / (sqrt(2.0) * sqrt(3.0 + 16.0)); /* bigrams 12 23 vs 12 23 39 99x4 */
    double tri = 1.0 / (1.0 * sqrt(3.0 + 9.0));        /* 123 vs 123 239 399 999x3 */
    TC_CHECK_CLOSE(per[0], (u + bgm + tri + 0) / 4 * pen * 10, 1e-12, 0);
}

static void meteor_hand(void) {
    tc_meteor_stats st;
    /* reordering: test 1 2 3, ref 3 1 2 -> 3 matches, 2 chunks, P = R = 1 */
    tc_tokseq t = SEQ(1, 2, 3), r = SEQ(3, 1, 2);
    tc_meteor_align(&t, &r, NULL, 0, &st);
    TC_CHECK(st.test_match_content == 3 && st.chunks == 2, "matches %g chunks %g", st.test_match_content, st.chunks);
    TC_CHECK_CLOSE(tc_meteor_score(&st), 1 - 0.6 * pow(2.0 / 3, 0.2), 1e-15, 0);
    /* identical: one chunk, frag 0 -> 1 */
    tc_meteor_align(&t, &t, NULL, 0, &st);
    TC_CHECK(st.chunks == 1 && tc_meteor_score(&st) == 1.0, "identical: %g", tc_meteor_score(&st));
    /* partial: test 1 2 4, ref 1 2 3 5 -> m 2, 1 chunk; P 2/3, R 1/2 */
    tc_tokseq t2 = SEQ(1, 2, 4), r2 = SEQ(1, 2, 3, 5);
    tc_meteor_align(&t2, &r2, NULL, 0, &st);
    double P = 2.0 / 3, R = 0.5, F = P * R / (0.85 * P + 0.15 * R);
    TC_CHECK_CLOSE(tc_meteor_score(&st), F * (1 - 0.6 * pow(1.0 / 2, 0.2)), 1e-14, 0);
    /* repeated words: test 1 1, ref 1 -> one match (one-to-one) */
    tc_tokseq t3 = SEQ(1, 1), r3 = SEQ(1);
    tc_meteor_align(&t3, &r3, NULL, 0, &st);
    TC_CHECK(st.test_match_content == 1 && st.ref_match_content == 1, "one-to-one");
    /* the aligner prefers fewer chunks: test 1 2 1 2 against ref 1 2 -> one chunk */
    tc_tokseq t4 = SEQ(1, 2, 1, 2), r4 = SEQ(1, 2);
    tc_meteor_align(&t4, &r4, NULL, 0, &st);
    TC_CHECK(st.chunks == 1 && st.test_match_content == 2, "chunks %g", st.chunks);
    /* function words weigh (1 - delta): token 5 marked as a function word */
    const uint8_t fw[6] = {0, 0, 0, 0, 0, 1};
    tc_tokseq t5 = SEQ(1, 5), r5 = SEQ(1, 5, 2);
    tc_meteor_align(&t5, &r5, fw, 6, &st);
    TC_CHECK(st.test_func == 1 && st.ref_func == 1 && st.test_match_func == 1, "function words");
    double Pf = (0.75 + 0.25) / (0.75 + 0.25), Rf = (0.75 + 0.25) / (0.75 * 2 + 0.25);
    TC_CHECK_CLOSE(tc_meteor_score(&st), Pf * Rf / (0.85 * Pf + 0.15 * Rf) * (1 - 0.6 * pow(0.5, 0.2)), 1e-14, 0);
    /* empty test -> 0 */
    tc_tokseq e = {NULL, 0};
    tc_meteor_align(&e, &r, NULL, 0, &st);
    TC_CHECK(tc_meteor_score(&st) == 0.0, "empty");
    TC_CHECK(tc_meteor_is_function_word("a") && tc_meteor_is_function_word(".") && !tc_meteor_is_function_word("狗"),
             "function-word list");
}

static void text_api(void) {
    /* identical candidate and references through the text API: BLEU ~1, METEOR 1, ROUGE-L 1 */
    const char *preds[2] = {"一只狗在草地上奔跑。", "两个人 sitting 在桌子旁"};
    const char *r0[2] = {"一只狗在草地上奔跑", "一只狗在草地上奔跑。"}, *r1[1] = {"两个人 SITTING 在桌子旁。"};
    tc_caption_refs refs[2] = {{r0, 2}, {r1, 1}};
    tc_caption_scores s, per[2];
    TC_CHECK(tc_caption_score(preds, refs, 2, NULL, &s, per) == 0, "%s", tc_error_get());
    for (int k = 0; k < 4; k++) TC_CHECK_CLOSE(s.bleu[k], 1.0, 1e-8, 0);
    TC_CHECK_CLOSE(s.meteor, 1.0, 0, 1e-15);
    TC_CHECK_CLOSE(s.rouge_l, 1.0, 0, 1e-15);
    TC_CHECK_CLOSE(per[1].cider, 10.0, 1e-12, 0); /* all n-grams of item 1 are unique to it */
    /* errors */
    tc_caption_refs none[1] = {{r0, 0}};
    TC_CHECK(tc_caption_score(preds, none, 1, NULL, &s, NULL) == -1 && strstr(tc_error_get(), "no reference"),
             "no reference: %s", tc_error_get());
    TC_CHECK(tc_caption_score(preds, refs, 0, NULL, &s, NULL) == -1, "zero predictions rejected");
    char *js = tc_caption_scores_json(&s, "\"images\": 2");
    TC_CHECK(strstr(js, "\"Bleu_4\": ") && strstr(js, "\"CIDEr\": ") && strstr(js, "\"images\": 2}"), "json: %s", js);
    free(js);
}

static void segmentation_and_table(void) {
    tc_tokdict *v = tc_tokdict_new();
    int32_t *toks = NULL;
    int n = 0, cap = 0;
    /* invalid UTF-8 (a lone continuation byte, a truncated sequence) -> one U+FFFD token per bad byte */
    int k = tc_segment(v, "\x80狗\xe7\x8b", TC_SEGMENT_CHAR, &toks, &n, &cap);
    TC_CHECK(k == 4 && toks[2] == toks[0] && strcmp(tc_tokdict_str(v, toks[1]), "狗") == 0 &&
                 strcmp(tc_tokdict_str(v, toks[0]), "\xef\xbf\xbd") == 0, "invalid UTF-8: %d tokens", k);
    /* equal strings intern to one id, across many distinct tokens (forces the table to grow) */
    char buf[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof buf, "w%d", i);
        tc_tokdict_intern(v, buf, strlen(buf));
    }
    TC_CHECK(tc_tokdict_intern(v, "w1234", 5) == tc_tokdict_intern(v, "w1234", 5), "interning is stable");
    TC_CHECK(tc_tokdict_intern(v, "狗", 3) == toks[1], "id survives growth");
    free(toks);
    tc_tokdict_free(v);
    tc_segment_mode m;
    TC_CHECK(tc_segment_mode_parse("space", &m) == 0 && m == TC_SEGMENT_SPACE, "parse space");
    TC_CHECK(tc_segment_mode_parse("jieba", &m) == -1, "jieba is not offered");

    TC_CHECK(tc_display_width("狗a") == 3, "display width %d", tc_display_width("狗a"));
    FILE *f = tmpfile();
    TC_CHECK(f != NULL, "tmpfile");
    if (!f) return;
    const char *hdr[2] = {"model", "R@1"}, *cells[4] = {"OPT 紫东太初", "69.6", "CLIP", "62.7"};
    tc_table_print(f, 2, hdr, 2, cells);
    rewind(f);
    char out[512] = {0};
    size_t got = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    TC_CHECK(got > 0 && strstr(out, "| model        | R@1  |\n| ------------ | ---- |\n| OPT 紫东太初 | 69.6 |\n") != NULL,
             "table:\n%s", out);
}

int main(void) {
    segmentation_and_table();
    bleu_hand();
    rouge_hand();
    cider_hand();
    meteor_hand();
    text_api();
    return tc_test_summary("metrics");
}
