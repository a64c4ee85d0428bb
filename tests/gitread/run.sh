#!/usr/bin/env bash
# tests/gitread/run.sh BUILD_DIR   (e.g. build/release)
#
# The runtime's git reader (runtime/src/gitread.c) against git itself, the
# independent implementation: every object of real stores made by struere
# and git must read byte for byte as `git cat-file --batch` prints it, and
# every ref as `git rev-parse` gives it. The stores: loose objects; packed
# by git gc (offset deltas, packed-refs); repacked with deltas by id and
# long chains; an index with 64-bit offsets; several packs beside loose
# objects; a linked work tree; a bare clone; a clone borrowing objects
# (alternates); a delta chain deeper than 1000; symbolic refs; finding a
# store from inside it (broken .git, ceilings, another user's). Then damage:
# objects rewritten with other bytes, truncated, and bytes flipped at
# random in packs and indexes: each read must give git's bytes or fail
# with a reason, never other bytes, never a crash. BUILD_DIR/gitread-probe
# (tests/gitread/probe.c) does the reading. Ends with "gitread: N passed,
# M failed". KEEP=1 keeps the stores; FLIPS=N bytes flipped per file
# (default 40).
set -u

if [ $# -ne 1 ] || [ ! -x "$1/struere" ] || [ ! -x "$1/gitread-probe" ]; then
    echo "usage: $0 BUILD_DIR (with struere and gitread-probe built)" >&2
    exit 2
fi
B=$(cd "$1" && pwd)
S=$B/struere
P=$B/gitread-probe
REPO=$(cd "$(dirname "$0")/../.." && pwd)
FLIPS=${FLIPS:-40}
TOP=$(mktemp -d "${TMPDIR:-/tmp}/struere-gitread.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "work kept in $TOP"
else
    trap 'rm -rf "$TOP"' EXIT
fi

export HOME=$TOP/home GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1 LC_ALL=C TZ=UTC
# A sanitizer's report (make check) exits 86, never 1: the probe's own
# "a read failed" (so a report is never taken for a refusal).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=86"
unset SOURCE_DATE_EPOCH STRUERE_API_KEY GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE \
    GIT_CEILING_DIRECTORIES
mkdir -p "$HOME"
cat >"$HOME/.gitconfig" <<'EOF'
[user]
	name = Gitread Test
	email = gitread-test@example.com
[init]
	defaultBranch = master
[gc]
	auto = 0
EOF

pass=0
fail=0
ok() {
    echo "PASS $1"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL $1: $2"
    fail=$((fail + 1))
}

# Every object of store $2, as git prints it and as the probe reads it
# (with libcrypto's SHA-1, and with the runtime's own: --portable).
same_objects() { # NAME STORE
    local name=$1 dir=$2
    git -C "$dir" cat-file --batch-all-objects \
        --batch-check='%(objectname) %(objecttype)' >"$TOP/ids" ||
        { bad "$name" "git cannot list the objects"; return; }
    cut -d' ' -f1 "$TOP/ids" | git -C "$dir" cat-file --batch >"$TOP/want"
    local n
    n=$(wc -l <"$TOP/ids")
    [ "$n" -gt 0 ] || { bad "$name" "git lists no objects"; return; }
    for mode in "" --portable; do
        if "$P" $mode "$dir" batch <"$TOP/ids" >"$TOP/got" 2>"$TOP/err" &&
            cmp -s "$TOP/want" "$TOP/got"; then
            ok "$name: $n objects as git reads them${mode:+ ($mode)}"
        else
            bad "$name${mode:+ ($mode)}" "$(grep -m1 error "$TOP/got")$(head -c 300 "$TOP/err")"
        fi
    done
}

# Every ref of store $2 (and HEAD's branch) as git rev-parse gives it.
same_refs() { # NAME STORE
    local name=$1 dir=$2 refs=0 wrong=""
    while read -r ref; do
        refs=$((refs + 1))
        want=$(git -C "$dir" rev-parse "$ref")
        got=$("$P" "$dir" ref "$ref")
        [ "$got" = "$want" ] || wrong="$wrong $ref ($got, not $want)"
    done < <(git -C "$dir" for-each-ref --format='%(refname)')
    if [ -z "$wrong" ] && [ "$refs" -gt 0 ]; then
        ok "$name: $refs refs as git reads them"
    else
        bad "$name: refs" "${wrong:-no refs}"
    fi
}

# The blob a commit's path names, as git ls-tree gives it.
same_path() { # NAME STORE REF PATH
    local commit want got
    commit=$(git -C "$2" rev-parse "$3")
    want="file $(git -C "$2" rev-parse "$3:$4")"
    got=$("$P" "$2" path "$commit" "$4")
    if [ "$got" = "$want" ]; then ok "$1: $3:$4"; else bad "$1: $3:$4" "$got, not $want"; fi
}

expect_line() { # NAME PATTERN COMMAND...
    local name=$1 pat=$2 out
    shift 2
    out=$("$@" 2>&1 | tr -d '\000')
    if printf '%s\n' "$out" | grep -qE -- "$pat"; then
        ok "$name"
    else
        bad "$name" "wanted /$pat/, got: $(printf '%s' "$out" | head -c 300)"
    fi
}

# ---- a store with history: struere dev and deploy over edits -------------

W=$TOP/work
cp -r "$REPO/fixtures/example" "$W"
rm -rf "$W/.git" "$W/.struere"
(
    cd "$W" && git init -q && "$S" dev >/dev/null && "$S" deploy --yes >/dev/null &&
        "$S" keys create --env development >/dev/null 2>&1 &&
        for i in 1 2 3 4 5 6; do
            f=$(ls agents/*.md | head -1)
            printf '\nEdit %s.\n' "$i" >>"$f"
            "$S" dev >/dev/null || exit 1
        done &&
        "$S" deploy --yes >/dev/null
) || {
    echo "FAIL cannot make the store"
    echo "gitread: 0 passed, 1 failed"
    exit 1
}

cp -r "$W" "$TOP/loose"
same_objects "loose" "$TOP/loose"
same_refs "loose" "$TOP/loose"
same_path "loose" "$TOP/loose" refs/heads/struere/production bundles/production.stb
same_path "loose" "$TOP/loose" refs/heads/struere/development manifest.json

cp -r "$W" "$TOP/gc"
git -C "$TOP/gc" gc -q --prune=now
[ -f "$TOP/gc/.git/packed-refs" ] && [ -z "$(find "$TOP/gc/.git/objects" -path '*/pack' -prune -o -type f -print | grep -v info)" ] &&
    ok "gc: every object packed, refs in packed-refs" || bad "gc" "objects left loose or no packed-refs"
same_objects "gc" "$TOP/gc"
same_refs "gc" "$TOP/gc"
same_path "gc" "$TOP/gc" refs/heads/struere/eval bundles/eval.stb

# Deltas by id (REF_DELTA) rather than by offset, and chains as long as
# the objects allow.
cp -r "$W" "$TOP/refdelta"
git -C "$TOP/refdelta" -c repack.useDeltaBaseOffset=false repack -q -a -d -f \
    --depth=250 --window=250
git -C "$TOP/refdelta" verify-pack -v "$TOP"/refdelta/.git/objects/pack/*.idx >"$TOP/vp"
deltas=$(awk 'NF == 7 { n++ } END { print n + 0 }' "$TOP/vp")
[ "$deltas" -gt 0 ] && ok "refdelta: $deltas objects stored as deltas" ||
    bad "refdelta" "git made no deltas"
same_objects "refdelta" "$TOP/refdelta"

# 64-bit offsets for every object after the first (git's own option for
# its tests; git refuses an index with more of them than that).
cp -r "$TOP/gc" "$TOP/large"
pack=$(ls "$TOP"/large/.git/objects/pack/*.pack)
rm -f "${pack%.pack}.idx"
git -C "$TOP/large" index-pack --index-version=2,12 "$pack" >/dev/null
size=$(stat -c %s "${pack%.pack}.idx")
count=$(git -C "$TOP/large" count-objects -v | awk '/^in-pack/ { print $2 }')
[ "$size" -eq $((8 + 1024 + count * 36 - 8 + 40)) ] &&
    ok "large: the index gives every offset but the first in 64 bits" ||
    bad "large" "index of $size bytes for $count objects"
same_objects "large" "$TOP/large"

# New objects loose beside the packs, then a second pack.
cp -r "$TOP/gc" "$TOP/mixed"
(
    cd "$TOP/mixed" && f=$(ls agents/*.md | head -1) &&
        printf '\nMixed.\n' >>"$f" && "$S" dev >/dev/null
) || bad "mixed" "dev failed"
same_objects "mixed: loose and packed" "$TOP/mixed"
git -C "$TOP/mixed" repack -q -d
[ "$(ls "$TOP"/mixed/.git/objects/pack/*.pack | wc -l)" -ge 2 ] &&
    ok "mixed: two packs" || bad "mixed" "one pack only"
same_objects "mixed: two packs" "$TOP/mixed"
same_refs "mixed" "$TOP/mixed"

# A linked work tree (.git is a file; objects and refs in the common
# directory) and a bare clone (the git directory itself).
git -C "$TOP/gc" worktree add -q "$TOP/linked" struere/development 2>/dev/null
same_refs "linked work tree" "$TOP/linked"
same_path "linked work tree" "$TOP/linked" refs/heads/struere/development bundles/development.stb
git clone -q --bare "$TOP/loose" "$TOP/bare.git" 2>/dev/null
git -C "$TOP/bare.git" fetch -q origin '+refs/heads/*:refs/heads/*' '+refs/struere/*:refs/struere/*' 2>/dev/null
same_refs "bare" "$TOP/bare.git"
same_objects "bare" "$TOP/bare.git"
expect_line "the .git directory itself" '^[0-9a-f]{40}$' \
    "$P" "$TOP/loose/.git" ref refs/heads/struere/production

# A store borrowing objects (git clone --shared: objects/info/alternates).
git clone -q --shared "$TOP/gc" "$TOP/shared" 2>/dev/null
git -C "$TOP/shared" fetch -q origin '+refs/heads/*:refs/heads/*' '+refs/struere/*:refs/struere/*' 2>/dev/null
[ -s "$TOP/shared/.git/objects/info/alternates" ] &&
    ok "shared: objects/info/alternates names the lender" ||
    bad "shared" "no alternates file"
same_objects "shared: objects borrowed" "$TOP/shared"
same_path "shared" "$TOP/shared" refs/heads/struere/production bundles/production.stb

# Alternates by a relative path, in a cycle (two stores lending to each
# other), and in a chain longer than git reads (git ignores the links
# past the fifth, and so must the reader: the objects of the stores it
# did read are still found).
git clone -q --bare "$TOP/gc" "$TOP/alt/lender.git" 2>/dev/null
git init -q --bare "$TOP/alt/borrower.git"
printf '../../lender.git/objects\n# a comment\n\n' >"$TOP/alt/borrower.git/objects/info/alternates"
git -C "$TOP/alt/borrower.git" update-ref refs/heads/struere/production \
    "$(git -C "$TOP/gc" rev-parse struere/production)"
same_path "alternates by a relative path" "$TOP/alt/borrower.git" \
    refs/heads/struere/production bundles/production.stb
printf '%s\n' "$TOP/alt/borrower.git/objects" >"$TOP/alt/lender.git/objects/info/alternates"
same_path "alternates in a cycle" "$TOP/alt/borrower.git" \
    refs/heads/struere/production manifest.json
prev=$TOP/alt/lender.git
for i in 1 2 3 4 5 6 7; do
    git init -q --bare "$TOP/alt/link$i.git"
    printf '%s\n' "$prev/objects" >"$TOP/alt/link$i.git/objects/info/alternates"
    prev=$TOP/alt/link$i.git
done
git -C "$TOP/alt/link7.git" update-ref refs/heads/x "$(git -C "$TOP/gc" rev-parse struere/production)" 2>/dev/null
git -C "$TOP/alt/link5.git" update-ref refs/heads/x "$(git -C "$TOP/gc" rev-parse struere/production)"
commit=$(git -C "$TOP/gc" rev-parse struere/production)
expect_line "alternates: a store five links away lends its objects" \
    '^file [0-9a-f]{40}$' "$P" "$TOP/alt/link5.git" path "$commit" manifest.json
expect_line "alternates: past the fifth link, none (as git)" \
    '^error: .*not in the store' "$P" "$TOP/alt/link7.git" path "$commit" manifest.json
git -C "$TOP/alt/link7.git" cat-file -e "$commit" 2>/dev/null &&
    bad "alternates: git itself" "git reads past the fifth link" ||
    ok "alternates: git itself reads no further than five links either"

# A chain of deltas longer than git's default (50), and than 1000: 3,000
# versions of a file of 100 lines, each changing one (the nearest version
# makes the smallest delta), packed on one thread with git's largest depth.
mkdir -p "$TOP/chain"
git init -q "$TOP/chain"
python3 - "$TOP/chain/v" <<'PY'
import os, random, sys
r = random.Random(5)
os.makedirs(sys.argv[1], exist_ok=True)
lines = [("line %05d" % i).ljust(39) + "\n" for i in range(100)]
for i in range(3000):
    j = r.randrange(100)
    lines[j] = ("version %05d line %05d" % (i, j)).ljust(39) + "\n"
    open(os.path.join(sys.argv[1], "%04d" % i), "w").write("".join(lines))
PY
(cd "$TOP/chain" && ls v/* | git hash-object -w --stdin-paths >ids.txt &&
    git pack-objects -q --threads=1 --depth=4095 --window=10 \
        .git/objects/pack/pack <ids.txt >/dev/null &&
    git prune-packed && rm -rf v) || bad "chain" "cannot pack"
git -C "$TOP/chain" verify-pack -v "$TOP"/chain/.git/objects/pack/*.idx >"$TOP/chain.vp"
deepest=$(awk 'NF == 7 { print $6, $1 }' "$TOP/chain.vp" | sort -rn | head -3)
depth=$(printf '%s\n' "$deepest" | head -1 | cut -d' ' -f1)
if [ "${depth:-0}" -gt 1000 ]; then
    ok "chain: a delta chain $depth deep"
    printf '%s\n' "$deepest" | awk '{ print $2, "blob" }' >"$TOP/chain.ids"
    cut -d' ' -f1 "$TOP/chain.ids" | git -C "$TOP/chain" cat-file --batch >"$TOP/chain.want"
    if "$P" "$TOP/chain" batch <"$TOP/chain.ids" >"$TOP/chain.got" 2>&1 &&
        cmp -s "$TOP/chain.want" "$TOP/chain.got"; then
        ok "chain: the three deepest objects as git reads them"
    else
        bad "chain" "$(head -c 300 "$TOP/chain.got")"
    fi
else
    bad "chain" "git made no chain deeper than 1000 (${depth:-none})"
fi

# A damaged pack beside a good one: the good one's objects still read (as
# git skips a bad pack); an object only the bad one holds is refused,
# naming it.
cp -r "$TOP/mixed" "$TOP/twopacks"
packs=$(ls -S "$TOP"/twopacks/.git/objects/pack/*.idx)
small=$(printf '%s\n' "$packs" | tail -1)
big=$(printf '%s\n' "$packs" | head -1)
one=$(git -C "$TOP/twopacks" show-index <"$small" | head -1 | cut -d' ' -f2)
other=$(git -C "$TOP/twopacks" show-index <"$big" | head -1 | cut -d' ' -f2)
chmod u+w "$small"
printf 'damaged' >"$small"
expect_line "a damaged pack beside a good one: the good one read" \
    "^$other [a-z]+ [0-9]+\$" "$P" "$TOP/twopacks" batch \
    <<<"$other $(git -C "$TOP/mixed" cat-file -t "$other")"
expect_line "an object only the damaged pack holds: refused, naming it" \
    "^$one error: object $one is not in the store \\(pack pack-[0-9a-f]+\\.pack is damaged" \
    "$P" "$TOP/twopacks" batch <<<"$one $(git -C "$TOP/mixed" cat-file -t "$one")"

# Finding the store from a folder inside it, as serve does: the work
# tree, never a folder above a broken .git, never across a ceiling, never
# another user's repository (git's safe.directory rule).
expect_line "discover: from a folder inside the work tree" "^$W\$" \
    "$P" "$W/agents" discover
mkdir -p "$W/agents/sub"
printf 'gitdir: /nonexistent\n' >"$W/agents/sub/.git"
expect_line "discover: a broken .git file stops the search" \
    "^error: store .* its .git file names no git directory" \
    "$P" "$W/agents/sub" discover
rm -rf "$W/agents/sub"
expect_line "discover: GIT_CEILING_DIRECTORIES stops the search" \
    '^error: no git repository at ' env GIT_CEILING_DIRECTORIES="$W" "$P" "$W/agents" discover
if [ "$(id -u)" = 0 ]; then
    cp -r "$TOP/loose" "$TOP/theirs"
    mkdir -p "$TOP/theirs/inner"
    chown -R 12345:12345 "$TOP/theirs"
    expect_line "discover: a repository of another user is refused" \
        '^error: the git repository at .* belongs to uid 12345' \
        "$P" "$TOP/theirs/inner" discover
    expect_line "open: another user's store given by its path is read" \
        '^[0-9a-f]{40}$' "$P" "$TOP/theirs" ref refs/heads/struere/production
    chown -R 0:0 "$TOP/theirs"
else
    echo "1 skipped: another user's repository needs root to make (chown)"
fi
mkdir -p "$W/agents/sub/.git"
expect_line "discover: a .git folder that is no git directory is passed over" \
    "^$W\$" "$P" "$W/agents/sub" discover
rm -rf "$W/agents/sub"
# A work tree whose top folder also looks like a git directory (HEAD,
# objects/, refs/): its .git wins, as in git.
cp -r "$TOP/loose" "$TOP/lookalike"
mkdir -p "$TOP/lookalike/objects" "$TOP/lookalike/refs"
printf 'ref: refs/heads/none\n' >"$TOP/lookalike/HEAD"
expect_line "a work tree that looks like a git directory: its .git is read" \
    "^$(git -C "$TOP/loose" rev-parse struere/production)\$" \
    "$P" "$TOP/lookalike" ref refs/heads/struere/production

# Symbolic refs, followed; a loop of them refused.
git -C "$TOP/loose" symbolic-ref refs/struere/alias refs/heads/struere/production
expect_line "a symbolic ref followed" "^$(git -C "$TOP/loose" rev-parse struere/production)\$" \
    "$P" "$TOP/loose" ref refs/struere/alias
printf 'ref: refs/struere/b\n' >"$TOP/loose/.git/refs/struere/a"
printf 'ref: refs/struere/a\n' >"$TOP/loose/.git/refs/struere/b"
expect_line "a loop of symbolic refs" '^error: .*symbolic refs in a row' \
    "$P" "$TOP/loose" ref refs/struere/a
printf 'ref: refs/../../../etc/passwd\n' >"$TOP/loose/.git/refs/struere/a"
expect_line "a symbolic ref out of refs/" '^error: .*not a valid ref name' \
    "$P" "$TOP/loose" ref refs/struere/a
printf 'not an id\n' >"$TOP/loose/.git/refs/struere/a"
expect_line "a ref that holds no id" '^error: .*holds no object id' \
    "$P" "$TOP/loose" ref refs/struere/a
printf '%s \t\n' "$(git -C "$TOP/loose" rev-parse struere/production)" >"$TOP/loose/.git/refs/struere/a"
expect_line "a ref with whitespace after its id (git reads it)" \
    "^$(git -C "$TOP/loose" rev-parse struere/production)\$" "$P" "$TOP/loose" ref refs/struere/a
printf '%sx\n' "$(git -C "$TOP/loose" rev-parse struere/production)" >"$TOP/loose/.git/refs/struere/a"
expect_line "a ref with more than an id" '^error: .*holds no object id' \
    "$P" "$TOP/loose" ref refs/struere/a
expect_line "a ref name that is a folder: not a ref" '^notfound: no ref refs/struere' \
    "$P" "$TOP/loose" ref refs/struere
expect_line "a ref that does not exist" '^notfound: no ref refs/struere/none' \
    "$P" "$TOP/loose" ref refs/struere/none
mkfifo "$TOP/loose/.git/refs/struere/fifo"
expect_line "a ref that is a FIFO (no hang)" '^error: .*not a regular file' \
    timeout 10 "$P" "$TOP/loose" ref refs/struere/fifo
rm -f "$TOP/loose/.git/refs/struere/"{a,b,fifo,alias}

# Not stores.
mkdir -p "$TOP/plain/inner"
expect_line "a folder that is no store" '^error: store .* is not a git repository' \
    "$P" "$TOP/plain" ref refs/heads/x
expect_line "a store inside a store's work tree is not searched for" \
    '^error: store .* is not a git repository' "$P" "$W/agents" ref refs/heads/x
expect_line "a path that does not exist" '^error: store .* is not a git repository' \
    "$P" "$TOP/none" ref refs/heads/x

# Paths in commits.
commit=$(git -C "$TOP/loose" rev-parse struere/production)
expect_line "a path not in the tree" '^notfound: bundles/none.stb' \
    "$P" "$TOP/loose" path "$commit" bundles/none.stb
expect_line "a folder is not a file" '^other [0-9a-f]{40}$' \
    "$P" "$TOP/loose" path "$commit" bundles
expect_line "a path through a file" '^notfound: manifest.json/x' \
    "$P" "$TOP/loose" path "$commit" manifest.json/x

# Trees git fsck refuses, written as they are (git mktree sorts and
# refuses a name twice): libgit2 looks a name up by bisection and this
# reader by scanning, so on such a tree they could read other entries.
# The reader refuses a tree out of git's order or with one name twice
# side by side (fsck: treeNotSorted, duplicateEntries), and one naming
# the entry looked up twice anywhere (a file and a folder of one name,
# with an entry between them, are in order). Each check: git fsck names
# the fault, and the path through the tree is refused.
T=$TOP/trees
cp -r "$TOP/loose" "$T"
# raw_tree MODE NAME ID...: the tree of these entries in this order; its id.
raw_tree() {
    while [ $# -gt 0 ]; do
        printf '%s %s\0' "$1" "$2"
        perl -e 'print pack("H*", $ARGV[0])' "$3"
        shift 3
    done | git -C "$T" hash-object -t tree --literally -w --stdin
}
MAN=$(git -C "$T" rev-parse "$commit:manifest.json")
BUNDLES=$(git -C "$T" rev-parse "$commit:bundles")
OTHER=$(printf 'other\n' | git -C "$T" hash-object -w --stdin)
# bad_tree NAME FSCK PATH PATTERN TREE: git fsck says FSCK of TREE, and
# PATH in a commit of it is refused with PATTERN.
bad_tree() {
    local name=$1 fsck=$2 path=$3 pat=$4 tree=$5 c out
    c=$(git -C "$T" commit-tree "$tree" -m "$name")
    if ! git -C "$T" fsck --no-dangling 2>&1 | grep -q "error in tree $tree: $fsck:"; then
        bad "tree: $name" "git fsck does not report $fsck for $tree"
        return
    fi
    out=$("$P" "$T" path "$c" "$path" 2>&1)
    if printf '%s\n' "$out" | grep -qE -- "$pat"; then
        ok "tree: $name (git fsck: $fsck)"
    else
        bad "tree: $name" "wanted /$pat/, got: $(printf '%s' "$out" | head -c 300)"
    fi
}
bad_tree "the file looked up twice, side by side" duplicateEntries manifest.json \
    '^error: a tree of manifest.json names manifest.json twice' \
    "$(raw_tree 100644 manifest.json "$OTHER" 100644 manifest.json "$MAN")"
bad_tree "the folder on the way twice" duplicateEntries bundles/production.stb \
    '^error: a tree of bundles/production.stb names bundles twice' \
    "$(raw_tree 40000 bundles "$BUNDLES" 40000 bundles "$BUNDLES")"
bad_tree "a file and a folder of the name looked up, an entry between" \
    duplicateEntries manifest.json \
    '^error: a tree of manifest.json names manifest.json twice' \
    "$(raw_tree 100644 manifest.json "$MAN" 100644 manifest.json.old "$OTHER" \
        40000 manifest.json "$BUNDLES")"
bad_tree "another name twice, side by side" duplicateEntries manifest.json \
    "^error: a tree of manifest.json has entries out of git's order or one name twice" \
    "$(raw_tree 100644 manifest.json "$MAN" 100644 notes "$OTHER" 100644 notes "$OTHER")"
bad_tree "entries out of git's order" treeNotSorted manifest.json \
    "^error: a tree of manifest.json has entries out of git's order" \
    "$(raw_tree 100644 manifest.json "$MAN" 40000 bundles "$BUNDLES")"
bad_tree "a folder sorted as a file (before a name it sorts after)" treeNotSorted \
    bundles/production.stb "^error: a tree of bundles/production.stb has entries out of git's order" \
    "$(raw_tree 40000 bundles "$BUNDLES" 100644 bundles.old "$OTHER")"

# ---- damage ----------------------------------------------------------------

# A loose object rewritten with other bytes (a valid zlib stream of
# another blob under the first one's name).
D=$TOP/damaged
cp -r "$TOP/loose" "$D"
blob=$(git -C "$D" rev-parse struere/production:manifest.json)
other=$(git -C "$D" rev-parse struere/development:bundles/development.stb)
obj=$D/.git/objects/${blob:0:2}/${blob:2}
chmod u+w "$obj"
cp "$D/.git/objects/${other:0:2}/${other:2}" "$obj"
expect_line "a loose object with another's bytes" "^$blob error: .*do not hash to its id" \
    "$P" "$D" batch <<<"$blob blob"
chmod u+w "$obj"
head -c 20 "$TOP/loose/.git/objects/${blob:0:2}/${blob:2}" >"$obj"
expect_line "a loose object cut short" "^$blob error: .*damaged" \
    "$P" "$D" batch <<<"$blob blob"
printf 'x' >"$obj"
expect_line "a loose object that is not zlib" "^$blob error: " \
    "$P" "$D" batch <<<"$blob blob"
tree=$(git -C "$TOP/loose" rev-parse "struere/production^{tree}")
expect_line "a tree asked for as a blob" "^$tree error: .*is a tree, not a blob" \
    "$P" "$TOP/loose" batch <<<"$tree blob"
expect_line "an object not in the store" '^0{40} error: .*not in the store' \
    "$P" "$TOP/loose" batch <<<"0000000000000000000000000000000000000000 blob"

# Bytes flipped at random in a pack, and in its index: every object read
# is git's, or the read fails with a reason; never other bytes, never a
# crash (the probe's exit status is 0 or 1).
git -C "$TOP/refdelta" cat-file --batch-all-objects \
    --batch-check='%(objectname) %(objecttype)' >"$TOP/rd-ids"
cut -d' ' -f1 "$TOP/rd-ids" | git -C "$TOP/refdelta" cat-file --batch >"$TOP/rd-want"
# the wanted answer of each object, one file per object
mkdir -p "$TOP/want.d"
python3 - "$TOP/rd-want" "$TOP/want.d" <<'EOF'
import sys, os
data = open(sys.argv[1], 'rb').read()
at = 0
while at < len(data):
    nl = data.index(b'\n', at)
    oid, typ, size = data[at:nl].split(b' ')
    end = nl + 1 + int(size) + 1
    open(os.path.join(sys.argv[2], oid.decode()), 'wb').write(data[at:end])
    at = end
EOF
judge_flips() { # NAME FILE
    local name=$1 file=$2 len crashes=0 wrong=0 failed=0 clean=0 i
    len=$(stat -c %s "$file")
    cp "$file" "$TOP/flip.orig"
    for i in $(seq "$FLIPS"); do
        cp "$TOP/flip.orig" "$file"
        python3 - "$file" "$len" "$i" <<'EOF'
import sys, random
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed * 7919 + n)
data = bytearray(open(path, 'rb').read())
for _ in range(r.choice([1, 1, 1, 2, 8])):
    at = r.randrange(n)
    data[at] ^= 1 << r.randrange(8) if r.random() < 0.7 else r.randrange(1, 256)
open(path, 'wb').write(bytes(data))
EOF
        "$P" "$TOP/refdelta" batch <"$TOP/rd-ids" >"$TOP/flip.out" 2>&1
        rc=$?
        if [ "$rc" -gt 1 ]; then
            crashes=$((crashes + 1))
            echo "    flip $i of $name: exit $rc" >&2
            continue
        fi
        python3 - "$TOP/flip.out" "$TOP/want.d" <<'EOF' || wrong=$((wrong + 1))
import sys, os, re
data = open(sys.argv[1], 'rb').read()
at = 0
while at < len(data):
    nl = data.index(b'\n', at)
    head = data[at:nl]
    m = re.match(rb'^([0-9a-f]{40}) error: .+$', head)
    if m:
        at = nl + 1
        continue
    oid, typ, size = head.split(b' ')
    end = nl + 1 + int(size) + 1
    want = open(os.path.join(sys.argv[2], oid.decode()), 'rb').read()
    if data[at:end] != want:
        print("    other bytes for", oid.decode())
        sys.exit(1)
    at = end
EOF
        if grep -qE '^[0-9a-f]{40} error: ' "$TOP/flip.out"; then failed=$((failed + 1)); else clean=$((clean + 1)); fi
    done
    cp "$TOP/flip.orig" "$file"
    if [ "$crashes" -eq 0 ] && [ "$wrong" -eq 0 ]; then
        ok "$name: $FLIPS damaged copies, each object git's or refused ($failed with refusals, $clean unharmed)"
    else
        bad "$name" "$crashes crashes, $wrong with other bytes, of $FLIPS"
    fi
}
judge_flips "bytes flipped in a pack" "$(ls "$TOP"/refdelta/.git/objects/pack/*.pack)"
judge_flips "bytes flipped in a pack index" "$(ls "$TOP"/refdelta/.git/objects/pack/*.idx)"

# A damaged loose copy beside a good packed one (a crash can leave an
# empty loose file): the packed copy is read, as git reads it.
cp -r "$TOP/gc" "$TOP/twocopies"
blob=$(git -C "$TOP/twocopies" rev-parse struere/production:manifest.json)
mkdir -p "$TOP/twocopies/.git/objects/${blob:0:2}"
: >"$TOP/twocopies/.git/objects/${blob:0:2}/${blob:2}"
expect_line "an empty loose copy beside a packed one: the packed one read" \
    "^$blob blob [0-9]+\$" "$P" "$TOP/twocopies" batch <<<"$blob blob"
printf 'x' >"$TOP/twocopies/.git/objects/${blob:0:2}/${blob:2}"
expect_line "a loose copy that is not zlib beside a packed one" \
    "^$blob blob [0-9]+\$" "$P" "$TOP/twocopies" batch <<<"$blob blob"

# A damaged packed copy beside a good loose one: the loose one read.
cp -r "$TOP/gc" "$TOP/badpacked"
blob=$(git -C "$TOP/badpacked" rev-parse struere/production:manifest.json)
bpk=$(ls "$TOP"/badpacked/.git/objects/pack/*.pack)
read -r boff bsize < <(git -C "$TOP/badpacked" verify-pack -v "${bpk%.pack}.idx" |
    awk -v id="$blob" '$1 == id { print $5, $4 }')
git -C "$TOP/badpacked" cat-file blob "$blob" >"$TOP/blob.bytes"
python3 - "$bpk" "$boff" "$bsize" "$TOP/blob.bytes" "$TOP/badpacked/.git/objects" "$blob" <<'PY'
import os, sys, zlib
pack, off, size, body, objects, oid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
data = bytearray(open(pack, "rb").read())
for at in range(off + size // 2, off + size - 2):  # the entry's zlib data
    data[at] ^= 0x55
os.chmod(pack, 0o644)
open(pack, "wb").write(bytes(data))
raw = open(body, "rb").read()
os.makedirs(os.path.join(objects, oid[:2]), exist_ok=True)
open(os.path.join(objects, oid[:2], oid[2:]), "wb").write(zlib.compress(b"blob %d\0" % len(raw) + raw))
PY
git -C "$TOP/badpacked" cat-file blob "$blob" | cmp -s - "$TOP/blob.bytes" &&
    ok "a damaged packed copy: git reads the loose one" ||
    bad "a damaged packed copy" "git itself cannot read the loose copy"
expect_line "a damaged packed copy beside a good loose one: the loose one read" \
    "^$blob blob $(stat -c %s "$TOP/blob.bytes")\$" "$P" "$TOP/badpacked" batch <<<"$blob blob"

# An index beside a pack it does not index (another pack's): refused.
cp -r "$TOP/gc" "$TOP/swapped"
sidx=$(ls "$TOP"/swapped/.git/objects/pack/*.idx)
chmod u+w "$sidx"
cp "$(ls "$TOP"/refdelta/.git/objects/pack/*.idx)" "$sidx"
expect_line "an index of another pack" \
    "^[0-9a-f]{40} error: object .* is not in the store \\(pack .* is damaged: its index is not the index of this pack\\)" \
    "$P" "$TOP/swapped" batch <<<"$(head -1 "$TOP/rd-ids")"

# A pack cut short, and an index that is not one.
pk=$(ls "$TOP"/refdelta/.git/objects/pack/*.pack)
cp "$pk" "$TOP/pk.orig"
head -c $(($(stat -c %s "$pk") / 2)) "$TOP/pk.orig" >"$pk"
"$P" "$TOP/refdelta" batch <"$TOP/rd-ids" >"$TOP/cut.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -qE '^[0-9a-f]{40} error: ' "$TOP/cut.out" &&
    ok "a pack cut in half: refused with a reason" ||
    bad "a pack cut in half" "exit $rc"
cp "$TOP/pk.orig" "$pk"
ix=$(ls "$TOP"/refdelta/.git/objects/pack/*.idx)
cp "$ix" "$TOP/ix.orig"
printf 'not an index' >"$ix"
expect_line "an index that is not one" '^[0-9a-f]{40} error: object .* is not in the store \(pack .* is damaged: its index is not a version 2 pack index\)' \
    "$P" "$TOP/refdelta" batch <<<"$(head -1 "$TOP/rd-ids")"
cp "$TOP/ix.orig" "$ix"

echo "gitread: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
