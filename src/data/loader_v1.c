/* The OPT-v1 batch: the v2 loader plus a per-row extension with patches, audio and VQ tokens (loader_v1.h). */
#include "data/loader_v1.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/audio.h"
#include "data/image.h"

/* frames between audio tokens for the wav path: 4 stacked 10-ms frames every 100 ms, so 32 tokens (the tiny
 * preset's max_audio_len) cover 3.2 s, a whole synth caption (every 25 ms window still contributes 40 %) */
#define V1_AUDIO_STRIDE 10
#define V1_MAX_CAPS 32  /* captions per item tracked for speech (synth writes 5) */

/* Per-row extension layout (all 4-byte fields; offsets in floats/ints from the row start). */
typedef struct row_layout {
    size_t patches, audio, na, acap, tok, tgt, tgt_len, bytes;
} row_layout;

struct tc_v1_loader {
    const tc_ds_captions *ds;
    tc_v1_loader_cfg cfg;
    tc_loader *base;
    int R, Pd, S;
    row_layout lay;
    uint32_t *spoken;        /* [ds->n] bit k: caption k has speech */
    int n_spoken;
    float *amean, *astd;     /* [Da] fbank-token statistics for the wav path (dataset-level CMVN) */
    /* decoded once at open when they fit cache_mb (else per batch): speech features per (item, caption) and
     * VQ tokens per item; read-only afterwards, so the worker and inline builds share them without a lock */
    float **acache;          /* [ds->n * V1_MAX_CAPS] normalised features [n, Da], or NULL */
    int *acache_n;           /* frames of each */
    int32_t *tcache;         /* [ds->n, Tv] VQ tokens, or NULL */
    unsigned char *tcache_ok;/* [ds->n] 1 when the item's tokens are cached */
    /* the assembled batch */
    tc_v1_batch b;
    int cap_b, cap_tt, cap_ta;
    int32_t *ids, *tok, *tgt;
    float *valid, *patches, *audio, *avalid;
    int *tgt_len, *acap;
    tc_sample *samples;
};

static int dir_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

tc_v1_loader_cfg tc_v1_loader_cfg_for(const tc_model_config *mc, const char *data_dir) {
    tc_v1_loader_cfg c;
    memset(&c, 0, sizeof c);
    c.base = tc_loader_cfg_v2(mc->train_image_size, mc->max_text_len);
    c.base.prep = tc_image_prep_v1(); /* ImageNet statistics, OpenCV bilinear (spec §2.1) at the model's size */
    c.base.prep.size = mc->train_image_size;
    c.patch = mc->patch_size;
    c.audio_dim = mc->audio_dim;
    c.max_audio = mc->max_audio_len < TC_AUDIO_MAX_FRAMES ? mc->max_audio_len : TC_AUDIO_MAX_FRAMES;
    c.img_tokens = mc->img_dec_vocab_size > 0 ? mc->img_token_len : 0;
    c.img_vocab = mc->img_dec_vocab_size;
    c.audio_stats = 64;
    if (data_dir) {
        snprintf(c.audio_dir, sizeof c.audio_dir, "%s/audio", data_dir);
        snprintf(c.token_dir, sizeof c.token_dir, "%s/img_tokens", data_dir);
        if (mc->audio_dim <= 0 || c.max_audio <= 0 || !dir_exists(c.audio_dir)) c.audio_dir[0] = 0;
        if (c.img_tokens <= 0 || !dir_exists(c.token_dir)) c.token_dir[0] = 0;
    }
    return c;
}

/* "synth/synth_000123.jpg" -> "synth/synth_000123" (the extension after the last '/' dropped) */
static void stem_of(const char *rel, char *out, size_t cap) {
    snprintf(out, cap, "%s", rel);
    char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (dot && (!slash || dot > slash)) *dot = 0;
}

