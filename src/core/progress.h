/* A small progress bar for long loops (dataset generation, speech synthesis, evaluation).
 *
 *   tc_progress p;
 *   tc_progress_start(&p, "images", n);
 *   #pragma omp parallel for
 *   for (i = 0; i < n; i++) { work(i); tc_progress_add(&p, 1); }   // thread-safe
 *   tc_progress_finish(&p);
 *
 * On a terminal it redraws one line in place with '\r' (at most ~10 times a second):
 *   "images [########............]  4200/10000  42.0%  830.1/s  ETA 0:07"
 * When stderr is not a terminal (logs, CI) it prints a plain line at most every 5 seconds and one at
 * the end, so logs stay short. TAICHU_PROGRESS=0 silences it; TAICHU_PROGRESS=1 forces the TTY style. */
#ifndef TC_CORE_PROGRESS_H
#define TC_CORE_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tc_progress {
    const char *label;
    int64_t total;
    _Atomic int64_t done;
    atomic_flag drawing;   /* only one thread draws at a time; others skip */
    double t_start;        /* seconds, monotonic clock */
    double t_last_draw;
    int tty;               /* redraw in place */
    int quiet;
    FILE *out;             /* stderr */
} tc_progress;

void tc_progress_start(tc_progress *p, const char *label, int64_t total);
void tc_progress_add(tc_progress *p, int64_t n);
void tc_progress_finish(tc_progress *p);
/* Format "label done/total pct rate ETA" into buf (used by the drawer; exposed for tests). */
void tc_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total, double elapsed_s,
                        int bar);

#endif
