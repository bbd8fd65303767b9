#!/usr/bin/env bash
# Builds the embedded demo dataset: synthetic emotional speech in RAVDESS's audio-only layout, from
# Debian's espeak-ng alone (no download). Each "actor" is an espeak-ng voice variant; each emotion is a
# prosody setting (pitch, pitch range, speed, amplitude), the cues real emotional speech carries.
#   scripts/make-demo-data.sh OUTDIR [ACTORS]
# Writes OUTDIR/Actor_XX/03-01-EE-II-SS-RR-XX.wav (22.05 kHz mono 16-bit): 8 emotions x 2 intensities x
# 2 statements x 2 repetitions per actor, like RAVDESS speech.
set -euo pipefail
out=${1:?usage: make-demo-data.sh OUTDIR [ACTORS]}
actors=${2:-8}
command -v espeak-ng >/dev/null || { echo "make-demo-data: espeak-ng is not installed (scripts/install-deps.sh)" >&2; exit 2; }
variants=(m1 f1 m2 f2 m3 f3 m4 f4 m5 f5 m6 m7)
voices=(en-us en-gb)
statements=("Kids are talking by the door" "Dogs are sitting by the door")
# emotion code -> espeak-ng pitch (-p 0-99), speed (-s words/min), amplitude (-a 0-200), word gap (-g, 10 ms
# units); intensity 02 exaggerates each away from neutral.
declare -A pitch=([01]=50 [02]=42 [03]=72 [04]=30 [05]=58 [06]=85 [07]=38 [08]=90)
declare -A speed=([01]=165 [02]=140 [03]=190 [04]=120 [05]=205 [06]=215 [07]=135 [08]=180)
declare -A amp=([01]=100 [02]=80 [03]=130 [04]=70 [05]=180 [06]=110 [07]=95 [08]=150)
declare -A gap=([01]=6 [02]=12 [03]=4 [04]=14 [05]=2 [06]=3 [07]=10 [08]=5)
n=0
for ((a = 1; a <= actors; a++)); do
  A=$(printf %02d "$a")
  dir="$out/Actor_$A"
  mkdir -p "$dir"
  voice="${voices[$(( (a - 1) % 2 ))]}+${variants[$(( (a - 1) % ${#variants[@]} ))]}"
  base=$(( (a * 7) % 11 - 5 ))   # per-actor pitch offset
  for e in 01 02 03 04 05 06 07 08; do
    for i in 01 02; do
      [ "$e" = 01 ] && [ "$i" = 02 ] && continue   # RAVDESS has no strong neutral
      for s in 01 02; do
        for r in 01 02; do
          f="$dir/03-01-$e-$i-$s-$r-$A.wav"
          [ -s "$f" ] && { n=$((n + 1)); continue; }
          p=${pitch[$e]}; sp=${speed[$e]}; am=${amp[$e]}
          if [ "$i" = 02 ]; then p=$(( p + (p - 50) / 2 )); sp=$(( sp + (sp - 165) / 2 )); am=$(( am + (am - 100) / 2 )); fi
          p=$(( p + base + (10#$r - 1) * 3 )); [ $p -lt 0 ] && p=0; [ $p -gt 99 ] && p=99
          sp=$(( sp + (10#$r - 1) * 8 ))
          espeak-ng -v "$voice" -p "$p" -s "$sp" -a "$am" -g "${gap[$e]}" -w "$f.tmp.wav" "${statements[$((10#$s - 1))]}"
          mv "$f.tmp.wav" "$f"
          n=$((n + 1))
        done
      done
    done
  done
done
echo "make-demo-data: $n clips from $actors actors in $out"
