/* Pre-LN transformer blocks and stacks (see transformer.h). */
#include "nn/transformer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_block_cfg tc_block_cfg_mindspore(int d, int heads, int ffn, float dropout) {
    tc_block_cfg c = {d, heads, ffn, TC_ACT_GELU_TANH, 1e-5f, dropout, dropout, TC_W_IN_OUT, 0,
                      tc_init_normal(0.02f)};
    return c;
}

tc_block_cfg tc_block_cfg_local(int d, int heads, int ffn, float dropout, int cross) {
    tc_block_cfg c = {d, heads, ffn, TC_ACT_RELU, 1e-5f, dropout, dropout, TC_W_OUT_IN, cross,
                      tc_init_normal(0.02f)};
    return c;
}

void tc_nn_ffn_make(tc_nn_ffn *f, tc_nn *nn, const char *prefix, const tc_block_cfg *cfg) {
    char name[512];
    snprintf(name, sizeof name, "%s.mapping", prefix);
    tc_nn_linear_make(&f->mapping, nn, name, cfg->d, cfg->ffn, 1, cfg->out_layout, cfg->winit);
    snprintf(name, sizeof name, "%s.projection", prefix);
    tc_nn_linear_make(&f->projection, nn, name, cfg->ffn, cfg->d, 1, cfg->out_layout, cfg->winit);
    f->act = cfg->act;
    f->dropout = cfg->hidden_dropout;
}

tc_tensor *tc_nn_ffn_fwd(tc_graph *g, const tc_nn_ffn *f, tc_tensor *x) {
    tc_tensor *h = tc_nn_act(g, tc_nn_linear_fwd(g, &f->mapping, x), f->act); /* [.., ffn] */
    tc_tensor *y = tc_nn_linear_fwd(g, &f->projection, h);                    /* [.., d] */
    return f->dropout > 0 ? tc_dropout(g, y, f->dropout) : y;
}

void tc_nn_block_make(tc_nn_block *b, tc_nn *nn, const char *prefix, const tc_block_cfg *cfg) {
    char name[512];
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    snprintf(name, sizeof name, "%s.layernorm1", prefix);
    tc_nn_layernorm_make(&b->ln1, nn, name, cfg->d, cfg->ln_eps);
    snprintf(name, sizeof name, "%s.attention", prefix);
    tc_nn_mha_make(&b->attn, nn, name, cfg->d, cfg->heads, cfg->out_layout, cfg->attn_dropout, cfg->hidden_dropout,
                   cfg->winit);
    if (cfg->cross) {
        snprintf(name, sizeof name, "%s.cross_attention_layernorm", prefix);
        tc_nn_layernorm_make(&b->lnc, nn, name, cfg->d, cfg->ln_eps);
        snprintf(name, sizeof name, "%s.cross_attention", prefix);
        tc_nn_mha_make(&b->xattn, nn, name, cfg->d, cfg->heads, cfg->out_layout, cfg->attn_dropout,
                       cfg->hidden_dropout, cfg->winit);
    }
    snprintf(name, sizeof name, "%s.layernorm2", prefix);
    tc_nn_layernorm_make(&b->ln2, nn, name, cfg->d, cfg->ln_eps);
    snprintf(name, sizeof name, "%s.output", prefix);
    tc_nn_ffn_make(&b->ffn, nn, name, cfg);
}

tc_tensor *tc_nn_block_fwd(tc_graph *g, tc_nn_block *b, tc_tensor *x, const float *valid, int causal,
                           tc_tensor *mem, const float *mem_valid) {
    x = tc_add(g, x, tc_nn_mha_fwd(g, &b->attn, tc_nn_layernorm_fwd(g, &b->ln1, x), NULL, valid, causal));
    if (b->cfg.cross && mem)
        x = tc_add(g, x, tc_nn_mha_fwd(g, &b->xattn, tc_nn_layernorm_fwd(g, &b->lnc, x), mem, mem_valid, 0));
    return tc_add(g, x, tc_nn_ffn_fwd(g, &b->ffn, tc_nn_layernorm_fwd(g, &b->ln2, x)));
}

void tc_nn_stack_make(tc_nn_stack *s, tc_nn *nn, const char *prefix, int layers, const tc_block_cfg *cfg) {
    char name[512];
    s->n = layers;
    s->blocks = tc_xcalloc((size_t)layers, sizeof *s->blocks);
    for (int i = 0; i < layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        tc_nn_block_make(&s->blocks[i], nn, name, cfg);
    }
}

tc_tensor *tc_nn_stack_fwd(tc_graph *g, tc_nn_stack *s, tc_tensor *x, const float *valid, int causal,
                           tc_tensor *mem, const float *mem_valid) {
    for (int i = 0; i < s->n; i++) x = tc_nn_block_fwd(g, &s->blocks[i], x, valid, causal, mem, mem_valid);
    return x;
}

void tc_nn_stack_free(tc_nn_stack *s) {
    free(s->blocks);
    s->blocks = NULL;
    s->n = 0;
}

double tc_nn_block_flops(const tc_block_cfg *c, int B, int T) {
    double n = (double)B * T, d = c->d, f = c->ffn;
    double linear = 2.0 * n * (4.0 * d * d + 2.0 * d * f); /* q, k, v, projection, mapping, projection */
    double attn = 2.0 * 2.0 * (double)B * T * T * d;       /* q·kᵀ and p·v over all heads */
    return linear + attn;
}
