#!/usr/bin/env bash
# bench/serve/dashboard-latency.sh STORE ROUNDS SECONDS STRUERE... - the API's
# latency while the dashboard is used: for each binary in turn, per round,
# on a copy of STORE (a project whose store has development, production
# and eval, e.g. build/bench/store-10000 from `bench/store.sh 10000`),
# `serve --dashboard` (default --threads 4) answers SECONDS of
# `wrk -t2 -c64 --latency` POST /v1/authorize (a development key, the
# system actor reading a data type: kept-alive connections, as an API
# client's pool keeps them) while a loop asks for the dashboard's access
# matrix of development again and again, one at a time (each a child
# process: 0.4 s at 10,000 definitions). Prints wrk's requests/s, its
# latency percentiles (50, 90, 99) and maximum, its errors, and how many
# access answers came back 200. Needs wrk and curl.
set -u
[ $# -ge 4 ] || { echo "usage: $0 STORE ROUNDS SECONDS STRUERE..." >&2; exit 2; }
src=$1 rounds=$2 secs=$3
shift 3
port=${PORT:-18286}
. "$(dirname "$0")/setup.sh"
serve_setup dashboard-latency "$src" "$1"
auth="Authorization: Bearer $(cat "$work/token")"
for r in $(seq "$rounds"); do
    for bin in "$@"; do
        "$bin" serve --store "$work/store" --listen "127.0.0.1:$port" --dashboard \
            --dashboard-token-file "$work/token" >"$work/serve.out" 2>&1 &
        pid=$!
        for _ in $(seq 400); do
            curl -sf "127.0.0.1:$port/ready" >/dev/null && break
            sleep 0.05
        done
        : >"$work/access"
        (
            end=$((SECONDS + secs))
            while [ $SECONDS -lt "$end" ]; do
                curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" \
                    "127.0.0.1:$port/dashboard/api/env/development/access" >>"$work/access"
            done
        ) &
        loop=$!
        echo "round $r $bin"
        wrk -t2 -c64 -d"${secs}s" --latency -s "$work/auth.lua" \
            "http://127.0.0.1:$port/v1/authorize" |
            awk '/Requests\/sec/ { rps = $2 }
                 /^ +Latency +[0-9]/ { max = $4 }
                 /^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
                 /Socket errors|Non-2xx/ { err = err " " $0 }
                 END { printf "  %s requests/s  p50 %s  p90 %s  p99 %s  max %s%s\n",
                       rps, p50, p90, p99, max, err }'
        wait "$loop"
        echo "  access answers: $(grep -c '^200$' "$work/access") of $(wc -l <"$work/access") 200"
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
done
