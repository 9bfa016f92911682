/* OPT-v1 pre-training tasks: MLM, MVM (MRFR), MAM (MAFR), MAC, itmThree, ITC (tasks_v1.h). */
#include "train/tasks_v1.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/opt_v1.h"
#include "train/tasks_v1_gen.h"

enum { STREAM_MVM = 0x6d766d, STREAM_MAM = 0x6d616d, STREAM_MAC = 0x6d6163, STREAM_ITM3 = 0x69746d33 };

void tc_v1_tasks_init(tc_v1_tasks *t, tc_model *m, tc_v1_loader *L, const tc_ds_captions *ds, int B, uint64_t seed) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->L = L;
    t->ds = ds;
    t->B = B;
    t->mask_mode = TC_MLM_FIXED2;
    t->mlm_prob = 0.15f;
    t->mrm_prob = 0.15f;
    t->mask_id = 103;
    t->rand_lo = 106;
    t->rand_hi = m->cfg.vocab_size;
    t->mac_temp = 0.1f;
    t->seed = seed;
    t->c_step = -1;
    t->last_itm3_label = tc_xcalloc((size_t)B, sizeof(int));
    t->last_itm3_img = tc_xcalloc((size_t)B, sizeof(int));
    t->last_itm3_aud = tc_xcalloc((size_t)B, sizeof(int));
}

void tc_v1_tasks_free(tc_v1_tasks *t) {
    free(t->gs);
    free(t->last_itm3_label);
    free(t->last_itm3_img);
    free(t->last_itm3_aud);
    memset(t, 0, sizeof *t);
}

/* the v2 masking helper's view of this context (the fields tc_v2_mlm_mask_row reads) */
static const tc_v2_tasks *mlm_params(tc_v1_tasks *t) {
    t->mlm.seed = t->seed;
    t->mlm.mlm_mode = t->mask_mode;
    t->mlm.mlm_prob = t->mlm_prob;
    t->mlm.mask_id = t->mask_id;
    t->mlm.rand_lo = t->rand_lo;
    t->mlm.rand_hi = t->rand_hi;
    return &t->mlm;
}

static uint64_t step_key(const tc_train_ctx *ctx) { return (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro; }

const tc_v1_batch *tc_v1_tasks_batch(tc_v1_tasks *t, tc_train_ctx *ctx) {
    if (t->c_valid && t->c_step == ctx->step && t->c_micro == ctx->micro) {
        ctx->samples = 0; /* counted by the task that loaded it */
        return t->c_batch;
    }
    int n = ctx->world * t->B;
    if (t->gs_cap < 2 * n) {
        free(t->gs);
        t->gs = tc_xmalloc(sizeof(tc_sample) * 2 * (size_t)n);
        t->gs_cap = 2 * n;
    }
    tc_sample_draw_distinct(t->ds, ctx->data_rng, t->gs, n);
    uint64_t key = step_key(ctx);
    tc_rng ahead = *ctx->data_rng; /* predict the next micro-batch; a wrong guess only costs an inline build */
    tc_sample_draw_distinct(t->ds, &ahead, t->gs + n, n);
    const tc_v1_batch *b = tc_v1_loader_get(t->L, key, t->gs + (size_t)ctx->rank * t->B, t->B);
    if (!b) return NULL;
    tc_v1_loader_prefetch(t->L, key + 1, t->gs + n + (size_t)ctx->rank * t->B, t->B);
    t->c_valid = 1;
    t->c_step = ctx->step;
    t->c_micro = ctx->micro;
    t->c_batch = b;
    ctx->samples = t->B;
    return b;
}

/* ------------------------------------------------------------------------------------------ masking */

int tc_v1_mask_items(const tc_v1_tasks *t, int n, uint64_t stream, uint64_t key, int row, int *pos) {
    if (n <= 0) return 0;
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(t->seed ^ stream, key, (uint64_t)row));
    int k = 0;
    if (t->mask_mode == TC_MLM_FIXED2) {
        int want = n < 2 ? n : 2;
        while (k < want) {
            int p = (int)tc_rng_below(&r, (uint32_t)n), dup = 0;
            for (int j = 0; j < k; j++) dup |= pos[j] == p;
            if (!dup) pos[k++] = p;
        }
        if (k == 2 && pos[0] > pos[1]) { int x = pos[0]; pos[0] = pos[1]; pos[1] = x; }
        return k;
    }
    for (int p = 0; p < n; p++)
        if (tc_rng_uniform(&r) < t->mrm_prob) pos[k++] = p;
    if (k == 0) pos[k++] = (int)tc_rng_below(&r, (uint32_t)n);
    return k;
}

