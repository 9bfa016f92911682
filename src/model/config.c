#include "model/config.h"
#include "core/error.h"
#include "core/fileio.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Every key, its type and where it lives: one table drives parsing, saving and docs/config.md. */
typedef enum { K_INT, K_FLOAT, K_STR } key_type;
typedef struct { const char *key; key_type type; size_t off; size_t size; } key_spec;
#define KI(k) {#k, K_INT, offsetof(tc_model_config, k), 0}
#define KF(k) {#k, K_FLOAT, offsetof(tc_model_config, k), 0}
#define KS(k) {#k, K_STR, offsetof(tc_model_config, k), sizeof(((tc_model_config *)0)->k)}
static const key_spec keys[] = {
    KI(hidden_size), KI(num_hidden_layers), KI(num_attention_heads), KI(intermediate_size),
    KI(vocab_size), KI(max_position_embeddings), KI(type_vocab_size), KS(hidden_act),
    KF(layer_norm_eps), KF(hidden_dropout_prob), KF(attention_probs_dropout_prob),
    KI(patch_size), KI(train_image_size), KI(vit_hidden_size), KI(vit_num_layers), KI(vit_num_heads),
    KI(vit_intermediate_size), KI(text_num_layers), KI(audio_num_layers), KI(audio_dim), KI(max_audio_len),
    KI(max_text_len), KI(dec_hidden_size), KI(dec_num_layers), KI(dec_num_heads), KI(dec_intermediate_size),
    KI(dec_max_position), KI(txt_dec_vocab_size), KI(img_dec_vocab_size), KI(img_token_len), KF(dec_dropout),
    KF(label_smoothing), KI(itc_dim),
};

static void v1_1b(tc_model_config *c) {
    /* spec §1.2 and src/config/transformer_config.py of the original */
    *c = (tc_model_config){
        .arch = TC_ARCH_V1, .hidden_size = 2048, .num_hidden_layers = 12, .num_attention_heads = 32,
        .intermediate_size = 8192, .vocab_size = 28996, .max_position_embeddings = 512, .type_vocab_size = 3,
        .hidden_act = "gelu", .layer_norm_eps = 1e-5f, .hidden_dropout_prob = 0.1f, .attention_probs_dropout_prob = 0.1f,
        .patch_size = 32, .train_image_size = 448, .vit_hidden_size = 768, .vit_num_layers = 12, .vit_num_heads = 12,
        .vit_intermediate_size = 3072, .text_num_layers = 0, .audio_num_layers = 0, .audio_dim = 1024,
        .max_audio_len = 50, .max_text_len = 48, .dec_hidden_size = 1024, .dec_num_layers = 6, .dec_num_heads = 16,
        .dec_intermediate_size = 4096, .dec_max_position = 150, .txt_dec_vocab_size = 36560,
        .img_dec_vocab_size = 8192, .img_token_len = 64, .dec_dropout = 0.2f, .label_smoothing = 0.1f, .itc_dim = 0,
    };
    strcpy(c->preset, "opt-v1-1b");
}

static void v1_10b(tc_model_config *c) {
    v1_1b(c);
    c->hidden_size = 4096; c->num_hidden_layers = 48; c->num_attention_heads = 32; c->intermediate_size = 16384;
    c->vit_num_heads = 16;
    strcpy(c->preset, "opt-v1-10b");
}

static void v2_base(tc_model_config *c) {
    /* spec Appendix A: config/pretrain/model_base.json + CLIP ViT-B/16 + the VQA decoder */
    *c = (tc_model_config){
        .arch = TC_ARCH_V2, .hidden_size = 768, .num_hidden_layers = 6, .num_attention_heads = 12,
        .intermediate_size = 3072, .vocab_size = 21128, .max_position_embeddings = 512, .type_vocab_size = 3,
        .hidden_act = "gelu", .layer_norm_eps = 1e-5f, .hidden_dropout_prob = 0.1f, .attention_probs_dropout_prob = 0.1f,
        .patch_size = 16, .train_image_size = 224, .vit_hidden_size = 768, .vit_num_layers = 12, .vit_num_heads = 12,
        .vit_intermediate_size = 3072, .text_num_layers = 6, .audio_num_layers = 0, .audio_dim = 0, .max_audio_len = 0,
        .max_text_len = 48, .dec_hidden_size = 1024, .dec_num_layers = 6, .dec_num_heads = 16,
        .dec_intermediate_size = 4096, .dec_max_position = 150, .txt_dec_vocab_size = 21128, .img_dec_vocab_size = 0,
        .img_token_len = 0, .dec_dropout = 0.2f, .label_smoothing = 0.1f, .itc_dim = 512,
    };
    strcpy(c->preset, "opt-v2-base");
}

