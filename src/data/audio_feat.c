/* The original's precomputed audio features (spec §2.2; AudioData in the original's data_three.py). */
#include "core/error.h"
#include "data/audio.h"
#include "io/npy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Remove every occurrence of `what` from s in place. */
static void remove_all(char *s, const char *what) {
    size_t n = strlen(what);
    char *p;
    while ((p = strstr(s, what)) != NULL) memmove(p, p + n, strlen(p + n) + 1);
}

char *tc_audio_feat_path(const char *audio_dir, const char *id) {
    size_t n = strlen(audio_dir) + strlen(id) + 6;
    char *p = tc_xmalloc(n);
    if (audio_dir[0]) snprintf(p, n, "%s%s%s.npz", audio_dir, audio_dir[strlen(audio_dir) - 1] == '/' ? "" : "/", id);
    else snprintf(p, n, "%s.npz", id);
    /* The original's special case for cc3m (features stored without the split folder). */
    if (strstr(p, "cc3m")) {
        remove_all(p, "/training");
        remove_all(p, "/validation");
    }
    return p;
}

int tc_audio_feat_load(const char *path, int dim, int max_frames, float **feat, int *n_frames) {
    *feat = NULL;
    *n_frames = 0;
    if (dim <= 0 || max_frames < 0) return tc_error_set("%s: audio features: invalid dim %d / max_frames %d", path, dim, max_frames);
    tc_npy a;
    if (tc_npz_read_f32(path, "feat", &a) != 0) return -1;
    if (a.ndim != 2 || (a.shape[1] != dim && a.shape[0] != dim)) {
        char shape[96] = "";
        size_t used = 0;
        for (int i = 0; i < a.ndim && used < sizeof shape - 24; i++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, i ? ",%" PRId64 : "%" PRId64, a.shape[i]);
        tc_npy_free(&a);
        return tc_error_set("%s: feat: shape [%s]: expected [T,%d] or [%d,T]", path, shape, dim, dim);
    }
    /* As the original: transpose when the last dimension is not `dim` (so [dim,dim] is kept). */
    int transpose = a.shape[1] != dim;
    int64_t t = transpose ? a.shape[1] : a.shape[0];
    int64_t keep = t < max_frames ? t : max_frames;
    float *out = tc_xmalloc((size_t)(keep ? keep : 1) * (size_t)dim * sizeof(float));   /* [keep, dim] */
    if (transpose) {
        for (int64_t f = 0; f < keep; f++)
            for (int d = 0; d < dim; d++) out[f * dim + d] = a.f32[(int64_t)d * t + f];
    } else {
        memcpy(out, a.f32, (size_t)keep * (size_t)dim * sizeof(float));
    }
    tc_npy_free(&a);
    *feat = out;
    *n_frames = (int)keep;
    return 0;
}
