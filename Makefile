# struere - GNU make. Out-of-tree objects under build/<variant>/.
#   make            build the struere command (build/release/struere)
#   make demo       check the bundled example project, then run the whole
#                   workflow on a copy of it in a temporary store (dev,
#                   keys, deploy, runtime answers, serve, diff, rollback, log)
#   make test       everything: unit, golden, limits, CLI, fuzz replay
#   make check      the same tests under ASan+UBSan
#   make fuzz       run each fuzz target for FUZZ_SECONDS (clang/libFuzzer)
#   make bench      benchmarks against their peers (bench/README.md)
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
VARIANT ?= release
FUZZ_SECONDS ?= 60
WERROR ?=

PKGS := yaml-0.1 libcmark libgit2 jansson libsodium libcrypto zlib libmicrohttpd
DEPS_STAMP := build/.deps-ok

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla $(if $(WERROR),-Werror)
BASE_CFLAGS := -D_GNU_SOURCE -pthread -MMD -MP -Icompiler -Iruntime/include \
               -Iserver -Ibuild/$(VARIANT)
# A variant named asan or asan-NAME builds with the sanitizers (a name of
# its own keeps its objects apart); any other name but fuzz is -O2.
ifneq ($(filter asan asan-%,$(VARIANT)),)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
       -fno-sanitize-recover=undefined
else ifeq ($(VARIANT),fuzz)
OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
       -fno-omit-frame-pointer
else
OPT := -O2 -g
endif
CFLAGS ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libmicrohttpd, libgit2 and libcrypto are compiled against but not
# linked: the code that calls them opens them on first use
# (runtime/src/rt_dynlib.h), by the soname of the library found here.
OPENED_PKGS := libmicrohttpd libgit2 libcrypto
PKG_LIBS = $(shell pkg-config --libs $(filter-out $(OPENED_PKGS),$(PKGS)) 2>/dev/null)
soname = $(shell objdump -p "$$(pkg-config --variable=libdir $(1) \
           2>/dev/null)/$(2).so" 2>/dev/null | awk '$$1 == "SONAME" {print $$2}')
MHD_SONAME = $(call soname,libmicrohttpd,libmicrohttpd)
GIT_SONAME = $(call soname,libgit2,libgit2)
CRYPTO_SONAME = $(call soname,libcrypto,libcrypto)
# -DVAR="soname" for the object that opens the library; the build stops
# when the soname cannot be found (rather than guess another system's).
soname_flag = $(if $($(1)),-D$(1)='"$($(1))"',$(error cannot find the \
                soname of $(2): pkg-config --variable=libdir $(2) and \
                objdump -p of its $(2).so must give it))
ALL_CFLAGS = $(WARN) $(OPT) $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
# A build id in every binary: dev's cache of parsed definitions is only
# used by the build that wrote it (compiler/defcache.c).
LDLIBS = $(PKG_LIBS) -lm -pthread -Wl,--build-id=sha1

