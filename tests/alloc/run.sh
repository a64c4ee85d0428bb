#!/bin/sh
# tests/alloc/run.sh BUILD_DIR - allocation-failure injection (failalloc.c):
#
#  - libstruere: failalloc-runtime opens a bundle, decides, renders a
#    system prompt and matches an automation with each of their
#    allocations failing in turn (every N);
#  - `struere serve` (serve_alloc.py): every allocation of each request
#    failing in turn, on every route with each key kind, the dashboard's
#    and the probes among them, then while a moved branch is reloaded: a
#    request is answered as without the failure or 500 out of memory, the
#    same request is then answered as before, a reload keeps the last
#    bundle and is tried again, SIGTERM exits 0;
#  - `can --id` with an eval key in a deployed store (the store, the
#    key records, the trust refs, the bundle and a fixture record read),
#    and `can --record FILE`, every allocation failing in turn;
#  - the compiler, on the example project, one thread (so that
#    allocations come in about one order), with the Nth allocation
#    failing, for N = 1, 1+STRIDE, 1+2*STRIDE, ... and the last one, where
#    every malloc, calloc, realloc, strdup and strndup of struere's own
#    code, every call of its arena and every allocation of jansson count:
#      `check`               (FAILALLOC_STRIDE, default 13, 26 under the
#                            sanitizers; 1 tries every N, about 17,000
#                            runs);
#      `build --out DIR`     the bundle writer and the manifest
#                            (FAILALLOC_STRIDE_BUILD, default 307; 614);
#      `dev` in a new store  the definition cache, the commits, the refs
#                            (FAILALLOC_STRIDE_DEV, default 401; 802).
#
# A run passes when it gives the same output and exit status as without a
# failure (the failure was absorbed), or exits 3 with "struere: out of
# memory" (or "struere: WHAT: out of memory...") and nothing on stdout (dev: or what it committed before the
# failure, its branches as they must be); a crash, a sanitizer report (make check
# builds with ASan and UBSan, leaks included) or anything else fails it.
# And nothing is written half: after `build`, every bundle in DIR is the
# one a run without failure writes; after `dev`, each branch is absent or
# holds the tree a run without failure commits, and a `dev` run after it
# (without failure) commits those trees. Allocations inside libyaml,
# cmark, libgit2, zlib and libsodium are not injected. Ends "alloc: N
# passed, M failed".
set -u
b=$1
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
# tally NAME PROGRAM ARGS...: runs a program that ends "NAME: N passed, M
# failed", prints the rest of its output and adds its counts (a program
# that fails without its line counts as one failure).
tally() {
    name=$1
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -v "^$name: [0-9]* passed"
    p=$(printf '%s\n' "$out" | sed -n -E "s/^$name: ([0-9]+) passed, ([0-9]+) failed\$/\\1/p")
    f=$(printf '%s\n' "$out" | sed -n -E "s/^$name: ([0-9]+) passed, ([0-9]+) failed\$/\\2/p")
    if [ -z "$p" ] || [ "$rc" -ne 0 ]; then
        echo "FAIL $name (exit $rc)"
        f=$((${f:-0} + 1))
    fi
    pass=$((pass + ${p:-0}))
    fail=$((fail + f))
}
tally alloc-runtime "$b/failalloc-runtime" "$tmp/bundles"
tally serve-alloc python3 "$(dirname "$0")/serve_alloc.py" "$b" "$tmp/serve"

S=$b/struere-failalloc
STRUERE_THREADS=1
export STRUERE_THREADS

# The scenarios: NAME_run DIR runs the command once (its files under
# DIR), NAME_after DIR says what is wrong with what it left (nothing:
# prints nothing).
check_run() { "$S" -C fixtures/example check; }
check_after() { :; }

# It names the files it wrote: the run's directory is replaced, so that
# a failure absorbed gives the output of a run without one.
build_run() {
    "$S" -C fixtures/example build --out "$1/out" >"$1/raw"
    rc=$?
    sed "s|$1/out/|OUT/|g" "$1/raw"
    return $rc
}
build_after() {
    for f in "$1"/out/*; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$tmp/ref/build/out/${f##*/}" ||
            echo "${f##*/} is not the bundle a run without failure writes"
    done
}

# A store made once: the example, git init; dev runs in a copy of it.
mkdir -p "$tmp/store"
cp -R fixtures/example/. "$tmp/store/"
git -C "$tmp/store" init -q
dev_run() {
    rm -rf "$1/store"
    cp -R "$tmp/store" "$1/store"
    # Commit ids change with the clock: the summary is compared without
    # them (the trees are compared below).
    "$S" -C "$1/store" dev >"$1/raw"
    rc=$?
    sed -E 's/[0-9a-f]{12}/ID/g' "$1/raw"
    return $rc
}
# A store deployed once, with an eval key: `can` opens the store, reads
# the key records, the trust refs and the branch's bundle, and decides
# over a fixture record (every allocation failing in turn).
mkdir -p "$tmp/cstore"
cp -R fixtures/example/. "$tmp/cstore/"
git -C "$tmp/cstore" init -q
"$b/struere" -C "$tmp/cstore" dev >/dev/null 2>&1 &&
    "$b/struere" -C "$tmp/cstore" deploy --yes >/dev/null 2>&1
