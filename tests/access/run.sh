#!/usr/bin/env bash
# tests/access/run.sh STRUERE_BINARY
#
# `struere access` end to end on a real store made from the example
# project: the hand-written expectations of expected.table (expected.py),
# the differential against `struere can` over every subject, resource,
# action and eval fixture record (differential.py), the formats, the
# options and the exit codes; the access changes of `struere diff`: the
# catalogue of hand-made edits (catalogue.py), random projects randomly
# edited, checked against can (random_edits.py), --check no-new-access, the
# md/html/json reports (values as code: md_report.py), and deploy's gate on
# widening; what subjects set off through automations (automations.py).
# Ends "access: N passed, M failed".
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
# skip WHY: checks not run here, counted apart (never as passed).
SKIPS=
skip() {
    echo "SKIP $1"
    SKIPS="$SKIPS$1
"
}
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

# ---- diff across environments --------------------------------------------
# eval holds other kinds (suites, fixtures, no automations): comparing its
# bundle with another environment's is said to be no promotion's difference
run "$S" diff "$T/b/production.stb" "$T/b/eval.stb"
expect_err "diff of a production and an eval bundle: warned, exit 0" 0 \
    "^struere: warning: $T/b/eval.stb is an eval bundle and $T/b/production.stb a production bundle: .*no deploy makes this difference$"
run "$S" diff "$T/b/production.stb" "$T/b/development.stb"
if [ "$RC" = 0 ] && ! grep -q warning "$T/err"; then pass "diff of production and development bundles: no warning"; else
    fail "diff of production and development bundles: no warning" "exit $RC: $(head -c 300 "$T/err")"; fi

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
# production never deployed is an empty production environment: beside
# eval it is warned about as any production bundle is
run "$S" diff production eval
expect_err "diff production eval before any deploy: warned, exit 0" 0 \
    "^struere: warning: eval \([0-9a-f]{12}\) is an eval bundle and production \(never deployed\) a production bundle: .*no deploy makes this difference$"
run "$S" diff eval production
expect_err "diff eval production before any deploy: warned, exit 0" 0 \
    "^struere: warning: eval \([0-9a-f]{12}\) is an eval bundle and production \(never deployed\) a production bundle: "

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
expect "md: a table row" 0 '^\| teacher \| read \| guardian#policies\[5\] \| every row \| `data.hourlyRate` hide'
expect "md: a scope, as code" 0 '^\| session \| read \| guardian#policies\[2\] \| `\{"anyOf":\['
run "$S" access --role guardian --format html
expect "html: a heading per subject" 0 '^<h2>role:guardian</h2>'
expect "html: an allowed pair, text escaped" 0 '^<li>read teacher by guardian#policies\[5\]; rows: every row; masks: <code>data.hourlyRate</code> hide; <code>data.address</code> hide; <code>data.phone</code> redact <code>&quot;\*\*\*&quot;</code></li>'
if grep -q '|' "$T/out"; then fail "html: no raw table pipes"; else pass "html: no raw table pipes"; fi

# values holding backticks, Markdown, HTML, '|' and a line end stay code
# in the md and html reports of diff and access
mkdir -p "$T/md"
py "md report" "$HERE/md_report.py" "$S" "$T/md"

# ---- diff: the access changes, the gate, deploy ------------------------
py "catalogue" "$HERE/catalogue.py" "$S" "$T/catalogue"
# random projects, randomly edited (ACCESS_ROUNDS, ACCESS_SEED for more)
mkdir -p "$T/random"
py "random edits" "$HERE/random_edits.py" "$S" "$T/random" "${ACCESS_ROUNDS:-12}" "${ACCESS_SEED:-20261202}"
# what subjects set off through automations (access and diff)
mkdir -p "$T/automations"
py "automations" "$HERE/automations.py" "$S" "$T/automations"
run "$S" deploy --yes
expect "the first deploy is not refused for widening" 0 'Access widened'
PROD0=$(git rev-parse struere/production)
# without --env each side is its own environment's bundle: production's
# of the production branch against eval's of the eval branch (warned)
run "$S" diff production eval
expect_err "diff production eval: each side's own bundle, warned, exit 0" 0 \
    "^struere: warning: eval \([0-9a-f]{12}\) is an eval bundle and production \([0-9a-f]{12}\) a production bundle: "
