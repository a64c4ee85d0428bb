#!/usr/bin/env bash
# status-ab.sh OLD NEW [RUNS]: `struere status` with one agent edited and
# production one commit behind development (the store bench's scenario),
# two binaries interleaved at 10,000 definitions, each in its own copy of
# build/bench/store-10000 (made by `bench/store.sh 10000`) so that each
# has its own caches. Prints every run's wall time, seconds.
# bench/RESULTS.md, "status against a production branch behind development".
set -eu
old=$(realpath "$1") new=$(realpath "$2") runs=${3:-6}
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/bench/store-10000
[ -d "$src" ] || { echo "status-ab.sh: run bench/store.sh 10000 first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prepare() { # DIR BIN
    cp -r "$src" "$1"
    cd "$1"
    local agent f
    agent=$(ls agents | sed -n 1p)
    f=agents/$agent
    sed -i "s/^  temperature: .*/  temperature: 0.11/" "$f"
    "$2" dev >/dev/null 2>&1
    "$2" deploy --yes >/dev/null 2>&1
    sleep 2.1 # past dev's racy margin, as a person editing
    sed -i "s/^  temperature: .*/  temperature: 0.12/" "$f"
    "$2" dev >/dev/null 2>&1
    "$2" deploy --yes >/dev/null 2>&1
    "$2" rollback --yes >/dev/null 2>&1
    sed -i "s/^  temperature: .*/  temperature: 0.13/" "$f"
    "$2" status >/dev/null 2>&1 || true # warm
    cd "$root"
}
prepare "$work/old" "$old"
prepare "$work/new" "$new"
time_status() { # DIR BIN
    (cd "$1" && /usr/bin/time -f %e "$2" status 2>&1 >/dev/null | tail -1)
}
echo "| run | old s | new s |"
echo "| ---: | ---: | ---: |"
for i in $(seq "$runs"); do
    echo "| $i | $(time_status "$work/old" "$old") | $(time_status "$work/new" "$new") |"
done
