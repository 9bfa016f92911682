/* Decoding: every layout (grey, bilevel, palette incl. 4-bit and tRNS, alpha, 16-bit, CMYK, progressive,
 * 4:4:4, Adam7 interlacing, 2-bit grey) and all 8 EXIF orientations (little- and big-endian EXIF, PNG eXIf) against PIL's decode made by
 * tests/data/image/make_goldens.py. PIL links the same libjpeg-turbo (Debian's libjpeg62-turbo) with the
 * same settings (ISLOW IDCT, fancy upsampling), so JPEG pixels are expected to be identical too:
 * tolerance 0 everywhere. Also: bad files give one-line errors naming the file, encode round trips. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <jpeglib.h>

#include "data/image.h"
#include "test_image_util.h"
#include "tc_test.h"

static void check_goldens(void) {
    size_t glen, mlen;
    uint8_t *gold = (uint8_t *)img_read("decode.bin", &glen);
    char *manifest = img_read("decode.txt", &mlen);
    int n = 0;
    for (char *line = strtok(manifest, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], rel[128];
        int w, h;
        long off;
        if (sscanf(line, "%63s %d %d %ld", name, &w, &h, &off) != 4) { TC_CHECK(0, "manifest: %s", line); continue; }
        snprintf(rel, sizeof rel, "decode/%s", name);
        tc_image img;
        int rc = tc_image_load(img_data_path(rel), &img, 0);
        TC_CHECK(rc == 0, "%s: %s", name, tc_error_get());
        if (rc) continue;
        n++;
        TC_CHECK(img.w == w && img.h == h, "%s: size %dx%d, want %dx%d", name, img.w, img.h, w, h);
        if (img.w == w && img.h == h && off + (long)w * h * 3 <= (long)glen) {
            int maxd = 0, nbad = 0;
            for (long i = 0; i < (long)w * h * 3; i++) {
                int d = abs((int)img.rgb[i] - (int)gold[off + i]);
                nbad += d != 0;
                if (d > maxd) maxd = d;
            }
            TC_CHECK(maxd == 0, "%s: %d values differ from PIL, max %d", name, nbad, maxd);
        }
        tc_image_free(&img);
    }
    TC_CHECK(n >= 28, "decoded %d golden files", n);
    free(gold);
    free(manifest);
}

/* ignore_orientation keeps the stored order; the EXIF parser reads both byte orders. */
static void check_orientation(void) {
    tc_image a, b;
    tc_image_decode_opts keep = {.ignore_orientation = 1};
    TC_CHECK(tc_image_load_ex(img_data_path("decode/exif6.jpg"), &keep, &a) == 0, "%s", tc_error_get());
    TC_CHECK(tc_image_load(img_data_path("decode/exif1.jpg"), &b, 0) == 0, "%s", tc_error_get());
    TC_CHECK(a.w == 40 && a.h == 24 && b.w == 40 && b.h == 24, "stored size kept");
    TC_CHECK(memcmp(a.rgb, b.rgb, (size_t)40 * 24 * 3) == 0, "same pixels as the untagged file");
    tc_image_free(&a);
    tc_image_free(&b);

    const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0};
    TC_CHECK(tc_image_exif_orientation(le, sizeof le) == 5, "little-endian");
    TC_CHECK(tc_image_exif_orientation(be, sizeof be) == 7, "big-endian");
    TC_CHECK(tc_image_exif_orientation(le, 12) == 1, "cut block: default");
    uint8_t bad[sizeof le];
    memcpy(bad, le, sizeof le);
    bad[4] = 0xF0; /* IFD offset past the end */
    TC_CHECK(tc_image_exif_orientation(bad, sizeof bad) == 1, "bad offset: default");
    memcpy(bad, le, sizeof le);
    bad[18] = 9; /* out-of-range value */
    TC_CHECK(tc_image_exif_orientation(bad, sizeof bad) == 1, "value 9: default");
}

