/* OPT-v2 modules, parameters and forward passes (see opt_v2.h, docs/models.md). */
#include "model/opt_v2.h"

#include "core/error.h"
#include "core/threads.h"
#include "data/image.h"

#include <omp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIT "uniter.img_embeddings.vit"

static tc_act act_of(const tc_model_config *c) {
    return strcmp(c->hidden_act, "gelu_erf") == 0 ? TC_ACT_GELU_ERF : TC_ACT_GELU_TANH;
}

/* A HF-CLIP encoder layer registered under its own names but held as a tc_nn_block, so the pre-LN block
 * forward (and its fused q|k|v GEMM) is reused: layer_norm1, self_attn.{q,k,v,out}_proj (all out×in),
 * layer_norm2, mlp.fc1 → QuickGELU → mlp.fc2. No dropout anywhere in the CLIP tower. */
static void clip_layer_make(tc_nn_block *b, tc_nn *nn, const char *prefix, const tc_model_config *c) {
    int d = c->vit_hidden_size, wshape[2] = {d, d};
    /* CLIP's initialisation (HF CLIPPreTrainedModel._init_weights, factor 1): q/k/v and fc2 N(0, d^-1/2 ·
     * (2L)^-1/2), out_proj N(0, d^-1/2), fc1 N(0, (2d)^-1/2). A flat 0.02 makes each residual branch 7-10x
     * too small at width 128: every image's class token then leaves the tower almost unchanged (cosine
     * 0.997 between images) and ITC sits on its ln B plateau (docs/training.md, "The ITC plateau"). */
    float in_std = 1.0f / sqrtf((float)d) / sqrtf(2.0f * (float)(c->vit_num_layers > 0 ? c->vit_num_layers : 1));
    tc_init w = tc_init_normal(in_std), w_out = tc_init_normal(1.0f / sqrtf((float)d)),
            w_fc1 = tc_init_normal(1.0f / sqrtf(2.0f * (float)d));
    memset(b, 0, sizeof *b);
    b->cfg = (tc_block_cfg){d, c->vit_num_heads, c->vit_intermediate_size, TC_ACT_QUICK_GELU, 1e-5f, 0.f, 0.f,
                            TC_W_OUT_IN, 0, w};
    char name[640];
    snprintf(name, sizeof name, "%s.layer_norm1", prefix);
    tc_nn_layernorm_make(&b->ln1, nn, name, d, 1e-5f);
    /* q, k, v weights back to back, then their biases: the slab layout tc_nn_mha fuses into one GEMM. */
    static const char *const qkv[3] = {"q_proj", "k_proj", "v_proj"};
    tc_nn_linear *lin[3] = {&b->attn.q, &b->attn.k, &b->attn.v};
    for (int i = 0; i < 3; i++) {
        lin[i]->w = tc_nn_param(nn, w, 2, wshape, "%s.self_attn.%s.weight", prefix, qkv[i]);
        lin[i]->layout = TC_W_OUT_IN;
        lin[i]->in = lin[i]->out = d;
    }
    for (int i = 0; i < 3; i++) lin[i]->b = tc_nn_param(nn, tc_init_zeros(), 1, &d, "%s.self_attn.%s.bias", prefix, qkv[i]);
    snprintf(name, sizeof name, "%s.self_attn.out_proj", prefix);
    tc_nn_linear_make(&b->attn.proj, nn, name, d, d, 1, TC_W_OUT_IN, w_out);
    b->attn.d = d;
    b->attn.heads = c->vit_num_heads;
    b->attn.fused = -1;
    snprintf(name, sizeof name, "%s.layer_norm2", prefix);
    tc_nn_layernorm_make(&b->ln2, nn, name, d, 1e-5f);
    snprintf(name, sizeof name, "%s.mlp.fc1", prefix);
    tc_nn_linear_make(&b->ffn.mapping, nn, name, d, c->vit_intermediate_size, 1, TC_W_OUT_IN, w_fc1);
    snprintf(name, sizeof name, "%s.mlp.fc2", prefix);
    tc_nn_linear_make(&b->ffn.projection, nn, name, c->vit_intermediate_size, d, 1, TC_W_OUT_IN, w);
    b->ffn.act = TC_ACT_QUICK_GELU;
}