/* Tiny presets: the same architectures at CPU-training size for the built-in dataset and the tests.
 * 64-px images in 8-px patches (64 patches), an 80-bin fbank stacked 4 frames per audio token (320-d). */
static void v1_tiny(tc_model_config *c) {
    v1_1b(c);
    c->hidden_size = 128; c->num_hidden_layers = 2; c->num_attention_heads = 4; c->intermediate_size = 512;
    c->vocab_size = 21128; c->max_position_embeddings = 128;
    c->patch_size = 8; c->train_image_size = 64;
    c->vit_hidden_size = 128; c->vit_num_layers = 2; c->vit_num_heads = 4; c->vit_intermediate_size = 512;
    c->audio_num_layers = 0; c->audio_dim = 320; c->max_audio_len = 32; c->max_text_len = 30;
    c->dec_hidden_size = 128; c->dec_num_layers = 2; c->dec_num_heads = 4; c->dec_intermediate_size = 512;
    c->dec_max_position = 64; c->txt_dec_vocab_size = 21128; c->img_dec_vocab_size = 512; c->img_token_len = 64;
    c->dec_dropout = 0.1f;
    strcpy(c->preset, "opt-v1-tiny");
}

static void v2_tiny(tc_model_config *c) {
    v2_base(c);
    c->hidden_size = 128; c->num_hidden_layers = 2; c->num_attention_heads = 4; c->intermediate_size = 512;
    c->max_position_embeddings = 128;
    /* 16-px patches (a 4x4 grid): at the same ITC step, text->image R@1 on the built-in data was higher than
     * with 8-px patches (8x8 grid), and a step costs about half (docs/training.md, issue-5 runs) */
    c->patch_size = 16; c->train_image_size = 64;
    c->vit_hidden_size = 128; c->vit_num_layers = 2; c->vit_num_heads = 4; c->vit_intermediate_size = 512;
    c->text_num_layers = 2; c->max_text_len = 30;
    c->dec_hidden_size = 128; c->dec_num_layers = 2; c->dec_num_heads = 4; c->dec_intermediate_size = 512;
    c->dec_max_position = 64; c->dec_dropout = 0.1f; c->itc_dim = 64;
    /* no dropout in the text encoder and the fusion: a few minutes of CPU pre-training on the built-in data
     * are far from overfitting, and dropout halved the ITC R@1 reached in 200 steps (docs/training.md) */
    c->hidden_dropout_prob = 0.0f; c->attention_probs_dropout_prob = 0.0f;
    strcpy(c->preset, "opt-v2-tiny");
}

static const struct { const char *name; void (*fill)(tc_model_config *); } presets[] = {
    {"opt-v1-1b", v1_1b}, {"opt-v1-10b", v1_10b}, {"opt-v2-base", v2_base},
    {"opt-v1-tiny", v1_tiny}, {"opt-v2-tiny", v2_tiny},
};
static const char *const preset_names[] = {"opt-v1-1b", "opt-v1-10b", "opt-v2-base", "opt-v1-tiny", "opt-v2-tiny", NULL};

const char *const *tc_model_config_preset_names(void) { return preset_names; }

int tc_model_config_preset(const char *name, tc_model_config *cfg) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(name, presets[i].name) == 0) { presets[i].fill(cfg); return 0; }
    return tc_error_set("unknown model preset \"%s\" (expected one of: opt-v1-1b, opt-v1-10b, opt-v2-base, "
                        "opt-v1-tiny, opt-v2-tiny)", name);
}

