/* The OPT-v1 pre-training batch (docs/training.md, "OPT-v1 pre-training"): text, image patches, audio
 * features, VQ image tokens and decoder targets of B samples, built from the built-in dataset that
 * `taichu synth` writes (v2-layout captions, DIR/audio speech, DIR/img_tokens VQ codes).
 *
 * It is the v2 loader (data/loader.h) with a per-row extension: the same image cache, prefetch thread and
 * "pure function of (seed, key, samples)" contract; the extension adds, per row and in the worker, the v1
 * patches (ImageNet statistics at the model's size, tc_image_patchify with the zero pad row), the audio
 * features and the VQ tokens.
 *
 * Audio of image "synth/synth_NNNNNN.jpg", caption K: <audio_dir>/synth/synth_NNNNNN_K.npz (the original's
 * precomputed [T, Da] features, key "feat") or, failing that, .../synth_NNNNNN_K.wav (taichu's fbank path:
 * 80 log-mel bins, 4 frames stacked per token every 100 ms = 320 dims, normalised per dimension with the mean and
 * standard deviation over the first audio_stats spoken items of the set). A caption without its own speech uses the item's first spoken caption (synth
 * speaks caption 0 only, unless --speak-all); an item without speech gets no audio rows (Ta_b = 0).
 * VQ tokens: <token_dir>/synth/synth_NNNNNN.npz key "feat" -> code + 1, first Tv - 1 kept, EOS 0 (spec §4.1
 * idThree; Tv = img_token_len = 64). */
#ifndef TC_DATA_LOADER_V1_H
#define TC_DATA_LOADER_V1_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "model/config.h"

#define TC_V1_TXT_TGT_LEN 30  /* decoder text targets: <= 29 word pieces + EOS 0 (spec §4.1 tdThree) */

typedef struct tc_v1_loader_cfg {
    tc_loader_cfg base;       /* images (geometry + statistics), text rows, cache, prefetch, seed */
    int patch;                /* p: patches of p×p pixels, Pd = 3p² */
    char audio_dir[1024];     /* "" : no audio */
    char token_dir[1024];     /* "" : no VQ tokens */
    int audio_dim;            /* Da (the model's audio_dim) */
    int max_audio;            /* frames kept per utterance (the model's max_audio_len, at most 50) */
    int img_tokens;           /* Tv (the model's img_token_len; 0: no tokens) */
    int img_vocab;            /* img_dec_vocab_size: code + 1 must be below it */
    int audio_stats;          /* wav path: spoken items (in dataset order) whose tokens give the normalisation (64) */
} tc_v1_loader_cfg;

/* Defaults for model config mc on dataset root data_dir: v1 preprocessing at mc's image size, text
 * [CLS] ids[:max_text_len] [SEP], audio_dir = DIR/audio and token_dir = DIR/img_tokens when those
 * directories exist (and the model has an audio path / an image decoder). */
tc_v1_loader_cfg tc_v1_loader_cfg_for(const tc_model_config *mc, const char *data_dir);

typedef struct tc_v1_batch {
    int B;
    int Tt;                   /* text rows: [CLS] ... [SEP], padded with 0 (dynamic: the longest row) */
    const int32_t *ids;       /* [B, Tt] */
    const float *valid;       /* [B, Tt] 1 real token (a prefix), 0 padding */
    int R, Pd;                /* R = N + 1 ViT rows (row N is the zero pad patch), Pd = 3p² */
    const float *patches;     /* [B, R, Pd] */
    int Ta, Da;               /* Ta = longest utterance of the batch (0: no audio in this batch/dataset) */
    const float *audio;       /* [B, Ta, Da] or NULL when Ta = 0 */
    const float *audio_valid; /* [B, Ta] 1 real frame (a prefix), 0 padding; NULL when Ta = 0 */
    int Tv;                   /* VQ tokens per image (64), 0 when the dataset has none */
    const int32_t *img_tok;   /* [B, Tv]: code + 1 for the first Tv - 1 codes, then EOS 0; NULL when Tv = 0 */
    const int32_t *txt_tgt;   /* [B, TC_V1_TXT_TGT_LEN]: the caption's first <= 29 pieces, EOS 0, padded with 0 */
    const int *txt_tgt_len;   /* [B] pieces + EOS (the number of real target positions) */
    const tc_sample *samples; /* [B] what was loaded (item = image index, cap = caption index) */
    const int *audio_cap;     /* [B] caption index whose speech was loaded (-1: none) */
    uint64_t key;
} tc_v1_batch;

typedef struct tc_v1_loader tc_v1_loader;

/* ds is borrowed. Scans which captions have speech (stat per caption) when audio_dir is set.
 * NULL with a message on error. */
tc_v1_loader *tc_v1_loader_open(const tc_ds_captions *ds, const tc_v1_loader_cfg *cfg);
void tc_v1_loader_close(tc_v1_loader *L);

/* As tc_loader_prefetch / tc_loader_get. The batch stays valid until the next tc_v1_loader_get. */
void tc_v1_loader_prefetch(tc_v1_loader *L, uint64_t key, const tc_sample *s, int B);
const tc_v1_batch *tc_v1_loader_get(tc_v1_loader *L, uint64_t key, const tc_sample *s, int B);

/* Recompute the wav-path normalisation from the first max_items spoken items (done by open). */
int tc_v1_loader_audio_stats(tc_v1_loader *L, int max_items);
int tc_v1_loader_has_audio(const tc_v1_loader *L);   /* audio_dir set and at least one item spoken */
int tc_v1_loader_has_tokens(const tc_v1_loader *L);  /* token_dir set */
const tc_v1_loader_cfg *tc_v1_loader_config(const tc_v1_loader *L);
/* Number of items with at least one spoken caption. */
int tc_v1_loader_spoken_items(const tc_v1_loader *L);
tc_loader *tc_v1_loader_base(tc_v1_loader *L);      /* for statistics */

#endif