/* Draft decoding (DCT scaling) against PIL's im.draft("RGB", (s, s)): same library, same scale choice. */
/* Orientation on a tiny image by hand (the goldens cover real files): 3x2 with pixel value = 10*y + x. */
static void check_orientation_small(void) {
    /* expected outputs as rows of pixel values, per EXIF value (PIL's transpose for each) */
    static const int want[9][6] = {
        {0}, {0},
        {2, 1, 0, 12, 11, 10},  /* 2 mirror: 3x2 */
        {12, 11, 10, 2, 1, 0},  /* 3 rotate 180 */
        {10, 11, 12, 0, 1, 2},  /* 4 flip */
        {0, 10, 1, 11, 2, 12},  /* 5 transpose: 2x3 */
        {10, 0, 11, 1, 12, 2},  /* 6 rotate 90 cw */
        {12, 2, 11, 1, 10, 0},  /* 7 transverse */
        {2, 12, 1, 11, 0, 10},  /* 8 rotate 90 ccw */
    };
    for (int o = 2; o <= 8; o++) {
        tc_image img;
        TC_CHECK(tc_image_alloc(&img, 3, 2) == 0, "alloc");
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                for (int c = 0; c < 3; c++) img.rgb[(y * 3 + x) * 3 + c] = (uint8_t)(10 * y + x + 100 * (c == 1));
        TC_CHECK(tc_image_apply_orientation(&img, o) == 0, "orient %d", o);
        TC_CHECK((o >= 5 ? img.w == 2 && img.h == 3 : img.w == 3 && img.h == 2), "orientation %d size %dx%d", o, img.w,
                 img.h);
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= img.rgb[3 * i] == want[o][i] && img.rgb[3 * i + 1] == want[o][i] + 100;
        TC_CHECK(ok, "orientation %d pixels", o);
        tc_image_free(&img);
    }
    /* flip_h twice is the identity; crop outside the image is an error */
    tc_image a, b;
    TC_CHECK(tc_image_load(img_data_path("sources/rocket.jpg"), &a, 0) == 0, "%s", tc_error_get());
    TC_CHECK(tc_image_crop(&a, 0, 0, a.w, a.h, &b) == 0, "full crop");
    tc_image_flip_h(&b);
    TC_CHECK(b.rgb[0] == a.rgb[(a.w - 1) * 3] && b.rgb[2] == a.rgb[(a.w - 1) * 3 + 2], "flip moves the last column first");
    tc_image_flip_h(&b);
    TC_CHECK(memcmp(a.rgb, b.rgb, (size_t)a.w * a.h * 3) == 0, "flip twice = identity");
    tc_image_free(&b);
    TC_CHECK(tc_image_crop(&a, 1, 0, a.w, 1, &b) == -1 && strstr(tc_error_get(), "inside"), "crop outside refused");
    tc_image_free(&a);
}

