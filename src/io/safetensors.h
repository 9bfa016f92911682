/* safetensors (Hugging Face): 8-byte little-endian header length N, N bytes of JSON
 *   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}
 * then the raw little-endian tensor bytes. taichu's native model format (model.safetensors).
 * Reading mmaps the file and validates every field against the file size; writing is atomic. */
#ifndef TC_IO_SAFETENSORS_H
#define TC_IO_SAFETENSORS_H

#include "io/tensor_file.h"

int tc_safetensors_open(const char *path, tc_tensor_file *out);
/* Parse from memory (`name` for messages). The tensors point into buf, which must outlive `out`. */
int tc_safetensors_parse(const void *buf, size_t len, const char *name, tc_tensor_file *out);

typedef struct tc_st_entry {
    const char *name;
    tc_dtype dtype;
    int ndim;
    const int64_t *shape;
    const void *data;     /* numel * dtype size bytes, little-endian */
} tc_st_entry;

/* Write n tensors (in the given order) and optional string metadata pairs (meta[2k] = key, meta[2k+1] = value). */
int tc_safetensors_write(const char *path, const tc_st_entry *e, int n, const char *const *meta, int nmeta);

#endif
