/* What a training run reports, per step and per evaluation:
 *   - RUN/log.jsonl, one JSON object per line (rank 0 only; flushed each line):
 *       {"type":"train","step":12,"task":"mlm","loss":2.31,"losses":{"mlm":2.31},"lr":4e-05,"grad_norm":0.83,
 *        "samples":20,"step_s":0.41,"samples_per_s":48.8,"gflops":61.2,"mfu":0.153,"elapsed_s":5.1,
 *        "eta_s":120.4,"skipped":false}
 *       {"type":"eval","step":100,"metrics":{"r1_t2i":0.42,...}}
 *     "step" counts completed optimizer steps (1 after the first update); "losses" holds the tasks that ran.
 *   - a progress display on stdout: on a terminal one line redrawn in place,
 *       step [#########...............]  120/1000  mlm 2.301 itm 0.693  lr 4.0e-05  48.8 samples/s
 *       61.2 GFLOP/s  MFU 15.3%  ETA 3:12
 *     otherwise (pipes, CI logs) the same fields as plain lines, at most every print_every steps / 10 s.
 *     TAICHU_PROGRESS=0 silences it; TAICHU_PROGRESS=1 forces the terminal style, 2 the line style. */
#ifndef TC_TRAIN_LOG_H
#define TC_TRAIN_LOG_H

#include <stdio.h>

typedef struct tc_step_record {
    long step, total;          /* completed steps; planned total */
    int ntasks;
    const char *const *task_names;
    const double *task_loss;   /* [ntasks]; NaN for tasks that did not run this step */
    const char *task;          /* the task of this step (MetaLoader mode) or NULL (weighted sum of all) */
    double loss;               /* the optimised loss (the task's, or Σ weight·loss) */
    double lr, grad_norm;
    long samples;              /* samples of this step over all ranks and micro-batches */
    double step_s, samples_per_s, gflops, mfu, elapsed_s, eta_s;
    int skipped;               /* non-finite gradient: no update */
} tc_step_record;

typedef struct tc_metric {
    char name[48];
    double value;
} tc_metric;

typedef struct tc_train_log {
    FILE *fp;                  /* log.jsonl (NULL: none) */
    FILE *out;                 /* progress stream (stdout) */
    int style;                 /* 0 off, 1 terminal, 2 lines */
    long print_every;
    double t_last_print;
    int line_open;             /* a terminal line is being redrawn */
    double *ema;               /* per-task smoothed loss for the display */
    int nema;
    double ema_sps, ema_gflops, ema_mfu;
} tc_train_log;

/* Open RUN/log.jsonl for appending; lines with "step" > keep_upto_step are dropped first (a resumed run
 * rewrites the steps after its checkpoint; keep_upto_step = 0 starts a fresh log). run_dir NULL: no file.
 * style -1: from TAICHU_PROGRESS, else terminal when stdout is a TTY, else lines. */
int tc_train_log_open(tc_train_log *l, const char *run_dir, long keep_upto_step, int style, long print_every);
void tc_train_log_step(tc_train_log *l, const tc_step_record *r);
void tc_train_log_eval(tc_train_log *l, long step, const tc_metric *m, int n);
void tc_train_log_message(tc_train_log *l, const char *msg); /* a line on the progress stream */
void tc_train_log_close(tc_train_log *l);

/* The progress text of one record (no newline). ema: smoothed per-task losses or NULL for the raw ones. */
void tc_train_progress_format(char *buf, size_t cap, const tc_step_record *r, const double *ema, int bar);

/* Append s to a JSON document as a quoted, escaped string. */
void tc_json_put_string(FILE *f, const char *s);

#endif
