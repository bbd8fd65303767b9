#!/usr/bin/python3
"""Top-1 of ensembles of saved predictions (issue 14): the CSVs that `avemo eval --probs` writes for several
models on the same samples; every combination of 1..K of them, the mean of their probabilities.
    bench/ensemble_probs.py [--max K] NAME=FILE.csv ...
Prints one line per combination: its members and top-1 (%)."""
import argparse
import csv
import itertools
import sys

import numpy as np


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    classes = rows[0][2:]
    ids = [r[0] for r in rows[1:]]
    labels = np.array([classes.index(r[1]) for r in rows[1:]])
    probs = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    return ids, labels, probs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=3, help="largest ensemble")
    ap.add_argument("runs", nargs="+", help="NAME=FILE.csv")
    a = ap.parse_args()
    runs = {}
    ref = None
    for spec in a.runs:
        name, path = spec.split("=", 1)
        ids, labels, probs = read(path)
        if ref is None:
            ref = (ids, labels)
        elif ids != ref[0] or not np.array_equal(labels, ref[1]):
            sys.exit(f"{path}: not the same samples in the same order as the first file")
        runs[name] = probs
    labels = ref[1]
    for k in range(1, min(a.max, len(runs)) + 1):
        for combo in itertools.combinations(runs, k):
            mean = sum(runs[m] for m in combo) / k
            print(f"{k}  {' + '.join(combo):60s} {100 * (mean.argmax(1) == labels).mean():6.2f}")


if __name__ == "__main__":
    main()
