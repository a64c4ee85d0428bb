#!/usr/bin/env bash
# tests/trust/run.sh BUILD_DIR   (e.g. build/release)
#
# The tamper matrix of runtime/TRUST.md on real git stores made from
# fixtures/example in temporary directories: what an attacker with push
# access (or bad luck) can do to a store, and what each command and the
# runtime must answer. Every case names the error it expects (the
# runtime's code, a fragment of the command's message) and checks that
# refs/heads/struere/*, refs/struere/promotions and refs/struere/trust
# did not move.
#
#  1. bundles: a byte flipped in the header, the section table and each
#     section, with the CRC-32s as they were and recomputed (stb.py), the
#     manifest's digest edited, the bundle swapped with another
#     environment's or an older one: against deploy, rollback, rollback
#     --to, inspect, the runtime's open and reload, and `struere get`;
#  2. a store whose trust policy requires 2 signatures for production:
#     statements edited after signing, signed by untrusted keys, signed
#     K-1 times, naming another commit, environment or bundle, replayed
#     (--state); a branch moved by hand; the policy changed with too few
#     signatures or replaced (a pinned policy); key records unsigned,
#     signed by an untrusted key, a revoke flipped back; approve;
#  3. exhaustive single-byte corruption of a small project's production
#     bundle promoted by deploy (exhaustive.py; every STEP-th offset,
#     STEP=1 for all of them).
#
# BUILD_DIR/trust-tool (tool.c) signs by hand and opens with options;
# doc.py crafts the JSON documents. Ends with "trust: N passed, M
# failed". KEEP=1 keeps the stores; VERBOSE=1 shows every output.
set -u

if [ $# -ne 1 ] || [ ! -x "$1/struere" ] || [ ! -x "$1/trust-tool" ]; then
    echo "usage: $0 BUILD_DIR (with struere and trust-tool built)" >&2
    exit 2
fi
B=$(cd "$1" && pwd)
S=$B/struere
T=$B/trust-tool
REPO=$(cd "$(dirname "$0")/../.." && pwd)
STB="python3 $REPO/tests/trust/stb.py"
DOC="python3 $REPO/tests/trust/doc.py"
STEP=${STEP:-7}
TOP=$(mktemp -d "${TMPDIR:-/tmp}/struere-trust.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "work kept in $TOP"
else
    trap 'rm -rf "$TOP"' EXIT
fi

export HOME=$TOP/home GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1 LC_ALL=C TZ=UTC
unset SOURCE_DATE_EPOCH STRUERE_API_KEY STRUERE_SIGNING_KEY GIT_DIR \
    GIT_WORK_TREE GIT_INDEX_FILE
mkdir -p "$HOME"
cat >"$HOME/.gitconfig" <<'EOF'
[user]
	name = Trust Test
	email = trust-test@example.com
[init]
	defaultBranch = master
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
show() { [ "${VERBOSE:-0}" != 1 ] || printf '%s\n' "$1" | sed 's/^/    /'; }

# The refs no refused command may move.
snap() {
    git -C "$1" for-each-ref --format='%(refname) %(objectname)' \
        refs/heads/struere refs/struere/promotions refs/struere/trust
}
rev() { git -C "$1" rev-parse "$2"; }
move() { git -C "$1" update-ref -m "by hand" "refs/heads/struere/$2" "$3"; }

# put DIR REF PATH CONTENT: a commit on REF with PATH set to CONTENT
# (tests/keys/git-put.sh: a file, blob:ID or -).
put() { (cd "$1" && sh "$REPO/tests/keys/git-put.sh" "$2" "$3" "$4"); }

# refused NAME DIR RC FRAGMENT ARGS...: `struere -C DIR ARGS` exits with
# RC (nz: any non-zero), says FRAGMENT (stdout or stderr) and moves no
# ref.
refused() {
    local name=$1 dir=$2 want=$3 frag=$4 before after out rc
    shift 4
    before=$(snap "$dir")
    out=$("$S" -C "$dir" "$@" 2>&1)
    rc=$?
    after=$(snap "$dir")
    show "$out"
    if [ "$want" = nz ] && [ "$rc" -eq 0 ]; then
        bad "$name" "exit 0, want non-zero: $out"
    elif [ "$want" != nz ] && [ "$rc" -ne "$want" ]; then
        bad "$name" "exit $rc, want $want: $(printf '%s' "$out" | head -n 3)"
    elif [[ $out != *"$frag"* ]]; then
        bad "$name" "no '$frag' in: $(printf '%s' "$out" | head -n 3)"
    elif [ "$before" != "$after" ]; then
        bad "$name" "refs moved: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
    else
        ok "$name"
    fi
}

# rt_refused NAME DIR KEY CODE FRAGMENT [--trust F] [--state F]: the
# runtime refuses to open with CODE and FRAGMENT in its message.
rt_refused() {
    local name=$1 dir=$2 key=$3 code=$4 frag=$5 out
    shift 5
    out=$("$T" open "$dir" "$key" "$@" 2>&1)
    show "$out"
    case $out in
    *BUG* | *runtime\ error* | *Sanitizer*) bad "$name" "$out" ;;
    "open error $code: "*"$frag"*) ok "$name" ;;
    *) bad "$name" "want $code with '$frag', got: $out" ;;
    esac
}

