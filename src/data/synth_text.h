/* Text side of `taichu synth`: the synthetic vocabulary (bert-base-chinese format), the five captions
 * and the VQA pairs of a scene, and their token ids.
 *
 * Vocabulary layout (line number = id, as bert-base-chinese): 0 [PAD], 1..99 [unused1]..[unused99],
 * 100 [UNK], 101 [CLS], 102 [SEP], 103 [MASK], 104 <S>, 105 <T>, then the printable ASCII characters
 * except upper-case letters (BERT lower-cases), then full-width punctuation, then every CJK character
 * the caption/VQA grammar can emit, in code-point order. Every caption is pure CJK + full-width
 * punctuation, so a BERT WordPiece tokenizer over this vocab maps each character to exactly one id,
 * which is what tc_synth_vocab_encode computes directly. */
#ifndef TC_DATA_SYNTH_TEXT_H
#define TC_DATA_SYNTH_TEXT_H

#include <stdint.h>

#include "core/rng.h"
#include "data/synth_scene.h"

enum { TC_SYNTH_NCAPS = 5, TC_SYNTH_MAX_QA = 3, TC_SYNTH_TEXT_CAP = 256 };

typedef struct tc_synth_vocab {
    int n;                /* number of tokens (lines) */
    char **tok;           /* [n] UTF-8 token strings */
    int first_char_id;    /* first id after the special tokens (start of meta.json "v_range") */
    int ncp;              /* CJK + punctuation code points, sorted, for encode */
    uint32_t *cp;         /* [ncp] */
    int *cp_id;           /* [ncp] */
} tc_synth_vocab;

void tc_synth_vocab_build(tc_synth_vocab *v);
void tc_synth_vocab_free(tc_synth_vocab *v);
/* UTF-8 text -> one id per character. Returns the count, or -1 (message set) for a character that is not
 * in the vocab or invalid UTF-8. ids must hold max_ids entries; longer texts are an error. */
int tc_synth_vocab_encode(const tc_synth_vocab *v, const char *text, int32_t *ids, int max_ids);

/* Question kinds (for tests and docs). */
enum { TC_SYNTH_Q_COUNT_ALL, TC_SYNTH_Q_COUNT_SHAPE, TC_SYNTH_Q_COLOUR, TC_SYNTH_Q_SHAPE, TC_SYNTH_Q_WHERE,
       TC_SYNTH_Q_SIZE, TC_SYNTH_Q_NKINDS };

typedef struct tc_synth_text {
    char caption[TC_SYNTH_NCAPS][TC_SYNTH_TEXT_CAP];
    int caption_template[TC_SYNTH_NCAPS];
    int nqa;
    int qa_kind[TC_SYNTH_MAX_QA];
    char question[TC_SYNTH_MAX_QA][TC_SYNTH_TEXT_CAP];
    char answer[TC_SYNTH_MAX_QA][64];
} tc_synth_text;

enum { TC_SYNTH_NTEMPLATES = 8 };

/* Five distinct captions from five different templates, and 1-3 questions of different kinds. */
void tc_synth_describe(const tc_synth_scene *s, tc_rng *r, tc_synth_text *t);
/* One caption of a given template (exposed for tests). */
void tc_synth_caption(const tc_synth_scene *s, int tmpl, tc_rng *r, char *out, int cap);

/* Chinese count word for 0..3: 没有 一个 两个 三个. */
extern const char *const tc_synth_count_words[4];

#endif
