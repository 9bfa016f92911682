/* ids -> text (spec §3.3); see detok.h. */
#include "data/detok.h"

#include "core/error.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Ids above this are rejected as corrupt keys instead of allocating a huge table for one entry. */
#define DETOK_MAX_ID (1 << 24)

static int parse_id(const char *key, int32_t *id) {
    if (!key[0] || strlen(key) > 9) return -1;
    int32_t v = 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    if (v >= DETOK_MAX_ID) return -1;
    *id = v;
    return 0;
}

int tc_detok_parse_json(tc_detok *d, const char *json, size_t len, const char *name) {
    memset(d, 0, sizeof *d);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + len ? (long)(at - json) : -1;
        return tc_error_set("%s: invalid JSON near byte %ld: expected an object mapping ids to tokens", name, off);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc_error_set("%s: expected a JSON object {\"<id>\": \"<token>\"} at the top level", name);
    }
    int32_t max_id = -1;
    for (cJSON *e = root->child; e; e = e->next) {
        int32_t id;
        if (parse_id(e->string, &id)) {
            tc_error_set("%s: key \"%.40s\": expected a decimal token id below %d", name, e->string, DETOK_MAX_ID);
            cJSON_Delete(root);
            return -1;
        }
        if (!cJSON_IsString(e)) {
            tc_error_set("%s: key \"%s\": expected a string token", name, e->string);
            cJSON_Delete(root);
            return -1;
        }
        if (id > max_id) max_id = id;
    }
    d->n = max_id + 1;
    d->tok = tc_xcalloc(d->n ? (size_t)d->n : 1, sizeof *d->tok);
    for (cJSON *e = root->child; e; e = e->next) {
        int32_t id;
        parse_id(e->string, &id);
        free(d->tok[id]); /* a repeated key: the later one wins, as in Python's json.load */
        d->tok[id] = tc_xstrdup(e->valuestring);
    }
    cJSON_Delete(root);
    return 0;
}

int tc_detok_load_json(tc_detok *d, const char *path) {
    size_t len = 0;
    char *data = tc_read_file(path, &len);
    if (!data) {
        memset(d, 0, sizeof *d);
        return -1;
    }
    int rc = tc_detok_parse_json(d, data, len, path);
    free(data);
    return rc;
}

void tc_detok_from_vocab(tc_detok *d, const tc_vocab *v) {
    d->n = v->n;
    d->tok = tc_xcalloc(v->n ? (size_t)v->n : 1, sizeof *d->tok);
    for (int32_t i = 0; i < v->n; i++) d->tok[i] = tc_xstrdup(tc_vocab_token(v, i));
}

void tc_detok_free(tc_detok *d) {
    for (int32_t i = 0; i < d->n; i++) free(d->tok[i]);
    free(d->tok);
    memset(d, 0, sizeof *d);
}

char *tc_detok_decode(const tc_detok *d, const int32_t *ids, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n && ids[i] != 0; i++)
        if (ids[i] > 0 && ids[i] < d->n && d->tok[ids[i]]) len += strlen(d->tok[ids[i]]);
    char *s = tc_xmalloc(len + 1), *o = s;
    for (size_t i = 0; i < n && ids[i] != 0; i++)
        if (ids[i] > 0 && ids[i] < d->n && d->tok[ids[i]]) {
            size_t l = strlen(d->tok[ids[i]]);
            memcpy(o, d->tok[ids[i]], l);
            o += l;
        }
    *o = 0;
    /* text.replace(" ##", ""): in place, the result only shrinks */
    char *r = s, *w = s;
    while (*r) {
        if (r[0] == ' ' && r[1] == '#' && r[2] == '#') r += 3;
        else *w++ = *r++;
    }
    *w = 0;
    return s;
}
