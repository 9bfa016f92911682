/* Model configuration: config.json in a model directory (Hugging Face convention), using the original's
 * key names plus explicit keys for what the original hard-wires (docs/config.md lists every key).
 * Presets: opt-v1-1b, opt-v1-10b, opt-v2-base, and the CPU-sized opt-v1-tiny and opt-v2-tiny. */
#ifndef TC_MODEL_CONFIG_H
#define TC_MODEL_CONFIG_H

typedef enum { TC_ARCH_V1 = 1, TC_ARCH_V2 = 2 } tc_arch;

typedef struct tc_model_config {
    tc_arch arch;
    char preset[32];              /* informational: which preset it started from */
    /* cross-modal encoder (v1) / fusion decoder (v2) and the text embeddings */
    int hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
    int vocab_size, max_position_embeddings, type_vocab_size;
    char hidden_act[16];          /* "gelu" (tanh form, MindSpore's GeLU) or "gelu_erf" */
    float layer_norm_eps, hidden_dropout_prob, attention_probs_dropout_prob;
    /* vision encoder */
    int patch_size, train_image_size;
    int vit_hidden_size, vit_num_layers, vit_num_heads, vit_intermediate_size;
    /* single-modal text/audio encoders (v1: 0 layers; the cross encoder contextualises) */
    int text_num_layers, audio_num_layers, audio_dim, max_audio_len;
    int max_text_len;             /* word pieces before [CLS]/[SEP] are added (48 in the original) */
    /* v1 cross-modal decoders (text and VQ image tokens); v2 VQA decoder */
    int dec_hidden_size, dec_num_layers, dec_num_heads, dec_intermediate_size, dec_max_position;
    int txt_dec_vocab_size, img_dec_vocab_size, img_token_len;
    float dec_dropout, label_smoothing;
    /* v2 contrastive projections */
    int itc_dim;
} tc_model_config;

/* Fill cfg from a preset name. Returns -1 (message lists the presets) for an unknown name. */
int tc_model_config_preset(const char *name, tc_model_config *cfg);
/* Names of the presets, NULL-terminated. */
const char *const *tc_model_config_preset_names(void);
/* Read config.json: "arch" (or "preset") selects the defaults, then every known key overrides them.
 * Unknown keys (the original's configs carry many unused leftovers) are ignored. Validates the result. */
int tc_model_config_load(const char *path, tc_model_config *cfg);
int tc_model_config_parse(const char *json, const char *name, tc_model_config *cfg);
/* Write every key (atomic). */
int tc_model_config_save(const char *path, const tc_model_config *cfg);
/* Check divisibility and ranges; the message names the offending key. */
int tc_model_config_validate(const tc_model_config *cfg, const char *name);
const char *tc_arch_name(tc_arch a); /* "opt-v1" / "opt-v2" */

/* Derived sizes. */
int tc_model_config_num_patches(const tc_model_config *cfg); /* (image/patch)^2 */

#endif
