/* Fine-tuning tasks: caption, VQA, v1 retrieval (finetune_tasks.h). */
#include "train/finetune_tasks.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "data/image.h"
#include "model/infer.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"

int tc_ft_caption_len(const tc_model_config *c) {
    int L = TC_V2_CAPTION_MAX_LEN; /* v1: tokens[:29] + [0], v2: caption[:29] + [0]: 30 positions */
    int lim = c->arch == TC_ARCH_V1 ? c->dec_max_position : c->max_position_embeddings;
    return L < lim ? L : lim;
}

tc_loader_cfg tc_ft_loader_cfg(const tc_model *m, int text_len) {
    tc_loader_cfg lc = tc_loader_cfg_v2(m->cfg.train_image_size, text_len);
    if (m->cfg.arch == TC_ARCH_V1) {
        lc.prep = tc_image_prep_v1(); /* 448 in the original; the model's own size otherwise (as inference) */
        lc.prep.size = m->cfg.train_image_size;
    }
    return lc;
}

void tc_ft_vqa_view(const tc_ds_vqa *v, tc_ds_captions *out) {
    memset(out, 0, sizeof *out);
    out->n = v->n;
    out->items = tc_xcalloc((size_t)(v->n > 0 ? v->n : 1), sizeof *out->items);
    for (int i = 0; i < v->n; i++) {
        out->items[i].image = v->items[i].image;
        out->items[i].image_rel = v->items[i].image_rel;
        out->items[i].caps = (tc_ds_ids *)&v->items[i].question;
        out->items[i].ncap = 1;
    }
}

void tc_ft_vqa_view_free(tc_ds_captions *view) {
    free(view->items);
    memset(view, 0, sizeof *view);
}

void tc_ft_task_init(tc_ft_task *t, tc_ft_kind kind, tc_model *m, tc_loader *L, const tc_ds_captions *ds,
                     const tc_ds_vqa *vqa, int B) {
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->m = m;
    t->L = L;
    t->ds = ds;
    t->vqa = vqa;
    t->B = B;
    t->cap_len = tc_ft_caption_len(&m->cfg);
    t->label_smoothing = m->cfg.label_smoothing;
}

