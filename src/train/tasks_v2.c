/* OPT-v2 pre-training tasks: MLM, ITC, ITM with mined negatives (tasks.h). */
#include "train/tasks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/opt_v2.h"
#include "train/finetune_tasks.h"

enum { STREAM_MLM = 0x6d6c6d, STREAM_ITM = 0x69746d };

void tc_v2_tasks_init(tc_v2_tasks *t, tc_model *m, tc_loader *L, const tc_ds_captions *ds, int B, uint64_t seed) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->L = L;
    t->ds = ds;
    t->B = B;
    t->mlm_mode = TC_MLM_FIXED2;
    t->mlm_prob = 0.15f;
    t->mask_id = 103;
    t->rand_lo = 106;
    t->rand_hi = m->cfg.vocab_size;
    t->itm_neg = TC_ITM_NEG_HARD;
    t->seed = seed;
    t->c_step = -1;
    t->last_neg_t = tc_xcalloc((size_t)B, sizeof(int));
    t->last_neg_i = tc_xcalloc((size_t)B, sizeof(int));
}

void tc_v2_tasks_free(tc_v2_tasks *t) {
    free(t->gs);
    free(t->last_neg_t);
    free(t->last_neg_i);
    memset(t, 0, sizeof *t);
}


/* Forward FLOPs of one pre-LN layer over n tokens of width d (FFN f), with an optional cross-attention to
 * mem tokens: dense layers 2·params per token, attention scores + mixing 4·n·m·d. */
static double layer_flops(double n, double d, double f, double mem) {
    double x = n * (2.0 * (4 * d * d + 2 * d * f)) + 4.0 * n * n * d;
    if (mem > 0) x += 2.0 * (n * 2 * d * d + mem * 2 * d * d) + 4.0 * n * mem * d;
    return x;
}

static double enc_flops(const tc_model_config *c, int B, int T, int which) {
    double Ni = tc_model_config_num_patches(c) + 1;
    if (which == 0) /* ViT */
        return B * (c->vit_num_layers * layer_flops(Ni, c->vit_hidden_size, c->vit_intermediate_size, 0) +
                    2.0 * (Ni - 1) * 3 * c->patch_size * c->patch_size * c->vit_hidden_size);
    if (which == 1) /* text encoder */
        return B * c->text_num_layers * layer_flops(T, c->hidden_size, c->intermediate_size, 0);
    return B * c->num_hidden_layers * layer_flops(T, c->hidden_size, c->intermediate_size, Ni); /* fusion */
}

