/* Inference for both OPT architectures: include/taichu.h's API (see infer.h, docs/inference.md). */
#include "model/infer.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/threads.h"
#include "data/image.h"
#include "model/beam.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_BATCH 8

/* ------------------------------------------------------------------------------------------ small helpers */

const char *tc_last_error(void) { return tc_error_get(); }
int tc_set_num_threads(int n) { return tc_set_threads(n); }

static tc_model *M(const tc_infer *inf) { return (tc_model *)&inf->m; } /* forwards only read the weights */

/* A leaf tensor over caller memory (no copy): data kept across graph resets, e.g. cached image states. */
static tc_tensor *wrap(tc_graph *g, const float *data, int ndim, const int *shape) {
    tc_tensor *t = tc_graph_alloc(g, sizeof *t);
    memset(t, 0, sizeof *t);
    t->data = (float *)data;
    t->ndim = ndim;
    int s = 1;
    for (int i = TC_MAX_DIMS - 1; i >= 0; i--) {
        t->shape[i] = i < ndim ? shape[i] : 1;
        t->stride[i] = s;
        s *= t->shape[i];
    }
    t->node = -1;
    return t;
}

/* Copy a tensor's elements (any strides) into dst, row-major. */
static void copy_out(const tc_tensor *t, float *dst) {
    int sh[TC_MAX_DIMS] = {1, 1, 1, 1}, st[TC_MAX_DIMS] = {0, 0, 0, 0};
    int off = TC_MAX_DIMS - t->ndim;
    for (int i = 0; i < t->ndim; i++) sh[off + i] = t->shape[i], st[off + i] = t->stride[i];
    long o = 0;
    for (int a = 0; a < sh[0]; a++)
        for (int b = 0; b < sh[1]; b++)
            for (int c = 0; c < sh[2]; c++) {
                const float *src = t->data + (long)a * st[0] + (long)b * st[1] + (long)c * st[2];
                for (int d = 0; d < sh[3]; d++) dst[o++] = src[(long)d * st[3]];
            }
}

/* rows [R, D] of x (a [1, R, D] tensor) repeated n times -> [n, R, D] */
static tc_tensor *tile(tc_graph *g, tc_tensor *x, int n) {
    int R = x->shape[1], D = x->shape[2], s2[2] = {R, D}, s3[3] = {n, R, D};
    int32_t *idx = tc_graph_alloc(g, sizeof(int32_t) * (size_t)n * R);
    for (int i = 0; i < n * R; i++) idx[i] = i % R;
    return tc_reshape(g, tc_gather_rows(g, tc_reshape(g, x, 2, s2), idx, n * R), 3, s3);
}

