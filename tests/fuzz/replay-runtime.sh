#!/bin/sh
# tests/fuzz/replay-runtime.sh BUILD_DIR - replays the runtime's fuzz
# corpora (template, automation, keys, mask, trust, statement, gitread,
# state)
# with BUILD_DIR's replay drivers; automation and mask read the example
# project's bundles, built here first. Ends "N fuzz inputs replayed" and
# "fuzz replay: 0 passed, M failed" over all eight (a replay asserts only
# that nothing crashed).
set -u
b=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$b/struere" -C fixtures/example build --out "$tmp" >"$tmp/out" 2>&1; then
    cat "$tmp/out"
    echo "fuzz replay: 0 passed, 1 failed"
    exit 1
fi
replayed=0
fail=0
for t in template automation keys mask trust statement gitread state; do
    case $t in
    automation) bundle=$tmp/development.stb ;;
    *) bundle=$tmp/eval.stb ;;
    esac
    out=$(STRUERE_FUZZ_BUNDLE=$bundle "$b/fuzz-replay-$t" "tests/fuzz/corpus-$t" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    n=$(printf '%s\n' "$out" | sed -n -E 's/^([0-9]+) fuzz inputs replayed$/\1/p' | tail -n 1)
    [ -n "$n" ] || n=0
    [ -n "$line" ] || f=1
    if [ "$rc" -ne 0 ] || [ "$f" -gt 0 ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "FAIL fuzz replay $t (exit $rc)"
        [ "$f" -gt 0 ] || f=1
    fi
    echo "fuzz-$t: $n inputs"
    replayed=$((replayed + n))
    fail=$((fail + f))
done
echo "$replayed fuzz inputs replayed"
echo "fuzz replay: 0 passed, $fail failed"
[ "$fail" -eq 0 ]
