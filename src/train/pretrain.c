/* `taichu pretrain`: config reading and wiring (pretrain.h). */
#include "train/pretrain.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/optim.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/loader_v1.h"
#include "model/opt_v1.h"
#include "model/opt_v2.h"
#include "train/tasks.h"
#include "train/tasks_v1.h"
#include "train/trainer.h"

/* ---------------------------------------------------------------- config */

#define TC_PT_MAX_TASKS 12

typedef struct pt_cfg {
    char model_config[1024];     /* preset name or path to a model config.json ("" : opt-v2-tiny) */
    char train_file[1024];       /* captions (ids_train_path[0]) */
    char image_root[1024];
    char val_file[1024];         /* ids_val_path: five captions per image, for the retrieval check */
    char tasks[TC_PT_MAX_TASKS][16];
    int mix[TC_PT_MAX_TASKS], ntasks;
    int tasks_given;             /* train_datasets[0].tasks was in the config */
    char audio_dir[1024];        /* train_datasets[0].audio[0] (v1; "" : DATA/audio when present) */
    char token_dir[1024];        /* img_token_path (v1; "" : DATA/img_tokens when present) */
    double mrm_prob;             /* v1 probability masking of patches / frames (the original's mrm_prob) */
    int batch;
    double lr, end_lr;
    long warmup, decay, steps;
    int epochs;
    double beta1, beta2, wd, grad_norm;
    unsigned long long seed;
    /* taichu's own keys */
    int sum_tasks, augment, accum, eval_images;
    int vit_freeze, freeze_text; /* the original's keys (opt_v2_base.json): no update of the ViT / text tower */
    int text_len;               /* > 0: the model's max_text_len for a fresh model (word pieces) */
    long ckpt_every, eval_every;
    tc_mlm_mode mlm_mode;
    tc_itm_neg itm_neg;
    double itm_hard_from;
    long itm_rows;          /* itm_batch: ITM triples for this many rows of each local batch (0: all) */
    char schedule[32];
} pt_cfg;

static void cfg_defaults(pt_cfg *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->tasks[0], "itmTwo");
    c->mix[0] = 1;
    c->ntasks = 1;
    c->batch = 64;
    c->lr = 4e-4;          /* opt_v2_base.json */
    c->end_lr = 1e-6;
    c->warmup = 1000;
    c->decay = 0;          /* 0: the run's total steps */
    c->steps = 0;
    c->epochs = 0;
    c->beta1 = 0.9; c->beta2 = 0.98; c->wd = 0.01; c->grad_norm = 1.0;
    c->seed = 42;
    c->sum_tasks = -1;     /* -1: sum when the only task is itmTwo */
    c->accum = 1;
    c->eval_images = 1000;
    c->ckpt_every = 1000;
    c->eval_every = 0;
    c->mlm_mode = TC_MLM_FIXED2;
    c->itm_neg = TC_ITM_NEG_HARD;
    c->mrm_prob = 0.15;
    strcpy(c->schedule, "mindspore");
}

/* A path from the original's configs ("dataset/text/x.json") under --data DIR: the "dataset/" prefix
 * becomes DIR/; other relative paths are tried as written, then as DIR/<path>. */
static void resolve(char *dst, size_t cap, const char *path, const char *data) {
    if (!data || path[0] == '/') { snprintf(dst, cap, "%s", path); return; }
    if (strncmp(path, "dataset/", 8) == 0) { snprintf(dst, cap, "%s/%s", data, path + 8); return; }
    if (tc_file_exists(path)) { snprintf(dst, cap, "%s", path); return; }
    snprintf(dst, cap, "%s/%s", data, path);
}

static int get_num(const cJSON *root, const char *key, const char *file, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) return tc_error_set("%s: field \"%s\": expected a number", file, key);
    *out = v->valuedouble;
    return 0;
}

static int get_int(const cJSON *root, const char *key, const char *file, long lo, long hi, long *out) {
    double d = (double)*out;
    if (get_num(root, key, file, &d)) return -1;
    if (d != floor(d) || d < (double)lo || d > (double)hi)
        return tc_error_set("%s: field \"%s\": expected an integer in [%ld, %ld]", file, key, lo, hi);
    *out = (long)d;
    return 0;
}

