/* Kaldi-compatible log-mel filterbank, matching torchaudio.compliance.kaldi.fbank with its defaults
 * (povey window, snip_edges, round_to_power_of_two, power spectrum, remove DC offset, pre-emphasis
 * 0.97, log with float32-epsilon floor, no energy term) and dither 0. See docs/audio.md.
 *
 * Per frame (window_size samples every window_shift samples, frames fully inside the signal):
 *   x -= mean(x);  x[j] -= p * x[j-1] (x[-1] := x[0]);  x *= povey;  zero-pad to padded size;
 *   P = |rfft(x)|^2;  e_b = sum_k P[k] * bank[b][k] (Nyquist bin weight 0);  out = log(max(e_b, eps)). */
#include "core/error.h"
#include "data/audio.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* FFTW's planner (and plan destruction) must not run concurrently; execution of distinct plans may. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct tc_fbank {
    tc_fbank_opts o;
    int window_size, window_shift, padded;   /* samples */
    int num_bins;
    double *window;      /* [window_size] povey */
    double *frame;       /* [window_size] scratch */
    double *power;       /* [padded/2] power spectrum scratch (heap: large windows would overflow thread stacks) */
    float *fft_in;       /* [padded], fftwf_malloc'd */
    fftwf_complex *fft_out;   /* [padded/2 + 1] */
    fftwf_plan plan;
    /* Sparse triangular banks: bin b covers FFT bins first[b] .. first[b]+len[b]-1. */
    int *first, *len;
    float *weights;      /* [num_bins][padded/2] dense storage, read sparsely */
};

void tc_fbank_opts_default(tc_fbank_opts *o) {
    o->sample_rate = TC_AUDIO_SAMPLE_RATE;
    o->frame_length_ms = 25.0f;
    o->frame_shift_ms = 10.0f;
    o->num_mel_bins = 80;
    o->low_freq = 20.0f;
    o->high_freq = 0.0f;
    o->preemph = 0.97f;
    o->remove_dc_offset = 1;
}

static double mel_scale(double f) { return 1127.0 * log(1.0 + f / 700.0); }

tc_fbank *tc_fbank_new(const tc_fbank_opts *o) {
    /* Same integer truncation as torchaudio: int(sample_frequency * ms * 0.001). */
    int wsize = (int)((double)o->sample_rate * o->frame_length_ms * 0.001);
    int wshift = (int)((double)o->sample_rate * o->frame_shift_ms * 0.001);
    if (o->sample_rate <= 0 || wsize < 2 || wshift <= 0 || wsize > (1 << 20))
        { tc_error_set("fbank options: frame length %g ms / shift %g ms at %d Hz: expected a window of >= 2 samples and a positive shift",
                       o->frame_length_ms, o->frame_shift_ms, o->sample_rate); return NULL; }
    if (o->num_mel_bins <= 3) { tc_error_set("fbank options: num_mel_bins %d: expected > 3", o->num_mel_bins); return NULL; }
    if (!(o->preemph >= 0.0f && o->preemph <= 1.0f)) { tc_error_set("fbank options: preemph %g: expected [0, 1]", o->preemph); return NULL; }
    int padded = 1;
    while (padded < wsize) padded <<= 1;
    double nyquist = 0.5 * o->sample_rate;
    double high = o->high_freq <= 0.0f ? nyquist + o->high_freq : o->high_freq, low = o->low_freq;
    if (!(low >= 0.0 && low < nyquist && high > 0.0 && high <= nyquist && low < high)) {
        tc_error_set("fbank options: low_freq %g / high_freq %g: expected 0 <= low < high <= Nyquist (%g)", low, high, nyquist);
        return NULL;
    }
    tc_fbank *fb = tc_xcalloc(1, sizeof *fb);
    fb->o = *o;
    fb->window_size = wsize;
    fb->window_shift = wshift;
    fb->padded = padded;
    fb->num_bins = o->num_mel_bins;

    /* Povey window: non-periodic Hann raised to 0.85 (float32 in torchaudio; rounded to match). */
    fb->window = tc_xmalloc((size_t)wsize * sizeof(double));
    fb->frame = tc_xmalloc((size_t)wsize * sizeof(double));
    fb->power = tc_xmalloc((size_t)(padded / 2) * sizeof(double));
    for (int i = 0; i < wsize; i++) {
        float hann = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / (wsize - 1)));
        fb->window[i] = (float)pow(hann, 0.85);
    }

    /* Mel banks over FFT bins 0 .. padded/2 - 1 (torchaudio pads a zero weight for the Nyquist bin). */
    int nfft = padded / 2, nb = fb->num_bins;
    fb->weights = tc_xcalloc((size_t)nb * (size_t)nfft, sizeof(float));
    fb->first = tc_xcalloc((size_t)nb, sizeof(int));
    fb->len = tc_xcalloc((size_t)nb, sizeof(int));
    double fft_bin_width = (double)o->sample_rate / padded;
    double mel_low = mel_scale(low), mel_high = mel_scale(high), delta = (mel_high - mel_low) / (nb + 1);
    for (int b = 0; b < nb; b++) {
        double left = mel_low + b * delta, center = mel_low + (b + 1.0) * delta, right = mel_low + (b + 2.0) * delta;
        int first = -1, last = -1;
        for (int k = 0; k < nfft; k++) {
            double mel = mel_scale(fft_bin_width * k);
            double up = (mel - left) / (center - left), down = (right - mel) / (right - center);
            double w = up < down ? up : down;
            if (w > 0) {
                fb->weights[(size_t)b * nfft + k] = (float)w;
                if (first < 0) first = k;
                last = k;
            }
        }
        fb->first[b] = first < 0 ? 0 : first;
        fb->len[b] = first < 0 ? 0 : last - first + 1;
    }

    pthread_mutex_lock(&planner_lock);
    fb->fft_in = fftwf_malloc((size_t)padded * sizeof(float));
    fb->fft_out = fftwf_malloc((size_t)(nfft + 1) * sizeof(fftwf_complex));
    /* FFTW_ESTIMATE: no timing-dependent algorithm choice, so results are reproducible run to run. */
    if (fb->fft_in && fb->fft_out) fb->plan = fftwf_plan_dft_r2c_1d(padded, fb->fft_in, fb->fft_out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!fb->plan) {
        tc_fbank_free(fb);
        tc_error_set("fbank: FFTW could not plan a real FFT of size %d", padded);
        return NULL;
    }
    return fb;
}

