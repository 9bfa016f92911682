/* OPT-v1 modules and parameters (see opt_v1.h, docs/models.md). */
#include "model/opt_v1.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VIT "uniter.img_embeddings.vit"

static tc_act act_of(const tc_model_config *c) {
    return strcmp(c->hidden_act, "gelu_erf") == 0 ? TC_ACT_GELU_ERF : TC_ACT_GELU_TANH;
}

static tc_block_cfg lib_cfg(const tc_model_config *c, int d, int heads, int ffn) {
    tc_block_cfg b = tc_block_cfg_mindspore(d, heads, ffn, c->hidden_dropout_prob);
    b.attn_dropout = c->attention_probs_dropout_prob;
    b.act = act_of(c);
    b.ln_eps = c->layer_norm_eps;
    return b;
}

/* CLIP's initialisation of a pre-LN stack (HF CLIPPreTrainedModel._init_weights, factor 1), applied by
 * rescaling the N(0, 0.02) draws: q/k/v and the FFN output N(0, d^-1/2 (2L)^-1/2), the attention output
 * N(0, d^-1/2), the FFN input N(0, (2d)^-1/2). With a flat 0.02 every residual branch is ~4-10x too small at
 * width 128, so each row leaves the stacks almost as it entered: the pooled first row of a text pass is then
 * nearly the same [CLS] embedding for every caption, and the sample-level tasks (itmThree, ITC) sat at chance
 * (docs/training.md, "OPT-v1 pre-training"). The same fix as opt-v2's commit 89a70a3. */
static void scale_tensor(tc_tensor *t, float s) {
    for (long i = 0; i < (long)tc_numel(t); i++) t->data[i] *= s;
}

static void clip_rescale_stack(tc_nn_stack *s, int d) {
    if (s->n <= 0) return;
    float from = 0.02f, in_std = 1.0f / sqrtf((float)d) / sqrtf(2.0f * (float)s->n);
    for (int l = 0; l < s->n; l++) {
        tc_nn_block *b = &s->blocks[l];
        scale_tensor(b->attn.q.w, in_std / from);
        scale_tensor(b->attn.k.w, in_std / from);
        scale_tensor(b->attn.v.w, in_std / from);
        scale_tensor(b->attn.proj.w, 1.0f / sqrtf((float)d) / from);
        scale_tensor(b->ffn.mapping.w, 1.0f / sqrtf(2.0f * (float)d) / from);
        scale_tensor(b->ffn.projection.w, in_std / from);
    }
}