static int get_bool(const cJSON *root, const char *key, const char *file, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return tc_error_set("%s: field \"%s\": expected true or false", file, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_str(const cJSON *root, const char *key, const char *file, char *dst, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return 0;
    if (cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, 0); /* ids_train_path is a list */
    if (!cJSON_IsString(v)) return tc_error_set("%s: field \"%s\": expected a string", file, key);
    snprintf(dst, cap, "%s", v->valuestring);
    return 0;
}

static int parse_cfg(const char *path, pt_cfg *c, char **json_out) {
    size_t len;
    char *text = tc_read_file(path, &len);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        free(text);
        return tc_error_set("%s: not a JSON object", path);
    }
    int rc = 0;
    long v;
    double d;
    rc |= get_str(root, "model_config", path, c->model_config, sizeof c->model_config);
    rc |= get_str(root, "ids_train_path", path, c->train_file, sizeof c->train_file);
    rc |= get_str(root, "ids_val_path", path, c->val_file, sizeof c->val_file);
    v = c->batch; rc |= get_int(root, "train_batch_size", path, 1, 1 << 20, &v); c->batch = (int)v;
    d = c->lr; rc |= get_num(root, "learning_rate", path, &d); rc |= get_num(root, "start_learning_rate", path, &d); c->lr = d;
    rc |= get_num(root, "end_learning_rate", path, &c->end_lr);
    rc |= get_int(root, "warmup_steps", path, 0, 1L << 40, &c->warmup);
    rc |= get_int(root, "decay_steps", path, 0, 1L << 40, &c->decay);
    rc |= get_int(root, "num_train_steps", path, 0, 1L << 40, &c->steps);
    v = c->epochs; rc |= get_int(root, "epoch", path, 0, 1 << 20, &v); rc |= get_int(root, "epochs", path, 0, 1 << 20, &v);
    c->epochs = (int)v;
    rc |= get_num(root, "weight_decay", path, &c->wd);
    rc |= get_num(root, "grad_norm", path, &c->grad_norm);
    d = (double)c->seed; rc |= get_num(root, "seed", path, &d);
    if (d < 0 || d != floor(d)) rc = tc_error_set("%s: field \"seed\": expected a non-negative integer", path);
    c->seed = (unsigned long long)d;
    const cJSON *betas = cJSON_GetObjectItemCaseSensitive(root, "betas");
    if (betas) {
        if (!cJSON_IsArray(betas) || cJSON_GetArraySize(betas) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(betas, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(betas, 1)))
            rc = tc_error_set("%s: field \"betas\": expected two numbers", path);
        else { c->beta1 = cJSON_GetArrayItem(betas, 0)->valuedouble; c->beta2 = cJSON_GetArrayItem(betas, 1)->valuedouble; }
    }
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(root, "train_datasets");
    if (ds) {
        const cJSON *d0 = cJSON_IsArray(ds) ? cJSON_GetArrayItem(ds, 0) : NULL;
        if (!cJSON_IsObject(d0)) rc = tc_error_set("%s: field \"train_datasets\": expected a list of objects", path);
        else {
            rc |= get_str(d0, "img", path, c->image_root, sizeof c->image_root);
            rc |= get_str(d0, "audio", path, c->audio_dir, sizeof c->audio_dir);
            const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(d0, "tasks");
            const cJSON *mix = cJSON_GetObjectItemCaseSensitive(d0, "mix_ratio");
            if (tasks) {
                int n = cJSON_IsArray(tasks) ? cJSON_GetArraySize(tasks) : -1;
                if (n < 1 || n > TC_PT_MAX_TASKS)
                    rc = tc_error_set("%s: field \"train_datasets[0].tasks\": expected 1..%d task names", path, TC_PT_MAX_TASKS);
                for (int i = 0; rc == 0 && i < n; i++) {
                    const cJSON *t = cJSON_GetArrayItem(tasks, i);
                    if (!cJSON_IsString(t)) { rc = tc_error_set("%s: field \"train_datasets[0].tasks\": expected strings", path); break; }
                    snprintf(c->tasks[i], sizeof c->tasks[i], "%s", t->valuestring);
                    c->mix[i] = 1;
                }
                if (rc == 0) { c->ntasks = n; c->tasks_given = 1; }
            }
            if (mix && rc == 0) {
                if (!cJSON_IsArray(mix) || cJSON_GetArraySize(mix) != c->ntasks)
                    rc = tc_error_set("%s: field \"train_datasets[0].mix_ratio\": expected one integer per task (%d)", path, c->ntasks);
                for (int i = 0; rc == 0 && i < c->ntasks; i++) {
                    const cJSON *m = cJSON_GetArrayItem(mix, i);
                    if (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble != floor(m->valuedouble))
                        rc = tc_error_set("%s: field \"train_datasets[0].mix_ratio\": expected non-negative integers", path);
                    else c->mix[i] = (int)m->valuedouble;
                }
            }
        }
    }
    rc |= get_str(root, "img_token_path", path, c->token_dir, sizeof c->token_dir);
    rc |= get_num(root, "mrm_prob", path, &c->mrm_prob);
    if (rc == 0 && !(c->mrm_prob > 0 && c->mrm_prob <= 1)) rc = tc_error_set("%s: field \"mrm_prob\": expected a number in (0, 1]", path);
    /* taichu's own keys (docs/config.md, "## Training") */
    rc |= get_bool(root, "sum_tasks", path, &c->sum_tasks);
    rc |= get_bool(root, "augment", path, &c->augment);
    rc |= get_bool(root, "vit_freeze", path, &c->vit_freeze);
    rc |= get_bool(root, "freeze_text", path, &c->freeze_text);
    v = c->accum; rc |= get_int(root, "gradient_accumulation", path, 1, 1 << 16, &v); c->accum = (int)v;
    v = c->eval_images; rc |= get_int(root, "eval_images", path, 0, 1 << 24, &v); c->eval_images = (int)v;
    v = c->text_len; rc |= get_int(root, "max_text_len", path, 0, 4096, &v); c->text_len = (int)v;
    rc |= get_int(root, "ckpt_every", path, 0, 1L << 40, &c->ckpt_every);
    rc |= get_int(root, "eval_every", path, 0, 1L << 40, &c->eval_every);
    char s[32] = "";
    rc |= get_str(root, "mlm_masking", path, s, sizeof s);
    if (rc == 0 && s[0]) {
        if (strcmp(s, "fixed2") == 0) c->mlm_mode = TC_MLM_FIXED2;
        else if (strcmp(s, "bert") == 0) c->mlm_mode = TC_MLM_BERT;
        else rc = tc_error_set("%s: field \"mlm_masking\": expected \"fixed2\" or \"bert\"", path);
    }
    s[0] = 0;
    rc |= get_str(root, "itm_negatives", path, s, sizeof s);
    if (rc == 0 && s[0]) {
        if (strcmp(s, "hard") == 0) c->itm_neg = TC_ITM_NEG_HARD;
        else if (strcmp(s, "random") == 0) c->itm_neg = TC_ITM_NEG_RANDOM;
        else if (strcmp(s, "sampled") == 0) c->itm_neg = TC_ITM_NEG_SAMPLED;
        else rc = tc_error_set("%s: field \"itm_negatives\": expected \"hard\", \"sampled\" or \"random\"", path);
    }
    rc |= get_num(root, "itm_hard_from_step", path, &c->itm_hard_from);
    if (c->itm_hard_from < 0) rc = tc_error_set("%s: field \"itm_hard_from_step\": expected a step >= 0", path);
    rc |= get_int(root, "itm_batch", path, 0, 1L << 20, &c->itm_rows);
    rc |= get_str(root, "lr_schedule", path, c->schedule, sizeof c->schedule);
    if (rc == 0 && strcmp(c->schedule, "mindspore") && strcmp(c->schedule, "cosine") && strcmp(c->schedule, "constant"))
        rc = tc_error_set("%s: field \"lr_schedule\": expected \"mindspore\", \"cosine\" or \"constant\"", path);
    cJSON_Delete(root);
    if (rc) { free(text); return -1; }
    *json_out = text;
    return 0;
}

/* ---------------------------------------------------------------- model */

static int count_lines(const char *path, int *n) {
    size_t len;
    char *t = tc_read_file(path, &len);
    if (!t) return -1;
    int c = 0;
    for (size_t i = 0; i < len; i++) c += t[i] == '\n';
    if (len && t[len - 1] != '\n') c++;
    free(t);
    *n = c;
    return 0;
}

static int model_config_for(const pt_cfg *c, const tc_pretrain_opts *o, int ds_vocab, tc_model_config *mc) {
    const char *name = o->preset ? o->preset : (c->model_config[0] ? c->model_config : "opt-v2-tiny");
    if (tc_model_config_preset(name, mc) != 0) {
        tc_error_clear();
        if (tc_model_config_load(name, mc)) return -1;
    }
    if (ds_vocab > 0 && mc->vocab_size != ds_vocab) {
        /* a fresh model on a dataset with its own vocabulary (the built-in one has 243 ids): size the
         * tables to it, or the softmax would run over 21128 never-seen ids */
        mc->vocab_size = ds_vocab;
        mc->txt_dec_vocab_size = ds_vocab;
    }
    if (c->text_len > 0) mc->max_text_len = c->text_len;
    /* v1: taichu's ITC temperatures exist when itc_dim = hidden_size (pooled features); a fresh model gets them */
    if (mc->arch == TC_ARCH_V1 && mc->itc_dim == 0) mc->itc_dim = mc->hidden_size;
    if (mc->max_text_len + 2 > mc->max_position_embeddings)
        return tc_error_set("%s: field \"max_text_len\" (%d) + 2 exceeds the model's max_position_embeddings (%d)",
                            o->config ? o->config : "config", mc->max_text_len, mc->max_position_embeddings);
    return tc_model_config_validate(mc, "model config");
}

/* ---------------------------------------------------------------- eval */

static int eval_itc_v1(tc_model *m, const char *caption_file, const char *image_root, int max_images,
                       tc_retrieval_scores *out);

/* Recalls of the cosine ranking: image embeddings ie [ni][E] against text embeddings te [nt][E], text j
 * showing image j / 5 (five captions per image), pessimistic ties. */
static int itc_recall(const float *ie, const float *te, int ni, int nt, int E, tc_retrieval_scores *out) {
    float *sc = tc_xmalloc(sizeof(float) * (size_t)ni * nt);
    int *t2i = tc_xmalloc(sizeof(int) * (size_t)nt);
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nt; j++) {
            float acc = 0;
            for (int e = 0; e < E; e++) acc += ie[(size_t)i * E + e] * te[(size_t)j * E + e];
            sc[(size_t)i * nt + j] = acc;
        }
    for (int j = 0; j < nt; j++) t2i[j] = j / 5;
    int rc = tc_retrieval_recall(sc, NULL, ni, nt, t2i, TC_TIES_PESSIMISTIC, out);
    free(sc);
    free(t2i);
    return rc;
}

