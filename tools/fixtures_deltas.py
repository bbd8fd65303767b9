#!/usr/bin/python3
"""Fixture for tests/dsp/test_deltas.c: librosa 0.10's feature.delta (width 9, mode 'interp') is
scipy.signal.savgol_filter(x, 9, deriv=order, polyorder=order, mode='interp', axis=-1) (librosa is not installed
here; that call is librosa's implementation). Writes tests/fixtures/dsp/deltas.npy, float64 [3, 3, 23]:
[0] the input rows, [1] their order-1 deltas, [2] their order-2 deltas.

  /usr/bin/python3 tools/fixtures_deltas.py
"""
import os

import numpy as np
import scipy.signal


def main():
    rng = np.random.RandomState(13)
    x = np.stack([rng.randn(23), np.linspace(-3, 5, 23) ** 2, 40 * np.sin(0.5 * np.arange(23))])
    d1 = scipy.signal.savgol_filter(x, 9, deriv=1, polyorder=1, mode='interp', axis=-1)
    d2 = scipy.signal.savgol_filter(x, 9, deriv=2, polyorder=2, mode='interp', axis=-1)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'dsp', 'deltas.npy')
    np.save(out, np.stack([x, d1, d2]).astype(np.float64))
    print('wrote', os.path.normpath(out))


if __name__ == '__main__':
    main()
