#!/bin/sh
# scripts/soak.sh BUILD_DIR — the soak benchmark (`make soak`; not a test:
# it reports, and fails only when bytes come back wrong or lsptap ends
# badly). See docs/performance.md, "Soak".
#
# 1. Records a real gopls session (scripts/record-session.sh) and cuts it
#    into exchanges: each editor message, and what gopls sent after it
#    before the editor's next message (bench/soak.c says how).
# 2. A baseline of SOAK_BASE_S seconds (default 10): bench/soak plays the
#    session in a loop straight against bench/soak_peer, which answers each
#    editor message with gopls's recorded words.
# 3. The soak: the same loop through lsptap's gopls stand-in
#    (LSPTAP_GOPLS=soak_peer) for SOAK_MINUTES (default 2), recording
#    SOAK_RECORD (default meta: full recording of hours of traffic fills a
#    disk), as fast as the answers come back. RSS and open fds are sampled
#    every SOAK_SAMPLE_S seconds (default 10).
# Then: messages and MB a second, exchange latency p50/p90/p99/max (and
# what lsptap adds to the baseline's), RSS over time, fds at start and end,
# the session file's size and lsptap's summary line.
set -u
B=$(cd "${1:?usage: scripts/soak.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/.." || exit 1
MIN=${SOAK_MINUTES:-2}
BASE=${SOAK_BASE_S:-10}
REC=${SOAK_RECORD:-meta}
for f in "$B/bench/soak" "$B/bench/soak_peer" "$B/gopls"; do
  [ -x "$f" ] || { echo "soak: $f is missing; run 'make soak'" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-soak.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "soak: recording a gopls session"
session=$(scripts/record-session.sh "$B" "$tmp/rec") || exit 1
mkdir "$tmp/script"
node - "$session" "$tmp/script" <<'EOF' || exit 1
// The session as exchanges: every editor message with a body, framed again
// from its recorded JSON; the server's messages go with the editor message
// before them.
const fs = require('fs');
const [file, dir] = process.argv.slice(2);
const frame = (body) => {
  const b = Buffer.from(JSON.stringify(body));
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]);
};
const c2s = [], s2c = [];
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (!line) continue;
  const l = JSON.parse(line);
  if (!l.dir || l.kind === 'invalid' || !('body' in l)) continue;
  if (l.dir === 'c2s') c2s.push({ f: frame(l.body), answer: [] });
  else if (c2s.length) c2s.at(-1).answer.push(frame(l.body));
}
fs.writeFileSync(`${dir}/c2s.bin`, Buffer.concat(c2s.map((m) => m.f)));
fs.writeFileSync(`${dir}/s2c.bin`, Buffer.concat(c2s.flatMap((m) => m.answer)));
fs.writeFileSync(`${dir}/index`, c2s.map((m) => `${m.f.length} ${m.answer.reduce((n, a) => n + a.length, 0)} ${m.answer.length}\n`).join(''));
console.log(`soak: ${c2s.length} editor messages, ${c2s.reduce((n, m) => n + m.answer.length, 0)} server messages a loop`);
EOF

export SOAK_SCRIPT=$tmp/script
echo "soak: $(nproc) CPUs, load average at start: $(load)"
echo "soak: baseline, ${BASE} s straight to soak_peer"
"$B/bench/soak" "$BASE" "$tmp/script" -- "$B/bench/soak_peer" >"$tmp/base.out" || {
  cat "$tmp/base.out"; echo "soak: the baseline failed" >&2; exit 1; }
echo "soak: ${MIN} min through lsptap (LSPTAP_RECORD=$REC)"
mkdir -m 0700 "$tmp/sessions"
rc=0
LSPTAP_GOPLS=$B/bench/soak_peer LSPTAP_DIR=$tmp/sessions LSPTAP_RECORD=$REC \
  "$B/bench/soak" "$((MIN * 60))" "$tmp/script" -- "$B/gopls" >"$tmp/soak.out" 2>"$tmp/soak.err" || rc=$?
sessize=$(du -k "$tmp"/sessions/*.jsonl 2>/dev/null | awk '{s += $1} END {print s + 0}')

awk -v sessize="$sessize" '
function kv(line, key,    i, n, a, p) { n = split(line, a, " "); for (i = 1; i <= n; i++) { split(a[i], p, "="); if (p[1] == key) return p[2] } return "" }
FILENAME ~ /base.out$/ && /^result/ { base = $0 }
FILENAME ~ /soak.out$/ && /^rss/ { rss[++nr] = sprintf("%5s s %8s KiB %4s fds", substr(kv($0, "t_s"), 1), kv($0, "kib"), kv($0, "fds")) }
FILENAME ~ /soak.out$/ && /^result/ { soak = $0 }
END {
  if (soak == "") { print "soak: no result from the lsptap run"; exit }
  printf "\n%-10s %9s %9s %8s %9s %9s %9s %10s\n", "run", "msgs/s", "MB/s", "p50 us", "p90 us", "p99 us", "max us", "exchanges"
  printf "%-10s %9s %9s %8s %9s %9s %9s %10s\n", "direct", kv(base, "msgs_s"), kv(base, "mb_s"), kv(base, "p50_us"), kv(base, "p90_us"), kv(base, "p99_us"), kv(base, "max_us"), kv(base, "exchanges")
  printf "%-10s %9s %9s %8s %9s %9s %9s %10s\n", "lsptap", kv(soak, "msgs_s"), kv(soak, "mb_s"), kv(soak, "p50_us"), kv(soak, "p90_us"), kv(soak, "p99_us"), kv(soak, "max_us"), kv(soak, "exchanges")
  printf "\nlsptap adds %.1f us at p50, %.1f us at p99 per exchange\n", kv(soak, "p50_us") - kv(base, "p50_us"), kv(soak, "p99_us") - kv(base, "p99_us")
  printf "lsptap ran %s s: %s loops of the session, %s messages, CPU %s ms, %s\n", kv(soak, "seconds"), kv(soak, "loops"), kv(soak, "messages"), kv(soak, "cpu_ms"), kv(soak, "exit") != "" ? "exit=" kv(soak, "exit") : "signal=" kv(soak, "signal")
  printf "RSS: %s KiB after the first loop, %s KiB at the end, peak %s KiB\n", kv(soak, "rss_start_kib"), kv(soak, "rss_end_kib"), kv(soak, "hwm_kib")
  printf "open fds: %s after the first loop, %s at the end\n", kv(soak, "fds_start"), kv(soak, "fds_end")
  printf "answers that differed from the recording: %s; session file: %d KiB\n", kv(soak, "mismatched"), sessize
  print "RSS over time:"
  for (i = 1; i <= nr; i++) print "  " rss[i]
}' "$tmp/base.out" "$tmp/soak.out"
grep '^lsptap:' "$tmp/soak.err" | tail -n 3 | cut -c1-400
echo "soak: load average at the end: $(load)"
[ $rc = 0 ] || { grep -v '^lsptap:' "$tmp/soak.err" | tail -n 5; echo "soak: the lsptap run failed (exit $rc)"; }
exit $rc
