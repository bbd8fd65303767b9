#!/usr/bin/python3
"""Reference MTCNN networks (P-Net, R-Net, O-Net) in PyTorch float64, straight from the TF.js weights with
TF semantics (NHWC, HWIO kernels, 'SAME'/'VALID' max pooling, dense [in, out]), independent of avemo's
layout conversions. Writes the fixtures tests/vision/test_mtcnn.c compares against:

  tests/fixtures/vision/mtcnn_{pnet,rnet,onet}_in.npy    fixed inputs (network layout, float32)
  tests/fixtures/vision/mtcnn_pnet_{prob,reg}.npy        P-Net outputs [oh, ow], [oh, ow, 4]
  tests/fixtures/vision/mtcnn_rnet_{prob,reg}.npy        R-Net outputs [n], [n, 4]
  tests/fixtures/vision/mtcnn_onet_{prob,reg,lm}.npy     O-Net outputs [n], [n, 4], [n, 10]

Run with Debian's /usr/bin/python3 (torch, numpy) from the repository root: `make fixtures`.
Weights: $AVEMO_SHARED/weights/mtcnn or ../shared/weights/mtcnn.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("AVEMO_SHARED", os.path.join(REPO, "..", "shared"))
MANIFEST = os.path.join(SHARED, "weights", "mtcnn", "mtcnn_model-weights_manifest.json")
OUT = os.path.join(REPO, "tests", "fixtures", "vision")


def load_weights(manifest=MANIFEST):
    groups = json.load(open(manifest))
    weights = {}
    for g in groups:
        data = b"".join(open(os.path.join(os.path.dirname(manifest), p), "rb").read() for p in g["paths"])
        off = 0
        for w in g["weights"]:
            assert w["dtype"] == "float32" and "quantization" not in w
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            a = np.frombuffer(data, dtype="<f4", count=n, offset=off).reshape(w["shape"])
            weights[w["name"]] = torch.from_numpy(a.astype(np.float64))
            off += 4 * n
        assert off == len(data)
    return weights


def conv(x, W, name):  # x NHWC, kernel HWIO, 'VALID', stride 1
    k = W[name + "/weights"].permute(3, 2, 0, 1)
    y = F.conv2d(x.permute(0, 3, 1, 2), k, W[name + "/bias"])
    return y.permute(0, 2, 3, 1)


def prelu(x, alpha):  # per last-axis channel
    return torch.where(x > 0, x, x * alpha)


def maxpool(x, k, s, same):  # TF max_pool on NHWC
    n, h, w, c = x.shape
    if same:
        oh, ow = -(-h // s), -(-w // s)
        ph, pw = max((oh - 1) * s + k - h, 0), max((ow - 1) * s + k - w, 0)
        x = F.pad(x.permute(0, 3, 1, 2), (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=-float("inf"))
    else:
        x = x.permute(0, 3, 1, 2)
    return F.max_pool2d(x, k, s).permute(0, 2, 3, 1)


def dense(x, W, name):
    return x @ W[name + "/weights"] + W[name + "/bias"]


def pnet(x, W):
    x = prelu(conv(x, W, "pnet/conv1"), W["pnet/prelu1_alpha"])
    x = maxpool(x, 2, 2, True)
    x = prelu(conv(x, W, "pnet/conv2"), W["pnet/prelu2_alpha"])
    x = prelu(conv(x, W, "pnet/conv3"), W["pnet/prelu3_alpha"])
    prob = torch.softmax(conv(x, W, "pnet/conv4_1"), -1)[..., 1]
    return prob, conv(x, W, "pnet/conv4_2")


def rnet(x, W):
    x = prelu(conv(x, W, "rnet/conv1"), W["rnet/prelu1_alpha"])
    x = maxpool(x, 3, 2, True)
    x = prelu(conv(x, W, "rnet/conv2"), W["rnet/prelu2_alpha"])
    x = maxpool(x, 3, 2, False)
    x = prelu(conv(x, W, "rnet/conv3"), W["rnet/prelu3_alpha"])
    x = prelu(dense(x.reshape(x.shape[0], -1), W, "rnet/fc1"), W["rnet/prelu4_alpha"])
    return torch.softmax(dense(x, W, "rnet/fc2_1"), -1)[:, 1], dense(x, W, "rnet/fc2_2")


def onet(x, W):
    x = prelu(conv(x, W, "onet/conv1"), W["onet/prelu1_alpha"])
    x = maxpool(x, 3, 2, True)
    x = prelu(conv(x, W, "onet/conv2"), W["onet/prelu2_alpha"])
    x = maxpool(x, 3, 2, False)
    x = prelu(conv(x, W, "onet/conv3"), W["onet/prelu3_alpha"])
    x = maxpool(x, 2, 2, True)
    x = prelu(conv(x, W, "onet/conv4"), W["onet/prelu4_alpha"])
    x = prelu(dense(x.reshape(x.shape[0], -1), W, "onet/fc1"), W["onet/prelu5_alpha"])
    return (torch.softmax(dense(x, W, "onet/fc2_1"), -1)[:, 1], dense(x, W, "onet/fc2_2"),
            dense(x, W, "onet/fc2_3"))


def main():
    W = load_weights()
    rng = np.random.default_rng(20161006)
    os.makedirs(OUT, exist_ok=True)

    def save(name, a):
        np.save(os.path.join(OUT, "mtcnn_" + name + ".npy"), np.ascontiguousarray(np.asarray(a, dtype=np.float32)))

    # odd sizes exercise the bottom/right padding of P-Net's SAME pooling
    x = rng.uniform(-1, 1, (1, 31, 27, 3)).astype(np.float32)
    prob, reg = pnet(torch.from_numpy(x.astype(np.float64)), W)
    save("pnet_in", x[0]); save("pnet_prob", prob[0]); save("pnet_reg", reg[0])

    x = rng.uniform(-1, 1, (3, 24, 24, 3)).astype(np.float32)
    prob, reg = rnet(torch.from_numpy(x.astype(np.float64)), W)
    save("rnet_in", x); save("rnet_prob", prob); save("rnet_reg", reg)

    x = rng.uniform(-1, 1, (2, 48, 48, 3)).astype(np.float32)
    prob, reg, lm = onet(torch.from_numpy(x.astype(np.float64)), W)
    save("onet_in", x); save("onet_prob", prob); save("onet_reg", reg); save("onet_lm", lm)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
