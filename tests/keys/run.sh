#!/usr/bin/env bash
# tests/keys/run.sh BUILD_DIR   (e.g. build/release)
#
# Opening a runtime by API key, and reloading it, against real git stores
# made with the struere command in temporary directories: the isolation
# matrix (each key kind against each store state: it must never yield
# another environment's bundle), revoked, expired, forged, unknown and
# malformed keys, missing refs, corrupt bundles and key records, and
# reload. BUILD_DIR/keys-probe (tests/keys/probe.c) does the opening and
# prints what it got; this script builds the stores and judges the lines.
# Ends with "keys: N passed, M failed". KEEP=1 keeps the stores; VERBOSE=1
# shows the probe's lines.
set -u

if [ $# -ne 1 ] || [ ! -x "$1/struere" ] || [ ! -x "$1/keys-probe" ]; then
    echo "usage: $0 BUILD_DIR (with struere and keys-probe built)" >&2
    exit 2
fi
B=$(cd "$1" && pwd)
S=$B/struere
P=$B/keys-probe
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TOP=$(mktemp -d "${TMPDIR:-/tmp}/struere-keys.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "work kept in $TOP"
else
    trap 'rm -rf "$TOP"' EXIT
fi

# A private identity and configuration, as tests/store/run.sh does.
export HOME=$TOP/home GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1 LC_ALL=C TZ=UTC
unset SOURCE_DATE_EPOCH STRUERE_API_KEY GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
mkdir -p "$HOME"
cat >"$HOME/.gitconfig" <<'EOF'
[user]
	name = Keys Test
	email = keys-test@example.com
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
# VERBOSE=1 shows what the probe printed for each check.
show() { [ "${VERBOSE:-0}" != 1 ] || printf '%s\n' "$1" | sed 's/^/    /'; }

# ---- stores ---------------------------------------------------------------

ENVS="development production eval"
kind_of() { # environment -> key prefix
    case $1 in development) echo sk_dev_ ;; production) echo sk_prod_ ;; *) echo sk_eval_ ;; esac
}

# new_key DIR ENV [ARGS...]: creates a key, prints it.
new_key() {
    local dir=$1 env=$2
    shift 2
    "$S" -C "$dir" keys create --env "$env" "$@" 2>/dev/null
}

# blob DIR ENV FILE: the blob id of bundles/FILE.stb on ENV's branch.
blob() { git -C "$1" rev-parse "refs/heads/struere/$2:bundles/$3.stb"; }

# put DIR REF PATH CONTENT: a commit on REF with PATH set to CONTENT (a
# file, blob:ID, or - to remove it): tests/keys/git-put.sh.
PUT=$REPO/tests/keys/git-put.sh
put() { (cd "$1" && sh "$PUT" "$2" "$3" "$4"); }
# put_keys DIR FILE: FILE becomes keys.json of refs/struere/keys.
put_keys() { put "$1" refs/struere/keys keys.json "$2"; }

# record ENV SHA256 [REVOKED [EXPIRES [REVOKED_AT]]]: one keys.json record,
# its "prefix" the label of the key SHA256 is the digest of (LABEL, filled
# once the keys are made), else "x".
declare -A LABEL
record() {
    local at=""
    [ -z "${5:-}" ] || at=",\"revokedAt\":\"$5\""
    printf '{"created":"2026-01-01T00:00:00Z","environment":"%s","expires":%s,"name":"t","prefix":"%s","revoked":%s,"sha256":"%s"%s}' \
        "$1" "${4:-null}" "${LABEL[${2,,}]:-x}" "${3:-false}" "$2" "$at"
}
sha() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# shown KEY: what messages may show of a key (prefix and 4 characters);
# stored KEY: the prefix its record keeps (prefix and 6 characters).
prefix_of() { local rest=${1#*_}; echo "${1%%_*}_${rest%%_*}_"; }
shown() { local p; p=$(prefix_of "$1"); echo "${1:0:$((${#p} + 4))}"; }
stored() { local p; p=$(prefix_of "$1"); echo "${1:0:$((${#p} + 6))}"; }

# A random, well-formed key no store knows.
random_key() {
    printf '%s%s' "$1" "$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)"
}

echo "building the stores in $TOP"
BASE=$TOP/base
cp -r "$REPO/fixtures/example" "$BASE"
(
    cd "$BASE" && git init -q . && git add -A && git commit -qm init &&
        "$S" dev >/dev/null && "$S" deploy --yes >/dev/null
) || {
    echo "FAIL setup: struere dev/deploy in $BASE"
    echo "keys: 0 passed, 1 failed"
    exit 1
}
declare -A KEY REVOKED EXPIRED LATER
for env in $ENVS; do
    KEY[$env]=$(new_key "$BASE" "$env" --name "live $env")
    REVOKED[$env]=$(new_key "$BASE" "$env" --name "revoked $env")
    EXPIRED[$env]=$(new_key "$BASE" "$env" --name old --expires 2020-01-01)
    LATER[$env]=$(new_key "$BASE" "$env" --expires 2030-06-01T12:00:00Z)
done
for env in $ENVS; do
    "$S" -C "$BASE" keys revoke "$(stored "${REVOKED[$env]}")" >/dev/null
done
for env in $ENVS; do
    for key in "${KEY[$env]}" "${REVOKED[$env]}" "${EXPIRED[$env]}" \
        "${LATER[$env]}"; do
        case $key in
        "$(kind_of "$env")"????????????????????????????????????????) ;;
        *)
            echo "FAIL setup: struere keys create printed '$key'"
            echo "keys: 0 passed, 1 failed"
            exit 1
            ;;
        esac
    done