static void reset(tc_state *s) {
    tc_graph_reset(s->g);
    tc_graph_set_mode(s->g, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------------------------ model dirs */

size_t tc_infer_release_grad_pages(tc_params *ps) {
    if (!ps->grad || ps->total == 0) return 0;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return 0;
    uintptr_t lo = ((uintptr_t)ps->grad + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    uintptr_t hi = (uintptr_t)(ps->grad + ps->total) / (uintptr_t)page * (uintptr_t)page;
    if (hi <= lo) return 0;
    /* private anonymous pages read back as zeros after MADV_DONTNEED: the slab's contents do not change */
    return madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0 ? hi - lo : 0;
}

const char *tc_infer_module_of(tc_arch arch, const char *name) {
    static const struct { const char *prefix, *module; } map[] = {
        {"uniter.img_embeddings.vit.", "vit"},
        {"uniter.embeddings.encoder.", "text encoder"},
        {"uniter.audio_embeddings.encoder.", "audio encoder"},
        {"uniter.embeddings.", "embeddings"},
        {"uniter.img_embeddings.", "embeddings"},
        {"uniter.audio_embeddings.", "embeddings"},
        {"uniter.encoder.", NULL}, /* cross encoder (v1) / fusion (v2) */
        {"txt_output.", "text decoder"},
        {"img_output.", "image decoder"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].module ? map[i].module : arch == TC_ARCH_V2 ? "fusion" : "cross encoder";
    return "heads";
}

tc_infer *tc_model_open(const char *dir) {
    tc_infer *inf = tc_xcalloc(1, sizeof *inf);
    if (tc_model_load_dir(&inf->m, dir) != 0) {
        free(inf);
        return NULL;
    }
    tc_infer_release_grad_pages(&inf->m.params);
    char *vocab = tc_path_join(dir, "vocab.txt"), *ids = tc_path_join(dir, "ids_to_tokens_zh.json");
    int rc = tc_tokenizer_load(&inf->tok, vocab);
    int have_tok = rc == 0;
    if (rc == 0) {
        if (tc_file_exists(ids)) rc = tc_detok_load_json(&inf->detok, ids);
        else tc_detok_from_vocab(&inf->detok, &inf->tok.vocab);
    }
    inf->v1_itm_mask = TC_V1_MASK_ROW0;
    inf->v1_vqa_mask = TC_V1_MASK_NONE;
    if (rc == 0 && inf->m.cfg.arch == TC_ARCH_V1) {
        tc_opt_v1 *v = tc_opt_v1_of(&inf->m);
        int D = inf->m.cfg.hidden_size;
        inf->zero_shot = memcmp(v->rank.w->data, v->itm.w->data + (size_t)TC_OPT_V1_ZERO_SHOT_CLASS * D,
                                sizeof(float) * (size_t)D) == 0 &&
                         v->rank.b->data[0] == v->itm.b->data[TC_OPT_V1_ZERO_SHOT_CLASS];
    }
    free(vocab);
    free(ids);
    if (rc != 0) {
        if (have_tok) {
            tc_detok_free(&inf->detok);
            tc_tokenizer_free(&inf->tok);
        }
        tc_model_free(&inf->m);
        free(inf);
        return NULL;
    }
    return inf;
}

void tc_model_close(tc_infer *inf) {
    if (!inf) return;
    tc_detok_free(&inf->detok);
    tc_tokenizer_free(&inf->tok);
    tc_model_free(&inf->m);
    free(inf);
}

int tc_model_arch(const tc_infer *inf) { return (int)inf->m.cfg.arch; }
int tc_model_image_size(const tc_infer *inf) { return inf->m.cfg.train_image_size; }
int tc_model_has_vqa(const tc_infer *inf) {
    return inf->m.cfg.arch == TC_ARCH_V1 || tc_opt_v2_of(&inf->m)->has_vqa;
}
int tc_itm_zero_shot(const tc_infer *inf) { return inf->zero_shot; }

static int mask_of(int row) { return row < 0 ? TC_V1_MASK_NONE : row == 0 ? TC_V1_MASK_ROW0 : TC_V1_MASK_ROW1; }

int tc_model_set_v1_mask_rows(tc_infer *inf, int itm_row, int vqa_row) {
    if (inf->m.cfg.arch != TC_ARCH_V1) return tc_error_set("mask-embedding rows: opt-v1 only (this model is opt-v2)");
    if (itm_row < -1 || itm_row > 1 || vqa_row < -1 || vqa_row > 1)
        return tc_error_set("mask-embedding rows: %d, %d: expected -1 (none), 0 or 1", itm_row, vqa_row);
    inf->v1_itm_mask = mask_of(itm_row);
    inf->v1_vqa_mask = mask_of(vqa_row);
    return 0;
}

tc_state *tc_state_new(int max_batch) {
    tc_state *s = tc_xcalloc(1, sizeof *s);
    s->g = tc_graph_new();
    s->max_batch = max_batch > 0 ? max_batch : DEFAULT_BATCH;
    tc_graph_set_mode(s->g, 0, 0, 0, 0);
    return s;
}

void tc_state_free(tc_state *s) {
    if (!s) return;
    tc_graph_free(s->g);
    free(s);
}

/* ------------------------------------------------------------------------------------------ inputs */

long tc_image_floats(const tc_infer *inf) {
    const tc_model_config *c = &inf->m.cfg;
    long S = c->train_image_size, p = c->patch_size;
    return c->arch == TC_ARCH_V1 ? (long)(tc_model_config_num_patches(c) + 1) * 3 * p * p : 3 * S * S;
}

/* One image file -> the architecture's input (v1: patches + the zero pad row; v2: CHW pixels). */
static int load_one(const tc_infer *inf, const char *path, float *out) {
    const tc_model_config *c = &inf->m.cfg;
    int S = c->train_image_size;
    if (c->arch == TC_ARCH_V2) {
        tc_image_prep prep = tc_image_prep_v2(S);
        return tc_image_preprocess_file(path, &prep, out);
    }
    tc_image_prep prep = tc_image_prep_v1(); /* 448 in the original; the model's own size otherwise */
    prep.size = S;
    tc_image img = {0}, geo = {0};
    int rc = tc_image_load(path, &img, 0);
    if (rc == 0) rc = tc_image_prep_geometry(&img, &prep, &geo);
    if (rc == 0) rc = tc_image_to_patches(&geo, prep.mean, prep.std, c->patch_size, 1, out);
    tc_image_free(&img);
    tc_image_free(&geo);
    return rc;
}

int tc_load_images(const tc_infer *inf, const char *const *paths, int n, float *out) {
    long per = tc_image_floats(inf);
    int bad = -1;
    char msg[512] = "";
    /* decoding dominates for large files and is independent per image */
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        if (load_one(inf, paths[i], out + (long)i * per) != 0) {
#pragma omp critical(tc_infer_load_err)
            if (bad < 0 || i < bad) {
                bad = i;
                snprintf(msg, sizeof msg, "%s", tc_error_get());
            }
        }
    }
    if (bad >= 0) return tc_error_set("%s", msg);
    return 0;
}

int tc_text_ids(const tc_infer *inf, const char *text, int32_t *ids, int cap) {
    tc_ids pieces = {0};
    tc_tokenize(&inf->tok, text, strlen(text), &pieces);
    int n = (int)pieces.n, maxp = inf->m.cfg.max_text_len;
    if (n > maxp) n = maxp;
    int total = n + 2;
    for (int k = 0; k < total && k < cap; k++)
        ids[k] = k == 0 ? inf->tok.cls_id : k == total - 1 ? inf->tok.sep_id : pieces.v[k - 1];
    tc_ids_free(&pieces);
    return total;
}

char *tc_ids_to_text(const tc_infer *inf, const int32_t *ids, int n) {
    return tc_detok_decode(&inf->detok, ids, n > 0 ? (size_t)n : 0);
}

/* A padded batch of token ids: ids [B][T] (0 at padding), valid [B][T]. */
typedef struct text_batch {
    int B, T;
    int32_t *ids;
    float *valid;
} text_batch;

typedef enum { TXT_CLS_SEP, TXT_PLAIN } text_form;

/* Texts given as word pieces: pieces[b] [n[b]], at most max_pieces of them each; TXT_CLS_SEP wraps them in
 * [CLS] … [SEP]. T >= 1. */
static void text_batch_from_pieces(const tc_infer *inf, const int32_t *const *pieces, const int *n, int B,
                                   int max_pieces, text_form form, text_batch *tb) {
    int T = 1, extra = form == TXT_CLS_SEP ? 2 : 0;
    for (int b = 0; b < B; b++) {
        int l = n[b] < max_pieces ? n[b] : max_pieces;
        if (l + extra > T) T = l + extra;
    }
    tb->B = B;
    tb->T = T;
    tb->ids = tc_xcalloc((size_t)B * T, sizeof *tb->ids);
    tb->valid = tc_xcalloc((size_t)B * T, sizeof *tb->valid);
    for (int b = 0; b < B; b++) {
        int32_t *o = tb->ids + (long)b * T;
        int k = 0, l = n[b] < max_pieces ? n[b] : max_pieces;
        if (form == TXT_CLS_SEP) o[k++] = inf->tok.cls_id;
        for (int i = 0; i < l; i++) o[k++] = pieces[b][i];
        if (form == TXT_CLS_SEP) o[k++] = inf->tok.sep_id;
        for (int t = 0; t < k; t++) tb->valid[(long)b * T + t] = 1.f;
    }
}

/* Texts tokenised into word pieces, then as text_batch_from_pieces. */
static void text_batch_make(const tc_infer *inf, const char *const *texts, int B, int max_pieces, text_form form,
                            text_batch *tb) {
    tc_ids *p = tc_xcalloc((size_t)B, sizeof *p);
    const int32_t **v = tc_xcalloc((size_t)B, sizeof *v);
    int *n = tc_xcalloc((size_t)B, sizeof *n);
    for (int b = 0; b < B; b++) {
        tc_tokenize(&inf->tok, texts[b], strlen(texts[b]), &p[b]);
        v[b] = p[b].v;
        n[b] = p[b].n < (size_t)max_pieces ? (int)p[b].n : max_pieces;
    }
    text_batch_from_pieces(inf, v, n, B, max_pieces, form, tb);
    for (int b = 0; b < B; b++) tc_ids_free(&p[b]);
    free(p);
    free(v);
    free(n);
}

static void text_batch_free(text_batch *tb) {
    free(tb->ids);
    free(tb->valid);
    memset(tb, 0, sizeof *tb);
}

/* ------------------------------------------------------------------------------------------ ITM */

int tc_itm_classes(const tc_infer *inf) { return inf->m.cfg.arch == TC_ARCH_V1 ? TC_OPT_V1_ITM_CLASSES : 2; }

/* Image-side states kept across the text chunks' graph resets: v1 the image embeddings [1, N+1, D]
 * (mask-embedding row 0 added, spec §5.1), v2 the ViT states [1, N+1, D]. */
static float *itm_image_states(const tc_infer *inf, tc_state *s, const float *image, int *R, int *D) {
    tc_model *m = M(inf);
    reset(s);
    tc_tensor *x;
    if (m->cfg.arch == TC_ARCH_V1) {
        tc_tensor *f = tc_opt_v1_vit(s->g, m, image, 1, tc_opt_v1_of(m)->n_patches + 1);
        x = f ? tc_opt_v1_img_embed(s->g, m, f, (tc_v1_mask)inf->v1_itm_mask, NULL) : NULL;
    } else {
        x = tc_opt_v2_vit(s->g, m, image, 1, m->cfg.train_image_size);
    }
    if (!x) return NULL;
    *R = x->shape[1];
    *D = x->shape[2];
    float *buf = tc_xmalloc(sizeof(float) * (size_t)(*R) * (*D));
    copy_out(x, buf);
    return buf;
}

/* One forward pass: the image states img [1, R, D] against nb texts ids/valid [nb, T]. */
static int itm_chunk(const tc_infer *inf, tc_state *s, const float *img, int R, int D, const int32_t *ids,
                     const float *valid_in, int nb, int T, float *logits, float *score) {
    tc_model *m = M(inf);
    int C = tc_itm_classes(inf);
    reset(s);
    int is[3] = {1, R, D};
    tc_tensor *ie = tile(s->g, wrap(s->g, img, 3, is), nb), *lg = NULL, *sc = NULL;
    if (m->cfg.arch == TC_ARCH_V1) {
        tc_tensor *t = tc_opt_v1_text_embed(s->g, m, ids, valid_in, nb, T);
        float *valid = NULL;
        tc_tensor *x = t ? tc_opt_v1_gather(s->g, t, valid_in, ie, tc_opt_v1_of(m)->n_patches, NULL, NULL, &valid, NULL)
                         : NULL;
        if (x) {
            tc_tensor *p = tc_opt_v1_pooler(s->g, m, tc_opt_v1_encoder(s->g, m, x, valid));
            lg = tc_opt_v1_itm(s->g, m, p);
            sc = tc_opt_v1_rank(s->g, m, p); /* [nb, 1] */
        }
    } else {
        tc_tensor *t = tc_opt_v2_text(s->g, m, ids, valid_in, nb, T, 0);
        if (t) {
            lg = tc_opt_v2_itm_logits(s->g, m, tc_opt_v2_fusion(s->g, m, t, valid_in, ie, 0));
            sc = tc_slice(s->g, lg, 1, 1, 1); /* raw logit of class 1 (spec A.5) */
        }
    }
    if (!lg) return -1;
    float *tmp = tc_xmalloc(sizeof(float) * (size_t)nb * C);
    copy_out(lg, tmp);
    if (logits) memcpy(logits, tmp, sizeof(float) * (size_t)nb * C);
    free(tmp);
    copy_out(sc, score);
    return 0;
}

int tc_itm(const tc_infer *inf, tc_state *s, const float *image, const char *const *texts, int n, float *logits,
           float *score) {
    int C = tc_itm_classes(inf), R, D;
    if (n < 1) return tc_error_set("itm: no texts given");
    float *img = itm_image_states(inf, s, image, &R, &D);
    if (!img) return -1;
    int rc = 0;
    for (int c0 = 0; c0 < n && rc == 0; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        text_batch tb;
        text_batch_make(inf, texts + c0, nb, inf->m.cfg.max_text_len, TXT_CLS_SEP, &tb);
        rc = itm_chunk(inf, s, img, R, D, tb.ids, tb.valid, nb, tb.T, logits ? logits + (long)c0 * C : NULL,
                       score + c0);
        text_batch_free(&tb);
    }
    free(img);
    reset(s);
    return rc;
}

int tc_infer_itm_ids(const tc_infer *inf, tc_state *s, const float *image, const int32_t *ids, const float *valid,
                     int n, int T, float *logits, float *score) {
    int C = tc_itm_classes(inf), R, D;
    float *img = itm_image_states(inf, s, image, &R, &D);
    if (!img) return -1;
    int rc = 0;
    for (int c0 = 0; c0 < n && rc == 0; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        rc = itm_chunk(inf, s, img, R, D, ids + (long)c0 * T, valid + (long)c0 * T, nb, T,
                       logits ? logits + (long)c0 * C : NULL, score + c0);
    }
    free(img);
    reset(s);
    return rc;
}

/* ------------------------------------------------------------------------------------------ embeddings */

int tc_embed_dim(const tc_infer *inf, int image) {
    const tc_model_config *c = &inf->m.cfg;
    (void)image; /* v1: both are the pooled cross-encoder feature (tc_v1_pooled_*), hidden_size wide */
    return c->arch == TC_ARCH_V2 ? c->itc_dim : c->hidden_size;
}

int tc_embed_images(const tc_infer *inf, tc_state *s, const float *images, int n, float *out) {
    tc_model *m = M(inf);
    long per = tc_image_floats(inf);
    int E = tc_embed_dim(inf, 1);
    for (int c0 = 0; c0 < n; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        const float *px = images + (long)c0 * per;
        float *o = out + (long)c0 * E;
        reset(s);
        if (m->cfg.arch == TC_ARCH_V2) {
            tc_tensor *e = tc_opt_v2_image_embed(s->g, m, px, nb, m->cfg.train_image_size);
            if (!e) return -1;
            copy_out(e, o);
        } else {
            /* the v1 ITC feature: the pooler on the mean of an image-only cross-encoder pass, L2-normalised */
            tc_tensor *e = tc_v1_pooled_image(s->g, m, px, nb);
            if (!e) return -1;
            copy_out(e, o);
        }
    }
    reset(s);
    return 0;
}

/* One forward pass over nb texts ids/valid [nb, T] -> out [nb, dim]. */
static int embed_text_chunk(const tc_infer *inf, tc_state *s, const int32_t *ids, const float *valid, int nb, int T,
                            float *out) {
    tc_model *m = M(inf);
    reset(s);
    tc_tensor *y = NULL;
    if (m->cfg.arch == TC_ARCH_V2) {
        tc_tensor *t = tc_opt_v2_text(s->g, m, ids, valid, nb, T, 0);
        y = t ? tc_opt_v2_itc_text(s->g, m, t) : NULL;
    } else {
        /* the v1 ITC feature: the pooler on the mean of a text-only cross-encoder pass, L2-normalised */
        y = tc_v1_pooled_text(s->g, m, ids, valid, nb, T);
    }
    if (!y) return -1;
    copy_out(y, out);
    return 0;
}

int tc_embed_texts(const tc_infer *inf, tc_state *s, const char *const *texts, int n, float *out) {
    int E = tc_embed_dim(inf, 0), rc = 0;
    for (int c0 = 0; c0 < n && rc == 0; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        text_batch tb;
        text_batch_make(inf, texts + c0, nb, inf->m.cfg.max_text_len, TXT_CLS_SEP, &tb);
        rc = embed_text_chunk(inf, s, tb.ids, tb.valid, nb, tb.T, out + (long)c0 * E);
        text_batch_free(&tb);
    }
    reset(s);
    return rc;
}

int tc_infer_embed_text_ids(const tc_infer *inf, tc_state *s, const int32_t *ids, const float *valid, int n, int T,
                            float *out) {
    int E = tc_embed_dim(inf, 0), rc = 0;
    for (int c0 = 0; c0 < n && rc == 0; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        rc = embed_text_chunk(inf, s, ids + (long)c0 * T, valid + (long)c0 * T, nb, T, out + (long)c0 * E);
    }
    reset(s);
    return rc;
}

/* ------------------------------------------------------------------------------------------ generation */

/* The original's settings, shortened to the model's position table (small test models have short ones). */
static tc_gen_params gen(int beam, int max_len, int max_pos) {
    return (tc_gen_params){beam, max_len < max_pos ? max_len : max_pos, 1.0f, 0};
}

tc_gen_params tc_caption_defaults(const tc_infer *inf) {
    const tc_model_config *c = &inf->m.cfg;
    return c->arch == TC_ARCH_V1 ? gen(1, TC_V1_DECODE_MAX_LEN, c->dec_max_position)
                                 : gen(TC_V2_CAPTION_BEAM, TC_V2_CAPTION_MAX_LEN, c->max_position_embeddings);
}

tc_gen_params tc_vqa_defaults(const tc_infer *inf) {
    const tc_model_config *c = &inf->m.cfg;
    return gen(c->arch == TC_ARCH_V1 ? 1 : TC_V2_VQA_BEAM, TC_V1_DECODE_MAX_LEN, c->dec_max_position);
}

static int check_gen(const tc_gen_params *p, int max_pos, const char *what) {
    if (p->beam < 1) return tc_error_set("%s: beam %d, expected >= 1", what, p->beam);
    if (p->max_len < 1 || p->max_len > max_pos)
        return tc_error_set("%s: max_len %d, expected 1..%d (the model's position table)", what, p->max_len, max_pos);
    return 0;
}

static tc_beam_cfg beam_cfg(const tc_gen_params *p) {
    return (tc_beam_cfg){p->beam, p->max_len, p->length_penalty, p->vocab_limit};
}

/* opt-v2 captioning as the released eval (spec A.3): each step runs the whole prefix [0, w1, …, wt] through
 * the text encoder and the fusion with padding-only masks (so the prefix attends both ways, as in
 * UniterTwoForCaptionForEval.generate_step), and the MLM head at the last position gives the next token.
 * The image tokens' cross-attention keys/values are projected once per image and reused every step. */
typedef struct v2cap {
    tc_model *m;
    tc_graph *g;
    int n, K, S, D, L, t;   /* rows (B·beam), beam, image tokens, width, history capacity, tokens held */
    float **xk, **xv;       /* per fusion layer: [n][S][D] */
    int32_t *hist, *tmp;    /* [n][L] token history */
} v2cap;

static const float *v2cap_step(void *p, const int *src, const int32_t *ids) {
    v2cap *c = p;
    tc_model *m = c->m;
    tc_opt_v2 *v = tc_opt_v2_of(m);
    if (src) {
        for (int r = 0; r < c->n; r++) memcpy(c->tmp + (long)r * c->L, c->hist + (long)src[r] * c->L, sizeof(int32_t) * (size_t)c->t);
        int32_t *sw = c->hist;
        c->hist = c->tmp;
        c->tmp = sw;
    }
    for (int r = 0; r < c->n; r++) c->hist[(long)r * c->L + c->t] = ids[r];
    int T = ++c->t, n = c->n;
    tc_graph_reset(c->g);
    tc_graph_set_mode(c->g, 0, 0, 0, 0);
    int32_t *x_ids = tc_graph_alloc(c->g, sizeof(int32_t) * (size_t)n * T); /* [n, T] */
    for (int r = 0; r < n; r++) memcpy(x_ids + (long)r * T, c->hist + (long)r * c->L, sizeof(int32_t) * (size_t)T);
    tc_tensor *x = tc_opt_v2_text(c->g, m, x_ids, NULL, n, T, 0);
    if (!x) return NULL;
    int ks[3] = {n, c->S, c->D};
    for (int l = 0; l < v->fusion.n; l++) {
        tc_nn_block *b = &v->fusion.blocks[l];
        x = tc_add(c->g, x, tc_nn_mha_fwd(c->g, &b->attn, tc_nn_layernorm_fwd(c->g, &b->ln1, x), NULL, NULL, 0));
        tc_nn_mha *xa = &b->xattn;
        tc_tensor *q = tc_nn_linear_fwd(c->g, &xa->q, tc_nn_layernorm_fwd(c->g, &b->lnc, x));
        tc_tensor *a = tc_attention(c->g, q, wrap(c->g, c->xk[l], 3, ks), wrap(c->g, c->xv[l], 3, ks), xa->heads, NULL,
                                    0, 0.f);
        x = tc_add(c->g, x, tc_nn_linear_fwd(c->g, &xa->proj, a));
        x = tc_add(c->g, x, tc_nn_ffn_fwd(c->g, &b->ffn, tc_nn_layernorm_fwd(c->g, &b->ln2, x)));
    }
    int32_t *rows = tc_graph_alloc(c->g, sizeof(int32_t) * (size_t)n);
    for (int r = 0; r < n; r++) rows[r] = r * T + T - 1;
    tc_tensor *lg = tc_opt_v2_mlm_logits(c->g, m, x, rows, n);
    return lg ? tc_log_softmax(c->g, lg)->data : NULL;
}

static int v2_caption_chunk(const tc_infer *inf, tc_state *s, const float *px, int B, const tc_beam_cfg *bc,
                            int32_t *ids, float *score) {
    tc_model *m = M(inf);
    tc_opt_v2 *v = tc_opt_v2_of(m);
    int K = bc->beam, n = B * K, L = bc->max_len + 1, layers = v->fusion.n;
    reset(s);
    tc_tensor *img = tc_opt_v2_vit(s->g, m, px, B, m->cfg.train_image_size); /* [B, S, D] */
    if (!img) return -1;
    v2cap c = {m, s->g, n, K, img->shape[1], img->shape[2], L, 0, NULL, NULL, NULL, NULL};
    long per = (long)c.S * c.D;
    c.xk = tc_xcalloc((size_t)layers + 1, sizeof *c.xk);
    c.xv = tc_xcalloc((size_t)layers + 1, sizeof *c.xv);
    float *tmp = tc_xmalloc(sizeof(float) * (size_t)B * per);
    for (int l = 0; l < layers; l++) {
        tc_nn_mha *xa = &v->fusion.blocks[l].xattn;
        c.xk[l] = tc_xmalloc(sizeof(float) * (size_t)n * per);
        c.xv[l] = tc_xmalloc(sizeof(float) * (size_t)n * per);
        for (int kv = 0; kv < 2; kv++) {
            copy_out(tc_nn_linear_fwd(s->g, kv ? &xa->v : &xa->k, img), tmp); /* memory used unnormalised */
            float *dst = kv ? c.xv[l] : c.xk[l];
            for (int r = 0; r < n; r++) memcpy(dst + r * per, tmp + (long)(r / K) * per, sizeof(float) * (size_t)per);
        }
    }
    free(tmp);
    c.hist = tc_xcalloc((size_t)n * L, sizeof(int32_t));
    c.tmp = tc_xcalloc((size_t)n * L, sizeof(int32_t));
    int rc = tc_beam_search_fn(B, m->cfg.vocab_size, bc, v2cap_step, &c, ids, score, NULL);
    for (int l = 0; l < layers; l++) {
        free(c.xk[l]);
        free(c.xv[l]);
    }
    free(c.xk);
    free(c.xv);
    free(c.hist);
    free(c.tmp);
    reset(s);
    return rc;
}

int tc_caption(const tc_infer *inf, tc_state *s, const float *images, int n, const tc_gen_params *p, int32_t *ids,
               float *score) {
    tc_model *m = M(inf);
    int v1 = m->cfg.arch == TC_ARCH_V1;
    if (check_gen(p, v1 ? m->cfg.dec_max_position : m->cfg.max_position_embeddings, "caption") != 0) return -1;
    tc_beam_cfg bc = beam_cfg(p);
    long per = tc_image_floats(inf), L = p->max_len + 1;
    for (int c0 = 0; c0 < n; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        const float *px = images + (long)c0 * per;
        int rc;
        if (v1) {
            reset(s);
            rc = tc_opt_v1_caption(s->g, m, px, nb, &bc, ids + c0 * L, score ? score + c0 : NULL);
        } else {
            rc = v2_caption_chunk(inf, s, px, nb, &bc, ids + c0 * L, score ? score + c0 : NULL);
        }
        if (rc != 0) return -1;
    }
    reset(s);
    return 0;
}

/* v1 (spec §5.3): question pieces without [CLS]/[SEP] + the image (no mask embedding: inference_vqa.py)
 * through the cross encoder, txt_output generates. v2 (A.4): [CLS] q[:28] [SEP] through the text encoder
 * and the fusion with the image, the VQA decoder (txt_output) generates from the fused question states. */
static int vqa_run(const tc_infer *inf, tc_state *s, const float *images, const char *const *questions,
                   const int32_t *const *q_ids, const int *q_lens, int n, const tc_gen_params *p, int32_t *ids,
                   float *score) {
    tc_model *m = M(inf);
    int v1 = m->cfg.arch == TC_ARCH_V1;
    if (!tc_model_has_vqa(inf))
        return tc_error_set("vqa: this opt-v2 model has no VQA decoder (txt_output.*; config dec_num_layers 0): "
                            "convert a VQA fine-tuned checkpoint");
    tc_decoder *dd = v1 ? &tc_opt_v1_of(m)->txt_dec : &tc_opt_v2_of(m)->vqa;
    if (check_gen(p, dd->cfg.max_pos, "vqa") != 0) return -1;
    tc_beam_cfg bc = beam_cfg(p);
    long per = tc_image_floats(inf), L = p->max_len + 1;
    for (int c0 = 0; c0 < n; c0 += s->max_batch) {
        int nb = n - c0 < s->max_batch ? n - c0 : s->max_batch;
        const float *px = images + (long)c0 * per;
        text_batch tb;
        int maxp = v1 ? m->cfg.max_text_len + 2 : TC_V2_TASK_TEXT_LEN - 2;
        text_form form = v1 ? TXT_PLAIN : TXT_CLS_SEP;
        if (questions) text_batch_make(inf, questions + c0, nb, maxp, form, &tb);
        else text_batch_from_pieces(inf, q_ids + c0, q_lens + c0, nb, maxp, form, &tb);
        int rc = -1;
        reset(s);
        if (v1) {
            tc_tensor *f = tc_opt_v1_vit(s->g, m, px, nb, tc_opt_v1_of(m)->n_patches + 1);
            tc_tensor *e = f ? tc_opt_v1_img_embed(s->g, m, f, (tc_v1_mask)inf->v1_vqa_mask, NULL) : NULL;
            tc_tensor *t = e ? tc_opt_v1_text_embed(s->g, m, tb.ids, tb.valid, nb, tb.T) : NULL;
            float *gv = NULL;
            tc_tensor *x = t ? tc_opt_v1_gather(s->g, t, tb.valid, e, tc_opt_v1_of(m)->n_patches, NULL, NULL, &gv, NULL)
                             : NULL;
            if (x) {
                tc_tensor *mem = tc_decoder_memory(s->g, dd, tc_opt_v1_encoder(s->g, m, x, gv), gv);
                /* the search copies mem and its validity into its cache before it resets the graph */
                rc = tc_beam_search(s->g, dd, mem, gv, &bc, ids + c0 * L, score ? score + c0 : NULL, NULL);
            }
        } else {
            rc = tc_opt_v2_vqa_answer(s->g, m, px, m->cfg.train_image_size, tb.ids, tb.valid, nb, tb.T, &bc,
                                      ids + c0 * L, score ? score + c0 : NULL, NULL);
        }
        text_batch_free(&tb);
        if (rc != 0) return -1;
    }
    reset(s);
    return 0;
}

int tc_vqa(const tc_infer *inf, tc_state *s, const float *images, const char *const *questions, int n,
           const tc_gen_params *p, int32_t *ids, float *score) {
    return vqa_run(inf, s, images, questions, NULL, NULL, n, p, ids, score);
}

int tc_vqa_ids(const tc_infer *inf, tc_state *s, const float *images, const int32_t *const *questions,
               const int *lens, int n, const tc_gen_params *p, int32_t *ids, float *score) {
    int V = inf->m.cfg.vocab_size;
    for (int i = 0; i < n; i++) {
        if (lens[i] < 0 || (lens[i] > 0 && !questions[i]))
            return tc_error_set("vqa: question %d has %d word pieces (expected >= 0, with ids)", i, lens[i]);
        for (int k = 0; k < lens[i]; k++)
            if (questions[i][k] < 0 || questions[i][k] >= V)
                return tc_error_set("vqa: question %d, word piece %d: id %d outside the vocabulary [0, %d)", i, k,
                                    (int)questions[i][k], V);
    }
    return vqa_run(inf, s, images, NULL, questions, lens, n, p, ids, score);
}
