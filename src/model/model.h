/* The common model handle for both OPT architectures (notes: model_common.md).
 *
 * A tc_model owns its configuration and its parameters (one tc_params slab, every tensor registered under
 * the original's checkpoint name: spec §7.3 for opt-v1, Appendix A.2 for opt-v2); `impl` points at the
 * architecture's module structs (src/model/opt_v1*.h, src/model/opt_v2*.h), whose forward functions take
 * the tc_model and a tc_graph.
 *
 * Architecture hooks. Each architecture provides, in src/model/opt_v<N>.h:
 *   int  tc_opt_v<N>_build(tc_model *m, uint64_t seed);
 *        m->cfg is set and m->params is tc_params_init'ed: register every parameter (through a tc_nn
 *        builder), finalize + initialise from `seed`, set the decay rule, set m->impl. Returns 0, or -1
 *        with tc_error_set (the caller frees the params).
 *   void tc_opt_v<N>_free(tc_model *m);   frees m->impl only.
 * tc_model_create dispatches on cfg->arch. */
#ifndef TC_MODEL_MODEL_H
#define TC_MODEL_MODEL_H

#include <stdint.h>

#include "core/tensor.h"
#include "model/config.h"
#include "model/weights.h"

typedef struct tc_model {
    tc_model_config cfg;
    tc_params params;
    void *impl;          /* architecture modules; NULL until created */
} tc_model;

/* Build the architecture of cfg (validated first), registering every parameter under the original's name,
 * and initialise it (normal(0.02)-style weights, LayerNorm γ = 1, β = 0) from seed. On error m is left
 * empty (nothing to free) and -1 is returned with a message. */
int tc_model_create(tc_model *m, const tc_model_config *cfg, uint64_t seed);
void tc_model_free(tc_model *m);

/* Overwrite parameters from a checkpoint file (.safetensors, or a MindSpore .ckpt with aliases resolved).
 * require_all = 1: a missing or wrongly shaped tensor is an error naming it (and the count); otherwise only
 * shape mismatches are errors. Unexpected file tensors (optimizer state, unused heads) are ignored and
 * counted in rep when rep != NULL (the caller frees it with tc_load_report_free). */
int tc_model_load_weights(tc_model *m, const char *path, int require_all, tc_load_report *rep);

/* A model directory (Hugging Face convention): config.json + model.safetensors; every tensor required. */
int tc_model_load_dir(tc_model *m, const char *dir);
/* Write config.json and model.safetensors (atomic each), and copy vocab_src to vocab.txt and
 * ids_to_tokens_src to ids_to_tokens_zh.json when they are non-NULL. */
int tc_model_save_dir(const tc_model *m, const char *dir, const char *vocab_src, const char *ids_to_tokens_src);

/* Number of parameter floats whose name starts with prefix ("" = all), for `taichu info`. */
size_t tc_model_count_params(const tc_model *m, const char *prefix);

#endif