done
for env in $ENVS; do
    for key in "${KEY[$env]}" "${REVOKED[$env]}" "${EXPIRED[$env]}" \
        "${LATER[$env]}"; do
        LABEL[$(sha "$key")]=$(stored "$key")
    done
done
# Every other store starts as a copy of this one: the same keys work.
copy() { rm -rf "${TOP:?}/$1" && cp -r "$BASE" "$TOP/$1" && echo "$TOP/$1"; }

# ---- judging the probe's lines -------------------------------------------
# A probe line with BUG (the library broke its contract: a runtime left on
# failure, an error struct that disagrees), or a sanitizer's report, fails
# the check it belongs to.

# leaks OUT KEY: the output shows no more of the key than its prefix and 4
# characters.
leaks() {
    local out=$1 key=$2
    [ ${#key} -ge 20 ] || return 1
    case $out in *"${key:12:6}"* | *"${key: -8}"*) return 0 ;; esac
    return 1
}

# expect_ok NAME STORE KEY ENV [NOW]: the key opens ENV's bundle: the
# commit ENV's branch names, the very bytes of its bundles/ENV.stb.
expect_ok() {
    local name=$1 store=$2 key=$3 env=$4 now=${5:-0} out commit want
    out=$("$P" "$store" "$key" "$now" 2>&1)
    commit=$(git -C "$store" rev-parse "refs/heads/struere/$env" 2>/dev/null)
    want=$(git -C "$store" cat-file blob "$commit:bundles/$env.stb" 2>/dev/null |
        sha256sum | cut -c1-64)
    show "$out"
    case $out in
    *BUG* | *Sanitizer* | *"runtime error"*) bad "$name" "$out" ;;
    "open ok env=$env commit=$commit bundle_env=$env sha256=$want entries="[1-9]*) ok "$name" ;;
    *) bad "$name" "expected the $env bundle of $commit, got: $out" ;;
    esac
}

# expect_err NAME STORE KEY CODE TEXT [NOW]: refused with CODE, the
# message containing TEXT, and no runtime left behind.
expect_err() {
    local name=$1 store=$2 key=$3 code=$4 text=$5 now=${6:-0} out
    out=$("$P" "$store" "$key" "$now" 2>&1)
    show "$out"
    if leaks "$out" "$key"; then
        bad "$name" "the message shows the key: $out"
        return
    fi
    # TEXT ending in $ must end the message.
    local end='*'
    case $text in *'$') text=${text%?} end= ;; esac
    case $out in
    *BUG* | *Sanitizer* | *"runtime error"*) bad "$name" "$out" ;;
    "open error $code: "*"$text"$end) ok "$name" ;;
    *) bad "$name" "expected $code ('$text'), got: $out" ;;
    esac
}

# ---- 1. a normal store ----------------------------------------------------

for env in $ENVS; do
    expect_ok "normal: $env key opens $env" "$BASE" "${KEY[$env]}" "$env"
    expect_ok "normal: $env key, store given as .git" "$BASE/.git" \
        "${KEY[$env]}" "$env"
done
git clone -q --mirror "$BASE" "$TOP/bare.git"
for env in $ENVS; do
    expect_ok "normal: $env key, bare store" "$TOP/bare.git" "${KEY[$env]}" \
        "$env"
done
dir=$(copy packed)
git -C "$dir" gc -q
for env in $ENVS; do
    expect_ok "normal: $env key, packed store (git gc)" "$dir" "${KEY[$env]}" \
        "$env"
done
out=$(cd "$BASE" && "$P" - "${KEY[eval]}")
case $out in "open ok env=eval "*) ok "normal: no store means the current directory" ;;
*) bad "normal: no store means the current directory" "$out" ;; esac
expect_err "normal: a subdirectory of the store is not searched upwards" \
    "$BASE/agents" "${KEY[development]}" ESTORE "is not a git repository"
expect_err "normal: a store that does not exist" "$TOP/nowhere" \
    "${KEY[development]}" ESTORE "store $TOP/nowhere is not a git repository"
expect_err "normal: a store that is a file" "$BASE/struere.yaml" \
    "${KEY[development]}" ESTORE "is not a git repository"

