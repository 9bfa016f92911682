/* Shared pieces of the inference commands (see infer_cli.h). */
#include "infer_cli.h"

#include "args.h"

#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_infer *tc_cli_open_model(const char *dir, int threads) {
    tc_set_num_threads(threads > 0 ? threads : 0);
    return tc_model_open(dir);
}

float *tc_cli_load_images(const tc_infer *m, const char *const *paths, int n) {
    float *px = malloc(sizeof(float) * (size_t)tc_image_floats(m) * (size_t)(n > 0 ? n : 1));
    if (!px) {
        tc_error_set("out of memory for %d preprocessed images", n);
        return NULL;
    }
    if (tc_load_images(m, paths, n, px) != 0) {
        free(px);
        return NULL;
    }
    return px;
}

void tc_cli_print_json(cJSON *doc) {
    char *s = cJSON_Print(doc);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    cJSON_Delete(doc);
}

int tc_cli_flush(void) {
    if (fflush(stdout) != 0) {
        tc_error_set("<stdout>: write failed: %s", strerror(errno));
        return tc_cli_fail();
    }
    return 0;
}

cJSON *tc_cli_json_ids(const int32_t *ids, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    return a;
}

cJSON *tc_cli_json_floats(const float *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

int tc_cli_gen_len(const int32_t *ids, int n) {
    int k = 0;
    while (k < n && ids[k] != 0) k++;
    return k;
}

int tc_cli_mask_row(const char *s, int *row) {
    if (strcmp(s, "none") == 0) *row = -1;
    else if (strcmp(s, "0") == 0) *row = 0;
    else if (strcmp(s, "1") == 0) *row = 1;
    else return tc_error_set("option --mask-row: \"%s\": expected none, 0 or 1", s);
    return 0;
}