void tc_fbank_free(tc_fbank *fb) {
    if (!fb) return;
    pthread_mutex_lock(&planner_lock);
    if (fb->plan) fftwf_destroy_plan(fb->plan);
    if (fb->fft_in) fftwf_free(fb->fft_in);
    if (fb->fft_out) fftwf_free(fb->fft_out);
    pthread_mutex_unlock(&planner_lock);
    free(fb->window);
    free(fb->frame);
    free(fb->power);
    free(fb->weights);
    free(fb->first);
    free(fb->len);
    free(fb);
}

int tc_fbank_num_bins(const tc_fbank *fb) { return fb->num_bins; }

int64_t tc_fbank_num_frames(const tc_fbank *fb, int64_t n) {
    if (n < fb->window_size) return 0;
    return 1 + (n - fb->window_size) / fb->window_shift;
}

void tc_fbank_compute(tc_fbank *fb, const float *wave, int64_t n, float *out) {
    const int ws = fb->window_size, nfft = fb->padded / 2, nb = fb->num_bins;
    const double eps = 1.1920928955078125e-07;   /* torch.finfo(torch.float32).eps */
    const double p = fb->o.preemph;
    int64_t frames = tc_fbank_num_frames(fb, n);
    double *x = fb->frame;
    double *power = fb->power;   /* bins 0 .. nfft-1; the Nyquist bin has zero weight */
    for (int64_t f = 0; f < frames; f++) {
        const float *src = wave + f * fb->window_shift;
        double mean = 0;
        for (int i = 0; i < ws; i++) { x[i] = src[i]; mean += x[i]; }
        mean /= ws;
        if (fb->o.remove_dc_offset)
            for (int i = 0; i < ws; i++) x[i] -= mean;
        if (p != 0.0) {
            for (int i = ws - 1; i > 0; i--) x[i] -= p * x[i - 1];
            x[0] -= p * x[0];
        }
        for (int i = 0; i < ws; i++) fb->fft_in[i] = (float)(x[i] * fb->window[i]);
        for (int i = ws; i < fb->padded; i++) fb->fft_in[i] = 0.0f;
        fftwf_execute(fb->plan);
        for (int k = 0; k < nfft; k++) {
            double re = fb->fft_out[k][0], im = fb->fft_out[k][1];
            power[k] = re * re + im * im;
        }
        float *o = out + f * nb;   /* [nb] */
        for (int b = 0; b < nb; b++) {
            const float *w = fb->weights + (size_t)b * nfft;
            double e = 0;
            for (int k = fb->first[b]; k < fb->first[b] + fb->len[b]; k++) e += power[k] * w[k];
            o[b] = (float)log(e > eps ? e : eps);
        }
    }
}
