/* Caption scoring from text: segmentation + all coco-caption metrics in one call.
 * This is the C API other commands (taichu eval caption / eval vqa) call.
 *
 *   tc_caption_refs refs[n] = {{(const char *[]){"一只狗在跑", "狗在草地上"}, 2}, ...};
 *   tc_caption_scores s;
 *   if (tc_caption_score(preds, refs, n, NULL, &s, NULL)) fail(tc_error_get());
 *   tc_caption_table_print(stdout, &s);
 */
#ifndef TC_EVAL_CAPTION_SCORE_H
#define TC_EVAL_CAPTION_SCORE_H

#include "eval/segment.h"

#include <stdio.h>

typedef struct tc_caption_refs {
    const char *const *text; /* [n] reference captions */
    int n;                   /* >= 1 */
} tc_caption_refs;

typedef struct tc_caption_scores {
    double bleu[4]; /* BLEU-1..4 */
    double meteor, rouge_l, cider;
} tc_caption_scores;

typedef struct tc_caption_opts {
    tc_segment_mode segment; /* default TC_SEGMENT_CHAR */
} tc_caption_opts;

/* Score n predictions against their references. opts NULL = defaults. per_item (optional, [n])
 * receives each item's per-image scores (coco's imgToEval: BLEU per image, METEOR of the chosen
 * reference, ROUGE-L, CIDEr-D). Returns 0, or -1 with the message set. */
int tc_caption_score(const char *const *preds, const tc_caption_refs *refs, int n, const tc_caption_opts *opts,
                     tc_caption_scores *out, tc_caption_scores *per_item);

/* Results table (values x100, like published tables) and the original's metric JSON
 * ({"Bleu_1": .., "Bleu_2": .., "Bleu_3": .., "Bleu_4": .., "METEOR": .., "ROUGE_L": .., "CIDEr": ..},
 * raw coco scale, as eval_caption.py's *_metric.json). */
void tc_caption_table_print(FILE *f, const tc_caption_scores *s);
/* Returns a malloc'd JSON object string; `extra` (may be NULL) is a JSON fragment of extra members
 * ("\"images\": 5000") appended inside the object. */
char *tc_caption_scores_json(const tc_caption_scores *s, const char *extra);

#endif