grep -qE '^production \([0-9a-f]{12}\)\.\.eval \([0-9a-f]{12}\): [1-9][0-9]* definitions differ$' "$T/out" &&
    pass "diff production eval: the eval suites and fixtures differ" ||
    fail "diff production eval: the eval suites and fixtures differ" "$(head -c 300 "$T/out")"
# a revision beside eval: eval's bundle of it, not an error
run "$S" diff eval struere/eval
expect "diff eval struere/eval: eval's bundle on both sides, the same" 0 \
    '^eval \([0-9a-f]{12}\)\.\.struere/eval \([0-9a-f]{12}\): 0 definitions differ$'
if grep -q warning "$T/err"; then fail "diff eval struere/eval: no warning" "$(head -c 300 "$T/err")"; else pass "diff eval struere/eval: no warning"; fi
# a revision is read for the bundle its commit holds: production's when
# there is one, else eval's (an eval commit holds eval's alone)
run "$S" diff struere/eval production
expect_err "diff struere/eval production: the eval commit's own bundle, warned" 0 \
    "^struere: warning: struere/eval \([0-9a-f]{12}\) is an eval bundle and production \([0-9a-f]{12}\) a production bundle: "
run "$S" diff eval struere/production
expect_err "diff eval struere/production: the production commit's production bundle, warned" 0 \
    "^struere: warning: eval \([0-9a-f]{12}\) is an eval bundle and struere/production \([0-9a-f]{12}\) a production bundle: "
run "$S" diff --env eval production eval
expect_err "diff --env eval production eval: production holds no eval bundle (exit 1)" 1 \
    "^struere: production: commit [0-9a-f]{12} has no bundles/eval.stb"
run "$S" diff --check no-new-access
expect "--check: production = development: no new access (0)" 0 'no new access'
# the learning assistant reads cancelled sessions too, and student
# addresses redacted instead of hidden; the homework helper holds it.
python3 - roles/learning-assistant.yaml <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("""  - entityType: session
    field: data.status
    operator: neq
    value: literal:cancelled
""", "")
s = s.replace("""    fieldPath: data.address
    maskType: hide""", """    fieldPath: data.address
    maskType: redact
    maskConfig:
      replacement: "(on file)\"""")
open(p, "w").write(s)
PY
"$S" dev >/dev/null 2>&1 || fail "dev after the edit"
run "$S" diff --check no-new-access
expect "--check: widening exits 1" 1 '^production .*: access widens$'
expect "--check: says who gains what" 1 '^    \+ agent homework-helper can read session on more rows: rows where data.status != "cancelled" -> every row$'
expect "--check: a mask relaxed" 1 '^    \+ role learning-assistant can list student with data.address redacted as "\(on file\)" \(was hidden\)$'
if grep -q 'Access narrowed' "$T/out"; then fail "--check prints only what widens"; else pass "--check prints only what widens"; fi
run "$S" diff --check no-new-access development production
expect "--check the other way: only narrowing (0)" 0 'no new access'
run "$S" diff --check something-else
expect_err "--check takes only no-new-access (2)" 2 "no-new-access"
run "$S" diff --format json
json_is "diff json: widens, and 8 access changes (2 subjects x read, list x scope, mask)" \
    "d['widens'] is True and len(d['access']) == 8 and all(c['widens'] for c in d['access']) and sorted(set(c['subject'] for c in d['access'])) == ['agent:homework-helper', 'role:learning-assistant']"
json_is "diff json: the scope change from/to" \
    "[c for c in d['access'] if c['change'] == 'scope-widened' and c['resource'] == 'session' and c['action'] == 'read' and c['subject'] == 'role:learning-assistant'][0]['to'] is None"
json_is "diff json: no per-role permissions object" \
    "all('permissions' not in c for c in d['changes'])"
