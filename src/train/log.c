/* JSONL training log and progress display: see log.h. */
#include "train/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"

void tc_json_put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* JSON has no NaN/Inf: write null. */
static void put_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

/* Keep the lines of an existing log whose "step" <= keep (atomically rewritten). */
static int truncate_log(const char *path, long keep) {
    if (!tc_file_exists(path)) return 0;
    size_t len;
    char *text = tc_read_file(path, &len);
    if (!text) return -1;
    char *out = tc_xmalloc(len + 1);
    size_t n = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        char save = line[ll];
        line[ll] = 0;
        cJSON *j = cJSON_Parse(line);
        cJSON *st = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        /* a torn last line (killed mid-write) does not parse and is dropped */
        if (cJSON_IsNumber(st) && st->valuedouble <= (double)keep) {
            memcpy(out + n, line, ll);
            n += ll;
            out[n++] = '\n';
        }
        cJSON_Delete(j);
        line[ll] = save;
        line += ll + (nl ? 1 : 0);
    }
    int rc = tc_write_file_atomic(path, out, n);
    free(out);
    free(text);
    return rc;
}

int tc_train_log_open(tc_train_log *l, const char *run_dir, long keep_upto_step, int style, long print_every) {
    memset(l, 0, sizeof *l);
    l->out = stdout;
    if (style < 0) {
        const char *e = getenv("TAICHU_PROGRESS");
        if (e && *e) style = atoi(e) == 0 ? 0 : atoi(e) == 1 ? 1 : 2;
        else style = isatty(fileno(stdout)) ? 1 : 2;
    }
    l->style = style;
    l->print_every = print_every;
    l->t_last_print = -1e30;
    if (!run_dir) return 0;
    char *path = tc_path_join(run_dir, "log.jsonl");
    if (truncate_log(path, keep_upto_step)) {
        free(path);
        return -1;
    }
    l->fp = fopen(path, "a");
    if (!l->fp) tc_error_set("%s: cannot open for appending", path);
    free(path);
    return l->fp ? 0 : -1;
}

