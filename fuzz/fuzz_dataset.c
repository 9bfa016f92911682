/* libFuzzer harness for the dataset JSON readers (src/data/dataset.h): every parser gets the same
 * bytes; the first byte picks skip_bad and the vocab size, so both the failing and the skipping
 * paths run. Images are not checked (no file system access). Any crash, leak or sanitizer report
 * is a bug; a clean error return is the expected outcome for most inputs.
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTAICHU_FUZZ=ON && cmake --build build-fuzz --target fuzz_dataset
 *   build-fuzz/fuzz/fuzz_dataset -max_total_time=60 tests/data/dataset */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tc_ds_opts o = {data[0] & 1, 0, (data[0] & 2) ? 21128 : 0};
    const char *json = (const char *)data + 1;
    size_t len = size - 1;
    tc_ds_captions c;
    static const tc_ds_caps_rule rules[3] = {TC_DS_CAPS_OPTIONAL, TC_DS_CAPS_SOME, TC_DS_CAPS_FIVE};
    for (int r = 0; r < 3; r++) {
        if (tc_ds_parse_captions(json, len, "fuzz", "img", rules[r], &o, &c) == 0) tc_ds_captions_free(&c);
    }
    tc_ds_gt gt;
    if (tc_ds_parse_caption_gt(json, len, "fuzz", &o, &gt) == 0) {
        if (gt.n) (void)tc_ds_gt_find(&gt, gt.e[gt.n / 2].image_id);
        tc_ds_gt_free(&gt);
    }
    tc_ds_vqa v;
    for (int req = 0; req < 2; req++) {
        if (tc_ds_parse_vqa(json, len, "fuzz", "img", req, &o, &v) == 0) tc_ds_vqa_free(&v);
        if (tc_ds_parse_vqa_v1(json, len, "fuzz", req, &o, &v) == 0) tc_ds_vqa_free(&v);
    }
    tc_ds_fmiqa f;
    if (tc_ds_parse_fmiqa(json, len, "fuzz", &o, &f) == 0) {
        for (int i = 0; i < f.nval; i++)
            if (f.val[i].image_id) free(tc_ds_fmiqa_image_path("img", 1, f.val[i].image_id));
        tc_ds_fmiqa_free(&f);
    }
    char **ids;
    int n;
    if (tc_ds_parse_id_list(json, len, "fuzz", &ids, &n) == 0) {
        for (int i = 0; i < n; i++) {
            free(tc_ds_v1_image_path("/nonexistent", ids[i]));
            free(tc_ds_v1_token_path("/nonexistent", ids[i], i % 3));
            char buf[16];
            tc_ds_coco_image_id(ids[i], buf, sizeof buf);
        }
        tc_ds_free_strings(ids, n);
    }
    return 0;
}
