"""Fixtures for the visual backbone (src/io/safetensors.c, src/model/mobilenetv2.c), written with Debian's
python3-numpy / python3-torch / python3-torchvision:  /usr/bin/python3 tools/fixtures_backbone.py

- tests/fixtures/io/st_small.safetensors: a few dtypes + metadata, written by tools/st_writer.py (also the
  seed of tests/fuzz/corpus/safetensors).
- tests/fixtures/io/tiny_conv.tflite: one int8 per-axis quantized CONV_2D, written by tools/tiny_tflite.py (also
  the seed of tests/fuzz/corpus/tflite).
- tests/fixtures/model/mnv2_*.npy: torchvision mobilenet_v2 outputs and gradients for weights and inputs given
  by an integer hash formula (hash_uniform below, mirrored in tests/model/test_mobilenetv2.c), so that the
  14 MB of weights never need to be committed. The reference runs in float64:
    mnv2_{train,eval}_feat.npy   [4, 1280] pooled features (train: batch statistics; eval: running statistics)
    mnv2_{train,eval}_dx.npy     [4, 64, 64, 3] (NHWC) gradient of sum(features * r) w.r.t. the input
    mnv2_{train,eval}_grads.npy  parameter gradients, <= 256 samples per trainable tensor (state_dict order,
                                 sample k of a tensor of c values is element k * c // 256)
    mnv2_train_running.npy       running_mean / running_var after the train step, sampled the same way
    mnv2_same_feat.npy           eval features with TensorFlow "SAME" padding (bottom/right on stride 2)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_writer  # noqa: E402
import tiny_tflite  # noqa: E402

FIX = os.path.join(HERE, '..', 'tests', 'fixtures')


def hash_uniform(n, stream):
    """Uniform [-1, 1) from a 32-bit integer hash of (element index, stream); exact integer arithmetic, so C and
    numpy produce the same float64 values."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(stream) * np.uint64(40503) + np.uint64(12345)) & np.uint64(0xffffffff)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) & np.uint64(0xffffffff)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(3266489917)) & np.uint64(0xffffffff)
    h ^= h >> np.uint64(16)
    return h.astype(np.float64) / 2.0 ** 32 * 2.0 - 1.0


def write_safetensors_fixture():
    os.makedirs(os.path.join(FIX, 'io'), exist_ok=True)
    a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1
    h = np.array([1.0, -2.5, 65504.0, 6.1035156e-05], dtype=np.float16)
    bf = (np.array([1.0, -3.0, 0.15625], dtype=np.float32).view(np.uint32) >> 16).astype('<u2')
    st_writer.save(os.path.join(FIX, 'io', 'st_small.safetensors'), [
        ('a.weight', a),
        ('half', h),
        ('bf', 'BF16', [3], bf.tobytes()),
        ('count', np.array(7, dtype=np.int64)),
        ('bytes', np.arange(5, dtype=np.uint8)),
        ('empty', np.zeros((0, 4), dtype=np.float32)),
    ], metadata={'format': 'pt', 'note': 'written by tools/st_writer.py'})


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


def write_model_fixtures():
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


def write_tflite_fixture():
    data = tiny_tflite.tiny_conv_model()
    for d in (os.path.join(FIX, 'io'), os.path.join(HERE, '..', 'tests', 'fuzz', 'corpus', 'tflite')):
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, 'tiny_conv.tflite'), 'wb').write(data)
    d = os.path.join(HERE, '..', 'tests', 'fuzz', 'corpus', 'safetensors')
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, 'st_small.safetensors'), 'wb').write(open(os.path.join(FIX, 'io', 'st_small.safetensors'), 'rb').read())


if __name__ == '__main__':
    write_safetensors_fixture()
    write_tflite_fixture()
    write_model_fixtures()
