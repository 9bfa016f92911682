/* Prediction / ground-truth JSON of the original evaluation scripts (see caption_json.h). */
#include "eval/caption_json.h"

#include "eval/segment.h"

#include "core/error.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Normalised id of a JSON string/number; NULL if it is neither. `pad6` pads short all-digit ids. */
static char *id_string(const cJSON *v, int pad6) {
    char buf[64];
    const char *s;
    if (cJSON_IsString(v)) s = v->valuestring;
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
        s = buf;
    } else return NULL;
    size_t len = strlen(s);
    int digits = len > 0;
    for (size_t i = 0; i < len; i++) digits &= s[i] >= '0' && s[i] <= '9';
    if (pad6 && digits && len < 6) {
        char *out = tc_xmalloc(7);
        memset(out, '0', 6 - len);
        memcpy(out + 6 - len, s, len + 1);
        return out;
    }
    return tc_xstrdup(s);
}

static cJSON *parse_file(const char *path) {
    size_t len;
    char *text = tc_read_file(path, &len);
    if (!text) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        tc_error_set("%s: invalid JSON near byte %ld", path, off);
    }
    free(text);
    return j;
}

/* Builds (item, caption) pairs, then groups them by item. */
typedef struct {
    int32_t item;
    int32_t text;
} pair;

typedef struct {
    tc_tokdict *ids;  /* GT id -> item index */
    int *off;         /* [n_items+1] into text */
    char **text;
    int n_items, n_text, cap_items, cap_text;
    int *count;       /* captions per GT item while building */
    pair *pairs;      /* [np] while building (load_gt) */
    int np, cap_pairs;
} gt_index;

/* Store a GT caption; the (item, caption) pair is recorded by the caller. */
static void gt_add(gt_index *g, const char *cap) {
    if (g->n_text == g->cap_text) {
        g->cap_text = g->cap_text ? 2 * g->cap_text : 1024;
        g->text = tc_xrealloc(g->text, (size_t)g->cap_text * sizeof *g->text);
    }
    g->text[g->n_text++] = tc_xstrdup(cap);
}

/* Store GT caption cap of item it and record the (item, caption) pair. */
static void gt_pair(gt_index *g, int32_t it, const char *cap) {
    if (g->np == g->cap_pairs) {
        g->cap_pairs = g->cap_pairs ? 2 * g->cap_pairs : 1024;
        g->pairs = tc_xrealloc(g->pairs, (size_t)g->cap_pairs * sizeof *g->pairs);
    }
    gt_add(g, cap);
    g->pairs[g->np].item = it;
    g->pairs[g->np].text = g->n_text - 1;
    g->np++;
}

/* Pairs from a list of {"<id_key>": id, "<text_key>": "text"} entries (FM-IQA's "val", COCO's "annotations");
 * `what` names an entry in the messages, pad6 as in id_string. */
static int gt_entries(gt_index *g, const cJSON *list, const char *path, const char *what, const char *id_key, int pad6,
                      const char *text_key) {
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        char *id = id_string(cJSON_GetObjectItemCaseSensitive(e, id_key), pad6);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, text_key);
        if (!id) return tc_error_set("%s: %s %d: field \"%s\": expected a string or integer", path, what, i, id_key);
        if (!cJSON_IsString(t)) {
            free(id);
            return tc_error_set("%s: %s %d: field \"%s\": expected a string", path, what, i, text_key);
        }
        int32_t it = tc_tokdict_intern(g->ids, id, strlen(id));
        free(id);
        gt_pair(g, it, t->valuestring);
        i++;
    }
    return 0;
}

