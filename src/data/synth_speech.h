/* Speech for `taichu synth`: Mandarin text -> 16 kHz mono PCM through libespeak-ng, in process.
 *
 * Voice "cmn-latn-pinyin": espeak-ng 1.51 with "cmn"/"zh" turns hanzi into pinyin with tone digits and
 * then reads the digits in English; this voice reads the tones. espeak produces 22050 Hz 16-bit audio,
 * resampled to 16 kHz with libsamplerate (SRC_SINC_MEDIUM_QUALITY, deterministic).
 * espeak-ng keeps global state, so one tc_synth_speech per process, used from one thread.
 * Without libespeak-ng at build time (TAICHU_HAVE_ESPEAK undefined) open() fails with a message that
 * says audio needs espeak-ng. */
#ifndef TC_DATA_SYNTH_SPEECH_H
#define TC_DATA_SYNTH_SPEECH_H

#include <stdint.h>

enum { TC_SYNTH_AUDIO_RATE = 16000 };

typedef struct tc_synth_speech tc_synth_speech;

/* 1 when this build can speak (libespeak-ng was found). */
int tc_synth_speech_available(void);
tc_synth_speech *tc_synth_speech_open(void);
/* Speak UTF-8 text; *pcm (malloc'd, [*n] floats in [-1, 1] at 16 kHz) is owned by the caller. */
int tc_synth_speech_say(tc_synth_speech *sp, const char *text, float **pcm, int64_t *n);
void tc_synth_speech_close(tc_synth_speech *sp);

/* Write mono float PCM as a 16-bit PCM WAV file, atomically. */
int tc_synth_wav_write(const char *path, const float *pcm, int64_t n, int rate);

#endif
