# runtime/runtime.mk - included by the Makefile: builds libstruere (static
# and shared), its tests, the bundle fuzz target and the header test. The
# runtime links zlib (bundles, and the git objects it reads from a store
# itself: runtime/src/gitread.c) and libsodium (to verify signatures), and
# opens libcrypto (SHA-256 and SHA-1, runtime/src/sha256.c, sha1.c) when
# it first calls it (runtime/src/rt_dynlib.h): never libgit2, libyaml,
# cmark or the compiler's library. Its core links zlib only.
#
#   $(B)/libstruere.a $(B)/libstruere.so
#   $(B)/libstruere-core.a    the core: bundle files, decisions, prompts,
#                             automations; no libsodium, no store
#   $(B)/core-check.ok        a file-only program links against the core
#                             alone and decides (make test)
#   $(B)/runtime-tests        tests/runtime/*.c (make runtime-test runs it)
#   $(B)/fuzz-replay-bundle   the bundle fuzz target over files, under gcc
#   build/fuzz/fuzz-bundle    the libFuzzer build (VARIANT=fuzz CC=clang)
#   $(B)/header-test.ok       struere.h compiles alone as C11 and C++11
#   $(B)/engine/NAME          tests/engine/NAME_test.c: tests against the
#                             example project's real bundles (engine-test)

# Included before the Makefile's first rule: keep `all` the default goal.
RT_SAVED_GOAL := $(.DEFAULT_GOAL)

