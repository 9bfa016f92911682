/* Audio inputs (docs/audio.md).
 *
 * Two paths:
 *  1. The original's precomputed frame features (spec §2.2): <audio_dir>/<id>.npz, key "feat",
 *     [T,D] or [D,T] (transposed when the last dimension is not D; D = 1024 for v1), first 50 frames.
 *  2. Raw speech for taichu's own audio encoder: WAV/FLAC/... (libsndfile) -> mono -> 16 kHz
 *     (libsamplerate) -> Kaldi-compatible log-mel fbank (FFTW3) -> stacked/subsampled tokens.
 * Every function reports bad input as a one-line error naming the file (core/error.h). */
#ifndef TC_DATA_AUDIO_H
#define TC_DATA_AUDIO_H

#include <stdint.h>

/* ---- 1. precomputed features (the original's AudioData) ---- */

#define TC_AUDIO_FEAT_DIM 1024      /* config.AUDIO_DIM of the v1 configs */
#define TC_AUDIO_MAX_FRAMES 50      /* config.MAX_AUDIO_LEN */

/* Path of the feature file for a sample id, with the original's rule: <dir>/<id>.npz, and for ids
 * containing "cc3m" the "/training" and "/validation" components are dropped. malloc'd. */
char *tc_audio_feat_path(const char *audio_dir, const char *id);

/* Load key "feat" of an .npz: any numeric dtype, 2-D [T,dim] or [dim,T] (transposed when the last
 * dimension is not `dim`, as the original does), truncated to the first max_frames frames.
 * *feat = malloc'd float [*n_frames, dim] (row-major); *n_frames may be 0 for a [0,dim] array. */
int tc_audio_feat_load(const char *path, int dim, int max_frames, float **feat, int *n_frames);

/* ---- 2a. waveform input ---- */

#define TC_AUDIO_SAMPLE_RATE 16000

/* Read any libsndfile format, average the channels to mono, resample to `target_rate` (0 keeps
 * the file's rate). Samples are floats in [-1, 1] (libsndfile's normalisation of integer PCM).
 * *samples = malloc'd [*n]; *rate_out (optional) = the returned rate. An empty file is an error. */
int tc_audio_read(const char *path, int target_rate, float **samples, int64_t *n, int *rate_out);

/* libsamplerate SRC_SINC_BEST_QUALITY conversion of a mono signal. Output length is
 * ceil(n * out_rate / in_rate) (torchaudio's convention), aligned at t = 0. `name` is for messages. */
int tc_audio_resample(const float *in, int64_t n, int in_rate, int out_rate, const char *name, float **out,
                      int64_t *n_out);
/* Same with an explicit libsamplerate converter: TC_RESAMPLE_BEST (SRC_SINC_BEST_QUALITY, ~17x real
 * time for 22.05 -> 16 kHz on one core), TC_RESAMPLE_MEDIUM (SRC_SINC_MEDIUM_QUALITY, several times
 * faster, for bulk data generation), TC_RESAMPLE_FAST (SRC_SINC_FASTEST). */
enum { TC_RESAMPLE_BEST = 0, TC_RESAMPLE_MEDIUM = 1, TC_RESAMPLE_FAST = 2 };
int tc_audio_resample_q(const float *in, int64_t n, int in_rate, int out_rate, int quality, const char *name, float **out,
                        int64_t *n_out);

/* ---- 2b. Kaldi fbank ---- */

typedef struct tc_fbank_opts {
    int sample_rate;          /* 16000 */
    float frame_length_ms;    /* 25 */
    float frame_shift_ms;     /* 10 */
    int num_mel_bins;         /* 80 */
    float low_freq;           /* 20 Hz */
    float high_freq;          /* 0: Nyquist; negative: offset from Nyquist (Kaldi) */
    float preemph;            /* 0.97 */
    int remove_dc_offset;     /* 1 */
} tc_fbank_opts;

/* torchaudio.compliance.kaldi.fbank defaults (povey window, power spectrum, log with float32
 * epsilon floor, snip_edges, round to power of two) with dither 0 and 80 bins. */
void tc_fbank_opts_default(tc_fbank_opts *o);

typedef struct tc_fbank tc_fbank;   /* window, mel banks, FFTW plan + buffers; one per thread */

/* NULL (and an error) on invalid options. Creation and destruction take a global lock because
 * FFTW's planner is not thread-safe; tc_fbank_compute on distinct objects runs in parallel. */
tc_fbank *tc_fbank_new(const tc_fbank_opts *o);
void tc_fbank_free(tc_fbank *fb);
int tc_fbank_num_bins(const tc_fbank *fb);
/* Frames for n samples with snip_edges: 0 if n < window, else 1 + (n - window) / shift. */
int64_t tc_fbank_num_frames(const tc_fbank *fb, int64_t n);
/* wave: [n] samples on Kaldi's scale (int16 range: multiply [-1,1] audio by 32768 first).
 * out: [num_frames, num_bins] log mel energies. */
void tc_fbank_compute(tc_fbank *fb, const float *wave, int64_t n, float *out);

/* ---- 2c. frames -> audio tokens ---- */

/* Token t is the concatenation of frames t*stride .. t*stride+stack-1 (frames past the end repeat
 * the last frame, as low-frame-rate stacking does), so there are ceil(T / stride) tokens of
 * dimension stack*dim, truncated to max_tokens (<= 0: no limit). out: [n_tokens, stack*dim].
 * Returns the number of tokens; `out` must hold tc_audio_stack_count(...) * stack * dim floats. */
int tc_audio_stack_count(int64_t n_frames, int stack, int stride, int max_tokens);
int tc_audio_stack(const float *frames, int64_t n_frames, int dim, int stack, int stride, int max_tokens, float *out);

typedef struct tc_speech_opts {
    tc_fbank_opts fbank;
    int stack;       /* frames per token (default 4: 40 ms tokens of 320 dims) */
    int stride;      /* frames between tokens (default 4) */
    int max_tokens;  /* default 50, the original's audio slot size */
} tc_speech_opts;

void tc_speech_opts_default(tc_speech_opts *o);

/* The whole raw-speech path: read, mono, resample to fbank.sample_rate, scale to int16 range,
 * fbank, stack. *tokens = malloc'd [*n_tokens, *dim]. Audio shorter than one window is an error. */
int tc_speech_tokens(const char *path, const tc_speech_opts *o, float **tokens, int *n_tokens, int *dim);

#endif
