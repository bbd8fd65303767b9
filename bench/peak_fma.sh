#!/bin/sh
# One core's fp32 FMA and bf16 dot-product ceiling (bench/peak_fma.c), to read MobileNetV2's GMAC/s against.
set -e
cd "$(dirname "$0")/.."
mkdir -p build
cc -O2 -march=native -o build/peak_fma bench/peak_fma.c
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), family $(grep -m1 'cpu family' /proc/cpuinfo | sed 's/.*: //') model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | sed 's/.*: //')"
build/peak_fma
