#include "io/mindspore_ckpt.h"
#include "core/error.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>

/* ---- protobuf wire format: just what checkpoint.proto needs ---- */

typedef struct pb_reader {
    const unsigned char *p, *end;
} pb_reader;

static int pb_varint(pb_reader *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        unsigned char b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = x; return 0; }
    }
    return -1;
}

/* Reads a key; for wire type 2 also the payload bounds. Returns 0, or -1 on malformed input. */
static int pb_field(pb_reader *r, uint32_t *field, int *wt, pb_reader *payload, uint64_t *varint) {
    uint64_t key;
    if (pb_varint(r, &key) != 0) return -1;
    *field = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case 0: return pb_varint(r, varint);
    case 1: if (r->end - r->p < 8) return -1; r->p += 8; return 0;
    case 5: if (r->end - r->p < 4) return -1; r->p += 4; return 0;
    case 2: {
        uint64_t n;
        if (pb_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p)) return -1;
        payload->p = r->p;
        payload->end = r->p + n;
        r->p += n;
        return 0;
    }
    default: return -1; /* groups (3/4) are not used by checkpoint.proto */
    }
}

static const struct { const char *name; tc_dtype dt; } ms_types[] = {
    {"Float32", TC_DT_F32}, {"Float16", TC_DT_F16}, {"Float64", TC_DT_F64}, {"BFloat16", TC_DT_BF16},
    {"Int8", TC_DT_I8},     {"Int16", TC_DT_I16},   {"Int32", TC_DT_I32},   {"Int64", TC_DT_I64},
    {"UInt8", TC_DT_U8},    {"Uint8", TC_DT_U8},    {"UInt16", TC_DT_U16},  {"Uint16", TC_DT_U16},
    {"UInt32", TC_DT_U32},  {"Uint32", TC_DT_U32},  {"UInt64", TC_DT_U64},  {"Uint64", TC_DT_U64},
    {"Bool", TC_DT_BOOL},
};

typedef struct raw_record {
    const char *tag; size_t tag_len;
    const char *type; size_t type_len;
    const unsigned char *content; size_t content_len;
    int64_t dims[TC_IO_MAX_DIMS]; int ndims;
} raw_record;

static int parse_tensor_proto(pb_reader tp, raw_record *rec, const char *name, long index) {
    while (tp.p < tp.end) {
        uint32_t f; int wt; pb_reader pl = {0}; uint64_t v = 0;
        if (pb_field(&tp, &f, &wt, &pl, &v) != 0) return tc_error_set("%s: record %ld: malformed TensorProto", name, index);
        if (f == 1 && wt == 0) {
            if (rec->ndims >= TC_IO_MAX_DIMS) return tc_error_set("%s: record %ld: more than %d dims", name, index, TC_IO_MAX_DIMS);
            rec->dims[rec->ndims++] = (int64_t)v;
        } else if (f == 1 && wt == 2) {
            while (pl.p < pl.end) {
                if (rec->ndims >= TC_IO_MAX_DIMS) return tc_error_set("%s: record %ld: more than %d dims", name, index, TC_IO_MAX_DIMS);
                if (pb_varint(&pl, &v) != 0) return tc_error_set("%s: record %ld: malformed packed dims", name, index);
                rec->dims[rec->ndims++] = (int64_t)v;
            }
        } else if (f == 2 && wt == 2) {
            rec->type = (const char *)pl.p; rec->type_len = (size_t)(pl.end - pl.p);
        } else if (f == 3 && wt == 2) {
            rec->content = pl.p; rec->content_len = (size_t)(pl.end - pl.p);
        }
    }
    if (!rec->type) return tc_error_set("%s: record %ld: TensorProto has no tensor_type", name, index);
    return 0;
}

static int parse_value(pb_reader val, raw_record *rec, const char *name, long index) {
    memset(rec, 0, sizeof *rec);
    int have_tensor = 0;
    while (val.p < val.end) {
        uint32_t f; int wt; pb_reader pl = {0}; uint64_t v;
        if (pb_field(&val, &f, &wt, &pl, &v) != 0) return tc_error_set("%s: record %ld: malformed Value", name, index);
        if (f == 1 && wt == 2) { rec->tag = (const char *)pl.p; rec->tag_len = (size_t)(pl.end - pl.p); }
        else if (f == 2 && wt == 2) {
            if (parse_tensor_proto(pl, rec, name, index) != 0) return -1;
            have_tensor = 1;
        }
    }
    if (!rec->tag || !have_tensor) return tc_error_set("%s: record %ld: Value needs a tag and a tensor", name, index);
    return 0;
}

