#!/bin/sh
# make fuzz: runs each libFuzzer target for SECONDS on a working copy of
# its seed corpus (new inputs stay under build/, crashes are kept there).
# Usage: run.sh BUILD_DIR SECONDS
set -eu
b=$1
secs=$2
work="$b/corpus-check"
mkdir -p "$work" "$b/artifacts"
cp -n tests/fuzz/corpus-check/* "$work"/ 2>/dev/null || true
"$b/fuzz-check" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$b/artifacts/" \
    -dict=tests/fuzz/yaml.dict "$work" 2>&1 | tail -n 25
