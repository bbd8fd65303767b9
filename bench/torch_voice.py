#!/usr/bin/python3
"""PyTorch twin of `avemo train --modality audio` (issue 13): the same recipe on the same folds of the same cache.

It reads what the C run wrote, so that nothing is chosen twice:
  RUN/report.json   the folds (test and validation actors) and the run's options ("config": optimizer, schedule,
                    epochs, batch, augmentations, speaker normalisation, ensemble, refit, the audio stream)
  CACHE/index.json  the samples (id, actor, label) and CACHE/audio/<id>.npy, the features prep wrote [C, F]
and trains torch's version of every step with torch's own random numbers (initialisation, order, dropout and
augmentation draws differ from the C run; the numbers are a reference, not a bit-exact copy):

  features      standardised with the training actors' mean and population std per coefficient (std < 1e-8 -> 1),
                or per actor with the actor's own clips (speaker_norm)
  model         the baseline's audio stream: 4 x [Conv1d(k=3, valid) + BatchNorm1d + ReLU + MaxPool1d(2, stride)],
                channels C -> 64 -> 128 -> 256 -> 128, temporal mean, Dropout(p), Linear(128, classes)
  optimizer     SGD(momentum, dampening, weight_decay) with MultiStepLR per epoch, or AdamW with OneCycleLR per step
                (torch defaults: pct_start 0.3, div 25, final div 1e4, cycle_momentum), cosine or constant
  augmentation  time shift (torch.roll), SpecAugment time/coefficient masks, Gaussian noise, tempo stretch
                (F.interpolate linear, align_corners=False, centre crop / zero pad), mixup (Beta(a, a))
  train_extra   copies of the same clips (other caches, e.g. prep --speed): their rows of the training actors join
                the training set, standardised with the main cache's training statistics
  selection     the epoch with the best validation top-1 (first best), or the last epoch without validation;
                refit: again on training + validation actors for the selected epochs, last epoch
  ensemble      N seeds per fold, test softmax averaged

usage: /usr/bin/python3 bench/torch_voice.py --run RUN --cache CACHE [--folds 1,2] [--threads 1] [--out X.json]
prints one JSON line: per-fold top-1 and macro-F1 (percent), their mean and sample std (ddof 1).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_cache(cache):
    index = json.load(open(os.path.join(cache, "index.json")))
    samples = [s for s in index["samples"] if s.get("audio")]
    x = np.stack([np.load(os.path.join(cache, "audio", s["id"] + ".npy")) for s in samples]).astype(np.float32)
    actor = np.array([s["actor"] for s in samples])
    label = np.array([s["label"] for s in samples])
    return x, actor, label, len(index["classes"])


def standardise(x, actor, train_mask, speaker_norm):
    """x [N, C, F] -> standardised copy (see the module doc)."""
    x = x.copy()

    def stats(rows):
        mu = rows.mean(axis=(0, 2), keepdims=True, dtype=np.float64)
        sd = rows.std(axis=(0, 2), keepdims=True, dtype=np.float64)
        sd[sd < 1e-8] = 1.0
        return mu.astype(np.float32), sd.astype(np.float32)

    if speaker_norm:
        for a in np.unique(actor):
            m = actor == a
            mu, sd = stats(x[m])
            x[m] = (x[m] - mu) / sd
        return x
    mu, sd = stats(x[train_mask])
    return (x - mu) / sd


class BaselineAudio(nn.Module):
    def __init__(self, c_in, n_classes, stride, dropout, channels=(64, 128, 256, 128)):
        super().__init__()
        layers, c = [], c_in
        for co in channels:
            layers += [nn.Conv1d(c, co, 3), nn.BatchNorm1d(co), nn.ReLU(), nn.MaxPool1d(2, stride)]
            c = co
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x):
        return self.classifier(self.dropout(self.features(x).mean(-1)))


def augment(xb, cfg, gen):
    """The per-clip augmentations of train/augment.h on xb [B, C, F], in its order: speed, shift, noise, masks."""
    B, C, T = xb.shape
    out = []
    for b in range(B):
        x = xb[b:b + 1]
        if cfg.get("speed", 0) > 0:
            r = 1 + cfg["speed"] * (2 * torch.rand(1, generator=gen).item() - 1)
            n = max(1, int(round(T * r)))
            z = F.interpolate(x, size=n, mode="linear", align_corners=False)
            x = z[..., (n - T) // 2:(n - T) // 2 + T] if n >= T else F.pad(z, ((T - n) // 2, T - n - (T - n) // 2))
        if cfg.get("time_shift", 0) > 0:
            s = cfg["time_shift"]
            x = torch.roll(x, int(torch.randint(-s, s + 1, (1,), generator=gen)), -1)
        if cfg.get("noise", 0) > 0:
            x = x + cfg["noise"] * torch.randn(x.shape, generator=gen)
        if cfg.get("time_mask", 0) > 0 or cfg.get("freq_mask", 0) > 0:
            x = x.clone()
        if cfg.get("time_mask", 0) > 0:
            w = int(torch.randint(0, min(cfg["time_mask"], T) + 1, (1,), generator=gen))
            t0 = int(torch.randint(0, T - w + 1, (1,), generator=gen))
            x[..., t0:t0 + w] = 0
        if cfg.get("freq_mask", 0) > 0:
            w = int(torch.randint(0, min(cfg["freq_mask"], C) + 1, (1,), generator=gen))
            c0 = int(torch.randint(0, C - w + 1, (1,), generator=gen))
            x[:, c0:c0 + w] = 0
        out.append(x)
    return torch.cat(out)


def make_optimizer(model, cfg, steps_per_epoch, epochs):
    if cfg["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], dampening=cfg["dampening"],
                              weight_decay=cfg["weight_decay"], nesterov=bool(cfg["nesterov"]))
    elif cfg["optimizer"] == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    per_step = cfg["schedule"] == "onecycle"
    if per_step:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=epochs * steps_per_epoch)
    elif cfg["schedule"] == "multistep":
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, cfg["milestones"], cfg["gamma"])
    elif cfg["schedule"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, cfg["min_lr"])
    else:
        sched = None
    return opt, sched, per_step


def top1(probs, y):
    return float((probs.argmax(1) == y).mean())


def train_one(cfg, x, y, tr, va, seed, epochs, n_classes):
    """One model on rows tr, selected on rows va (the last epoch when va is empty): its state dict."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    m = cfg["model"]
    model = BaselineAudio(x.shape[1], n_classes, m.get("baseline_pool_stride", 1), m["dropout"])
    bs = cfg["batch"]
    steps = (len(tr) + bs - 1) // bs
    opt, sched, per_step = make_optimizer(model, cfg, steps, epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    best, best_state, best_epoch = -1.0, None, 0
    for ep in range(epochs):
        model.train()
        order = tr[torch.randperm(len(tr), generator=gen).numpy()]
        for i in range(0, len(order), bs):
            rows = order[i:i + bs]
            xb, yb = augment(xt[rows], cfg, gen), yt[rows]
            if cfg.get("mixup", 0) > 0:
                lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen))).beta(
                    cfg["mixup"], cfg["mixup"]))
                perm = torch.randperm(len(rows), generator=gen)
                out = model(lam * xb + (1 - lam) * xb[perm])
                loss = lam * F.cross_entropy(out, yb, label_smoothing=m["label_smoothing"]) + (1 - lam) * F.cross_entropy(
                    out, yb[perm], label_smoothing=m["label_smoothing"])
            else:
                loss = F.cross_entropy(model(xb), yb, label_smoothing=m["label_smoothing"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if per_step:
                sched.step()
        if sched is not None and not per_step:
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = top1(model(xt[va]).numpy(), y[va]) if len(va) else 0.0
        if len(va) == 0 or acc > best:
            best, best_epoch = acc, ep + 1
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, best_epoch


def macro_f1(pred, y, n_classes):
    f = []
    for c in range(n_classes):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn:
            f.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f)) if f else 0.0


