#!/usr/bin/python3
"""Golden audio files for tests/test_audio.c. Needs espeak-ng, numpy, torch, torchaudio (Debian).

Run:  /usr/bin/python3 tests/data/audio/make_goldens.py
Writes, next to this script:
  speech22k.wav        espeak-ng -v cmn-latn-pinyin output (22050 Hz, 16-bit mono), as spoken
  speech16k.wav        speech22k resampled to 16 kHz by torchaudio (kaiser_best settings), 16-bit
  chirp16k.wav         100 Hz -> 7 kHz linear chirp + a 300 Hz tone + -50 dB noise, 1 s, 16-bit
  sines44k.flac        stereo FLAC, 44.1 kHz: 440 Hz left, 1000 Hz right (tests mix-down + resampling)
  *_fbank.npy          torchaudio.compliance.kaldi.fbank(w * 32768, num_mel_bins=80, dither=0) of the
                       16 kHz files, float32 [frames, 80]
  speech22k_fbank_ref.npy  the same fbank of speech22k resampled by torchaudio in float (no int16
                       rounding): reference for the whole read -> resample -> fbank path
  feat_*.npz           the original's precomputed-feature layout ("feat", [T,1024] or [1024,T]) and bad
                       variants; values follow feat_value() so the C test recomputes them
  bad files            not_audio.wav, empty.wav, truncated.wav, short16k.wav
"""
import os
import subprocess
import tempfile

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as AF

HERE = os.path.dirname(os.path.abspath(__file__))
P = lambda name: os.path.join(HERE, name)  # noqa: E731


def save16(path, w, sr):
    torchaudio.save(path, torch.as_tensor(w, dtype=torch.float32).reshape(1, -1) if w.ndim == 1 else torch.as_tensor(w),
                    sr, encoding="PCM_S", bits_per_sample=16)


def fbank(w16k):
    """Kaldi fbank of a [-1,1] float waveform, on the int16 scale Kaldi expects."""
    x = torch.as_tensor(w16k, dtype=torch.float32).reshape(1, -1) * 32768.0
    return kaldi.fbank(x, num_mel_bins=80, dither=0.0, sample_frequency=16000.0).numpy().astype(np.float32)


def kaiser_best(w, sr_in, sr_out):
    """torchaudio's equivalent of resampy/librosa 'kaiser_best' (a high-quality reference resampler)."""
    return AF.resample(torch.as_tensor(w, dtype=torch.float32).reshape(1, -1), sr_in, sr_out, lowpass_filter_width=64,
                       rolloff=0.9475937167399596, resampling_method="kaiser_window",
                       beta=14.769656459379492).reshape(-1).numpy()


# --- speech: espeak-ng Mandarin (pinyin voice; tones as digits) ---
with tempfile.TemporaryDirectory() as td:
    raw = os.path.join(td, "s.wav")
    subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", raw, "ni3 hao3, shi4 jie4"], check=True)
    w22, sr = torchaudio.load(raw)
assert sr == 22050, sr
w22 = w22[0].numpy()
save16(P("speech22k.wav"), w22, 22050)
w22, _ = torchaudio.load(P("speech22k.wav"))      # exactly what the C side reads
w22 = w22[0].numpy()
ref16 = kaiser_best(w22, 22050, 16000)
np.save(P("speech22k_fbank_ref.npy"), fbank(ref16))
save16(P("speech16k.wav"), ref16, 16000)
w16, _ = torchaudio.load(P("speech16k.wav"))
np.save(P("speech16k_fbank.npy"), fbank(w16[0].numpy()))

# --- chirp: deterministic synthetic signal covering the whole mel range ---
t = np.arange(16000) / 16000.0
# A -50 dB seeded noise floor keeps every FFT bin far above float32 FFT rounding noise (a pure tone's
# out-of-band bins sit ~90 dB down, where float32 FFTs, ours and torch's alike, disagree by ~0.1 in log).
noise = np.random.default_rng(1234).standard_normal(16000) * 0.003
chirp = 0.4 * np.sin(2 * np.pi * (100 * t + 0.5 * 6900 * t * t)) + 0.1 * np.sin(2 * np.pi * 300 * t) + noise
save16(P("chirp16k.wav"), chirp, 16000)
wc, _ = torchaudio.load(P("chirp16k.wav"))
np.save(P("chirp16k_fbank.npy"), fbank(wc[0].numpy()))

# --- stereo FLAC at 44.1 kHz: the mono mix at 16 kHz is known analytically ---
t44 = np.arange(22050) / 44100.0
stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t44), 0.3 * np.sin(2 * np.pi * 1000 * t44)])
torchaudio.save(P("sines44k.flac"), torch.as_tensor(stereo, dtype=torch.float32), 44100, format="flac",
                bits_per_sample=16)

# --- bad audio files ---
with open(P("not_audio.wav"), "w") as fh:
    fh.write("this is a text file, not a RIFF/WAVE file\n")
open(P("empty.wav"), "wb").close()
with open(P("speech16k.wav"), "rb") as fh:
    head = fh.read(44)
with open(P("truncated.wav"), "wb") as fh:
    fh.write(head)                                # header promising samples, no data at all
save16(P("short16k.wav"), chirp[:300], 16000)     # shorter than one 25 ms window (400 samples)


# --- the original's precomputed features ---
def feat_value(t, d):
    """Exactly representable in float16 and float32; mirrored in tests/test_audio.c."""
    return ((t * 31 + d * 7) % 64) / 16.0 - 2.0


def feat(T, D):
    tt, dd = np.meshgrid(np.arange(T), np.arange(D), indexing="ij")
    return feat_value(tt, dd).astype(np.float32)


np.savez_compressed(P("feat_tc.npz"), feat=feat(60, 1024))              # [T,1024], T > 50: truncated
np.savez(P("feat_ct.npz"), feat=feat(30, 1024).T.astype(np.float16))    # [1024,T]: transposed
np.savez_compressed(P("feat_short.npz"), feat=feat(7, 1024).astype(">f8"))
np.savez(P("feat_wrongkey.npz"), features=feat(5, 1024))
np.savez(P("feat_wrongshape.npz"), feat=feat(3, 512))
np.savez(P("feat_1d.npz"), feat=np.zeros(1024, np.float32))
print("audio goldens written")
