/* The training data loader (issue 3): turns (image, caption) sample lists into padded model batches on a
 * background thread, so the model does not wait for decoding.
 *
 * Contract with the tasks (docs/training.md, "Data loader"):
 *   - The TASK decides which samples form a batch (from the trainer's data RNG) and passes the list with a
 *     64-bit request key (e.g. step·accum + micro). The batch content is a pure function of (loader seed,
 *     key, sample list): per-sample augmentation draws come from tc_rng seeded by tc_rng_hash(seed, key, i).
 *     Timing therefore never changes a batch: a prefetched batch and one built inline are identical.
 *   - Prefetch: after taking batch k the task predicts batch k+1 (it clones the data RNG and draws ahead)
 *     and calls tc_loader_prefetch; the worker builds it meanwhile. tc_loader_get returns the prefetched
 *     batch when key and samples match, and otherwise discards the queue and builds the batch inline.
 *   - Images are decoded once and kept in memory (uint8 RGB at their stored size) when the whole set fits
 *     in cache_mb (the built-in 64-px set: 8500 images, 100 MB); otherwise each batch decodes its images.
 *   - Bad images: with skip_bad, an image that fails to decode is replaced by the next good sample of the
 *     list (counted in skipped, first message kept); without it the batch fails with the decoder's message.
 *
 * Text rows are "[CLS] ids[:max_text_len] [SEP]" padded with 0 to T = max_text_len + 2 (or, with
 * dynamic_pad, to the longest row of the batch), valid = 1 on the real tokens. Pixels are CHW float, normalised with prep's statistics. */
#ifndef TC_DATA_LOADER_H
#define TC_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/image.h"

typedef struct tc_sample { int item, cap; } tc_sample;  /* image index, caption index within the item */

/* n samples drawn from r: distinct items while the dataset has at least n (a repeated image would be a false
 * negative for the contrastive and matching tasks), each with one uniformly chosen caption. The draw order
 * is part of the resume/MPI contract: the tasks of both architectures and fine-tuning share it. */
void tc_sample_draw_distinct(const tc_ds_captions *ds, tc_rng *r, tc_sample *s, int n);

typedef struct tc_loader_cfg {
    int image_size;          /* S: output pixels S×S */
    int max_text_len;        /* word pieces kept before [CLS]/[SEP] are added */
    int cls_id, sep_id;      /* 101 / 102 for bert-base-chinese */
    int augment;             /* 1: random resized crop (+ flip) per sample with `aug`; 0: eval preprocessing */
    tc_image_aug aug;
    tc_image_prep prep;      /* geometry (when not augmenting) and the normalisation statistics */
    uint64_t seed;
    size_t cache_mb;         /* decode every image once into memory when the set fits (0: never cache) */
    int prefetch;            /* queue depth of the background worker (0: no thread, everything inline) */
    int skip_bad;
    int dynamic_pad;         /* 1: pad text only to the longest caption of the batch (T varies per batch) */
    /* Optional per-row extension (the v1 loader): extra_bytes per row, filled by extra_fn in the builder
     * (worker thread or inline) after the row's pixels and text, from the sample and its normalised CHW
     * pixels; it must be a pure function of its arguments. A failure counts like a bad image (skip_bad).
     * 0 / NULL: none (the v2 behaviour). */
    size_t extra_bytes;
    int (*extra_fn)(void *user, const tc_sample *s, uint64_t key, int row, const float *chw, void *dst);
    void *extra_user;
} tc_loader_cfg;

/* v2 pretraining defaults for an S-pixel model: eval-style geometry (no augmentation: the built-in captions
 * name left/right, so flips would make them wrong), CLIP statistics, 1024 MB cache, prefetch 2. */
tc_loader_cfg tc_loader_cfg_v2(int image_size, int max_text_len);


typedef struct tc_batch {
    int B, T, S;
    int32_t *ids;            /* [B, T] */
    float *valid;            /* [B, T] 1 real token, 0 padding */
    float *pixels;           /* [B, 3, S, S] */
    tc_sample *samples;      /* [B] what was actually loaded (after skip_bad substitutions) */
    unsigned char *extra;    /* [B, extra_bytes] the per-row extension (NULL without one) */
    uint64_t key;
    int cap, cap_t;          /* rows and text length allocated (tc_batch_alloc) */
} tc_batch;

typedef struct tc_loader tc_loader;

/* ds is borrowed (must outlive the loader). Decodes the image cache up front when enabled (in parallel).
 * NULL with a message on error (an undecodable image while caching fails unless skip_bad). */
tc_loader *tc_loader_open(const tc_ds_captions *ds, const tc_loader_cfg *cfg);
void tc_loader_close(tc_loader *L);

/* Queue a batch for the worker (no-op without a worker or when the queue is full). */
void tc_loader_prefetch(tc_loader *L, uint64_t key, const tc_sample *s, int B);
/* The batch for (key, s[0..B)): the prefetched one if it matches, else built now. The returned batch stays
 * valid until the next tc_loader_get. NULL with a message on error. */
const tc_batch *tc_loader_get(tc_loader *L, uint64_t key, const tc_sample *s, int B);

/* Build a batch directly into caller-owned storage (eval, tests): out must be from tc_batch_alloc. */
int tc_loader_build(tc_loader *L, uint64_t key, const tc_sample *s, int B, tc_batch *out);
/* With an extension (cfg.extra_bytes > 0) a caller-owned batch needs its extra rows: B_cap × extra_bytes. */
void tc_batch_alloc_extra(tc_batch *b, size_t extra_bytes);
int tc_batch_alloc(tc_batch *b, int B, int T, int S);
void tc_batch_free(tc_batch *b);

typedef struct tc_loader_stats {
    long batches, prefetch_hits, prefetch_misses;
    int skipped;             /* bad samples replaced */
    char first_skip[512];
    int cached;              /* 1 when every image is held decoded in memory */
    double build_s;          /* seconds spent building batches (worker + inline) */
} tc_loader_stats;
void tc_loader_get_stats(tc_loader *L, tc_loader_stats *out);

int tc_loader_T(const tc_loader *L);  /* max_text_len + 2: the longest T a batch can have */

#endif