static void audio_path(const tc_v1_loader *L, int item, int cap, const char *ext, char *out, size_t n) {
    char stem[1024];
    stem_of(L->ds->items[item].image_rel, stem, sizeof stem);
    int w = snprintf(out, n, "%s/", L->cfg.audio_dir);
    if (w > 0 && (size_t)w < n) snprintf(out + w, n - (size_t)w, "%s_%d.%s", stem, cap, ext);
}

/* Stacked fbank tokens of a wav file, unnormalised: *f malloc'd [*n, Da]. */
static int wav_tokens(const tc_v1_loader *L, const char *path, float **f, int *n) {
    tc_speech_opts so;
    tc_speech_opts_default(&so);
    so.stride = V1_AUDIO_STRIDE;
    so.max_tokens = L->cfg.max_audio;
    int dim;
    if (tc_speech_tokens(path, &so, f, n, &dim)) return -1;
    if (dim != L->cfg.audio_dim) {
        free(*f);
        return tc_error_set("%s: speech tokens have %d values (80 fbank bins x 4 frames), the model's audio_dim is %d", path,
                            dim, L->cfg.audio_dim);
    }
    return 0;
}

/* The features of caption k of item (spoken): *f malloc'd [*n, Da], normalised (wav path). */
static int read_utterance(const tc_v1_loader *L, int item, int k, float **f, int *n) {
    const tc_v1_loader_cfg *c = &L->cfg;
    char path[2400];
    *f = NULL;
    *n = 0;
    audio_path(L, item, k, "npz", path, sizeof path);
    if (tc_file_exists(path)) return tc_audio_feat_load(path, c->audio_dim, c->max_audio, f, n); /* used as they are */
    audio_path(L, item, k, "wav", path, sizeof path);
    if (wav_tokens(L, path, f, n)) return -1;
    /* dataset-level normalisation (log-mel energies sit around -15..15); per-utterance statistics would leak
     * the masked frames into the visible ones (their sum is minus the masked frames' sum) */
    const int dim = c->audio_dim;
    for (int t = 0; t < *n; t++)
        for (int d = 0; d < dim; d++) (*f)[(size_t)t * dim + d] = ((*f)[(size_t)t * dim + d] - L->amean[d]) / L->astd[d];
    return 0;
}

/* Audio of (item, cap) into feats [max_audio, Da]; *na frames (0: none spoken). */
static int load_audio(tc_v1_loader *L, int item, int cap, float *feats, int *na, int *acap) {
    const tc_v1_loader_cfg *c = &L->cfg;
    *na = 0;
    *acap = -1;
    if (!c->audio_dir[0] || !L->spoken[item]) return 0;
    int k = cap >= 0 && cap < V1_MAX_CAPS && (L->spoken[item] >> cap & 1u) ? cap : -1;
    for (int j = 0; k < 0 && j < V1_MAX_CAPS; j++)
        if (L->spoken[item] >> j & 1u) k = j;
    const size_t slot = (size_t)item * V1_MAX_CAPS + (size_t)k;
    if (L->acache && L->acache[slot]) {
        memcpy(feats, L->acache[slot], sizeof(float) * (size_t)L->acache_n[slot] * (size_t)c->audio_dim);
        *na = L->acache_n[slot];
        *acap = k;
        return 0;
    }
    float *f;
    int n;
    if (read_utterance(L, item, k, &f, &n)) return -1;
    memcpy(feats, f, sizeof(float) * (size_t)n * (size_t)c->audio_dim);
    free(f);
    *na = n;
    *acap = k;
    return 0;
}

