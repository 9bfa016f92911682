/* Scene sampling and rendering for `taichu synth` (see synth_scene.h). */
/* Same pixels and codes from every build: without this, gcc contracts a*b+c into FMAs in optimised
 * builds only, and a Debug (sanitizer) build would write images that differ in a few pixel values. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "data/synth_scene.h"

#include <math.h>
#include <string.h>

const char *const tc_synth_shape_names[TC_SYNTH_NSHAPES] = {"圆形", "正方形", "三角形", "星形", "菱形", "十字形"};
const char *const tc_synth_colour_names[TC_SYNTH_NCOLOURS] = {"红", "橙", "黄", "绿", "青", "蓝", "紫"};
const char *const tc_synth_size_names[2] = {"小", "大"};
const char *const tc_synth_pos_names[TC_SYNTH_NPOS] = {"左边", "右边", "上面", "下面", "中间"};
/* Saturated and far apart in hue, so a colour survives the background noise and JPEG chroma loss. */
const uint8_t tc_synth_colour_rgb[TC_SYNTH_NCOLOURS][3] = {
    {220, 30, 30}, {245, 135, 20}, {240, 220, 30}, {40, 175, 50}, {30, 200, 210}, {40, 70, 225}, {150, 50, 205},
};

/* Slot centres (fractions of the side). Two big objects in neighbouring slots (0.31 apart) at most
 * touch at their outlines; star tips of a big object in an edge slot may reach the border. */
static const float slot_xy[TC_SYNTH_NPOS][2] = {{0.19f, 0.5f}, {0.81f, 0.5f}, {0.5f, 0.19f}, {0.5f, 0.81f}, {0.5f, 0.5f}};

static float uni(tc_rng *r, float lo, float hi) { return lo + (hi - lo) * tc_rng_uniform(r); }

static uint8_t clamp_u8(float v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f); }

static void muted_colour(tc_rng *r, uint8_t out[3]) {
    float g = uni(r, 60, 200);
    for (int c = 0; c < 3; c++) out[c] = clamp_u8(g + uni(r, -25, 25));
}

void tc_synth_scene_sample(tc_synth_scene *s, tc_rng *r) {
    memset(s, 0, sizeof *s);
    float u = tc_rng_uniform(r);
    s->nobj = u < 0.2f ? 1 : u < 0.6f ? 2 : 3;
    int slots[TC_SYNTH_NPOS] = {0, 1, 2, 3, 4};
    tc_rng_shuffle_int(r, slots, TC_SYNTH_NPOS);
    for (int i = 0; i < s->nobj; i++) {
        tc_synth_object *o = &s->obj[i];
        for (;;) { /* (colour, shape) is unique within a scene */
            o->shape = (int)tc_rng_below(r, TC_SYNTH_NSHAPES);
            o->colour = (int)tc_rng_below(r, TC_SYNTH_NCOLOURS);
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= s->obj[j].shape == o->shape && s->obj[j].colour == o->colour;
            if (!dup) break;
        }
        o->size = (int)tc_rng_below(r, 2);
        o->pos = slots[i];
        /* As large as the slots allow: shape is what a small model learns last. A 4-conv CNN probe at
         * 64 px, 3 epochs over 5000 images: shape 71 % with radii 0.135-0.155 / 0.085-0.10, 83 % with
         * these (colour 98 %, size 99 %) — docs/synth.md */
        o->r = o->size == TC_SYNTH_BIG ? uni(r, 0.15f, 0.165f) : uni(r, 0.095f, 0.11f);
        o->cx = slot_xy[o->pos][0] + uni(r, -0.01f, 0.01f);
        o->cy = slot_xy[o->pos][1] + uni(r, -0.01f, 0.01f);
        for (int c = 0; c < 3; c++) o->rgb[c] = clamp_u8(tc_synth_colour_rgb[o->colour][c] + uni(r, -12, 12));
    }
    s->bg_kind = (int)tc_rng_below(r, 4);
    muted_colour(r, s->bg_a);
    muted_colour(r, s->bg_b);
    s->bg_angle = uni(r, 0, 6.2831853f);
    s->bg_period = uni(r, 0.08f, 0.25f);
    s->noise = uni(r, 4, 14);
    s->noise_seed = tc_rng_next(r);
}

/* ---- geometry: every non-circle shape is a polygon in object-local units (radius 1, y down) ---- */

enum { MAXV = 12 };

static int shape_polygon(int shape, float vx[MAXV], float vy[MAXV]) {
    const float pi = 3.14159265f;
    switch (shape) {
    case 1: { /* square */
        const float h = 0.82f;
        vx[0] = -h; vy[0] = -h; vx[1] = h; vy[1] = -h; vx[2] = h; vy[2] = h; vx[3] = -h; vy[3] = h;
        return 4;
    }
    case 2: { /* triangle pointing up, its bounding box centred */
        const float R = 1.15f;
        for (int i = 0; i < 3; i++) {
            float a = -pi / 2 + (float)i * 2 * pi / 3;
            vx[i] = R * cosf(a);
            vy[i] = R * sinf(a) + R / 4;
        }
        return 3;
    }
    case 3: /* five-pointed star */
        for (int i = 0; i < 10; i++) {
            float a = -pi / 2 + (float)i * pi / 5, rr = (i & 1) ? 0.5f : 1.15f;
            vx[i] = rr * cosf(a);
            vy[i] = rr * sinf(a);
        }
        return 10;
    case 4: /* diamond */
        vx[0] = 0; vy[0] = -1.05f; vx[1] = 1.05f; vy[1] = 0; vx[2] = 0; vy[2] = 1.05f; vx[3] = -1.05f; vy[3] = 0;
        return 4;
    case 5: { /* plus-shaped cross */
        const float w = 0.36f, e = 1.0f;
        const float px[12] = {-w, w, w, e, e, w, w, -w, -w, -e, -e, -w};
        const float py[12] = {-e, -e, -w, -w, w, w, e, e, w, w, -w, -w};
        memcpy(vx, px, sizeof px);
        memcpy(vy, py, sizeof py);
        return 12;
    }
    default: return 0; /* circle */
    }
}

