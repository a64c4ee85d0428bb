#!/bin/sh
# Writes the seed corpus of fuzz_check from a definition project: one seed
# per file (first byte selects its kind, as fuzz_check.c reads it) and one
# seed with the whole project, files separated by "%%" lines.
# Usage: make-seeds.sh PROJECT_DIR OUT_DIR
set -eu
proj=$1
out=$2
mkdir -p "$out"
kind_byte() {
    case $1 in
    agents/*.md) printf '\007' ;;
    agents/*) printf '\000' ;;
    data/*) printf '\001' ;;
    roles/*) printf '\002' ;;
    automations/*) printf '\003' ;;
    tools/*) printf '\004' ;;
    evals/*) printf '\005' ;;
    fixtures/*) printf '\006' ;;
    esac
}
cd "$proj"
all="$OLDPWD/$out/whole-project"
: > "$all.tmp"
n=0
for f in $(find agents data roles automations tools evals fixtures -type f | sort); do
    name=$(echo "$f" | tr '/' '-')
    { kind_byte "$f"; cat "$f"; } > "$OLDPWD/$out/$name"
    n=$((n + 1))
done
# The whole project in kind order 0..6 (agents as YAML seeds first).
printf '\000' > "$all"
first=1
for dir in agents data roles automations tools evals fixtures; do
    for f in $(find "$dir" -type f -name '*.yaml' | sort | head -n 1); do
        [ $first -eq 1 ] || printf '\n%%%%\n' >> "$all"
        cat "$f" >> "$all"
        first=0
    done
done
rm -f "$all.tmp"
echo "$n seeds + whole-project in $out"