static int load_tokens(tc_v1_loader *L, int item, int32_t *tok) {
    const tc_v1_loader_cfg *c = &L->cfg;
    if (L->tcache_ok && L->tcache_ok[item]) {
        memcpy(tok, L->tcache + (size_t)item * c->img_tokens, sizeof(int32_t) * (size_t)c->img_tokens);
        return 0;
    }
    char stem[1024], path[2400];
    stem_of(L->ds->items[item].image_rel, stem, sizeof stem);
    snprintf(path, sizeof path, "%s/%s.npz", c->token_dir, stem);
    int64_t *codes;
    int n;
    if (tc_ds_load_img_tokens(path, &codes, &n)) return -1;
    int k = n < c->img_tokens - 1 ? n : c->img_tokens - 1;
    for (int i = 0; i < c->img_tokens; i++) tok[i] = 0;
    for (int i = 0; i < k; i++) {
        if (codes[i] < 0 || codes[i] + 1 >= c->img_vocab) {
            long long v = (long long)codes[i];
            free(codes);
            return tc_error_set("%s: \"feat\"[%d] = %lld: code + 1 must be in [1, img_dec_vocab_size %d)", path, i, v,
                                c->img_vocab);
        }
        tok[i] = (int32_t)codes[i] + 1;
    }
    free(codes);
    return 0; /* tok[k] = 0 is the EOS */
}

static int extra_row(void *user, const tc_sample *s, uint64_t key, int row, const float *chw, void *dst) {
    (void)key;
    (void)row;
    tc_v1_loader *L = user;
    const row_layout *y = &L->lay;
    float *f = dst;
    int32_t *i32 = dst;
    if (tc_image_patchify(chw, L->S, L->S, L->cfg.patch, 1, f + y->patches)) return -1;
    int na = 0, acap = -1;
    if (L->cfg.audio_dir[0] && load_audio(L, s->item, s->cap, f + y->audio, &na, &acap)) return -1;
    i32[y->na] = na;
    i32[y->acap] = acap;
    if (L->cfg.token_dir[0] && load_tokens(L, s->item, i32 + y->tok)) return -1;
    /* decoder target: the caption's first <= 29 pieces + EOS 0 */
    const tc_ds_ids *cap = &L->ds->items[s->item].caps[s->cap];
    int k = cap->n < TC_V1_TXT_TGT_LEN - 1 ? cap->n : TC_V1_TXT_TGT_LEN - 1;
    memset(i32 + y->tgt, 0, sizeof(int32_t) * TC_V1_TXT_TGT_LEN);
    memcpy(i32 + y->tgt, cap->v, sizeof(int32_t) * (size_t)k);
    i32[y->tgt_len] = k + 1;
    return 0;
}

/* Decode every utterance and token file once, in parallel, when they fit in cache_mb (as the image cache).
 * A file that fails stays uncached unless !skip_bad (then open fails with its message); the batch builder
 * then reads it again and reports or skips it. */
static int fill_cache(tc_v1_loader *L) {
    const tc_v1_loader_cfg *c = &L->cfg;
    const int n = L->ds->n;
    if (c->base.cache_mb == 0) return 0;
    int fails = 0;
    char msg[512] = "";
    if (c->token_dir[0]) {
        L->tcache = tc_xmalloc(sizeof(int32_t) * (size_t)n * (size_t)c->img_tokens);
        L->tcache_ok = tc_xcalloc((size_t)n, 1);
#pragma omp parallel for schedule(dynamic, 64)
        for (int i = 0; i < n; i++) {
            if (load_tokens(L, i, L->tcache + (size_t)i * c->img_tokens) == 0) L->tcache_ok[i] = 1;
            else {
#pragma omp critical(tc_v1_cache)
                { if (!fails++) snprintf(msg, sizeof msg, "%s", tc_error_get()); }
            }
        }
    }
    long utts = 0;
    for (int i = 0; i < n; i++) utts += __builtin_popcount(L->spoken[i]);
    double bytes = (double)utts * c->max_audio * c->audio_dim * 4.0;
    if (c->audio_dir[0] && utts > 0 && bytes <= (double)c->base.cache_mb * 1048576.0) {
        L->acache = tc_xcalloc((size_t)n * V1_MAX_CAPS, sizeof(float *));
        L->acache_n = tc_xcalloc((size_t)n * V1_MAX_CAPS, sizeof(int));
#pragma omp parallel for schedule(dynamic, 16)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < V1_MAX_CAPS; k++) {
                if (!(L->spoken[i] >> k & 1u)) continue;
                const size_t slot = (size_t)i * V1_MAX_CAPS + (size_t)k;
                if (read_utterance(L, i, k, &L->acache[slot], &L->acache_n[slot])) {
                    L->acache[slot] = NULL;
#pragma omp critical(tc_v1_cache)
                    { if (!fails++) snprintf(msg, sizeof msg, "%s", tc_error_get()); }
                }
            }
    }
    if (fails && !c->base.skip_bad) return tc_error_set("%s", msg);
    return 0;
}

