#!/bin/sh
# scripts/check-test-index.sh — docs/testing.md's "Every test program" list
# names every test: each tests/unit/test_*.c, tests/e2e/*.test.mjs and
# tests/fuzz/fuzz_*.c must start a list item there in backquotes
# ("- `test_x.c` — ..."), and every such name there must be a file. Prints
# each name missing on either side and exits 1; 0 when they agree. Reads
# files only: no build, no network.
set -eu
cd "$(dirname "$0")/.."
doc=docs/testing.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-testidx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The section runs from its heading to the next level-2 heading.
awk '/^## Every test program/ {on = 1; next} on && /^## / {exit} on' "$doc" >"$tmp/section"
if [ ! -s "$tmp/section" ]; then
  echo "check-test-index: $doc has no \"## Every test program\" section" >&2
  exit 1
fi
# shellcheck disable=SC2016 # the backquotes are the pattern's, not a command
# Only a list item's own name counts ("- `test_x.c` — ..."): a name that
# another item mentions in passing does not stand for a line of its own.
grep -oE '^- `(test_[A-Za-z0-9_]+\.c|[A-Za-z0-9_-]+\.test\.mjs|fuzz_[A-Za-z0-9_]+\.c)`' "$tmp/section" |
  sed 's/^- //' | tr -d '`' | sort -u >"$tmp/listed"
for f in tests/unit/test_*.c tests/e2e/*.test.mjs tests/fuzz/fuzz_*.c; do
  [ -e "$f" ] && basename "$f"
done | sort -u >"$tmp/files"

status=0
for n in $(comm -23 "$tmp/files" "$tmp/listed"); do
  echo "check-test-index: $n is not named in $doc, \"Every test program\" (add one line saying what it covers)" >&2
  status=1
done
for n in $(comm -13 "$tmp/files" "$tmp/listed"); do
  echo "check-test-index: $doc, \"Every test program\", names $n, but no such test file exists" >&2
  status=1
done
[ "$status" -eq 0 ] && echo "check-test-index: $(wc -l <"$tmp/files") tests, each named in $doc"
exit $status
