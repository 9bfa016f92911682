/* Readers for the OPT v1 formats (spec §6.1): id lists, the text db, path rules, VQ tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/audio.h"
#include "data/dataset_internal.h"
#include "io/npy.h"

void tc_ds_free_strings(char **s, int n) {
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* root: the parsed document from tc_ds_json_parse or tc_ds_json_load (NULL: broken or unreadable, the error
 * set), so text in memory and files are read by this one function. */
static int read_id_list(cJSON *root, const char *name, char ***ids, int *n) {
    *ids = NULL;
    *n = 0;
    if (!root) return -1;
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return tc_error_set("%s: expected a JSON list of id strings", name);
    }
    int cnt = cJSON_GetArraySize(root), k = 0;
    char **v = tc_xcalloc((size_t)(cnt ? cnt : 1), sizeof *v);
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!cJSON_IsString(e) || !e->valuestring[0]) {
            tc_ds_free_strings(v, k);
            cJSON_Delete(root);
            return tc_error_set("%s: entry %d: expected a non-empty id string", name, k);
        }
        v[k++] = tc_xstrdup(e->valuestring);
    }
    cJSON_Delete(root);
    *ids = v;
    *n = k;
    return 0;
}

int tc_ds_parse_id_list(const char *json, size_t len, const char *name, char ***ids, int *n) {
    return read_id_list(tc_ds_json_parse(json, len, name), name, ids, n);
}

int tc_ds_load_id_list(const char *path, char ***ids, int *n) {
    return read_id_list(tc_ds_json_load(path), path, ids, n);
}

/* ---- text db ---- */

static int meta_int(const cJSON *m, const char *key, const char *path, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return tc_error_set("%s: field \"%s\": expected a non-negative integer", path, key);
    *out = (int)v->valuedouble;
    return 0;
}

int tc_ds_txtdb_open(const char *dir, tc_ds_txtdb *db) {
    memset(db, 0, sizeof *db);
    char *path = tc_path_join(dir, "meta.json");
    cJSON *m = tc_ds_json_load(path);
    int rc = m ? 0 : -1;
    if (!rc && !cJSON_IsObject(m)) rc = tc_error_set("%s: expected a JSON object", path);
    if (!rc) rc = meta_int(m, "CLS", path, &db->cls);
    if (!rc) rc = meta_int(m, "SEP", path, &db->sep);
    if (!rc) rc = meta_int(m, "MASK", path, &db->mask);
    if (!rc) {
        const cJSON *vr = cJSON_GetObjectItemCaseSensitive(m, "v_range");
        if (!cJSON_IsArray(vr) || cJSON_GetArraySize(vr) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(vr, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(vr, 1)) ||
            cJSON_GetArrayItem(vr, 0)->valuedouble >= cJSON_GetArrayItem(vr, 1)->valuedouble ||
            cJSON_GetArrayItem(vr, 0)->valuedouble < 0 || cJSON_GetArrayItem(vr, 1)->valuedouble > 1e9)
            rc = tc_error_set("%s: field \"v_range\": expected [lo, hi] with 0 <= lo < hi", path);
        else {
            db->v_lo = (int)cJSON_GetArrayItem(vr, 0)->valuedouble;
            db->v_hi = (int)cJSON_GetArrayItem(vr, 1)->valuedouble;
        }
    }
    cJSON_Delete(m);
    free(path);
    if (!rc) db->dir = tc_xstrdup(dir);
    return rc;
}

void tc_ds_txtdb_close(tc_ds_txtdb *db) {
    free(db->dir);
    memset(db, 0, sizeof *db);
}

int tc_ds_txtdb_get(const tc_ds_txtdb *db, const char *id, const tc_ds_opts *o, tc_ds_ids *out) {
    out->v = NULL;
    out->n = 0;
    size_t n = strlen(db->dir) + strlen(id) + 16;
    char *path = tc_xmalloc(n);
    snprintf(path, n, "%s/%s.json", db->dir, id);
    if (!tc_file_exists(path)) { /* the original's fallback: <db>_json/<id>.json */
        char *alt = tc_xmalloc(n + 8);
        snprintf(alt, n + 8, "%s_json/%s.json", db->dir, id);
        if (tc_file_exists(alt)) { free(path); path = alt; }
        else {
            tc_error_set("text db %s: id \"%s\": neither %s nor %s exists", db->dir, id, path, alt);
            free(alt);
            free(path);
            return -1;
        }
    }
    cJSON *j = tc_ds_json_load(path);
    int rc = j ? 0 : -1;
    if (!rc) {
        char why[200];
        const cJSON *ids = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "input_ids") : NULL;
        if (!ids) rc = tc_error_set("%s: field \"input_ids\" is missing", path);
        else if (tc_ds_json_ids(ids, o, 0, out, why, sizeof why)) rc = tc_error_set("%s: field \"input_ids\": %s", path, why);
    }
    cJSON_Delete(j);
    free(path);
    if (!rc && strstr(id, "laion400m")) { /* the original drops the first 3 ids of LAION texts */
        int drop = out->n < 3 ? out->n : 3;
        memmove(out->v, out->v + drop, (size_t)(out->n - drop) * sizeof *out->v);
        out->n -= drop;
    }
    return rc;
}

