#!/bin/sh
# The netcheck lab: network namespaces built and torn down by this script,
# one test per verdict. Needs root (ip netns, nft, dnsmasq, openssl).
#
#   client (10.99.1.2) -- router (10.99.1.1 | 10.99.2.1) -- server (10.99.2.2)
#
# The client also has an interface that is administratively down
# (10.99.130.2/24) and one whose peer is down, so it has no carrier
# (10.99.140.2/24), and one that is up but has no address (a route to
# 10.99.150.0/24 through it). The router forwards, and its nftables rules drop or
# reject chosen ports; the client's own output chain drops one port (local
# policy). dnsmasq on the server answers for lab.test. openssl s_server
# serves certificates made here: good, expired, not yet valid, for another
# name, self-signed. Every address lives in 10.99.0.0/16 inside these
# namespaces: no packet leaves them.
#
# usage: tests/netns/run.sh /path/to/lsptap
set -u
LSPTAP=${1:?usage: run.sh /path/to/lsptap}
cd "$(dirname "$0")/../.."

id=$$
C=lnc${id}c R=lnc${id}r S=lnc${id}s
W=$(mktemp -d /tmp/lsptap-netns.XXXXXX)
pids=""
pass=0 fail=0

cleanup() {
  # `ip netns exec` may fork: kill what runs inside our namespaces too.
  for n in $C $R $S; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  for n in $C $R $S; do ip netns del "$n" 2>/dev/null; rm -rf "/etc/netns/$n"; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP

need() { command -v "$1" >/dev/null 2>&1 || { echo "netns: $1 not found (apt-get install $2)"; exit 1; }; }
need ip iproute2; need nft nftables; need dnsmasq dnsmasq-base; need openssl openssl

inC() { ip netns exec "$C" "$@"; }
inR() { ip netns exec "$R" "$@"; }
inS() { ip netns exec "$S" "$@"; }
bg() { "$@" & pids="$pids $!"; }

# ---- topology -----------------------------------------------------------
set -e
for n in $C $R $S; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "c${id}a" netns "$C" type veth peer name "r${id}a" netns "$R"
ip link add "r${id}b" netns "$R" type veth peer name "s${id}b" netns "$S"
ip link add "c${id}d" netns "$C" type veth peer name "r${id}d" netns "$R"
ip link add "c${id}n" netns "$C" type veth peer name "r${id}n" netns "$R"
ip link add "c${id}s" netns "$C" type veth peer name "r${id}s" netns "$R"
ip -n "$C" addr add 10.99.1.2/24 dev "c${id}a"; ip -n "$C" link set "c${id}a" up
ip -n "$R" addr add 10.99.1.1/24 dev "r${id}a"; ip -n "$R" link set "r${id}a" up
ip -n "$R" addr add 10.99.2.1/24 dev "r${id}b"; ip -n "$R" link set "r${id}b" up
ip -n "$S" addr add 10.99.2.2/24 dev "s${id}b"; ip -n "$S" link set "s${id}b" up
# admin down on the client's side
ip -n "$C" addr add 10.99.130.2/24 dev "c${id}d"
ip -n "$R" addr add 10.99.130.1/24 dev "r${id}d"; ip -n "$R" link set "r${id}d" up
# up, but the peer is down: no carrier
ip -n "$C" addr add 10.99.140.2/24 dev "c${id}n"; ip -n "$C" link set "c${id}n" up
ip -n "$R" addr add 10.99.140.1/24 dev "r${id}n"
# up with carrier but without an address; nothing answers ARP for 10.99.150.0/24
ip -n "$C" link set "c${id}s" up; ip -n "$R" link set "r${id}s" up
ip -n "$C" route add 10.99.150.0/24 dev "c${id}s"
# Routes cover 10.99.0.0/17 only: 10.99.200.1 has none, and 10.99.130.0/24 and
# 10.99.140.0/24 are reached only through their own interfaces.
ip -n "$C" route add 10.99.0.0/17 via 10.99.1.1
ip -n "$S" route add 10.99.0.0/17 via 10.99.2.1
inR sysctl -qw net.ipv4.ip_forward=1

inR nft -f - <<EOF
table inet lab {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr 10.99.2.2 tcp dport 7002 reject with icmp type admin-prohibited
    ip daddr 10.99.2.2 tcp dport 7003 drop
    ip daddr 10.99.2.2 tcp dport 7006 reject with icmp type host-unreachable
    ip daddr 10.99.2.3 udp dport 53 drop
  }
}
EOF
inC nft -f - <<EOF
table inet lab {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp dport 7005 drop
    tcp dport 7007 reject with icmp type admin-prohibited
  }
}
EOF