int tc_opt_v1_build(tc_model *m, uint64_t seed) {
    const tc_model_config *c = &m->cfg;
    tc_opt_v1 *v = tc_xcalloc(1, sizeof *v);
    m->impl = v;
    int D = c->hidden_size, Dv = c->vit_hidden_size, p = c->patch_size, V = c->vocab_size;
    int P = c->max_position_embeddings, Da = c->audio_dim;
    float eps = c->layer_norm_eps;
    v->n_patches = tc_model_config_num_patches(c);
    v->patch_dim = 3 * p * p;
    int R = v->n_patches + 1;
    tc_init w = tc_init_normal(0.02f);
    tc_nn nn;
    tc_nn_begin(&nn, &m->params);

    /* text embeddings (§1.5) */
    tc_nn_embedding_make(&v->word, &nn, "uniter.embeddings.word_embeddings", V, D, -1, w);
    tc_nn_embedding_make(&v->pos, &nn, "uniter.embeddings.position_embeddings", P, D, -1, w);
    tc_nn_embedding_make(&v->type, &nn, "uniter.embeddings.token_type_embeddings", c->type_vocab_size, D, -1, w);
    tc_nn_layernorm_make(&v->emb_ln, &nn, "uniter.embeddings.layernorm", D, eps);
    tc_block_cfg bx = lib_cfg(c, D, c->num_attention_heads, c->intermediate_size);
    tc_nn_stack_make(&v->text_enc, &nn, "uniter.embeddings.encoder", c->text_num_layers, &bx);

    /* ViT (§1.4) */
    tc_nn_linear_make(&v->stem, &nn, VIT ".stem.patch_to_embedding.dense", v->patch_dim, Dv, 1, TC_W_OUT_IN, w);
    int pshape[3] = {1, R, Dv};
    v->vit_pos = tc_nn_param(&nn, w, 3, pshape, VIT ".encoder_pos_embedding");
    tc_block_cfg bv = lib_cfg(c, Dv, c->vit_num_heads, c->vit_intermediate_size);
    tc_nn_stack_make(&v->vit, &nn, VIT ".encoder", c->vit_num_layers, &bv);
    tc_nn_layernorm_make(&v->vit_norm, &nn, VIT ".norm", Dv, eps);

    /* image embeddings (§1.6) */
    tc_nn_linear_make(&v->img_linear, &nn, "uniter.img_embeddings.img_linear", Dv, D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->img_ln, &nn, "uniter.img_embeddings.img_layer_norm", D, eps);
    tc_nn_embedding_make(&v->img_pos, &nn, "uniter.img_embeddings.position_embeddings", P, D, -1, w);
    tc_nn_layernorm_make(&v->img_ln2, &nn, "uniter.img_embeddings.LayerNorm", D, eps);
    tc_nn_embedding_make(&v->img_mask, &nn, "uniter.img_embeddings.mask_embedding", 2, Dv, -1, w);

    /* audio embeddings (§1.7) */
    if (Da > 0) {
        tc_nn_linear_make(&v->audio_linear, &nn, "uniter.audio_embeddings.audio_linear", Da, D, 1, TC_W_OUT_IN, w);
        tc_nn_layernorm_make(&v->aud_ln, &nn, "uniter.audio_embeddings.audio_layer_norm", D, eps);
        tc_nn_layernorm_make(&v->aud_ln2, &nn, "uniter.audio_embeddings.LayerNorm", D, eps);
        tc_nn_embedding_make(&v->aud_pos, &nn, "uniter.audio_embeddings.position_embeddings", P, D, -1, w);
        tc_nn_embedding_make(&v->aud_mask, &nn, "uniter.audio_embeddings.mask_embedding", 2, Da, -1, w);
        tc_nn_stack_make(&v->audio_enc, &nn, "uniter.audio_embeddings.encoder", c->audio_num_layers, &bx);
    }

    /* cross-modal encoder (§1.9) */
    tc_nn_stack_make(&v->enc, &nn, "uniter.encoder.encoder", c->num_hidden_layers, &bx);

    /* heads (§1.9, §7.3) */
    tc_nn_linear_make(&v->pooler, &nn, "uniter.pooler.dense", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_linear_make(&v->itm, &nn, "itm_output", D, TC_OPT_V1_ITM_CLASSES, 1, TC_W_OUT_IN, w);
    tc_nn_linear_make(&v->rank, &nn, "rank_output", D, 1, 1, TC_W_OUT_IN, w);
    tc_nn_linear_make(&v->mlm_dense, &nn, "cls.predictions.transform.dense", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->mlm_ln, &nn, "cls.predictions.transform.LayerNorm", D, eps);
    v->mlm_bias = tc_nn_param(&nn, tc_init_zeros(), 1, &V, "cls.predictions.decoder.bias");
    tc_nn_linear_make(&v->mrfr_dense, &nn, "feat_regress.dense", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->mrfr_ln, &nn, "feat_regress.layer_norm", D, eps);
    v->mrfr_bias = tc_nn_param(&nn, tc_init_zeros(), 1, &Dv, "feat_regress.bias");
    if (Da > 0) {
        tc_nn_linear_make(&v->mafr_dense, &nn, "audio_feat_regress.dense", D, D, 1, TC_W_OUT_IN, w);
        tc_nn_layernorm_make(&v->mafr_ln, &nn, "audio_feat_regress.layer_norm", D, eps);
        v->mafr_bias = tc_nn_param(&nn, tc_init_zeros(), 1, &Da, "audio_feat_regress.bias");
    }
    tc_nn_linear_make(&v->mrc1, &nn, "region_classifier.dense_1", D, D, 1, TC_W_OUT_IN, w);
    tc_nn_layernorm_make(&v->mrc_ln, &nn, "region_classifier.layer_norm", D, eps);
    tc_nn_linear_make(&v->mrc2, &nn, "region_classifier.dense_2", D, TC_OPT_V1_MRC_CLASSES, 1, TC_W_OUT_IN, w);

    /* decoders (§1.10) */
    tc_dec_cfg dc = {D, c->dec_hidden_size, c->dec_num_heads, c->dec_intermediate_size, c->dec_num_layers,
                     c->dec_num_layers, c->txt_dec_vocab_size, c->dec_max_position, c->dec_dropout};
    tc_decoder_make(&v->txt_dec, &nn, "txt_output", &dc);
    if (c->img_dec_vocab_size > 0) {
        dc.vocab = c->img_dec_vocab_size;
        tc_decoder_make(&v->img_dec, &nn, "img_output", &dc);
        v->has_img_dec = 1;
    }

    /* taichu's ITC temperatures (docs/config.md: itc_dim); the pooled features are D wide, no projection */
    if (c->itc_dim != 0 && c->itc_dim != D) {
        tc_nn_end(&nn);
        return tc_error_set("model config: field \"itc_dim\": opt-v1 takes 0 (no ITC) or hidden_size (%d), got %d", D,
                            c->itc_dim);
    }
    if (c->itc_dim > 0) {
        int one = 1;
        tc_init t = {TC_INIT_CONST, (float)log(1.0 / 0.07)};
        v->itc_scale_img = tc_nn_param(&nn, t, 1, &one, "taichu_itc.logit_scale_image");
        if (Da > 0) v->itc_scale_aud = tc_nn_param(&nn, t, 1, &one, "taichu_itc.logit_scale_audio");
    }

    tc_nn_finalize(&nn, seed);
    tc_nn_end(&nn);
    clip_rescale_stack(&v->text_enc, D);
    clip_rescale_stack(&v->vit, Dv);
    if (Da > 0) clip_rescale_stack(&v->audio_enc, D);
    clip_rescale_stack(&v->enc, D);
    /* the original zero-initialises mask-embedding row 0 (it stays trainable) */
    memset(v->img_mask.table->data, 0, sizeof(float) * (size_t)Dv);
    if (Da > 0) memset(v->aud_mask.table->data, 0, sizeof(float) * (size_t)Da);
    tc_opt_v1_rank_from_itm(m);
    static const char *const no_decay[] = {"layernorm", "LayerNorm", "layer_norm", "bias", "gamma", "beta",
                                           "logit_scale", NULL};
    tc_params_set_decay(&m->params, no_decay);
    return 0;
}

tc_tensor *tc_opt_v1_itc_scale(tc_graph *g, tc_model *m, int audio) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_tensor *t = audio ? v->itc_scale_aud : v->itc_scale_img;
    if (!t) {
        tc_error_set("opt-v1: the model has no %s ITC temperature (taichu_itc.logit_scale_%s): set itc_dim = hidden_size "
                     "(%d) in the model config%s", audio ? "audio-text" : "image-text", audio ? "audio" : "image",
                     m->cfg.hidden_size, audio ? " and give it an audio path (audio_dim > 0)" : "");
        return NULL;
    }
    if (expf(t->data[0]) > TC_OPT_V1_MAX_LOGIT_SCALE) {
        float s = TC_OPT_V1_MAX_LOGIT_SCALE;
        int one = 1;
        return tc_from_data(g, &s, 1, &one);
    }
    return tc_exp(g, t);
}

