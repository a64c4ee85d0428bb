#!/usr/bin/env bash
# tests/cli/run.sh STRUERE_BINARY
#
# End-to-end tests of the struere command: init, add, check (four formats,
# exit codes, determinism, writes nothing), schema export, usage and help.
# Every test works in a temporary directory.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 STRUERE_BINARY" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXAMPLE=$ROOT/fixtures/example
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-cli.XXXXXX")
# KEEP=1 keeps the generated inputs for a look after a failure.
if [ "${KEEP:-0}" = 1 ]; then
    echo "inputs kept in $T"
else
    trap 'rm -rf "$T"' EXIT
fi
unset STRUERE_THREADS NO_COLOR
export LC_ALL=C
# git (run by init) needs an identity nowhere, but keep it quiet and
# independent of the user's configuration.
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
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
# t NAME COMMAND...: passes when COMMAND succeeds.
t() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# run CMD...: stdout to $T/out, stderr to $T/err, exit code to $RC.
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# tree_sum DIR: names, sizes, modification times and contents of
# everything under DIR (including .git).
tree_sum() {
    (cd "$1" && find . -print0 | LC_ALL=C sort -z |
        xargs -0 stat -c '%n %F %s %y' &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
        sha256sum
}

# files DIR: the files under DIR outside .git, sorted, one per line.
files() { (cd "$1" && find . -path ./.git -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort); }

# added LISTFILE DIR: files under DIR not in LISTFILE (an earlier `files`).
added() { files "$2" | LC_ALL=C comm -13 "$1" - | tr '\n' ' '; }

# json_ok FILE PYTHON-EXPR: FILE parses as JSON and EXPR (over `d`) holds.
json_ok() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + "\n)") else 1)' "$1" "$2" 2>/dev/null
}

HAVE_PY_SCHEMA=0
python3 -c 'import jsonschema, yaml' 2>/dev/null && HAVE_PY_SCHEMA=1

# ---- init ---------------------------------------------------------------

P=$T/proj
run "$BIN" init "$P"
EXPECTED_FILES='agents/example.md
automations/example.yaml
data/example.yaml
evals/example.eval.yaml
fixtures/example.fixture.yaml
roles/example.yaml
struere.yaml
tests/example.test.yaml
tools/example.yaml'
t "init: exit 0" [ "$RC" -eq 0 ]
if [ "$(files "$P")" = "$EXPECTED_FILES" ]; then
    pass "init: struere.yaml and one definition per kind"
else
    fail "init: struere.yaml and one definition per kind" "$(files "$P" | tr '\n' ' ')"
fi
t "init: runs git init (DIR/.git)" \
    bash -c "[ \"\$(git -C '$P' rev-parse --show-toplevel 2>/dev/null)\" = \"\$(cd '$P' && pwd -P)\" ]"
t "init: .git is DIR's own" [ -d "$P/.git" ]
run "$BIN" -C "$P" check --format json
if [ "$RC" -eq 0 ] && json_ok "$T/out" 'd["diagnostics"] == [] and d["errors"] == 0'; then
    pass "init: the new project checks clean"
else
    fail "init: the new project checks clean" "exit $RC"
fi
run "$BIN" -C "$P" check
t "init: text check says ok" grep -q '^ok: 8 definitions' "$T/out"

# the project name comes from the directory
run "$BIN" init "$T/My Project"
t "init: project named after the directory's slug" \
    grep -q '^name: "my-project"' "$T/My Project/struere.yaml"

# no DIR: the current directory
mkdir -p "$T/here"
(cd "$T/here" && "$BIN" init >/dev/null 2>&1)
RC=$?
t "init: without DIR, in the current directory" \
    [ "$RC" -eq 0 -a -f "$T/here/struere.yaml" -a -d "$T/here/.git" ]

# -C BASE init SUB: SUB is relative to BASE
mkdir -p "$T/base"
run "$BIN" -C "$T/base" init sub
t "init: -C BASE init SUB creates BASE/SUB" [ "$RC" -eq 0 -a -f "$T/base/sub/struere.yaml" ]

# inside an existing repository: no nested .git
mkdir -p "$T/repo"
git -C "$T/repo" init -q
run "$BIN" init "$T/repo/defs"
if [ "$RC" -eq 0 ] && [ -f "$T/repo/defs/struere.yaml" ] && [ ! -e "$T/repo/defs/.git" ]; then
    pass "init: inside a git repository, no nested .git"
else
    fail "init: inside a git repository, no nested .git" "exit $RC"
fi
t "init: inside a git repository, does not say it initialised one" \
    bash -c "! grep -q 'initialised' '$T/out'"
run "$BIN" -C "$T/repo/defs" check
t "init: inside a git repository, checks clean" [ "$RC" -eq 0 ]

# twice: refused, nothing overwritten
echo "# edited" >>"$P/agents/example.md"
echo "# edited" >>"$P/struere.yaml"
BEFORE=$(tree_sum "$P")
run "$BIN" init "$P"
t "init: twice -> exit 1" [ "$RC" -eq 1 ]
t "init: twice -> nothing overwritten or added" [ "$BEFORE" = "$(tree_sum "$P")" ]
t "init: twice -> says why on stderr" grep -q 'already' "$T/err"

# a directory holding one conflicting definition: that file is kept, and
# nothing is half-made
mkdir -p "$T/conflict/roles"
echo "keep me" >"$T/conflict/roles/example.yaml"
run "$BIN" init "$T/conflict"
t "init: over an existing definition -> exit 1" [ "$RC" -eq 1 ]
t "init: over an existing definition -> that file is kept" \
    [ "$(cat "$T/conflict/roles/example.yaml")" = "keep me" ]
if [ "$(files "$T/conflict")" = "roles/example.yaml" ] && [ ! -e "$T/conflict/.git" ]; then
    pass "init: over an existing definition -> writes nothing"
else
    fail "init: over an existing definition -> writes nothing" \
        "left $(files "$T/conflict" | tr '\n' ' ')"
fi

# ---- add ----------------------------------------------------------------

A=$T/add
"$BIN" init "$A" >/dev/null 2>&1
# every kind under one display name: the scaffolds refer to each other by
# slug, so the project stays clean
declare -A ADD_PATH=(
    [agent]=agents/support-agent.md
    [data]=data/support-agent.yaml
    [role]=roles/support-agent.yaml
    [automation]=automations/support-agent.yaml
    [tool]=tools/support_agent.yaml
    [eval]=evals/support-agent.eval.yaml
    [fixture]=fixtures/support-agent.fixture.yaml
)
for kind in agent data role automation tool eval fixture; do
    run "$BIN" -C "$A" add "$kind" "Support Agent"
    if [ "$RC" -eq 0 ] && [ -f "$A/${ADD_PATH[$kind]}" ]; then
        pass "add: $kind 'Support Agent' -> ${ADD_PATH[$kind]}"
    else
        fail "add: $kind 'Support Agent' -> ${ADD_PATH[$kind]}" "exit $RC"
    fi
done
t "add: display name kept" grep -q '^name: "Support Agent"' "$A/agents/support-agent.md"
t "add: slug from the name" grep -q '^slug: "support-agent"' "$A/agents/support-agent.md"
t "add: tool name uses '_'" grep -q '^name: "support_agent"' "$A/tools/support_agent.yaml"
run "$BIN" -C "$A" check --format json
if [ "$RC" -eq 0 ] && json_ok "$T/out" 'd["errors"] == 0 and d["warnings"] == 0'; then
    pass "add: project with every kind added checks clean"
else
    fail "add: project with every kind added checks clean" "exit $RC"
fi

# the aliases
declare -A ALIAS_PATH=(
    [agent]=agents/billing.md
    [type]=data/billing.yaml
    [role]=roles/billing.yaml
    [trigger]=automations/billing.yaml
    [tool]=tools/billing.yaml
    [suite]=evals/billing.eval.yaml
    [fixture]=fixtures/billing.fixture.yaml
)
for kind in agent type role trigger tool suite fixture; do
    run "$BIN" -C "$A" add "$kind" billing
    if [ "$RC" -eq 0 ] && [ -f "$A/${ALIAS_PATH[$kind]}" ]; then
        pass "add: $kind billing -> ${ALIAS_PATH[$kind]}"
    else
        fail "add: $kind billing -> ${ALIAS_PATH[$kind]}" "exit $RC"
    fi
done
run "$BIN" -C "$A" add data-type Ledger
t "add: data-type Ledger -> data/ledger.yaml" [ "$RC" -eq 0 -a -f "$A/data/ledger.yaml" ]
run "$BIN" -C "$A" add datatype "Class Notes"
t "add: datatype 'Class Notes' -> data/class-notes.yaml" [ "$RC" -eq 0 -a -f "$A/data/class-notes.yaml" ]
t "add: a plain slug gets a display name" grep -q '^name: "Billing"' "$A/data/billing.yaml"
run "$BIN" -C "$A" check --format json
if [ "$RC" -eq 0 ] && json_ok "$T/out" 'd["errors"] == 0 and d["warnings"] == 0'; then
    pass "add: project with the aliases added checks clean"
