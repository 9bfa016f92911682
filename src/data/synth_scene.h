/* Scenes of the built-in dataset (`taichu synth`): 1–3 flat objects on a noisy background.
 *
 * A scene is a small description (shape, colour, size, position of each object + background
 * parameters) drawn from a seeded generator; everything else (pixels, captions, questions, VQ codes)
 * is a pure function of it, so tests can re-derive what an image must show. Objects never share a
 * position slot and never share (colour, shape), so every caption and question is unambiguous. */
#ifndef TC_DATA_SYNTH_SCENE_H
#define TC_DATA_SYNTH_SCENE_H

#include <stdint.h>

#include "core/rng.h"

enum { TC_SYNTH_NSHAPES = 6, TC_SYNTH_NCOLOURS = 7, TC_SYNTH_NPOS = 5, TC_SYNTH_MAX_OBJ = 3 };
enum { TC_SYNTH_SMALL = 0, TC_SYNTH_BIG = 1 };
/* Positions, in the order of tc_synth_pos_names: left, right, top, bottom, centre. */
enum { TC_SYNTH_LEFT, TC_SYNTH_RIGHT, TC_SYNTH_TOP, TC_SYNTH_BOTTOM, TC_SYNTH_CENTRE };

/* Chinese names (UTF-8). Shapes: 圆形 正方形 三角形 星形 菱形 十字形; colours (one character, used
 * as "<c>色"): 红 橙 黄 绿 青 蓝 紫; sizes: 小 大; positions: 左边 右边 上面 下面 中间. */
extern const char *const tc_synth_shape_names[TC_SYNTH_NSHAPES];
extern const char *const tc_synth_colour_names[TC_SYNTH_NCOLOURS];
extern const char *const tc_synth_size_names[2];
extern const char *const tc_synth_pos_names[TC_SYNTH_NPOS];
/* Nominal sRGB of each colour (objects get a small per-object jitter around it). */
extern const uint8_t tc_synth_colour_rgb[TC_SYNTH_NCOLOURS][3];

typedef struct tc_synth_object {
    int shape, colour, size, pos;
    float cx, cy;    /* centre, fraction of the image side (position slot + jitter) */
    float r;         /* radius, fraction of the image side */
    uint8_t rgb[3];  /* actual fill colour */
} tc_synth_object;

typedef struct tc_synth_scene {
    int nobj;
    tc_synth_object obj[TC_SYNTH_MAX_OBJ];
    int bg_kind;          /* 0 linear gradient, 1 radial gradient, 2 stripes, 3 checker */
    uint8_t bg_a[3], bg_b[3]; /* two muted (low-saturation) background colours */
    float bg_angle;       /* gradient / stripe direction, radians */
    float bg_period;      /* stripe / checker period, fraction of the side */
    float noise;          /* per-pixel noise amplitude, 0..255 units */
    uint64_t noise_seed;
} tc_synth_scene;

/* Draw a scene from r (consumes a variable number of draws). */
void tc_synth_scene_sample(tc_synth_scene *s, tc_rng *r);

/* Render into rgb [size, size, 3] (HWC, uint8). Edges are anti-aliased from signed distances. */
void tc_synth_render(const tc_synth_scene *s, int size, uint8_t *rgb);

/* Signed distance (in units of the image side; < 0 inside) from point (x, y) to object o. */
float tc_synth_object_sdf(const tc_synth_object *o, float x, float y);

/* Noise-free background colour at (x, y) (fractions of the side), 0..255 per channel. */
void tc_synth_background_rgb(const tc_synth_scene *s, float x, float y, float rgb[3]);

/* Number of objects of a given shape. */
int tc_synth_count_shape(const tc_synth_scene *s, int shape);

#endif
