#!/usr/bin/python3
"""Export the MobileNetV2 of bench/torch_mobilenetv2.py (torchvision mobilenet_v2, random init, classifier
removed, 1-channel stem for gray cases) to ONNX for the ONNX Runtime twin, one file per inference case of
`bench_mobilenetv2 --specs`: OUT_DIR/mnv2_c<channels>_<h>x<w>_b<batch>.onnx, static shapes, eval mode
(torch.onnx folds BN into the convs in eval mode: the graph holds Conv, Clip, Add, GlobalAveragePool only).

usage: /usr/bin/python3 bench/ort_export.py SPECS_FILE OUT_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mobilenetv2 import make_model  # noqa: E402


def main():
    specs, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    models = {}
    for line in open(specs):
        f = line.split()
        if len(f) < 6 or f[0] != "spec" or not f[1].startswith("infer"):
            continue
        n, c, h, w = map(int, f[2:6])
        path = os.path.join(out_dir, f"mnv2_c{c}_{h}x{w}_b{n}.onnx")
        if os.path.exists(path):
            continue
        if c not in models:
            models[c] = make_model(c).eval().to(memory_format=torch.contiguous_format)
        x = torch.rand(n, c, h, w) * 2 - 1
        with torch.no_grad():
            torch.onnx.export(models[c], x, path + ".tmp", input_names=["x"], output_names=["features"],
                              opset_version=13, do_constant_folding=True)
        os.replace(path + ".tmp", path)
        blob = open(path, "rb").read()
        if b"BatchNormalization" in blob:
            sys.exit(f"{path}: BatchNormalization left in the graph (BN not folded)")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
