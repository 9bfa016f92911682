/* Resize goldens: cv2.resize(INTER_LINEAR, INTER_CUBIC) and PIL Image.resize(BILINEAR/BICUBIC) outputs made by
 * tests/data/image/make_goldens.py from real photos (skimage's data), up- and down-scaling, odd and
 * non-square sizes. The implementation reproduces both libraries' fixed-point arithmetic, so the
 * outputs must be identical: the tolerance is 0 (the issue allows 1; we hold to exact). */
#include <zlib.h>

#include "data/image.h"
#include "test_image_util.h"
#include "tc_test.h"

static int method_of(const char *s) {
    if (!strcmp(s, "cv_linear")) return TC_RESIZE_CV_LINEAR;
    if (!strcmp(s, "pil_bilinear")) return TC_RESIZE_PIL_BILINEAR;
    if (!strcmp(s, "pil_bicubic")) return TC_RESIZE_PIL_BICUBIC;
    if (!strcmp(s, "cv_cubic")) return TC_RESIZE_CV_CUBIC;
    return -1;
}

int main(void) {
    size_t zlen, mlen;
    char *z = img_read("resize.bin.z", &zlen);
    char *manifest = img_read("resize.txt", &mlen);
    uLongf glen = 8u << 20;
    uint8_t *gold = malloc(glen);
    TC_CHECK(uncompress(gold, &glen, (const Bytef *)z, (uLong)zlen) == Z_OK, "resize.bin.z: zlib stream");

    int cases = 0, exact = 0, worst = 0, windows = 0;
    char cur[64] = "";
    tc_image src = {0};
    for (char *line = strtok(manifest, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], meth[32];
        int w, h;
        long off;
        if (sscanf(line, "%63s %31s %d %d %ld", name, meth, &w, &h, &off) != 5) {
            TC_CHECK(0, "bad manifest line: %s", line);
            continue;
        }
        if (strcmp(name, cur)) {
            tc_image_free(&src);
            char rel[128];
            snprintf(rel, sizeof rel, "sources/%s", name);
            int rc = tc_image_load(img_data_path(rel), &src, 0);
            TC_CHECK(rc == 0, "load %s: %s", name, tc_error_get());
            if (rc) return tc_test_summary("image_resize");
            snprintf(cur, sizeof cur, "%s", name);
        }
        TC_CHECK(off + (long)w * h * 3 <= (long)glen, "golden offset in range: %s", line);
        tc_image dst;
        int rc = tc_image_resize(&src, w, h, (tc_resize_method)method_of(meth), &dst);
        TC_CHECK(rc == 0, "%s: %s", line, tc_error_get());
        if (rc) continue;
        const uint8_t *g = gold + off;
        int maxd = 0, nbad = 0, first = -1;
        for (long i = 0; i < (long)w * h * 3; i++) {
            int d = abs((int)dst.rgb[i] - (int)g[i]);
            if (d > maxd) maxd = d;
            if (d) { nbad++; if (first < 0) first = (int)i; }
        }
        cases++;
        exact += maxd == 0;
        if (maxd > worst) worst = maxd;
        TC_CHECK(maxd == 0, "%s %s %dx%d -> %dx%d: %d values differ, max %d, first at pixel (%d,%d) ch %d: got %d want %d",
                 name, meth, src.w, src.h, w, h, nbad, maxd, first / 3 % w, first / 3 / w, first % 3,
                 first >= 0 ? dst.rgb[first] : 0, first >= 0 ? g[first] : 0);
        tc_image_free(&dst);

        /* A window of the same resize must equal the golden's sub-rectangle (what centre crop uses). */
        const int wx = w / 3, wy = h / 4, ww = w - wx - w / 5, wh = h - wy - h / 3;
        if (ww >= 1 && wh >= 1) {
            rc = tc_image_resize_window(&src, w, h, wx, wy, ww, wh, (tc_resize_method)method_of(meth), &dst);
            TC_CHECK(rc == 0, "%s window: %s", line, tc_error_get());
            int same = rc == 0;
            for (int r = 0; same && r < wh; r++)
                same = memcmp(dst.rgb + (size_t)r * ww * 3, g + ((size_t)(wy + r) * w + wx) * 3, (size_t)ww * 3) == 0;
            TC_CHECK(same, "%s %s -> %dx%d: window %d,%d %dx%d differs from the full resize", name, meth, w, h, wx, wy,
                     ww, wh);
            windows += same;
            tc_image_free(&dst);
        }
    }
    tc_image_free(&src);
    printf("resize goldens: %d cases, %d exact, worst difference %d; %d windows exact\n", cases, exact, worst,
           windows);
    TC_CHECK(cases >= 220, "expected the full golden set, got %d cases", cases);

    /* Same-size resize is a copy; bad arguments are errors, not crashes. */
    tc_image a, b;
    TC_CHECK(tc_image_alloc(&a, 5, 4) == 0, "alloc");
    for (int i = 0; i < 60; i++) a.rgb[i] = (uint8_t)(i * 7);
    TC_CHECK(tc_image_resize(&a, 5, 4, TC_RESIZE_PIL_BICUBIC, &b) == 0 && memcmp(a.rgb, b.rgb, 60) == 0, "copy");
    tc_image_free(&b);
    TC_CHECK(tc_image_resize(&a, 0, 4, TC_RESIZE_CV_LINEAR, &b) == -1 && b.rgb == NULL, "zero width refused");
    TC_CHECK(strstr(tc_error_get(), "expected positive") != NULL, "message: %s", tc_error_get());
    TC_CHECK(tc_image_resize(&a, 3, 3, (tc_resize_method)9, &b) == -1, "unknown method refused");
    TC_CHECK(tc_image_resize(&a, 3, 3, TC_RESIZE_CV_CUBIC, &b) == 0 && b.w == 3, "cubic from 5x4");
    tc_image_free(&b);
    TC_CHECK(tc_image_resize_window(&a, 8, 8, 4, 4, 5, 1, TC_RESIZE_CV_LINEAR, &b) == -1 &&
                 strstr(tc_error_get(), "window"),
             "window outside the output refused");
    tc_image_free(&a);
    free(gold);
    free(z);
    free(manifest);
    return tc_test_summary("image_resize");
}
