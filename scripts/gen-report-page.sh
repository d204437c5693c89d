#!/bin/sh
# scripts/gen-report-page.sh — turns inspect/li_report.html (the report
# page's template, edited by hand) into inspect/li_report_page.c (the same
# bytes as a C string, compiled into lsptap). Run it after editing the
# template and commit both; tests/unit/test_report.c checks they agree.
# '?' is written as \? so no "??x" in the page can form a C trigraph.
set -eu
cd "$(dirname "$0")/.."
in=inspect/li_report.html
out=inspect/li_report_page.c
{
  echo "/* Generated from $in by scripts/gen-report-page.sh: edit the template, not this. */"
  echo '#include "inspect/li_report.h"'
  echo
  echo 'const char li_report_page[] ='
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/	/\\t/g' -e 's/^/    "/' -e 's/$/\\n"/' "$in"
  echo '    ;'
} >"$out.tmp"
mv "$out.tmp" "$out"
