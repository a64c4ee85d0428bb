#!/usr/bin/env bash
# tests/ci/run.sh STRUERE_BINARY
#
# examples/ci/github-actions.yml, exercised: every `struere` line of its
# jobs runs, in the order written, against the example project in a real
# git repository whose origin is a bare repository, the way the runner
# would (a fresh clone per job, `struere` on PATH):
#   1. deploy job on the first push to main: everything exits 0, production
#      is the development commit, origin has the refs;
#   2. review job on a pull request that changes no access: the JUnit
#      report parses, the review says access is unchanged, the gate passes;
#   3. review job on a pull request that widens access: the gate, and only
#      it, fails (exit 1), and the review's first section is "Access
#      widened";
#   4. deploy job once that is merged: the deploy is refused, production
#      and origin unmoved; run again with allow_widening, it deploys.
# Also: every struere line of the file ran in some scenario. Ends "ci: N
# passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WF=$ROOT/examples/ci/github-actions.yml
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-ci.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY STRUERE_SIGNING_KEY NO_COLOR
mkdir -p "$HOME" "$T/bin"
ln -s "$BIN" "$T/bin/struere"
export PATH="$T/bin:$PATH"
git config --global user.name ci
git config --global user.email ci@localhost
git config --global init.defaultBranch main
PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-}"; fi; }

python3 "$HERE/workflow.py" "$WF" >"$T/jobs.json" || {
    echo "ci: cannot read $WF"
    exit 1
}
# lines JOB: the job's struere lines, one per line
lines() {
    python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))[sys.argv[2]]:
    if s["line"].lstrip().startswith("struere "):
        print(s["line"])' "$T/jobs.json" "$1"
}
for job in review deploy; do
    n=$(lines "$job" | wc -l)
    check "the $job job has struere lines" '[ "$n" -gt 2 ]' "$n"
done
: >"$T/ran"

