#!/bin/sh
# Installs what building and testing lsptap needs, when it can (root with
# apt-get); otherwise prints the exact commands to run and fails.
# Called by `make check`, `make demo`, `make bench` and `make soak`;
# `scripts/deps.sh build` (what `make install` calls) checks only what
# building needs, and leaves the test tools and node modules alone.
set -u
cd "$(dirname "$0")/.."

build_debs="build-essential pkg-config libuv1-dev libjansson-dev libssl-dev libpcap-dev
zlib1g-dev"
debs="$build_debs clang libclang-rt-14-dev libcmocka-dev golang-go gopls delve socat nodejs npm
chromium dnsmasq-base nftables iproute2 openssl valgrind cppcheck neovim clang-format"
[ "${1:-}" = build ] && debs=$build_debs
missing=""
for p in $debs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from elsewhere than Debian: only their commands matter.
command -v node >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ nodejs//')
command -v npm >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ npm//')
# clang's libFuzzer runtime package name follows the clang version.
if echo "$missing" | grep -q libclang-rt-14-dev && command -v clang >/dev/null 2>&1; then
  v=$(clang -dumpversion | cut -d. -f1)
  [ "$v" != 14 ] && missing=$(echo "$missing" | sed "s/libclang-rt-14-dev/libclang-rt-$v-dev/")
fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq $missing; } >/tmp/lsptap-deps.log 2>&1 || {
      tail -20 /tmp/lsptap-deps.log
      echo "deps: apt-get failed (log above)"; exit 1; }
  else
    echo "deps: missing Debian packages:$missing"
    echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing"
    exit 1
  fi
fi

[ "${1:-}" = build ] && exit 0

# The end-to-end tests' client libraries, pinned by tests/e2e/package-lock.json;
# reinstalled when the lock file is newer than what npm last installed.
installed=tests/e2e/node_modules/.package-lock.json
if [ -f tests/e2e/package.json ] && { [ ! -f "$installed" ] || [ tests/e2e/package-lock.json -nt "$installed" ]; }; then
  echo "deps: installing the e2e tests' node modules"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "deps: run: (cd tests/e2e && npm ci)"; exit 1; }
fi
exit 0
