#!/usr/bin/python3
"""The prediction path on a train run's folds (issue 13): each fold's model (RUN/fold_K/model.safetensors) predicts
its test actors' audio files through `avemo predict`, the way a user would (features recomputed from the media by the
featurizer), with or without per-speaker statistics and test-time crops. Prints one JSON line: per-fold top-1 and
macro-F1 (percent), their mean and sample std (ddof 1), and the clips that fed each speaker's statistics.

usage: /usr/bin/python3 bench/voice_predict.py --run RUN --data DIR [--avemo ./avemo] [--speaker-norm] [--crops K]
  DIR: the RAVDESS tree the cache was prepared from (Actor_XX/03-...); labels and actors come from the names.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np


def macro_f1(pred, y, n_classes):
    f = []
    for c in range(n_classes):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn:
            f.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--avemo", default="./avemo")
    ap.add_argument("--speaker-norm", action="store_true")
    ap.add_argument("--crops", type=int, default=0)
    a = ap.parse_args()
    report = json.load(open(os.path.join(a.run, "report.json")))
    files = sorted(glob.glob(os.path.join(a.data, "Actor_*", "03-01-*")))
    actor_of = lambda f: int(os.path.basename(f).split(".")[0].split("-")[6])
    label_of = lambda f: int(os.path.basename(f).split("-")[2]) - 1
    top, f1, clips = [], [], {}
    for fold in report["folds"]:
        test = [f for f in files if actor_of(f) in fold["test_actors"]]
        cmd = [a.avemo, "predict", "--json", "--model", os.path.join(a.run, "fold_%d" % fold["fold"], "model.safetensors")]
        if a.speaker_norm:
            cmd.append("--speaker-norm")
        if a.crops:
            cmd += ["--crops", str(a.crops)]
        out = subprocess.run(cmd + ["--"] + test, capture_output=True, text=True)
        if out.returncode:
            sys.exit("fold %d: %s" % (fold["fold"], out.stderr.strip()))
        res = json.loads(out.stdout)["files"]
        pred = np.array([r["class_index"] for r in res])
        y = np.array([label_of(r["file"]) for r in res])
        top.append(100 * float((pred == y).mean()))
        f1.append(100 * macro_f1(pred, y, len(report["classes"])))
        for r in res:
            if "speaker" in r:
                clips[r["speaker"]] = r["speaker_clips"]
        print("fold %d: top-1 %.2f macro-F1 %.2f (%d files)" % (fold["fold"], top[-1], f1[-1], len(res)), file=sys.stderr)
    print(json.dumps({"run": a.run, "speaker_norm": a.speaker_norm, "crops": a.crops, "top1": top,
                      "top1_mean": float(np.mean(top)), "top1_std_ddof1": float(np.std(top, ddof=1)) if len(top) > 1
                      else None, "macro_f1_mean": float(np.mean(f1)), "speaker_clips": clips}))


if __name__ == "__main__":
    main()