/* The batch of this (step, micro): drawn and loaded once, shared by every task of the step. */
static const tc_batch *step_batch(tc_v2_tasks *t, tc_graph *g, tc_train_ctx *ctx) {
    if (t->c_valid && t->c_step == ctx->step && t->c_micro == ctx->micro && t->c_graph == g) {
        ctx->samples = 0; /* already counted by the task that loaded it */
        return t->c_batch;
    }
    int n = ctx->world * t->B;
    if (t->gs_cap < 2 * n) {
        free(t->gs);
        t->gs = tc_xmalloc(sizeof(tc_sample) * 2 * (size_t)n);
        t->gs_cap = 2 * n;
    }
    tc_sample_draw_distinct(t->ds, ctx->data_rng, t->gs, n);
    uint64_t key = (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro;
    /* predict the next micro-batch from a copy of the generator: right whenever the next call draws the
     * same way (always, for these tasks); a wrong guess only costs an inline build */
    tc_rng ahead = *ctx->data_rng;
    tc_sample_draw_distinct(t->ds, &ahead, t->gs + n, n);
    const tc_batch *b = tc_loader_get(t->L, key, t->gs + (size_t)ctx->rank * t->B, t->B);
    if (!b) return NULL;
    tc_loader_prefetch(t->L, key + 1, t->gs + n + (size_t)ctx->rank * t->B, t->B);
    t->c_valid = 1;
    t->c_step = ctx->step;
    t->c_micro = ctx->micro;
    t->c_graph = g;
    t->c_batch = b;
    t->c_img = t->c_txt = t->c_ie = t->c_te = NULL;
    ctx->samples = t->B;
    return b;
}

/* The trainer counts 3x the forward FLOPs (forward + backward); a frozen tower (vit_freeze, freeze_text) runs
 * forward only, so its count is a third. */
static double tower_flops(const tc_v2_tasks *t, int B, int T, int which) {
    const tc_opt_v2 *v = tc_opt_v2_of(t->m);
    int frozen = which == 0 ? !v->class_embedding->requires_grad : !v->word.table->requires_grad;
    return enc_flops(&t->m->cfg, B, T, which) / (frozen ? 3.0 : 1.0);
}

static tc_tensor *img_states(tc_v2_tasks *t, tc_graph *g, tc_train_ctx *ctx, const tc_batch *b) {
    if (!t->c_img) {
        t->c_img = tc_opt_v2_vit(g, t->m, b->pixels, b->B, b->S);
        if (t->c_img) ctx->flops += tower_flops(t, b->B, b->T, 0);
    }
    return t->c_img;
}

static tc_tensor *txt_states(tc_v2_tasks *t, tc_graph *g, tc_train_ctx *ctx, const tc_batch *b) {
    if (!t->c_txt) {
        t->c_txt = tc_opt_v2_text(g, t->m, b->ids, b->valid, b->B, b->T, 0);
        if (t->c_txt) ctx->flops += tower_flops(t, b->B, b->T, 1);
    }
    return t->c_txt;
}

static int itc_embeds(tc_v2_tasks *t, tc_graph *g, tc_train_ctx *ctx, const tc_batch *b) {
    if (t->c_ie && t->c_te) return 0;
    tc_tensor *img = img_states(t, g, ctx, b), *txt = img ? txt_states(t, g, ctx, b) : NULL;
    if (!txt) return -1;
    t->c_ie = tc_opt_v2_itc_image(g, t->m, img);
    t->c_te = tc_opt_v2_itc_text(g, t->m, txt);
    return 0;
}

int tc_v2_mlm_mask_row(const tc_v2_tasks *t, const int32_t *ids, const float *valid, int T, uint64_t key, int row,
                       int32_t *out, int *pos, int32_t *tgt) {
    int len = 0;
    while (len < T && valid[len] > 0.5f) len++;
    memcpy(out, ids, sizeof(int32_t) * (size_t)T);
    int first = 1, npieces = len - 2; /* [CLS] pieces [SEP] */
    if (npieces <= 0) return 0;
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(t->seed ^ STREAM_MLM, key, (uint64_t)row));
    int n = 0;
    if (t->mlm_mode == TC_MLM_FIXED2) {
        int k = npieces < 2 ? npieces : 2;
        while (n < k) {
            int p = first + (int)tc_rng_below(&r, (uint32_t)npieces), dup = 0;
            for (int j = 0; j < n; j++) dup |= pos[j] == p;
            if (dup) continue;
            pos[n++] = p;
        }
        if (n == 2 && pos[0] > pos[1]) { int x = pos[0]; pos[0] = pos[1]; pos[1] = x; }
        for (int j = 0; j < n; j++) { tgt[j] = ids[pos[j]]; out[pos[j]] = t->mask_id; }
        return n;
    }
    /* BERT: each piece with probability mlm_prob, at least one; 80 % [MASK], 10 % random, 10 % kept */
    for (int p = first; p < first + npieces; p++)
        if (tc_rng_uniform(&r) < t->mlm_prob) pos[n++] = p;
    if (n == 0) pos[n++] = first + (int)tc_rng_below(&r, (uint32_t)npieces);
    for (int j = 0; j < n; j++) {
        tgt[j] = ids[pos[j]];
        float u = tc_rng_uniform(&r);
        if (u < 0.8f) out[pos[j]] = t->mask_id;
        else if (u < 0.9f && t->rand_hi > t->rand_lo)
            out[pos[j]] = t->rand_lo + (int32_t)tc_rng_below(&r, (uint32_t)(t->rand_hi - t->rand_lo));
    }
    return n;
}

