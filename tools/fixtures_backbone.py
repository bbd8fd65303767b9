"""Fixtures for the visual backbone (src/io/safetensors.c, src/model/mobilenetv2.c), written with Debian's
python3-numpy / python3-torch / python3-torchvision:  /usr/bin/python3 tools/fixtures_backbone.py

- tests/fixtures/io/st_small.safetensors: a few dtypes + metadata, written by tools/st_writer.py.
- tests/fixtures/model/mnv2_*.npy: torchvision mobilenet_v2 outputs and gradients for weights and inputs given
  by an integer hash formula (hash_uniform below, mirrored in tests/model/test_mobilenetv2.c), so that the
  14 MB of weights never need to be committed.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_writer  # noqa: E402

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


if __name__ == '__main__':
    write_safetensors_fixture()
    if len(sys.argv) < 2 or sys.argv[1] != '--st-only':
        import fixtures_backbone_model
        fixtures_backbone_model.main()
