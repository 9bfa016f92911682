/* Audio: the original's npz features, libsndfile/libsamplerate input, Kaldi fbank against
 * torchaudio.compliance.kaldi.fbank goldens, token stacking, and bad files.
 * Goldens: tests/data/audio/make_goldens.py. Tolerances are per tensor and explained at each check. */
#include "core/error.h"
#include "core/fileio.h"
#include "data/audio.h"
#include "io/npy.h"
#include "tc_test.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define DATA TAICHU_TEST_DATA "/audio/"

static float feat_value(int t, int d) { return (float)((t * 31 + d * 7) % 64) / 16.0f - 2.0f; }

static void test_feat(void) {
    float *f;
    int n;
    /* [60,1024] deflated float32: first 50 frames kept as is. */
    TC_CHECK(tc_audio_feat_load(DATA "feat_tc.npz", 1024, 50, &f, &n) == 0, "feat_tc: %s", tc_error_get());
    TC_CHECK(n == 50, "feat_tc frames %d", n);
    int bad = 0;
    for (int t = 0; t < n; t++)
        for (int d = 0; d < 1024; d++) bad += f[t * 1024 + d] != feat_value(t, d);
    TC_CHECK(bad == 0, "feat_tc: %d values differ", bad);
    free(f);
    /* [1024,30] float16 stored: transposed to [30,1024]. */
    TC_CHECK(tc_audio_feat_load(DATA "feat_ct.npz", 1024, 50, &f, &n) == 0, "feat_ct: %s", tc_error_get());
    TC_CHECK(n == 30, "feat_ct frames %d", n);
    bad = 0;
    for (int t = 0; t < n; t++)
        for (int d = 0; d < 1024; d++) bad += f[t * 1024 + d] != feat_value(t, d);
    TC_CHECK(bad == 0, "feat_ct: %d values differ", bad);
    free(f);
    /* Big-endian float64, fewer than 50 frames; and a smaller frame limit. */
    TC_CHECK(tc_audio_feat_load(DATA "feat_short.npz", 1024, 50, &f, &n) == 0 && n == 7, "feat_short: %s", tc_error_get());
    free(f);
    TC_CHECK(tc_audio_feat_load(DATA "feat_tc.npz", 1024, 3, &f, &n) == 0 && n == 3 && f[2 * 1024 + 5] == feat_value(2, 5),
             "max_frames 3");
    free(f);
    /* Bad files: one line naming the file and what was expected. */
    TC_CHECK(tc_audio_feat_load(DATA "feat_wrongkey.npz", 1024, 50, &f, &n) != 0 &&
                 strstr(tc_error_get(), "feat_wrongkey.npz: key 'feat': no such member (archive holds 1: 'features.npy')"),
             "wrong key: %s", tc_error_get());
    TC_CHECK(tc_audio_feat_load(DATA "feat_wrongshape.npz", 1024, 50, &f, &n) != 0 &&
                 strstr(tc_error_get(), "feat_wrongshape.npz: feat: shape [3,512]: expected [T,1024] or [1024,T]"),
             "wrong shape: %s", tc_error_get());
    TC_CHECK(tc_audio_feat_load(DATA "feat_1d.npz", 1024, 50, &f, &n) != 0 && strstr(tc_error_get(), "shape [1024]: expected"),
             "1-d: %s", tc_error_get());
    TC_CHECK(tc_audio_feat_load(DATA "speech16k.wav", 1024, 50, &f, &n) != 0 && strstr(tc_error_get(), "speech16k.wav: "),
             "wav as npz: %s", tc_error_get());
    TC_CHECK(tc_audio_feat_load(DATA "missing.npz", 1024, 50, &f, &n) != 0 && strstr(tc_error_get(), "missing.npz: cannot open"),
             "missing: %s", tc_error_get());
    /* The original's path rule, including its cc3m special case. */
    char *p = tc_audio_feat_path("/data/audio", "coco_123");
    TC_CHECK(strcmp(p, "/data/audio/coco_123.npz") == 0, "path %s", p);
    free(p);
    p = tc_audio_feat_path("/data/cc3m/training/", "cc3m_5");
    TC_CHECK(strcmp(p, "/data/cc3m/cc3m_5.npz") == 0, "cc3m path %s", p);
    free(p);
}

