/* Ids back to text, as the original's evaluation and inference scripts do (spec §3.3):
 * walk the ids, stop at the first 0 ([PAD], which is also BOS/EOS of the decoders), map each id to its
 * token through ids_to_tokens_zh.json (or the vocab.txt lines), join with the empty string, then replace
 * " ##" by "" (a no-op after an empty-string join, kept for fidelity: "##" of continuation pieces such as
 * "##ing" therefore survives in the text, exactly as in the original).
 * Ids with no token (beyond the table, or absent from a sparse JSON) are skipped: the original would
 * raise KeyError there; the text decoder's 36560-row vocabulary can emit them (spec §3.2). */
#ifndef TC_DATA_DETOK_H
#define TC_DATA_DETOK_H

#include "data/vocab.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tc_detok {
    char **tok;  /* [n] token of each id, NULL where the table has none */
    int32_t n;
} tc_detok;

/* ids_to_tokens_zh.json: one object {"<decimal id>": "<token>", ...}. Errors name the file and the key. */
int tc_detok_load_json(tc_detok *d, const char *path);
int tc_detok_parse_json(tc_detok *d, const char *json, size_t len, const char *name);
/* The same table from vocab.txt (line number = id). */
void tc_detok_from_vocab(tc_detok *d, const tc_vocab *v);
void tc_detok_free(tc_detok *d);

/* Decoded text of ids[0..n) (malloc'd, NUL-terminated). */
char *tc_detok_decode(const tc_detok *d, const int32_t *ids, size_t n);

#endif
