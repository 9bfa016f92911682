/* libFuzzer harness for the tokenizer: arbitrary bytes as text (tokenise, pre-tokenise, truncated
 * encode), as a vocab.txt, and as ids_to_tokens JSON followed by decoding. Checks that every id is a
 * vocabulary id, that encode frames its output with [CLS]/[SEP], and that nothing crashes or leaks.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTAICHU_FUZZ=ON && cmake --build build-fuzz
 *   build-fuzz/fuzz/fuzz_tokenizer -max_total_time=60 -max_len=4096 */
#include "core/error.h"
#include "data/detok.h"
#include "data/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static tc_tokenizer tok;
static int loaded;

static void on_word(const char *w, size_t len, int is_special, void *ctx) {
    size_t *total = ctx;
    if (len == 0 && !is_special) __builtin_trap(); /* words are never empty */
    for (size_t i = 0; i < len; i++) *total += (unsigned char)w[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loaded) {
        if (tc_tokenizer_load(&tok, TAICHU_SOURCE_DIR "/tests/data/tokenizer/vocab.txt")) abort();
        loaded = 1;
    }
    if (size == 0) return 0;
    uint8_t mode = data[0] % 4;
    tok.flavor = data[0] & 4 ? TC_TOK_HF : TC_TOK_PYTHON;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (mode <= 1) {
        tc_ids ids = {0};
        tc_tokenize(&tok, text, len, &ids);
        for (size_t i = 0; i < ids.n; i++)
            if (ids.v[i] < 0 || ids.v[i] >= tok.vocab.n) __builtin_trap();
        int32_t out[50];
        int n = tc_tokenizer_encode(&tok, text, len, 48, out, &ids);
        if (n < 2 || n > 50 || out[0] != tok.cls_id || out[n - 1] != tok.sep_id) __builtin_trap();
        size_t total = 0;
        tc_pretokenize(&tok, text, len, on_word, &total);
        tc_ids_free(&ids);
    } else if (mode == 2) {
        tc_tokenizer t;
        if (tc_tokenizer_init(&t, text, len, "fuzz-vocab") == 0) {
            tc_ids ids = {0};
            tc_tokenize(&t, text, len, &ids); /* the vocab's own bytes as text */
            for (size_t i = 0; i < ids.n; i++)
                if (ids.v[i] < 0 || ids.v[i] >= t.vocab.n) __builtin_trap();
            tc_ids_free(&ids);
            tc_tokenizer_free(&t);
        }
    } else {
        tc_detok d;
        if (tc_detok_parse_json(&d, text, len, "fuzz.json") == 0) {
            int32_t ids[64];
            size_t n = len / 4 < 64 ? len / 4 : 64;
            for (size_t i = 0; i < n; i++) memcpy(&ids[i], text + 4 * i, 4);
            free(tc_detok_decode(&d, ids, n));
            tc_detok_free(&d);
        }
    }
    return 0;
}
