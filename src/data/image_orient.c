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
    const int W = img->w, H = img->h;
    const int swap = o >= 5; /* 5..8 transpose the axes */
    tc_image out;
    if (tc_image_alloc(&out, swap ? H : W, swap ? W : H)) return -1;
    const int ow = out.w, oh = out.h;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* source pixel of output (x, y); names follow PIL's Image.transpose */
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;         /* FLIP_LEFT_RIGHT */
            case 3: sx = W - 1 - x; sy = H - 1 - y; break; /* ROTATE_180 */
            case 4: sx = x; sy = H - 1 - y; break;         /* FLIP_TOP_BOTTOM */
            case 5: sx = y; sy = x; break;                 /* TRANSPOSE */
            case 6: sx = y; sy = H - 1 - x; break;         /* ROTATE_270 (90° clockwise) */
            case 7: sx = W - 1 - y; sy = H - 1 - x; break; /* TRANSVERSE */
            default: sx = W - 1 - y; sy = x; break;        /* 8: ROTATE_90 (90° counter-clockwise) */
            }
            const uint8_t *s = img->rgb + ((size_t)sy * W + sx) * 3;
            uint8_t *d = out.rgb + ((size_t)y * ow + x) * 3;
            d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
        }
    }
    tc_image_free(img);
    *img = out;
    return 0;
}
