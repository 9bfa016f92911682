/* Resizing, bit-compatible with the two libraries the original pipelines used:
 *
 *  - OpenCV 4.x cv2.resize(INTER_LINEAR) on uint8 (MindSpore's c_transforms Resize calls it): source
 *    coordinate (d+0.5)*scale-0.5 in float, 11-bit weights (lrint(w*2048)), horizontal pass into int
 *    rows, vertical pass ((b0*(r0>>4))>>16) + ((b1*(r1>>4))>>16) + 2 >> 2. No antialiasing: when
 *    shrinking, only the 2×2 nearest source pixels count. An exact 2× reduction in both axes is
 *    computed by OpenCV as INTER_AREA (2×2 mean, (sum+2)>>2), and so here.
 *  - OpenCV cv2.resize(INTER_CUBIC) on uint8 (MindSpore's Inter.BICUBIC): A = -0.75, 4 taps per axis,
 *    replicated borders, integer horizontal pass, and a vertical pass that OpenCV computes partly in float
 *    (its SIMD body) and partly in integers (the row tail); both are reproduced per position.
 *  - Pillow 9.x Image.resize(BILINEAR|BICUBIC) (Resample.c): a separable convolution whose support is
 *    widened by the reduction factor (antialiasing), weights normalised in double then rounded to 22-bit
 *    fixed point, horizontal pass first into uint8 (rounded, clipped), then the vertical pass.
 * The arithmetic below follows the same formulas in the same types, so outputs are identical. */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image.h"

/* No FMA contraction in this file: the references (OpenCV, Pillow built for baseline x86-64) round every
 * multiply and add separately, and a fused a*b+c can move a coordinate or weight by one ulp, which can
 * flip a rounded fixed-point weight. gnu11 + -mfma would otherwise contract. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ------------------------------------------------------------------------------------------------ */
/* OpenCV INTER_LINEAR                                                                              */

#define CV_COEF_BITS 11
#define CV_COEF_SCALE (1 << CV_COEF_BITS)

static short cv_round_short(float v) {
    long r = lrintf(v); /* cvRound: round half to even under the default rounding mode */
    return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

/* Horizontal table: for each output column, the left source column and two weights. Columns from
 * *xmax on read one source pixel with weight 2048 (OpenCV's border loop). */
static void cv_tab_x(int ssize, int dsize, int *ofs, short *alpha, int *xmax) {
    double inv = (double)dsize / ssize, scale = 1.0 / inv; /* as cv::resize derives it */
    *xmax = dsize;
    for (int d = 0; d < dsize; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (s < 0) { f = 0; s = 0; }
        if (s + 1 >= ssize) {
            if (*xmax > d) *xmax = d;
            f = 0;
            s = ssize - 1;
        }
        ofs[d] = s;
        alpha[2 * d] = cv_round_short((1.f - f) * CV_COEF_SCALE);
        alpha[2 * d + 1] = cv_round_short(f * CV_COEF_SCALE);
    }
}

/* Vertical table: OpenCV does not clamp here; rows are clamped when fetched. */
static void cv_tab_y(int ssize, int dsize, int *ofs, short *beta) {
    double inv = (double)dsize / ssize, scale = 1.0 / inv;
    for (int d = 0; d < dsize; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        ofs[d] = s;
        beta[2 * d] = cv_round_short((1.f - f) * CV_COEF_SCALE);
        beta[2 * d + 1] = cv_round_short(f * CV_COEF_SCALE);
    }
}

/* Output columns [x0, x1) of one horizontally resized row (3 ints per column, indexed from x0).
 * dst must have one int of slack after column x1-1 (the SIMD step stores 4 ints per pixel). */
static void cv_hresize(const uint8_t *src, int sw, int *dst, int x0, int x1, const int *ofs, const short *alpha,
                       int xmax) {
    /* [p0.r p1.r p0.g p1.g p0.b p1.b] as 16-bit lanes from the 6 bytes at p0, then one madd with
     * (a0, a1) pairs gives the three sums exactly as the scalar code computes them. */
    const __m128i shuf = _mm_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1);
    const int safe = sw - 2; /* an 8-byte load at pixel ofs stays inside the row while ofs <= sw - 3 */
    int d = x0;
    for (; d < x1 && d < xmax; d++, dst += 3) {
        const uint8_t *s = src + ofs[d] * 3;
        const int a0 = alpha[2 * d], a1 = alpha[2 * d + 1];
        if (ofs[d] < safe) {
            __m128i px = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)s), shuf);
            __m128i w = _mm_set1_epi32((int)((uint32_t)(uint16_t)a0 | (uint32_t)(uint16_t)a1 << 16));
            _mm_storeu_si128((__m128i *)dst, _mm_madd_epi16(px, w));
        } else {
            dst[0] = s[0] * a0 + s[3] * a1;
            dst[1] = s[1] * a0 + s[4] * a1;
            dst[2] = s[2] * a0 + s[5] * a1;
        }
    }
    for (; d < x1; d++, dst += 3) {
        const uint8_t *s = src + ofs[d] * 3;
        dst[0] = s[0] * CV_COEF_SCALE;
        dst[1] = s[1] * CV_COEF_SCALE;
        dst[2] = s[2] * CV_COEF_SCALE;
    }
}