int tc_pretrain_eval_itc(tc_model *m, const char *caption_file, const char *image_root, int max_images,
                         tc_retrieval_scores *out) {
    if (m->cfg.arch == TC_ARCH_V1) return eval_itc_v1(m, caption_file, image_root, max_images, out);
    tc_ds_opts dopt = tc_ds_opts_default();
    dopt.vocab_size = m->cfg.vocab_size;
    tc_ds_captions ds;
    if (tc_ds_load_captions(caption_file, image_root, TC_DS_CAPS_FIVE, &dopt, &ds)) return -1;
    int ni = max_images > 0 && max_images < ds.n ? max_images : ds.n, nt = 5 * ni;
    tc_loader_cfg lc = tc_loader_cfg_v2(m->cfg.train_image_size, m->cfg.max_text_len);
    lc.prefetch = 0;
    lc.cache_mb = 0;
    tc_ds_captions view = ds;
    view.n = ni;
    tc_loader *L = tc_loader_open(&view, &lc);
    if (!L) { tc_ds_captions_free(&ds); return -1; }
    int E = m->cfg.itc_dim, chunk = 64, rc = 0;
    float *ie = tc_xmalloc(sizeof(float) * (size_t)ni * E), *te = tc_xmalloc(sizeof(float) * (size_t)nt * E);
    tc_batch b;
    tc_batch_alloc(&b, chunk, tc_loader_T(L), m->cfg.train_image_size);
    tc_sample *s = tc_xmalloc(sizeof(tc_sample) * (size_t)chunk);
    tc_graph *g = tc_graph_new();
    /* images and texts in chunks; each text is (image k/5, caption k%5), the Flickr30K-CN order */
    for (int k0 = 0; rc == 0 && k0 < nt; k0 += chunk) {
        int n = nt - k0 < chunk ? nt - k0 : chunk;
        for (int i = 0; i < n; i++) s[i] = (tc_sample){(k0 + i) / 5, (k0 + i) % 5};
        if (tc_loader_build(L, 0, s, n, &b)) { rc = -1; break; }
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 0, 0, 0);
        tc_tensor *txt = tc_opt_v2_text(g, m, b.ids, b.valid, n, b.T, 0);
        tc_tensor *e = txt ? tc_opt_v2_itc_text(g, m, txt) : NULL;
        if (!e) { rc = -1; break; }
        for (int i = 0; i < n; i++) memcpy(te + (size_t)(k0 + i) * E, e->data + (size_t)i * e->stride[0], sizeof(float) * E);
    }
    for (int k0 = 0; rc == 0 && k0 < ni; k0 += chunk) {
        int n = ni - k0 < chunk ? ni - k0 : chunk;
        for (int i = 0; i < n; i++) s[i] = (tc_sample){k0 + i, 0};
        if (tc_loader_build(L, 0, s, n, &b)) { rc = -1; break; }
        tc_graph_reset(g);
        tc_graph_set_mode(g, 0, 0, 0, 0);
        tc_tensor *e = tc_opt_v2_image_embed(g, m, b.pixels, n, b.S);
        if (!e) { rc = -1; break; }
        for (int i = 0; i < n; i++) memcpy(ie + (size_t)(k0 + i) * E, e->data + (size_t)i * e->stride[0], sizeof(float) * E);
    }
    if (rc == 0) rc = itc_recall(ie, te, ni, nt, E, out);
    tc_graph_free(g);
    free(s);
    tc_batch_free(&b);
    free(ie);
    free(te);
    tc_loader_close(L);
    tc_ds_captions_free(&ds);
    return rc;
}

