/* EXIF orientation: parse tag 0x0112 from a TIFF-structured EXIF block, and apply it to pixels.
 * The parser is bounds-checked on every read because the block comes straight from the file. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image.h"

static unsigned rd16(const uint8_t *p, int be) { return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0]; }
static uint32_t rd32(const uint8_t *p, int be) {
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int tc_image_exif_orientation(const uint8_t *tiff, size_t len) {
    /* Some writers keep the "Exif\0\0" prefix inside a PNG eXIf chunk too. */
    if (len >= 6 && memcmp(tiff, "Exif\0\0", 6) == 0) { tiff += 6; len -= 6; }
    if (len < 8) return 1;
    int be;
    if (tiff[0] == 'I' && tiff[1] == 'I') be = 0;
    else if (tiff[0] == 'M' && tiff[1] == 'M') be = 1;
    else return 1;
    if (rd16(tiff + 2, be) != 42) return 1;
    uint32_t ifd = rd32(tiff + 4, be);
    if (ifd > len - 2) return 1;
    unsigned n = rd16(tiff + ifd, be);
    for (unsigned i = 0; i < n; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > len) return 1;
        if (rd16(tiff + e, be) != 0x0112) continue;
        unsigned type = rd16(tiff + e + 2, be);
        /* SHORT (3) is the standard type; a few writers use LONG (4). The value sits in the entry. */
        unsigned v = type == 3 ? rd16(tiff + e + 8, be) : type == 4 ? (unsigned)rd32(tiff + e + 8, be) : 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int tc_image_apply_orientation(tc_image *img, int o) {
    if (o < 2 || o > 8) return 0;
    const long W = img->w, H = img->h;
    const int swap = o >= 5; /* 5..8 transpose the axes */
    tc_image out;
    if (tc_image_alloc(&out, swap ? (int)H : (int)W, swap ? (int)W : (int)H)) return -1;
    /* Source pixel of output (x, y) as (sx, sy) = (x0 + x*dxx + y*dxy, y0 + x*dyx + y*dyy); the cases
     * follow PIL's Image.transpose names used by ImageOps.exif_transpose. */
    long x0 = 0, y0 = 0, dxx = 0, dxy = 0, dyx = 0, dyy = 0;
    switch (o) {
    case 2: x0 = W - 1; dxx = -1; dyy = 1; break;                  /* FLIP_LEFT_RIGHT */
    case 3: x0 = W - 1; y0 = H - 1; dxx = -1; dyy = -1; break;     /* ROTATE_180 */
    case 4: y0 = H - 1; dxx = 1; dyy = -1; break;                  /* FLIP_TOP_BOTTOM */
    case 5: dxy = 1; dyx = 1; break;                               /* TRANSPOSE */
    case 6: y0 = H - 1; dxy = 1; dyx = -1; break;                  /* ROTATE_270 (90° clockwise) */
    case 7: x0 = W - 1; y0 = H - 1; dxy = -1; dyx = -1; break;     /* TRANSVERSE */
    default: x0 = W - 1; dxy = -1; dyx = 1; break;                 /* 8: ROTATE_90 (counter-clockwise) */
    }
    /* In pixel offsets: stepping x in the output moves the source by step_x, stepping y by step_y. */
    const long step_x = dxx + dyx * W, step_y = dxy + dyy * W;
    for (long y = 0; y < out.h; y++) {
        const long row = (x0 + y0 * W) + y * step_y; /* source pixel index of output (0, y) */
        uint8_t *d = out.rgb + (size_t)y * out.w * 3;
        for (long x = 0; x < out.w; x++, d += 3) {
            const uint8_t *s = img->rgb + (size_t)(row + x * step_x) * 3;
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    tc_image_free(img);
    *img = out;
    return 0;
}