/* o[i] = sat_u8((((b0*(r0[i]>>4))>>16) + ((b1*(r1[i]>>4))>>16) + 2) >> 2), OpenCV's VResizeLinear for
 * uint8 (its SIMD path packs with saturation). AVX2: 8 lanes of the same int32 arithmetic. */
static void cv_vresize(const int *r0, const int *r1, uint8_t *o, int n, int b0, int b1) {
    int i = 0;
    const __m256i vb0 = _mm256_set1_epi32(b0), vb1 = _mm256_set1_epi32(b1), two = _mm256_set1_epi32(2);
    for (; i + 16 <= n; i += 16) {
        __m256i v[2];
        for (int h = 0; h < 2; h++) {
            __m256i a = _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(r0 + i + 8 * h)), 4);
            __m256i b = _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(r1 + i + 8 * h)), 4);
            a = _mm256_srai_epi32(_mm256_mullo_epi32(a, vb0), 16);
            b = _mm256_srai_epi32(_mm256_mullo_epi32(b, vb1), 16);
            v[h] = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(a, b), two), 2);
        }
        __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v[0], v[1]), 0xD8);
        __m128i u8 = _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
        _mm_storeu_si128((__m128i *)(o + i), u8);
    }
    for (; i < n; i++) {
        int v = (((b0 * (r0[i] >> 4)) >> 16) + ((b1 * (r1[i] >> 4)) >> 16) + 2) >> 2;
        o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Exact 2x reduction: OpenCV's INTER_AREA fast path, (sum of 2x2 + 2) >> 2. */
static void cv_area2(const tc_image *src, tc_image *dst, int ox, int oy) {
    const size_t ss = (size_t)src->w * 3;
    for (int y = 0; y < dst->h; y++) {
        const uint8_t *r0 = src->rgb + (size_t)(2 * (y + oy)) * ss + (size_t)6 * ox, *r1 = r0 + ss;
        uint8_t *o = dst->rgb + (size_t)y * dst->w * 3;
        for (int x = 0; x < dst->w; x++)
            for (int c = 0; c < 3; c++) {
                int i = 6 * x + c;
                o[3 * x + c] = (uint8_t)((r0[i] + r0[i + 3] + r1[i] + r1[i + 3] + 2) >> 2);
            }
    }
}

/* The window [ox, ox+dst->w) x [oy, oy+dst->h) of the dw x dh resize of src. Every output pixel depends
 * only on its own coordinates, so the window equals resize-then-crop exactly. */
static int cv_linear(const tc_image *src, int dw, int dh, int ox, int oy, tc_image *dst) {
    const int sw = src->w, sh = src->h, ow = dst->w, oh = dst->h;
    if (sw == 2 * dw && sh == 2 * dh) { cv_area2(src, dst, ox, oy); return 0; }
    int *xofs = malloc(sizeof(int) * dw), *yofs = malloc(sizeof(int) * dh);
    short *alpha = malloc(sizeof(short) * 2 * dw), *beta = malloc(sizeof(short) * 2 * dh);
    const size_t rstride = 3 * (size_t)ow + 1; /* one int of slack per row for cv_hresize's 4-int stores */
    int *rows = malloc(sizeof(int) * 2 * rstride); /* [2][rstride] horizontally resized rows */
    if (!xofs || !yofs || !alpha || !beta || !rows) {
        free(xofs); free(yofs); free(alpha); free(beta); free(rows);
        return tc_error_set("image resize: out of memory");
    }
    int xmax;
    cv_tab_x(sw, dw, xofs, alpha, &xmax);
    cv_tab_y(sh, dh, yofs, beta);
    int have[2] = {-1, -1}; /* source row held in rows[0], rows[1] */
    for (int d = oy; d < oy + oh; d++) {
        int sy[2] = {clampi(yofs[d], 0, sh - 1), clampi(yofs[d] + 1, 0, sh - 1)};
        int *r[2];
        for (int k = 0; k < 2; k++) {
            r[k] = rows + (size_t)k * rstride;
            if (have[k] == sy[k]) continue;
            if (k == 0 && have[1] == sy[0]) { /* slide: the previous lower row is this upper row */
                memcpy(r[0], rows + rstride, sizeof(int) * 3 * (size_t)ow);
            } else {
                cv_hresize(src->rgb + (size_t)sy[k] * sw * 3, sw, r[k], ox, ox + ow, xofs, alpha, xmax);
            }
            have[k] = sy[k];
        }
        cv_vresize(r[0], r[1], dst->rgb + (size_t)(d - oy) * ow * 3, 3 * ow, beta[2 * d], beta[2 * d + 1]);
    }
    free(xofs); free(yofs); free(alpha); free(beta); free(rows);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* OpenCV INTER_CUBIC                                                                               */

/* OpenCV's interpolateCubic (A = -0.75), in float as there. */
static void cv_cubic_coeffs(float x, float *c) {
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* Tables for one axis: ofs[d] = floor of the source coordinate, 4 weights per output index; no clamping
 * (borders replicate when pixels are fetched). */
static void cv_cubic_tab(int ssize, int dsize, int *ofs, short *coef) {
    double inv = (double)dsize / ssize, scale = 1.0 / inv;
    for (int d = 0; d < dsize; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        float c[4];
        cv_cubic_coeffs(f, c);
        ofs[d] = s;
        for (int k = 0; k < 4; k++) coef[4 * d + k] = cv_round_short(c[k] * CV_COEF_SCALE);
    }
}

/* HResizeCubic: taps at columns s-1..s+2, replicated at the borders. */
static void cv_hcubic(const uint8_t *src, int sw, int *dst, int x0, int x1, const int *ofs, const short *a) {
    for (int d = x0; d < x1; d++, dst += 3) {
        const short *w = a + 4 * d;
        int v0 = 0, v1 = 0, v2 = 0;
        for (int j = 0; j < 4; j++) {
            const uint8_t *p = src + clampi(ofs[d] - 1 + j, 0, sw - 1) * 3;
            v0 += p[0] * w[j];
            v1 += p[1] * w[j];
            v2 += p[2] * w[j];
        }
        dst[0] = v0; dst[1] = v1; dst[2] = v2;
    }
}

/* VResizeCubic for uint8. OpenCV (baseline SSE build) runs its SIMD loop over the first n - n % 8 values
 * of a row in float (weights scaled by 2^-22, s0*b0 + (s1*b1 + (s2*b2 + s3*b3)), unfused, rounded half
 * to even, saturated) and the remaining tail in integers ((sum + 2^21) >> 22, saturated). Both are
 * reproduced, per position, so every byte matches. */
static void cv_vcubic(int *const r[4], uint8_t *o, int n, const short *b) {
    const float scale = 1.f / (CV_COEF_SCALE * CV_COEF_SCALE);
    const float f0 = b[0] * scale, f1 = b[1] * scale, f2 = b[2] * scale, f3 = b[3] * scale;
    const int body = n - n % 8;
    for (int i = 0; i < body; i++) {
        float t = (float)r[3][i] * f3;
        t = (float)r[2][i] * f2 + t;
        t = (float)r[1][i] * f1 + t;
        t = (float)r[0][i] * f0 + t;
        long v = lrintf(t);
        o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    for (int i = body; i < n; i++) {
        int v = (r[0][i] * b[0] + r[1][i] * b[1] + r[2][i] * b[2] + r[3][i] * b[3] + (1 << 21)) >> 22;
        o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* Note: the float body/tail split is by position in the *full* output row, so a window must keep it:
 * the vertical pass runs over whole rows of the full width even when only a window is wanted. */
static int cv_cubic(const tc_image *src, int dw, int dh, int ox, int oy, tc_image *dst) {
    const int sw = src->w, sh = src->h, ow = dst->w, oh = dst->h;
    int *xofs = malloc(sizeof(int) * dw), *yofs = malloc(sizeof(int) * dh);
    short *alpha = malloc(sizeof(short) * 4 * dw), *beta = malloc(sizeof(short) * 4 * dh);
    int *rows = malloc(sizeof(int) * 4 * 3 * (size_t)dw); /* [4][dw*3] horizontally resized rows */
    uint8_t *line = malloc((size_t)dw * 3);
    if (!xofs || !yofs || !alpha || !beta || !rows || !line) {
        free(xofs); free(yofs); free(alpha); free(beta); free(rows); free(line);
        return tc_error_set("image resize: out of memory");
    }
    cv_cubic_tab(sw, dw, xofs, alpha);
    cv_cubic_tab(sh, dh, yofs, beta);
    int have[4] = {-1, -1, -1, -1};
    for (int d = oy; d < oy + oh; d++) {
        int *r[4];
        for (int k = 0; k < 4; k++) {
            const int sy = clampi(yofs[d] - 1 + k, 0, sh - 1);
            r[k] = rows + (size_t)k * 3 * dw;
            if (have[k] == sy) continue;
            int found = -1;
            for (int q = k + 1; q < 4; q++)
                if (have[q] == sy) { found = q; break; }
            if (found >= 0) memcpy(r[k], rows + (size_t)found * 3 * dw, sizeof(int) * 3 * (size_t)dw);
            else cv_hcubic(src->rgb + (size_t)sy * sw * 3, sw, r[k], 0, dw, xofs, alpha);
            have[k] = sy;
        }
        cv_vcubic(r, line, 3 * dw, beta + 4 * d);
        memcpy(dst->rgb + (size_t)(d - oy) * ow * 3, line + (size_t)ox * 3, (size_t)ow * 3);
    }
    free(xofs); free(yofs); free(alpha); free(beta); free(rows); free(line);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Pillow BILINEAR / BICUBIC                                                                        */

#define PIL_PRECISION_BITS (32 - 8 - 2)

static double pil_bilinear(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

static double pil_bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

typedef struct pil_tab {
    int ksize;
    int *bounds; /* [out][2]: first source index, tap count */
    int32_t *k;  /* [out][ksize] fixed-point weights */
} pil_tab;

static void pil_tab_free(pil_tab *t) { free(t->bounds); free(t->k); }

static int pil_precompute(int in_size, int out_size, int bicubic, pil_tab *t) {
    double (*filter)(double) = bicubic ? pil_bicubic : pil_bilinear;
    const float in0 = 0.f, in1 = (float)in_size; /* Pillow's default box */
    double scale = (double)(in1 - in0) / out_size, filterscale = scale;
    if (filterscale < 1.0) filterscale = 1.0;
    double support = (bicubic ? 2.0 : 1.0) * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    t->ksize = ksize;
    t->bounds = malloc(sizeof(int) * 2 * (size_t)out_size);
    t->k = malloc(sizeof(int32_t) * (size_t)out_size * ksize);
    double *kk = malloc(sizeof(double) * (size_t)ksize);
    if (!t->bounds || !t->k || !kk) {
        free(kk);
        pil_tab_free(t);
        return tc_error_set("image resize: out of memory");
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5), x;
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (x = 0; x < xmax; x++) {
            double w = filter((x + xmin - center + 0.5) * ss);
            kk[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) kk[x] /= ww;
        for (; x < ksize; x++) kk[x] = 0;
        int32_t *k = t->k + (size_t)xx * ksize;
        for (x = 0; x < ksize; x++)
            k[x] = kk[x] < 0 ? (int32_t)(-0.5 + kk[x] * (1 << PIL_PRECISION_BITS))
                             : (int32_t)(0.5 + kk[x] * (1 << PIL_PRECISION_BITS));
        t->bounds[2 * xx] = xmin;
        t->bounds[2 * xx + 1] = xmax;
    }
    free(kk);
    return 0;
}

static inline uint8_t pil_clip8(int32_t in) {
    if (in >= (1 << PIL_PRECISION_BITS << 8)) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> PIL_PRECISION_BITS);
}

/* Rows [y0, y0+nrows) of src, resampled horizontally into dst rows 0..nrows-1; output columns
 * [x0, x0+dw) of the table's full width. */
static void pil_horizontal(const uint8_t *src, int sw, int y0, int nrows, uint8_t *dst, int x0, int dw,
                           const pil_tab *t) {
    for (int y = 0; y < nrows; y++) {
        const uint8_t *in = src + (size_t)(y0 + y) * sw * 3;
        uint8_t *out = dst + (size_t)y * dw * 3;
        for (int j = 0; j < dw; j++) {
            const int xx = x0 + j, xmin = t->bounds[2 * xx], n = t->bounds[2 * xx + 1];
            const int32_t *k = t->k + (size_t)xx * t->ksize;
            const uint8_t *p = in + (size_t)xmin * 3;
            int32_t s0 = 1 << (PIL_PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < n; x++) {
                s0 += p[3 * x] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            out[3 * j] = pil_clip8(s0);
            out[3 * j + 1] = pil_clip8(s1);
            out[3 * j + 2] = pil_clip8(s2);
        }
    }
}

/* Output rows [y0, y0+dh) of the vertical pass. src row r holds source row r + y_first; rows are n bytes
 * apart and n bytes wide. Taps are summed in Pillow's order (the integer sums are then identical); the
 * AVX2 loop does the same int32 arithmetic 8 values at a time. */
static void pil_vertical(const uint8_t *src, size_t stride, size_t n, int y_first, uint8_t *dst, int y0, int dh,
                         const pil_tab *t, int32_t *acc) {
    for (int j = 0; j < dh; j++) {
        const int yy = y0 + j, ymin = t->bounds[2 * yy] - y_first, cnt = t->bounds[2 * yy + 1];
        const int32_t *k = t->k + (size_t)yy * t->ksize;
        for (size_t i = 0; i < n; i++) acc[i] = 1 << (PIL_PRECISION_BITS - 1);
        for (int y = 0; y < cnt; y++) {
            const uint8_t *row = src + (size_t)(ymin + y) * stride;
            const int32_t ky = k[y];
            const __m256i vk = _mm256_set1_epi32(ky);
            size_t i = 0;
            for (; i + 8 <= n; i += 8) {
                __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + i)));
                __m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));
                _mm256_storeu_si256((__m256i *)(acc + i), _mm256_add_epi32(a, _mm256_mullo_epi32(px, vk)));
            }
            for (; i < n; i++) acc[i] += row[i] * ky;
        }
        uint8_t *o = dst + (size_t)j * n;
        for (size_t i = 0; i < n; i++) o[i] = pil_clip8(acc[i]);
    }
}

/* The window [ox, ox+dst->w) x [oy, oy+dst->h) of Pillow's dw x dh resize. */
static int pil_resize(const tc_image *src, int dw, int dh, int ox, int oy, tc_image *dst, int bicubic) {
    const int sw = src->w, sh = src->h, ow = dst->w, oh = dst->h;
    const int need_h = dw != sw, need_v = dh != sh;
    pil_tab tx = {0}, ty = {0};
    if (need_h && pil_precompute(sw, dw, bicubic, &tx)) return -1;
    if (need_v && pil_precompute(sh, dh, bicubic, &ty)) { pil_tab_free(&tx); return -1; }
    int rc = 0;
    int32_t *acc = malloc(sizeof(int32_t) * 3 * (size_t)ow);
    uint8_t *tmp = NULL;
    if (!acc) {
        rc = tc_error_set("image resize: out of memory");
    } else if (need_h && !need_v) {
        pil_horizontal(src->rgb, sw, oy, oh, dst->rgb, ox, ow, &tx);
    } else if (!need_h) {
        /* Vertical only: read the window's columns straight from the source rows. */
        pil_vertical(src->rgb + (size_t)ox * 3, (size_t)sw * 3, (size_t)ow * 3, 0, dst->rgb, oy, oh, &ty, acc);
    } else {
        /* Horizontal pass over just the source rows the vertical pass reads, as Pillow does. */
        const int y_first = ty.bounds[2 * oy];
        const int y_last = ty.bounds[2 * (oy + oh - 1)] + ty.bounds[2 * (oy + oh - 1) + 1];
        tmp = malloc((size_t)(y_last - y_first) * ow * 3); /* [y_last-y_first][ow][3] */
        if (!tmp) {
            rc = tc_error_set("image resize: out of memory");
        } else {
            pil_horizontal(src->rgb, sw, y_first, y_last - y_first, tmp, ox, ow, &tx);
            pil_vertical(tmp, (size_t)ow * 3, (size_t)ow * 3, y_first, dst->rgb, oy, oh, &ty, acc);
        }
    }
    free(tmp);
    free(acc);
    pil_tab_free(&tx);
    pil_tab_free(&ty);
    return rc;
}

/* ------------------------------------------------------------------------------------------------ */

int tc_image_resize_window(const tc_image *src, int w, int h, int x, int y, int cw, int ch, tc_resize_method method,
                           tc_image *dst) {
    dst->w = dst->h = 0;
    dst->rgb = NULL;
    if (!src || !src->rgb || src->w <= 0 || src->h <= 0) return tc_error_set("image resize: empty source image");
    if (w <= 0 || h <= 0) return tc_error_set("image resize: target %dx%d: expected positive size", w, h);
    if (x < 0 || y < 0 || cw <= 0 || ch <= 0 || x > w - cw || y > h - ch)
        return tc_error_set("image resize: window x=%d y=%d w=%d h=%d: expected inside the %dx%d output", x, y, cw, ch,
                            w, h);
    if (method != TC_RESIZE_CV_LINEAR && method != TC_RESIZE_PIL_BILINEAR && method != TC_RESIZE_PIL_BICUBIC &&
        method != TC_RESIZE_CV_CUBIC)
        return tc_error_set("image resize: unknown method %d", (int)method);
    if (tc_image_alloc(dst, cw, ch)) return -1;
    int rc;
    if (w == src->w && h == src->h) {
        for (int r = 0; r < ch; r++)
            memcpy(dst->rgb + (size_t)r * cw * 3, src->rgb + ((size_t)(y + r) * w + x) * 3, (size_t)cw * 3);
        rc = 0;
    } else if (method == TC_RESIZE_CV_LINEAR) {
        rc = cv_linear(src, w, h, x, y, dst);
    } else if (method == TC_RESIZE_CV_CUBIC) {
        rc = cv_cubic(src, w, h, x, y, dst);
    } else {
        rc = pil_resize(src, w, h, x, y, dst, method == TC_RESIZE_PIL_BICUBIC);
    }
    if (rc) tc_image_free(dst);
    return rc;
}

int tc_image_resize(const tc_image *src, int w, int h, tc_resize_method method, tc_image *dst) {
    return tc_image_resize_window(src, w, h, 0, 0, w, h, method, dst);
}
