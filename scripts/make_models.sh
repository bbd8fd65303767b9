#!/usr/bin/env bash
# Retrains the bundled models of models/ from ../shared with the recorded seeds and settings (models/README.md),
# and says how long each took. `make models` runs it; the bundled files are what it wrote.
#
#   scripts/make_models.sh [voice] [face] [face-calibration]       (default: voice face)
#
# Each model is then calibrated (avemo calibrate, models/README.md "Calibration"): the voice's temperature fitted on
# the validation actors of VOICE_CAL_FOLDS folds (default all 6) of a kfold:6 run of the same recipe (the bundled voice
# model trains on every actor, so its own predictions on them are no validation data), the face's on FER2013's
# holdout:1 images.
# `face-calibration` alone refits the face's temperature of DEST/face.safetensors (a replaced face model) on the
# cache FER48 (default WORK/fer48), without training.
#
# Environment:
#   AVEMO   the avemo program (default ./avemo)
#   SHARED  the shared folder (default $AVEMO_SHARED, else ../shared)
#   WORK    caches and runs (default build/models-work; a rerun resumes an interrupted face training)
#   DEST    where face.safetensors and voice.safetensors go (default models)
#   TINY=1  a seconds-long smoke version (tests/cli/test_make_models): the same commands with 1-2 epochs and few
#           statistics images; its files differ from the bundled ones only in the weights and the epoch count
#
# Time on the 2-core machine of 2026-12-08 (shared with other jobs): voice about 5.5 min (3 preps 31 s + 3 x 60 epochs
# of 2,160 rows) and its calibration about 25 CPU-min (6 folds x 3 x 60 epochs of 1,440 rows); face at 96 x 96:
# prep 25 s, stage 1 (20 epochs) 49 min, stage 2 (30 epochs) 97 min (75 min of it idle-equivalent: ~150 s per
# epoch), stage 3 (12 epochs) 33 min of wall time with 2 cores: about 3 hours in all.
set -euo pipefail
AVEMO=${AVEMO:-./avemo}
SHARED=${SHARED:-${AVEMO_SHARED:-../shared}}
WORK=${WORK:-build/models-work}
DEST=${DEST:-models}
TINY=${TINY:-0}
VOICE_CAL_FOLDS=${VOICE_CAL_FOLDS:-6}
FER48=${FER48:-$WORK/fer48}
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(voice face)

if [ "$TINY" = 1 ]; then
  VOICE_EPOCHS=(--epochs 2); FACE1=(--epochs 1 --stats-images 16); FACE2=(--epochs 1 --stats-images 16)
  FACE3=(--epochs 1 --stats-images 16)
else
  VOICE_EPOCHS=(); FACE1=(--epochs 20 --stats-images 1024); FACE2=(--epochs 30 --stats-images 1024)
  FACE3=(--epochs 12 --stats-images 1024)
fi
need() { [ -e "$1" ] || { echo "make_models: $1 is missing (SHARED=$SHARED)" >&2; exit 2; }; }
mkdir -p "$WORK" "$DEST"
secs() { date +%s; }

voice() {
  need "$SHARED/data/ravdess-speech"
  local t0; t0=$(secs)
  # the audio stream of RAVDESS speech, all 12 shared actors: 10 MFCC and 2 pitch rows (prep --recipe voice), the
  # default --recipe voice (stride-2 baseline stream, AdamW 3e-3, one-cycle, 60 epochs, batch 32, a 3-seed
  # ensemble), every clip trains, the last epoch of each member is kept; each clip also trains played 0.9 and 1.1
  # times as fast (prep --speed, train --train-extra: bench/RESULTS.md "Speed copies")
  local s extra=()
  for s in 1 0.9 1.1; do
    "$AVEMO" prep --dataset ravdess --modality audio --recipe voice --input "$SHARED/data/ravdess-speech" \
      --out "$WORK/c-voice-speed$s" --speed "$s"
    [ "$s" = 1 ] || extra+=("$WORK/c-voice-speed$s")
  done
  extra=(--train-extra "$(IFS=,; echo "${extra[*]}")")
  rm -rf "$WORK/r-voice"
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$AVEMO" train --data "$WORK/c-voice-speed1" --out "$WORK/r-voice" \
    --modality audio --protocol all --seed 1 "${extra[@]}" "${VOICE_EPOCHS[@]}"
  cp "$WORK/r-voice/model.safetensors" "$DEST/voice.safetensors"
  echo "make_models: voice: $DEST/voice.safetensors in $(( $(secs) - t0 )) s"
  if [ "$TINY" = 1 ]; then echo "make_models: voice calibration skipped (TINY: 2 actors make no kfold:6)"; return; fi
  # calibration: fold models of the same recipe (kfold:6, first VOICE_CAL_FOLDS folds, default 6), their validation
  # actors pooled
  local t1 folds=(); t1=$(secs)
  rm -rf "$WORK/r-voice-cal"
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$AVEMO" train --data "$WORK/c-voice-speed1" --out "$WORK/r-voice-cal" \
    --modality audio --protocol kfold:6 --folds "$VOICE_CAL_FOLDS" --seed 1 "${extra[@]}"
  for ((k = 1; k <= VOICE_CAL_FOLDS; k++)); do folds+=("$WORK/r-voice-cal/fold_$k/model.safetensors"); done
  "$AVEMO" calibrate --data "$WORK/c-voice-speed1" --protocol kfold:6 --seed 1 --split val \
    --write "$DEST/voice.safetensors" "${folds[@]}"
  echo "make_models: voice calibration in $(( $(secs) - t1 )) s"
}

