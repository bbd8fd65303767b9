#!/usr/bin/env bash
# `make bench` runs this with the bench binaries as arguments.
#
# For a binary bench_<name> with a PyTorch twin bench/torch_<name>.py, both are run on the same layer shapes
# (the binary's --specs), layer by layer, alternating ours / torch for ROUNDS rounds, so that load from other
# processes hits both sides alike; the best time per layer and pass is kept on each side and printed with the
# ratio torch_ms / ours_ms (> 1: we are faster). Binaries without a twin are just run.
#
# Environment: THREADS (default 2), ROUNDS (3), REPS (repeats per run, best kept; 5), PYTHON (/usr/bin/python3),
# CPU_TIME=1 (time both sides with the process CPU clock, default THREADS 1: a kernel-efficiency comparison
# that a loaded shared machine disturbs less than wall time; see bench/RESULTS.md).
set -u
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
status=0

for bin in "$@"; do
  name=$(basename "$bin")
  name=${name#bench_}
  twin="bench/torch_$name.py"
  echo "== $bin (threads $THREADS, rounds $ROUNDS, best of $REPS per run, $([ -n "$CLK" ] && echo CPU || echo wall) time${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE})"
  if [ ! -f "$twin" ]; then
    "$bin" || status=1
    continue
  fi
  if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "($PY has no torch: running $bin alone, no ratios)"
    "$bin" --threads "$THREADS" --reps "$REPS" $CLK || status=1
    continue
  fi
  tmp=$(mktemp -d)
  "$bin" --specs >"$tmp/specs" || { status=1; rm -rf "$tmp"; continue; }
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for r in $(seq "$ROUNDS"); do
    while read -r _ layer _; do
      grep -E "^spec $layer " "$tmp/specs" >"$tmp/one"
      "$bin" --threads "$THREADS" --reps "$REPS" --only "$layer" $CLK | grep '^result' >>"$tmp/ours" || status=1
      "$PY" "$twin" "$tmp/one" --threads "$THREADS" --reps "$REPS" $CLK | grep '^result' >>"$tmp/torch" || status=1
    done <"$tmp/specs"
  done
  echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
  awk -v rounds="$ROUNDS" '
    FNR == 1 { side++ }
    /^result/ {
      k = $2 " " $3
      if (side == 1) { if (!(k in o) || $4 < o[k]) { o[k] = $4; og[k] = $5 } if (!(k in seen)) { seen[k] = 1; order[n++] = k } }
      else           { if (!(k in t) || $4 < t[k]) { t[k] = $4; tg[k] = $5 } }
    }
    END {
      printf "%-22s %-4s %10s %10s %10s %10s %8s\n", "layer", "pass", "ours ms", "GFLOP/s", "torch ms", "GFLOP/s", "ratio"
      for (i = 0; i < n; i++) {
        k = order[i]; split(k, f, " ")
        if (k in t) printf "%-22s %-4s %10.3f %10.2f %10.3f %10.2f %7.2fx\n", f[1], f[2], o[k], og[k], t[k], tg[k], t[k] / o[k]
        else        printf "%-22s %-4s %10.3f %10.2f %10s %10s %8s\n", f[1], f[2], o[k], og[k], "-", "-", "-"
      }
    }' "$tmp/ours" "$tmp/torch"
  rm -rf "$tmp"
done
exit $status
