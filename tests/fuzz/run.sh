#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/<name>).
# Exit status non-zero if any harness found a crash (saved under build-fuzz/crashes/<name>/).
set -u
secs=$1; shift
fail=0
for bin in "$@"; do
  name=$(basename "$bin"); name=${name#fuzz_}
  seeds="tests/fuzz/corpus/$name"
  work="build-fuzz/corpus-run/$name"; crashes="build-fuzz/crashes/$name"
  mkdir -p "$work" "$crashes"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null
  rss=2048; malloc=1024
  # the media decoders must stay within what they use, whatever a header claims (issue 12)
  case $name in audio_header) rss=512; malloc=256 ;; esac
  if "$bin" "$work" -max_total_time="$secs" -rss_limit_mb=$rss -malloc_limit_mb=$malloc -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$crashes/" >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz $name: ok ($(grep -c . <(ls "$work")) corpus files, $(grep -oE 'stat::number_of_executed_units: [0-9]+' "build-fuzz/$name.log" | awk '{print $2}') runs in ${secs}s)"
  else
    echo "fuzz $name: CRASH, see build-fuzz/$name.log and $crashes/"; tail -n 30 "build-fuzz/$name.log"; fail=1
  fi
done
exit $fail
