#!/usr/bin/env bash
# tests/ptest/run.sh STRUERE_BINARY
#
# Policy tests (`struere test`, tests/<slug>.test.yaml) end to end: the
# example project's suite passes with full coverage; the small project in
# cov/ gives the coverage numbers worked out by hand in README.md, per
# role, per item and in total, for several selections of its test files
# and environments, and --threshold around them; a failing suite
# (failing.test.yaml) prints exactly failing.expected; JSON and JUnit
# (junit_check.py: the JUnit schema's structure, counts and statuses);
# --bundle; bad inputs and usage with their exit codes; test files never
# change a bundle. Ends "ptest: N passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-ptest.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home NO_COLOR=1
unset STRUERE_API_KEY
mkdir -p "$HOME"
PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
expect() {
    local name=$1 rc=$2 pat=${3:-}
    if [ "$RC" != "$rc" ]; then
        fail "$name" "exit $RC, want $rc: $(head -c 400 "$T/err") $(head -c 400 "$T/out")"
    elif [ -n "$pat" ] && ! grep -qE -- "$pat" "$T/out"; then
        fail "$name" "no /$pat/ in: $(head -c 400 "$T/out")"
    else
        pass "$name"
    fi
}
expect_err() {
    if [ "$RC" = "$2" ] && grep -qE -- "$3" "$T/err"; then pass "$1"; else
        fail "$1" "exit $RC, stderr: $(head -c 400 "$T/err")"; fi
}
json_is() {
    if python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($2) else 1)" 2>"$T/pyerr"; then
        pass "$1"
    else
        fail "$1" "$(head -c 400 "$T/out") $(cat "$T/pyerr")"
    fi
}
# junit NAME [STATUSES]: the JUnit check of $T/out; its counts join ours.
junit() {
    python3 "$HERE/junit_check.py" "$T/out" ${2:+"$2"} >"$T/py" 2>&1
    grep '^FAIL' "$T/py"
    local line p f
    line=$(tail -n 1 "$T/py")
    p=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then fail "$1" "$(tail -c 500 "$T/py")"; return; fi
    echo "$1: $line"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
}
S=$BIN

# ---- the example project: its hand-written suite, full coverage -------
run "$S" -C "$ROOT/fixtures/example" test --coverage --threshold 100
expect "example: every case passes, 100% coverage, exit 0" 0 \
    '^policy tests \(eval\): 40 passed, 0 failed, 0 errors, 0 skipped$'
expect "example: total coverage line" 0 '^coverage: 53/53 \(100\.0%\)$'
run "$S" -C "$ROOT/fixtures/example" test --json
json_is "example --json: 40 cases, all pass, no coverage asked" \
    "d['environment'] == 'eval' and len(d['cases']) == 40 and all(c['status'] == 'pass' and c['failures'] == [] for c in d['cases']) and d['coverage'] is None"
json_is "example --json: cases carry file, line, column, suite" \
    "d['cases'][0]['file'] == 'tests/agents.test.yaml' and d['cases'][0]['line'] == 8 and d['cases'][0]['column'] == 5 and d['cases'][0]['suite'] == 'agents'"
# Outside eval there are no fixture records or relations: queries are
# skipped, and Alice's actor.relatedIds:teaches is empty, so the one case
# that needs it to grant a create fails there, as documented.
run "$S" -C "$ROOT/fixtures/example" test --env production
expect "example on production: queries skipped, exit 1" 1 \
    '^policy tests \(production\): 22 passed, 1 failed, 0 errors, 17 skipped$'
expect "example on production: the case that needs fixture relations fails" 1 \
    '^FAIL  tests/teacher-access\.test\.yaml:37:5: Alice writes a report for Sofia$'
expect "example on production: a skipped query says why" 1 \
    '^      skipped: a query needs the eval bundle.s fixture records$'

run "$S" -C "$ROOT/fixtures/example" check --summary
expect "check --summary: a line per test file with its cases" 0 '^test guardian-portal: 12 cases$'

# ---- struere init: the scaffolded test passes, covering its role -------
run "$S" init "$T/init"
expect "init: scaffolds tests/example.test.yaml" 0 '^created tests/example\.test\.yaml$'
run "$S" -C "$T/init" test --coverage --threshold 100
expect "init: its 5 cases pass" 0 '^policy tests \(eval\): 5 passed, 0 failed, 0 errors, 0 skipped$'
expect "init: they cover the scaffolded role's 4 items" 0 '^coverage: 4/4 \(100\.0%\)$'