# the face's temperature on FER2013's holdout:1 images (the 10 % stages 1-3 never trained on)
face_calibration() {
  need "$FER48"
  "$AVEMO" calibrate --data "$FER48" --protocol holdout:1 --split test --write "$DEST/face.safetensors" \
    "$DEST/face.safetensors"
}

# stage RUN TRAIN-ARGS...: `avemo train` into RUN unless RUN holds its model; --resume when RUN was interrupted
stage() {
  local run=$1; shift
  [ -e "$run/model.safetensors" ] && { echo "make_models: $run is done (remove it to retrain)"; return; }
  local resume=(); [ -d "$run" ] && resume=(--resume)
  "$AVEMO" "$@" "${resume[@]}"
}

face() {
  need "$SHARED/data/fer2013/train"
  need "$SHARED/weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"
  local t0; t0=$(secs)
  "$AVEMO" import --from tflite --channels 1 --out "$WORK/mnv2_gray.safetensors" \
    "$SHARED/weights/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"
  "$AVEMO" prep --dataset imagefolder --input "$SHARED/data/fer2013/train" --out "$WORK/fer48" --size 48
  # every stage: MobileNetV2 (ImageNet, gray stem) fine-tuned end to end with its head at 96 x 96 on 90 % of
  # FER2013's train split (holdout:1 keeps 10 % per class out, scored once with the final epoch), AdamW, a cosine
  # cycle with a one-epoch warm-up, label smoothing 0.1, dropout 0.2
  local common=(train --data "$WORK/fer48" --modality video --finetune --backbone "$WORK/mnv2_gray.safetensors"
    --input-size 96 --protocol holdout:1 --batch 64 --optimizer adamw --weight-decay 0.05 --schedule cosine
    --warmup 1 --label-smoothing 0.1 --dropout 0.2)
  # stage 1: from the ImageNet weights, peak rate 1e-3; its final scoring uses 10 test-time views (as the run that
  # made the bundled file: it changes no weight)
  stage "$WORK/fer96_s1" "${common[@]}" --out "$WORK/fer96_s1" --lr 1e-3 --seed 1 --tta 10 "${FACE1[@]}"
  local t1; t1=$(secs)
  echo "make_models: face stage 1 in $(( t1 - t0 )) s"
  # stage 2: a second cosine cycle at half the peak rate from stage 1, the same hold-out
  stage "$WORK/fer96_s2" "${common[@]}" --out "$WORK/fer96_s2" --init-visual "$WORK/fer96_s1/model.safetensors" \
    --lr 5e-4 --seed 2 "${FACE2[@]}"
  local t2; t2=$(secs)
  echo "make_models: face stage 2 in $(( t2 - t1 )) s"
  # stage 3: a third cosine cycle at 2e-4 from stage 2 with cutmix on half the batches (against stage 2's
  # over-fitting); its final scoring uses 10 test-time views
  stage "$WORK/fer96_s3" "${common[@]}" --out "$WORK/fer96_s3" --init-visual "$WORK/fer96_s2/model.safetensors" \
    --lr 2e-4 --seed 4 --cutmix 1.0 --mix-prob 0.5 --tta 10 "${FACE3[@]}"
  cp "$WORK/fer96_s3/model.safetensors" "$DEST/face.safetensors"
  echo "make_models: face stage 3 in $(( $(secs) - t2 )) s; $DEST/face.safetensors in $(( $(secs) - t0 )) s"
  face_calibration
}

for w in "${which[@]}"; do
  case "$w" in
    voice) voice ;;
    face) face ;;
    face-calibration) face_calibration ;;
    *) echo "make_models: unknown model '$w' (voice, face, face-calibration)" >&2; exit 2 ;;
  esac
done