static int find_type(const raw_record *r, tc_dtype *dt) {
    for (size_t i = 0; i < sizeof ms_types / sizeof ms_types[0]; i++)
        if (strlen(ms_types[i].name) == r->type_len && memcmp(ms_types[i].name, r->type, r->type_len) == 0) {
            *dt = ms_types[i].dt;
            return 0;
        }
    return -1;
}

int tc_ckpt_parse(const void *buf, size_t len, const char *name, tc_tensor_file *out) {
    memset(out, 0, sizeof *out);
    pb_reader r = {buf, (const unsigned char *)buf + len};
    int cap = 0;
    long index = 0;
    raw_record rec;
    while (r.p < r.end) {
        uint32_t f; int wt; pb_reader pl = {0}; uint64_t v;
        if (pb_field(&r, &f, &wt, &pl, &v) != 0) {
            tc_tensor_file_close(out);
            return tc_error_set("%s: not a MindSpore checkpoint, or truncated (bad protobuf at byte %ld)", name,
                                (long)(r.p - (const unsigned char *)buf));
        }
        if (f != 1 || wt != 2) continue; /* unknown top-level fields are skipped */
        if (parse_value(pl, &rec, name, index) != 0) { tc_tensor_file_close(out); return -1; }
        index++;
        tc_dtype dt;
        if (find_type(&rec, &dt) != 0) { out->skipped++; continue; }
        size_t esz = tc_dtype_size(dt);
        tc_io_tensor *prev = out->n ? &out->t[out->n - 1] : NULL;
        if (prev && strlen(prev->name) == rec.tag_len && memcmp(prev->name, rec.tag, rec.tag_len) == 0) {
            /* A split tensor: append this slice of the flattened data. */
            if (dt != prev->dtype) { tc_error_set("%s: tensor \"%s\": split records disagree on dtype", name, prev->name); goto fail; }
            if (prev->nbytes + rec.content_len > (size_t)prev->numel * esz) { tc_error_set("%s: tensor \"%s\": split records hold more data than its dims", name, prev->name); goto fail; }
            unsigned char *nb = malloc(prev->nbytes + rec.content_len);
            if (!nb) { tc_error_set("%s: tensor \"%s\": out of memory", name, prev->name); goto fail; }
            memcpy(nb, prev->data, prev->nbytes);
            memcpy(nb + prev->nbytes, rec.content, rec.content_len);
            free(prev->owned);
            prev->owned = nb;
            prev->data = nb;
            prev->nbytes += rec.content_len;
            continue;
        }
        if (prev && prev->nbytes != (size_t)prev->numel * tc_dtype_size(prev->dtype)) {
            tc_error_set("%s: tensor \"%s\": %zu data bytes, but its dims need %zu", name, prev->name, prev->nbytes,
                         (size_t)prev->numel * tc_dtype_size(prev->dtype));
            goto fail;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            out->t = tc_xrealloc(out->t, sizeof(tc_io_tensor) * (size_t)cap);
        }
        tc_io_tensor *t = &out->t[out->n];
        memset(t, 0, sizeof *t);
        t->name = tc_xmalloc(rec.tag_len + 1);
        memcpy(t->name, rec.tag, rec.tag_len);
        t->name[rec.tag_len] = 0;
        out->n++;
        t->dtype = dt;
        uint64_t numel = 1;
        int scalar = rec.ndims == 0 || (rec.ndims == 1 && rec.dims[0] == 0);
        t->ndim = scalar ? 0 : rec.ndims;
        for (int d = 0; d < t->ndim; d++) {
            if (rec.dims[d] < 0 || (rec.dims[d] > 0 && numel > (UINT64_MAX / 16) / (uint64_t)rec.dims[d])) {
                tc_error_set("%s: tensor \"%s\": invalid dims", name, t->name);
                goto fail;
            }
            t->shape[d] = rec.dims[d];
            numel *= (uint64_t)rec.dims[d];
        }
        if (numel * esz > len) {
            tc_error_set("%s: tensor \"%s\": dims need %llu bytes, more than the file holds", name, t->name,
                         (unsigned long long)(numel * esz));
            goto fail;
        }
        t->numel = (int64_t)numel;
        t->data = rec.content;
        t->nbytes = rec.content_len;
    }
    if (out->n) {
        tc_io_tensor *last = &out->t[out->n - 1];
        if (last->nbytes != (size_t)last->numel * tc_dtype_size(last->dtype)) {
            tc_error_set("%s: tensor \"%s\": %zu data bytes, but its dims need %zu (truncated file?)", name, last->name,
                         last->nbytes, (size_t)last->numel * tc_dtype_size(last->dtype));
            goto fail;
        }
    }
    if (out->n == 0 && len > 0 && out->skipped == 0)
        return tc_error_set("%s: not a MindSpore checkpoint (no tensor records)", name);
    return 0;
fail: /* the message is set before the table (which the message may reference) is freed */
    tc_tensor_file_close(out);
    return -1;
}

