#include "model/model.h"
#include "nn/module.h"

#include "core/error.h"
#include "core/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Architecture hooks (see model.h): tc_opt_v<N>_build / tc_opt_v<N>_free. */
#include "model/opt_v1.h"
#include "model/opt_v2.h"

int tc_model_create(tc_model *m, const tc_model_config *cfg, uint64_t seed) {
    memset(m, 0, sizeof *m);
    if (tc_model_config_validate(cfg, "model config") != 0) return -1;
    m->cfg = *cfg;
    tc_params_init(&m->params);
    int rc = -1;
    switch (cfg->arch) {
    case TC_ARCH_V1:
        rc = tc_opt_v1_build(m, seed);
        break;
    case TC_ARCH_V2:
        rc = tc_opt_v2_build(m, seed);
        break;
    default:
        rc = tc_error_set("model config: field \"arch\": unknown architecture %d", (int)cfg->arch);
    }
    if (rc != 0) {
        tc_model_free(m);
        return -1;
    }
    return 0;
}

void tc_model_free(tc_model *m) {
    if (!m) return;
    if (m->impl && m->cfg.arch == TC_ARCH_V1) tc_opt_v1_free(m);
    if (m->impl && m->cfg.arch == TC_ARCH_V2) tc_opt_v2_free(m);
    tc_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

int tc_model_load_weights(tc_model *m, const char *path, int require_all, tc_load_report *rep) {
    tc_tensor_file f;
    if (tc_weights_open(path, &f) != 0) return -1;
    tc_load_report local;
    tc_load_report *r = rep ? rep : &local;
    memset(r, 0, sizeof *r);
    int rc = tc_weights_load(&m->params, &f, r);
    tc_tensor_file_close(&f);
    if (rc == 0 && r->n_mismatched > 0)
        rc = tc_error_set("%s: %d tensor(s) of the wrong shape, first: %s", path, r->n_mismatched, r->mismatched[0]);
    if (rc == 0 && require_all && r->n_missing > 0)
        rc = tc_error_set("%s: %d expected tensor(s) missing, first: %s", path, r->n_missing, r->missing[0]);
    if (!rep) tc_load_report_free(&local);
    return rc;
}

int tc_model_load_dir(tc_model *m, const char *dir) {
    memset(m, 0, sizeof *m);
    char *cfg_path = tc_path_join(dir, "config.json");
    char *st_path = tc_path_join(dir, "model.safetensors");
    tc_model_config cfg;
    int rc = tc_model_config_load(cfg_path, &cfg);
    /* every tensor is required below, so random init would be overwritten: skip it */
    if (rc == 0) rc = tc_model_create(m, &cfg, TC_NN_NO_INIT);
    if (rc == 0) {
        rc = tc_model_load_weights(m, st_path, 1, NULL);
        if (rc != 0) tc_model_free(m);
    }
    free(cfg_path);
    free(st_path);
    return rc;
}

static int copy_file(const char *src, const char *dst) {
    size_t len = 0;
    char *data = tc_read_file(src, &len);
    if (!data) return -1;
    int rc = tc_write_file_atomic(dst, data, len);
    free(data);
    return rc;
}

int tc_model_save_dir(const tc_model *m, const char *dir, const char *vocab_src, const char *ids_to_tokens_src) {
    if (tc_mkdir_p(dir) != 0) return -1;
    char *cfg_path = tc_path_join(dir, "config.json");
    char *st_path = tc_path_join(dir, "model.safetensors");
    const char *meta[] = {"format", "pt", "arch", tc_arch_name(m->cfg.arch)};
    int rc = tc_model_config_save(cfg_path, &m->cfg);
    if (rc == 0) rc = tc_weights_save_safetensors(&m->params, st_path, meta, 2);
    if (rc == 0 && vocab_src) {
        char *p = tc_path_join(dir, "vocab.txt");
        rc = copy_file(vocab_src, p);
        free(p);
    }
    if (rc == 0 && ids_to_tokens_src) {
        char *p = tc_path_join(dir, "ids_to_tokens_zh.json");
        rc = copy_file(ids_to_tokens_src, p);
        free(p);
    }
    free(cfg_path);
    free(st_path);
    return rc;
}

size_t tc_model_count_params(const tc_model *m, const char *prefix) {
    size_t n = 0, lp = prefix ? strlen(prefix) : 0;
    for (int i = 0; i < m->params.n; i++)
        if (lp == 0 || strncmp(m->params.p[i]->name, prefix, lp) == 0) n += m->params.p[i]->numel;
    return n;
}
