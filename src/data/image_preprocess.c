/* Model-input preprocessing: geometry (shorter-side resize + centre crop, or squash), mean/std
 * normalisation to float CHW, and patch layouts (spec §2.1 for v1, A.1 for v2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image.h"

const double TC_IMAGENET_MEAN[3] = {0.485, 0.456, 0.406};
const double TC_IMAGENET_STD[3] = {0.229, 0.224, 0.225};
const double TC_CLIP_MEAN[3] = {0.48145466, 0.4578275, 0.40821073};
const double TC_CLIP_STD[3] = {0.26862954, 0.26130258, 0.27577711};

static tc_image_prep make(int size, tc_resize_method m, tc_geom_rule r, const double *mean, const double *std) {
    tc_image_prep p;
    memset(&p, 0, sizeof p);
    p.size = size;
    p.mode = TC_PREP_CROP;
    p.method = m;
    p.rule = r;
    for (int c = 0; c < 3; c++) { p.mean[c] = mean[c]; p.std[c] = std[c]; }
    return p;
}

tc_image_prep tc_image_prep_v1(void) {
    return make(TC_IMAGE_V1_SIZE, TC_RESIZE_CV_LINEAR, TC_GEOM_MINDSPORE, TC_IMAGENET_MEAN, TC_IMAGENET_STD);
}
tc_image_prep tc_image_prep_v2(int size) {
    return make(size, TC_RESIZE_CV_LINEAR, TC_GEOM_MINDSPORE, TC_CLIP_MEAN, TC_CLIP_STD);
}
tc_image_prep tc_image_prep_clip(int size) {
    return make(size, TC_RESIZE_PIL_BICUBIC, TC_GEOM_TORCHVISION, TC_CLIP_MEAN, TC_CLIP_STD);
}

void tc_image_shorter_side_size(int w, int h, int size, tc_geom_rule rule, int *ow, int *oh) {
    int longer;
    const int wide = h < w; /* MindSpore: the height is the shorter side only when strictly smaller */
    const int lo = wide ? h : w, hi = wide ? w : h;
    if (rule == TC_GEOM_MINDSPORE) {
        /* static_cast<int>(std::floor(static_cast<float>(long) / short * size)) in float32 */
        float f = (float)hi / (float)lo * (float)size;
        longer = f > 1e9f ? 1000000000 : (int)floorf(f); /* clamp before converting: no overflow */
    } else {
        /* torchvision: int(size * long / short) in double (truncation) */
        double f = (double)size * hi / lo;
        longer = f > 1e9 ? 1000000000 : (int)f;
    }
    if (longer < 1) longer = 1;
    if (wide) { *ow = longer; *oh = size; }
    else { *ow = size; *oh = longer; }
}

int tc_image_center_offset(int in, int crop, tc_geom_rule rule) {
    if (rule == TC_GEOM_MINDSPORE) return (in - crop) / 2;
    /* int(round((in - crop) / 2.0)): Python rounds halves to even */
    return (int)nearbyint((in - crop) / 2.0);
}

static int check_cfg(const tc_image_prep *cfg) {
    if (cfg->size <= 0 || cfg->size > 16384)
        return tc_error_set("image preprocess: size %d: expected 1..16384", cfg->size);
    if (cfg->mode != TC_PREP_CROP && cfg->mode != TC_PREP_SQUASH)
        return tc_error_set("image preprocess: unknown mode %d", (int)cfg->mode);
    for (int c = 0; c < 3; c++)
        if (!(cfg->std[c] > 0)) return tc_error_set("image preprocess: std[%d] = %g: expected > 0", c, cfg->std[c]);
    return 0;
}

int tc_image_prep_geometry(const tc_image *img, const tc_image_prep *cfg, tc_image *out) {
    out->w = out->h = 0;
    out->rgb = NULL;
    if (check_cfg(cfg)) return -1;
    const int s = cfg->size;
    if (cfg->mode == TC_PREP_SQUASH) return tc_image_resize(img, s, s, cfg->method, out);
    int rw, rh;
    tc_image_shorter_side_size(img->w, img->h, s, cfg->rule, &rw, &rh);
    /* A 100-MP-cap-passing 1e8 x 1 strip would ask for a 4.5e10-pixel-long intermediate; the resize
     * tables are as long as the resized side, so refuse absurd aspect ratios instead. */
    if (rw > TC_IMAGE_MAX_RESIZED_SIDE || rh > TC_IMAGE_MAX_RESIZED_SIDE)
        return tc_error_set("image preprocess: %dx%d image: aspect ratio too extreme (shorter side to %d makes the "
                            "longer side %d, limit %d)",
                            img->w, img->h, s, rw > rh ? rw : rh, TC_IMAGE_MAX_RESIZED_SIDE);
    /* rw, rh >= s (the shorter side is exactly s), so the centre crop lies inside the resized image. */
    return tc_image_resize_window(img, rw, rh, tc_image_center_offset(rw, s, cfg->rule),
                                  tc_image_center_offset(rh, s, cfg->rule), s, s, cfg->method, out);
}

