/* Readers for the OPT v2 text files (spec §6.2) and the FM-IQA files (spec §5.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/dataset_internal.h"

/* "entry 12 (image \"a.jpg\")" */
static void entry_name(char *buf, size_t cap, int i, const char *what, const char *val) {
    if (val) snprintf(buf, cap, "entry %d (%s \"%.120s\")", i, what, val);
    else snprintf(buf, cap, "entry %d", i);
}

static char *join_image(const char *root, const char *rel) {
    return root && *root ? tc_path_join(root, rel) : tc_xstrdup(rel);
}

/* Every reader below takes the parsed document from either tc_ds_json_parse (tc_ds_parse_*: text in memory)
 * or tc_ds_json_load (tc_ds_load_*: a file), so each format is read by one function. This checks its top
 * level: a JSON list (want_list) or object, else frees it and sets "<name>: expected <what>". A NULL root
 * (broken JSON or an unreadable file, the error already set) passes through as NULL. */
static cJSON *top_level(cJSON *root, int want_list, const char *name, const char *what) {
    if (!root || (want_list ? cJSON_IsArray(root) : cJSON_IsObject(root))) return root;
    cJSON_Delete(root);
    tc_error_set("%s: expected %s", name, what);
    return NULL;
}

/* ---- image + captions ---- */

static void caption_item_free(tc_ds_caption_item *it) {
    for (int k = 0; k < it->ncap; k++) free(it->caps[k].v);
    free(it->caps);
    free(it->image);
    free(it->image_rel);
    memset(it, 0, sizeof *it);
}

/* Fill `it` from one JSON entry. Returns 0, or -1 with the reason in why. */
static int caption_entry(const cJSON *e, const char *root, tc_ds_caps_rule rule, const tc_ds_opts *o,
                         tc_ds_caption_item *it, char *why, size_t cap) {
    memset(it, 0, sizeof *it);
    if (!cJSON_IsObject(e)) { snprintf(why, cap, "expected an object with \"image\""); return -1; }
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(e, "image");
    if (!cJSON_IsString(img) || !img->valuestring[0]) { snprintf(why, cap, "field \"image\": expected a non-empty path string"); return -1; }
    it->image_rel = tc_xstrdup(img->valuestring);
    it->image = join_image(root, img->valuestring);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "caption");
    if (!c || cJSON_IsNull(c)) {
        if (rule == TC_DS_CAPS_OPTIONAL) goto image_check;
        snprintf(why, cap, "field \"caption\" is missing");
        return -1;
    }
    if (!cJSON_IsArray(c)) { snprintf(why, cap, "field \"caption\": expected a list"); return -1; }
    int n = cJSON_GetArraySize(c);
    if (n == 0) { snprintf(why, cap, "field \"caption\": empty caption list"); return -1; }
    /* a flat list of ids is one caption; a list of lists is several (one drawn per access in training) */
    int nested = cJSON_IsArray(cJSON_GetArrayItem(c, 0));
    int ncap = nested ? n : 1;
    if (rule == TC_DS_CAPS_FIVE && ncap != 5) {
        snprintf(why, cap, "field \"caption\": expected 5 captions, found %d", ncap);
        return -1;
    }
    it->caps = tc_xcalloc((size_t)ncap, sizeof *it->caps);
    if (!nested) {
        char w[200];
        if (tc_ds_json_ids(c, o, 0, &it->caps[0], w, sizeof w)) { snprintf(why, cap, "caption: %s", w); return -1; }
        it->ncap = 1;
    } else {
        const cJSON *ci;
        cJSON_ArrayForEach(ci, c) {
            char w[200];
            if (tc_ds_json_ids(ci, o, 0, &it->caps[it->ncap], w, sizeof w)) {
                snprintf(why, cap, "caption %d: %s", it->ncap, w);
                return -1;
            }
            it->ncap++;
        }
    }
image_check:
    if (o->check_images && !tc_file_exists(it->image)) {
        snprintf(why, cap, "image file %.300s does not exist", it->image);
        return -1;
    }
    return 0;
}