void tc_opt_v1_free(tc_model *m) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    if (!v) return;
    tc_nn_stack_free(&v->text_enc);
    tc_nn_stack_free(&v->vit);
    tc_nn_stack_free(&v->audio_enc);
    tc_nn_stack_free(&v->enc);
    tc_decoder_free(&v->txt_dec);
    if (v->has_img_dec) tc_decoder_free(&v->img_dec);
    free(v);
    m->impl = NULL;
}

void tc_opt_v1_rank_from_itm(tc_model *m) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int D = m->cfg.hidden_size;
    memcpy(v->rank.w->data, v->itm.w->data + (size_t)TC_OPT_V1_ZERO_SHOT_CLASS * D, sizeof(float) * (size_t)D);
    v->rank.b->data[0] = v->itm.b->data[TC_OPT_V1_ZERO_SHOT_CLASS];
}

size_t tc_opt_v1_release_grad_pages(tc_model *m) {
    tc_params *ps = &m->params;
    if (!ps->grad || ps->total == 0) return 0;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return 0;
    uintptr_t lo = ((uintptr_t)ps->grad + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    uintptr_t hi = ((uintptr_t)(ps->grad + ps->total)) / (uintptr_t)page * (uintptr_t)page;
    if (hi <= lo) return 0;
    /* private anonymous pages read back as zeros after MADV_DONTNEED: the slab's contents do not change */
    if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0) return 0;
    return hi - lo;
}

