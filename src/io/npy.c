/* NumPy .npy / .npz reading and writing (API and conventions in npy.h; zip container in zip.c).
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major, minor, header length (u16 for v1, u32 for
 * v2/v3), then an ASCII (v3: UTF-8) Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a final '\n', then the raw element data. Everything read from the file is
 * validated before use: header bounds, the dict grammar, dtype, shape overflow and data length. */
#include "io/npy.h"
#include "core/error.h"
#include "core/fileio.h"
#include "io/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- dtype */

typedef struct dtype_info {
    char kind;   /* 'b' bool, 'i' signed, 'u' unsigned, 'f' float */
    int size;    /* bytes per element */
    int big;     /* stored big-endian */
} dtype_info;

static int host_is_big(void) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return 1;
#else
    return 0;
#endif
}

/* Parse "<f4"-style descr into info and a normalised 3-char form ('=' resolved, '|' for 1-byte). */
static int parse_descr(const char *d, dtype_info *info, char norm[8]) {
    size_t n = strlen(d);
    if (n < 3 || n > 3 || !strchr("<>|=", d[0]) || !strchr("biuf", d[1]) || d[2] < '1' || d[2] > '8') return -1;
    info->kind = d[1];
    info->size = d[2] - '0';
    int ok = (info->kind == 'b' && info->size == 1) ||
             ((info->kind == 'i' || info->kind == 'u') && (info->size == 1 || info->size == 2 || info->size == 4 || info->size == 8)) ||
             (info->kind == 'f' && (info->size == 2 || info->size == 4 || info->size == 8));
    if (!ok) return -1;
    if (info->size == 1) {
        info->big = 0;
        norm[0] = '|';
    } else {
        if (d[0] == '|') return -1;   /* multi-byte types need a byte order */
        info->big = d[0] == '>' || (d[0] == '=' && host_is_big());
        norm[0] = info->big ? '>' : '<';
    }
    norm[1] = d[1];
    norm[2] = d[2];
    norm[3] = 0;
    return 0;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {   /* subnormal: value = man * 2^-24 */
            float v = (float)man * 5.9604644775390625e-8f;
            return sign ? -v : v;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Load one element's raw bits as an unsigned 64-bit integer in host order. */
static uint64_t load_bits(const uint8_t *p, const dtype_info *t) {
    uint64_t v = 0;
    if (t->big)
        for (int i = 0; i < t->size; i++) v = v << 8 | p[i];
    else
        for (int i = t->size; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static double elem_as_double(const uint8_t *p, const dtype_info *t) {
    uint64_t v = load_bits(p, t);
    switch (t->kind) {
    case 'b': return v != 0;
    case 'u': return (double)v;
    case 'i': {
        int shift = 64 - 8 * t->size;   /* sign-extend */
        return (double)((int64_t)(v << shift) >> shift);
    }
    default:
        if (t->size == 2) return half_to_float((uint16_t)v);
        if (t->size == 4) { uint32_t b = (uint32_t)v; float f; memcpy(&f, &b, 4); return f; }
        { double d; memcpy(&d, &v, 8); return d; }
    }
}

/* Integer conversion; floats must hold exact integers in int64 range, uint64 must fit int64. */
static int elem_as_i64(const uint8_t *p, const dtype_info *t, int64_t *out) {
    uint64_t v = load_bits(p, t);
    switch (t->kind) {
    case 'b': *out = v != 0; return 0;
    case 'u':
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
        return 0;
    case 'i': {
        int shift = 64 - 8 * t->size;
        *out = (int64_t)(v << shift) >> shift;
        return 0;
    }
    default: {
        double d = elem_as_double(p, t);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return -1;
        *out = (int64_t)d;
        return 0;
    }
    }
}

/* ---------------------------------------------------------------- header dict parser */

typedef struct hdr_parser {
    const char *s;
    size_t pos, len;
    const char *name;
} hdr_parser;

static void skip_ws(hdr_parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int expect_ch(hdr_parser *p, char c, const char *what) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != c)
        return tc_error_set("%s: header: expected '%c' %s at byte %zu", p->name, c, what, p->pos);
    p->pos++;
    return 0;
}

/* A Python string literal with ' or " quotes (no escapes: numpy never writes them in these fields). */
static int parse_str(hdr_parser *p, char *out, size_t cap, const char *what) {
    skip_ws(p);
    if (p->pos >= p->len || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return tc_error_set("%s: header: %s: expected a quoted string at byte %zu", p->name, what, p->pos);
    char q = p->s[p->pos++];
    size_t n = 0;
    while (p->pos < p->len && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\') return tc_error_set("%s: header: %s: escape sequences are not supported", p->name, what);
        if (n + 1 >= cap) return tc_error_set("%s: header: %s: string too long", p->name, what);
        if ((unsigned char)p->s[p->pos] < 0x20 || p->s[p->pos] == 0x7f)
            return tc_error_set("%s: header: %s: control character in string at byte %zu", p->name, what, p->pos);
        out[n++] = p->s[p->pos++];
    }
    if (p->pos >= p->len) return tc_error_set("%s: header: %s: unterminated string", p->name, what);
    p->pos++;
    out[n] = 0;
    return 0;
}

static int starts_with(hdr_parser *p, const char *w) {
    size_t n = strlen(w);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) { p->pos += n; return 1; }
    return 0;
}

static int parse_shape(hdr_parser *p, tc_npy *out) {
    if (expect_ch(p, '(', "opening 'shape' tuple") != 0) return -1;
    out->ndim = 0;
    for (;;) {
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ')') { p->pos++; break; }
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return tc_error_set("%s: header: 'shape': expected a non-negative integer at byte %zu", p->name, p->pos);
        uint64_t v = 0;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            v = v * 10 + (uint64_t)(p->s[p->pos++] - '0');
            if (v > (uint64_t)INT64_MAX) return tc_error_set("%s: header: 'shape': dimension too large", p->name);
        }
        if (p->pos < p->len && p->s[p->pos] == 'L') p->pos++;   /* Python 2 long suffix */
        if (out->ndim == TC_NPY_MAX_DIMS)
            return tc_error_set("%s: header: 'shape': expected at most %d dimensions", p->name, TC_NPY_MAX_DIMS);
        out->shape[out->ndim++] = (int64_t)v;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == ')') { p->pos++; break; }
        return tc_error_set("%s: header: 'shape': expected ',' or ')' at byte %zu", p->name, p->pos);
    }
    return 0;
}

