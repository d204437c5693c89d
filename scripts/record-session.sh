#!/bin/sh
# scripts/record-session.sh BUILD_DIR OUT_DIR — records one real gopls
# session and prints its path: tests/e2e/demo-client.mjs (VS Code's client
# libraries) drives BUILD_DIR/gopls in front of the real gopls (REAL_GOPLS,
# else the first gopls on PATH that is not lsptap) on a copy of
# tests/example: initialize, two files opened, hovers until the workspace
# loaded, definitions, completions, documentSymbol, a didChange, shutdown
# and exit. Used by make valgrind and make soak. Needs node and the e2e
# tests' node modules (make deps).
set -eu
B=$(cd "${1:?usage: scripts/record-session.sh BUILD_DIR OUT_DIR}" && pwd)
out=${2:?usage: scripts/record-session.sh BUILD_DIR OUT_DIR}
cd "$(dirname "$0")/.."
if [ ! -d tests/e2e/node_modules/vscode-languageserver-protocol ]; then
  echo "record-session: tests/e2e/node_modules missing: run 'make deps'" >&2
  exit 1
fi
gopls=${REAL_GOPLS:-}
if [ -z "$gopls" ]; then
  self=$(stat -L -c %d:%i "$B/lsptap")
  IFS=:
  for d in $PATH; do
    [ -x "$d/gopls" ] || continue
    [ "$(stat -L -c %d:%i "$d/gopls")" = "$self" ] && continue
    gopls=$d/gopls
    break
  done
  unset IFS
fi
[ -n "$gopls" ] || { echo "record-session: no gopls found (set REAL_GOPLS)" >&2; exit 1; }
mkdir -p -m 0700 "$out"
if ! log=$(LSPTAP_BIN=$B/lsptap LSPTAP_DIR=$out LSPTAP_GOPLS=$gopls timeout 120 \
  node tests/e2e/demo-client.mjs 2>&1); then
  echo "$log" | tail -n 5 >&2
  echo "record-session: the scripted editor session failed" >&2
  exit 1
fi
ls -t "$out"/*.jsonl | head -n 1
