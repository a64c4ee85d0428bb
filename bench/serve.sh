#!/usr/bin/env bash
# bench/serve.sh - struere serve (issue 11, DESIGN §7), side by side in
# one run on this machine:
#   1. POST /v1/authorize, wrk with $CONNS (64) connections, the Cedar
#      differential's 14,563 requests in turn (eval key, fixture records):
#      throughput and p99 of struere serve against (a) the HTTP floor,
#      bench/serve/floor.c: libmicrohttpd configured as serve configures it,
#      answering a constant JSON body, and (b) the peer, bench/serve/peer.mjs:
#      a Node.js HTTP server deciding with @cedar-policy/cedar-wasm on
#      bench/cedar's translation of the same project. $ROUNDS rounds, each
#      running floor, serve and peer in turn for $DURATION; every run is
#      printed, and the medians with the ratios.
#   2. From `struere deploy` (and `rollback`) to the first answer from the
#      new commit: median and worst of $DEPLOYS deploys and as many
#      rollbacks (bench/serve/deploy_latency.py).
#   3. Resident memory of serve with the $N-definition generated project's
#      three bundles loaded, against the bundles' size + 8 MiB.
# Targets: serve/floor >= 0.7, serve/peer >= 20. Prints Markdown for
# bench/RESULTS.md. A benchmark, not a test: it fails only when something
# cannot be measured (or an answer is wrong).
#
#   bench/serve.sh
#   ROUNDS=5 DURATION=20 bench/serve.sh
#   PARTS="http" bench/serve.sh          # any of: http deploy memory
# Needs: wrk, node >= 20 and npm (bench/cedar's `npm ci` on first use),
# python3, libmicrohttpd-dev, a C compiler; scripts/install-deps.sh --dev.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
DEPLOYS=${DEPLOYS:-100}
N=${N:-10000}
PARTS=${PARTS:-http deploy memory}
# serve's thread pool; the floor gets the same (serve's default is 4)
THREADS=${THREADS:-4}
SERVE_ARGS=${SERVE_ARGS:-}

die() { echo "serve.sh: $*" >&2; exit 1; }
for t in wrk node npm python3 cc pkg-config; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing (scripts/install-deps.sh --dev)"
done
pkg-config --exists libmicrohttpd || die "libmicrohttpd-dev is missing"
make -s build/release/struere
S=$ROOT/build/release/struere
"$S" serve --help >/dev/null 2>&1 || die "this struere has no serve command"
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 bench/serve/floor.c \
    $(pkg-config --cflags --libs libmicrohttpd) -pthread -o build/bench/serve-floor
[ -d bench/cedar/node_modules ] || (cd bench/cedar && npm ci --silent --no-audit --no-fund)

T=$(mktemp -d "${TMPDIR:-/tmp}/struere-bench-serve.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.com

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_http PID URL: until URL answers 200 (serve: /ready), 120 s at most
wait_http() {
    for _ in $(seq 1 1200); do
        kill -0 "$1" 2>/dev/null || return 1
        if python3 -c "import urllib.request as u; u.urlopen('$2', timeout=2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
# serve_start STORE: starts serve on a port the kernel picks; sets
# SERVE_PID, SERVE_PORT once /ready answers
serve_start() {
    # shellcheck disable=SC2086
    "$S" serve --store "$1" --listen 127.0.0.1:0 --threads "$THREADS" $SERVE_ARGS \
        >"$T/serve.out" 2>"$T/serve.err" &
    SERVE_PID=$!
    PIDS="$PIDS $SERVE_PID"
    SERVE_PORT=
    for _ in $(seq 1 1200); do
        SERVE_PORT=$(sed -n 's|^.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/serve.err" | head -n 1)
        [ -n "$SERVE_PORT" ] && break
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$SERVE_PORT" ] && wait_http "$SERVE_PID" "http://127.0.0.1:$SERVE_PORT/ready" ||
        { cat "$T/serve.err" >&2; die "serve did not become ready"; }
}
serve_stop() {
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
}

echo "## struere serve (bench/serve.sh, $(date -u +%Y-%m-%d))"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), $(cc --version | head -n 1), libmicrohttpd $(pkg-config --modversion libmicrohttpd)," \
    "node $(node --version), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), struere $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+changes')." \
    "Load before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# The example project's store: production at A (deployed), development at
# B (one agent's maxTokens changed), keys for eval and production.
mkstore() {
    cp -r "$ROOT/fixtures/example" "$T/store"
    (
        cd "$T/store"
        git init -q
        "$S" dev >/dev/null 2>&1
        "$S" deploy --yes >/dev/null 2>&1
        sed -i 's/^  maxTokens: 2048$/  maxTokens: 3000/' agents/front-desk.md
        "$S" dev >/dev/null 2>&1
    ) || die "cannot make the example store"
    EVAL_KEY=$(cd "$T/store" && "$S" keys create --env eval --name bench 2>/dev/null)
    PROD_KEY=$(cd "$T/store" && "$S" keys create --env production --name bench 2>/dev/null)
}
mkstore

case " $PARTS " in *" http "*)
    python3 bench/serve/requests.py tests/runtime/cedar/decisions.jsonl "$T/bodies.jsonl"
    serve_start "$T/store"
    PEER_PORT=$(free_port)
    node bench/serve/peer.mjs "$PEER_PORT" "$EVAL_KEY" 2>"$T/peer.err" &
    PEER_PID=$!
    PIDS="$PIDS $PEER_PID"
    for _ in $(seq 1 300); do grep -q listening "$T/peer.err" && break; sleep 0.1; done
    grep -q listening "$T/peer.err" || { cat "$T/peer.err" >&2; die "the peer did not start"; }

    # Untimed: serve and the peer give Cedar's decision on every request.
    # The floor's constant body: serve's answer closest to their mean size.
    python3 - "$T/bodies.jsonl" "$SERVE_PORT" "$PEER_PORT" "$EVAL_KEY" "$T/floor-body.json" <<'PY' || die "wrong answers (above)"
