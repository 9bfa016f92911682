/* Reading the original OPT evaluation JSON files (spec §5.2, §5.3) into a scoring set.
 *
 * Captioning (eval_caption.py):
 *   predictions  [{"image_id": "391895", "caption": "一只狗在草地上"}, ...]
 *   ground truth {"391895": ["caption", ...], ...}            (coco_trans_captions.json)
 *             or {"annotations": [{"image_id": .., "caption": ..}, ...]}  (its *_processed.json form)
 *   Image ids are strings or integers; an all-digit id shorter than 6 characters is left-padded with
 *   zeros to 6, as the original pads the GT keys (predictions carry the last 6 characters of the file
 *   stem). Every prediction must name a GT image, once; the set scored is the predictions' images
 *   (COCOEvalCap evaluates cocoRes.getImgIds()), in prediction order.
 * VQA (test_vqa.py; each question is an "image" with its single answer as the reference):
 *   predictions  [{"question_id": .., "answer": ".."}, ...]   spaces removed; empty -> "。"
 *   ground truth {"val": [{"question_id": .., "Answer": ".."}, ...]}  (FM-IQA.json)
 * Errors name the file, the entry and the field. */
#ifndef TC_EVAL_CAPTION_JSON_H
#define TC_EVAL_CAPTION_JSON_H

#include "eval/caption_score.h"

typedef enum { TC_CAPTION_TASK_CAPTION = 0, TC_CAPTION_TASK_VQA = 1 } tc_caption_task;

typedef struct tc_caption_set {
    int n;                   /* predictions = items scored */
    char **id;               /* [n] normalised image / question id */
    char **pred;             /* [n] prediction text (VQA: spaces removed, "。" when empty) */
    tc_caption_refs *refs;   /* [n] GT captions of each item (point into gt_text) */
    char **gt_text;          /* all GT strings, owned */
    int n_gt_text;
    int n_gt_items;          /* images / questions in the GT file */
} tc_caption_set;

int tc_caption_set_load(tc_caption_task task, const char *pred_path, const char *gt_path, tc_caption_set *out);
void tc_caption_set_free(tc_caption_set *s);

/* VQA exact-match accuracy in percent: prediction equals the (first) reference after deleting
 * white space and "。". */
double tc_vqa_exact_match(const tc_caption_set *s);

#endif
