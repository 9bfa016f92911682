/* Preprocessing pipelines against numpy/cv2/PIL goldens (tests/data/image/make_goldens.py):
 *   MindSpore c_transforms Resize -> CenterCrop -> Normalize -> HWC2CHW (the original v1/v2 code),
 *   torchvision Resize(BICUBIC) -> CenterCrop -> Normalize (CLIP style), and the patch layouts
 *   (v1 rows c*p*p + py*p + px plus the zero pad row; v2 conv order [3,16,16]).
 * The uint8 geometry is exact, and the normalisation is the same float32 formula, so the tolerance is
 * 0 with a 1e-7 absolute slack for float evaluation order only.
 * Augmentation: torchvision's RandomResizedCrop rules (box inside, area and aspect in range), seeded
 * determinism, and flip behaviour. */
#include "data/image.h"
#include "test_image_util.h"
#include "tc_test.h"

static float *gold_blob;
static char *gold_manifest;

static const float *golden(const char *name, long *count) {
    char *m = gold_manifest;
    char key[96];
    long n, off;
    int used;
    while (sscanf(m, "%95s %ld %ld%n", key, &n, &off, &used) == 3) {
        if (!strcmp(key, name)) { *count = n; return (const float *)((const char *)gold_blob + off); }
        m += used;
    }
    TC_CHECK(0, "golden %s missing", name);
    *count = 0;
    return NULL;
}

static tc_image load(const char *rel) {
    tc_image img;
    if (tc_image_load(img_data_path(rel), &img, 0)) { fprintf(stderr, "%s\n", tc_error_get()); exit(1); }
    return img;
}

static void check_pipeline(const char *gname, const char *src, tc_image_prep cfg) {
    long n;
    const float *want = golden(gname, &n);
    if (!want) return;
    TC_CHECK(n == 3L * cfg.size * cfg.size, "%s: golden size %ld", gname, n);
    float *got = malloc(sizeof(float) * 3 * cfg.size * cfg.size);
    int rc = tc_image_preprocess_file(img_data_path(src), &cfg, got);
    TC_CHECK(rc == 0, "%s: %s", gname, tc_error_get());
    if (!rc) TC_CHECK_ARRAY_CLOSE(gname, got, want, n, 0, 1e-7);
    free(got);
}

static void check_patches(const char *gname, const char *src, tc_image_prep cfg, int p, int pad) {
    long n;
    const float *want = golden(gname, &n);
    if (!want) return;
    const int s = cfg.size, rows = (s / p) * (s / p) + pad, cols = 3 * p * p;
    TC_CHECK(n == (long)rows * cols, "%s: golden size %ld", gname, n);
    float *chw = malloc(sizeof(float) * 3 * s * s), *out = malloc(sizeof(float) * rows * cols);
    TC_CHECK(tc_image_preprocess_file(img_data_path(src), &cfg, chw) == 0, "%s", tc_error_get());
    TC_CHECK(tc_image_patchify(chw, s, s, p, pad, out) == 0, "%s", tc_error_get());
    TC_CHECK_ARRAY_CLOSE(gname, out, want, n, 0, 1e-7);
    /* The fused uint8 -> patches path gives the same rows. */
    tc_image img = load(src), g;
    TC_CHECK(tc_image_prep_geometry(&img, &cfg, &g) == 0, "%s", tc_error_get());
    memset(out, 0xff, sizeof(float) * rows * cols);
    TC_CHECK(tc_image_to_patches(&g, cfg.mean, cfg.std, p, pad, out) == 0, "%s", tc_error_get());
    TC_CHECK_ARRAY_CLOSE(gname, out, want, n, 0, 1e-7);
    tc_image_free(&img);
    tc_image_free(&g);
    free(chw);
    free(out);
}

