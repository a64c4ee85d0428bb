#!/bin/sh
# tests/golden/run.sh - golden diagnostic tests for `struere check`.
#
#   tests/golden/run.sh STRUERE_BINARY            run every case
#   tests/golden/run.sh STRUERE_BINARY NAME...    run only the named cases
#   UPDATE=1 tests/golden/run.sh STRUERE_BINARY   rewrite every `expected`
#
# Each case is a directory tests/golden/<case>/ holding
#   project/   a small struere project (the input)
#   expected   the exact stdout of `struere -C <case>/project check [ARGS]`
#              followed by a last line `exit: N`
#   args       optional: one line of extra arguments (e.g. --format json)
# and index.txt states, by hand, each case's diagnostics as (file:line code)
# lines, checked against `check --format json` apart from the text.
#
# The command runs from tests/golden/ with NO_COLOR=1, so the paths it
# prints are relative to the project, and the one message that names the
# project directory itself reads `<case>/project`.
#
# UPDATE=1 is for maintainers: it overwrites `expected` with what the binary
# prints now (never index.txt). Read every changed file (git diff) before
# committing it: a golden file is only as right as the review it got.
#
# Prints PASS/FAIL per case (with a unified diff for each failure), then
# `N passed, M failed` counting two checks per case (the exact text, the
# index); exits 1 if any check failed, 2 on a usage error. Under UPDATE=1
# it prints `N updated` and counts nothing as passed.

set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 STRUERE_BINARY [CASE...]" >&2
    exit 2
fi

bin=$1
case $bin in
*/*) ;;
*) bin=$(command -v "$1") || {
       echo "$0: '$1' not found" >&2
       exit 2
   } ;;
esac
case $bin in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac
if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable" >&2
    exit 2
fi
shift

here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 2

NO_COLOR=1
export NO_COLOR
update=${UPDATE:-}
out=$(mktemp "${TMPDIR:-/tmp}/struere-golden.XXXXXX") || exit 2
want=$(mktemp "${TMPDIR:-/tmp}/struere-golden.XXXXXX") || exit 2
got=$(mktemp "${TMPDIR:-/tmp}/struere-golden.XXXXXX") || exit 2
trap 'rm -f "$out" "$want" "$got"' EXIT
trap 'exit 130' INT TERM

if [ $# -gt 0 ]; then
    cases=$*
else
    cases=$(for d in */; do
                [ -d "${d}project" ] && printf '%s\n' "${d%/}"
            done | LC_ALL=C sort)
fi

# index_of CASE: the case's lines of index.txt as `FILE:LINE CODE`, sorted.
index_of() {
    awk -v c="$1" '$1 == c { print $2 (NF > 2 ? " " $3 : "") }' index.txt |
        LC_ALL=C sort
}

# reported CASE: what `check --format json` reports for the case, in the
# index's form. The JSON writer puts each field of a diagnostic on its own
# line at this indentation, so the fields are read by their keys, never from
# a message.
reported() {
    "$bin" -C "$1/project" check --format json 2>/dev/null | awk '
        /^      "code": / { c = $0; sub(/^ *"code": "/, "", c); sub(/",?$/, "", c) }
        /^      "file": / {
            f = $0; sub(/^ *"file": /, "", f); sub(/,$/, "", f)
            if (f == "null") f = "-"; else { sub(/^"/, "", f); sub(/"$/, "", f) }
        }
        /^      "line": / {
            l = $0; sub(/^ *"line": /, "", l); sub(/,$/, "", l)
            if (l == "0" || l == "null") l = "-"
            print f ":" l " " c; n++
        }
        END { if (!n) print "-" }' | LC_ALL=C sort
}

passed=0
failed=0
updated=0
for name in $cases; do
    if [ ! -d "$name/project" ]; then
        echo "FAIL $name (no such case: $here/$name/project)"
        failed=$((failed + 1))
        continue
    fi
    args=
    if [ -f "$name/args" ]; then
        read -r args <"$name/args" || [ -n "$args" ]
    fi
    # $args is split into words on purpose: it holds extra arguments.
    # shellcheck disable=SC2086
    "$bin" -C "$name/project" check $args >"$out" 2>/dev/null
    printf 'exit: %d\n' $? >>"$out"
    if [ -n "$update" ]; then
        if [ -f "$name/expected" ] && cmp -s "$out" "$name/expected"; then
            echo "PASS $name"
        else
            cp "$out" "$name/expected"
            echo "UPDATED $name"
            updated=$((updated + 1))
        fi
        continue
    fi
    if [ -f "$name/expected" ] && cmp -s "$out" "$name/expected"; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        if [ -f "$name/expected" ]; then
            diff -u "$name/expected" "$out" |
                sed -e "1s|.*|--- $name/expected|" -e "2s|.*|+++ $name (actual)|"
        else
            echo "  (no expected file; run with UPDATE=1 to create it)"
        fi
        failed=$((failed + 1))
    fi
    index_of "$name" >"$want"
    reported "$name" >"$got"
    if [ ! -s "$want" ]; then
        echo "FAIL $name (index): no lines for it in index.txt"
        failed=$((failed + 1))
    elif cmp -s "$want" "$got"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name (index): codes and lines differ from index.txt"
        diff -u "$want" "$got" |
            sed -e "1s|.*|--- index.txt ($name)|" -e "2s|.*|+++ $name (check --format json)|"
        failed=$((failed + 1))
    fi
done

# Every case of the index exists (a renamed case would leave its lines
# unchecked).
if [ $# -eq 0 ] && [ -z "$update" ]; then
    stale=$(awk '!/^#/ && NF { print $1 }' index.txt | LC_ALL=C sort -u |
                while read -r c; do [ -d "$c/project" ] || echo "$c"; done)
    if [ -n "$stale" ]; then
        echo "FAIL index.txt names cases that do not exist:" $stale
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
fi

if [ -n "$update" ]; then
    echo "$updated updated"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
