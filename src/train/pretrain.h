/* `taichu pretrain`: the original's task config (train_datasets, tasks, mix_ratio, train_batch_size,
 * learning rates, warm-up, seed, ...) + taichu's extra keys (docs/config.md, "## Training") wired to the
 * model, the data loader, the v2 or v1 tasks (train/tasks.h, train/tasks_v1.h) and the trainer; writes RUN/model (config.json, model.safetensors,
 * vocab.txt, ids_to_tokens_zh.json) at the end. docs/training.md, "Pre-training (taichu pretrain)". */
#ifndef TC_TRAIN_PRETRAIN_H
#define TC_TRAIN_PRETRAIN_H

#include "eval/recall.h"
#include "model/model.h"

typedef struct tc_pretrain_opts {
    const char *config;      /* task config JSON (NULL: defaults) */
    const char *data;        /* dataset root (the v2 layout: DIR/text, DIR/image) */
    const char *out;         /* run directory (fresh) */
    const char *init;        /* model dir to start from (config.json + model.safetensors) */
    const char *resume;      /* run directory to resume (out may then be NULL) */
    const char *preset;      /* model preset (overrides model_config) */
    long steps;              /* > 0 overrides the config */
    int batch;               /* > 0 overrides train_batch_size */
    double lr;               /* > 0 overrides learning_rate */
    long warmup;             /* >= 0 overrides warmup_steps (-1: config) */
    long eval_every;         /* >= 0 overrides (-1: config) */
    int eval_images;         /* > 0 overrides (0: config) */
    int progress;            /* trainer progress mode (-1 auto) */
    int skip_bad;            /* 1: drop malformed entries/unreadable images and count them; 0: stop at the first */
} tc_pretrain_opts;

/* Run a pre-training. 0 on success, -1 with a message, 128+signal after SIGINT/SIGTERM (checkpointed). */
int tc_pretrain_run(const tc_pretrain_opts *o);

/* Zero-shot ITC retrieval on a v2 caption file with five captions per image (the Flickr30K-CN test format),
 * first max_images images (0: all); images under image_root. Fills out (IR = text->image). opt-v2: the ITC
 * projections; opt-v1: taichu's pooled single-modality features (train/tasks_v1.h), cosine similarity. */
int tc_pretrain_eval_itc(tc_model *m, const char *caption_file, const char *image_root, int max_images,
                         tc_retrieval_scores *out);

#endif
