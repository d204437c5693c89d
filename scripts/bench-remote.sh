#!/usr/bin/env bash
# scripts/bench-remote.sh BUILD_DIR — hover latency over remote paths, with
# the real gopls on tests/example (issue 5, item 6). scripts/bench.sh runs it
# after its own tables; see docs/performance.md, "Remote hover".
#
# A round starts what every configuration needs (a fresh gopls behind each)
# and one bench/hover_client with an editor session per configuration; once
# every workspace has loaded and BENCH_HOVER_WARMUP warm-up turns are done,
# it takes BENCH_HOVER_N turns, each one hover on greet.New per session, so
# whatever else loads the machine slows every configuration alike.
# Configurations:
#   direct      gopls on the client's pipes (the baseline)
#   direct2     the same again: the A/A control, the noise floor
#   standin     build/gopls (lsptap as gopls) with LSPTAP_GOPLS=gopls
#   relay-tcp   lsptap relay --connect 127.0.0.1:P -> relay --listen 127.0.0.1:P -- gopls
#   relay-tls   the same over tls:// with client certificates (openssl-made, per bench)
#   relay-unix  the same over unix:PATH
#   socat-tcp   socat STDIO TCP:127.0.0.1:P -> socat TCP-LISTEN:P,fork EXEC:gopls (both
#               nodelay): what any two relay processes over TCP cost here (when socat is)
#   gopls-tcp   gopls -remote=127.0.0.1:P -> gopls serve -listen=127.0.0.1:P
#   gopls-unix  gopls -remote=unix;PATH -> gopls serve -listen=unix;PATH
# Rounds rotate the order; ratios are taken within a round against that
# round's direct session, and the median over rounds is reported.
# Informational only: exits 0 whatever the numbers are.
#
# Knobs (environment): BENCH_REMOTE_ROUNDS (5), BENCH_HOVER_N (200 timed
# hovers per configuration and round), BENCH_HOVER_WARMUP (20), BENCH_GOPLS
# (/usr/bin/gopls, else the gopls on PATH), BENCH_REMOTE_RAW=FILE (keep the
# per-round result lines there).
set -u

B=${1:?usage: scripts/bench-remote.sh BUILD_DIR}
ROUNDS=${BENCH_REMOTE_ROUNDS:-5}
N=${BENCH_HOVER_N:-200}
WARM=${BENCH_HOVER_WARMUP:-20}
HC=$B/bench/hover_client
LSPTAP=$B/lsptap
STANDIN=$B/gopls
EXAMPLE=$(cd "$(dirname "$0")/../tests/example" && pwd)

say() { echo "bench-remote: $*"; }

[ -x "$HC" ] || { echo "bench-remote: $HC is missing; run 'make bench'" >&2; exit 1; }
GOPLS=${BENCH_GOPLS:-}
if [ -z "$GOPLS" ]; then
  if [ -x /usr/bin/gopls ]; then GOPLS=/usr/bin/gopls; else GOPLS=$(command -v gopls || true); fi
fi
# The stand-in is named gopls too: the baseline must be the real one.
if [ -z "$GOPLS" ] || [ ! -x "$GOPLS" ] || [ "$(readlink -f "$GOPLS")" = "$(readlink -f "$LSPTAP")" ]; then
  say "no real gopls found (set BENCH_GOPLS), so the remote hover bench is skipped"
  exit 0
