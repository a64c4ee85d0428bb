#!/bin/sh
# make demo: check the bundled example project, then run the whole
# environment workflow on a copy of it in a temporary git store:
# dev -> keys -> deploy -> runtime answers (can, query, eval) -> change ->
# diff -> deploy -> rollback -> log.
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

# The runtime side: what a service holding the production key is told.
export STRUERE_API_KEY="$key"
step 'STRUERE_API_KEY=sk_prod_... struere can delete payment --as user:user_maria_martinez --role guardian'
"$struere" can delete payment --as user:user_maria_martinez --role guardian || true
step struere can read teacher --as agent:front-desk
"$struere" can read teacher --as agent:front-desk
eval_key=$("$struere" keys create --env eval --name demo-eval 2>/dev/null)
step 'STRUERE_API_KEY=sk_eval_... struere query session --as user:user_maria_martinez --role guardian --json | grep -o "\"_id\":\"[^\"]*\""'
STRUERE_API_KEY=$eval_key "$struere" query session --as user:user_maria_martinez --role guardian --json |
    grep -o '"_id":"[^"]*"'
step 'STRUERE_API_KEY=sk_eval_... struere eval list'
STRUERE_API_KEY=$eval_key "$struere" eval list
unset STRUERE_API_KEY

# The runtime over HTTP: one server for every key; it follows the store.
step 'struere serve --listen 127.0.0.1:0 --dashboard &'
"$struere" serve --listen 127.0.0.1:0 --dashboard 2>"$tmp/serve.err" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/serve.err")
    [ -n "$port" ] && break
    sleep 0.1
done
sed 's/\(token: sdt_......\).*/\1.../' "$tmp/serve.err"
url=http://127.0.0.1:$port
dev_key=$("$struere" keys create --env development --name demo-dev 2>/dev/null)
show() { # what curl prints, with the answer's environment and commit
    curl -s -D "$tmp/h" "$@" | head -c 400
    echo
    grep -i '^struere-' "$tmp/h" | tr -d '\r'
}
step "curl -H 'Authorization: Bearer sk_prod_...' $url/v1/authorize -d '{\"actor\":{\"type\":\"agent\",\"slug\":\"front-desk\"},\"action\":\"read\",\"resource\":\"teacher\"}'"
show -H "Authorization: Bearer $key" "$url/v1/authorize" \
    -d '{"actor":{"type":"agent","slug":"front-desk"},"action":"read","resource":"teacher"}'
step "curl -H 'Authorization: Bearer sk_dev_...' $url/v1/agents"
show -H "Authorization: Bearer $dev_key" "$url/v1/agents"
step "curl -H 'Authorization: Bearer sk_eval_...' $url/v1/evals"
show -H "Authorization: Bearer $eval_key" "$url/v1/evals"
step "curl -H 'Authorization: Bearer sk_prod_...' $url/v1/evals   # eval keys only"
show -H "Authorization: Bearer $key" "$url/v1/evals"
step "curl -H 'Authorization: Bearer sk_prod_nope' $url/v1/agents"
show -H "Authorization: Bearer sk_prod_nope" "$url/v1/agents"

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
step struere deploy --yes --allow-widening
"$struere" deploy --yes --allow-widening | tail -n 1
step "# the server serves the new production commit within a second, no restart"
sleep 1
step "curl -H 'Authorization: Bearer sk_prod_...' $url/v1/agents/front-desk   # model.temperature"
curl -s -D "$tmp/h" -H "Authorization: Bearer $key" "$url/v1/agents/front-desk" |
    grep -o '"temperature":[0-9.]*'
grep -i '^struere-commit' "$tmp/h" | tr -d '\r'
git rev-parse --short=12 refs/heads/struere/production
step struere rollback --yes
"$struere" rollback --yes | tail -n 1
step struere log --env production
"$struere" log --env production
step struere keys list
"$struere" keys list
step git log --oneline --all
git log --oneline --all
step "kill -TERM \$serve_pid   # finishes requests in flight, exits 0"
kill -TERM "$serve_pid"
wait "$serve_pid" && echo "struere serve exited 0"
