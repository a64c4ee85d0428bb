#!/usr/bin/env bash
# tests/limits/run.sh STRUERE_BINARY
#
# One test at each limit of compiler/limits.h and one just past it. At the
# limit the input must be accepted (exit 0, no diagnostic with the limit's
# code); past it, rejected with exactly the limit's code, exit 1, at the
# offending place. Inputs are generated in a temporary directory.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 STRUERE_BINARY" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-limits.XXXXXX")
# KEEP=1 keeps the generated inputs for a look after a failure.
if [ "${KEEP:-0}" = 1 ]; then
    echo "inputs kept in $T"
else
    trap 'rm -rf "$T"' EXIT
fi
export NO_COLOR=1
unset STRUERE_THREADS

PASSED=0
FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }

# ---- helpers ------------------------------------------------------------

# check DIR [ARGS...]: runs `struere -C DIR check --format json`; the JSON
# goes to $T/out.json, the exit code to $RC.
check() {
    local dir=$1
    shift
    "$BIN" -C "$dir" check --format json "$@" >"$T/out.json" 2>"$T/err.txt"
    RC=$?
}

# check_text DIR: the same in text form, to $T/out.txt.
check_text() {
    "$BIN" -C "$1" check >"$T/out.txt" 2>"$T/err.txt"
    RC=$?
}

cat >"$T/assess.py" <<'EOF'
"""assess.py MODE CODE [key=value...] < check --format json output

accept: no diagnostic has CODE (and, with clean=1, none at all).
reject: at least one diagnostic, and every one has CODE (or one of the
        codes also=A,B lists); count=N fixes how many with CODE; file=,
        line=, column= check where (on the first with CODE); message= a
        substring of its message.
Prints a reason and exits 1 when the expectation does not hold."""
import json, sys

mode, code = sys.argv[1], sys.argv[2]
opts = dict(a.split("=", 1) for a in sys.argv[3:])
try:
    doc = json.load(sys.stdin)
except ValueError as e:
    err = open(opts["stderr"]).read().strip().splitlines() if "stderr" in opts else []
    print("output is not JSON: %s%s" % (e, "; stderr: " + " | ".join(err[:3]) if err else ""))
    sys.exit(1)
diags = doc.get("diagnostics", [])
codes = sorted({d["code"] for d in diags})
if mode == "accept":
    hits = [d for d in diags if d["code"] == code]
    if hits:
        d = hits[0]
        print("got %s at %s:%s:%s: %s" % (code, d["file"], d["line"],
                                          d["column"], d["message"]))
        sys.exit(1)
    if opts.get("clean") == "1" and diags:
        print("unexpected diagnostics: %s" % ", ".join(codes))
        sys.exit(1)
    sys.exit(0)
if not diags:
    print("no diagnostic at all")
    sys.exit(1)
also = set(opts.get("also", "").split(",")) - {""}
if code not in codes or set(codes) - also - {code}:
    print("codes %s, expected only %s" % (", ".join(codes),
                                          ", ".join([code] + sorted(also))))
    sys.exit(1)
diags = [d for d in diags if d["code"] == code]
if "count" in opts and len(diags) != int(opts["count"]):
    print("%d diagnostics, expected %s" % (len(diags), opts["count"]))
    sys.exit(1)
d = diags[0]
for key in ("file", "line", "column"):
    if key in opts and str(d[key]) != opts[key]:
        print("%s is %s, expected %s" % (key, d[key], opts[key]))
        sys.exit(1)
if "message" in opts and opts["message"] not in d["message"]:
    print("message %r lacks %r" % (d["message"], opts["message"]))
    sys.exit(1)
if d["severity"] != "error":
    print("severity is %s" % d["severity"])
    sys.exit(1)
EOF

# accepted NAME CODE: the last check exited 0 with no diagnostic at all
# (every generated input is otherwise valid), so certainly none with CODE.
accepted() {
    local why
    if ! why=$(python3 "$T/assess.py" accept "$2" clean=1 stderr="$T/err.txt" <"$T/out.json"); then
        fail "$1" "$why"
    elif [ "$RC" -ne 0 ]; then
        fail "$1" "exit $RC, expected 0"
    else
        pass "$1"
    fi
}

# rejected NAME CODE [key=value...]: the last check exited 1 and reported
# only CODE, where expected.
rejected() {
    local name=$1 why
    shift
    if ! why=$(python3 "$T/assess.py" reject "$@" stderr="$T/err.txt" <"$T/out.json"); then
        fail "$name" "$why"
    elif [ "$RC" -ne 1 ]; then
        fail "$name" "exit $RC, expected 1"
    else
        pass "$name"
    fi
}

# project DIR: an empty, valid project.
project() {
    rm -rf "$1"
    mkdir -p "$1"
    printf 'name: limits\nversion: 0.1.0\n' >"$1/struere.yaml"
}

# A data type for fixtures and automations to refer to.
data_item() {
    mkdir -p "$1/data"
    cat >"$1/data/item.yaml" <<'EOF'
name: Item
slug: item
schema:
  type: object
  properties:
    name: {type: string}
    n: {type: number}
  required: [name]
EOF
}

# ---- LIMIT_FILE_BYTES (4 MiB): file-too-large ------------------------------

P=$T/file
project "$P"
data_item "$P"
mkdir -p "$P/fixtures"
# A fixture of 40,000 records, padded with comment lines to an exact size.
cat >"$T/fixture.py" <<'EOF'
import sys
size, path = int(sys.argv[1]), sys.argv[2]
head = "name: Big\nslug: big\nentities:\n" + "".join(
    "  - ref: r%06d\n    type: item\n    data: {name: Item %d, n: %d}\n"
    % (i, i, i) for i in range(40000))
