#!/usr/bin/env bash
# bench/serve/memory-ab.sh STORE ROUNDS STRUERE... - serve's resident
# memory with each binary in turn, per round, on the same store: start
# `serve --store STORE`, poll /ready, wait 1 s, read /proc/PID/status,
# stop. Prints one line per run: the seconds to /ready, VmHWM, VmRSS,
# RssAnon, RssFile (KiB), and how many mappings of libgit2 and libcrypto
# the process has. For two builds side by side (one in a git worktree).
set -u
[ $# -ge 3 ] || { echo "usage: $0 STORE ROUNDS STRUERE..." >&2; exit 2; }
store=$1 rounds=$2
shift 2
port=${PORT:-18282}
for r in $(seq "$rounds"); do
    for bin in "$@"; do
        t0=$(date +%s.%N)
        "$bin" serve --store "$store" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 400); do
            curl -sf "127.0.0.1:$port/ready" >/dev/null && break
            sleep 0.05
        done
        t1=$(date +%s.%N)
        sleep 1
        mem=$(awk '/^(VmHWM|VmRSS|RssAnon|RssFile):/ { printf "%s %s ", $1, $2 }' "/proc/$pid/status")
        libs=$(grep -c -E 'libgit2|libcrypto' "/proc/$pid/maps")
        echo "round $r $bin ready_s=$(echo "$t1 - $t0" | bc) $mem libgit2/libcrypto maps: $libs"
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
done
