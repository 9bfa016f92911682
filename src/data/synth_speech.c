/* espeak-ng speech + resampling + WAV writing for `taichu synth` (see synth_speech.h). */
#include "data/synth_speech.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>

#include "core/error.h"
#include "core/fileio.h"

#ifdef TAICHU_HAVE_ESPEAK
#include <espeak-ng/speak_lib.h>
#endif

struct tc_synth_speech {
    int rate_in;   /* espeak's native rate (22050) */
    short *buf;    /* samples of the current utterance */
    int64_t n, cap;
};

int tc_synth_speech_available(void) {
#ifdef TAICHU_HAVE_ESPEAK
    return 1;
#else
    return 0;
#endif
}

#ifdef TAICHU_HAVE_ESPEAK
static int espeak_ready; /* espeak_Initialize may run once per process */

static int synth_cb(short *wav, int numsamples, espeak_EVENT *events) {
    tc_synth_speech *sp = events ? (tc_synth_speech *)events[0].user_data : NULL;
    if (!sp || !wav || numsamples <= 0) return 0;
    if (sp->n + numsamples > sp->cap) {
        sp->cap = (sp->n + numsamples) * 2;
        sp->buf = tc_xrealloc(sp->buf, (size_t)sp->cap * sizeof *sp->buf);
    }
    memcpy(sp->buf + sp->n, wav, (size_t)numsamples * sizeof *wav);
    sp->n += numsamples;
    return 0; /* continue */
}
#endif

tc_synth_speech *tc_synth_speech_open(void) {
#ifdef TAICHU_HAVE_ESPEAK
    tc_synth_speech *sp = tc_xcalloc(1, sizeof *sp);
    if (!espeak_ready) {
        int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, 0);
        if (rate <= 0) {
            free(sp);
            tc_error_set("espeak-ng: initialisation failed (is the espeak-ng-data package installed?)");
            return NULL;
        }
        espeak_ready = rate;
    }
    sp->rate_in = espeak_ready;
    espeak_SetSynthCallback(synth_cb);
    if (espeak_SetVoiceByName("cmn-latn-pinyin") != EE_OK) {
        free(sp);
        tc_error_set("espeak-ng: voice \"cmn-latn-pinyin\" not found (install espeak-ng-data)");
        return NULL;
    }
    return sp;
#else
    tc_error_set("audio needs espeak-ng: this taichu was built without libespeak-ng "
                 "(apt-get install libespeak-ng-dev, re-run cmake), or pass --no-audio");
    return NULL;
#endif
}

int tc_synth_speech_say(tc_synth_speech *sp, const char *text, float **pcm, int64_t *n) {
#ifdef TAICHU_HAVE_ESPEAK
    sp->n = 0;
    espeak_ERROR e = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, sp);
    if (e != EE_OK) return tc_error_set("espeak-ng: synthesis of \"%s\" failed (error %d)", text, (int)e);
    if (sp->n == 0) return tc_error_set("espeak-ng: \"%s\" produced no audio", text);
    float *in = tc_xmalloc((size_t)sp->n * sizeof *in);
    for (int64_t i = 0; i < sp->n; i++) in[i] = (float)sp->buf[i] / 32768.0f;
    double ratio = (double)TC_SYNTH_AUDIO_RATE / sp->rate_in;
    int64_t cap = (int64_t)ceil((double)sp->n * ratio) + 16;
    float *out = tc_xmalloc((size_t)cap * sizeof *out);
    SRC_DATA d = {0};
    d.data_in = in;
    d.input_frames = sp->n;
    d.data_out = out;
    d.output_frames = cap;
    d.src_ratio = ratio;
    int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
    free(in);
    if (err) {
        free(out);
        return tc_error_set("libsamplerate: %s", src_strerror(err));
    }
    *pcm = out;
    *n = d.output_frames_gen;
    return 0;
#else
    (void)sp; (void)text; (void)pcm; (void)n;
    return tc_error_set("audio needs espeak-ng (built without libespeak-ng)");
#endif
}

void tc_synth_speech_close(tc_synth_speech *sp) {
    if (!sp) return;
    free(sp->buf);
    free(sp);
}

static void put_u32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24); }
static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

int tc_synth_wav_write(const char *path, const float *pcm, int64_t n, int rate) {
    if (n < 0 || n > 0x3FFFFFF0 / 2) return tc_error_set("%s: %lld samples do not fit a WAV file", path, (long long)n);
    size_t bytes = 44 + (size_t)n * 2;
    unsigned char *b = tc_xmalloc(bytes);
    memcpy(b, "RIFF", 4); put_u32(b + 4, (uint32_t)(bytes - 8));
    memcpy(b + 8, "WAVEfmt ", 8); put_u32(b + 16, 16);
    put_u16(b + 20, 1); /* PCM */
    put_u16(b + 22, 1); /* mono */
    put_u32(b + 24, (uint32_t)rate); put_u32(b + 28, (uint32_t)rate * 2);
    put_u16(b + 32, 2); put_u16(b + 34, 16);
    memcpy(b + 36, "data", 4); put_u32(b + 40, (uint32_t)(n * 2));
    for (int64_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        v = v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v;
        put_u16(b + 44 + 2 * i, (uint16_t)(int16_t)lrintf(v));
    }
    int rc = tc_write_file_atomic(path, b, bytes);
    free(b);
    return rc;
}