int tc_opt_v2_build(tc_model *m, uint64_t seed) {
    const tc_model_config *c = &m->cfg;
    if (c->vit_hidden_size != c->hidden_size)
        return tc_error_set("model config: field \"vit_hidden_size\": must equal hidden_size for opt-v2");
    tc_opt_v2 *v = tc_xcalloc(1, sizeof *v);
    m->impl = v;
    int D = c->hidden_size, Dv = c->vit_hidden_size, p = c->patch_size, V = c->vocab_size, E = c->itc_dim;
    v->n_patches = tc_model_config_num_patches(c);
    int T_img = v->n_patches + 1;
    tc_init w = tc_init_normal(0.02f);
    tc_nn nn;
    tc_nn_begin(&nn, &m->params);
    char name[128];

    /* text embeddings and encoder */
    tc_nn_embedding_make(&v->word, &nn, "uniter.embeddings.word_embeddings", V, D, -1, w);
    tc_nn_embedding_make(&v->pos, &nn, "uniter.embeddings.position_embeddings", c->max_position_embeddings, D, -1, w);
    tc_nn_embedding_make(&v->type, &nn, "uniter.embeddings.token_type_embeddings", c->type_vocab_size, D, -1, w);
    tc_nn_layernorm_make(&v->emb_ln, &nn, "uniter.embeddings.layernorm", D, c->layer_norm_eps);
    tc_block_cfg bc = tc_block_cfg_mindspore(D, c->num_attention_heads, c->intermediate_size, c->hidden_dropout_prob);
    bc.attn_dropout = c->attention_probs_dropout_prob;
    bc.act = act_of(c);
    bc.ln_eps = c->layer_norm_eps;
    tc_nn_stack_make(&v->text_enc, &nn, "uniter.embeddings.encoder", c->text_num_layers, &bc);

    /* ViT */
    int pw[4] = {Dv, 3, p, p}, pid[2] = {1, T_img};
    v->patch_w = tc_nn_param(&nn, w, 4, pw, VIT ".patch_embed.weight");
    /* CLIP: class token N(0, Dv^-1/2) (the rest of the embeddings 0.02, as HF CLIP) */
    v->class_embedding = tc_nn_param(&nn, tc_init_normal(1.0f / sqrtf((float)Dv)), 1, &Dv, VIT ".class_embedding");
    v->position_ids = tc_nn_param(&nn, tc_init_zeros(), 2, pid, VIT ".position_ids"); /* arange below */
    tc_nn_embedding_make(&v->vit_pos, &nn, VIT ".pos_embed", T_img, Dv, -1, w);
    tc_nn_layernorm_make(&v->pre_ln, &nn, VIT ".pre_layrnorm", Dv, 1e-5f);
    v->vit = tc_xcalloc((size_t)(c->vit_num_layers > 0 ? c->vit_num_layers : 1), sizeof *v->vit);
    for (int i = 0; i < c->vit_num_layers; i++) {
        snprintf(name, sizeof name, VIT ".encoder.layers.%d", i);
        clip_layer_make(&v->vit[i], &nn, name, c);
    }
    tc_nn_layernorm_make(&v->post_ln, &nn, VIT ".post_layernorm", Dv, 1e-5f);

    /* fusion: library TransformerDecoder */
    tc_block_cfg fc = bc;
    fc.cross = 1;
    tc_nn_stack_make(&v->fusion, &nn, "uniter.encoder.decoder", c->num_hidden_layers, &fc);

    /* heads */
    tc_nn_linear_make(&v->pooler, &nn, "uniter.pooler.dense", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_linear_make(&v->mlm_dense, &nn, "cls.predictions.transform.dense", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->mlm_ln, &nn, "cls.predictions.transform.LayerNorm", D, 1e-5f);
    v->mlm_bias = tc_nn_param(&nn, tc_init_zeros(), 1, &V, "cls.predictions.decoder.bias");
    tc_nn_linear_make(&v->itm_output, &nn, "itm_output", D, 2, 1, TC_W_OUT_IN, w);
    tc_nn_linear_make(&v->itm0, &nn, "itm_head_two.0", D, 2 * D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->itm1, &nn, "itm_head_two.1", 2 * D, 1e-5f);
    tc_nn_linear_make(&v->itm3, &nn, "itm_head_two.3", 2 * D, 2, 1, TC_W_OUT_IN, w);
    /* CLIP: the ITC projections N(0, width^-1/2) */
    tc_nn_linear_make(&v->text_proj, &nn, "text_proj", D, E, 1, TC_W_OUT_IN, tc_init_normal(1.0f / sqrtf((float)D)));
    tc_nn_linear_make(&v->vision_proj, &nn, "vision_proj", Dv, E, 1, TC_W_OUT_IN, tc_init_normal(1.0f / sqrtf((float)Dv)));
    int one = 1;
    v->clip_temp_unused = tc_nn_param(&nn, (tc_init){TC_INIT_CONST, 0.07f}, 1, &one, "clip_temp");
    v->clip_temp = tc_nn_param(&nn, (tc_init){TC_INIT_CONST, (float)log(1.0 / 0.07)}, 1, &one, "clip_loss.clip_temp");

    if (c->dec_num_layers > 0) {
        tc_dec_cfg dc = {.d_mem = D, .d = c->dec_hidden_size, .heads = c->dec_num_heads,
                         .ffn = c->dec_intermediate_size, .enc_layers = c->dec_num_layers,
                         .dec_layers = c->dec_num_layers, .vocab = c->txt_dec_vocab_size,
                         .max_pos = c->dec_max_position, .dropout = c->dec_dropout};
        tc_decoder_make(&v->vqa, &nn, "txt_output", &dc);
        v->has_vqa = 1;
    }

    tc_nn_finalize(&nn, seed);
    tc_nn_end(&nn);

    for (int i = 0; i < T_img; i++) v->position_ids->data[i] = (float)i;
    /* [Dv, 3, p, p] seen as [Dv, 3·p·p]: the conv with stride = kernel is a linear map of each patch. */
    v->patch_w2 = *v->patch_w;
    v->patch_w2.ndim = 2;
    v->patch_w2.shape[0] = Dv;
    v->patch_w2.shape[1] = 3 * p * p;
    v->patch_w2.shape[2] = v->patch_w2.shape[3] = 1;
    v->patch_w2.stride[0] = 3 * p * p;
    v->patch_w2.stride[1] = v->patch_w2.stride[2] = v->patch_w2.stride[3] = 1;
    v->patch_w2.node = -1;
    v->patch_w2.base = NULL;

    /* AdamW decay: not on norms, biases, the position-id buffer (never changes: its gradient is always 0)
     * or the temperature (spec A.1 / the original's decay filter). */
    static const char *const no_decay[] = {"layernorm", "LayerNorm", "layer_norm", "layrnorm", "bias", "gamma",
                                           "beta", "position_ids", "clip_temp", "itm_head_two.1.", NULL};
    tc_params_set_decay(&m->params, no_decay);
    return 0;
}

void tc_opt_v2_free(tc_model *m) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (!v) return;
    for (int i = 0; i < v->npool; i++) tc_graph_free(v->pool[i]);
    free(v->pool);
    free(v->vit);
    if (v->has_vqa) tc_decoder_free(&v->vqa);
    tc_nn_stack_free(&v->text_enc);
    tc_nn_stack_free(&v->fusion);
    free(v);
    m->impl = NULL;
}