def run_fold(cfg, x, actor, y, fold, n_classes, seed, extras=()):
    test = np.isin(actor, fold["test_actors"])
    val = np.isin(actor, fold["val_actors"])
    train = ~test & ~val
    n_members = cfg.get("ensemble", 1)
    refit = cfg.get("refit", False)
    fit = train | (val if refit else np.zeros_like(val))
    tr, va, te = np.where(train)[0], np.where(val)[0], np.where(test)[0]
    # train_extra: the copies' rows stacked under the clips', left out of the statistics; their training rows (and
    # for a refit their validation rows) train, validation and test stay the clips'
    n, k = len(x), 1 + len(extras)
    x, actor, y = np.concatenate([x, *extras]), np.tile(actor, k), np.tile(y, k)
    fit = np.concatenate([fit] + [np.zeros(n, bool)] * (k - 1))
    tr = np.concatenate([tr + j * n for j in range(k)])
    va_extra = np.concatenate([va + j * n for j in range(1, k)]) if refit and k > 1 else np.array([], int)
    xs = standardise(x, actor, fit, cfg.get("speaker_norm", False))
    probs, members = 0, []
    for j in range(n_members):
        s = seed * 1000 + 17 * fold["fold"] + j
        model, best_epoch = train_one(cfg, xs, y, tr, va, s, cfg["epochs"], n_classes)
        if refit:
            model, _ = train_one(cfg, xs, y, np.concatenate([tr, va, va_extra]), np.array([], int), s, best_epoch,
                                 n_classes)
        with torch.no_grad():
            p = F.softmax(model(torch.from_numpy(xs[te])), 1).numpy()
        members.append(100 * top1(p, y[te]))
        probs = probs + p
    pred = probs.argmax(1)
    return 100 * float((pred == y[te]).mean()), 100 * macro_f1(pred, y[te], n_classes), members


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="a C run's folder (report.json)")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--folds", default="", help="1-based fold numbers (default: all of the report's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    report = json.load(open(os.path.join(a.run, "report.json")))
    cfg = report["config"]
    if cfg["model"]["audio_stream"] != "baseline" or cfg["model"]["modality"] != "audio":
        sys.exit("torch_voice.py: only the baseline audio stream, --modality audio, is twinned")
    x, actor, y, n_classes = load_cache(a.cache)
    extras = []
    for e in cfg.get("train_extra", []):  # avemo train --train-extra: copies of the same clips, training rows only
        xe, ae, ye, _ = load_cache(e["cache"])
        if xe.shape != x.shape or (ae != actor).any() or (ye != y).any():
            sys.exit("torch_voice.py: %s does not hold the clips of %s" % (e["cache"], a.cache))
        extras.append(xe)
    want = [int(v) for v in a.folds.split(",")] if a.folds else [f["fold"] for f in report["folds"]]
    t0 = time.time()
    top, f1, members = [], [], []
    for fold in report["folds"]:
        if fold["fold"] not in want:
            continue
        t, f, m = run_fold(cfg, x, actor, y, fold, n_classes, a.seed, extras)
        top.append(t)
        f1.append(f)
        members.append(m)
        print("fold %d: top-1 %.2f macro-F1 %.2f members %s" % (fold["fold"], t, f, m), file=sys.stderr, flush=True)
    sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
    res = {"run": a.run, "protocol": report["protocol"], "folds": want, "top1": top, "macro_f1": f1,
           "top1_mean": float(np.mean(top)), "top1_std_ddof1": sd(top), "macro_f1_mean": float(np.mean(f1)),
           "member_top1": members, "member_top1_mean": float(np.mean([np.mean(m) for m in members])),
           "seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    line = json.dumps(res)
    print(line)
    if a.out:
        open(a.out, "w").write(line + "\n")


if __name__ == "__main__":
    main()
