#!/usr/bin/python3
"""Writes PyTorch reference fixtures for tests/nn/test_conv2d.c and test_conv1d.c.

Run with Debian's python3 (torch 1.13, numpy): /usr/bin/python3 tools/fixtures_conv.py  (or `make fixtures`).
For each case it writes tests/fixtures/nn/conv_<case>_<name>.npy, float32, in avemo's layouts:
  x, dy, y, dx:  NHWC [n, h, w, c] for conv2d, [b, t, c] for conv1d  (PyTorch is NCHW / [b, c, t]: transposed here)
  w, dw:         PyTorch's own layout [c_out, c_in/groups, kh, kw] / [c_out, c_in/groups, k]
  b, db:         [c_out]
y = conv(x), and dx, dw, db are the gradients of sum(y * dy). Asymmetric padding is applied with F.pad
(left, right, top, bottom) before an unpadded conv, since nn.Conv2d only pads symmetrically.
The shapes here are repeated in the C tests.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nn")

# name: (n, c_in, h, w, c_out, k, stride, (top, left, bottom, right), groups)
CASES_2D = {
    "dense": (2, 3, 9, 8, 8, 3, 2, (0, 1, 1, 0), 1),     # 3x3/2 stem-like, asymmetric padding
    "dw1": (2, 16, 7, 6, 16, 3, 1, (1, 1, 1, 1), 16),    # depthwise 3x3 stride 1
    "dw2": (2, 16, 8, 9, 16, 3, 2, (1, 1, 1, 1), 16),    # depthwise 3x3 stride 2
    "pw": (2, 24, 5, 5, 40, 1, 1, (0, 0, 0, 0), 1),      # pointwise 1x1
}
# name: (b, c_in, t, c_out, k, pad_left, pad_right)
CASES_1D = {
    "c1d": (2, 12, 15, 16, 3, 1, 1),                      # k=3 "same"
}


def save(case, name, a):
    np.save(os.path.join(OUT, f"conv_{case}_{name}.npy"), np.ascontiguousarray(a, dtype=np.float32))


def main():
    torch.manual_seed(1234)
    os.makedirs(OUT, exist_ok=True)
    for case, (n, ci, h, w, co, k, st, (pt, pl, pb, pr), g) in CASES_2D.items():
        x = torch.randn(n, ci, h, w, requires_grad=True)
        wt = (torch.randn(co, ci // g, k, k) * 0.5).requires_grad_()
        b = torch.randn(co, requires_grad=True)
        y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), wt, b, stride=st, groups=g)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        nhwc = lambda t: t.detach().permute(0, 2, 3, 1).numpy()
        save(case, "x", nhwc(x))
        save(case, "w", wt.detach().numpy())
        save(case, "b", b.detach().numpy())
        save(case, "dy", nhwc(dy))
        save(case, "y", nhwc(y))
        save(case, "dx", nhwc(x.grad))
        save(case, "dw", wt.grad.numpy())
        save(case, "db", b.grad.numpy())
    for case, (bn, ci, t, co, k, pl, pr) in CASES_1D.items():
        x = torch.randn(bn, ci, t, requires_grad=True)
        wt = (torch.randn(co, ci, k) * 0.5).requires_grad_()
        b = torch.randn(co, requires_grad=True)
        y = F.conv1d(F.pad(x, (pl, pr)), wt, b)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        btc = lambda a: a.detach().permute(0, 2, 1).numpy()
        save(case, "x", btc(x))
        save(case, "w", wt.detach().numpy())
        save(case, "b", b.detach().numpy())
        save(case, "dy", btc(dy))
        save(case, "y", btc(y))
        save(case, "dx", btc(x.grad))
        save(case, "dw", wt.grad.numpy())
        save(case, "db", b.grad.numpy())
    print(f"wrote conv fixtures to {os.path.normpath(OUT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
