#!/usr/bin/env bash
# tests/runtime-cli/run.sh STRUERE_BINARY
#
# The runtime-facing commands end to end (get, can, query, prompt, fire,
# eval) on a real store made from the example project (dev, deploy, keys):
# what they print, their JSON shapes (DESIGN §3), exit codes, usage
# errors and bad keys. Ends "runtime-cli: N passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-rtcli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY NO_COLOR
mkdir -p "$HOME"
PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
# expect NAME RC [PATTERN-in-stdout]: checks the last run.
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
# expect_err NAME RC PATTERN-in-stderr
expect_err() {
    if [ "$RC" = "$2" ] && grep -qE -- "$3" "$T/err"; then pass "$1"; else
        fail "$1" "exit $RC, stderr: $(head -c 300 "$T/err")"; fi
}
# json_is NAME PYTHON-EXPR: evaluates EXPR with `d` = the JSON on stdout.
json_is() {
    if python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($2) else 1)" 2>"$T/pyerr"; then
        pass "$1"
    else
        fail "$1" "$(head -c 300 "$T/out") $(cat "$T/pyerr")"
    fi
}

S=$BIN
cp -r "$ROOT/fixtures/example" "$T/store"
cd "$T/store" || exit 1
git init -q
"$S" dev >/dev/null 2>&1 && "$S" deploy --yes >/dev/null 2>&1 || fail "setup: dev + deploy"
PROD=$("$S" keys create --env production --name t 2>/dev/null)
DEV=$("$S" keys create --env development --name t 2>/dev/null)
EVAL=$("$S" keys create --env eval --name t 2>/dev/null)
"$S" build --out "$T/b" >/dev/null 2>&1

# ---- opening -----------------------------------------------------------
run "$S" get agent front-desk
expect_err "no key: usage error naming STRUERE_API_KEY" 2 "STRUERE_API_KEY"
run env STRUERE_API_KEY=sk_prod_nope "$S" get agent front-desk
expect_err "a malformed key is refused (exit 1)" 1 "cannot open with this key"
run env STRUERE_API_KEY="${PROD}x" "$S" get agent front-desk
expect_err "an unknown key is refused (exit 1)" 1 "cannot open with this key"
if grep -q "${PROD#sk_prod_}" "$T/err"; then fail "the key is not echoed in errors"; else pass "the key is not echoed in errors"; fi
"$S" keys revoke "$(printf %s "$DEV" | cut -c1-13)" >/dev/null 2>&1
run env STRUERE_API_KEY="$DEV" "$S" get agent front-desk
expect_err "a revoked key is refused" 1 "revoked"
run "$S" get agent front-desk --key "$PROD"
expect "--key opens too" 0 '"name": "Front Desk"'
(cd agents && STRUERE_API_KEY=$PROD "$S" get agent front-desk >"$T/out" 2>"$T/err")
RC=$?
expect "from a subdirectory: the enclosing repository is the store" 0 '"name": "Front Desk"'
run env STRUERE_API_KEY="$PROD" "$S" -C / get agent front-desk
expect_err "outside any repository: says so" 3 "not inside a git repository"
run env STRUERE_API_KEY="$PROD" "$S" --store "$T/store/.git" get agent front-desk
expect "--store names the repository" 0 '"name": "Front Desk"'
run "$S" get agent front-desk --bundle "$T/b/development.stb"
expect "--bundle opens a bundle file without a key" 0 '"name": "Front Desk"'
run "$S" -C "$T" get agent front-desk --bundle b/eval.stb
expect "--bundle is relative to -C" 0 '"name": "Front Desk"'
export STRUERE_API_KEY=$PROD

# ---- get ---------------------------------------------------------------
run "$S" get agent front-desk
expect "get agent: production's model (overlay applied)" 0 '"model": "anthropic/claude-opus-4-1"'
expect "get agent: tools with parameter schemas" 0 '"parameters"'
run "$S" get agent front-desk --json
expect "get --json: one line of canonical JSON" 0 '^\{"description":'
json_is "get --json parses, holds roles and the prompt" "d['roles']==['ai-assistant'] and 'systemPrompt' in d"
for k in data:guardian role:staff tool:price_list automation:send-invoice; do
    run "$S" get "${k%%:*}" "${k#*:}" --json
    json_is "get ${k%%:*} ${k#*:}" "d.get('slug', d.get('name'))=='${k#*:}'"
