#!/usr/bin/python3
"""Reference YIN pitch track in numpy (src/dsp/pitch.h, formula for formula): frames of the STFT (center=True,
zero padding frame/2 each side, hop), W = frame/2, d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 (here through FFT
cross-correlation and cumulative energies, float64), cumulative mean normalised d' (1 where the running sum is 0),
first lag below the threshold descended to its local minimum (else the range's global minimum), parabolic
refinement. Also the voice stream's two rows (log2(f0/100) where voiced, periodicity).

  /usr/bin/python3 tools/pitch_reference.py IN.npy OUT.npy     # IN [rows, 1, n] or [n] waveforms -> [rows, 2, frames]
  /usr/bin/python3 tools/pitch_reference.py --fixture           # tests/fixtures/dsp/pitch_*.npy
"""
import os
import sys

import numpy as np

SR, FRAME, HOP, FMIN, FMAX, THR = 22050, 2048, 512, 60.0, 500.0, 0.15


def yin(y, sr=SR, frame=FRAME, hop=HOP, fmin=FMIN, fmax=FMAX, thr=THR):
    y = np.asarray(y, dtype=np.float64)
    W, half = frame // 2, frame // 2
    tmin, tmax = int(sr / fmax), int(sr / fmin)
    yp = np.pad(y, half)
    n = 1 + len(y) // hop
    X = yp[np.arange(n)[:, None] * hop + np.arange(frame)[None, :]]
    nf = 1 << int(np.ceil(np.log2(2 * frame)))
    c = np.fft.irfft(np.conj(np.fft.rfft(X[:, :W], nf)) * np.fft.rfft(X, nf), nf)[:, :tmax + 2]
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(X ** 2, 1)], 1)
    taus = np.arange(tmax + 2)
    d = (cs[:, W:W + 1] - cs[:, 0:1]) + (cs[:, taus + W] - cs[:, taus]) - 2 * c
    d[:, 0] = 0
    d = np.maximum(d, 0)
    running = np.cumsum(d[:, 1:], 1)
    cm = np.ones_like(d)
    cm[:, 1:] = np.where(running > 0, d[:, 1:] * taus[1:] / np.where(running > 0, running, 1), 1.0)
    f0, aper = np.zeros(n), np.ones(n)
    for t in range(n):
        s = cm[t]
        below = np.where(s[tmin:tmax + 1] < thr)[0]
        if len(below):
            tau = tmin + below[0]
            while tau + 1 <= tmax and s[tau + 1] < s[tau]:
                tau += 1
        else:
            tau = tmin + int(np.argmin(s[tmin:tmax + 1]))
        s0, s1, s2 = s[tau - 1], s[tau], s[tau + 1]
        den = s0 - 2 * s1 + s2
        f0[t] = sr / (tau + 0.5 * (s0 - s2) / den if den > 1e-12 else tau)
        aper[t] = s1
    return f0, aper


def rows(f0, aper, thr=THR):
    voiced = (aper < thr) & (f0 > 0)
    return np.stack([np.where(voiced, np.log2(np.where(voiced, f0, 100.0) / 100.0), 0.0), np.clip(1 - aper, 0, 1)])


def fixture():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'dsp')
    t = np.arange(22050) / SR
    # a 180 Hz tone gliding to 240 Hz with harmonics, then silence, then noise
    phase = 2 * np.pi * (180 * t + 30 * t * t)
    x = 0.3 * np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
    x[14000:17000] = 0
    x[17000:] = 0.05 * np.random.RandomState(5).randn(22050 - 17000)
    f0, aper = yin(x.astype(np.float32))
    np.save(os.path.join(out, 'pitch_x.npy'), x.astype(np.float32))
    np.save(os.path.join(out, 'pitch_track.npy'), np.stack([f0, aper]).astype(np.float64))
    print('wrote', os.path.normpath(out) + '/pitch_{x,track}.npy:', len(f0), 'frames')


def main():
    if sys.argv[1:] == ['--fixture']:
        return fixture()
    w = np.load(sys.argv[1])
    w = w.reshape(-1, w.shape[-1])
    np.save(sys.argv[2], np.stack([rows(*yin(r)) for r in w]).astype(np.float32))


if __name__ == '__main__':
    main()