/* ------------------------------------------------------------------------------------------ encoder */

typedef struct enc_in {
    int B;
    const int32_t *ids; const float *valid; int Tt;       /* text (ids NULL: none) */
    const float *patches; tc_v1_mask img_mode; const int32_t *img_rows;  /* image (NULL: none) */
    const float *audio; const float *avalid; int Ta; tc_v1_mask aud_mode; const int32_t *aud_rows;
    double *flops;   /* forward FLOPs are added here (may be NULL) */
} enc_in;

/* forward FLOPs of one pre-LN layer over n tokens of width d, FFN f: dense 2·params per token + attention */
static double layer_flops(double n, double d, double f) { return n * (2.0 * (4 * d * d + 2 * d * f)) + 4.0 * n * n * d; }

/* Embed the given modalities, compact them (text | N patches | audio) and run the cross encoder:
 * H [B, S, D]; *S_out = S. */
static tc_tensor *encode(tc_graph *g, tc_model *m, const enc_in *in, int *S_out) {
    tc_tensor *txt = NULL, *img = NULL, *aud = NULL;
    int N = tc_model_config_num_patches(&m->cfg);
    if (in->ids && !(txt = tc_opt_v1_text_embed(g, m, in->ids, in->valid, in->B, in->Tt))) return NULL;
    if (in->patches) {
        tc_tensor *f = tc_opt_v1_vit(g, m, in->patches, in->B, N + 1);
        if (!f || !(img = tc_opt_v1_img_embed(g, m, f, in->img_mode, in->img_rows))) return NULL;
    }
    if (in->audio && in->Ta > 0 &&
        !(aud = tc_opt_v1_audio_embed(g, m, in->audio, in->avalid, in->B, in->Ta, in->aud_mode, in->aud_rows)))
        return NULL;
    float *valid;
    tc_tensor *x = tc_opt_v1_gather(g, txt, in->valid, img, N, aud, in->avalid, &valid, S_out);
    if (x && in->flops) {
        const tc_model_config *c = &m->cfg;
        if (in->patches)
            *in->flops += in->B * (c->vit_num_layers * layer_flops(N + 1, c->vit_hidden_size, c->vit_intermediate_size) +
                                   2.0 * N * 3 * c->patch_size * c->patch_size * c->vit_hidden_size);
        *in->flops += in->B * c->num_hidden_layers * layer_flops(*S_out, c->hidden_size, c->intermediate_size);
    }
    return x ? tc_opt_v1_encoder(g, m, x, valid) : NULL;
}

/* the unmasked inputs of batch b, every mask-embedding on row 0 (the original's all-zero img/audio masks) */
static enc_in full_input(const tc_v1_batch *b, tc_train_ctx *ctx) {
    enc_in in;
    memset(&in, 0, sizeof in);
    in.flops = &ctx->flops;
    in.B = b->B;
    in.ids = b->ids; in.valid = b->valid; in.Tt = b->Tt;
    in.patches = b->patches; in.img_mode = TC_V1_MASK_ROW0;
    in.audio = b->audio; in.avalid = b->audio_valid; in.Ta = b->Ta; in.aud_mode = TC_V1_MASK_ROW0;
    return in;
}

static int text_len(const tc_v1_batch *b, int i) {
    int n = 0;
    while (n < b->Tt && b->valid[(size_t)i * b->Tt + n] > 0.5f) n++;
    return n;
}

static int audio_len(const tc_v1_batch *b, int i) {
    int n = 0;
    while (n < b->Ta && b->audio_valid[(size_t)i * b->Ta + n] > 0.5f) n++;
    return n;
}

/* ------------------------------------------------------------------------------------------ token level */

