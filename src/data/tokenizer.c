/* BERT basic tokenizer + WordPiece (see tokenizer.h for the rules).
 *
 * One pass over the bytes: each raw character is cleaned, normalised (NFD, Mn dropped, lower-cased) and
 * appended to the current word; whitespace, punctuation, CJK ideographs and special tokens end it. A
 * finished word goes straight to WordPiece, so no intermediate normalised string is ever built. Hot
 * paths (ASCII and the CJK Unified Ideographs block, i.e. almost all Chinese text) skip utf8proc and
 * use per-tokenizer lookup tables; everything else asks utf8proc, so no Unicode tables live here. */
#include "data/tokenizer.h"

#include "core/error.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define CJK_LO 0x4E00
#define CJK_HI 0x9FFF
#define WORD_CAP (TC_TOK_MAX_CHARS_PER_WORD + 1) /* a word is [UNK] once it has more chars than that */

void tc_ids_push(tc_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->v = tc_xrealloc(ids->v, ids->cap * sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
}

void tc_ids_free(tc_ids *ids) {
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* ---- character classes ---- */

enum { A_DROP, A_SPACE, A_PUNCT, A_UPPER, A_WORD };

/* ASCII: controls other than \t \n \r are dropped; punctuation is 33-47, 58-64, 91-96, 123-126 (BERT
 * counts $ + < = > ^ ` | ~ as punctuation although Unicode calls them symbols). A constant expression,
 * so the table below is built by the compiler. */
#define ASCII_CLASS(b)                                                                                  \
    ((b) == '\t' || (b) == '\n' || (b) == '\r' || (b) == ' ' ? A_SPACE                                   \
     : (b) < 32 || (b) == 127                                ? A_DROP                                    \
     : ((b) >= 33 && (b) <= 47) || ((b) >= 58 && (b) <= 64) || ((b) >= 91 && (b) <= 96) ||               \
             ((b) >= 123 && (b) <= 126)                      ? A_PUNCT                                   \
     : (b) >= 'A' && (b) <= 'Z'                              ? A_UPPER                                   \
                                                             : A_WORD)
#define C4(b) ASCII_CLASS(b), ASCII_CLASS(b + 1), ASCII_CLASS(b + 2), ASCII_CLASS(b + 3)
#define C16(b) C4(b), C4(b + 4), C4(b + 8), C4(b + 12)
static const uint8_t ascii_cls[128] = {C16(0), C16(16), C16(32), C16(48), C16(64), C16(80), C16(96), C16(112)};

/* Standard BERT CJK ranges. Google's tokenization.py (and Python's BertTokenizer) take Extension E
 * from 0x2B820; HF tokenizers (normalizers/bert.rs) from 0x2B920 (docs/tokenizer.md). */
static int is_chinese(uint32_t c, tc_tok_flavor flavor) {
    uint32_t ext_e = flavor == TC_TOK_HF ? 0x2B920 : 0x2B820;
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= ext_e && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int is_punct_cat(int cat) { return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO; }
static int is_space_cat(int cat) { return cat >= UTF8PROC_CATEGORY_ZS && cat <= UTF8PROC_CATEGORY_ZP; }
/* Clean-up drops "other" characters: control, format, surrogate, private use, and for the Python
 * flavour also unassigned (Cn) code points, which HF tokenizers keeps. */
static int is_control_cat(int cat) { return cat >= UTF8PROC_CATEGORY_CC && cat <= UTF8PROC_CATEGORY_CO; }

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF). Returns the sequence length,
 * or 0 when s[0] does not start a valid sequence: the caller then skips that one byte, which yields the
 * same characters as a WHATWG lossy decoder (the U+FFFD it would produce is dropped by clean-up). */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    if (b >= 0xC2 && b <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(b & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if ((b == 0xE0 && s[1] < 0xA0) || (b == 0xED && s[1] >= 0xA0)) return 0; /* overlong, surrogate */
        *cp = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if ((b == 0xF0 && s[1] < 0x90) || (b == 0xF4 && s[1] >= 0x90)) return 0; /* overlong, > U+10FFFF */
        *cp = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
              (s[3] & 0x3F);
        return 4;
    }
    return 0;
}

static size_t utf8_encode(uint32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F)); o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- the word being built ---- */

typedef struct tok_state {
    const tc_tokenizer *t;
    tc_ids *out;          /* WordPiece mode: ids go here */
    tc_word_fn fn;        /* pre-tokenise mode (out == NULL): words go here */
    void *ctx;
    uint32_t *cps;        /* [cap] normalised code points of the current word */
    uint8_t *ccc;         /* [cap] their canonical combining classes (for NFD reordering) */
    size_t ncp, cap;      /* stored; WordPiece mode stores at most WORD_CAP */
    size_t nchars;        /* characters in the word, stored or not */
    uint32_t cps_inline[WORD_CAP];
    uint8_t ccc_inline[WORD_CAP];
} tok_state;

static void grow(tok_state *st) {
    size_t cap = st->cap * 2;
    uint32_t *cps = tc_xmalloc(cap * sizeof *cps);
    uint8_t *ccc = tc_xmalloc(cap);
    memcpy(cps, st->cps, st->ncp * sizeof *cps);
    memcpy(ccc, st->ccc, st->ncp);
    if (st->cps != st->cps_inline) { free(st->cps); free(st->ccc); }
    st->cps = cps;
    st->ccc = ccc;
    st->cap = cap;
}

/* Append one normalised character; a nonzero combining class is moved left past marks of a higher
 * class (NFD's canonical ordering; stable, so marks of equal class keep their order). */
static inline void word_append(tok_state *st, uint32_t c, uint8_t ccc) {
    st->nchars++;
    if (st->ncp == st->cap) {
        if (st->out) return; /* over the word limit already: the word is [UNK] whatever follows */
        grow(st);
    }
    size_t i = st->ncp++;
    if (ccc)
        for (; i > 0 && st->ccc[i - 1] > ccc; i--) {
            st->cps[i] = st->cps[i - 1];
            st->ccc[i] = st->ccc[i - 1];
        }
    st->cps[i] = c;
    st->ccc[i] = ccc;
}

/* Greedy longest-match-first WordPiece over one word (UTF-8 bytes w, character starts at[0..m]). */
static void wordpiece(const tc_tokenizer *t, const char *w, const uint32_t *at, size_t m, tc_ids *out) {
    size_t first = out->n, start = 0;
    while (start < m) {
        int32_t id = -1;
        size_t end = m;
        for (; end > start; end--) {
            size_t blen = at[end] - at[start];
            if (blen > t->vocab.max_len) continue; /* no token that long: skip the probe */
            id = tc_vocab_find(&t->vocab, w + at[start], blen, start > 0);
            if (id >= 0) break;
        }
        if (id < 0) { /* some piece is not in the vocabulary: the whole word is [UNK] */
            out->n = first;
            tc_ids_push(out, t->unk_id);
            return;
        }
        tc_ids_push(out, id);
        start = end;
    }
}

static void flush(tok_state *st) {
    if (!st->nchars) return;
    if (st->out && st->nchars > TC_TOK_MAX_CHARS_PER_WORD) {
        tc_ids_push(st->out, st->t->unk_id);
    } else if (st->out) {
        char w[WORD_CAP * 4];       /* UTF-8 of the word */
        uint32_t at[WORD_CAP + 1];  /* byte offset of each character, plus the end */
        size_t len = 0;
        for (size_t i = 0; i < st->ncp; i++) {
            at[i] = (uint32_t)len;
            len += utf8_encode(st->cps[i], w + len);
        }
        at[st->ncp] = (uint32_t)len;
        wordpiece(st->t, w, at, st->ncp, st->out);
    } else {
        char *w = tc_xmalloc(st->ncp * 4 + 1);
        size_t len = 0;
        for (size_t i = 0; i < st->ncp; i++) len += utf8_encode(st->cps[i], w + len);
        w[len] = 0;
        st->fn(w, len, 0, st->ctx);
        free(w);
    }
    st->ncp = st->nchars = 0;
}

/* A character that is a word by itself (punctuation, CJK ideograph). */
static void single(tok_state *st, uint32_t c, int32_t id) {
    flush(st);
    if (st->out) {
        tc_ids_push(st->out, id);
    } else {
        word_append(st, c, 0);
        flush(st);
    }
}

/* NFD of one raw character, minus nonspacing marks, lower-cased, then split as the pre-tokenizer would
 * (punctuation/whitespace are judged after normalisation: e.g. U+1FEF decomposes to '`'). */
static void normalize_append(tok_state *st, uint32_t c) {
    utf8proc_int32_t d[8];
    int bound = 0;
    utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)c, d, 8, UTF8PROC_DECOMPOSE, &bound);
    if (k < 1 || k > 8) { /* cannot happen for a valid code point (longest canonical decomposition is 4) */
        d[0] = (utf8proc_int32_t)c;
        k = 1;
    }
    for (utf8proc_ssize_t j = 0; j < k; j++) {
        const utf8proc_property_t *p = utf8proc_get_property(d[j]);
        if (p->category == UTF8PROC_CATEGORY_MN) continue;
        uint32_t x = (uint32_t)utf8proc_tolower(d[j]);
        if (x < 128) {
            uint8_t cls = ascii_cls[x];
            if (cls == A_PUNCT) { single(st, x, st->t->ascii_ids[x]); continue; }
            if (cls == A_SPACE) { flush(st); continue; }
            word_append(st, x, 0);
            continue;
        }
        int cat = utf8proc_category((utf8proc_int32_t)x);
        if (is_punct_cat(cat)) {
            flush(st);
            word_append(st, x, 0);
            flush(st);
        } else if (is_space_cat(cat)) {
            flush(st);
        } else {
            word_append(st, x, (uint8_t)p->combining_class);
        }
    }
}

