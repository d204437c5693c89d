#!/bin/sh
# scripts/valgrind-relay.sh BUILD_DIR — lsptap's relays under valgrind, over
# a whole recorded gopls session (`make valgrind`; docs/hardening.md).
#
# 1. Records a real gopls session (scripts/record-session.sh: VS Code's
#    client libraries through BUILD_DIR/gopls in front of the real gopls on
#    a copy of tests/example: initialize, open two files, hovers until the
#    workspace loaded, definition, completion, documentSymbol, didChange,
#    shutdown/exit).
# 2. Replays its editor side (`lsptap replay --compare`, itself under
#    valgrind) into a second copy through, in turn:
#      stdio   the gopls stand-in (BUILD_DIR/gopls, LSPTAP_GOPLS=real gopls);
#      socket  `lsptap relay --connect unix:S` to `lsptap relay --listen
#              unix:S -- gopls`, both under valgrind; the listener is ended
#              with SIGTERM afterwards, as a service manager would.
#    --compare exits 0 only if every reply came back, equal to the recorded
#    one: the whole session flowed through the relay.
# 3. Fails on any valgrind error (invalid read/write, uninitialised value,
#    bad free, definite or indirect leak) in any lsptap process, and on any
#    file descriptor besides 0-2 open at exit (--track-fds).
#
# Suppressions: tests/valgrind.supp (each entry says why). Knobs: REAL_GOPLS
# (default: first gopls on PATH that is not lsptap), VALGRIND_KEEP=1 keeps
# the logs and sessions in the temp directory and prints where.
set -u
B=${1:?usage: scripts/valgrind-relay.sh BUILD_DIR}
B=$(cd "$B" && pwd)
cd "$(dirname "$0")/.." || exit 1
root=$PWD

command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed, skipped (apt-get install valgrind)"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-valgrind.XXXXXX")
cleanup() {
  [ -n "${listener:-}" ] && kill "$listener" 2>/dev/null
  if [ "${VALGRIND_KEEP:-0}" = 1 ]; then echo "valgrind: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -m 0700 "$tmp/rec" "$tmp/sessions" "$tmp/logs"

# Every lsptap process below runs as `vg lsptap ...`: errors and leaks are
# exit status 99 and a log per process (%p: its pid).
VG="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
  --error-exitcode=99 --track-fds=yes --child-silent-after-fork=yes
  --suppressions=$root/tests/valgrind.supp --log-file=$tmp/logs/%p.log"

echo "valgrind: recording a gopls session"
session=$(scripts/record-session.sh "$B" "$tmp/rec") || exit 1
# The real gopls the session ran (its spawn event), and the recorded
# workspace (a temp copy, gone now: the header's cwd).
gopls=$(grep -m 1 '"event":"spawn"' "$session" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).path))')
old=$(head -n 1 "$session" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).cwd))')
msgs=$(grep -c '"dir":"c2s"' "$session")
echo "valgrind: recorded $msgs editor messages"

status=0
# replay NAME SERVER...: the session's editor side into a fresh workspace
# copy, through SERVER; --compare, so every reply must come back equal.
replay() {
  name=$1
  shift
  ws=$tmp/ws-$name
  cp -r tests/example "$ws"
  start=$(date +%s)
  if ! (cd "$ws" && LSPTAP_DIR=$tmp/sessions timeout 600 $VG "$B/lsptap" replay "$session" \
    --rewrite-root "$old=$ws" --compare --timeout 60 -- "$@" >"$tmp/$name.out" 2>&1); then
    tail -n 30 "$tmp/$name.out"
    echo "valgrind: $name: the replay failed (exit status above 0; 99 is a valgrind error)"
    status=1
  fi
  echo "valgrind: $name: $(grep -E 'replies compared' "$tmp/$name.out" | tail -n 1) ($(($(date +%s) - start)) s)"
}

# The stdio relay: the gopls stand-in in front of the real gopls.
LSPTAP_GOPLS=$gopls replay stdio $VG "$B/gopls"

# The socket pair: a listener starting gopls per connection, and a
# --connect relay as the editor's server command.
sock=$tmp/run/gopls.sock
LSPTAP_DIR=$tmp/sessions $VG "$B/lsptap" relay --listen "unix:$sock" -- "$gopls" \
  >"$tmp/listener.out" 2>"$tmp/listener.err" &
listener=$!
i=0
until grep -q 'listening at' "$tmp/listener.out" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 $listener 2>/dev/null; then
    cat "$tmp/listener.err"
    echo "valgrind: the listener did not start" >&2
    exit 1
  fi
  sleep 0.1
done
replay socket $VG "$B/lsptap" relay --connect "unix:$sock"
kill -TERM $listener
wait $listener
lrc=$?
listener=
if [ $lrc -ne 0 ]; then
  tail -n 20 "$tmp/listener.err"
  echo "valgrind: relay --listen exited $lrc after SIGTERM (99 is a valgrind error)"
  status=1
fi

# Every process's log: any valgrind error (exit status 99 already, but a
# process killed by a signal has no status to give), and any fd open at exit
# that lsptap opened, other than the ones its libuv loop owns for the
# process's life (epoll, the signal pipe and the async eventfd, from
# uv_loop_init; the /dev/null libuv reserves for EMFILE, on the first stream
# init) and relay --listen's listening socket (it was ended by SIGTERM).
# A session file, a pipe to a server or a connection left open fails it.
nlogs=0
for log in "$tmp"/logs/*.log; do
  nlogs=$((nlogs + 1))
  bad=0
  grep -qE 'ERROR SUMMARY: [1-9]' "$log" && bad=1
  grep -qE 'ERROR SUMMARY' "$log" || bad=1 # the process did not finish
  stray=$(awk '
    /== Open (file descriptor|AF_[A-Z0-9]+ socket) [0-9]+/ { if (h != "") check(); h = $0; s = ""; next }
    h != "" && /^==[0-9]+== *$/ { check(); h = ""; next }
    h != "" { s = s "\n" $0 }
    function check() {
      if (h ~ /: *$/ && s == "") return                 # an fd valgrind knows nothing about: inherited
      if (s ~ /inherited from parent/) return
      if (h ~ /descriptor [0-2]:/) return
      if (s ~ /uv_loop_init/) return
      if (h ~ /\/dev\/null/ && s ~ /uv_(pipe|tcp)_init/) return
      if (h ~ /AF_(UNIX|INET6?) socket/ && s ~ /start_listener/) return
      printf "%s%s\n", h, s
    }
    END { if (h != "") check() }' "$log")
  [ -n "$stray" ] && bad=1
  if [ $bad = 1 ]; then
    echo "valgrind: $log: $(sed -n 's/.*Command: //p' "$log")"
    if [ -n "$stray" ]; then echo "valgrind: file descriptors left open:"; echo "$stray"; fi
    grep -vE 'Open (file descriptor|AF_)|^==[0-9]+==    (at|by) |inherited from parent' "$log" | head -n 80
    status=1
  fi
done
echo "valgrind: $nlogs lsptap processes checked"
[ $nlogs -ge 4 ] || { echo "valgrind: expected at least 4 valgrind logs, got $nlogs"; status=1; }
[ $status = 0 ] && echo "valgrind: clean (no error, no leak, no stray fd)"
exit $status