B := build/$(VARIANT)
SCHEMAS := $(sort $(wildcard schemas/*.yaml))
SCAFFOLD := $(filter-out %/README.md,$(sort $(wildcard compiler/scaffold/*)))
# The program (main.c, the commands, the helpers they share: cli*.c) over
# the compiler's library (every other module), which never calls into it.
PROG_SRC := compiler/main.c $(sort $(wildcard compiler/cli*.c compiler/cmd_*.c))
PROG_OBJ := $(PROG_SRC:%.c=$(B)/%.o)
COMPILER_SRC := $(filter-out $(PROG_SRC),$(sort $(wildcard compiler/*.c)))
COMPILER_OBJ := $(COMPILER_SRC:%.c=$(B)/%.o) $(B)/gen/embedded.o \
                $(B)/gen/schema_trees.o
# The HTTP server (server/README.md): its own archive, linked into the
# struere command (cmd_serve.c) and the serve fuzz target.
SERVER_SRC := $(sort $(wildcard server/*.c))
SERVER_OBJ := $(SERVER_SRC:%.c=$(B)/%.o) $(B)/gen/dashboard.o
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/%.o)
$(UNIT_OBJ): ALL_CFLAGS += -Itests/unit

# The runtime library (libstruere) and its tests: runtime/runtime.mk.
-include runtime/runtime.mk
-include tests/alloc/alloc.mk
# The included files define rules first: `make` alone builds the command.
.DEFAULT_GOAL := all

.PHONY: all deps demo test check fuzz bench valgrind format format-check \
        install uninstall clean unit golden limits cli replay
all: $(B)/struere

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@./scripts/install-deps.sh $(if $(filter asan fuzz,$(VARIANT)),--dev)
	@mkdir -p build && touch $@

$(B)/gen/embedded.c: $(SCHEMAS) $(SCAFFOLD) scripts/embed.sh | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	./scripts/embed.sh $@ embedded_schemas $(SCHEMAS) -- embedded_scaffold $(SCAFFOLD)

$(B)/gen/embedded.o: $(B)/gen/embedded.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The schemas' node trees, parsed once here by a program of the build's
# own (scripts/pack_schemas.c): the compiler decodes them instead of
# parsing YAML when it starts.
PACK_OBJ := $(addprefix $(B)/,scripts/pack_schemas.o compiler/yaml_load.o \
              compiler/node.o compiler/nodebin.o compiler/source.o \
              compiler/arena.o compiler/diag.o compiler/cache_file.o) \
            $(B)/libstruere.a
$(B)/gen/pack-schemas: $(PACK_OBJ) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(PACK_OBJ) $(LDLIBS)

$(B)/gen/schema_trees.c: $(SCHEMAS) $(B)/gen/pack-schemas
	@mkdir -p $(dir $@)
	ASAN_OPTIONS=detect_leaks=0 $(B)/gen/pack-schemas $@ $(SCHEMAS)

$(B)/gen/schema_trees.o: $(B)/gen/schema_trees.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/gen/dashboard.c: server/dashboard/index.html scripts/embed.sh | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	./scripts/embed.sh $@ embedded_dashboard server/dashboard/index.html

$(B)/gen/dashboard.o: $(B)/gen/dashboard.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/server/mhd.o: ALL_CFLAGS += $(call soname_flag,MHD_SONAME,libmicrohttpd)
$(B)/compiler/gitlib.o: ALL_CFLAGS += $(call soname_flag,GIT_SONAME,libgit2)
# The sonames compiled in, rewritten only when one changes (a library
# upgraded to a new soname), so that the objects opening them are rebuilt.
SONAMES = $(MHD_SONAME) $(GIT_SONAME) $(CRYPTO_SONAME)
$(B)/sonames: FORCE | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo '$(SONAMES)' | cmp -s - $@ || echo '$(SONAMES)' >$@
.PHONY: FORCE
FORCE:
$(B)/server/mhd.o $(B)/compiler/gitlib.o: $(B)/sonames

$(B)/libstrueresrv.a: $(SERVER_OBJ) Makefile
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(B)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libstruerec.a: $(COMPILER_OBJ) Makefile
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(B)/struere: $(PROG_OBJ) $(B)/libstrueresrv.a $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# The library must not depend on the program: no cli_ or cmd_ symbol in
# the archive, undefined or defined (make test fails, naming the objects).
$(B)/lib-boundary.ok: $(B)/libstruerec.a
	@bad=$$(nm -A -g $< | grep -E ' [A-Za-z] (cli|cmd)_'); \
	if [ -n "$$bad" ]; then \
	    echo "error: the compiler library ($<) uses the program's" \
	         "cli_/cmd_ symbols; move the code to the program or return" \
	         "a result the command prints:" >&2; \
	    echo "$$bad" >&2; exit 1; \
	fi; touch $@

$(B)/unit-tests: $(UNIT_OBJ) $(B)/libstrueresrv.a $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-check: $(B)/tests/fuzz/fuzz_check.o $(B)/tests/fuzz/replay.o $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-defcache: $(B)/tests/fuzz/fuzz_defcache.o $(B)/tests/fuzz/replay.o $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-xcheck: $(B)/tests/fuzz/fuzz_xcheck.o $(B)/tests/fuzz/replay.o $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-segments: $(B)/tests/fuzz/fuzz_segments.o $(B)/tests/fuzz/replay.o $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-bundle-cache: $(B)/tests/fuzz/fuzz_bundle_cache.o $(B)/tests/fuzz/replay.o $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-serve: $(B)/tests/fuzz/fuzz_serve.o $(B)/tests/fuzz/replay.o $(B)/libstrueresrv.a $(B)/libstruerec.a $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

demo: $(B)/struere
	@./scripts/demo.sh $(B)/struere

unit: $(B)/unit-tests
	$(B)/unit-tests
golden: $(B)/struere
	./tests/golden/run.sh $(B)/struere
limits: $(B)/struere
	./tests/limits/run.sh $(B)/struere
cli: $(B)/struere
	./tests/cli/run.sh $(B)/struere
replay: $(B)/fuzz-replay-check
	$(B)/fuzz-replay-check tests/fuzz/corpus-check fixtures/example

test: $(B)/lib-boundary.ok $(B)/struere $(B)/unit-tests $(B)/fuzz-replay-check \
      $(B)/fuzz-replay-defcache $(B)/fuzz-replay-xcheck \
      $(B)/fuzz-replay-segments $(B)/fuzz-replay-bundle-cache \
      $(B)/fuzz-replay-serve $(B)/runtime-tests \
      $(B)/fuzz-replay-bundle $(B)/header-test.ok $(B)/libstruere.so \
      $(ENGINE_BIN) $(RT_FUZZ_REPLAYS) $(KEYS_PROBE) $(GITREAD_PROBE) \
      $(TRUST_TOOL) \
      $(FAILALLOC_BIN)
	@./tests/run-all.sh $(B)

check:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    $(MAKE) VARIANT=asan CC=$(if $(filter cc,$(CC)),gcc,$(CC)) test

valgrind: $(B)/unit-tests $(B)/struere $(B)/runtime-tests $(ENGINE_BIN)
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $(B)/unit-tests
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $(B)/runtime-tests
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $(B)/struere -C fixtures/example check
	ENGINE_WRAP="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite" \
	    ./tests/engine/run.sh $(B)

fuzz:
	$(MAKE) VARIANT=fuzz CC=clang build/fuzz/fuzz-check build/fuzz/fuzz-bundle \
	    build/fuzz/fuzz-defcache build/fuzz/fuzz-xcheck build/fuzz/fuzz-segments \
	    build/fuzz/fuzz-bundle-cache build/fuzz/fuzz-serve \
	    $(RT_FUZZ_NAMES:%=build/fuzz/fuzz-%)
	$(MAKE) build/release/struere
	./tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

build/fuzz/fuzz-check: build/fuzz/tests/fuzz/fuzz_check.o build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build/fuzz/fuzz-defcache: build/fuzz/tests/fuzz/fuzz_defcache.o build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build/fuzz/fuzz-xcheck: build/fuzz/tests/fuzz/fuzz_xcheck.o build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build/fuzz/fuzz-segments: build/fuzz/tests/fuzz/fuzz_segments.o build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build/fuzz/fuzz-bundle-cache: build/fuzz/tests/fuzz/fuzz_bundle_cache.o build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build/fuzz/fuzz-serve: build/fuzz/tests/fuzz/fuzz_serve.o build/fuzz/libstrueresrv.a build/fuzz/libstruerec.a build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

bench: $(B)/struere
	./bench/compile.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

install: $(B)/struere install-runtime
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/struere $(DESTDIR)$(PREFIX)/bin/struere
uninstall: uninstall-runtime
	rm -f $(DESTDIR)$(PREFIX)/bin/struere

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
