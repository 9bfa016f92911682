/* Shared helpers for tests/test_image_*.c: paths under tests/data/image and manifest reading. */
#ifndef TC_TEST_IMAGE_UTIL_H
#define TC_TEST_IMAGE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"

static inline char *img_data_path(const char *rel) {
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/image/%s", TAICHU_TEST_DATA, rel);
    return b;
}

/* Read a whole data file or abort the test with the library's message. */
static inline char *img_read(const char *rel, size_t *len) {
    char *d = tc_read_file(img_data_path(rel), len);
    if (!d) {
        fprintf(stderr, "cannot read test data: %s\n", tc_error_get());
        exit(1);
    }
    return d;
}

#endif