run "$S" diff --format md
expect "md: widening first" 0 '^\*\*This change widens access.\*\*$'
python3 - "$T/out" <<'PY' && pass "md: Access widened, then Definitions" || fail "md: Access widened, then Definitions"
import sys
t = open(sys.argv[1]).read()
a, d = t.find("### Access widened (8)"), t.find("### Definitions")
sys.exit(0 if 0 <= a < d else 1)
PY
expect "md: a change in words" 0 '^- role \*\*learning-assistant\*\* can `read session` on more rows: rows where `data.status != "cancelled"` → every row$'
run "$S" diff --format html
expect "html: Access widened heading" 0 '^<h3>Access widened \(8\)</h3>$'
run "$S" deploy --yes
expect_err "deploy --yes refuses to widen access (1)" 1 'widens access .*--allow-widening to deploy it anyway'
if [ "$(git rev-parse struere/production)" = "$PROD0" ]; then pass "refused: production unmoved"; else fail "refused: production unmoved"; fi
expect "refused: the widening was shown" 1 '^Access widened \(8 changes\):$'
run "$S" deploy --dry-run
expect "deploy --dry-run shows it (0)" 0 '^Access widened'
if command -v script >/dev/null; then
    printf 'n\n' | script -qec "$S deploy" /dev/null >"$T/out" 2>&1
    RC=$?
    expect "at a terminal: asks with the widening shown" 0 'This WIDENS ACCESS \(above\)\. Move production to [0-9a-f]{12} anyway\? \[y/N\]'
    if [ "$(git rev-parse struere/production)" = "$PROD0" ]; then pass "answered no: production unmoved"; else fail "answered no: production unmoved"; fi
else
    skip "deploy at a terminal: no script(1)"
fi
run "$S" deploy --yes --allow-widening
expect "deploy --yes --allow-widening moves production" 0 'production: .* -> '
[ "$(git rev-parse struere/production)" = "$(git rev-parse struere/development)" ] && pass "production = development" || fail "production = development"
run "$S" rollback --yes
expect "rollback to the previous production is not gated" 0 'Access narrowed'
run "$S" rollback --yes --to "$(git rev-parse struere/development)"
expect_err "rollback --to a commit that widens: gated (1)" 1 'widens access .*--allow-widening to roll back anyway'
run "$S" rollback --yes --to "$(git rev-parse struere/development)" --allow-widening
expect "rollback --to --allow-widening" 0 'production: '

# ---- an automation alone widens access ---------------------------------
# Teachers may create progress reports; a new automation on that write
# updates the lesson, with cascade, so bill-completed-session (on update
# session) creates a payment: teachers, whose role denies every payment
# action, now set off a payment's creation (as the system actor).
cat >automations/close-on-report.yaml <<'EOF'
name: Close On Report
slug: close-on-report
on:
  entityType: progress-report
  action: created
actions:
  - tool: entity.update
    args:
      id: "{{trigger.data.sessionId}}"
      type: session
      data:
        status: completed
      cascade: true
EOF
# deploy_refused CASE PATTERN: after dev, deploy --yes refuses to widen
# access without --allow-widening, and shows what widens (PATTERN).
deploy_refused() {
    "$S" dev >/dev/null 2>&1 || fail "$1: dev"
    run "$S" deploy --yes
    expect_err "$1: deploy --yes refuses (1)" 1 'widens access .*--allow-widening'
    expect "$1: refused, showing what widens" 1 "$2"
}
# deploy_passes CASE: after dev, deploy --yes moves production.
deploy_passes() {
    "$S" dev >/dev/null 2>&1 || fail "$1: dev"
    run "$S" deploy --yes
    expect "$1: not gated" 0 'production: '
}
deploy_refused "an automation that widens access" '^  \+ role teacher now sets off automation close-on-report \(on create progress-report\), which does create payment on every row, with no mask, as the system actor \(by bill-completed-session#actions\[2\]\)$'
run "$S" diff --check no-new-access
expect "--check: an automation alone widens (1)" 1 'role teacher now sets off automation close-on-report'
rm automations/close-on-report.yaml
deploy_passes "the automation removed"

# ---- a custom tool's handler alone widens access -----------------------
# bill-completed-session calls create_payment_link, whose handler reaches
# Stripe alone. A handler that also updates a record through struere lets
# every subject that sets the automation off (a teacher marking a lesson
# completed) update any record, as the system actor. Only the tool
# changes: no agent, role, data type or automation.
cp tools/create_payment_link.yaml "$T/link.yaml"
sed -i 's/^  return { id: link.id, url: link.url }$/  await struere.entity.update({ id: args.reference, type: "session", data: { linked: true } })\n&/' tools/create_payment_link.yaml
grep -q 'await struere.entity.update' tools/create_payment_link.yaml && pass "the handler now updates a record" || fail "the handler now updates a record"
deploy_refused "a handler that widens access" '^  \+ role teacher now sets off automation bill-completed-session \(on update session\), which does update \* .*\(by bill-completed-session#actions\[1\] via tool create_payment_link\)$'
run "$S" rollback --yes --to "$(git rev-parse struere/development)"
expect_err "rollback --to the commit whose handler widens: gated (1)" 1 'widens access'
run "$S" diff --check no-new-access
expect "--check: a handler alone widens (1)" 1 'via tool create_payment_link'
cp "$T/link.yaml" tools/create_payment_link.yaml
deploy_passes "the handler as it was"

