#!/usr/bin/env bash
# `make bench` runs this with the bench binaries as arguments.
#
# For a binary bench_<name> with twins, all sides run the same cases (the binary's --specs), case by case,
# alternating ours / twin 1 / twin 2 ... for ROUNDS rounds, so that load from other processes hits every side
# alike; the best time per case and pass is kept on each side and printed with the ratio twin_ms / ours_ms
# (> 1: we are faster). Binaries without a twin are just run. Twins:
#   torch         bench/torch_<name>.py (Debian's PyTorch, eager)
#   torch-frozen  the same script with TORCH_JIT=1, where the script supports it (traced, frozen, optimized)
#   ort           node bench/ort_<name>.js (ONNX Runtime from npm onnxruntime-node; bench/ort_setup.sh installs
#                 it into build/ort and exports the ONNX models; ORT=0 leaves it out)
#   before        BASELINE=<binary>: another build of the same bench (e.g. main's), run with --only <case>, for a
#                 before/after table measured in the same run
#
# Environment: THREADS (default 2), ROUNDS (3), REPS (repeats per run, best kept; 5), PYTHON (/usr/bin/python3),
# CASES (an extended regex: only the cases whose name matches), TWINS (a regex on the twins' labels, e.g. ort),
# CPU_TIME=1 (time every side with the process
# CPU clock, default THREADS 1: a kernel-efficiency comparison that a loaded shared machine disturbs less than
# wall time; see bench/RESULTS.md). OPENBLAS_CORETYPE, when set, is printed in the header.
set -u
cd "$(dirname "$0")/.."
CPU_TIME=${CPU_TIME:-0}
if [ "$CPU_TIME" = 1 ]; then
  THREADS=${THREADS:-1}
  CLK=--cpu-time
else
  THREADS=${THREADS:-2}
  CLK=
fi
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-5}
PY=${PYTHON:-/usr/bin/python3}
CASES=${CASES:-.}
status=0

# twins of bench_$1, one "label<TAB>command" per line
twins() {
  local name=$1
  if [ -f "bench/torch_$name.py" ] && "$PY" -c "import torch" 2>/dev/null; then
    printf 'torch\t%s\n' "$PY bench/torch_$name.py"
    if grep -q TORCH_JIT "bench/torch_$name.py"; then printf 'torch-frozen\t%s\n' "env TORCH_JIT=1 $PY bench/torch_$name.py"; fi
  fi
  if [ -n "${BASELINE:-}" ]; then printf 'before\t%s\n' "$BASELINE"; fi
  if [ -f "bench/ort_$name.js" ] && [ "${ORT:-1}" = 1 ]; then
    if ./bench/ort_setup.sh "build/bench/bench_$name" >"build/ort_setup.log" 2>&1; then
      printf 'ort\t%s\n' "node bench/ort_$name.js"
    else
      echo "(bench/ort_setup.sh failed, see build/ort_setup.log: no ONNX Runtime twin)" >&2
    fi
  fi
}

for bin in "$@"; do
  name=$(basename "$bin")
  name=${name#bench_}
  echo "== $bin (threads $THREADS, rounds $ROUNDS, best of $REPS per run, $([ -n "$CLK" ] && echo CPU || echo wall) time, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
  tmp=$(mktemp -d)
  twins "$name" | awk -F'\t' -v re="${TWINS:-.}" '$1 ~ re' >"$tmp/twins"
  if [ ! -s "$tmp/twins" ]; then
    if [ -f "bench/torch_$name.py" ]; then
      echo "($PY has no torch: running $bin alone, no ratios)"
      "$bin" --threads "$THREADS" --reps "$REPS" $CLK || status=1
    else
      "$bin" || status=1
    fi
    rm -rf "$tmp"
    continue
  fi
  echo "twins: $(cut -f1 "$tmp/twins" | tr '\n' ' ')"
  "$bin" --specs | awk -v re="$CASES" '$1 == "spec" && $2 ~ re' >"$tmp/specs" || { status=1; rm -rf "$tmp"; continue; }
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for r in $(seq "$ROUNDS"); do
    while read -r _ case _; do
      grep -E "^spec $case " "$tmp/specs" >"$tmp/one"
      echo "ours" >>"$tmp/results"
      "$bin" --threads "$THREADS" --reps "$REPS" --only "$case" $CLK | grep '^result' | sed 's/^/ours /' >>"$tmp/results" || status=1
      while IFS=$'\t' read -r label cmd; do
        if [ "$label" = before ]; then what=(--only "$case"); else what=("$tmp/one"); fi
        $cmd "${what[@]}" --threads "$THREADS" --reps "$REPS" $CLK </dev/null | grep '^result' | sed "s/^/$label /" >>"$tmp/results" || status=1
      done <"$tmp/twins"
    done <"$tmp/specs"
  done
  echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
  awk -v twins="$(cut -f1 "$tmp/twins" | tr '\n' ' ')" '
    FNR == NR { if ($1 == "spec") batch[$2] = $3; next }
    $2 == "result" {
      k = $3 " " $4; side = $1
      if (!((side, k) in best) || $5 < best[side, k]) best[side, k] = $5
      if (side == "ours" && !(k in seen)) { seen[k] = 1; order[n++] = k }
    }
    END {
      nt = split(twins, tw, " ")
      printf "%-16s %-4s %10s %8s", "case", "pass", "ours ms", "ms/img"
      for (j = 1; j <= nt; j++) printf " %12s %8s", tw[j] " ms", "ratio"
      printf "\n"
      for (i = 0; i < n; i++) {
        k = order[i]; split(k, f, " "); b = batch[f[1]] > 0 ? batch[f[1]] : 1
        printf "%-16s %-4s %10.3f %8.3f", f[1], f[2], best["ours", k], best["ours", k] / b
        for (j = 1; j <= nt; j++) {
          if ((tw[j], k) in best) printf " %12.3f %7.2fx", best[tw[j], k], best[tw[j], k] / best["ours", k]
          else printf " %12s %8s", "-", "-"
        }
        printf "\n"
      }
    }' "$tmp/specs" "$tmp/results"
  rm -rf "$tmp"
done
exit $status