RT_SRC := $(sort $(wildcard runtime/src/*.c))
RT_OBJ := $(RT_SRC:%.c=$(B)/%.o)
# Opening by key (the store, keys, trust, manifests) sits on the core.
RT_KEY_SRC := $(addprefix runtime/src/,keystore.c keys.c trust.c state.c \
                integrity.c sha256.c sha1.c gitread.c crypto.c dynlib.c)
RT_CORE_OBJ := $(filter-out $(RT_KEY_SRC:%.c=$(B)/%.o),$(RT_OBJ))
RT_CORE_LIBS = $(or $(shell pkg-config --libs zlib 2>/dev/null),-lz) -lm
RT_PIC_OBJ := $(RT_SRC:runtime/src/%.c=$(B)/runtime/pic/%.o)
RT_TEST_SRC := $(sort $(wildcard tests/runtime/*.c))
RT_TEST_OBJ := $(RT_TEST_SRC:%.c=$(B)/%.o)
RT_FUZZ_OBJ := $(B)/tests/fuzz/fuzz_bundle.o
RT_PKGS := zlib libsodium libcrypto
RT_CFLAGS = -Iruntime/include $(shell pkg-config --cflags $(RT_PKGS) 2>/dev/null)
RT_LIBS = $(or $(shell pkg-config --libs $(RT_PKGS) 2>/dev/null),-lz -lsodium -lcrypto)
# libcrypto is opened on first use (runtime/src/rt_dynlib.h), by the
# soname the Makefile found: the shared library does not link it, so a
# program that only reads bundle files never maps it.
RT_SO_LIBS = $(or $(shell pkg-config --libs $(filter-out libcrypto,$(RT_PKGS)) 2>/dev/null),-lz -lsodium)
$(B)/runtime/src/crypto.o $(B)/runtime/pic/crypto.o: \
        ALL_CFLAGS += $(call soname_flag,CRYPTO_SONAME,libcrypto)
$(B)/runtime/src/crypto.o $(B)/runtime/pic/crypto.o: $(B)/sonames
ENGINE_SRC := $(sort $(wildcard tests/engine/*_test.c))
ENGINE_BIN := $(ENGINE_SRC:tests/engine/%_test.c=$(B)/engine/%)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/%.o)

$(RT_OBJ) $(RT_PIC_OBJ) $(RT_TEST_OBJ) $(RT_FUZZ_OBJ) $(ENGINE_OBJ): \
        ALL_CFLAGS += $(RT_CFLAGS)

# Position-independent objects for the shared library, apart from the
# static library's (the Makefile's $(B)/%.o rule builds those).
$(B)/runtime/pic/%.o: runtime/src/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(B)/libstruere.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

# The core alone, for the build check below (the installed libstruere.a
# and .so hold everything).
$(B)/libstruere-core.a: $(RT_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# The build check that the core links without libgit2 and libsodium: a
# program that opens a bundle file and decides, linked with zlib only
# (with every object of the core, used or not), run on a committed eval
# bundle.
$(B)/tests/core/file_only.o: ALL_CFLAGS += $(RT_CFLAGS)
$(B)/core-check: $(B)/tests/core/file_only.o $(B)/libstruere-core.a
	$(CC) $(ALL_CFLAGS) -o $@ $< -Wl,--whole-archive \
	    $(B)/libstruere-core.a -Wl,--no-whole-archive $(RT_CORE_LIBS)
$(B)/core-check.ok: $(B)/core-check tests/fuzz/corpus-bundle/eval.stb
	$(B)/core-check tests/fuzz/corpus-bundle/eval.stb
	@touch $@
.PHONY: core-check
core-check: $(B)/core-check.ok
test: $(B)/core-check.ok

# The shared library exports struere_* only (libstruere.map) and carries
# the soname of its major version (1 since the calls took one argument
# order, struere_error last, and struere_decision its opaque bytes).
RT_SOVERSION := 1
RT_VERSION := $(shell sed -n 's/^\#define STRUERE_VERSION "\(.*\)"/\1/p' compiler/version.h)
$(B)/libstruere.so: $(RT_PIC_OBJ) runtime/libstruere.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libstruere.so.$(RT_SOVERSION) \
	    -Wl,--version-script=runtime/libstruere.map -o $@ $(RT_PIC_OBJ) \
	    $(RT_SO_LIBS)

# make install: the library (static, shared with its soname links), the
# header and struere.pc, so that `pkg-config --cflags --libs struere`
# works; the command is installed by the Makefile's own install rule.
.PHONY: install-runtime uninstall-runtime
install-runtime: $(B)/libstruere.a $(B)/libstruere.so runtime/struere.pc.in
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 644 $(B)/libstruere.a $(DESTDIR)$(PREFIX)/lib/libstruere.a
	install -m 755 $(B)/libstruere.so \
	    $(DESTDIR)$(PREFIX)/lib/libstruere.so.$(RT_VERSION)
	ln -sf libstruere.so.$(RT_VERSION) \
	    $(DESTDIR)$(PREFIX)/lib/libstruere.so.$(RT_SOVERSION)
	ln -sf libstruere.so.$(RT_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libstruere.so
	install -m 644 runtime/include/struere.h $(DESTDIR)$(PREFIX)/include/struere.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(RT_VERSION)|' \
	    runtime/struere.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/struere.pc
uninstall-runtime:
	rm -f $(DESTDIR)$(PREFIX)/lib/libstruere.a \
	    $(DESTDIR)$(PREFIX)/lib/libstruere.so* \
	    $(DESTDIR)$(PREFIX)/include/struere.h \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/struere.pc

$(B)/runtime-tests: $(RT_TEST_OBJ) $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

$(B)/fuzz-replay-bundle: $(RT_FUZZ_OBJ) $(B)/tests/fuzz/replay.o \
                         $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

build/fuzz/fuzz-bundle: build/fuzz/tests/fuzz/fuzz_bundle.o \
                        build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(RT_LIBS)

# Each engine test is its own program (its own main), linked with the
# library only; tests/engine/run.sh builds the example's bundles for them.
$(B)/engine/%: $(B)/tests/engine/%_test.o $(B)/tests/runtime/builder.o \
        $(B)/libstruere.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) -lm

# The runtime's other fuzz targets (tests/fuzz/fuzz_NAME.c): replayed over
# their corpus by tests/fuzz/replay-runtime.sh in `make test`, and built
# for libFuzzer by `make fuzz`. template and automation link the test
# bundle writer (tests/runtime/builder.c: bundles built or patched with
# their CRCs made right); automation and mask read the example's bundles
# (STRUERE_FUZZ_BUNDLE). trust and statement read the trust policy and
# promotion statement documents (runtime/TRUST.md) against a fixed policy.
# gitread writes loose objects, pack indexes and packs into a temporary
# store and reads them with runtime/src/gitread.c. state reads the input
# as a state file (runtime/TRUST.md §6) and saves it back.
RT_FUZZ_NAMES := template automation keys mask trust statement gitread state
RT_FUZZ_REPLAYS := $(RT_FUZZ_NAMES:%=$(B)/fuzz-replay-%)
RT_FUZZ_SRC_OBJ := $(RT_FUZZ_NAMES:%=$(B)/tests/fuzz/fuzz_%.o) \
                   $(B)/tests/runtime/builder.o
$(RT_FUZZ_SRC_OBJ): ALL_CFLAGS += $(RT_CFLAGS) -Iruntime/src
$(B)/fuzz-replay-template $(B)/fuzz-replay-automation: \
$(B)/fuzz-replay-%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/runtime/builder.o \
        $(B)/tests/fuzz/replay.o $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) -lm
$(B)/fuzz-replay-keys $(B)/fuzz-replay-mask $(B)/fuzz-replay-trust \
$(B)/fuzz-replay-statement $(B)/fuzz-replay-gitread $(B)/fuzz-replay-state: \
$(B)/fuzz-replay-%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o \
        $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) -lm
build/fuzz/fuzz-template build/fuzz/fuzz-automation: \
build/fuzz/fuzz-%: build/fuzz/tests/fuzz/fuzz_%.o \
        build/fuzz/tests/runtime/builder.o build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(RT_LIBS) -lm
build/fuzz/fuzz-keys build/fuzz/fuzz-mask build/fuzz/fuzz-trust \
build/fuzz/fuzz-statement build/fuzz/fuzz-gitread build/fuzz/fuzz-state: \
build/fuzz/fuzz-%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(RT_LIBS) -lm

# The public header alone, as the strictest C and C++ compilers see it.
$(B)/header-test.ok: runtime/include/struere.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wpedantic -Wall -Wextra -Werror -x c -c $< -o /dev/null
	$(CXX) -std=c++11 -Wpedantic -Wall -Wextra -Werror -x c++ -c $< \
	    -o /dev/null
	@touch $@

.PHONY: runtime runtime-test replay-bundle header-test engine-test
runtime: $(B)/libstruere.a $(B)/libstruere.so
runtime-test: $(B)/runtime-tests
	$(B)/runtime-tests
replay-bundle: $(B)/fuzz-replay-bundle
	$(B)/fuzz-replay-bundle tests/fuzz/corpus-bundle
header-test: $(B)/header-test.ok
engine-test: $(B)/struere $(ENGINE_BIN)
	./tests/engine/run.sh $(B)

# tests/keys/run.sh drives opening by key and reloading, against real git
# stores, through this probe program (make keys-test runs it).
KEYS_PROBE := $(B)/keys-probe
$(B)/tests/keys/probe.o: ALL_CFLAGS += $(RT_CFLAGS)
# Its timing mode reads the blob with libgit2 too, as the floor.
$(KEYS_PROBE): $(B)/tests/keys/probe.o $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) \
	    $(or $(shell pkg-config --libs libgit2 2>/dev/null),-lgit2)
.PHONY: keys-test
keys-test: $(B)/struere $(KEYS_PROBE)
	./tests/keys/run.sh $(B)

# tests/gitread/run.sh compares the runtime's git reader with git itself
# through this probe (it includes the reader's own header).
GITREAD_PROBE := $(B)/gitread-probe
$(B)/tests/gitread/probe.o: ALL_CFLAGS += $(RT_CFLAGS) -Iruntime/src
$(GITREAD_PROBE): $(B)/tests/gitread/probe.o $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

# tests/trust/run.sh (the tamper matrix) signs by hand and opens with
# struere_runtime_open's options through this tool.
TRUST_TOOL := $(B)/trust-tool
$(B)/tests/trust/tool.o: ALL_CFLAGS += $(RT_CFLAGS)
$(TRUST_TOOL): $(B)/tests/trust/tool.o $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

# Last: rules above must not become the default goal.
.DEFAULT_GOAL := $(RT_SAVED_GOAL)