static void check_geometry_rules(void) {
    int w, h;
    /* MindSpore: floor((float)long/short*size); torchvision: int(size*long/short). */
    tc_image_shorter_side_size(640, 480, 448, TC_GEOM_MINDSPORE, &w, &h);
    TC_CHECK(w == 597 && h == 448, "640x480 -> %dx%d", w, h);
    tc_image_shorter_side_size(480, 640, 224, TC_GEOM_TORCHVISION, &w, &h);
    TC_CHECK(w == 224 && h == 298, "480x640 -> %dx%d", w, h);
    tc_image_shorter_side_size(300, 300, 224, TC_GEOM_MINDSPORE, &w, &h);
    TC_CHECK(w == 224 && h == 224, "square -> %dx%d", w, h);
    TC_CHECK(tc_image_center_offset(101, 48, TC_GEOM_MINDSPORE) == 26, "floor((101-48)/2)");
    TC_CHECK(tc_image_center_offset(101, 48, TC_GEOM_TORCHVISION) == 26, "round(26.5) = 26 (half to even)");
    TC_CHECK(tc_image_center_offset(103, 48, TC_GEOM_TORCHVISION) == 28, "round(27.5) = 28");
    TC_CHECK(tc_image_center_offset(103, 48, TC_GEOM_MINDSPORE) == 27, "floor(27.5) = 27");

    /* Squash gives the plain resize; the v1 preset matches spec §2.1. */
    tc_image img = load("sources/chelsea.png"), a, b;
    tc_image_prep sq = tc_image_prep_v2(40);
    sq.mode = TC_PREP_SQUASH;
    TC_CHECK(tc_image_prep_geometry(&img, &sq, &a) == 0 && tc_image_resize(&img, 40, 40, TC_RESIZE_CV_LINEAR, &b) == 0,
             "squash");
    TC_CHECK(a.w == 40 && a.h == 40 && memcmp(a.rgb, b.rgb, 40 * 40 * 3) == 0, "squash = resize to size x size");
    tc_image_free(&a);
    tc_image_free(&b);
    tc_image_prep v1 = tc_image_prep_v1();
    TC_CHECK(v1.size == 448 && v1.method == TC_RESIZE_CV_LINEAR && v1.rule == TC_GEOM_MINDSPORE &&
                 v1.mean[0] == 0.485 && v1.std[2] == 0.225,
             "v1 preset");
    tc_image_prep bad = v1;
    bad.std[1] = 0;
    TC_CHECK(tc_image_prep_geometry(&img, &bad, &a) == -1 && strstr(tc_error_get(), "std[1]"), "std checked");
    /* A 3000x1 strip to shorter side 448 would be 1344000 long: refused, not allocated. */
    tc_image strip;
    TC_CHECK(tc_image_alloc(&strip, 3000, 1) == 0, "alloc");
    memset(strip.rgb, 100, 9000);
    TC_CHECK(tc_image_prep_geometry(&strip, &v1, &a) == -1 && strstr(tc_error_get(), "aspect ratio too extreme"),
             "extreme aspect refused: %s", tc_error_get());
    tc_image_prep small = tc_image_prep_clip(8);
    TC_CHECK(tc_image_prep_geometry(&strip, &small, &a) == 0 && a.w == 8 && a.h == 8 && a.rgb[0] == 100,
             "a 3000x1 strip to 8: %s", tc_error_get());
    tc_image_free(&a);
    tc_image_free(&strip);
    tc_image_free(&img);
}

