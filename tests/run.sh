#!/usr/bin/env bash
# Runs each test binary given, prints its output, and ends with one line "N passed, N failed".
# A binary that crashes or prints no RESULT line counts as one failure. Logs: $BUILD/test-logs/.
set -u
# Idle OpenMP threads sleep instead of spinning: with spinning, a machine busy with other work makes the many
# small parallel regions of the tests wait for descheduled spinners (measured 48 s instead of 2 s on a
# loaded 2-core machine). Set OMP_WAIT_POLICY yourself to override.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
pass=0
fail=0
logdir="${BUILD:-build}/test-logs"
mkdir -p "$logdir"
for t in "$@"; do
  name=${t#*/tests/}
  log="$logdir/${name//\//_}.log"
  start=$(date +%s)
  "$t" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  res=$(grep -E '^RESULT [0-9]+ [0-9]+$' "$log" | tail -1)
  if [ -n "$res" ]; then
    p=$(echo "$res" | cut -d' ' -f2); f=$(echo "$res" | cut -d' ' -f3)
  else
    p=0; f=0
  fi
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $name: exited with status $rc"; fi
  pass=$((pass + p)); fail=$((fail + f))
  grep -E '^FAIL ' "$log"
  printf '%-40s %3d passed %3d failed  %4ds\n' "$name" "$p" "$f" "$secs"
  if [ "$f" -ne 0 ]; then tail -n 20 "$log" | sed 's/^/    | /'; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