/* ---------------------------------------------------------------- packed text stacks
 * The text encoder and the fusion run their row-wise work (LayerNorms, every projection, the FFN) on the
 * valid token rows only: padded query rows are garbage in the original (spec §1.3) and padded keys get
 * -10000, i.e. exactly zero weight in fp32, so the valid rows come out identical while padded batches
 * (captions are padded to 50 tokens, most are far shorter) skip that work. Only attention itself sees the
 * padded [B, T] layout (its inputs scattered there, zero at padding). Padded rows of the result are 0. */

/* Leaf view of `rows` consecutive [cols]-vectors of the slab starting at first (arena-owned: the tape keeps
 * a pointer to it until the graph is reset). NULL when the three tensors are not adjacent in the slab. */
static tc_tensor *adjacent_view(tc_graph *g, const tc_tensor *a, const tc_tensor *b, const tc_tensor *c, int d,
                                int matrix) {
    long step = matrix ? (long)d * d : d;
    if (!(b->data == a->data + step && b->grad == a->grad + step && (!c || (c->data == b->data + step &&
                                                                           c->grad == b->grad + step))))
        return NULL;
    tc_tensor *v = tc_graph_alloc(g, sizeof *v);
    *v = *a;
    int n = c ? 3 : 2;
    v->ndim = matrix ? 2 : 1;
    v->shape[0] = n * d;
    v->shape[1] = matrix ? d : 1;
    v->stride[0] = matrix ? d : 1;
    v->stride[1] = 1;
    v->shape[2] = v->shape[3] = v->stride[2] = v->stride[3] = 1;
    v->node = -1;
    v->base = NULL;
    return v;
}

