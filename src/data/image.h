/* Images: decode (JPEG, PNG), encode, resize, preprocessing into model inputs, augmentation.
 *
 * Everything works on one pixel format, tc_image: 8-bit RGB, row-major, interleaved, no row padding
 * (rgb[(y*w + x)*3 + c]). Decoders turn every source layout (grey, palette, alpha, 16-bit, CMYK/YCCK)
 * into that, the way PIL's Image.open(f).convert("RGB") does (the original code's first step), and
 * then apply the EXIF orientation unless asked not to. docs/images.md has the exact rules, the
 * resize semantics (OpenCV INTER_LINEAR/INTER_CUBIC, Pillow BILINEAR/BICUBIC) and the golden tests.
 *
 * Errors follow core/error.h: functions return 0 / -1 and set a one-line message that names the file. */
#ifndef TC_DATA_IMAGE_H
#define TC_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

typedef struct tc_image {
    int w, h;
    uint8_t *rgb; /* [h][w][3], malloc'd; NULL when empty */
} tc_image;

void tc_image_free(tc_image *img); /* frees rgb and zeroes the struct; safe on a zeroed struct */
/* Allocate an uninitialised w×h image. Returns -1 (with a message) when w, h <= 0 or too large. */
int tc_image_alloc(tc_image *img, int w, int h);

/* ---- decoding ---- */

/* Decompression-bomb guard: images with more pixels than this are refused before any pixel buffer
 * is allocated (100 MP = 300 MB of RGB). Override per call with opts.max_pixels. */
#define TC_IMAGE_DEFAULT_MAX_PIXELS 100000000LL

typedef struct tc_image_decode_opts {
    int64_t max_pixels;     /* <= 0: TC_IMAGE_DEFAULT_MAX_PIXELS */
    int ignore_orientation; /* 1: keep the stored pixel order, as PIL's Image.open() without
                               ImageOps.exif_transpose (= the original OPT code) does */
    int draft_min_side;     /* > 0, JPEG only: decode at 1/2, 1/4 or 1/8 scale through libjpeg's DCT scaling
                               while both sides stay >= this, exactly as PIL's im.draft("RGB", (s, s)).
                               1.3-1.6x faster here (entropy decoding stays); not a full decode's pixels. */
} tc_image_decode_opts;

/* Decode a JPEG or PNG held in memory. `name` is used in error messages only (e.g. the path). */
int tc_image_decode_mem(const void *buf, size_t len, const char *name, tc_image *out);
int tc_image_decode_mem_ex(const void *buf, size_t len, const char *name, const tc_image_decode_opts *opts,
                           tc_image *out);
/* Read and decode a file; max_pixels <= 0 means the default cap. */
int tc_image_load(const char *path, tc_image *out, int64_t max_pixels);
int tc_image_load_ex(const char *path, const tc_image_decode_opts *opts, tc_image *out);

/* The EXIF orientation (1..8) stored in a TIFF/EXIF block (the APP1 payload after "Exif\0\0", or a
 * PNG eXIf chunk); 1 when absent or unreadable. Exposed for tests. */
int tc_image_exif_orientation(const uint8_t *tiff, size_t len);
/* Replace img by its orientation-corrected version (EXIF values 2..8; 1 and others: no-op). */
int tc_image_apply_orientation(tc_image *img, int orientation);

/* ---- encoding (outputs are written atomically: temp file + fsync + rename) ---- */

int tc_image_encode_png(const tc_image *img, uint8_t **buf, size_t *len);              /* malloc'd */
int tc_image_encode_jpeg(const tc_image *img, int quality, uint8_t **buf, size_t *len); /* 4:2:0 */
int tc_image_write_png(const char *path, const tc_image *img);
int tc_image_write_jpeg(const char *path, const tc_image *img, int quality); /* quality 1..100 */

/* ---- geometry ---- */

