/* Discrete image tokens of `taichu synth` for the image-reconstruction (ID) task: a deterministic
 * grid × grid code map from a fixed quantisation of each cell of the scene, standing in for the
 * original's VQ-VAE codes (spec §4.1: stored as `<img_token_path>/<id>.npz`, key "feat", integer codes,
 * flattened row-major).
 *
 * Code of a cell (sampled at 4×4 points of the noise-free scene):
 *   - the object covering most sample points, if it covers at least 4 of 16:
 *       TC_SYNTH_VQ_NBG + shape * TC_SYNTH_NCOLOURS + colour   (4..45)
 *   - otherwise the background's luminance quartile at the cell centre: 0..3.
 * Where objects overlap, the one drawn on top (small over big) owns the sample point. */
#ifndef TC_DATA_SYNTH_VQ_H
#define TC_DATA_SYNTH_VQ_H

#include <stdint.h>

#include "data/synth_scene.h"

enum { TC_SYNTH_VQ_NBG = 4, TC_SYNTH_VQ_NCODES = TC_SYNTH_VQ_NBG + TC_SYNTH_NSHAPES * TC_SYNTH_NCOLOURS,
       TC_SYNTH_VQ_GRID = 8 };

/* codes: [grid * grid], row-major (row = y). */
void tc_synth_vq_codes(const tc_synth_scene *s, int grid, int64_t *codes);

#endif
