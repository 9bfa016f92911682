/* PNG decoding with libpng, matching PIL's Image.open(f).convert("RGB"):
 *   palette -> its RGB entries; grey (1/2/4/8/16-bit) -> replicated (low depths scaled to 0..255);
 *   16-bit -> the high byte (PIL's "RGB;16B" unpacker; for 16-bit *grey* PIL instead saturates values
 *   above 255 through mode "I", which we do not copy: docs/images.md); alpha and tRNS -> dropped
 *   (PIL's RGBA->RGB conversion keeps the colour channels as stored); gAMA/iCCP -> ignored, like PIL.
 * libpng reports errors through a callback that must not return: it longjmps to png_jmpbuf.
 * Problems after the last pixel row (a missing IEND, a bad trailing chunk) do not discard the image. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/error.h"
#include "data/image_codec.h"

typedef struct pdec {
    const uint8_t *buf;
    size_t len, pos;
    char msg[256];
    char warn[128]; /* last libpng warning: libpng often explains an error in a warning just before it */
    int pixels_done;
    uint8_t *volatile rgb;  /* [h][w][3] result */
    uint8_t *volatile tmp;  /* [h][w][ch] libpng output */
    png_bytep *volatile rows;
} pdec;

static void on_error(png_structp p, png_const_charp msg) {
    pdec *c = png_get_error_ptr(p);
    if (!c->msg[0]) {
        if (c->warn[0]) snprintf(c->msg, sizeof c->msg, "%s (%s)", msg, c->warn);
        else snprintf(c->msg, sizeof c->msg, "%s", msg);
    }
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg) {
    pdec *c = png_get_error_ptr(p);
    snprintf(c->warn, sizeof c->warn, "%s", msg);
}

static void on_read(png_structp p, png_bytep data, size_t n) {
    pdec *c = png_get_io_ptr(p);
    if (n > c->len - c->pos) {
        snprintf(c->msg, sizeof c->msg, "truncated PNG data (file ends before the image is complete)");
        png_error(p, c->msg);
    }
    memcpy(data, c->buf + c->pos, n);
    c->pos += n;
}

int tc_image_decode_png(const uint8_t *buf, size_t len, const char *name, int64_t max_pixels, tc_image *out,
                        int *orientation) {
    pdec *c = calloc(1, sizeof *c);
    if (!c) return tc_error_set("%s: out of memory", name);
    c->buf = buf;
    c->len = len;
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_read_struct(&p, NULL, NULL);
        free(c);
        return tc_error_set("%s: out of memory", name);
    }
    *orientation = 1;
    if (setjmp(png_jmpbuf(p))) {
        free(c->rows);
        c->rows = NULL;
        if (c->tmp != c->rgb) free(c->tmp);
        c->tmp = NULL;
        if (!c->pixels_done) {
            tc_error_set("%s: PNG decode error: %s", name, c->msg[0] ? c->msg : "unknown libpng error");
            free(c->rgb);
            png_destroy_read_struct(&p, &info, NULL);
            free(c);
            return -1;
        }
        goto done; /* an error in the trailing chunks: the pixels are complete, keep them */
    }
    png_set_read_fn(p, c, on_read);
    /* Our own pixel cap (below) replaces libpng's 1M x 1M default dimension limits. */
    png_set_user_limits(p, 0x7fffffff, 0x7fffffff);
    png_read_info(p, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(p, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if ((int64_t)w * (int64_t)h > max_pixels) {
        snprintf(c->msg, sizeof c->msg,
                 "image is %lux%lu = %lld pixels, more than the limit of %lld (decompression bomb guard)",
                 (unsigned long)w, (unsigned long)h, (long long)w * (long long)h, (long long)max_pixels);
        png_error(p, c->msg);
    }
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
    if ((ctype & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) png_set_expand_gray_1_2_4_to_8(p);
    if (depth == 16) png_set_strip_16(p);
    if ((ctype & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    const int ch = png_get_channels(p, info);
    if ((ch != 3 && ch != 4) || png_get_rowbytes(p, info) != (size_t)w * ch) {
        snprintf(c->msg, sizeof c->msg, "unexpected decoded layout (%d channels)", ch);
        png_error(p, c->msg);
    }
    c->tmp = malloc((size_t)w * h * ch);
    c->rows = malloc(sizeof(png_bytep) * h);
    c->rgb = ch == 3 ? c->tmp : malloc((size_t)w * h * 3);
    if (!c->tmp || !c->rows || !c->rgb) {
        snprintf(c->msg, sizeof c->msg, "out of memory for %lux%lu pixels", (unsigned long)w, (unsigned long)h);
        png_error(p, c->msg);
    }
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->tmp + (size_t)y * w * ch;
    png_read_image(p, c->rows);
    if (ch == 4) { /* drop alpha */
        for (size_t i = 0, n = (size_t)w * h; i < n; i++) {
            c->rgb[3 * i] = c->tmp[4 * i];
            c->rgb[3 * i + 1] = c->tmp[4 * i + 1];
            c->rgb[3 * i + 2] = c->tmp[4 * i + 2];
        }
        free(c->tmp);
    }
    c->tmp = NULL;
    out->w = (int)w;
    out->h = (int)h;
    c->pixels_done = 1;
    png_read_end(p, info); /* reaches an eXIf chunk stored after the image data */
done:
    free(c->rows);
#ifdef PNG_eXIf_SUPPORTED
    {
        png_uint_32 n = 0;
        png_bytep exif = NULL;
        if (png_get_eXIf_1(p, info, &n, &exif) && exif && n) *orientation = tc_image_exif_orientation(exif, n);
    }
#endif
    out->rgb = c->rgb;
    png_destroy_read_struct(&p, &info, NULL);
    free(c);
    return 0;
}
