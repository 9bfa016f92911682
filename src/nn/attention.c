/* Multi-head attention as a composition of engine ops (see attention.h). */
#include "nn/attention.h"

#include <stdio.h>
#include <string.h>

void tc_nn_mha_make(tc_nn_mha *m, tc_nn *nn, const char *prefix, int d, int heads, tc_weight_layout proj_layout,
                    float attn_dropout, float hidden_dropout, tc_init winit) {
    memset(m, 0, sizeof *m);
    char name[512];
    int wshape[2] = {d, d};
    /* Registration order is the slab order: the three q/k/v weights back to back, then their biases,
     * so they can be used as one fused matrix (see attention.h). */
    static const char *const qkv[3] = {"dense1", "dense2", "dense3"};
    tc_nn_linear *lin[3] = {&m->q, &m->k, &m->v};
    for (int i = 0; i < 3; i++) {
        lin[i]->w = tc_nn_param(nn, winit, 2, wshape, "%s.%s.weight", prefix, qkv[i]);
        lin[i]->layout = TC_W_OUT_IN;
        lin[i]->in = lin[i]->out = d;
    }
    for (int i = 0; i < 3; i++) lin[i]->b = tc_nn_param(nn, tc_init_zeros(), 1, &d, "%s.%s.bias", prefix, qkv[i]);
    snprintf(name, sizeof name, "%s.projection", prefix);
    tc_nn_linear_make(&m->proj, nn, name, d, d, 1, proj_layout, winit);
    m->d = d;
    m->heads = heads;
    m->attn_dropout = attn_dropout;
    m->hidden_dropout = hidden_dropout;
    m->fused = -1;
}

/* A leaf tensor viewing `rows` consecutive [d]-vectors or [d, d]-matrices of the slab starting at t. */
static void fused_view(tc_tensor *out, const tc_tensor *first, int ndim, int n0, int d) {
    memset(out, 0, sizeof *out);
    out->data = first->data;
    out->grad = first->grad;
    out->ndim = ndim;
    out->shape[0] = n0;
    out->shape[1] = ndim == 2 ? d : 1;
    out->stride[0] = ndim == 2 ? d : 1;
    out->stride[1] = 1;
    for (int i = ndim; i < TC_MAX_DIMS; i++) out->shape[i] = 1, out->stride[i] = 1;
    out->requires_grad = 1;
    out->node = -1;
}

static void check_fusable(tc_nn_mha *m) {
    long dd = (long)m->d * m->d;
    m->fused = m->q.w->data && m->k.w->data == m->q.w->data + dd && m->v.w->data == m->k.w->data + dd &&
               m->k.w->grad == m->q.w->grad + dd && m->v.w->grad == m->k.w->grad + dd &&
               m->k.b->data == m->q.b->data + m->d && m->v.b->data == m->k.b->data + m->d &&
               m->k.b->grad == m->q.b->grad + m->d && m->v.b->grad == m->k.b->grad + m->d;
    if (m->fused) {
        fused_view(&m->qkv_w, m->q.w, 2, 3 * m->d, m->d);
        fused_view(&m->qkv_b, m->q.b, 1, 3 * m->d, m->d);
        fused_view(&m->kv_w, m->k.w, 2, 2 * m->d, m->d);
        fused_view(&m->kv_b, m->k.b, 1, 2 * m->d, m->d);
    }
}

tc_tensor *tc_nn_mha_fwd(tc_graph *g, tc_nn_mha *m, tc_tensor *x, tc_tensor *mem, const float *key_valid,
                         int causal) {
    if (m->fused < 0) check_fusable(m);
    int self = mem == NULL || mem == x;
    int d = m->d;
    tc_tensor *q, *k, *v;
    if (m->fused && self) {
        tc_tensor *qkv = tc_linear(g, x, &m->qkv_w, &m->qkv_b, TC_W_OUT_IN); /* [B, T, 3d] */
        q = tc_slice(g, qkv, -1, 0, d);
        k = tc_slice(g, qkv, -1, d, d);
        v = tc_slice(g, qkv, -1, 2 * d, d);
    } else if (m->fused) {
        q = tc_nn_linear_fwd(g, &m->q, x);
        tc_tensor *kv = tc_linear(g, mem, &m->kv_w, &m->kv_b, TC_W_OUT_IN); /* [B, Tk, 2d] */
        k = tc_slice(g, kv, -1, 0, d);
        v = tc_slice(g, kv, -1, d, d);
    } else {
        tc_tensor *src = self ? x : mem;
        q = tc_nn_linear_fwd(g, &m->q, x);
        k = tc_nn_linear_fwd(g, &m->k, src);
        v = tc_nn_linear_fwd(g, &m->v, src);
    }
    tc_tensor *a = tc_attention(g, q, k, v, m->heads, key_valid, causal, m->attn_dropout); /* [B, Tq, d] */
    tc_tensor *y = tc_nn_linear_fwd(g, &m->proj, a);
    return m->hidden_dropout > 0 ? tc_dropout(g, y, m->hidden_dropout) : y;
}
