/* Caption tokenisation for the caption metrics (docs/metrics.md, "Segmentation").
 *
 * The original OPT evaluation segments Chinese with jieba and then runs the Stanford PTBTokenizer
 * (lower-case, coco-caption's punctuation list removed). taichu has no jieba; its default is
 * character segmentation, which is the common choice for Chinese caption metrics:
 *   - "。" is deleted everywhere (as the original does before segmenting);
 *   - text is lower-cased (Unicode simple case mapping);
 *   - every non-ASCII, non-space code point is one token; a run of ASCII letters/digits is one token
 *     ("tv", "2"); a run of one repeated ASCII punctuation character is one token ("...", "--", ".");
 *   - tokens coco-caption's PTB list removes are dropped: ' '' ` `` ? ! , : - -- ... ; ( ) { " and
 *     the characters PTB maps onto them (curly quotes, the ellipsis character, en/em dashes).
 *     "." and "}" are kept, as in coco-caption, whose list glues "-rcb-" and "." into one string.
 * TC_SEGMENT_SPACE takes the text as already segmented (e.g. by jieba): it splits on white space only,
 * then applies the same "。" deletion, lower-casing and punctuation filter to whole tokens.
 *
 * Tokens are interned to dense integer ids in a tc_tokdict so that the metrics compare integers. */
#ifndef TC_EVAL_SEGMENT_H
#define TC_EVAL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TC_SEGMENT_CHAR = 0, TC_SEGMENT_SPACE = 1 } tc_segment_mode;

/* "char" or "space" -> mode. Returns -1 (message set) for anything else. */
int tc_segment_mode_parse(const char *name, tc_segment_mode *out);
const char *tc_segment_mode_name(tc_segment_mode mode);

/* String -> dense id (0, 1, 2, ...) table. */
typedef struct tc_tokdict tc_tokdict;
tc_tokdict *tc_tokdict_new(void);
void tc_tokdict_free(tc_tokdict *v);
int32_t tc_tokdict_intern(tc_tokdict *v, const char *s, size_t len);
const char *tc_tokdict_str(const tc_tokdict *v, int32_t id); /* NUL-terminated copy owned by the vocab */
int32_t tc_tokdict_size(const tc_tokdict *v);

/* Segment `text` and append the token ids to the growable array (*toks, *n, *cap).
 * Invalid UTF-8 bytes become U+FFFD tokens (never an error). Returns the number of tokens appended. */
int tc_segment(tc_tokdict *v, const char *text, tc_segment_mode mode, int32_t **toks, int *n, int *cap);

#endif