fi
# Nothing from the caller's lsptap settings: LSPTAP_REMOTE would turn the
# stand-in into a forwarder, LSPTAP_GOPLS would pick another server.
for v in $(compgen -e | grep '^LSPTAP_'); do unset "$v"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-bench-remote.XXXXXX")
BG=() # process groups started here, killed on the way out
cleanup() {
  local p
  for p in "${BG[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$TMP/results
: >"$RESULTS"
mkdir "$TMP/ws"
cp -R "$EXAMPLE/." "$TMP/ws/"
WS=$(cd "$TMP/ws" && pwd -P)

# bg NAME CMD...: starts CMD in its own session (so one kill reaches gopls
# and whatever it starts), cwd the workspace, stdout and stderr to
# $TMP/NAME.out and .err; the pid is in BGPID.
bg() {
  local name=$1
  shift
  : >"$TMP/$name.out" # now, not in the subshell: a stale line must not be read as new
  (cd "$WS" && exec setsid "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null) &
  BGPID=$!
  BG+=("$BGPID")
}
# stop_bg PID: ends what bg started, and forgets it. A listener's children
# (the session's gopls, socat's per-connection copy) end by themselves after
# the editor's exit; they get up to 2 s for that first, because one killed
# with its parent is reparented to init, which here may never reap it.
stop_bg() {
  local p keep=() i
  for ((i = 0; i < 100; i++)); do
    [ -z "$(cat /proc/"$1"/task/*/children 2>/dev/null)" ] && break
    sleep 0.02
  done
  kill -TERM -- "-$1" 2>/dev/null
  wait "$1" 2>/dev/null
  for p in "${BG[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  BG=("${keep[@]}")
}
# until COND_CMD...: polls for up to 10 s while BGPID lives; 0 when COND held.
until_up() {
  local i
  for ((i = 0; i < 500; i++)); do
    "$@" && return 0
    kill -0 "$BGPID" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
listening_line() { grep -q 'listening at: ' "$TMP/$1.out"; }
tcp_listening() { grep -qi ":$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp; }
# The address a `relay --listen` printed, without a tls:// its line may carry.
listen_addr() { sed -n 's/^lsptap relay listening at: \(tls:\/\/\)\{0,1\}//p' "$TMP/$1.out" | head -n 1; }
hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }

# TLS: a CA, a server certificate for 127.0.0.1 and a client certificate,
# made with the openssl CLI for this run only (keys 0600).
TLSD=$TMP/tls
gen_certs() {
  command -v openssl >/dev/null 2>&1 || { echo "openssl not found"; return 1; }
  mkdir -m 0700 "$TLSD"
  (
    cd "$TLSD" && umask 077
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 -new "${ec[@]}" -days 2 -subj "/CN=lsptap bench CA" -keyout ca.key \
      -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" || exit 1
    # The server is reached as 127.0.0.1: an IP SAN for a checker that matches IP literals
    # as addresses (OpenSSL's SSL_set1_host), the same text as a DNS SAN for one that
    # matches them as names, and localhost.
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
      "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost" >server.ext
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
      >client.ext
    for who in server client; do
      openssl req -new "${ec[@]}" -subj "/CN=lsptap bench $who" -keyout "$who.key" \
        -out "$who.csr" || exit 1
      openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$who.ext" -out "$who.pem" || exit 1
    done
    openssl verify -CAfile ca.pem -purpose sslserver server.pem &&
      openssl verify -CAfile ca.pem -purpose sslclient client.pem
  ) >"$TMP/certs.log" 2>&1 || { echo "openssl could not make them: $(tail -n 2 "$TMP/certs.log" | tr '\n' ' ')"; return 1; }
}
TLS_LISTEN=(--cert "$TLSD/server.pem" --key "$TLSD/server.key" --client-ca "$TLSD/ca.pem")
TLS_CONNECT=(--ca "$TLSD/ca.pem" --cert "$TLSD/client.pem" --key "$TLSD/client.key")

# Runs one round: starts the listeners the round's configurations need,
# then one hover_client with a session per configuration (it takes turns
# among them hover by hover), then stops the listeners. Appends
# "CFG ROUND key=value..." per configuration to RESULTS.
run_round() {
  local round=$1
  shift
  local cfg addr port line out=$TMP/out err=$TMP/err dir=$TMP/sessions
  local -A lpid=() bad=()
  local sess=()
  rm -rf "$dir" "$TMP/sock"
  mkdir -m 0700 "$dir" "$TMP/sock"
  export LSPTAP_DIR=$dir LSPTAP_GOPLS=$GOPLS
  for cfg in "$@"; do
    addr=""
    case $cfg in
      relay-tcp) bg "$cfg" "$LSPTAP" relay --listen 127.0.0.1:0 -- "$GOPLS" ;;
      relay-tls) bg "$cfg" "$LSPTAP" relay --listen tls://127.0.0.1:0 "${TLS_LISTEN[@]}" -- "$GOPLS" ;;
      relay-unix) bg "$cfg" "$LSPTAP" relay --listen "unix:$TMP/sock/relay" -- "$GOPLS" ;;
      gopls-tcp)
        port=$("$HC" --free-port)
        bg "$cfg" "$GOPLS" serve "-listen=127.0.0.1:$port"
        ;;
      gopls-unix) bg "$cfg" "$GOPLS" serve "-listen=unix;$TMP/sock/gopls" ;;
      socat-tcp)
        port=$("$HC" --free-port)
        bg "$cfg" socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,nodelay" "EXEC:$GOPLS"
        ;;
    esac
    case $cfg in
      relay-*)
        lpid[$cfg]=$BGPID
        until_up listening_line "$cfg" && addr=$(listen_addr "$cfg")
        ;;
      gopls-tcp | socat-tcp)
        lpid[$cfg]=$BGPID
        until_up tcp_listening "$port" && addr=127.0.0.1:$port
        ;;
      gopls-unix)
        lpid[$cfg]=$BGPID
        until_up test -S "$TMP/sock/gopls" && addr="unix;$TMP/sock/gopls"
        ;;
    esac
    case $cfg in
      direct | direct2) sess+=(-- "$cfg" "$GOPLS") ;;
      standin) sess+=(-- "$cfg" "$STANDIN") ;;
      relay-tls) [ -n "$addr" ] && sess+=(-- "$cfg" "$LSPTAP" relay --connect "tls://$addr" "${TLS_CONNECT[@]}") ;;
      relay-*) [ -n "$addr" ] && sess+=(-- "$cfg" "$LSPTAP" relay --connect "$addr") ;;
      gopls-*) [ -n "$addr" ] && sess+=(-- "$cfg" "$GOPLS" "-remote=$addr") ;;
      socat-tcp) [ -n "$addr" ] && sess+=(-- "$cfg" socat STDIO "TCP:$addr,nodelay") ;;
    esac
    if [ -n "${lpid[$cfg]:-}" ] && [ -z "$addr" ]; then
      bad[$cfg]=1
      echo "bench-remote: $cfg round $round: the listener did not start: $(head -n 2 "$TMP/$cfg.err" | tr '\n' ' ')" >&2
    fi
  done
  (cd "$WS" && "$HC" --root "$WS" -n "$N" --warmup "$WARM" --dump "$TMP/hover" "${sess[@]}") >"$out" 2>"$err"
  unset LSPTAP_DIR LSPTAP_GOPLS
  grep -E '^hover_client: ' "$err" | sed "s/^/bench-remote: round $round: /" >&2
  for cfg in "$@"; do
    line=$(grep "^result name=$cfg " "$out")
    [ -n "$line" ] || line="result name=$cfg failed=1"
    [ -z "${bad[$cfg]:-}" ] || line="result name=$cfg failed=1"
    if [ -n "${lpid[$cfg]:-}" ]; then
      # The listening process's own peak RSS: lsptap's relay (its gopls
      # children are other processes), or for gopls serve, gopls itself.
      line="$line listener_kib=$(hwm_kib "${lpid[$cfg]}")"
      stop_bg "${lpid[$cfg]}"
    fi
    echo "$cfg $round ${line#result name=$cfg }" >>"$RESULTS"
  done
}

