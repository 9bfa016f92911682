/* The data loader: padded batches and masks, pixel values, determinism whatever the prefetch timing,
 * augmentation seeded per sample, skip_bad counting. */
#include "tc_test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/loader.h"

enum { NIMG = 6, SZ = 16 };
static char dir[256];

/* image i: a horizontal ramp whose colour depends on i (so every pixel checks the normalisation) */
static void make_image(int i, tc_image *im) {
    tc_image_alloc(im, SZ, SZ);
    for (int y = 0; y < SZ; y++)
        for (int x = 0; x < SZ; x++) {
            uint8_t *p = im->rgb + (y * SZ + x) * 3;
            p[0] = (uint8_t)(10 * i + 4 * x);
            p[1] = (uint8_t)(200 - 5 * y);
            p[2] = (uint8_t)(30 * i);
        }
}

static int write_dataset(void) {
    snprintf(dir, sizeof dir, "/tmp/taichu_test_loader_%d", (int)getpid());
    if (tc_mkdir_p(dir)) return -1;
    for (int i = 0; i < NIMG; i++) {
        if (i == 4) continue; /* image 4 is missing: a bad sample */
        tc_image im;
        make_image(i, &im);
        char path[512];
        snprintf(path, sizeof path, "%s/img%d.png", dir, i);
        int rc = tc_image_write_png(path, &im);
        tc_image_free(&im);
        if (rc) return -1;
    }
    return 0;
}

static const char *captions_json =
    "[{\"image\": \"img0.png\", \"caption\": [[200, 201, 202], [203]]},"
    " {\"image\": \"img1.png\", \"caption\": [[210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220]]},"
    " {\"image\": \"img2.png\", \"caption\": [[230]]},"
    " {\"image\": \"img3.png\", \"caption\": [[240, 241]]},"
    " {\"image\": \"img4.png\", \"caption\": [[250, 251]]},"
    " {\"image\": \"img5.png\", \"caption\": [[260, 261, 262, 263]]}]";

static int batch_equal(const tc_batch *a, const tc_batch *b) {
    if (a->B != b->B || a->T != b->T || a->S != b->S) return 0;
    size_t nt = (size_t)a->B * a->T, np = (size_t)a->B * 3 * a->S * a->S;
    return memcmp(a->ids, b->ids, nt * 4) == 0 && memcmp(a->valid, b->valid, nt * 4) == 0 &&
           memcmp(a->pixels, b->pixels, np * 4) == 0;
}

static void copy_batch(tc_batch *dst, const tc_batch *src) {
    tc_batch_alloc(dst, src->B, src->T, src->S);
    memcpy(dst->ids, src->ids, sizeof(int32_t) * (size_t)src->B * src->T);
    memcpy(dst->valid, src->valid, sizeof(float) * (size_t)src->B * src->T);
    memcpy(dst->pixels, src->pixels, sizeof(float) * (size_t)src->B * 3 * src->S * src->S);
    memcpy(dst->samples, src->samples, sizeof(tc_sample) * (size_t)src->B);
}

static void test_layout(const tc_ds_captions *ds) {
    tc_loader_cfg c = tc_loader_cfg_v2(SZ, 8);
    c.prefetch = 0;
    c.skip_bad = 1;
    tc_loader *L = tc_loader_open(ds, &c);
    TC_CHECK(L != NULL, "%s", tc_error_get());
    if (!L) return;
    tc_loader_stats st;
    tc_loader_get_stats(L, &st);
    TC_CHECK(st.cached == 1, "the 16-px set should be cached");
    tc_sample s[3] = {{0, 0}, {1, 0}, {2, 0}};
    const tc_batch *b = tc_loader_get(L, 7, s, 3);
    TC_CHECK(b != NULL, "%s", tc_error_get());
    if (!b) { tc_loader_close(L); return; }
    /* caption 1 has 11 pieces, cut to 8 -> T = 10 with dynamic padding */
    TC_CHECK(b->T == 10, "T = %d, want 10 (longest row: 8 pieces + CLS/SEP)", b->T);
    int32_t want0[10] = {101, 200, 201, 202, 102, 0, 0, 0, 0, 0};
    int32_t want1[10] = {101, 210, 211, 212, 213, 214, 215, 216, 217, 102};
    TC_CHECK(memcmp(b->ids, want0, sizeof want0) == 0, "row 0 ids");
    TC_CHECK(memcmp(b->ids + 10, want1, sizeof want1) == 0, "row 1 ids (truncated to max_text_len)");
    for (int t = 0; t < 10; t++) {
        TC_CHECK(b->valid[t] == (t < 5 ? 1.0f : 0.0f), "row 0 valid[%d] = %g", t, b->valid[t]);
        TC_CHECK(b->valid[10 + t] == 1.0f, "row 1 valid[%d]", t);
        TC_CHECK(b->valid[20 + t] == (t < 3 ? 1.0f : 0.0f), "row 2 valid[%d]", t);
    }
    /* pixels: CLIP normalisation of the stored image, CHW */
    tc_image im;
    make_image(1, &im);
    float *want = malloc(sizeof(float) * 3 * SZ * SZ);
    tc_image_normalize_chw(&im, c.prep.mean, c.prep.std, want);
    TC_CHECK_ARRAY_CLOSE("pixels of row 1", b->pixels + 3 * SZ * SZ, want, 3 * SZ * SZ, 0, 1e-6);
    TC_CHECK(fabsf(want[0] - (float)((10 - 255 * c.prep.mean[0]) / (255 * c.prep.std[0]))) < 1e-5f, "normalisation");
    free(want);
    tc_image_free(&im);

    /* skip_bad: the missing image 4 is replaced by the next sample of the request and counted */
    tc_sample bad[2] = {{4, 0}, {3, 0}};
    b = tc_loader_get(L, 8, bad, 2);
    TC_CHECK(b != NULL, "%s", tc_error_get());
    if (b) {
        TC_CHECK(b->samples[0].item == 3 && b->samples[1].item == 3, "substitute: %d %d", b->samples[0].item, b->samples[1].item);
        tc_loader_get_stats(L, &st);
        TC_CHECK(st.skipped == 1, "skipped = %d", st.skipped);
        TC_CHECK(strstr(st.first_skip, "img4.png") != NULL, "first skip message names the file: %s", st.first_skip);
    }
    /* a caption index outside the item is an error with a message */
    tc_sample nocap[1] = {{2, 3}};
    TC_CHECK(tc_loader_get(L, 9, nocap, 1) == NULL && strstr(tc_error_get(), "caption 3"), "bad caption: %s", tc_error_get());
    tc_loader_close(L);

    /* without skip_bad the missing image fails the batch */
    c.skip_bad = 0;
    c.cache_mb = 0;
    L = tc_loader_open(ds, &c);
    TC_CHECK(L != NULL, "%s", tc_error_get());
    if (L) {
        TC_CHECK(tc_loader_get(L, 1, bad, 2) == NULL && strstr(tc_error_get(), "img4.png"), "error: %s", tc_error_get());
        tc_loader_close(L);
    }
}