else
    fail "add: project with the aliases added checks clean" "exit $RC"
fi

# an existing name: refused, file unchanged
echo "# mine" >>"$A/roles/billing.yaml"
BEFORE=$(tree_sum "$A")
run "$BIN" -C "$A" add role billing
t "add: existing name -> exit 1" [ "$RC" -eq 1 ]
t "add: existing name -> nothing changed" [ "$BEFORE" = "$(tree_sum "$A")" ]
run "$BIN" -C "$A" add tool billing
t "add: existing tool -> exit 1" [ "$RC" -eq 1 ]
# an agent that exists as .yaml is the same agent as a new .md
E=$T/example-copy
cp -r "$EXAMPLE" "$E"
BEFORE=$(tree_sum "$E")
run "$BIN" -C "$E" add agent billing-assistant
if [ "$RC" -eq 1 ] && [ "$BEFORE" = "$(tree_sum "$E")" ]; then
    pass "add: agent existing as agents/SLUG.yaml -> exit 1, nothing written"
else
    fail "add: agent existing as agents/SLUG.yaml -> exit 1, nothing written" \
        "exit $RC; $(files "$E/agents" | tr '\n' ' ')"
fi

# display names that need quoting in YAML are kept exactly
Q=$T/quoted
"$BIN" init "$Q" >/dev/null 2>&1
for name in 'The "Best" Type' 'Back\slash Type' "It's: #1 Type"; do
    run "$BIN" -C "$Q" add data "$name"
    f=$(sed -n 's/^created //p' "$T/out")
    if [ "$RC" -eq 0 ] && [ -n "$f" ] && "$BIN" -C "$Q" check >"$T/out" 2>&1; then
        if [ "$HAVE_PY_SCHEMA" = 1 ] && ! python3 -c '
import sys, yaml
sys.exit(yaml.safe_load(open(sys.argv[1]))["name"] != sys.argv[2])' "$Q/$f" "$name" 2>/dev/null; then
            fail "add: display name '$name' kept exactly" "$f"
        else
            pass "add: display name '$name' kept exactly, project clean"
        fi
    else
        fail "add: display name '$name' kept exactly, project clean" \
            "add exit $RC; $(grep -m1 'error' "$T/out")"
    fi
    rm -f "$Q/$f"
done

BEFORE=$(tree_sum "$A")
run "$BIN" -C "$A" add widget foo
t "add: unknown kind -> exit 2" [ "$RC" -eq 2 ]
t "add: unknown kind -> nothing written" [ "$BEFORE" = "$(tree_sum "$A")" ]
run "$BIN" -C "$A" add agent '!!!'
t "add: a name without letters or digits -> exit 2" [ "$RC" -eq 2 ]
t "add: ... nothing written" [ "$BEFORE" = "$(tree_sum "$A")" ]

# ---- usage errors: exit 2, nothing written ------------------------------

U=$T/usage
"$BIN" init "$U" >/dev/null 2>&1
BEFORE=$(tree_sum "$U")
files "$U" >"$T/usage.files"
while IFS= read -r args; do
    # shellcheck disable=SC2086
    (cd "$U" && "$BIN" $args >"$T/out" 2>"$T/err")
    RC=$?
    if [ "$RC" -eq 2 ] && [ -s "$T/err" ]; then
        pass "usage: 'struere $args' -> exit 2 with a message"
    else
        fail "usage: 'struere $args' -> exit 2 with a message" "exit $RC"
    fi
done <<'EOF'

frobnicate
--frobnicate
-C
check --frobnicate
check extra
check --format
check --format xml
check --format=
check --threads
check --threads 0
check --threads -1
check --threads many
init a b
init --frobnicate
add
add agent
add agent a b
add widget x
schema
schema export
schema import x
schema export a b
EOF
if [ "$BEFORE" = "$(tree_sum "$U")" ]; then
    pass "usage: bad usage writes nothing"
else
    fail "usage: bad usage writes nothing" "added $(added "$T/usage.files" "$U")"
fi

# ---- help and version ---------------------------------------------------

H=$T/help
"$BIN" init "$H" >/dev/null 2>&1
BEFORE=$(tree_sum "$H")
files "$H" >"$T/help.files"
while IFS= read -r args; do
    # shellcheck disable=SC2086
    (cd "$H" && "$BIN" $args >"$T/out" 2>"$T/err")
    RC=$?
    if [ "$RC" -eq 0 ] && grep -q '^usage: struere' "$T/out"; then
        pass "help: 'struere $args' -> exit 0, usage on stdout"
    else
        fail "help: 'struere $args' -> exit 0, usage on stdout" \
            "exit $RC; stdout: $(head -1 "$T/out")"
    fi
done <<'EOF'
--help
-h
help
check --help
check -h
init --help
add --help
schema --help
add agent --help
schema export --help
EOF
if [ "$BEFORE" = "$(tree_sum "$H")" ]; then
    pass "help: asking for help writes nothing"
else
    fail "help: asking for help writes nothing" "added $(added "$T/help.files" "$H")"
fi
run "$BIN" --help
t "help: main help lists the commands" grep -q 'schema export' "$T/out"
run "$BIN" check --help
t "help: check help lists the formats" grep -q 'sarif' "$T/out"
run "$BIN" --help
t "help: main help lists serve" grep -q '^  serve \[--listen ADDR:PORT\]' "$T/out"
run "$BIN" schema --help
t "help: schema help names the test kind" grep -q 'eval, fixture, test)' "$T/out"
run "$BIN" rollback --help
t "help: rollback help lists --dry-run" grep -q '^  --dry-run ' "$T/out"
run python3 "$(dirname "$0")/readme_commands.py" "$BIN" "$(dirname "$0")/../../README.md"
t "help: every command has a row in the README's commands table, with every option its --help defines" \
    bash -c "[ $RC -eq 0 ]"
[ "$RC" -eq 0 ] || cat "$T/out"
run "$BIN" --version
t "version: exit 0, 'struere X.Y.Z'" \
    bash -c "[ $RC -eq 0 ] && grep -Eqx 'struere [0-9]+\.[0-9]+\.[0-9]+.*' '$T/out'"

# ---- check: formats on the example --------------------------------------

for fmt in text json github sarif; do
    run "$BIN" -C "$EXAMPLE" check --format "$fmt"
    cp "$T/out" "$T/example.$fmt"
    t "check: example, --format $fmt -> exit 0" [ "$RC" -eq 0 ]
done
t "check: example, text says ok" grep -q '^ok: 31 definitions' "$T/example.text"
t "check: example, json parses" python3 -m json.tool "$T/example.json" >/dev/null
t "check: example, json has diagnostics/errors/warnings" json_ok "$T/example.json" \
    'isinstance(d["diagnostics"], list) and d["errors"] == 0 and d["warnings"] == 0'
t "check: example, sarif is 2.1.0 with runs[0].results" json_ok "$T/example.sarif" \
    'd["version"] == "2.1.0" and isinstance(d["runs"][0]["results"], list)'
t "check: example, github output empty (no findings)" [ ! -s "$T/example.github" ]
run "$BIN" -C "$EXAMPLE" check --json
t "check: --json is --format json" cmp -s "$T/out" "$T/example.json"
run "$BIN" -C "$EXAMPLE" check --format=sarif
t "check: --format=sarif is --format sarif" cmp -s "$T/out" "$T/example.sarif"
run "$BIN" -C "$EXAMPLE" check --summary
t "check: --summary lists definitions" \
    bash -c "[ $RC -eq 0 ] && grep -q '^agent front-desk:' '$T/out' && grep -q '^role staff:' '$T/out'"