# ---- a NUL in a definition never reaches a commit -----------------------
# A NUL (a YAML "\0") in a name once made the review trees unreadable to
# deploy's gate; now the loader refuses it, so dev commits nothing and the
# gate never meets one.
cp roles/teacher.yaml "$T/teacher.yaml"
DEVBEFORE=$(git rev-parse struere/development)
sed -i 's/^name: Teacher$/name: "Teacher\\0"/' roles/teacher.yaml
sed -i 's/^    actions: \[list, read, update\]$/    actions: [list, read, update, delete]/' roles/teacher.yaml
grep -q '^name: "Teacher\\0"$' roles/teacher.yaml && pass "the role's name holds a NUL" || fail "the role's name holds a NUL"
run "$S" dev
expect_err "dev refuses a NUL in a role's name (1)" 1 'roles/teacher.yaml:[0-9]+:[0-9]+: error: the escape \\0 writes a NUL.*\[nul-character\]'
[ "$(git rev-parse struere/development)" = "$DEVBEFORE" ] && pass "a refused NUL leaves development where it was" || fail "a refused NUL leaves development where it was"
cp "$T/teacher.yaml" roles/teacher.yaml

# ---- deploy believes only review trees this store's dev wrote ----------
# Development takes commits without signatures: a commit whose review/ is
# an older commit's, beside a bundle that lets guardians delete, must not
# be shown (and gated) as "unchanged".
PROD1=$(git rev-parse struere/production)
OLDDEV=$(git rev-parse struere/development)
cp roles/guardian.yaml "$T/guardian.yaml"
python3 - roles/guardian.yaml <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = '  - resource: "*"\n    actions: [delete]\n    effect: deny\n'
assert old in s
open(p, "w").write(s.replace(old, old.replace("deny", "allow")))
PY
"$S" dev >/dev/null 2>&1 || fail "dev: guardians may delete"
NEWDEV=$(git rev-parse struere/development)
git ls-tree "$NEWDEV" | python3 -c '
import sys
old = sys.argv[1]
for line in sys.stdin:
    meta, name = line.rstrip("\n").split("\t")
    mode, kind, _ = meta.split()
    print(f"{mode} {kind} {old}\t{name}" if name == "review" else line, end="" if name != "review" else "\n")
' "$(git rev-parse "$OLDDEV:review")" >"$T/forged.tree"
FORGED=$(git -c user.name=t -c user.email=t@localhost commit-tree "$(git mktree <"$T/forged.tree")" -p "$NEWDEV" -m forged)
git update-ref refs/heads/struere/development "$FORGED"
if [ "$(git rev-parse "$FORGED:review")" = "$(git rev-parse "$OLDDEV:review")" ] &&
    [ "$(git rev-parse "$FORGED:bundles")" = "$(git rev-parse "$NEWDEV:bundles")" ]; then
    pass "forged: the new bundles beside the old review tree"
else
    fail "forged: the new bundles beside the old review tree"
fi
run "$S" deploy --yes
expect_err "forged review: deploy --yes refuses to widen (1)" 1 'widens access .*--allow-widening'
expect "forged review: the widening shown from the bundles" 1 '^  \+ role guardian can now delete student '
expect "forged review: the definition shown from the bundles" 1 '^~ role guardian$'
[ "$(git rev-parse struere/production)" = "$PROD1" ] && pass "forged review: production unmoved" || fail "forged review: production unmoved"
run "$S" deploy --dry-run
# seven deletes, and deleting a session sets off
# notify-tutor-of-cancellation (on delete session), which reads records
expect "forged review: --dry-run shows the widening" 0 '^Access widened \(8 changes\):$'
expect "forged review: --dry-run shows the automation set off" 0 '^  \+ role guardian now sets off automation notify-tutor-of-cancellation \(on delete session\), which does read \* \(any data type\)'
# The same bundles beside the older commit's review/ and sources: the
# victim's next dev, its files unchanged since that older commit, must not
# reuse what the forged commit holds (and so record it as its own).
git ls-tree "$NEWDEV" | python3 -c '
import sys
old = dict(zip(("review", "sources"), sys.argv[1:]))
for line in sys.stdin:
    meta, name = line.rstrip("\n").split("\t")
    mode, kind, oid = meta.split()
    print(f"{mode} {kind} {old.get(name, oid)}\t{name}")