/* [n, k·d] projection of packed rows x [n, d] by the q|k|v (k = 3) or k|v (k = 2) linears of m. */
static tc_tensor *proj_many(tc_graph *g, const tc_nn_mha *m, tc_tensor *x, int kv_only) {
    const tc_nn_linear *first = kv_only ? &m->k : &m->q;
    tc_tensor *w = adjacent_view(g, first->w, kv_only ? m->v.w : m->k.w, kv_only ? NULL : m->v.w, m->d, 1);
    tc_tensor *b = adjacent_view(g, first->b, kv_only ? m->v.b : m->k.b, kv_only ? NULL : m->v.b, m->d, 0);
    if (w && b) return tc_linear(g, x, w, b, TC_W_OUT_IN);
    tc_tensor *parts[3];
    int n = 0;
    if (!kv_only) parts[n++] = tc_nn_linear_fwd(g, &m->q, x);
    parts[n++] = tc_nn_linear_fwd(g, &m->k, x);
    parts[n++] = tc_nn_linear_fwd(g, &m->v, x);
    return tc_concat(g, parts, n, -1);
}

typedef struct packing {
    const int32_t *rows; /* flat b·T + t of each valid token [n] */
    int n, B, T;
    const float *valid;  /* [B, T] */
} packing;

/* packed [n, c] -> [B, T, c] with zero rows at padding */
static tc_tensor *unpack(tc_graph *g, const packing *pk, tc_tensor *x) {
    int c = x->shape[x->ndim - 1], shape[3] = {pk->B, pk->T, c};
    return tc_reshape(g, tc_scatter_rows(g, x, pk->rows, pk->n, pk->B * pk->T), 3, shape);
}

static tc_tensor *hidden_dropout(tc_graph *g, const tc_nn_mha *m, tc_tensor *y) {
    return m->hidden_dropout > 0 ? tc_dropout(g, y, m->hidden_dropout) : y;
}

/* One library pre-LN block (tc_nn_block semantics) on packed rows x [n, d]; mem [B, S, d] for cross blocks. */
static tc_tensor *packed_block(tc_graph *g, tc_nn_block *b, tc_tensor *x, const packing *pk, int causal,
                               tc_tensor *mem) {
    tc_nn_mha *a = &b->attn;
    int d = a->d;
    tc_tensor *qkv = unpack(g, pk, proj_many(g, a, tc_nn_layernorm_fwd(g, &b->ln1, x), 0)); /* [B, T, 3d] */
    tc_tensor *att = tc_attention(g, tc_slice(g, qkv, -1, 0, d), tc_slice(g, qkv, -1, d, d),
                                  tc_slice(g, qkv, -1, 2 * d, d), a->heads, pk->valid, causal, a->attn_dropout);
    att = tc_gather_rows(g, att, pk->rows, pk->n); /* [n, d] */
    x = tc_add(g, x, hidden_dropout(g, a, tc_nn_linear_fwd(g, &a->proj, att)));
    if (b->cfg.cross && mem) {
        tc_nn_mha *c = &b->xattn;
        tc_tensor *q = unpack(g, pk, tc_nn_linear_fwd(g, &c->q, tc_nn_layernorm_fwd(g, &b->lnc, x))); /* [B, T, d] */
        tc_tensor *kv = proj_many(g, c, mem, 1);                                                      /* [B, S, 2d] */
        att = tc_attention(g, q, tc_slice(g, kv, -1, 0, d), tc_slice(g, kv, -1, d, d), c->heads, NULL, 0,
                           c->attn_dropout);
        att = tc_gather_rows(g, att, pk->rows, pk->n);
        x = tc_add(g, x, hidden_dropout(g, c, tc_nn_linear_fwd(g, &c->proj, att)));
    }
    return tc_add(g, x, tc_nn_ffn_fwd(g, &b->ffn, tc_nn_layernorm_fwd(g, &b->ln2, x)));
}

