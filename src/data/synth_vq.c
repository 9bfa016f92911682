/* VQ-like code grid of a synthetic scene (see synth_vq.h). */
/* Same pixels and codes from every build: without this, gcc contracts a*b+c into FMAs in optimised
 * builds only, and a Debug (sanitizer) build would write images that differ in a few pixel values. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "data/synth_vq.h"

void tc_synth_vq_codes(const tc_synth_scene *s, int grid, int64_t *codes) {
    /* drawing order of tc_synth_render: big first, small last, so the last inside hit is on top */
    for (int gy = 0; gy < grid; gy++)
        for (int gx = 0; gx < grid; gx++) {
            int hits[TC_SYNTH_MAX_OBJ] = {0};
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    float x = ((float)gx + ((float)sx + 0.5f) / 4) / (float)grid;
                    float y = ((float)gy + ((float)sy + 0.5f) / 4) / (float)grid;
                    int top = -1;
                    for (int pass = TC_SYNTH_BIG; pass >= TC_SYNTH_SMALL; pass--)
                        for (int i = 0; i < s->nobj; i++)
                            if (s->obj[i].size == pass && tc_synth_object_sdf(&s->obj[i], x, y) < 0) top = i;
                    if (top >= 0) hits[top]++;
                }
            int best = -1;
            for (int i = 0; i < s->nobj; i++)
                if (hits[i] >= 4 && (best < 0 || hits[i] > hits[best])) best = i;
            int64_t code;
            if (best >= 0) {
                code = TC_SYNTH_VQ_NBG + s->obj[best].shape * TC_SYNTH_NCOLOURS + s->obj[best].colour;
            } else {
                float rgb[3];
                tc_synth_background_rgb(s, ((float)gx + 0.5f) / (float)grid, ((float)gy + 0.5f) / (float)grid, rgb);
                float lum = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
                int q = (int)(lum / 64.0f);
                code = q > 3 ? 3 : q;
            }
            codes[gy * grid + gx] = code;
        }
}