/* Fbank of a 16 kHz file against torchaudio. Both sides compute float32 FFTs, whose rounding error is
 * relative to the whole frame's energy, so a band's log error grows as the band sits further below the
 * frame's strongest band. Tolerance per element, by depth below the frame's maximum log-mel value:
 *   depth <= 16 (70 dB): |diff| <= 5e-4 + 1e-4 * |want|   (measured max 1.7e-4)
 *   deeper:              |diff| <= 1e-2  (float32 rounding floor: ours and torchaudio each differ from
 *                                         a float64 fbank by up to 2.6e-3 there on the chirp)
 * The mean error over all elements is bounded at 5e-5 (measured 5e-6 speech, 3e-5 chirp). */
static void check_fbank(const char *wav, const char *golden, double mean_tol) {
    float *w;
    int64_t n;
    int rate;
    TC_CHECK(tc_audio_read(wav, 16000, &w, &n, &rate) == 0 && rate == 16000, "%s: %s", wav, tc_error_get());
    if (!w) return;
    tc_npy ref;
    TC_CHECK(tc_npy_read_f32(golden, &ref) == 0 && ref.ndim == 2 && ref.shape[1] == 80, "%s: %s", golden, tc_error_get());
    if (!ref.f32) { free(w); return; }
    for (int64_t i = 0; i < n; i++) w[i] *= 32768.0f;
    tc_fbank_opts o;
    tc_fbank_opts_default(&o);
    tc_fbank *fb = tc_fbank_new(&o);
    int64_t frames = tc_fbank_num_frames(fb, n);
    TC_CHECK(frames == ref.shape[0], "%s: %lld frames, torchaudio %lld", wav, (long long)frames, (long long)ref.shape[0]);
    if (frames == ref.shape[0]) {
        float *out = tc_xmalloc((size_t)frames * 80 * sizeof(float));
        tc_fbank_compute(fb, w, n, out);
        long fails = 0, deep = 0;
        for (int64_t f = 0; f < frames; f++) {
            const float *a = out + f * 80, *b = ref.f32 + f * 80;
            float top = b[0];
            for (int k = 1; k < 80; k++) top = fmaxf(top, b[k]);
            for (int k = 0; k < 80; k++) {
                double d = fabs((double)a[k] - b[k]);
                int is_deep = top - b[k] > 16.0f;
                double allowed = is_deep ? 1e-2 : 5e-4 + 1e-4 * fabs(b[k]);
                deep += is_deep;
                if (!(d <= allowed)) {
                    if (fails++ < 3) fprintf(stderr, "%s: frame %lld bin %d: got %.7g want %.7g\n", golden, (long long)f, k, a[k], b[k]);
                }
            }
        }
        TC_CHECK(fails == 0, "%s: %ld elements out of tolerance", golden, fails);
        double sum = 0, worst = 0;
        for (int64_t i = 0; i < frames * 80; i++) {
            double d = fabs((double)out[i] - ref.f32[i]);
            sum += d;
            if (d > worst) worst = d;
        }
        printf("%s: %lld frames (%ld elements > 70 dB below their frame peak), max |diff| %.3g, mean %.3g\n", golden,
               (long long)frames, deep, worst, sum / (frames * 80));
        TC_CHECK(sum / (frames * 80) < mean_tol, "%s: mean |diff| %g", golden, sum / (frames * 80));
        free(out);
    }
    tc_fbank_free(fb);
    tc_npy_free(&ref);
    free(w);
}