static void push_char(tok_state *st, uint32_t c) {
    if (c >= CJK_LO && c <= CJK_HI) { /* unified ideographs: no decomposition, no case */
        single(st, c, st->t->cjk_ids[c - CJK_LO]);
        return;
    }
    if (c == 0xFFFD) return;
    int cat = utf8proc_category((utf8proc_int32_t)c);
    if (is_control_cat(cat) || (cat == UTF8PROC_CATEGORY_CN && st->t->flavor == TC_TOK_PYTHON)) return;
    if (is_space_cat(cat)) { flush(st); return; }
    if (is_chinese(c, st->t->flavor)) { /* own word; NFD still applies (compatibility ideographs decompose) */
        flush(st);
        normalize_append(st, c);
        flush(st);
        return;
    }
    normalize_append(st, c);
}

static size_t match_special(const tc_tokenizer *t, const uint8_t *s, size_t n, int32_t *id, int *which) {
    for (int k = 0; k < t->nspecial; k++) {
        size_t l = t->special[k].len;
        if (n >= l && memcmp(s, t->special[k].text, l) == 0) {
            *id = t->special[k].id;
            *which = k;
            return l;
        }
    }
    return 0;
}

static void run(tok_state *st, const uint8_t *s, size_t len) {
    const uint8_t *cls = ascii_cls;
    const tc_tokenizer *t = st->t;
    st->cps = st->cps_inline;
    st->ccc = st->ccc_inline;
    st->cap = WORD_CAP;
    st->ncp = st->nchars = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            switch (cls[b]) {
            case A_WORD: word_append(st, b, 0); break;
            case A_UPPER: word_append(st, b + 32u, 0); break;
            case A_SPACE: flush(st); break;
            case A_PUNCT: {
                int32_t id;
                int which;
                size_t n = b == '[' ? match_special(t, s + i, len - i, &id, &which) : 0;
                if (n) { /* special token: kept whole, never normalised */
                    flush(st);
                    if (st->out) tc_ids_push(st->out, id);
                    else st->fn(t->special[which].text, n, 1, st->ctx);
                    i += n;
                    continue;
                }
                single(st, b, t->ascii_ids[b]);
                break;
            }
            default: break; /* control character: dropped */
            }
            i++;
            continue;
        }
        uint32_t c;
        size_t n = utf8_decode(s + i, len - i, &c);
        if (!n) { i++; continue; } /* invalid byte: U+FFFD, dropped by clean-up */
        i += n;
        push_char(st, c);
    }
    flush(st);
    if (st->cps != st->cps_inline) { free(st->cps); free(st->ccc); }
}