typedef struct eval_ctx {
    tc_model *m;
    const char *file, *root;
    int max_images;
} eval_ctx;

static int eval_fn(void *user, tc_graph *g, long step, tc_metric *out, int max) {
    (void)g;
    (void)step;
    eval_ctx *e = user;
    tc_retrieval_scores r;
    if (max < 4) return 0;
    if (tc_pretrain_eval_itc(e->m, e->file, e->root, e->max_images, &r)) return -1;
    snprintf(out[0].name, sizeof out[0].name, "itc_t2i_r1");  out[0].value = r.ir[0];
    snprintf(out[1].name, sizeof out[1].name, "itc_t2i_r5");  out[1].value = r.ir[1];
    snprintf(out[2].name, sizeof out[2].name, "itc_i2t_r1");  out[2].value = r.tr[0];
    snprintf(out[3].name, sizeof out[3].name, "itc_r_mean");  out[3].value = r.r_mean;
    return 4;
}

/* ---------------------------------------------------------------- run */

static int read_vrange(const char *meta, int *lo, int *hi) {
    size_t len;
    char *t = tc_read_file(meta, &len);
    if (!t) { tc_error_clear(); return 0; }
    cJSON *root = cJSON_Parse(t);
    const cJSON *vr = root ? cJSON_GetObjectItemCaseSensitive(root, "v_range") : NULL;
    if (cJSON_IsArray(vr) && cJSON_GetArraySize(vr) == 2) {
        *lo = cJSON_GetArrayItem(vr, 0)->valueint;
        *hi = cJSON_GetArrayItem(vr, 1)->valueint;
    }
    cJSON_Delete(root);
    free(t);
    return 0;
}

/* The trainer settings shared by both architectures: steps (config, --steps or epochs over n samples),
 * the optimiser, the schedule, checkpoints, progress. */
