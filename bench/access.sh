#!/usr/bin/env bash
# Access benchmark (issue 9): `struere access` and the access part of
# `struere diff`, against the semantic diff as it was before access
# analysis (the peer: the same command, built from commit $BASE_REV),
# side by side in one run on the same stores. For each project size N
# (bench/gen-project.py: 15% roles, 15% agents, 20% data types), in a real
# git repository with production deployed, best of $RUNS wall-clock runs:
#   - access: every agent and every role, JSON and text,
#   - diff production development after each of these edits (each from
#     the deployed state): one agent's temperature (nothing access reads),
#     one role given one more action (every agent holding it is
#     recomputed), one agent given one more role, one data type added
#     (every subject is recomputed: the worst case), one automation's
#     description (every automation parsed, every subject asked whether
#     it sets that one off),
#   - the old diff on the same two commits.
# Prints a Markdown table on stdout.
#
#   bench/access.sh [N ...]     default: 1000 10000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
struere=${STRUERE:-$root/build/release/struere}
runs=${RUNS:-5}
BASE_REV=${BASE_REV:-b24f0a1}
work=$root/build/bench
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
[ -x "$struere" ] || { echo "access.sh: build $struere first (make)" >&2; exit 1; }
mkdir -p "$work"

# the peer: struere as of BASE_REV, built once in a worktree
old=$work/base-$BASE_REV
if [ ! -x "$old/build/release/struere" ]; then
    rm -rf "$old"
    git -C "$root" worktree add -f --detach "$old" "$BASE_REV" >&2
    make -C "$old" -j2 build/release/struere >&2
fi
oldbin=$old/build/release/struere

now() { echo "${EPOCHREALTIME/./}"; }
best() {
    local b=""
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(now)
        "$@" >/dev/null 2>&1 || true
        t1=$(now)
        local d=$((t1 - t0))
        if [ -z "$b" ] || [ "$d" -lt "$b" ]; then b=$d; fi
    done
    awk -v us="$b" 'BEGIN { printf "%.3f", us / 1e6 }'
}
# bestcpu CMD...: least CPU time (user + system) of $runs runs, in seconds:
# steadier than wall time on a machine shared with other work
bestcpu() {
    local b="" t
    for _ in $(seq "$runs"); do
        t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%.3f", $1 + $2 }')
        if [ -z "$b" ] || awk -v a="$t" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$t; fi
    done
    echo "$b"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "# struere access benchmark"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "- command: bench/access.sh ${sizes[*]} (best of $runs); peer: struere diff built from $BASE_REV"
echo
echo "Wall: best wall-clock time. CPU: least user+system time (both threads of"
echo "the bundle verification count), steadier when the machine is shared."
echo
echo "| N | edit | access changes | old diff s (cpu) | diff s (cpu) | diff / old wall (cpu) | access json s (cpu) | access text s (cpu) | access json / old diff wall (cpu) |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${sizes[@]}"; do
    proj=$work/proj-$n
    [ -d "$proj" ] || python3 "$root/bench/gen-project.py" "$n" "$proj" >&2
    repo=$work/access-$n
    rm -rf "$repo"
    cp -r "$proj" "$repo"
    cd "$repo"
    git init -q
    git config user.name bench
    git config user.email bench@localhost
    "$struere" dev >/dev/null 2>&1
    "$struere" deploy --yes >/dev/null 2>&1
    aj=$(best "$struere" access --format json)
    at=$(best "$struere" access)
    ajc=$(bestcpu "$struere" access --format json)
    atc=$(bestcpu "$struere" access)
    agent=$(ls agents | sed -n 1p)
    role=$(ls roles | sed -n 1p)
    auto=$(ls automations | sed -n 1p)
    for edit in temperature role-action agent-role data-type automation; do
        # each edit from the deployed sources (git does not track them:
        # the store's branches hold the bundles)
        cp -r "$proj"/. .
        rm -f data/zz-bench-added.yaml
        case $edit in
        temperature)
            sed -i "s/^  temperature: .*/  temperature: 0.123/" "agents/$agent" ;;
        role-action)
            # the first policy's action list gains an action it lacks
            python3 - "roles/$role" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
def more(m):
    have = re.findall(r'"([a-z*]+)"', m.group(1))
    new = [a for a in ("create", "read", "update", "delete", "list") if a not in have]
    return 'actions: [' + m.group(1) + (', "%s"' % new[0] if new and "*" not in have else '') + ']'
s = re.sub(r'actions: \[([^\]]*)\]', more, s, count=1)
open(p, "w").write(s)
PY
            ;;
        agent-role)
            python3 - "agents/$agent" roles <<'PY'
import os, re, sys
p, d = sys.argv[1], sys.argv[2]
s = open(p).read()
r = next(os.path.splitext(f)[0] for f in sorted(os.listdir(d))
         if '"%s"' % os.path.splitext(f)[0] not in s)
s = re.sub(r'^roles: \[', 'roles: ["%s", ' % r, s, count=1, flags=re.M)
open(p, "w").write(s)
PY
            ;;
        automation)
            sed -i 's/^description: .*/description: "edited by the access bench"/' "automations/$auto" ;;
        data-type)
            printf 'name: "Zz Bench Added"\nslug: "zz-bench-added"\nschema:\n  type: "object"\n  properties:\n    title:\n      type: "string"\n' >data/zz-bench-added.yaml ;;
        esac
        "$struere" dev >/dev/null 2>&1 || { echo "access.sh: dev failed after $edit" >&2; "$struere" dev >&2 || true; exit 1; }
        nch=$("$struere" diff --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["access"]))')
        od=$(best "$oldbin" diff)
        nd=$(best "$struere" diff)
        odc=$(bestcpu "$oldbin" diff)
        ndc=$(bestcpu "$struere" diff)
        echo "| $n | $edit | $nch | $od ($odc) | $nd ($ndc) | $(ratio "$nd" "$od") ($(ratio "$ndc" "$odc")) | $aj ($ajc) | $at ($atc) | $(ratio "$aj" "$od") ($(ratio "$ajc" "$odc")) |"
    done
    cd "$root"
done
