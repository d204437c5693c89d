#!/usr/bin/env bash
# scripts/bench.sh BUILD_DIR — lsptap's benchmarks, as ratios measured in one run.
#
# Every configuration runs once per round, rounds interleave the
# configurations (rotating their order), and each figure is the median over
# the rounds; ratios are taken within a round against the baseline (a direct
# connection to bench/echo_peer) measured next to it, then their median is
# reported. See docs/performance.md. Informational only: this script exits 0
# whatever the numbers are, and fails only when it cannot run at all.
#
# Knobs (environment): BENCH_ROUNDS (5), BENCH_LAT_N (2000 round trips),
# BENCH_TP_MIB (256), BENCH_TP_FRAME_KIB (1024); BENCH_PERF=1 adds a perf profile
# of lsptap in each throughput mode. Then scripts/bench-remote.sh (hover over
# remote paths with the real gopls; its own knobs), unless BENCH_REMOTE=0.
set -u

B=${1:?usage: scripts/bench.sh BUILD_DIR}
ROUNDS=${BENCH_ROUNDS:-5}
LAT_N=${BENCH_LAT_N:-2000}
TP_MIB=${BENCH_TP_MIB:-256}
TP_KIB=${BENCH_TP_FRAME_KIB:-1024}

DRV=$B/bench/driver
PEER=$B/bench/echo_peer
STANDIN=$B/gopls
for f in "$DRV" "$PEER"; do
  [ -x "$f" ] || { echo "bench: $f is missing; run 'make bench'" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
RESULTS=$TMP/results
: >"$RESULTS"

have_socat=0
command -v socat >/dev/null 2>&1 && have_socat=1

# Runs one configuration once: appends "CFG ROUND key=value..." to RESULTS.
# lsptap runs get a fresh session directory, whose message lines are counted
# (recorded=) and then removed, so the disk never holds more than one run.
run() {
  local cfg=$1 round=$2 out=$TMP/out err=$TMP/err dir=$TMP/sessions
  local drvargs
  case $cfg in
    lat/*) drvargs=(latency "$LAT_N") ;;
    # pin1: the same round trips with every process on CPU 0 (see below).
    pin1/*) drvargs=(latency "$LAT_N") ;;
    tp/*)  drvargs=(throughput "$TP_MIB" "$TP_KIB") ;;
  esac
  local pre=()
  [ "${cfg%%/*}" = pin1 ] && pre=(taskset -c 0)
  rm -rf "$dir"; mkdir -m 0700 "$dir"
  case $cfg in
    */direct) "${pre[@]}" "$DRV" "${drvargs[@]}" -- "$PEER" >"$out" 2>"$err" ;;
    */socat)  "${pre[@]}" "$DRV" "${drvargs[@]}" -- socat - "EXEC:$PEER" >"$out" 2>"$err" ;;
    */uv-relay) "${pre[@]}" "$DRV" "${drvargs[@]}" -- "$B/bench/uv_relay" "$PEER" >"$out" 2>"$err" ;;
    */lsptap-*-ascii)
      local mode=${cfg#*/lsptap-}
      LSPTAP_GOPLS=$PEER LSPTAP_RECORD=${mode%-ascii} \
        LSPTAP_DIR=$dir "${pre[@]}" "$DRV" "${drvargs[@]}" --body=ascii -- "$STANDIN" >"$out" 2>"$err" ;;
    */lsptap-*)
      LSPTAP_GOPLS=$PEER LSPTAP_RECORD=${cfg#*/lsptap-} LSPTAP_DIR=$dir \
        "${pre[@]}" "$DRV" "${drvargs[@]}" -- "$STANDIN" >"$out" 2>"$err" ;;
  esac
  local rc=$? line extra=""
  line=$(grep '^result ' "$out" | tail -n 1)
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    echo "bench: $cfg round $round failed (driver exit $rc): $(tail -n 3 "$err" | tr '\n' ' ')" >&2
    line="result failed=1"
  fi
  case $cfg in
    */lsptap-*)
      local recorded dropped
      recorded=$(cat "$dir"/*.jsonl 2>/dev/null | grep -cE '"dir" ?: ?"(c2s|s2c)"')
      # lsptap's stderr summary, e.g. "lsptap: ... dropped N log lines": keep the number.
      dropped=$(grep -E '^lsptap:.*dropped' "$err" | tail -n 1 |
        grep -oE 'dropped[^0-9]{0,30}[0-9]+|[0-9]+[^0-9]{0,30}dropped' | grep -oE '[0-9]+' | head -n 1)
      extra=" recorded=${recorded:-0} dropped=${dropped:-none}"
      grep -E '^lsptap:.*dropped' "$err" | tail -n 1 >>"$TMP/dropped_lines.${cfg//\//-}"
      ;;
  esac
  echo "$cfg $round ${line#result }$extra" >>"$RESULTS"
}

LAT_CFGS=(lat/direct)
# On this kind of VM, waking a process on the other vCPU costs tens of µs
# (an IPI to a halted vCPU), so unpinned latency counts hops more than work.
# pin1/ repeats the latency runs on one CPU, where it counts the work.
PIN_CFGS=()
command -v taskset >/dev/null 2>&1 && PIN_CFGS=(pin1/direct)
TP_CFGS=(tp/direct)
# socat is the reference relay: what a byte-copying process costs.
[ $have_socat = 1 ] && LAT_CFGS+=(lat/socat) && TP_CFGS+=(tp/socat)
[ $have_socat = 1 ] && [ ${#PIN_CFGS[@]} -gt 0 ] && PIN_CFGS+=(pin1/socat)
# uv-relay (bench/uv_relay.c) is a bare libuv relay: the floor under lsptap's.
[ -x "$B/bench/uv_relay" ] && LAT_CFGS+=(lat/uv-relay) && TP_CFGS+=(tp/uv-relay)
[ -x "$B/bench/uv_relay" ] && [ ${#PIN_CFGS[@]} -gt 0 ] && PIN_CFGS+=(pin1/uv-relay)

# lsptap takes part only if its stand-in relays one short session correctly.
lsptap_note=""
if [ -x "$STANDIN" ]; then
  if smoke=$(LSPTAP_GOPLS=$PEER LSPTAP_RECORD=full LSPTAP_DIR=$TMP/smoke \
    timeout 20 "$DRV" latency 10 -- "$STANDIN" 2>&1); then
    LAT_CFGS+=(lat/lsptap-full)
    [ ${#PIN_CFGS[@]} -gt 0 ] && PIN_CFGS+=(pin1/lsptap-full)
    # meta-ascii: bodies without JSON escapes, to show what escapes cost the inspector.
    TP_CFGS+=(tp/lsptap-meta tp/lsptap-full tp/lsptap-meta-ascii)
  else
    lsptap_note="lsptap's relay did not pass a 10-request smoke run, so it is not measured: $(echo "$smoke" | tail -n 2 | tr '\n' ' ')"
  fi
  rm -rf "$TMP/smoke"
else
  lsptap_note="$STANDIN not found, so lsptap is not measured"
fi

start=$(date +%s)
echo "bench: $(nproc) CPUs, $ROUNDS rounds; latency: $LAT_N round trips of ~200 B;" \
  "throughput: $TP_MIB MiB in $TP_KIB KiB frames"
[ -n "$lsptap_note" ] && echo "bench: $lsptap_note"
# Other work on the machine skews every row; say how busy it was.
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "bench: load average at start: $(load)"
for ((r = 1; r <= ROUNDS; r++)); do
  cfgs=("${LAT_CFGS[@]}" "${PIN_CFGS[@]}" "${TP_CFGS[@]}")
  n=${#cfgs[@]}
  for ((i = 0; i < n; i++)); do
    run "${cfgs[$(((i + r) % n))]}" "$r"
  done
  echo "bench: round $r/$ROUNDS done ($(($(date +%s) - start)) s)"
done

# The report: medians per configuration and per-round ratios to the baseline.
awk -v lat_cfgs="${LAT_CFGS[*]}" -v pin_cfgs="${PIN_CFGS[*]}" -v lat_msgs=$((2 * (LAT_N + 100))) -v tp_cfgs="${TP_CFGS[*]}" -v tp_kib="$TP_KIB" '
function val(cfg, r, key) { return V[cfg, r, key] }
function median(arr, n,    i, j, t) {
  for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
  if (n == 0) return "nan"
  return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
# Median over rounds of key (mode "abs"), of cfg/base ("ratio"), or cfg-base ("diff").
function stat(cfg, key, mode, base,    r, n, a, x, y) {
  n = 0
  for (r = 1; r <= R; r++) {
    if (!((cfg, r, key) in V) || V[cfg, r, "failed"]) continue
    x = V[cfg, r, key]
    if (mode != "abs") {
      if (!((base, r, key) in V) || V[base, r, "failed"]) continue
      y = V[base, r, key]
      x = mode == "ratio" ? (y ? x / y : 0) : x - y
    }
    a[++n] = x
  }
  return median(a, n)
}
# "lo..hi" of cfg-base over the rounds: how far apart the rounds were.
function spread(cfg, key, base,    r, lo, hi, x) {
  lo = ""; hi = ""
  for (r = 1; r <= R; r++) {
    if (!((cfg, r, key) in V) || !((base, r, key) in V) || V[cfg, r, "failed"] || V[base, r, "failed"]) continue
    x = V[cfg, r, key] - V[base, r, key]
    if (lo == "" || x < lo) lo = x
    if (hi == "" || x > hi) hi = x
  }
  return sprintf("%.1f..%.1f", lo, hi)
}
function maxof(cfg, key,    r, m) {
  m = ""
  for (r = 1; r <= R; r++) if ((cfg, r, key) in V && (m == "" || V[cfg, r, key] + 0 > m + 0)) m = V[cfg, r, key]
  return m
}
function fails(cfg,    r, n) { n = 0; for (r = 1; r <= R; r++) if (V[cfg, r, "failed"]) n++; return n }
function mark(ok) { return ok ? "PASS" : "MISS" }
function lattable(L, nl, base,    i, c, note) {
  printf "%-21s %9s %9s %9s %11s %10s %9s %10s %s\n", "config", "p50", "p90", "p99", "added p50", "x direct", "hwm KiB", "cpu ms", "notes"
  for (i = 1; i <= nl; i++) {
    c = L[i]
    note = fails(c) ? fails(c) " failed runs" : ""
    if (c ~ /lsptap/) note = note " recorded=" stat(c, "recorded", "abs") "/" lat_msgs " dropped(max)=" maxof(c, "dropped")
    printf "%-21s %9.1f %9.1f %9.1f %11.1f %9.2fx %9s %10s %s\n", c, stat(c, "p50_us", "abs"), stat(c, "p90_us", "abs"), stat(c, "p99_us", "abs"),
      stat(c, "p50_us", "diff", base), stat(c, "p50_us", "ratio", base), maxof(c, "hwm_kib"), stat(c, "cpu_ms", "abs"), note
  }
}
{
  cfg = $1; r = $2; if (r > R) R = r
  for (i = 3; i <= NF; i++) { split($i, kv, "="); V[cfg, r, kv[1]] = kv[2] }
}
END {
  nl = split(lat_cfgs, L, " "); nt = split(tp_cfgs, T, " ")
  printf "\nLatency: round trip of one ~200 B request (us), median of %d rounds\n", R
  lattable(L, nl, "lat/direct")
  np = split(pin_cfgs, P, " ")
  if (np) {
    printf "\nLatency with every process on CPU 0 (taskset): the work per round trip, without cross-CPU wakeups\n"
    lattable(P, np, "pin1/direct")
  }
  printf "\nThroughput: %d KiB frames echoed (MiB/s), median of %d rounds\n", tp_kib, R
  printf "%-21s %9s %10s %9s %10s %14s %s\n", "config", "MiB/s", "x direct", "hwm KiB", "cpu ms", "cpu ms/GiB", "notes"
  for (i = 1; i <= nt; i++) {
    c = T[i]
    note = fails(c) ? fails(c) " failed runs" : ""
    if (c ~ /lsptap/) note = note " recorded=" stat(c, "recorded", "abs") "/" 2 * val(c, 1, "frames") " dropped(max)=" maxof(c, "dropped")
    mibs = stat(c, "mib_s", "abs"); cpu = stat(c, "cpu_ms", "abs")
    printf "%-21s %9.1f %9.2fx %9s %10s %14.0f %s\n", c, mibs, stat(c, "mib_s", "ratio", "tp/direct"), maxof(c, "hwm_kib"), cpu,
      cpu / (val(c, 1, "mib") / 1024), note
  }
  printf "\nTargets (informational; bench never fails the build)\n"
  have = 0; for (i = 1; i <= nl; i++) if (L[i] == "lat/lsptap-full") have = 1
  if (!have) { print "  lsptap not measured: no target can be judged"; exit }
  added = stat("lat/lsptap-full", "p50_us", "diff", "lat/direct")
  sadded = stat("lat/socat", "p50_us", "diff", "lat/direct")
  if (sadded != "nan")
    printf "  %s added latency p50: lsptap full %.1f us <= socat %.1f us (per round: lsptap %s, socat %s)\n", mark(added <= sadded), added, sadded,
      spread("lat/lsptap-full", "p50_us", "lat/direct"), spread("lat/socat", "p50_us", "lat/direct")
  padded = stat("pin1/lsptap-full", "p50_us", "diff", "pin1/direct")
  psadded = stat("pin1/socat", "p50_us", "diff", "pin1/direct")
  if (padded != "nan" && psadded != "nan")
    printf "  %s added latency p50 on one CPU: lsptap full %.1f us <= socat %.1f us (per round: lsptap %s, socat %s)\n", mark(padded <= psadded), padded, psadded,
      spread("pin1/lsptap-full", "p50_us", "pin1/direct"), spread("pin1/socat", "p50_us", "pin1/direct")
  m = stat("tp/lsptap-meta", "mib_s", "ratio", "tp/direct"); f = stat("tp/lsptap-full", "mib_s", "ratio", "tp/direct")
  printf "  %s throughput, meta recording: %.2fx direct >= 0.80x\n", mark(m >= 0.8), m
  printf "  %s throughput, full recording: %.2fx direct >= 0.50x", mark(f >= 0.5), f
  d = maxof("tp/lsptap-full", "dropped")
  if (d != "" && d != "none" && d > 0) printf "  (but lsptap dropped %s session lines: not a fair number)", d
  printf "\n"
  lim_tp = 16 * 1024 + tp_kib; lim_lat = 16 * 1024 + 1
  h = maxof("lat/lsptap-full", "hwm_kib")
  printf "  %s peak RSS, latency run: %d KiB < %d KiB (16 MiB + one message)\n", mark(h + 0 < lim_lat), h, lim_lat
  h = maxof("tp/lsptap-meta", "hwm_kib"); h2 = maxof("tp/lsptap-full", "hwm_kib"); if (h2 + 0 > h + 0) h = h2
  printf "  %s peak RSS, throughput runs: %d KiB < %d KiB (16 MiB + one %d KiB message)\n", mark(h + 0 < lim_tp), h, lim_tp, tp_kib
}' "$RESULTS"

for f in "$TMP"/dropped_lines.*; do
  if [ -s "$f" ]; then echo "  ${f##*/dropped_lines.} stderr: $(tail -n 1 "$f")"; fi