void tc_ft_task_free(tc_ft_task *t) {
    free(t->gs);
    free(t->patches);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------------------------------------- batches */

static int same_image(const tc_ds_captions *ds, int a, int b) {
    return a == b || strcmp(ds->items[a].image, ds->items[b].image) == 0;
}

/* A uniformly random item whose image file differs from item `pos` (the fix of the original's negative
 * sampler); falls back to any other item after many tries (a dataset with a single image file). */
static int draw_other(const tc_ds_captions *ds, tc_rng *r, int pos) {
    int item = pos;
    for (int tries = 0; tries < 64 && same_image(ds, item, pos); tries++) item = (int)tc_rng_below(r, (uint32_t)ds->n);
    return item;
}

static tc_sample draw_one(const tc_ds_captions *ds, tc_rng *r, int item) {
    int cap = ds->items[item].ncap > 1 ? (int)tc_rng_below(r, (uint32_t)ds->items[item].ncap) : 0;
    return (tc_sample){item, cap};
}

/* Draw the global batch from r and write this rank's rows to out: B samples (caption, VQA) or, for
 * retrieval, 3B = [positives, negative-text samples, negative-image samples]. Returns the row count. */
static int draw_local(const tc_ft_task *t, tc_rng *r, int rank, int world, tc_sample *scratch, tc_sample *out) {
    const tc_ds_captions *ds = t->ds;
    int B = t->B, n = world * B;
    if (t->kind != TC_FT_RETRIEVAL) {
        for (int k = 0; k < n; k++) scratch[k] = draw_one(ds, r, (int)tc_rng_below(r, (uint32_t)ds->n));
        memcpy(out, scratch + (size_t)rank * B, sizeof(tc_sample) * (size_t)B);
        return B;
    }
    /* positives with distinct images while there are enough (a duplicate would be a false negative) */
    tc_sample_draw_distinct(ds, r, scratch, n);
    for (int k = 0; k < n; k++) {
        scratch[n + k] = draw_one(ds, r, draw_other(ds, r, scratch[k].item));     /* negative text */
        scratch[2 * n + k] = draw_one(ds, r, draw_other(ds, r, scratch[k].item)); /* negative image */
    }
    for (int part = 0; part < 3; part++)
        memcpy(out + (size_t)part * B, scratch + (size_t)part * n + (size_t)rank * B, sizeof(tc_sample) * (size_t)B);
    return 3 * B;
}

static const tc_batch *next_batch(tc_ft_task *t, tc_train_ctx *ctx) {
    int rows = t->kind == TC_FT_RETRIEVAL ? 3 * t->B : t->B;
    int need = 3 * ctx->world * t->B + 2 * rows;
    if (t->gs_cap < need) {
        free(t->gs);
        t->gs = tc_xmalloc(sizeof(tc_sample) * (size_t)need);
        t->gs_cap = need;
    }
    tc_sample *scratch = t->gs, *cur = t->gs + 3 * ctx->world * t->B, *ahead = cur + rows;
    draw_local(t, ctx->data_rng, ctx->rank, ctx->world, scratch, cur);
    uint64_t key = (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro;
    /* predict the next micro-batch from a copy of the generator (a wrong guess only costs an inline build) */
    tc_rng r2 = *ctx->data_rng;
    const tc_batch *b = tc_loader_get(t->L, key, cur, rows);
    if (!b) return NULL;
    draw_local(t, &r2, ctx->rank, ctx->world, scratch, ahead);
    tc_loader_prefetch(t->L, key + 1, ahead, rows);
    ctx->samples = t->B;
    return b;
}

/* v1 input: the loader's normalised CHW pixels of rows src[0..n) cut into [n, N+1, 3p²] (zero pad row). */
static float *v1_patches(tc_graph *g, const tc_model *m, const tc_batch *b, const int *src, int n) {
    int S = b->S, p = m->cfg.patch_size, rows = tc_model_config_num_patches(&m->cfg) + 1;
    long per = (long)rows * 3 * p * p, img = 3L * S * S;
    float *out = tc_graph_alloc(g, sizeof(float) * (size_t)(n * per));
    for (int i = 0; i < n; i++)
        if (tc_image_patchify(b->pixels + (src ? src[i] : i) * img, S, S, p, 1, out + i * per) != 0) return NULL;
    return out;
}

/* Decoder rows from id lists: in = [0, x0..x_{k-1}], target = [x0..x_{k-1}, 0], k = min(len, maxk);
 * padded to the longest row; valid marks the k+1 real positions. */
typedef struct seq_rows {
    int T;
    int32_t *in, *tgt;
    float *valid;
} seq_rows;

static void make_seq(tc_graph *g, const tc_ds_ids *const *src, int B, int maxk, seq_rows *s) {
    int T = 1;
    for (int i = 0; i < B; i++) {
        int k = src[i]->n < maxk ? src[i]->n : maxk;
        if (k + 1 > T) T = k + 1;
    }
    s->T = T;
    s->in = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    s->tgt = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    s->valid = tc_graph_alloc(g, sizeof(float) * (size_t)B * T);
    memset(s->in, 0, sizeof(int32_t) * (size_t)B * T);
    memset(s->tgt, 0, sizeof(int32_t) * (size_t)B * T);
    memset(s->valid, 0, sizeof(float) * (size_t)B * T);
    for (int i = 0; i < B; i++) {
        int k = src[i]->n < maxk ? src[i]->n : maxk;
        for (int j = 0; j < k; j++) {
            s->in[i * T + j + 1] = src[i]->v[j];
            s->tgt[i * T + j] = src[i]->v[j];
        }
        for (int j = 0; j <= k; j++) s->valid[i * T + j] = 1.f;
    }
}

/* ---------------------------------------------------------------------------------------------- losses */

static tc_tensor *caption_loss(tc_ft_task *t, tc_graph *g, const tc_batch *b) {
    tc_model *m = t->m;
    int B = b->B;
    const tc_ds_ids **caps = tc_graph_alloc(g, sizeof(*caps) * (size_t)B);
    for (int i = 0; i < B; i++) caps[i] = &t->ds->items[b->samples[i].item].caps[b->samples[i].cap];
    if (m->cfg.arch == TC_ARCH_V1) {
        seq_rows s;
        make_seq(g, caps, B, t->cap_len - 1, &s);
        tc_decoder *dd = &tc_opt_v1_of(m)->txt_dec;
        float *px = v1_patches(g, m, b, NULL, B);
        tc_tensor *h = px ? tc_opt_v1_encode_image(g, m, px, B) : NULL;
        tc_tensor *mem = h ? tc_decoder_memory(g, dd, h, NULL) : NULL;
        tc_tensor *st = mem ? tc_decoder_states(g, dd, s.in, s.valid, B, s.T, mem, NULL) : NULL;
        return st ? tc_decoder_loss(g, dd, tc_decoder_logits(g, dd, st), s.tgt, s.valid, t->label_smoothing) : NULL;
    }
    tc_tensor *img = tc_opt_v2_vit(g, m, b->pixels, B, b->S);
    return img ? tc_v2_caption_lm_loss(g, m, img, caps, B, t->cap_len - 1, t->label_smoothing) : NULL;
}

tc_tensor *tc_v2_caption_lm_loss(tc_graph *g, tc_model *m, tc_tensor *img, const tc_ds_ids *const *caps, int B, int maxk,
                                 float label_smoothing) {
    seq_rows s;
    make_seq(g, caps, B, maxk, &s);
    /* v2 prefix-LM (A.3): causal ∧ padding masks in the text encoder and the fusion; the MLM head at every
     * real position predicts the next token */
    tc_tensor *txt = tc_opt_v2_text(g, m, s.in, s.valid, B, s.T, 1);
    tc_tensor *fused = txt ? tc_opt_v2_fusion(g, m, txt, s.valid, img, 1) : NULL;
    if (!fused) return NULL;
    int n = 0;
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * s.T), *tg = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * s.T);
    for (int i = 0; i < B * s.T; i++)
        if (s.valid[i] > 0.5f) { rows[n] = i; tg[n] = s.tgt[i]; n++; }
    tc_tensor *lg = tc_opt_v2_mlm_logits(g, m, fused, rows, n);
    if (!lg) return NULL;
    float V = (float)m->cfg.vocab_size;
    /* the original's smoothing (1 − ls on the gold token, ls/(V−1) elsewhere) in torch's parametrisation */
    return tc_cross_entropy(g, lg, tg, -100, label_smoothing * V / (V - 1.f), TC_REDUCE_MEAN);
}

