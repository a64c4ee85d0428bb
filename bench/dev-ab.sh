#!/usr/bin/env bash
# dev-ab.sh OLD NEW [RUNS]: incremental `struere dev` with one agent
# edited (a different temperature each run), two binaries interleaved at
# 10,000 definitions, each in its own copy of build/bench/store-10000
# (made by `bench/store.sh 10000`) so that each has its own caches.
# Prints every run's wall time in seconds, then each side's median.
# bench/RESULTS.md, "incremental dev".
set -eu
old=$(realpath "$1") new=$(realpath "$2") runs=${3:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/bench/store-10000
[ -d "$src" ] || { echo "dev-ab.sh: run bench/store.sh 10000 first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prepare() { # DIR BIN
    cp -r "$src" "$1"
    (cd "$1" && "$2" dev >/dev/null 2>&1) # its own caches
}
prepare "$work/old" "$old"
prepare "$work/new" "$new"
agent=$(ls "$src/agents" | sed -n 1p)
time_dev() { # DIR BIN RUN
    cd "$1"
    sed -i "s/^  temperature: .*/  temperature: 0.$((50 + $3))/" "agents/$agent"
    /usr/bin/time -f %e "$2" dev 2>&1 >/dev/null | tail -1
    cd "$root"
}
echo "| run | old s | new s |"
echo "| ---: | ---: | ---: |"
a=() b=()
for i in $(seq "$runs"); do
    x=$(time_dev "$work/old" "$old" "$i")
    y=$(time_dev "$work/new" "$new" "$i")
    a+=("$x") b+=("$y")
    echo "| $i | $x | $y |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "| median | $(median "${a[@]}") | $(median "${b[@]}") |"