tc_v1_loader *tc_v1_loader_open(const tc_ds_captions *ds, const tc_v1_loader_cfg *cfg) {
    const int S = cfg->base.image_size, p = cfg->patch;
    if (p <= 0 || S <= 0 || S % p) {
        tc_error_set("v1 loader: image size %d is not a multiple of the patch size %d", S, p);
        return NULL;
    }
    if (cfg->audio_dir[0] && (cfg->audio_dim <= 0 || cfg->max_audio <= 0)) {
        tc_error_set("v1 loader: audio needs audio_dim > 0 and max_audio > 0 (got %d, %d)", cfg->audio_dim, cfg->max_audio);
        return NULL;
    }
    tc_v1_loader *L = tc_xcalloc(1, sizeof *L);
    L->ds = ds;
    L->cfg = *cfg;
    L->S = S;
    L->R = (S / p) * (S / p) + 1;
    L->Pd = 3 * p * p;
    row_layout *y = &L->lay;
    size_t o = 0;
    int Ta = cfg->audio_dir[0] ? cfg->max_audio : 0, Tv = cfg->token_dir[0] ? cfg->img_tokens : 0;
    y->patches = o; o += (size_t)L->R * L->Pd;
    y->audio = o;   o += (size_t)Ta * (cfg->audio_dim > 0 ? cfg->audio_dim : 0);
    y->na = o++;
    y->acap = o++;
    y->tok = o;     o += (size_t)Tv;
    y->tgt = o;     o += TC_V1_TXT_TGT_LEN;
    y->tgt_len = o++;
    y->bytes = o * 4;
    /* which captions are spoken */
    L->spoken = tc_xcalloc((size_t)(ds->n > 0 ? ds->n : 1), sizeof(uint32_t));
    if (cfg->audio_dir[0]) {
        char path[2400];
        for (int i = 0; i < ds->n; i++) {
            for (int k = 0; k < ds->items[i].ncap && k < V1_MAX_CAPS; k++) {
                audio_path(L, i, k, "npz", path, sizeof path);
                int have = tc_file_exists(path);
                if (!have) { audio_path(L, i, k, "wav", path, sizeof path); have = tc_file_exists(path); }
                if (have) L->spoken[i] |= 1u << k;
            }
            L->n_spoken += L->spoken[i] != 0;
        }
    }
    if (L->n_spoken > 0 && tc_v1_loader_audio_stats(L, cfg->audio_stats > 0 ? cfg->audio_stats : 64)) {
        tc_v1_loader_close(L);
        return NULL;
    }
    if (fill_cache(L)) { tc_v1_loader_close(L); return NULL; }
    tc_loader_cfg bc = cfg->base;
    bc.extra_bytes = y->bytes;
    bc.extra_fn = extra_row;
    bc.extra_user = L;
    L->base = tc_loader_open(ds, &bc);
    if (!L->base) { tc_v1_loader_close(L); return NULL; }
    return L;
}