/* A stack over x [B, T, d] with validity valid [B, T] (NULL: all valid). Returns [B, T, d]. */
static tc_tensor *packed_stack(tc_graph *g, tc_nn_stack *s, tc_tensor *x, const float *valid, int causal,
                               tc_tensor *mem) {
    int B = x->shape[0], T = x->shape[1], n = 0;
    if (!valid || s->n == 0) return tc_nn_stack_fwd(g, s, x, valid, causal, mem, NULL);
    int32_t *rows = tc_graph_alloc(g, (size_t)B * T * sizeof *rows);
    for (int i = 0; i < B * T; i++)
        if (valid[i] != 0) rows[n++] = i;
    if (n == B * T || n == 0) return tc_nn_stack_fwd(g, s, x, valid, causal, mem, NULL);
    packing pk = {rows, n, B, T, valid};
    x = tc_gather_rows(g, x, rows, n); /* [n, d] */
    for (int i = 0; i < s->n; i++) x = packed_block(g, &s->blocks[i], x, &pk, causal, mem);
    return unpack(g, &pk, x);
}

/* row 0 of x [B, T, D] -> [B, D] */
static tc_tensor *first_row(tc_graph *g, tc_tensor *x) {
    int shape[2] = {x->shape[0], x->shape[2]};
    return tc_reshape(g, tc_slice(g, x, 1, 0, 1), 2, shape);
}

tc_tensor *tc_opt_v2_vit_embed(tc_graph *g, tc_model *m, const float *pixels, int B, int S) {
    const tc_model_config *c = &m->cfg;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (S != c->train_image_size)
        return tc_error_set("opt-v2 image: %d×%d pixels, expected train_image_size %d", S, S, c->train_image_size),
               NULL;
    int p = c->patch_size, T = v->n_patches + 1, K = 3 * p * p;
    int32_t *ids = tc_graph_alloc(g, (size_t)T * sizeof *ids);
    for (int i = 0; i < T; i++) {
        float f = v->position_ids->data[i];
        if (!(f >= 0 && f < (float)T) || f != (float)(int)f)
            return tc_error_set(VIT ".position_ids[%d] = %g: expected an integer in [0, %d)", i, f, T), NULL;
        ids[i] = (int)f;
    }
    /* [B, T, 3·p·p]: row 0 zero (the class-token slot; the conv has no bias so it projects to 0), then the
     * patches in grid order, each ordered (channel, row, column) like the conv weight. */
    int xs[3] = {B, T, K};
    tc_tensor *x = tc_new(g, 3, xs);
    for (int b = 0; b < B; b++) {
        float *xb = x->data + (size_t)b * T * K;
        memset(xb, 0, (size_t)K * sizeof *xb);
        if (tc_image_patchify(pixels + (size_t)b * 3 * S * S, S, S, p, 0, xb + K) != 0) return NULL;
    }
    x = tc_linear(g, x, &v->patch_w2, NULL, TC_W_OUT_IN); /* [B, T, Dv] */
    int cs[2] = {1, c->vit_hidden_size};
    int32_t zero = 0;
    tc_tensor *cls = tc_scatter_rows(g, tc_reshape(g, v->class_embedding, 2, cs), &zero, 1, T); /* [T, Dv] */
    tc_tensor *pos = tc_embedding(g, v->vit_pos.table, ids, T, -1);                           /* [T, Dv] */
    return tc_add_rows(g, x, tc_add(g, pos, cls));
}

tc_tensor *tc_opt_v2_vit(tc_graph *g, tc_model *m, const float *pixels, int B, int S) {
    const tc_model_config *c = &m->cfg;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    tc_tensor *x = tc_opt_v2_vit_embed(g, m, pixels, B, S);
    if (!x) return NULL;
    x = tc_nn_layernorm_fwd(g, &v->pre_ln, x);
    for (int i = 0; i < c->vit_num_layers; i++) x = tc_nn_block_fwd(g, &v->vit[i], x, NULL, 0, NULL, NULL);
    return tc_nn_layernorm_fwd(g, &v->post_ln, x);
}

