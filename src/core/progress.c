/* Progress bar: see progress.h. */
#include "core/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static void fmt_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 359999) { snprintf(buf, cap, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void tc_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total, double elapsed_s,
                        int bar) {
    double frac = total > 0 ? (double)done / (double)total : 1.0;
    if (frac > 1) frac = 1;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
    char eta[32], el[32];
    if (done >= total) fmt_duration(el, sizeof el, elapsed_s);
    else fmt_duration(eta, sizeof eta, rate > 0 ? (double)(total - done) / rate : -1);
    char barbuf[32] = "";
    if (bar) {
        enum { W = 24 };
        int fill = (int)(frac * W);
        barbuf[0] = '[';
        for (int i = 0; i < W; i++) barbuf[1 + i] = i < fill ? '#' : '.';
        barbuf[W + 1] = ']';
        barbuf[W + 2] = ' ';
        barbuf[W + 3] = 0;
    }
    if (done >= total)
        snprintf(buf, cap, "%s %s%lld/%lld 100.0%% %.1f/s in %s", label, barbuf, (long long)done,
                 (long long)total, rate, el);
    else
        snprintf(buf, cap, "%s %s%lld/%lld %5.1f%% %.1f/s ETA %s", label, barbuf, (long long)done,
                 (long long)total, 100.0 * frac, rate, eta);
}

static void draw(tc_progress *p, int64_t done, int final) {
    char line[256];
    double t = tc_now_s();
    tc_progress_format(line, sizeof line, p->label, done, p->total, t - p->t_start, p->tty);
    if (p->tty) fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    else fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->t_last_draw = t;
}

void tc_progress_start(tc_progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_flag_clear(&p->drawing);
    p->out = stderr;
    p->t_start = p->t_last_draw = tc_now_s();
    const char *env = getenv("TAICHU_PROGRESS");
    p->quiet = env && strcmp(env, "0") == 0;
    p->tty = (env && strcmp(env, "1") == 0) || isatty(fileno(stderr));
    if (!p->quiet && p->tty) draw(p, 0, 0);
}

void tc_progress_add(tc_progress *p, int64_t n) {
    int64_t done = atomic_fetch_add(&p->done, n) + n;
    if (p->quiet || done >= p->total) return; /* the final line is drawn by finish */
    if (atomic_flag_test_and_set(&p->drawing)) return;
    double interval = p->tty ? 0.1 : 5.0;
    if (tc_now_s() - p->t_last_draw >= interval) draw(p, done, 0);
    atomic_flag_clear(&p->drawing);
}

void tc_progress_finish(tc_progress *p) {
    if (p->quiet) return;
    while (atomic_flag_test_and_set(&p->drawing)) { /* wait for a drawing thread */ }
    draw(p, atomic_load(&p->done), 1);
    atomic_flag_clear(&p->drawing);
}