static tc_trainer_cfg trainer_cfg(const pt_cfg *c, const tc_pretrain_opts *o, const char *run, int n, const char *cfg_json) {
    long steps = o->steps > 0 ? o->steps : c->steps;
    if (steps <= 0) steps = (long)(c->epochs > 0 ? c->epochs : 1) * ((n + c->batch - 1) / c->batch);
    tc_trainer_cfg tc = tc_trainer_defaults(steps);
    tc.run_dir = run;
    tc.seed = c->seed;
    tc.accum = c->accum;
    tc.opt.beta1 = c->beta1;
    tc.opt.beta2 = c->beta2;
    tc.opt.weight_decay = c->wd;
    tc.clip = (float)c->grad_norm;
    tc_lr_kind kind = strcmp(c->schedule, "cosine") == 0 ? TC_LR_WARMUP_COSINE
                      : strcmp(c->schedule, "constant") == 0 ? TC_LR_CONSTANT : TC_LR_MINDSPORE;
    tc.lr = (tc_lr_schedule){kind, c->lr, c->end_lr, c->warmup < steps ? c->warmup : steps / 10, c->decay > 0 ? c->decay : steps};
    tc.ckpt_every = c->ckpt_every;
    tc.config_json = cfg_json;
    tc.progress = o->progress;
    tc.handle_signals = 1;
    return tc;
}

/* The original's vit_freeze / freeze_text (tc_opt_v2_freeze_towers); says what it froze when verbose. */
static void freeze_towers(tc_model *m, int vit, int text, int verbose) {
    int n[2];
    size_t floats[2];
    tc_opt_v2_freeze_towers(m, vit, text, n, floats);
    for (int k = 0; k < 2 && verbose; k++)
        if (k ? text : vit)
            printf("pretrain: %s frozen (%d tensors, %.2f M parameters)\n", k ? "text tower" : "ViT", n[k], floats[k] / 1e6);
}

/* ---------------------------------------------------------------- opt-v1 */

typedef struct v1_paths {
    const char *run, *image_root, *vocab, *ids2tok, *meta;
    char val_file[1100];
} v1_paths;

/* Zero-shot retrieval for v1 with taichu's ITC features: text alone and image alone through the cross encoder
 * and the pooler, L2-normalised, cosine similarity (tasks_v1.h). Five captions per image. */
static int eval_itc_v1(tc_model *m, const char *caption_file, const char *image_root, int max_images,
                       tc_retrieval_scores *out) {
    tc_ds_opts dopt = tc_ds_opts_default();
    dopt.vocab_size = m->cfg.vocab_size;
    tc_ds_captions ds;
    if (tc_ds_load_captions(caption_file, image_root, TC_DS_CAPS_FIVE, &dopt, &ds)) return -1;
    int ni = max_images > 0 && max_images < ds.n ? max_images : ds.n, nt = 5 * ni;
    tc_v1_loader_cfg lc = tc_v1_loader_cfg_for(&m->cfg, NULL);
    lc.base.prefetch = 0;
    lc.base.cache_mb = 0;
    tc_ds_captions view = ds;
    view.n = ni;
    tc_v1_loader *L = tc_v1_loader_open(&view, &lc);
    if (!L) { tc_ds_captions_free(&ds); return -1; }
    int E = m->cfg.hidden_size, chunk = 64, rc = 0;
    float *ie = tc_xmalloc(sizeof(float) * (size_t)ni * E), *te = tc_xmalloc(sizeof(float) * (size_t)nt * E);
    tc_sample *s = tc_xmalloc(sizeof(tc_sample) * (size_t)chunk);
    tc_graph *g = tc_graph_new();
    for (int pass = 0; pass < 2 && rc == 0; pass++) { /* 0: texts (image k/5, caption k%5), 1: images */
        int total = pass ? ni : nt;
        for (int k0 = 0; rc == 0 && k0 < total; k0 += chunk) {
            int n = total - k0 < chunk ? total - k0 : chunk;
            for (int i = 0; i < n; i++) s[i] = pass ? (tc_sample){k0 + i, 0} : (tc_sample){(k0 + i) / 5, (k0 + i) % 5};
            const tc_v1_batch *b = tc_v1_loader_get(L, 0, s, n);
            if (!b) { rc = -1; break; }
            tc_graph_reset(g);
            tc_graph_set_mode(g, 0, 0, 0, 0);
            tc_tensor *e = pass ? tc_v1_pooled_image(g, m, b->patches, n) : tc_v1_pooled_text(g, m, b->ids, b->valid, n, b->Tt);
            if (!e) { rc = -1; break; }
            float *dst = pass ? ie : te;
            for (int i = 0; i < n; i++) memcpy(dst + (size_t)(k0 + i) * E, e->data + (size_t)i * e->stride[0], sizeof(float) * E);
        }
    }
    if (rc == 0) rc = itc_recall(ie, te, ni, nt, E, out);
    tc_graph_free(g);
    free(s);
    free(ie);
    free(te);
    tc_v1_loader_close(L);
    tc_ds_captions_free(&ds);
    return rc;
}

/* The v1 defaults when the config names no tasks: the original's pretrain_all_base.json runs mlmThree and
 * itmThree; taichu adds MVM and ITC (when the model has the taichu_itc temperatures), the audio tasks when the
 * dataset has speech, and the modality-level tasks (TD; ID when it has VQ tokens). */
static int v1_default_tasks(pt_cfg *c, int has_audio, int has_tokens, int has_itc) {
    const char *names[TC_PT_MAX_TASKS];
    int n = 0;
    names[n++] = "mlmThree";
    names[n++] = "itmThree";
    names[n++] = "mrfrThree";
    if (has_itc) names[n++] = "itc";
    if (has_audio) { names[n++] = "mafrThree"; names[n++] = "macThree"; }
    if (has_audio && has_itc) names[n++] = "itc_audio";
    if (tc_v1_task_by_name("tdThree", NULL, NULL)) names[n++] = "tdThree";
    if (has_tokens && tc_v1_task_by_name("idThree", NULL, NULL)) names[n++] = "idThree";
    for (int i = 0; i < n; i++) { snprintf(c->tasks[i], sizeof c->tasks[i], "%s", names[i]); c->mix[i] = 1; }
    c->ntasks = n;
    return 0;
}

