/* `taichu finetune retrieval|caption|vqa`: fine-tune a model directory on a v2-layout dataset with the
 * task's loss (train/finetune_tasks.h) and the trainer (train/trainer.h); writes RUN/model (config.json,
 * model.safetensors, vocab.txt, ids_to_tokens_zh.json), which `taichu caption|vqa|itm` and the evaluation
 * commands read. docs/training.md, "Fine-tuning". */
#ifndef TC_TRAIN_FINETUNE_H
#define TC_TRAIN_FINETUNE_H

#include "train/finetune_tasks.h"

typedef struct tc_finetune_opts {
    tc_ft_kind task;
    const char *init;        /* model dir: config.json + model.safetensors (required unless resuming) */
    const char *data;        /* dataset root (DIR/text, DIR/image) */
    const char *out;         /* run directory (fresh) */
    const char *resume;      /* run directory to resume (out then NULL) */
    const char *train_file;  /* overrides the task's default training file under DIR/text */
    long steps;              /* > 0: optimizer steps; else epochs over the training set */
    double epochs;           /* > 0 overrides the task's default epoch count */
    int batch;               /* > 0 overrides the task's default batch */
    double lr, end_lr;       /* > 0 override the task's defaults */
    long warmup;             /* >= 0 overrides (-1: min(1000, steps/10)) */
    long ckpt_every;         /* >= 0 overrides (-1: 1000) */
    float label_smoothing;   /* >= 0 overrides the model config's (-1) */
    int rank_from_itm;       /* v1 retrieval: 1 always initialise rank_output from ITM row 2; 0: only when
                                the init checkpoint lacks it */
    unsigned long long seed;
    int progress;            /* trainer progress mode (-1 auto) */
    int skip_bad;            /* 1: drop malformed entries/unreadable images and count them; 0: stop at the first */
    /* optional: called on every rank after each step (tests, monitors); see tc_trainer_cfg */
    void (*on_step)(void *user, const tc_step_record *r);
    void *on_step_user;
    /* optional out: v1 retrieval negatives drawn and how many shared the positive's image (must be 0);
     * parameters of the model that the init checkpoint lacked (initialised fresh) */
    long *neg_pairs, *neg_same_image;
    int *n_new;
} tc_finetune_opts;

/* Defaults: seed 42, everything else "use the task's default". */
tc_finetune_opts tc_finetune_defaults(tc_ft_kind task);
/* "retrieval" / "caption" / "vqa" -> kind; -1 if unknown. */
int tc_ft_kind_parse(const char *name);
const char *tc_ft_kind_name(tc_ft_kind k);

/* Run a fine-tuning. 0 on success, -1 with a message, 128+signal after SIGINT/SIGTERM (checkpointed). */
int tc_finetune_run(const tc_finetune_opts *o);

/* The init step alone (exposed for tests): a model with m's architecture from DIR/config.json, adjusted for
 * the task (VQA on an opt-v2 config without a decoder gets one: dec_* from the tiny/base defaults), weights
 * loaded by name from DIR/model.safetensors; parameters absent from the file keep their fresh
 * initialisation and are listed in *n_new (names printed to stderr when verbose). v1 retrieval: rank_output
 * := ITM row 2 when the file lacks it (or always with rank_from_itm). */
int tc_finetune_init_model(tc_model *m, const char *dir, tc_ft_kind task, int rank_from_itm, uint64_t seed,
                           int verbose, int *n_new);

#endif
