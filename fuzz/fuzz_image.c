/* libFuzzer harness: decode (JPEG/PNG, EXIF) + preprocessing + augmentation + PNG encode on arbitrary
 * bytes. Build: cmake -S . -B build-img-fuzz -DCMAKE_C_COMPILER=clang -DTAICHU_FUZZ=ON &&
 * cmake --build build-img-fuzz --target fuzz_image; run: build-img-fuzz/fuzz/fuzz_image -max_total_time=60
 * (seed corpus: tests/data/image/decode). A small pixel cap keeps each input fast. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* 1 MP cap; orientation on/off and DCT-scaled draft decoding chosen by the input size */
    tc_image_decode_opts opts = {.max_pixels = 1 << 20, .ignore_orientation = (int)(size & 1), .draft_min_side = (size & 2) ? 16 : 0};
    tc_image img;
    if (tc_image_decode_mem_ex(data, size, "fuzz", &opts, &img)) return 0;
    float *chw = malloc(sizeof(float) * 3 * 32 * 32), *rows = malloc(sizeof(float) * 5 * 3 * 16 * 16);
    tc_image_prep cfgs[3] = {tc_image_prep_v2(32), tc_image_prep_clip(32), tc_image_prep_v1()};
    cfgs[2].size = 32;
    cfgs[2].mode = TC_PREP_SQUASH;
    cfgs[2].method = TC_RESIZE_PIL_BILINEAR;
    for (int i = 0; i < 3; i++)
        if (tc_image_preprocess(&img, &cfgs[i], chw) == 0) tc_image_patchify(chw, 32, 32, 16, 1, rows);
    tc_rng rng;
    tc_rng_seed(&rng, size);
    tc_image aug;
    tc_image_aug acfg = (size & 4) ? tc_image_aug_v2(24, (int)(size & 8)) : tc_image_aug_default(24);
    if (tc_image_augment(&img, &acfg, &rng, &aug) == 0) {
        uint8_t *png;
        size_t len;
        if (tc_image_encode_png(&aug, &png, &len) == 0) free(png);
        tc_image_free(&aug);
    }
    free(chw);
    free(rows);
    tc_image_free(&img);
    return 0;
}
