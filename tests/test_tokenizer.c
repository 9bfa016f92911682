/* Tokenizer unit tests: vocabulary parsing and errors, truncation, ids -> text (spec §3.3) from
 * vocab.txt and ids_to_tokens JSON, random bytes, and concurrent use. The HF-exactness of the
 * tokenisation itself is checked by test_tokenizer_golden and test_tokenizer_unicode. */
#include "tc_test.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "data/detok.h"
#include "data/tokenizer.h"

#include <string.h>

#define VOCAB TAICHU_TEST_DATA "/tokenizer/vocab.txt"

static int tok_ids(const tc_tokenizer *t, const char *s, int32_t *out, int cap) {
    tc_ids ids = {0};
    tc_tokenize(t, s, strlen(s), &ids);
    int n = (int)ids.n;
    for (int i = 0; i < n && i < cap; i++) out[i] = ids.v[i];
    tc_ids_free(&ids);
    return n;
}

static void test_vocab_parsing(void) {
    /* CRLF, a duplicate (later line wins), no final newline */
    const char *text = "[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\nab\n##c\nab\nx";
    tc_tokenizer t;
    TC_CHECK(tc_tokenizer_init(&t, text, strlen(text), "mem") == 0, "%s", tc_error_get());
    TC_CHECK(t.vocab.n == 8, "8 lines, got %d", t.vocab.n);
    TC_CHECK(t.unk_id == 1 && t.cls_id == 2 && t.sep_id == 3 && t.pad_id == 0 && t.mask_id == -1,
             "special ids %d %d %d %d %d", t.unk_id, t.cls_id, t.sep_id, t.pad_id, t.mask_id);
    TC_CHECK(tc_vocab_find(&t.vocab, "ab", 2, 0) == 6, "duplicate token maps to its last line");
    TC_CHECK(tc_vocab_find(&t.vocab, "c", 1, 1) == 5, "##c found through the continuation flag");
    TC_CHECK(tc_vocab_find(&t.vocab, "c", 1, 0) == -1, "c alone is absent");
    TC_CHECK(strcmp(tc_tokenizer_piece(&t, 7), "x") == 0 && tc_tokenizer_piece(&t, 8) == NULL, "pieces by id");
    int32_t ids[16];
    int n = tok_ids(&t, "ABC abcc x [MASK]", ids, 16);
    /* "abc" -> ab ##c; "abcc" -> ab ##c ##c; "[MASK]" is not special here (absent): "[", "mask", "]" are 3 [UNK]s */
    TC_CHECK(n == 9 && ids[0] == 6 && ids[1] == 5 && ids[2] == 6 && ids[3] == 5 && ids[4] == 5 && ids[5] == 7 &&
                 ids[6] == 1 && ids[7] == 1 && ids[8] == 1,
             "pieces of small vocab (n=%d)", n);
    tc_tokenizer_free(&t);

    const char *nounk = "[PAD]\n[CLS]\n[SEP]\n";
    TC_CHECK(tc_tokenizer_init(&t, nounk, strlen(nounk), "v.txt") == -1, "vocab without [UNK] is rejected");
    TC_CHECK(strstr(tc_error_get(), "v.txt") && strstr(tc_error_get(), "[UNK]"), "error names file and token: %s",
             tc_error_get());
    TC_CHECK(tc_tokenizer_init(&t, "", 0, "empty.txt") == -1 && strstr(tc_error_get(), "empty.txt"),
             "empty vocab rejected: %s", tc_error_get());
    TC_CHECK(tc_tokenizer_load(&t, "/nonexistent/vocab.txt") == -1 && strstr(tc_error_get(), "/nonexistent/vocab.txt"),
             "missing file named: %s", tc_error_get());
}

