/* Format sniffing and the public decode/load entry points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/image.h"
#include "data/image_codec.h"

/* Name formats we recognise but do not decode, so the message says what the file is. */
static const char *other_format(const uint8_t *b, size_t n) {
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) return "GIF";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) return "WebP";
    if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0)) return "TIFF";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0) return "HEIF/AVIF (ISO media)";
    return NULL;
}

int tc_image_decode_mem_ex(const void *data, size_t len, const char *name, const tc_image_decode_opts *opts,
                           tc_image *out) {
    const uint8_t *b = data;
    if (!name) name = "<memory>";
    out->w = out->h = 0;
    out->rgb = NULL;
    int64_t max_pixels = opts && opts->max_pixels > 0 ? opts->max_pixels : TC_IMAGE_DEFAULT_MAX_PIXELS;
    int orientation = 1, rc;
    if (len == 0) return tc_error_set("%s: empty file (0 bytes); expected a JPEG or PNG image", name);
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
        rc = tc_image_decode_jpeg(b, len, name, max_pixels, opts ? opts->draft_min_side : 0, out, &orientation);
    } else if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
        rc = tc_image_decode_png(b, len, name, max_pixels, out, &orientation);
    } else {
        const char *f = other_format(b, len);
        if (f) return tc_error_set("%s: unsupported image format %s; expected JPEG or PNG", name, f);
        char hex[3 * 8 + 1] = "";
        for (size_t i = 0; i < len && i < 8; i++) snprintf(hex + 3 * i, 4, "%02x ", b[i]);
        if (hex[0]) hex[strlen(hex) - 1] = 0;
        return tc_error_set("%s: not a JPEG or PNG image (%zu bytes, starting %s)", name, len, hex);
    }
    if (rc) return -1;
    if (!(opts && opts->ignore_orientation) && orientation != 1 && tc_image_apply_orientation(out, orientation)) {
        tc_image_free(out);
        return tc_error_prefix("%s", name);
    }
    return 0;
}

int tc_image_decode_mem(const void *buf, size_t len, const char *name, tc_image *out) {
    return tc_image_decode_mem_ex(buf, len, name, NULL, out);
}

int tc_image_load_ex(const char *path, const tc_image_decode_opts *opts, tc_image *out) {
    out->w = out->h = 0;
    out->rgb = NULL;
    size_t len = 0;
    char *buf = tc_read_file(path, &len);
    if (!buf) return -1;
    int rc = tc_image_decode_mem_ex(buf, len, path, opts, out);
    free(buf);
    return rc;
}

int tc_image_load(const char *path, tc_image *out, int64_t max_pixels) {
    tc_image_decode_opts o = {max_pixels, 0, 0};
    return tc_image_load_ex(path, &o, out);
}
