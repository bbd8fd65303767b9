#!/usr/bin/python3
"""PyTorch side of the conv benchmark (Debian python3-torch 1.13): the layer shapes printed by
`bench_conv --specs`, channels_last (NHWC) tensors, torch.set_num_threads(N), best of R repeats.

usage: /usr/bin/python3 bench/torch_conv.py SPECS_FILE [--threads N] [--reps R] [--cpu-time]
(--cpu-time: process CPU time instead of wall time, as bench_conv --cpu-time; meaningful with 1 thread)
Prints "result <layer> <fwd|bwd> <best ms> <GFLOP/s>" with the same nominal FLOP count as bench_conv.c.
Forward runs under no_grad; backward is torch.autograd.grad of the saved graph (dx only where bench_conv
computes it), the same work our conv2d_backward does.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402


def main():
    a = twin.parse()
    threads, reps, best = a.threads, a.reps, a.best
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__} conv: {torch.get_num_threads()} threads, channels_last, best of {reps}, "
          f"{a.clock_name} time")
    for line in open(a.specs):
        f = line.split()
        if not f or f[0] != "spec":
            continue
        name, kind = f[1], f[2]
        n, h, w, ci, co, kh, kw, sh, sw, pt, pl, pb, pr, g, need_dx = map(int, f[3:])
        if kind == "conv1d":  # [b, c, t] (torch's Conv1d layout; no channels_last for 3-d tensors)
            x = torch.randn(n, ci, w)
            wt = torch.randn(co, ci // g, kw)
            sym = pl == pr
            conv = lambda x, wt, b: F.conv1d(x if sym else F.pad(x, (pl, pr)), wt, b, stride=sw,
                                             padding=pl if sym else 0, groups=g)
        else:
            x = torch.randn(n, ci, h, w).to(memory_format=torch.channels_last)
            wt = torch.randn(co, ci // g, kh, kw).to(memory_format=torch.channels_last)
            sym = pt == pb and pl == pr
            conv = lambda x, wt, b: F.conv2d(x if sym else F.pad(x, (pl, pr, pt, pb)), wt, b, stride=(sh, sw),
                                             padding=(pt, pl) if sym else 0, groups=g)
        b = torch.randn(co)
        with torch.no_grad():
            y = conv(x, wt, b)
            tf = best(lambda: conv(x, wt, b), reps)
        x.requires_grad_(bool(need_dx))
        wt.requires_grad_(True)
        b.requires_grad_(True)
        y = conv(x, wt, b)
        dy = torch.randn_like(y)
        inputs = [x, wt, b] if need_dx else [wt, b]
        tb = best(lambda: torch.autograd.grad(y, inputs, dy, retain_graph=True), reps)
        flops = 2.0 * y.numel() * kh * kw * (ci // g)
        print(f"result {name} fwd {tf * 1e3:.3f} {flops / tf * 1e-9:.2f}")
        print(f"result {name} bwd {tb * 1e3:.3f} {flops * (2 if need_dx else 1) / tb * 1e-9:.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