' "$(git rev-parse "$OLDDEV:review")" "$(git rev-parse "$OLDDEV:sources")" >"$T/forged2.tree"
FORGED2=$(git -c user.name=t -c user.email=t@localhost commit-tree "$(git mktree <"$T/forged2.tree")" -p "$NEWDEV" -m forged)
git update-ref refs/heads/struere/development "$FORGED2"
cp "$T/guardian.yaml" roles/guardian.yaml
run "$S" dev
expect "forged parent: dev compiles the files as they are (0)" 0
git show struere/development:bundles/production.stb >"$T/after-forged.stb"
run "$S" can delete student --as user:u1 --role guardian --bundle "$T/after-forged.stb"
expect "forged parent: the new bundle denies what guardian.yaml denies (1)" 1 "^deny: Denied by role 'guardian'"
run "$S" deploy --dry-run
if [ "$RC" = 0 ] && ! grep -q 'Access widened' "$T/out"; then
    pass "forged parent: deploy shows no widening (the files widen nothing)"
else
    fail "forged parent: deploy shows no widening" "$(head -c 300 "$T/out")"
fi
git update-ref refs/heads/struere/development "$OLDDEV"
# The organization id is read by rules on actor.organizationId (the AI
# assistant's students), though no definition changes.
sed -i 's/^  id: org_acme_tutoring$/  id: org_other/' struere.yaml
"$S" dev >/dev/null 2>&1 || fail "dev: another organization id"
run "$S" deploy --dry-run
expect "organization changed: access shown changed, with the two ids" 0 '^  \+ role ai-assistant can read student on other rows \(not provably fewer\): rows where data.locationId = "org_acme_tutoring" -> rows where data.locationId = "org_other"$'
expect "organization changed: no definition differs" 0 ': 0 definitions differ$'
run "$S" diff --check no-new-access
expect "organization changed: --check exits 1" 1 'access widens'

# ---- a data type removed under a deny on every type ---------------------
# role r denies everything on every type: removing a type takes nothing
# from anyone (no one does anything with it any more), so nothing widens.
for side in one two; do
    mkdir -p "$T/types-$side/roles" "$T/types-$side/data"
    printf 'name: t\nversion: 1.0.0\n' >"$T/types-$side/struere.yaml"
    printf 'name: R\nslug: r\npolicies:\n  - resource: "*"\n    actions: ["*"]\n    effect: deny\n' \
        >"$T/types-$side/roles/r.yaml"
    printf 'name: Ticket\nslug: ticket\nschema:\n  type: object\n  properties:\n    a: {type: string}\n' \
        >"$T/types-$side/data/ticket.yaml"
done
printf 'name: Invoice\nslug: invoice\nschema:\n  type: object\n  properties:\n    a: {type: string}\n' \
    >"$T/types-one/data/invoice.yaml"
"$S" -C "$T/types-one" build --out "$T/types-one/dist" >/dev/null 2>&1 &&
    "$S" -C "$T/types-two" build --out "$T/types-two/dist" >/dev/null 2>&1 ||
    fail "types: build"
run "$S" diff "$T/types-one/dist/production.stb" "$T/types-two/dist/production.stb" --format json
json_is "a type removed under a deny on every type: no deny change, nothing widens" \
    "d['access'] == [] and d['widens'] is False"
run "$S" diff "$T/types-one/dist/production.stb" "$T/types-two/dist/production.stb" --check no-new-access
expect "... and --check no-new-access passes (0)" 0 'no new access'
run "$S" diff "$T/types-two/dist/production.stb" "$T/types-one/dist/production.stb" --format json
json_is "a type added under a deny on every type: no deny change either" \
    "d['access'] == []"