/* ------------------------------------------------------------------------------------------ encoders */

tc_tensor *tc_opt_v1_vit(tc_graph *g, tc_model *m, const float *patches, int B, int rows) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int N = v->n_patches, Dv = m->cfg.vit_hidden_size;
    if (rows != N + 1 && rows != N) {
        tc_error_set("opt-v1 ViT: %d patch rows, expected %d (%d patches + the zero pad patch)", rows, N + 1, N);
        return NULL;
    }
    int xs[3] = {B, rows, v->patch_dim}, ps[2] = {N + 1, Dv};
    tc_tensor *x = tc_nn_linear_fwd(g, &v->stem, tc_from_data(g, patches, 3, xs)); /* [B, rows, Dv] */
    tc_tensor *pos = tc_reshape(g, v->vit_pos, 2, ps);                               /* [N+1, Dv] */
    if (rows != N + 1) pos = tc_slice(g, pos, 0, 0, rows);
    x = tc_add_rows(g, x, pos); /* no CLS: position row 0 goes to patch 0 */
    if (m->cfg.hidden_dropout_prob > 0) x = tc_dropout(g, x, m->cfg.hidden_dropout_prob);
    x = tc_nn_stack_fwd(g, &v->vit, x, NULL, 0, NULL, NULL); /* all rows attend, pad patch included */
    return tc_nn_layernorm_fwd(g, &v->vit_norm, x);
}

/* position rows 0..T-1 of pos plus type row `type` -> [T, D] */
static tc_tensor *pos_type(tc_graph *g, tc_opt_v1 *v, const tc_nn_embedding *pos, int type, int T) {
    int32_t *pid = tc_graph_alloc(g, sizeof(int32_t) * (size_t)T), *tid = tc_graph_alloc(g, sizeof(int32_t) * (size_t)T);
    for (int t = 0; t < T; t++) pid[t] = t, tid[t] = type;
    return tc_add(g, tc_embedding(g, pos->table, pid, T, -1), tc_embedding(g, v->type.table, tid, T, -1));
}

static tc_tensor *emb_dropout(tc_graph *g, tc_model *m, tc_tensor *x) {
    return m->cfg.hidden_dropout_prob > 0 ? tc_dropout(g, x, m->cfg.hidden_dropout_prob) : x;
}

tc_tensor *tc_opt_v1_text_embed(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    if (Tt > m->cfg.max_position_embeddings) {
        tc_error_set("opt-v1 text: %d tokens exceed max_position_embeddings %d", Tt, m->cfg.max_position_embeddings);
        return NULL;
    }
    for (long i = 0; i < (long)B * Tt; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size) {
            tc_error_set("opt-v1 text: token id %d (item %ld) outside [0, vocab_size %d)", ids[i], i,
                         m->cfg.vocab_size);
            return NULL;
        }
    tc_tensor *x = tc_add_rows(g, tc_nn_embedding_fwd(g, &v->word, ids, B, Tt), pos_type(g, v, &v->pos, 0, Tt));
    x = emb_dropout(g, m, tc_nn_layernorm_fwd(g, &v->emb_ln, x));
    if (v->text_enc.n > 0) x = tc_nn_stack_fwd(g, &v->text_enc, x, valid, 0, NULL, NULL);
    return x;
}

/* feat [B, R, Dm] + mask table rows per mode -> [B, R, Dm] */
static tc_tensor *add_mask(tc_graph *g, const tc_nn_embedding *table, tc_tensor *feat, tc_v1_mask mode,
                           const int32_t *rows) {
    if (mode == TC_V1_MASK_NONE) return feat;
    int B = feat->shape[0], R = feat->shape[1];
    int32_t *idx = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * R);
    for (long i = 0; i < (long)B * R; i++)
        idx[i] = mode == TC_V1_MASK_ROW0 ? 0 : mode == TC_V1_MASK_ROW1 ? 1 : (rows[i] != 0);
    return tc_add(g, feat, tc_nn_embedding_fwd(g, table, idx, B, R));
}