/* Resampling against the analytic answer: sines well inside the band, sampled directly at 16 kHz.
 * SRC_SINC_BEST_QUALITY is specified at ~97 dB SNR; with 16-bit input (quantisation 1.5e-5) the
 * error must stay below 1e-4 away from the first/last 10 ms (edge transients of the filter). */
static void test_resample(void) {
    float *w;
    int64_t n;
    int rate;
    TC_CHECK(tc_audio_read(DATA "sines44k.flac", 16000, &w, &n, &rate) == 0, "flac: %s", tc_error_get());
    if (!w) return;
    TC_CHECK(rate == 16000 && n == (22050 * 16000 + 44099) / 44100, "flac: %lld samples at %d", (long long)n, rate);
    double worst = 0;
    for (int64_t i = 160; i < n - 160; i++) {
        double t = (double)i / 16000.0;
        double want = 0.5 * (0.3 * sin(2 * M_PI * 440 * t) + 0.3 * sin(2 * M_PI * 1000 * t));
        double d = fabs(w[i] - want);
        if (d > worst) worst = d;
    }
    printf("resample 44.1k stereo -> 16k mono: max |err| %.3g\n", worst);
    TC_CHECK(worst < 1e-4, "resampled sines: max error %g", worst);
    free(w);
    /* The faster converters, on the same analytic signal (mono, from the 44.1 kHz sines). */
    const int64_t n44 = 22050;
    float *x = tc_xmalloc(n44 * sizeof(float));
    for (int64_t i = 0; i < n44; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 440 * i / 44100.0));
    const double bound[3] = {5e-7, 4e-6, 2e-5};   /* measured 7e-8, 4e-7, 2e-6 (float input, no int16 rounding) */
    for (int q = 0; q < 3; q++) {
        float *y;
        int64_t ny;
        TC_CHECK(tc_audio_resample_q(x, n44, 44100, 16000, q, "sines", &y, &ny) == 0 && ny == 8000, "quality %d", q);
        double e = 0;
        for (int64_t i = 160; y && i < ny - 160; i++) e = fmax(e, fabs(y[i] - 0.3 * sin(2 * M_PI * 440 * i / 16000.0)));
        printf("resample quality %d: max |err| %.3g\n", q, e);
        TC_CHECK(e < bound[q], "quality %d: max error %g (bound %g)", q, e, bound[q]);
        free(y);
    }
    free(x);
    float *y;
    int64_t ny;
    TC_CHECK(tc_audio_resample_q(w, 10, 16000, 16000, 7, "q7", &y, &ny) != 0 && strstr(tc_error_get(), "q7: resampling quality 7"),
             "bad quality: %s", tc_error_get());
    /* Rate kept when target is 0; identical rates copy. */
    TC_CHECK(tc_audio_read(DATA "speech22k.wav", 0, &w, &n, &rate) == 0 && rate == 22050, "native rate");
    free(w);
}

/* Whole path from the 22.05 kHz espeak-ng file: our libsamplerate output vs torchaudio's kaiser_best
 * resampler, both into the same fbank. The two resamplers differ in their transition bands (both
 * start rolling off above ~7.5 kHz), so bins reaching past 7 kHz (the top 4 of 80) are excluded, and
 * frames that are digital silence in the reference (log(eps) = -15.94) are checked separately:
 * libsamplerate's filter rings into them at a level far below one int16 step, so there every bin
 * must stay below log(1) = 0. Measured: max 0.016, mean 1.6e-4 over the compared elements. */
