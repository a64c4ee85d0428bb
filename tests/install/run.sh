#!/bin/sh
# tests/install/run.sh BUILD_DIR - `make install` into a temporary prefix,
# then the README's example program (extracted from README.md, the
# `<!-- example: service.c` block) built with pkg-config against the
# installed library, shared and static, run with a real production key on
# a real store made from the example project. Ends "install: N passed,
# M failed".
set -u
B=$1
S=$PWD/$B/struere
VARIANT=$(basename "$B")
ROOT=$PWD
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
check() { name=$1; shift; if "$@" >"$T/out" 2>&1; then pass "$name"; else fail "$name" "$(head -c 600 "$T/out" | tr '\n' ' ')"; fi; }

# sanitizer builds: the example must link the same runtime
case $VARIANT in
asan*) XFLAGS="-fsanitize=address,undefined" ;;
*) XFLAGS="" ;;
esac

P=$T/prefix
check "make install PREFIX=tmp" make -s -C "$ROOT" VARIANT="$VARIANT" install PREFIX="$P"
for f in bin/struere lib/libstruere.a lib/libstruere.so lib/libstruere.so.1 include/struere.h lib/pkgconfig/struere.pc; do
    check "installed $f" test -e "$P/$f"
done
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check "pkg-config --cflags --libs struere" pkg-config --cflags --libs struere
case "$(pkg-config --cflags --libs struere 2>/dev/null)" in
*"-I$P/include"*"-lstruere"*) pass "pkg-config names the prefix and -lstruere" ;;
*) fail "pkg-config names the prefix and -lstruere" "$(pkg-config --cflags --libs struere 2>&1)" ;;
esac
# the shared library exports the API and nothing else
bad=$(nm -D --defined-only "$P/lib/libstruere.so" | awk '$2 ~ /[TDB]/ {print $3}' | grep -v '^struere_' | head -5)
if [ -z "$bad" ]; then pass "libstruere.so exports struere_* only"; else fail "libstruere.so exports struere_* only" "$bad"; fi

# the library never prints, exits or aborts: it calls none of them
bad=$(nm -u "$P/lib/libstruere.a" | awk '{print $2}' | sort -u |
    grep -xE '(printf|fprintf|vfprintf|puts|fputs|putchar|perror|exit|_exit|abort|__assert_fail|write)' | tr '\n' ' ')
if [ -z "$bad" ]; then pass "libstruere calls no printing, exit or abort function"; else
    fail "libstruere calls no printing, exit or abort function" "$bad"; fi

# the README's program, exactly
awk '/<!-- example: service.c/ {on=1; next} on && /^```c/ {inb=1; next} inb && /^```/ {exit} inb {print}' \
    "$ROOT/README.md" >"$T/service.c"
check "README has the example program" test -s "$T/service.c"
# shellcheck disable=SC2046,SC2086
check "the example builds with pkg-config (shared)" \
    cc -std=c11 -Wall -Wextra -Werror $XFLAGS "$T/service.c" $(pkg-config --cflags --libs struere) -o "$T/service"
# shellcheck disable=SC2046,SC2086
check "the example builds with pkg-config --static" \
    cc -std=c11 -Wall -Wextra -Werror $XFLAGS "$T/service.c" $(pkg-config --cflags struere) \
    "$P/lib/libstruere.a" $(pkg-config --static --libs struere | sed 's/-lstruere//') -o "$T/service-static"

# a real store: the example project, dev, deploy, keys
cp -r "$ROOT/fixtures/example" "$T/store"
(
    cd "$T/store" && git init -q && "$S" dev >/dev/null 2>&1 && "$S" deploy --yes >/dev/null 2>&1
) || fail "example store: dev + deploy"
KEY=$(cd "$T/store" && "$S" keys create --env production --name install-test 2>/dev/null)
EKEY=$(cd "$T/store" && "$S" keys create --env eval --name install-test 2>/dev/null)
want="production: deny (Denied by role 'guardian', policies[6] (deny delete on *))"
for bin in service service-static; do
    out=$(STRUERE_API_KEY=$KEY LD_LIBRARY_PATH="$P/lib" "$T/$bin" "$T/store" 2>&1)
    if [ "$out" = "$want" ]; then pass "$bin: a production key answers from production"; else
        fail "$bin: a production key answers from production" "got: $out"; fi
done
out=$(STRUERE_API_KEY=$EKEY LD_LIBRARY_PATH="$P/lib" "$T/service" "$T/store" 2>&1)
case $out in eval:*) pass "service: an eval key answers from eval" ;; *) fail "service: an eval key answers from eval" "got: $out" ;; esac
out=$(STRUERE_API_KEY="sk_prod_${KEY#sk_prod_}x" LD_LIBRARY_PATH="$P/lib" "$T/service" "$T/store" 2>&1)
rc=$?
if [ $rc = 1 ] && printf '%s' "$out" | grep -q 'cannot open'; then pass "service: an unknown key is refused"; else
    fail "service: an unknown key is refused" "exit $rc: $out"; fi

check "make uninstall PREFIX=tmp" make -s -C "$ROOT" VARIANT="$VARIANT" uninstall PREFIX="$P"
left=$(find "$P" -type f -o -type l | head -5)
if [ -z "$left" ]; then pass "uninstall removes every installed file"; else fail "uninstall removes every installed file" "$left"; fi

echo "install: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
