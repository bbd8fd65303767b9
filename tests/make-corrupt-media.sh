#!/usr/bin/env bash
# Writes a folder of damaged media and weight files (and a few good ones) for the corrupt-input suite
# (tests/cli/test_corrupt.c). Needs ffmpeg and sox. Usage: tests/make-corrupt-media.sh OUTDIR
set -euo pipefail
out=${1:?usage: make-corrupt-media.sh OUTDIR}
mkdir -p "$out/good" "$out/bad"
q() { "$@" >/dev/null 2>&1; }
# good inputs: a 2 s tone WAV and a 2 s 320x240 H.264 clip with sound
q ffmpeg -y -f lavfi -i "sine=frequency=300:duration=2" -ar 22050 "$out/good/tone.wav"
q ffmpeg -y -f lavfi -i "testsrc=size=320x240:rate=30:duration=2" -f lavfi -i "sine=frequency=440:duration=2" \
  -c:v mpeg4 -c:a aac -shortest "$out/good/clip.mp4"
q ffmpeg -y -f lavfi -i "testsrc=size=65x49:rate=25:duration=1" -c:v mjpeg "$out/good/odd_size.avi"  # odd frame size
# bad inputs, one problem each (the file name says which)
: > "$out/bad/empty.wav"                                                     # zero bytes
head -c 44 "$out/good/tone.wav" > "$out/bad/header_only.wav"                # WAV header, no samples
head -c 300 "$out/good/clip.mp4" > "$out/bad/truncated.mp4"                  # cut inside the header
head -c $(( $(stat -c %s "$out/good/clip.mp4") / 3 )) "$out/good/clip.mp4" > "$out/bad/truncated_third.mp4"
head -c 4096 /dev/urandom > "$out/bad/noise.wav"                             # random bytes with a media name
head -c 4096 /dev/urandom > "$out/bad/noise.mp4"
echo "this is not audio" > "$out/bad/text.flac"                             # wrong content for extension
q ffmpeg -y -f lavfi -i "testsrc=size=64x64:rate=30:duration=1" -an -c:v mpeg4 "$out/bad/no_audio.mp4"
q ffmpeg -y -f lavfi -i "sine=frequency=440:duration=1" -vn "$out/bad/no_video.m4a"
cp "$out/good/tone.wav" "$out/good/tone_renamed.mp4"                        # wrong extension, valid audio: must decode
q ffmpeg -y -f lavfi -i "testsrc=size=64x64:rate=25:duration=1" -frames:v 0 -c:v mpeg4 "$out/bad/no_frames.mp4"
q ffmpeg -y -f lavfi -i "sine=frequency=440:duration=1" -t 0 "$out/bad/no_samples.m4a"
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
cp "$out/good/tone.wav" "$out/bad/zero_channels.wav"; patch "$out/bad/zero_channels.wav" 22 '\x00\x00'
cp "$out/good/tone.wav" "$out/bad/zero_rate.wav"; patch "$out/bad/zero_rate.wav" 24 '\x00\x00\x00\x00'
printf '\x93NUMPY\x01\x00\xff\x00{' > "$out/bad/broken.npy"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > "$out/bad/huge_header.safetensors"
printf '\x08\x00\x00\x00\x00\x00\x00\x00{"a":1}' > "$out/bad/bad_json.safetensors"
head -c 2048 /dev/urandom > "$out/bad/noise.tflite"
echo "made $(ls "$out/good" | wc -l) good and $(ls "$out/bad" | wc -l) bad files in $out"