const char *tc_arch_name(tc_arch a) { return a == TC_ARCH_V2 ? "opt-v2" : "opt-v1"; }

int tc_model_config_num_patches(const tc_model_config *cfg) {
    int g = cfg->train_image_size / cfg->patch_size;
    return g * g;
}

int tc_model_config_parse(const char *json, const char *name, tc_model_config *cfg) {
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); return tc_error_set("%s: not a JSON object", name); }
    const cJSON *preset = cJSON_GetObjectItemCaseSensitive(root, "preset");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "arch");
    int rc = 0;
    if (cJSON_IsString(preset)) {
        rc = tc_model_config_preset(preset->valuestring, cfg);
        if (rc) tc_error_prefix("%s: field \"preset\"", name);
    } else if (cJSON_IsString(arch) && strcmp(arch->valuestring, "opt-v1") == 0) {
        v1_1b(cfg);
    } else if (cJSON_IsString(arch) && strcmp(arch->valuestring, "opt-v2") == 0) {
        v2_base(cfg);
    } else if (!arch) {
        v1_1b(cfg); /* the original's v1 configs carry no arch key */
    } else {
        rc = tc_error_set("%s: field \"arch\": expected \"opt-v1\" or \"opt-v2\"", name);
    }
    if (cJSON_IsString(arch) && cJSON_IsString(preset) && rc == 0 && strcmp(arch->valuestring, tc_arch_name(cfg->arch)) != 0)
        rc = tc_error_set("%s: field \"arch\" (%s) contradicts preset %s", name, arch->valuestring, preset->valuestring);
    for (size_t i = 0; rc == 0 && i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i].key);
        if (!v) continue;
        char *dst = (char *)cfg + keys[i].off;
        if (keys[i].type == K_INT) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
                rc = tc_error_set("%s: field \"%s\": expected an integer", name, keys[i].key);
            else *(int *)dst = (int)v->valuedouble;
        } else if (keys[i].type == K_FLOAT) {
            if (!cJSON_IsNumber(v)) rc = tc_error_set("%s: field \"%s\": expected a number", name, keys[i].key);
            else *(float *)dst = (float)v->valuedouble;
        } else {
            if (!cJSON_IsString(v) || strlen(v->valuestring) >= keys[i].size)
                rc = tc_error_set("%s: field \"%s\": expected a short string", name, keys[i].key);
            else strcpy(dst, v->valuestring);
        }
    }
    /* the preset a saved model started from (informational, written by tc_model_config_save): without it a
     * reloaded opt-v2-tiny would call itself opt-v2-base, the defaults "arch" selects */
    const cJSON *origin = cJSON_GetObjectItemCaseSensitive(root, "preset_origin");
    if (rc == 0 && cJSON_IsString(origin) && strlen(origin->valuestring) < sizeof cfg->preset)
        strcpy(cfg->preset, origin->valuestring);
    cJSON_Delete(root);
    if (rc) return rc;
    return tc_model_config_validate(cfg, name);
}

int tc_model_config_load(const char *path, tc_model_config *cfg) {
    char *text = tc_read_file(path, NULL);
    if (!text) return -1;
    int rc = tc_model_config_parse(text, path, cfg);
    free(text);
    return rc;
}