done
run "$S" get role nobody
expect_err "get: unknown slug (exit 1)" 1 "no role 'nobody' in the production bundle"
run "$S" get widget x
expect_err "get: unknown kind (exit 2)" 2 "unknown kind 'widget'"
run "$S" get eval front-desk-basics
expect_err "get eval in production: not there" 1 "no eval 'front-desk-basics'"
run env STRUERE_API_KEY="$EVAL" "$S" get eval front-desk-basics --json
json_is "get eval with an eval key: the suite and its cases" "d['agent']=='front-desk' and len(d['cases'])==4"
run env STRUERE_API_KEY="$EVAL" "$S" get fixture austin-families --json
json_is "get fixture with an eval key" "len(d['entities'])>10"

# ---- can ---------------------------------------------------------------
run "$S" can delete payment --as user:user_maria_martinez --role guardian
expect "can: deny exits 1 and says why" 1 "^deny: Denied by role 'guardian', policies\[6\] \(deny delete on \*\)"
run "$S" can read payment --as user:user_maria_martinez --role guardian --json
expect "can --json: allow exits 0" 0
json_is "can --json: the DESIGN §3 shape" "list(d)==['decision','reason','role','predicate','mask','record'] and d['decision']=='allow' and d['role']=='guardian' and d['record'] is None"
json_is "can --json: predicate with the actor's values" "d['predicate']['anyOf'][0]['allOf'][0]=={'field':'data.guardianId','operator':'eq','value':None}"
run "$S" can read teacher --as agent:front-desk --json
json_is "can: an agent acts with its roles; masks listed" "d['role']=='ai-assistant' and {'field':'data.hourlyRate','mask':'hide'} in d['mask']"
run "$S" can delete payment --as admin --json
json_is "can: admin allows everything" "d['decision']=='allow' and d['predicate'] is True"
run "$S" can delete payment --as system
expect "can: system allows everything" 0 "^allow: The system actor"
run "$S" can read payment --as user:nobody
expect "can: a user without roles is denied" 1 "^deny: Actor has no roles"
cat >"$T/rec.json" <<'R'
{"_id":"t1","type":"teacher","status":"active","data":{"name":"T","email":"t@acmetutoring.com","hourlyRate":40,"phone":"+1","address":{"city":"Austin"}}}
R
run "$S" can read teacher --as user:user_maria_martinez --role guardian --record "$T/rec.json" --json
json_is "can --record: the record as the actor sees it (hide, redact)" "d['record']['data']=={'name':'T','email':'t@acmetutoring.com','phone':'***'}"
# an answer longer than the line kept on the stack (rtout.c: 4 KiB), of a
# record with escapes and non-ASCII text: the record comes back the same
python3 -c "
import json
rec = {'_id': 't9', 'type': 'teacher', 'status': 'active',
       'data': {'name': 'N' * 9000, 'email': 'x@acmetutoring.com', 'phone': '+1',
                'note': 'caf\\u00e9 \\\\ \\\" \\u0001 \\ud83d\\ude00'}}
print(json.dumps(rec))" >"$T/rec9.json"
run "$S" can read teacher --as admin --record "$T/rec9.json" --json
json_is "can --record: an answer over 4 KiB, the record whole" \
    "d['decision']=='allow' and d['record']==json.load(open('$T/rec9.json'))"
run "$S" can read teacher --as user:user_maria_martinez --role guardian --record "$T/rec9.json" --json
json_is "can --record: an answer over 4 KiB, masked" \
    "d['record']['data']['phone']=='***' and 'hourlyRate' not in d['record']['data'] and len(d['record']['data']['name'])==9000 and d['record']['data']['note']==json.load(open('$T/rec9.json'))['data']['note']"
cat >"$T/rec2.json" <<'R'
{"_id":"t2","type":"teacher","status":"active","data":{"email":"t@gmail.com"}}
R
run "$S" can read teacher --as agent:front-desk --record "$T/rec2.json"
expect "can --record: outside the row scope is a deny" 1 "^deny: The record is outside the row scope"
run "$S" can read teacher --as agent:front-desk --id teacher-alice
expect_err "can --id needs eval" 1 "eval"
# `can --id` reads a fixture record as the system actor does (rt_output.h):
# for every fixture record, admin's answer shows it as `query --as
# system` lists it, member for member and in order
same=0 differ=""
for type in $(cd "$ROOT/fixtures/example/data" && ls | sed 's/[.]yaml$//'); do
    "$S" query "$type" --as system --json --bundle "$T/b/eval.stb" >"$T/q.json" 2>/dev/null || differ="$differ query:$type"
    for id in $(python3 -c "import json,sys; [print(r['_id']) for r in json.load(open(sys.argv[1]))]" "$T/q.json"); do
        "$S" can read "$type" --as admin --id "$id" --json --bundle "$T/b/eval.stb" >"$T/c.json" 2>/dev/null
        if python3 -c "
