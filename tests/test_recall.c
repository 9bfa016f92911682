/* Recall@K: hand-built score matrices with ties (both tie rules), the image<->text helper with five
 * captions per image, error handling, and the generated cases of tests/data/metrics/recall_golden.json
 * (ranks from the definition and from a stable descending sort, make_golden.py). */
#include "eval/recall.h"

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static void hand_built(void) {
    /* 3 queries x 4 items.
     * q0: GT 2, scores {0.5, 0.9, 0.9, 0.1}: none greater, one tie (item 1) -> pessimistic rank 1;
     *     argsort order (ties: higher index first) = 2, 1, 0, 3 -> rank 0.
     * q1: GT 1, same scores: pessimistic 1; argsort: item 2 (tie, higher index) first -> rank 1.
     * q2: GT {0, 3}, all equal: pessimistic rank 3 for each; argsort order 3, 2, 1, 0 -> rank 0. */
    const float s[12] = {0.5f, 0.9f, 0.9f, 0.1f, 0.5f, 0.9f, 0.9f, 0.1f, 1, 1, 1, 1};
    const int off[4] = {0, 1, 2, 4}, gt[4] = {2, 1, 0, 3}, ks[3] = {1, 2, 3};
    int ranks[3];
    double rec[3];
    TC_CHECK(tc_recall_at_k(s, 3, 4, off, gt, ks, 3, TC_TIES_PESSIMISTIC, ranks, rec) == 0, "%s", tc_error_get());
    TC_CHECK(ranks[0] == 1 && ranks[1] == 1 && ranks[2] == 3, "pessimistic ranks %d %d %d", ranks[0], ranks[1], ranks[2]);
    TC_CHECK_CLOSE(rec[0], 0.0, 0, 1e-12);
    TC_CHECK_CLOSE(rec[1], 200.0 / 3, 1e-12, 0);
    TC_CHECK_CLOSE(rec[2], 200.0 / 3, 1e-12, 0);
    TC_CHECK(tc_recall_at_k(s, 3, 4, off, gt, ks, 3, TC_TIES_ARGSORT, ranks, rec) == 0, "%s", tc_error_get());
    TC_CHECK(ranks[0] == 0 && ranks[1] == 1 && ranks[2] == 0, "argsort ranks %d %d %d", ranks[0], ranks[1], ranks[2]);
    TC_CHECK_CLOSE(rec[0], 200.0 / 3, 1e-12, 0);
    TC_CHECK_CLOSE(rec[1], 100.0, 1e-12, 0);

    /* errors: NaN, GT out of range, query without GT */
    const float bad[4] = {0, NAN, 1, 2};
    const int off1[2] = {0, 1}, g1[1] = {0}, g_oob[1] = {4}, off0[2] = {0, 0};
    TC_CHECK(tc_recall_at_k(bad, 1, 4, off1, g1, ks, 1, TC_TIES_PESSIMISTIC, NULL, rec) == -1 &&
                 strstr(tc_error_get(), "NaN"), "NaN rejected: %s", tc_error_get());
    TC_CHECK(tc_recall_at_k(s, 1, 4, off1, g_oob, ks, 1, TC_TIES_PESSIMISTIC, NULL, rec) == -1 &&
                 strstr(tc_error_get(), "out of range"), "GT range: %s", tc_error_get());
    TC_CHECK(tc_recall_at_k(s, 1, 4, off0, g1, ks, 1, TC_TIES_PESSIMISTIC, NULL, rec) == -1, "no GT rejected");
    tc_tie_rule rule;
    TC_CHECK(tc_tie_rule_parse("argsort", &rule) == 0 && rule == TC_TIES_ARGSORT, "parse argsort");
    TC_CHECK(tc_tie_rule_parse("optimistic", &rule) == -1, "unknown rule rejected");
}

