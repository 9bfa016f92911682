/* Token-sequence encoder model (see seq_encoder.h). */
#include "nn/seq_encoder.h"

#include "core/optim.h"

void tc_seq_encoder_init(tc_seq_encoder *m, const tc_seq_encoder_cfg *cfg, uint64_t seed) {
    m->cfg = *cfg;
    tc_params_init(&m->ps);
    tc_nn nn;
    tc_nn_begin(&nn, &m->ps);
    tc_init w = tc_init_normal(0.02f);
    tc_nn_embedding_make(&m->word, &nn, "emb.word_embeddings", cfg->vocab, cfg->d, 0, w);
    tc_nn_embedding_make(&m->pos, &nn, "emb.position_embeddings", cfg->max_t, cfg->d, -1, w);
    tc_block_cfg bc = tc_block_cfg_mindspore(cfg->d, cfg->heads, cfg->ffn, cfg->dropout);
    tc_nn_stack_make(&m->enc, &nn, "enc", cfg->layers, &bc);
    if (cfg->head) {
        tc_nn_layernorm_make(&m->final_ln, &nn, "final_layernorm", cfg->d, 1e-5f);
        tc_nn_linear_make(&m->head, &nn, "head", cfg->d, cfg->vocab, 1, TC_W_OUT_IN, w);
    }
    tc_nn_finalize(&nn, seed);
    tc_nn_end(&nn);
    /* the padding row starts at zero, like torch.nn.Embedding(padding_idx=0) */
    for (int j = 0; j < cfg->d; j++) m->word.table->data[j] = 0.0f;
    tc_params_set_decay(&m->ps, tc_opt_decay_exclude);
}

void tc_seq_encoder_free(tc_seq_encoder *m) {
    tc_nn_stack_free(&m->enc);
    tc_params_free(&m->ps);
}

tc_tensor *tc_seq_encoder_fwd(tc_graph *g, tc_seq_encoder *m, const int32_t *ids, const float *valid, int B, int T) {
    tc_tensor *x = tc_nn_embedding_fwd(g, &m->word, ids, B, T);           /* [B, T, d] */
    x = tc_add_rows(g, x, tc_slice(g, m->pos.table, 0, 0, T));           /* + positions [T, d] */
    x = tc_nn_stack_fwd(g, &m->enc, x, valid, 0, NULL, NULL);
    if (!m->cfg.head) return x;
    return tc_nn_linear_fwd(g, &m->head, tc_nn_layernorm_fwd(g, &m->final_ln, x)); /* [B, T, V] */
}

tc_tensor *tc_seq_encoder_loss(tc_graph *g, tc_seq_encoder *m, tc_tensor *logits, const int32_t *targets) {
    int n = logits->shape[0] * logits->shape[1];
    int shape[2] = {n, logits->shape[2]};
    return tc_cross_entropy(g, tc_reshape(g, logits, 2, shape), targets, -1, 0.0f, TC_REDUCE_MEAN);
}
