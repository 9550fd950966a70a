# reflectd - build, run, test. `make help` lists the targets.
#
# `make run` and `make test` first install missing Debian packages
# (scripts/deps.sh), then build in a second make so that pkg-config runs only
# once the -dev packages are there.

PKGS      := libevent libevent_pthreads jansson libjwt libpq libargon2 libqrencode zlib \
             libcurl libcrypto
CC        ?= cc
BUILD     := build
SRC       := $(wildcard service/*.c service/*/*.c)
LIB_SRC   := $(filter-out service/main.c,$(SRC))
MIGRATIONS := $(sort $(wildcard migrations/*.sql))

WARN      := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-missing-field-initializers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
INCLUDES  := -Iservice -I$(BUILD)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Three flavours of the same sources: release, sanitized, and the tests.
REL_OBJ   := $(patsubst service/%.c,$(BUILD)/rel/%.o,$(SRC)) $(BUILD)/rel/migrations.o
ASAN_OBJ  := $(patsubst service/%.c,$(BUILD)/asan/%.o,$(SRC)) $(BUILD)/asan/migrations.o
ASAN_LIB  := $(filter-out $(BUILD)/asan/main.o,$(ASAN_OBJ))
UNIT_SRC  := $(wildcard tests/unit/*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
FAULT_SRC := $(wildcard tests/faults/test_*.c)
HARNESS   := tests/integration/harness.c tests/integration/fixtures.c
# The pure decoders test_pgbin.c compares with PostgreSQL's own output.
INTEG_CORE := service/core/pgbin.c service/core/jsonw.c

.PHONY: all run test build deps tools lint format bench clean help unit integration spec-check \
        fuzz fuzz-replay check-valgrind

all: build

help:
	@echo "make          build bin/reflectd"
	@echo "make run      install deps, build, start embedded PostgreSQL, migrate, serve"
	@echo "make test     install deps, build, throwaway PostgreSQL, all tests (+ASan/UBSan)"
	@echo "make check-valgrind  integration tests against bin/reflectd under valgrind memcheck"
	@echo "make lint     clang-format check + cppcheck + OpenAPI validation"
	@echo "make bench    benchmark (see README)"
	@echo "make fuzz     libFuzzer targets, FUZZ_SECONDS each (default 60); make fuzz-replay: corpus only"

deps:
	@scripts/deps.sh

build: bin/reflectd

run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run.sh

test:
	@scripts/deps.sh --with-node
	@$(MAKE) --no-print-directory test-build
	@scripts/test.sh

test-build: bin/reflectd $(BUILD)/asan/reflectd $(BUILD)/test/unit $(BUILD)/test/unit-asan \
            $(BUILD)/test/integration $(BUILD)/test/faults

check-valgrind:
	@scripts/deps.sh --with-tools
	@$(MAKE) --no-print-directory bin/reflectd $(BUILD)/test/integration
	@scripts/valgrind.sh

lint: 
	@scripts/deps.sh --with-tools
	@scripts/lint.sh

fuzz:
	@scripts/deps.sh --with-tools
	@scripts/fuzz.sh

fuzz-replay:
	@scripts/deps.sh --with-tools
	@scripts/fuzz.sh --replay

bench:
	@scripts/deps.sh --with-tools
	@$(MAKE) --no-print-directory build
	@scripts/bench.sh

$(BUILD)/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(BUILD)
	scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/rel/%.o: service/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -O2 -g $(INCLUDES) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/rel/migrations.o: $(BUILD)/migrations.c
	@echo '  CC      $@'
	@$(CC) $(WARN) -Wno-overlength-strings -O2 $(INCLUDES) -c $< -o $@

$(BUILD)/asan/%.o: service/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -O1 -g $(SAN) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/migrations.o: $(BUILD)/migrations.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -O1 $(INCLUDES) -c $< -o $@

bin/reflectd: $(REL_OBJ)
	@mkdir -p bin
	@echo '  CC      $@'
	@$(CC) -o $@ $^ $(PKG_LIBS)

$(BUILD)/asan/reflectd: $(ASAN_OBJ)
	@echo '  CC      $@'
	@$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test/unit: $(UNIT_SRC) $(filter-out $(BUILD)/rel/main.o,$(REL_OBJ))
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -Wno-missing-prototypes -O1 -g $(INCLUDES) $(PKG_CFLAGS) -o $@ $^ \
	    $(PKG_LIBS) -lcriterion

$(BUILD)/test/unit-asan: $(UNIT_SRC) $(ASAN_LIB)
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) $(INCLUDES) $(PKG_CFLAGS) -o $@ $^ \
	    $(PKG_LIBS) -lcriterion

$(BUILD)/test/integration: $(INTEG_SRC) $(HARNESS) tests/integration/harness.h \
                           tests/integration/fixtures.h $(INTEG_CORE) service/core/pgbin.h \
                           service/core/jsonw.h
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) -Itests/integration -Iservice \
	    $(shell pkg-config --cflags jansson libjwt) -o $@ $(INTEG_SRC) $(HARNESS) $(INTEG_CORE) \
	    $(shell pkg-config --libs jansson libjwt) -lcriterion

$(BUILD)/test/faults: $(FAULT_SRC) $(HARNESS) tests/integration/harness.h
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	@$(CC) $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) -Itests/integration \
	    $(shell pkg-config --cflags jansson) -o $@ $(FAULT_SRC) $(HARNESS) \
	    $(shell pkg-config --libs jansson) -lcriterion

clean:
	rm -rf $(BUILD) bin

-include $(REL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
