/* PNG and JPEG encoding (for the built-in dataset generator and the HTML report). Encoders write to
 * memory; the file writers hand the bytes to tc_write_file_atomic, so a failed or interrupted write
 * never leaves a partial image behind. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/image.h"

typedef struct membuf {
    uint8_t *volatile data;
    size_t len, cap;
    int oom;
    char msg[256];
} membuf;

static int check_image(const tc_image *img, const char *what) {
    if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
        return tc_error_set("%s: expected a non-empty image", what);
    return 0;
}

/* ---- PNG ---- */

static void png_on_error(png_structp p, png_const_charp msg) {
    membuf *m = png_get_error_ptr(p);
    snprintf(m->msg, sizeof m->msg, "%s", msg);
    png_longjmp(p, 1);
}
static void png_on_warning(png_structp p, png_const_charp msg) { (void)p; (void)msg; }

static void png_on_write(png_structp p, png_bytep data, size_t n) {
    membuf *m = png_get_io_ptr(p);
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n) cap *= 2;
        uint8_t *d = realloc(m->data, cap);
        if (!d) { m->oom = 1; png_error(p, "out of memory"); }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, n);
    m->len += n;
}
static void png_on_flush(png_structp p) { (void)p; }

int tc_image_encode_png(const tc_image *img, uint8_t **buf, size_t *len) {
    if (check_image(img, "PNG encode")) return -1;
    membuf *m = calloc(1, sizeof *m);
    if (!m) return tc_error_set("PNG encode: out of memory");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, m, png_on_error, png_on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_write_struct(&p, NULL);
        free(m);
        return tc_error_set("PNG encode: out of memory");
    }
    if (setjmp(png_jmpbuf(p))) {
        tc_error_set("PNG encode: %s", m->msg);
        png_destroy_write_struct(&p, &info);
        free(m->data);
        free(m);
        return -1;
    }
    png_set_write_fn(p, m, png_on_write, png_on_flush);
    png_set_IHDR(p, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int y = 0; y < img->h; y++) png_write_row(p, img->rgb + (size_t)y * img->w * 3);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    *buf = m->data;
    *len = m->len;
    free(m);
    return 0;
}

/* ---- JPEG ---- */

typedef struct jenc {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    struct jpeg_destination_mgr dest;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    membuf out; /* our own growable destination, so every byte is owned here on any exit path */
} jenc;

static void jpeg_on_error(j_common_ptr c) {
    jenc *e = (jenc *)c; /* c is the first member of jenc */
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}
static void jpeg_on_output(j_common_ptr c) { (void)c; }

#define JENC_CHUNK 65536
static int jdest_grow(jenc *e) {
    size_t cap = e->out.cap ? e->out.cap * 2 : JENC_CHUNK;
    uint8_t *d = realloc(e->out.data, cap);
    if (!d) return 0;
    e->out.data = d;
    e->out.cap = cap;
    e->dest.next_output_byte = d + e->out.len;
    e->dest.free_in_buffer = cap - e->out.len;
    return 1;
}
static void jdest_init(j_compress_ptr c) {
    jenc *e = (jenc *)c;
    e->out.len = 0;
    if (!jdest_grow(e)) ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
}
static boolean jdest_empty(j_compress_ptr c) {
    jenc *e = (jenc *)c;
    e->out.len = e->out.cap; /* libjpeg calls this only when the buffer is full */
    if (!jdest_grow(e)) ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
    return TRUE;
}
static void jdest_term(j_compress_ptr c) {
    jenc *e = (jenc *)c;
    e->out.len = e->out.cap - e->dest.free_in_buffer;
}

int tc_image_encode_jpeg(const tc_image *img, int quality, uint8_t **buf, size_t *len) {
    if (check_image(img, "JPEG encode")) return -1;
    if (quality < 1 || quality > 100) return tc_error_set("JPEG encode: quality %d: expected 1..100", quality);
    jenc *e = calloc(1, sizeof *e);
    if (!e) return tc_error_set("JPEG encode: out of memory");
    e->c.err = jpeg_std_error(&e->err);
    e->err.error_exit = jpeg_on_error;
    e->err.output_message = jpeg_on_output;
    if (setjmp(e->jb)) {
        tc_error_set("JPEG encode: %s", e->msg);
        jpeg_destroy_compress(&e->c);
        free(e->out.data);
        free(e);
        return -1;
    }
    jpeg_create_compress(&e->c);
    e->dest.init_destination = jdest_init;
    e->dest.empty_output_buffer = jdest_empty;
    e->dest.term_destination = jdest_term;
    e->c.dest = &e->dest;
    e->c.image_width = (JDIMENSION)img->w;
    e->c.image_height = (JDIMENSION)img->h;
    e->c.input_components = 3;
    e->c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&e->c);
    jpeg_set_quality(&e->c, quality, TRUE);
    jpeg_start_compress(&e->c, TRUE);
    while (e->c.next_scanline < e->c.image_height) {
        JSAMPROW row = img->rgb + (size_t)e->c.next_scanline * img->w * 3;
        jpeg_write_scanlines(&e->c, &row, 1);
    }
    jpeg_finish_compress(&e->c);
    jpeg_destroy_compress(&e->c);
    *buf = e->out.data;
    *len = e->out.len;
    free(e);
    return 0;
}

/* ---- files ---- */

static int write_encoded(const char *path, int rc, uint8_t *buf, size_t len) {
    if (rc) return tc_error_prefix("%s", path);
    rc = tc_write_file_atomic(path, buf, len);
    free(buf);
    return rc;
}

int tc_image_write_png(const char *path, const tc_image *img) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = tc_image_encode_png(img, &buf, &len);
    return write_encoded(path, rc, buf, len);
}

int tc_image_write_jpeg(const char *path, const tc_image *img, int quality) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = tc_image_encode_jpeg(img, quality, &buf, &len);
    return write_encoded(path, rc, buf, len);
}
