#!/usr/bin/python3
"""Writes the MFCC reference fixtures tests/fixtures/dsp/mfcc_*.npy (float32) with tools/mfcc_reference.py.

Synthetic signals are defined by formula here and in tests/dsp/test_mfcc.c (same formulas, float64 then
float32), so the test regenerates the input instead of storing 79,380 samples per signal:
  sine     0.5 sin(2 pi 440 i / 22050), 79,380 samples
  chirp    0.5 sin(2 pi (100 t + (8000 - 100) / (2 * 3.6) t^2)), t = i / 22050, 79,380 samples
  noise    0.3 (2u - 1), u from the 64-bit LCG s = s * 6364136223846793005 + 1442695040888963407 (s0 = 42),
           u = (s >> 11) / 2^53, 79,380 samples
  silence  79,380 zeros (the 1e-10 floor and top_db)
  short    the first 1,000 samples of sine (2 frames; reflect padding folds more than once)
  sr16k    0.5 sin(2 pi 1000 i / 16000), 32,000 samples, sr 16000, n_mfcc 13
Real speech: three RAVDESS clips decoded by avemo itself (`avemo features --kind waveform`: decode, downmix,
soxr HQ to 22,050 Hz, center crop / pad to 3.6 s), so the fixture checks the MFCC and not the resampler:
  mfcc_speech.npy [3, 10, 156] (constant padding), mfcc_speech_reflect.npy (pad_mode reflect)
Run from the repository root after `make` (needs ./avemo and ../shared).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mfcc_reference as ref  # noqa: E402

OUT = "tests/fixtures/dsp"
N = 79380
SPEECH = [
    "data/ravdess-speech/Actor_01/03-01-01-01-01-01-01.flac",  # mono, 3.30 s: padded
    "data/ravdess-speech/Actor_01/03-01-02-01-01-02-01.flac",  # stereo (downmix), 3.60 s: cropped by 79
    "data/ravdess-speech/Actor_12/03-01-08-02-02-02-12.flac",  # mono, 3.67 s: cropped
]


def lcg_noise(n, seed=42):
    s = seed
    out = np.empty(n, dtype=np.float64)
    mask = (1 << 64) - 1
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & mask
        out[i] = 0.3 * (2.0 * ((s >> 11) * (1.0 / 9007199254740992.0)) - 1.0)
    return out.astype(np.float32)


def signals():
    i = np.arange(N, dtype=np.float64)
    t = i / 22050
    sine = (0.5 * np.sin(2 * np.pi * 440 * i / 22050)).astype(np.float32)
    chirp = (0.5 * np.sin(2 * np.pi * (100 * t + (8000 - 100) / (2 * 3.6) * t * t))).astype(np.float32)
    return {"sine": sine, "chirp": chirp, "noise": lcg_noise(N), "silence": np.zeros(N, np.float32)}


def save(name, arr):
    path = os.path.join(OUT, name)
    np.save(path, np.asarray(arr, dtype=np.float32))
    print(path, arr.shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    sig = signals()
    for name, x in sig.items():
        save("mfcc_%s.npy" % name, ref.mfcc(x))
    save("mfcc_short_constant.npy", ref.mfcc(sig["sine"][:1000]))
    save("mfcc_short_reflect.npy", ref.mfcc(sig["sine"][:1000], pad_mode="reflect"))
    i = np.arange(32000, dtype=np.float64)
    x16 = (0.5 * np.sin(2 * np.pi * 1000 * i / 16000)).astype(np.float32)
    save("mfcc_sr16k.npy", ref.mfcc(x16, sr=16000, n_mfcc=13))

    shared = os.environ.get("AVEMO_SHARED") or "../shared"
    paths = [os.path.join(shared, p) for p in SPEECH]
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "w.npy")
        subprocess.run(["./avemo", "features", "--kind", "waveform", "--out", wav] + paths, check=True)
        w = np.load(wav)[:, 0, :]
    save("mfcc_speech.npy", np.stack([ref.mfcc(r) for r in w]))
    save("mfcc_speech_reflect.npy", np.stack([ref.mfcc(r, pad_mode="reflect") for r in w]))


if __name__ == "__main__":
    main()
