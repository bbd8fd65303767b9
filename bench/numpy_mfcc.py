#!/usr/bin/python3
"""Times tools/mfcc_reference.py's numpy/scipy MFCC (librosa 0.10 formulas) over every row of CLIPS.npy
[clips, samples] (float32); prints `numpy_mfcc_clips_per_s X` (best of --reps passes). Run by
bench/bench_features.c from the repo root. numpy's rfft and scipy's dct are single-threaded; the caller pins
BLAS (the mel matmul) to 1 thread, so this is a one-thread number.

  /usr/bin/python3 bench/numpy_mfcc.py CLIPS.npy [--reps 3]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import mfcc_reference  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clips")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    x = np.load(a.clips)
    x = x.reshape(x.shape[0], -1)
    best = float("inf")
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for row in x:
            mfcc_reference.mfcc(row)
        best = min(best, time.perf_counter() - t0)
    print("numpy_mfcc_clips_per_s %.3f" % (x.shape[0] / best))


if __name__ == "__main__":
    main()
