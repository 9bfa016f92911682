#include "io/tensor_file.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *name; size_t size; } dtype_info[TC_DT_COUNT] = {
    [TC_DT_F32] = {"F32", 4},  [TC_DT_F16] = {"F16", 2},  [TC_DT_BF16] = {"BF16", 2}, [TC_DT_F64] = {"F64", 8},
    [TC_DT_I8] = {"I8", 1},    [TC_DT_I16] = {"I16", 2},  [TC_DT_I32] = {"I32", 4},   [TC_DT_I64] = {"I64", 8},
    [TC_DT_U8] = {"U8", 1},    [TC_DT_U16] = {"U16", 2},  [TC_DT_U32] = {"U32", 4},   [TC_DT_U64] = {"U64", 8},
    [TC_DT_BOOL] = {"BOOL", 1}, [TC_DT_STR] = {"STR", 1},
};

size_t tc_dtype_size(tc_dtype dt) { return (unsigned)dt < TC_DT_COUNT ? dtype_info[dt].size : 0; }
const char *tc_dtype_name(tc_dtype dt) { return (unsigned)dt < TC_DT_COUNT ? dtype_info[dt].name : "?"; }

int tc_dtype_from_name(const char *s, tc_dtype *out) {
    for (int i = 0; i < TC_DT_COUNT; i++)
        if (strcmp(s, dtype_info[i].name) == 0) { *out = (tc_dtype)i; return 0; }
    return -1;
}

const tc_io_tensor *tc_tensor_file_find(const tc_tensor_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -v : v;
}

int tc_io_tensor_to_f32(const tc_io_tensor *t, float *out) {
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case TC_DT_F32: { float v; memcpy(&v, p + 4 * i, 4); out[i] = v; break; }
        case TC_DT_F64: { double v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
        case TC_DT_F16: { uint16_t v; memcpy(&v, p + 2 * i, 2); out[i] = half_to_float(v); break; }
        case TC_DT_BF16: { uint16_t v; memcpy(&v, p + 2 * i, 2); uint32_t u = (uint32_t)v << 16; float f; memcpy(&f, &u, 4); out[i] = f; break; }
        case TC_DT_I8: out[i] = (float)(int8_t)p[i]; break;
        case TC_DT_U8: case TC_DT_BOOL: out[i] = (float)p[i]; break;
        case TC_DT_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); out[i] = v; break; }
        case TC_DT_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); out[i] = v; break; }
        case TC_DT_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; break; }
        case TC_DT_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; break; }
        case TC_DT_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
        case TC_DT_U64: { uint64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
        default: return tc_error_set("tensor %s: dtype %s is not numeric", t->name, tc_dtype_name(t->dtype));
        }
    }
    return 0;
}

void tc_tensor_file_close(tc_tensor_file *f) {
    for (int i = 0; i < f->n; i++) { free(f->t[i].name); free(f->t[i].owned); }
    free(f->t);
    free(f->metadata_json);
    if (f->map) munmap(f->map, f->map_len);
    memset(f, 0, sizeof *f);
}

int tc_map_file(const char *path, void **map, size_t *len) {
    *map = NULL; *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tc_error_set("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { close(fd); return tc_error_set("%s: not a regular file", path); }
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) { close(fd); return tc_error_set("%s: mmap failed: %s", path, strerror(errno)); }
        *map = m; *len = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}
