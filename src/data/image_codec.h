/* Internal: the format-specific decoders behind tc_image_decode_mem_ex (image_decode.c). Each fills
 * `out` with RGB8 pixels in stored order and reports the EXIF orientation it found (1 when none);
 * errors name `name`. max_pixels is already resolved (> 0). */
#ifndef TC_DATA_IMAGE_CODEC_H
#define TC_DATA_IMAGE_CODEC_H

#include "data/image.h"

int tc_image_decode_jpeg(const uint8_t *buf, size_t len, const char *name, int64_t max_pixels, int draft_min_side,
                         tc_image *out, int *orientation);
int tc_image_decode_png(const uint8_t *buf, size_t len, const char *name, int64_t max_pixels, tc_image *out,
                        int *orientation);

#endif