static void check_v1_layout(void) {
    /* A synthetic CHW with value = c*1e6 + y*1000 + x: every patch element is checkable by formula. */
    const int S = TC_IMAGE_V1_SIZE, P = TC_IMAGE_V1_PATCH;
    float *chw = malloc(sizeof(float) * 3 * S * S), *out = malloc(sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) chw[((size_t)c * S + y) * S + x] = (float)(c * 1000000 + y * 1000 + x);
    tc_image_patchify_v1(chw, out);
    int bad = 0;
    for (int r = 0; r < 196; r++)
        for (int i = 0; i < 3072; i++) {
            int gy = r / 14, gx = r % 14, c = i / 1024, py = i % 1024 / 32, px = i % 32;
            float want = (float)(c * 1000000 + (gy * P + py) * 1000 + gx * P + px);
            bad += out[(size_t)r * 3072 + i] != want;
        }
    for (int i = 0; i < 3072; i++) bad += out[196 * 3072 + i] != 0.0f;
    TC_CHECK(bad == 0, "v1 patch layout: %d wrong values", bad);
    TC_CHECK(tc_image_patchify(chw, 100, 100, 32, 0, out) == -1, "sizes not a multiple of p refused");

    /* The v1 one-call path = preprocess (v1 preset: 88x130 -> 448x662 -> crop 448) + patchify_v1. */
    tc_image_prep v1 = tc_image_prep_v1();
    float *rows = malloc(sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS);
    TC_CHECK(tc_image_preprocess_file(img_data_path("sources/coffee.jpg"), &v1, chw) == 0, "%s", tc_error_get());
    tc_image_patchify_v1(chw, out);
    TC_CHECK(tc_image_load_v1_patches(img_data_path("sources/coffee.jpg"), rows) == 0, "%s", tc_error_get());
    TC_CHECK(memcmp(rows, out, sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS) == 0, "v1 one-call path");
    TC_CHECK(tc_image_load_v1_patches(img_data_path("bad/truncated.jpg"), rows) == -1 &&
                 strstr(tc_error_get(), "truncated.jpg"),
             "error names the file: %s", tc_error_get());
    free(rows);
    free(chw);
    free(out);
}

static void check_augment(void) {
    tc_image img = load("sources/coffee.jpg"); /* 88x130 */
    tc_rng r;
    tc_rng_seed(&r, 11);
    int fallback = 0;
    for (int t = 0; t < 2000; t++) {
        int x, y, w, h;
        tc_image_rrc_params(img.w, img.h, 0.2, 1.0, 3.0 / 4, 4.0 / 3, &r, &x, &y, &w, &h);
        TC_CHECK(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= img.w && y + h <= img.h, "box inside");
        double frac = (double)w * h / (img.w * img.h), ar = (double)w / h;
        /* rounding w and h to integers moves the area and ratio a little; allow that much */
        int in_range = frac >= 0.2 * 0.93 && frac <= 1.0 && ar >= 0.75 * 0.95 && ar <= 4.0 / 3 * 1.05;
        if (!in_range) fallback++;
    }
    TC_CHECK(fallback == 0, "%d crops outside the scale/ratio ranges", fallback);
    /* Fallback: an impossible scale range forces the centre crop with the closest allowed ratio. */
    int x, y, w, h;
    tc_image_rrc_params(200, 50, 1.0, 1.0, 0.75, 4.0 / 3, &r, &x, &y, &w, &h);
    TC_CHECK(w == 67 && h == 50 && x == 66 && y == 0, "fallback crop %d,%d %dx%d", x, y, w, h);

    /* Same seed -> same output; output = crop + resize (+ flip) of the drawn box. */
    tc_image_aug cfg = tc_image_aug_default(32);
    tc_image a, b;
    tc_rng r1, r2, r3;
    tc_rng_seed(&r1, 5);
    tc_rng_seed(&r2, 5);
    int flips = 0;
    for (int t = 0; t < 40; t++) {
        r3 = r1;
        TC_CHECK(tc_image_augment(&img, &cfg, &r1, &a) == 0, "%s", tc_error_get());
        TC_CHECK(tc_image_augment(&img, &cfg, &r2, &b) == 0, "%s", tc_error_get());
        TC_CHECK(a.w == 32 && a.h == 32 && memcmp(a.rgb, b.rgb, 32 * 32 * 3) == 0, "deterministic");
        tc_image_rrc_params(img.w, img.h, cfg.scale_min, cfg.scale_max, cfg.ratio_min, cfg.ratio_max, &r3, &x, &y, &w,
                            &h);
        tc_image c, d;
        tc_image_crop(&img, x, y, w, h, &c);
        tc_image_resize(&c, 32, 32, cfg.method, &d);
        int flipped = tc_rng_uniform(&r3) < cfg.flip_prob;
        if (flipped) tc_image_flip_h(&d);
        flips += flipped;
        TC_CHECK(memcmp(a.rgb, d.rgb, 32 * 32 * 3) == 0, "augment = crop + resize + flip");
        tc_image_free(&a);
        tc_image_free(&b);
        tc_image_free(&c);
        tc_image_free(&d);
    }
    TC_CHECK(flips > 5 && flips < 35, "flip about half the time: %d/40", flips);
    /* v2 presets: OpenCV cubic for pretraining, OpenCV bilinear for captioning. */
    tc_image_aug p2 = tc_image_aug_v2(48, 0), c2 = tc_image_aug_v2(48, 1);
    TC_CHECK(p2.scale_min == 0.2 && p2.method == TC_RESIZE_CV_CUBIC && c2.scale_min == 0.5 &&
                 c2.method == TC_RESIZE_CV_LINEAR,
             "v2 presets");
    TC_CHECK(tc_image_augment(&img, &p2, &r1, &a) == 0 && a.w == 48 && a.h == 48, "%s", tc_error_get());
    tc_image_free(&a);
    cfg.scale_min = 0;
    TC_CHECK(tc_image_augment(&img, &cfg, &r1, &a) == -1 && strstr(tc_error_get(), "scale"), "scale checked");
    tc_image_free(&img);
}

