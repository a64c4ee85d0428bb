#!/bin/sh
# bench/runtime.sh - the runtime's numbers (DESIGN.md §7), each side by side
# with its peer in this one run, on this machine:
#   1. permission decisions: libstruere vs @cedar-policy/cedar-wasm
#      statefulIsAuthorized on the same 14,563 requests (bench/decide.sh);
#   2. open by API key vs reading the bundle blob through libgit2, and the
#      memory the runtime keeps, on a generated 10,000-definition project
#      (bench/open/open.c);
#   3. prompt rendering and automation matching throughput on the example
#      (bench/template, bench/automation).
# Needs node and npm for (1) (the first run installs bench/cedar's pinned
# cedar-wasm with `npm ci`).
set -eu
cd "$(dirname "$0")/.."
B=build/release
make -s "$B/struere" "$B/libstruere.a"
LIBS=$(pkg-config --libs libgit2 libsodium libcrypto zlib)
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== 1. decisions: libstruere vs cedar-wasm"
./bench/decide.sh | grep -v '^== '

echo
echo "== 2. open by key, 10,000 definitions"
P=build/bench/rt-10000
if [ ! -f "$P.done" ]; then
    rm -rf "$P"
    python3 bench/gen-project.py 10000 "$P" >/dev/null
    (cd "$P" && git init -q && ../../release/struere dev >/dev/null &&
        ../../release/struere deploy --yes >/dev/null)
    touch "$P.done"
fi
KEY=$(cd "$P" && ../../release/struere keys create --env production --name bench 2>/dev/null)
# shellcheck disable=SC2086
cc -O2 -Iruntime/include bench/open/open.c "$B/libstruere.a" $LIBS -lm -o "$B/open-bench"
"$B/open-bench" "$P" "$KEY" production 21
(cd "$P" && ../../release/struere keys revoke "$(printf %s "$KEY" | cut -c1-14)" >/dev/null)

echo
echo "== 3. prompts and automations (example project)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$B/struere" -C fixtures/example build --out "$T" >/dev/null
# shellcheck disable=SC2086
cc -std=c11 -O2 -D_GNU_SOURCE -Iruntime/include bench/template/bench.c "$B/libstruere.a" $LIBS -lm -o "$B/template-bench"
"$B/template-bench" "$T" 1
# shellcheck disable=SC2086
cc -std=c11 -O2 -Iruntime/include bench/automation/bench_automation.c "$B/libstruere.a" $LIBS -lm -o "$B/automation-bench"
"$B/automation-bench" example "$T/development.stb"