typedef enum tc_resize_method {
    TC_RESIZE_CV_LINEAR = 0,   /* cv2.resize(..., INTER_LINEAR): no antialias, 11-bit fixed point (v1) */
    TC_RESIZE_PIL_BILINEAR = 1, /* PIL Image.resize(BILINEAR): triangle filter widened when shrinking */
    TC_RESIZE_PIL_BICUBIC = 2,  /* PIL Image.resize(BICUBIC): Keys a=-0.5, widened when shrinking */
    TC_RESIZE_CV_CUBIC = 3,     /* cv2.resize(..., INTER_CUBIC): a=-0.75, 4x4 taps, no antialias; what
                                   MindSpore's c_transforms use for Inter.BICUBIC (v2's RandomResizedCrop) */
} tc_resize_method;

/* Resize src to w×h into dst (allocated here). Same-size input is copied. */
int tc_image_resize(const tc_image *src, int w, int h, tc_resize_method method, tc_image *dst);
/* Only the window [x, x+cw) × [y, y+ch) of that w×h resize (identical to resize then crop, without
 * computing what the crop throws away). */
int tc_image_resize_window(const tc_image *src, int w, int h, int x, int y, int cw, int ch, tc_resize_method method,
                           tc_image *dst);
/* Copy the rectangle [x, x+w) × [y, y+h) (must lie inside src) into dst. */
int tc_image_crop(const tc_image *src, int x, int y, int w, int h, tc_image *dst);
void tc_image_flip_h(tc_image *img); /* in place, left <-> right */

/* ---- preprocessing into model input ---- */

typedef enum tc_prep_mode {
    TC_PREP_CROP = 0,   /* shorter side -> size (aspect kept), then centre crop size×size */
    TC_PREP_SQUASH = 1, /* resize straight to size×size (aspect not kept) */
} tc_prep_mode;

/* How the shorter-side length and the centre-crop offset are rounded; the two libraries differ:
 *   MINDSPORE:   long' = floor((float)long / short * size) in float32, offset = (in - crop) / 2 (floor);
 *                what mindspore.dataset.vision.c_transforms Resize/CenterCrop do (the original, v1 and v2).
 *   TORCHVISION: long' = int(size * long / short) in double, offset = round((in - crop) / 2.0) with
 *                Python's half-to-even; torchvision Resize/CenterCrop (CLIP's own preprocessing). */
typedef enum tc_geom_rule { TC_GEOM_MINDSPORE = 0, TC_GEOM_TORCHVISION = 1 } tc_geom_rule;

typedef struct tc_image_prep {
    int size;                /* output is size×size */
    tc_prep_mode mode;
    tc_resize_method method;
    tc_geom_rule rule;
    double mean[3], std[3];  /* on the 0..1 scale: out = (v - 255*mean) / (255*std), v in 0..255 */
} tc_image_prep;

extern const double TC_IMAGENET_MEAN[3], TC_IMAGENET_STD[3];
extern const double TC_CLIP_MEAN[3], TC_CLIP_STD[3];

/* Presets. v1 (spec §2.1): 448, crop, OpenCV bilinear, MindSpore rounding, ImageNet statistics.
 * v2 (spec A.1, eval): `size` (224/384/480), crop, OpenCV bilinear, MindSpore rounding, CLIP statistics
 * (the released v2 code uses MindSpore's OpenCV-backed c_transforms too).
 * clip: `size`, crop, Pillow bicubic, torchvision rounding, CLIP statistics (CLIP/torchvision style). */
tc_image_prep tc_image_prep_v1(void);
tc_image_prep tc_image_prep_v2(int size);
tc_image_prep tc_image_prep_clip(int size);

/* Longest side a shorter-side resize may produce (preprocessing refuses more: extreme aspect ratios). */
#define TC_IMAGE_MAX_RESIZED_SIDE (1 << 20)

