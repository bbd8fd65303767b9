#!/bin/sh
# A/B of `avemo predict` on one clip (issue 15): binaries alternating, best of N; CPU time (user + sys) and minor
# page faults on 1 OpenMP thread, wall time on 2 threads (from process start to exit, model load included; best and
# median: on a loaded machine the median says more about the stages' overlap than one lucky best).
# usage: bench/predict_ab.sh N CLIP MODEL BIN... (MTCNN weights from $AVEMO_SHARED or ../shared)
# The clip and model: BENCH_KEEP=DIR build/bench/bench_predict leaves clip720p.mp4 and av.safetensors in DIR.
n=$1 clip=$2 model=$3; shift 3
mtcnn=${AVEMO_SHARED:-../shared}/weights/mtcnn/mtcnn_model-weights_manifest.json
log=$(mktemp)
echo "load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
r=0
while [ $r -lt "$n" ]; do
  for b in "$@"; do for th in 1 2; do
    /usr/bin/time -f "$b $th %U %S %e %R" -a -o "$log" env OMP_NUM_THREADS=$th "$b" predict --model "$model" \
      --mtcnn "$mtcnn" "$clip" > /dev/null 2>&1
  done; done
  r=$((r + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{cpu = $3 + $4; k = $1 " " $2
      if (!(k in best) || cpu < best[k]) best[k] = cpu
      if (!(k in wall) || $5 < wall[k]) wall[k] = $5
      walls[k, ++nw[k]] = $5
      if (!(k in flt) || $6 < flt[k]) flt[k] = $6; if (!(k in seen)) { seen[k] = 1; order[++m] = $1 } }
     function median(k,    i, j, t, n, v) { n = nw[k]; for (i = 1; i <= n; i++) v[i] = walls[k, i]
       for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
       return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
     END { printf "%-40s %14s %16s %14s %14s %16s\n", "binary", "CPU 1 thr (s)", "minor faults 1t", "CPU 2 thr (s)",
                  "wall 2 thr (s)", "median wall 2t"
           for (i = 1; i <= m; i += 2) { b = order[i]
             printf "%-40s %14.2f %16d %14.2f %14.2f %16.2f\n", b, best[b " 1"], flt[b " 1"], best[b " 2"], wall[b " 2"],
                    median(b " 2") } }' "$log"
rm -f "$log"
