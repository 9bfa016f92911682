/* Recall@K for cross-modal retrieval (spec §5.1, Appendix A.5; docs/metrics.md, "Recall@K").
 *
 * A query ranks all items by score, highest first. Its rank is the best (smallest, 0-based) rank of
 * any of its ground-truth items; it hits at K when that rank < K. Recall@K is the percentage of hits.
 * Ties (equal scores) follow one of two documented rules:
 *   TC_TIES_PESSIMISTIC  every other item with an equal score is ranked ahead of the GT item
 *                        (rank = #greater + #equal others); a constant score matrix scores 0 at R@1.
 *   TC_TIES_ARGSORT      the order of numpy's argsort(score, kind="stable")[::-1], which the v2
 *                        evaluation (eval_ret.py: np.argsort(score)[::-1]) produces whenever numpy's
 *                        default sort is stable (rows of <= 16 items); among equal scores the HIGHER
 *                        index comes first (rank = #greater + #equal with a higher index).
 * NaN scores are rejected (numpy would sort them first in the reversed order). */
#ifndef TC_EVAL_RECALL_H
#define TC_EVAL_RECALL_H

#include <stdio.h>

typedef enum { TC_TIES_PESSIMISTIC = 0, TC_TIES_ARGSORT = 1 } tc_tie_rule;

int tc_tie_rule_parse(const char *name, tc_tie_rule *out); /* "pessimistic" | "argsort" */

/* scores: [nq x ni] row-major, row q = query q's score for every item.
 * gt_off: [nq+1], gt: [gt_off[nq]] — the ground-truth items of query q are gt[gt_off[q] .. gt_off[q+1]).
 * ks: [nk] cut-offs. ranks_out (optional): [nq] best rank per query. recall_out: [nk] percentages.
 * Returns -1 (message set) on NaN, an out-of-range GT item or a query without GT. */
int tc_recall_at_k(const float *scores, int nq, int ni, const int *gt_off, const int *gt, const int *ks, int nk,
                   tc_tie_rule rule, int *ranks_out, double *recall_out);

/* Both directions of image-text retrieval, in standard naming (IR = text->image, TR = image->text).
 *   i2t: [n_img x n_txt] scores of every text for each image (image->text queries);
 *   t2i: [n_txt x n_img] scores of every image for each text, or NULL to use the transpose of i2t
 *        (they differ after ITM re-ranking of the top k in each direction, as in the v2 protocol);
 *   txt2img: [n_txt] the image of each text; an image's GT texts are all texts pointing at it (TR
 *        ranks an image by the best of its captions). */
typedef struct tc_retrieval_scores {
    double ir[3], tr[3];  /* R@1, R@5, R@10 in percent */
    double ir_mean, tr_mean, r_mean;
} tc_retrieval_scores;

int tc_retrieval_recall(const float *i2t, const float *t2i, int n_img, int n_txt, const int *txt2img,
                        tc_tie_rule rule, tc_retrieval_scores *out);

/* Table like the OPT README's (spec §8.2): | IR@1 | IR@5 | IR@10 | TR@1 | TR@5 | TR@10 | mean |
 * with a line stating the naming; and the v2 eval_ret.py JSON names (img_r* = IR, txt_r* = TR). */
void tc_retrieval_table_print(FILE *f, const tc_retrieval_scores *r);
char *tc_retrieval_json(const tc_retrieval_scores *r); /* malloc'd */

#endif