typedef struct npy_view {
    dtype_info t;
    int fortran;
    const uint8_t *data;
    size_t data_len;
} npy_view;

/* Validate the file image and fill out->ndim/shape/size/dtype and the view of the element data. */
static int parse_npy_header(const uint8_t *b, size_t len, const char *name, tc_npy *out, npy_view *v) {
    if (len == 0) return tc_error_set("%s: empty file: expected a .npy array", name);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        if (len >= 4 && memcmp(b, "PK\3\4", 4) == 0)
            return tc_error_set("%s: this is a zip (.npz) archive: expected a .npy array", name);
        return tc_error_set("%s: magic: expected \"\\x93NUMPY\" (not a .npy file, or truncated)", name);
    }
    int major = b[6], minor = b[7];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return tc_error_set("%s: header length: file truncated", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        return tc_error_set("%s: version %d.%d: expected 1.0, 2.0 or 3.0", name, major, minor);
    }
    if (hlen > len - off)
        return tc_error_set("%s: header: %zu bytes declared but only %zu present (truncated)", name, hlen, len - off);
    hdr_parser p = {(const char *)b + off, 0, hlen, name};
    char descr[32] = "", key[32];
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (expect_ch(&p, '{', "to open the header dict") != 0) return -1;
    for (;;) {
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == '}') { p.pos++; break; }
        if (parse_str(&p, key, sizeof key, "dict key") != 0) return -1;
        if (expect_ch(&p, ':', "after a dict key") != 0) return -1;
        skip_ws(&p);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (p.pos < p.len && p.s[p.pos] == '[')
                return tc_error_set("%s: header: 'descr': structured dtypes are not supported: expected a numeric dtype like '<f4'", name);
            if (parse_str(&p, descr, sizeof descr, "'descr'") != 0) return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (starts_with(&p, "True")) v->fortran = 1;
            else if (starts_with(&p, "False")) v->fortran = 0;
            else return tc_error_set("%s: header: 'fortran_order': expected True or False", name);
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (parse_shape(&p, out) != 0) return -1;
            have_shape = 1;
        } else {
            return tc_error_set("%s: header: key '%s': expected each of 'descr', 'fortran_order', 'shape' once", name, key);
        }
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == ',') { p.pos++; continue; }
        if (expect_ch(&p, '}', "to close the header dict") != 0) return -1;
        break;
    }
    for (; p.pos < p.len; p.pos++)
        if (p.s[p.pos] != ' ' && p.s[p.pos] != '\n' && p.s[p.pos] != '\t' && p.s[p.pos] != '\r' && p.s[p.pos] != 0)
            return tc_error_set("%s: header: unexpected text after the dict at byte %zu", name, p.pos);
    if (!have_descr || !have_fortran || !have_shape)
        return tc_error_set("%s: header: missing key '%s'", name, !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    if (parse_descr(descr, &v->t, out->dtype) != 0)
        return tc_error_set("%s: header: 'descr': expected a numeric dtype (b1, i1-i8, u1-u8, f2, f4, f8 with byte order), got '%s'",
                            name, descr);
    int64_t size = 1;
    for (int i = 0; i < out->ndim; i++)
        if (__builtin_mul_overflow(size, out->shape[i], &size))
            return tc_error_set("%s: header: 'shape': element count overflows", name);
    out->size = size;
    uint64_t need;
    if (__builtin_mul_overflow((uint64_t)size, (uint64_t)v->t.size, &need))
        return tc_error_set("%s: header: 'shape': byte size overflows", name);
    size_t data_off = off + hlen;
    if (need > len - data_off)
        return tc_error_set("%s: data: expected %" PRIu64 " bytes for shape and dtype %s, file has %zu (truncated)", name, need,
                            out->dtype, len - data_off);
    v->data = b + data_off;
    v->data_len = (size_t)need;
    return 0;
}