# ---- 2. keys that are not what they claim ---------------------------------

for env in $ENVS; do
    key=${KEY[$env]}
    random=${key#"$(kind_of "$env")"}
    for other in $ENVS; do
        [ "$other" = "$env" ] && continue
        forged=$(kind_of "$other")$random
        expect_err "forged: $(kind_of "$other") + the random part of a $env key" \
            "$BASE" "$forged" EKEY "no key record matches this key ($(kind_of "$other")${random:0:4}"
    done
    expect_err "unknown: a well-formed $env key no record has" "$BASE" \
        "$(random_key "$(kind_of "$env")")" EKEY "no key record matches this key"
    expect_err "unknown: a $env key with one character changed" "$BASE" \
        "${key%?}$([ "${key: -1}" = A ] && echo B || echo A)" EKEY \
        "no key record matches"
    expect_err "revoked: $env key" "$BASE" "${REVOKED[$env]}" EREVOKED \
        "key $(shown "${REVOKED[$env]}")… was revoked on 20"
    expect_err "expired: $env key" "$BASE" "${EXPIRED[$env]}" EEXPIRED \
        "expired on 2020-01-01T00:00:00Z"
done
# A key that expires 2030-06-01T12:00:00Z: valid to that second.
exp=$(date -u -d 2030-06-01T12:00:00Z +%s)
for env in $ENVS; do
    expect_ok "expiry: $env key before its expiry" "$BASE" "${LATER[$env]}" \
        "$env" $((exp - 86400))
    expect_ok "expiry: $env key at its expiry second" "$BASE" \
        "${LATER[$env]}" "$env" "$exp"
    expect_err "expiry: $env key one second after" "$BASE" "${LATER[$env]}" \
        EEXPIRED "expired on 2030-06-01T12:00:00Z" $((exp + 1))
done
expect_err "expiry: revoked wins over expired" "$BASE" "${REVOKED[eval]}" \
    EREVOKED "revoked" $((exp + 1))

# ---- 3. malformed keys ----------------------------------------------------

r40=$(printf 'a%.0s' $(seq 40))
malformed() { expect_err "malformed: $1" "$BASE" "$2" EKEY "$3"; }
malformed "empty" "" "no API key given"
malformed "NULL" - "no API key given"
malformed "no prefix" "$r40" "does not start with sk_dev_, sk_prod_ or sk_eval_"
malformed "prefix only" "sk_prod_" "too short: 0 characters after sk_prod_"
malformed "31 characters" "sk_dev_${r40:0:31}" "too short: 31 characters after sk_dev_, at least 32"
malformed "129 characters" "sk_eval_$(printf 'b%.0s' $(seq 129))" "too long: more than 128"
malformed "wrong prefix sk_test_" "sk_test_$r40" "does not start with"
malformed "upper-case prefix" "SK_DEV_$r40" "does not start with"
malformed "prefix without its underscore" "sk_dev$r40" "does not start with"
malformed "pk_ prefix" "pk_prod_$r40" "does not start with"
malformed "a dash" "sk_dev_${r40:0:20}-${r40:0:19}" "not base62 (0-9, A-Z, a-z) at position 28"
malformed "an underscore" "sk_prod_${r40:0:39}_" "at position 48"
malformed "a space" "sk_eval_${r40:0:10} ${r40:0:29}" "at position 19"
malformed "a non-ASCII letter" "sk_dev_${r40:0:38}é" "not base62"
malformed "a newline" "sk_dev_${r40:0:20}
${r40:0:20}" "not base62"
expect_err "well-formed at 32 characters, unknown" "$BASE" "sk_dev_${r40:0:32}" \
    EKEY "no key record matches"
expect_err "well-formed at 128 characters, unknown" "$BASE" \
    "sk_prod_$(printf 'Z%.0s' $(seq 128))" EKEY "no key record matches"

# ---- 4. the isolation matrix: bundles swapped between environments ------

# matrix NAME DIR EXPECT: each key kind against the store DIR. EXPECT is
# "development:ok production:CODE=TEXT eval:..." (TEXT with _ for spaces).
# A key either opens its own environment's bundle (the very bytes its
# branch holds) or is refused: never another environment's bundle.
matrix() {
    local name=$1 dir=$2 expect=$3 env want text
    for env in $ENVS; do
        want=$(tr ' ' '\n' <<<"$expect" | sed -n "s/^$env://p")
        case $want in
        ok) expect_ok "isolation: $name: $env key" "$dir" "${KEY[$env]}" "$env" ;;
        *)
            text=${want#*=}
            expect_err "isolation: $name: $env key" "$dir" "${KEY[$env]}" \
                "${want%%=*}" "${text//_/ }"
            ;;
        esac
    done
}
# swap NAME ENV FILE FROM_ENV FROM_FILE EXPECT: a copy of the base store
# where ENV's branch has bundles/FILE.stb replaced by the bundle FROM_FILE
# of FROM_ENV's branch, then the matrix.
swap() {
    local dir
    dir=$(copy "swap-$2-$3-$4-$5")
    put "$dir" "refs/heads/struere/$2" "bundles/$3.stb" "blob:$(blob "$dir" "$4" "$5")"
    matrix "$1" "$dir" "$6"
}
WRONG_PROD="bundle_is_for_the_development_environment,_expected_production"
swap "production.stb holds the development bundle" production production \
    development development \
    "development:ok production:EENV=refs/heads/struere/production:bundles/production.stb:_$WRONG_PROD eval:ok"