static void check_draft(void) {
    const struct { const char *src, *gold; int s; } cases[] = {
        {"sources/coffee_full.jpg", "draft/coffee_full_s50.png", 50},   /* 1/8 */
        {"sources/coffee_full.jpg", "draft/coffee_full_s100.png", 100}, /* 1/4 */
        {"sources/coffee_full.jpg", "draft/coffee_full_s150.png", 150}, /* 1/2 */
        {"sources/rocket.jpg", "draft/rocket_s20.png", 20},
        {"decode/cmyk.jpg", "draft/cmyk_s10.png", 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_image got, want;
        tc_image_decode_opts o = {.draft_min_side = cases[i].s};
        TC_CHECK(tc_image_load_ex(img_data_path(cases[i].src), &o, &got) == 0, "%s", tc_error_get());
        TC_CHECK(tc_image_load(img_data_path(cases[i].gold), &want, 0) == 0, "%s", tc_error_get());
        long nbad = 0;
        int same_size = got.w == want.w && got.h == want.h;
        for (long k = 0; same_size && k < (long)got.w * got.h * 3; k++) nbad += got.rgb[k] != want.rgb[k];
        TC_CHECK(same_size && nbad == 0, "%s draft %d: %dx%d vs PIL %dx%d, %ld values differ", cases[i].src, cases[i].s,
                 got.w, got.h, want.w, want.h, nbad);
        tc_image_free(&got);
        tc_image_free(&want);
    }
    /* Scale 1 (600x400 with s = 400: min(1, 1)) is a plain decode. */
    tc_image a, b;
    tc_image_decode_opts o1 = {.draft_min_side = 400};
    TC_CHECK(tc_image_load_ex(img_data_path("sources/coffee_full.jpg"), &o1, &a) == 0 &&
                 tc_image_load(img_data_path("sources/coffee_full.jpg"), &b, 0) == 0,
             "%s", tc_error_get());
    TC_CHECK(a.w == 600 && a.h == 400 && b.w == 600 && memcmp(a.rgb, b.rgb, 600 * 400 * 3) == 0, "scale 1 = full");
    tc_image_free(&a);
    tc_image_free(&b);
    /* PNG ignores the option. */
    tc_image_decode_opts o = {.draft_min_side = 8};
    TC_CHECK(tc_image_load_ex(img_data_path("sources/astro.png"), &o, &a) == 0 && a.w == 120 && a.h == 96, "PNG full");
    tc_image_free(&a);
}

static void expect_error(const char *rel, const char *what, int64_t max_pixels) {
    tc_image img;
    const char *p = img_data_path(rel);
    int rc = tc_image_load(p, &img, max_pixels);
    const char *msg = tc_error_get();
    TC_CHECK(rc == -1 && img.rgb == NULL, "%s: expected an error", rel);
    TC_CHECK(strstr(msg, p) != NULL, "%s: message names the file: %s", rel, msg);
    TC_CHECK(strstr(msg, what) != NULL, "%s: message mentions \"%s\": %s", rel, what, msg);
    TC_CHECK(strchr(msg, '\n') == NULL, "%s: one line", rel);
    if (rc == 0) tc_image_free(&img);
}

static void check_bad_files(void) {
    expect_error("bad/truncated.jpg", "truncated", 0);
    expect_error("bad/cut.jpg", "truncated", 0);
    expect_error("bad/cut.png", "truncated", 0);
    expect_error("bad/bomb.png", "decompression bomb", 0);
    expect_error("bad/bomb.jpg", "decompression bomb", 0);
    expect_error("bad/zero.png", "PNG", 0);
    expect_error("sources/astro.png", "more than the limit of 10000", 10000); /* 120x96 over a 10k cap */
    expect_error("missing-file.png", "cannot open", 0);

    /* Zero bytes, text, other formats, a lone JPEG marker: in memory. */
    tc_image img;
    TC_CHECK(tc_image_decode_mem("", 0, "empty.jpg", &img) == -1 && strstr(tc_error_get(), "empty.jpg: empty"),
             "%s", tc_error_get());
    TC_CHECK(tc_image_decode_mem("hello, world", 12, "x.txt", &img) == -1 &&
                 strstr(tc_error_get(), "x.txt: not a JPEG or PNG image"),
             "%s", tc_error_get());
    TC_CHECK(tc_image_decode_mem("GIF89a\1\0\1\0", 10, "a.gif", &img) == -1 &&
                 strstr(tc_error_get(), "unsupported image format GIF"),
             "%s", tc_error_get());
    TC_CHECK(tc_image_decode_mem("\xff\xd8\xff", 3, "m.jpg", &img) == -1 && strstr(tc_error_get(), "m.jpg: JPEG"),
             "%s", tc_error_get());
    TC_CHECK(tc_image_decode_mem("\x89PNG\r\n\x1a\n", 8, "s.png", &img) == -1 && strstr(tc_error_get(), "s.png: PNG"),
             "%s", tc_error_get());

    /* Every prefix of a real JPEG and PNG: an error or an image, never a crash (ASan runs check leaks). */
    const char *files[] = {"decode/progressive.jpg", "decode/palette4bit.png"};
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *d = img_read(files[f], &len);
        int errors = 0;
        for (size_t n = 0; n < len; n += 7) {
            if (tc_image_decode_mem(d, n, files[f], &img) == 0) tc_image_free(&img);
            else errors++;
        }
        TC_CHECK(errors > 0, "%s: prefixes fail", files[f]);
        free(d);
    }
}

static void check_encode(void) {
    tc_image src;
    TC_CHECK(tc_image_load(img_data_path("sources/chelsea.png"), &src, 0) == 0, "%s", tc_error_get());
    char png[512], jpg[512];
    snprintf(png, sizeof png, "%s/image_roundtrip_%d.png", TAICHU_BINARY_DIR, (int)getpid());
    snprintf(jpg, sizeof jpg, "%s/image_roundtrip_%d.jpg", TAICHU_BINARY_DIR, (int)getpid());
    TC_CHECK(tc_image_write_png(png, &src) == 0, "%s", tc_error_get());
    TC_CHECK(tc_image_write_jpeg(jpg, &src, 95) == 0, "%s", tc_error_get());
    tc_image a, b;
    TC_CHECK(tc_image_load(png, &a, 0) == 0, "%s", tc_error_get());
    TC_CHECK(a.w == src.w && a.h == src.h && memcmp(a.rgb, src.rgb, (size_t)a.w * a.h * 3) == 0, "PNG is lossless");
    TC_CHECK(tc_image_load(jpg, &b, 0) == 0, "%s", tc_error_get());
    double err = 0;
    for (long i = 0; i < (long)src.w * src.h * 3; i++) err += fabs((double)b.rgb[i] - src.rgb[i]);
    err /= (double)src.w * src.h * 3;
    TC_CHECK(b.w == src.w && b.h == src.h && err < 3.0, "JPEG q95 mean abs error %.2f (expected < 3)", err);
    tc_image_free(&a);
    tc_image_free(&b);
    unlink(png);
    unlink(jpg);
    /* A write into a missing directory fails cleanly and leaves nothing behind. */
    TC_CHECK(tc_image_write_png("/nonexistent-dir/x.png", &src) == -1, "write into a missing dir fails");
    TC_CHECK(tc_image_write_jpeg(jpg, &src, 0) == -1 && strstr(tc_error_get(), "quality"), "quality checked");
    TC_CHECK(access(jpg, F_OK) != 0, "nothing written");
    tc_image_free(&src);
}