void tc_tokenize(const tc_tokenizer *t, const char *text, size_t len, tc_ids *out) {
    tok_state st;
    st.t = t;
    st.out = out;
    st.fn = NULL;
    st.ctx = NULL;
    run(&st, (const uint8_t *)text, len);
}

void tc_pretokenize(const tc_tokenizer *t, const char *text, size_t len, tc_word_fn fn, void *ctx) {
    tok_state st;
    st.t = t;
    st.out = NULL;
    st.fn = fn;
    st.ctx = ctx;
    run(&st, (const uint8_t *)text, len);
}

int tc_tokenizer_encode(const tc_tokenizer *t, const char *text, size_t len, int max_pieces, int32_t *out,
                        tc_ids *scratch) {
    tc_ids local = {0}, *ids = scratch ? scratch : &local;
    ids->n = 0;
    tc_tokenize(t, text, len, ids);
    size_t keep = max_pieces >= 0 && ids->n > (size_t)max_pieces ? (size_t)max_pieces : ids->n;
    out[0] = t->cls_id;
    if (keep) memcpy(out + 1, ids->v, keep * sizeof *out);
    out[keep + 1] = t->sep_id;
    if (!scratch) tc_ids_free(&local);
    return (int)keep + 2;
}

/* ---- loading ---- */