# ---- coverage by hand (tests/ptest/README.md) -------------------------
P=$T/cov
cp -r "$HERE/cov" "$P"
# cov: "role/part" -> covered flags, from the JSON coverage
cov() {
    python3 - "$T/out" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = json.loads(sys.argv[2])
c = d["coverage"]
got = {"total": [c["covered"], c["total"], c["percent"]]}
for r in c["roles"]:
    got[r["role"]] = [r["covered"], r["total"], r["percent"]]
    for part in ("policies", "scopeRules", "fieldMasks"):
        got[r["role"] + "/" + part] = "".join(
            "+" if i["covered"] else "-" for i in r[part])
bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
if bad:
    print("FAIL %s: got/want %s" % (sys.argv[3], bad))
    sys.exit(1)
PY
}
check_cov() {
    if cov "$2" "$1" >"$T/covout" 2>&1; then pass "$1"; else
        fail "$1" "$(cat "$T/covout")"; fi
}
only() { # only FILE...: the project's tests/ holds just these test files
    rm -f "$P"/tests/*.test.yaml
    for f in "$@"; do cp "$HERE/cov/tests/$f.test.yaml" "$P/tests/"; done
}
only a
run "$S" -C "$P" test --json --coverage
expect "cov, suite a: exit 0" 0
check_cov "cov, suite a: 7/12 = 58.3%; writer 6/9, reader 1/3; item by item" \
    '{"total": [7, 12, 58.3], "writer": [6, 9, 66.7], "reader": [1, 3, 33.3],
      "writer/policies": "++--", "writer/scopeRules": "++-", "writer/fieldMasks": "++",
      "reader/policies": "-+", "reader/scopeRules": "", "reader/fieldMasks": "-"}'
run "$S" -C "$P" test --coverage --threshold 58.3
expect "cov, suite a: --threshold 58.3 (reached) exits 0" 0 '^coverage: 7/12 \(58\.3%\)$'
run "$S" -C "$P" test --coverage --threshold 58.4
expect_err "cov, suite a: --threshold 58.4 (missed) exits 1, says so" 1 \
    'coverage 58\.3% is below the threshold 58\.4%'
run "$S" -C "$P" test --threshold 90
expect_err "cov, suite a: --threshold without --coverage still gates" 1 \
    'below the threshold 90%'
if grep -q '^coverage' "$T/out"; then fail "cov: --threshold alone prints no coverage report"; else
    pass "cov: --threshold alone prints no coverage report"; fi
run "$S" -C "$P" test --coverage
expect "cov, suite a: text lists covered (+) and uncovered (-) items" 0 \
    '^    - policies\[3\] allow \* on users$'
expect "cov, suite a: text per role" 0 '^  role writer: 6/9 \(66\.7%\)$'
expect "cov, suite a: text names the scope rule" 0 \
    '^    \+ scopeRules\[0\] note: data\.owner eq actor\.userId$'

only a b
run "$S" -C "$P" test --json --coverage
check_cov "cov, suites a+b: 10/12 = 83.3%; the query covers reader's list and mask, a request without record no rule" \
    '{"total": [10, 12, 83.3], "writer": [7, 9, 77.8], "reader": [3, 3, 100.0],
      "writer/policies": "+++-", "writer/scopeRules": "++-", "writer/fieldMasks": "++",
      "reader/policies": "++", "reader/fieldMasks": "+"}'
run "$S" -C "$P" test --json --coverage --env development
check_cov "cov, a+b on development: the query is skipped, 8/12 = 66.7%" \
    '{"total": [8, 12, 66.7], "reader": [1, 3, 33.3], "reader/policies": "-+", "reader/fieldMasks": "-"}'
json_is "cov, a+b on development: one skipped case" "d['skipped'] == 1 and d['passed'] == 4"

only c
run "$S" -C "$P" test --json --coverage
check_cov "cov, suite c: out of scope covers the allow and both rules, no mask: 3/12 = 25%" \
    '{"total": [3, 12, 25.0], "writer/policies": "+---", "writer/scopeRules": "++-", "writer/fieldMasks": "--"}'

only a b c
run "$S" -C "$P" test --coverage --threshold 83.3
expect "cov, all: 83.3% reaches --threshold 83.3" 0 '^coverage: 10/12 \(83\.3%\)$'

# ---- a failing suite: exactly failing.expected ------------------------
cp "$HERE/failing.test.yaml" "$P/tests/d.test.yaml"
run "$S" -C "$P" test
expect "failing suite: exit 1" 1 '^policy tests \(eval\): 7 passed, 3 failed, 0 errors, 0 skipped$'
grep 'd\.test\.yaml' "$T/out" >"$T/d.out"
if diff -u "$HERE/failing.expected" "$T/d.out" >"$T/diff"; then
    pass "failing suite: each failure at its expectation's file:line:col, expected and actual"
else
    fail "failing suite: output differs from failing.expected" "$(cat "$T/diff")"
fi
run "$S" -C "$P" test --json
json_is "failing --json: counts" "d['passed'] == 7 and d['failed'] == 3 and d['errors'] == 0"
json_is "failing --json: decision failure, expected and actual" \
    "[f for c in d['cases'] if c['case'] == 'wrong decision' for f in c['failures']] == [{'file': 'tests/d.test.yaml', 'line': 8, 'column': 24, 'expectation': 'decision', 'expected': 'allow', 'actual': 'deny', 'message': \"decision: expected allow, got deny (Denied by role 'writer', policies[1] (deny delete on note))\"}]"
json_is "failing --json: field failures in order" \
    "[(f['expectation'], f['expected'], f['actual']) for c in d['cases'] if c['case'] == 'wrong fields' for f in c['failures']] == [('visible', 'data.secret', None), ('hidden', 'data.owner', 'u1'), ('masked', 'b1', '[redacted]')]"
json_is "failing --json: ids failure lists both, sorted" \
    "[(f['expected'], f['actual']) for c in d['cases'] if c['case'] == 'wrong ids' for f in c['failures']] == [(['n1'], ['n1', 'n2', 'n3'])]"
run "$S" -C "$P" test --format junit
expect "failing --format junit: exit 1" 1 '^<testsuites '
junit "failing --format junit: JUnit structure and statuses" \
    '{"a/u1 reads n1, secret hidden, body redacted": "pass", "a/u1 deletes nothing": "pass", "a/readers never touch tags": "pass", "b/the bot lists every note, secrets redacted": "pass", "b/writers read tags": "pass", "c/u1 cannot read u2'"'"'s note": "pass", "d/wrong decision": "fail", "d/wrong fields": "fail", "d/wrong ids": "fail", "d/runs fine": "pass"}'
expect "junit: a failure's text names file:line:col" 1 \
    'tests/d\.test\.yaml:16:17: visible: expected data\.secret in the record, but it is absent$'
expect "junit: the quote in a message is escaped" 1 'Denied by role &apos;writer&apos;'
run "$S" -C "$P" test --format junit --coverage
expect_err "junit --coverage: the coverage goes to stderr" 1 '^coverage: 10/12 \(83\.3%\)$'
rm "$P/tests/d.test.yaml"

run "$S" -C "$ROOT/fixtures/example" test --format junit
junit "example --format junit: structure"
run "$S" -C "$P" test --format junit --env development
junit "cov --format junit on development: structure (a skipped query)"
expect "junit: a skipped query" 0 '<skipped message="a query needs the eval bundle'

# ---- names that XML must escape ---------------------------------------
cat >"$P/tests/x.test.yaml" <<'YAML'
name: Escapes
slug: x
cases:
  - name: "a <b> & \"c\" 'd' \t tab"
    actor: {role: reader}
    action: delete
    resource: note
    expect: {decision: allow}
YAML
run "$S" -C "$P" test --format junit
junit "junit: a case name with < > & quotes and a tab stays well-formed"
rm "$P/tests/x.test.yaml"

# ---- --bundle ---------------------------------------------------------
"$S" -C "$P" build --out "$T/b" >/dev/null 2>&1 || fail "setup: build"
run "$S" -C "$P" test --bundle "$T/b/eval.stb"
expect "--bundle eval.stb: the cases pass on it" 0 '^policy tests \(eval\): 6 passed, 0 failed'
run "$S" -C "$P" test --bundle "$T/b/production.stb"
expect "--bundle production.stb: its environment, queries skipped" 0 \
    '^policy tests \(production\): 5 passed, 0 failed, 0 errors, 1 skipped$'
run "$S" -C "$P" test --bundle "$T/b/production.stb" --env eval
expect_err "--bundle with another --env: refused, exit 1" 1 'environment'
run "$S" -C "$P" test --bundle "$T/nope.stb"
expect_err "--bundle missing file: exit 3" 3 'nope\.stb'
"$S" init "$T/other" >/dev/null 2>&1
"$S" -C "$T/other" build --out "$T/ob" >/dev/null 2>&1
run "$S" -C "$P" test --bundle "$T/ob/eval.stb" --json
expect "--bundle of another project: cases that cannot run are errors, exit 1" 1
json_is "--bundle of another project: the missing role is named at the actor" \
    "d['errors'] == 6 and any('writer' in f['message'] and f['expectation'] == 'actor' and f['line'] == 5 for c in d['cases'] for f in c['failures'])"

# ---- test files never reach a bundle -----------------------------------
"$S" -C "$P" build --out "$T/with" >/dev/null 2>&1
mv "$P/tests" "$T/tests-aside"
"$S" -C "$P" build --out "$T/without" >/dev/null 2>&1
mv "$T/tests-aside" "$P/tests"
if cmp -s "$T/with/eval.stb" "$T/without/eval.stb" &&
    cmp -s "$T/with/development.stb" "$T/without/development.stb" &&
    cmp -s "$T/with/manifest.json" "$T/without/manifest.json"; then
    pass "bundles and manifest are the same with and without tests/"
else
    fail "bundles and manifest are the same with and without tests/"
fi

# ---- no tests; other files in tests/ are left alone ---------------------
mkdir -p "$T/empty" && cp -r "$P"/struere.yaml "$P"/data "$P"/roles "$T/empty/"
run "$S" -C "$T/empty" test
expect "no test files: says so, exit 0" 0 '^no policy tests: write them in tests/<slug>\.test\.yaml$'
run "$S" -C "$T/empty" test --threshold 50
expect "no test files: nothing covered, --threshold 50 fails" 1
mkdir -p "$T/empty/tests/unit"
echo '#!/bin/sh' >"$T/empty/tests/run.sh"
echo 'not: [yaml' >"$T/empty/tests/fixture.test.yml"
echo 'x' >"$T/empty/tests/unit/a.test.yaml"
run "$S" -C "$T/empty" check
expect "other files in tests/ (scripts, .test.yml, subdirectories) are ignored silently" 0 '^ok: 4 definitions'
if [ -s "$T/err" ] || grep -q warning "$T/out"; then fail "tests/: no stray-file warning" "$(cat "$T/out" "$T/err")"; else
    pass "tests/: no stray-file warning"; fi

# ---- bad inputs ---------------------------------------------------------
cp -r "$P" "$T/bad"
cat >"$T/bad/tests/bad.test.yaml" <<'YAML'
name: Bad
slug: bad
cases:
  - name: typo
    actor: {role: wrier}
    action: read
    resource: note
    expect: {decision: allow}
YAML
run "$S" -C "$T/bad" test
expect_err "an invalid test file: located diagnostic, nothing run, exit 1" 1 \
    "^tests/bad\.test\.yaml:5:19: error: role 'wrier' does not exist \[unknown-role\]$"
if [ -s "$T/out" ]; then fail "an invalid test file: no case is run" "$(cat "$T/out")"; else
    pass "an invalid test file: no case is run"; fi
run "$S" -C "$T/bad" check
expect "struere check reports the test file too (exit 1)" 1 'unknown-role'

for a in "--format xml" "--threshold abc" "--threshold 101" "--threshold -1" "--env staging" "--bogus" "--env" "extra"; do
    # shellcheck disable=SC2086
    run "$S" -C "$P" test $a
    if [ "$RC" = 2 ] && [ -s "$T/err" ]; then pass "usage: test $a -> exit 2"; else
        fail "usage: test $a -> exit 2" "exit $RC"; fi
done
run "$S" test --help
expect "--help: exit 0, usage first" 0 '^usage: struere test '
for w in '--env eval\|development\|production' '--bundle FILE' '--format text\|json\|junit' \
    '--coverage' '--threshold PERCENT' '^Exit 0' '2 usage' '3 I/O'; do
    if grep -qE -- "$w" "$T/out"; then pass "--help mentions $w"; else fail "--help mentions $w"; fi
done
run "$S" --help
expect "main help lists test" 0 '^  test \[--coverage\]'

echo "ptest: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