tc_tensor *tc_opt_v1_img_embed(tc_graph *g, tc_model *m, tc_tensor *feat, tc_v1_mask mode, const int32_t *mask_rows) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int R = feat->shape[1];
    tc_tensor *f = add_mask(g, &v->img_mask, feat, mode, mask_rows);
    tc_tensor *a = tc_nn_layernorm_fwd(g, &v->img_ln, tc_nn_linear_fwd(g, &v->img_linear, f));
    tc_tensor *x = tc_nn_layernorm_fwd(g, &v->img_ln2, tc_add_rows(g, a, pos_type(g, v, &v->img_pos, 1, R)));
    return emb_dropout(g, m, x);
}

tc_tensor *tc_opt_v1_audio_embed(tc_graph *g, tc_model *m, const float *feats, const float *valid, int B, int Ta,
                                 tc_v1_mask mode, const int32_t *mask_rows) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int Da = m->cfg.audio_dim;
    if (Da <= 0) {
        tc_error_set("opt-v1 audio: this model has no audio path (audio_dim 0)");
        return NULL;
    }
    if (Ta > m->cfg.max_position_embeddings) {
        tc_error_set("opt-v1 audio: %d frames exceed max_position_embeddings %d", Ta, m->cfg.max_position_embeddings);
        return NULL;
    }
    int s[3] = {B, Ta, Da};
    tc_tensor *f = add_mask(g, &v->aud_mask, tc_from_data(g, feats, 3, s), mode, mask_rows);
    tc_tensor *a = tc_nn_layernorm_fwd(g, &v->aud_ln, tc_nn_linear_fwd(g, &v->audio_linear, f));
    tc_tensor *x = tc_nn_layernorm_fwd(g, &v->aud_ln2, tc_add_rows(g, a, pos_type(g, v, &v->aud_pos, 2, Ta)));
    x = emb_dropout(g, m, x);
    if (v->audio_enc.n > 0) x = tc_nn_stack_fwd(g, &v->audio_enc, x, valid, 0, NULL, NULL);
    return x;
}

/* Number of leading ones of valid[0..T-1]; -1 if a one follows a zero. */
static int prefix_len(const float *valid, int T) {
    int n = 0;
    while (n < T && valid[n] != 0) n++;
    for (int t = n; t < T; t++)
        if (valid[t] != 0) return -1;
    return n;
}

tc_tensor *tc_opt_v1_gather(tc_graph *g, tc_tensor *txt, const float *txt_valid, tc_tensor *img, int n_img,
                            tc_tensor *aud, const float *aud_valid, float **valid_out, int *S_out) {
    tc_tensor *parts[3] = {txt, img, aud};
    int B = -1, D = -1, np = 0;
    tc_tensor *flat[3];
    long off[3] = {0, 0, 0}, total = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) continue;
        if (B < 0) B = parts[i]->shape[0], D = parts[i]->shape[2];
        if (parts[i]->ndim != 3 || parts[i]->shape[0] != B || parts[i]->shape[2] != D) {
            tc_error_set("opt-v1 gather: modality %d is not [B=%d, T, D=%d]", i, B, D);
            return NULL;
        }
        int fs[2] = {B * parts[i]->shape[1], D};
        off[i] = total;
        total += fs[0];
        flat[np++] = tc_reshape(g, parts[i], 2, fs);
    }
    if (np == 0) {
        tc_error_set("opt-v1 gather: no modality given");
        return NULL;
    }
    if (img && (n_img < 0 || n_img > img->shape[1])) {
        tc_error_set("opt-v1 gather: %d image rows requested of %d", n_img, img->shape[1]);
        return NULL;
    }
    int *lt = tc_graph_alloc(g, sizeof(int) * (size_t)B), *la = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    int S = 0;
    for (int b = 0; b < B; b++) {
        lt[b] = !txt ? 0 : txt_valid ? prefix_len(txt_valid + (long)b * txt->shape[1], txt->shape[1]) : txt->shape[1];
        la[b] = !aud ? 0 : aud_valid ? prefix_len(aud_valid + (long)b * aud->shape[1], aud->shape[1]) : aud->shape[1];
        if (lt[b] < 0 || la[b] < 0) {
            tc_error_set("opt-v1 gather: sample %d: %s validity is not a prefix of ones", b, lt[b] < 0 ? "text" : "audio");
            return NULL;
        }
        int s = lt[b] + (img ? n_img : 0) + la[b];
        if (s > S) S = s;
    }
    if (S == 0) {
        tc_error_set("opt-v1 gather: every sample is empty");
        return NULL;
    }
    int32_t *idx = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * S);
    float *valid = tc_graph_alloc(g, sizeof(float) * (size_t)B * S);
    for (int b = 0; b < B; b++) {
        int32_t *o = idx + (long)b * S;
        int k = 0;
        for (int t = 0; t < lt[b]; t++) o[k++] = (int32_t)(off[0] + (long)b * txt->shape[1] + t);
        if (img)
            for (int t = 0; t < n_img; t++) o[k++] = (int32_t)(off[1] + (long)b * img->shape[1] + t);
        for (int t = 0; t < la[b]; t++) o[k++] = (int32_t)(off[2] + (long)b * aud->shape[1] + t);
        for (int s = 0; s < S; s++) valid[(long)b * S + s] = s < k ? 1.f : 0.f;
        int32_t pad = k > 0 ? o[0] : 0;
        for (; k < S; k++) o[k] = pad; /* padding: any row (masked as a key, ignored as a query) */
    }
    tc_tensor *cat = np == 1 ? flat[0] : tc_concat(g, flat, np, 0); /* [total, D] */
    int os[3] = {B, S, D};
    *valid_out = valid;
    if (S_out) *S_out = S;
    return tc_reshape(g, tc_gather_rows(g, cat, idx, B * S), 3, os);
}

