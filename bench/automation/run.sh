#!/bin/sh
# Times struere_automations_fire (bench/automation/README.md).
# Usage: bench/automation/run.sh [VARIANT]   (default: release)
# Builds libstruere and struere of that variant, the example's bundles,
# and the benchmark; then runs it on the example's development bundle and,
# when bench/compile.sh has generated it (build/bench/proj-10000), on the
# 10,000-definition project's development bundle.
set -eu
v=${1:-release}
b=build/$v
make -s VARIANT="$v" "$b/struere" "$b/libstruere.a"
out=$(pwd)/$b/bench-automation
mkdir -p "$out"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Iruntime/include \
    bench/automation/bench_automation.c "$b/libstruere.a" \
    $(pkg-config --libs zlib libgit2 libsodium) -lm -o "$out/bench_automation"
"$b/struere" -C fixtures/example build --out "$out/example" >/dev/null
echo "== example project ($(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
"$out/bench_automation" example "$out/example/development.stb"
if [ -f build/bench/proj-10000.done ]; then
    "$b/struere" -C build/bench/proj-10000 build --out "$out/proj-10000" \
        >/dev/null
    echo
    echo "== generated project, 10,000 definitions"
    "$out/bench_automation" scan "$out/proj-10000/development.stb"
fi
