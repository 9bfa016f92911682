/* Greedy and beam search for the v1 decoders, exactly as the original's BeamSearchDecoder (opt-spec §1.11,
 * MindSpore model-zoo Transformer logic), on top of the decoder's KV cache (decoder.h).
 *
 * Per input: seq[k] = [0], score = [0, −1e9, …], finished = false, len = 0. Each step (max_len of them):
 *   cand[b][v] = score[b] + lp[b][v] + (finished[b] ? −1e9 : 0); top-`beam` of the flattened beam×V array
 *   (descending, lower index first on ties) -> slot k: source b_k, word w_k, score s_k;
 *   slot override: if the old beam k is finished, slot k = (k, 0, score[k]);
 *   re-order the slots by (w == 0 ? −1e9 : s) descending, stably (EOS slots after the others);
 *   len = len[b_k] + (finished[b_k] ? 0 : 1)   (the original selects on the old flags, then gathers by b_k);
 *   seq = seq[b_k] + [w_k]; finished = (w_k == 0); score = s_k.
 * At the end: normalised score / ((5 + len)/6)^alpha, the best beam's sequence (max_len + 1 ids incl. the
 * leading 0). beam = 1 is greedy decoding (argmax until 0, then 0s).
 * Stopping once every slot of every input is finished is exact: from then on a step changes nothing. */
#ifndef TC_MODEL_BEAM_H
#define TC_MODEL_BEAM_H

#include "model/decoder.h"

typedef struct tc_beam_cfg {
    int beam;             /* 1 = greedy (the configs' beam_width) */
    int max_len;          /* decode steps (max_decode_length 50) */
    float length_penalty; /* GNMT weight alpha (1.0) */
    int vocab_limit;      /* > 0: ids >= vocab_limit are never chosen (the text decoder's 36560 rows exceed the
                             21128 real tokens); 0 = the original's behaviour (no limit) */
} tc_beam_cfg;

tc_beam_cfg tc_beam_cfg_default(void); /* beam 1, max_len 50, alpha 1, no limit */

/* The search alone, over any next-token model: step(ctx, src, ids) must first re-order its state so that row r
 * continues the history of row src[r] (src NULL on the first call: rows b·beam + k all start from input b),
 * then consume ids[n] (n = B·beam) and return the log-probabilities [n][V] of the next token (NULL with a
 * message on error). Outputs as tc_beam_search. */
typedef const float *(*tc_beam_step_fn)(void *ctx, const int *src, const int32_t *ids);
int tc_beam_search_fn(int B, int V, const tc_beam_cfg *cfg, tc_beam_step_fn step, void *ctx, int32_t *out_ids,
                      float *out_score, int *out_len);

/* Decode B inputs from memory M [B, S, d] (the decoder-side encoder's output) with validity mem_valid [B, S]
 * (NULL = all). out_ids [B][max_len + 1] (leading 0), out_score [B] (normalised score, may be NULL),
 * out_len [B] (length counted by the search, may be NULL). Uses and resets g. 0 or -1 with a message. */
int tc_beam_search(tc_graph *g, tc_decoder *dd, tc_tensor *mem, const float *mem_valid, const tc_beam_cfg *cfg,
                   int32_t *out_ids, float *out_score, int *out_len);

#endif
