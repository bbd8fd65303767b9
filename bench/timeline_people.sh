#!/usr/bin/env bash
# avemo predict --people on a 60 s 720p two-face recording, beside plain window mode on the same file and model,
# alternated, best of N: wall time per window and process CPU time (user + sys) with OMP_NUM_THREADS=1.
# The recording: two real RAVDESS stills (../shared/data/faces/ravdess-stills) side by side, 1280 x 720,
# 25 fps, a tone; the right face changes every 10 s (six actors). Usage:
#   bench/timeline_people.sh MODEL.safetensors [REPS]   (a video model; e.g. the FER2013 face model)
set -euo pipefail
MODEL=${1:?usage: bench/timeline_people.sh MODEL.safetensors [REPS]}
REPS=${2:-2}
SHARED=${AVEMO_SHARED:-../shared}
S=$SHARED/data/faces/ravdess-stills
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CLIP=$TMP/two_people_60s_720p.mp4
in=(-loop 1 -framerate 25 -t 60 -i "$S/Actor_01.png")
for a in 02 04 06 08 10 12; do in+=(-loop 1 -framerate 25 -t 10 -i "$S/Actor_$a.png"); done
ffmpeg -nostdin -loglevel error -y "${in[@]}" -f lavfi -i sine=frequency=440:sample_rate=48000 -filter_complex \
  "[1:v][2:v][3:v][4:v][5:v][6:v]concat=n=6:v=1[r];[0:v]scale=640:360[l];[r]scale=640:360[rr];[l][rr]hstack=inputs=2,pad=1280:720:0:180:white,format=yuv420p[v]" \
  -map '[v]' -map 7:a -t 60 -c:v libx264 -c:a aac "$CLIP"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) on $(nproc) cores; OMP_NUM_THREADS=1; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
run() { # label, args...: prints wall s, cpu s
  local label=$1; shift
  local t0 t1 cpu
  t0=$(date +%s.%N)
  cpu=$( { /usr/bin/time -f "%U %S" env OMP_NUM_THREADS=1 ./build/avemo predict --model "$MODEL" "$@" "$CLIP" >"$TMP/$label.out"; } 2>&1 | tail -1)
  t1=$(date +%s.%N)
  echo "$label $(echo "$t1 - $t0" | bc) $(echo "$cpu" | awk '{print $1 + $2}')"
}
for r in $(seq "$REPS"); do
  run windows --window 2 --hop 1
  run people --people --window 2 --hop 1
done | awk -v n="$(grep -c . /dev/null)" '
  { if (!($1 in w) || $2 < w[$1]) w[$1] = $2; if (!($1 in c) || $3 < c[$1]) c[$1] = $3 }
  END { for (k in w) printf "%-8s best wall %.1f s (%.3f s per window, 59 windows), best CPU %.1f s (%.3f s per window)\n", k, w[k], w[k] / 59, c[k], c[k] / 59 }'
echo "people: $(grep -c 'person' "$TMP/people.out") person-window lines, tracks: $(grep -o 'person [0-9]*' "$TMP/people.out" | sort -u | tr '\n' ' ')"
