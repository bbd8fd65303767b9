"""PyTorch reference for the head's default `attention` fusion (src/model/, spec 4) on a small configuration.

Weights and inputs come from closed formulas that tests/model/test_head_torch.c evaluates identically, so only
the outputs are committed: tests/fixtures/model/head_attention.safetensors holds eval-mode logits, train-mode
(batch-statistics BN, no dropout) logits, loss and every parameter and input gradient, and the BN running
statistics after that train step. Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/fixtures_head.py
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_writer  # noqa: E402

# the small configuration of tests/model/test_head_torch.c
B, K, T, VD, V1, V2 = 3, 4, 5, 12, 4, 6
AC, AF, ACH, FC, NBLK = 3, 40, 5, 6, 2
SMOOTH = 0.1
LABELS = [0, 3, 1]


def name_hash(name):
    return sum((k + 1) * ord(ch) for k, ch in enumerate(name)) % 997


def formula(name, shape):
    """value[i] = 0.3 sin(0.7 i + 0.013 h + 0.5), h a hash of the name; running_var = 1 + 0.5 sin(..)^2."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    s = np.sin(0.7 * i + 0.013 * name_hash(name) + 0.5)
    v = 1.0 + 0.5 * s * s if name.endswith('running_var') else 0.3 * s
    return torch.tensor(v.astype(np.float32).reshape(shape))


P, BUF = {}, {}


def param(name, *shape):
    P[name] = formula(name, shape).requires_grad_(True)


def conv_bn(name, ci, co, k):
    param(name + '.conv.weight', co, ci, k)
    param(name + '.bn.weight', co)
    param(name + '.bn.bias', co)
    for b in ('running_mean', 'running_var'):
        BUF[name + '.bn.' + b] = formula(name + '.bn.' + b, (co,))


def resblock(name, ci, co):
    conv_bn(name + '.conv1', ci, co, 3)
    conv_bn(name + '.conv2', co, co, 3)
    if ci != co:
        conv_bn(name + '.shortcut', ci, co, 1)


def linear(name, i, o):
    param(name + '.weight', o, i)
    param(name + '.bias', o)


resblock('video.stage1', VD, V1)
resblock('video.stage2', V1, V2)
for b in range(4):
    conv_bn('audio.block%d.conv' % (b + 1), AC if b == 0 else ACH, ACH, 3)
    if b == 0:
        conv_bn('audio.block1.shortcut', AC, ACH, 1)
linear('fusion.audio_proj', ACH, FC)
for b in range(NBLK):
    resblock('fusion.block%d' % (b + 1), FC + V2 if b == 0 else FC, FC)
for p in 'qkv':
    linear('fusion.attn.' + p, FC, FC)
linear('fusion.gate', FC, 2)
linear('classifier', FC + V2 + FC, K)


def f_conv_bn(name, x, pad, train):  # x [B, C, t]
    y = F.conv1d(x, P[name + '.conv.weight'], None, padding=pad)
    return F.batch_norm(y, BUF[name + '.bn.running_mean'], BUF[name + '.bn.running_var'], P[name + '.bn.weight'],
                        P[name + '.bn.bias'], training=train, momentum=0.1, eps=1e-5)


def f_resblock(name, x, train):
    h = F.relu(f_conv_bn(name + '.conv1', x, 1, train))
    h = f_conv_bn(name + '.conv2', h, 1, train)
    s = f_conv_bn(name + '.shortcut', x, 0, train) if name + '.shortcut.conv.weight' in P else x
    return F.relu(h + s)


def head(video, audio, train):
    v = video.permute(0, 2, 1)                        # [B, 1280, T]
    v2 = f_resblock('video.stage2', f_resblock('video.stage1', v, train), train)   # [B, 128, T]
    a = audio.permute(0, 2, 1)                        # [B, 10, 156]
    for b in range(4):
        n = 'audio.block%d' % (b + 1)
        s = f_conv_bn(n + '.shortcut', a, 0, train) if n + '.shortcut.conv.weight' in P else a
        a = F.max_pool1d(F.relu(f_conv_bn(n + '.conv', a, 1, train) + s), 2)        # -> [B, 64, 9]
    ap = F.linear(a.permute(0, 2, 1), P['fusion.audio_proj.weight'], P['fusion.audio_proj.bias'])  # [B, 9, FC]
    ai = F.interpolate(ap.permute(0, 2, 1), size=T, mode='linear', align_corners=False)        # [B, FC, T]
    x = torch.cat([ai, v2], dim=1)
    for b in range(NBLK):
        x = f_resblock('fusion.block%d' % (b + 1), x, train)
    x = x.permute(0, 2, 1)                            # [B, T, FC]
    q, k, vv = (F.linear(x, P['fusion.attn.%s.weight' % p], P['fusion.attn.%s.bias' % p]) for p in 'qkv')
    att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(FC), dim=-1)
    joint = x + att @ vv
    pj, pa, pv = joint.mean(1), ai.mean(2), v2.mean(2)
    g = torch.softmax(F.linear(pj, P['fusion.gate.weight'], P['fusion.gate.bias']), dim=-1)
    feat = torch.cat([g[:, :1] * pa, g[:, 1:] * pv, pj], dim=1)
    return F.linear(feat, P['classifier.weight'], P['classifier.bias'])


def main():
    torch.set_default_dtype(torch.float32)
    video = torch.tensor(np.sin(0.37 * np.arange(B * T * VD) + 0.2).astype(np.float32).reshape(B, T, VD),
                         requires_grad=True)
    audio = torch.tensor(np.cos(0.23 * np.arange(B * AF * AC)).astype(np.float32).reshape(B, AF, AC),
                         requires_grad=True)
    labels = torch.tensor(LABELS)
    with torch.no_grad():
        logits_eval = head(video, audio, False)
    logits = head(video, audio, True)
    loss = F.cross_entropy(logits, labels, label_smoothing=SMOOTH)
    loss.backward()
    out = [('logits_eval', logits_eval.numpy()), ('logits_train', logits.detach().numpy()),
           ('loss_train', loss.detach().numpy().reshape(1)), ('grad.video_input', video.grad.numpy()),
           ('grad.audio_input', audio.grad.numpy())]
    out += [('grad.' + n, p.grad.numpy()) for n, p in P.items()]
    out += [('after_train.' + n, b.numpy()) for n, b in BUF.items()]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'model',
                        'head_attention.safetensors')
    st_writer.save(path, out, {'source': 'tools/fixtures_head.py', 'torch': torch.__version__})
    print('wrote', os.path.normpath(path), 'loss', float(loss))


if __name__ == '__main__':
    main()
