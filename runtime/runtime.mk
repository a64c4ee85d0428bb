# runtime/runtime.mk - included by the Makefile: builds libstruere (static
# and shared), its tests, the bundle fuzz target and the header test. The
# runtime links zlib only: never libyaml, cmark or the compiler's library.
#
#   $(B)/libstruere.a $(B)/libstruere.so
#   $(B)/runtime-tests        tests/runtime/*.c (make runtime-test runs it)
#   $(B)/fuzz-replay-bundle   the bundle fuzz target over files, under gcc
#   build/fuzz/fuzz-bundle    the libFuzzer build (VARIANT=fuzz CC=clang)
#   $(B)/header-test.ok       struere.h compiles alone as C11 and C++11

# Included before the Makefile's first rule: keep `all` the default goal.
RT_SAVED_GOAL := $(.DEFAULT_GOAL)

RT_SRC := $(sort $(wildcard runtime/src/*.c))
RT_OBJ := $(RT_SRC:%.c=$(B)/%.o)
RT_PIC_OBJ := $(RT_SRC:runtime/src/%.c=$(B)/runtime/pic/%.o)
RT_TEST_SRC := $(sort $(wildcard tests/runtime/*.c))
RT_TEST_OBJ := $(RT_TEST_SRC:%.c=$(B)/%.o)
RT_FUZZ_OBJ := $(B)/tests/fuzz/fuzz_bundle.o
RT_CFLAGS = -Iruntime/include $(shell pkg-config --cflags zlib 2>/dev/null)
RT_LIBS = $(or $(shell pkg-config --libs zlib 2>/dev/null),-lz)

$(RT_OBJ) $(RT_PIC_OBJ) $(RT_TEST_OBJ) $(RT_FUZZ_OBJ): \
        ALL_CFLAGS += $(RT_CFLAGS)

# Position-independent objects for the shared library, apart from the
# static library's (the Makefile's $(B)/%.o rule builds those).
$(B)/runtime/pic/%.o: runtime/src/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(B)/libstruere.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libstruere.so: $(RT_PIC_OBJ)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $^ $(RT_LIBS)

$(B)/runtime-tests: $(RT_TEST_OBJ) $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

$(B)/fuzz-replay-bundle: $(RT_FUZZ_OBJ) $(B)/tests/fuzz/replay.o \
                         $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS)

build/fuzz/fuzz-bundle: build/fuzz/tests/fuzz/fuzz_bundle.o \
                        build/fuzz/libstruere.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(RT_LIBS)

# The public header alone, as the strictest C and C++ compilers see it.
$(B)/header-test.ok: runtime/include/struere.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wpedantic -Wall -Wextra -Werror -x c -c $< -o /dev/null
	$(CXX) -std=c++11 -Wpedantic -Wall -Wextra -Werror -x c++ -c $< \
	    -o /dev/null
	@touch $@

.PHONY: runtime runtime-test replay-bundle header-test
runtime: $(B)/libstruere.a $(B)/libstruere.so
runtime-test: $(B)/runtime-tests
	$(B)/runtime-tests
replay-bundle: $(B)/fuzz-replay-bundle
	$(B)/fuzz-replay-bundle tests/fuzz/corpus-bundle
header-test: $(B)/header-test.ok

.DEFAULT_GOAL := $(RT_SAVED_GOAL)