swap "production.stb holds the eval bundle" production production eval eval \
    "development:ok production:EENV=bundle_is_for_the_eval_environment,_expected_production eval:ok"
swap "development.stb holds the production bundle" development development \
    development production \
    "development:EENV=bundle_is_for_the_production_environment,_expected_development production:ok eval:ok"
swap "development.stb holds the eval bundle" development development eval \
    eval "development:EENV=for_the_eval_environment,_expected_development production:ok eval:ok"
swap "eval.stb holds the development bundle" eval eval development development \
    "development:ok production:ok eval:EENV=for_the_development_environment,_expected_eval"
swap "eval.stb holds the production bundle" eval eval development production \
    "development:ok production:ok eval:EENV=for_the_production_environment,_expected_eval"

# development and production exchanged in one commit both branches name.
dir=$(copy swap-both)
dev_blob=$(blob "$dir" development development)
prod_blob=$(blob "$dir" development production)
put "$dir" refs/heads/struere/development bundles/development.stb "blob:$prod_blob"
put "$dir" refs/heads/struere/development bundles/production.stb "blob:$dev_blob"
git -C "$dir" update-ref refs/heads/struere/production refs/heads/struere/development
matrix "development and production exchanged" "$dir" \
    "development:EENV=expected_development production:EENV=expected_production eval:ok"

# Branches pointing at another environment's commit.
dir=$(copy ref-prod-eval)
git -C "$dir" update-ref refs/heads/struere/production refs/heads/struere/eval
matrix "production's branch at the eval commit" "$dir" \
    "development:ok production:ESTORE=refs/heads/struere/production_has_no_bundles/production.stb eval:ok"
dir=$(copy ref-eval-dev)
git -C "$dir" update-ref refs/heads/struere/eval refs/heads/struere/development
matrix "eval's branch at the development commit" "$dir" \
    "development:ok production:ok eval:ESTORE=refs/heads/struere/eval_has_no_bundles/eval.stb"
dir=$(copy ref-dev-eval)
git -C "$dir" update-ref refs/heads/struere/development refs/heads/struere/eval
matrix "development's branch at the eval commit" "$dir" \
    "development:ESTORE=has_no_bundles/development.stb production:ok eval:ok"
dir=$(copy no-prod-file)
put "$dir" refs/heads/struere/production bundles/production.stb -
matrix "production's commit without production.stb" "$dir" \
    "development:ok production:ESTORE=has_no_bundles/production.stb eval:ok"
dir=$(copy dir-prod-file)
git -C "$dir" update-ref refs/heads/struere/production "$(git -C "$dir" commit-tree \
    "$(printf '040000 tree %s\tbundles\n' \
        "$(printf '040000 tree %s\tproduction.stb\n' \
            "$(git -C "$dir" rev-parse "refs/heads/struere/development:bundles")" |
            git -C "$dir" mktree)" | git -C "$dir" mktree)" -m dir)"
matrix "production.stb is a directory" "$dir" \
    "development:ok production:ESTORE=bundles/production.stb_is_not_a_file eval:ok"

# ---- 5. missing refs -------------------------------------------------------

dir=$(copy no-prod-ref)
git -C "$dir" update-ref -d refs/heads/struere/production
matrix "no production branch" "$dir" \
    "development:ok production:ESTORE=has_no_refs/heads/struere/production_(promote_development_with:_struere_deploy) eval:ok"
dir=$(copy no-eval-ref)
git -C "$dir" update-ref -d refs/heads/struere/eval
matrix "no eval branch" "$dir" \
    "development:ok production:ok eval:ESTORE=has_no_refs/heads/struere/eval_(compile_it_with:_struere_dev)"
dir=$(copy no-keys-ref)
git -C "$dir" update-ref -d refs/struere/keys
matrix "no key records" "$dir" \
    "development:ESTORE=has_no_refs/struere/keys_(create_a_key_with:_struere_keys_create_--env_ENV) production:ESTORE=has_no_refs/struere/keys eval:ESTORE=has_no_refs/struere/keys"
dir=$TOP/empty-repo
git init -q "$dir"
matrix "an empty repository" "$dir" \
    "development:ESTORE=has_no_refs/struere/keys production:ESTORE=has_no_refs/struere/keys eval:ESTORE=has_no_refs/struere/keys"