# front-desk.md's prompt: '# {{agentName}} — ...' then '## Who you are
# talking to' ... '## Booking hand-off format', indented by level
t "check: --summary outlines a Markdown agent's prompt by its headings" \
    bash -c "sed -n '/^agent front-desk:/,/^agent homework-helper:/p' '$T/out' | sed '1d;\$d' > '$T/outline' &&
             [ \"\$(sed -n 1p '$T/outline')\" = '  {{agentName}} — {{organizationName}}' ] &&
             [ \"\$(sed -n 2p '$T/outline')\" = '    Who you are talking to' ] &&
             [ \"\$(sed -n 7p '$T/outline')\" = '    Booking hand-off format' ] &&
             [ \"\$(wc -l < '$T/outline')\" -eq 7 ]"

# ---- check: an invalid project ------------------------------------------

B=$T/broken
cp -r "$EXAMPLE" "$B"
# one thing broken: a model id without its provider, line 6 column 10
sed -i 's|^  model: openai/gpt-5-mini$|  model: gpt-5-mini|' "$B/agents/billing-assistant.yaml"
for fmt in text json github sarif; do
    run "$BIN" -C "$B" check --format "$fmt"
    cp "$T/out" "$T/broken.$fmt"
    t "check: invalid project, --format $fmt -> exit 1" [ "$RC" -eq 1 ]
done
t "check: invalid project, json errors >= 1 with file/line/column" json_ok "$T/broken.json" '
d["errors"] >= 1 and all(x["file"] and x["line"] > 0 and x["column"] > 0
                         for x in d["diagnostics"] if x["severity"] == "error")'
t "check: invalid project, json points at the broken value" json_ok "$T/broken.json" '
[(x["file"], x["line"], x["column"]) for x in d["diagnostics"]]
    == [("agents/billing-assistant.yaml", 6, 10)]'
t "check: invalid project, json diagnostics have every field" json_ok "$T/broken.json" '
all(set(x) >= {"severity", "code", "file", "line", "column", "message", "hint"}
    for x in d["diagnostics"])'
t "check: invalid project, text 'path:line:col: error: message [code]'" \
    grep -Eq '^agents/billing-assistant\.yaml:6:10: error: .+ \[[a-z-]+\]$' "$T/broken.text"
t "check: invalid project, text shows the line and a caret" \
    bash -c "grep -q '^    ^\$' '$T/broken.text' || grep -Eq '^ +\^\$' '$T/broken.text'"
t "check: invalid project, text ends with the counts" \
    grep -q '^1 error, 0 warnings in 31 definitions$' "$T/broken.text"
t "check: invalid project, github lines start '::error ' or '::warning '" \
    bash -c "[ -s '$T/broken.github' ] && ! grep -Ev '^::(error|warning) ' '$T/broken.github'"
t "check: invalid project, github has file, line, col" \
    grep -q '^::error file=agents/billing-assistant.yaml,line=6,col=10' "$T/broken.github"
t "check: invalid project, sarif result with a region" json_ok "$T/broken.sarif" '
d["version"] == "2.1.0" and
d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    == {"startLine": 6, "startColumn": 10}'

# -C a directory that does not exist
run "$BIN" -C "$T/does-not-exist" check --format json
if [ "$RC" -eq 1 ] && json_ok "$T/out" '[x["code"] for x in d["diagnostics"]] == ["no-project"]'; then
    pass "check: -C a missing directory -> no-project, exit 1"
else
    fail "check: -C a missing directory -> no-project, exit 1" "exit $RC"
fi
t "check: -C a missing directory creates nothing" [ ! -e "$T/does-not-exist" ]
mkdir -p "$T/empty"
run "$BIN" -C "$T/empty" check
t "check: no struere.yaml -> exit 1 with a hint" \
    bash -c "[ $RC -eq 1 ] && grep -q 'no-project' '$T/out' && grep -q 'struere init' '$T/out'"

# empty kind directories, or ones holding only dot files, are fine
mkdir -p "$T/sparse/tools" "$T/sparse/agents"
printf 'name: sparse\nversion: 0.1.0\n' >"$T/sparse/struere.yaml"
: >"$T/sparse/agents/.gitkeep"
run "$BIN" -C "$T/sparse" check
t "check: empty kind directories (and .gitkeep) -> exit 0" \
    bash -c "[ $RC -eq 0 ] && grep -q '^ok: 0 definitions' '$T/out'"

# I/O errors: exit 3
IO=$T/io
cp -r "$EXAMPLE" "$IO"
rm -rf "$IO/data"
echo "not a directory" >"$IO/data"
run "$BIN" -C "$IO" check
t "check: a kind directory that is a file -> exit 3" [ "$RC" -eq 3 ]
run "$BIN" schema export "$IO/data/schemas"
t "schema export: cannot create DIR -> exit 3" [ "$RC" -eq 3 ]

# ---- colours -------------------------------------------------------------

run "$BIN" -C "$B" check
t "colour: none when piped" bash -c "! grep -q $'\033' '$T/out' '$T/err'"
run env NO_COLOR=1 "$BIN" -C "$B" check
t "colour: none with NO_COLOR when piped" bash -c "! grep -q $'\033' '$T/out'"
if script -qec true /dev/null >/dev/null 2>&1; then
    script -qec "'$BIN' -C '$B' check" /dev/null >"$T/tty" 2>&1
    t "colour: on a terminal" grep -q $'\033\\[' "$T/tty"
    NO_COLOR=1 script -qec "'$BIN' -C '$B' check" /dev/null >"$T/tty" 2>&1
    t "colour: none on a terminal with NO_COLOR" \
        bash -c "grep -q 'error' '$T/tty' && ! grep -q $'\033' '$T/tty'"
else
    skip "colour on a terminal: no script(1)"
fi

# ---- check writes nothing ------------------------------------------------

for dir in "$P" "$B"; do
    BEFORE=$(tree_sum "$dir")
    for fmt in text json github sarif; do
        "$BIN" -C "$dir" check --format "$fmt" --threads 2 >/dev/null 2>&1
    done
    "$BIN" -C "$dir" check --summary >/dev/null 2>&1
    t "check: writes nothing ($(basename "$dir"))" [ "$BEFORE" = "$(tree_sum "$dir")" ]
done

# ---- schema export -------------------------------------------------------

S=$T/schemas
run "$BIN" schema export "$S"
t "schema export: exit 0" [ "$RC" -eq 0 ]
KINDS="project agent data role automation tool eval fixture test"
if [ "$(files "$S" | tr '\n' ' ')" = "agent.json automation.json builtin-tools.json data.json eval.json fixture.json project.json role.json test.json tool.json " ]; then
    pass "schema export: the 9 kinds and builtin-tools.json"
else
    fail "schema export: the 9 kinds and builtin-tools.json" "$(files "$S" | tr '\n' ' ')"
fi
for k in $KINDS; do
    # shellcheck disable=SC2016
    t "schema export: $k.json is draft-07 JSON Schema" json_ok "$S/$k.json" \
        'd["$schema"] == "http://json-schema.org/draft-07/schema#" and d["type"] == "object"'
done
t "schema export: builtin-tools.json is JSON with the tools" json_ok "$S/builtin-tools.json" \
    'len(d["tools"]) > 0 and all("name" in x for x in d["tools"])'
if python3 - "$S" <<'EOF'; then
import json, os, sys
def keys(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from keys(x)
    elif isinstance(v, list):
        for x in v:
            yield from keys(x)
bad = [(f, k) for f in os.listdir(sys.argv[1])
       for k in keys(json.load(open(os.path.join(sys.argv[1], f))))
       if k.startswith("x-")]
sys.exit(1 if bad else 0)
EOF
    pass "schema export: no x- keys anywhere"
else
    fail "schema export: no x- keys anywhere"
fi
run "$BIN" schema export "$S"
t "schema export: into an existing directory -> exit 0" [ "$RC" -eq 0 ]
if [ "$HAVE_PY_SCHEMA" = 1 ]; then
    cat >"$T/validate.py" <<'EOF'
"""validate.py SCHEMADIR PROJECT: each definition, read as YAML 1.2 core
(PyYAML minus its YAML 1.1 booleans and timestamps), against the exported
schema of its kind. Also checks each schema and that a bad one fails."""
import json, os, re, sys
import jsonschema, yaml

sdir, proj = sys.argv[1], sys.argv[2]

class Loader(yaml.SafeLoader):
    pass
Loader.yaml_implicit_resolvers = {
    k: [(tag, r) for tag, r in v if tag not in (
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

validators = {}
for k in "project agent data role automation tool eval fixture".split():
    s = json.load(open(os.path.join(sdir, k + ".json")))
    jsonschema.Draft7Validator.check_schema(s)
    validators[k] = jsonschema.Draft7Validator(s)
if validators["tool"].is_valid({"name": "x"}):
    sys.exit("a tool without description and parameters passes")

dirs = {"agents": "agent", "data": "data", "roles": "role",
        "automations": "automation", "tools": "tool", "evals": "eval",
        "fixtures": "fixture"}
docs = [("project", "struere.yaml")]
for d, k in dirs.items():
    for f in sorted(os.listdir(os.path.join(proj, d))):
        docs.append((k, os.path.join(d, f)))
bad = 0
for k, rel in docs:
    text = open(os.path.join(proj, rel)).read()
    if rel.endswith(".md"):
        _, fm, body = text.split("---\n", 2)
        doc = yaml.load(fm, Loader=Loader)
        doc["systemPrompt"] = body.lstrip("\n")
    else:
        doc = yaml.load(text, Loader=Loader)
    for e in validators[k].iter_errors(doc):
        print("%s: %s: %s" % (rel, list(e.path), e.message[:200]))
        bad += 1
sys.exit(1 if bad else 0)
EOF
    t "schema export: schemas are valid draft-07 and accept the example" \
        python3 "$T/validate.py" "$S" "$EXAMPLE"
    t "schema export: ... and accept a project made by init + add" \
        python3 "$T/validate.py" "$S" "$A"
else
    skip "schema export validation: python3 jsonschema/yaml not installed"
fi

# ---- determinism ----------------------------------------------------------

M=$T/many
cp -r "$EXAMPLE" "$M"
i=0
for f in "$M"/*/*.yaml; do
    i=$((i + 1))
    printf 'bogusKey%d: 1\n' "$i" >>"$f"
done
sed -i 's/^slug: front-desk$/slug: front-dsk/' "$M/agents/front-desk.md"
sed -i 's/^  model: openai\/gpt-5-mini$/  model: gpt-5-mini/' "$M/agents/billing-assistant.yaml"
python3 - "$M/tools" <<'EOF'
import os, sys
for i in range(60):
    with open(os.path.join(sys.argv[1], "broken_%02d.yaml" % i), "w") as f:
        f.write("name: Broken-%d\ndescription: ''\nparameters:\n"
                "  type: array\n  required: [nope]\n" % i)
EOF
"$BIN" -C "$M" check >"$T/det.default" 2>&1
RC=$?
N=$(grep -c ': error: ' "$T/det.default")
t "determinism: the project has many errors (exit 1, $N errors)" [ "$RC" -eq 1 -a "$N" -ge 200 ]
"$BIN" -C "$M" check >"$T/det.again" 2>&1
t "determinism: two runs identical" cmp -s "$T/det.default" "$T/det.again"
STRUERE_THREADS=1 "$BIN" -C "$M" check >"$T/det.t1" 2>&1
t "determinism: STRUERE_THREADS=1 identical" cmp -s "$T/det.default" "$T/det.t1"
"$BIN" -C "$M" check --threads 2 >"$T/det.t2" 2>&1
t "determinism: --threads 2 identical" cmp -s "$T/det.default" "$T/det.t2"
"$BIN" -C "$M" check --threads 16 >"$T/det.t16" 2>&1
t "determinism: --threads 16 identical" cmp -s "$T/det.default" "$T/det.t16"
# Files are read while later kinds' directories are still being listed
# (project.c): with stray files in several kinds, the listing's warnings
# and the files' errors come out in twenty runs on four workers as in a
# run on one (which lists everything before it reads).
cp -r "$M" "$T/stray"
for d in agents data roles tools evals; do
    [ -d "$T/stray/$d" ] && echo "notes" >"$T/stray/$d/zz-notes.txt"
done
STRUERE_THREADS=1 "$BIN" -C "$T/stray" check >"$T/det.stray" 2>&1
N=$(grep -c 'stray-file' "$T/det.stray")
t "determinism: stray files in several kinds warned ($N)" [ "$N" -ge 4 ]
differ=0
for i in $(seq 20); do
    "$BIN" -C "$T/stray" check --threads 4 >"$T/det.stray.$i" 2>&1
    cmp -s "$T/det.stray" "$T/det.stray.$i" || differ=$((differ + 1))
done
t "determinism: twenty runs on 4 workers identical to one on 1 ($differ differ)" [ "$differ" -eq 0 ]
for fmt in json sarif github; do
    "$BIN" -C "$M" check --format $fmt >"$T/det.$fmt.a" 2>&1
    STRUERE_THREADS=1 "$BIN" -C "$M" check --format $fmt >"$T/det.$fmt.b" 2>&1
    "$BIN" -C "$M" check --format $fmt --threads 3 >"$T/det.$fmt.c" 2>&1
    t "determinism: --format $fmt identical across thread counts" \
        bash -c "cmp -s '$T/det.$fmt.a' '$T/det.$fmt.b' && cmp -s '$T/det.$fmt.a' '$T/det.$fmt.c'"
done
LC_ALL=C "$BIN" -C "$M" check >"$T/det.c" 2>&1
t "determinism: LC_ALL=C identical" cmp -s "$T/det.default" "$T/det.c"
if locale -a 2>/dev/null | grep -qi '^c\.utf-\{0,1\}8$'; then
    LC_ALL=C.UTF-8 "$BIN" -C "$M" check >"$T/det.utf8" 2>&1
    t "determinism: LC_ALL=C.UTF-8 identical" cmp -s "$T/det.default" "$T/det.utf8"
    LC_ALL=C.UTF-8 "$BIN" -C "$M" check --format json >"$T/det.utf8.json" 2>&1
    t "determinism: LC_ALL=C.UTF-8 identical (json)" cmp -s "$T/det.json.a" "$T/det.utf8.json"
else
    skip "LC_ALL=C.UTF-8: the locale is not installed"
fi
# the directory it is run from does not matter
(cd "$M" && "$BIN" check >"$T/det.cwd" 2>&1)
t "determinism: cd DIR && check identical to -C DIR" cmp -s "$T/det.default" "$T/det.cwd"

# ---- hardening: project files are regular files inside the project ------
# Nothing may block (every run under `timeout`), nothing outside the
# project is read or printed, and each case names the path in the project.

# hp DIR: a small valid project with a data type, in a git repository.
hp() {
    rm -rf "$1"
    mkdir -p "$1/data"
    printf 'name: hard\nversion: 0.1.0\n' >"$1/struere.yaml"
    printf 'name: Item\nslug: item\nschema:\n  type: object\n  properties:\n    name: {type: string}\n' \
        >"$1/data/item.yaml"
}
# codes_are FILE 'code path' ...: the JSON diagnostics, as "code file"
# pairs sorted, are exactly the arguments.
codes_are() {
    local f=$1
    shift
    python3 - "$f" "$@" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted("%s %s" % (x["code"], x["file"]) for x in d["diagnostics"])
want = sorted(sys.argv[2:])
if got != want:
    print("got %s" % got)
    sys.exit(1)
EOF2
}
SECRET="struere-secret-$$-do-not-print"
printf 'name: %s\nslug: leak\n' "$SECRET" >"$T/outside.yaml"

H=$T/hard
hp "$H"
mkfifo "$H/data/x.yaml"
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: a FIFO in data/ does not block, exit 1" [ "$RC" -eq 1 ]
t "hardening: a FIFO -> not-regular-file at data/x.yaml" \
    codes_are "$T/out" "not-regular-file data/x.yaml"
run timeout 10 "$BIN" -C "$H" check
t "hardening: a FIFO's message says what it is" \
    grep -q '^data/x.yaml: error: not a regular file: a FIFO (named pipe) \[not-regular-file\]$' "$T/out"
rm "$H/data/x.yaml"

hp "$H"
rm "$H/struere.yaml"
mkfifo "$H/struere.yaml"
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: struere.yaml as a FIFO does not block, exit 1" [ "$RC" -eq 1 ]
t "hardening: struere.yaml as a FIFO -> not-regular-file" \
    codes_are "$T/out" "not-regular-file struere.yaml"

hp "$H"
ln -s /dev/zero "$H/data/z.yaml"
run timeout 10 "$BIN" -C "$H" check
t "hardening: a link to /dev/zero -> exit 1" [ "$RC" -eq 1 ]
t "hardening: a link to /dev/zero says it leaves the project, to a device" \
    grep -q '^data/z.yaml: error: refused: a symbolic link that resolves outside the project directory, to a character device (not a regular file) \[outside-project\]$' "$T/out"
t "hardening: a link to /dev/zero does not say 'Is a directory'" \
    bash -c "! grep -q 'directory:\\|Is a directory' '$T/out'"
rm "$H/data/z.yaml"

hp "$H"
ln -s /etc/passwd "$H/data/p.yaml"
ln -s "$T/outside.yaml" "$H/data/leak.yaml"
ln -s ../../outside.yaml "$H/data/rel.yaml"
for fmt in text json github sarif; do
    run timeout 10 "$BIN" -C "$H" check --format $fmt
    t "hardening: links leaving the project, --format $fmt -> exit 1" [ "$RC" -eq 1 ]
    t "hardening: links leaving the project, --format $fmt prints nothing of them" \
        bash -c "! grep -q 'root:\\|$SECRET' '$T/out' '$T/err'"
done
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: each link leaving the project -> outside-project at its path" \
    codes_are "$T/out" "outside-project data/leak.yaml" \
    "outside-project data/p.yaml" "outside-project data/rel.yaml"
rm "$H/data/"{p,leak,rel}.yaml

# A link that stays inside the project is followed (here into a folder
# that is not a kind directory, and from one kind directory to another).
hp "$H"
mkdir -p "$H/shared" "$H/roles"
mv "$H/data/item.yaml" "$H/shared/item.yaml"
ln -s ../shared/item.yaml "$H/data/item.yaml"
printf 'name: Viewer\nslug: viewer\npolicies:\n  - resource: item\n    actions: [read, list]\n    effect: allow\n' \
    >"$H/shared/viewer.yaml"
ln -s "$H/shared/viewer.yaml" "$H/roles/viewer.yaml"
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: links inside the project are followed (exit 0, clean)" \
    bash -c "[ $RC -eq 0 ] && python3 -c 'import json,sys; sys.exit(json.load(open(\"$T/out\"))[\"diagnostics\"] != [])'"
ln -s does-not-exist "$H/data/gone.yaml"
run timeout 10 "$BIN" -C "$H" check
t "hardening: a dangling link -> io-error naming it, exit 3" \
    bash -c "[ $RC -eq 3 ] && grep -q '^data/gone.yaml: error: cannot read file: a symbolic link to nothing \[io-error\]$' '$T/out'"
# The files are looked up from the project directory's descriptor; with
# stdin closed that descriptor would be 0, which is not kept: the run
# reads by path and says the same.
cp "$T/out" "$T/out.stdin"
run timeout 10 "$BIN" -C "$H" check 0<&-
t "hardening: check with stdin closed says the same, exit 3" \
    bash -c "[ $RC -eq 3 ] && cmp -s '$T/out' '$T/out.stdin'"

# A kind directory that is a link out of the project is not even listed.
hp "$H"
mkdir -p "$T/elsewhere"
printf 'name: %s\n' "$SECRET" >"$T/elsewhere/$SECRET.yaml"
ln -s "$T/elsewhere" "$H/agents"
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: agents -> a directory outside -> exit 1" [ "$RC" -eq 1 ]
t "hardening: agents -> outside: outside-project at agents" \
    codes_are "$T/out" "outside-project agents"
t "hardening: agents -> outside: no file of it named or read" \
    bash -c "! grep -q '$SECRET' '$T/out' '$T/err'"
rm "$H/agents"
ln -s /etc "$H/agents"
run timeout 10 "$BIN" -C "$H" check --format json
t "hardening: agents -> /etc: exit 1" [ "$RC" -eq 1 ]
t "hardening: agents -> /etc: outside-project at agents" \
    codes_are "$T/out" "outside-project agents"
run timeout 10 "$BIN" -C "$H" add agent helper
t "hardening: add through agents -> /etc refused, exit 1" [ "$RC" -eq 1 ]
t "hardening: add through agents -> /etc writes nothing" [ ! -e /etc/helper.md ]
rm "$H/agents"
# add lists kind directories to refer to existing definitions: one linked
# out of the project is not listed, so no name from there is written.
rm -rf "$H/data"
ln -s "$T/elsewhere" "$H/data"
run timeout 10 "$BIN" -C "$H" add role viewer
t "hardening: add with data -> outside: the role is written (exit 0)" \
    [ "$RC" -eq 0 -a -f "$H/roles/viewer.yaml" ]
t "hardening: add with data -> outside: no name from outside in it" \
    bash -c "! grep -q '$SECRET' '$H/roles/viewer.yaml'"
rm -rf "$H/data" "$H/roles"

# A kind directory linked inside the project, by a relative or an
# absolute path, is listed as the directory it names (the hint for a
# subdirectory in it included).
hp "$H"
mv "$H/data" "$H/shared-data"
mkdir "$H/shared-data/sub"
for target in shared-data "$H/shared-data"; do
    ln -sfn "$target" "$H/data"
    run timeout 10 "$BIN" -C "$H" check
    t "hardening: data -> $target inside the project: its data type checked, exit 0" \
        bash -c "[ $RC -eq 0 ] && grep -q '^0 errors, 1 warning in 1 definition$' '$T/out'"
    t "hardening: data -> $target: a subdirectory in it named as one" \
        grep -q '^    hint: definitions are not read from subdirectories$' "$T/out"
    rm "$H/data"
done
rm -rf "$H/shared-data"

# dev: nothing compiled, nothing committed.
hp "$H"
git -C "$H" init -q
ln -s "$T/outside.yaml" "$H/data/leak.yaml"
run timeout 30 "$BIN" -C "$H" dev
t "hardening: dev with a link leaving the project -> exit 1" [ "$RC" -eq 1 ]
t "hardening: dev with a link leaving the project commits nothing" \
    bash -c "! git -C '$H' rev-parse -q --verify refs/heads/struere/development >/dev/null"
t "hardening: dev with a link leaving the project prints nothing of it" \
    bash -c "! grep -q '$SECRET' '$T/out' '$T/err'"
rm "$H/data/leak.yaml"
mkfifo "$H/data/x.yaml"
run timeout 30 "$BIN" -C "$H" dev
t "hardening: dev with a FIFO -> exit 1 without blocking, no commit" \
    bash -c "[ $RC -eq 1 ] && ! git -C '$H' rev-parse -q --verify refs/heads/struere/development >/dev/null"
rm "$H/data/x.yaml"

# A file swapped, again and again, between a regular file and a link out
# of the project while check reads the directory: whichever it is when
# it is listed (as a regular file, then opened without a look first) or
# opened, what lies outside is never read. 40 runs against a swapper.
hp "$H"
printf 'name: Swap\nslug: swap\nschema:\n  type: object\n  properties:\n    name: {type: string}\n' >"$T/plain.yaml"
# read, the file outside would be reported with its secret quoted
printf 'name: Leak\nslug: swap\nschema:\n  type: object\n  properties:\n    name: {type: %s}\n' \
    "$SECRET" >"$T/outside-swap.yaml"
(
    while [ ! -e "$T/swap.stop" ]; do
        ln -sfn "$T/outside-swap.yaml" "$H/data/.swap-link"
        mv -T "$H/data/.swap-link" "$H/data/swap.yaml"
        cp "$T/plain.yaml" "$H/data/.swap-file"
        mv -T "$H/data/.swap-file" "$H/data/swap.yaml"
    done
) &
swapper=$!
leaked=0 bad_exit=0 linked=0 plain=0
for i in $(seq 40); do
    run timeout 10 "$BIN" -C "$H" check --format json
    grep -q "$SECRET" "$T/out" "$T/err" && leaked=$((leaked + 1))
    case $RC in 0) plain=$((plain + 1)) ;; 1) linked=$((linked + 1)) ;; *) bad_exit=$((bad_exit + 1)) ;; esac
done
touch "$T/swap.stop"
wait "$swapper"
rm -f "$T/swap.stop"
t "hardening: a file swapped with a link out meanwhile: nothing from outside printed in 40 runs" \
    [ "$leaked" -eq 0 ]
t "hardening: a file swapped with a link out meanwhile: exit 0 or 1, never a crash or a hang ($plain, $linked)" \
    [ "$bad_exit" -eq 0 ]

# The same, made certain: a shim (LD_PRELOAD, built here) runs a command
# the moment check first opens data/x.yaml by any path, between the
# listing and the read: what is read is then what the directory listed
# holds, or an error naming the file; never the file outside.
cat >"$T/swap-shim.c" <<'EOF2'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
static int swapped;
static void before(const char *path)
{
    const char *cmd = getenv("SWAP_CMD"), *b = path ? strrchr(path, '/') : 0;
    b = b ? b + 1 : path;
    if (!swapped && cmd && b && !strcmp(b, "x.yaml")) {
        swapped = 1;
        unsetenv("LD_PRELOAD");
        if (system(cmd) != 0)
            abort();
    }
}
#define SHIM(fn)                                                          \
    int fn(int at, const char *path, int flags, ...)                      \
    {                                                                     \
        static int (*real)(int, const char *, int, ...);                  \
        va_list ap;                                                       \
        va_start(ap, flags);                                              \
        int mode = va_arg(ap, int);                                       \
        va_end(ap);                                                       \
        if (!real)                                                        \
            real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #fn); \
        before(path);                                                     \
        return real(at, path, flags, mode);                               \
    }
SHIM(openat)
SHIM(openat64)
int fstatat(int at, const char *path, void *st, int flags)
{
    static int (*real)(int, const char *, void *, int);
    if (!real)
        real = (int (*)(int, const char *, void *, int))dlsym(RTLD_NEXT, "fstatat");
    before(path);
    return real(at, path, st, flags);
}
EOF2
if ${CC:-cc} -shared -fPIC -o "$T/swap-shim.so" "$T/swap-shim.c" -ldl 2>"$T/err"; then
    mkdir -p "$T/outdir"
    cp "$T/outside-swap.yaml" "$T/outdir/x.yaml"
    # a sanitized build wants its runtime first among the preloaded
    preload="$(ldd "$BIN" | awk '/libasan/ {print $3}') $T/swap-shim.so"
    # swap_check NAME CMD: check with CMD run at the first open of x.yaml
    swap_check() {
        hp "$H"
        sed 's/slug: swap/slug: x/' "$T/plain.yaml" >"$H/data/x.yaml"
        SWAP_CMD="$2" LD_PRELOAD="$preload" STRUERE_THREADS=1 \
            run timeout 10 "$BIN" -C "$H" check --format json
        t "hardening: $1 between listing and reading: nothing from outside printed" \
            bash -c "! grep -q '$SECRET' '$T/out' '$T/err'"
    }
    swap_check "data/ replaced by a link out" \
        "mv '$H/data' '$H/data.listed' && ln -s '$T/outdir' '$H/data'"
    t "hardening: data/ replaced by a link out: the directory listed is read, clean (exit 0)" \
        json_ok "$T/out" 'd["errors"] == 0 and d["diagnostics"] == [] or print(d)'
    swap_check "the file replaced by a link out" \
        "ln -sfn '$T/outside-swap.yaml' '$H/data/x.yaml'"
    t "hardening: the file replaced by a link out: outside-project at it, exit 1" \
        bash -c "[ $RC -eq 1 ] && python3 -c 'import json,sys; d=json.load(open(\"$T/out\")); sys.exit([(x[\"code\"], x[\"file\"]) for x in d[\"diagnostics\"]] != [(\"outside-project\", \"data/x.yaml\")])'"
    swap_check "the file replaced by a FIFO" \
        "rm '$H/data/x.yaml' && mkfifo '$H/data/x.yaml'"
    t "hardening: the file replaced by a FIFO: not-regular-file, exit 1, no hang" \
        bash -c "[ $RC -eq 1 ] && grep -q '\"not-regular-file\"' '$T/out'"
    swap_check "the file removed" "rm '$H/data/x.yaml'"
    t "hardening: the file removed: io-error naming it, exit 3" \
        bash -c "[ $RC -eq 3 ] && grep -q '\"io-error\"' '$T/out'"
    rm -rf "$H/data.listed" "$T/outdir"
else
    skip "hardening: swaps between listing and reading (no C compiler: $(head -c 200 "$T/err"))"
fi

# ---- hardening: a UTF-8 byte order mark is skipped ---------------------

hp "$H"
mkdir -p "$H/agents"
printf '\357\273\277name: hard\nversion: 0.1.0\n' >"$H/struere.yaml"
printf '\357\273\277name: Item\nslug: item\nschema:\n  type: object\n  properties:\n    name: {type: string}\n' \
    >"$H/data/item.yaml"
printf '\357\273\277---\nname: Writer\nslug: writer\nversion: "1"\n---\n\nYou write.\n' \
    >"$H/agents/writer.md"
run "$BIN" -C "$H" check --format json
t "hardening: BOM in struere.yaml, a data type, a Markdown agent -> clean, exit 0" \
    bash -c "[ $RC -eq 0 ] && python3 -c 'import json,sys; sys.exit(json.load(open(\"$T/out\"))[\"diagnostics\"] != [])'"
# columns on line 1 count from after the BOM: `slug: Bad` -> 1:7
printf '\357\273\277---\nslug: Bad\nname: Writer\nversion: "1"\n---\n\nYou write.\n' \
    >"$H/agents/writer.md"
printf '\357\273\277name: {a: 1}\nslug: item\nschema:\n  type: object\n  properties:\n    name: {type: string}\n' \
    >"$H/data/item.yaml"
run "$BIN" -C "$H" check --format json
t "hardening: BOM files: errors at their true line and column" json_ok "$T/out" '
sorted((x["file"], x["line"], x["column"], x["code"]) for x in d["diagnostics"]
       if x["severity"] == "error")
    == [("agents/writer.md", 2, 7, "bad-slug"), ("data/item.yaml", 1, 7, "wrong-type")]'

# ---- hardening: slugs at their limit can be committed and checked out ---

S128=$(printf 's%.0s' $(seq 127))x
hp "$H"
rm -rf "$H/data"
git -C "$H" init -q
for k in data role agent automation eval fixture; do
    "$BIN" -C "$H" add $k "$S128" >/dev/null 2>&1
done
run "$BIN" -C "$H" dev
t "hardening: dev with 128-byte slugs -> exit 0" [ "$RC" -eq 0 ]
run git -C "$H" worktree add -q "$T/wt-slug" struere/development
t "hardening: the development commit with 128-byte slugs checks out" \
    bash -c "[ $RC -eq 0 ] && [ -f '$T/wt-slug/review/development/agents/s/$S128.json' ]"
git -C "$H" worktree remove --force "$T/wt-slug" >/dev/null 2>&1

# ---- hardening: integers stay integers, exactly ---------------------------

hp "$H"
git -C "$H" init -q
mkdir -p "$H/agents" "$H/tools"
printf 'name: A\nslug: a\nversion: "1"\nsystemPrompt: Hi.\nmodel:\n  model: openai/gpt-5-mini\n  maxTokens: 1e3\n' \
    >"$H/agents/a.yaml"
printf 'name: n\ndescription: d\nparameters:\n  type: object\n  properties:\n    a:\n      default: 9223372036854775807\n    b:\n      default: -9223372036854775808\n    c:\n      default: 2.5\n' \
    >"$H/tools/n.yaml"
run "$BIN" -C "$H" dev
t "hardening: integers: dev exit 0" [ "$RC" -eq 0 ]
git -C "$H" show struere/development:review/development/agents/a/a.json >"$T/a.json" 2>/dev/null
git -C "$H" show struere/development:review/development/tools/n/n.json >"$T/n.json" 2>/dev/null
t "hardening: integers: maxTokens: 1e3 (an integer field) is emitted as 1000" \
    grep -q '"maxTokens": 1000,$' "$T/a.json"
t "hardening: integers: int64 extremes are emitted exactly" \
    bash -c "grep -q '\"default\": 9223372036854775807\$' '$T/n.json' &&
             grep -q '\"default\": -9223372036854775808\$' '$T/n.json'"
t "hardening: integers: a float stays a float" grep -q '"default": 2.5$' "$T/n.json"
DEV=$(git -C "$H" rev-parse struere/development)
sed -i 's/maxTokens: 1e3/maxTokens: 9223372036854775808/' "$H/agents/a.yaml"
run "$BIN" -C "$H" dev
t "hardening: integers: 2^63 -> exit 1, located" \
    bash -c "[ $RC -eq 1 ] && cat '$T/out' '$T/err' | grep -q '^agents/a.yaml:7:14: error: integer 9223372036854775808 is out of range'"
t "hardening: integers: 2^63 -> nothing committed" \
    [ "$(git -C "$H" rev-parse struere/development)" = "$DEV" ]
t "hardening: integers: 2^63 is never printed as a rounded float" \
    bash -c "! grep -q '9.22337' '$T/out' '$T/err'"

# ---- hardening: control characters in names never reach the terminal raw --

hp "$H"
mkdir -p "$H/agents" "$H/tools"
ESC=$(printf '\033')
# a stray file and a definition whose names hold ESC, a newline, a C1 CSI
printf 'x\n' >"$H/agents/${ESC}[2Jwipe.txt"
printf 'name: Item\nslug: item\nschema:\n  type: object\n  properties:\n    name: {type: string}\n' \
    >"$H/data/new
line.yaml"
printf 'name: A\nslug: "\\e[31mred"\nversion: "1"\nsystemPrompt: Hi.\n' >"$H/agents/$(printf '\302\233')c1.yaml"
run "$BIN" -C "$H" check
t "hardening: control characters: exit 1" [ "$RC" -eq 1 ]
t "hardening: control characters: no raw ESC, CSI or stray newline in text output" \
    python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
assert b"\x1b" not in b and b"\xc2\x9b" not in b, b
assert b"data/new\n" not in b, b' "$T/out"
t "hardening: control characters: ESC in a file name printed as \\x1b" \
    grep -qF 'agents/\x1b[2Jwipe.txt: warning: ' "$T/out"
t "hardening: control characters: a newline in a file name printed as \\n" \
    grep -qF 'data/new\nline.yaml:2:7: warning: ' "$T/out"
t "hardening: control characters: C1 CSI in a file name printed as \\u009b" \
    grep -qF 'agents/\u009bc1.yaml:2:7: error: ' "$T/out"
t "hardening: control characters: ESC in a quoted value printed as \\x1b" \
    grep -qF "'\x1b[31mred' is not a valid slug" "$T/out"
run "$BIN" -C "$H" check --format github
t "hardening: control characters: github format escapes them too" \
    bash -c "! grep -q \$'\\033' '$T/out' && grep -qF 'file=agents/\\x1b[2Jwipe.txt,' '$T/out' && grep -qF 'file=data/new%0Aline.yaml,' '$T/out'"
run "$BIN" -C "$H" check --format json
t "hardening: control characters: JSON keeps the names exactly" json_ok "$T/out" '
{"agents/\x1b[2Jwipe.txt", "data/new\nline.yaml"} <= {x["file"] for x in d["diagnostics"]}'

# ---- hardening: who commits and deploys, as git decides it ---------------
# Author from GIT_AUTHOR_*, committer from GIT_COMMITTER_*, each else the
# repository's user.name/user.email; reflog entries (deploys) and `log`
# name the committer. SOURCE_DATE_EPOCH still fixes both times.

hp "$H"
git -C "$H" init -q
git -C "$H" config user.name "Config User"
git -C "$H" config user.email config@example.com
ids() { git -C "$H" log -1 --format='%an <%ae> %at | %cn <%ce> %ct' "$1"; }
run env GIT_AUTHOR_NAME="Alice Author" GIT_AUTHOR_EMAIL=alice@example.com \
    GIT_COMMITTER_NAME="Carl Committer" GIT_COMMITTER_EMAIL=carl@example.com \
    GIT_AUTHOR_DATE="2020-01-02T03:04:05+02:00" GIT_COMMITTER_DATE="@1600000000 +0000" \
    "$BIN" -C "$H" dev
t "identity: dev with GIT_AUTHOR_*/GIT_COMMITTER_* -> exit 0" [ "$RC" -eq 0 ]
t "identity: author and committer from their own variables, dates too" \
    [ "$(ids struere/development)" = "Alice Author <alice@example.com> 1577927045 | Carl Committer <carl@example.com> 1600000000" ]
run env GIT_COMMITTER_NAME="Dora Deployer" GIT_COMMITTER_EMAIL=dora@example.com \
    "$BIN" -C "$H" deploy --yes
t "identity: deploy -> exit 0" [ "$RC" -eq 0 ]
t "identity: the deploy's reflog entry names the committer" \
    [ "$(git -C "$H" reflog show -1 --format='%gn <%ge>' struere/production)" = "Dora Deployer <dora@example.com>" ]
run "$BIN" -C "$H" log --env production --json
t "identity: log credits the deploy to the committer" json_ok "$T/out" '
[e["who"] for e in d["production"]] == ["Dora Deployer <dora@example.com>"]'
# only a name in the environment: the email from the configuration
printf '# change\n' >>"$H/data/item.yaml"
run env GIT_AUTHOR_NAME="Ann Only" SOURCE_DATE_EPOCH=1234567890 \
    GIT_AUTHOR_DATE="@1 +0000" "$BIN" -C "$H" dev
t "identity: a name alone, the email from config; SOURCE_DATE_EPOCH wins" \
    [ "$(ids struere/development)" = "Ann Only <config@example.com> 1234567890 | Config User <config@example.com> 1234567890" ]
"$BIN" -C "$H" deploy --yes >/dev/null 2>&1
run env GIT_COMMITTER_NAME="Rob Roll" GIT_COMMITTER_EMAIL=rob@example.com "$BIN" -C "$H" rollback --yes
t "identity: rollback -> exit 0" [ "$RC" -eq 0 ]
run "$BIN" -C "$H" log --env production --json
t "identity: a rollback is credited to its committer" json_ok "$T/out" '
d["production"][0]["who"] == "Rob Roll <rob@example.com>"'
printf '# change 2\n' >>"$H/data/item.yaml"
DEV=$(git -C "$H" rev-parse struere/development)
run env GIT_AUTHOR_DATE=yesterdayish "$BIN" -C "$H" dev
t "identity: an unreadable GIT_AUTHOR_DATE -> exit 3 naming it, no commit" \
    bash -c "[ $RC -eq 3 ] && grep -q 'GIT_AUTHOR_DATE' '$T/err' && [ \"\$(git -C '$H' rev-parse struere/development)\" = '$DEV' ]"

# ---- hardening: keys commands refuse a damaged keys.json ----------------
# Every record is checked as the runtime reads it (sha256: 64 hex digits,
# environment, revoked: a boolean, expires: null or a date; and a prefix):
# a damaged one is named (record N, which field), exit 3, nothing written.

K=$T/keys
hp "$K"
git -C "$K" init -q
"$BIN" -C "$K" dev >/dev/null 2>&1
"$BIN" -C "$K" keys create --env development --name good >/dev/null 2>&1
GOOD=$(git -C "$K" show refs/struere/keys:keys.json)
# put_keys PYTHON-EXPR: keys.json := EXPR over `good` (the record above),
# committed to refs/struere/keys by hand, as a push by anyone could.
put_keys() {
    put_keys_text "$(printf '%s' "$GOOD" | python3 -c '
import json, sys
good = json.load(sys.stdin)[0]
def without(k):
    r = dict(good); del r[k]; return r
def with_(k, v):
    r = dict(good); r[k] = v; return r
print(json.dumps(eval(sys.argv[1]), indent=2))' "$1")"
}
# put_keys_text TEXT: keys.json := TEXT as it is.
put_keys_text() {
    local blob
    blob=$(printf '%s\n' "$1" | git -C "$K" hash-object -w --stdin)
    put_keys_tree "$(printf '100644 blob %s\tkeys.json\n' "$blob" | git -C "$K" mktree)"
}
# put_keys_tree TREE: refs/struere/keys := a commit of TREE.
put_keys_tree() {
    local commit
    commit=$(GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x \
        GIT_COMMITTER_EMAIL=x@x git -C "$K" commit-tree "$1" -m hand)
    git -C "$K" update-ref refs/struere/keys "$commit"
}
# damaged NAME EXPR MESSAGE: list, list --json, create and revoke all
# refuse with MESSAGE (exit 3), and refs/struere/keys does not move.
# damaged_as PUT NAME ARG MESSAGE: the same, keys.json put by `PUT ARG`.
damaged() { damaged_as put_keys "$@"; }
damaged_as() {
    local name=$2 msg=$4 before sub
    "$1" "$3"
    before=$(git -C "$K" rev-parse refs/struere/keys)
    for sub in "list" "list --json" "create --env production" "revoke sk_dev_"; do
        # shellcheck disable=SC2086
        run "$BIN" -C "$K" keys $sub
        if [ "$RC" -eq 3 ] && grep -qF -- "$msg" "$T/err" && ! grep -q '(null)' "$T/out" &&
            ! grep -q '^sk_' "$T/out" && [ "$(git -C "$K" rev-parse refs/struere/keys)" = "$before" ]; then
            pass "keys: $name -> keys $sub refused, exit 3, nothing written"
        else
            fail "keys: $name -> keys $sub refused, exit 3, nothing written" \
                "exit $RC: $(head -c 200 "$T/err")"
        fi
    done
}
damaged "record 2 without sha256" '[good, without("sha256")]' \
    'keys.json record 2 has no valid "sha256" (64 hex digits)'
damaged "record 1 with a short sha256" '[with_("sha256", "ab" * 31)]' \
    'keys.json record 1 has no valid "sha256"'
damaged "record 2 without environment" \
    '[good, {k: v for k, v in with_("sha256", "0" * 64).items() if k != "environment"}]' \
    'keys.json record 2 has no valid "environment" (development, production or eval)'
damaged "a record with environment staging" '[with_("environment", "staging")]' \
    'record 1 has no valid "environment"'
damaged "a record without revoked" '[without("revoked")]' \
    'record 1 has no "revoked" flag (true or false)'
damaged "a record with revoked \"false\" (a string)" '[with_("revoked", "false")]' \
    'record 1 has no "revoked" flag'
damaged "a record with expires soon" '[with_("expires", "soon")]' \
    'record 1 has an "expires" that is not null or a date'
damaged "a record that is a number" '[good, 5]' 'keys.json record 2 is not an object'
damaged "a record without prefix" '[without("prefix")]' 'record 1 has no "prefix"'
damaged "two records with one digest" '[good, with_("prefix", "sk_dev_zzzzzz")]' \
    'keys.json records 1 and 2 have the same "sha256"'
# A member twice in a record: jansson would keep the last, the runtime
# refuses every key (rt_key_records_read), so these refuse the store.
damaged_as put_keys_text "\"revoked\" twice, false then true" \
    "$(printf '%s' "$GOOD" | sed 's/"revoked": false,/&\n    "revoked": true,/')" \
    'keys.json record 1 has the member "revoked" twice (line 9)'
damaged_as put_keys_text "\"environment\" twice" \
    "$(printf '%s' "$GOOD" | sed 's/"environment": "development",/&\n    "environment": "production",/')" \
    'keys.json record 1 has the member "environment" twice (line 5)'
# A keys tree with keys.json twice (git fsck: duplicateEntries), the good
# records and the same revoked: refused as the runtime refuses it.
GOOD_BLOB=$(printf '%s\n' "$GOOD" | git -C "$K" hash-object -w --stdin)
REVOKED_BLOB=$(printf '%s\n' "$GOOD" | sed 's/"revoked": false/"revoked": true/' |
    git -C "$K" hash-object -w --stdin)
# raw_tree MODE NAME ID...: the tree of these entries in this order, as
# git mktree would never write it; its id.
raw_tree() {
    while [ $# -gt 0 ]; do
        printf '%s %s\0' "$1" "$2"
        perl -e 'print pack("H*", $ARGV[0])' "$3"
        shift 3
    done | git -C "$K" hash-object -t tree --literally -w --stdin
}
damaged_as put_keys_tree "keys.json twice in the tree, the revoked one last" \
    "$(raw_tree 100644 keys.json "$GOOD_BLOB" 100644 keys.json "$REVOKED_BLOB")" \
    'a tree of keys.json names keys.json twice (git fsck: duplicateEntries)'
damaged_as put_keys_tree "keys.json twice in the tree, the revoked one first" \
    "$(raw_tree 100644 keys.json "$REVOKED_BLOB" 100644 keys.json "$GOOD_BLOB")" \
    'a tree of keys.json names keys.json twice (git fsck: duplicateEntries)'
# Sound records without the optional name and created: listed, no (null).
put_keys '[{k: v for k, v in good.items() if k not in ("name", "created")}]'
run "$BIN" -C "$K" keys list
t "keys: a sound record without name or created is listed, without (null)" \
    bash -c "[ $RC -eq 0 ] && grep -q '^sk_dev_' '$T/out' && ! grep -q '(null)' '$T/out'"
run "$BIN" -C "$K" keys create --env eval
t "keys: create after sound records appends (exit 0)" [ "$RC" -eq 0 ]

# ---- libraries opened on first use (runtime/src/rt_dynlib.h) ------------
# libgit2 (with its TLS, SSH and Kerberos chain) and libcrypto are not
# linked: the first call into them opens them. check never does; a store
# command given a library of that name that is not libgit2 says which
# function is missing, exits 3 and writes nothing; check still works.
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
links_neither() {
    local n
    n=$(needed "$1")
    [ -n "$n" ] && ! printf '%s\n' "$n" | grep -q -e libgit2 -e libcrypto
}
t "libraries: struere does not link libgit2 or libcrypto" links_neither "$BIN"
if [ -f "$(dirname "$BIN")/libstruere.so" ]; then
    t "libraries: libstruere.so does not link libgit2 or libcrypto" \
        links_neither "$(dirname "$BIN")/libstruere.so"
else
    skip "libraries: libstruere.so is not built next to $BIN"
fi
L=$T/libs-project
cp -r "$EXAMPLE" "$L"
git -C "$L" init -q
LD_DEBUG=files "$BIN" -C "$L" check >/dev/null 2>"$T/ld-check"
t "libraries: check opens neither libgit2 nor libcrypto" \
    bash -c "grep -q 'file=libyaml' '$T/ld-check' && ! grep -q -e 'file=libgit2' -e 'file=libcrypto' '$T/ld-check'"
LD_DEBUG=files "$BIN" -C "$L" dev >/dev/null 2>"$T/ld-dev"
GIT_SO=$(sed -n 's/.*file=\(libgit2[^ ]*\) .*dynamically loaded.*/\1/p' "$T/ld-dev" | head -1)
t "libraries: dev opens libgit2 when it first calls it ($GIT_SO)" [ -n "$GIT_SO" ]
LIBKEY=$("$BIN" -C "$L" keys create --env development 2>/dev/null | grep -o '^sk_dev_[A-Za-z0-9]*')
t "libraries: a development key for the runtime checks" [ -n "$LIBKEY" ]
# stand_in DIR SONAME: a shared library of that soname in DIR, with none
# of the real one's functions.
stand_in() {
    mkdir -p "$1"
    printf 'int stand_in(void);\nint stand_in(void) { return 0; }\n' >"$1/f.c"
    ${CC:-cc} -shared -fPIC -Wl,-soname,"$2" -o "$1/$2" "$1/f.c" 2>"$T/err"
}
FAKE=$T/not-libgit2
if [ -n "$GIT_SO" ] && stand_in "$FAKE" "$GIT_SO"; then
    echo "changed" >>"$L/agents/front-desk.md"
    before=$(tree_sum "$L")
    for cmd in dev status deploy "keys list"; do
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH=$FAKE run "$BIN" -C "$L" $cmd
        t "libraries: $cmd with a libgit2 that is not one exits 3, naming what is missing" \
            bash -c "[ $RC -eq 3 ] && grep -q \"$GIT_SO has no git_.*not the library struere's store was built against\" '$T/err'"
    done
    t "libraries: and writes nothing" [ "$before" = "$(tree_sum "$L")" ]
    LD_LIBRARY_PATH=$FAKE run "$BIN" -C "$L" get agent front-desk --key "$LIBKEY"
    t "libraries: a key's runtime without libgit2 exits 3, naming what is missing" \
        bash -c "[ $RC -eq 3 ] && grep -q \"$GIT_SO has no git_\" '$T/err' && [ ! -s '$T/out' ]"
    LD_LIBRARY_PATH=$FAKE run "$BIN" -C "$L" diff
    t "libraries: diff says why there is no store to read production from" \
        bash -c "[ $RC -ne 0 ] && grep -q \"no store could be opened to read it from: $GIT_SO has no git_\" '$T/err'"
    LD_LIBRARY_PATH=$FAKE run "$BIN" -C "$L" check
    t "libraries: check works without libgit2" bash -c "[ $RC -eq 0 ] && grep -q '^ok: ' '$T/out'"
    run "$BIN" -C "$L" get agent front-desk --key "$LIBKEY"
    t "libraries: the same key's runtime answers with libgit2" bash -c "[ $RC -eq 0 ] && [ -s '$T/out' ]"
    LD_LIBRARY_PATH=$FAKE run "$BIN" init "$T/libs-init"
    t "libraries: init without libgit2 exits 3 before writing anything" \
        bash -c "[ $RC -eq 3 ] && grep -q \"$GIT_SO has no git_\" '$T/err' && [ ! -e '$T/libs-init' ]"
else
    fail "libraries: a stand-in libgit2 could be built (soname '$GIT_SO')" "$(cat "$T/err")"
fi
# Without libcrypto, SHA-256 is libsodium's: build (which never opens
# libgit2) writes the same bundles and manifest, whose digests are the
# files' as coreutils computes them.
LD_DEBUG=files "$BIN" -C "$L" build --out "$T/libs-out" >/dev/null 2>"$T/ld-build"
CRYPTO_SO=$(sed -n 's/.*file=\(libcrypto[^ ]*\) .*dynamically loaded.*/\1/p' "$T/ld-build" | head -1)
t "libraries: build opens libcrypto when it first hashes ($CRYPTO_SO), not libgit2" \
    bash -c "[ -n '$CRYPTO_SO' ] && ! grep -q 'file=libgit2' '$T/ld-build'"
FAKE_CRYPTO=$T/not-libcrypto
if [ -n "$CRYPTO_SO" ] && stand_in "$FAKE_CRYPTO" "$CRYPTO_SO"; then
    LD_DEBUG=libs LD_LIBRARY_PATH=$FAKE_CRYPTO "$BIN" -C "$L" build --out "$T/libs-out-sodium" >/dev/null 2>"$T/ld-sodium"
    t "libraries: the stand-in libcrypto is the one build opened" \
        grep -q "calling init: $FAKE_CRYPTO/$CRYPTO_SO" "$T/ld-sodium"
    t "libraries: build without libcrypto writes the same bundles and manifest" \
        diff -r "$T/libs-out" "$T/libs-out-sodium"
    t "libraries: the manifest's digests are the bundles' SHA-256" \
        python3 -c '
import hashlib, json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "manifest.json")))["bundles"]
envs = ("development", "production", "eval")
sys.exit(0 if all(m[e]["sha256"] == hashlib.sha256(open(os.path.join(out, e + ".stb"), "rb").read()).hexdigest()
                  for e in envs) else 1)' "$T/libs-out-sodium"
else
    fail "libraries: a stand-in libcrypto could be built (soname '$CRYPTO_SO')" "$(cat "$T/err")"
fi

# The progress line (issue 12): on a terminal only, never with --quiet,
# erased before the report; STRUERE_PROGRESS_MS=0 shows it at once, so
# that nothing here depends on how fast the machine is. script(1) gives
# the command a terminal.
if command -v script >/dev/null 2>&1; then
    P=$T/progress-project
    python3 "$ROOT/bench/gen-project.py" 300 "$P" >/dev/null 2>&1
    tty_run() { # tty_run OUT ARGS...: stdout and stderr of ARGS on a pty
        local out=$1
        shift
        STRUERE_PROGRESS_MS=0 script -qfec "$(printf '%q ' "$@")" /dev/null >"$out" 2>&1
    }
    tty_run "$T/tty" "$BIN" -C "$P" check
    t "progress: on a terminal, check shows the files read (N/300)" \
        grep -a -q -E 'reading definitions [0-9]+/300' "$T/tty"
    t "progress: the line is erased before the report" \
        bash -c "tr '\r' '\n' <'$T/tty' | grep -a -q -x \$'\e\\\\[Kok: 300 definitions.*'"
    tty_run "$T/tty-q" "$BIN" --quiet -C "$P" check
    t "progress: none with --quiet, even on a terminal" \
        bash -c "! grep -a -q 'reading definitions' '$T/tty-q' && grep -a -q 'ok: 300 definitions' '$T/tty-q'"
    STRUERE_PROGRESS_MS=0 "$BIN" -C "$P" check >"$T/out" 2>"$T/err"
    t "progress: none when stderr is not a terminal" \
        bash -c "! grep -a -q 'reading definitions' '$T/err' && [ ! -s '$T/err' ]"
    tty_run "$T/tty-b" "$BIN" -C "$P" build --out "$T/progress-out"
    t "progress: build shows the files read, and writes its bundles" \
        bash -c "grep -a -q 'reading definitions' '$T/tty-b' && [ -s '$T/progress-out/eval.stb' ]"
    # Each phase is shown as it begins (STRUERE_PROGRESS_MS=0), however
    # short it is and whenever the line's thread gets to run.
    t "progress: build shows every phase it went through" \
        bash -c "grep -a -q 'checking across definitions' '$T/tty-b' && grep -a -q 'compiling bundles' '$T/tty-b'"
else
    skip "progress line: script(1) is not installed"
fi

[ -z "$SKIPS" ] || printf '%s' "$SKIPS" | sort | uniq -c |
    sed -E 's/^ *([0-9]+) /\1 skipped: /'
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
