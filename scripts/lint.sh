#!/bin/sh
# scripts/lint.sh DIR... — static analysis: cppcheck, then clang's static
# analyzer (clang --analyze) on every .c under DIR..., two files at a time.
# Prints each finding (LINT_VERBOSE=1: with the analyzer's path notes) and
# exits 1 when there is any. Compiler flags: LINT_CFLAGS.
status=0
echo "lint: cppcheck"
if ! cppcheck --quiet --error-exitcode=1 --inline-suppr --enable=warning,portability --std=c11 \
    -I. --suppress=missingIncludeSystem "$@"; then
  status=1
fi
echo "lint: clang --analyze"
out=$(mktemp)
find "$@" -name '*.c' | sort | xargs -P 2 -I{} sh -c \
  'clang --analyze --analyzer-output text -std=c11 $LINT_CFLAGS -o /dev/null "{}" 2>&1' >"$out"
if [ "${LINT_VERBOSE:-0}" = 1 ]; then cat "$out"; else grep -E 'warning:|error:' "$out"; fi
n=$(grep -cE 'warning:|error:' "$out")
rm -f "$out"
[ "$n" -eq 0 ] || { echo "lint: clang --analyze: $n finding(s)"; status=1; }
[ "$status" -eq 0 ] && echo "lint: clean"
exit $status
