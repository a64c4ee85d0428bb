#!/bin/sh
# git-put.sh REF PATH CONTENT   (run inside a git repository)
#
# Commits, on top of REF, REF's tree with the file PATH (top level, or one
# directory deep: bundles/production.stb) set to CONTENT, and moves REF
# there. CONTENT is a file to store, blob:ID for an existing blob, or "-"
# to remove PATH. Plumbing only (hash-object, ls-tree, mktree,
# commit-tree, update-ref): no work tree or index is touched, so that
# tests/keys/run.sh can craft commits `struere` would never write.
set -eu
ref=$1
path=$2
content=$3
case $content in
-) id= ;;
blob:*) id=${content#blob:} ;;
*) id=$(git hash-object -w "$content") ;;
esac

# entries TREE NAME ID MODE: TREE's entries with NAME replaced by ID (of
# mode MODE), or dropped when ID is empty; TREE empty means no tree yet.
entries() {
    if [ -n "$1" ]; then
        git ls-tree "$1" | awk -F '\t' -v n="$2" '$2 != n'
    fi
    if [ -n "$3" ]; then
        printf '%s %s %s\t%s\n' "$4" "$([ "$4" = 040000 ] && echo tree || echo blob)" "$3" "$2"
    fi
}

top=$(git rev-parse --verify -q "$ref^{tree}" || true)
case $path in
*/*)
    dir=${path%%/*}
    name=${path#*/}
    sub=
    [ -z "$top" ] || sub=$(git rev-parse --verify -q "$top:$dir" || true)
    subtree=$(entries "$sub" "$name" "$id" 100644 | git mktree)
    tree=$(entries "$top" "$dir" "$subtree" 040000 | git mktree)
    ;;
*)
    tree=$(entries "$top" "$path" "$id" 100644 | git mktree)
    ;;
esac
if parent=$(git rev-parse --verify -q "$ref"); then
    commit=$(git commit-tree "$tree" -p "$parent" -m "test: $path")
else
    commit=$(git commit-tree "$tree" -m "test: $path")
fi
git update-ref "$ref" "$commit"
