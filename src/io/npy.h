/* NumPy .npy and .npz files (read and write). Used for the original's audio features (.npz, key
 * "feat"), VQ image tokens, embeddings and golden test data.
 *
 * Reading converts any numeric dtype (bool, int8..int64, uint8..uint64, float16/32/64, either byte
 * order, C or Fortran order) to the caller's choice of float32 or int64, so callers never switch on
 * dtypes. .npz members may be stored or deflated (zlib). */
#ifndef TC_IO_NPY_H
#define TC_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#define TC_NPY_MAX_DIMS 8

typedef struct tc_npy {
    int ndim;
    int64_t shape[TC_NPY_MAX_DIMS];
    int64_t size;      /* product of shape */
    char dtype[8];     /* as stored, normalised, e.g. "<f4", "|u1", "<i8" */
    float *f32;        /* set by tc_npy_read*_f32 (row-major / C order), else NULL */
    int64_t *i64;      /* set by tc_npy_read*_i64, else NULL */
} tc_npy;

/* .npy from a path or a memory buffer (`name` is used in error messages). */
int tc_npy_read_f32(const char *path, tc_npy *out);
int tc_npy_read_i64(const char *path, tc_npy *out);
int tc_npy_parse_f32(const void *buf, size_t len, const char *name, tc_npy *out);
int tc_npy_parse_i64(const void *buf, size_t len, const char *name, tc_npy *out);
/* One member of an .npz ("feat" or "feat.npy" both match). */
int tc_npz_read_f32(const char *path, const char *key, tc_npy *out);
int tc_npz_read_i64(const char *path, const char *key, tc_npy *out);
/* .npz from a memory buffer (used by the fuzzer and by callers holding the bytes already). */
int tc_npz_parse_f32(const void *buf, size_t len, const char *name, const char *key, tc_npy *out);
int tc_npz_parse_i64(const void *buf, size_t len, const char *name, const char *key, tc_npy *out);
/* Member keys of an .npz (".npy" suffix removed), malloc'd array of malloc'd strings. */
int tc_npz_list(const char *path, char ***keys, int *n);
void tc_npy_free(tc_npy *a);

/* Writers (atomic: temp file + rename). dtype "<f4" for float data, "<i4"/"<i8"/"|u1" etc. for ints
 * (values are converted from the given array). */
int tc_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape);
int tc_npy_write_i64(const char *path, const int64_t *data, int ndim, const int64_t *shape, const char *dtype);
/* .npz with n members (stored, not compressed, like numpy.savez). Each member is float32 or int64
 * data written with the given dtype. */
typedef struct tc_npz_member {
    const char *key;      /* without ".npy" */
    const float *f32;     /* one of f32 / i64 is set */
    const int64_t *i64;
    const char *dtype;    /* "<f4" for f32; e.g. "<i8", "<i4", "<i2" for i64 */
    int ndim;
    const int64_t *shape;
} tc_npz_member;
int tc_npz_write(const char *path, const tc_npz_member *members, int n);

#endif
