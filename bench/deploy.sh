#!/bin/bash
# bench/deploy.sh STORE [N] - median wall time of `struere deploy --yes` and
# `struere rollback --yes` over N alternating cycles (default 21) in STORE,
# a store whose development is ahead of production (e.g. one of
# build/bench/store-N after an edit and `struere dev`). Run it on stores of
# 1,000 and 100,000 definitions to compare (DESIGN §7: within 2x).
set -eu
S=${STRUERE:-$(cd "$(dirname "$0")/.." && pwd)/build/release/struere}
cd "$1"
n=${2:-21}
d=()
r=()
for _ in $(seq "$n"); do
    t0=$(date +%s%N)
    "$S" deploy --yes >/dev/null 2>&1
    t1=$(date +%s%N)
    "$S" rollback --yes >/dev/null 2>&1
    t2=$(date +%s%N)
    d+=($(((t1 - t0) / 1000)))
    r+=($(((t2 - t1) / 1000)))
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'; }
echo "$1: deploy median $(med "${d[@]}") ms, rollback median $(med "${r[@]}") ms over $n cycles"
