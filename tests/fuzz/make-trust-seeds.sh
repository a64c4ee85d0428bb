#!/bin/sh
# Writes seeds for fuzz_trust and fuzz_statement with the real commands:
# a store made from fixtures/example, a trust policy chain (alice, then
# bob; production requires 2; a change signed by both), pending and
# complete promotion statements of production. The signing keys are fixed
# test keys (seeds of 32 bytes 0x11 for alice, 0x22 for bob, 0x33 for
# carol, whom no policy trusts) so that the statements verify against the
# policy fuzz_statement.c embeds.
# Usage: make-trust-seeds.sh BUILD_DIR CORPUS_TRUST CORPUS_STATEMENT
set -eu
b=$(cd "$1" && pwd)
S=$b/struere
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$2" "$3"
ct=$(cd "$2" && pwd)
cs=$(cd "$3" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME=Seeder GIT_AUTHOR_EMAIL=seeder@example.com
export GIT_COMMITTER_NAME=Seeder GIT_COMMITTER_EMAIL=seeder@example.com
unset STRUERE_SIGNING_KEY
mkdir -p "$HOME"
key() { # NAME OCTAL: a signing key file whose seed is 32 bytes OCTAL
    printf 'struere-signing-key ed25519-seed:%s\n' \
        "$(head -c 32 /dev/zero | tr '\0' "\\$2" | base64)" >"$tmp/$1.key"
    chmod 600 "$tmp/$1.key"
}
key alice 021
key bob 042
key carol 063
p=$tmp/p
cp -r "$repo/fixtures/example" "$p"
cd "$p"
git init -q . && git add -A && git commit -qm init
"$S" dev >/dev/null
"$S" deploy --yes >/dev/null
git show refs/struere/promotions:production.json >"$cs/unsigned.json"
"$S" trust add "$("$b/trust-tool" pubkey "$tmp/alice.key")" --name alice >/dev/null
git show refs/struere/trust:trust.json >"$ct/one-key.json"
"$S" trust add "$("$b/trust-tool" pubkey "$tmp/bob.key")" --name bob >/dev/null
"$S" trust require production 2 >/dev/null
git show refs/struere/trust:trust.json >"$ct/requires-two.json"
"$S" trust require eval 1 --sign "$tmp/alice.key" --sign "$tmp/bob.key" >/dev/null
git show refs/struere/trust:trust.json >"$ct/signed-change.json"
# A second development commit to promote under the policy.
sed -i 's/^version: 1.3.0/version: 1.3.1/' agents/front-desk.md
git commit -qam v2
"$S" dev >/dev/null
"$S" deploy --yes --sign "$tmp/alice.key" >/dev/null
git show refs/struere/promotions:pending/production.json >"$cs/pending.json"
"$S" approve production --sign "$tmp/bob.key" >/dev/null
git show refs/struere/promotions:production.json >"$cs/complete.json"
"$S" rollback --yes --sign "$tmp/alice.key" --sign "$tmp/carol.key" >/dev/null || true
git show refs/struere/promotions:pending/production.json >"$cs/untrusted-signer.json"
echo "seeds in $ct and $cs"
