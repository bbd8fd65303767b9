#!/bin/sh
# A/B of the area resample (src/vision/imgops.c) of the clip path: the version at REV against the working tree's,
# both built into bench/resample_ab.c, alternating, ROUNDS times (default 4); 1 thread, CPU time per call.
# usage: bench/resample_ab.sh REV [ROUNDS]   (from the repo root, after `make`: links build/src/core/err.o)
rev=$1 rounds=${2:-4}
tmp=$(mktemp -d)
git show "$rev:src/vision/imgops.c" > "$tmp/imgops_old.c" || exit 2
flags="-std=c11 -D_GNU_SOURCE -O3 -march=native -Iinclude -Isrc"
cc $flags bench/resample_ab.c "$tmp/imgops_old.c" build/src/core/err.o -o "$tmp/old" -lm || exit 1
cc $flags bench/resample_ab.c src/vision/imgops.c build/src/core/err.o -o "$tmp/new" -lm || exit 1
echo "load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
r=0
while [ $r -lt "$rounds" ]; do
  echo "$rev: $("$tmp/old")"
  echo "work tree: $("$tmp/new")"
  r=$((r + 1))
done
rm -rf "$tmp"