static int load_gt(tc_caption_task task, const char *path, gt_index *g) {
    cJSON *root = parse_file(path);
    if (!root) return -1;
    memset(g, 0, sizeof *g);
    g->ids = tc_tokdict_new();
    int rc = 0;
    if (task == TC_CAPTION_TASK_VQA) {
        const cJSON *val = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "val") : NULL;
        if (!cJSON_IsArray(val)) { rc = tc_error_set("%s: expected an object with a \"val\" array (FM-IQA.json)", path); goto done; }
        if ((rc = gt_entries(g, val, path, "val entry", "question_id", 0, "Answer"))) goto done;
    } else if (cJSON_IsObject(root) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "annotations"))) {
        rc = gt_entries(g, cJSON_GetObjectItemCaseSensitive(root, "annotations"), path, "annotation", "image_id", 1, "caption");
        if (rc) goto done;
    } else if (cJSON_IsObject(root)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, root) {
            cJSON key = {0};
            key.type = cJSON_String;
            key.valuestring = e->string;
            char *id = id_string(&key, 1);
            int32_t it = tc_tokdict_intern(g->ids, id, strlen(id));
            if (cJSON_IsString(e)) {
                gt_pair(g, it, e->valuestring);
            } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0) {
                int k = 0;
                const cJSON *c;
                cJSON_ArrayForEach(c, e) {
                    if (!cJSON_IsString(c)) {
                        rc = tc_error_set("%s: image \"%s\": caption %d: expected a string", path, e->string, k);
                        free(id);
                        goto done;
                    }
                    gt_pair(g, it, c->valuestring);
                    k++;
                }
            } else {
                rc = tc_error_set("%s: image \"%s\": expected a non-empty array of caption strings", path, e->string);
                free(id);
                goto done;
            }
            free(id);
        }
    } else {
        rc = tc_error_set("%s: expected an object {image_id: [captions]} or {\"annotations\": [...]}", path);
        goto done;
    }
    g->n_items = tc_tokdict_size(g->ids);
    if (g->n_items == 0) { rc = tc_error_set("%s: no ground-truth captions", path); goto done; }
    /* group caption indices by item (counting sort keeps file order within an item) */
    g->off = tc_xcalloc((size_t)g->n_items + 1, sizeof *g->off);
    for (int p = 0; p < g->np; p++) g->off[g->pairs[p].item + 1]++;
    for (int i = 0; i < g->n_items; i++) g->off[i + 1] += g->off[i];
    {
        int *fill = tc_xmalloc((size_t)g->n_items * sizeof *fill);
        memcpy(fill, g->off, (size_t)g->n_items * sizeof *fill);
        char **sorted = tc_xmalloc((size_t)(g->np > 0 ? g->np : 1) * sizeof *sorted);
        for (int p = 0; p < g->np; p++) sorted[fill[g->pairs[p].item]++] = g->text[g->pairs[p].text];
        free(g->text);
        g->text = sorted;
        free(fill);
    }
done:
    free(g->pairs);
    g->pairs = NULL;
    cJSON_Delete(root);
    return rc;
}

static void gt_free(gt_index *g) {
    for (int i = 0; i < g->n_text; i++) free(g->text[i]);
    free(g->text);
    free(g->off);
    tc_tokdict_free(g->ids);
}

/* VQA prediction text: spaces removed; empty -> "。" (test_vqa.py process_predict_file). */
static char *vqa_pred(const char *a) {
    size_t len = strlen(a);
    char *out = tc_xmalloc(len + 4);
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (a[i] != ' ') out[w++] = a[i];
    out[w] = 0;
    if (w == 0) strcpy(out, "\xe3\x80\x82");
    return out;
}

