#include "io/safetensors.h"
#include "core/error.h"
#include "core/fileio.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Header sizes above this are refused: real headers are a few hundred KB at most. */
#define TC_ST_MAX_HEADER (100u << 20)

static int parse_entry(const cJSON *item, const unsigned char *data, uint64_t data_len, const char *name,
                       tc_io_tensor *t) {
    const char *tn = item->string;
    if (!cJSON_IsObject(item)) return tc_error_set("%s: tensor \"%s\": expected an object", name, tn);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt) || tc_dtype_from_name(dt->valuestring, &t->dtype) != 0 || t->dtype == TC_DT_STR)
        return tc_error_set("%s: tensor \"%s\": field \"dtype\": expected F32/F16/BF16/F64/I8..I64/U8..U64/BOOL", name, tn);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > TC_IO_MAX_DIMS)
        return tc_error_set("%s: tensor \"%s\": field \"shape\": expected an array of at most %d sizes", name, tn, TC_IO_MAX_DIMS);
    t->ndim = 0;
    uint64_t numel = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 || d->valuedouble != (double)(int64_t)d->valuedouble)
            return tc_error_set("%s: tensor \"%s\": field \"shape\": expected non-negative integers", name, tn);
        int64_t v = (int64_t)d->valuedouble;
        if (v > 0 && numel > UINT64_MAX / (uint64_t)v / 8)
            return tc_error_set("%s: tensor \"%s\": field \"shape\": too large", name, tn);
        numel *= (uint64_t)v;
        t->shape[t->ndim++] = v;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return tc_error_set("%s: tensor \"%s\": field \"data_offsets\": expected [begin, end]", name, tn);
    double b = cJSON_GetArrayItem(offs, 0)->valuedouble, e = cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(offs, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(offs, 1)) || b < 0 || e < b ||
        e > (double)data_len || b != (double)(uint64_t)b || e != (double)(uint64_t)e)
        return tc_error_set("%s: tensor \"%s\": field \"data_offsets\": [%.0f, %.0f] is outside the %llu data bytes", name,
                            tn, b, e, (unsigned long long)data_len);
    uint64_t nbytes = (uint64_t)e - (uint64_t)b;
    if (nbytes != numel * tc_dtype_size(t->dtype))
        return tc_error_set("%s: tensor \"%s\": data_offsets span %llu bytes but shape and dtype need %llu", name, tn,
                            (unsigned long long)nbytes, (unsigned long long)(numel * tc_dtype_size(t->dtype)));
    t->numel = (int64_t)numel;
    t->nbytes = (size_t)nbytes;
    t->data = data + (uint64_t)b;
    t->name = tc_xstrdup(tn);
    return 0;
}

int tc_safetensors_parse(const void *buf, size_t len, const char *name, tc_tensor_file *out) {
    memset(out, 0, sizeof *out);
    const unsigned char *p = buf;
    if (len < 8) return tc_error_set("%s: not a safetensors file (%zu bytes, need an 8-byte header length)", name, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > TC_ST_MAX_HEADER || hlen > len - 8)
        return tc_error_set("%s: not a safetensors file (header length %llu exceeds the file size %zu)", name,
                            (unsigned long long)hlen, len);
    cJSON *root = cJSON_ParseWithLength((const char *)p + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc_error_set("%s: safetensors header is not a JSON object", name);
    }
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    int cap = cJSON_GetArraySize(root);
    out->t = tc_xcalloc((size_t)cap + 1, sizeof(tc_io_tensor));
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(item)) { cJSON_Delete(root); tc_tensor_file_close(out); return tc_error_set("%s: \"__metadata__\": expected an object", name); }
            free(out->metadata_json);
            out->metadata_json = cJSON_PrintUnformatted(item);
            continue;
        }
        if (parse_entry(item, data, data_len, name, &out->t[out->n]) != 0) {
            cJSON_Delete(root);
            tc_tensor_file_close(out);
            return -1;
        }
        out->n++;
    }
    cJSON_Delete(root);
    return 0;
}

int tc_safetensors_open(const char *path, tc_tensor_file *out) {
    void *map; size_t len;
    memset(out, 0, sizeof *out);
    if (tc_map_file(path, &map, &len) != 0) return -1;
    if (tc_safetensors_parse(map, len, path, out) != 0) {
        if (map) { tc_tensor_file f = {.map = map, .map_len = len}; tc_tensor_file_close(&f); }
        return -1;
    }
    out->map = map;
    out->map_len = len;
    return 0;
}

int tc_safetensors_write(const char *path, const tc_st_entry *e, int n, const char *const *meta, int nmeta) {
    cJSON *root = cJSON_CreateObject();
    if (nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; i + 1 < 2 * nmeta; i += 2) cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) numel *= (uint64_t)e[i].shape[d];
        uint64_t nb = numel * tc_dtype_size(e[i].dtype);
        cJSON *t = cJSON_AddObjectToObject(root, e[i].name);
        cJSON_AddStringToObject(t, "dtype", tc_dtype_name(e[i].dtype));
        cJSON *s = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < e[i].ndim; d++) cJSON_AddItemToArray(s, cJSON_CreateNumber((double)e[i].shape[d]));
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + nb)));
        off += nb;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t jl = strlen(json), padded = (jl + 7) & ~(size_t)7; /* data starts 8-byte aligned */
    tc_atomic_file af;
    if (tc_atomic_open(&af, path) != 0) { free(json); return -1; }
    unsigned char hdr[8];
    for (int i = 0; i < 8; i++) hdr[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(hdr, 1, 8, af.fp) == 8 && fwrite(json, 1, jl, af.fp) == jl;
    for (size_t i = jl; ok && i < padded; i++) ok = fputc(' ', af.fp) != EOF;
    free(json);
    for (int i = 0; ok && i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) numel *= (uint64_t)e[i].shape[d];
        size_t nb = (size_t)(numel * tc_dtype_size(e[i].dtype));
        ok = nb == 0 || fwrite(e[i].data, 1, nb, af.fp) == nb;
    }
    if (!ok) { tc_atomic_abort(&af); return tc_error_set("%s: write failed", path); }
    return tc_atomic_commit(&af);
}