void tc_v1_loader_close(tc_v1_loader *L) {
    if (!L) return;
    tc_loader_close(L->base);
    free(L->spoken);
    free(L->amean);
    free(L->astd);
    if (L->acache)
        for (size_t i = 0; i < (size_t)L->ds->n * V1_MAX_CAPS; i++) free(L->acache[i]);
    free(L->acache);
    free(L->acache_n);
    free(L->tcache);
    free(L->tcache_ok);
    free(L->ids); free(L->tok); free(L->tgt); free(L->valid); free(L->patches); free(L->audio); free(L->avalid);
    free(L->tgt_len); free(L->acap); free(L->samples);
    free(L);
}

void tc_v1_loader_prefetch(tc_v1_loader *L, uint64_t key, const tc_sample *s, int B) { tc_loader_prefetch(L->base, key, s, B); }

static void ensure(tc_v1_loader *L, int B, int Tt, int Ta) {
    const tc_v1_loader_cfg *c = &L->cfg;
    if (B > L->cap_b) {
        free(L->patches); free(L->tok); free(L->tgt); free(L->tgt_len); free(L->acap); free(L->samples);
        L->patches = tc_xmalloc(sizeof(float) * (size_t)B * L->R * L->Pd);
        L->tok = tc_xmalloc(sizeof(int32_t) * (size_t)B * (c->img_tokens > 0 ? c->img_tokens : 1));
        L->tgt = tc_xmalloc(sizeof(int32_t) * (size_t)B * TC_V1_TXT_TGT_LEN);
        L->tgt_len = tc_xmalloc(sizeof(int) * (size_t)B);
        L->acap = tc_xmalloc(sizeof(int) * (size_t)B);
        L->samples = tc_xmalloc(sizeof(tc_sample) * (size_t)B);
        L->cap_tt = L->cap_ta = 0; /* re-size the B-dependent ones below */
        L->cap_b = B;
    }
    if (Tt > L->cap_tt) {
        free(L->ids); free(L->valid);
        L->ids = tc_xmalloc(sizeof(int32_t) * (size_t)L->cap_b * Tt);
        L->valid = tc_xmalloc(sizeof(float) * (size_t)L->cap_b * Tt);
        L->cap_tt = Tt;
    }
    if (Ta > L->cap_ta) {
        free(L->audio); free(L->avalid);
        L->audio = tc_xmalloc(sizeof(float) * (size_t)L->cap_b * Ta * (size_t)c->audio_dim);
        L->avalid = tc_xmalloc(sizeof(float) * (size_t)L->cap_b * Ta);
        L->cap_ta = Ta;
    }
}