/* Source element index (in storage order) of each C-order output element, walked by an odometer. */
typedef struct src_walker {
    int ndim;
    int64_t idx[TC_NPY_MAX_DIMS], stride[TC_NPY_MAX_DIMS], src;
    const int64_t *shape;
} src_walker;

static void walker_init(src_walker *w, const tc_npy *a, int fortran) {
    memset(w, 0, sizeof *w);
    w->ndim = a->ndim;
    w->shape = a->shape;
    int64_t s = 1;
    if (fortran) {
        for (int k = 0; k < a->ndim; k++) { w->stride[k] = s; s *= a->shape[k]; }
    } else {
        for (int k = a->ndim; k-- > 0;) { w->stride[k] = s; s *= a->shape[k]; }
    }
}

static void walker_next(src_walker *w) {
    for (int k = w->ndim; k-- > 0;) {
        w->src += w->stride[k];
        if (++w->idx[k] < w->shape[k]) return;
        w->src -= w->stride[k] * w->shape[k];
        w->idx[k] = 0;
    }
}

static int convert(const npy_view *v, const char *name, tc_npy *out, int want_i64) {
    int64_t n = out->size;
    size_t esz = want_i64 ? sizeof(int64_t) : sizeof(float);
    void *dst = malloc(n > 0 ? (size_t)n * esz : esz);
    if (!dst) return tc_error_set("%s: out of memory for %" PRId64 " elements", name, n);
    const dtype_info *t = &v->t;
    int contiguous = !v->fortran || out->ndim <= 1;
    if (contiguous && !want_i64 && t->kind == 'f' && t->size == 4 && t->big == host_is_big()) {
        memcpy(dst, v->data, (size_t)n * 4);
    } else if (contiguous && want_i64 && t->kind == 'i' && t->size == 8 && t->big == host_is_big()) {
        memcpy(dst, v->data, (size_t)n * 8);
    } else {
        src_walker w;
        walker_init(&w, out, contiguous ? 0 : 1);
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *p = v->data + (size_t)(contiguous ? i : w.src) * (size_t)t->size;
            if (want_i64) {
                if (elem_as_i64(p, t, (int64_t *)dst + i) != 0) {
                    double d = elem_as_double(p, t);
                    free(dst);
                    return tc_error_set("%s: element %" PRId64 ": value %.17g (dtype %s): expected an integer representable as int64",
                                        name, i, d, out->dtype);
                }
            } else {
                ((float *)dst)[i] = (float)elem_as_double(p, t);
            }
            if (!contiguous) walker_next(&w);
        }
    }
    if (want_i64) out->i64 = dst;
    else out->f32 = dst;
    return 0;
}

