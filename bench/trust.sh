#!/bin/bash
# bench/trust.sh - what verification and signatures cost (issue 8, DESIGN
# §7), side by side in one run on this machine:
#   1. deploy and rollback (bench/deploy.sh) at 1,000 and 100,000
#      definitions with today's build, and at 1,000 with the build before
#      full verification and promotion statements (commit $BEFORE, built
#      in build/bench/before): within 2x of each other, within 1.5x of the
#      earlier deploy at 1,000;
#   2. open by key at 10,000 definitions against the libgit2 blob read
#      (bench/open/open.c), without a trust policy and with one requiring
#      two signatures for production (trust chain, statement and key record
#      signatures verified): at most 1.3x.
# Stores are generated under build/bench/ (bench/gen-project.py) and kept.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build/release
S=$B/struere
BEFORE=${BEFORE:-378e074}
SIZES=${SIZES:-1000 100000}
make -s "$S" "$B/libstruere.a"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"

# The build before this work, for the 1.5x comparison.
OLD=$ROOT/build/bench/before
if [ ! -x "$OLD/build/release/struere" ]; then
    rm -rf "$OLD"
    git worktree add -q --detach "$OLD" "$BEFORE"
    make -s -C "$OLD" -j"$(nproc)" build/release/struere >/dev/null
fi

# A store of N definitions whose development is one agent ahead of
# production, as bench/deploy.sh wants it.
store() {
    local n=$1 p=$ROOT/build/bench/trust-$1
    if [ ! -f "$p.done" ]; then
        rm -rf "$p"
        python3 bench/gen-project.py "$n" "$p" >/dev/null
        (cd "$p" && git init -q && "$S" dev >/dev/null &&
            "$S" deploy --yes >/dev/null &&
            f=$(ls agents | head -n 1) &&
            sed -i "s/^  temperature: .*/  temperature: 0.42/" "agents/$f" &&
            "$S" dev >/dev/null)
        touch "$p.done"
    fi
    echo "$p"
}

echo
echo "== 1. deploy and rollback"
for n in $SIZES; do
    p=$(store "$n")
    ./bench/deploy.sh "$p" 21
done
p=$(store 1000)
STRUERE=$OLD/build/release/struere ./bench/deploy.sh "$p" 21 |
    sed "s|^|before ($BEFORE): |"

echo
echo "== 2. open by key, 10,000 definitions"
LIBS=$(pkg-config --libs libgit2 libsodium libcrypto zlib)
# shellcheck disable=SC2086
cc -O2 -Iruntime/include bench/open/open.c "$B/libstruere.a" $LIBS -lm -o "$B/open-bench"
p=$(store 10000)
KEY=$(cd "$p" && "$S" keys create --env production --name bench 2>/dev/null)
echo "-- no trust policy (bundle SHA-256 against the manifest)"
"$B/open-bench" "$p" "$KEY" production 21 | sed -n '1,3p'

# The same store with production requiring two signatures.
q=$ROOT/build/bench/trust-10000-signed
if [ ! -f "$q.done" ]; then
    rm -rf "$q"
    cp -r "$p" "$q"
    (
        cd "$q"
        rm -f alice.key bob.key
        a=$("$S" signing-key create --out alice.key)
        b=$("$S" signing-key create --out bob.key)
        "$S" trust add "$a" --name alice >/dev/null
        "$S" trust add "$b" --name bob >/dev/null
        "$S" trust require production 2 >/dev/null
        "$S" keys sign --sign alice.key >/dev/null
        "$S" deploy --yes --sign alice.key >/dev/null
        "$S" approve production --sign bob.key >/dev/null
    )
    touch "$q.done"
fi
KEY2=$(cd "$q" && "$S" keys create --env production --name bench --sign alice.key 2>/dev/null)
echo "-- production requires 2 signatures (trust chain, statement, key record verified)"
"$B/open-bench" "$q" "$KEY2" production 21 | sed -n '1,3p'
(cd "$p" && "$S" keys revoke "$(printf %s "$KEY" | cut -c1-14)" >/dev/null)
(cd "$q" && "$S" keys revoke "$(printf %s "$KEY2" | cut -c1-14)" --sign alice.key >/dev/null)