tc_tensor *tc_v1_task_mlm(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b) return NULL;
    const int B = b->B, T = b->Tt;
    const tc_v2_tasks *mp = mlm_params(t);
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    int32_t *tgt = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * T);
    int *pos = tc_graph_alloc(g, sizeof(int) * (size_t)B * T), *cnt = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    uint64_t key = step_key(ctx);
    int n = 0;
    for (int i = 0; i < B; i++) {
        cnt[i] = tc_v2_mlm_mask_row(mp, b->ids + (size_t)i * T, b->valid + (size_t)i * T, T, key, ctx->rank * B + i,
                                    ids + (size_t)i * T, pos + n, tgt + n);
        n += cnt[i];
    }
    if (n == 0) return tc_error_set("mlmThree: no caption of the batch has a word piece to mask"), NULL;
    enc_in in = full_input(b, ctx);
    in.ids = ids;
    int S;
    tc_tensor *h = encode(g, t->m, &in, &S);
    if (!h) return NULL;
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    for (int i = 0, k = 0; i < B; i++)
        for (int j = 0; j < cnt[i]; j++, k++) rows[k] = i * S + pos[k]; /* text comes first in the compact rows */
    t->mlm_masked += n;
    ctx->flops += 2.0 * n * (double)t->m->cfg.hidden_size * t->m->cfg.vocab_size;
    tc_tensor *logits = tc_opt_v1_mlm(g, t->m, h, rows, n);
    return logits ? tc_cross_entropy(g, logits, tgt, -1, 0.0f, TC_REDUCE_MEAN) : NULL;
}

tc_tensor *tc_v1_task_mvm(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b) return NULL;
    const int B = b->B, R = b->R, N = R - 1, Pd = b->Pd;
    uint64_t key = step_key(ctx);
    float *patches = tc_graph_alloc(g, sizeof(float) * (size_t)B * R * Pd);
    memcpy(patches, b->patches, sizeof(float) * (size_t)B * R * Pd);
    int32_t *mrows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * R);
    memset(mrows, 0, sizeof(int32_t) * (size_t)B * R);
    int *pos = tc_graph_alloc(g, sizeof(int) * (size_t)B * N), *cnt = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    int n = 0;
    for (int i = 0; i < B; i++) {
        cnt[i] = tc_v1_mask_items(t, N, STREAM_MVM, key, ctx->rank * B + i, pos + n);
        for (int j = 0; j < cnt[i]; j++) {
            int p = pos[n + j];
            memset(patches + ((size_t)i * R + p) * Pd, 0, sizeof(float) * (size_t)Pd); /* zeroed pixels */
            mrows[(size_t)i * R + p] = 1;                                               /* mask row 1 */
        }
        n += cnt[i];
    }
    /* target: the masked patches' own (normalised) pixels, [n, Pd] */
    float *tv = tc_graph_alloc(g, sizeof(float) * (size_t)n * Pd);
    for (int i = 0, k = 0; i < B; i++)
        for (int j = 0; j < cnt[i]; j++, k++)
            memcpy(tv + (size_t)k * Pd, b->patches + ((size_t)i * R + pos[k]) * Pd, sizeof(float) * (size_t)Pd);
    int ts[2] = {n, Pd};
    tc_tensor *target = tc_from_data(g, tv, 2, ts);
    enc_in in = full_input(b, ctx);
    in.patches = patches;
    in.img_mode = TC_V1_MASK_ROWS;
    in.img_rows = mrows;
    int S;
    tc_tensor *h = encode(g, t->m, &in, &S);
    if (!h) return NULL;
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    for (int i = 0, k = 0; i < B; i++) {
        int lt = text_len(b, i);
        for (int j = 0; j < cnt[i]; j++, k++) rows[k] = i * S + lt + pos[k];
    }
    t->mvm_masked += n;
    /* MRFR head -> a ViT-width feature [n, Dv] -> pixels [n, Pd] through the ViT's patch embedding used as its
     * own inverse (stem weight [Dv, Pd] untransposed), as the original ties img_linear into the MRFR head */
    tc_tensor *feat = tc_opt_v1_mrfr(g, t->m, h, rows, n);
    if (!feat) return NULL;
    tc_tensor *pred = tc_linear(g, feat, tc_opt_v1_of(t->m)->stem.w, NULL, TC_W_IN_OUT);
    return tc_mse(g, pred, target, TC_REDUCE_MEAN);
}

