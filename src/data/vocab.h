/* WordPiece vocabulary: a vocab.txt in the bert-base-chinese format (one token per line, line number = id)
 * held in one byte arena plus an open-addressing hash table, so a lookup never allocates.
 *
 * Lookups take the "##" continuation prefix as a flag instead of a concatenated string: the WordPiece
 * loop asks for "##" + word[start:end] thousands of times per line, and building that string would
 * cost a copy per probe. */
#ifndef TC_DATA_VOCAB_H
#define TC_DATA_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_vocab {
    char *arena;        /* [arena_len] every token's bytes, each followed by a NUL */
    size_t arena_len;
    uint32_t *offset;   /* [n] start of token i in arena */
    uint32_t *length;   /* [n] byte length of token i */
    int32_t n;          /* number of lines = number of ids */
    uint32_t *slots;    /* [cap] hash table: id + 1, 0 = empty */
    uint32_t *hashes;   /* [cap] full hash of the slot's token, checked before comparing bytes */
    uint32_t cap;       /* power of two, >= 2 n */
    size_t max_len;     /* longest token in bytes, not counting a leading "##" (bounds the WordPiece search) */
} tc_vocab;

/* Parse vocab.txt bytes. Lines end in "\n" (a trailing "\r" is dropped too); a final line without "\n"
 * counts. A token that occurs twice maps to its last line, as in BertTokenizer and HF tokenizers.
 * `name` is used in error messages. Returns 0, or -1 with the error set. */
int tc_vocab_parse(tc_vocab *v, const char *data, size_t len, const char *name);
int tc_vocab_load(tc_vocab *v, const char *path);
void tc_vocab_free(tc_vocab *v);

/* Id of the token ("##" + s[0:len] when cont is nonzero), or -1 when absent. */
int32_t tc_vocab_find(const tc_vocab *v, const char *s, size_t len, int cont);

/* Token string of an id (NUL-terminated, inside the arena), or NULL when out of range. */
static inline const char *tc_vocab_token(const tc_vocab *v, int32_t id) {
    return id >= 0 && id < v->n ? v->arena + v->offset[id] : NULL;
}

#endif