# ---- services on the server --------------------------------------------
mkdir -p "/etc/netns/$C"
echo "nameserver 10.99.2.2" >"/etc/netns/$C/resolv.conf"
bg inS dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --no-resolv --no-hosts \
  --listen-address=10.99.2.2 --bind-interfaces --local=/lab.test/ \
  --address=/gopls.lab.test/10.99.2.2 --log-facility="$W/dnsmasq.log"

cd "$W"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=lsptap lab CA"
ossl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 \
  -subj "/CN=gopls.lab.test" -addext "subjectAltName=DNS:gopls.lab.test"
mkdir -p ca/new && touch ca/index.txt && echo 1000 >ca/serial
cat >ca.cnf <<EOF
[ca]
default_ca = lab
[lab]
dir = $W/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
leaf() { # name san start end
  ossl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2"
  ossl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in "$1.csr" -out "$1.pem" \
    -startdate "$3" -enddate "$4" -notext
}
leaf good gopls.lab.test 20200101000000Z 20991231000000Z
leaf expired gopls.lab.test 20200101000000Z 20210101000000Z
leaf future gopls.lab.test 20980101000000Z 20991231000000Z
leaf other other.lab.test 20200101000000Z 20991231000000Z
leaf client editor.lab.test 20200101000000Z 20991231000000Z
cd - >/dev/null
for pair in good:7443 expired:7444 future:7445 other:7446 self:7447; do
  n=${pair%%:*} port=${pair##*:}
  bg inS openssl s_server -quiet -accept "10.99.2.2:$port" -cert "$W/$n.pem" -key "$W/$n.key" \
    -naccept 1000 </dev/null >/dev/null 2>&1
done
# a module proxy that answers 404 to everything (gopls's own connections)
bg inS node -e 'require("http").createServer((q, s) => { s.writeHead(404); s.end("not found\n"); }).listen(7080, "10.99.2.2")'
# a plain TCP listener for "not TLS", and gopls for the full pass
bg inS socat TCP-LISTEN:7008,bind=10.99.2.2,reuseaddr,fork SYSTEM:"echo hello; sleep 1" 2>"$W/socat.log"
bg inS env HOME="$W" GOCACHE="$W/gocache" gopls serve -listen=10.99.2.2:7010 >"$W/gopls.log" 2>&1
# lsptap's own TLS listener, off loopback: client certificates from the lab CA
bg inS env LSPTAP_DIR="$W/relay-sessions" "$LSPTAP" relay --listen tls://10.99.2.2:7450 \
  --cert "$W/good.pem" --key "$W/good.key" --client-ca "$W/ca.pem" -- /bin/cat \
  >"$W/relay.out" 2>"$W/relay.err"
set +e

# Wait for the services to listen (up to 20 s).
for port in 53 7443 7444 7445 7446 7447 7008 7010 7450 7080; do
  for i in $(seq 100); do
    inS ss -Hlntu 2>/dev/null | grep -q "10.99.2.2:$port " && break
    sleep 0.2
  done
done

# ---- the cases ---------------------------------------------------------
# check NAME EXIT WORDS... -- ARGS: runs netcheck in the client namespace
# and expects the exit code and each of WORDS in its output.
check() {
  name=$1 want=$2; shift 2
  words=""
  while [ "$1" != "--" ]; do words="$words
$1"; shift; done
  shift
  out=$(inC "$LSPTAP" netcheck "$@" 2>&1); got=$?
  ok=1
  [ "$got" = "$want" ] || ok=0
  echo "$words" | { missing=""; while IFS= read -r w; do
      [ -z "$w" ] && continue
      printf '%s' "$out" | grep -qF -- "$w" || missing="$missing [$w]"
    done; [ -z "$missing" ] || { echo "  missing:$missing"; exit 1; }; } || ok=0
  if [ $ok = 1 ]; then
    pass=$((pass + 1)); echo "ok   $name"
    [ -n "${NETNS_SHOW:-}" ] && { echo "\$ lsptap netcheck $*"; printf '%s\n(exit %s)\n\n' "$out" "$got"; }
  else
    fail=$((fail + 1)); echo "FAIL $name (exit $got, want $want)"; printf '%s\n' "$out" | sed 's/^/  | /'
  fi
}

check "full pass through DNS and a router (gopls)" 0 \
  "dns          ok       gopls.lab.test is 10.99.2.2" "speaks LSP: gopls" \
  "route: via 10.99.1.1" -- gopls.lab.test:7010 --timeout 5
check "link: interface administratively down" 3 \
  "link         fail" "c${id}d is administratively down" "ip link set c${id}d up" -- 10.99.130.1:7010 --timeout 2
check "link: no carrier" 3 \
  "link         fail" "c${id}n is up but has no carrier" -- 10.99.140.1:7010 --timeout 2
check "network: no route" 4 \
  "network      fail" "no usable route to 10.99.200.1" "ENETUNREACH" -- 10.99.200.1:7010 --timeout 2
check "transport: next hop never answers ARP (interface without an address)" 6 \
  "network      warn" "c${id}s has no IPv4 address (source borrowed from another interface)" \
  "transport    fail" "ARP / neighbour solicitations for the next hop went unanswered" \
  "ARP who-has 10.99.150.1 tell 10.99.1.2" -- 10.99.150.1:7010 --timeout 1
check "network: router says net unreachable" 4 \
  "network      fail" "ICMP network unreachable (type 3 code 0) from 10.99.1.1" -- 10.99.50.1:7010 --timeout 2
check "dns: NXDOMAIN" 5 \
  "dns          fail" "nope.lab.test does not exist (NXDOMAIN; nameservers: 10.99.2.2)" -- nope.lab.test:7010 --timeout 2
check "transport: refused" 6 \
  "transport    fail" "connection refused by 10.99.2.2:7004" "nothing listens on 10.99.2.2:7004 — the dlv DAP server" \
  "> 10.99.2.2:7004 SYN" "10.99.2.2:7004 > 10.99.1.2:" " RST" \
  -- 10.99.2.2:7004 --probe dap --timeout 2 --pcap "$W/refused.pcap"
# The capture as a pcap file (little-endian magic a1b2c3d4) with the SYN and the RST.
magic=$(od -An -tx1 -N4 "$W/refused.pcap" 2>/dev/null | tr -d ' ')
size=$(wc -c <"$W/refused.pcap" 2>/dev/null || echo 0)
if [ "$magic" = d4c3b2a1 ] && [ "$size" -gt 100 ]; then
  pass=$((pass + 1)); echo "ok   --pcap writes a pcap file ($size bytes)"
else
  fail=$((fail + 1)); echo "FAIL --pcap: magic '$magic', $size bytes"
fi
check "transport: filtered" 6 \
  "transport    fail" "no answer from 10.99.2.2:7003: 2 SYNs went out unanswered" "firewall" \
  -- 10.99.2.2:7003 --timeout 2
check "transport: administratively prohibited" 6 \
  "transport    fail" "communication administratively prohibited (type 3 code 13) from 10.99.1.1" \
  "a firewall on 10.99.1.1" "10.99.1.1 > 10.99.1.2 ICMP communication administratively prohibited" -- 10.99.2.2:7002 --timeout 2
check "transport: host unreachable from the router" 6 \
  "transport    fail" "host unreachable (type 3 code 1) from 10.99.1.1" -- 10.99.2.2:7006 --timeout 2
check "transport: local policy (output chain drops the SYNs)" 6 \
  "transport    fail" "dropped on this host: 2 SYNs sent, none reached the interface" \
  "nft list ruleset" -- 10.99.2.2:7005 --timeout 2
check "transport: local policy (output chain rejects)" 6 \
  "transport    fail" "administratively prohibited (type 3 code 13) from 10.99.1.2 (this host)" \
  "this host's own firewall" -- 10.99.2.2:7007 --timeout 2
check "tls: verified with the lab CA" 0 \
  "tls          ok" "verified for gopls.lab.test" -- gopls.lab.test:7443 --tls --ca "$W/ca.pem" --probe none
check "tls: unknown CA" 7 \
  "tls          fail" "issued by an unknown CA" "--ca" -- gopls.lab.test:7443 --tls --probe none
check "tls: self-signed" 7 \
  "tls          fail" "self-signed certificate" -- gopls.lab.test:7447 --tls --probe none
check "tls: expired" 7 \
  "tls          fail" "expired on Jan  1 00:00:00 2021 GMT" -- gopls.lab.test:7444 --tls --ca "$W/ca.pem" --probe none
check "tls: not yet valid" 7 \
  "tls          fail" "is not valid until Jan  1 00:00:00 2098 GMT" -- gopls.lab.test:7445 --tls --ca "$W/ca.pem" --probe none
check "tls: name mismatch" 7 \
  "tls          fail" "certificate is for DNS:other.lab.test, not gopls.lab.test" "--sni" \
  -- gopls.lab.test:7446 --tls --ca "$W/ca.pem" --probe none
check "tls: not TLS" 7 \
  "tls          fail" "does not speak TLS" -- 10.99.2.2:7008 --tls --timeout 2
check "application: something else" 8 \
  "application  fail" 'speaks something else, not LSP: "hello\n"' -- 10.99.2.2:7008 --timeout 2

# Resolver faults: the client's resolv.conf is bind-mounted at each exec.
echo "nameserver 10.99.2.1" >"/etc/netns/$C/resolv.conf" # nothing on :53: ICMP port unreachable
check "dns: resolver unreachable (temporary failure)" 5 \
  "dns          fail" "temporary failure resolving gopls.lab.test" "nameservers: 10.99.2.1; route to 10.99.2.1: via 10.99.1.1" \
  -- gopls.lab.test:7010 --timeout 3
echo "nameserver 10.99.2.3" >"/etc/netns/$C/resolv.conf" # the router drops queries to it
check "dns: resolver silent (timeout)" 5 \
  "dns          fail" "no answer for gopls.lab.test within 1.5 s (nameservers: 10.99.2.3; route to 10.99.2.3: via 10.99.1.1 dev c${id}a)" \
  -- gopls.lab.test:7010 --timeout 1.5
echo "nameserver 10.99.2.2" >"/etc/netns/$C/resolv.conf"

check "tls: lsptap relay listener wants a client certificate" 7 \
  "tls          fail" "requires a client certificate and none was given" "--cert FILE --key FILE" \
  -- gopls.lab.test:7450 --tls --ca "$W/ca.pem" --probe none
check "tls: lsptap relay listener with the client certificate" 0 \
  "tls          ok" "verified for gopls.lab.test" \
  -- gopls.lab.test:7450 --tls --ca "$W/ca.pem" --cert "$W/client.pem" --key "$W/client.key" --probe none

# relay across the router: an LSP frame through relay --connect tls:// to the
# listener above (its server, cat, echoes it back), and a plain listener off
# loopback refused at start.
frame='Content-Length: 37\r\n\r\n{"jsonrpc":"2.0","method":"lab/ping"}'
got=$(printf "$frame" | inC env LSPTAP_DIR="$W/client-sessions" timeout 20 "$LSPTAP" relay \
  --connect tls://gopls.lab.test:7450 --ca "$W/ca.pem" --cert "$W/client.pem" --key "$W/client.key" 2>"$W/client.err")
sleep 0.5 # the listener's session is closed once cat has exited
if [ "$got" = "$(printf "$frame")" ] && grep -q "client certificate /CN=editor.lab.test" "$W/relay.err" &&
  grep -q '"kind":"notification","method":"lab/ping"' "$W"/relay-sessions/*.jsonl; then
  pass=$((pass + 1)); echo "ok   relay: tls:// across the router with client certificates"
else
  fail=$((fail + 1)); echo "FAIL relay: tls:// across the router"; sed 's/^/  | /' "$W/client.err" "$W/relay.err"
fi
out=$(inS "$LSPTAP" relay --listen 10.99.2.2:7451 -- /bin/cat 2>&1); got=$?
if [ "$got" = 2 ] && printf '%s' "$out" | grep -q "refusing to listen on 10.99.2.2:7451 without TLS"; then
  pass=$((pass + 1)); echo "ok   relay: a plain listener off loopback is refused"
else
  fail=$((fail + 1)); echo "FAIL relay: plain listener off loopback (exit $got)"; printf '%s\n' "$out" | sed 's/^/  | /'
fi

# ---- gopls's own connections (docs/netcheck.md): the real gopls through the
# stand-in, the editor played by vscode-jsonrpc (tests/e2e/lab-netwatch.mjs),
# on a workspace that needs a module from GOPROXY.
gofail() { # NAME LAYER GOPROXY [VAR=VALUE...]
  name=$1 layer=$2 proxy=$3; shift 3
  out=$(inC env HOME="$W" GOCACHE="$W/gocache" LSPTAP_BIN="$LSPTAP" timeout 120 \
    node tests/e2e/lab-netwatch.mjs "$proxy" "$layer" "$@" 2>&1); got=$?
  if [ "$got" = 0 ]; then
    pass=$((pass + 1)); echo "ok   $name"
    [ -n "${NETNS_SHOW:-}" ] && printf '%s\n\n' "$out"
  else
    fail=$((fail + 1)); echo "FAIL $name"; printf '%s\n' "$out" | sed 's/^/  | /'
  fi
}
gofail "gopls: GOPROXY at a refusing port -> transport" transport http://10.99.2.2:7004
gofail "gopls: GOPROXY at a name that does not resolve -> dns" dns http://nope.lab.test:7080
gofail "gopls: GOPROXY with an expired certificate -> tls" tls https://gopls.lab.test:7444 \
  SSL_CERT_FILE="$W/ca.pem"
gofail "gopls: GOPROXY answers 404 -> no layer blamed" none http://10.99.2.2:7080

# doctor --net across the router: the refusing entry fails at transport, the
# 404 one works, the expired one fails at tls.
out=$(inC env HOME="$W" GOCACHE="$W/gocache" SSL_CERT_FILE="$W/ca.pem" GOSUMDB=off \
  GOPROXY="http://10.99.2.2:7004,https://gopls.lab.test:7444,http://10.99.2.2:7080|direct" \
  "$LSPTAP" doctor --net --json 2>&1); got=$?
if [ "$got" = 1 ] && printf '%s' "$out" | node -e '
  const net = JSON.parse(require("fs").readFileSync(0, "utf8")).net;
  const by = Object.fromEntries(net.checks.map((c) => [c.target, c]));
  if (by["10.99.2.2:7004"].failed_layer !== "transport") throw new Error("refused");
  if (by["gopls.lab.test:7444"].failed_layer !== "tls") throw new Error("expired");
  if (!by["10.99.2.2:7080"].ok) throw new Error("404 server");
  if (!net.hints.some((h) => h.endsWith("http://10.99.2.2:7080 works"))) throw new Error("hint");'; then
  pass=$((pass + 1)); echo "ok   doctor --net: refused, expired, working"
  [ -n "${NETNS_SHOW:-}" ] && inC env HOME="$W" SSL_CERT_FILE="$W/ca.pem" GOSUMDB=off \
    GOPROXY="http://10.99.2.2:7004,https://gopls.lab.test:7444,http://10.99.2.2:7080|direct" \
    "$LSPTAP" doctor --net 2>&1 | sed -n '/^network/,$p'
else
  fail=$((fail + 1)); echo "FAIL doctor --net (exit $got)"; printf '%s\n' "$out" | tail -40 | sed 's/^/  | /'
fi

# JSON: the object of docs/design.md, verdict naming the layer.
json=$(inC "$LSPTAP" netcheck 10.99.2.2:7004 --json --timeout 2)
if printf '%s' "$json" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const names = r.layers.map(l => l.layer).join(",");
  if (names !== "link,network,dns,transport,tls,application") throw new Error(names);
  if (r.verdict.layer !== "transport" || !/nothing listens/.test(r.verdict.hint)) throw new Error("verdict");
  if (typeof r.target.port !== "number") throw new Error("target");'; then
  pass=$((pass + 1)); echo "ok   json: refused, verdict transport"
else
  fail=$((fail + 1)); echo "FAIL json"; printf '%s\n' "$json" | sed 's/^/  | /'
fi

echo "netns: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