static void test_encode(const tc_tokenizer *t) {
    const char *s = "天天天天天";
    int32_t out[8];
    tc_ids scratch = {0};
    int n = tc_tokenizer_encode(t, s, strlen(s), 3, out, &scratch);
    int32_t tian = t->cjk_ids[0x5929 - 0x4E00];
    TC_CHECK(n == 5 && out[0] == 101 && out[1] == tian && out[3] == tian && out[4] == 102,
             "[CLS] ids[:3] [SEP] (n=%d)", n);
    n = tc_tokenizer_encode(t, s, strlen(s), 0, out, NULL);
    TC_CHECK(n == 2 && out[0] == 101 && out[1] == 102, "max 0 pieces -> [CLS] [SEP]");
    n = tc_tokenizer_encode(t, "", 0, 48, out, &scratch);
    TC_CHECK(n == 2 && out[0] == t->cls_id && out[1] == t->sep_id, "empty text");
    n = tc_tokenizer_encode(t, "天天", 6, 48, out, &scratch);
    TC_CHECK(n == 4 && out[1] == tian && out[2] == tian, "short text is not padded");
    tc_ids_free(&scratch);

    /* special tokens are matched on the raw text and never lower-cased */
    int32_t ids[16];
    n = tok_ids(t, "x[MASK]y [cls]", ids, 16);
    TC_CHECK(n >= 3 && ids[1] == 103 && ids[0] != 103 && ids[2] != 103, "[MASK] kept whole inside a word");
    TC_CHECK(n > 3 && ids[3] != 101, "[cls] is not [CLS]");
}

typedef struct long_ctx {
    size_t len;
    int n;
} long_ctx;

static void on_long_word(const char *w, size_t len, int sp, void *ctx) {
    long_ctx *r = ctx;
    (void)w;
    (void)sp;
    r->len = len;
    r->n++;
}

static void test_pretokenize_long(const tc_tokenizer *t) {
    /* the pre-tokenise callback gets long words whole (WordPiece mode caps them at 101 chars) */
    char s[400];
    memset(s, 'Q', 300);
    s[300] = 0;
    long_ctx r = {0, 0};
    tc_pretokenize(t, s, 300, on_long_word, &r);
    TC_CHECK(r.n == 1 && r.len == 300, "one 300-char word (n=%d len=%zu)", r.n, r.len);
    int32_t ids[4];
    TC_CHECK(tok_ids(t, s, ids, 4) == 1 && ids[0] == t->unk_id, "300-char word is [UNK]");
}

