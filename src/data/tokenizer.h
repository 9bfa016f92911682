/* BERT WordPiece tokenizer for bert-base-chinese style vocabularies (spec §3.1).
 *
 * Behaves as Hugging Face's BertTokenizer / BertWordPieceTokenizer with do_lower_case, Chinese-character
 * splitting and accent stripping; tests/data/tokenizer/ holds golden outputs of HF `tokenizers` (npm)
 * that this code reproduces id for id. docs/tokenizer.md lists the exact rules and the documented
 * corner cases (invalid UTF-8, unassigned code points).
 *
 * Pipeline, per segment of raw text between special tokens ([CLS], [SEP], [PAD], [MASK], [UNK], matched
 * case-sensitively on the raw bytes and emitted whole):
 *   1. clean-up: drop NUL, U+FFFD and control/format/private-use characters (Cc Cf Co Cs, except
 *      \t \n \r); every whitespace character becomes a word break;
 *   2. CJK ideographs (standard BERT ranges) become words of their own;
 *   3. NFD, drop nonspacing marks (Mn), lower-case (utf8proc);
 *   4. split on whitespace and punctuation (ASCII punctuation and Unicode P*), each punctuation char
 *      being a word;
 *   5. WordPiece: greedy longest match with "##" continuations; a word of more than 100 characters, or
 *      one that cannot be covered by vocabulary pieces, becomes a single [UNK].
 * Invalid UTF-8 bytes decode to U+FFFD (as a lossy decoder would), which step 1 drops.
 *
 * Thread safety: a loaded tokenizer is read-only; any number of threads may tokenize with it at once. */
#ifndef TC_DATA_TOKENIZER_H
#define TC_DATA_TOKENIZER_H

#include "data/vocab.h"

#include <stddef.h>
#include <stdint.h>

#define TC_TOK_MAX_CHARS_PER_WORD 100

/* Python's BertTokenizer (transformers, what the original's scripts call) and HF tokenizers (Rust,
 * BertTokenizerFast) disagree on two classes of characters, all [UNK] in bert-base-chinese:
 *   - unassigned code points (Cn): Python drops them in clean-up (category "C*"), HF keeps them;
 *   - U+2B820..U+2B91F: a CJK range for Python (Google's tokenization.py), ordinary for HF.
 * The default is the original's (Python); the golden tests run both (docs/tokenizer.md). */
typedef enum { TC_TOK_PYTHON = 0, TC_TOK_HF = 1 } tc_tok_flavor;

typedef struct tc_tokenizer {
    tc_vocab vocab;
    int32_t unk_id, cls_id, sep_id; /* required in the vocabulary */
    int32_t pad_id, mask_id;        /* -1 when the vocabulary lacks them */
    tc_tok_flavor flavor;           /* TC_TOK_PYTHON after loading; may be set before tokenising */
    int32_t *cjk_ids;               /* [0x9FFF - 0x4E00 + 1] id of each unified ideograph as a word (fast path) */
    int32_t ascii_ids[128];         /* id of each ASCII character as a one-character word ([UNK] if absent) */
    int nspecial;                   /* special tokens present in the vocabulary, matched on raw text */
    struct { const char *text; size_t len; int32_t id; } special[5];
} tc_tokenizer;

/* Growable id list; zero-initialise, reuse across calls, free with tc_ids_free. */
typedef struct tc_ids {
    int32_t *v;
    size_t n, cap;
} tc_ids;

void tc_ids_push(tc_ids *ids, int32_t id);
void tc_ids_free(tc_ids *ids);

/* Load vocab.txt (line number = id). Errors name the file: unreadable, empty, or without [UNK]/[CLS]/[SEP]. */
int tc_tokenizer_load(tc_tokenizer *t, const char *vocab_path);
/* Same from bytes already in memory; `name` is used in error messages. */
int tc_tokenizer_init(tc_tokenizer *t, const char *vocab_text, size_t len, const char *name);
void tc_tokenizer_free(tc_tokenizer *t);

/* Append the word-piece ids of `text` (len bytes, any bytes allowed) to `out`, without [CLS]/[SEP]. */
void tc_tokenize(const tc_tokenizer *t, const char *text, size_t len, tc_ids *out);

/* Model input as the original's loaders build it (spec §3.1): [CLS] + pieces[:max_pieces] + [SEP].
 * `out` holds max_pieces + 2 ids; returns the number written (>= 2). `scratch` may be NULL (then one
 * temporary allocation is made); pass a reused tc_ids to avoid it. max_pieces < 0 means no limit
 * (then `out` must hold all pieces + 2: use tc_tokenize directly instead). */
int tc_tokenizer_encode(const tc_tokenizer *t, const char *text, size_t len, int max_pieces, int32_t *out,
                        tc_ids *scratch);

/* Pre-tokenisation only (steps 1-4): calls fn once per word with its normalised UTF-8 bytes; special
 * tokens are passed whole with is_special = 1. Used by tests and the CLI's debugging output. */
typedef void (*tc_word_fn)(const char *word, size_t len, int is_special, void *ctx);
void tc_pretokenize(const tc_tokenizer *t, const char *text, size_t len, tc_word_fn fn, void *ctx);

/* Token string of an id (vocabulary line), or NULL when out of range. */
static inline const char *tc_tokenizer_piece(const tc_tokenizer *t, int32_t id) {
    return tc_vocab_token(&t->vocab, id);
}

#endif
