/* Moving parameters between a model's tc_params and checkpoint files, by the original's names.
 * The names, shapes and orientations in the file are the model's own (spec §7.3, A.2), so loading is a
 * by-name copy with shape checks; nothing is transposed. A report lists what was missing, unexpected
 * (e.g. optimizer state adam_m.* in a training checkpoint) or of the wrong shape. */
#ifndef TC_MODEL_WEIGHTS_H
#define TC_MODEL_WEIGHTS_H

#include "core/tensor.h"
#include "io/tensor_file.h"

typedef struct tc_load_report {
    int loaded;
    int n_missing, n_unexpected, n_mismatched;
    char **missing;      /* parameter names absent from the file */
    char **unexpected;   /* file tensors matching no parameter */
    char **mismatched;   /* "name: file [a, b] vs model [c, d]" */
} tc_load_report;

/* Copy every parameter present in f (converting its dtype to fp32). Shapes must match exactly, except
 * that a scalar in the file fills a 1-element parameter. Returns 0 even if some are missing: the caller
 * decides (convert requires all; fine-tuning from a pretrain checkpoint accepts new heads). */
int tc_weights_load(tc_params *ps, const tc_tensor_file *f, tc_load_report *rep);
void tc_load_report_free(tc_load_report *rep);
/* Print a summary to stderr: counts, then up to `max_list` names of each kind (0 = all). */
void tc_load_report_print(const tc_load_report *rep, const char *file, int max_list);

/* Open a checkpoint by extension: .safetensors or a MindSpore .ckpt (aliases resolved). */
int tc_weights_open(const char *path, tc_tensor_file *out);

/* Write every parameter as F32 into model.safetensors (atomic), in slab order, with string metadata. */
int tc_weights_save_safetensors(const tc_params *ps, const char *path, const char *const *meta, int nmeta);

#endif
