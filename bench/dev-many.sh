#!/usr/bin/env bash
# dev-many.sh SIZE ROUNDS BIN...: incremental `struere dev` with one agent
# edited (a different temperature each round), any number of binaries
# interleaved run by run at SIZE definitions, each in its own copy of
# build/bench/store-SIZE (made by `bench/store.sh SIZE`) with its own
# caches, made by two runs first (the second clears the racy marks of the
# first). Prints every run's wall time and CPU (user + system) per binary,
# then their medians. bench/RESULTS.md, "incremental dev"; dev-ab.sh is
# the same for two binaries at 10,000.
set -eu
size=$1 rounds=$2
shift 2
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/bench/store-$size
[ -d "$src" ] || { echo "dev-many.sh: run bench/store.sh $size first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
agent=$(ls "$src/agents" | sed -n 1p)
for i in "${!bins[@]}"; do
    cp -r "$src" "$work/$i"
    (cd "$work/$i" && "${bins[$i]}" dev >/dev/null 2>&1 &&
        sed -i "s/^  temperature: .*/  temperature: 0.99/" "agents/$agent" &&
        "${bins[$i]}" dev >/dev/null 2>&1)
done
out=$work/runs
: >"$out"
for r in $(seq "$rounds"); do
    for i in "${!bins[@]}"; do
        (cd "$work/$i" &&
            sed -i "s/^  temperature: .*/  temperature: 0.$((10 + r))/" "agents/$agent" &&
            /usr/bin/time -f "$i %e %U %S" "${bins[$i]}" dev 2>&1 >/dev/null | tail -1) >>"$out"
    done
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for i in "${!bins[@]}"; do
    echo "${bins[$i]}"
    echo "  wall s:$(awk -v i="$i" '$1 == i {printf " %s", $2}' "$out")"
    echo "  cpu s: $(awk -v i="$i" '$1 == i {printf " %.2f", $3 + $4}' "$out")"
    echo "  median wall $(awk -v i="$i" '$1 == i {print $2}' "$out" | median) s, cpu $(awk -v i="$i" '$1 == i {print $3 + $4}' "$out" | median) s"
done
