#!/bin/sh
# scripts/run-fuzz.sh SECONDS TARGET... — runs each libFuzzer target for
# SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/NAME).
secs=$1; shift
for t in "$@"; do
  name=$(basename "$t"); name=${name#fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  dict=tests/fuzz/$name.dict
  set -- -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=tests/fuzz/
  [ -f "$dict" ] && set -- "$@" -dict="$dict"
  echo "fuzz: $name for ${secs}s"
  if ! "$t" "$@" "$work" 2>"$work.log"; then
    tail -40 "$work.log"; rm -rf "$work" "$work.log"; echo "fuzz: $name FAILED"; exit 1
  fi
  grep -E 'stat::number_of_executed_units|Done' "$work.log" | tail -2
  rm -rf "$work" "$work.log"
done