/* Exact signed distance to a simple polygon (negative inside), by the even-odd crossing rule. */
static float poly_sdf(const float *vx, const float *vy, int n, float px, float py) {
    float d = (px - vx[0]) * (px - vx[0]) + (py - vy[0]) * (py - vy[0]);
    float sgn = 1;
    for (int i = 0, j = n - 1; i < n; j = i, i++) {
        float ex = vx[j] - vx[i], ey = vy[j] - vy[i];
        float wx = px - vx[i], wy = py - vy[i];
        float t = (wx * ex + wy * ey) / (ex * ex + ey * ey);
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        float bx = wx - ex * t, by = wy - ey * t;
        float dd = bx * bx + by * by;
        if (dd < d) d = dd;
        int c1 = py >= vy[i], c2 = py < vy[j], c3 = ex * wy > ey * wx;
        if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sgn = -sgn;
    }
    return sgn * sqrtf(d);
}

float tc_synth_object_sdf(const tc_synth_object *o, float x, float y) {
    float lx = (x - o->cx) / o->r, ly = (y - o->cy) / o->r;
    float vx[MAXV], vy[MAXV];
    int n = shape_polygon(o->shape, vx, vy);
    float d = n ? poly_sdf(vx, vy, n, lx, ly) : sqrtf(lx * lx + ly * ly) - 1.0f;
    return d * o->r;
}

int tc_synth_count_shape(const tc_synth_scene *s, int shape) {
    int k = 0;
    for (int i = 0; i < s->nobj; i++) k += s->obj[i].shape == shape;
    return k;
}

static float background_t(const tc_synth_scene *s, float x, float y) {
    float dx = cosf(s->bg_angle), dy = sinf(s->bg_angle);
    float proj = (x - 0.5f) * dx + (y - 0.5f) * dy;
    switch (s->bg_kind) {
    case 0: return 0.5f + proj;
    case 1: return 1.4f * sqrtf((x - 0.5f) * (x - 0.5f) + (y - 0.5f) * (y - 0.5f));
    case 2: return 0.5f + 0.5f * sinf(6.2831853f * proj / s->bg_period);
    default: return (float)(((int)floorf(x / s->bg_period) + (int)floorf(y / s->bg_period)) & 1);
    }
}

void tc_synth_background_rgb(const tc_synth_scene *s, float x, float y, float rgb[3]) {
    float t = background_t(s, x, y);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    for (int c = 0; c < 3; c++) rgb[c] = (1 - t) * s->bg_a[c] + t * s->bg_b[c];
}

void tc_synth_render(const tc_synth_scene *s, int size, uint8_t *rgb) {
    float fs = (float)size, inv = 1.0f / fs;
    /* background: [size, size, 3] float blended colour */
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float bg[3];
            tc_synth_background_rgb(s, ((float)x + 0.5f) * inv, ((float)y + 0.5f) * inv, bg);
            uint8_t *p = rgb + ((size_t)y * size + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = clamp_u8(bg[c]);
        }
    /* objects, big ones first so a small one is never hidden behind a big neighbour */
    int order[TC_SYNTH_MAX_OBJ], k = 0;
    for (int pass = TC_SYNTH_BIG; pass >= TC_SYNTH_SMALL; pass--)
        for (int i = 0; i < s->nobj; i++)
            if (s->obj[i].size == pass) order[k++] = i;
    for (int oi = 0; oi < s->nobj; oi++) {
        const tc_synth_object *o = &s->obj[order[oi]];
        float vx[MAXV], vy[MAXV];
        int n = shape_polygon(o->shape, vx, vy);
        float ext = o->r * 1.25f + 2 * inv;
        int x0 = (int)floorf((o->cx - ext) * fs), x1 = (int)ceilf((o->cx + ext) * fs);
        int y0 = (int)floorf((o->cy - ext) * fs), y1 = (int)ceilf((o->cy + ext) * fs);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > size) x1 = size;
        if (y1 > size) y1 = size;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                float lx = (((float)x + 0.5f) * inv - o->cx) / o->r, ly = (((float)y + 0.5f) * inv - o->cy) / o->r;
                float d = n ? poly_sdf(vx, vy, n, lx, ly) : sqrtf(lx * lx + ly * ly) - 1.0f;
                /* coverage of a one-pixel box filter across the edge */
                float cov = 0.5f - d * o->r * fs;
                if (cov <= 0) continue;
                if (cov > 1) cov = 1;
                uint8_t *p = rgb + ((size_t)y * size + x) * 3;
                for (int c = 0; c < 3; c++) p[c] = clamp_u8((1 - cov) * p[c] + cov * o->rgb[c]);
            }
    }
    /* sensor-like noise, a pure function of (noise_seed, pixel) */
    for (size_t i = 0; i < (size_t)size * size * 3; i++) {
        float u = tc_rng_hash_uniform(s->noise_seed, 0, i);
        rgb[i] = clamp_u8((float)rgb[i] + (2 * u - 1) * s->noise);
    }
}
