#!/usr/bin/env bash
# bench/serve/memory-use.sh STORE ROUNDS STRUERE... - serve's resident
# memory through a working day rather than at rest: for each binary in
# turn, per round, on a copy of STORE (a project whose store has
# development, production and eval, e.g. build/bench/store-10000 from
# `bench/store.sh 10000`), `serve --dashboard` is started and
# /proc/PID/status read
#   1. at rest: 1 s after /ready (what bench/serve.sh and memory-ab.sh read);
#   2. after load: 5 s of `wrk -t2 -c64` POST /v1/authorize (a development
#      key, the system actor reading a data type), then 1.5 s of quiet;
#   3. after the dashboard's access matrix of all three environments, then
#      1.5 s;
#   4. after the dashboard's history and comparison, then 1.5 s.
# Prints VmRSS, RssAnon and RssFile (KiB) at each step, VmRSS against the
# three bundles' size (`struere build --out`), and VmHWM at the end.
# Needs wrk and curl.
set -u
[ $# -ge 3 ] || { echo "usage: $0 STORE ROUNDS STRUERE..." >&2; exit 2; }
src=$1 rounds=$2
shift 2
port=${PORT:-18285}
. "$(dirname "$0")/setup.sh"
serve_setup memory-use "$src" "$1"
"$1" -C "$work/store" build --out "$work/out" >/dev/null ||
    { echo "memory-use.sh: build failed" >&2; exit 1; }
bundles=$(cat "$work/out"/*.stb | wc -c)
echo "bundles: $bundles bytes ($((bundles / 1024)) KiB); resource: $type"
for r in $(seq "$rounds"); do
    for bin in "$@"; do
        "$bin" serve --store "$work/store" --listen "127.0.0.1:$port" --dashboard \
            --dashboard-token-file "$work/token" >"$work/serve.out" 2>&1 &
        pid=$!
        for _ in $(seq 400); do
            curl -sf "127.0.0.1:$port/ready" >/dev/null && break
            sleep 0.05
        done
        mem() { # STEP: one line
            awk -v step="$1" -v b="$bundles" '
                /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 }
                END { printf "  %-16s VmRSS %6d  RssAnon %6d  RssFile %6d  VmRSS - bundles %+6.1f MiB\n",
                      step, rss, anon, file, (rss * 1024 - b) / 1048576 }' "/proc/$pid/status"
        }
        echo "round $r $bin"
        sleep 1
        mem "at rest"
        rps=$(wrk -t2 -c64 -d5s -s "$work/auth.lua" "http://127.0.0.1:$port/v1/authorize" |
            awk '/Requests\/sec/ { print $2 } /Non-2xx/ { print "non-2xx: " $NF }' | tr '\n' ' ')
        sleep 1.5
        mem "after load" | tr -d '\n'
        echo "  ($rps requests/s)"
        auth="Authorization: Bearer $(cat "$work/token")"
        for e in development production eval; do
            curl -sf -o /dev/null -H "$auth" "127.0.0.1:$port/dashboard/api/env/$e/access" ||
                echo "  access $e failed"
        done
        sleep 1.5
        mem "after access"
        for u in history compare; do
            curl -sf -o /dev/null -H "$auth" "127.0.0.1:$port/dashboard/api/$u" ||
                echo "  $u failed"
        done
        sleep 1.5
        mem "after history"
        awk '/^VmHWM:/ { printf "  VmHWM %d\n", $2 }' "/proc/$pid/status"
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
done