# ---- a ref moved while access and inspect read it -----------------------
# The revision is resolved once: the commit a report names is the one its
# bundle was read from, however the ref moves meanwhile (a deploy, a dev,
# by hand). Development goes back and forth between two commits, one with
# a role the other lacks, as fast as git moves it, during 40 runs of each.
A=$(git rev-parse struere/development)
sed 's/^slug: staff$/slug: zz-extra/; s/^name: .*/name: Extra/' roles/staff.yaml >roles/zz-extra.yaml
"$S" dev >/dev/null 2>&1 || fail "moved ref: dev with a new role"
B=$(git rev-parse struere/development)
# move_start BRANCH X Y: the branch moved from X to Y and back, as fast as
# git can, in the background; move_stop BRANCH AT: stopped, left at AT.
move_start() {
    (while :; do
        git update-ref "refs/heads/struere/$1" "$2"
        git update-ref "refs/heads/struere/$1" "$3"
    done) 2>/dev/null &
    MOVER=$!
}
move_stop() {
    kill "$MOVER"
    wait "$MOVER" 2>/dev/null
    git update-ref "refs/heads/struere/$1" "$2"
}
move_start development "$A" "$B"
moved_bad=0 moved_runs=0
for i in $(seq 40); do
    "$S" access --format json >"$T/moved.json" 2>/dev/null &&
        "$S" inspect development --json >"$T/moved-inspect.json" 2>/dev/null ||
        continue
    moved_runs=$((moved_runs + 1))
    python3 - "$A" "$B" "$T/moved.json" "$T/moved-inspect.json" <<'PY' || moved_bad=$((moved_bad + 1))
import json, sys
a, b = sys.argv[1], sys.argv[2]
d = json.load(open(sys.argv[3]))
has = "role:zz-extra" in [s["subject"] for s in d["subjects"]]
i = json.load(open(sys.argv[4]))
has_i = "zz-extra" in i["definitions"]["role"]
ok = d["commit"] in (a, b) and (d["commit"] == b) == has
ok = ok and ("(%s)" % b[:12] in i["bundle"]) == has_i
sys.exit(0 if ok else 1)
PY
done
move_stop development "$B"
if [ "$moved_runs" -gt 0 ] && [ "$moved_bad" = 0 ]; then
    pass "a ref moved meanwhile: each report names the commit it read ($moved_runs runs)"
else
    fail "a ref moved meanwhile: each report names the commit it read" "$moved_bad of $moved_runs runs named another"
fi
# inspect's promotion check hashes the bundle it read against the latest
# statement: production deployed at P (its statement names P) goes back
# and forth with B (no statement names it). Each answer that names P
# verifies, each that names B does not: never the bundle of one commit
# checked as the other.
P=$(git rev-parse -q --verify struere/production)
move_start production "$P" "$B"
moved_bad=0 moved_runs=0
for i in $(seq 40); do
    "$S" inspect production --json >"$T/moved-inspect.json" 2>/dev/null || continue
    moved_runs=$((moved_runs + 1))
    python3 - "$P" "$T/moved-inspect.json" <<'PY' || moved_bad=$((moved_bad + 1))
import json, sys
d = json.load(open(sys.argv[2]))
sys.exit(0 if ("(%s)" % sys.argv[1][:12] in d["bundle"]) ==
         d["promotion"]["verifies"] else 1)
PY
done
move_stop production "$P"
if [ -n "$P" ] && [ "$moved_runs" -gt 0 ] && [ "$moved_bad" = 0 ]; then
    pass "production moved meanwhile: inspect checks the statement against the bundle it read ($moved_runs runs)"
else
    fail "production moved meanwhile: inspect checks the statement against the bundle it read" "production '$P': $moved_bad of $moved_runs runs wrong"
fi

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
run "$S" access "$T/nowhere/production.stb"
expect_err "a bundle file that is not there: I/O (3), said as such" 3 "nowhere/production.stb: No such file"
run "$S" access ./nowhere
expect_err "a path (./) that is not there: I/O (3), not an unknown revision" 3 "nowhere: No such file"
run "$S" --help
expect "struere --help lists access" 0 '^  access \[REV\|FILE\]'

[ -z "$SKIPS" ] || printf '%s' "$SKIPS" | sort | uniq -c |
    sed -E 's/^ *([0-9]+) /\1 skipped: /'
echo "access: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