import json, sys
pairs = lambda p: p
q = [r for r in json.load(open(sys.argv[1]), object_pairs_hook=pairs) if dict(r)['_id'] == sys.argv[3]]
c = dict(json.load(open(sys.argv[2]), object_pairs_hook=pairs))['record']
sys.exit(0 if len(q) == 1 and q[0] == c else 1)" "$T/q.json" "$T/c.json" "$id"; then
            same=$((same + 1))
        else
            differ="$differ $type/$id"
        fi
    done
done
if [ -z "$differ" ] && [ "$same" -gt 20 ]; then
    pass "can --id: every fixture record ($same) as query --as system lists it"
else
    fail "can --id: every fixture record as query --as system lists it" "$same same; differ:$differ"
fi
run env STRUERE_API_KEY="$EVAL" "$S" can read student --as user:user_maria_martinez --role guardian --id student-emma --json
json_is "can --id in eval: another family's child is out of scope" "d['decision']=='deny' and d['record'] is None"
run env STRUERE_API_KEY="$EVAL" "$S" can read session --as user:user_maria_martinez --role guardian --id session-sofia-sep29 --json
json_is "can --id in eval: relatedIds from the fixture relations" "d['decision']=='allow' and d['predicate']['anyOf'][0]['allOf'][0]['value']==['student-sofia','student-lucas']"
run "$S" can fly payment --as admin
expect_err "can: unknown action (exit 2)" 2 "unknown action 'fly'"
run "$S" can read ghost --as admin
expect_err "can: unknown resource (exit 1)" 1 "unknown resource 'ghost'"
run "$S" can read payment
expect_err "can: --as is required" 2 "who asks"
run "$S" can read payment --as robot
expect_err "can: a bad --as" 2 "expected system, admin, agent:SLUG or user:ID"
run "$S" can read payment --as agent:front-desk --role staff
expect_err "can: --role only with a user" 2 "--role is for --as user"
run "$S" can read payment --as user:u --role nosuch
expect_err "can: an unknown role" 1 "no role 'nosuch'"
run "$S" can read payment --as agent:nosuch
expect_err "can: an unknown agent" 1 "no agent 'nosuch'"
printf '{"_id": ' >"$T/bad.json"
run "$S" can read payment --as admin --record "$T/bad.json"
expect_err "can --record: invalid JSON is located" 1 "bad.json:1:"
# A record that is valid JSON but not a record: a message naming the file
# and what is wrong (never "unknown error"), exit 1.
printf '[1,2]\n' >"$T/arr.json"
for who in admin "user:user_maria_martinez --role guardian"; do
    # shellcheck disable=SC2086
    run "$S" can read teacher --as $who --record "$T/arr.json"
    expect_err "can --record [1,2] ($who): says it must be an object" 1 \
        'arr.json: must be a JSON object \(a record \{"_id", "type", "status", "data"\}\), not an array'
    t_err=$(cat "$T/err" "$T/out")
    case $t_err in *"unknown error"*) fail "can --record [1,2] ($who): no 'unknown error'" ;;
    *) pass "can --record [1,2] ($who): no 'unknown error'" ;; esac
done
printf '{"_id":"t1","type":"teacher","data":[1]}' >"$T/recarr.json"
run "$S" can read teacher --as user:user_maria_martinez --role guardian --record "$T/recarr.json"
expect_err "can --record with data an array: names the member" 1 \
    'the record.s "data" must be an object, not an array'
printf '[{"status":"completed"}]' >"$T/dataarr.json"
run "$S" fire session updated --data "$T/dataarr.json"
expect_err "fire --data [..]: says it must be an object" 1 "dataarr.json: must be a JSON object"
run "$S" can read payment --as admin --record "$T/rec.json" --id x
expect_err "can: --record and --id are exclusive" 2 "exclusive"
# A file that cannot be opened or read is an I/O error (exit 3, never 1,
# which is a deny), named with the system's reason; a JSON syntax error is
# located at the line and column (1-based, in characters) where jansson
# stopped, the end of the input after a line break at column 1.
# expect_exact NAME RC STDERR: the last run's exit code and whole stderr.
expect_exact() {
    printf '%s\n' "$3" >"$T/want"
    if [ "$RC" = "$2" ] && cmp -s "$T/want" "$T/err"; then pass "$1"; else
        fail "$1" "exit $RC, want $2; stderr: $(head -c 300 "$T/err")"; fi
}
run "$S" can read payment --as admin --record "$T/missing.json"
expect_exact "can --record: a missing file is an I/O error" 3 \
    "struere: --record $T/missing.json: No such file or directory"
