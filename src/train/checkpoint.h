/* Training checkpoints in a run directory, written so that killing the process at ANY moment leaves the
 * last good checkpoint intact (docs/training.md, "Checkpoints and resume"):
 *
 *   RUN/config.json                         the run's configuration (written by the trainer)
 *   RUN/log.jsonl                           one JSON line per step / evaluation
 *   RUN/checkpoints/step-00000120/          one complete checkpoint:
 *       model.safetensors                   parameters by their checkpoint names (F32)
 *       optimizer.safetensors               AdamW moments: adam_m.<name>, adam_v.<name> (F32)
 *       state.json                          step, optimizer step, seed, data RNG, elapsed time, task state,
 *                                           and the size + CRC-32 of both tensor files
 *   RUN/checkpoints/LATEST                  "step-00000120": the newest complete checkpoint
 *
 * A save builds the directory under a temporary name (every file fsynced, state.json last), fsyncs it,
 * renames it into place, fsyncs the parent and only then replaces LATEST atomically; older checkpoints
 * beyond the newest K are deleted afterwards. A reader trusts nothing: tc_ckpt_find_latest verifies the
 * sizes and CRCs of the LATEST checkpoint and falls back to the newest one that verifies. */
#ifndef TC_TRAIN_CHECKPOINT_H
#define TC_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "core/tensor.h"

typedef struct tc_ckpt_state {
    long step;             /* optimizer steps completed */
    long opt_step;         /* tc_adamw.step (bias correction) */
    uint64_t seed;         /* the run's seed */
    uint64_t data_rng[4];  /* the trainer's data-order generator (tc_rng state) */
    double elapsed_s;      /* training wall time so far */
    char *task_state;      /* optional JSON value owned by the task (malloc'ed), or NULL */
} tc_ckpt_state;

void tc_ckpt_state_free(tc_ckpt_state *st);

/* Write checkpoint "step-<st->step>" into run_dir/checkpoints and keep the newest keep_last (>= 1). */
int tc_ckpt_save(const char *run_dir, const tc_params *ps, const tc_ckpt_state *st, int keep_last);
/* The newest checkpoint that verifies: its directory (malloc'ed) and step. Returns -1 (message set) when
 * there is none. */
int tc_ckpt_find_latest(const char *run_dir, char **dir_out, long *step_out);
/* Check one checkpoint directory: state.json parses and both files have the recorded size and CRC. */
int tc_ckpt_verify(const char *ckpt_dir);
/* Load a verified checkpoint into ps (every parameter must be present with its shape; m/v allocated if
 * needed) and st. */
int tc_ckpt_load(const char *ckpt_dir, tc_params *ps, tc_ckpt_state *st);

/* Delete the checkpoints of steps after `step` (on resume: they failed to verify, or belong to an abandoned
 * future), so that later pruning counts only good ones. */
void tc_ckpt_drop_after(const char *run_dir, long step);

/* Remove a directory holding only plain files (checkpoint pruning, test clean-up). */
int tc_rm_flat_dir(const char *dir);

#endif