# A project that was never deployed: its keys work for development only.
dir=$TOP/undeployed
cp -r "$REPO/fixtures/example" "$dir"
(cd "$dir" && git init -q . && "$S" dev >/dev/null 2>&1)
key=$(new_key "$dir" production)
expect_err "undeployed: production key" "$dir" "$key" ESTORE \
    "has no refs/heads/struere/production"

# ---- 6. corrupt bundles ----------------------------------------------------

# corrupt NAME FILE_MAKER CODE FILE [OFFSET]: development.stb replaced on
# its branch; OFFSET, when given, is the offset the error must report.
corrupt() {
    local dir file out
    dir=$(copy "corrupt-$4")
    file=$TOP/$4.stb
    git -C "$dir" cat-file blob "$(blob "$dir" development development)" |
        eval "$2" >"$file"
    put "$dir" refs/heads/struere/development bundles/development.stb "$file"
    expect_err "corrupt: $1" "$dir" "${KEY[development]}" "$3" \
        "refs/heads/struere/development:bundles/development.stb: "
    if [ -n "${5:-}" ]; then
        out=$("$P" "$dir" "${KEY[development]}" 2>&1)
        case $out in *"open offset $5"*) ok "corrupt: $1: offset $5" ;;
        *) bad "corrupt: $1: offset $5" "$out" ;; esac
    fi
    # The other environments are not affected.
    expect_ok "corrupt: $1: production key still opens" "$dir" \
        "${KEY[production]}" production
}
size=$(git -C "$BASE" cat-file -s "$(blob "$BASE" development development)")
flip() { # flip OFFSET: one byte changed
    local off=$1
    perl -e 'local $/; my $d = <STDIN>; substr($d, $ARGV[0], 1) ^= "\x01"; print $d' "$off"
}
corrupt "a byte flipped in the body" "flip $((size / 2))" ECHECKSUM flip-body
corrupt "a byte flipped in the header's digest" "flip 40" ECHECKSUM flip-header
corrupt "the magic changed" "flip 1" EFORMAT magic 1
corrupt "truncated" "head -c $((size - 100))" ETRUNCATED truncated \
    $((size - 100))
corrupt "a trailing byte" "cat - <(printf x)" ETRUNCATED trailing
corrupt "not a bundle" "cat >/dev/null; echo hello, not a bundle" EFORMAT text
corrupt "empty" "head -c 0" ETRUNCATED empty
corrupt "the environment byte set to 9" \
    "perl -e 'local \$/; my \$d = <STDIN>; substr(\$d, 12, 1) = chr(9); print \$d'" \
    EENV env9 12

# ---- 7. damaged key records ------------------------------------------------

# keys NAME CODE TEXT RECORDS_JSON: keys.json replaced (by the text, or
# the file @FILE), then the dev key.
# Each replaces keys.json whole: one copy of the store serves them all.
KEYS_DIR=$(copy keys-json)
keys() {
    local dir=$KEYS_DIR file
    file=$TOP/keys.json
    case $4 in @*) file=${4#@} ;; *) printf '%s' "$4" >"$file" ;; esac
    put_keys "$dir" "$file"
    if [ "$2" = ok ]; then
        expect_ok "records: $1" "$dir" "${KEY[development]}" development
    else
        expect_err "records: $1" "$dir" "${KEY[development]}" "$2" "$3"
    fi
}
D=$(sha "${KEY[development]}")
keys "only this key's record" ok "" "[$(record development "$D")]"
keys "upper-case sha256" ok "" "[$(record development "${D^^}")]"
keys "the record says production" EKEY \
    "the key's prefix says development but its record says production" \
    "[$(record production "$D")]"
keys "the record says eval" EKEY "prefix says development but its record says eval" \
    "[$(record eval "$D")]"
keys "two records with this digest" ESTORE "2 records of keys.json have the digest of key sk_dev_" \
    "[$(record development "$D"),$(record development "$D")]"
keys "revoked without a date" EREVOKED "… was revoked\$" \
    "[$(record development "$D" true)]"
keys "a day-only expiry in the past" EEXPIRED "expired on 2021-03-04" \
    "[$(record development "$D" false '"2021-03-04"')]"
keys "an expiry that is not a date" ESTORE "record 1 has an \"expires\" that is not null or a date" \
    "[$(record development "$D" false '"soon"')]"
keys "an impossible date" ESTORE "expires\" that is not" \
    "[$(record development "$D" false '"2025-02-30T00:00:00Z"')]"
keys "a revocation date that is not a date is not shown" EREVOKED "was revoked\$" \
    "[$(record development "$D" true null yesterday)]"
