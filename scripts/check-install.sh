#!/bin/sh
# Installs into a scratch DESTDIR and checks the layout docs/design.md fixes:
# P/bin/lsptap, P/lib/lsptap/{gopls,dlv} -> ../../bin/lsptap, the man page;
# and that the installed gopls link really acts as gopls.
set -eu
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/opt/lsptap >/dev/null
p=$dest/opt/lsptap
fail=0
check() { if eval "$2"; then :; else echo "install: FAILED: $1"; fail=1; fi; }
check "bin/lsptap is executable" '[ -x "$p/bin/lsptap" ]'
check "lib/lsptap/gopls -> ../../bin/lsptap" '[ "$(readlink "$p/lib/lsptap/gopls")" = ../../bin/lsptap ]'
check "lib/lsptap/dlv -> ../../bin/lsptap" '[ "$(readlink "$p/lib/lsptap/dlv")" = ../../bin/lsptap ]'
check "man page installed" '[ -f "$p/share/man/man1/lsptap.1" ]'
real=$(command -v gopls || true)
if [ -n "$real" ]; then
  check "installed gopls link runs the real gopls version" \
    '[ "$(LSPTAP_GOPLS="$real" "$p/lib/lsptap/gopls" version)" = "$("$real" version)" ]'
fi
[ $fail -eq 0 ] && echo "install: layout and links ok under $p"
exit $fail
