# Tisheng — build, test, bench. `make` builds build/tisheng.
# SANITIZE=1 builds everything with ASan + UBSan into build/san/.

PKGS      := libmicrohttpd jansson yajl glib-2.0 sqlite3 libsodium libcurl cairo pangocairo liboath xlsxwriter libpq zlib
CC        ?= cc
CSTD      := -std=c17 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT       ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

ifeq ($(SANITIZE),1)
BUILD     := build/san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1 -g
else
BUILD     := build
SANFLAGS  :=
endif

CFLAGS_ALL := $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Isrc $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

SRCS      := $(shell find src -name '*.c' | sort)
MAIN_SRC  := src/cli/main.c
LIB_SRCS  := $(filter-out $(MAIN_SRC),$(SRCS))
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
MAIN_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(MAIN_SRC))
DEPS      := $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all pages clean check check-unit check-api check-pg check-pg-faults check-crash check-fuzz test-all bench bench-floor fuzz format

all: $(BUILD)/tisheng pages

# The pages `serve` serves (web/dist, web/dist/console), rebuilt when their
# sources change; without npm, scripts/pages.sh says so and builds nothing.
PAGE_SRCS := $(shell find web/h5 web/console/src -type f 2>/dev/null) \
	$(wildcard web/package.json web/package-lock.json web/vite.config.js \
		   web/console/package.json web/console/package-lock.json web/console/vite.config.js web/console/index.html)
pages: web/dist/.built

web/dist/.built: $(PAGE_SRCS) scripts/pages.sh
	@bash scripts/pages.sh

$(BUILD)/tisheng: $(MAIN_OBJ) $(BUILD)/libtisheng.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libtisheng.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtisheng.a
	@mkdir -p $(dir $@)
	@echo "  TEST  $<"
	@$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(BUILD)/libtisheng.a $(PKG_LIBS) -lcmocka $(LDFLAGS_ALL)

# Unit tests (cmocka) then API tests (node's test runner against a real server).
check: check-unit check-api

export LSAN_OPTIONS ?= suppressions=$(abspath tests/lsan.supp):print_suppressions=0
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

check-unit: $(UNIT_BINS)
	@failed=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || failed=$$((failed+1)); done; \
	if [ $$failed -ne 0 ]; then echo "== $$failed unit test binaries failed"; exit 1; fi

check-api: $(BUILD)/tisheng
	TISHENG_BIN=$(abspath $(BUILD)/tisheng) node --test --test-concurrency=1 tests/api/

# The same API tests on PostgreSQL: a throw-away cluster in build/pgtest; first
# the unit test of the PostgreSQL migrations, which needs a server.
PG_TEST_PORT ?= 55439
check-pg: $(BUILD)/tisheng $(BUILD)/tests/test_store_migrate
	@url=$$(bash scripts/pg-cluster.sh start $(abspath build/pgtest) $(PG_TEST_PORT)) && \
	status=0; TISHENG_TEST_PG=$${url%/tisheng} $(BUILD)/tests/test_store_migrate || status=$$?; \
	[ $$status -ne 0 ] || TISHENG_TEST_PG=$${url%/tisheng} TISHENG_BIN=$(abspath $(BUILD)/tisheng) \
	  node --test --test-concurrency=1 tests/api/ || status=$$?; \
	bash scripts/pg-cluster.sh stop $(abspath build/pgtest); exit $$status

# Crash (SIGKILL mid-rush; CRASH_ROUNDS=20 or TISHENG_LONG=1 for the long mode),
# full disk (a small tmpfs; skipped where mounting is impossible) and overload.
check-crash: $(BUILD)/tisheng
	TISHENG_BIN=$(abspath $(BUILD)/tisheng) node --test --test-concurrency=1 tests/crash/

# libFuzzer targets under ASan + UBSan (clang), each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)
check-fuzz:
	bash tests/fuzz/run.sh 30

# Fault tests on PostgreSQL: every test starts its own throw-away cluster in a
# temporary directory on a free port and two nodes on it (two-node rush, SIGKILL
# of a node mid-rush, PostgreSQL restarted / stopped mid-rush, store copy). ~1 min.
check-pg-faults: $(BUILD)/tisheng
	TISHENG_BIN=$(abspath $(BUILD)/tisheng) node --test --test-concurrency=1 tests/pg/

# What CI and the README run: everything, then everything again under ASan + UBSan.
test-all:
	$(MAKE) check
	$(MAKE) check SANITIZE=1

bench: all $(BUILD)/bench-writer
	bash bench/run.sh

# The writer alone, without HTTP (bench/writer.c): run by bench/run.sh.
$(BUILD)/bench-writer: bench/writer.c $(BUILD)/libtisheng.a
	@echo "  CC    $<"
	@$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libtisheng.a $(PKG_LIBS) $(LDFLAGS_ALL)

# The HTTP floor (bench/floor.c, bench/floor.sh): not run by bench/run.sh; docs/performance.md, session 5.
bench-floor: $(BUILD)/bench-floor
	bash bench/floor.sh

$(BUILD)/bench-floor: bench/floor.c
	@mkdir -p $(BUILD)
	@echo "  CC    $<"
	@$(CC) $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -o $@ $< -lmicrohttpd -ljansson -lpthread

clean:
	rm -rf build

-include $(DEPS)
