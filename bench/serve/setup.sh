# bench/serve/setup.sh - sourced by memory-use.sh and dashboard-latency.sh:
# `serve_setup NAME SRC STRUERE` copies the store SRC into a new temporary
# $work (removed on exit) and, with STRUERE, makes there a development
# API key ($work/key, named NAME), a dashboard token ($work/token), and
# $work/auth.lua: wrk's POST /v1/authorize of the system actor reading the
# store's first data type ($type).
serve_setup() {
    local name=$1 src=$2 bin
    bin=$(realpath "$3")
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp -r "$src" "$work/store"
    (cd "$work/store" && "$bin" keys create --env development --name "$name") \
        >"$work/key" 2>/dev/null || { echo "$name.sh: keys create failed" >&2; exit 1; }
    type=$(ls "$work/store/data" | sed -n 1p)
    type=${type%.yaml}
    echo "tok-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/token"
    cat >"$work/auth.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"actor":{"type":"system"},"action":"read","resource":"$type"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(cat "$work/key")"
EOF
}