/* The real model sizes on a full 600x400 photo: v1 448 (down-scaling, OpenCV), v2 caption 384, CLIP 224
 * (Pillow bicubic), against cv2/PIL geometry stored as PNG. Exact. */
static void check_full_size(void) {
    tc_image img = load("sources/coffee_full.jpg");
    struct { const char *gold; tc_image_prep cfg; } cases[] = {
        {"geometry/coffee_full_v1_448.png", tc_image_prep_v1()},
        {"geometry/coffee_full_v2_384.png", tc_image_prep_v2(384)},
        {"geometry/coffee_full_clip_224.png", tc_image_prep_clip(224)},
    };
    for (int i = 0; i < 3; i++) {
        tc_image want = load(cases[i].gold), got;
        int rc = tc_image_prep_geometry(&img, &cases[i].cfg, &got);
        TC_CHECK(rc == 0, "%s: %s", cases[i].gold, tc_error_get());
        if (rc) continue;
        long nbad = 0;
        for (long k = 0; k < (long)want.w * want.h * 3; k++) nbad += got.rgb[k] != want.rgb[k];
        TC_CHECK(got.w == want.w && got.h == want.h && nbad == 0, "%s: %ld values differ", cases[i].gold, nbad);
        if (i == 0) { /* the v1 one-call path ends in the same pixels */
            float *rows = malloc(sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS);
            float *ref = malloc(sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS);
            TC_CHECK(tc_image_load_v1_patches(img_data_path("sources/coffee_full.jpg"), rows) == 0, "%s",
                     tc_error_get());
            tc_image_to_patches(&want, TC_IMAGENET_MEAN, TC_IMAGENET_STD, 32, 1, ref);
            TC_CHECK(memcmp(rows, ref, sizeof(float) * TC_IMAGE_V1_ROWS * TC_IMAGE_V1_COLS) == 0, "v1 patches");
            free(rows);
            free(ref);
        }
        tc_image_free(&want);
        tc_image_free(&got);
    }
    tc_image_free(&img);
}

int main(void) {
    size_t blen, mlen;
    gold_blob = (float *)img_read("prep.bin", &blen);
    gold_manifest = img_read("prep.txt", &mlen);
    tc_image_prep ms64 = tc_image_prep_v1();
    ms64.size = 64;
    check_pipeline("ms_chelsea_64_imagenet", "sources/chelsea.png", ms64);
    check_pipeline("ms_coffee_48_clip", "sources/coffee.jpg", tc_image_prep_v2(48));
    check_pipeline("tv_chelsea_48_clip", "sources/chelsea.png", tc_image_prep_clip(48));
    check_pipeline("tv_coffee_33_clip", "sources/coffee.jpg", tc_image_prep_clip(33));
    check_patches("patches_chelsea_64_p32_pad1", "sources/chelsea.png", ms64, 32, 1);
    check_patches("patches_coffee_48_p16_pad0", "sources/coffee.jpg", tc_image_prep_v2(48), 16, 0);
    check_geometry_rules();
    check_v1_layout();
    check_full_size();
    check_augment();
    free(gold_blob);
    free(gold_manifest);
    return tc_test_summary("image_prep");
}