int tc_model_config_validate(const tc_model_config *c, const char *name) {
#define NEED(cond, key, what) \
    if (!(cond)) return tc_error_set("%s: field \"%s\": %s", name, key, what)
    NEED(c->hidden_size > 0, "hidden_size", "must be positive");
    NEED(c->num_hidden_layers >= 0, "num_hidden_layers", "must be >= 0");
    NEED(c->num_attention_heads > 0 && c->hidden_size % c->num_attention_heads == 0, "num_attention_heads",
         "must divide hidden_size");
    NEED(c->intermediate_size > 0, "intermediate_size", "must be positive");
    NEED(c->vocab_size > 0, "vocab_size", "must be positive");
    NEED(c->type_vocab_size >= 3, "type_vocab_size", "must be at least 3 (text, image, audio)");
    NEED(strcmp(c->hidden_act, "gelu") == 0 || strcmp(c->hidden_act, "gelu_erf") == 0, "hidden_act",
         "expected \"gelu\" or \"gelu_erf\"");
    NEED(c->layer_norm_eps > 0, "layer_norm_eps", "must be positive");
    NEED(c->hidden_dropout_prob >= 0 && c->hidden_dropout_prob < 1, "hidden_dropout_prob", "must be in [0, 1)");
    NEED(c->attention_probs_dropout_prob >= 0 && c->attention_probs_dropout_prob < 1, "attention_probs_dropout_prob",
         "must be in [0, 1)");
    NEED(c->patch_size > 0 && c->train_image_size > 0 && c->train_image_size % c->patch_size == 0, "patch_size",
         "must divide train_image_size");
    NEED(c->vit_hidden_size > 0 && c->vit_num_heads > 0 && c->vit_hidden_size % c->vit_num_heads == 0, "vit_num_heads",
         "must divide vit_hidden_size");
    NEED(c->vit_num_layers >= 0 && c->vit_intermediate_size > 0, "vit_num_layers", "must be >= 0");
    NEED(c->text_num_layers >= 0, "text_num_layers", "must be >= 0");
    NEED(c->audio_num_layers >= 0 && c->audio_dim >= 0, "audio_dim", "must be >= 0");
    NEED(c->max_text_len > 0 && c->max_text_len + 2 <= c->max_position_embeddings, "max_text_len",
         "plus [CLS]/[SEP] must fit max_position_embeddings");
    int img_tokens = tc_model_config_num_patches(c) + 1;
    NEED(img_tokens <= c->max_position_embeddings, "max_position_embeddings",
         "must cover the image tokens ((train_image_size/patch_size)^2 + 1)");
    NEED(c->dec_hidden_size > 0 && c->dec_num_heads > 0 && c->dec_hidden_size % c->dec_num_heads == 0, "dec_num_heads",
         "must divide dec_hidden_size");
    NEED(c->dec_hidden_size % 2 == 0, "dec_hidden_size", "must be even (sinusoid halves)");
    NEED(c->dec_num_layers >= 0 && c->dec_intermediate_size > 0, "dec_num_layers", "must be >= 0");
    NEED(c->txt_dec_vocab_size > 0, "txt_dec_vocab_size", "must be positive");
    NEED(c->img_dec_vocab_size >= 0, "img_dec_vocab_size", "must be >= 0");
    NEED(c->dec_dropout >= 0 && c->dec_dropout < 1, "dec_dropout", "must be in [0, 1)");
    NEED(c->label_smoothing >= 0 && c->label_smoothing < 1, "label_smoothing", "must be in [0, 1)");
    NEED(c->arch != TC_ARCH_V2 || c->itc_dim > 0, "itc_dim", "must be positive for opt-v2");
    NEED(c->arch != TC_ARCH_V2 || c->vit_hidden_size == c->hidden_size, "vit_hidden_size",
         "must equal hidden_size for opt-v2 (fusion cross-attends to ViT tokens directly)");
#undef NEED
    return 0;
}

int tc_model_config_save(const char *path, const tc_model_config *cfg) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "arch", tc_arch_name(cfg->arch));
    if (cfg->preset[0]) cJSON_AddStringToObject(root, "preset_origin", cfg->preset);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *src = (const char *)cfg + keys[i].off;
        if (keys[i].type == K_INT) cJSON_AddNumberToObject(root, keys[i].key, *(const int *)src);
        else if (keys[i].type == K_FLOAT) {
            /* print floats at float precision so 0.1f is written as 0.1, not 0.10000000149 */
            char buf[32];
            snprintf(buf, sizeof buf, "%.7g", (double)*(const float *)src);
            cJSON_AddItemToObject(root, keys[i].key, cJSON_CreateRaw(buf));
        } else cJSON_AddStringToObject(root, keys[i].key, src);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = strlen(text);
    text = tc_xrealloc(text, n + 2);
    text[n] = '\n'; text[n + 1] = 0;
    int rc = tc_write_file_atomic(path, text, n + 1);
    free(text);
    return rc;
}