/* Output size of a shorter-side resize to `size` (rule as above). */
void tc_image_shorter_side_size(int w, int h, int size, tc_geom_rule rule, int *ow, int *oh);
/* Centre-crop offset of a crop of `crop` pixels from `in` pixels. */
int tc_image_center_offset(int in, int crop, tc_geom_rule rule);

/* Resize (+ crop) img to cfg->size × cfg->size uint8 (the geometry part of preprocessing). */
int tc_image_prep_geometry(const tc_image *img, const tc_image_prep *cfg, tc_image *out);
/* Normalise an image to float CHW: chw[c][y][x] = (v - 255*mean[c]) / (255*std[c]). */
void tc_image_normalize_chw(const tc_image *img, const double mean[3], const double std[3], float *chw);
/* Geometry + normalisation: chw_out is [3][size][size] float32. */
int tc_image_preprocess(const tc_image *img, const tc_image_prep *cfg, float *chw_out);
/* Load (default decode options) + preprocess. */
int tc_image_preprocess_file(const char *path, const tc_image_prep *cfg, float *chw_out);

/* Cut a CHW float image [3][h][w] into p×p patches: out is [(h/p)*(w/p) + pad_rows][3*p*p], patches in
 * row-major grid order (gy outer), each patch ordered channel, row, column (index c*p*p + py*p + px),
 * which is both v1's layout (spec §2.1) and the flattening of v2's conv weight [768,3,16,16]. The
 * pad_rows trailing rows are zero. h and w must be multiples of p. */
int tc_image_patchify(const float *chw, int h, int w, int p, int pad_rows, float *out);
/* v1: chw [3][448][448] -> out [197][3072] (196 patches of 32×32 + the zero pad row). */
#define TC_IMAGE_V1_SIZE 448
#define TC_IMAGE_V1_PATCH 32
#define TC_IMAGE_V1_ROWS 197
#define TC_IMAGE_V1_COLS 3072
void tc_image_patchify_v1(const float *chw, float *out);
/* Normalise + patchify in one pass from a uint8 image (what the data loader wants: no CHW temporary).
 * Same values and layout as tc_image_normalize_chw followed by tc_image_patchify. */
int tc_image_to_patches(const tc_image *img, const double mean[3], const double std[3], int p, int pad_rows,
                        float *out);
/* Decode-to-model-input convenience for v1: load, preprocess (tc_image_prep_v1) and cut into
 * [197][3072] rows. */
int tc_image_load_v1_patches(const char *path, float *out);

/* ---- training augmentation ---- */

typedef struct tc_image_aug {
    int size;                       /* output size×size */
    double scale_min, scale_max;    /* crop area fraction, torchvision default (0.08, 1); v2 0.2–1 / 0.5–1 */
    double ratio_min, ratio_max;    /* aspect w/h range, default (3/4, 4/3), sampled log-uniformly */
    double flip_prob;               /* horizontal flip probability, 0.5 */
    tc_resize_method method;
} tc_image_aug;

tc_image_aug tc_image_aug_default(int size); /* scale (0.08,1), ratio (3/4,4/3), flip 0.5, PIL bicubic */
/* The v2 original's settings (MindSpore c_transforms, i.e. OpenCV kernels): pretraining scale (0.2,1)
 * with INTER_CUBIC; caption fine-tuning (caption = 1) scale (0.5,1) with INTER_LINEAR. */
tc_image_aug tc_image_aug_v2(int size, int caption);

/* torchvision RandomResizedCrop.get_params with tc_rng: 10 tries, then the centre-crop fallback.
 * Writes the crop box x, y, w, h. */
void tc_image_rrc_params(int w, int h, double scale_min, double scale_max, double ratio_min, double ratio_max,
                         tc_rng *rng, int *bx, int *by, int *bw, int *bh);
/* Random resized crop + horizontal flip into out (size×size). Consumes rng draws in a fixed order:
 * crop box first, then one uniform for the flip. */
int tc_image_augment(const tc_image *img, const tc_image_aug *cfg, tc_rng *rng, tc_image *out);

#endif
