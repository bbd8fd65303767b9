#!/usr/bin/python3
"""PyTorch side of the head benchmark (Debian python3-torch 1.13): the cases printed by `bench_head --specs`
("spec <case> <modality> <fusion> <audio stream> <batch>"), the paper's sizes, the same network as
tools/fixtures_head.py (functional, channels-first Conv1d as PyTorch users write it), torch.set_num_threads(N),
best of R repeats.

usage: /usr/bin/python3 bench/torch_head.py SPECS_FILE [--threads N] [--reps R] [--cpu-time]
Prints "result <case> <eval|step> <best ms> 0": eval = eval-mode forward under no_grad, step = train-mode
forward + cross-entropy + backward (parameter gradients only), the work of model_forward + model_backward.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import fixtures_head as fh  # noqa: E402


def main():
    a = twin.parse()
    threads, reps, best = a.threads, a.reps, a.best
    torch.set_num_threads(threads)
    for line in open(a.specs):
        f = line.split()
        if not f or f[0] != 'spec':
            continue
        case, mod, fusion, astream, b = f[1], f[2], f[3], f[4], int(f[5])
        d = dict(fh.PAPER)
        h = fh.Head(mod, fusion, astream, d)
        g = torch.Generator().manual_seed(0)
        video = torch.rand(b, d['T'], d['VD'], generator=g)
        audio = torch.randn(b, d['AF'], d['AC'], generator=g)
        labels = torch.randint(0, d['K'], (b,), generator=g)

        def ev():
            with torch.no_grad():
                h.forward(video, audio, False)

        def step():
            for p in h.P.values():
                p.grad = None
            F.cross_entropy(h.forward(video, audio, True), labels).backward()

        print('result %s eval %.4f 0' % (case, 1e3 * best(ev, reps)))
        print('result %s step %.4f 0' % (case, 1e3 * best(step, reps)))
        sys.stdout.flush()


if __name__ == '__main__':
    main()