tc_tensor *tc_opt_v1_encoder(tc_graph *g, tc_model *m, tc_tensor *x, const float *valid) {
    return tc_nn_stack_fwd(g, &tc_opt_v1_of(m)->enc, x, valid, 0, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------ heads */

tc_tensor *tc_opt_v1_pooler(tc_graph *g, tc_model *m, tc_tensor *h) {
    int B = h->shape[0], D = h->shape[2], s[2] = {B, D};
    tc_tensor *h0 = tc_reshape(g, tc_slice(g, h, 1, 0, 1), 2, s); /* [CLS] row */
    return tc_tanh(g, tc_nn_linear_fwd(g, &tc_opt_v1_of(m)->pooler, h0));
}

/* The pooler on the MEAN of the valid rows instead of row 0 (see opt_v1.h). The mean is one matmul with a
 * [B, B·S] weight matrix (1/n on sample b's valid rows), so backward reaches every valid row. */
tc_tensor *tc_opt_v1_pooler_mean(tc_graph *g, tc_model *m, tc_tensor *h, const float *valid) {
    const int B = h->shape[0], S = h->shape[1], D = h->shape[2];
    int ws[2] = {B, B * S}, hs[2] = {B * S, D};
    float *w = tc_graph_alloc(g, sizeof(float) * (size_t)B * B * S); /* [B, B·S] */
    memset(w, 0, sizeof(float) * (size_t)B * B * S);
    for (int b = 0; b < B; b++) {
        int n = 0;
        for (int s = 0; s < S; s++) n += valid[(size_t)b * S + s] != 0;
        for (int s = 0; s < S; s++)
            if (valid[(size_t)b * S + s] != 0) w[(size_t)b * B * S + (size_t)b * S + s] = 1.0f / (float)n;
    }
    tc_tensor *mean = tc_matmul(g, tc_from_data(g, w, 2, ws), tc_reshape(g, tc_contiguous(g, h), 2, hs), 0, 0); /* [B, D] */
    return tc_tanh(g, tc_nn_linear_fwd(g, &tc_opt_v1_of(m)->pooler, mean));
}

/* One single-modality pass (exactly one of txt / img / aud given) -> L2-normalised mean-pooled [B, D]. */
static tc_tensor *pooled_pass(tc_graph *g, tc_model *m, tc_tensor *txt, const float *tvalid, tc_tensor *img,
                              tc_tensor *aud, const float *avalid) {
    if (!txt && !img && !aud) return NULL;
    float *valid;
    tc_tensor *x = tc_opt_v1_gather(g, txt, tvalid, img, tc_opt_v1_of(m)->n_patches, aud, avalid, &valid, NULL);
    tc_tensor *h = x ? tc_opt_v1_encoder(g, m, x, valid) : NULL;
    return h ? tc_l2_normalize(g, tc_opt_v1_pooler_mean(g, m, h, valid), 1e-6f) : NULL;
}

tc_tensor *tc_v1_pooled_text(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt) {
    return pooled_pass(g, m, tc_opt_v1_text_embed(g, m, ids, valid, B, Tt), valid, NULL, NULL, NULL);
}

tc_tensor *tc_v1_pooled_image(tc_graph *g, tc_model *m, const float *patches, int B) {
    tc_tensor *f = tc_opt_v1_vit(g, m, patches, B, tc_opt_v1_of(m)->n_patches + 1);
    return f ? pooled_pass(g, m, NULL, NULL, tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_ROW0, NULL), NULL, NULL) : NULL;
}

tc_tensor *tc_v1_pooled_audio(tc_graph *g, tc_model *m, const float *audio, const float *valid, int B, int Ta) {
    if (Ta <= 0) return tc_error_set("pooled audio: no audio frames (Ta = %d)", Ta), NULL;
    tc_tensor *a = tc_opt_v1_audio_embed(g, m, audio, valid, B, Ta, TC_V1_MASK_ROW0, NULL);
    return a ? pooled_pass(g, m, NULL, NULL, NULL, a, valid) : NULL;
}

tc_tensor *tc_opt_v1_itm(tc_graph *g, tc_model *m, tc_tensor *pooled) {
    return tc_nn_linear_fwd(g, &tc_opt_v1_of(m)->itm, pooled);
}

tc_tensor *tc_opt_v1_rank(tc_graph *g, tc_model *m, tc_tensor *pooled) {
    return tc_nn_linear_fwd(g, &tc_opt_v1_of(m)->rank, pooled);
}

static tc_tensor *pick_rows(tc_graph *g, tc_tensor *h, const int32_t *rows, int n) {
    long N = (long)h->shape[0] * h->shape[1];
    for (int i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= N) {
            tc_error_set("opt-v1 head: row %d (item %d) outside [0, %ld)", rows[i], i, N);
            return NULL;
        }
    return tc_gather_rows(g, h, rows, n); /* [n, D] */
}

tc_tensor *tc_opt_v1_mlm(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_tensor *x = pick_rows(g, h, rows, n);
    if (!x) return NULL;
    /* ReLU, not GELU: the original picks ReLU whenever hidden_act is a string (§1.9) */
    x = tc_nn_layernorm_fwd(g, &v->mlm_ln, tc_relu(g, tc_nn_linear_fwd(g, &v->mlm_dense, x)));
    return tc_linear(g, x, v->word.table, v->mlm_bias, TC_W_OUT_IN); /* tied word table */
}

/* GELU → LayerNorm → the embedder's [D, Dm] projection used untransposed (a D→Dm map) + bias */
static tc_tensor *regress(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n, const tc_nn_linear *dense,
                          const tc_nn_layernorm *ln, const tc_nn_linear *tied, tc_tensor *bias) {
    tc_tensor *x = pick_rows(g, h, rows, n);
    if (!x) return NULL;
    x = tc_nn_layernorm_fwd(g, ln, tc_nn_act(g, tc_nn_linear_fwd(g, dense, x), act_of(&m->cfg)));
    return tc_linear(g, x, tied->w, bias, TC_W_IN_OUT);
}

tc_tensor *tc_opt_v1_mrfr(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    return regress(g, m, h, rows, n, &v->mrfr_dense, &v->mrfr_ln, &v->img_linear, v->mrfr_bias);
}

tc_tensor *tc_opt_v1_mafr(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    if (m->cfg.audio_dim <= 0) {
        tc_error_set("opt-v1 MAFR: this model has no audio path (audio_dim 0)");
        return NULL;
    }
    return regress(g, m, h, rows, n, &v->mafr_dense, &v->mafr_ln, &v->audio_linear, v->mafr_bias);
}

tc_tensor *tc_opt_v1_mrc(tc_graph *g, tc_model *m, tc_tensor *h, const int32_t *rows, int n) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_tensor *x = pick_rows(g, h, rows, n);
    if (!x) return NULL;
    x = tc_nn_layernorm_fwd(g, &v->mrc_ln, tc_nn_act(g, tc_nn_linear_fwd(g, &v->mrc1, x), act_of(&m->cfg)));
    return tc_nn_linear_fwd(g, &v->mrc2, x);
}