keys "not JSON" ESTORE "keys.json is not a JSON list of key records" "[{"
keys "an object, not a list" ESTORE "not a JSON list" "{}"
keys "an empty list" EKEY "no key record matches" "[]"
big=$TOP/big.json
{
    printf '['
    head -c $((16 << 20)) /dev/zero | tr '\0' ' '
    printf ']'
} >"$big"
keys "keys.json over 16 MiB" ESTORE "keys.json is 16777218 bytes, more than the 16777216 allowed" \
    "@$big"
keys "a record that is a string" ESTORE "record 2 is not an object" \
    "[$(record development "$D"),\"x\"]"
keys "a record without sha256" ESTORE "record 1 has no valid \"sha256\"" \
    '[{"environment":"development","revoked":false}]'
keys "a short sha256" ESTORE "has no valid \"sha256\"" "[$(record development "${D:0:63}")]"
keys "a sha256 that is not hex" ESTORE "has no valid \"sha256\"" \
    "[$(record development "${D:0:63}g")]"
keys "an unknown environment" ESTORE "record 1 has no valid \"environment\"" \
    "[$(record staging "$D")]"
keys "revoked is a string" ESTORE "no \"revoked\" flag" \
    "[$(record development "$D" '"no"')]"
keys "another record damaged" ESTORE "record 2 has no valid \"sha256\"" \
    "[$(record development "$D"),$(record eval 00)]"
dir=$(copy keys-no-file)
put "$dir" refs/struere/keys keys.json -
expect_err "records: a commit without keys.json" "$dir" "${KEY[eval]}" ESTORE \
    "refs/struere/keys has no keys.json"

# A member named twice in one object: readers differ on which one counts
# (jansson, which `struere keys` uses, keeps the last), so the records
# mean nothing certain and every key is refused, as for a damaged record.
# plus RECORD TEXT: RECORD with TEXT added before its closing brace.
plus() { printf '%s' "${1%\}}$2}"; }
R=$(record development "$D")
keys "\"revoked\" twice, false then true" ESTORE \
    "keys.json record 1 has the member \"revoked\" twice (line 1)" \
    "[$(plus "$R" ',"revoked":true')]"
keys "\"revoked\" twice, true then false" ESTORE \
    "record 1 has the member \"revoked\" twice" \
    "[$(plus "$(record development "$D" true)" ',"revoked":false')]"
keys "\"environment\" twice" ESTORE \
    "record 1 has the member \"environment\" twice" \
    "[$(plus "$R" ',"environment":"production"')]"
keys "\"revoked\" twice, once escaped, on line 3" ESTORE \
    "record 1 has the member \"\\u0072evoked\" twice (line 3)" \
    "[