static void image_text(void) {
    /* 12 images x 60 texts (5 captions each, text t belongs to image t / 5).
     * i2t: image i scores its own captions c(i,k) with a chosen pattern; t2i separately. */
    enum { NI = 12, NT = 60 };
    static float i2t[NI * NT], t2i[NT * NI];
    int txt2img[NT];
    for (int t = 0; t < NT; t++) txt2img[t] = t / 5;
    for (int i = 0; i < NI; i++)
        for (int t = 0; t < NT; t++) i2t[i * NT + t] = (float)((i * 7 + t * 13) % 17) / 100.0f; /* noise < 0.17 */
    /* Image i's best caption is planted at rank i (0-based) by giving rank-ahead texts higher scores:
     * its caption 3 scores 0.5; i other (foreign) texts score 0.6..; its other captions stay noise. */
    for (int i = 0; i < NI; i++) {
        i2t[i * NT + i * 5 + 3] = 0.5f;
        for (int k = 0, t = 0; k < i; t++)
            if (txt2img[t] != i) { i2t[i * NT + t] = 0.6f + 0.01f * k; k++; }
    }
    /* t2i: text t ranks its image at position t % 12 */
    for (int t = 0; t < NT; t++) {
        for (int i = 0; i < NI; i++) t2i[t * NI + i] = 0.01f * (float)i;
        int want = t % NI, g = txt2img[t];
        t2i[t * NI + g] = 0.5f;
        for (int k = 0, i = 0; k < want; i++)
            if (i != g) { t2i[t * NI + i] = 0.6f + 0.01f * k; k++; }
    }
    tc_retrieval_scores r;
    TC_CHECK(tc_retrieval_recall(i2t, t2i, NI, NT, txt2img, TC_TIES_PESSIMISTIC, &r) == 0, "%s", tc_error_get());
    /* TR: image ranks 0..11 -> R@1 1/12, R@5 5/12, R@10 10/12 */
    TC_CHECK_CLOSE(r.tr[0], 100.0 / 12, 1e-12, 0);
    TC_CHECK_CLOSE(r.tr[1], 500.0 / 12, 1e-12, 0);
    TC_CHECK_CLOSE(r.tr[2], 1000.0 / 12, 1e-12, 0);
    /* IR: text ranks t % 12 over 60 texts: 5 texts at each rank 0..11 */
    TC_CHECK_CLOSE(r.ir[0], 500.0 / 60, 1e-12, 0);
    TC_CHECK_CLOSE(r.ir[1], 2500.0 / 60, 1e-12, 0);
    TC_CHECK_CLOSE(r.ir[2], 5000.0 / 60, 1e-12, 0);
    TC_CHECK_CLOSE(r.r_mean, (r.ir[0] + r.ir[1] + r.ir[2] + r.tr[0] + r.tr[1] + r.tr[2]) / 6, 1e-12, 0);
    /* t2i = NULL: IR from the transpose of i2t; text t's image gets i2t[g][t]. Check against a direct
     * computation with tc_recall_at_k on the explicit transpose. */
    static float tr[NT * NI];
    for (int i = 0; i < NI; i++)
        for (int t = 0; t < NT; t++) tr[t * NI + i] = i2t[i * NT + t];
    int off[NT + 1];
    for (int t = 0; t <= NT; t++) off[t] = t;
    const int ks[3] = {1, 5, 10};
    double direct[3];
    TC_CHECK(tc_recall_at_k(tr, NT, NI, off, txt2img, ks, 3, TC_TIES_PESSIMISTIC, NULL, direct) == 0, "direct");
    TC_CHECK(tc_retrieval_recall(i2t, NULL, NI, NT, txt2img, TC_TIES_PESSIMISTIC, &r) == 0, "%s", tc_error_get());
    for (int k = 0; k < 3; k++) TC_CHECK_CLOSE(r.ir[k], direct[k], 1e-12, 0);
    int bad_map[NT];
    memcpy(bad_map, txt2img, sizeof bad_map);
    bad_map[7] = NI;
    TC_CHECK(tc_retrieval_recall(i2t, NULL, NI, NT, bad_map, TC_TIES_PESSIMISTIC, &r) == -1 &&
                 strstr(tc_error_get(), "text 7"), "bad txt2img: %s", tc_error_get());
}

static void golden(void) {
    char *text = tc_read_file(TAICHU_TEST_DATA "/metrics/recall_golden.json", NULL);
    TC_CHECK(text != NULL, "%s", tc_error_get());
    if (!text) return;
    cJSON *g = cJSON_Parse(text);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(g, "cases");
    int nc = cJSON_GetArraySize(cases);
    TC_CHECK(nc >= 6, "%d golden cases", nc);
    for (int c = 0; c < nc; c++) {
        const cJSON *cs = cJSON_GetArrayItem(cases, c);
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(cs, "scores"), *gt = cJSON_GetObjectItemCaseSensitive(cs, "gt");
        int nq = cJSON_GetArraySize(sc), ni = cJSON_GetArraySize(cJSON_GetArrayItem(sc, 0));
        float *s = malloc(sizeof(float) * (size_t)(nq * ni));
        int *off = malloc(sizeof(int) * (size_t)(nq + 1)), *g_items = malloc(sizeof(int) * (size_t)(nq * ni));
        off[0] = 0;
        for (int q = 0; q < nq; q++) {
            for (int j = 0; j < ni; j++) s[q * ni + j] = (float)cJSON_GetArrayItem(cJSON_GetArrayItem(sc, q), j)->valuedouble;
            const cJSON *gq = cJSON_GetArrayItem(gt, q);
            off[q + 1] = off[q];
            for (int k = 0; k < cJSON_GetArraySize(gq); k++) g_items[off[q + 1]++] = cJSON_GetArrayItem(gq, k)->valueint;
        }
        const int ks[3] = {1, 2, 5};
        for (int rr = 0; rr < 2; rr++) {
            const cJSON *want = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cs, "expect"),
                                                                 rr ? "argsort" : "pessimistic");
            int *ranks = malloc(sizeof(int) * (size_t)nq);
            double rec[3];
            TC_CHECK(tc_recall_at_k(s, nq, ni, off, g_items, ks, 3, rr ? TC_TIES_ARGSORT : TC_TIES_PESSIMISTIC, ranks,
                                    rec) == 0, "%s", tc_error_get());
            const cJSON *wr = cJSON_GetObjectItemCaseSensitive(want, "ranks"), *wrec = cJSON_GetObjectItemCaseSensitive(want, "recall");
            for (int q = 0; q < nq; q++)
                TC_CHECK(ranks[q] == cJSON_GetArrayItem(wr, q)->valueint, "case %d rule %d query %d: rank %d want %d", c, rr,
                         q, ranks[q], cJSON_GetArrayItem(wr, q)->valueint);
            for (int k = 0; k < 3; k++) TC_CHECK_CLOSE(rec[k], cJSON_GetArrayItem(wrec, k)->valuedouble, 1e-12, 1e-12);
            free(ranks);
        }
        free(s);
        free(off);
        free(g_items);
    }
    cJSON_Delete(g);
    free(text);
}

int main(void) {
    hand_built();
    image_text();
    golden();
    return tc_test_summary("recall");
}
