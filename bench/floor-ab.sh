#!/usr/bin/env bash
# floor-ab.sh N [ROUNDS [BIN...]]: `struere check` (all cores) against the
# floor (bench/floor.c: a single-threaded libyaml parse of the same files),
# interleaved round by round in build/bench/proj-N (made by
# bench/compile.sh N), so that all see the same load. BIN: the struere
# binaries to compare (default $STRUERE, else build/release/struere),
# each run once a round after the floor. Prints every round's wall times,
# each one's median and its ratio to the floor's median.
# bench/compile.sh gives best-of-runs taken one tool after the other;
# on a shared machine the floor's best moved by 40% between sessions.
set -eu
n=$1 rounds=${2:-10}
shift $(($# < 2 ? $# : 2))
root=$(cd "$(dirname "$0")/.." && pwd)
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("${STRUERE:-$root/build/release/struere}")
proj=$root/build/bench/proj-$n floor=$root/build/bench/floor
[ -d "$proj" ] && [ -x "$floor" ] ||
    { echo "floor-ab.sh: run bench/compile.sh $n first" >&2; exit 2; }
for b in "${bins[@]}"; do # the gate, and a warm page cache
    "$b" -C "$proj" check >/dev/null
done
wall() { # CMD...: its wall time in seconds, from bash's microsecond clock
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }'
}
head="| round | floor s |" rule="| ---: | ---: |"
for i in "${!bins[@]}"; do head+=" check $((i + 1)) s |" rule+=" ---: |"; done
echo "$head"
echo "$rule"
declare -A t
for r in $(seq "$rounds"); do
    x=$(wall "$floor" "$proj")
    t[f]+=" $x" line="| $r | $x |"
    for i in "${!bins[@]}"; do
        x=$(wall "${bins[$i]}" -C "$proj" check)
        t[$i]+=" $x" line+=" $x |"
    done
    echo "$line"
done
median() { printf '%s\n' $1 | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
fm=$(median "${t[f]}")
line="| median | $fm |"
for i in "${!bins[@]}"; do line+=" $(median "${t[$i]}") |"; done
echo "$line"
for i in "${!bins[@]}"; do
    awk -v f="$fm" -v c="$(median "${t[$i]}")" -v b="${bins[$i]}" \
        'BEGIN { printf "check/floor (medians): %.2f  %s\n", c / f, b }'
done