static int read_captions(cJSON *root, const char *name, const char *image_root, tc_ds_caps_rule rule,
                         const tc_ds_opts *o, tc_ds_captions *out) {
    memset(out, 0, sizeof *out);
    if (!(root = top_level(root, 1, name, "a JSON list of {\"image\", \"caption\"} entries"))) return -1;
    int n = cJSON_GetArraySize(root);
    out->items = tc_xcalloc((size_t)(n ? n : 1), sizeof *out->items);
    int i = 0, rc = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        char why[512], ent[200];
        tc_ds_caption_item *it = &out->items[out->n];
        if (caption_entry(e, image_root, rule, o, it, why, sizeof why)) {
            const cJSON *img = cJSON_GetObjectItemCaseSensitive(e, "image");
            entry_name(ent, sizeof ent, i, "image", cJSON_IsString(img) ? img->valuestring : NULL);
            caption_item_free(it);
            if ((rc = tc_ds_entry_fail(&out->report, o, name, ent, why))) break;
        } else {
            out->n++;
        }
        i++;
    }
    cJSON_Delete(root);
    if (rc) tc_ds_captions_free(out);
    return rc;
}

int tc_ds_parse_captions(const char *json, size_t len, const char *name, const char *image_root, tc_ds_caps_rule rule,
                         const tc_ds_opts *o, tc_ds_captions *out) {
    return read_captions(tc_ds_json_parse(json, len, name), name, image_root, rule, o, out);
}

int tc_ds_load_captions(const char *path, const char *image_root, tc_ds_caps_rule rule, const tc_ds_opts *o,
                        tc_ds_captions *out) {
    return read_captions(tc_ds_json_load(path), path, image_root, rule, o, out);
}

void tc_ds_captions_free(tc_ds_captions *c) {
    for (int i = 0; i < c->n; i++) caption_item_free(&c->items[i]);
    free(c->items);
    memset(c, 0, sizeof *c);
}

/* ---- caption GT ---- */

static int gt_cmp(const void *a, const void *b) {
    return strcmp(((const tc_ds_gt_entry *)a)->image_id, ((const tc_ds_gt_entry *)b)->image_id);
}

static void gt_entry_free(tc_ds_gt_entry *g) {
    for (int k = 0; k < g->ncap; k++) free(g->caps[k]);
    free(g->caps);
    free(g->image_id);
    memset(g, 0, sizeof *g);
}

static int read_caption_gt(cJSON *root, const char *name, const tc_ds_opts *o, tc_ds_gt *out) {
    memset(out, 0, sizeof *out);
    if (!(root = top_level(root, 0, name, "a JSON object {\"<image id>\": [captions]}"))) return -1;
    int n = cJSON_GetArraySize(root), rc = 0;
    out->e = tc_xcalloc((size_t)(n ? n : 1), sizeof *out->e);
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        char why[256] = "", ent[200];
        snprintf(ent, sizeof ent, "image id \"%.120s\"", e->string ? e->string : "");
        if (!cJSON_IsArray(e)) snprintf(why, sizeof why, "expected a list of caption strings");
        else if (cJSON_GetArraySize(e) == 0) snprintf(why, sizeof why, "empty caption list");
        else {
            tc_ds_gt_entry *g = &out->e[out->n];
            g->image_id = tc_xstrdup(e->string ? e->string : "");
            g->caps = tc_xcalloc((size_t)cJSON_GetArraySize(e), sizeof *g->caps);
            const cJSON *c;
            cJSON_ArrayForEach(c, e) {
                if (!cJSON_IsString(c)) { snprintf(why, sizeof why, "caption %d: expected a string", g->ncap); break; }
                g->caps[g->ncap++] = tc_xstrdup(c->valuestring);
            }
            if (why[0]) gt_entry_free(g);
            else out->n++;
        }
        if (why[0] && (rc = tc_ds_entry_fail(&out->report, o, name, ent, why))) break;
    }
    cJSON_Delete(root);
    if (rc) { tc_ds_gt_free(out); return rc; }
    qsort(out->e, (size_t)out->n, sizeof *out->e, gt_cmp);
    for (int i = 1; i < out->n; i++)
        if (strcmp(out->e[i - 1].image_id, out->e[i].image_id) == 0) {
            rc = tc_error_set("%s: image id \"%.120s\" appears twice", name, out->e[i].image_id);
            tc_ds_gt_free(out);
            return rc;
        }
    return 0;
}

