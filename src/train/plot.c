/* SVG curves from a training log: see plot.h. */
#include "train/plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"

typedef struct series {
    char name[64];
    double *x, *y;
    int n, cap;
} series;

typedef struct panel {
    const char *title, *ylabel;
    series *s;
    int n, cap;
    int smooth;   /* draw raw faint + EMA solid */
} panel;

static series *get_series(panel *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->s[i].name, name)) return &p->s[i];
    if (p->n == p->cap) p->s = tc_xrealloc(p->s, sizeof(series) * (size_t)(p->cap = p->cap ? 2 * p->cap : 8));
    series *s = &p->s[p->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static void add_point(panel *p, const char *name, double x, double y) {
    if (!isfinite(x) || !isfinite(y)) return;
    series *s = get_series(p, name);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->x = tc_xrealloc(s->x, sizeof(double) * (size_t)s->cap);
        s->y = tc_xrealloc(s->y, sizeof(double) * (size_t)s->cap);
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

static void panel_free(panel *p) {
    for (int i = 0; i < p->n; i++) {
        free(p->s[i].x);
        free(p->s[i].y);
    }
    free(p->s);
}

/* Mean-bin a series to at most maxn points (in place). */
static void bin_series(series *s, int maxn) {
    if (s->n <= maxn) return;
    int m = 0;
    for (int b = 0; b < maxn; b++) {
        long lo = (long)b * s->n / maxn, hi = (long)(b + 1) * s->n / maxn;
        double sx = 0, sy = 0;
        for (long i = lo; i < hi; i++) sx += s->x[i], sy += s->y[i];
        s->x[m] = sx / (double)(hi - lo);
        s->y[m] = sy / (double)(hi - lo);
        m++;
    }
    s->n = m;
}

/* Ticks at multiples of 1, 2 or 5 × 10^k covering [lo, hi] with about `want` intervals. */
static double nice_step(double range, int want) {
    if (!(range > 0)) return 1;
    double raw = range / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static void fmt_tick(char *buf, size_t cap, double v, double step) {
    if (fabs(v) < step * 1e-9) v = 0;
    if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-4)) snprintf(buf, cap, "%.1e", v);
    else snprintf(buf, cap, "%.6g", v);
}

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

enum { W = 900, PH = 260, ML = 80, MR = 190, MT = 34, MB = 46 };

static void polyline(FILE *f, const double *x, const double *y, int n, double x0, double x1, double y0, double y1,
                     int top, const char *color, double width, double opacity) {
    if (n <= 0) return;
    double pw = W - ML - MR, ph = PH - MT - MB;
    if (n == 1) {
        double px = ML + (x[0] - x0) / (x1 - x0) * pw, py = top + MT + (1 - (y[0] - y0) / (y1 - y0)) * ph;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" opacity=\"%.2f\"/>\n", px, py, color, opacity);
        return;
    }
    /* a path with fill:none in style, which every renderer (browsers, rsvg, ImageMagick) honours */
    fprintf(f, "<path style=\"fill:none;stroke:%s;stroke-width:%.1f;stroke-opacity:%.2f\" d=\"", color, width, opacity);
    for (int i = 0; i < n; i++) {
        double px = ML + (x[i] - x0) / (x1 - x0) * pw, py = top + MT + (1 - (y[i] - y0) / (y1 - y0)) * ph;
        fprintf(f, "%c%.1f,%.1f ", i ? 'L' : 'M', px, py);
    }
    fputs("\"/>\n", f);
}

