#!/usr/bin/env bash
# Ranks against throughput on this machine (bench/RESULTS.md "Ranks"): prep, a k-fold training and one
# data-parallel training, each as 1 process with 1 thread, 1 process with 2 threads (OpenMP: what avemo does
# alone on 2 cores) and 2 MPI ranks with 1 thread each. The three run in turn, ROUNDS times; the best time of
# each is kept and the speed-ups are against 1 process x 1 thread. Needs the MPI build (`make MPI=1`).
# Beside each best wall time: the CPU seconds (user + sys of every process of the run, mpirun's included) of
# that run, which say what the parallel version costs in all on a machine too busy for wall times to speak.
#
#   bench/mpi_scaling.sh            [ROUNDS=3] [DATA=../shared/data/ravdess-speech] [OUT=/tmp/avemo-mpi-bench]
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build-mpi/avemo}
DATA=${DATA:-../shared/data/ravdess-speech}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/avemo-mpi-bench}
EPOCHS=${EPOCHS:-5}
[ -x "$BIN" ] || { echo "mpi_scaling: $BIN missing: make MPI=1" >&2; exit 1; }
MPIRUN=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
rm -rf "$OUT" && mkdir -p "$OUT"
export OMP_WAIT_POLICY=passive

# run NAME CONFIG CMD...: time CMD (fresh output folder $OUT/NAME.CONFIG) and keep the best per NAME.CONFIG,
# with that run's CPU seconds
declare -A best cpu
run() {
  local key="$1.$2"; shift 2
  rm -rf "$OUT/$key"
  local t0=$EPOCHREALTIME ok=1
  TIMEFORMAT='%U %S'
  { time "$@" >>"$OUT/log" 2>&1 || ok=0; } 2>"$OUT/times"
  [ $ok = 1 ] || { echo "mpi_scaling: $key failed (see $OUT/log)" >&2; exit 1; }
  local dt c
  dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  c=$(awk '{ printf "%.2f", $1 + $2 }' "$OUT/times")
  echo "$key $dt s wall, $c s CPU" >>"$OUT/runs"
  if [ -z "${best[$key]:-}" ] || awk -v x="$dt" -v y="${best[$key]}" 'BEGIN { exit !(x < y) }'; then
    best[$key]=$dt cpu[$key]=$c
  fi
}
one()  { OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$@"; }
two()  { OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$@"; }
mpi2() { OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" -np 2 "$@"; }

PREP=(prep --dataset ravdess --modality audio --features mfcc --input "$DATA")
one "$BIN" "${PREP[@]}" --out "$OUT/cache" --jobs 1 >/dev/null   # the cache the trainings read
FOLDS=(train --data "$OUT/cache" --modality audio --protocol kfold:6 --epochs "$EPOCHS" --quiet --seed 1)
DP=(train --data "$OUT/cache" --modality audio --protocol kfold:6 --folds 1 --epochs "$EPOCHS" --quiet --seed 1)

echo "# mpi_scaling: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), rounds $ROUNDS, $(mpirun --version | head -1)"
for r in $(seq "$ROUNDS"); do
  for c in one two mpi2; do
    jobs=1; [ $c = two ] && jobs=2
    run prep $c $c "$BIN" "${PREP[@]}" --out "$OUT/prep.$c" --jobs $jobs
    run folds $c $c "$BIN" "${FOLDS[@]}" --out "$OUT/folds.$c"
    for b in 8 64; do
      dist=(); [ $c = mpi2 ] && dist=(--distribute batch)
      run dp$b $c $c "$BIN" "${DP[@]}" --batch $b "${dist[@]}" --out "$OUT/dp$b.$c"
    done
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| job | 1 process, 1 thread | 1 process, 2 threads | 2 ranks x 1 thread | 2 threads: speed-up | 2 ranks: speed-up |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for job in prep folds dp8 dp64; do
  a=${best[$job.one]} b=${best[$job.two]} c=${best[$job.mpi2]}
  awk -v j="$job" -v a="$a" -v b="$b" -v c="$c" -v ca="${cpu[$job.one]}" -v cb="${cpu[$job.two]}" -v cc="${cpu[$job.mpi2]}" \
    'BEGIN { printf "| %s | %.2f s (%.1f CPU s) | %.2f s (%.1f) | %.2f s (%.1f) | %.2fx | %.2fx |\n", j, a, ca, b, cb, c, cc, a / b, a / c }'
done