/* YCCK: PIL cannot write it, so the test encodes one with libjpeg directly (CMYK in, YCCK stored, Adobe
 * transform 2), quality 100 and no subsampling. Decoding must give PIL's CMYK->RGB of the stored
 * (Adobe-inverted) CMYK values, up to the JPEG round trip: mean error < 1, max < 8 levels. */
static void check_ycck(void) {
    enum { W = 48, H = 32 };
    uint8_t cmyk[H][W][4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            cmyk[y][x][0] = (uint8_t)(x * 5);
            cmyk[y][x][1] = (uint8_t)(y * 7);
            cmyk[y][x][2] = (uint8_t)(128 + x - y);
            cmyk[y][x][3] = (uint8_t)(200 - 2 * x);
        }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = W;
    c.image_height = H;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK);
    for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < H; y++) {
        JSAMPROW row = &cmyk[y][0][0];
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    tc_image img;
    int rc = tc_image_decode_mem(buf, len, "ycck.jpg", &img);
    TC_CHECK(rc == 0 && img.w == W && img.h == H, "YCCK decode: %s", tc_error_get());
    if (rc == 0) {
        double sum = 0;
        int maxd = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int ch = 0; ch < 3; ch++) {
                    /* stored values are inverted: ink = 255 - v; PIL: r = nk - nk*ink/255, nk = stored K */
                    int nk = cmyk[y][x][3], ink = 255 - cmyk[y][x][ch];
                    double want = nk - (double)ink * nk / 255.0;
                    int d = abs((int)img.rgb[((size_t)y * W + x) * 3 + ch] - (int)(want + 0.5));
                    sum += d;
                    if (d > maxd) maxd = d;
                }
        TC_CHECK(sum / (W * H * 3) < 1.0 && maxd < 8, "YCCK: mean error %.3f, max %d", sum / (W * H * 3), maxd);
        tc_image_free(&img);
    }
    free(buf);
}

/* The decoders and the preprocessing keep no global state: two threads decoding and preprocessing the
 * same files must get exactly the serial results (the data loader relies on it). */
typedef struct { float *out; int ok; } worker_arg;
static const char *mt_files[] = {"sources/coffee.jpg", "decode/progressive.jpg", "decode/palette_trns.png",
                                 "decode/exif7.jpg", "sources/camera.png", "bad/cut.jpg"};
#define MT_N 6
#define MT_S 40
static void *worker(void *p) {
    worker_arg *a = p;
    tc_image_prep cfg = tc_image_prep_clip(MT_S);
    a->ok = 1;
    for (int rep = 0; rep < 20; rep++)
        for (int i = 0; i < MT_N; i++) {
            int rc = tc_image_preprocess_file(img_data_path(mt_files[i]), &cfg, a->out + (size_t)i * 3 * MT_S * MT_S);
            if (rc != (i == MT_N - 1 ? -1 : 0)) a->ok = 0; /* the cut file must fail every time */
        }
    return NULL;
}
static void check_threads(void) {
    float *serial = calloc(MT_N * 3 * MT_S * MT_S, sizeof(float));
    worker_arg s = {serial, 0};
    worker(&s);
    worker_arg a[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        a[k].out = calloc(MT_N * 3 * MT_S * MT_S, sizeof(float));
        pthread_create(&t[k], NULL, worker, &a[k]);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(t[k], NULL);
        TC_CHECK(a[k].ok && s.ok, "thread %d: expected results and errors", k);
        TC_CHECK(memcmp(a[k].out, serial, sizeof(float) * (MT_N - 1) * 3 * MT_S * MT_S) == 0, "thread %d = serial", k);
        free(a[k].out);
    }
    free(serial);
}

int main(void) {
    check_goldens();
    check_orientation();
    check_draft();
    check_orientation_small();
    check_bad_files();
    check_encode();
    check_ycck();
    check_threads();
    return tc_test_summary("image_decode");
}