static int need_audio(const tc_v1_tasks *t, const tc_v1_batch *b, const char *task) {
    if (b->Ta > 0) return 0;
    const tc_v1_loader_cfg *c = tc_v1_loader_config(t->L);
    if (!c->audio_dir[0])
        return tc_error_set("%s needs audio, but the dataset has none (no DATA/audio directory of speech, e.g. a "
                            "`taichu synth --no-audio` set) or the model has no audio path", task);
    return tc_error_set("%s needs audio, but no sample of this batch has speech under %s", task, c->audio_dir);
}

/* Masked audio: zeroed frames + mask row 1. Fills the arena copies and the masked frame list (row, frame). */
typedef struct mam_plan {
    float *audio;
    int32_t *arows;
    int n;
    int *row, *frame;
} mam_plan;

static int mam_mask(tc_v1_tasks *t, tc_graph *g, const tc_v1_batch *b, tc_train_ctx *ctx, uint64_t stream, mam_plan *p) {
    const int B = b->B, Ta = b->Ta, Da = b->Da;
    p->audio = tc_graph_alloc(g, sizeof(float) * (size_t)B * Ta * Da);
    memcpy(p->audio, b->audio, sizeof(float) * (size_t)B * Ta * Da);
    p->arows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * Ta);
    memset(p->arows, 0, sizeof(int32_t) * (size_t)B * Ta);
    p->row = tc_graph_alloc(g, sizeof(int) * (size_t)B * Ta);
    p->frame = tc_graph_alloc(g, sizeof(int) * (size_t)B * Ta);
    p->n = 0;
    uint64_t key = step_key(ctx);
    for (int i = 0; i < B; i++) {
        int k = tc_v1_mask_items(t, audio_len(b, i), stream, key, ctx->rank * B + i, p->frame + p->n);
        for (int j = 0; j < k; j++) {
            int f = p->frame[p->n + j];
            p->row[p->n + j] = i;
            memset(p->audio + ((size_t)i * Ta + f) * Da, 0, sizeof(float) * (size_t)Da);
            p->arows[(size_t)i * Ta + f] = 1;
        }
        p->n += k;
    }
    return p->n > 0 ? 0 : tc_error_set("masked audio modelling: no sample of the batch has an audio frame");
}

/* MAFR head outputs [n, Da] at the masked frames and their original frames (a constant [n, Da]). */
static tc_tensor *mam_forward(tc_v1_tasks *t, tc_graph *g, tc_train_ctx *ctx, const tc_v1_batch *b, const mam_plan *p,
                              tc_tensor **target) {
    const int Da = b->Da, N = b->R - 1;
    enc_in in = full_input(b, ctx);
    in.audio = p->audio;
    in.aud_mode = TC_V1_MASK_ROWS;
    in.aud_rows = p->arows;
    int S;
    tc_tensor *h = encode(g, t->m, &in, &S);
    if (!h) return NULL;
    int32_t *rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)p->n);
    float *tv = tc_graph_alloc(g, sizeof(float) * (size_t)p->n * Da);
    for (int k = 0; k < p->n; k++) {
        int i = p->row[k], f = p->frame[k];
        rows[k] = i * S + text_len(b, i) + N + f;
        memcpy(tv + (size_t)k * Da, b->audio + ((size_t)i * b->Ta + f) * Da, sizeof(float) * (size_t)Da);
    }
    int ts[2] = {p->n, Da};
    *target = tc_from_data(g, tv, 2, ts);
    t->mam_masked += p->n;
    return tc_opt_v1_mafr(g, t->m, h, rows, p->n);
}

tc_tensor *tc_v1_task_mam(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b || need_audio(t, b, "mafrThree (masked audio regression)")) return NULL;
    mam_plan p;
    if (mam_mask(t, g, b, ctx, STREAM_MAM, &p)) return NULL;
    tc_tensor *target, *pred = mam_forward(t, g, ctx, b, &p, &target);
    return pred ? tc_mse(g, pred, target, TC_REDUCE_MEAN) : NULL;
}

