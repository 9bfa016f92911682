/* Training augmentation: torchvision-style RandomResizedCrop + RandomHorizontalFlip, driven by tc_rng so
 * a (seed, sample) pair always gives the same crop. */
#include <math.h>

#include "core/error.h"
#include "data/image.h"

/* No FMA contraction in this file: a fused a*b+c can move a crop boundary by one ulp and so change a
 * rounded box, and the crops must not depend on the compiler (gnu11 + -mfma would otherwise contract). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

tc_image_aug tc_image_aug_default(int size) {
    tc_image_aug a = {size, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0.5, TC_RESIZE_PIL_BICUBIC};
    return a;
}

tc_image_aug tc_image_aug_v2(int size, int caption) {
    tc_image_aug a = tc_image_aug_default(size);
    a.scale_min = caption ? 0.5 : 0.2;
    a.method = caption ? TC_RESIZE_CV_LINEAR : TC_RESIZE_CV_CUBIC;
    return a;
}

static double uniform(tc_rng *r, double a, double b) { return a + (b - a) * (double)tc_rng_uniform(r); }

void tc_image_rrc_params(int w, int h, double smin, double smax, double rmin, double rmax, tc_rng *rng, int *bx,
                         int *by, int *bw, int *bh) {
    const double area = (double)w * h, lr0 = log(rmin), lr1 = log(rmax);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform(rng, smin, smax);
        double ar = exp(uniform(rng, lr0, lr1));
        int cw = (int)nearbyint(sqrt(target * ar)), ch = (int)nearbyint(sqrt(target / ar));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            *by = (int)tc_rng_below(rng, (uint32_t)(h - ch + 1));
            *bx = (int)tc_rng_below(rng, (uint32_t)(w - cw + 1));
            *bw = cw;
            *bh = ch;
            return;
        }
    }
    /* Fallback: the largest centred crop with an allowed aspect ratio. */
    double in_ratio = (double)w / h;
    int cw, ch;
    if (in_ratio < rmin) { cw = w; ch = (int)nearbyint(w / rmin); }
    else if (in_ratio > rmax) { ch = h; cw = (int)nearbyint(h * rmax); }
    else { cw = w; ch = h; }
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    if (cw > w) cw = w;
    if (ch > h) ch = h;
    *bx = (w - cw) / 2;
    *by = (h - ch) / 2;
    *bw = cw;
    *bh = ch;
}

int tc_image_augment(const tc_image *img, const tc_image_aug *cfg, tc_rng *rng, tc_image *out) {
    out->w = out->h = 0;
    out->rgb = NULL;
    if (cfg->size <= 0) return tc_error_set("image augment: size %d: expected > 0", cfg->size);
    if (!(cfg->scale_min > 0 && cfg->scale_min <= cfg->scale_max && cfg->scale_max <= 1))
        return tc_error_set("image augment: scale range (%g, %g): expected 0 < min <= max <= 1", cfg->scale_min,
                            cfg->scale_max);
    if (!(cfg->ratio_min > 0 && cfg->ratio_min <= cfg->ratio_max))
        return tc_error_set("image augment: ratio range (%g, %g): expected 0 < min <= max", cfg->ratio_min,
                            cfg->ratio_max);
    int x, y, w, h;
    tc_image_rrc_params(img->w, img->h, cfg->scale_min, cfg->scale_max, cfg->ratio_min, cfg->ratio_max, rng, &x, &y,
                        &w, &h);
    tc_image crop;
    if (tc_image_crop(img, x, y, w, h, &crop)) return -1;
    int rc = tc_image_resize(&crop, cfg->size, cfg->size, cfg->method, out);
    tc_image_free(&crop);
    if (rc) return -1;
    if ((double)tc_rng_uniform(rng) < cfg->flip_prob) tc_image_flip_h(out);
    return 0;
}