tc_tensor *tc_v2_task_mlm(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v2_tasks *t = user;
    const tc_batch *b = step_batch(t, g, ctx);
    if (!b) return NULL;
    tc_tensor *img = img_states(t, g, ctx, b);
    if (!img) return NULL;
    const int B = b->B, T = b->T;
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    int32_t *tgt = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    int *pos = tc_graph_alloc(g, sizeof(int) * (size_t)T);
    uint64_t key = (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro;
    int n = 0;
    for (int i = 0; i < B; i++) {
        int k = tc_v2_mlm_mask_row(t, b->ids + (size_t)i * T, b->valid + (size_t)i * T, T, key,
                                   ctx->rank * B + i, ids + (size_t)i * T, pos, tgt + n);
        for (int j = 0; j < k; j++) rows[n + j] = i * T + pos[j];
        n += k;
    }
    if (n == 0) return tc_error_set("MLM: no caption of the batch has a word piece to mask"), NULL;
    tc_tensor *txt = tc_opt_v2_text(g, t->m, ids, b->valid, B, T, 0);
    if (!txt) return NULL;
    tc_tensor *fused = tc_opt_v2_fusion(g, t->m, txt, b->valid, img, 0);
    tc_tensor *logits = tc_opt_v2_mlm_logits(g, t->m, fused, rows, n);
    if (!logits) return NULL;
    ctx->flops += tower_flops(t, B, T, 1) + enc_flops(&t->m->cfg, B, T, 2) +
                  2.0 * n * (double)t->m->cfg.hidden_size * t->m->cfg.vocab_size;
    return tc_cross_entropy(g, logits, tgt, -1, 0.0f, TC_REDUCE_MEAN);
}

tc_tensor *tc_v2_task_itc(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v2_tasks *t = user;
    const tc_batch *b = step_batch(t, g, ctx);
    if (!b || itc_embeds(t, g, ctx, b)) return NULL;
    tc_tensor *ie = t->c_ie, *te = t->c_te;
    if (ctx->world > 1) {
        ie = tc_dist_allgather_rows(g, ctx->dist, ie);
        te = tc_dist_allgather_rows(g, ctx->dist, te);
    }
    return tc_info_nce(g, ie, te, tc_opt_v2_itc_scale(g, t->m));
}

static int same_caption(const tc_batch *b, int i, int j) {
    const int32_t *a = b->ids + (size_t)i * b->T, *c = b->ids + (size_t)j * b->T;
    return memcmp(a, c, sizeof(int32_t) * (size_t)b->T) == 0;
}

int tc_v2_itm_negative(const float *sim, int stride, const unsigned char *ok, int n, tc_itm_neg mode, float scale,
                       tc_rng *r) {
    int best = -1, cnt = 0;
    float bv = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (!ok[j]) continue;
        cnt++;
        if (mode == TC_ITM_NEG_RANDOM) {
            if (tc_rng_below(r, (uint32_t)cnt) == 0) best = j; /* reservoir sampling: uniform over the candidates */
        } else if (best < 0 || sim[(size_t)j * stride] > bv) {
            bv = sim[(size_t)j * stride];
            best = j;
        }
    }
    if (mode != TC_ITM_NEG_SAMPLED || best < 0) return best;
    /* softmax over the candidates, max-subtracted (bv is the max); inverse-CDF draw */
    double total = 0;
    for (int j = 0; j < n; j++)
        if (ok[j]) total += exp((double)scale * (sim[(size_t)j * stride] - bv));
    double u = tc_rng_uniform(r) * total, acc = 0;
    int last = best;
    for (int j = 0; j < n; j++) {
        if (!ok[j]) continue;
        acc += exp((double)scale * (sim[(size_t)j * stride] - bv));
        last = j;
        if (acc > u) return j;
    }
    return last; /* rounding: u landed on the total */
}

/* Row i's candidates: rows that show another image and carry another caption text. ok [B]. */
static void itm_candidates(const tc_batch *b, int i, unsigned char *ok) {
    for (int j = 0; j < b->B; j++) ok[j] = j != i && b->samples[j].item != b->samples[i].item && !same_caption(b, i, j);
}