tc_tensor *tc_v1_task_mac(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b || need_audio(t, b, "macThree (masked audio contrastive)")) return NULL;
    mam_plan p;
    if (mam_mask(t, g, b, ctx, STREAM_MAC, &p)) return NULL;
    if (p.n < 2) return tc_error_set("macThree: needs at least 2 masked frames in the batch (got %d)", p.n), NULL;
    tc_tensor *target, *pred = mam_forward(t, g, ctx, b, &p, &target);
    if (!pred) return NULL;
    /* every masked frame's prediction against the original frames of all masked frames of the batch: the
     * positive is its own, the others (other times of the same utterance, other utterances) are negatives;
     * logits = cosine similarity / temperature */
    tc_tensor *pn = tc_l2_normalize(g, pred, 1e-7f), *tn = tc_l2_normalize(g, target, 1e-7f);
    tc_tensor *logits = tc_scale(g, tc_matmul(g, pn, tn, 0, 1), 1.0f / t->mac_temp); /* [n, n] */
    int32_t *lab = tc_graph_alloc(g, sizeof(int32_t) * (size_t)p.n);
    for (int k = 0; k < p.n; k++) lab[k] = k;
    return tc_cross_entropy(g, logits, lab, -1, 0.0f, TC_REDUCE_MEAN);
}

/* ------------------------------------------------------------------------------------------ sample level */

/* a uniform row j != i (and != avoid) whose image differs from row i's (and from avoid's); -1 if none */
static int other_row(const tc_sample *s, int B, int i, int avoid, tc_rng *r) {
    int best = -1, cnt = 0;
    for (int j = 0; j < B; j++) {
        if (j == i || j == avoid || s[j].item == s[i].item || (avoid >= 0 && s[j].item == s[avoid].item)) continue;
        if (tc_rng_below(r, (uint32_t)++cnt) == 0) best = j; /* reservoir sampling */
    }
    return best;
}

int tc_v1_itm3_plan(const tc_v1_tasks *t, const tc_sample *s, int B, int i, int has_audio, uint64_t key, int grow,
                    int *label, int *img_src, int *aud_src) {
    tc_rng r;
    tc_rng_seed(&r, tc_rng_hash(t->seed ^ STREAM_ITM3, key, (uint64_t)grow));
    int lab = has_audio ? (int)tc_rng_below(&r, 5) : (tc_rng_below(&r, 2) ? 4 : 1);
    int im = i, au = i;
    switch (lab) {
    case 0: im = au = other_row(s, B, i, -1, &r); break;      /* image and audio of one other sample */
    case 1: im = other_row(s, B, i, -1, &r); break;           /* image replaced */
    case 2: au = other_row(s, B, i, -1, &r); break;           /* audio replaced */
    case 3:                                                   /* both, from two different other samples */
        im = other_row(s, B, i, -1, &r);
        au = im >= 0 ? other_row(s, B, i, im, &r) : -1;
        break;
    default: break;                                           /* 4: the original triplet */
    }
    if (im < 0 || au < 0)
        return tc_error_set("itmThree: the batch has too few distinct images to replace parts of sample %d (label %d "
                            "needs %d other images; batch %d)", i, lab, lab == 3 ? 2 : 1, B);
    *label = lab;
    *img_src = im;
    *aud_src = au;
    return 0;
}