int tc_caption_set_load(tc_caption_task task, const char *pred_path, const char *gt_path, tc_caption_set *out) {
    memset(out, 0, sizeof *out);
    gt_index g;
    memset(&g, 0, sizeof g);
    if (load_gt(task, gt_path, &g)) {
        if (g.ids) gt_free(&g);
        return -1;
    }
    cJSON *root = parse_file(pred_path);
    if (!root) { gt_free(&g); return -1; }
    int rc = 0;
    const char *id_field = task == TC_CAPTION_TASK_VQA ? "question_id" : "image_id";
    const char *text_field = task == TC_CAPTION_TASK_VQA ? "answer" : "caption";
    if (!cJSON_IsArray(root)) {
        rc = tc_error_set("%s: expected an array of {\"%s\": .., \"%s\": ..} objects", pred_path, id_field, text_field);
        goto done;
    }
    int n = cJSON_GetArraySize(root);
    if (n == 0) { rc = tc_error_set("%s: no predictions", pred_path); goto done; }
    out->id = tc_xcalloc((size_t)n, sizeof *out->id);
    out->pred = tc_xcalloc((size_t)n, sizeof *out->pred);
    out->refs = tc_xcalloc((size_t)n, sizeof *out->refs);
    int *first = tc_xmalloc((size_t)g.n_items * sizeof *first); /* entry that used each GT item */
    memset(first, 0xff, (size_t)g.n_items * sizeof *first);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        char *id = id_string(cJSON_GetObjectItemCaseSensitive(e, id_field), task == TC_CAPTION_TASK_CAPTION);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, text_field);
        if (!id) { rc = tc_error_set("%s: entry %d: field \"%s\": expected a string or integer", pred_path, i, id_field); break; }
        if (!cJSON_IsString(t)) {
            rc = tc_error_set("%s: entry %d (%s %s): field \"%s\": expected a string", pred_path, i, id_field, id, text_field);
            free(id);
            break;
        }
        int32_t before = tc_tokdict_size(g.ids);
        int32_t item = tc_tokdict_intern(g.ids, id, strlen(id));
        if (item >= before) {
            rc = tc_error_set("%s: entry %d: %s \"%s\" is not in %s", pred_path, i, id_field, id, gt_path);
            free(id);
            break;
        }
        if (first[item] >= 0) {
            rc = tc_error_set("%s: entry %d: %s \"%s\" repeats entry %d (expected one prediction each)", pred_path, i,
                              id_field, id, first[item]);
            free(id);
            break;
        }
        first[item] = i;
        out->id[i] = id;
        out->pred[i] = task == TC_CAPTION_TASK_VQA ? vqa_pred(t->valuestring) : tc_xstrdup(t->valuestring);
        out->refs[i].text = (const char *const *)(g.text + g.off[item]);
        out->refs[i].n = g.off[item + 1] - g.off[item];
        out->n = ++i;
    }
    free(first);
done:
    cJSON_Delete(root);
    out->gt_text = g.text;
    out->n_gt_text = g.off ? g.off[g.n_items] : 0;
    out->n_gt_items = g.n_items;
    g.text = NULL;
    free(g.off);
    tc_tokdict_free(g.ids);
    if (rc) tc_caption_set_free(out);
    return rc;
}

void tc_caption_set_free(tc_caption_set *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->id[i]);
        free(s->pred[i]);
    }
    free(s->id);
    free(s->pred);
    free(s->refs);
    for (int i = 0; i < s->n_gt_text; i++) free(s->gt_text[i]);
    free(s->gt_text);
    memset(s, 0, sizeof *s);
}

static char *strip_for_match(const char *a) {
    size_t len = strlen(a), w = 0;
    char *out = tc_xmalloc(len + 1);
    for (size_t i = 0; i < len;) {
        if (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\r') { i++; continue; }
        if (i + 3 <= len && memcmp(a + i, "\xe3\x80\x82", 3) == 0) { i += 3; continue; }
        out[w++] = a[i++];
    }
    out[w] = 0;
    return out;
}

double tc_vqa_exact_match(const tc_caption_set *s) {
    if (s->n == 0) return 0;
    int hit = 0;
    for (int i = 0; i < s->n; i++) {
        char *p = strip_for_match(s->pred[i]), *r = strip_for_match(s->refs[i].text[0]);
        hit += strcmp(p, r) == 0;
        free(p);
        free(r);
    }
    return 100.0 * hit / s->n;
}