const tc_v1_batch *tc_v1_loader_get(tc_v1_loader *L, uint64_t key, const tc_sample *s, int B) {
    const tc_batch *src = tc_loader_get(L->base, key, s, B);
    if (!src) return NULL;
    const row_layout *y = &L->lay;
    const tc_v1_loader_cfg *c = &L->cfg;
    int Ta = 0;
    for (int i = 0; i < B; i++) {
        const int32_t *row = (const int32_t *)(src->extra + (size_t)i * y->bytes);
        if (row[y->na] > Ta) Ta = row[y->na];
    }
    ensure(L, B, src->T, Ta);
    const int Da = c->audio_dim, Tv = c->token_dir[0] ? c->img_tokens : 0;
    memcpy(L->ids, src->ids, sizeof(int32_t) * (size_t)B * src->T);
    memcpy(L->valid, src->valid, sizeof(float) * (size_t)B * src->T);
    memcpy(L->samples, src->samples, sizeof(tc_sample) * (size_t)B);
    for (int i = 0; i < B; i++) {
        const unsigned char *base = src->extra + (size_t)i * y->bytes;
        const float *f = (const float *)base;
        const int32_t *i32 = (const int32_t *)base;
        memcpy(L->patches + (size_t)i * L->R * L->Pd, f + y->patches, sizeof(float) * (size_t)L->R * L->Pd);
        int na = i32[y->na];
        if (Ta > 0) {
            float *a = L->audio + (size_t)i * Ta * Da, *v = L->avalid + (size_t)i * Ta;
            memcpy(a, f + y->audio, sizeof(float) * (size_t)na * Da);
            memset(a + (size_t)na * Da, 0, sizeof(float) * (size_t)(Ta - na) * Da);
            for (int t = 0; t < Ta; t++) v[t] = t < na ? 1.0f : 0.0f;
        }
        L->acap[i] = i32[y->acap];
        if (Tv > 0) memcpy(L->tok + (size_t)i * Tv, i32 + y->tok, sizeof(int32_t) * (size_t)Tv);
        memcpy(L->tgt + (size_t)i * TC_V1_TXT_TGT_LEN, i32 + y->tgt, sizeof(int32_t) * TC_V1_TXT_TGT_LEN);
        L->tgt_len[i] = i32[y->tgt_len];
    }
    tc_v1_batch *b = &L->b;
    b->B = B;
    b->Tt = src->T;
    b->ids = L->ids;
    b->valid = L->valid;
    b->R = L->R;
    b->Pd = L->Pd;
    b->patches = L->patches;
    b->Ta = Ta;
    b->Da = Ta > 0 ? Da : 0;
    b->audio = Ta > 0 ? L->audio : NULL;
    b->audio_valid = Ta > 0 ? L->avalid : NULL;
    b->Tv = Tv;
    b->img_tok = Tv > 0 ? L->tok : NULL;
    b->txt_tgt = L->tgt;
    b->txt_tgt_len = L->tgt_len;
    b->samples = L->samples;
    b->audio_cap = L->acap;
    b->key = key;
    return b;
}

int tc_v1_loader_audio_stats(tc_v1_loader *L, int max_items) {
    const int Da = L->cfg.audio_dim;
    double *s1 = tc_xcalloc((size_t)Da, sizeof(double)), *s2 = tc_xcalloc((size_t)Da, sizeof(double));
    long cnt = 0;
    int used = 0, rc = 0;
    char path[2400];
    for (int i = 0; i < L->ds->n && used < max_items && rc == 0; i++) {
        if (!L->spoken[i]) continue;
        int k = 0;
        while (!(L->spoken[i] >> k & 1u)) k++;
        audio_path(L, i, k, "wav", path, sizeof path);
        if (!tc_file_exists(path)) continue; /* precomputed .npz features are used as they are */
        float *f;
        int n;
        if (wav_tokens(L, path, &f, &n)) { rc = -1; break; }
        for (int t = 0; t < n; t++)
            for (int d = 0; d < Da; d++) { double x = f[(size_t)t * Da + d]; s1[d] += x; s2[d] += x * x; }
        cnt += n;
        used++;
        free(f);
    }
    if (rc == 0) {
        free(L->amean);
        free(L->astd);
        L->amean = tc_xmalloc(sizeof(float) * (size_t)Da);
        L->astd = tc_xmalloc(sizeof(float) * (size_t)Da);
        for (int d = 0; d < Da; d++) {
            double m = cnt ? s1[d] / cnt : 0, v = cnt ? s2[d] / cnt - m * m : 1;
            L->amean[d] = (float)m;
            L->astd[d] = (float)sqrt(v > 1e-6 ? v : 1e-6);
        }
    }
    free(s1);
    free(s2);
    return rc;
}

int tc_v1_loader_has_audio(const tc_v1_loader *L) { return L->cfg.audio_dir[0] && L->n_spoken > 0; }
int tc_v1_loader_has_tokens(const tc_v1_loader *L) { return L->cfg.token_dir[0] != 0; }
const tc_v1_loader_cfg *tc_v1_loader_config(const tc_v1_loader *L) { return &L->cfg; }
int tc_v1_loader_spoken_items(const tc_v1_loader *L) { return L->n_spoken; }
tc_loader *tc_v1_loader_base(tc_v1_loader *L) { return L->base; }
