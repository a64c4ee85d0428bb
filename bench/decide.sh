#!/bin/sh
# bench/decide.sh - libstruere's permission decisions against cedar-wasm's
# statefulIsAuthorized on the same requests (the Cedar differential's
# 14,563, tests/runtime/cedar/decisions.jsonl), in one run, on this
# machine. Prints both and the ratio. Needs node >= 20 and npm (the first
# run installs bench/cedar's pinned cedar-wasm with `npm ci`).
set -eu
cd "$(dirname "$0")/.."
make -s build/release/struere build/release/libstruere.a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/release/struere -C fixtures/example build --out "$tmp" >/dev/null
# shellcheck disable=SC2046
cc -O2 -Iruntime/include bench/decide/decide.c build/release/libstruere.a \
    $(pkg-config --libs libgit2 libsodium libcrypto zlib) -lm -o "$tmp/decide"
[ -d bench/cedar/node_modules ] || (cd bench/cedar && npm ci --silent)
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
"$tmp/decide" "$tmp/eval.stb" tests/runtime/cedar/decisions.jsonl | tee "$tmp/s"
(cd bench/cedar && node bench.mjs) | tee "$tmp/c"
ours=$(sed -n 's/^libstruere decision with row scope: median \([0-9.]*\) us.*/\1/p' "$tmp/s")
ours_mask=$(sed -n 's/^libstruere decision with row scope + mask applied: median \([0-9.]*\) us.*/\1/p' "$tmp/s")
once=$(sed -n 's/^libstruere once each, shuffled: decision with row scope: median \([0-9.]*\) us.*/\1/p' "$tmp/s")
once_mask=$(sed -n 's/^libstruere once each, shuffled: decision with row scope + mask applied: median \([0-9.]*\) us.*/\1/p' "$tmp/s")
cedar=$(sed -n 's/^cedar-wasm statefulIsAuthorized: median \([0-9.]*\) us.*/\1/p' "$tmp/c")
awk -v o="$ours" -v m="$ours_mask" -v oo="$once" -v om="$once_mask" -v c="$cedar" 'BEGIN {
    printf "ratio (median), both once each in a shuffled order: cedar-wasm / libstruere decision = %.0fx; / decision + mask applied = %.0fx\n", c / oo, c / om
    printf "ratio (median), libstruere batched (mean of 2,000 back to back), cedar-wasm once each: %.0fx; %.0fx\n", c / o, c / m
}'
