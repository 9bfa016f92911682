/* The model-independent training loop (docs/training.md, "The trainer"). A task supplies only
 * "build the graph for this micro-batch and return its scalar loss"; the trainer does the rest:
 *
 *   for step = start .. total-1:
 *       task  = MetaLoader(step)                  (or every task, losses summed with their weights)
 *       zero grads
 *       for micro = 0 .. accum-1:                 (gradient accumulation)
 *           graph reset; training mode; dropout stream = step·accum + micro, seed per rank
 *           loss = task.loss(user, graph, ctx)    (ctx: step, task, rank/world, the data RNG, ...)
 *           backward
 *       grads /= accum; all-reduce (mean) over MPI ranks
 *       clip (global norm); AdamW with lr = schedule(step); a non-finite norm skips the update
 *       log (JSONL + progress), evaluate every eval_every, checkpoint every ckpt_every and at the end
 *
 * Determinism and resume: everything random is a function of saved state: the data-order generator
 * (tc_rng, identical on every rank; a task draws the GLOBAL batch from it and keeps its rank's share,
 * which makes world × B reproduce 1 × world·B), the MetaLoader order (a function of the step), dropout
 * (a function of seed, rank and step). A resumed run therefore repeats an uninterrupted one bit for bit. */
#ifndef TC_TRAIN_TRAINER_H
#define TC_TRAIN_TRAINER_H

#include <stdint.h>

#include "core/optim.h"
#include "core/rng.h"
#include "core/schedule.h"
#include "core/tensor.h"
#include "train/log.h"
#include "train/mpi.h"

typedef struct tc_train_ctx {
    /* in */
    long step;             /* 0-based optimizer step */
    int micro, accum;      /* micro-batch index in this step and their count */
    int task;              /* index of the task being run */
    int rank, world;       /* data-parallel position (0, 1 without MPI) */
    uint64_t seed;         /* the run's seed */
    tc_rng *data_rng;      /* data order: the same stream on every rank, saved in checkpoints. Draw the
                              global batch (world × local) from it, then use rows [rank·B, (rank+1)·B). */
    const tc_dist *dist;   /* for global-batch losses (tc_dist_allgather_rows) */
    /* out: set by the task */
    long samples;          /* samples this rank processed in this micro-batch (for samples/s). Summed over
                              tasks in sum mode: tasks sharing one batch should report it only once */
    double flops;          /* forward FLOPs of this micro-batch on this rank (training counts 3×); 0: unknown */
} tc_train_ctx;

/* Build the forward graph of one micro-batch in g (already reset and in training mode) and return a
 * scalar loss tensor (mean-reduced over the local batch), or NULL with tc_error_set on failure. */
typedef tc_tensor *(*tc_task_loss_fn)(void *user, tc_graph *g, tc_train_ctx *ctx);

typedef struct tc_train_task {
    const char *name;
    int mix_ratio;         /* MetaLoader mode: the task's share of each cycle (0 disables it) */
    float weight;          /* sum mode: loss weight */
    tc_task_loss_fn loss;
    void *user;
} tc_train_task;

/* Periodic validation: fill up to `max` named metrics; return their count, or -1 (message set). Called on
 * every rank (it may use collectives); g is free to use (reset it; grad is off); rank 0 logs the metrics. */
typedef int (*tc_eval_fn)(void *user, tc_graph *g, long step, tc_metric *out, int max);

/* Task state beyond the data RNG (e.g. a file cursor): JSON text saved in the checkpoint. save returns a
 * malloc'ed JSON value or NULL; load receives it on resume. */
typedef char *(*tc_task_state_save_fn)(void *user);
typedef int (*tc_task_state_load_fn)(void *user, const char *json);

typedef struct tc_trainer_cfg {
    const char *run_dir;   /* required: checkpoints, log.jsonl, config.json, curves.svg */
    long total_steps;
    int accum;             /* micro-batches per optimizer step (>= 1) */
    uint64_t seed;
    tc_adamw opt;          /* default: the original's (β 0.9/0.98, ε 1e-6, wd 0.01, no bias correction) */
    tc_lr_schedule lr;     /* default: the original's warm-up + cosine (TC_LR_MINDSPORE) */
    float clip;            /* global-norm clip (default 1.0); <= 0: none */
    float clip_eps;        /* 0: MindSpore's ClipByGlobalNorm; 1e-6: torch's clip_grad_norm_ */
    int sum_tasks;         /* 0: one task per step (MetaLoader); 1: Σ weight·loss of every task each step */
    long ckpt_every;       /* checkpoint every N steps (0: only at the end) */
    int keep_last;         /* checkpoints kept (default 3) */
    long eval_every;       /* validation every N steps (0: only at the end); needs eval */
    tc_eval_fn eval;
    void *eval_user;
    tc_task_state_save_fn state_save;   /* optional; user = state_user */
    tc_task_state_load_fn state_load;
    void *state_user;
    int progress;          /* -1 auto (TTY: bar, else lines), 0 off, 1 bar, 2 lines */
    long print_every;      /* line style: every N steps (0: every 10 s) */
    double peak_gflops;    /* MFU denominator per process; 0: measured once and cached (train/peak.h) */
    int plot;              /* write RUN/curves.svg at the end (rank 0) */
    const char *config_json; /* copied to RUN/config.json on a fresh start (NULL: none) */
    long stop_after;       /* > 0: stop after this many completed steps, with a checkpoint (interruptions) */
    int handle_signals;    /* SIGINT/SIGTERM: finish the step, checkpoint, return 130/143 */
    /* called on every rank after each step with the logged record (tests, custom monitors) */
    void (*on_step)(void *user, const tc_step_record *r);
    void *on_step_user;
} tc_trainer_cfg;

/* The original's optimiser, schedule (peak 5e-5 → 1e-7, 1000 warm-up steps, cosine over total) and clip 1.0;
 * checkpoints every 1000 steps, 3 kept; seed 42. */
tc_trainer_cfg tc_trainer_defaults(long total_steps);

typedef enum { TC_START_FRESH = 0, TC_START_RESUME = 1, TC_START_AUTO = 2 } tc_start_mode;

/* Train ps. dist NULL: one process. FRESH refuses a run directory that already has checkpoints; RESUME
 * needs one; AUTO resumes when there is one. Parameters are broadcast from rank 0 before the first step.
 * The weight-decay flags of ps are used as set (tc_params_set_decay(ps, tc_opt_decay_exclude) for the
 * original's rule). Returns 0, -1 on error (message set), or 128+signal after a handled signal. */
int tc_train(const tc_trainer_cfg *cfg, tc_params *ps, const tc_train_task *tasks, int ntasks,
             const tc_dist *dist, tc_start_mode mode);

#endif