run "$S" can read payment --as admin --record "$T"
expect_exact "can --record: a directory is an I/O error" 3 \
    "struere: --record $T: Is a directory"
run "$S" fire session updated --data "$T/nope.json"
expect_exact "fire --data: a missing file is an I/O error" 3 \
    "struere: --data $T/nope.json: No such file or directory"
printf '{"status": "completed"}' >"$T/okdata.json"
run "$S" fire session updated --data "$T/okdata.json" --previous "$T/nope.json"
expect_exact "fire --previous: a missing file is an I/O error" 3 \
    "struere: --previous $T/nope.json: No such file or directory"
printf '{"_id": "t1",\n  "type": }\n' >"$T/syntax.json"
run "$S" can read payment --as admin --record "$T/syntax.json"
expect_exact "can --record: a syntax error at its line and column" 1 \
    "struere: --record $T/syntax.json:2:11: unexpected token near '}'"
printf '{"name": "h\303\251llo" x}' >"$T/utf8.json"
run "$S" can read payment --as admin --record "$T/utf8.json"
expect_exact "can --record: the column counts characters, not bytes" 1 \
    "struere: --record $T/utf8.json:1:18: '}' expected near 'x'"
printf '{"status":\n' >"$T/eof.json"
run "$S" fire session updated --data "$T/eof.json"
expect_exact "fire --data: the end of the input after a line break: column 1" 1 \
    "struere: --data $T/eof.json:2:1: unexpected token near end of file"
: >"$T/empty.json"
run "$S" can read payment --as admin --record "$T/empty.json"
expect_exact "can --record: an empty file: 1:1, not column 0" 1 \
    "struere: --record $T/empty.json:1:1: '[' or '{' expected near end of file"

# ---- query -------------------------------------------------------------
export STRUERE_API_KEY=$EVAL
run "$S" query session --as user:user_maria_martinez --role guardian --json
json_is "query: a guardian sees only her children's sessions" "sorted(r['_id'] for r in d)==['session-lucas-oct07','session-sofia-oct06','session-sofia-sep29']"
json_is "query: records are {_id,type,status,data}" "all(list(r)==['_id','type','status','data'] for r in d)"
run "$S" query session --as user:user_maria_martinez --role guardian --limit 1 --json
json_is "query --limit" "len(d)==1"
run "$S" query teacher --as agent:front-desk --json
json_is "query: agent masks applied (hourlyRate hidden)" "len(d)>0 and all('hourlyRate' not in r['data'] for r in d)"
run "$S" query guardian --as admin --filter preferredChannel=whatsapp --json
json_is "query --filter" "len(d)>0 and all(r['data']['preferredChannel']=='whatsapp' for r in d)"
run "$S" query session --as admin --filter isTrial=true --json
json_is "query --filter parses JSON values" "all(r['data']['isTrial'] is True for r in d)"
run "$S" query payment --as agent:homework-helper --json
json_is "query: a denied list gives []" "d==[]"
run "$S" query payment --as agent:homework-helper
expect_err "query: text mode prints the denial" 0 "denied: Denied by role 'learning-assistant'"
run "$S" query ghost --as admin
expect_err "query: unknown type" 1 "unknown data type 'ghost'"
run env STRUERE_API_KEY="$PROD" "$S" query session --as admin
expect_err "query outside eval" 1 "sk_eval_ key"
run "$S" query session --as admin --limit x
expect_err "query: a bad --limit" 2 "expected a number"
run "$S" query session --as admin --filter nonsense
expect_err "query: a bad --filter" 2 "FIELD=VALUE"

