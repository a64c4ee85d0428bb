#!/bin/sh
# Runs every suite against the build in $1 (e.g. build/release) and ends
# with the total "N passed, M failed" over all suites' closing lines (which
# count assertions); fuzz inputs replayed and checks skipped are totalled
# on lines of their own, never as passed. With STRUERE_FAIL_ON_SKIP=1 (as
# .ci/run sets it) a skip whose reason tests/skips-expected does not list
# is a failure: CI installs everything the suites need.
set -u
b=$1
total_pass=0
total_fail=0
total_replayed=0
skips=
run() {
    name=$1
    shift
    echo "== $name"
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | tail -n 40
    # A failure early in a long suite would scroll out of the tail: repeat
    # every failing check, with the lines that follow it, at the end.
    fails=$(printf '%s\n' "$out" | grep -E -A 6 '^FAIL')
    [ -z "$fails" ] || printf '%s failures:\n%s\n' "$name" "$fails"
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(printf '%s' "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/')
    f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ -n "$line" ] || { p=0; f=1; echo "$name: no result line"; }
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
    n=$(printf '%s\n' "$out" | sed -n -E 's/^([0-9]+) fuzz inputs replayed$/\1/p' | tail -n 1)
    total_replayed=$((total_replayed + ${n:-0}))
    s=$(printf '%s\n' "$out" | grep -E '^[0-9]+ skipped: ' | sed "s/: /: $name: /")
    [ -z "$s" ] || skips="$skips$s
"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}
run unit "$b/unit-tests"
run golden ./tests/golden/run.sh "$b/struere"
run limits ./tests/limits/run.sh "$b/struere"
run cli ./tests/cli/run.sh "$b/struere"
run runtime "$b/runtime-tests"
run store ./tests/store/run.sh "$b/struere"
run engine ./tests/engine/run.sh "$b"
run runtime-cli ./tests/runtime-cli/run.sh "$b/struere"
run access ./tests/access/run.sh "$b/struere"
run ptest ./tests/ptest/run.sh "$b/struere"
run ci ./tests/ci/run.sh "$b/struere"
run install ./tests/install/run.sh "$b"
run keys ./tests/keys/run.sh "$b"
run gitread ./tests/gitread/run.sh "$b"
run trust ./tests/trust/run.sh "$b"
run alloc ./tests/alloc/run.sh "$b"
run serve ./tests/serve/run.sh "$b/struere"
run dashboard ./tests/dashboard/run.sh "$b"
run fuzz-replay-check "$b/fuzz-replay-check" tests/fuzz/corpus-check
run fuzz-replay-defcache "$b/fuzz-replay-defcache" tests/fuzz/corpus-defcache
run fuzz-replay-xcheck "$b/fuzz-replay-xcheck" tests/fuzz/corpus-xcheck
run fuzz-replay-segments "$b/fuzz-replay-segments" tests/fuzz/corpus-segments
run fuzz-replay-bundle-cache "$b/fuzz-replay-bundle-cache" tests/fuzz/corpus-bundle-cache
run fuzz-replay-bundle "$b/fuzz-replay-bundle" tests/fuzz/corpus-bundle
run fuzz-replay-serve "$b/fuzz-replay-serve" tests/fuzz/corpus-serve
run fuzz-replay-runtime ./tests/fuzz/replay-runtime.sh "$b"
echo
echo "$total_replayed fuzz inputs replayed"
if [ -n "$skips" ]; then
    printf '%s' "$skips"
    if [ "${STRUERE_FAIL_ON_SKIP:-}" = 1 ]; then
        unexpected=$(printf '%s' "$skips" | sed -E 's/^[0-9]+ skipped: //' |
                         grep -v -x -F -f tests/skips-expected)
        if [ -n "$unexpected" ]; then
            printf '%s\n' "$unexpected" | sed 's/^/FAIL unexpected skip: /'
            total_fail=$((total_fail + 1))
        fi
    fi
fi
echo "all suites: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
