#!/usr/bin/env bash
# The ONNX Runtime twin of bench_mobilenetv2: installs npm onnxruntime-node (pinned) into build/ort with
# --ignore-scripts (its postinstall fetches GPU parts from a host we cannot reach; the CPU library ships in the
# package) and exports the benchmark's MobileNetV2 cases to ONNX with Debian's torch (bench/ort_export.py).
# Idempotent; bench/run.sh calls it. Needs node + npm (Debian packages) and the npm registry.
#   usage: bench/ort_setup.sh [BENCH_MOBILENETV2_BINARY]   (default build/bench/bench_mobilenetv2)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=1.30.0
DIR=build/ort
BIN=${1:-build/bench/bench_mobilenetv2}
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$DIR"
if [ ! -f "$DIR/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q "\"version\": \"$ORT_VERSION\"" "$DIR/node_modules/onnxruntime-node/package.json"; then
  command -v npm >/dev/null || { echo "ort_setup: npm not found (apt-get install npm)" >&2; exit 1; }
  [ -f "$DIR/package.json" ] || echo '{"name": "avemo-ort-bench", "private": true}' >"$DIR/package.json"
  (cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$ORT_VERSION")
fi
"$BIN" --specs >"$DIR/specs"
"$PY" bench/ort_export.py "$DIR/specs" "$DIR"
