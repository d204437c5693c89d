# lsptap — see README.md. `make` builds, `make check` tests, `make demo` runs.
#
# Layout: every .c under framing/ inspect/ netcheck/ io/ env/ replay/ resume/ proxy/ goes into
# $(B)/liblsptap.a; cli/*.c link with it into $(B)/lsptap. Each
# tests/unit/test_*.c is one cmocka program; each tests/fuzz/fuzz_*.c one
# libFuzzer target. Nothing here needs editing when a file is added.

CC      ?= cc
B       ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

# The libraries' flags are read from pkg-config on first use, not when the
# Makefile is parsed: on a fresh machine the packages appear only during the
# deps step, so the entry targets (demo, check, bench, soak, install) run
# deps first and build in a recursive make, which reads them afterwards.
# `x = $(eval x := ...)$(x)` evaluates once and then keeps the value.
PKGS     := libuv jansson openssl libpcap zlib
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(or $(shell pkg-config --libs $(PKGS) 2>/dev/null),$(error \
  pkg-config knows no flags for $(PKGS): their -dev packages are missing; run make deps \
  (scripts/deps.sh) first)))$(PKG_LIBS)

OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CFLAGS   ?= $(OPT) -g
# -UNDEBUG: the assert()s state invariants and stay on in every build, even
# when CFLAGS asks for NDEBUG.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DLSPTAP_VERSION='"$(VERSION)"' $(WARN) \
              -I. $(PKG_CFLAGS) $(CFLAGS) -UNDEBUG -MMD -MP
LDLIBS   = $(PKG_LIBS) -lpthread