static int32_t lookup_char(const tc_vocab *v, uint32_t c, int32_t unk) {
    char buf[4];
    int32_t id = tc_vocab_find(v, buf, utf8_encode(c, buf), 0);
    return id >= 0 ? id : unk;
}

int tc_tokenizer_init(tc_tokenizer *t, const char *vocab_text, size_t len, const char *name) {
    memset(t, 0, sizeof *t);
    if (tc_vocab_parse(&t->vocab, vocab_text, len, name)) return -1;
    static const char *names[5] = {"[UNK]", "[SEP]", "[CLS]", "[PAD]", "[MASK]"};
    int32_t ids[5];
    for (int k = 0; k < 5; k++) {
        ids[k] = tc_vocab_find(&t->vocab, names[k], strlen(names[k]), 0);
        if (ids[k] < 0) continue;
        t->special[t->nspecial].text = names[k];
        t->special[t->nspecial].len = strlen(names[k]);
        t->special[t->nspecial].id = ids[k];
        t->nspecial++;
    }
    t->unk_id = ids[0];
    t->sep_id = ids[1];
    t->cls_id = ids[2];
    t->pad_id = ids[3];
    t->mask_id = ids[4];
    for (int k = 0; k < 3; k++)
        if (ids[k] < 0) {
            tc_error_set("%s: vocabulary has no %s token: expected a bert-base-chinese style vocab.txt "
                         "([PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103)", name, names[k]);
            tc_vocab_free(&t->vocab);
            return -1;
        }
    t->cjk_ids = tc_xmalloc((CJK_HI - CJK_LO + 1) * sizeof *t->cjk_ids);
    for (uint32_t c = CJK_LO; c <= CJK_HI; c++) t->cjk_ids[c - CJK_LO] = lookup_char(&t->vocab, c, t->unk_id);
    for (uint32_t c = 0; c < 128; c++) t->ascii_ids[c] = lookup_char(&t->vocab, c, t->unk_id);
    return 0;
}

int tc_tokenizer_load(tc_tokenizer *t, const char *vocab_path) {
    size_t len = 0;
    char *data = tc_read_file(vocab_path, &len);
    if (!data) {
        memset(t, 0, sizeof *t);
        return -1;
    }
    int rc = tc_tokenizer_init(t, data, len, vocab_path);
    free(data);
    return rc;
}

void tc_tokenizer_free(tc_tokenizer *t) {
    tc_vocab_free(&t->vocab);
    free(t->cjk_ids);
    memset(t, 0, sizeof *t);
}
