/* JSON helpers of the dataset readers (see dataset_internal.h). */
#include "data/dataset_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"

tc_ds_opts tc_ds_opts_default(void) {
    tc_ds_opts o = {0, 1, 21128};
    return o;
}

cJSON *tc_ds_json_parse(const char *json, size_t len, const char *name) {
    const char *end = NULL;
    /* the length-bounded parser never reads past len, so the fuzzer can pass unterminated buffers */
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root) return root;
    if (!end || end < json || end > json + len) end = json;
    int line = 1, col = 1;
    for (const char *p = json; p < end; p++) {
        if (*p == '\n') { line++; col = 1; }
        else col++;
    }
    if (len == 0) tc_error_set("%s: broken JSON: the file is empty", name);
    else tc_error_set("%s: broken JSON at line %d, column %d", name, line, col);
    return NULL;
}

cJSON *tc_ds_json_load(const char *path) {
    size_t len;
    char *data = tc_read_file(path, &len);
    if (!data) return NULL;
    cJSON *root = tc_ds_json_parse(data, len, path);
    free(data);
    return root;
}

int tc_ds_json_ids(const cJSON *arr, const tc_ds_opts *o, int allow_empty, tc_ds_ids *out, char *why, size_t cap) {
    out->v = NULL;
    out->n = 0;
    if (!cJSON_IsArray(arr)) { snprintf(why, cap, "expected a list of token ids"); return -1; }
    int n = cJSON_GetArraySize(arr);
    if (n == 0 && !allow_empty) { snprintf(why, cap, "empty token id list"); return -1; }
    int32_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) { snprintf(why, cap, "out of memory for %d ids", n); return -1; }
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || !isfinite(d) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0) {
            snprintf(why, cap, "token %d: expected an integer id", k);
            free(v);
            return -1;
        }
        if (d < 0 || (o->vocab_size > 0 && d >= o->vocab_size)) {
            snprintf(why, cap, "token %d: id %.0f is outside the vocab (%d ids)", k, d, o->vocab_size);
            free(v);
            return -1;
        }
        v[k++] = (int32_t)d;
    }
    out->v = v;
    out->n = k;
    return 0;
}

char *tc_ds_json_str_or_int(const cJSON *v) {
    if (cJSON_IsString(v)) return tc_xstrdup(v->valuestring);
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
        fabs(v->valuedouble) < 9.0e15) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
        return tc_xstrdup(buf);
    }
    return NULL;
}

int tc_ds_entry_fail(tc_ds_report *r, const tc_ds_opts *o, const char *name, const char *entry, const char *why) {
    if (o->skip_bad) {
        if (r->skipped++ == 0) snprintf(r->first_skip, sizeof r->first_skip, "%s: %s: %s", name, entry, why);
        return 0;
    }
    return tc_error_set("%s: %s: %s", name, entry, why);
}
