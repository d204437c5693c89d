#!/bin/sh
# Runs each cmocka test program in its own process with a timeout, and
# prints one closing line "unit: N passed, M failed".
pass=0 fail=0
for t in "$@"; do
  if timeout 120 "$t"; then pass=$((pass + 1)); else echo "FAILED: $t"; fail=$((fail + 1)); fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
