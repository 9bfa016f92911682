/* JPEG decoding with libjpeg-turbo, set up like PIL's decoder (same library, default ISLOW IDCT and
 * fancy upsampling) so pixels match PIL's Image.open(f).convert("RGB") exactly.
 *
 * libjpeg reports errors through error_exit, which must not return: we longjmp back to decode().
 * A premature end of data is only a warning in libjpeg (it pads with grey); PIL refuses such files
 * ("image file is truncated"), and a silently grey half-image is worse than an error, so we make it
 * fatal. Progressive files with absurd scan counts (a known CPU bomb) are stopped by a progress hook. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"
#include "data/image_codec.h"

#define TC_JPEG_MAX_SCANS 1000

typedef struct jerr_ctx {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jerr_ctx;

static void on_error_exit(j_common_ptr c) {
    jerr_ctx *e = (jerr_ctx *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void on_emit_message(j_common_ptr c, int level) {
    if (level >= 0) return; /* trace messages */
    jerr_ctx *e = (jerr_ctx *)c->err;
    if (c->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(e->msg, sizeof e->msg, "truncated JPEG data (file ends before the image is complete)");
        longjmp(e->jb, 1);
    }
    c->err->num_warnings++; /* other corrupt-data warnings are tolerated, as PIL does */
}

static void on_output_message(j_common_ptr c) { (void)c; }

static void on_progress(j_common_ptr c) {
    if (!c->is_decompressor) return;
    int scan = ((j_decompress_ptr)c)->input_scan_number;
    if (scan > TC_JPEG_MAX_SCANS) {
        jerr_ctx *e = (jerr_ctx *)c->err;
        snprintf(e->msg, sizeof e->msg, "progressive JPEG has more than %d scans (refused as a CPU bomb)",
                 TC_JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

/* CMYK -> RGB exactly as PIL's cmyk2rgb (Convert.c): r = (255-k) - (c*(255-k))/255 with PIL's rounded
 * MULDIV255. libjpeg hands us Adobe-inverted values; PIL assumes every 4-channel JPEG is inverted
 * ("CMYK;I") and so do we. */
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_inverted_to_rgb(const uint8_t *in, uint8_t *out, int w) {
    for (int x = 0; x < w; x++) {
        int c = 255 - in[4 * x], m = 255 - in[4 * x + 1], y = 255 - in[4 * x + 2], nk = in[4 * x + 3];
        out[3 * x + 0] = (uint8_t)(nk - muldiv255(c, nk));
        out[3 * x + 1] = (uint8_t)(nk - muldiv255(m, nk));
        out[3 * x + 2] = (uint8_t)(nk - muldiv255(y, nk));
    }
}

typedef struct jdec {
    struct jpeg_decompress_struct d;
    jerr_ctx err;
    uint8_t *volatile rgb;
    uint8_t *volatile row4;
} jdec;

int tc_image_decode_jpeg(const uint8_t *buf, size_t len, const char *name, int64_t max_pixels, int draft_min_side,
                         tc_image *out, int *orientation) {
    jdec *j = calloc(1, sizeof *j); /* on the heap: keeps the setjmp frame small and the fields in memory */
    if (!j) return tc_error_set("%s: out of memory", name);
    j->d.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = on_error_exit;
    j->err.pub.emit_message = on_emit_message;
    j->err.pub.output_message = on_output_message;
    if (setjmp(j->err.jb)) {
        tc_error_set("%s: JPEG decode error: %s", name, j->err.msg);
        jpeg_destroy_decompress(&j->d);
        free(j->rgb);
        free(j->row4);
        free(j);
        return -1;
    }
    jpeg_create_decompress(&j->d);
    j->err.progress.progress_monitor = on_progress;
    j->d.progress = &j->err.progress;
    /* Cap libjpeg's own allocations (coefficient buffers of progressive files are the big ones). */
    j->d.mem->max_memory_to_use = (long)(max_pixels > ((1L << 40) / 16) ? (1L << 40) : max_pixels * 16 + (64L << 20));
    jpeg_mem_src(&j->d, buf, (unsigned long)len);
    jpeg_save_markers(&j->d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&j->d, TRUE);

    const int64_t w = j->d.image_width, h = j->d.image_height;
    if (w <= 0 || h <= 0) {
        snprintf(j->err.msg, sizeof j->err.msg, "image size %lldx%lld: expected positive width and height",
                 (long long)w, (long long)h);
        longjmp(j->err.jb, 1);
    }
    if (w * h > max_pixels) {
        snprintf(j->err.msg, sizeof j->err.msg,
                 "image is %lldx%lld = %lld pixels, more than the limit of %lld (decompression bomb guard)",
                 (long long)w, (long long)h, (long long)(w * h), (long long)max_pixels);
        longjmp(j->err.jb, 1);
    }
    *orientation = 1;
    for (jpeg_saved_marker_ptr m = j->d.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            *orientation = tc_image_exif_orientation(m->data + 6, m->data_length - 6);
            break; /* the first Exif block counts, as in PIL */
        }
    }
    const int cmyk = j->d.jpeg_color_space == JCS_CMYK || j->d.jpeg_color_space == JCS_YCCK;
    j->d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* grey is replicated to RGB by libjpeg */
    if (draft_min_side > 0) {
        /* PIL's JpegImageFile.draft: scale = min(w // s, h // s), rounded down to 8, 4, 2 or 1. */
        int64_t k = w / draft_min_side < h / draft_min_side ? w / draft_min_side : h / draft_min_side;
        j->d.scale_num = 1;
        j->d.scale_denom = k >= 8 ? 8 : k >= 4 ? 4 : k >= 2 ? 2 : 1;
    }
    jpeg_start_decompress(&j->d);
    const int ow = (int)j->d.output_width, oh = (int)j->d.output_height;
    j->rgb = malloc((size_t)ow * oh * 3);
    if (cmyk) j->row4 = malloc((size_t)ow * 4);
    if (!j->rgb || (cmyk && !j->row4)) {
        snprintf(j->err.msg, sizeof j->err.msg, "out of memory for %dx%d pixels", ow, oh);
        longjmp(j->err.jb, 1);
    }
    while (j->d.output_scanline < (JDIMENSION)oh) {
        uint8_t *dst = j->rgb + (size_t)j->d.output_scanline * ow * 3;
        JSAMPROW row = cmyk ? j->row4 : dst;
        if (jpeg_read_scanlines(&j->d, &row, 1) != 1) {
            snprintf(j->err.msg, sizeof j->err.msg, "decoder returned no data at row %u", j->d.output_scanline);
            longjmp(j->err.jb, 1);
        }
        if (cmyk) cmyk_inverted_to_rgb(j->row4, dst, ow);
    }
    /* No jpeg_finish_decompress: all pixels are in, and what follows the last scan (normally just EOI)
     * cannot change them; destroying aborts cleanly. */
    jpeg_destroy_decompress(&j->d);
    out->w = ow;
    out->h = oh;
    out->rgb = j->rgb;
    free(j->row4);
    free(j);
    return 0;
}
