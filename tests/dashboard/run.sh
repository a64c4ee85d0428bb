#!/usr/bin/env bash
# tests/dashboard/run.sh BUILD_DIR
#
# The dashboard of `struere serve --dashboard` in a real browser: a real
# store made from the example project (dev, deploy), the real server on a
# free 127.0.0.1 port, its token read from its stderr, then headless
# Chromium (Debian's chromium) driven by puppeteer-core (dashboard.mjs):
# sign in (a wrong token refused), environments, an agent, the access
# matrix, a deploy appearing without a reload, a narrow screen, sign-out.
# One screenshot per step in BUILD_DIR/dashboard-shots/ (kept). Ends
# "N passed, M failed"; "1 skipped: ..." only when node or chromium is
# missing (CI installs both: scripts/install-deps.sh --dev).
set -u
BUILD=$(cd "$1" && pwd)
BIN=$BUILD/struere
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHOTS=$BUILD/dashboard-shots
CHROMIUM=${CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
    for c in chromium chromium-browser; do
        if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$(command -v "$c"); break; fi
    done
fi
skip() {
    echo "SKIP $1"
    echo "0 passed, 0 failed"
    echo "1 skipped: $1"
    exit 0
}
command -v node >/dev/null 2>&1 || skip "node not installed"
command -v npm >/dev/null 2>&1 || skip "npm not installed"
[ -n "$CHROMIUM" ] || skip "chromium not installed"

# puppeteer-core, pinned by package-lock.json, into this suite's own
# node_modules (the first run needs the npm registry).
if [ ! -f "$HERE/node_modules/puppeteer-core/package.json" ]; then
    (cd "$HERE" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || {
        echo "FAIL npm ci in tests/dashboard (puppeteer-core)"
        echo "0 passed, 1 failed"
        exit 1
    }
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/struere-dash.XXXXXX")
SERVER=
cleanup() {
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null
        wait "$SERVER" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY NO_COLOR
mkdir -p "$HOME"
git config --global user.name "Dashboard Test"
git config --global user.email dashboard@example.com
setup_fail() {
    echo "FAIL setup: $1"
    [ -f "$T/serve.err" ] && sed 's/^/  serve: /' "$T/serve.err" | head -n 20
    echo "0 passed, 1 failed"
    exit 1
}

# The store: the example project, one agent's description carrying
# markup the page must show as text.
cp -r "$ROOT/fixtures/example" "$T/store"
cd "$T/store" || exit 1
sed -i "s|^description: .*|description: 'Answers parents <img src=x onerror=\"window.__xss=1\"> \& registers families.'|" \
    agents/front-desk.md
git init -q
"$BIN" dev >/dev/null 2>"$T/err" || setup_fail "struere dev: $(cat "$T/err")"
"$BIN" deploy --yes >/dev/null 2>"$T/err" || setup_fail "struere deploy: $(cat "$T/err")"
DEV_KEY=$("$BIN" keys create --env development --name dash 2>/dev/null) ||
    setup_fail "struere keys create"

# The server, on a port the kernel picks (--listen 127.0.0.1:0): the
# address and the token are read from its stderr.
"$BIN" serve --store "$T/store" --listen 127.0.0.1:0 --dashboard >"$T/serve.out" 2>"$T/serve.err" &
SERVER=$!
TOKEN=
URL=
for _ in $(seq 1 600); do
    TOKEN=$(sed -n 's/^.*dashboard token: *//p' "$T/serve.err" | head -n 1)
    URL=$(sed -n 's|^.*listening on \(http://[^ ]*\).*|\1|p' "$T/serve.err" | head -n 1)
    if [ -n "$TOKEN" ] && [ -n "$URL" ] &&
        python3 -c "import urllib.request as u; u.urlopen('$URL/health', timeout=2)" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$SERVER" 2>/dev/null || { SERVER=; setup_fail "struere serve --dashboard did not start"; }
[ -n "$TOKEN" ] || setup_fail "no 'dashboard token: ' line on serve's stderr"
[ -n "$URL" ] || setup_fail "no 'listening on http://...' line on serve's stderr"

rm -rf "$SHOTS"
cd "$HERE" || exit 1
DASH_URL="${URL%/}/" DASH_TOKEN=$TOKEN STRUERE=$BIN STORE=$T/store \
    SHOTS=$SHOTS CHROMIUM=$CHROMIUM DEV_KEY=$DEV_KEY TMPDIR=$T \
    node dashboard.mjs >"$T/node.out" 2>&1
rc=$?
grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$T/node.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$T/node.out" | tail -n 1)
P=$(printf '%s' "$line" | sed -n -E 's/^([0-9]+) passed.*/\1/p')
F=$(printf '%s' "$line" | sed -n -E 's/.* ([0-9]+) failed$/\1/p')
P=${P:-0}
F=${F:-0}
if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$F" -eq 0 ]; }; then
    echo "FAIL dashboard.mjs ended without its result line (exit $rc)"
    F=$((F + 1))
fi
if kill -0 "$SERVER" 2>/dev/null; then
    echo "PASS struere serve ran through the whole test"
    P=$((P + 1))
else
    echo "FAIL struere serve exited during the test"
    sed 's/^/  serve: /' "$T/serve.err" | head -n 20
    F=$((F + 1))
fi
echo "screenshots: $SHOTS"
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
