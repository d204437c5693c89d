#!/bin/sh
# scripts/demo.sh BIN — the `make demo` run: a scripted editor session
# (tests/e2e/demo-client.mjs) through BIN's gopls stand-in in front of the
# real gopls on tests/example, recorded under demo-out/sessions; then the
# stats table and the HTML report of that session.
set -eu
bin=${1:?usage: scripts/demo.sh /abs/path/to/lsptap}
cd "$(dirname "$0")/.."
if [ ! -d tests/e2e/node_modules/vscode-languageserver-protocol ]; then
  echo "demo: tests/e2e/node_modules missing: run 'make deps' (or npm ci in tests/e2e)" >&2
  exit 1
fi
sessions=$PWD/demo-out/sessions
mkdir -p demo-out
stamp=demo-out/.started
: >"$stamp"

LSPTAP_BIN=$bin LSPTAP_DIR=$sessions node tests/e2e/demo-client.mjs

# The session this run wrote: the newest file, newer than the stamp.
session=$(find "$sessions" -name '*.jsonl' -newer "$stamp" -exec ls -t {} + 2>/dev/null | head -1)
rm -f "$stamp"
if [ -z "$session" ]; then
  echo "demo: no session file was written under $sessions" >&2
  exit 1
fi
rel=${session#"$PWD"/}
echo
rc=0
"$bin" stats "$rel" || rc=$?
echo
if why=$("$bin" report "$rel" -o demo-out/report.html 2>&1); then
  echo "report: demo-out/report.html"
else
  echo "demo: no HTML report ($(printf '%s\n' "$why" | head -1)); the session file is complete all the same" >&2
fi
echo "session file: $rel"
exit "$rc"
