#!/usr/bin/python3
"""PyTorch side of bench/bench_finetune.c (Debian python3-torch 1.13): one fine-tuning step of torchvision's
mobilenet_v2 (width 1.0, random init, 1-channel stem) in train mode, channels_last, on the cases printed by
`bench_finetune --specs` ("spec <case> <batch> <in_channels> <h> <w>"): features -> global average pool ->
standardise -> Linear(1280, 7) -> cross-entropy with label smoothing 0.1 -> backward -> AdamW step
(lr 1e-4, weight decay 0.05). The C side's head is the project's attention head at T = 1, which costs < 1 % of
the backbone either way.

usage: /usr/bin/python3 bench/torch_finetune.py SPECS_FILE [--threads N] [--reps R] [--cpu-time]
Prints "result <case> step <best ms> <GFLOP/s>" with bench_finetune.c's nominal FLOP count (3 x 2 x conv MACs).
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402
from torch_mobilenetv2 import conv_macs  # noqa: E402

K = 7


def make_model():
    m = torchvision.models.mobilenet_v2(weights=None)
    m.features[0][0] = torch.nn.Conv2d(1, 32, 3, 2, 1, bias=False)
    torch.nn.init.kaiming_normal_(m.features[0][0].weight, mode="fan_out")
    m.classifier = torch.nn.Linear(1280, K)
    return m.to(memory_format=torch.channels_last)


def main():
    a = twin.parse()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__} torchvision {torchvision.__version__} fine-tuning step: "
          f"{torch.get_num_threads()} threads, channels_last, best of {a.reps}, {a.clock_name} time")
    for line in open(a.specs):
        f = line.split()
        if not f or f[0] != "spec":
            continue
        name = f[1]
        n, c, h, w = map(int, f[2:6])
        model = make_model()
        x = (torch.rand(n, c, h, w) * 2 - 1).contiguous(memory_format=torch.channels_last)
        flops = 3 * 2.0 * conv_macs(model.features, x) * n  # runs an eval-mode forward
        model.train()
        labels = torch.arange(n) % K
        mean, std = torch.zeros(1280), torch.ones(1280)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

        def step():
            opt.zero_grad(set_to_none=True)
            feat = F.adaptive_avg_pool2d(model.features(x), 1).flatten(1)
            logits = model.classifier((feat - mean) / std)
            F.cross_entropy(logits, labels, label_smoothing=0.1).backward()
            opt.step()

        t = a.best(step)
        print(f"result {name} step {t * 1e3:.3f} {flops / t * 1e-9:.2f}")
        print(f"# {name} step: batch {n}, {t * 1e3 / n:.2f} ms/image, {n / t:.1f} images/s")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