static tc_tensor *vqa_loss(tc_ft_task *t, tc_graph *g, const tc_batch *b) {
    tc_model *m = t->m;
    int B = b->B;
    const tc_ds_ids **ans = tc_graph_alloc(g, sizeof(*ans) * (size_t)B);
    for (int i = 0; i < B; i++) ans[i] = &t->vqa->items[b->samples[i].item].answer;
    seq_rows s;
    make_seq(g, ans, B, TC_FT_ANSWER_LEN, &s);
    if (m->cfg.arch == TC_ARCH_V2) {
        tc_opt_v2 *v = tc_opt_v2_of(m);
        if (!v->has_vqa) { tc_error_set("vqa fine-tuning: the model has no VQA decoder (dec_num_layers 0)"); return NULL; }
        /* the loader built [CLS] q[:28] [SEP] (text_len 28) */
        tc_tensor *img = tc_opt_v2_vit(g, m, b->pixels, B, b->S);
        tc_tensor *txt = img ? tc_opt_v2_text(g, m, b->ids, b->valid, B, b->T, 0) : NULL;
        tc_tensor *fused = txt ? tc_opt_v2_fusion(g, m, txt, b->valid, img, 0) : NULL;
        tc_tensor *mem = fused ? tc_opt_v2_vqa_memory(g, m, fused, b->valid) : NULL;
        tc_tensor *st = mem ? tc_decoder_states(g, &v->vqa, s.in, s.valid, B, s.T, mem, b->valid) : NULL;
        return st ? tc_decoder_loss(g, &v->vqa, tc_decoder_logits(g, &v->vqa, st), s.tgt, s.valid, t->label_smoothing)
                  : NULL;
    }
    /* v1: question pieces without [CLS]/[SEP] (at most 50, and the position table) + the image's N patches */
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int maxq = TC_FT_V1_QUESTION_LEN < m->cfg.max_position_embeddings ? TC_FT_V1_QUESTION_LEN : m->cfg.max_position_embeddings;
    int Tq = 1;
    for (int i = 0; i < B; i++) {
        int k = t->ds->items[b->samples[i].item].caps[0].n;
        k = k < maxq ? k : maxq;
        if (k > Tq) Tq = k;
    }
    int32_t *q = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * Tq);
    float *qv = tc_graph_alloc(g, sizeof(float) * (size_t)B * Tq);
    memset(q, 0, sizeof(int32_t) * (size_t)B * Tq);
    memset(qv, 0, sizeof(float) * (size_t)B * Tq);
    for (int i = 0; i < B; i++) {
        const tc_ds_ids *qi = &t->ds->items[b->samples[i].item].caps[0];
        int k = qi->n < maxq ? qi->n : maxq;
        for (int j = 0; j < k; j++) { q[i * Tq + j] = qi->v[j]; qv[i * Tq + j] = 1.f; }
    }
    float *px = v1_patches(g, m, b, NULL, B), *gv = NULL;
    tc_tensor *f = px ? tc_opt_v1_vit(g, m, px, B, v->n_patches + 1) : NULL;
    tc_tensor *e = f ? tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_NONE, NULL) : NULL;
    tc_tensor *tx = e ? tc_opt_v1_text_embed(g, m, q, qv, B, Tq) : NULL;
    tc_tensor *x = tx ? tc_opt_v1_gather(g, tx, qv, e, v->n_patches, NULL, NULL, &gv, NULL) : NULL;
    tc_tensor *h = x ? tc_opt_v1_encoder(g, m, x, gv) : NULL;
    tc_tensor *mem = h ? tc_decoder_memory(g, &v->txt_dec, h, gv) : NULL;
    tc_tensor *st = mem ? tc_decoder_states(g, &v->txt_dec, s.in, s.valid, B, s.T, mem, gv) : NULL;
    return st ? tc_decoder_loss(g, &v->txt_dec, tc_decoder_logits(g, &v->txt_dec, st), s.tgt, s.valid, t->label_smoothing)
              : NULL;
}