static void fmt_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 3599999) { snprintf(buf, cap, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void tc_train_progress_format(char *buf, size_t cap, const tc_step_record *r, const double *ema, int bar) {
    size_t n = 0;
#define PUT(...)                                                                   \
    do {                                                                           \
        if (n < cap) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);         \
    } while (0)
    int w = 1;
    for (long t = r->total; t >= 10; t /= 10) w++;
    PUT("step ");
    if (bar) {
        enum { W = 20 };
        int fill = r->total > 0 ? (int)((double)r->step / (double)r->total * W) : W;
        char b[W + 3];
        b[0] = '[';
        for (int i = 0; i < W; i++) b[1 + i] = i < fill ? '#' : '.';
        b[W + 1] = ']';
        b[W + 2] = 0;
        PUT("%s ", b);
    }
    PUT("%*ld/%ld ", w, r->step, r->total);
    for (int i = 0; i < r->ntasks; i++) {
        double v = ema ? ema[i] : r->task_loss[i];
        if (isnan(v)) continue;
        PUT(" %s %.4f", r->task_names[i], v);
    }
    if (r->ntasks > 1 && !r->task) PUT("  total %.4f", r->loss);
    PUT("  lr %.2e  %.1f samples/s", r->lr, r->samples_per_s);
    if (r->gflops > 0) PUT("  %.1f GFLOP/s  MFU %.1f%%", r->gflops, 100.0 * r->mfu);
    char t[32];
    if (r->step >= r->total) {
        fmt_duration(t, sizeof t, r->elapsed_s);
        PUT("  done in %s", t);
    } else {
        fmt_duration(t, sizeof t, r->eta_s);
        PUT("  ETA %s", t);
    }
    if (r->skipped) PUT("  (skipped: non-finite gradient)");
#undef PUT
}

void tc_train_log_step(tc_train_log *l, const tc_step_record *r) {
    if (l->fp) {
        FILE *f = l->fp;
        fprintf(f, "{\"type\":\"train\",\"step\":%ld,\"task\":", r->step);
        if (r->task) tc_json_put_string(f, r->task);
        else fputs("null", f);
        fputs(",\"loss\":", f);
        put_num(f, r->loss);
        fputs(",\"losses\":{", f);
        int first = 1;
        for (int i = 0; i < r->ntasks; i++) {
            if (isnan(r->task_loss[i])) continue;
            if (!first) fputc(',', f);
            first = 0;
            tc_json_put_string(f, r->task_names[i]);
            fputc(':', f);
            put_num(f, r->task_loss[i]);
        }
        fputs("},\"lr\":", f);
        put_num(f, r->lr);
        fputs(",\"grad_norm\":", f);
        put_num(f, r->grad_norm);
        fprintf(f, ",\"samples\":%ld,\"step_s\":", r->samples);
        put_num(f, r->step_s);
        fputs(",\"samples_per_s\":", f);
        put_num(f, r->samples_per_s);
        fputs(",\"gflops\":", f);
        put_num(f, r->gflops);
        fputs(",\"mfu\":", f);
        put_num(f, r->mfu);
        fputs(",\"elapsed_s\":", f);
        put_num(f, r->elapsed_s);
        fputs(",\"eta_s\":", f);
        put_num(f, r->eta_s);
        fprintf(f, ",\"skipped\":%s}\n", r->skipped ? "true" : "false");
        fflush(f);
    }
    if (!l->style) return;
    /* smoothed display values: per-task loss EMA over the steps that task ran, throughput EMA */
    if (l->nema != r->ntasks) {
        free(l->ema);
        l->ema = tc_xmalloc(sizeof(double) * (size_t)(r->ntasks > 0 ? r->ntasks : 1));
        for (int i = 0; i < r->ntasks; i++) l->ema[i] = NAN;
        l->nema = r->ntasks;
    }
    for (int i = 0; i < r->ntasks; i++)
        if (!isnan(r->task_loss[i])) l->ema[i] = isnan(l->ema[i]) ? r->task_loss[i] : 0.9 * l->ema[i] + 0.1 * r->task_loss[i];
    double a = l->ema_sps > 0 ? 0.1 : 1.0;
    l->ema_sps = (1 - a) * l->ema_sps + a * r->samples_per_s;
    l->ema_gflops = (1 - a) * l->ema_gflops + a * r->gflops;
    l->ema_mfu = (1 - a) * l->ema_mfu + a * r->mfu;
    tc_step_record s = *r;
    s.samples_per_s = l->ema_sps;
    s.gflops = l->ema_gflops;
    s.mfu = l->ema_mfu;
    double t = tc_now_s();
    int last = r->step >= r->total;
    char line[1024];
    if (l->style == 1) {
        if (!last && t - l->t_last_print < 0.1) return;
        tc_train_progress_format(line, sizeof line, &s, l->ema, 1);
        fprintf(l->out, "\r%s\033[K%s", line, last ? "\n" : "");
        l->line_open = !last;
    } else {
        int due = l->print_every > 0 ? r->step % l->print_every == 0 : t - l->t_last_print >= 10.0;
        if (!due && !last && r->step != 1) return;
        tc_train_progress_format(line, sizeof line, &s, l->ema, 0);
        fprintf(l->out, "%s\n", line);
    }
    fflush(l->out);
    l->t_last_print = t;
}

void tc_train_log_eval(tc_train_log *l, long step, const tc_metric *m, int n) {
    if (l->fp) {
        fprintf(l->fp, "{\"type\":\"eval\",\"step\":%ld,\"metrics\":{", step);
        for (int i = 0; i < n; i++) {
            if (i) fputc(',', l->fp);
            tc_json_put_string(l->fp, m[i].name);
            fputc(':', l->fp);
            put_num(l->fp, m[i].value);
        }
        fputs("}}\n", l->fp);
        fflush(l->fp);
    }
    if (!l->style) return;
    char line[1024];
    size_t k = (size_t)snprintf(line, sizeof line, "eval @ step %ld:", step);
    for (int i = 0; i < n && k < sizeof line; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, " %s %.4f", m[i].name, m[i].value);
    tc_train_log_message(l, line);
}

void tc_train_log_message(tc_train_log *l, const char *msg) {
    if (!l->style) return;
    if (l->line_open) fputs("\r\033[K", l->out);
    fprintf(l->out, "%s\n", msg);
    fflush(l->out);
    l->line_open = 0;
}

void tc_train_log_close(tc_train_log *l) {
    if (l->line_open && l->style == 1) fputc('\n', l->out);
    if (l->fp) fclose(l->fp);
    free(l->ema);
    memset(l, 0, sizeof *l);
}
