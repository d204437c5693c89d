#!/bin/sh
# scripts/check-fresh.sh [REF] — the build from a clean clone on a machine
# where the libraries appear only during the deps step (docs/design.md, "Tests
# and setup"). Extracts REF (default HEAD) into a scratch directory and runs
# `make demo` and then, after `make clean`, `make install DESTDIR=...` there
# with PATH shims:
#   dpkg-query  says libuv1-dev is not installed until the flag file exists;
#   pkg-config  knows no libuv until then (any query naming libuv fails);
#   apt-get     `update` does nothing; `install ... libuv1-dev ...` creates
#               the flag file (the real packages are installed already: the
#               shim only pretends, it never runs the real apt);
#   id -u       says 0, so deps.sh takes the apt-get path;
#   npm         does nothing (the clone gets the worktree's node modules).
# Each make must succeed in one invocation: a Makefile that reads pkg-config
# when it is parsed links without libuv and fails. About a minute and a half
# on 2 cores (two builds and the demo).
set -eu
ref=${1:-HEAD}
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! git -C "$repo" rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1; then
  echo "check-fresh: skipped ($repo is not a git checkout with $ref)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lsptap-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
shims=$tmp/shims
flag=$tmp/libuv-installed
mkdir -p "$shims"

real_dpkg=$(command -v dpkg-query)
real_pc=$(command -v pkg-config)
real_id=$(command -v id)

cat >"$shims/dpkg-query" <<EOF
#!/bin/sh
for a; do
  if [ "\$a" = libuv1-dev ] && [ ! -e "$flag" ]; then
    echo "dpkg-query: no packages found matching libuv1-dev" >&2
    exit 1
  fi
done
exec "$real_dpkg" "\$@"
EOF
cat >"$shims/pkg-config" <<EOF
#!/bin/sh
if [ ! -e "$flag" ]; then
  for a; do
    case "\$a" in libuv*)
      echo "Package libuv was not found in the pkg-config search path." >&2
      exit 1 ;;
    esac
  done
fi
exec "$real_pc" "\$@"
EOF
cat >"$shims/apt-get" <<EOF
#!/bin/sh
echo "apt-get (shim) \$*" >>"$tmp/apt.log"
for a; do [ "\$a" = libuv1-dev ] && : >"$flag"; done
exit 0
EOF
cat >"$shims/id" <<EOF
#!/bin/sh
[ "\$*" = -u ] && { echo 0; exit 0; }
exec "$real_id" "\$@"
EOF
printf '#!/bin/sh\nexit 0\n' >"$shims/npm"
chmod +x "$shims"/*

# The tree of REF as a clean clone would check it out (git archive also works
# on a detached HEAD or a shallow CI checkout, where a clone may lack REF).
mkdir "$tmp/src"
git -C "$repo" archive --format=tar "$ref" | tar -x -C "$tmp/src"
cp -a "$repo/tests/e2e/node_modules" "$tmp/src/tests/e2e/" 2>/dev/null || true

fail() {
  echo "check-fresh: FAILED: $1 (in a clean clone of $ref, libuv hidden until deps); the last lines:"
  tail -25 "$tmp/out.log"
  exit 1
}
cd "$tmp/src"
export PATH="$shims:$PATH"
if pkg-config --exists libuv 2>/dev/null; then fail "the pkg-config shim does not hide libuv"; fi
make -j2 demo >"$tmp/out.log" 2>&1 || fail "make demo"
grep -q libuv1-dev "$tmp/apt.log" || fail "make demo built without the deps step installing libuv1-dev"
rm -f "$flag" "$tmp/apt.log"
make clean >/dev/null
make -j2 install DESTDIR="$tmp/dest" PREFIX=/opt/lsptap >"$tmp/out.log" 2>&1 || fail "make install"
[ -x "$tmp/dest/opt/lsptap/bin/lsptap" ] || fail "make install installed no bin/lsptap"
grep -q libuv1-dev "$tmp/apt.log" || fail "make install built without the deps step installing libuv1-dev"
echo "check-fresh: make demo and make install work in one go in a clean clone where libuv appears only during deps"