int tc_ds_parse_caption_gt(const char *json, size_t len, const char *name, const tc_ds_opts *o, tc_ds_gt *out) {
    return read_caption_gt(tc_ds_json_parse(json, len, name), name, o, out);
}

int tc_ds_load_caption_gt(const char *path, const tc_ds_opts *o, tc_ds_gt *out) {
    return read_caption_gt(tc_ds_json_load(path), path, o, out);
}

const tc_ds_gt_entry *tc_ds_gt_find(const tc_ds_gt *gt, const char *image_id) {
    tc_ds_gt_entry key = {(char *)image_id, NULL, 0};
    return gt->n ? bsearch(&key, gt->e, (size_t)gt->n, sizeof *gt->e, gt_cmp) : NULL;
}

void tc_ds_gt_free(tc_ds_gt *gt) {
    for (int i = 0; i < gt->n; i++) gt_entry_free(&gt->e[i]);
    free(gt->e);
    memset(gt, 0, sizeof *gt);
}

void tc_ds_coco_image_id(const char *image_path, char *buf, size_t cap) {
    const char *base = strrchr(image_path, '/');
    base = base ? base + 1 : image_path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    size_t start = stem > 6 ? stem - 6 : 0;
    snprintf(buf, cap, "%.*s", (int)(stem - start), base + start);
}

/* ---- VQA ---- */

static void vqa_item_free(tc_ds_vqa_item *it) {
    free(it->question_id);
    free(it->image);
    free(it->image_rel);
    free(it->question.v);
    free(it->answer.v);
    memset(it, 0, sizeof *it);
}

static int vqa_ids(const cJSON *e, const char *qkey, const char *akey, int require_answer, const tc_ds_opts *o,
                   tc_ds_vqa_item *it, char *why, size_t cap) {
    char w[200];
    if (tc_ds_json_ids(cJSON_GetObjectItemCaseSensitive(e, qkey), o, 0, &it->question, w, sizeof w)) {
        snprintf(why, cap, "field \"%s\": %s", qkey, cJSON_GetObjectItemCaseSensitive(e, qkey) ? w : "missing");
        return -1;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, akey);
    if (!a && !require_answer) return 0;
    if (tc_ds_json_ids(a, o, 0, &it->answer, w, sizeof w)) {
        snprintf(why, cap, "field \"%s\": %s", akey, a ? w : "missing");
        return -1;
    }
    it->has_answer = 1;
    return 0;
}

/* One entry of the v2 list {"image_id", "question_id", "Question", "Answer"} into it; on failure why[] says
 * what, and ent[] names the entry (its question_id once that is read, else its index and image). */
static void vqa_list_entry(const cJSON *e, int i, const char *image_root, int require_answer, const tc_ds_opts *o,
                           tc_ds_vqa_item *it, char *why, size_t cap, char *ent, size_t ecap) {
    const cJSON *img = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "image_id") : NULL;
    if (!cJSON_IsObject(e)) snprintf(why, cap, "expected an object");
    else if (!cJSON_IsString(img) || !img->valuestring[0])
        snprintf(why, cap, "field \"image_id\": expected a non-empty image path string");
    else if (!(it->question_id = tc_ds_json_str_or_int(cJSON_GetObjectItemCaseSensitive(e, "question_id"))))
        snprintf(why, cap, "field \"question_id\": expected a number or string");
    else if (!vqa_ids(e, "Question", "Answer", require_answer, o, it, why, cap)) {
        it->image_rel = tc_xstrdup(img->valuestring);
        it->image = join_image(image_root, img->valuestring);
        if (o->check_images && !tc_file_exists(it->image))
            snprintf(why, cap, "image file %.300s does not exist", it->image);
    }
    if (!why[0]) return;
    if (it->question_id) snprintf(ent, ecap, "entry %d (question_id %.60s)", i, it->question_id);
    else entry_name(ent, ecap, i, "image_id", cJSON_IsString(img) ? img->valuestring : NULL);
}