ckey=$("$b/struere" -C "$tmp/cstore" keys create --env eval --name alloc 2>/dev/null)
can_run() {
    STRUERE_API_KEY=$ckey "$S" -C "$tmp/cstore" can read teacher --id teacher-alice \
        --as user:user_alice_chen --role teacher --json
}
can_after() { :; }
# The same over a record file (--record: read, checked, built, written
# compact): strings with escapes, numbers, nested values.
cat >"$tmp/record.json" <<'EOF'
{"_id": "t9", "type": "teacher", "status": "active",
 "data": {"userId": "user_alice_chen", "name": "Alice \u00e9 \"q\"",
          "hourlyRate": 38.5, "subjects": ["math", "physics"],
          "bio": null, "x": true, "address": {"city": "Austin"}}}
EOF
can_record_run() {
    STRUERE_API_KEY=$ckey "$S" -C "$tmp/cstore" can read teacher \
        --record "$tmp/record.json" --as user:user_alice_chen --role teacher \
        --json
}
can_record_after() { :; }

tree_of() { git -C "$1" rev-parse -q --verify "refs/heads/struere/$2^{tree}" 2>/dev/null; }
dev_after() {
    for br in development eval; do
        got=$(tree_of "$1/store" $br)
        [ -z "$got" ] || [ "$got" = "$(tree_of "$tmp/ref/dev/store" $br)" ] ||
            echo "struere/$br holds a tree a run without failure does not commit"
    done
    if ! "$b/struere" -C "$1/store" dev >/dev/null 2>"$1/again"; then
        echo "dev after it fails: $(head -n 3 "$1/again")"
    fi
    for br in development eval; do
        [ "$(tree_of "$1/store" $br)" = "$(tree_of "$tmp/ref/dev/store" $br)" ] ||
            echo "dev after it does not commit struere/$br's tree"
    done
}

# inject NAME STRIDE: the scenario without a failure (its output, exit
# status and files kept under $tmp/ref/NAME), then with allocation N
# failing for each N of the stride.
inject() {
    name=$1
    stride=$2
    ref=$tmp/ref/$name
    mkdir -p "$ref"
    STRUERE_FAILALLOC_REPORT=1 "${name}_run" "$ref" >"$ref/want" 2>"$ref/count"
    want_rc=$?
    total=$(sed -n -E 's/^failalloc: ([0-9]+) allocations.*/\1/p' "$ref/count")
    if [ "$want_rc" -ne 0 ] || [ -z "$total" ]; then
        cat "$ref/count"
        echo "FAIL $name without a failure (exit $want_rc)"
        fail=$((fail + 1))
        return
    fi
    n=1
    runs=0
    absorbed=0
    run=$tmp/run
    while [ "$n" -le "$total" ]; do
        rm -rf "$run"
        mkdir -p "$run"
        STRUERE_FAILALLOC=$n "${name}_run" "$run" >"$run/got" 2>"$run/err"
        rc=$?
        runs=$((runs + 1))
        if grep -q -E 'Sanitizer|runtime error' "$run/err"; then
            ok=no
        elif [ "$rc" -eq 3 ] && { [ ! -s "$run/got" ] || [ "$name" = dev ]; } &&
            grep -q -E '^struere: (.*: )?out of memory' "$run/err"; then
            ok=yes
        elif [ "$rc" -eq "$want_rc" ] && cmp -s "$ref/want" "$run/got"; then
            ok=yes
            absorbed=$((absorbed + 1))
        else
            ok=no
        fi
        left=$("${name}_after" "$run")
        if [ "$ok" = yes ] && [ -z "$left" ]; then
            pass=$((pass + 1))
        else
            echo "FAIL $name with allocation $n of $total failing: exit $rc"
            [ -z "$left" ] || printf '%s\n' "$left"
            head -n 20 "$run/err"
            fail=$((fail + 1))
        fi
        if [ "$n" -lt "$total" ] && [ $((n + stride)) -gt "$total" ]; then
            n=$total
        else
            n=$((n + stride))
        fi
    done
    echo "$name: $total allocations, $runs of them failed in turn (stride $stride): $absorbed absorbed, the rest out of memory"
}

# Under the sanitizers (make check: build/asan) a run costs several
# times more: every other N of the strides is tried there.
slow=1
case $b in *asan*) slow=2 ;; esac
inject check "${FAILALLOC_STRIDE:-$((13 * slow))}"
inject can 1
inject can_record 1
inject build "${FAILALLOC_STRIDE_BUILD:-$((307 * slow))}"
inject dev "${FAILALLOC_STRIDE_DEV:-$((401 * slow))}"
echo "alloc: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