$(plus "$R" ',
"\u0072evoked":true')]"
keys "a member twice in another record" ESTORE \
    "record 2 has the member \"name\" twice" \
    "[$R,$(plus "$(record eval "$(sha "${KEY[eval]}")")" ',"name":"u"')]"
keys "a member twice inside the signature" ESTORE \
    "record 1 has the member \"key\" twice" \
    "[$(plus "$R" ',"signature":{"key":"a","key":"b","signature":"c"}')]"

# A record's "prefix" is the label keys list shows and keys revoke picks
# it by; it is not signed, so the key itself must agree with it (the key's
# prefix and 6 characters): a record labelled otherwise opens nothing.
# label RECORD TEXT: RECORD with its "prefix" set to TEXT.
label() { printf '%s' "$1" | sed "s/\"prefix\":\"[^\"]*\"/\"prefix\":\"$2\"/"; }
keys "a record labelled with another key's prefix" EKEY \
    "the record of key $(shown "${KEY[development]}")… has a \"prefix\" that is not this key's" \
    "[$(label "$R" "$(stored "${LATER[development]}")")]"
keys "a record labelled with one character less" EKEY \
    "has a \"prefix\" that is not this key's" \
    "[$(label "$R" "$(stored "${KEY[development]}" | sed 's/.$//')")]"
keys "a record labelled \"x\"" EKEY "has a \"prefix\" that is not this key's" \
    "[$(label "$R" x)]"
keys "a record labelled with the whole key" EKEY \
    "has a \"prefix\" that is not this key's" "[$(label "$R" "${KEY[development]}")]"
# Two production records' labels swapped: `keys revoke LABEL` then revokes
# the other key's record (it cannot know), but neither key opens, before
# or after.
dir=$(copy prefix-swap)
git -C "$dir" show refs/struere/keys:keys.json | python3 -c '
import json, sys
d = json.load(sys.stdin)
a, b = (r for r in d if r["prefix"] in sys.argv[1:])
a["prefix"], b["prefix"] = b["prefix"], a["prefix"]
print(json.dumps(d, indent=2))' "$(stored "${KEY[production]}")" \
    "$(stored "${LATER[production]}")" >"$TOP/swapped.json"
put_keys "$dir" "$TOP/swapped.json"
expect_err "labels swapped: the production key" "$dir" "${KEY[production]}" \
    EKEY "has a \"prefix\" that is not this key's"
expect_err "labels swapped: the other production key" "$dir" \
    "${LATER[production]}" EKEY "has a \"prefix\" that is not this key's"
"$S" -C "$dir" keys revoke "$(stored "${KEY[production]}")" >/dev/null 2>&1
expect_err "labels swapped, then keys revoke: the key named still opens nothing" \
    "$dir" "${KEY[production]}" EKEY "has a \"prefix\" that is not this key's"
expect_err "labels swapped, then keys revoke: the other key opens nothing" \
    "$dir" "${LATER[production]}" EKEY "has a \"prefix\" that is not this key's"

# A keys tree that two readers could read differently (git fsck:
# duplicateEntries, treeNotSorted) is refused whole, as a damaged
# keys.json: with keys.json twice (the true records and all of them
# revoked, in either order), or its entries out of order.
# raw_tree DIR MODE NAME ID...: a tree of these entries, in this order,
# written as they are (git mktree would sort them and refuse a name
# twice); prints its id.
raw_tree() {
    local dir=$1
    shift
    while [ $# -gt 0 ]; do
        printf '%s %s\0' "$1" "$2"
        perl -e 'print pack("H*", $ARGV[0])' "$3"
        shift 3
    done | git -C "$dir" hash-object -t tree --literally -w --stdin
}
# keys_tree NAME TREE_ENTRIES...: refs/struere/keys moved to a commit of
# that tree in a copy of the store; every key refused with TEXT.
keys_tree() {
    local name=$1 text=$2 dir tree env
    shift 2
    dir=$(copy "keys-tree")
    tree=$(raw_tree "$dir" "$@")
    git -C "$dir" update-ref refs/struere/keys "$(git -C "$dir" commit-tree \
        "$tree" -p refs/struere/keys -m "$name")"
    for env in $ENVS; do
        expect_err "keys tree: $name: $env key" "$dir" "${KEY[$env]}" ESTORE \
            "refs/struere/keys: keys.json cannot be read: $text"
    done
}
GOOD_KEYS=$(git -C "$BASE" rev-parse refs/struere/keys:keys.json)
ALL_REVOKED=$(git -C "$BASE" show refs/struere/keys:keys.json |
    sed 's/"revoked": false/"revoked": true/' |
    git -C "$BASE" hash-object -w --stdin)
OTHER=$(printf 'other\n' | git -C "$BASE" hash-object -w --stdin)
keys_tree "keys.json twice, the true records first" \
    "a tree of keys.json names keys.json twice" \
    100644 keys.json "$GOOD_KEYS" 100644 keys.json "$ALL_REVOKED"
keys_tree "keys.json twice, the revoked records first" \
    "a tree of keys.json names keys.json twice" \
    100644 keys.json "$ALL_REVOKED" 100644 keys.json "$GOOD_KEYS"
keys_tree "keys.json as a file and as a folder, another entry between" \
    "a tree of keys.json names keys.json twice" \
    100644 keys.json "$GOOD_KEYS" 100644 keys.json.old "$OTHER" \
    40000 keys.json "$(git -C "$BASE" rev-parse 'refs/struere/keys^{tree}')"
keys_tree "another name twice" "a tree of keys.json has entries out of git's order or one name twice" \
    100644 keys.json "$GOOD_KEYS" 100644 notes "$OTHER" 100644 notes "$OTHER"
keys_tree "entries out of git's order" "a tree of keys.json has entries out of git's order" \
    100644 keys.json "$GOOD_KEYS" 100644 a-note "$OTHER"

# ---- 8. reload -------------------------------------------------------------

# reload NAME ENV CMD EXPECT_RELOAD EXPECT_AGAIN [NOW [STORE]]: opens with
# ENV's key (the store given as STORE, from inside it), runs CMD (in the
# store), changes to /, reloads twice. EXPECT_* is
# "changed=N" or an error code; "old" state checks follow an error.
reload() {
    local name=$1 env=$2 cmd=$3 want1=$4 want2=$5 now=${6:-0} dir out
    dir=$(copy "reload")
    out=$(cd "$dir" && "$P" --reload "${7:-$dir}" "${KEY[$env]}" "$cmd" "$now" 2>&1)
    show "$out"
    local open_line state1 state2 r1 r2 commit want
    open_line=$(printf '%s\n' "$out" | grep '^open ')
    r1=$(printf '%s\n' "$out" | grep '^reload ')
    r2=$(printf '%s\n' "$out" | grep '^again ')
    state1=$(printf '%s\n' "$out" | grep '^state ' | sed -n 1p)
    state2=$(printf '%s\n' "$out" | grep '^state ' | sed -n 2p)
    commit=$(git -C "$dir" rev-parse "refs/heads/struere/$env" 2>/dev/null)
    want=$(git -C "$dir" cat-file blob "$commit:bundles/$env.stb" 2>/dev/null |
        sha256sum | cut -c1-64)
    case $out in *BUG* | *Sanitizer* | *"runtime error"*)
        bad "reload: $name" "$out"
        return
        ;;
    esac
    case $open_line in "open ok env=$env "*) ;; *)
        bad "reload: $name" "open failed: $out"
        return
        ;;
    esac
    case $r1 in
    "reload $want1"*) ;;
    *)
        bad "reload: $name" "expected '$want1' from the reload, got: $out"
        return
        ;;
    esac
    case $r2 in "again $want2"*) ;; *)
        bad "reload: $name" "expected '$want2' from the second reload, got: $out"
        return
        ;;
    esac
    if [ "$want1" = changed=1 ]; then
        # The new bundle: the branch's commit and bytes.
        case $state1 in "state ok env=$env commit=$commit bundle_env=$env sha256=$want entries="[1-9]*) ;;
        *)
            bad "reload: $name" "not the new bundle of $commit: $state1"
            return
            ;;
        esac
    else
        # Nothing changed: the runtime answers from the bundle it opened.
        if [ "${state1#state }" != "${open_line#open }" ]; then
            bad "reload: $name" "the runtime changed: '$open_line' then '$state1'"
            return
        fi
    fi
    [ "$state1" = "$state2" ] || {
        bad "reload: $name" "the second reload changed it: $state1 / $state2"
        return
    }
    ok "reload: $name"
}
EDIT="sed -i 's/^name: .*/name: Reloaded Desk/' agents/front-desk.* && $S dev >/dev/null"
reload "nothing moved" development true changed=0 changed=0
reload "a store given as . is found again from /" development "$EDIT" changed=1 \
    changed=0 0 .
