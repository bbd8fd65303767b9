#!/usr/bin/python3
"""Reference MFCC: librosa 0.10's `librosa.feature.mfcc(y=y, sr=sr, n_mfcc=...)` re-implemented with numpy and
scipy only (librosa is not installed here), formula for formula:

  librosa.filters.mel      Slaney mel scale (htk=False), norm='slaney', built in float64, returned as float32
  librosa.stft             n_fft 2048, hop 512, periodic Hann (scipy get_window('hann', fftbins=True)),
                           center=True with np.pad(mode='constant') (0.10 default) or 'reflect'
  melspectrogram           mel_basis @ |stft|**2
  librosa.power_to_db      10*log10(max(amin, S)) - 10*log10(max(amin, ref)), amin 1e-10, ref 1.0, then
                           max(log_spec, log_spec.max() - top_db), top_db 80
  mfcc                     scipy.fftpack.dct(S, axis=-2, type=2, norm='ortho')[:n_mfcc]

Everything after the mel basis is float64 (librosa computes in float32 for float32 input; the difference is
~1e-5 dB, far below the 1e-3 test tolerance).

  /usr/bin/python3 tools/mfcc_reference.py IN.npy OUT.npy [--sr 22050] [--n-mfcc 10] [--pad-mode constant]

IN.npy holds mono samples (1-D, or [rows, 1, n] as `avemo features --kind waveform` writes); OUT.npy gets
float32 [n_mfcc, frames] (or [rows, n_mfcc, frames]).
"""
import argparse

import numpy as np
import scipy.fftpack
import scipy.signal


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    if f.ndim:
        log_t = f >= min_log_hz
        mels[log_t] = min_log_mel + np.log(f[log_t] / min_log_hz) / logstep
    elif f >= min_log_hz:
        mels = min_log_mel + np.log(f / min_log_hz) / logstep
    return mels


def mel_to_hz(mels):
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


def mel_filters(sr, n_fft, n_mels=128, fmin=0.0, fmax=None):
    if fmax is None:
        fmax = float(sr) / 2
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def power_spectrogram(y, n_fft=2048, hop=512, pad_mode="constant"):
    y = np.asarray(y, dtype=np.float64)
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    yp = np.pad(y, n_fft // 2, mode=pad_mode)
    frames = 1 + (len(yp) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(yp[idx] * window[None, :], axis=1).T  # [1 + n_fft/2, frames]
    return np.abs(spec) ** 2


def power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0):
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def log_mel(y, sr=22050, n_fft=2048, hop=512, n_mels=128, pad_mode="constant"):
    S = power_spectrogram(y, n_fft, hop, pad_mode)
    M = mel_filters(sr, n_fft, n_mels).astype(np.float64) @ S
    return power_to_db(M)


def mfcc(y, sr=22050, n_mfcc=10, n_fft=2048, hop=512, n_mels=128, pad_mode="constant"):
    L = log_mel(y, sr, n_fft, hop, n_mels, pad_mode)
    return scipy.fftpack.dct(L, axis=-2, type=2, norm="ortho")[:n_mfcc]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--n-mfcc", type=int, default=10)
    ap.add_argument("--pad-mode", default="constant", choices=["constant", "reflect"])
    a = ap.parse_args()
    x = np.load(a.inp)
    if x.ndim == 1:
        out = mfcc(x, a.sr, a.n_mfcc, pad_mode=a.pad_mode)
    else:
        x = x.reshape(x.shape[0], -1)
        out = np.stack([mfcc(r, a.sr, a.n_mfcc, pad_mode=a.pad_mode) for r in x])
    np.save(a.out, out.astype(np.float32))


if __name__ == "__main__":
    main()