# job NAME JOB DIR: runs the job's struere lines in DIR; each line's exit
# code goes to DIR/.rc/N, its output to DIR/.out/N.
job() {
    local name=$1 jobname=$2 dir=$3 i=0
    mkdir -p "$dir/.rc" "$dir/.out"
    while IFS= read -r line; do
        i=$((i + 1))
        (cd "$dir" && bash -c "$line") >"$dir/.out/$i" 2>&1 </dev/null
        echo $? >"$dir/.rc/$i"
        printf '%s\t%s\n' "$jobname" "$line" >>"$T/ran"
        echo "$line" >"$dir/.line-$i"
    done < <(lines "$jobname")
}
# rc DIR PATTERN: the exit code of the job line matching PATTERN
rc() {
    local f
    for f in "$1"/.line-*; do
        if grep -qE -- "$2" "$f"; then
            cat "$1/.rc/${f##*.line-}"
            return
        fi
    done
    echo missing
}
# all_zero DIR [EXCEPT_PATTERN]: every line exited 0 (but the one matching)
all_zero() {
    local f bad=""
    for f in "$1"/.line-*; do
        local n=${f##*.line-}
        [ -n "${2:-}" ] && grep -qE -- "$2" "$f" && continue
        [ "$(cat "$1/.rc/$n")" = 0 ] || bad="$bad [$(cat "$f"): $(cat "$1/.rc/$n"): $(head -c 300 "$1/.out/$n")]"
    done
    [ -z "$bad" ] || echo "$bad"
    [ -z "$bad" ]
}
# checkout DIR: what actions/checkout gives a job (fetch-depth 0)
checkout() { git clone -q "$T/origin.git" "$1"; }

# the project repository: the example project on main, pushed to origin
git init -q --bare "$T/origin.git"
cp -r "$ROOT/fixtures/example" "$T/project"
(cd "$T/project" && git init -q && git add -A && git commit -qm "the example project" &&
    git remote add origin "$T/origin.git" && git push -q origin main) || fail "setup"

# ---- 1. the first push to main ------------------------------------------
checkout "$T/j1"
export ALLOW_WIDENING=""
job "first push" deploy "$T/j1"
out=$(all_zero "$T/j1")
check "first push: every struere line of the deploy job exits 0" '[ -z "$out" ]' "$out"
P1=$(git --git-dir="$T/origin.git" rev-parse -q --verify refs/heads/struere/production)
D1=$(git --git-dir="$T/origin.git" rev-parse -q --verify refs/heads/struere/development)
check "first push: origin's production is its development commit" '[ -n "$P1" ] && [ "$P1" = "$D1" ]'
check "first push: origin has the eval branch" 'git --git-dir="$T/origin.git" rev-parse -q --verify refs/heads/struere/eval >/dev/null'

# ---- 2. a pull request that changes no access ---------------------------
checkout "$T/j2"
(cd "$T/j2" && sed -i 's/^  temperature: 0.3$/  temperature: 0.25/' agents/billing-assistant.yaml &&
    git commit -qam "billing assistant: cooler") || fail "pr 1: edit"
job "neutral pull request" review "$T/j2"
out=$(all_zero "$T/j2")
check "neutral pull request: every struere line exits 0, the gate too" '[ -z "$out" ]' "$out"
python3 - "$T/j2/struere-tests.xml" <<'PY' && pass "neutral pull request: the JUnit report parses, no failure" || fail "neutral pull request: the JUnit report parses, no failure"
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("testcase")
n = sum(1 for _ in cases)
bad = sum(1 for _ in root.iter("failure")) + sum(1 for _ in root.iter("error"))
sys.exit(0 if root.tag in ("testsuites", "testsuite") and n > 0 and bad == 0 else 1)
PY
check "neutral pull request: the review says access is unchanged" 'grep -q "^Effective access is unchanged\.$" "$T/j2/struere-review.md"'
check "neutral pull request: the review shows the field" 'grep -q "model.temperature" "$T/j2/struere-review.md"'
check "neutral pull request: nothing pushed" '[ "$(git --git-dir="$T/origin.git" rev-parse refs/heads/struere/development)" = "$D1" ]'

# ---- 3. a pull request that widens access -------------------------------
checkout "$T/j3"
(cd "$T/j3" && sed -i 's/^roles: \[learning-assistant\]$/roles: [learning-assistant, teacher]/' agents/homework-helper.md &&
    git commit -qam "homework helper: teacher role") || fail "pr 2: edit"
job "widening pull request" review "$T/j3"
out=$(all_zero "$T/j3" "--check no-new-access")
check "widening pull request: every other struere line exits 0" '[ -z "$out" ]' "$out"
check "widening pull request: the gate fails (exit 1)" '[ "$(rc "$T/j3" "--check no-new-access")" = 1 ]'
check "widening pull request: the review starts with Access widened" \
    'grep -m1 "^###" "$T/j3/struere-review.md" | grep -q "^### Access widened"'
check "widening pull request: the review names the agent" 'grep -q "agent \*\*homework-helper\*\* can now" "$T/j3/struere-review.md"'

# ---- 4. the widening merged ---------------------------------------------
(cd "$T/j3" && git push -q origin HEAD:main) || fail "merge"
checkout "$T/j4"
export ALLOW_WIDENING=""
job "merged widening" deploy "$T/j4"
out=$(all_zero "$T/j4" "^struere deploy")
check "merged widening: dev and the rest exit 0" '[ -z "$out" ]' "$out"
check "merged widening: the deploy is refused (exit 1)" '[ "$(rc "$T/j4" "^struere deploy")" = 1 ]'
check "merged widening: origin's production unmoved" '[ "$(git --git-dir="$T/origin.git" rev-parse refs/heads/struere/production)" = "$P1" ]'
checkout "$T/j5"
export ALLOW_WIDENING=--allow-widening
job "run by hand with allow widening" deploy "$T/j5"
out=$(all_zero "$T/j5")
check "allow widening: every line exits 0" '[ -z "$out" ]' "$out"
P2=$(git --git-dir="$T/origin.git" rev-parse refs/heads/struere/production)
D2=$(git --git-dir="$T/origin.git" rev-parse refs/heads/struere/development)
check "allow widening: origin's production is the new development commit" '[ "$P2" = "$D2" ] && [ "$P2" != "$P1" ]'

# ---- every struere line ran ---------------------------------------------
missing=$(python3 - "$T/jobs.json" "$T/ran" <<'PY'
import json, sys
jobs = json.load(open(sys.argv[1]))
ran = {tuple(l.rstrip("\n").split("\t", 1)) for l in open(sys.argv[2])}
for job, steps in jobs.items():
    for s in steps:
        if s["line"].lstrip().startswith("struere ") and (job, s["line"]) not in ran:
            print(job, s["line"])
PY
)
check "every struere line of the workflow ran" '[ -z "$missing" ]' "$missing"

echo "ci: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