void tc_opt_v1_mlm_argmax(const tc_tensor *logits, int32_t *out) {
    int n = logits->shape[0], V = logits->shape[1], lim = V < TC_OPT_V1_REAL_VOCAB ? V : TC_OPT_V1_REAL_VOCAB;
    for (int i = 0; i < n; i++) {
        const float *r = logits->data + (long)i * logits->stride[0];
        int best = 0;
        for (int j = 1; j < lim; j++)
            if (r[(long)j * logits->stride[1]] > r[(long)best * logits->stride[1]]) best = j;
        out[i] = best;
    }
}

/* ------------------------------------------------------------------------------------------ captioning */

tc_tensor *tc_opt_v1_encode_image(tc_graph *g, tc_model *m, const float *patches, int B) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_tensor *f = tc_opt_v1_vit(g, m, patches, B, v->n_patches + 1);
    if (!f) return NULL;
    tc_tensor *e = tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_NONE, NULL);
    float *valid;
    tc_tensor *x = tc_opt_v1_gather(g, NULL, NULL, e, v->n_patches, NULL, NULL, &valid, NULL);
    return x ? tc_opt_v1_encoder(g, m, x, valid) : NULL; /* every row valid: the pad patch is not copied */
}

int tc_opt_v1_caption(tc_graph *g, tc_model *m, const float *patches, int B, const tc_beam_cfg *cfg, int32_t *ids,
                      float *scores) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_graph_reset(g);
    tc_tensor *h = tc_opt_v1_encode_image(g, m, patches, B);
    if (!h) return -1;
    tc_tensor *mem = tc_decoder_memory(g, &v->txt_dec, h, NULL);
    return tc_beam_search(g, &v->txt_dec, mem, NULL, cfg, ids, scores, NULL);
}