/* One table per channel: every uint8 value maps to its normalised float, computed as MindSpore's
 * Normalize does in float32: (v - mean*255) / (std*255), with mean*255 and std*255 rounded to float. */
static void norm_lut(const double mean[3], const double std[3], float lut[3][256]) {
    for (int c = 0; c < 3; c++) {
        const float m = (float)(mean[c] * 255.0), sd = (float)(std[c] * 255.0);
        for (int v = 0; v < 256; v++) lut[c][v] = ((float)v - m) / sd;
    }
}

void tc_image_normalize_chw(const tc_image *img, const double mean[3], const double std[3], float *chw) {
    float lut[3][256];
    norm_lut(mean, std, lut);
    const size_t n = (size_t)img->w * img->h;
    for (int c = 0; c < 3; c++) {
        float *o = chw + (size_t)c * n;
        for (size_t i = 0; i < n; i++) o[i] = lut[c][img->rgb[3 * i + c]];
    }
}

int tc_image_preprocess(const tc_image *img, const tc_image_prep *cfg, float *chw_out) {
    tc_image g;
    if (tc_image_prep_geometry(img, cfg, &g)) return -1;
    tc_image_normalize_chw(&g, cfg->mean, cfg->std, chw_out);
    tc_image_free(&g);
    return 0;
}

int tc_image_preprocess_file(const char *path, const tc_image_prep *cfg, float *chw_out) {
    tc_image img;
    if (tc_image_load(path, &img, 0)) return -1;
    int rc = tc_image_preprocess(&img, cfg, chw_out);
    tc_image_free(&img);
    if (rc) return tc_error_prefix("%s", path);
    return 0;
}

int tc_image_patchify(const float *chw, int h, int w, int p, int pad_rows, float *out) {
    if (p <= 0 || h <= 0 || w <= 0 || h % p || w % p || pad_rows < 0)
        return tc_error_set("image patchify: %dx%d image, patch %d: expected sides that are multiples of the patch",
                            w, h, p);
    const int gw = w / p, gh = h / p, cols = 3 * p * p;
    for (int gy = 0; gy < gh; gy++)
        for (int gx = 0; gx < gw; gx++) {
            float *row = out + (size_t)(gy * gw + gx) * cols; /* [3][p][p] */
            for (int c = 0; c < 3; c++)
                for (int py = 0; py < p; py++)
                    memcpy(row + (size_t)c * p * p + (size_t)py * p,
                           chw + ((size_t)c * h + (size_t)gy * p + py) * w + (size_t)gx * p, sizeof(float) * p);
        }
    memset(out + (size_t)gh * gw * cols, 0, sizeof(float) * (size_t)pad_rows * cols);
    return 0;
}

void tc_image_patchify_v1(const float *chw, float *out) {
    tc_image_patchify(chw, TC_IMAGE_V1_SIZE, TC_IMAGE_V1_SIZE, TC_IMAGE_V1_PATCH, 1, out);
}

int tc_image_to_patches(const tc_image *img, const double mean[3], const double std[3], int p, int pad_rows,
                        float *out) {
    const int w = img->w, h = img->h;
    if (p <= 0 || h <= 0 || w <= 0 || h % p || w % p || pad_rows < 0)
        return tc_error_set("image patchify: %dx%d image, patch %d: expected sides that are multiples of the patch",
                            w, h, p);
    float lut[3][256];
    norm_lut(mean, std, lut);
    const int gw = w / p, gh = h / p, pp = p * p, cols = 3 * pp;
    for (int gy = 0; gy < gh; gy++)
        for (int gx = 0; gx < gw; gx++) {
            float *row = out + (size_t)(gy * gw + gx) * cols; /* [3][p][p] */
            for (int py = 0; py < p; py++) {
                const uint8_t *src = img->rgb + ((size_t)(gy * p + py) * w + (size_t)gx * p) * 3;
                float *r0 = row + py * p, *r1 = r0 + pp, *r2 = r1 + pp;
                for (int px = 0; px < p; px++) {
                    r0[px] = lut[0][src[3 * px]];
                    r1[px] = lut[1][src[3 * px + 1]];
                    r2[px] = lut[2][src[3 * px + 2]];
                }
            }
        }
    memset(out + (size_t)gh * gw * cols, 0, sizeof(float) * (size_t)pad_rows * cols);
    return 0;
}

int tc_image_load_v1_patches(const char *path, float *out) {
    tc_image img, g;
    if (tc_image_load(path, &img, 0)) return -1;
    tc_image_prep cfg = tc_image_prep_v1();
    int rc = tc_image_prep_geometry(&img, &cfg, &g);
    tc_image_free(&img);
    if (rc) return tc_error_prefix("%s", path);
    rc = tc_image_to_patches(&g, cfg.mean, cfg.std, TC_IMAGE_V1_PATCH, 1, out);
    tc_image_free(&g);
    return rc;
}