tc_tensor *tc_opt_v2_image_embed(tc_graph *g, tc_model *m, const float *pixels, int B, int S) {
    const tc_model_config *c = &m->cfg;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    int L = c->vit_num_layers, D = c->vit_hidden_size;
    tc_tensor *x = tc_opt_v2_vit_embed(g, m, pixels, B, S);
    if (!x) return NULL;
    x = tc_nn_layernorm_fwd(g, &v->pre_ln, x);
    for (int i = 0; i + 1 < L; i++) x = tc_nn_block_fwd(g, &v->vit[i], x, NULL, 0, NULL, NULL);
    tc_tensor *cls;
    if (L > 0) {
        /* The last layer for the class token only: keys/values from every token, query, out_proj and MLP
         * for row 0 alone (what the embedding reads), about 10/12 of that layer's work saved. */
        tc_nn_block *b = &v->vit[L - 1];
        tc_nn_mha *a = &b->attn;
        tc_tensor *h = tc_nn_layernorm_fwd(g, &b->ln1, x);                      /* [B, T, D] */
        tc_tensor *kv = proj_many(g, a, h, 1);                                   /* [B, T, 2D] */
        int s3[3] = {B, 1, D};
        tc_tensor *q = tc_nn_linear_fwd(g, &a->q, tc_reshape(g, first_row(g, h), 3, s3)); /* [B, 1, D] */
        tc_tensor *att = tc_attention(g, q, tc_slice(g, kv, -1, 0, D), tc_slice(g, kv, -1, D, D), a->heads, NULL, 0,
                                      0.f);
        cls = tc_add(g, tc_reshape(g, tc_slice(g, x, 1, 0, 1), 3, s3), tc_nn_linear_fwd(g, &a->proj, att));
        cls = tc_add(g, cls, tc_nn_ffn_fwd(g, &b->ffn, tc_nn_layernorm_fwd(g, &b->ln2, cls))); /* [B, 1, D] */
    } else {
        int s3[3] = {B, 1, D};
        cls = tc_reshape(g, tc_slice(g, x, 1, 0, 1), 3, s3);
    }
    cls = tc_nn_layernorm_fwd(g, &v->post_ln, cls);
    return tc_opt_v2_itc_image(g, m, cls);
}

