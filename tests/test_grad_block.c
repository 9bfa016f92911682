/* Gradient check of a whole composed transformer block, to catch interactions the per-op checks cannot
 * (views feeding several consumers, fused-QKV slices, dropout streams, residual fan-out, a tied output
 * table used by both the embedding and the logits): embedding + positions -> LayerNorm -> fused QKV ->
 * masked attention with dropout -> projection -> dropout -> residual -> LayerNorm -> GELU FFN ->
 * residual -> tied-table logits -> label-smoothed cross-entropy with ignored positions. */
#include "gradcheck.h"

enum { B = 2, T = 4, D = 8, H = 2, F = 12, V = 7 };
static const int32_t ids[B * T] = {1, 2, 3, 0, 4, 5, 6, 0};
static const int32_t tgt[B * T] = {2, 3, 4, -100, 5, 6, 1, -100};
static const float valid[B * T] = {1, 1, 1, 0, 1, 1, 1, 0};

static tc_tensor *build(tc_graph *g, tc_tensor **p, void *ud) {
    (void)ud;
    tc_tensor *x = tc_embedding(g, p[0], ids, B * T, 0); /* [B*T, D], padding id 0 */
    int s3[3] = {B, T, D};
    x = tc_add_rows(g, tc_reshape(g, x, 3, s3), p[1]);
    tc_tensor *h = tc_layernorm(g, x, p[2], p[3], 1e-5f);
    tc_tensor *qkv = tc_linear(g, h, p[4], p[5], TC_W_OUT_IN); /* [B, T, 3D] */
    tc_tensor *a = tc_attention(g, tc_slice(g, qkv, 2, 0, D), tc_slice(g, qkv, 2, D, D), tc_slice(g, qkv, 2, 2 * D, D),
                                H, valid, 0, 0.2f);
    x = tc_add(g, x, tc_dropout(g, tc_linear(g, a, p[6], NULL, TC_W_IN_OUT), 0.2f));
    h = tc_gelu_erf(g, tc_linear(g, tc_layernorm(g, x, p[2], NULL, 1e-5f), p[7], NULL, TC_W_OUT_IN));
    x = tc_add(g, x, tc_linear(g, h, p[8], NULL, TC_W_OUT_IN));
    int s2[2] = {B * T, D};
    tc_tensor *logits = tc_linear(g, tc_reshape(g, x, 2, s2), p[0], NULL, TC_W_OUT_IN); /* tied table */
    return tc_cross_entropy(g, logits, tgt, -100, 0.1f, TC_REDUCE_MEAN);
}

int main(void) {
    gc_inputs gi;
    int nd[9] = {2, 2, 1, 1, 2, 1, 2, 2, 2};
    int sh[9][4] = {{V, D}, {T, D}, {D}, {D}, {3 * D, D}, {3 * D}, {D, D}, {F, D}, {D, F}};
    gc_inputs_make(&gi, 9, nd, sh, 4242, 0.5f);
    for (int j = 0; j < D; j++) gi.in[2]->data[j] += 1.0f; /* gamma near 1 */
    /* pad positions (id 0) are masked keys with ignored targets, so the padding row's embedding cannot
     * reach the loss: its zero embedding gradient agrees with finite differences, and what the row does
     * get comes from the tied logits */
    gc_check("transformer block", &gi.ps, 9, gi.in, build, NULL, 1, 5e-3f, 1e-2, 2e-4, 48);
    tc_params_free(&gi.ps);
    return tc_test_summary("grad_block");
}
