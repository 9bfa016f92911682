/* `taichu synth`: the built-in tri-modal dataset (images, Chinese captions, Mandarin speech, VQA,
 * VQ image tokens) written in the original OPT v2 layout (spec §6.2) plus v1-style id lists (§6.1).
 * docs/synth.md describes the scenes, grammar and files; the generated DIR/README.txt repeats the layout.
 *
 * Everything about image i is a pure function of (seed, i): its scene, pixels, captions, questions,
 * codes and split, so the output is byte-identical for a seed whatever the thread count. */
#ifndef TC_DATA_SYNTH_H
#define TC_DATA_SYNTH_H

#include <stdint.h>

#include "data/synth_scene.h"
#include "data/synth_text.h"

enum { TC_SYNTH_SPLIT_TRAIN = 0, TC_SYNTH_SPLIT_VAL = 1, TC_SYNTH_SPLIT_TEST = 2 };
enum { TC_SYNTH_MAX_IMAGES = 999999 }; /* image ids have 6 digits (caption GT keys, spec §5.2) */

typedef struct tc_synth_opts {
    const char *out;   /* output folder (created) */
    int images;        /* >= 3 */
    int size;          /* image side in pixels, 16..1024 */
    uint64_t seed;
    int audio;         /* speak captions with espeak-ng */
    int speak_all;     /* all five captions instead of the first */
    int v1_txt;        /* also write the v1 text db (one JSON per image-caption id) */
    int jpeg_quality;  /* 1..100 (0: 95) */
} tc_synth_opts;

typedef struct tc_synth_stats {
    int n_train, n_val, n_test;
    int n_questions;
    int n_audio;
    int vocab_size;
    double seconds_images, seconds_text, seconds_audio;
} tc_synth_stats;

/* Split sizes for n images: test min(1000, max(1, n/10)), val min(1000, max(1, n/20)), rest train. */
void tc_synth_split_sizes(int n, int *n_train, int *n_val, int *n_test);
/* split[n]: the split of every image (a seeded permutation assigns test first, then val). */
void tc_synth_assign_splits(uint64_t seed, int n, uint8_t *split);
/* The scene and texts of image i (what the generator writes). */
void tc_synth_image_spec(uint64_t seed, int i, tc_synth_scene *scene, tc_synth_text *text);

int tc_synth_generate(const tc_synth_opts *opts, tc_synth_stats *stats);

#endif