/* ------------------------------------------------------------------------------------------ matching, VQA */

/* text (+ its encoder-side validity) and image -> H over the compact [text | N patches] sequence */
static tc_tensor *text_image(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt,
                             const float *patches, tc_v1_mask mask, float **valid_out) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_tensor *t = tc_opt_v1_text_embed(g, m, ids, valid, B, Tt);
    tc_tensor *f = t ? tc_opt_v1_vit(g, m, patches, B, v->n_patches + 1) : NULL;
    if (!f) return NULL;
    tc_tensor *e = tc_opt_v1_img_embed(g, m, f, mask, NULL);
    tc_tensor *x = tc_opt_v1_gather(g, t, valid, e, v->n_patches, NULL, NULL, valid_out, NULL);
    return x ? tc_opt_v1_encoder(g, m, x, *valid_out) : NULL;
}

tc_tensor *tc_opt_v1_match(tc_graph *g, tc_model *m, const int32_t *ids, const float *valid, int B, int Tt,
                           const float *patches, tc_tensor **itm) {
    float *cv;
    tc_tensor *h = text_image(g, m, ids, valid, B, Tt, patches, TC_V1_MASK_ROW0, &cv);
    if (!h) return NULL;
    tc_tensor *p = tc_opt_v1_pooler(g, m, h);
    if (itm) *itm = tc_opt_v1_itm(g, m, p);
    return tc_opt_v1_rank(g, m, p);
}

int tc_opt_v1_vqa(tc_graph *g, tc_model *m, const int32_t *q_ids, const float *q_valid, int B, int Tq,
                  const float *patches, tc_v1_mask mask, const tc_beam_cfg *cfg, int32_t *ids, float *scores) {
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_graph_reset(g);
    float *cv;
    tc_tensor *h = text_image(g, m, q_ids, q_valid, B, Tq, patches, mask, &cv);
    if (!h) return -1;
    tc_tensor *mem = tc_decoder_memory(g, &v->txt_dec, h, cv);
    return tc_beam_search(g, &v->txt_dec, mem, cv, cfg, ids, scores, NULL); /* cv: arena, read before reset */
}