reload "a new development commit is picked up" development "$EDIT" changed=1 changed=0
reload "a deploy is picked up by a production key" production \
    "$EDIT && $S deploy --yes >/dev/null" changed=1 changed=0
reload "a development commit leaves a production key alone" production "$EDIT" \
    changed=0 changed=0
reload "the key revoked after open" development \
    "$S keys revoke $(stored "${KEY[development]}") >/dev/null" \
    "error EREVOKED: key $(shown "${KEY[development]}")… was revoked on 20" \
    "error EREVOKED"
reload "the key revoked together with a new commit" development \
    "$EDIT && $S keys revoke $(stored "${KEY[development]}") >/dev/null" \
    "error EREVOKED" "error EREVOKED"
reload "the key's record removed" eval \
    "printf '[%s]' '$(record development "$D")' >k.json && sh $PUT refs/struere/keys keys.json k.json" \
    "error EKEY: no key record matches" "error EKEY"
reload "the key expired after open" eval \
    "printf '[%s]' '$(record eval "$(sha "${KEY[eval]}")" false '"2021-01-01"')' >k.json && sh $PUT refs/struere/keys keys.json k.json" \
    "error EEXPIRED: key $(shown "${KEY[eval]}")… expired on 2021-01-01" "error EEXPIRED"
reload "a corrupt new commit" development \
    "git cat-file blob refs/heads/struere/development:bundles/development.stb | head -c 200 >t.stb && sh $PUT refs/heads/struere/development bundles/development.stb t.stb" \
    "error ETRUNCATED: refs/heads/struere/development:bundles/development.stb" \
    "error ETRUNCATED"
reload "a new commit with another environment's bundle" development \
    "git cat-file blob refs/heads/struere/development:bundles/production.stb >t.stb && sh $PUT refs/heads/struere/development bundles/development.stb t.stb" \
    "error EENV: refs/heads/struere/development:bundles/development.stb: bundle is for the production" \
    "error EENV"
reload "the branch deleted" eval "git update-ref -d refs/heads/struere/eval" \
    "error ESTORE: store" "error ESTORE"
reload "the key records deleted" production "git update-ref -d refs/struere/keys" \
    "error ESTORE: store" "error ESTORE"
reload "a new commit, then the records damaged" development \
    "$EDIT && printf '[' >k.json && sh $PUT refs/struere/keys keys.json k.json" \
    "error ESTORE" "error ESTORE"
out=$("$P" --file "$TOP/flip-body.stb" 2>&1)
case $out in *"open error ECHECKSUM"*) ok "reload: the probe's corrupt file is refused" ;;
*) bad "reload: the probe's corrupt file is refused" "$out" ;; esac
git -C "$BASE" cat-file blob "$(blob "$BASE" eval eval)" >"$TOP/eval.stb"
out=$("$P" --file "$TOP/eval.stb" 2>&1)
case $out in
*BUG* | *Sanitizer* | *"runtime error"*) bad "reload: a runtime opened from a file" "$out" ;;
*"reload error EINVAL: this runtime was opened from a file"*"commit=''"*"reload-null error EINVAL"*)
    ok "reload: a runtime opened from a file" ;;
*) bad "reload: a runtime opened from a file" "$out" ;;
esac

printf 'keys: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