done
# BENCH_PERF=1: one more run per lsptap throughput mode under perf record,
# and lsptap's own hottest symbols (self time), to say where its time goes.
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
  for cfg in "${TP_CFGS[@]}"; do
    case $cfg in */lsptap-*) ;; *) continue ;; esac
    mode=${cfg#*/lsptap-}
    body=code
    case $mode in *-ascii) body=ascii; mode=${mode%-ascii} ;; esac
    rm -rf "$TMP/sessions"; mkdir -m 0700 "$TMP/sessions"
    echo
    echo "perf: $cfg, lsptap's hottest symbols (self time, % of all samples in the run)"
    LSPTAP_GOPLS=$PEER LSPTAP_RECORD=$mode LSPTAP_DIR=$TMP/sessions \
      perf record -q -o "$TMP/perf.data" -- "$DRV" throughput "$TP_MIB" "$TP_KIB" --body=$body \
      -- "$STANDIN" >/dev/null 2>&1
    perf report -i "$TMP/perf.data" --comm "$(basename "$STANDIN")" --no-children --sort dso,sym \
      --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 15
  done
fi
# Hover latency over remote paths with the real gopls (issue 5): its own
# script, since its server is gopls and not echo_peer. BENCH_REMOTE=0 skips it.
if [ "${BENCH_REMOTE:-1}" != 0 ]; then
  echo
  "$(dirname "$0")/bench-remote.sh" "$B"
fi
echo "bench: done in $(($(date +%s) - start)) s; load average at the end: $(load)"
exit 0
