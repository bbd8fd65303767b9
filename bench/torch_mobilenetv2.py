#!/usr/bin/python3
"""PyTorch side of the MobileNetV2 benchmark (Debian python3-torch 1.13): torchvision mobilenet_v2 (width 1.0,
random init, classifier removed: features -> global average pool -> [n, 1280]) with the stem replaced by a
1-channel conv when the case is gray, channels_last tensors, torch.set_num_threads(N), on the cases printed by
`bench_mobilenetv2 --specs` ("spec <case> <batch> <in_channels> <h> <w> ...").

usage: /usr/bin/python3 bench/torch_mobilenetv2.py SPECS_FILE [--threads N] [--reps R] [--cpu-time]
  infer_*: eval mode under no_grad (BN not folded: PyTorch eager does not fold). With TORCH_JIT=1 in the
           environment the model is instead torch.jit.trace'd, torch.jit.freeze'd and
           torch.jit.optimize_for_inference'd (folds conv+BN, may use oneDNN layouts).
  train:   one training step: grads set to None, train-mode forward, loss = features.sum(), backward to all
           parameter gradients (no input gradient). At most 2 repeats, as bench_mobilenetv2.c.
Prints "result <case> <fwd|step> <best ms> <GFLOP/s>" with the same nominal FLOP count as bench_mobilenetv2.c
(forward 2 * conv MACs, a step 3 x forward), and "# <case> ... images/s".
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402

TRAIN_MAX_REPS = 2


def make_model(c_in):
    """torchvision mobilenet_v2, random init, classifier removed; a 1-channel stem when c_in == 1."""
    m = torchvision.models.mobilenet_v2(weights=None)
    if c_in != 3:
        m.features[0][0] = torch.nn.Conv2d(c_in, 32, 3, 2, 1, bias=False)
        torch.nn.init.kaiming_normal_(m.features[0][0].weight, mode="fan_out")
    m.classifier = torch.nn.Identity()
    return m.to(memory_format=torch.channels_last)


def conv_macs(model, x):
    macs = [0]

    def hook(mod, inp, out):
        macs[0] += out.numel() // out.shape[0] * mod.weight[0].numel()

    hs = [mod.register_forward_hook(hook) for mod in model.modules() if isinstance(mod, torch.nn.Conv2d)]
    with torch.no_grad():
        model.eval()(x[:1])
    for h in hs:
        h.remove()
    return macs[0]


def report(name, pas, batch, t, flops):
    print(f"result {name} {pas} {t * 1e3:.3f} {flops / t * 1e-9:.2f}")
    print(f"# {name} {pas}: batch {batch}, {t * 1e3 / batch:.1f} ms/image, {batch / t:.2f} images/s")
    sys.stdout.flush()


def main():
    a = twin.parse()
    threads, reps, best = a.threads, a.reps, a.best
    jit = os.environ.get("TORCH_JIT") == "1"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__} torchvision {torchvision.__version__} mobilenet_v2: "
          f"{torch.get_num_threads()} threads, channels_last, best of {reps}, "
          f"{a.clock_name} time{', jit freeze' if jit else ''}")
    for line in open(a.specs):
        f = line.split()
        if not f or f[0] != "spec":
            continue
        name = f[1]
        n, c, h, w = map(int, f[2:6])
        model = make_model(c)
        x = (torch.rand(n, c, h, w) * 2 - 1).contiguous(memory_format=torch.channels_last)
        fwd_flops = 2.0 * conv_macs(model, x)
        if name.startswith("infer"):
            model.eval()
            with torch.no_grad():
                if jit:
                    model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
                    model(x)
                t = best(lambda: model(x), reps)
            report(name, "fwd", n, t, fwd_flops * n)
        elif name == "train" and jit:
            print("# train: skipped under TORCH_JIT=1 (the training step is eager either way)")
        elif name == "train":
            model.train()

            def step():
                model.zero_grad(set_to_none=True)
                model(x).sum().backward()

            t = best(step, min(reps, TRAIN_MAX_REPS))
            report(name, "step", n, t, 3 * fwd_flops * n)
        else:
            print(f"# unknown case {name}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
