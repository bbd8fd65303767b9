"""torchvision mobilenet_v2 reference outputs for tests/model/test_mobilenetv2.c (run via fixtures_backbone.py).

Weights and inputs come from hash_uniform (mirrored in the C test), so only outputs and gradients are committed:
  mnv2_{train,eval}_feat.npy   [N, 1280] pooled features (train: batch statistics; eval: running statistics)
  mnv2_{train,eval}_dx.npy     [N, 64, 64, 3] (NHWC, N = 4) gradient of sum(features * r) w.r.t. the input
  mnv2_{train,eval}_grads.npy  parameter gradients, <= 256 samples per trainable tensor (state_dict order,
                               sample k of a tensor of c values is element k * c // 256)
  mnv2_train_running.npy       running_mean / running_var after the train step, sampled the same way
  mnv2_same_feat.npy           eval features with TensorFlow "SAME" padding (bottom/right on stride 2)
The reference runs in float64.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from fixtures_backbone import FIX, hash_uniform

# 4 images: with 2, some train-mode BN channels are near-constant and ill-conditioned (float32 torch itself
# then differs from float64 by 1e-3 in gradients).
N, H, W = 4, 64, 64
SAMPLES = 256


def formula_state_dict(model):
    """Deterministic weights: tensor j of the state_dict (num_batches_tracked skipped) gets hash stream j."""
    sd = {}
    j = 0
    for name, t in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            sd[name] = t.clone()
            continue
        u = hash_uniform(t.numel(), j).reshape(t.shape)
        j += 1
        if name.endswith('running_mean'):
            v = 0.1 * u
        elif name.endswith('running_var'):
            # var in [1, 2): with [0.5, 1.5) the eval network's gain saturates many ReLU6 and a pre-activation
            # lands within float32 rounding of a kink, where the gradient is not unique
            v = 1.5 + 0.5 * u
        elif t.dim() == 4:
            fan_in = t.shape[1] * t.shape[2] * t.shape[3]
            v = u * np.sqrt(6.0 / fan_in)
        elif name.endswith('weight') and not name.startswith('classifier'):
            v = 1.0 + 0.25 * u
        else:
            v = 0.1 * u
        sd[name] = torch.from_numpy(v)
    return sd


def sample(a):
    a = a.reshape(-1)
    c = a.numel()
    if c <= SAMPLES:
        return a
    return a[torch.tensor([k * c // SAMPLES for k in range(SAMPLES)])]


def run(train, same=False):
    model = torchvision.models.mobilenet_v2().double()
    model.load_state_dict(formula_state_dict(model))
    if same:
        for mod in model.modules():
            if isinstance(mod, torch.nn.Conv2d) and mod.stride == (2, 2):
                mod.padding = (0, 0)
                mod.register_forward_pre_hook(lambda m, inp: (F.pad(inp[0], (0, 1, 0, 1)),))
    model.train(train)
    x = torch.from_numpy(hash_uniform(N * H * W * 3, 1000).reshape(N, H, W, 3)).permute(0, 3, 1, 2)
    x = x.contiguous().requires_grad_(True)
    feat = F.adaptive_avg_pool2d(model.features(x), 1).flatten(1)
    r = torch.from_numpy(hash_uniform(N * 1280, 1001).reshape(N, 1280))
    (feat * r).sum().backward()
    grads = torch.cat([sample(p.grad) for n, p in model.named_parameters() if not n.startswith('classifier')])
    running = torch.cat([sample(b) for n, b in model.named_buffers() if 'running' in n])
    return (feat.detach().numpy().astype(np.float32), x.grad.permute(0, 2, 3, 1).numpy().astype(np.float32),
            grads.numpy().astype(np.float32), running.numpy().astype(np.float32))


def main():
    out = os.path.join(FIX, 'model')
    os.makedirs(out, exist_ok=True)
    for mode in ('train', 'eval'):
        feat, dx, grads, running = run(mode == 'train')
        np.save(os.path.join(out, 'mnv2_%s_feat.npy' % mode), feat)
        np.save(os.path.join(out, 'mnv2_%s_dx.npy' % mode), dx)
        np.save(os.path.join(out, 'mnv2_%s_grads.npy' % mode), grads)
        if mode == 'train':
            np.save(os.path.join(out, 'mnv2_train_running.npy'), running)
        print(mode, 'features', feat.shape, 'mean |f|', np.abs(feat).mean(), 'grads', grads.shape)
    feat, _, _, _ = run(False, same=True)
    np.save(os.path.join(out, 'mnv2_same_feat.npy'), feat)


if __name__ == '__main__':
    main()