pad = size - len(head)
line = "#" + "." * 98 + "\n"
body = (line * (pad // 100 + 1))[:pad - 1] + "\n"
data = (head + body).encode()
assert len(data) == size
open(path, "wb").write(data)
EOF
python3 "$T/fixture.py" 4194304 "$P/fixtures/big.fixture.yaml"
check "$P"
accepted "file-bytes: fixture of exactly 4 MiB accepted" file-too-large

python3 "$T/fixture.py" 4194305 "$P/fixtures/big.fixture.yaml"
check "$P"
rejected "file-bytes: fixture of 4 MiB + 1 rejected" file-too-large count=1 \
    file=fixtures/big.fixture.yaml message="4194305 bytes"
rm -rf "$P/fixtures"

# The same for the project file itself and for a Markdown agent.
python3 - "$P/struere.yaml" <<'EOF'
import sys
head = "name: limits\nversion: 0.1.0\n"
size = 4 * 1024 * 1024
pad = size - len(head)
body = ("#" * 99 + "\n") * (pad // 100 + 1)
text = head + body[:pad - 1] + "\n"
assert len(text) == size
open(sys.argv[1], "w").write(text)
EOF
check "$P"
accepted "file-bytes: struere.yaml of exactly 4 MiB accepted" file-too-large
echo "#" >>"$P/struere.yaml" # two bytes more: '#' and newline
check "$P"
rejected "file-bytes: struere.yaml past 4 MiB rejected" file-too-large count=1 \
    file=struere.yaml

project "$P"
mkdir -p "$P/agents"
python3 - "$P/agents/big.md" <<'EOF'
import sys
fm = "---\nname: Big\nslug: big\nversion: 0.1.0\n---\n"
size = 4 * 1024 * 1024 + 1
pad = size - len(fm)
open(sys.argv[1], "w").write(fm + ("Hello.\n" * (pad // 7 + 1))[:pad])
EOF
check "$P"
rejected "file-bytes: Markdown agent of 4 MiB + 1 rejected" file-too-large \
    count=1 file=agents/big.md

# ---- LIMIT_DEPTH (64): too-deep --------------------------------------------
# Levels are open collections: the root map is level 1. A tool's parameter
# schema (root > parameters > properties > arg) takes any map below it.

P=$T/depth
project "$P"
mkdir -p "$P/tools"
cat >"$T/depth.py" <<'EOF'
import sys
levels, style, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
head = "name: deep\ndescription: d\nparameters:\n  type: object\n  properties:\n"
if style == "flow":
    # arg's map is level 4; nest maps down to `levels`.
    value = "1"
    for _ in range(levels - 3):
        value = "{a: %s}" % value
    text = head + "    arg: " + value + "\n"
else:
    # block style: arg is level 4 with `type: object`; below it, maps and
    # then a final flow sequence at level `levels`.
    lines = ["    arg:", "      type: object"]
    indent = 6
    for _ in range(levels - 5):
        lines.append(" " * indent + "k:")
        indent += 2
    lines.append(" " * indent + "k: [x]")
    text = head + "\n".join(lines) + "\n"
open(path, "w").write(text)
EOF
python3 "$T/depth.py" 64 flow "$P/tools/deep.yaml"
check "$P"
accepted "depth: 64 levels (flow maps) accepted" too-deep
python3 "$T/depth.py" 65 flow "$P/tools/deep.yaml"
check "$P"
# the 65th opening brace: "    arg: " then 61 times "{a: " before it
rejected "depth: 65 levels (flow maps) rejected at the 65th" too-deep count=1 \
    file=tools/deep.yaml line=6 column=254
python3 "$T/depth.py" 64 block "$P/tools/deep.yaml"
check "$P"
accepted "depth: 64 levels (block maps + a list) accepted" too-deep
python3 "$T/depth.py" 65 block "$P/tools/deep.yaml"
check "$P"
rejected "depth: 65 levels (block maps + a list) rejected" too-deep count=1 \
    file=tools/deep.yaml line=68
rm -rf "$P/tools"

# Aliases must not carry content past the depth limit unchecked: a data
# type whose field schema, assembled from anchors parked in an unvalidated
# 'default:', nests ~150 levels deep and ends in an invalid field type.
mkdir -p "$P/data"
python3 - "$P/data/deep.yaml" <<'EOF'
import sys
def chain(n, leaf):
    for _ in range(n):
        leaf = "{type: array, items: %s}" % leaf
    return leaf
lines = ["name: Deep", "slug: deep", "schema:", "  type: object",
         "  properties:", "    stash:", "      type: string",
         "      default: [&bad " + chain(50, "{type: bogus}") +
         ", &c1 " + chain(50, "*bad") + "]",
         "    b:", "      type: array",
         "      items: " + chain(40, "*c1")]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
check "$P"
if [ "$RC" -eq 1 ]; then
    pass "depth: aliases nesting past the limit are not silently accepted"
else
    fail "depth: aliases nesting past the limit are not silently accepted" \
        "exit $RC: an invalid field type ~150 levels down passes"
fi

# ---- LIMIT_NODES (1,000,000): too-many-nodes -------------------------------
# Every scalar (keys too) and every collection is a node; an alias counts as
# the size of the node it repeats.

P=$T/nodes
project "$P"
mkdir -p "$P/tools"
cat >"$T/nodes.py" <<'EOF'
import sys
total, path = int(sys.argv[1]), sys.argv[2]
K = R = 998   # a list of K scalars, anchored, then R aliases of it
# 15 nodes around: root, name/d, description/d, parameters + map,
# type/object, properties + map, arg + map, type/object.
fill = total - 15 - (R + 1) * (K + 2) - 2
lines = ["name: bomb", "description: d", "parameters:", "  type: object",
         "  properties:", "    arg:", "      type: object",
         "      l0: &a [" + ", ".join(["x"] * K) + "]"]
lines += ["      r%d: *a" % i for i in range(1, R + 1)]
lines.append("      fill: [" + ", ".join(["x"] * fill) + "]")
open(path, "w").write("\n".join(lines) + "\n")
EOF
python3 "$T/nodes.py" 1000000 "$P/tools/bomb.yaml"
check "$P"
accepted "nodes: exactly 1,000,000 (mostly aliases) accepted" too-many-nodes
python3 "$T/nodes.py" 1000001 "$P/tools/bomb.yaml"
check "$P"
# the node past the limit is the last scalar of `fill` (984th: column
# 14 + 983 * 3), on line 8 + 998 + 1
rejected "nodes: 1,000,001 rejected at the node past the limit" \
    too-many-nodes count=1 file=tools/bomb.yaml line=1007 column=2963

# Without aliases: 1,000,000 plain nodes (3 MB) are accepted, one more is
# rejected.
cat >"$T/plain.py" <<'EOF'
import sys
total, path = int(sys.argv[1]), sys.argv[2]
# 15 around (as above) + key `fill` + its list = 17, then the scalars,
# 1000 a line from line 9 on.
n = total - 17
rows = ["        " + "x, " * min(1000, n - i) for i in range(0, n, 1000)]
open(path, "w").write(
    "name: bomb\ndescription: d\nparameters:\n  type: object\n"
    "  properties:\n    arg:\n      type: object\n      fill: [\n" +
    "\n".join(rows) + "]\n")
EOF
python3 "$T/plain.py" 1000000 "$P/tools/bomb.yaml"
check "$P"
accepted "nodes: exactly 1,000,000 without aliases accepted" too-many-nodes
python3 "$T/plain.py" 1000001 "$P/tools/bomb.yaml"
check "$P"
# the last scalar: line 9 + 999, after "        " and 983 times "x, "
rejected "nodes: 1,000,001 without aliases rejected" too-many-nodes count=1 \
    file=tools/bomb.yaml line=1008 column=2958

# An alias bomb (10^9 nodes nominally) is refused at once.
python3 - "$P/tools/bomb.yaml" <<'EOF'
import sys
lines = ["name: bomb", "description: d", "parameters:", "  type: object",
         "  properties:", "    arg:", "      type: object",
         "      l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
for i in range(1, 10):
    lines.append("      l%d: &l%d [%s]" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10)))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
START=$(date +%s%N)
check "$P"
MS=$((($(date +%s%N) - START) / 1000000))
rejected "nodes: alias bomb rejected" too-many-nodes count=1 file=tools/bomb.yaml \
    line=13
if [ "$MS" -lt 2000 ]; then
    pass "nodes: alias bomb rejected quickly (${MS} ms)"
else
    fail "nodes: alias bomb rejected quickly" "${MS} ms"
fi

# ---- LIMIT_STRING_BYTES (256 KiB): string-too-long -------------------------

P=$T/string
project "$P"
mkdir -p "$P/tools"
cat >"$T/string.py" <<'EOF'
import sys
form, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = "name: s\ndescription: d\nparameters:\n  type: object\n"
if form == "plain":            # one line, n ASCII bytes
    text = head + "handler: " + "a" * n + "\n"
elif form == "utf8":           # n bytes of 2-byte characters (+ 'a' if odd)
    text = head + 'handler: "' + "\u00e9" * (n // 2) + "a" * (n % 2) + '"\n'
elif form == "block":          # literal block: value n bytes, source longer
    line = "y" * 79 + "\n"
    value = (line * (n // 80 + 1))[:n - 1] + "\n"
    text = head + "handler: |\n" + "".join(
        "  " + l + "\n" for l in value.splitlines())
elif form == "key":            # a key of n bytes in a free-form map
    text = (head + "  properties:\n    arg:\n      type: object\n"
            '      ? "' + "k" * n + '"\n      : 1\n')
data = text.encode()
open(path, "wb").write(data)
EOF
for form in plain utf8 block key; do
    python3 "$T/string.py" $form 262144 "$P/tools/s.yaml"
    check "$P"
    accepted "string: $form string of 262144 bytes accepted" string-too-long
    python3 "$T/string.py" $form 262145 "$P/tools/s.yaml"
    check "$P"
    case $form in
    plain | utf8) where="line=5 column=10" ;;
    block) where="line=5" ;;
    key) where="line=8 column=9" ;;
    esac
    # shellcheck disable=SC2086
    rejected "string: $form string of 262145 bytes rejected" string-too-long \
        count=1 file=tools/s.yaml $where message="262145 bytes"
done
rm -rf "$P/tools"

# The Markdown body of an agent is its system prompt: same limit, counted
# from the first non-blank line after the front matter.
mkdir -p "$P/agents"
cat >"$T/body.py" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
fm = "---\nname: Long\nslug: long\nversion: 0.1.0\n---\n\n"
line = "x" * 79 + "\n"
body = (line * (n // 80 + 1))[:n - 1] + "\n"
open(path, "w").write(fm + body)
EOF
python3 "$T/body.py" 262144 "$P/agents/long.md"
check "$P"
accepted "string: Markdown prompt of 262144 bytes accepted" string-too-long
python3 "$T/body.py" 262145 "$P/agents/long.md"
check "$P"
rejected "string: Markdown prompt of 262145 bytes rejected (only that error)" \
    string-too-long count=1 file=agents/long.md line=7 column=1

# ---- LIMIT_DEFINITIONS_PER_KIND (20,000): too-many-definitions -------------

P=$T/defs
project "$P"
mkdir -p "$P/tools"
python3 - "$P/tools" <<'EOF'
import os, sys
d = sys.argv[1]
for i in range(20000):
    n = "t%05d" % i
    with open(os.path.join(d, n + ".yaml"), "w") as f:
        f.write("name: %s\ndescription: d\nparameters:\n  type: object\n" % n)
EOF
check "$P"
accepted "definitions: 20,000 tools accepted" too-many-definitions
# Other kinds and stray files do not count toward the tools' limit.
data_item "$P"
printf 'notes\n' >"$P/tools/NOTES.txt"
check "$P"
if python3 "$T/assess.py" accept too-many-definitions <"$T/out.json" >/dev/null &&
    [ "$RC" -eq 0 ]; then
    pass "definitions: 20,000 tools + a data type + a stray file accepted"
else
    fail "definitions: 20,000 tools + a data type + a stray file accepted" "exit $RC"
fi
rm -f "$P/tools/NOTES.txt"
# One more; it sorts in the middle, so the one left out is the last in
# byte order.
printf 'name: t09999x\ndescription: d\nparameters:\n  type: object\n' \
    >"$P/tools/t09999x.yaml"
check "$P"
rejected "definitions: 20,001 tools rejected at the file left out" \
    too-many-definitions count=1 file=tools/t19999.yaml message="more than 20000"

# ---- LIMIT_DIAGNOSTICS (1000) ----------------------------------------------

P=$T/diags
# unknown_keys DIR N: one tool with N unknown keys, one error each.
unknown_keys() {
    project "$1"
    mkdir -p "$1/tools"
    python3 - "$1/tools/t.yaml" "$2" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
open(path, "w").write("name: t\ndescription: d\nparameters:\n  type: object\n"
                      + "".join("k%05d: 1\n" % i for i in range(n)))
EOF
}
count_errors() { grep -c '^tools/[^ ]*: error: ' "$T/out.txt"; }

unknown_keys "$P" 1000
check_text "$P"
if [ "$RC" -eq 1 ] && [ "$(count_errors)" -eq 1000 ] &&
    ! grep -q 'not shown' "$T/out.txt"; then
    pass "diagnostics: 1000 all shown, no note"
else
    fail "diagnostics: 1000 all shown, no note" "exit $RC, $(count_errors) shown"
fi
check "$P"
if [ "$RC" -eq 1 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["diagnostics"]) == 1000 and d["errors"] == 1000
assert "omitted" not in d' "$T/out.json" 2>/dev/null; then
    pass "diagnostics: 1000 in JSON, nothing omitted"
else
    fail "diagnostics: 1000 in JSON, nothing omitted"
fi

unknown_keys "$P" 1001
check_text "$P"
if [ "$RC" -eq 1 ] && [ "$(count_errors)" -eq 1000 ] &&
    grep -q '^struere: note: 1 more diagnostics\{0,1\} not shown' "$T/out.txt" &&
    grep -q '^1001 errors, 0 warnings' "$T/out.txt"; then
    pass "diagnostics: 1001 -> 1000 shown, then the note, exit 1"
else
    fail "diagnostics: 1001 -> 1000 shown, then the note, exit 1" \
        "exit $RC, $(count_errors) shown"
fi
# The note comes after the last diagnostic shown.
if [ "$(grep -v '^1001 errors' "$T/out.txt" | tail -1 | cut -c1-13)" = "struere: note" ]; then
    pass "diagnostics: the note follows the diagnostics"
else
    fail "diagnostics: the note follows the diagnostics"
fi

# 2500 errors over 25 files, in every format.
project "$P"
mkdir -p "$P/tools"
python3 - "$P/tools" <<'EOF'
import os, sys
for f in range(25):
    n = "t%02d" % f
    with open(os.path.join(sys.argv[1], n + ".yaml"), "w") as fh:
        fh.write("name: %s\ndescription: d\nparameters:\n  type: object\n" % n
                 + "".join("k%03d: 1\n" % i for i in range(100)))
EOF
check_text "$P"
if [ "$RC" -eq 1 ] && [ "$(count_errors)" -eq 1000 ] &&
    grep -q '^struere: note: 1500 more diagnostics not shown' "$T/out.txt"; then
    pass "diagnostics: 2500 -> 1000 shown, note says 1500 more"
else
    fail "diagnostics: 2500 -> 1000 shown, note says 1500 more" "exit $RC"
fi
check "$P"
if [ "$RC" -eq 1 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["diagnostics"]) == 1000, len(d["diagnostics"])
assert d["errors"] == 2500 and d.get("omitted") == 1500, d' "$T/out.json" 2>/dev/null; then
    pass "diagnostics: JSON has 1000, errors 2500, omitted 1500"
else
    fail "diagnostics: JSON has 1000, errors 2500, omitted 1500"
fi
"$BIN" -C "$P" check --format github >"$T/gh.txt" 2>/dev/null
RC=$?
if [ "$RC" -eq 1 ] && [ "$(grep -c '^::error ' "$T/gh.txt")" -eq 1000 ]; then
    pass "diagnostics: github format stops at 1000, exit 1"
else
    fail "diagnostics: github format stops at 1000, exit 1" "exit $RC"
fi
if grep -q '1500' "$T/gh.txt"; then
    pass "diagnostics: github format says how many were left out"
else
    fail "diagnostics: github format says how many were left out" \
        "no mention of the 1500 omitted"
fi
"$BIN" -C "$P" check --format sarif >"$T/sarif.json" 2>/dev/null
RC=$?
if [ "$RC" -eq 1 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["runs"][0]["results"]) == 1000' "$T/sarif.json" 2>/dev/null; then
    pass "diagnostics: sarif format stops at 1000, exit 1"
else
    fail "diagnostics: sarif format stops at 1000, exit 1" "exit $RC"
fi
if grep -q '1500' "$T/sarif.json" 2>/dev/null; then
    pass "diagnostics: sarif format says how many were left out"
else
    fail "diagnostics: sarif format says how many were left out" \
        "no mention of the 1500 omitted"
fi

# Warnings count toward the limit too, and do not fail the run.
project "$P"
mkdir -p "$P/tools"
(cd "$P/tools" && for i in $(seq 1001); do : >"stray$i.txt"; done)
check_text "$P"
if [ "$RC" -eq 0 ] && [ "$(grep -c ': warning: ' "$T/out.txt")" -eq 1000 ] &&
    grep -q '^struere: note: 1 more diagnostics\{0,1\} not shown' "$T/out.txt"; then
    pass "diagnostics: 1001 warnings -> 1000 shown, note, exit 0"
else
    fail "diagnostics: 1001 warnings -> 1000 shown, note, exit 0" "exit $RC"
fi

# ---- LIMIT_TEMPLATE_DEPTH (16): template-unbalanced ------------------------

P=$T/tmpl
project "$P"
data_item "$P"
mkdir -p "$P/agents"
# nest N: N levels of {{ }}, each call's JSON argument holding the next.
cat >"$T/tmpl.py" <<'EOF'
import sys
kind, depth, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = "{{agentName}}"
for _ in range(depth - 1):
    s = '{{entity.query({"type": "' + s + '"})}}'
if kind == "md":
    text = ("---\nname: Nest\nslug: nest\nversion: 0.1.0\n"
            "tools: [entity.query]\n---\n\n# Nest\n\nIntro: " + s + "\n")
elif kind == "yaml":
    text = ("name: Nest\nslug: nest\nversion: 0.1.0\ntools: [entity.query]\n"
            "systemPrompt: |\n  You help.\n  Intro: " + s + "\n")
else:  # automation argument
    t = "{{trigger.entityId}}"
    for _ in range(depth - 1):
        t = "{{" + t + "}}"
    text = ("name: Nest\nslug: nest\non:\n  entityType: item\n"
            "  action: created\nactions:\n  - tool: entity.get\n"
            "    args:\n      id: '" + t + "'\n")
open(path, "w").write(text)
EOF
python3 "$T/tmpl.py" md 16 "$P/agents/nest.md"
check "$P"
accepted "template: 16 nested levels in a Markdown prompt accepted" \
    template-unbalanced
python3 "$T/tmpl.py" md 17 "$P/agents/nest.md"
check "$P"
rejected "template: 17 nested levels in a Markdown prompt rejected" \
    template-unbalanced count=1 file=agents/nest.md line=10 column=8 \
    message="nest too deeply"
rm -f "$P/agents/nest.md"
python3 "$T/tmpl.py" yaml 16 "$P/agents/nest.yaml"
check "$P"
accepted "template: 16 nested levels in a YAML systemPrompt accepted" \
    template-unbalanced
python3 "$T/tmpl.py" yaml 17 "$P/agents/nest.yaml"
check "$P"
rejected "template: 17 nested levels in a YAML systemPrompt rejected" \
    template-unbalanced count=1 file=agents/nest.yaml line=7 column=10 \
    message="nest too deeply"
rm -rf "$P/agents"
# In automation arguments only the nesting matters here: the nested
# expressions are not valid variables, so other errors are expected.
mkdir -p "$P/automations"
python3 "$T/tmpl.py" automation 16 "$P/automations/nest.yaml"
check "$P"
if python3 "$T/assess.py" accept template-unbalanced <"$T/out.json" >/dev/null; then
    pass "template: 16 nested levels in an automation argument not unbalanced"
else
    fail "template: 16 nested levels in an automation argument not unbalanced"
fi
python3 "$T/tmpl.py" automation 17 "$P/automations/nest.yaml"
check "$P"
if [ "$RC" -eq 1 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
hits = [x for x in d["diagnostics"] if x["code"] == "template-unbalanced"]
assert len(hits) == 1 and "nest too deeply" in hits[0]["message"], hits
assert hits[0]["file"] == "automations/nest.yaml" and hits[0]["line"] == 9
' "$T/out.json" 2>/dev/null; then
    pass "template: 17 nested levels in an automation argument rejected"
else
    fail "template: 17 nested levels in an automation argument rejected" "exit $RC"
fi

# ---- LIMIT_SLUG_BYTES (128), LIMIT_TOOL_NAME_BYTES (64): slug-too-long ------
# A slug names the definition's file and its review rendering in the store
# (review/<env>/<kind>/<c>/<slug>.json): past 255 bytes a path component
# cannot be checked out. Tool names follow the model providers' 64.

S128=$(printf 's%.0s' $(seq 127))x
S129=${S128}y
T64=$(printf 't%.0s' $(seq 64))
P=$T/slug
project "$P"
# One definition of every kind at the limit, each referring to the others
# (`add` scaffolds them so that they check clean).
for k in data role agent automation eval fixture; do
    "$BIN" -C "$P" add $k "$S128" >/dev/null 2>&1 || fail "slug: add $k $S128"
done
"$BIN" -C "$P" add tool "$T64" >/dev/null 2>&1 || fail "slug: add tool (64)"
check "$P"
accepted "slug: a slug of 128 bytes in every kind, a tool name of 64, accepted" \
    slug-too-long
# past_in KIND-DIR FILE: the file's own `slug:` one byte longer; rejected
# at that value (column 7, after `slug: `), nothing else reported.
past_in() {
    local f=$P/$1/$2 line
    cp "$f" "$T/saved"
    line=$(grep -n '^slug: ' "$f" | head -1 | cut -d: -f1)
    sed -i "${line}s/$S128/$S129/" "$f"
    check "$P"
    rejected "slug: $1 with a slug of 129 bytes rejected" slug-too-long count=1 \
        file="$1/$2" line="$line" column=7 message="129 bytes (the limit is 128)"
    cp "$T/saved" "$f"
}
# Nothing refers to automations, eval suites or fixture files by slug.
past_in automations "$S128.yaml"
past_in evals "$S128.eval.yaml"
past_in fixtures "$S128.fixture.yaml"

# A cascade cycle through five automations, slugs of 128 bytes but the
# fourth's of 99: the chain in the message is cut with "..." (those
# lengths once took it past its buffer). Files are read in path order, so
# the walk starts at the fourth (its slug sorts first) and the edge back
# to it is the third's.
P=$T/slugring
project "$P"
mkdir -p "$P/data" "$P/automations"
ring=()
for i in 0 1 2 3 4; do
    if [ $i = 3 ]; then ring+=("${S128:0:95}3333"); else ring+=("${S128%????}$i$i$i$i"); fi
done
for i in 0 1 2 3 4; do
    printf 'name: T%s\nslug: t%s\nschema:\n  type: object\n  properties:\n    ref: {type: string}\n' \
        "$i" "$i" >"$P/data/t$i.yaml"
    printf 'name: A\nslug: %s\non:\n  entityType: t%s\n  action: updated\nactions:\n  - tool: entity.update\n    args:\n      id: "{{trigger.data.ref}}"\n      type: t%s\n      data: {ref: x}\n      cascade: true\n' \
        "${ring[$i]}" "$i" "$(((i + 1) % 5))" >"$P/automations/${ring[$i]}.yaml"
done
check "$P"
rejected "slug: a cascade cycle through slugs of 128 and 99 bytes: one error, its chain cut" \
    cascade-cycle count=1 file="automations/${ring[2]}.yaml" line=12 column=7 \
    message="${ring[3]} -> ${ring[4]} -> ${ring[0]} -> ${ring[1]} -> ..."

# Kinds others refer to, alone in a project.
P=$T/slug1
project "$P"
mkdir -p "$P/agents" "$P/data" "$P/roles" "$P/tools"
for n in "$S128" "$S129"; do
    rm -f "$P"/*/*
    printf 'name: A\nslug: %s\nversion: "1"\nsystemPrompt: Hi.\n' "$n" >"$P/agents/$n.yaml"
    check "$P"
    if [ "$n" = "$S128" ]; then
        accepted "slug: agent (YAML) with a slug of 128 bytes accepted" slug-too-long
    else
        rejected "slug: agent (YAML) with a slug of 129 bytes rejected" \
            slug-too-long count=1 file="agents/$n.yaml" line=2 column=7
    fi
    rm -f "$P"/*/*
    printf -- '---\nname: A\nversion: "1"\nslug: %s\n---\n\nHi.\n' "$n" >"$P/agents/$n.md"
    check "$P"
    if [ "$n" = "$S128" ]; then
        accepted "slug: agent (Markdown) with a slug of 128 bytes accepted" slug-too-long
    else
        rejected "slug: agent (Markdown) with a slug of 129 bytes rejected" \
            slug-too-long count=1 file="agents/$n.md" line=4 column=7
    fi
    rm -f "$P"/*/*
    printf 'name: D\nslug: %s\nschema:\n  type: object\n  properties:\n    a: {type: string}\n' \
        "$n" >"$P/data/$n.yaml"
    check "$P"
    if [ "$n" = "$S128" ]; then
        accepted "slug: data type with a slug of 128 bytes accepted" slug-too-long
    else
        rejected "slug: data type with a slug of 129 bytes rejected" \
            slug-too-long count=1 file="data/$n.yaml" line=2 column=7
    fi
    rm -f "$P"/*/*
    printf 'name: R\nslug: %s\npolicies:\n  - resource: "*"\n    actions: [read, list]\n    effect: allow\n' \
        "$n" >"$P/roles/$n.yaml"
    check "$P"
    if [ "$n" = "$S128" ]; then
        accepted "slug: role with a slug of 128 bytes accepted" slug-too-long
    else
        rejected "slug: role with a slug of 129 bytes rejected" \
            slug-too-long count=1 file="roles/$n.yaml" line=2 column=7
    fi
    # a role's slug derived from its name
    rm -f "$P"/*/*
    printf 'name: %s\npolicies:\n  - resource: "*"\n    actions: [read, list]\n    effect: allow\n' \
        "$n" >"$P/roles/$n.yaml"
    check "$P"
    if [ "$n" = "$S128" ]; then
        accepted "slug: role slug derived from a name of 128 bytes accepted" slug-too-long
    else
        rejected "slug: role slug derived from a name of 129 bytes rejected at the name" \
            slug-too-long count=1 file="roles/$n.yaml" line=1 column=7 \
            message="derived from 'name'"
    fi
done
rm -f "$P"/*/*
for n in "$T64" "${T64}u"; do
    rm -f "$P"/tools/*
    printf 'name: %s\ndescription: d\nparameters:\n  type: object\n' "$n" >"$P/tools/$n.yaml"
    check "$P"
    if [ "$n" = "$T64" ]; then
        accepted "slug: tool name of 64 bytes accepted" slug-too-long
    else
        rejected "slug: tool name of 65 bytes rejected" slug-too-long count=1 \
            file="tools/$n.yaml" line=1 column=7 message="65 bytes (the limit is 64)"
    fi
done
# 20,000 bytes (the issue's case): one error, at the slug.
rm -f "$P"/*/*
BIG=$(printf 'a%.0s' $(seq 20000))
printf 'name: A\nslug: %s\nversion: "1"\nsystemPrompt: Hi.\n' "$BIG" >"$P/agents/big.yaml"
check "$P"
rejected "slug: a slug of 20,000 bytes rejected" slug-too-long count=1 \
    file=agents/big.yaml line=2 column=7 message="20000 bytes"
# `add` refuses to make one (usage error, nothing written).
rm -f "$P"/*/*
"$BIN" -C "$P" add agent "$S129" >/dev/null 2>"$T/err.txt"
RC=$?
if [ "$RC" -eq 2 ] && [ -z "$(ls "$P/agents")" ] && grep -q '129 bytes (the limit is 128)' "$T/err.txt"; then
    pass "slug: add with a slug of 129 bytes -> exit 2, nothing written"
else
    fail "slug: add with a slug of 129 bytes -> exit 2, nothing written" "exit $RC"
fi
"$BIN" -C "$P" add agent "$S128" >/dev/null 2>&1
RC=$?
t_ok=$([ "$RC" -eq 0 ] && [ -f "$P/agents/$S128.md" ] && echo 1)
if [ "$t_ok" = 1 ]; then pass "slug: add with a slug of 128 bytes"; else fail "slug: add with a slug of 128 bytes" "exit $RC"; fi

# ---- LIMIT_ACTOR_ROLES (64): too-many-roles --------------------------------
# The runtime refuses an actor holding more than STRUERE_MAX_ACTOR_ROLES
# roles (an agent's listed roles, repeats counted, or a user's), so check
# refuses an agent or a policy test actor listing more, in every
# environment's view.

P=$T/roles
project "$P"
mkdir -p "$P/roles" "$P/agents"
for i in $(seq 65); do
    printf 'name: R%d\nslug: r%d\npolicies:\n  - resource: "*"\n    actions: [list, read]\n    effect: allow\n' \
        "$i" "$i" >"$P/roles/r$i.yaml"
done
# agent ROLE...: agents/helper.yaml listing the roles one a line, the
# first on line 6 (so the 65th on line 70, column 5); stdin appended.
agent() {
    {
        printf 'name: Helper\nslug: helper\nversion: "1"\nsystemPrompt: Hi.\nroles:\n'
        printf '  - %s\n' "$@"
        cat
    } >"$P/agents/helper.yaml"
}
R64=$(printf 'r%d ' $(seq 64))
# shellcheck disable=SC2086
agent $R64 </dev/null
check "$P"
accepted "roles: an agent with 64 roles accepted" too-many-roles
"$BIN" -C "$P" build --out "$T/roles-out" >/dev/null 2>&1
"$BIN" can read users --as agent:helper --bundle "$T/roles-out/production.stb" \
    >"$T/out.txt" 2>&1
RC=$?
if [ "$RC" -eq 0 ] && grep -q "^allow: Allowed by role 'r1'" "$T/out.txt"; then
    pass "roles: the runtime takes the agent with 64 roles (can --as agent)"
else
    fail "roles: the runtime takes the agent with 64 roles (can --as agent)" \
        "exit $RC: $(head -1 "$T/out.txt")"
fi
# shellcheck disable=SC2086
agent $R64 r65 </dev/null
check "$P"
rejected "roles: an agent with 65 roles rejected at the 65th" too-many-roles \
    count=1 file=agents/helper.yaml line=70 column=5 message="lists 65 roles"
check_text "$P"
cat >"$T/expected.txt" <<'EOF2'
agents/helper.yaml:70:5: error: agent lists 65 roles, more than the 64 the runtime lets one actor hold [too-many-roles]
      - r65
        ^
    hint: merge the policies of some roles into one, until at most 64 are listed
1 error, 0 warnings in 66 definitions
EOF2
if [ "$RC" -eq 1 ] && diff -u "$T/expected.txt" "$T/out.txt" >"$T/diff.txt"; then
    pass "roles: the 65th role's diagnostic, text, hint"
else
    fail "roles: the 65th role's diagnostic, text, hint" "exit $RC: $(cat "$T/diff.txt")"
fi
rm -rf "$T/roles-out"
"$BIN" -C "$P" build --out "$T/roles-out" >/dev/null 2>&1
RC=$?
if [ "$RC" -eq 1 ] && [ ! -e "$T/roles-out" ]; then
    pass "roles: build refuses the agent with 65 roles, writes nothing"
else
    fail "roles: build refuses the agent with 65 roles, writes nothing" "exit $RC"
fi
# A repeat counts, as in the runtime: 64 distinct roles and r1 again.
# shellcheck disable=SC2086
agent $R64 r1 </dev/null
check "$P"
rejected "roles: 64 roles and a repeat rejected (repeats count)" too-many-roles \
    count=1 also=duplicate-entry file=agents/helper.yaml line=70 column=5 \
    message="lists 65 roles"
check_text "$P"
if grep -q '^    hint: remove the 1 repeated entry: each counts toward the limit$' \
    "$T/out.txt"; then
    pass "roles: the hint says to remove the repeat"
else
    fail "roles: the hint says to remove the repeat"
fi
# An overlay replaces the list: production's 65 (flow list on line 72:
# "    roles: [" is 12 columns, r1..r9 take 4 each, r10..r64 5 each, so
# r65 is at 13 + 36 + 275 = 324) is rejected there, alone.
# shellcheck disable=SC2086
agent $R64 <<EOF2
environments:
  production:
    roles: [$(echo $R64 r65 | sed 's/ /, /g')]
EOF2
check "$P"
rejected "roles: a production overlay of 65 roles rejected in the overlay" \
    too-many-roles count=1 file=agents/helper.yaml line=72 column=324
# And an overlay with fewer does not hide the base list's 65 (development
# uses it).
# shellcheck disable=SC2086
agent $R64 r65 <<EOF2
environments:
  eval:
    roles: [r1, r2]
EOF2
check "$P"
rejected "roles: 65 in the base list rejected despite a smaller eval overlay" \
    too-many-roles count=1 file=agents/helper.yaml line=70 column=5
# A policy test's user: the runtime refuses more than 64 roles too.
# shellcheck disable=SC2086
agent $R64 </dev/null
mkdir -p "$P/tests"
test_actor() {
    printf 'name: T\nslug: t\ncases:\n  - name: c\n    actor: {%s: [%s]}\n    action: read\n    resource: users\n    expect: {decision: allow}\n' \
        "$1" "$2" >"$P/tests/t.test.yaml"
}
test_actor role "$(echo $R64 | sed 's/ /, /g')"
check "$P"
accepted "roles: a policy test actor with 64 roles accepted" too-many-roles
# "    actor: {role: [" is 19 columns: r65 at 20 + 36 + 275 = 331
test_actor role "$(echo $R64 r65 | sed 's/ /, /g')"
check "$P"
rejected "roles: a policy test actor with 65 roles rejected" too-many-roles \
    count=1 file=tests/t.test.yaml line=5 column=331 message="test actor lists 65"
rm -rf "$P/tests"
# `can --as user:ID --role ...`: the runtime's limit, said plainly.
rm -rf "$T/roles-out"
"$BIN" -C "$P" build --out "$T/roles-out" >/dev/null 2>&1
# shellcheck disable=SC2046
"$BIN" can read users --as user:u $(printf -- '--role r%d ' $(seq 64)) \
    --bundle "$T/roles-out/production.stb" >/dev/null 2>&1
RC=$?
if [ "$RC" -eq 0 ]; then
    pass "roles: can --as user with 64 --role allowed"
else
    fail "roles: can --as user with 64 --role allowed" "exit $RC"
fi
# shellcheck disable=SC2046
"$BIN" can read users --as user:u $(printf -- '--role r%d ' $(seq 65)) \
    --bundle "$T/roles-out/production.stb" >/dev/null 2>"$T/err.txt"
RC=$?
if [ "$RC" -eq 2 ] && [ "$(cat "$T/err.txt")" = \
    "struere: --role given more than 64 times: one actor holds at most 64 roles" ]; then
    pass "roles: can --as user with 65 --role refused, saying why"
else
    fail "roles: can --as user with 65 --role refused, saying why" \
        "exit $RC: $(cat "$T/err.txt")"
fi

# ---- integers: the int64 range, kept exactly: integer-out-of-range -------
# An integer is emitted as a JSON integer, exactly; one outside int64 is an
# error where it is written, never a rounded float. In a tool's free-form
# parameter schema (no type, no bounds) only the range matters.

P=$T/int
project "$P"
mkdir -p "$P/tools"
# int_tool VALUE: a tool whose parameter default is VALUE (line 7, col 16).
int_tool() {
    printf 'name: n\ndescription: d\nparameters:\n  type: object\n  properties:\n    a:\n      default: %s\n' \
        "$1" >"$P/tools/n.yaml"
}
for v in 9223372036854775807 -9223372036854775808 0x7fffffffffffffff \
    0o777777777777777777777; do
    int_tool "$v"
    check "$P"
    accepted "integer: $v accepted" integer-out-of-range
done
for v in 9223372036854775808 -9223372036854775809 0x8000000000000000 \
    0o1000000000000000000000 123456789012345678901234567890; do
    int_tool "$v"
    check "$P"
    rejected "integer: $v rejected where it is written" integer-out-of-range \
        count=1 file=tools/n.yaml line=7 column=16 message="integer $v is out of range"
done
# Where the schema wants an integer, an integral float is taken as one
# (`maxTokens: 1e3` is 1000); past int64 it is out of range too.
rm -rf "$P/tools"
mkdir -p "$P/agents"
agent_tokens() {
    printf 'name: A\nslug: a\nversion: "1"\nsystemPrompt: Hi.\nmodel:\n  model: openai/gpt-5-mini\n  maxTokens: %s\n' \
        "$1" >"$P/agents/a.yaml"
}
for v in 1e3 9.2e18 9223372036854775807; do
    agent_tokens "$v"
    check "$P"
    accepted "integer: maxTokens: $v accepted" integer-out-of-range
done
for v in 9223372036854775808 9.3e18 1e30; do
    agent_tokens "$v"
    check "$P"
    rejected "integer: maxTokens: $v rejected" integer-out-of-range count=1 \
        file=agents/a.yaml line=7 column=14
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