# direct2 is a second direct gopls: the A/A control, whose distance from
# direct is what this machine cannot resolve.
CFGS=(direct direct2)
notes=()
if [ -x "$STANDIN" ] && [ -x "$LSPTAP" ]; then
  CFGS+=(standin relay-tcp)
  # TLS takes part only if this lsptap has it: a listener that starts.
  if why=$(gen_certs); then
    bg tlsprobe "$LSPTAP" relay --listen tls://127.0.0.1:0 "${TLS_LISTEN[@]}" -- "$GOPLS"
    if until_up listening_line tlsprobe; then
      CFGS+=(relay-tls)
    else
      notes+=("relay-tls skipped: TLS not built (relay --listen tls:// said: $(head -n 1 "$TMP/tlsprobe.err"))")
    fi
    stop_bg "$BGPID"
  else
    notes+=("relay-tls skipped: no certificates ($why)")
  fi
  CFGS+=(relay-unix)
  # socat is the reference: two byte-copying processes over TCP, no inspection.
  command -v socat >/dev/null 2>&1 && CFGS+=(socat-tcp)
else
  notes+=("$LSPTAP not built, so lsptap is not measured")
fi
CFGS+=(gopls-tcp gopls-unix)

start=$(date +%s)
say "$(nproc) CPUs, $ROUNDS rounds of ${#CFGS[@]} configurations taking turns; per round and" \
  "configuration: $N hovers on greet.New after the workspace loaded and $WARM warm-up hovers; gopls: $GOPLS ($("$GOPLS" version 2>/dev/null | tr -s ' \n' ' '))"