tc_tensor *tc_v2_task_itm(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v2_tasks *t = user;
    const tc_batch *b = step_batch(t, g, ctx);
    if (!b || itc_embeds(t, g, ctx, b)) return NULL;
    const int B = b->B, T = b->T, E = t->c_ie->shape[1];
    if (B < 2) return tc_error_set("ITM: needs a batch of at least 2 samples to mine negatives (got %d)", B), NULL;
    /* similarities from the values only (no gradient through the mining) */
    float *sim = tc_graph_alloc(g, sizeof(float) * (size_t)B * B); /* [B img, B txt] */
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const float *a = t->c_ie->data + (size_t)i * t->c_ie->stride[0], *c = t->c_te->data + (size_t)j * t->c_te->stride[0];
            float s = 0;
            for (int e = 0; e < E; e++) s += a[e] * c[e];
            sim[(size_t)i * B + j] = s;
        }
    uint64_t key = (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro;
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(t->seed ^ STREAM_ITM, key, (uint64_t)ctx->rank));
    /* curriculum: uniform negatives until itm_hard_from, then the mined ones (hard pairs are near-duplicate
     * captions, too hard for a model whose ITC knows only colours yet) */
    tc_itm_neg mode = t->itm_neg != TC_ITM_NEG_RANDOM && ctx->step < t->itm_hard_from ? TC_ITM_NEG_RANDOM : t->itm_neg;
    const float scale = tc_opt_v2_itc_scale_value(t->m);
    const int R = t->itm_rows > 0 && t->itm_rows < B ? t->itm_rows : B; /* rows that get ITM triples */
    int32_t *idx_t = tc_graph_alloc(g, sizeof(int32_t) * 3 * (size_t)R);
    int32_t *idx_i = tc_graph_alloc(g, sizeof(int32_t) * 3 * (size_t)R);
    int32_t *labels = tc_graph_alloc(g, sizeof(int32_t) * 3 * (size_t)R);
    unsigned char *ok = tc_graph_alloc(g, (size_t)B);
    for (int i = 0; i < R; i++) {
        itm_candidates(b, i, ok);
        int nt = tc_v2_itm_negative(sim + (size_t)i * B, 1, ok, B, mode, scale, &r); /* a text for image i */
        int ni = tc_v2_itm_negative(sim + i, B, ok, B, mode, scale, &r);              /* an image for text i */
        if (nt < 0 || ni < 0)
            return tc_error_set("ITM: every sample of the batch shows the same image or caption; cannot mine negatives"),
                   NULL;
        t->last_neg_t[i] = nt;
        t->last_neg_i[i] = ni;
        t->itm_pairs += 2;
        t->itm_neg_same_item += (b->samples[nt].item == b->samples[i].item) + (b->samples[ni].item == b->samples[i].item);
        idx_t[i] = i;          idx_i[i] = i;          labels[i] = 1;
        idx_t[R + i] = nt;     idx_i[R + i] = i;      labels[R + i] = 0;
        idx_t[2 * R + i] = i;  idx_i[2 * R + i] = ni; labels[2 * R + i] = 0;
    }
    tc_tensor *img = t->c_img, *txt = t->c_txt;
    const int Ni = img->shape[1], D = img->shape[2], Dt = txt->shape[2];
    float *valid3 = tc_graph_alloc(g, sizeof(float) * 3 * (size_t)R * T);
    for (int k = 0; k < 3 * R; k++) memcpy(valid3 + (size_t)k * T, b->valid + (size_t)idx_t[k] * T, sizeof(float) * (size_t)T);
    int st[2] = {B, T * Dt}, si[2] = {B, Ni * D};
    tc_tensor *txt3 = tc_gather_rows(g, tc_reshape(g, txt, 2, st), idx_t, 3 * R);
    tc_tensor *img3 = tc_gather_rows(g, tc_reshape(g, img, 2, si), idx_i, 3 * R);
    int st3[3] = {3 * R, T, Dt}, si3[3] = {3 * R, Ni, D};
    tc_tensor *fused = tc_opt_v2_fusion(g, t->m, tc_reshape(g, txt3, 3, st3), valid3, tc_reshape(g, img3, 3, si3), 0);
    tc_tensor *logits = tc_opt_v2_itm_logits(g, t->m, fused);
    ctx->flops += enc_flops(&t->m->cfg, 3 * R, T, 2);
    return tc_cross_entropy(g, logits, labels, -1, 0.0f, TC_REDUCE_MEAN);
}

tc_tensor *tc_v2_task_td(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v2_tasks *t = user;
    const tc_batch *b = step_batch(t, g, ctx);
    tc_tensor *img = b ? img_states(t, g, ctx, b) : NULL;
    if (!img) return NULL;
    const tc_ds_ids **caps = tc_graph_alloc(g, sizeof(*caps) * (size_t)b->B);
    for (int i = 0; i < b->B; i++) caps[i] = &t->ds->items[b->samples[i].item].caps[b->samples[i].cap];
    int maxk = tc_ft_caption_len(&t->m->cfg) - 1;
    ctx->flops += tower_flops(t, b->B, maxk + 1, 1) + enc_flops(&t->m->cfg, b->B, maxk + 1, 2);
    return tc_v2_caption_lm_loss(g, t->m, img, caps, b->B, maxk, t->m->cfg.label_smoothing);
}

tc_task_loss_fn tc_v2_task_by_name(const char *name) {
    if (strcmp(name, "td") == 0 || strcmp(name, "tdTwo") == 0) return tc_v2_task_td;
    if (strcmp(name, "mlm") == 0 || strcmp(name, "mlmTwo") == 0) return tc_v2_task_mlm;
    if (strcmp(name, "itc") == 0 || strcmp(name, "itcTwo") == 0) return tc_v2_task_itc;
    if (strcmp(name, "itm") == 0) return tc_v2_task_itm;
    return NULL;
}
