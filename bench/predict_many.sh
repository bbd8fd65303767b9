#!/bin/sh
# Throughput of `avemo predict` over many files (issue 15): files/s of a reference binary (main's: files one
# after another, each on all cores inside) against this one with --jobs 1 (the same) and --jobs 2 (two files at
# once, each on one thread), alternating, best of N. Wall time of the whole command as a user sees it (date +%s%N
# around it): process start, model open, every file, exit. OpenMP on all cores (OMP_NUM_THREADS unset unless
# you set it).
#
#   (a) voice: 48 RAVDESS speech FLACs (Actor_01, Actor_02), the bundled voice model (no --model)
#   (b) faces: 24 images, the bundled face model (no --model): 6 photos and 6 RAVDESS frames (MTCNN) and 12
#       FER2013 48x48 crops (classified as they are)
#   (c) clips: 8 copies of the 3.6 s 720p clip with sound, through --model av.safetensors (the paper's head and
#       MobileNetV2, random weights: `BENCH_KEEP=DIR build/bench/bench_predict` leaves both in DIR)
#
# usage: bench/predict_many.sh N DIR REF_BIN BIN    (run from the repository root; data from $AVEMO_SHARED or
#        ../shared; DIR holds clip720p.mp4 and av.safetensors, the copies are made there)
# Also checks that each binary's text output is the reference's once the milliseconds are masked.
set -e
n=$1 dir=$2 ref=$3 bin=$4
shared=${AVEMO_SHARED:-../shared}
mtcnn=$shared/weights/mtcnn/mtcnn_model-weights_manifest.json
voice=$(ls "$shared"/data/ravdess-speech/Actor_01/*.flac "$shared"/data/ravdess-speech/Actor_02/*.flac | head -48)
faces="$(ls "$shared"/data/faces/photos/* | head -6) $(ls "$shared"/data/faces/ravdess-stills/* | head -6)"
for c in angry disgust fear happy neutral sad; do faces="$faces $(ls "$shared"/data/fer2013/train/$c/* | head -2)"; done
clips=
for k in 1 2 3 4 5 6 7 8; do
  [ -f "$dir/clip_$k.mp4" ] || cp "$dir/clip720p.mp4" "$dir/clip_$k.mp4"
  clips="$clips $dir/clip_$k.mp4"
done
log=$(mktemp) outs=$(mktemp -d)
echo "load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc); OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset};" \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
# one run: set, label, binary, extra options, files
run() {
  set_=$1 label=$2 b=$3 opts=$4; shift 4
  t0=$(date +%s%N)
  "$b" predict $opts "$@" > "$outs/$set_.$label.out" 2>/dev/null || true
  echo "$set_ $label $(( ($(date +%s%N) - t0) / 1000 ))" >> "$log"
}
r=0
while [ "$r" -lt "$n" ]; do
  for label in ref jobs1 jobs2; do
    case $label in ref) b=$ref j= ;; jobs1) b=$bin j="--jobs 1" ;; jobs2) b=$bin j="--jobs 2" ;; esac
    run voice $label "$b" "$j" $voice
    run faces $label "$b" "$j" $faces
    run clips $label "$b" "$j --model $dir/av.safetensors --mtcnn $mtcnn" $clips
  done
  r=$((r + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in voice faces clips; do
  for label in jobs1 jobs2; do
    sed 's/[0-9.]* ms/# ms/g' "$outs/$s.ref.out" > "$outs/a"
    sed 's/[0-9.]* ms/# ms/g' "$outs/$s.$label.out" > "$outs/b"
    if cmp -s "$outs/a" "$outs/b"; then echo "$s $label: text output the reference's (times masked)"
    else echo "$s $label: text output DIFFERS from the reference's"; fi
  done
done
awk -v nv=48 -v nf=24 -v nc=8 '{k = $1 " " $2; t = $3 / 1e6; if (!(k in best) || t < best[k]) best[k] = t}
     END { files["voice"] = nv; files["faces"] = nf; files["clips"] = nc
           printf "%-6s %6s %12s %12s %12s %12s %12s %12s %10s\n", "set", "files", "ref wall s", "ref files/s",
                  "-j1 wall s", "-j1 files/s", "-j2 wall s", "-j2 files/s", "-j2 / ref"
           split("voice faces clips", order, " ")
           for (i = 1; i <= 3; i++) { s = order[i]; f = files[s]
             printf "%-6s %6d %12.3f %12.2f %12.3f %12.2f %12.3f %12.2f %10.2f\n", s, f, best[s " ref"],
                    f / best[s " ref"], best[s " jobs1"], f / best[s " jobs1"], best[s " jobs2"], f / best[s " jobs2"],
                    best[s " ref"] / best[s " jobs2"] } }' "$log"
rm -rf "$log" "$outs"
