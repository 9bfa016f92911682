/* tc_image basics: allocation, crop, flip. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image.h"

void tc_image_free(tc_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

int tc_image_alloc(tc_image *img, int w, int h) {
    img->rgb = NULL;
    img->w = img->h = 0;
    if (w <= 0 || h <= 0) return tc_error_set("image: size %dx%d: expected positive width and height", w, h);
    size_t n = (size_t)w * (size_t)h * 3;
    if (n / 3 / (size_t)w != (size_t)h) return tc_error_set("image: size %dx%d overflows", w, h);
    img->rgb = malloc(n);
    if (!img->rgb) return tc_error_set("image: cannot allocate %dx%d pixels", w, h);
    img->w = w;
    img->h = h;
    return 0;
}

int tc_image_crop(const tc_image *src, int x, int y, int w, int h, tc_image *dst) {
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || x > src->w - w || y > src->h - h)
        return tc_error_set("image crop: box x=%d y=%d w=%d h=%d: expected inside the %dx%d image", x, y, w, h,
                            src->w, src->h);
    if (tc_image_alloc(dst, w, h)) return -1;
    for (int r = 0; r < h; r++)
        memcpy(dst->rgb + (size_t)r * w * 3, src->rgb + ((size_t)(y + r) * src->w + x) * 3, (size_t)w * 3);
    return 0;
}

void tc_image_flip_h(tc_image *img) {
    for (int r = 0; r < img->h; r++) {
        uint8_t *row = img->rgb + (size_t)r * img->w * 3;
        for (int a = 0, b = img->w - 1; a < b; a++, b--) {
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[a * 3 + c];
                row[a * 3 + c] = row[b * 3 + c];
                row[b * 3 + c] = t;
            }
        }
    }
}