import http.client, json, sys
bodies = open(sys.argv[1]).read().split("\n")[:-1]
want = open(sys.argv[1] + ".expected").read().split()
bad = 0
for name, port in (("serve", int(sys.argv[2])), ("peer", int(sys.argv[3]))):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    wrong = 0
    answers = []
    for b, w in zip(bodies, want):
        c.request("POST", "/v1/authorize", body=b, headers={"Authorization": "Bearer " + sys.argv[4], "Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        answers.append(raw)
        got = json.loads(raw)
        if r.status != 200 or got.get("decision") != w:
            if wrong < 3:
                print(f"{name}: {b} -> {r.status} {got}, Cedar says {w}", file=sys.stderr)
            wrong += 1
    print(f"{name}: {len(bodies) - wrong} of {len(bodies)} answers are Cedar's decision")
    bad += wrong
    if name == "serve":
        mean = sum(map(len, answers)) / len(answers)
        pick = min(answers, key=lambda a: abs(len(a) - mean))
        open(sys.argv[5], "wb").write(pick)
        print(f"serve's answers: {mean:.0f} bytes on average; the floor answers one of {len(pick)} bytes")
sys.exit(1 if bad else 0)
PY
    FLOOR_PORT=$(free_port)
    build/bench/serve-floor "$FLOOR_PORT" "$THREADS" "$T/floor-body.json" 2>"$T/floor.err" &
    FLOOR_PID=$!
    PIDS="$PIDS $FLOOR_PID"
    wait_http "$FLOOR_PID" "http://127.0.0.1:$FLOOR_PORT/" || die "the floor did not start"
    echo

    run_wrk() { # NAME PORT DURATION -> a RESULT line in $T/wrk.out
        WRK_BODIES=$T/bodies.jsonl WRK_KEY=$EVAL_KEY wrk -t"$WRK_THREADS" -c"$CONNS" -d"$3"s \
            -s bench/serve/authorize.lua "http://127.0.0.1:$2" >"$T/wrk.out" 2>&1 ||
            { cat "$T/wrk.out" >&2; die "wrk failed on $1"; }
        grep '^RESULT ' "$T/wrk.out" || { cat "$T/wrk.out" >&2; die "no result from wrk on $1"; }
    }
    # warm-up, untimed
    for x in "floor $FLOOR_PORT" "serve $SERVE_PORT" "peer $PEER_PORT"; do
        # shellcheck disable=SC2086
        run_wrk $x 3 >/dev/null
    done
    echo "POST /v1/authorize: \`wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s -s bench/serve/authorize.lua\`, $ROUNDS rounds of floor, serve, peer in turn; serve and the floor with $THREADS threads, the peer with one node worker per core."
    echo
    echo "| round | server | requests/s | p50 ms | p99 ms | max ms | errors | non-2xx |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    : >"$T/all"
    for r in $(seq 1 "$ROUNDS"); do
        for x in "floor $FLOOR_PORT" "serve $SERVE_PORT" "peer $PEER_PORT"; do
            # shellcheck disable=SC2086
            set -- $x
            line=$(run_wrk "$1" "$2" "$DURATION")
            echo "$r $1 $line" >>"$T/all"
            echo "$line" | awk -v r="$r" -v n="$1" '{
                for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                printf "| %d | %s | %.0f | %.2f | %.2f | %.2f | %d | %d |\n", r, n, v["rps"],
                    v["p50_us"] / 1000, v["p99_us"] / 1000, v["max_us"] / 1000, v["errors"], v["non2xx"]
            }'
        done
    done
    echo
    awk '{
        for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rps[$2, $1] = v["rps"]; p99[$2, $1] = v["p99_us"]; if ($1 > rounds) rounds = $1
    }
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
        for (r = 1; r <= rounds; r++) { f[r] = rps["floor", r]; s[r] = rps["serve", r]; p[r] = rps["peer", r]
            fs[r] = s[r] / f[r]; ps[r] = s[r] / p[r]; sp99[r] = p99["serve", r]; fp99[r] = p99["floor", r]; pp99[r] = p99["peer", r] }
        printf "Ratios per round, serve/floor:"; for (r = 1; r <= rounds; r++) printf " %.2f", fs[r]
        printf "; serve/peer:"; for (r = 1; r <= rounds; r++) printf " %.1f", ps[r]; printf "\n\n"
        printf "| median of %d rounds | floor | serve | peer | serve/floor (target >= 0.7) | serve/peer (target >= 20) |\n", rounds
        printf "| --- | ---: | ---: | ---: | ---: | ---: |\n"
        printf "| requests/s | %.0f | %.0f | %.0f | **%.2fx** | **%.1fx** |\n", med(f, rounds), med(s, rounds), med(p, rounds), med(fs, rounds), med(ps, rounds)
        printf "| p99 ms | %.2f | %.2f | %.2f | | |\n", med(fp99, rounds) / 1000, med(sp99, rounds) / 1000, med(pp99, rounds) / 1000
    }' "$T/all"
    echo
    echo "Processes (ps, after the runs): $(ps -o rss=,comm= -p "$SERVE_PID" | awk '{printf "serve %d KiB", $1}'), $(ps -o rss=,comm= -p "$FLOOR_PID" | awk '{printf "floor %d KiB", $1}')."
    kill "$FLOOR_PID" "$PEER_PID" 2>/dev/null || true
    wait "$FLOOR_PID" "$PEER_PID" 2>/dev/null || true
    serve_stop
    echo
    ;;
