#!/usr/bin/env bash
# tests/access/run.sh STRUERE_BINARY
#
# `struere access` end to end on a real store made from the example
# project: the hand-written expectations of expected.table (expected.py),
# the differential against `struere can` over every subject, resource,
# action and eval fixture record (differential.py), the formats, the
# options and the exit codes. Ends "access: N passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-access.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY NO_COLOR
mkdir -p "$HOME"
PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
expect() {
    local name=$1 rc=$2 pat=${3:-}
    if [ "$RC" != "$rc" ]; then
        fail "$name" "exit $RC, want $rc: $(head -c 300 "$T/err")"
    elif [ -n "$pat" ] && ! grep -qE -- "$pat" "$T/out"; then
        fail "$name" "no /$pat/ in: $(head -c 300 "$T/out")"
    else
        pass "$name"
    fi
}
expect_err() {
    if [ "$RC" = "$2" ] && grep -qE -- "$3" "$T/err"; then pass "$1"; else
        fail "$1" "exit $RC, stderr: $(head -c 300 "$T/err")"; fi
}
json_is() {
    if python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($2) else 1)" 2>"$T/pyerr"; then
        pass "$1"
    else
        fail "$1" "$(head -c 300 "$T/out") $(cat "$T/pyerr")"
    fi
}
# py NAME SCRIPT ARGS...: a python checker; its counts join ours.
py() {
    local name=$1
    shift
    python3 "$@" >"$T/py" 2>&1
    grep '^FAIL' "$T/py"
    local line
    line=$(tail -n 1 "$T/py")
    local p f
    p=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        fail "$name" "$(tail -c 500 "$T/py")"
        return
    fi
    echo "$name: $line"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
}

S=$BIN
cp -r "$ROOT/fixtures/example" "$T/store"
cd "$T/store" || exit 1
git init -q
"$S" dev >/dev/null 2>&1 || fail "setup: dev"
"$S" build --out "$T/b" >/dev/null 2>&1 || fail "setup: build"
DEVC=$(git rev-parse struere/development 2>/dev/null)

# ---- hand-written expectations (development bundle of the store) -------
run "$S" access --format json --role staff --role guardian --role teacher \
    --role learning-assistant --role ai-assistant \
    --agent homework-helper --agent front-desk
expect "access --format json exits 0" 0
cp "$T/out" "$T/named.json"
json_is "the named subjects only, agents first, in the order given" \
    "[s['subject'] for s in d['subjects']] == ['agent:homework-helper', 'agent:front-desk', 'role:staff', 'role:guardian', 'role:teacher', 'role:learning-assistant', 'role:ai-assistant']"
json_is "commit: the development commit" "d['commit'] == '$DEVC'"
py "expected.table" "$HERE/expected.py" "$HERE/expected.table" "$T/named.json"

# ---- the differential against can (eval bundle file) ---------------------
py "differential" "$HERE/differential.py" "$S" "$T/b/eval.stb"

# ---- subjects, revisions, files ------------------------------------------
run "$S" access --json
expect "default: every agent and every role" 0
json_is "4 agents then 5 roles" \
    "[s['subject'] for s in d['subjects']] == ['agent:billing-assistant', 'agent:front-desk', 'agent:homework-helper', 'agent:scheduler', 'role:ai-assistant', 'role:guardian', 'role:learning-assistant', 'role:staff', 'role:teacher']"
cp "$T/out" "$T/all.json"
run "$S" access development --format json
if cmp -s "$T/out" "$T/all.json"; then pass "REV development = the default"; else fail "REV development = the default"; fi
run "$S" access "$T/b/development.stb" --format json
json_is "a bundle file: commit null" "d['commit'] is None and d['environment'] == 'development'"
python3 - "$T/out" "$T/all.json" <<'PY' && pass "the file and the commit agree" || fail "the file and the commit agree"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if a["subjects"] == b["subjects"] else 1)
PY
run "$S" access --env eval --role guardian --json
json_is "--env eval reads the eval commit" "d['environment'] == 'eval' and d['commit'] == '$(git rev-parse struere/eval 2>/dev/null)'"
run "$S" access --env production
expect_err "--env production before any deploy: says so (exit 1)" 1 "deploy"

# ---- text and md ---------------------------------------------------------
run "$S" access --role staff
expect "text: a heading per subject" 0 '^role:staff \(roles: staff\)'
expect "text: an allowed pair with its policy" 0 '^  allow read payment  by staff#policies\[0\]'
expect "text: every row" 0 '^    rows: every row'
expect "text: the deny that removes" 0 '^  deny  delete payment  by staff#policies\[1\]'
run "$S" access --agent front-desk --format text
expect "text: a scope" 0 'rows: \{"anyOf":\[\{"role":"ai-assistant"'
expect "text: a mask" 0 'masks: data.card.last4 redact "\*\*\*"'
run "$S" access --role guardian --format md
expect "md: a heading per subject" 0 '^## role:guardian'
expect "md: a table row" 0 '^\| teacher \| read \| guardian#policies\[5\] \| every row \| data.hourlyRate hide'
expect "md: a scope, its brackets escaped" 0 '^\| session \| read \| guardian#policies\[2\] \| \{"anyOf":\\\['
run "$S" access --role guardian --format html
expect "html: a heading per subject" 0 '^<h2>role:guardian</h2>'
expect "html: an allowed pair, text escaped" 0 '^<li>read teacher by guardian#policies\[5\]; rows: every row; masks: data.hourlyRate hide; data.address hide; data.phone redact &quot;\*\*\*&quot;</li>'
if grep -q '|' "$T/out"; then fail "html: no raw table pipes"; else pass "html: no raw table pipes"; fi

# ---- usage, bad input ----------------------------------------------------
run "$S" access --help
expect "--help" 0 'usage: struere access'
run "$S" access --format xml
expect_err "--format xml: usage (2)" 2 "format"
run "$S" access --frobnicate
expect_err "an unknown option: usage (2)" 2 "unknown argument"
run "$S" access --env nowhere
expect "an unknown environment: usage (2)" 2
run "$S" access --agent nobody
expect_err "an unknown agent: bad input (1)" 1 "no agent 'nobody'"
run "$S" access --role nobody
expect_err "an unknown role: bad input (1)" 1 "no role 'nobody'"
run "$S" access no-such-rev
expect "an unknown revision: bad input (1)" 1
printf 'not a bundle' >"$T/bad.stb"
run "$S" access "$T/bad.stb"
expect "a file that is not a bundle: bad input (1)" 1
run "$S" --help
expect "struere --help lists access" 0 '^  access \[REV\|FILE\]'

echo "access: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
