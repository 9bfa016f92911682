#include "model/weights.h"
#include "core/error.h"
#include "io/mindspore_ckpt.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push(char ***list, int *n, const char *s) {
    *list = tc_xrealloc(*list, sizeof(char *) * (size_t)(*n + 1));
    (*list)[(*n)++] = tc_xstrdup(s);
}

static void fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && o < n; i++) o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

int tc_weights_load(tc_params *ps, const tc_tensor_file *f, tc_load_report *rep) {
    memset(rep, 0, sizeof *rep);
    char *used = tc_xcalloc((size_t)f->n + 1, 1);
    for (int i = 0; i < ps->n; i++) {
        tc_param *p = ps->p[i];
        const tc_io_tensor *t = NULL;
        for (int k = 0; k < f->n; k++)
            if (strcmp(f->t[k].name, p->name) == 0) { t = &f->t[k]; used[k] = 1; break; }
        if (!t) { push(&rep->missing, &rep->n_missing, p->name); continue; }
        int ok = t->numel == (int64_t)p->numel;
        if (ok && t->ndim != 0) {
            ok = t->ndim == p->t.ndim;
            for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == p->t.shape[d];
        }
        if (!ok) {
            char a[128], b[128], msg[400];
            int64_t ms[TC_MAX_DIMS];
            for (int d = 0; d < p->t.ndim; d++) ms[d] = p->t.shape[d];
            fmt_shape(a, sizeof a, t->ndim, t->shape);
            fmt_shape(b, sizeof b, p->t.ndim, ms);
            snprintf(msg, sizeof msg, "%s: file %s vs model %s", p->name, a, b);
            push(&rep->mismatched, &rep->n_mismatched, msg);
            continue;
        }
        if (tc_io_tensor_to_f32(t, p->t.data) != 0) { free(used); return -1; }
        rep->loaded++;
    }
    for (int k = 0; k < f->n; k++)
        if (!used[k]) push(&rep->unexpected, &rep->n_unexpected, f->t[k].name);
    free(used);
    return 0;
}

void tc_load_report_free(tc_load_report *rep) {
    for (int i = 0; i < rep->n_missing; i++) free(rep->missing[i]);
    for (int i = 0; i < rep->n_unexpected; i++) free(rep->unexpected[i]);
    for (int i = 0; i < rep->n_mismatched; i++) free(rep->mismatched[i]);
    free(rep->missing); free(rep->unexpected); free(rep->mismatched);
    memset(rep, 0, sizeof *rep);
}

static void print_list(const char *what, char **v, int n, int max_list) {
    if (!n) return;
    fprintf(stderr, "  %s (%d):\n", what, n);
    int shown = max_list > 0 && max_list < n ? max_list : n;
    for (int i = 0; i < shown; i++) fprintf(stderr, "    %s\n", v[i]);
    if (shown < n) fprintf(stderr, "    ... and %d more\n", n - shown);
}

void tc_load_report_print(const tc_load_report *rep, const char *file, int max_list) {
    fprintf(stderr, "%s: %d tensors loaded, %d missing, %d unexpected, %d of the wrong shape\n", file, rep->loaded,
            rep->n_missing, rep->n_unexpected, rep->n_mismatched);
    print_list("missing", rep->missing, rep->n_missing, max_list);
    print_list("wrong shape", rep->mismatched, rep->n_mismatched, max_list);
    print_list("unexpected (ignored)", rep->unexpected, rep->n_unexpected, max_list);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int tc_weights_open(const char *path, tc_tensor_file *out) {
    if (ends_with(path, ".safetensors")) return tc_safetensors_open(path, out);
    if (ends_with(path, ".ckpt")) {
        if (tc_ckpt_open(path, out) != 0) return -1;
        tc_ckpt_resolve_aliases(out);
        return 0;
    }
    return tc_error_set("%s: unknown checkpoint type (expected .safetensors or a MindSpore .ckpt)", path);
}

int tc_weights_save_safetensors(const tc_params *ps, const char *path, const char *const *meta, int nmeta) {
    tc_st_entry *e = tc_xcalloc((size_t)ps->n + 1, sizeof *e);
    int64_t(*shapes)[TC_MAX_DIMS] = tc_xcalloc((size_t)ps->n + 1, sizeof *shapes);
    for (int i = 0; i < ps->n; i++) {
        const tc_param *p = ps->p[i];
        for (int d = 0; d < p->t.ndim; d++) shapes[i][d] = p->t.shape[d];
        e[i] = (tc_st_entry){p->name, TC_DT_F32, p->t.ndim, shapes[i], ps->data + p->offset};
    }
    int rc = tc_safetensors_write(path, e, ps->n, meta, nmeta);
    free(e);
    free(shapes);
    return rc;
}