/* One member "<question_id>": {"input_ids", "answer_ids"} of the v1 object into it (why[], ent[] as above). */
static void vqa_v1_entry(const cJSON *e, int require_answer, const tc_ds_opts *o, tc_ds_vqa_item *it, char *why,
                         size_t cap, char *ent, size_t ecap) {
    snprintf(ent, ecap, "question_id \"%.60s\"", e->string ? e->string : "");
    if (!cJSON_IsObject(e)) snprintf(why, cap, "expected an object with \"input_ids\"");
    else if (!vqa_ids(e, "input_ids", "answer_ids", require_answer, o, it, why, cap))
        it->question_id = tc_xstrdup(e->string ? e->string : "");
}

/* Both VQA forms: the v2 list (v1 0, images under image_root) or the v1 object keyed by question id. */
static int read_vqa(cJSON *root, const char *name, int v1, const char *image_root, int require_answer,
                    const tc_ds_opts *o, tc_ds_vqa *out) {
    memset(out, 0, sizeof *out);
    if (!(root = v1 ? top_level(root, 0, name, "a JSON object {\"<question_id>\": {\"input_ids\", \"answer_ids\"}}")
                    : top_level(root, 1, name, "a JSON list of {\"image_id\", \"Question\", \"Answer\"} entries")))
        return -1;
    int n = cJSON_GetArraySize(root), i = 0, rc = 0;
    out->items = tc_xcalloc((size_t)(n ? n : 1), sizeof *out->items);
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        char why[512] = "", ent[200];
        tc_ds_vqa_item *it = &out->items[out->n];
        memset(it, 0, sizeof *it);
        if (v1) vqa_v1_entry(e, require_answer, o, it, why, sizeof why, ent, sizeof ent);
        else vqa_list_entry(e, i, image_root, require_answer, o, it, why, sizeof why, ent, sizeof ent);
        if (why[0]) {
            vqa_item_free(it);
            if ((rc = tc_ds_entry_fail(&out->report, o, name, ent, why))) break;
        } else {
            out->n++;
        }
        i++;
    }
    cJSON_Delete(root);
    if (rc) tc_ds_vqa_free(out);
    return rc;
}

int tc_ds_parse_vqa(const char *json, size_t len, const char *name, const char *image_root, int require_answer,
                    const tc_ds_opts *o, tc_ds_vqa *out) {
    return read_vqa(tc_ds_json_parse(json, len, name), name, 0, image_root, require_answer, o, out);
}

int tc_ds_load_vqa(const char *path, const char *image_root, int require_answer, const tc_ds_opts *o, tc_ds_vqa *out) {
    return read_vqa(tc_ds_json_load(path), path, 0, image_root, require_answer, o, out);
}

int tc_ds_parse_vqa_v1(const char *json, size_t len, const char *name, int require_answer, const tc_ds_opts *o,
                       tc_ds_vqa *out) {
    return read_vqa(tc_ds_json_parse(json, len, name), name, 1, NULL, require_answer, o, out);
}

int tc_ds_load_vqa_v1(const char *path, int require_answer, const tc_ds_opts *o, tc_ds_vqa *out) {
    return read_vqa(tc_ds_json_load(path), path, 1, NULL, require_answer, o, out);
}

