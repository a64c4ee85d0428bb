#!/bin/sh
# Runs every engine test (build/VARIANT/engine/*) against the example
# project's real bundles: builds them with struere first, then gives each
# test program the bundle directory, the struere binary and the project.
# Ends with "engine: N passed, M failed" over all of them.
set -u
b=$1
S=$b/struere
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$S" -C fixtures/example build --out "$tmp/bundles" >"$tmp/build.out" 2>&1; then
    cat "$tmp/build.out"
    echo "engine: 0 passed, 1 failed"
    exit 1
fi
pass=0
fail=0
for t in "$b"/engine/*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    # ENGINE_WRAP (e.g. valgrind ...) runs each test under a tool.
    # shellcheck disable=SC2086
    out=$(${ENGINE_WRAP:-} "$t" "$tmp/bundles" "$S" fixtures/example 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(printf '%s' "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/')
    f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ -z "$line" ]; then p=0; f=1; echo "FAIL $name: no result line (exit $rc)"; fi
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "FAIL $name: exit $rc"; }
    pass=$((pass + p))
    fail=$((fail + f))
done
echo "engine: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