# rt_opens NAME DIR KEY COMMIT [options]: the runtime opens COMMIT.
rt_opens() {
    local name=$1 dir=$2 key=$3 commit=$4 out
    shift 4
    out=$("$T" open "$dir" "$key" "$@" 2>&1)
    show "$out"
    case $out in
    *BUG* | *runtime\ error* | *Sanitizer*) bad "$name" "$out" ;;
    "open commit=$commit "*) ok "$name" ;;
    *) bad "$name" "want commit $commit, got: $out" ;;
    esac
}

# rt_reload NAME DIR KEY CMD CODE FRAGMENT [options]: a runtime open on
# the store's production commit, then CMD, then reload: refused with CODE,
# and the runtime keeps the commit it had.
rt_reload() {
    local name=$1 dir=$2 key=$3 cmd=$4 code=$5 frag=$6 out had
    shift 6
    had=$(rev "$dir" refs/heads/struere/production)
    out=$("$T" reload "$dir" "$key" "$cmd" "$@" 2>&1)
    show "$out"
    case $out in
    *BUG* | *runtime\ error* | *Sanitizer*) bad "$name" "$out" ;;
    "open commit=$had "*"reload error $code: "*"$frag"*"state commit=$had "*)
        ok "$name" ;;
    *) bad "$name" "want $code with '$frag' keeping $had, got: $out" ;;
    esac
}

# get_refused NAME DIR KEY FRAGMENT [options]: `struere get` serves nothing.
get_refused() {
    local name=$1 dir=$2 key=$3 frag=$4 out err rc
    shift 4
    out=$("$S" -C "$dir" get agent front-desk --key "$key" "$@" 2>"$TOP/err")
    rc=$?
    err=$(cat "$TOP/err")
    show "$err"
    if [ "$rc" -eq 0 ] || [ -n "$out" ]; then
        bad "$name" "exit $rc, printed: $(printf '%s' "$out" | head -n 2)"
    elif [[ $err != *"$frag"* ]]; then
        bad "$name" "no '$frag' in: $err"
    else
        ok "$name"
    fi
}

echo "building the stores in $TOP"
# ---- signing keys: alice and bob are trusted, carol and dave are not ----
for who in alice bob carol dave; do
    "$S" signing-key create --out "$TOP/$who.key" >"$TOP/$who.pub" 2>/dev/null
done
A=$TOP/alice.key Bk=$TOP/bob.key C=$TOP/carol.key Dk=$TOP/dave.key
case $(cat "$TOP/alice.pub") in
ed25519:????????????????????????????????????????????) ;;
*)
    echo "FAIL setup: signing-key create printed '$(cat "$TOP/alice.pub")'"
    echo "trust: 0 passed, 1 failed"
    exit 1
    ;;
esac
if [ "$("$T" pubkey "$A")" = "$(cat "$TOP/alice.pub")" ]; then
    ok "setup: the tool derives the public key signing-key create printed"
else
    bad "setup" "trust-tool pubkey disagrees with signing-key create"
fi

# ---- the plain store: no policy; production at D1, development at D2 ----
PLAIN=$TOP/plain
cp -r "$REPO/fixtures/example" "$PLAIN"
(
    cd "$PLAIN" && git init -q . && git add -A && git commit -qm init &&
        "$S" dev >/dev/null && "$S" deploy --yes >/dev/null &&
        sed -i 's/^version: 1.3.0/version: 1.3.9/' agents/front-desk.md &&
        git commit -qam v2 && "$S" dev >/dev/null
) || {
    echo "FAIL setup: struere dev/deploy in $PLAIN"
    echo "trust: $pass passed, $((fail + 1)) failed"
    exit 1
}
D1=$(rev "$PLAIN" refs/heads/struere/production)
D2=$(rev "$PLAIN" refs/heads/struere/development)
KP=$("$S" -C "$PLAIN" keys create --env production 2>/dev/null)
[ "$D1" != "$D2" ] && [ -n "$KP" ] || {
    echo "FAIL setup: two development commits and a production key"
    echo "trust: $pass passed, $((fail + 1)) failed"
    exit 1
}
git -C "$PLAIN" cat-file blob "$D2:bundles/production.stb" >"$TOP/good.stb"
rt_opens "plain store: the production key opens production" "$PLAIN" "$KP" "$D1"
if $STB fix "$TOP/good.stb" "$TOP/refixed.stb" && cmp -s "$TOP/good.stb" "$TOP/refixed.stb"; then
    ok "stb.py: recomputing the CRCs of an untouched bundle changes nothing"
else
    bad "stb.py" "its CRCs differ from the writer's: the fixer is wrong"