/* The same requests give the same bytes with prefetching (hits), with mispredictions (misses) and inline. */
static void test_determinism(const tc_ds_captions *ds) {
    tc_loader_cfg c = tc_loader_cfg_v2(SZ, 8);
    c.augment = 1;
    c.aug = tc_image_aug_v2(SZ, 0);
    c.skip_bad = 1;
    tc_sample req[4][3] = {{{0, 1}, {5, 0}, {3, 0}}, {{1, 0}, {2, 0}, {0, 0}}, {{5, 0}, {0, 0}, {1, 0}}, {{3, 0}, {3, 0}, {2, 0}}};
    tc_batch ref[4];
    c.prefetch = 0;
    tc_loader *L0 = tc_loader_open(ds, &c);
    for (int k = 0; k < 4; k++) {
        const tc_batch *b = tc_loader_get(L0, 100 + k, req[k], 3);
        TC_CHECK(b != NULL, "%s", tc_error_get());
        if (b) copy_batch(&ref[k], b);
    }
    c.prefetch = 2;
    tc_loader *L1 = tc_loader_open(ds, &c);
    tc_loader_prefetch(L1, 100, req[0], 3);
    for (int k = 0; k < 4; k++) {
        const tc_batch *b = tc_loader_get(L1, 100 + k, req[k], 3);
        TC_CHECK(b && batch_equal(b, &ref[k]), "prefetched batch %d differs from the inline one", k);
        /* predict right for batches 1 and 2, wrong for 3 (key mismatch: it is dropped and rebuilt inline) */
        if (k < 2) tc_loader_prefetch(L1, 101 + k, req[k + 1], 3);
        else if (k == 2) tc_loader_prefetch(L1, 999, req[3], 3);
        usleep(k == 1 ? 20000 : 0); /* vary the timing */
    }
    tc_loader_stats st;
    tc_loader_get_stats(L1, &st);
    TC_CHECK(st.prefetch_hits == 3 && st.prefetch_misses == 1, "hits %ld misses %ld", st.prefetch_hits, st.prefetch_misses);
    /* augmentation: per-sample streams; another key gives another crop of the same image */
    const tc_batch *b = tc_loader_get(L1, 555, req[0], 3);
    TC_CHECK(b && memcmp(b->pixels, ref[0].pixels, sizeof(float) * 3 * SZ * SZ) != 0, "different key, same crop");
    TC_CHECK(b && memcmp(b->ids, ref[0].ids, sizeof(int32_t) * 3 * ref[0].T) == 0, "text does not depend on the key");
    /* same item twice in a batch (rows 0 and 1 of request 3) gets two different crops */
    TC_CHECK(memcmp(ref[3].pixels, ref[3].pixels + 3 * SZ * SZ, sizeof(float) * 3 * SZ * SZ) != 0, "rows share a stream");
    tc_batch own;
    tc_batch_alloc(&own, 4, tc_loader_T(L1), SZ);
    TC_CHECK(tc_loader_build(L1, 102, req[2], 3, &own) == 0 && batch_equal(&own, &ref[2]), "tc_loader_build");
    TC_CHECK(tc_loader_build(L1, 102, req[2], 5, &own) == -1, "capacity check");
    tc_batch_free(&own);
    tc_loader_close(L0);
    tc_loader_close(L1);
    for (int k = 0; k < 4; k++) tc_batch_free(&ref[k]);
}

int main(void) {
    if (write_dataset()) {
        fprintf(stderr, "setup: %s\n", tc_error_get());
        return 1;
    }
    tc_ds_opts o = tc_ds_opts_default();
    o.check_images = 0;
    tc_ds_captions ds;
    int rc = tc_ds_parse_captions(captions_json, strlen(captions_json), "test.json", dir, TC_DS_CAPS_SOME, &o, &ds);
    TC_CHECK(rc == 0, "%s", tc_error_get());
    if (rc == 0) {
        test_layout(&ds);
        test_determinism(&ds);
        tc_ds_captions_free(&ds);
    }
    for (int i = 0; i < NIMG; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/img%d.png", dir, i);
        unlink(path);
    }
    rmdir(dir);
    return tc_test_summary("test_loader");
}