ifeq ($(SAN),1)
  ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS    += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard framing/*.c inspect/*.c netcheck/*.c io/*.c env/*.c replay/*.c resume/*.c proxy/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
FAULT_HELPERS := $(wildcard tests/unit/fault/*.c)
BENCH_SRC := $(sort $(wildcard bench/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

.PHONY: format-check test-index all check unit e2e netns fuzz fuzz-smoke asan valgrind demo bench soak install uninstall clean deps format lint
all: $(B)/lsptap

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/liblsptap.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/lsptap: $(CLI_OBJ) $(B)/liblsptap.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/liblsptap.a $(LDLIBS)
	ln -sf lsptap $(B)/gopls
	ln -sf lsptap $(B)/dlv

$(B)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(FAULT_HELPERS) $(B)/liblsptap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_HELPERS) $(UNIT_EXTRA) $(B)/liblsptap.a \
	  $(LDLIBS) -lcmocka

# Fault injection: every tests/unit/test_alloc_*.c runs on the failing
# allocator of tests/unit/fault/ (fail_alloc.h says how).
$(B)/tests/test_alloc_%: UNIT_EXTRA = $(FAULT_HELPERS) -Wl,--wrap=malloc,--wrap=calloc \
  -Wl,--wrap=realloc,--wrap=free,--wrap=strdup,--wrap=strndup

# Who frames keep-alive's streams: the session's and the gates' entries, counted.
$(B)/tests/test_nr_ka_frame: UNIT_EXTRA = -Wl,--wrap=li_session_feed,--wrap=lp_gate_feed \
  -Wl,--wrap=li_classify
$(B)/tests/test_hs_held: UNIT_EXTRA = -Wl,--wrap=li_session_feed

$(B)/bench/%: bench/%.c $(B)/liblsptap.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/liblsptap.a $(LDLIBS)

# ---- tests -------------------------------------------------------------

deps:
	@scripts/deps.sh

# The one test command: dependencies, the format and test-index checks,
# build (gcc and clang), install layout, unit, end-to-end, valgrind over a
# recorded session, fuzz smoke, the sanitizer build's unit and end-to-end
# tests, and static analysis.
check: deps
	$(MAKE) format-check
	$(MAKE) test-index
	scripts/check-fresh.sh
	$(MAKE) all
	$(MAKE) B=build-clang CC=clang all
	scripts/check-install.sh
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) valgrind
	$(MAKE) netns
	$(MAKE) fuzz-smoke
	$(MAKE) asan
	$(MAKE) lint

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

# Each test carries its own timeout; --test-force-exit and the outer timeout
# make sure a handle left open by a failed test can never hang CI. Under
# node 20, --test-timeout bounds a whole file, so many-sessions (10,000
# sessions, CPU-bound: about 200 s on a loaded 2-core machine) runs on its
# own with a bound above its test's 600 s.
E2E_LONG := tests/e2e/many-sessions.test.mjs
e2e: $(B)/lsptap
	LSPTAP_BIN=$(abspath $(B)/lsptap) timeout 1200 \
	  node --test --test-concurrency=1 --test-timeout=180000 --test-force-exit \
	  $(filter-out $(E2E_LONG),$(sort $(wildcard tests/e2e/*.test.mjs)))
	LSPTAP_BIN=$(abspath $(B)/lsptap) timeout 700 \
	  node --test --test-concurrency=1 --test-timeout=660000 --test-force-exit $(E2E_LONG)

# netcheck's lab of network namespaces (tests/netns/run.sh) needs root;
# skipped with a message otherwise.
netns: $(B)/lsptap
	@if [ "$$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then \
	  timeout 600 tests/netns/run.sh $(abspath $(B)/lsptap); \
	else echo "netns: skipped (needs root to build network namespaces: sudo make netns)"; fi

# The stdio relay and the relay --listen/--connect pair under valgrind over a
# whole recorded gopls session; fails on any error, leak or stray fd
# (docs/hardening.md). About 15 s.
valgrind: $(B)/lsptap
	timeout 600 scripts/valgrind-relay.sh $(B)

asan:
	$(MAKE) B=build-asan SAN=1 OPT=-O1 CC=$(CC) unit e2e

# libFuzzer needs clang; skipped with a message otherwise. The library is
# built once more, instrumented (fuzzer-no-link), into build-fuzz/liblsptap.a;
# each target links only the objects it uses from it.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DLSPTAP_VERSION='"$(VERSION)"' -g -O1 -I. $(PKG_CFLAGS) -MMD -MP \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/liblsptap.a: $(LIB_SRC:%.c=build-fuzz/obj/%.o)
	rm -f $@ && ar rcs $@ $^

build-fuzz/%: tests/fuzz/%.c build-fuzz/liblsptap.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/liblsptap.a $(PKG_LIBS) -lpthread

FUZZ_SECONDS ?= 10
fuzz-smoke:
	@if command -v clang >/dev/null 2>&1; then \
	  $(MAKE) $(FUZZ_BIN) && scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN); \
	else echo "fuzz: clang not found, libFuzzer run skipped (apt-get install clang)"; fi

fuzz:
	$(MAKE) fuzz-smoke FUZZ_SECONDS=$${FUZZ_SECONDS:-600}

# ---- run -----------------------------------------------------------------

# The entry targets run deps, then build in a recursive make (see PKGS).
demo: deps
	$(MAKE) all
	scripts/demo.sh $(abspath $(B)/lsptap)

bench: deps
	$(MAKE) all $(BENCH_BIN)
	scripts/bench.sh $(abspath $(B))

# A recorded gopls session relayed in a loop for SOAK_MINUTES (default 2):
# throughput, latency percentiles, RSS over time, fds (docs/performance.md).
soak: deps
	$(MAKE) all $(BENCH_BIN)
	scripts/soak.sh $(abspath $(B))

# ---- install -------------------------------------------------------------

install:
	@scripts/deps.sh build
	$(MAKE) all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lsptap $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(B)/lsptap $(DESTDIR)$(PREFIX)/bin/lsptap
	ln -sf ../../bin/lsptap $(DESTDIR)$(PREFIX)/lib/lsptap/gopls
	ln -sf ../../bin/lsptap $(DESTDIR)$(PREFIX)/lib/lsptap/dlv
	install -m 0644 docs/lsptap.1 $(DESTDIR)$(PREFIX)/share/man/man1/lsptap.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lsptap $(DESTDIR)$(PREFIX)/lib/lsptap/gopls \
	      $(DESTDIR)$(PREFIX)/lib/lsptap/dlv $(DESTDIR)$(PREFIX)/share/man/man1/lsptap.1
	-rmdir $(DESTDIR)$(PREFIX)/lib/lsptap

clean:
	rm -rf build build-asan build-fuzz build-clang

# Every hand-written C file and header (not li_report_page.c, which
# scripts/gen-report-page.sh generates from li_report.html).
FORMAT_SRC = $(filter-out inspect/li_report_page.c,$(LIB_SRC) $(CLI_SRC) $(wildcard */*.h) \
  $(UNIT_SRC) $(UNIT_HELPERS) $(wildcard tests/unit/*.h tests/unit/fault/*.[ch]) $(BENCH_SRC) $(FUZZ_SRC))
format:
	clang-format -i $(FORMAT_SRC)

# The format check of make check: fails naming each file .clang-format would change.
format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) 2>&1 | \
	  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u | \
	  sed 's/^/format: differs from .clang-format (make format): /' | grep . && exit 1; \
	  echo "format: $(words $(FORMAT_SRC)) files match .clang-format"

# docs/testing.md names every unit test, e2e file and fuzz target
# (scripts/check-test-index.sh); fails naming each one missing.
test-index:
	@scripts/check-test-index.sh

# cppcheck and clang --analyze (scripts/lint.sh); fails on any finding.
# About 2 minutes; the last step of make check.
lint:
	LINT_CFLAGS="-D_GNU_SOURCE -DLSPTAP_VERSION=\"$(VERSION)\" -I. $(PKG_CFLAGS)" \
	  scripts/lint.sh framing inspect netcheck io env replay resume proxy cli

-include $(shell find $(B) build-fuzz -name '*.d' 2>/dev/null)