fi

# variant NAME: a commit (child of D2, no branch) whose production bundle
# or manifest is tampered as NAME says; prints its id.
variant() {
    local name=$1 file=$TOP/v.stb at
    git -C "$PLAIN" update-ref refs/tamper/base "$D2"
    case $name in
    manifest)
        git -C "$PLAIN" show "$D2:manifest.json" |
            python3 -c 'import json,sys
m=json.load(sys.stdin); h=m["bundles"]["production"]["sha256"]
m["bundles"]["production"]["sha256"]=("0" if h[0]!="0" else "1")+h[1:]
print(json.dumps(m, indent=2))' >"$TOP/manifest.json"
        put "$PLAIN" refs/tamper/base manifest.json "$TOP/manifest.json" ;;
    swap-development)
        put "$PLAIN" refs/tamper/base bundles/production.stb \
            "blob:$(rev "$PLAIN" "$D2:bundles/development.stb")" ;;
    swap-eval)
        put "$PLAIN" refs/tamper/base bundles/production.stb \
            "blob:$(rev "$PLAIN" refs/heads/struere/eval:bundles/eval.stb)" ;;
    swap-older)
        put "$PLAIN" refs/tamper/base bundles/production.stb \
            "blob:$(rev "$PLAIN" "$D1:bundles/production.stb")" ;;
    *-header) at=40 ;;  # a byte of source_digest
    *-table) at=72 ;;   # the first section's offset (BUNDLE.md: x8)
    *-STRS) at=$($STB at "$TOP/good.stb" STRS letter) ;;
    *) at=$($STB at "$TOP/good.stb" "${name#*-}") ;;
    esac
    if [ -n "${at:-}" ]; then
        case $name in
        fix-*) $STB flip "$TOP/good.stb" "$file" "$at" --fix ;;
        *) $STB flip "$TOP/good.stb" "$file" "$at" ;;
        esac
        put "$PLAIN" refs/tamper/base bundles/production.stb "$file"
    fi
    rev "$PLAIN" refs/tamper/base
    git -C "$PLAIN" update-ref -d refs/tamper/base
}

# What each variant must get, written from BUNDLE.md and TRUST.md: a byte
# changed under a CRC is ECHECKSUM; with the CRCs recomputed, a change
# the format's rules see is ECORRUPT (an unaligned offset, a count that
# does not match the size, a string reference that is not NUL-ended) and
# one they cannot see (a byte of source_digest, a letter of a string) is
# only caught by the manifest's SHA-256 (EDIGEST); a bundle of another
# environment is EENV; another production bundle is EDIGEST.
# Lines: variant, runtime code, fragment of every message.
MATRIX="raw-header ECHECKSUM CRC
fix-header EDIGEST SHA-256
raw-table ECHECKSUM CRC
fix-table ECORRUPT production
raw-STRS ECHECKSUM CRC
fix-STRS EDIGEST SHA-256"
for sec in META AGNT DATA ROLE TOOL AUTO; do
    MATRIX="$MATRIX
raw-$sec ECHECKSUM CRC
fix-$sec ECORRUPT production"
done
MATRIX="$MATRIX
manifest EDIGEST SHA-256
swap-development EENV environment
swap-eval EENV environment
swap-older EDIGEST SHA-256"

echo "== bundles"
while read -r v code frag; do
    X=$(variant "$v")
    # deploy: development moved to the tampered commit.
    move "$PLAIN" development "$X"
    refused "$v: deploy --yes refuses" "$PLAIN" 3 "$frag" deploy --yes
    refused "$v: rollback --to refuses" "$PLAIN" 3 "$frag" rollback --to "$X" --yes
    move "$PLAIN" development "$D2"
    # rollback: the reflog says production came from the tampered commit.
    move "$PLAIN" production "$X"
    git -C "$PLAIN" update-ref -m "struere deploy: by hand" \
        refs/heads/struere/production "$D1"
    refused "$v: rollback refuses" "$PLAIN" 3 "$frag" rollback --yes
    refused "$v: inspect says it does not verify" "$PLAIN" 1 "$frag" \
        inspect "$X" --env production
    # the runtime: production moved to it by hand (no policy: allowed).
    move "$PLAIN" production "$X"
    rt_refused "$v: the runtime refuses to open" "$PLAIN" "$KP" "$code" "$frag"
    get_refused "$v: struere get serves nothing" "$PLAIN" "$KP" "$frag"
    move "$PLAIN" production "$D1"
    rt_reload "$v: reload keeps the last good bundle" "$PLAIN" "$KP" \
        "git -C '$PLAIN' update-ref refs/heads/struere/production $X" \
        "$code" "$frag"
    move "$PLAIN" production "$D1"
done <<EOF
$MATRIX
EOF
# The matrix leaves the store as it found it: a good deploy still works.
refused "plain store after the matrix: deploy of D2 still works" "$PLAIN" 0 \
    "production" deploy --yes --dry-run

echo "trust: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