/* ---- path rules ---- */

char *tc_ds_v1_image_path(const char *img_dir, const char *id) {
    const char *jpg = strstr(id, ".jpg");
    if (!jpg) { /* e.g. VQA ids "mscoco/train2014/COCO_train2014_<12 digits>" */
        size_t n = strlen(id) + 5;
        char *rel = tc_xmalloc(n);
        snprintf(rel, n, "%s.jpg", id);
        char *p = tc_path_join(img_dir, rel);
        free(rel);
        return p;
    }
    size_t keep = (size_t)(jpg - id) + 4; /* drop the caption index after ".jpg" */
    char *rel = tc_xmalloc(keep + 1);
    memcpy(rel, id, keep);
    rel[keep] = 0;
    char *p = tc_path_join(img_dir, rel);
    if (!tc_file_exists(p)) {
        const char *base = strrchr(rel, '/');
        if (base) {
            char *alt = tc_path_join(img_dir, base + 1);
            if (tc_file_exists(alt)) { free(p); p = alt; }
            else free(alt);
        }
    }
    free(rel);
    return p;
}

char *tc_ds_v1_token_path(const char *tok_dir, const char *id, int data_type) {
    size_t n = strlen(id) + 16;
    char *rel = tc_xmalloc(n);
    const char *jpg = data_type == 2 ? strstr(id, ".jpg") : NULL;
    if (data_type == 1) {
        snprintf(rel, n, "%s.npz", id);
        for (char *c = rel; *c; c++) if (*c == '_') *c = '/';
    } else if (jpg) {
        /* ".jpg<K>" -> ".jpg.npz", else ".jpg<K>" -> ".npz" */
        int stem = (int)(jpg - id);
        snprintf(rel, n, "%.*s.jpg.npz", stem, id);
        char *p = tc_path_join(tok_dir, rel);
        if (tc_file_exists(p)) { free(rel); return p; }
        free(p);
        snprintf(rel, n, "%.*s.npz", stem, id);
    } else {
        snprintf(rel, n, "%s.npz", id);
    }
    char *p = tc_path_join(tok_dir, rel);
    free(rel);
    return p;
}

int tc_ds_load_img_tokens(const char *path, int64_t **codes, int *n) {
    *codes = NULL;
    *n = 0;
    tc_npy a = {0};
    if (tc_npz_read_i64(path, "feat", &a)) return -1;
    if (a.size <= 0 || a.size > (1 << 24)) {
        tc_npy_free(&a);
        return tc_error_set("%s: \"feat\": expected a non-empty code array, got %lld values", path, (long long)a.size);
    }
    *codes = a.i64; /* take ownership of the flat (row-major) buffer */
    *n = (int)a.size;
    a.i64 = NULL;
    tc_npy_free(&a);
    return 0;
}

/* ---- joined v1 samples ---- */

static void v1_item_free(tc_ds_v1_item *it) {
    free(it->id);
    free(it->image);
    free(it->audio);
    free(it->input_ids.v);
    memset(it, 0, sizeof *it);
}

int tc_ds_v1_load(const char *ids_path, const char *txt_db, const char *img_dir, const char *audio_dir,
                  const tc_ds_opts *o, tc_ds_v1 *out) {
    memset(out, 0, sizeof *out);
    char **ids;
    int n;
    if (tc_ds_load_id_list(ids_path, &ids, &n)) return -1;
    if (tc_ds_txtdb_open(txt_db, &out->db)) { tc_ds_free_strings(ids, n); return -1; }
    out->items = tc_xcalloc((size_t)(n ? n : 1), sizeof *out->items);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        tc_ds_v1_item *it = &out->items[out->n];
        char why[600] = "", ent[200];
        snprintf(ent, sizeof ent, "entry %d (id \"%.120s\")", i, ids[i]);
        it->id = tc_xstrdup(ids[i]);
        it->image = tc_ds_v1_image_path(img_dir, ids[i]);
        it->audio = audio_dir ? tc_audio_feat_path(audio_dir, ids[i]) : NULL;
        if (tc_ds_txtdb_get(&out->db, ids[i], o, &it->input_ids)) snprintf(why, sizeof why, "%s", tc_error_get());
        else if (o->check_images && !tc_file_exists(it->image))
            snprintf(why, sizeof why, "image file %.300s does not exist", it->image);
        else if (o->check_images && it->audio && !tc_file_exists(it->audio))
            snprintf(why, sizeof why, "audio file %.300s does not exist", it->audio);
        if (why[0]) {
            v1_item_free(it);
            rc = tc_ds_entry_fail(&out->report, o, ids_path, ent, why);
        } else {
            out->n++;
        }
    }
    tc_ds_free_strings(ids, n);
    if (rc) tc_ds_v1_free(out);
    return rc;
}

void tc_ds_v1_free(tc_ds_v1 *d) {
    for (int i = 0; i < d->n; i++) v1_item_free(&d->items[i]);
    free(d->items);
    tc_ds_txtdb_close(&d->db);
    memset(d, 0, sizeof *d);
}