tc_tensor *tc_opt_v2_text_embed(tc_graph *g, tc_model *m, const int32_t *ids, int B, int T) {
    const tc_model_config *c = &m->cfg;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (T < 1 || T > c->max_position_embeddings)
        return tc_error_set("opt-v2 text: length %d, expected 1..max_position_embeddings (%d)", T,
                            c->max_position_embeddings), NULL;
    for (long i = 0; i < (long)B * T; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return tc_error_set("opt-v2 text: token id %d at [%ld][%ld], expected 0..%d", ids[i], i / T, i % T,
                                c->vocab_size - 1), NULL;
    int32_t *ar = tc_graph_alloc(g, 2 * (size_t)T * sizeof *ar); /* positions 0..T-1, then T type-0 ids */
    for (int t = 0; t < T; t++) ar[t] = t, ar[T + t] = 0;
    tc_tensor *x = tc_nn_embedding_fwd(g, &v->word, ids, B, T); /* [B, T, D] */
    tc_tensor *pt = tc_add(g, tc_embedding(g, v->pos.table, ar, T, -1), tc_embedding(g, v->type.table, ar + T, T, -1));
    x = tc_add_rows(g, x, pt);
    x = tc_nn_layernorm_fwd(g, &v->emb_ln, x);
    return c->hidden_dropout_prob > 0 ? tc_dropout(g, x, c->hidden_dropout_prob) : x;
}

tc_tensor *tc_opt_v2_text(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int T,
                          int causal) {
    tc_tensor *x = tc_opt_v2_text_embed(g, m, ids, B, T);
    return x ? packed_stack(g, &tc_opt_v2_of(m)->text_enc, x, valid, causal, NULL) : NULL;
}

tc_tensor *tc_opt_v2_fusion(tc_graph *g, tc_model *m, tc_tensor *text, const float *valid, tc_tensor *img,
                            int causal) {
    return packed_stack(g, &tc_opt_v2_of(m)->fusion, text, valid, causal, img);
}

tc_tensor *tc_opt_v2_itc_image(tc_graph *g, tc_model *m, tc_tensor *vit_states) {
    return tc_l2_normalize(g, tc_nn_linear_fwd(g, &tc_opt_v2_of(m)->vision_proj, first_row(g, vit_states)), 0.01f);
}

tc_tensor *tc_opt_v2_itc_text(tc_graph *g, tc_model *m, tc_tensor *text_states) {
    return tc_l2_normalize(g, tc_nn_linear_fwd(g, &tc_opt_v2_of(m)->text_proj, first_row(g, text_states)), 0.01f);
}

void tc_opt_v2_freeze_towers(tc_model *m, int vit, int text, int n[2], size_t floats[2]) {
    static const char *const prefix[2] = {"uniter.img_embeddings.vit.", "uniter.embeddings."};
    const int on[2] = {vit, text};
    for (int k = 0; k < 2; k++) {
        int cnt = 0;
        size_t fl = 0;
        for (int i = 0; on[k] && i < m->params.n; i++) {
            tc_param *p = m->params.p[i];
            if (strncmp(p->name, prefix[k], strlen(prefix[k])) != 0) continue;
            p->t.requires_grad = 0;
            cnt++;
            fl += p->numel;
        }
        if (n) n[k] = cnt;
        if (floats) floats[k] = fl;
    }
}

float tc_opt_v2_itc_scale_value(const tc_model *m) {
    float s = expf(tc_opt_v2_of(m)->clip_temp->data[0]);
    return s > TC_OPT_V2_MAX_LOGIT_SCALE ? TC_OPT_V2_MAX_LOGIT_SCALE : s;
}

tc_tensor *tc_opt_v2_itc_scale(tc_graph *g, tc_model *m) {
    tc_tensor *t = tc_opt_v2_of(m)->clip_temp;
    if (expf(t->data[0]) > TC_OPT_V2_MAX_LOGIT_SCALE) {
        float s = TC_OPT_V2_MAX_LOGIT_SCALE;
        int one = 1;
        return tc_from_data(g, &s, 1, &one);
    }
    return tc_exp(g, t);
}

tc_tensor *tc_opt_v2_itm_logits(tc_graph *g, tc_model *m, tc_tensor *fused) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    tc_tensor *h = tc_nn_linear_fwd(g, &v->itm0, first_row(g, fused)); /* [B, 2D] */
    h = tc_gelu_tanh(g, tc_nn_layernorm_fwd(g, &v->itm1, h));
    return tc_nn_linear_fwd(g, &v->itm3, h); /* [B, 2] */
}

tc_tensor *tc_opt_v2_mlm_logits(tc_graph *g, tc_model *m, tc_tensor *fused, const int32_t *rows, int n) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    long nrows = (long)fused->shape[0] * fused->shape[1];
    for (int i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= nrows)
            return tc_error_set("opt-v2 MLM: position %d = %d, expected 0..%ld", i, rows[i], nrows - 1), NULL;
    tc_tensor *h = tc_gather_rows(g, fused, rows, n); /* [n, D] */
    h = tc_relu(g, tc_nn_linear_fwd(g, &v->mlm_dense, h));
    h = tc_nn_layernorm_fwd(g, &v->mlm_ln, h);
    return tc_linear(g, h, v->word.table, v->mlm_bias, TC_W_OUT_IN); /* [n, V] */
}

tc_tensor *tc_opt_v2_pooler(tc_graph *g, tc_model *m, tc_tensor *states) {
    return tc_tanh(g, tc_nn_linear_fwd(g, &tc_opt_v2_of(m)->pooler, first_row(g, states)));
}

static int need_vqa(const tc_opt_v2 *v) {
    return v->has_vqa ? 0
                      : tc_error_set("opt-v2 VQA: this model has no answer decoder (txt_output): config field "
                                     "\"dec_num_layers\" is 0");
}

tc_tensor *tc_opt_v2_vqa_memory(tc_graph *g, tc_model *m, tc_tensor *fused, const float *valid) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (need_vqa(v) != 0) return NULL;
    return tc_decoder_memory(g, &v->vqa, fused, valid);
}

tc_tensor *tc_opt_v2_vqa_logprobs(tc_graph *g, tc_model *m, tc_tensor *mem, const float *mem_valid,
                                  const int32_t *ids, const float *tgt_valid, int B, int Ta) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (need_vqa(v) != 0) return NULL;
    tc_tensor *h = tc_decoder_states(g, &v->vqa, ids, tgt_valid, B, Ta, mem, mem_valid);
    return h ? tc_decoder_logprobs(g, &v->vqa, h) : NULL;
}

