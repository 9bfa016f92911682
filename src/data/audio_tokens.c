/* Frames -> audio tokens (low-frame-rate stacking), and the whole raw-speech pipeline. */
#include "core/error.h"
#include "data/audio.h"

#include <stdlib.h>
#include <string.h>

int tc_audio_stack_count(int64_t n_frames, int stack, int stride, int max_tokens) {
    if (n_frames <= 0 || stack <= 0 || stride <= 0) return 0;
    int64_t t = (n_frames + stride - 1) / stride;
    if (max_tokens > 0 && t > max_tokens) t = max_tokens;
    return t > (1 << 30) ? (1 << 30) : (int)t;
}

int tc_audio_stack(const float *frames, int64_t n_frames, int dim, int stack, int stride, int max_tokens, float *out) {
    int nt = tc_audio_stack_count(n_frames, stack, stride, max_tokens);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < stack; j++) {
            int64_t f = (int64_t)t * stride + j;
            if (f >= n_frames) f = n_frames - 1;   /* repeat the last frame past the end */
            memcpy(out + ((size_t)t * stack + j) * dim, frames + f * dim, (size_t)dim * sizeof(float));
        }
    return nt;
}

void tc_speech_opts_default(tc_speech_opts *o) {
    tc_fbank_opts_default(&o->fbank);
    o->stack = 4;
    o->stride = 4;
    o->max_tokens = TC_AUDIO_MAX_FRAMES;
}

int tc_speech_tokens(const char *path, const tc_speech_opts *o, float **tokens, int *n_tokens, int *dim) {
    *tokens = NULL;
    *n_tokens = 0;
    *dim = 0;
    if (o->stack <= 0 || o->stride <= 0)
        return tc_error_set("%s: speech options: stack %d / stride %d: expected positive values", path, o->stack, o->stride);
    tc_fbank *fb = tc_fbank_new(&o->fbank);
    if (!fb) return tc_error_prefix("%s", path);
    float *wave;
    int64_t n;
    if (tc_audio_read(path, o->fbank.sample_rate, &wave, &n, NULL) != 0) { tc_fbank_free(fb); return -1; }
    int64_t frames = tc_fbank_num_frames(fb, n);
    if (frames == 0) {
        tc_fbank_free(fb);
        free(wave);
        return tc_error_set("%s: audio: %lld samples at %d Hz: expected at least one %g ms window", path, (long long)n,
                            o->fbank.sample_rate, o->fbank.frame_length_ms);
    }
    /* Kaldi works on the int16 scale; libsndfile normalised integer PCM to [-1, 1). */
    for (int64_t i = 0; i < n; i++) wave[i] *= 32768.0f;
    int nb = tc_fbank_num_bins(fb);
    float *fbank = tc_xmalloc((size_t)frames * (size_t)nb * sizeof(float));   /* [frames, nb] */
    tc_fbank_compute(fb, wave, n, fbank);
    tc_fbank_free(fb);
    free(wave);
    int nt = tc_audio_stack_count(frames, o->stack, o->stride, o->max_tokens);
    float *out = tc_xmalloc((size_t)(nt ? nt : 1) * (size_t)o->stack * (size_t)nb * sizeof(float));   /* [nt, stack*nb] */
    tc_audio_stack(fbank, frames, nb, o->stack, o->stride, o->max_tokens, out);
    free(fbank);
    *tokens = out;
    *n_tokens = nt;
    *dim = o->stack * nb;
    return 0;
}
