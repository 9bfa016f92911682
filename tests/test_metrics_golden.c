/* Caption metrics against golden values from an independent Python reference of the coco-caption
 * definitions (tests/data/metrics/make_golden.py): 373 candidate/reference sets including the edge
 * cases (empty candidate, candidate longer than every reference, single reference, repeated n-grams,
 * identical candidate and references), scored as three corpora (CIDEr's df depends on the corpus),
 * corpus and per-item values; plus the segmentation cases. */
#include "eval/caption_score.h"
#include "eval/segment.h"

#include "core/error.h"
#include "core/fileio.h"
#include "tc_test.h"

#include <cjson/cJSON.h>
#include <string.h>

/* Per-metric tolerances: all values are computed in double from the same integer statistics; the
 * only differences are summation order (CIDEr, ROUGE mean) and pow/exp rounding. */
#define RTOL 1e-9
#define ATOL 1e-13

static double num(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k)->valuedouble; }

static char *join_tokens(const char *text, tc_segment_mode mode) {
    /* the space corpus: candidates/references pre-segmented by char mode and joined with spaces */
    tc_tokdict *v = tc_tokdict_new();
    int32_t *toks = NULL;
    int n = 0, cap = 0;
    tc_segment(v, text, mode, &toks, &n, &cap);
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(tc_tokdict_str(v, toks[i])) + 1;
    char *out = tc_xmalloc(len);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, " ");
        strcat(out, tc_tokdict_str(v, toks[i]));
    }
    free(toks);
    tc_tokdict_free(v);
    return out;
}

static void check_corpus(const char *name, const cJSON *items, int first, int count, tc_segment_mode mode,
                         int join, const cJSON *gold) {
    const char **preds = tc_xmalloc((size_t)count * sizeof *preds);
    tc_caption_refs *refs = tc_xmalloc((size_t)count * sizeof *refs);
    char **owned = tc_xcalloc((size_t)count * 8, sizeof *owned);
    int nown = 0;
    for (int i = 0; i < count; i++) {
        const cJSON *it = cJSON_GetArrayItem(items, first + i);
        const char *cand = cJSON_GetObjectItemCaseSensitive(it, "candidate")->valuestring;
        const cJSON *rl = cJSON_GetObjectItemCaseSensitive(it, "references");
        int nr = cJSON_GetArraySize(rl);
        const char **rt = tc_xmalloc((size_t)nr * sizeof *rt);
        for (int r = 0; r < nr; r++) {
            const char *s = cJSON_GetArrayItem(rl, r)->valuestring;
            rt[r] = join ? (owned[nown++] = join_tokens(s, TC_SEGMENT_CHAR)) : s;
        }
        preds[i] = join ? (owned[nown++] = join_tokens(cand, TC_SEGMENT_CHAR)) : cand;
        refs[i].text = rt;
        refs[i].n = nr;
    }
    tc_caption_opts opts = {mode};
    tc_caption_scores s, *per = tc_xmalloc((size_t)count * sizeof *per);
    int rc = tc_caption_score(preds, refs, count, &opts, &s, per);
    TC_CHECK(rc == 0, "%s: %s", name, tc_error_get());
    const cJSON *corpus = cJSON_GetObjectItemCaseSensitive(gold, "corpus");
    printf("%s: BLEU-4 %.6f METEOR %.6f ROUGE-L %.6f CIDEr %.6f\n", name, s.bleu[3], s.meteor, s.rouge_l, s.cider);
    TC_CHECK_CLOSE(s.bleu[0], num(corpus, "Bleu_1"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.bleu[1], num(corpus, "Bleu_2"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.bleu[2], num(corpus, "Bleu_3"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.bleu[3], num(corpus, "Bleu_4"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.meteor, num(corpus, "METEOR"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.rouge_l, num(corpus, "ROUGE_L"), RTOL, ATOL);
    TC_CHECK_CLOSE(s.cider, num(corpus, "CIDEr"), RTOL, ATOL);
    const cJSON *pi = cJSON_GetObjectItemCaseSensitive(gold, "per_item");
    const char *keys[4] = {"Bleu_4", "METEOR", "ROUGE_L", "CIDEr"};
    for (int k = 0; k < 4; k++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(pi, keys[k]);
        TC_CHECK(cJSON_GetArraySize(arr) == count, "%s %s: %d golden values", name, keys[k], cJSON_GetArraySize(arr));
        int bad = 0;
        for (int i = 0; i < count && bad < 5; i++) {
            double want = cJSON_GetArrayItem(arr, i)->valuedouble;
            double got = k == 0 ? per[i].bleu[3] : k == 1 ? per[i].meteor : k == 2 ? per[i].rouge_l : per[i].cider;
            if (!(fabs(got - want) <= ATOL + RTOL * fabs(want))) {
                bad++;
                TC_CHECK(0, "%s %s item %d: got %.12g want %.12g", name, keys[k], first + i, got, want);
            }
        }
        TC_CHECK(bad == 0, "%s %s: per-item mismatches", name, keys[k]);
    }
    for (int i = 0; i < count; i++) free((void *)refs[i].text);
    for (int i = 0; i < nown; i++) free(owned[i]);
    free(owned);
    free(preds);
    free(refs);
    free(per);
}

static void check_segmentation(const cJSON *cases) {
    int n = cJSON_GetArraySize(cases);
    for (int c = 0; c < n; c++) {
        const cJSON *cs = cJSON_GetArrayItem(cases, c);
        const char *text = cJSON_GetObjectItemCaseSensitive(cs, "text")->valuestring;
        for (int m = 0; m < 2; m++) {
            const cJSON *want = cJSON_GetObjectItemCaseSensitive(cs, m ? "space" : "char");
            tc_tokdict *v = tc_tokdict_new();
            int32_t *toks = NULL;
            int nt = 0, cap = 0;
            tc_segment(v, text, m ? TC_SEGMENT_SPACE : TC_SEGMENT_CHAR, &toks, &nt, &cap);
            int ok = nt == cJSON_GetArraySize(want);
            for (int i = 0; ok && i < nt; i++) ok = strcmp(tc_tokdict_str(v, toks[i]), cJSON_GetArrayItem(want, i)->valuestring) == 0;
            TC_CHECK(ok, "segmentation (%s) of \"%s\": %d tokens, want %d", m ? "space" : "char", text, nt,
                     cJSON_GetArraySize(want));
            free(toks);
            tc_tokdict_free(v);
        }
    }
}

int main(void) {
    char *text = tc_read_file(TAICHU_TEST_DATA "/metrics/caption_golden.json", NULL);
    TC_CHECK(text != NULL, "%s", tc_error_get());
    if (!text) return tc_test_summary("metrics_golden");
    cJSON *g = cJSON_Parse(text);
    TC_CHECK(g != NULL, "golden JSON parses");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(g, "items");
    int n = cJSON_GetArraySize(items);
    TC_CHECK(n == 373, "golden sets: %d", n);
    check_corpus("full", items, 0, n, TC_SEGMENT_CHAR, 0, cJSON_GetObjectItemCaseSensitive(g, "full"));
    check_corpus("edge", items, 360, n - 360, TC_SEGMENT_CHAR, 0, cJSON_GetObjectItemCaseSensitive(g, "edge"));
    check_corpus("first50_space", items, 0, 50, TC_SEGMENT_SPACE, 1,
                 cJSON_GetObjectItemCaseSensitive(g, "first50_space"));
    check_segmentation(cJSON_GetObjectItemCaseSensitive(g, "segmentation"));
    cJSON_Delete(g);
    free(text);
    return tc_test_summary("metrics_golden");
}
