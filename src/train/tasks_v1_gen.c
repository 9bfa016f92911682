/* OPT-v1 modality-level pre-training tasks TD and ID (tasks_v1_gen.h). */
#include "train/tasks_v1_gen.h"

#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/opt_v1.h"
#include "train/tasks_v1.h"

/* masking streams: one per task, so TD and ID never share draws for the same (key, row) */
enum { STREAM_TD = 0x7464, STREAM_ID = 0x6964 };

static const char *task_name(tc_v1_gen_task t) { return t == TC_V1_GEN_TD ? "tdThree" : "idThree"; }

tc_v1_gen_cfg tc_v1_gen_defaults(const tc_model *m, uint64_t seed) {
    tc_v1_gen_cfg c = {seed, 103, 106, m->cfg.vocab_size, m->cfg.label_smoothing};
    return c;
}

int tc_v1_gen_id_check(const tc_model *m, int dataset_has_tokens) {
    if (m->cfg.arch != TC_ARCH_V1)
        return tc_error_set("idThree: needs an opt-v1 model (got %s)", tc_arch_name(m->cfg.arch));
    if (m->cfg.img_dec_vocab_size <= 0 || !tc_opt_v1_of(m)->has_img_dec)
        return tc_error_set("idThree: the model has no image decoder (config img_dec_vocab_size is 0)");
    if (!dataset_has_tokens)
        return tc_error_set("idThree: the dataset has no VQ image tokens (set img_token_path to the folder of "
                            "<id>.npz files with key \"feat\")");
    return 0;
}

/* ---------------------------------------------------------------------------------------------- masking */

/* "15 %" over n items: each with p 0.15, at least one (a uniform one when none was drawn), as the original's
 * _get_img_mask / _get_audio_mask. all: every item. Sets m[k] = 1 for masked items. */
static void mask_items(tc_rng *r, int n, int all, int32_t *m) {
    if (n <= 0) return;
    int any = 0;
    for (int k = 0; k < n; k++) {
        m[k] = all || tc_rng_uniform(r) < TC_V1_GEN_ITEM_PROB;
        any |= m[k];
    }
    if (!any) m[tc_rng_below(r, (uint32_t)n)] = 1;
}

/* Text pieces at ids[1 .. 1+np) ([CLS] pieces [SEP]). all: every piece -> [MASK] (mask_all). Otherwise the
 * original's random_word_with_all(0.15): with p 0.15 every piece, else BERT 80/10/10 per piece with p 0.15
 * (one uniform draw decides both, as random_word does: u < 0.15, then u/0.15 < 0.8 / 0.9), and when nothing
 * was chosen the first piece becomes [MASK]. Returns 1 when every piece was masked. */
static int mask_text(const tc_v1_gen_cfg *c, tc_rng *r, int32_t *ids, int np, int all) {
    if (np <= 0) return 1;
    int32_t *p = ids + 1;
    if (!all) all = tc_rng_uniform(r) < TC_V1_GEN_ITEM_PROB;
    if (all) {
        for (int k = 0; k < np; k++) p[k] = c->mask_id;
        return 1;
    }
    int any = 0;
    for (int k = 0; k < np; k++) {
        float u = tc_rng_uniform(r);
        if (u >= TC_V1_GEN_ITEM_PROB) continue;
        any = 1;
        u /= TC_V1_GEN_ITEM_PROB;
        if (u < 0.8f) p[k] = c->mask_id;
        else if (u < 0.9f && c->rand_hi > c->rand_lo)
            p[k] = c->rand_lo + (int32_t)tc_rng_below(r, (uint32_t)(c->rand_hi - c->rand_lo));
    }
    if (!any) p[0] = c->mask_id;
    return 0;
}

static int prefix(const float *v, int T) {
    int n = 0;
    while (n < T && v[n] > 0.5f) n++;
    return n;
}