int tc_ckpt_open(const char *path, tc_tensor_file *out) {
    void *map; size_t len;
    memset(out, 0, sizeof *out);
    if (tc_map_file(path, &map, &len) != 0) return -1;
    if (len == 0) return tc_error_set("%s: empty file, not a MindSpore checkpoint", path);
    if (tc_ckpt_parse(map, len, path, out) != 0) {
        tc_tensor_file f = {.map = map, .map_len = len};
        tc_tensor_file_close(&f);
        return -1;
    }
    out->map = map;
    out->map_len = len;
    return 0;
}

int tc_ckpt_resolve_aliases(tc_tensor_file *f) {
    static const char *const aliases[][2] = {
        {"cls.predictions.decoder.weight", "uniter.embeddings.word_embeddings.embedding_table"},
        {"feat_regress.weight", "uniter.img_embeddings.img_linear.weight"},
        {"audio_feat_regress.weight", "uniter.audio_embeddings.audio_linear.weight"},
        /* spec §7.3 (MED): the ViT position table was created under the explicit name pos_embedding */
        {"uniter.img_embeddings.vit.pos_embedding", "uniter.img_embeddings.vit.encoder_pos_embedding"},
    };
    int added = 0;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        const tc_io_tensor *stored = tc_tensor_file_find(f, aliases[i][0]);
        if (!stored || tc_tensor_file_find(f, aliases[i][1])) continue;
        ptrdiff_t at = stored - f->t;
        f->t = tc_xrealloc(f->t, sizeof(tc_io_tensor) * (size_t)(f->n + 1));
        tc_io_tensor *t = &f->t[f->n++];
        *t = f->t[at];
        t->name = tc_xstrdup(aliases[i][1]);
        t->owned = NULL; /* shares the stored tensor's bytes */
        added++;
    }
    return added;
}

/* ---- writer ---- */

static void put_varint(unsigned char **p, uint64_t v) {
    while (v >= 0x80) { *(*p)++ = (unsigned char)(v | 0x80); v >>= 7; }
    *(*p)++ = (unsigned char)v;
}
static size_t varint_len(uint64_t v) { size_t n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

int tc_ckpt_write_f32(const char *path, const char *const *names, const float *const *data, const int *ndims,
                      const int64_t *const *shapes, int n) {
    tc_atomic_file af;
    if (tc_atomic_open(&af, path) != 0) return -1;
    int ok = 1;
    for (int i = 0; ok && i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < ndims[i]; d++) numel *= (uint64_t)shapes[i][d];
        size_t content = (size_t)numel * 4, tag = strlen(names[i]);
        /* TensorProto: dims (unpacked, field 1), tensor_type (2), tensor_content (3). */
        size_t tp = 0;
        if (ndims[i] == 0) tp += 1 + 1; /* scalar: dims [0] */
        for (int d = 0; d < ndims[i]; d++) tp += 1 + varint_len((uint64_t)shapes[i][d]);
        tp += 1 + varint_len(7) + 7;
        tp += 1 + varint_len(content) + content;
        size_t val = 1 + varint_len(tag) + tag + 1 + varint_len(tp) + tp;
        size_t hdr_cap = 64 + tag + 16 * (size_t)(ndims[i] + 1);
        unsigned char *hdr = tc_xmalloc(hdr_cap), *p = hdr;
        *p++ = 0x0a; put_varint(&p, val);               /* Checkpoint.value (field 1, LEN) */
        *p++ = 0x0a; put_varint(&p, tag); memcpy(p, names[i], tag); p += tag; /* Value.tag */
        *p++ = 0x12; put_varint(&p, tp);                /* Value.tensor */
        if (ndims[i] == 0) { *p++ = 0x08; put_varint(&p, 0); }
        for (int d = 0; d < ndims[i]; d++) { *p++ = 0x08; put_varint(&p, (uint64_t)shapes[i][d]); }
        *p++ = 0x12; put_varint(&p, 7); memcpy(p, "Float32", 7); p += 7;
        *p++ = 0x1a; put_varint(&p, content);
        ok = fwrite(hdr, 1, (size_t)(p - hdr), af.fp) == (size_t)(p - hdr) &&
             (content == 0 || fwrite(data[i], 1, content, af.fp) == content);
        free(hdr);
    }
    if (!ok) { tc_atomic_abort(&af); return tc_error_set("%s: write failed", path); }
    return tc_atomic_commit(&af);
}
