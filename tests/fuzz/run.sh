#!/bin/sh
# make fuzz: runs each libFuzzer target for SECONDS on a working copy of
# its seed corpus (new inputs stay under build/, crashes are kept there).
# Usage: run.sh BUILD_DIR SECONDS
set -eu
b=$1
secs=$2
mkdir -p "$b/artifacts"
# The runtime targets that read the example's bundles get them here.
bundles=$(mktemp -d)
trap 'rm -rf "$bundles"' EXIT
build/release/struere -C fixtures/example build --out "$bundles" >/dev/null
for target in ${FUZZ_TARGETS:-check defcache xcheck segments bundle-cache bundle template automation keys mask trust statement gitread state serve}; do
    case $target in
    automation) export STRUERE_FUZZ_BUNDLE="$bundles/development.stb" ;;
    *) export STRUERE_FUZZ_BUNDLE="$bundles/eval.stb" ;;
    esac
    work="$b/corpus-$target"
    mkdir -p "$work"
    cp -n tests/fuzz/corpus-$target/* "$work"/ 2>/dev/null || true
    dict=""
    [ "$target" = check ] && dict="-dict=tests/fuzz/yaml.dict"
    [ "$target" = automation ] && dict="-dict=tests/fuzz/automation.dict"
    case $target in trust | statement) dict="-dict=tests/fuzz/trust.dict" ;; esac
    echo "== fuzz-$target for $secs s"
    # shellcheck disable=SC2086
    "$b/fuzz-$target" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$b/artifacts/$target-" $dict "$work" 2>&1 |
        tail -n 8
done