int tc_v1_gen_mask(tc_graph *g, const tc_model *m, const tc_v1_gen_cfg *c, tc_v1_gen_task task,
                   const tc_v1_gen_batch *b, uint64_t key, int row0, tc_v1_gen_masked *out) {
    const char *tn = task_name(task);
    const int B = b->B, Tt = b->Tt, Ta = b->audio ? b->Ta : 0;
    const int N = tc_model_config_num_patches(&m->cfg), R = N + 1, Pd = 3 * m->cfg.patch_size * m->cfg.patch_size;
    const int Da = m->cfg.audio_dim;
    if (B <= 0 || Tt <= 0 || !b->ids || !b->valid || !b->patches)
        return tc_error_set("%s: empty batch (B %d, text length %d, or no ids/valid/patches)", tn, B, Tt);
    if (Ta > 0 && Da <= 0) return tc_error_set("%s: the batch has audio but the model has none (audio_dim 0)", tn);
    memset(out, 0, sizeof *out);
    size_t nt = (size_t)B * Tt, np = (size_t)B * R * Pd;
    out->ids = tc_graph_alloc(g, sizeof(int32_t) * nt);
    memcpy(out->ids, b->ids, sizeof(int32_t) * nt);
    out->patches = tc_graph_alloc(g, sizeof(float) * np);
    if (task == TC_V1_GEN_TD) {
        memcpy(out->patches, b->patches, sizeof(float) * np);
        out->img_rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * R);
        memset(out->img_rows, 0, sizeof(int32_t) * (size_t)B * R);
    } else {
        memset(out->patches, 0, sizeof(float) * np); /* the whole image, pad patch included (already zero) */
    }
    if (Ta > 0) {
        size_t na = (size_t)B * Ta * Da;
        out->audio = tc_graph_alloc(g, sizeof(float) * na);
        memcpy(out->audio, b->audio, sizeof(float) * na);
        out->aud_rows = tc_graph_alloc(g, sizeof(int32_t) * (size_t)B * Ta);
        memset(out->aud_rows, 0, sizeof(int32_t) * (size_t)B * Ta);
    }
    out->cases = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    out->txt_all = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    for (int i = 0; i < B; i++) {
        tc_rng r;
        tc_rng_seed(&r, tc_rng_hash(c->seed ^ (task == TC_V1_GEN_TD ? STREAM_TD : STREAM_ID), key,
                                    (uint64_t)(row0 + i)));
        float u = tc_rng_uniform(&r);
        int cs = u < TC_V1_GEN_ALL_PROB ? TC_V1_GEN_CASE_A : u < 2 * TC_V1_GEN_ALL_PROB ? TC_V1_GEN_CASE_B
                                                                                        : TC_V1_GEN_CASE_BOTH;
        out->cases[i] = cs;
        int32_t *ids = out->ids + (size_t)i * Tt;
        int np_i = prefix(b->valid + (size_t)i * Tt, Tt) - 2; /* word pieces between [CLS] and [SEP] */
        if (task == TC_V1_GEN_TD) {
            out->txt_all[i] = mask_text(c, &r, ids, np_i, 1);
            int32_t *rows = out->img_rows + (size_t)i * R;
            mask_items(&r, N, cs == TC_V1_GEN_CASE_A, rows);
            float *px = out->patches + (size_t)i * R * Pd;
            for (int k = 0; k < N; k++)
                if (rows[k]) memset(px + (size_t)k * Pd, 0, sizeof(float) * (size_t)Pd);
        } else {
            out->txt_all[i] = mask_text(c, &r, ids, np_i, cs == TC_V1_GEN_CASE_A);
        }
        if (Ta > 0) {
            int na = b->audio_valid ? prefix(b->audio_valid + (size_t)i * Ta, Ta) : Ta;
            int32_t *rows = out->aud_rows + (size_t)i * Ta;
            mask_items(&r, na, cs == TC_V1_GEN_CASE_B, rows);
            float *af = out->audio + (size_t)i * Ta * Da;
            for (int k = 0; k < na; k++)
                if (rows[k]) memset(af + (size_t)k * Da, 0, sizeof(float) * (size_t)Da);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- targets */

/* Teacher-forcing rows from EOS-terminated targets [B, Tg]: row i has n = (first 0) + 1 positions,
 * in = [0, g0 … g_{n-2}], tgt = g, valid 1 on the n positions; padded to T = the longest n. */
typedef struct dec_rows {
    int T;
    int32_t *in, *tgt;
    float *valid;
} dec_rows;

static int make_rows(tc_graph *g, const char *tn, const int32_t *targets, int B, int Tg, int V, dec_rows *s) {
    int T = 1;
    int *len = tc_graph_alloc(g, sizeof(int) * (size_t)B);
    for (int i = 0; i < B; i++) {
        const int32_t *r = targets + (size_t)i * Tg;
        int n = 0;
        while (n < Tg && r[n] != 0) {
            if (r[n] < 0 || r[n] >= V)
                return tc_error_set("%s: target %d of sample %d is %d, outside the decoder vocabulary [0, %d)", tn, n,
                                    i, r[n], V);
            n++;
        }
        if (n == Tg) return tc_error_set("%s: targets of sample %d have no EOS 0 within %d positions", tn, i, Tg);
        len[i] = n + 1;
        if (len[i] > T) T = len[i];
    }
    s->T = T;
    size_t n = (size_t)B * T;
    s->in = tc_graph_alloc(g, sizeof(int32_t) * n);
    s->tgt = tc_graph_alloc(g, sizeof(int32_t) * n);
    s->valid = tc_graph_alloc(g, sizeof(float) * n);
    memset(s->in, 0, sizeof(int32_t) * n);
    memset(s->tgt, 0, sizeof(int32_t) * n);
    memset(s->valid, 0, sizeof(float) * n);
    for (int i = 0; i < B; i++) {
        const int32_t *r = targets + (size_t)i * Tg;
        for (int t = 0; t < len[i]; t++) {
            s->tgt[(size_t)i * T + t] = r[t];
            s->in[(size_t)i * T + t] = t == 0 ? 0 : r[t - 1];
            s->valid[(size_t)i * T + t] = 1.f;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- loss */

/* Forward FLOPs of one pre-LN layer over n tokens of width d (FFN f), with an optional cross-attention to
 * mem tokens (dense layers 2·params per token, attention 4·n·m·d). */
static double layer_flops(double n, double d, double f, double mem) {
    double x = n * (2.0 * (4 * d * d + 2 * d * f)) + 4.0 * n * n * d;
    if (mem > 0) x += 2.0 * (n * 2 * d * d + mem * 2 * d * d) + 4.0 * n * mem * d;
    return x;
}

static double forward_flops(const tc_model_config *c, int B, int S, int T, int V) {
    double R = tc_model_config_num_patches(c) + 1, Pd = 3.0 * c->patch_size * c->patch_size;
    double D = c->hidden_size, d = c->dec_hidden_size;
    double vit = c->vit_num_layers * layer_flops(R, c->vit_hidden_size, c->vit_intermediate_size, 0) +
                 2.0 * R * Pd * c->vit_hidden_size + 2.0 * R * c->vit_hidden_size * D;
    double enc = c->num_hidden_layers * layer_flops(S, D, c->intermediate_size, 0);
    double dec = 2.0 * S * D * d + c->dec_num_layers * (layer_flops(S, d, c->dec_intermediate_size, 0) +
                                                         layer_flops(T, d, c->dec_intermediate_size, S)) +
                 2.0 * T * d * V;
    return B * (vit + enc + dec);
}

tc_tensor *tc_v1_gen_loss(tc_graph *g, tc_model *m, const tc_v1_gen_cfg *c, tc_v1_gen_task task,
                          const tc_v1_gen_batch *b, uint64_t key, int row0, tc_v1_gen_masked *masked, double *flops) {
    const char *tn = task_name(task);
    if (m->cfg.arch != TC_ARCH_V1) return tc_error_set("%s: needs an opt-v1 model", tn), NULL;
    if (task == TC_V1_GEN_ID && tc_v1_gen_id_check(m, b->targets != NULL) != 0) return NULL;
    if (!b->targets) return tc_error_set("%s: the batch has no caption targets", tn), NULL;
    tc_opt_v1 *v = tc_opt_v1_of(m);
    tc_decoder *dd = task == TC_V1_GEN_TD ? &v->txt_dec : &v->img_dec;
    dec_rows s = {0, NULL, NULL, NULL};
    if (make_rows(g, tn, b->targets, b->B, b->Tg, dd->cfg.vocab, &s) != 0) return NULL;
    tc_v1_gen_masked mk = {0};
    if (tc_v1_gen_mask(g, m, c, task, b, key, row0, &mk) != 0) return NULL;
    if (masked) *masked = mk;
    const int B = b->B, Ta = mk.audio ? b->Ta : 0, N = v->n_patches;
    /* the original's embeddings on the masked inputs: text, image (ViT over N + 1 rows, mask rows per patch
     * for TD, row 0 everywhere for ID), audio (mask rows per frame), then the compact concatenation */
    tc_tensor *txt = tc_opt_v1_text_embed(g, m, mk.ids, b->valid, B, b->Tt);
    tc_tensor *f = txt ? tc_opt_v1_vit(g, m, mk.patches, B, N + 1) : NULL;
    tc_tensor *img = f ? tc_opt_v1_img_embed(g, m, f, task == TC_V1_GEN_TD ? TC_V1_MASK_ROWS : TC_V1_MASK_ROW0,
                                             mk.img_rows)
                       : NULL;
    if (!img) return NULL;
    tc_tensor *aud = NULL;
    if (Ta > 0) {
        aud = tc_opt_v1_audio_embed(g, m, mk.audio, b->audio_valid, B, Ta, TC_V1_MASK_ROWS, mk.aud_rows);
        if (!aud) return NULL;
    }
    float *gv = NULL;
    int S = 0;
    tc_tensor *x = tc_opt_v1_gather(g, txt, b->valid, img, N, aud, aud ? b->audio_valid : NULL, &gv, &S);
    tc_tensor *h = x ? tc_opt_v1_encoder(g, m, x, gv) : NULL;
    /* the decoder reads every compact row with the encoder's validity as its memory mask (forward_td/id_three) */
    tc_tensor *mem = h ? tc_decoder_memory(g, dd, h, gv) : NULL;
    tc_tensor *st = mem ? tc_decoder_states(g, dd, s.in, s.valid, B, s.T, mem, gv) : NULL;
    if (!st) return NULL;
    if (flops) *flops += forward_flops(&m->cfg, B, S, s.T, dd->cfg.vocab);
    return tc_decoder_loss(g, dd, tc_decoder_logits(g, dd, st), s.tgt, s.valid, c->label_smoothing);
}

/* ---------------------------------------------------------------------------------------------- trainer */

static tc_tensor *run_task(tc_v1_tasks *t, tc_graph *g, tc_train_ctx *ctx, tc_v1_gen_task task) {
    tc_model *m = t->m;
    if (task == TC_V1_GEN_ID && tc_v1_gen_id_check(m, tc_v1_loader_has_tokens(t->L)) != 0) return NULL;
    const tc_v1_batch *vb = tc_v1_tasks_batch(t, ctx);
    if (!vb) return NULL;
    int N = tc_model_config_num_patches(&m->cfg), Pd = 3 * m->cfg.patch_size * m->cfg.patch_size;
    if (vb->R != N + 1 || vb->Pd != Pd)
        return tc_error_set("%s: batch patches are [%d, %d], the model expects [%d, %d]", task_name(task), vb->R, vb->Pd,
                            N + 1, Pd),
               NULL;
    tc_v1_gen_batch b = {
        .B = vb->B, .Tt = vb->Tt, .ids = vb->ids, .valid = vb->valid, .patches = vb->patches,
        .Ta = vb->Ta, .audio = vb->Ta > 0 ? vb->audio : NULL, .audio_valid = vb->Ta > 0 ? vb->audio_valid : NULL,
    };
    if (task == TC_V1_GEN_TD) {
        b.Tg = TC_V1_TXT_TGT_LEN;
        b.targets = vb->txt_tgt;
    } else {
        b.Tg = vb->Tv;
        b.targets = vb->Tv > 0 ? vb->img_tok : NULL;
    }
    tc_v1_gen_cfg c = {t->seed, t->mask_id, t->rand_lo, t->rand_hi, m->cfg.label_smoothing};
    uint64_t key = (uint64_t)ctx->step * (uint64_t)ctx->accum + (uint64_t)ctx->micro;
    return tc_v1_gen_loss(g, m, &c, task, &b, key, ctx->rank * t->B, NULL, &ctx->flops);
}

tc_tensor *tc_v1_task_td(void *user, tc_graph *g, tc_train_ctx *ctx) { return run_task(user, g, ctx, TC_V1_GEN_TD); }
tc_tensor *tc_v1_task_id(void *user, tc_graph *g, tc_train_ctx *ctx) { return run_task(user, g, ctx, TC_V1_GEN_ID); }