static int run_v1(pt_cfg *c, const tc_pretrain_opts *o, tc_model *m, const tc_ds_captions *ds, const v1_paths *p,
                  const char *cfg_json) {
    const char *cfgname = o->config ? o->config : "config";
    if (c->vit_freeze || c->freeze_text)
        return tc_error_set("%s: fields \"vit_freeze\" / \"freeze_text\" apply to opt-v2 models only (an opt-v1 "
                            "model trains every part)", cfgname);
    tc_v1_loader_cfg lc = tc_v1_loader_cfg_for(&m->cfg, o->data);
    if (c->audio_dir[0] && m->cfg.audio_dim > 0) resolve(lc.audio_dir, sizeof lc.audio_dir, c->audio_dir, o->data);
    if (c->token_dir[0] && lc.img_tokens > 0) resolve(lc.token_dir, sizeof lc.token_dir, c->token_dir, o->data);
    lc.base.seed = c->seed;
    lc.base.skip_bad = o->skip_bad;
    tc_v1_loader *L = tc_v1_loader_open(ds, &lc);
    if (!L) return -1;
    int has_audio = tc_v1_loader_has_audio(L), has_tokens = tc_v1_loader_has_tokens(L);
    if (!c->tasks_given) v1_default_tasks(c, has_audio, has_tokens, tc_opt_v1_of(m)->itc_scale_img != NULL);

    tc_v1_tasks vt;
    tc_v1_tasks_init(&vt, m, L, ds, c->batch, c->seed);
    vt.mask_mode = c->mlm_mode;
    vt.mrm_prob = (float)c->mrm_prob;
    read_vrange(p->meta, &vt.rand_lo, &vt.rand_hi);
    if (vt.rand_hi > m->cfg.vocab_size) vt.rand_hi = m->cfg.vocab_size;

    /* the folders looked for, for the messages */
    char want_audio[1100], want_tokens[1100];
    if (c->audio_dir[0]) resolve(want_audio, sizeof want_audio, c->audio_dir, o->data);
    else snprintf(want_audio, sizeof want_audio, "%s/audio", o->data);
    if (c->token_dir[0]) resolve(want_tokens, sizeof want_tokens, c->token_dir, o->data);
    else snprintf(want_tokens, sizeof want_tokens, "%s/img_tokens", o->data);
    tc_train_task tasks[TC_PT_MAX_TASKS];
    int nt = 0, rc = 0, itc = 0;
    for (int i = 0; i < c->ntasks && rc == 0; i++) {
        int na = 0, ntok = 0;
        tc_task_loss_fn f = tc_v1_task_by_name(c->tasks[i], &na, &ntok);
        if (!f)
            rc = tc_error_set("%s: field \"train_datasets[0].tasks\": unknown opt-v1 task \"%s\" (expected mlmThree, "
                              "mrfrThree, mafrThree, macThree, itmThree, itc, itc_audio, tdThree, idThree or the short "
                              "names mlm, mvm, mam, mac, itm3, td, id)", cfgname, c->tasks[i]);
        else if (na && m->cfg.audio_dim <= 0)
            rc = tc_error_set("%s: task \"%s\" needs audio, but the model has no audio path (audio_dim 0)", cfgname, c->tasks[i]);
        else if (na && !has_audio)
            rc = tc_error_set("%s: task \"%s\" needs audio, but %s %s (a `taichu synth --no-audio` set?)", cfgname, c->tasks[i],
                              want_audio, lc.audio_dir[0] ? "holds no speech for the training images" : "does not exist");
        else if (ntok && !has_tokens)
            rc = tc_error_set("%s: task \"%s\" needs VQ image tokens, but %s is missing or the model has no image decoder",
                              cfgname, c->tasks[i], want_tokens);
        else {
            tasks[nt++] = (tc_train_task){c->tasks[i], c->mix[i], 1.0f, f, &vt};
            itc |= f == tc_v1_task_itc;
        }
    }
    if (rc == 0 && itc && !tc_opt_v1_of(m)->itc_scale_img)
        rc = tc_error_set("pretrain: task \"itc\" needs the model's taichu_itc temperatures: the --init model has itc_dim 0 "
                          "(set it to hidden_size %d in its config.json)", m->cfg.hidden_size);
    tc_trainer_cfg tc = trainer_cfg(c, o, p->run, ds->n, cfg_json);
    tc.sum_tasks = c->sum_tasks > 0;
    eval_ctx ec = {m, p->val_file, p->image_root, c->eval_images};
    if (itc && tc_file_exists(p->val_file)) { /* retrieval needs the ITC features (documented) */
        tc.eval = eval_fn;
        tc.eval_user = &ec;
        tc.eval_every = c->eval_every;
    }
    if (rc == 0) {
        printf("pretrain: opt-v1, %d tasks:", nt);
        for (int i = 0; i < nt; i++) printf(" %s", tasks[i].name);
        printf(" (%s; audio: %s, %d spoken images; VQ tokens: %s)\n", tc.sum_tasks ? "summed" : "MetaLoader",
               has_audio ? lc.audio_dir : "none", tc_v1_loader_spoken_items(L), has_tokens ? lc.token_dir : "none");
        fflush(stdout);
    }
    tc_dist dist;
    tc_dist_init(&dist, NULL, NULL);
    if (rc == 0) rc = tc_train(&tc, &m->params, tasks, nt, &dist, o->resume ? TC_START_RESUME : TC_START_FRESH);
    if (rc == 0 && dist.rank == 0) {
        char mdir[1100];
        snprintf(mdir, sizeof mdir, "%s/model", p->run);
        rc = tc_model_save_dir(m, mdir, tc_file_exists(p->vocab) ? p->vocab : NULL, tc_file_exists(p->ids2tok) ? p->ids2tok : NULL);
        tc_loader_stats st;
        tc_loader_get_stats(tc_v1_loader_base(L), &st);
        if (rc == 0)
            printf("pretrain: model -> %s (loader: %ld batches, %ld prefetched, %.1f s building, %d bad samples skipped; "
                   "itmThree labels %ld/%ld/%ld/%ld/%ld)\n", mdir, st.batches, st.prefetch_hits, st.build_s, st.skipped,
                   vt.itm3_label[0], vt.itm3_label[1], vt.itm3_label[2], vt.itm3_label[3], vt.itm3_label[4]);
        if (rc == 0 && vt.itm3_seen > 0) /* over the whole run, i.e. mostly the early, untrained steps */
            printf("pretrain: itmThree training accuracy %.1f %% over %ld rows (chance 20 %%)\n",
                   100.0 * (double)vt.itm3_correct / (double)vt.itm3_seen, vt.itm3_seen);
    }
    tc_dist_finalize(&dist);
    tc_v1_tasks_free(&vt);
    tc_v1_loader_close(L);
    return rc;
}