esac

case " $PARTS " in *" deploy "*)
    serve_start "$T/store"
    echo "Deploy to first answer: \`bench/serve/deploy_latency.py\`, $DEPLOYS deploys and $DEPLOYS rollbacks alternating on the example's store (serve --store), one client asking GET /v1/agents with a production key on a kept-alive connection until Struere-Commit names the new commit; from the command's start (and, after it, from the moment the command exited)."
    echo
    python3 bench/serve/deploy_latency.py "$S" "$T/store" "$SERVE_PORT" "$PROD_KEY" $((DEPLOYS * 2)) >"$T/deploy.out" ||
        { tail -n 5 "$T/deploy.out" >&2; die "deploy latency failed"; }
    echo "| moves | command ms (median) | to first answer ms: median | worst | after the command exited: median | worst | failed answers |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    sed -n 's/^DEPLOY_LATENCY //p' "$T/deploy.out" | awk '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "| %s (%d) | %s | %s | %s | %s | %s | %d |\n", v["kind"], v["n"], v["cmd_median_ms"], v["median_ms"],
            v["worst_ms"], v["after_cmd_median_ms"], v["after_cmd_worst_ms"], v["failed"]
    }'
    mkdir -p build/bench
    cp "$T/deploy.out" build/bench/serve-deploy-latency.txt
    echo
    echo "(every move: build/bench/serve-deploy-latency.txt)"
    serve_stop
    echo
    ;;
esac

case " $PARTS " in *" memory "*)
    proj=build/bench/proj-$N
    if [ ! -f "$proj/.done" ]; then
        rm -rf "$proj"
        python3 bench/gen-project.py "$N" "$proj" >&2
        : >"$proj/.done"
    fi
    rm -rf "$T/big"
    cp -r "$proj" "$T/big"
    rm -f "$T/big/.done"
    (
        cd "$T/big"
        git init -q
        "$S" dev >/dev/null
        "$S" deploy --yes >/dev/null
    ) || die "cannot make the $N-definition store"
    "$S" -C "$T/big" build --out "$T/big-out" >/dev/null
    sizes=$(stat -c %s "$T/big-out/development.stb" "$T/big-out/production.stb" "$T/big-out/eval.stb")
    total=$(echo "$sizes" | awk '{ s += $1 } END { print s }')
    serve_start "$T/big"
    # settle: the first requests compile nothing more; read after /ready
    sleep 1
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status")
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVE_PID/status")
    anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SERVE_PID/status")
    file=$(awk '/^RssFile:/ { print $2 }' "/proc/$SERVE_PID/status")
    serve_stop
    echo "Resident memory of serve, the generated $N-definition project (\`bench/gen-project.py $N\`; dev, deploy), all three environments loaded (/ready), read from /proc/PID/status 1 s after ready:"
    echo
    echo "| bundles (dev + prod + eval) | VmRSS | RssAnon | RssFile | VmHWM | limit: bundles + 8 MiB | VmRSS - bundles | RssAnon - bundles |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -v t="$total" -v r="$rss" -v h="$hwm" -v a="$anon" -v f="$file" -v s="$sizes" 'BEGIN {
        split(s, z, "\n")
        printf "| %.1f MiB (%s) | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | **%+.1f MiB** | %+.1f MiB |\n",
            t / 1048576, sprintf("%.1f + %.1f + %.1f", z[1] / 1048576, z[2] / 1048576, z[3] / 1048576),
            r / 1024, a / 1024, f / 1024, h / 1024, (t + 8 * 1048576) / 1048576, (r * 1024 - t) / 1048576,
            (a * 1024 - t) / 1048576
    }'
    echo
    ;;
esac
echo "Command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS DEPLOYS=$DEPLOYS N=$N PARTS=\"$PARTS\" bench/serve.sh\`"
