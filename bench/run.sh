#!/usr/bin/env bash
# Runs each benchmark binary given (make bench); each prints its timings and a ratio against its reference.
set -u
status=0
for b in "$@"; do
  echo "== ${b##*/}"
  "$b" || status=1
done
exit $status