static void draw_panel(FILE *f, const panel *p, int top, double x0, double x1) {
    double pw = W - ML - MR, ph = PH - MT - MB;
    double y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->s[i].n; k++) y0 = fmin(y0, p->s[i].y[k]), y1 = fmax(y1, p->s[i].y[k]);
    if (!isfinite(y0)) y0 = 0, y1 = 1;
    if (y1 - y0 < 1e-12 * fmax(1, fabs(y1))) y0 -= 0.5 * fmax(fabs(y0), 1e-3), y1 += 0.5 * fmax(fabs(y1), 1e-3);
    double ys = nice_step(y1 - y0, 5);
    y0 = floor(y0 / ys) * ys;
    y1 = ceil(y1 / ys) * ys;
    double xs = nice_step(x1 - x0, 8);

    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">", ML, top + 22);
    xml_text(f, p->title);
    fputs("</text>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"white\" stroke=\"#444\"/>\n", ML, top + MT,
            pw, ph);
    /* grid + tick labels */
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
        double py = top + MT + (1 - (v - y0) / (y1 - y0)) * ph;
        char t[32];
        fmt_tick(t, sizeof t, v, ys);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML, py, ML + pw, py);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n", ML - 6, py + 4, t);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-6; v += xs) {
        double px = ML + (v - x0) / (x1 - x0) * pw;
        char t[32];
        fmt_tick(t, sizeof t, v, xs);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>\n", px, top + MT, px,
                top + MT + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", px,
                top + MT + ph + 16, t);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">step</text>\n", ML + pw / 2,
            top + PH - 8);
    fprintf(f, "<text x=\"16\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.0f)\">",
            top + MT + ph / 2, top + MT + ph / 2);
    xml_text(f, p->ylabel);
    fputs("</text>\n", f);
    /* curves */
    for (int i = 0; i < p->n; i++) {
        const series *s = &p->s[i];
        const char *c = palette[i % 10];
        if (p->smooth && s->n > 2) {
            polyline(f, s->x, s->y, s->n, x0, x1, y0, y1, top, c, 1.0, 0.3);
            double *e = tc_xmalloc(sizeof(double) * (size_t)s->n);
            double a = s->n > 50 ? 0.05 : 0.3;
            e[0] = s->y[0];
            for (int k = 1; k < s->n; k++) e[k] = (1 - a) * e[k - 1] + a * s->y[k];
            polyline(f, s->x, e, s->n, x0, x1, y0, y1, top, c, 2.0, 1.0);
            free(e);
        } else {
            polyline(f, s->x, s->y, s->n, x0, x1, y0, y1, top, c, 2.0, 1.0);
        }
        /* legend entry */
        int ly = top + MT + 14 + 18 * i;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                ML + pw + 14, ly - 4, ML + pw + 34, ly - 4, c);
        fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"12\">", ML + pw + 40, ly);
        xml_text(f, s->name);
        if (s->n > 0) fprintf(f, " (%.4g)", s->y[s->n - 1]);
        fputs("</text>\n", f);
    }
}

int tc_plot_log(const char *log_jsonl, const char *out_svg, const char *title) {
    size_t len;
    char *text = tc_read_file(log_jsonl, &len);
    if (!text) return -1;
    panel loss = {"training loss", "loss", NULL, 0, 0, 1};
    panel evalp = {"validation", "metric", NULL, 0, 0, 0};
    panel lrp = {"learning rate", "lr", NULL, 0, 0, 0};
    int lines = 0, bad = 0;
    double x0 = INFINITY, x1 = -INFINITY;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!j) { bad++; continue; }
        cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type"), *st = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsString(type) && cJSON_IsNumber(st)) {
            double x = st->valuedouble;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            lines++;
            if (!strcmp(type->valuestring, "train")) {
                cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "losses"), *it;
                int nl = 0;
                cJSON_ArrayForEach(it, ls) if (cJSON_IsNumber(it)) add_point(&loss, it->string, x, it->valuedouble), nl++;
                cJSON *task = cJSON_GetObjectItemCaseSensitive(j, "task"), *l = cJSON_GetObjectItemCaseSensitive(j, "loss");
                if (cJSON_IsNull(task) && nl > 1 && cJSON_IsNumber(l)) add_point(&loss, "total", x, l->valuedouble);
                cJSON *lr = cJSON_GetObjectItemCaseSensitive(j, "lr");
                if (cJSON_IsNumber(lr)) add_point(&lrp, "lr", x, lr->valuedouble);
            } else if (!strcmp(type->valuestring, "eval")) {
                cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "metrics"), *it;
                cJSON_ArrayForEach(it, ms) if (cJSON_IsNumber(it)) add_point(&evalp, it->string, x, it->valuedouble);
            }
        }
        cJSON_Delete(j);
    }
    free(text);
    int rc = 0;
    if (lines == 0) {
        rc = tc_error_set("%s: no training records (%d unreadable lines)", log_jsonl, bad);
        goto out;
    }
    if (x1 <= x0) x0 -= 1, x1 += 1;
    x0 = fmin(x0, 0);
    panel *ps[3];
    int np = 0;
    ps[np++] = &loss;
    if (evalp.n) ps[np++] = &evalp;
    ps[np++] = &lrp;
    for (int i = 0; i < np; i++)
        for (int k = 0; k < ps[i]->n; k++) bin_series(&ps[i]->s[k], 2000);
    tc_atomic_file af;
    if (tc_atomic_open(&af, out_svg)) { rc = -1; goto out; }
    FILE *f = af.fp;
    int H = 40 + np * PH;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"26\" font-size=\"17\" text-anchor=\"middle\">", W / 2);
    xml_text(f, title ? title : log_jsonl);
    fputs("</text>\n", f);
    for (int i = 0; i < np; i++) draw_panel(f, ps[i], 40 + i * PH, x0, x1);
    fputs("</svg>\n", f);
    rc = tc_atomic_commit(&af);
out:
    panel_free(&loss);
    panel_free(&evalp);
    panel_free(&lrp);
    return rc;
}

int tc_plot_run(const char *run_dir, const char *out_svg) {
    char *log = tc_path_join(run_dir, "log.jsonl");
    int rc = tc_plot_log(log, out_svg, run_dir);
    free(log);
    return rc;
}