/* v1 retrieval: rows of b are [positives | negative-text samples | negative-image samples]; the 3B pairs
 * scored are (t_i, I_i), (t_i, I_negI), (t_negT, I_i). */
static tc_tensor *retrieval_v1_loss(tc_ft_task *t, tc_graph *g, const tc_batch *b) {
    tc_model *m = t->m;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    int B = t->B, T = b->T, n = 3 * B;
    int *txt_src = tc_graph_alloc(g, sizeof(int) * (size_t)n), *img_src = tc_graph_alloc(g, sizeof(int) * (size_t)n);
    for (int i = 0; i < B; i++) {
        txt_src[i] = i;          img_src[i] = i;
        txt_src[B + i] = i;      img_src[B + i] = 2 * B + i;
        txt_src[2 * B + i] = B + i; img_src[2 * B + i] = i;
        t->neg_pairs += 2;
        t->neg_same_image += same_image(t->ds, b->samples[i].item, b->samples[2 * B + i].item) +
                             same_image(t->ds, b->samples[i].item, b->samples[B + i].item);
    }
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n * T);
    float *valid = tc_graph_alloc(g, sizeof(float) * (size_t)n * T), *gv = NULL;
    for (int r = 0; r < n; r++) {
        memcpy(ids + (size_t)r * T, b->ids + (size_t)txt_src[r] * T, sizeof(int32_t) * (size_t)T);
        memcpy(valid + (size_t)r * T, b->valid + (size_t)txt_src[r] * T, sizeof(float) * (size_t)T);
    }
    float *px = v1_patches(g, m, b, img_src, n);
    tc_tensor *f = px ? tc_opt_v1_vit(g, m, px, n, v->n_patches + 1) : NULL;
    tc_tensor *e = f ? tc_opt_v1_img_embed(g, m, f, TC_V1_MASK_ROW0, NULL) : NULL; /* row 0 in training (§5.1) */
    tc_tensor *tx = e ? tc_opt_v1_text_embed(g, m, ids, valid, n, T) : NULL;
    tc_tensor *x = tx ? tc_opt_v1_gather(g, tx, valid, e, v->n_patches, NULL, NULL, &gv, NULL) : NULL;
    tc_tensor *h = x ? tc_opt_v1_encoder(g, m, x, gv) : NULL;
    tc_tensor *s = h ? tc_sigmoid(g, tc_opt_v1_rank(g, m, tc_opt_v1_pooler(g, m, h))) : NULL; /* [3B, 1] */
    if (!s) return NULL;
    int32_t *idx = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    for (int r = 0; r < n; r++) idx[r] = r;
    tc_tensor *pos = tc_gather_rows(g, s, idx, B);
    tc_tensor *neg_i = tc_gather_rows(g, s, idx + B, B), *neg_t = tc_gather_rows(g, s, idx + 2 * B, B);
    tc_tensor *d[2] = {tc_sub(g, neg_i, pos), tc_sub(g, neg_t, pos)};
    tc_tensor *hinge = tc_clamp(g, tc_add_scalar(g, tc_concat(g, d, 2, 0), TC_FT_HINGE_MARGIN), 0.f, 100.f);
    return tc_mean(g, hinge);
}

tc_tensor *tc_ft_task_loss(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_ft_task *t = user;
    if (t->kind == TC_FT_RETRIEVAL && t->m->cfg.arch != TC_ARCH_V1) {
        tc_error_set("retrieval fine-tuning of opt-v2 uses the ITC and ITM tasks (train/tasks.h)");
        return NULL;
    }
    const tc_batch *b = next_batch(t, ctx);
    if (!b) return NULL;
    switch (t->kind) {
    case TC_FT_CAPTION: return caption_loss(t, g, b);
    case TC_FT_VQA: return vqa_loss(t, g, b);
    default: return retrieval_v1_loss(t, g, b);
    }
}
