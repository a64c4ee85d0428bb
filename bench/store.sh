#!/usr/bin/env bash
# Store benchmark (issue: bundles in git): for each project size N, in a
# real git repository, best of $RUNS wall-clock runs of
#   - dev from scratch (the full build: compile + commit every object),
#   - dev after one agent changed (incremental: unchanged files restored
#     from dev's cache of parsed definitions, unchanged definitions reused
#     from the previous bundles), and dev with nothing changed,
#   - deploy --yes and rollback --yes (one definition differs),
#   - status with one agent edited, and status with nothing changed since
#     a dev whose files were past the racy margin (answered by stat alone),
#   - diff, side by side with `git diff --stat` of the review/ trees of
#     the same two commits (the peer: what a reviewer runs).
# Prints a Markdown table on stdout.
#
#   bench/store.sh [N ...]     default: 1000 10000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
struere=${STRUERE:-$root/build/release/struere}
runs=${RUNS:-3}
work=$root/build/bench
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
[ -x "$struere" ] || { echo "store.sh: build $struere first (make)" >&2; exit 1; }
mkdir -p "$work"

now() { echo "${EPOCHREALTIME/./}"; }
# best CMD...: best wall time of $runs runs, in seconds (3 decimals)
best() {
    local b=""
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(now)
        "$@" >/dev/null 2>&1 || true
        t1=$(now)
        local d=$((t1 - t0))
        if [ -z "$b" ] || [ "$d" -lt "$b" ]; then b=$d; fi
    done
    awk -v us="$b" 'BEGIN { printf "%.3f", us / 1e6 }'
}
once() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    awk -v us="$((t1 - t0))" 'BEGIN { printf "%.3f", us / 1e6 }'
}

echo "# struere store benchmark"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "- command: bench/store.sh ${sizes[*]} (best of $runs unless noted)"
echo
echo "| N | dev full s | dev 1 change s | dev no change s | incr/full | deploy s | rollback s | status s | status no change s | diff s | git diff --stat review/ s |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${sizes[@]}"; do
    proj=$work/proj-$n
    [ -d "$proj" ] || python3 "$root/bench/gen-project.py" "$n" "$proj" >&2
    repo=$work/store-$n
    rm -rf "$repo"
    cp -r "$proj" "$repo"
    cd "$repo"
    git init -q
    git config user.name bench
    git config user.email bench@localhost
    full=$(once "$struere" dev)
    # The copy just made every file; a person edits seconds later: past
    # the 2 s in which dev's cache compares a fresh file by content.
    sleep 2
    agent=$(ls agents | sed -n 1p)
    # each incremental run changes the agent again
    incr() {
        sed -i "s/^  temperature: .*/  temperature: 0.$RANDOM/" "agents/$agent"
        "$struere" dev
    }
    inc=$(best incr)
    noop=$(best "$struere" dev)
    # where an incremental run's time goes (dev -v), for the notes below
    sed -i "s/^  temperature: .*/  temperature: 0.$RANDOM/" "agents/$agent"
    "$struere" dev -v 2>"$work/phases-$n.txt" >/dev/null || true
    "$struere" deploy --yes >/dev/null
    incr >/dev/null 2>&1
    # deploy and rollback alternate between the last two commits
    dep=0
    rol=0
    for _ in $(seq "$runs"); do
        d=$(once "$struere" deploy --yes)
        r=$(once "$struere" rollback --yes)
        dep=$(awk -v a="$dep" -v b="$d" 'BEGIN { print (a == 0 || b < a) ? b : a }')
        rol=$(awk -v a="$rol" -v b="$r" 'BEGIN { print (a == 0 || b < a) ? b : a }')
    done
    sed -i "s/^  temperature: .*/  temperature: 0.$RANDOM/" "agents/$agent"
    st=$(best "$struere" status)
    "$struere" dev >/dev/null 2>&1
    df=$(best "$struere" diff)
    gd=$(best git diff --stat struere/production struere/development -- review/)
    # production at development, the files past the racy margin, one more
    # dev: it records its inputs, and status answers by stat alone
    "$struere" deploy --yes >/dev/null 2>&1
    sleep 2.2
    "$struere" dev >/dev/null 2>&1
    st0=$(best "$struere" status)
    ratio=$(awk -v a="$inc" -v b="$full" 'BEGIN { printf "%.1f%%", 100 * a / b }')
    echo "| $n | $full | $inc | $noop | $ratio | $dep | $rol | $st | $st0 | $df | $gd |"
    cd "$root"
done
