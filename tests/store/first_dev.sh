#!/usr/bin/env bash
# tests/store/first_dev.sh STRUERE N RUNS [WORKDIR]
#
# The first `dev` of a generated N-definition project, RUNS times, as
# issue 8 found it failing: files warm in the page cache (`struere check`
# once), then `git init`, `git add`, `git commit` and `dev`. The commit
# starts git's automatic gc in the background (gc.auto is set to 1 here,
# so it does at every size; git's default starts it at 6,700 loose
# objects), and a loop of `git prune-packed` (what gc runs last: it
# removes every empty .git/objects/xx/) runs beside dev for the whole run,
# as many gc's would (PRUNE_LOOP=0: the commit's gc alone, the issue's
# exact steps; at 10,000 definitions the loop makes each run minutes).
# Every run must succeed with the same tree ids, leave no temporary in
# .git/objects and pass `git fsck`.
#
#   PRUNE_LOOP=0 tests/store/first_dev.sh build/release/struere 10000 20
#   tests/store/first_dev.sh build/release/struere 1000 5     # make test
#
# Prints one line per run and "first_dev: R of RUNS runs ok, tree ids
# DEV EVAL"; exits 1 when any run failed or the trees differ.
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 STRUERE N RUNS [WORKDIR]" >&2
    exit 2
fi
S=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
N=$2
RUNS=$3
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${4:-$(mktemp -d "${TMPDIR:-/tmp}/struere-first-dev.XXXXXX")}
mkdir -p "$WORK"
[ -n "${4:-}" ] || trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000 GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com

rm -rf "$WORK/proj"
python3 "$REPO/bench/gen-project.py" "$N" "$WORK/proj" >/dev/null 2>&1 || exit 2
ok=0
first=""
for i in $(seq "$RUNS"); do
    d=$WORK/run
    rm -rf "$d"
    cp -R "$WORK/proj" "$d"
    cd "$d" || exit 2
    "$S" check >/dev/null 2>&1 # warm: every file read once
    git init -q
    git config user.name t
    git config user.email t@example.com
    git config gc.auto 1
    git add -A
    git commit -qm init >/dev/null 2>&1
    looper=""
    if [ "${PRUNE_LOOP:-1}" = 1 ]; then
        (while [ ! -e "$WORK/stop" ]; do git prune-packed 2>/dev/null; sleep 0.01; done) &
        looper=$!
    fi
    "$S" dev >"$WORK/out" 2>"$WORK/err"
    rc=$?
    touch "$WORK/stop"
    [ -z "$looper" ] || wait "$looper"
    rm -f "$WORK/stop"
    # the background gc of the commit, if still running
    for _ in $(seq 600); do [ -e .git/gc.pid ] || break; sleep 0.1; done
    trees="$(git rev-parse -q --verify 'refs/heads/struere/development^{tree}') $(git rev-parse -q --verify 'refs/heads/struere/eval^{tree}')"
    tmps=$(find .git/objects -name 'tmp_*' | wc -l)
    why=""
    [ "$rc" = 0 ] || why="exit $rc: $(head -c 300 "$WORK/err" | tr '\n' ' ')"
    [ -n "$why" ] || [ "$tmps" = 0 ] || why="$tmps temporaries left in .git/objects"
    [ -n "$why" ] || git fsck --connectivity-only --no-progress >/dev/null 2>&1 ||
        why="git fsck failed"
    [ -n "$first" ] || first=$trees
    [ -n "$why" ] || [ "$trees" = "$first" ] || why="trees $trees, first run $first"
    if [ -z "$why" ]; then
        ok=$((ok + 1))
        echo "run $i: ok $trees"
    else
        echo "run $i: FAILED: $why"
    fi
    cd "$WORK" || exit 2
done
echo "first_dev: $ok of $RUNS runs ok at $N definitions, tree ids $first"
[ "$ok" = "$RUNS" ]