static void test_pipeline(void) {
    float *w;
    int64_t n;
    TC_CHECK(tc_audio_read(DATA "speech22k.wav", 16000, &w, &n, NULL) == 0, "%s", tc_error_get());
    if (!w) return;
    tc_npy ref;
    TC_CHECK(tc_npy_read_f32(DATA "speech22k_fbank_ref.npy", &ref) == 0, "%s", tc_error_get());
    for (int64_t i = 0; i < n; i++) w[i] *= 32768.0f;
    tc_fbank_opts o;
    tc_fbank_opts_default(&o);
    tc_fbank *fb = tc_fbank_new(&o);
    int64_t frames = tc_fbank_num_frames(fb, n);
    TC_CHECK(ref.f32 && frames == ref.shape[0], "pipeline frames %lld vs %lld", (long long)frames, (long long)ref.shape[0]);
    if (ref.f32 && frames == ref.shape[0]) {
        float *out = tc_xmalloc((size_t)frames * 80 * sizeof(float));
        tc_fbank_compute(fb, w, n, out);
        double sum = 0, worst = 0, silent_max = -100;
        long cnt = 0, silent = 0;
        for (int64_t f = 0; f < frames; f++) {
            const float *a = out + f * 80, *b = ref.f32 + f * 80;
            if (b[0] < -15.0f) {   /* digital silence in the reference */
                silent++;
                for (int k = 0; k < 80; k++) silent_max = fmax(silent_max, a[k]);
                continue;
            }
            for (int k = 0; k < 76; k++) {
                if (b[k] <= 0.0f) continue;
                double d = fabs((double)a[k] - b[k]);
                sum += d;
                cnt++;
                if (d > worst) worst = d;
            }
        }
        printf("pipeline 22.05k -> 16k -> fbank vs torchaudio: %ld elements, max |diff| %.3g, mean %.3g; "
               "%ld silent frames, max there %.3g\n", cnt, worst, sum / cnt, silent, silent_max);
        TC_CHECK(cnt > frames * 50, "too few compared elements: %ld", cnt);
        TC_CHECK(worst < 0.05, "pipeline max |diff| %g (bound 0.05)", worst);
        TC_CHECK(sum / cnt < 1e-3, "pipeline mean |diff| %g (bound 1e-3)", sum / cnt);
        TC_CHECK(silent > 0 && silent_max < 0.0, "silent frames: max log-mel %g (bound 0)", silent_max);
        free(out);
    }
    tc_fbank_free(fb);
    tc_npy_free(&ref);
    free(w);
}

/* Fbank objects are created and used from several threads at once (FFTW planning is locked). */
typedef struct { const float *w; int64_t n; float *out; } fb_job;
static void *fbank_thread(void *arg) {
    fb_job *j = arg;
    for (int rep = 0; rep < 4; rep++) {
        tc_fbank_opts o;
        tc_fbank_opts_default(&o);
        tc_fbank *fb = tc_fbank_new(&o);
        tc_fbank_compute(fb, j->w, j->n, j->out);
        tc_fbank_free(fb);
    }
    return NULL;
}

static void test_threads(void) {
    float *w;
    int64_t n;
    if (tc_audio_read(DATA "chirp16k.wav", 16000, &w, &n, NULL) != 0) { TC_CHECK(0, "%s", tc_error_get()); return; }
    int64_t frames = 1 + (n - 400) / 160;
    fb_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (fb_job){w, n, tc_xmalloc((size_t)frames * 80 * sizeof(float))};
        pthread_create(&th[i], NULL, fbank_thread, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 1; i < 4; i++)
        TC_CHECK(memcmp(jobs[i].out, jobs[0].out, (size_t)frames * 80 * sizeof(float)) == 0, "thread %d result differs", i);
    for (int i = 0; i < 4; i++) free(jobs[i].out);
    free(w);
}

