#!/bin/sh
# make demo: check the bundled example project, then run the whole
# environment workflow on a copy of it in a temporary git store:
# dev -> keys -> deploy -> change -> diff -> deploy -> rollback -> log.
set -eu
struere=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
step() {
    printf '\n$ %s\n' "$*"
}
step struere -C fixtures/example check --summary
"$struere" -C fixtures/example check --summary

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r fixtures/example "$tmp/acme"
cd "$tmp/acme"
git init -q
git config user.name "Demo User"
git config user.email "demo@example.com"

step struere dev
"$struere" dev
step struere keys create --env production --name web
key=$("$struere" keys create --env production --name web)
echo "$key" | sed 's/\(sk_prod_......\).*/\1... (shown once; only its SHA-256 is stored)/'
step struere deploy --yes
"$struere" deploy --yes | tail -n 3

step "# raise the front desk's production temperature, and let teachers delete sessions"
sed -i 's/^      temperature: 0.2$/      temperature: 0.3/' agents/front-desk.md
sed -i '0,/actions: \[list, read, update\]/s//actions: [list, read, update, delete]/' roles/teacher.yaml
step struere status
"$struere" status
step struere dev
"$struere" dev
step struere diff
"$struere" diff
step struere deploy --yes
"$struere" deploy --yes | tail -n 1
step struere rollback --yes
"$struere" rollback --yes | tail -n 1
step struere log --env production
"$struere" log --env production
step struere keys list
"$struere" keys list
step git log --oneline --all
git log --oneline --all
