/* Waveform input: libsndfile decode, channel mix-down, libsamplerate resampling. */
#include "core/error.h"
#include "data/audio.h"

#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Longest input accepted: one hour at 192 kHz in 64 channels is far past any speech clip; the cap
 * keeps a hostile header from requesting absurd allocations. */
#define MAX_SAMPLES ((sf_count_t)1 << 31)

int tc_audio_resample(const float *in, int64_t n, int in_rate, int out_rate, const char *name, float **out, int64_t *n_out) {
    return tc_audio_resample_q(in, n, in_rate, out_rate, TC_RESAMPLE_BEST, name, out, n_out);
}

int tc_audio_resample_q(const float *in, int64_t n, int in_rate, int out_rate, int quality, const char *name, float **out,
                        int64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    static const int converters[3] = {SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY, SRC_SINC_FASTEST};
    if (quality < 0 || quality > 2) return tc_error_set("%s: resampling quality %d: expected 0 (best), 1 (medium) or 2 (fast)", name, quality);
    if (n < 0) return tc_error_set("%s: resampling: negative length", name);
    if (in_rate <= 0 || out_rate <= 0) return tc_error_set("%s: sample rate %d -> %d: expected positive rates", name, in_rate, out_rate);
    double ratio = (double)out_rate / in_rate;
    if (!src_is_valid_ratio(ratio)) return tc_error_set("%s: resampling %d -> %d Hz: ratio outside libsamplerate's range", name, in_rate, out_rate);
    int64_t want = (n * out_rate + in_rate - 1) / in_rate;   /* ceil(n * out / in), as torchaudio */
    float *dst = tc_xcalloc((size_t)(want ? want : 1), sizeof(float));   /* [want] */
    if (in_rate == out_rate || n == 0) {
        if (n) memcpy(dst, in, (size_t)n * sizeof(float));
        *out = dst;
        *n_out = want;
        return 0;
    }
    int err = 0;
    SRC_STATE *st = src_new(converters[quality], 1, &err);
    if (!st) { free(dst); return tc_error_set("%s: libsamplerate: %s", name, src_strerror(err)); }
    /* Stream the whole signal with end_of_input set so the filter tail is flushed; the converter
     * compensates its own delay, so output sample k corresponds to time k / out_rate. */
    int64_t used = 0, made = 0;
    for (int iter = 0; made < want; iter++) {
        SRC_DATA d;
        memset(&d, 0, sizeof d);
        d.data_in = in + used;
        d.input_frames = (long)(n - used);
        d.data_out = dst + made;
        d.output_frames = (long)(want - made);
        d.src_ratio = ratio;
        d.end_of_input = 1;
        err = src_process(st, &d);
        if (err) { src_delete(st); free(dst); return tc_error_set("%s: libsamplerate: %s", name, src_strerror(err)); }
        used += d.input_frames_used;
        made += d.output_frames_gen;
        if (d.input_frames_used == 0 && d.output_frames_gen == 0) break;   /* fully flushed */
    }
    src_delete(st);
    /* Any shortfall (at most a sample or two of filter tail) stays zero from calloc. */
    *out = dst;
    *n_out = want;
    return 0;
}

int tc_audio_read(const char *path, int target_rate, float **samples, int64_t *n, int *rate_out) {
    *samples = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        return tc_error_set("%s: empty file: expected audio (WAV, FLAC, ...)", path);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) return tc_error_set("%s: cannot read audio: %s", path, sf_strerror(NULL));
    if (info.channels <= 0 || info.channels > 256 || info.samplerate <= 0) {
        sf_close(sf);
        return tc_error_set("%s: audio header: %d channels at %d Hz: expected 1-256 channels and a positive rate", path,
                            info.channels, info.samplerate);
    }
    if (info.frames <= 0) { sf_close(sf); return tc_error_set("%s: audio: no samples (empty or truncated file)", path); }
    if (info.frames > MAX_SAMPLES / info.channels) {
        sf_close(sf);
        return tc_error_set("%s: audio: %lld frames: longer than supported", path, (long long)info.frames);
    }
    float *inter = malloc((size_t)info.frames * (size_t)info.channels * sizeof(float));   /* [frames, channels] */
    if (!inter) { sf_close(sf); return tc_error_set("%s: out of memory for %lld audio frames", path, (long long)info.frames); }
    sf_count_t got = sf_readf_float(sf, inter, info.frames);
    int sferr = sf_error(sf);
    char errmsg[256];
    snprintf(errmsg, sizeof errmsg, "%s", sf_strerror(sf));
    sf_close(sf);
    if (sferr != SF_ERR_NO_ERROR || got <= 0) {
        free(inter);
        return tc_error_set("%s: audio data: %s", path, got <= 0 ? "no samples could be decoded (truncated?)" : errmsg);
    }
    if (got < info.frames) {
        free(inter);
        return tc_error_set("%s: audio data: header promises %lld frames, only %lld decoded (truncated file)", path,
                            (long long)info.frames, (long long)got);
    }
    /* Mix to mono by averaging channels (keeps the [-1, 1] scale). */
    float *mono = tc_xmalloc((size_t)got * sizeof(float));   /* [got] */
    for (sf_count_t i = 0; i < got; i++) {
        double s = 0;
        for (int c = 0; c < info.channels; c++) s += inter[i * info.channels + c];
        mono[i] = (float)(s / info.channels);
    }
    free(inter);
    int rate = info.samplerate;
    if (target_rate > 0 && target_rate != rate) {
        float *rs;
        int64_t nrs;
        if (tc_audio_resample(mono, got, rate, target_rate, path, &rs, &nrs) != 0) { free(mono); return -1; }
        free(mono);
        mono = rs;
        got = nrs;
        rate = target_rate;
    }
    *samples = mono;
    *n = got;
    if (rate_out) *rate_out = rate;
    return 0;
}