static void test_stack(void) {
    /* 7 frames of dim 2, stack 3 stride 2: tokens at frames 0,2,4,6 -> 4 tokens; the last repeats frame 6. */
    float fr[14];
    for (int i = 0; i < 14; i++) fr[i] = (float)i;
    TC_CHECK(tc_audio_stack_count(7, 3, 2, 0) == 4, "count");
    TC_CHECK(tc_audio_stack_count(7, 3, 2, 3) == 3, "count with max");
    TC_CHECK(tc_audio_stack_count(0, 3, 2, 0) == 0, "count empty");
    float out[4 * 6];
    TC_CHECK(tc_audio_stack(fr, 7, 2, 3, 2, 0, out) == 4, "stack");
    const float want[24] = {0, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 12, 13, 12, 13};
    TC_CHECK_ARRAY_CLOSE("stacked tokens", out, want, 24, 0, 0);

    /* The whole speech path: 50 tokens of 4 x 80 at most; token 0 holds frames 0..3 of the fbank. */
    tc_speech_opts o;
    tc_speech_opts_default(&o);
    float *tok;
    int nt, dim;
    TC_CHECK(tc_speech_tokens(DATA "speech16k.wav", &o, &tok, &nt, &dim) == 0, "speech tokens: %s", tc_error_get());
    tc_npy ref;
    if (tok && tc_npy_read_f32(DATA "speech16k_fbank.npy", &ref) == 0) {
        int want_nt = (int)((ref.shape[0] + 3) / 4);
        if (want_nt > 50) want_nt = 50;
        TC_CHECK(nt == want_nt && dim == 320, "tokens %d x %d, want %d x 320", nt, dim, want_nt);
        TC_CHECK_ARRAY_CLOSE("token 0 = frames 0..3", tok, ref.f32, 320, 1e-4, 2e-3);
        TC_CHECK_ARRAY_CLOSE("token 5 = frames 20..23", tok + 5 * 320, ref.f32 + 20 * 80, 320, 1e-4, 2e-3);
        tc_npy_free(&ref);
    }
    free(tok);
    o.max_tokens = 0;
    o.stack = 1;
    o.stride = 1;
    TC_CHECK(tc_speech_tokens(DATA "speech16k.wav", &o, &tok, &nt, &dim) == 0 && dim == 80 && nt > 50, "unstacked: %d", nt);
    free(tok);
}

static void test_bad_audio(void) {
    float *w;
    int64_t n;
    struct { const char *file, *msg; } bad[] = {
        {DATA "not_audio.wav", "not_audio.wav: cannot read audio: "},
        {DATA "empty.wav", "empty.wav: empty file: expected audio"},
        {DATA "truncated.wav", "truncated.wav: audio: no samples"},
        {DATA "nope.flac", "nope.flac: cannot read audio: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TC_CHECK(tc_audio_read(bad[i].file, 16000, &w, &n, NULL) != 0, "%s must fail", bad[i].file);
        TC_CHECK(strstr(tc_error_get(), bad[i].msg) && !strchr(tc_error_get(), '\n'), "%s: message: %s", bad[i].file, tc_error_get());
    }
    tc_speech_opts o;
    tc_speech_opts_default(&o);
    float *tok;
    int nt, dim;
    TC_CHECK(tc_speech_tokens(DATA "short16k.wav", &o, &tok, &nt, &dim) != 0 &&
                 strstr(tc_error_get(), "short16k.wav: audio: 300 samples at 16000 Hz: expected at least one 25 ms window"),
             "short: %s", tc_error_get());
    TC_CHECK(tc_speech_tokens(DATA "not_audio.wav", &o, &tok, &nt, &dim) != 0 && strstr(tc_error_get(), "not_audio.wav"), "speech bad");
    o.fbank.num_mel_bins = 2;
    TC_CHECK(tc_speech_tokens(DATA "speech16k.wav", &o, &tok, &nt, &dim) != 0 && strstr(tc_error_get(), "num_mel_bins 2"),
             "bad opts: %s", tc_error_get());
}

int main(void) {
    test_feat();
    check_fbank(DATA "speech16k.wav", DATA "speech16k_fbank.npy", 5e-5);
    check_fbank(DATA "chirp16k.wav", DATA "chirp16k_fbank.npy", 5e-5);
    test_resample();
    test_pipeline();
    test_threads();
    test_stack();
    test_bad_audio();
    return tc_test_summary("audio");
}