void tc_ds_vqa_free(tc_ds_vqa *v) {
    for (int i = 0; i < v->n; i++) vqa_item_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

/* ---- FM-IQA.json ---- */

static void fmiqa_item_free(tc_ds_fmiqa_item *it) {
    free(it->question_id);
    free(it->image_id);
    free(it->question);
    free(it->answer);
    memset(it, 0, sizeof *it);
}

static int fmiqa_split(const cJSON *arr, const char *split, const char *name, const tc_ds_opts *o, tc_ds_report *r,
                       tc_ds_fmiqa_item **items, int *count) {
    *items = NULL;
    *count = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr)) return tc_error_set("%s: field \"%s\": expected a list of questions", name, split);
    int n = cJSON_GetArraySize(arr), i = 0;
    *items = tc_xcalloc((size_t)(n ? n : 1), sizeof **items);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        char why[256] = "", ent[200];
        snprintf(ent, sizeof ent, "%s entry %d", split, i++);
        tc_ds_fmiqa_item *it = &(*items)[*count];
        if (!cJSON_IsObject(e)) snprintf(why, sizeof why, "expected an object");
        else if (!(it->question_id = tc_ds_json_str_or_int(cJSON_GetObjectItemCaseSensitive(e, "question_id"))))
            snprintf(why, sizeof why, "field \"question_id\": expected a number or string");
        else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "Answer")))
            snprintf(why, sizeof why, "field \"Answer\": expected a string");
        else {
            it->answer = tc_xstrdup(cJSON_GetObjectItemCaseSensitive(e, "Answer")->valuestring);
            it->image_id = tc_ds_json_str_or_int(cJSON_GetObjectItemCaseSensitive(e, "image_id"));
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "Question");
            it->question = cJSON_IsString(q) ? tc_xstrdup(q->valuestring) : NULL;
        }
        if (why[0]) {
            fmiqa_item_free(it);
            if (tc_ds_entry_fail(r, o, name, ent, why)) return -1;
        } else {
            (*count)++;
        }
    }
    return 0;
}

static int read_fmiqa(cJSON *root, const char *name, const tc_ds_opts *o, tc_ds_fmiqa *out) {
    memset(out, 0, sizeof *out);
    if (!(root = top_level(root, 0, name, "a JSON object {\"train\": [...], \"val\": [...]}"))) return -1;
    int rc = 0;
    if (!cJSON_GetObjectItemCaseSensitive(root, "val")) rc = tc_error_set("%s: field \"val\" is missing", name);
    if (!rc) rc = fmiqa_split(cJSON_GetObjectItemCaseSensitive(root, "train"), "train", name, o, &out->report, &out->train, &out->ntrain);
    if (!rc) rc = fmiqa_split(cJSON_GetObjectItemCaseSensitive(root, "val"), "val", name, o, &out->report, &out->val, &out->nval);
    cJSON_Delete(root);
    if (rc) tc_ds_fmiqa_free(out);
    return rc;
}

int tc_ds_parse_fmiqa(const char *json, size_t len, const char *name, const tc_ds_opts *o, tc_ds_fmiqa *out) {
    return read_fmiqa(tc_ds_json_parse(json, len, name), name, o, out);
}

int tc_ds_load_fmiqa(const char *path, const tc_ds_opts *o, tc_ds_fmiqa *out) {
    return read_fmiqa(tc_ds_json_load(path), path, o, out);
}

void tc_ds_fmiqa_free(tc_ds_fmiqa *f) {
    for (int i = 0; i < f->ntrain; i++) fmiqa_item_free(&f->train[i]);
    for (int i = 0; i < f->nval; i++) fmiqa_item_free(&f->val[i]);
    free(f->train);
    free(f->val);
    memset(f, 0, sizeof *f);
}

char *tc_ds_fmiqa_image_path(const char *img_root, int val, const char *image_id) {
    const char *sp = val ? "val" : "train";
    char rel[256];
    /* zero-pad numeric ids to 12 digits as the original's "%012d"; keep other strings as they are */
    char *end;
    long long num = strtoll(image_id, &end, 10);
    if (*image_id && !*end && num >= 0) snprintf(rel, sizeof rel, "mscoco/%s2014/COCO_%s2014_%012lld.jpg", sp, sp, num);
    else snprintf(rel, sizeof rel, "mscoco/%s2014/COCO_%s2014_%.200s.jpg", sp, sp, image_id);
    return tc_path_join(img_root, rel);
}
