#!/usr/bin/env bash
# floor-ab.sh N [ROUNDS]: `struere check` (all cores) against the floor
# (bench/floor.c: a single-threaded libyaml parse of the same files),
# interleaved round by round in build/bench/proj-N (made by
# bench/compile.sh N), so that both see the same load. Prints every
# round's wall times, each side's median and the ratio of the medians.
# bench/compile.sh gives best-of-runs taken one tool after the other;
# on a shared machine the floor's best moved by 40% between sessions.
set -eu
n=$1 rounds=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
struere=${STRUERE:-$root/build/release/struere}
proj=$root/build/bench/proj-$n floor=$root/build/bench/floor
[ -d "$proj" ] && [ -x "$floor" ] ||
    { echo "floor-ab.sh: run bench/compile.sh $n first" >&2; exit 2; }
"$struere" -C "$proj" check >/dev/null # the gate, and a warm page cache
wall() { # CMD...: its wall time in seconds, from bash's microsecond clock
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }'
}
echo "| round | floor s | check s |"
echo "| ---: | ---: | ---: |"
a=() b=()
for i in $(seq "$rounds"); do
    x=$(wall "$floor" "$proj")
    y=$(wall "$struere" -C "$proj" check)
    a+=("$x") b+=("$y")
    echo "| $i | $x | $y |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
fa=$(median "${a[@]}") cb=$(median "${b[@]}")
echo "| median | $fa | $cb |"
awk -v f="$fa" -v c="$cb" 'BEGIN { printf "check/floor (medians): %.2f\n", c / f }'