int tc_opt_v2_vqa_answer(tc_graph *g, tc_model *m, const float *pixels, int S, const int32_t *ids,
                         const float *valid, int B, int T, const tc_beam_cfg *cfg, int32_t *out_ids,
                         float *out_score, int *out_len) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (need_vqa(v) != 0) return -1;
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *img = tc_opt_v2_vit(g, m, pixels, B, S);
    tc_tensor *txt = img ? tc_opt_v2_text(g, m, ids, valid, B, T, 0) : NULL;
    if (!txt) return -1;
    tc_tensor *mem = tc_decoder_memory(g, &v->vqa, tc_opt_v2_fusion(g, m, txt, valid, img, 0), valid);
    /* the search projects mem into its cache before it resets g */
    return tc_beam_search(g, &v->vqa, mem, valid, cfg, out_ids, out_score, out_len);
}

/* ---------------------------------------------------------------- batch embedding helpers */

typedef struct embed_job {
    const float *pixels;     /* images: [B, 3, S, S] */
    const int32_t *ids;      /* texts: [B, T] */
    const float *valid;      /* texts: [B, T] or NULL */
    int S, T;
} embed_job;

/* Embed items [b0, b0 + n) into out rows b0.. with graph g (inference mode). */
static int embed_slice(tc_graph *g, tc_model *m, const embed_job *j, int b0, int n, float *out) {
    tc_graph_reset(g);
    tc_graph_set_mode(g, 0, 0, 0, 0);
    tc_tensor *e;
    if (j->pixels) {
        e = tc_opt_v2_image_embed(g, m, j->pixels + (size_t)b0 * 3 * j->S * j->S, n, j->S);
    } else {
        tc_tensor *t = tc_opt_v2_text(g, m, j->ids + (size_t)b0 * j->T, j->valid ? j->valid + (size_t)b0 * j->T : NULL,
                                      n, j->T, 0);
        e = t ? tc_opt_v2_itc_text(g, m, t) : NULL;
    }
    if (!e) return -1;
    int E = m->cfg.itc_dim;
    memcpy(out + (size_t)b0 * E, tc_contiguous(g, e)->data, (size_t)n * E * sizeof *out);
    return 0;
}

static int embed_batch(tc_model *m, const embed_job *j, int B, float *out) {
    tc_opt_v2 *v = tc_opt_v2_of(m);
    int nt = tc_get_threads(), workers = nt > 1 && B >= nt ? nt : 1;
    if (v->npool < workers) {
        v->pool = realloc(v->pool, (size_t)workers * sizeof *v->pool);
        if (!v->pool) return tc_error_set("opt-v2 embed: out of memory");
        while (v->npool < workers) v->pool[v->npool++] = tc_graph_new();
    }
    if (workers == 1) return embed_slice(v->pool[0], m, j, 0, B, out);
    /* Every op inside runs single-threaded: nested OpenMP is off and tc_sgemm sees omp_in_parallel(). The
     * engine's count goes to 1 so that nothing re-threads OpenBLAS from inside the workers. */
    tc_set_threads(1);
    int rc = 0;
    char msg[512] = ""; /* error messages are thread-local: carry the first one back */
#pragma omp parallel num_threads(workers) reduction(| : rc)
    {
        int w = omp_get_thread_num(), nw = omp_get_num_threads();
        int b0 = (int)((long)B * w / nw), b1 = (int)((long)B * (w + 1) / nw);
        if (b1 > b0 && embed_slice(v->pool[w], m, j, b0, b1 - b0, out) != 0) {
            rc = 1;
#pragma omp critical(tc_opt_v2_embed_error)
            if (!msg[0]) snprintf(msg, sizeof msg, "%s", tc_error_get());
        }
    }
    tc_set_threads(nt);
    return rc ? tc_error_set("%s", msg) : 0;
}

int tc_opt_v2_embed_images(tc_model *m, const float *pixels, int B, int S, float *out) {
    embed_job j = {pixels, NULL, NULL, S, 0};
    return embed_batch(m, &j, B, out);
}

int tc_opt_v2_embed_texts(tc_model *m, const int32_t *ids, const float *valid, int B, int T, float *out) {
    embed_job j = {NULL, ids, valid, 0, T};
    return embed_batch(m, &j, B, out);
}
