"""PyTorch reference for one fine-tuning step (src/train/finetune.c, finetune_net_step): torchvision's
mobilenet_v2, train-mode BN, on 8 colour 64 x 64 frames (augmentation off: the frames are the uint8 pixels
/ 127.5 - 1), pooled features standardised with fixed mean/std, the video-only head of
tools/fixtures_head.py (T = 1, 1280 features, small widths), cross-entropy with label smoothing 0.1, backward to
every parameter, and the first SGD step (momentum 0.9, weight decay 0.01 on weights of 2+ dimensions only, the
backbone's learning rate x 0.5 x 0.9^(51 - unit)). Two cases: plain labels, and mixup's two-label loss (lambda 0.7,
second labels = the batch reversed) on the same frames: blending the images is the caller's (mix_batch), and
blended formula frames make train-mode BN so ill-conditioned that PyTorch's own float32 gradients differ from its
float64 ones by 20 % (measured). The reference runs in float64.

Colour rather than the gray stem of FER2013: with formula weights a 1-channel stem makes 32 nearly collinear
channels, and train-mode BN over them is so ill-conditioned that PyTorch's own float32 gradients differ from its
float64 ones by 4-15 % (measured); with 3 channels they agree to 1e-4 (printed when this script runs), which is
what lets the test hold the MobileNetV2 gradient test's tolerance.

Weights and inputs come from the closed formulas of tools/fixtures_backbone.py (backbone) and
tools/fixtures_head.py (head), evaluated identically by tests/train/test_finetune.c, so only results are
committed: tests/fixtures/train/finetune_step_{plain,mixup}.safetensors hold
    loss [1], logits [8, 7],
    bb_grad / bb_update: <= 256 samples per backbone tensor (sample k of c values is element k * c // 256), in
                         state_dict order, concatenated,
    head_grad.<name> / head_update.<name>: each head tensor, sampled the same way.
Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/fixtures_finetune.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures_backbone as fb  # noqa: E402
import fixtures_head as fh  # noqa: E402
import st_writer  # noqa: E402

N, H, W, K = int(os.environ.get("FT_N", 8)), 64, 64, 7
LABELS = [i % 7 for i in range(N)]
SMOOTH = 0.1
LR, MOMENTUM, WD, BACKBONE_LR, LAYER_DECAY = 0.05, 0.9, 0.01, 0.5, 0.9
MIX_LAMBDA = 0.7
HEAD_DIMS = dict(K=K, T=1, VD=1280, V1=8, V2=16, AC=3, ACH=5, FC=6, NBLK=2, HID=7, BASE=(4, 6, 7), AF=None)
UNITS = 52


def frames_u8():
    """uint8 [N, H, W, 3] (index order n, y, x, channel): floor((u + 1) * 128) clamped, u = hash_uniform(stream 1000)."""
    u = fb.hash_uniform(N * H * W * 3, 1000)
    return np.clip(np.floor((u + 1.0) * 128.0), 0, 255).astype(np.uint8).reshape(N, H, W, 3)


def feature_stats():
    j = np.arange(1280, dtype=np.float64)
    return 0.3 + 0.1 * np.sin(0.37 * j), 0.4 + 0.2 * np.cos(0.23 * j) ** 2


def backbone(dtype):
    m = torchvision.models.mobilenet_v2().double()
    m.load_state_dict(fb.formula_state_dict(m))
    return m.train().to(dtype)


def head(dtype):
    h = fh.Head('video', 'attention', 'paper', HEAD_DIMS)
    h.P = {n: p.detach().to(dtype).requires_grad_(True) for n, p in h.P.items()}
    h.BUF = {n: b.to(dtype) for n, b in h.BUF.items()}
    return h


def run(mix, dtype=torch.float64):
    bb, hd = backbone(dtype), head(dtype)
    x = torch.from_numpy(frames_u8().astype(np.float64) / 127.5 - 1.0).permute(0, 3, 1, 2).contiguous().to(dtype)
    labels = torch.tensor(LABELS)
    perm = list(range(N))[::-1]
    feat = F.adaptive_avg_pool2d(bb.features(x), 1).flatten(1)
    mean, std = (torch.from_numpy(a).to(dtype) for a in feature_stats())
    z = ((feat - mean) / std).reshape(N, 1, 1280)
    logits = hd.forward(z, None, True)
    loss = F.cross_entropy(logits, labels, label_smoothing=SMOOTH)
    if mix:
        loss = MIX_LAMBDA * loss + (1 - MIX_LAMBDA) * F.cross_entropy(logits, labels[perm], label_smoothing=SMOOTH)
    loss.backward()
    out = [('loss', loss.detach().numpy().reshape(1).astype(np.float32)),
           ('logits', logits.detach().numpy().astype(np.float32))]
    # the first SGD step (momentum buffer = the gradient): update = lr_t (g + wd_t p)
    grads, updates, unit = [], [], -1
    for name, p in bb.named_parameters():
        if name.startswith('classifier'):
            continue
        if p.dim() == 4:
            unit += 1
        lr = LR * BACKBONE_LR * LAYER_DECAY ** (UNITS - 1 - unit)
        wd = WD if p.dim() > 1 else 0.0
        grads.append(fb.sample(p.grad))
        updates.append(fb.sample(lr * (p.grad + wd * p.detach())))
    out.append(('bb_grad', torch.cat(grads).numpy().astype(np.float32)))
    out.append(('bb_update', torch.cat(updates).numpy().astype(np.float32)))
    for name, p in hd.P.items():
        wd = WD if p.dim() > 1 else 0.0
        out.append(('head_grad.' + name, fb.sample(p.grad).numpy().astype(np.float32)))
        out.append(('head_update.' + name, fb.sample(LR * (p.grad + wd * p.detach())).numpy().astype(np.float32)))
    return out, float(loss)


def conditioning(out64, out32):
    """Worst relative difference of PyTorch's own float32 step from float64, per sampled backbone gradient
    tensor (the same walk as the C test)."""
    g64, g32 = dict(out64)['bb_grad'].astype(np.float64), dict(out32)['bb_grad'].astype(np.float64)
    scale, worst, k = np.abs(g64).max(), 0.0, 0
    for name, p in backbone(torch.float64).named_parameters():
        if name.startswith('classifier'):
            continue
        c = min(p.numel(), fb.SAMPLES)
        a, b = g64[k:k + c], g32[k:k + c]
        if np.abs(a).max() >= 1e-9 * scale:
            worst = max(worst, np.abs(a - b).max() / np.abs(a).max())
        k += c
    return worst


def main():
    outdir = os.path.join(HERE, '..', 'tests', 'fixtures', 'train')
    os.makedirs(outdir, exist_ok=True)
    for case, mix in (('plain', False), ('mixup', True)):
        out, loss = run(mix)
        print(case, 'PyTorch float32 vs float64 backbone gradients: worst rel err %.2e'
              % conditioning(out, run(mix, torch.float32)[0]))
        path = os.path.join(outdir, 'finetune_step_%s.safetensors' % case)
        st_writer.save(path, out, {'source': 'tools/fixtures_finetune.py', 'torch': torch.__version__})
        print('wrote', os.path.normpath(path), 'loss %.6f' % loss)


if __name__ == '__main__':
    main()