tc_tensor *tc_v1_task_itm3(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b) return NULL;
    const int B = b->B, R = b->R, Pd = b->Pd, Ta = b->Ta, Da = b->Da;
    const int has_audio = Ta > 0;
    uint64_t key = step_key(ctx);
    float *patches = tc_graph_alloc(g, sizeof(float) * (size_t)B * R * Pd);
    float *audio = has_audio ? tc_graph_alloc(g, sizeof(float) * (size_t)B * Ta * Da) : NULL;
    float *avalid = has_audio ? tc_graph_alloc(g, sizeof(float) * (size_t)B * Ta) : NULL;
    int32_t *labels = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B);
    for (int i = 0; i < B; i++) {
        int lab, im, au;
        if (tc_v1_itm3_plan(t, b->samples, B, i, has_audio, key, ctx->rank * B + i, &lab, &im, &au)) return NULL;
        labels[i] = lab;
        t->itm3_label[lab]++;
        t->itm3_same_item += (im != i && b->samples[im].item == b->samples[i].item) +
                             (au != i && b->samples[au].item == b->samples[i].item);
        t->last_itm3_label[i] = lab;
        t->last_itm3_img[i] = im;
        t->last_itm3_aud[i] = au;
        memcpy(patches + (size_t)i * R * Pd, b->patches + (size_t)im * R * Pd, sizeof(float) * (size_t)R * Pd);
        if (has_audio) {
            memcpy(audio + (size_t)i * Ta * Da, b->audio + (size_t)au * Ta * Da, sizeof(float) * (size_t)Ta * Da);
            memcpy(avalid + (size_t)i * Ta, b->audio_valid + (size_t)au * Ta, sizeof(float) * (size_t)Ta);
        }
    }
    enc_in in = full_input(b, ctx);
    in.patches = patches;
    in.audio = audio;
    in.avalid = avalid;
    int S;
    tc_tensor *h = encode(g, t->m, &in, &S);
    if (!h) return NULL;
    /* the original's pooled [CLS] (row 0). Pooling the mean of the valid rows instead (as ITC) was measured and
     * not better for itmThree (docs/training.md, "OPT-v1 pre-training") */
    tc_tensor *logits = tc_contiguous(g, tc_opt_v1_itm(g, t->m, tc_opt_v1_pooler(g, t->m, h))); /* [B, 5] */
    for (int i = 0; i < B; i++) { /* training accuracy: argmax == label */
        const float *l = logits->data + (size_t)i * TC_OPT_V1_ITM_CLASSES;
        int best = 0;
        for (int k = 1; k < TC_OPT_V1_ITM_CLASSES; k++) best = l[k] > l[best] ? k : best;
        t->itm3_correct += best == labels[i];
    }
    t->itm3_seen += B;
    return tc_cross_entropy(g, logits, labels, -1, 0.0f, TC_REDUCE_MEAN);
}

/* ------------------------------------------------------------------------------------------ ITC */

/* The ITC feature of a single-modality pass is tc_v1_pooled_text / _image / _audio (model/opt_v1.h): the
 * pooler on the MEAN of the valid rows, L2-normalised; `taichu embed` returns the same vectors. The pooler's
 * own first row is the [CLS] of a text pass, but the top-left patch of an image pass and the first (usually
 * silent) frame of an audio pass: features that barely depend on the sample, and ITC then sat at ln B
 * (docs/training.md, "OPT-v1 pre-training"). */

/* forward FLOPs of one single-modality pass (for the trainer's throughput log): S = the longest valid prefix */
static void pass_flops(const tc_model *m, double *flops, int B, const float *valid, int T, int image) {
    const tc_model_config *c = &m->cfg;
    int N = tc_model_config_num_patches(c), S = image ? N : 0;
    for (int b = 0; !image && b < B; b++) {
        int n = 0;
        while (n < T && valid[(size_t)b * T + n] > 0.5f) n++;
        if (n > S) S = n;
    }
    if (image)
        *flops += B * (c->vit_num_layers * layer_flops(N + 1, c->vit_hidden_size, c->vit_intermediate_size) +
                       2.0 * N * 3 * c->patch_size * c->patch_size * c->vit_hidden_size);
    *flops += B * c->num_hidden_layers * layer_flops(S, c->hidden_size, c->intermediate_size);
}

tc_tensor *tc_v1_task_itc(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b) return NULL;
    tc_tensor *scale = tc_opt_v1_itc_scale(g, t->m, 0);
    if (!scale) return NULL;
    if (b->B < 2) return tc_error_set("itc: needs a batch of at least 2 samples (got %d)", b->B), NULL;
    pass_flops(t->m, &ctx->flops, b->B, b->valid, b->Tt, 0);
    pass_flops(t->m, &ctx->flops, b->B, NULL, 0, 1);
    tc_tensor *te = tc_v1_pooled_text(g, t->m, b->ids, b->valid, b->B, b->Tt);
    tc_tensor *ie = te ? tc_v1_pooled_image(g, t->m, b->patches, b->B) : NULL;
    if (!ie) return NULL;
    if (ctx->world > 1) {
        ie = tc_dist_allgather_rows(g, ctx->dist, ie);
        te = tc_dist_allgather_rows(g, ctx->dist, te);
    }
    return tc_info_nce(g, ie, te, scale);
}

