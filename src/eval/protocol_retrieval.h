/* Retrieval evaluation protocols, the model-free part (spec Appendix A.5 for v2, §5.1 for v1;
 * docs/metrics.md "Evaluation commands").
 *
 * v2 (eval_ret.py): an ITC similarity matrix sim [n_img x n_txt]; every image takes its top k texts and
 * every text its top k images by similarity; those (image, text) pairs are rescored by the ITM head (raw
 * logit of class 1) and every other entry of the two score matrices is -100. An ITM score depends only on
 * its pair, so the union of both directions' pairs is scored once.
 * v1 (eval_retrieval.py): every pair is scored by the cross encoder; the matrices are that score matrix
 * and its transpose (no re-ranking).
 *
 * The model-driven scorers live in eval/protocol_model.h; the pieces here take plain arrays so the tests
 * can check them on hand-built similarity / ITM matrices. */
#ifndef TC_EVAL_PROTOCOL_RETRIEVAL_H
#define TC_EVAL_PROTOCOL_RETRIEVAL_H

#include <stdint.h>

#define TC_EVAL_RERANK_FILL (-100.0f) /* eval_ret.py's score for entries outside the top k */

/* One (image, text) pair to score with ITM. */
typedef struct tc_eval_pair {
    int32_t img, txt;
} tc_eval_pair;

/* Indices of the k largest values of v [n] (k clamped to n), largest first; among equal values the lower
 * index first (a deterministic stand-in for torch.topk, whose tie order is unspecified). out [min(k, n)].
 * Returns the count. */
int tc_eval_topk(const float *v, int n, int stride, int k, int32_t *out);

/* The union of the top-k pairs of both directions of sim [n_img x n_txt], sorted by (img, txt), no
 * duplicates. *pairs malloc'd. Returns the count (>= 1), or -1 with a message (NaN in sim, bad sizes). */
long tc_eval_rerank_pairs(const float *sim, int n_img, int n_txt, int k, tc_eval_pair **pairs);

/* Fill the re-ranked matrices: i2t [n_img x n_txt] and t2i [n_txt x n_img] start at TC_EVAL_RERANK_FILL;
 * for each image, its top-k texts (by sim) get their ITM score; for each text, its top-k images. itm [np]
 * is the ITM score of pairs[p] (the list from tc_eval_rerank_pairs). Returns 0, or -1 with a message when a
 * needed pair is missing from the list. */
int tc_eval_rerank_fill(const float *sim, int n_img, int n_txt, int k, const tc_eval_pair *pairs, long np,
                        const float *itm, float *i2t, float *t2i);

#endif
