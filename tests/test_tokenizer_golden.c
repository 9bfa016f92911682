/* Golden test: taichu's tokenizer against Hugging Face tokenizers (npm 0.23.2, BertWordPieceTokenizer
 * pipeline) over tests/data/tokenizer/vocab.txt. golden.json and the vocab come from
 * tests/data/tokenizer/make_golden.js; each case holds the input bytes (hex, so invalid UTF-8 and control
 * characters survive), HF's ids with [CLS]/[SEP], the ids under truncation to 50 when they differ, and
 * HF's pre-tokenised words (normaliser + pre-tokenizer output) when the text has no special token.
 * The HF flavour must match every case. The default (Python BertTokenizer) flavour differs from HF only
 * on unassigned code points and U+2B820..U+2B91F (tokenizer.h), so it must match every case that has
 * none of those; test_tokenizer_unicode checks the two rules themselves. */
#include "tc_test.h"

#include "core/error.h"
#include "core/fileio.h"
#include "data/tokenizer.h"

#include <cjson/cJSON.h>
#include <utf8proc.h>
#include <string.h>

typedef struct words_ctx {
    cJSON *want; /* array of strings */
    cJSON *next;
    int index, mismatch;
    char got_first[256];
} words_ctx;

static void on_word(const char *w, size_t len, int is_special, void *vctx) {
    words_ctx *c = vctx;
    (void)is_special;
    if (c->mismatch) return;
    if (!c->next || !cJSON_IsString(c->next) || strlen(c->next->valuestring) != len ||
        memcmp(c->next->valuestring, w, len) != 0) {
        c->mismatch = 1;
        snprintf(c->got_first, sizeof c->got_first, "word %d: got \"%.*s\" want \"%s\"", c->index, (int)(len > 200 ? 200 : len),
                 w, c->next && cJSON_IsString(c->next) ? c->next->valuestring : "(end)");
        return;
    }
    c->next = c->next->next;
    c->index++;
}

static size_t unhex(const char *h, char *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    return n;
}

static int same_ids(const int32_t *got, size_t ngot, cJSON *want, char *msg, size_t msgsz) {
    size_t nwant = (size_t)cJSON_GetArraySize(want), i = 0;
    cJSON *e = want->child;
    for (; i < ngot && e; i++, e = e->next)
        if (got[i] != (int32_t)e->valuedouble) {
            snprintf(msg, msgsz, "position %zu: got %d want %d (lengths %zu / %zu)", i, (int)got[i],
                     (int)e->valuedouble, ngot, nwant);
            return 0;
        }
    if (ngot != nwant) {
        snprintf(msg, msgsz, "length %zu, want %zu", ngot, nwant);
        return 0;
    }
    return 1;
}

/* Does the text hold a code point on which the two flavours disagree? */
static int has_flavour_difference(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k < 1) { i++; continue; }
        i += (size_t)k;
        if (utf8proc_category(c) == UTF8PROC_CATEGORY_CN || (c >= 0x2B820 && c <= 0x2B91F)) return 1;
    }
    return 0;
}

static int check_case(const tc_tokenizer *t, cJSON *c, const char *text, size_t n, tc_ids *ids, const char *flavour) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    char msg[512];
    int before = tc_test_failures;
    /* full encoding: [CLS] pieces [SEP] */
    ids->n = 0;
    tc_ids_push(ids, t->cls_id);
    tc_tokenize(t, text, n, ids);
    tc_ids_push(ids, t->sep_id);
    TC_CHECK(same_ids(ids->v, ids->n, cJSON_GetObjectItem(c, "ids"), msg, sizeof msg), "%s case %s: ids: %s", flavour,
             name, msg);

    /* truncation as the original's loaders do it: [CLS] + pieces[:48] + [SEP] = HF max_length 50 */
    cJSON *want50 = cJSON_GetObjectItem(c, "ids50");
    int32_t out[50];
    int m = tc_tokenizer_encode(t, text, n, 48, out, ids);
    TC_CHECK(same_ids(out, (size_t)m, want50 ? want50 : cJSON_GetObjectItem(c, "ids"), msg, sizeof msg),
             "%s case %s: truncated ids: %s", flavour, name, msg);

    cJSON *words = cJSON_GetObjectItem(c, "words");
    if (words) {
        words_ctx wc = {words, words->child, 0, 0, ""};
        tc_pretokenize(t, text, n, on_word, &wc);
        TC_CHECK(!wc.mismatch && wc.next == NULL, "%s case %s: words: %s", flavour, name,
                 wc.mismatch ? wc.got_first : "fewer words than HF");
    }
    return tc_test_failures == before;
}

int main(void) {
    tc_tokenizer t;
    int rc = tc_tokenizer_load(&t, TAICHU_TEST_DATA "/tokenizer/vocab.txt");
    TC_CHECK(rc == 0, "load vocab: %s", tc_error_get());
    if (rc) return tc_test_summary("tokenizer_golden");
    size_t len;
    char *json = tc_read_file(TAICHU_TEST_DATA "/tokenizer/golden.json", &len);
    TC_CHECK(json != NULL, "%s", tc_error_get());
    cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
    cJSON *cases = cJSON_GetObjectItem(root, "cases");
    TC_CHECK(cJSON_IsArray(cases) && cJSON_GetArraySize(cases) > 300, "golden.json has its cases");

    tc_ids ids = {0};
    int ncases = 0, nwords = 0, ntrunc = 0, npython = 0;
    for (cJSON *c = cases ? cases->child : NULL; c; c = c->next) {
        const char *hex = cJSON_GetObjectItem(c, "hex")->valuestring;
        char *text = tc_xmalloc(strlen(hex) / 2 + 1);
        size_t n = unhex(hex, text);
        t.flavor = TC_TOK_HF;
        check_case(&t, c, text, n, &ids, "hf");
        if (!has_flavour_difference(text, n)) {
            t.flavor = TC_TOK_PYTHON;
            check_case(&t, c, text, n, &ids, "python");
            npython++;
        }
        nwords += cJSON_GetObjectItem(c, "words") != NULL;
        ntrunc += cJSON_GetObjectItem(c, "ids50") != NULL;
        free(text);
        ncases++;
    }
    TC_CHECK(npython > ncases - 5, "the Python flavour is compared on all but a few cases (%d of %d)", npython, ncases);
    printf("%d cases (%d with words, %d truncated, %d also in the Python flavour)\n", ncases, nwords, ntrunc, npython);
    tc_ids_free(&ids);
    cJSON_Delete(root);
    free(json);
    tc_tokenizer_free(&t);
    return tc_test_summary("tokenizer_golden");
}