# ---- prompt ------------------------------------------------------------
run "$S" prompt front-desk --now 1790000000000 --channel whatsapp --param guardianPhone=+15125550142 --param preferredLanguage=es --param isReturningFamily=true
expect "prompt: variables filled" 0 "^# Front Desk — Acme Tutoring"
expect "prompt: threadContext.channel" 0 "\*\*whatsapp\*\*"
expect "prompt: an embedded entity.query ran on the fixtures" 0 "Maria Martinez"
# price_list is a custom tool whose handler is JavaScript, which the C
# runtime does not run: without a tool callback it is Struere's "no
# handler" text. Nothing else may fail.
expect "prompt: a custom tool without a runtime handler" 0 "\[TEMPLATE_ERROR: price_list - no handler\]"
if grep -v "price_list - no handler" "$T/out" | grep -q "TEMPLATE_ERROR"; then fail "prompt: no other template errors" "$(grep -v "price_list - no handler" "$T/out" | grep -m1 TEMPLATE_ERROR)"; else pass "prompt: no other template errors"; fi
run "$S" prompt front-desk --now 1790000000000
expect "prompt: a parameter not passed is Struere's not-found text" 0 "TEMPLATE_ERROR: threadContext.params.guardianPhone not found"
run "$S" prompt front-desk --now 1790000000000 --json
json_is "prompt --json" "d['agent']=='front-desk' and d['prompt'].startswith('# Front Desk')"
run "$S" prompt front-desk --now 1790000000000
cp "$T/out" "$T/p1"
run "$S" prompt front-desk --now 1790000000000
if cmp -s "$T/out" "$T/p1"; then pass "prompt: same inputs, same text"; else fail "prompt: same inputs, same text"; fi
run "$S" prompt nobody
expect_err "prompt: unknown agent" 1 "nobody"
run "$S" prompt front-desk --now yesterday
expect_err "prompt: a bad --now" 2 "milliseconds"

# ---- fire --------------------------------------------------------------
export STRUERE_API_KEY=$PROD
printf '{"status":"completed","isTrial":false,"studentId":"student-sofia","price":55,"subject":"math","startTime":"2026-10-06T16:00:00-05:00"}' >"$T/data.json"
printf '{"status":"scheduled"}' >"$T/prev.json"
run "$S" fire session updated --data "$T/data.json" --previous "$T/prev.json" --id s1 --json
json_is "fire: the billing automation fires" "[a['automation'] for a in d]==['bill-completed-session']"
json_is "fire: trigger args resolved, steps deferred" "d[0]['actions'][0]['args']=={'id':'student-sofia'} and 'steps.student.data.name' in d[0]['deferred']"
run "$S" fire session updated --data "$T/data.json" --json
json_is "fire: without previous data the transition does not match" "d==[]"
run "$S" fire session exploded --data "$T/data.json"
expect_err "fire: an unknown action" 1 "exploded"
run "$S" fire session updated
expect_err "fire: --data is required" 2 "--data"
run env STRUERE_API_KEY="$EVAL" "$S" fire session updated --data "$T/data.json"
expect_err "fire in eval: no automations there" 1 "eval"

# ---- eval --------------------------------------------------------------
export STRUERE_API_KEY=$EVAL
run "$S" eval list
expect "eval list" 0 "^front-desk-basics +agent front-desk +4 cases"
run "$S" eval list --json
json_is "eval list --json" "[s['slug'] for s in d]==['front-desk-basics','scheduler-matching']"
run "$S" eval plan
if python3 -c "
import json,sys
lines=[json.loads(l) for l in open('$T/out')]
assert len(lines)==7, len(lines)
assert all(l['suite'] and l['agent'] and 'turns' in l for l in lines)
assert [l['index'] for l in lines if l['suite']=='front-desk-basics']==[0,1,2,3]
" 2>"$T/pyerr"; then pass "eval plan: every case as a JSON line"; else fail "eval plan: every case as a JSON line" "$(cat "$T/pyerr")"; fi
run "$S" eval plan scheduler-matching
if [ "$(wc -l <"$T/out")" = 3 ]; then pass "eval plan SUITE"; else fail "eval plan SUITE" "$(wc -l <"$T/out") lines"; fi
run "$S" eval plan nosuch
expect_err "eval plan: an unknown suite" 1 "no eval suite 'nosuch'"
run env STRUERE_API_KEY="$PROD" "$S" eval list
expect_err "eval outside eval" 1 "sk_eval_ key"
run "$S" eval
expect_err "eval: a subcommand is needed" 2 "usage: struere eval"

# ---- help --------------------------------------------------------------
for c in get can query prompt fire eval; do
    run "$S" "$c" --help
    expect "$c --help" 0 "^usage: struere $c"
done
run "$S" --help
expect "struere --help lists the runtime commands" 0 "runtime commands"

echo "runtime-cli: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
