#!/bin/sh
# tests/alloc/run.sh BUILD_DIR - allocation-failure injection (failalloc.c):
#
#  - libstruere: failalloc-runtime opens a bundle, decides, renders a
#    system prompt and matches an automation with each of their
#    allocations failing in turn (every N);
#  - the compiler: `struere -C fixtures/example check` (one thread, so
#    that allocations come in one order) with the Nth allocation failing,
#    for N = 1, 1+STRIDE, 1+2*STRIDE, ... and the last one, where every
#    malloc, calloc, realloc, strdup and strndup of struere's own code and
#    every call of its arena count (FAILALLOC_STRIDE, default 13; 1 tries
#    every N, about 17,000 runs).
#
# A run passes when it gives the same output and exit status as without a
# failure (the failure was absorbed), or exits 3 with "struere: out of
# memory" and nothing on stdout; a crash, a sanitizer report (make check
# builds with ASan and UBSan, leaks included) or anything else fails it.
# Allocations inside the dependencies (libyaml, cmark, jansson, libgit2,
# zlib, libsodium) are not injected. Ends "alloc: N passed, M failed".
set -u
b=$1
stride=${FAILALLOC_STRIDE:-13}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}exitcode=99
export ASAN_OPTIONS
pass=0
fail=0

if ! "$b/struere" -C fixtures/example build --out "$tmp/bundles" >"$tmp/out" 2>&1; then
    cat "$tmp/out"
    echo "alloc: 0 passed, 1 failed"
    exit 1
fi
out=$("$b/failalloc-runtime" "$tmp/bundles" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v '^alloc-runtime: '
p=$(printf '%s\n' "$out" | sed -n -E 's/^alloc-runtime: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
f=$(printf '%s\n' "$out" | sed -n -E 's/^alloc-runtime: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
if [ -z "$p" ] || [ "$rc" -ne 0 ]; then
    echo "FAIL failalloc-runtime (exit $rc)"
    f=$((${f:-0} + 1))
fi
pass=$((pass + ${p:-0}))
fail=$((fail + f))

S=$b/struere-failalloc
STRUERE_THREADS=1
export STRUERE_THREADS
STRUERE_FAILALLOC_REPORT=1 "$S" -C fixtures/example check >"$tmp/want" 2>"$tmp/count"
want_rc=$?
total=$(sed -n -E 's/^failalloc: ([0-9]+) allocations.*/\1/p' "$tmp/count")
if [ "$want_rc" -ne 0 ] || [ -z "$total" ]; then
    cat "$tmp/count"
    echo "FAIL check without a failure (exit $want_rc)"
    fail=$((fail + 1))
    total=0
fi
n=1
runs=0
absorbed=0
while [ "$n" -le "$total" ]; do
    STRUERE_FAILALLOC=$n "$S" -C fixtures/example check >"$tmp/got" 2>"$tmp/err"
    rc=$?
    runs=$((runs + 1))
    if grep -q -E 'Sanitizer|runtime error' "$tmp/err"; then
        ok=no
    elif [ "$rc" -eq 3 ] && [ ! -s "$tmp/got" ] &&
        grep -q -x 'struere: out of memory' "$tmp/err"; then
        ok=yes
    elif [ "$rc" -eq "$want_rc" ] && cmp -s "$tmp/want" "$tmp/got"; then
        ok=yes
        absorbed=$((absorbed + 1))
    else
        ok=no
    fi
    if [ "$ok" = yes ]; then
        pass=$((pass + 1))
    else
        echo "FAIL check with allocation $n of $total failing: exit $rc"
        head -n 20 "$tmp/err"
        fail=$((fail + 1))
    fi
    if [ "$n" -lt "$total" ] && [ $((n + stride)) -gt "$total" ]; then
        n=$total
    else
        n=$((n + stride))
    fi
done
echo "check: $total allocations, $runs of them failed in turn (stride $stride): $absorbed absorbed, the rest out of memory"
echo "alloc: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
