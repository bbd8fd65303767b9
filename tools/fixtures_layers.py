#!/usr/bin/python3
"""PyTorch (1.13) reference outputs for the nn layers, optimizers and LR schedules.

Writes tests/fixtures/nn/layers_<case>_<array>.npy, read by tests/nn/test_layers_torch.c. Every activation
is stored in avemo's channels-last layout (NHWC images, [b, t, c] sequences): torch runs on the transposed
tensor and the results are transposed back. Parameters keep PyTorch's layouts. Layers run in float32;
optimizer trajectories and schedules are stored in float32 / float64 as noted.

Run: /usr/bin/python3 tools/fixtures_layers.py   (or `make fixtures`)
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nn")
torch.manual_seed(0)
rng = np.random.default_rng(1234)


def save(case, **arrays):
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        np.save(os.path.join(OUT, f"layers_{case}_{name}.npy"), a)


def uniform(*shape, lo=-1.0, hi=1.0):
    return torch.tensor(rng.uniform(lo, hi, size=shape), dtype=torch.float32)


def nhwc(t):  # NCHW -> NHWC
    return t.permute(0, 2, 3, 1).contiguous()


def nchw(t):  # NHWC -> NCHW (a leaf copy that collects .grad)
    return t.permute(0, 3, 1, 2).contiguous().requires_grad_(True)


def batchnorm():
    n, h, w, c = 2, 3, 4, 5
    x = uniform(n, h, w, c, lo=-2, hi=3)
    bn = torch.nn.BatchNorm2d(c, momentum=0.1, eps=1e-5)
    with torch.no_grad():
        bn.weight.copy_(uniform(c, lo=0.5, hi=1.5))
        bn.bias.copy_(uniform(c))
        bn.running_mean.copy_(uniform(c))
        bn.running_var.copy_(uniform(c, lo=0.5, hi=2))
    gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    dy = uniform(n, h, w, c)
    xt = nchw(x)
    bn.train()
    y = bn(xt)
    y.backward(dy.permute(0, 3, 1, 2))
    bn.eval()
    with torch.no_grad():
        y_eval = bn(xt)
    save("bn", x=x, gamma=gamma, beta=beta, rm0=rm0, rv0=rv0, dy=dy, y=nhwc(y), dx=nhwc(xt.grad),
         dgamma=bn.weight.grad, dbeta=bn.bias.grad, rm1=bn.running_mean, rv1=bn.running_var, y_eval=nhwc(y_eval))


def attention(case, b, tq, tk, dq_in, dkv_in, dk, dv, bias, self_att):
    xq = uniform(b, tq, dq_in).requires_grad_(True)
    xkv = xq if self_att else uniform(b, tk, dkv_in).requires_grad_(True)
    lq, lk, lv = (torch.nn.Linear(dq_in, dk, bias=bias), torch.nn.Linear(dkv_in, dk, bias=bias),
                  torch.nn.Linear(dkv_in, dv, bias=bias))
    q, k, v = lq(xq), lk(xkv), lv(xkv)
    att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dk), dim=-1)
    out = att @ v
    dout = uniform(b, tq, dv)
    out.backward(dout)
    arrays = dict(xq=xq, wq=lq.weight, wk=lk.weight, wv=lv.weight, dout=dout, out=out, att=att, dxq=xq.grad,
                  dwq=lq.weight.grad, dwk=lk.weight.grad, dwv=lv.weight.grad)
    if not self_att:
        arrays.update(xkv=xkv, dxkv=xkv.grad)
    if bias:
        arrays.update(bq=lq.bias, bk=lk.bias, bv=lv.bias, dbq=lq.bias.grad, dbk=lk.bias.grad, dbv=lv.bias.grad)
    save(case, **arrays)


def xent():
    n, c = 8, 6
    logits = uniform(n, c, lo=-3, hi=3)
    labels = torch.tensor(rng.integers(0, c, size=n))
    for case, eps in (("xent", 0.0), ("xent_ls", 0.1)):
        lg = logits.clone().requires_grad_(True)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(lg, labels)
        loss.backward()
        save(case, logits=logits, labels=labels, loss=loss.reshape(1), dlogits=lg.grad)


def linear():
    n, i, o = 4, 10, 5
    lin = torch.nn.Linear(i, o)
    x = uniform(n, i).requires_grad_(True)
    dy = uniform(n, o)
    y = lin(x)
    y.backward(dy)
    save("linear", x=x, w=lin.weight, b=lin.bias, dy=dy, y=y, dx=x.grad, dw=lin.weight.grad, db=lin.bias.grad)


def layernorm():
    m, c = 6, 16
    ln = torch.nn.LayerNorm(c, eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(uniform(c, lo=0.5, hi=1.5))
        ln.bias.copy_(uniform(c))
    x = uniform(m, c, lo=-2, hi=3).requires_grad_(True)
    dy = uniform(m, c)
    y = ln(x)
    y.backward(dy)
    save("ln", x=x, gamma=ln.weight, beta=ln.bias, dy=dy, y=y, dx=x.grad, dgamma=ln.weight.grad,
         dbeta=ln.bias.grad)


def maxpool(case, n, h, w, c, k, s, pad):
    # distinct values: no ties, so the argmax (and the gradient) is unambiguous
    x = torch.tensor(rng.permutation(n * h * w * c).reshape(n, h, w, c) * 0.01 - 1.0, dtype=torch.float32)
    xt = nchw(x)
    y = torch.nn.MaxPool2d(k, s, padding=pad, ceil_mode=True)(xt)
    dy = uniform(*nhwc(y).shape)
    y.backward(dy.permute(0, 3, 1, 2))
    save(case, x=x, dy=dy, y=nhwc(y), dx=nhwc(xt.grad), shape=np.array([n, h, w, c, k, s, pad], dtype=np.int32))


def interp(case, b, ti, to, c):
    x = uniform(b, ti, c)
    xt = x.permute(0, 2, 1).contiguous().requires_grad_(True)  # [b, c, t]
    y = F.interpolate(xt, size=to, mode="linear", align_corners=False)
    dy = uniform(b, to, c)
    y.backward(dy.permute(0, 2, 1))
    save(case, x=x, dy=dy, y=y.permute(0, 2, 1), dx=xt.grad.permute(0, 2, 1))


def prelu():
    n, h, w, c = 2, 3, 3, 4
    x = uniform(n, h, w, c)
    pr = torch.nn.PReLU(c)
    with torch.no_grad():
        pr.weight.copy_(uniform(c, lo=0.05, hi=0.5))
    xt = nchw(x)
    y = pr(xt)
    dy = uniform(n, h, w, c)
    y.backward(dy.permute(0, 3, 1, 2))
    save("prelu", x=x, alpha=pr.weight, dy=dy, y=nhwc(y), dx=nhwc(xt.grad), dalpha=pr.weight.grad)


def gelu():
    x = uniform(64, lo=-4, hi=4).requires_grad_(True)
    y = F.gelu(x)
    dy = uniform(64)
    y.backward(dy)
    save("gelu", x=x, dy=dy, y=y, dx=x.grad)


STEPS = 4


def optimizer(case, make, n=32):
    """p after each of STEPS steps with fixed gradients; p0 [n], grads [STEPS, n], traj [STEPS, n]"""
    p0 = uniform(n)
    grads = uniform(STEPS, n)
    p = torch.nn.Parameter(p0.clone())
    opt = make([p])
    traj = []
    for t in range(STEPS):
        p.grad = grads[t].clone()
        opt.step()
        traj.append(p.detach().clone())
    save(case, p0=p0, grads=grads, traj=torch.stack(traj))


def optimizers():
    # cfg arrays: sgd [lr, momentum, dampening, weight_decay, nesterov]; adam [lr, b1, b2, eps, wd, decoupled]
    sgd = {
        "sgd_plain": (0.1, 0.0, 0.0, 0.0, 0),
        "sgd_baseline": (0.04, 0.9, 0.9, 1e-3, 0),  # the baseline's optimizer
        "sgd_nesterov": (0.1, 0.9, 0.0, 1e-2, 1),
    }
    for case, (lr, mom, damp, wd, nes) in sgd.items():
        optimizer(case, lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mom, dampening=damp, weight_decay=wd,
                                                   nesterov=bool(nes)))
        save(case, cfg=np.array([lr, mom, damp, wd, nes], dtype=np.float64))
    adam = {
        "adam": (1e-2, 0.9, 0.999, 1e-8, 0.0, 0),
        "adam_wd": (1e-2, 0.9, 0.999, 1e-8, 0.1, 0),
        "adamw": (1e-2, 0.8, 0.99, 1e-6, 0.1, 1),
    }
    for case, (lr, b1, b2, eps, wd, dec) in adam.items():
        cls = torch.optim.AdamW if dec else torch.optim.Adam
        optimizer(case, lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd))
        save(case, cfg=np.array([lr, b1, b2, eps, wd, dec], dtype=np.float64))


def schedules():
    """lr in effect during epochs 0..E-1 (float64)"""
    def run(make, epochs):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.04)
        sch = make(opt)
        lrs = []
        for _ in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        return np.array(lrs, dtype=np.float64)

    save("lr_multistep", lr=run(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [40, 55, 65, 70], 0.1), 100))
    save("lr_cosine", lr=run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=1e-4), 150))


def main():
    os.makedirs(OUT, exist_ok=True)
    batchnorm()
    attention("att_cross", b=2, tq=5, tk=4, dq_in=6, dkv_in=7, dk=8, dv=6, bias=True, self_att=False)
    attention("att_self", b=2, tq=5, tk=5, dq_in=8, dkv_in=8, dk=8, dv=8, bias=False, self_att=True)
    xent()
    linear()
    layernorm()
    maxpool("mp_ceil", n=2, h=7, w=9, c=3, k=3, s=2, pad=0)
    maxpool("mp_pad", n=1, h=7, w=6, c=2, k=2, s=2, pad=1)  # ceil drops a window starting in the pad
    interp("interp_up", b=2, ti=9, to=15, c=4)
    interp("interp_down", b=2, ti=15, to=9, c=3)
    prelu()
    gelu()
    optimizers()
    schedules()


if __name__ == "__main__":
    main()