static void test_detok(const tc_tokenizer *t) {
    tc_detok d;
    tc_detok_from_vocab(&d, &t->vocab);
    /* Chinese round trip: every char of this text is in the vocab, and the original joins with "" */
    const char *s = "今天天气很好，我们去公园散步吧。";
    tc_ids ids = {0};
    tc_tokenize(t, s, strlen(s), &ids);
    char *back = tc_detok_decode(&d, ids.v, ids.n);
    TC_CHECK(strcmp(back, s) == 0, "round trip: \"%s\"", back);
    free(back);
    /* stops at the first 0, skips ids out of range, keeps [CLS]/[SEP] and literal ## as the original */
    int32_t seq[] = {101, t->cjk_ids[0x4ECA - 0x4E00], 999999, -5, tc_vocab_find(&t->vocab, "s", 1, 1), 102, 0, 101};
    back = tc_detok_decode(&d, seq, sizeof seq / sizeof *seq);
    TC_CHECK(strcmp(back, "[CLS]今##s[SEP]") == 0, "decode rule: \"%s\"", back);
    free(back);
    tc_detok_free(&d);
    tc_ids_free(&ids);

    /* ids_to_tokens JSON: sparse, " ##" removed after the join */
    const char *json = "{\"0\": \"[PAD]\", \"5\": \"a\", \"7\": \" ##b\", \"9\": \"c d\"}";
    TC_CHECK(tc_detok_parse_json(&d, json, strlen(json), "ids.json") == 0, "%s", tc_error_get());
    int32_t seq2[] = {5, 7, 6, 9, 0, 5};
    back = tc_detok_decode(&d, seq2, 6);
    TC_CHECK(strcmp(back, "abc d") == 0, "json decode: \"%s\"", back);
    free(back);
    tc_detok_free(&d);

    const char *bad[][2] = {{"[1,2]", "top level"}, {"{\"x\": \"a\"}", "\"x\""}, {"{\"1\": 5}", "\"1\""},
                            {"{\"1\": \"a\"", "invalid JSON"}, {"{\"-1\": \"a\"}", "\"-1\""},
                            {"{\"99999999999\": \"a\"}", "99999999999"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tc_detok_parse_json(&d, bad[i][0], strlen(bad[i][0]), "ids_to_tokens_zh.json");
        TC_CHECK(rc == -1 && strstr(tc_error_get(), "ids_to_tokens_zh.json") && strstr(tc_error_get(), bad[i][1]),
                 "bad json %zu rejected with a named error: %s", i, tc_error_get());
    }
    TC_CHECK(tc_detok_load_json(&d, "/nonexistent/ids.json") == -1 && strstr(tc_error_get(), "/nonexistent/ids.json"),
             "missing json named");

    /* the same table written as ids_to_tokens JSON decodes like the vocab */
    tc_detok dv, dj;
    tc_detok_from_vocab(&dv, &t->vocab);
    size_t cap = 64 + t->vocab.arena_len * 3 + (size_t)t->vocab.n * 16, len = 0;
    char *js = tc_xmalloc(cap);
    js[len++] = '{';
    for (int32_t i = 0; i < t->vocab.n; i++) {
        len += (size_t)snprintf(js + len, cap - len, "%s\"%d\":\"", i ? "," : "", (int)i);
        for (const char *p = tc_vocab_token(&t->vocab, i); *p; p++) {
            if (*p == '"' || *p == '\\') js[len++] = '\\';
            js[len++] = *p;
        }
        js[len++] = '"';
    }
    js[len++] = '}';
    TC_CHECK(tc_detok_parse_json(&dj, js, len, "generated.json") == 0, "%s", tc_error_get());
    int32_t all[200];
    for (int i = 0; i < 200; i++) all[i] = 1 + (i * 37) % (t->vocab.n - 1);
    char *a = tc_detok_decode(&dv, all, 200), *b = tc_detok_decode(&dj, all, 200);
    TC_CHECK(strcmp(a, b) == 0, "vocab and JSON tables decode alike");
    free(a);
    free(b);
    free(js);
    tc_detok_free(&dv);
    tc_detok_free(&dj);
}

static void test_random_bytes(const tc_tokenizer *t) {
    /* arbitrary bytes never crash and give only valid ids */
    tc_rng rng;
    tc_rng_seed(&rng, 1234);
    char buf[512];
    tc_ids ids = {0};
    int bad = 0;
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = tc_rng_next(&rng) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tc_rng_next(&rng);
            /* mix ASCII, UTF-8 lead/continuation bytes and bracket runs that look like special tokens */
            buf[i] = r % 4 == 0 ? "[CLS]a \xe4\xb8\xad"[(r >> 8) % 10] : (char)((r >> 16) & 0xFF);
        }
        ids.n = 0;
        tc_tokenize(t, buf, n, &ids);
        for (size_t i = 0; i < ids.n; i++) bad += ids.v[i] < 0 || ids.v[i] >= t->vocab.n;
    }
    TC_CHECK(bad == 0, "%d ids out of range", bad);
    tc_ids_free(&ids);
}

static void test_threads(const tc_tokenizer *t) {
    /* a loaded tokenizer is shared read-only by the data loader's threads */
    const char *s = "在 Debian 这种规模的项目中，很难避免遇到与你意见不和 Café 😀 [SEP] x";
    int32_t ref[64];
    int nref = tok_ids(t, s, ref, 64);
    int mismatches = 0;
#pragma omp parallel for reduction(+ : mismatches)
    for (int k = 0; k < 200; k++) {
        int32_t got[64];
        int n = tok_ids(t, s, got, 64);
        mismatches += n != nref || memcmp(got, ref, (size_t)n * sizeof *got) != 0;
    }
    TC_CHECK(mismatches == 0, "concurrent tokenisation differs %d times", mismatches);
}

int main(void) {
    test_vocab_parsing();
    tc_tokenizer t;
    int rc = tc_tokenizer_load(&t, VOCAB);
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc) return tc_test_summary("tokenizer");
    test_encode(&t);
    test_pretokenize_long(&t);
    test_detok(&t);
    test_random_bytes(&t);
    test_threads(&t);
    tc_tokenizer_free(&t);
    return tc_test_summary("tokenizer");
}
