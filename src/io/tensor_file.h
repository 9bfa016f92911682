/* A read-only table of named tensors loaded from a checkpoint file (safetensors or MindSpore .ckpt).
 * Data is mmap'ed where the container allows, so opening a 5 GB checkpoint costs no copy; converting to
 * fp32 happens when a tensor is copied into the model's parameter slab (tc_io_tensor_to_f32). */
#ifndef TC_IO_TENSOR_FILE_H
#define TC_IO_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TC_DT_F32, TC_DT_F16, TC_DT_BF16, TC_DT_F64,
    TC_DT_I8, TC_DT_I16, TC_DT_I32, TC_DT_I64,
    TC_DT_U8, TC_DT_U16, TC_DT_U32, TC_DT_U64,
    TC_DT_BOOL, TC_DT_STR, TC_DT_COUNT
} tc_dtype;

#define TC_IO_MAX_DIMS 8

typedef struct tc_io_tensor {
    char *name;
    tc_dtype dtype;
    int ndim;
    int64_t shape[TC_IO_MAX_DIMS];
    int64_t numel;
    const void *data;   /* little-endian, row-major; points into the map or into `owned` */
    size_t nbytes;
    void *owned;        /* non-NULL when the data had to be assembled (e.g. split .ckpt records) */
} tc_io_tensor;

typedef struct tc_tensor_file {
    tc_io_tensor *t;
    int n;
    void *map;          /* mmap of the whole file (or NULL) */
    size_t map_len;
    int skipped;        /* records ignored by the reader (e.g. non-numeric .ckpt entries) */
    char *metadata_json; /* safetensors "__metadata__" object as JSON text, or NULL */
} tc_tensor_file;

size_t tc_dtype_size(tc_dtype dt);
const char *tc_dtype_name(tc_dtype dt);           /* "F32", "I64", ... (safetensors spelling) */
int tc_dtype_from_name(const char *s, tc_dtype *out); /* accepts the safetensors spelling */

const tc_io_tensor *tc_tensor_file_find(const tc_tensor_file *f, const char *name);
/* Convert any numeric dtype to fp32 (out has numel elements). Returns -1 for STR. */
int tc_io_tensor_to_f32(const tc_io_tensor *t, float *out);
void tc_tensor_file_close(tc_tensor_file *f);

/* Map a whole file read-only. Returns 0 and sets *map and *len; empty files give map = NULL, len = 0. */
int tc_map_file(const char *path, void **map, size_t *len);

#endif