for n in "${notes[@]}"; do say "$n"; done
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
  nc=${#CFGS[@]}
  order=()
  for ((i = 0; i < nc; i++)); do order+=("${CFGS[$(((i + r) % nc))]}"); done
  run_round "$r" "${order[@]}"
  say "round $r/$ROUNDS done ($(($(date +%s) - start)) s)"
done

awk -v cfgs="${CFGS[*]}" -v n="$N" '
function median(arr, k,    i, j, t) {
  for (i = 2; i <= k; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
  if (k == 0) return "nan"
  return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
function ok(cfg, r) { return (cfg, r, "p50_us") in V && !V[cfg, r, "failed"] }
# Median over rounds of key ("abs"), of cfg/base ("ratio"), or of cfg-base ("diff").
function stat(cfg, key, mode, base,    r, k, a, x, y) {
  k = 0
  for (r = 1; r <= R; r++) {
    if (!ok(cfg, r) || !((cfg, r, key) in V)) continue
    x = V[cfg, r, key]
    if (mode != "abs") {
      if (!ok(base, r)) continue
      y = V[base, r, key]
      x = mode == "ratio" ? (y ? x / y : 0) : x - y
    }
    a[++k] = x
  }
  return median(a, k)
}
function maxof(cfg, key,    r, m) {
  m = ""
  for (r = 1; r <= R; r++) if ((cfg, r, key) in V && V[cfg, r, key] != "" && (m == "" || V[cfg, r, key] + 0 > m + 0)) m = V[cfg, r, key]
  return m == "" ? "-" : m
}
function range(cfg, key, base,    r, lo, hi, x) {
  lo = ""; hi = ""
  for (r = 1; r <= R; r++) {
    if (!ok(cfg, r) || !ok(base, r)) continue
    x = V[cfg, r, key] - V[base, r, key]
    if (lo == "" || x < lo) lo = x
    if (hi == "" || x > hi) hi = x
  }
  return lo == "" ? "-" : sprintf("%.0f..%.0f", lo, hi)
}
{
  cfg = $1; r = $2; if (r > R) R = r
  for (i = 3; i <= NF; i++) {
    split($i, kv, "="); V[cfg, r, kv[1]] = kv[2]
    if ((kv[1] == "exit" && kv[2] != 0) || kv[1] == "signal") X[cfg] = kv[1] " " kv[2]
  }
}
END {
  k = split(cfgs, C, " ")
  # Every run must have answered what direct answered: the hash of the
  # canonical hover JSON, which every run also checked against its own first.
  for (r = 1; r <= R && want == ""; r++) if (ok("direct", r)) want = V["direct", r, "hover_hash"]
  for (i = 1; i <= k; i++) for (r = 1; r <= R; r++) if (ok(C[i], r) && V[C[i], r, "hover_hash"] != want) D[C[i]]++
  printf "\nHover over remote paths with the real gopls (us): %d hovers per configuration and round, taking turns; median of %d rounds\n", n, R
  printf "%-11s %8s %8s %8s %10s %8s %8s %8s %10s %10s %s\n", "config", "p50", "p90", "p99", "added p50", "x p50", "x p90", "load ms", "client KiB", "listen KiB", "notes"
  for (i = 1; i <= k; i++) {
    c = C[i]; note = ""
    for (r = 1; r <= R; r++) if (V[c, r, "failed"]) f[c]++
    if (f[c]) note = note f[c] " failed runs; "
    if (c in X) note = note "editor-side process: " X[c] "; "
    if (D[c]) note = note "HOVER DIFFERS from direct in " D[c] " runs; "
    printf "%-11s %8.0f %8.0f %8.0f %10.0f %7.2fx %7.2fx %8.0f %10s %10s %s\n", c, stat(c, "p50_us", "abs"), stat(c, "p90_us", "abs"),
      stat(c, "p99_us", "abs"), stat(c, "p50_us", "diff", "direct"), stat(c, "p50_us", "ratio", "direct"),
      stat(c, "p90_us", "ratio", "direct"), stat(c, "load_ms", "abs"), maxof(c, "hwm_kib"), maxof(c, "listener_kib"), note
  }
  printf "  client KiB: peak RSS of the process the editor started (gopls itself for direct; lsptap for\n"
  printf "  standin and relay-*; socat; gopls'"'"'s forwarder for gopls-*). listen KiB: of the listening\n"
  printf "  process (lsptap relay --listen without its gopls; socat'"'"'s parent; for gopls-*, the gopls daemon).\n"
  printf "\nIssue 5 targets (informational; bench never fails the build)\n"
  printf "  the A/A control, direct2 - direct: added p50 %.0f us (per round %s): differences this size are noise\n",
    stat("direct2", "p50_us", "diff", "direct"), range("direct2", "p50_us", "direct")
  t = stat("relay-tcp", "p50_us", "ratio", "direct")
  if (t != "nan") {
    printf "  %s relay over TCP within a few percent (<= 1.05x) of direct: p50 %.2fx, added %.0f us (per round %s)\n",
      t <= 1.05 ? "PASS" : "MISS", t, stat("relay-tcp", "p50_us", "diff", "direct"), range("relay-tcp", "p50_us", "direct")
    g = stat("gopls-tcp", "p50_us", "diff", "direct"); a = stat("relay-tcp", "p50_us", "diff", "direct")
    sc = stat("socat-tcp", "p50_us", "diff", "direct")
    if (sc != "nan")
      printf "  reference: two socat processes over TCP add %.0f us at p50 (per round %s)\n", sc, range("socat-tcp", "p50_us", "direct")
    if (g != "nan")
      printf "  %s relay over TCP below gopls'"'"'s forwarder: added p50 %.0f us vs %.0f us (per round: relay %s, gopls %s)\n",
        a < g ? "PASS" : "MISS", a, g, range("relay-tcp", "p50_us", "direct"), range("gopls-tcp", "p50_us", "direct")
  }
  s = stat("relay-tls", "p50_us", "ratio", "direct")
  if (s != "nan") printf "  relay over TLS with client certificates: p50 %.2fx direct, added %.0f us\n", s, stat("relay-tls", "p50_us", "diff", "direct")
}' "$RESULTS"
[ -n "${BENCH_REMOTE_RAW:-}" ] && cp "$RESULTS" "$BENCH_REMOTE_RAW"
[ -s "$TMP/hover" ] && say "the hover answer (canonical JSON): $(head -c 200 "$TMP/hover")..."
say "done in $(($(date +%s) - start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