int tc_pretrain_run(const tc_pretrain_opts *o) {
    pt_cfg c;
    cfg_defaults(&c);
    char *cfg_json = NULL;
    const char *run = o->resume ? o->resume : o->out;
    if (!run) return tc_error_set("pretrain: --out RUN (or --resume RUN) is required");
    if (!o->data) return tc_error_set("pretrain: --data DIR is required");
    if (o->config && parse_cfg(o->config, &c, &cfg_json)) return -1;
    if (o->batch > 0) c.batch = o->batch;
    if (o->lr > 0) c.lr = o->lr;
    if (o->warmup >= 0) c.warmup = o->warmup;
    if (o->eval_every >= 0) c.eval_every = o->eval_every;
    if (o->eval_images > 0) c.eval_images = o->eval_images;

    char train_file[1100], image_root[1100], val_file[1100], vocab[1100], ids2tok[1100], meta[1100];
    resolve(train_file, sizeof train_file, c.train_file[0] ? c.train_file : "dataset/text/json_coco_train_zh_token.json", o->data);
    resolve(image_root, sizeof image_root, c.image_root[0] ? c.image_root : "dataset/image", o->data);
    resolve(val_file, sizeof val_file, c.val_file[0] ? c.val_file : "dataset/text/flickr30k_test_zh_token.json", o->data);
    snprintf(vocab, sizeof vocab, "%s/text/bert-base-chinese-vocab.txt", o->data);
    snprintf(ids2tok, sizeof ids2tok, "%s/text/ids_to_tokens_zh.json", o->data);
    snprintf(meta, sizeof meta, "%s/text/meta.json", o->data);
    int ds_vocab = 0;
    if (tc_file_exists(vocab) && count_lines(vocab, &ds_vocab)) { free(cfg_json); return -1; }

    /* model: RUN/model_config.json on resume, else --init DIR, else preset / model_config */
    tc_model m;
    tc_model_config mc;
    char saved_mc[1100];
    snprintf(saved_mc, sizeof saved_mc, "%s/model_config.json", run);
    int rc;
    if (o->resume) {
        rc = tc_model_config_load(saved_mc, &mc);
        if (rc == 0) rc = tc_model_create(&m, &mc, c.seed);
    } else if (o->init) {
        rc = tc_model_load_dir(&m, o->init);
    } else {
        rc = model_config_for(&c, o, ds_vocab, &mc);
        if (rc == 0) rc = tc_model_create(&m, &mc, c.seed);
    }
    if (rc) { free(cfg_json); return -1; }
    if (!o->resume) {
        /* never overwrite the model config of an existing run (the trainer refuses it too, but later) */
        char latest[1100];
        snprintf(latest, sizeof latest, "%s/checkpoints/LATEST", run);
        if (tc_file_exists(latest)) {
            tc_model_free(&m);
            free(cfg_json);
            return tc_error_set("pretrain: %s already holds a run with checkpoints; use --resume %s or a new --out", run, run);
        }
        if (tc_mkdir_p(run) || tc_model_config_save(saved_mc, &m.cfg)) { tc_model_free(&m); free(cfg_json); return -1; }
    }

    tc_ds_opts dopt = tc_ds_opts_default();
    dopt.vocab_size = m.cfg.vocab_size;
    dopt.skip_bad = o->skip_bad;
    tc_ds_captions ds;
    if (tc_ds_load_captions(train_file, image_root, TC_DS_CAPS_SOME, &dopt, &ds)) { tc_model_free(&m); free(cfg_json); return -1; }
    if (ds.report.skipped)
        fprintf(stderr, "pretrain: skipped %d bad entries of %s, first: %s\n", ds.report.skipped, train_file, ds.report.first_skip);
    if (m.cfg.arch == TC_ARCH_V1) {
        v1_paths paths = {run, image_root, vocab, ids2tok, meta, ""};
        if (c.val_file[0]) snprintf(paths.val_file, sizeof paths.val_file, "%s", val_file);
        else snprintf(paths.val_file, sizeof paths.val_file, "%s/text/synth_val_zh_token.json", o->data);
        rc = run_v1(&c, o, &m, &ds, &paths, cfg_json);
        tc_ds_captions_free(&ds);
        tc_model_free(&m);
        free(cfg_json);
        return rc;
    }

    tc_loader_cfg lc = tc_loader_cfg_v2(m.cfg.train_image_size, m.cfg.max_text_len);
    lc.seed = c.seed;
    lc.augment = c.augment;
    lc.skip_bad = o->skip_bad;
    tc_loader *L = tc_loader_open(&ds, &lc);
    if (!L) { tc_ds_captions_free(&ds); tc_model_free(&m); free(cfg_json); return -1; }

    tc_v2_tasks vt;
    tc_v2_tasks_init(&vt, &m, L, &ds, c.batch, c.seed);
    vt.mlm_mode = c.mlm_mode;
    vt.itm_neg = c.itm_neg;
    vt.itm_hard_from = (long)c.itm_hard_from;
    vt.itm_rows = (int)c.itm_rows;
    read_vrange(meta, &vt.rand_lo, &vt.rand_hi);
    if (vt.rand_hi > m.cfg.vocab_size) vt.rand_hi = m.cfg.vocab_size;

    /* tasks: "itmTwo" (the v2 original's single task) = MLM + ITC + ITM summed on one batch */
    tc_train_task tasks[8];
    int nt = 0, sum = c.sum_tasks;
    rc = 0;
    for (int i = 0; i < c.ntasks && rc == 0; i++) {
        if (strcmp(c.tasks[i], "itmTwo") == 0) {
            if (c.ntasks != 1) rc = tc_error_set("%s: task \"itmTwo\" (MLM + ITC + ITM) cannot be mixed with others; list mlm, itc, itm instead", o->config);
            static const char *const three[3] = {"mlm", "itc", "itm"};
            for (int k = 0; k < 3; k++) tasks[nt++] = (tc_train_task){three[k], 1, 1.0f, tc_v2_task_by_name(three[k]), &vt};
            if (sum < 0) sum = 1;
            continue;
        }
        tc_task_loss_fn f = tc_v2_task_by_name(c.tasks[i]);
        if (!f) rc = tc_error_set("%s: field \"train_datasets[0].tasks\": unknown opt-v2 task \"%s\" (expected itmTwo, mlm, itc, itm)",
                                  o->config ? o->config : "config", c.tasks[i]);
        else tasks[nt++] = (tc_train_task){c.tasks[i], c.mix[i], 1.0f, f, &vt};
    }
    if (sum < 0) sum = 0;

    tc_trainer_cfg tc = trainer_cfg(&c, o, run, ds.n, cfg_json);
    tc.sum_tasks = sum;
    eval_ctx ec = {&m, val_file, image_root, c.eval_images};
    if (tc_file_exists(val_file)) {
        tc.eval = eval_fn;
        tc.eval_user = &ec;
        tc.eval_every = c.eval_every;
    }
    /* weight decay: the architecture set its rule at creation (norms, biases, the position-id buffer and the
     * temperature are exempt), which tc_opt_decay_exclude alone would break (position_ids would decay) */
    tc_dist dist;
    tc_dist_init(&dist, NULL, NULL);
    if (rc == 0) freeze_towers(&m, c.vit_freeze, c.freeze_text, dist.rank == 0);
    if (rc == 0 && dist.rank == 0 && (c.vit_freeze || c.freeze_text) && !o->init && !o->resume)
        fprintf(stderr, "pretrain: warning: %s: vit_freeze / freeze_text on a freshly initialised model keep those "
                        "towers random (the original freezes a pretrained CLIP ViT and text tower); start from a "
                        "trained model with --init\n", o->config ? o->config : "config");
    if (rc == 0) rc = tc_train(&tc, &m.params, tasks, nt, &dist, o->resume ? TC_START_RESUME : TC_START_FRESH);
    if (rc == 0 && dist.rank == 0) {
        char mdir[1100];
        snprintf(mdir, sizeof mdir, "%s/model", run);
        rc = tc_model_save_dir(&m, mdir, tc_file_exists(vocab) ? vocab : NULL, tc_file_exists(ids2tok) ? ids2tok : NULL);
        tc_loader_stats st;
        tc_loader_get_stats(L, &st);
        if (rc == 0)
            printf("pretrain: model -> %s (loader: %ld batches, %ld prefetched, %.1f s building, %d bad samples skipped)\n",
                   mdir, st.batches, st.prefetch_hits, st.build_s, st.skipped);
    }
    tc_dist_finalize(&dist);
    tc_v2_tasks_free(&vt);
    tc_loader_close(L);
    tc_ds_captions_free(&ds);
    tc_model_free(&m);
    free(cfg_json);
    return rc;
}