static int parse_any(const void *buf, size_t len, const char *name, tc_npy *out, int want_i64) {
    memset(out, 0, sizeof *out);
    npy_view v;
    memset(&v, 0, sizeof v);
    if (parse_npy_header(buf, len, name, out, &v) != 0 || convert(&v, name, out, want_i64) != 0) {
        tc_npy_free(out);
        return -1;
    }
    return 0;
}

int tc_npy_parse_f32(const void *buf, size_t len, const char *name, tc_npy *out) { return parse_any(buf, len, name, out, 0); }
int tc_npy_parse_i64(const void *buf, size_t len, const char *name, tc_npy *out) { return parse_any(buf, len, name, out, 1); }

void tc_npy_free(tc_npy *a) {
    if (!a) return;
    free(a->f32);
    free(a->i64);
    a->f32 = NULL;
    a->i64 = NULL;
}

/* ---------------------------------------------------------------- file access */

/* Map a whole file read-only (large embedding/token files are not copied). len 0 gives map NULL. */
typedef struct mapped { void *p; size_t len; } mapped;

static int map_file(const char *path, mapped *m) {
    m->p = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tc_error_set("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return tc_error_set("%s: cannot stat: %s", path, strerror(errno)); }
    if (!S_ISREG(st.st_mode)) { close(fd); return tc_error_set("%s: not a regular file", path); }
    m->len = (size_t)st.st_size;
    if (m->len) {
        m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->p == MAP_FAILED) {
            m->p = NULL;
            close(fd);
            return tc_error_set("%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    return 0;
}

static void unmap_file(mapped *m) {
    if (m->p) munmap(m->p, m->len);
    m->p = NULL;
}

static int read_npy(const char *path, tc_npy *out, int want_i64) {
    memset(out, 0, sizeof *out);
    mapped m;
    if (map_file(path, &m) != 0) return -1;
    int rc = parse_any(m.p, m.len, path, out, want_i64);
    unmap_file(&m);
    return rc;
}

int tc_npy_read_f32(const char *path, tc_npy *out) { return read_npy(path, out, 0); }
int tc_npy_read_i64(const char *path, tc_npy *out) { return read_npy(path, out, 1); }

/* Find "key" or "key.npy"; on failure list what the archive holds. */
static int find_member(const tc_zip *z, const char *key) {
    int i = tc_zip_find(z, key);
    if (i >= 0) return i;
    size_t n = strlen(key);
    char *k = tc_xmalloc(n + 5);
    memcpy(k, key, n);
    memcpy(k + n, ".npy", 5);
    i = tc_zip_find(z, k);
    free(k);
    if (i >= 0) return i;
    char list[256] = "";
    size_t used = 0;
    for (int j = 0; j < z->n && used + 8 < sizeof list; j++) {
        int w = snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "", z->entries[j].name);
        if (w < 0 || (size_t)w >= sizeof list - used) { snprintf(list + used, sizeof list - used, ", ..."); break; }
        used += (size_t)w;
    }
    return tc_error_set("%s: key '%s': no such member (archive holds %d: %s)", z->name, key, z->n, z->n ? list : "none");
}

static int parse_npz(const void *buf, size_t len, const char *name, const char *key, tc_npy *out, int want_i64) {
    memset(out, 0, sizeof *out);
    tc_zip z;
    if (tc_zip_open(&z, buf, len, name) != 0) return -1;
    int idx = find_member(&z, key);
    if (idx < 0) { tc_zip_close(&z); return -1; }
    const uint8_t *data;
    size_t dlen;
    uint8_t *owned;
    int rc = tc_zip_extract(&z, idx, &data, &dlen, &owned);
    if (rc == 0) {
        size_t nn = strlen(name) + strlen(z.entries[idx].name) + 3;
        char *mname = tc_xmalloc(nn);
        snprintf(mname, nn, "%s: %s", name, z.entries[idx].name);
        rc = parse_any(data, dlen, mname, out, want_i64);
        free(mname);
        free(owned);
    }
    tc_zip_close(&z);
    return rc;
}

int tc_npz_parse_f32(const void *buf, size_t len, const char *name, const char *key, tc_npy *out) {
    return parse_npz(buf, len, name, key, out, 0);
}
int tc_npz_parse_i64(const void *buf, size_t len, const char *name, const char *key, tc_npy *out) {
    return parse_npz(buf, len, name, key, out, 1);
}

static int read_npz(const char *path, const char *key, tc_npy *out, int want_i64) {
    memset(out, 0, sizeof *out);
    mapped m;
    if (map_file(path, &m) != 0) return -1;
    int rc = parse_npz(m.p, m.len, path, key, out, want_i64);
    unmap_file(&m);
    return rc;
}

int tc_npz_read_f32(const char *path, const char *key, tc_npy *out) { return read_npz(path, key, out, 0); }
int tc_npz_read_i64(const char *path, const char *key, tc_npy *out) { return read_npz(path, key, out, 1); }

int tc_npz_list(const char *path, char ***keys, int *n) {
    *keys = NULL;
    *n = 0;
    mapped m;
    if (map_file(path, &m) != 0) return -1;
    tc_zip z;
    int rc = tc_zip_open(&z, m.p, m.len, path);
    if (rc == 0) {
        *keys = tc_xcalloc((size_t)(z.n ? z.n : 1), sizeof **keys);
        for (int i = 0; i < z.n; i++) {
            char *s = tc_xstrdup(z.entries[i].name);
            size_t l = strlen(s);
            if (l > 4 && strcmp(s + l - 4, ".npy") == 0) s[l - 4] = 0;
            (*keys)[i] = s;
        }
        *n = z.n;
        tc_zip_close(&z);
    }
    unmap_file(&m);
    return rc;
}

/* ---------------------------------------------------------------- writers */

typedef struct npy_src {
    const char *path;   /* for messages */
    const float *f32;
    const int64_t *i64;
    dtype_info t;
    char dtype[8];
    int ndim;
    const int64_t *shape;
    int64_t size;
    char header[448];   /* magic + length + dict + padding (8 dims of 19 digits fit) */
    size_t header_len;
} npy_src;

/* Validate and prepare a member: dtype must suit the data kind, shape non-negative. */
static int npy_src_init(npy_src *s, const char *path, const float *f32, const int64_t *i64, const char *dtype, int ndim,
                        const int64_t *shape) {
    memset(s, 0, sizeof *s);
    s->path = path;
    s->f32 = f32;
    s->i64 = i64;
    s->ndim = ndim;
    s->shape = shape;
    if (ndim < 0 || ndim > TC_NPY_MAX_DIMS) return tc_error_set("%s: ndim %d: expected 0..%d", path, ndim, TC_NPY_MAX_DIMS);
    if (!dtype || parse_descr(dtype, &s->t, s->dtype) != 0)
        return tc_error_set("%s: dtype '%s': expected a numeric dtype like '<f4', '<i8', '|u1'", path, dtype ? dtype : "(null)");
    if (f32 && s->t.kind != 'f') return tc_error_set("%s: dtype %s: float data must be written as <f4 or <f8", path, dtype);
    if (f32 && s->t.size == 2) return tc_error_set("%s: dtype %s: float16 writing is not supported", path, dtype);
    if (i64 && s->t.kind == 'f') return tc_error_set("%s: dtype %s: integer data must be written with an integer or bool dtype", path, dtype);
    s->size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return tc_error_set("%s: shape[%d] = %" PRId64 ": expected >= 0", path, i, shape[i]);
        if (__builtin_mul_overflow(s->size, shape[i], &s->size)) return tc_error_set("%s: shape: element count overflows", path);
    }
    if (s->size > 0 && !f32 && !i64) return tc_error_set("%s: no data given", path);
    /* Range check integers up front so the CRC pass and the write pass agree and nothing partial is written. */
    if (i64 && s->t.kind != 'b') {
        int64_t lo, hi;
        if (s->t.kind == 'u') { lo = 0; hi = s->t.size == 8 ? INT64_MAX : (int64_t)((1ull << (8 * s->t.size)) - 1); }
        else { hi = s->t.size == 8 ? INT64_MAX : (int64_t)((1ull << (8 * s->t.size - 1)) - 1); lo = -hi - 1; }
        for (int64_t i = 0; i < s->size; i++)
            if (i64[i] < lo || i64[i] > hi)
                return tc_error_set("%s: element %" PRId64 ": value %" PRId64 " out of range for dtype %s", path, i, i64[i], s->dtype);
    }
    char dict[320];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", s->dtype);
    for (int i = 0; i < ndim; i++) n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %" PRId64 : "%" PRId64, shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    /* Pad with spaces so the data starts on a 64-byte boundary, as numpy does; header ends in '\n'. */
    size_t total = 10 + (size_t)n + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - 10;
    memcpy(s->header, "\x93NUMPY\x01\x00", 8);
    s->header[8] = (char)(hlen & 0xFF);
    s->header[9] = (char)(hlen >> 8);
    memcpy(s->header + 10, dict, (size_t)n);
    memset(s->header + 10 + n, ' ', hlen - (size_t)n - 1);
    s->header[total - 1] = '\n';
    s->header_len = total;
    return 0;
}

static uint64_t npy_src_bytes(const npy_src *s) { return s->header_len + (uint64_t)s->size * (uint64_t)s->t.size; }

static void store_bits(uint8_t *p, uint64_t v, const dtype_info *t) {
    if (t->big)
        for (int i = t->size; i-- > 0;) { p[i] = (uint8_t)v; v >>= 8; }
    else
        for (int i = 0; i < t->size; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

/* Produce header + converted data in 64 KiB pieces. */
static int npy_src_emit(void *ctx, tc_zip_sink sink, void *sink_ctx) {
    const npy_src *s = ctx;
    if (sink(sink_ctx, s->header, s->header_len) != 0) return -1;
    uint8_t buf[1 << 16];
    size_t per = sizeof buf / (size_t)s->t.size, fill = 0;
    for (int64_t i = 0; i < s->size; i++) {
        uint8_t *p = buf + fill * (size_t)s->t.size;
        uint64_t bits;
        if (s->f32) {
            if (s->t.size == 4) { uint32_t b; memcpy(&b, &s->f32[i], 4); bits = b; }
            else { double d = s->f32[i]; memcpy(&bits, &d, 8); }
        } else if (s->t.kind == 'b') {
            bits = s->i64[i] != 0;
        } else {
            bits = (uint64_t)s->i64[i];
        }
        store_bits(p, bits, &s->t);
        if (++fill == per) {
            if (sink(sink_ctx, buf, fill * (size_t)s->t.size) != 0) return -1;
            fill = 0;
        }
    }
    if (fill && sink(sink_ctx, buf, fill * (size_t)s->t.size) != 0) return -1;
    return 0;
}

static int fp_sink(void *ctx, const void *bytes, size_t n) {
    tc_atomic_file *af = ctx;
    if (n && fwrite(bytes, 1, n, af->fp) != n) return tc_error_set("%s: write failed", af->path);
    return 0;
}

static int write_npy(const char *path, const float *f32, const int64_t *i64, const char *dtype, int ndim, const int64_t *shape) {
    npy_src s;
    if (npy_src_init(&s, path, f32, i64, dtype, ndim, shape) != 0) return -1;
    tc_atomic_file af;
    if (tc_atomic_open(&af, path) != 0) return -1;
    if (npy_src_emit(&s, fp_sink, &af) != 0) { tc_atomic_abort(&af); return -1; }
    return tc_atomic_commit(&af);
}

int tc_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape) {
    return write_npy(path, data, NULL, "<f4", ndim, shape);
}

int tc_npy_write_i64(const char *path, const int64_t *data, int ndim, const int64_t *shape, const char *dtype) {
    return write_npy(path, NULL, data, dtype, ndim, shape);
}

int tc_npz_write(const char *path, const tc_npz_member *members, int n) {
    if (n < 0) return tc_error_set("%s: member count %d: expected >= 0", path, n);
    npy_src *srcs = tc_xcalloc((size_t)(n ? n : 1), sizeof *srcs);
    for (int i = 0; i < n; i++) {
        const tc_npz_member *m = &members[i];
        if (!m->key || !*m->key) { free(srcs); return tc_error_set("%s: member %d: expected a non-empty key", path, i); }
        for (int j = 0; j < i; j++)
            if (strcmp(members[j].key, m->key) == 0) { free(srcs); return tc_error_set("%s: member '%s': duplicate key", path, m->key); }
        if (m->f32 && m->i64) {
            free(srcs);
            return tc_error_set("%s: member '%s': expected exactly one of f32 / i64 data", path, m->key);
        }
        const char *dt = m->dtype ? m->dtype : (m->i64 ? "<i8" : "<f4");
        size_t nl = strlen(path) + strlen(m->key) + 16;
        char *mname = tc_xmalloc(nl);
        snprintf(mname, nl, "%s: member '%s'", path, m->key);
        int rc = npy_src_init(&srcs[i], mname, m->f32, m->i64, dt, m->ndim, m->shape);
        srcs[i].path = path;   /* mname is only needed for validation messages */
        free(mname);
        if (rc != 0) { free(srcs); return -1; }
    }
    tc_atomic_file af;
    if (tc_atomic_open(&af, path) != 0) { free(srcs); return -1; }
    tc_zip_writer w;
    tc_zip_writer_init(&w, af.fp, path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        size_t kl = strlen(members[i].key);
        char *name = tc_xmalloc(kl + 5);
        memcpy(name, members[i].key, kl);
        memcpy(name + kl, ".npy", 5);
        rc = tc_zip_writer_add(&w, name, npy_src_bytes(&srcs[i]), npy_src_emit, &srcs[i]);
        free(name);
    }
    if (rc == 0) rc = tc_zip_writer_finish(&w);
    else tc_zip_writer_free(&w);
    free(srcs);
    if (rc != 0) { tc_atomic_abort(&af); return -1; }
    return tc_atomic_commit(&af);
}
