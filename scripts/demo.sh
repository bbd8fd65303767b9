#!/usr/bin/env bash
# The main job: installs the Debian packages, builds avemo, runs `avemo predict` with the bundled models
# (models/README.md) on real media from ../shared (a photo, a RAVDESS recording, the two muxed into a video with
# sound, a FER2013 face crop; skipped with a note when ../shared is absent), then, on the embedded default,
# makes a small labelled
# emotional-speech set with espeak-ng (scripts/make-demo-data.sh: 8 synthetic "actors" x 60 utterances in
# RAVDESS's audio-only layout), prepares MFCC features, trains the audio stream on actors 1-5 (validation
# actor 6, test actors 7-8: speaker-independent), evaluates it, predicts the emotion of a held-out clip,
# and prints where the report and plots are. Needs nothing but Debian packages. ~2 minutes on 2 cores.
#   scripts/demo.sh [OUTDIR]      (default build/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/demo}
./scripts/install-deps.sh
make -j"$(nproc)" avemo
mkdir -p "$out"
shared=${AVEMO_SHARED:-../shared}
echo "== 0/5 the bundled models on real media from $shared (no training): each stream the file has, fused late"
if [ -r "$shared/data/faces/photos/paul_rudd.jpg" ]; then
  flac="$shared/data/ravdess-speech/Actor_03/03-01-03-02-01-01-03.flac"   # RAVDESS actor 3, happy, strong
  ffmpeg -v error -y -loop 1 -framerate 10 -i "$shared/data/faces/ravdess-stills/Actor_03.png" -i "$flac" -shortest \
    -vf scale=398:224 -c:v mpeg4 -pix_fmt yuv420p -c:a aac "$out/actor03_still_with_speech.mp4"
  ./avemo predict "$shared/data/faces/photos/paul_rudd.jpg" "$flac" "$out/actor03_still_with_speech.mp4" \
    "$shared/data/fer2013/train/happy/Training_10019449.jpg"
else
  echo "(skipped: $shared/data is missing; give files of your own: ./avemo predict PHOTO.jpg CLIP.mp4 SPEECH.wav)"
fi
echo "== 1/5 synthetic emotional speech (espeak-ng) -> $out/data"
./scripts/make-demo-data.sh "$out/data" 8
echo "== 2/5 features: librosa-exact MFCC (10 x 156) per clip -> $out/cache"
./avemo prep --dataset ravdess --modality audio --recipe paper --features mfcc --input "$out/data" --out "$out/cache"
echo "== 3/5 train the audio stream (paper's Table II) on actors 1-5, select on actor 6, test on 7-8"
./avemo train --data "$out/cache" --out "$out/run" --modality audio --recipe paper --protocol actors:7,8/6 \
  --epochs 25 --optimizer adam --lr 0.001 --schedule cosine --seed 1 --resume
echo "== 4/5 evaluate on the held-out actors 7 and 8"
./avemo eval --model "$out/run/model.safetensors" --data "$out/cache" --actors 7,8
clip="$out/data/Actor_08/03-01-05-02-01-01-08.wav"
echo "== 5/5 predict the emotion of a held-out clip (actor 8, angry, strong): $clip"
./avemo predict --model "$out/run/model.safetensors" --top 3 "$clip"
echo
echo "report:   $out/run/report.md (and report.json)"
echo "plots:    $out/run/confusion.png, $out/run/fold_1/learning_curves.png"
echo "model:    $out/run/model.safetensors"