tc_tensor *tc_v1_task_itc_audio(void *user, tc_graph *g, tc_train_ctx *ctx) {
    tc_v1_tasks *t = user;
    const tc_v1_batch *b = tc_v1_tasks_batch(t, ctx);
    if (!b || need_audio(t, b, "itc_audio (audio-text contrastive)")) return NULL;
    tc_tensor *scale = tc_opt_v1_itc_scale(g, t->m, 1);
    if (!scale) return NULL;
    /* the rows that have speech (synth speaks every image; other sets may not) */
    const int B = b->B, Tt = b->Tt, Ta = b->Ta, Da = b->Da;
    int32_t *ids = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * Tt);
    float *valid = tc_graph_alloc(g, sizeof(float) * (size_t)B * Tt);
    float *audio = tc_graph_alloc(g, sizeof(float) * (size_t)B * Ta * Da), *av = tc_graph_alloc(g, sizeof(float) * (size_t)B * Ta);
    int n = 0;
    for (int i = 0; i < B; i++) {
        if (audio_len(b, i) == 0) continue;
        memcpy(ids + (size_t)n * Tt, b->ids + (size_t)i * Tt, sizeof(int32_t) * (size_t)Tt);
        memcpy(valid + (size_t)n * Tt, b->valid + (size_t)i * Tt, sizeof(float) * (size_t)Tt);
        memcpy(audio + (size_t)n * Ta * Da, b->audio + (size_t)i * Ta * Da, sizeof(float) * (size_t)Ta * Da);
        memcpy(av + (size_t)n * Ta, b->audio_valid + (size_t)i * Ta, sizeof(float) * (size_t)Ta);
        n++;
    }
    if (n < 2 || (ctx->world > 1 && n != B))
        return tc_error_set("itc_audio: needs at least 2 samples with speech in the batch (and all of them under MPI); got %d of %d",
                            n, B), NULL;
    pass_flops(t->m, &ctx->flops, n, valid, Tt, 0);
    pass_flops(t->m, &ctx->flops, n, av, Ta, 0);
    tc_tensor *te = tc_v1_pooled_text(g, t->m, ids, valid, n, Tt);
    tc_tensor *ae = te ? tc_v1_pooled_audio(g, t->m, audio, av, n, Ta) : NULL;
    if (!ae) return NULL;
    if (ctx->world > 1) {
        ae = tc_dist_allgather_rows(g, ctx->dist, ae);
        te = tc_dist_allgather_rows(g, ctx->dist, te);
    }
    return tc_info_nce(g, ae, te, scale);
}

/* ------------------------------------------------------------------------------------------ names */

tc_task_loss_fn tc_v1_task_by_name(const char *name, int *needs_audio, int *needs_tokens) {
    static const struct { const char *a, *b; tc_task_loss_fn f; int audio, tokens; } tab[] = {
        {"mlmThree", "mlm", tc_v1_task_mlm, 0, 0},       {"mrfrThree", "mvm", tc_v1_task_mvm, 0, 0},
        {"mafrThree", "mam", tc_v1_task_mam, 1, 0},      {"macThree", "mac", tc_v1_task_mac, 1, 0},
        {"itmThree", "itm3", tc_v1_task_itm3, 0, 0},     {"itc", "itc_image", tc_v1_task_itc, 0, 0},
        {"itc_audio", "itcAudio", tc_v1_task_itc_audio, 1, 0},
        {"tdThree", "td", tc_v1_task_td, 0, 0},          {"idThree", "id", tc_v1_task_id, 0, 1},
    };
    for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
        if (strcmp(name, tab[k].a) == 0 || strcmp(name, tab[k].b) == 0) {
            if (needs_audio) *needs_audio = tab[k].audio;
            if (needs_tokens) *needs_tokens = tab[k].tokens;
            return tab[k].f;
        }
    return NULL;
}
