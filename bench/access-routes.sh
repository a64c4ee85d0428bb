#!/usr/bin/env bash
# access-routes.sh [N ...] -- BIN...: `struere access --format json` on a
# project of N automations (on "ticket updated") each asking one agent
# (agent.chat) whose tools may list and update any record, so that each
# automation's agent sets off all the others: every route reaches all of
# them. Two subjects set them off (the agent helper, the role support).
# For each N and each binary given: wall seconds, peak resident MB and
# the answer's size, one run each after one warm-up (bench/RESULTS.md,
# "What an access listing holds per route"). Default N: 50 100 200.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=() bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do sizes+=("$1"); shift; done
[ $# -gt 0 ] && shift
bins=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 100 200)
[ ${#bins[@]} -gt 0 ] || bins=("$root/build/release/struere")
work=$(mktemp -d "${TMPDIR:-/tmp}/access-routes.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "| automations | binary | seconds | peak MB | JSON bytes |"
echo "| ---: | --- | ---: | ---: | ---: |"
for n in "${sizes[@]}"; do
    p=$work/p$n
    python3 - "$p" "$n" <<'PY'
import os, sys
p, n = sys.argv[1], int(sys.argv[2])
files = {
    "struere.yaml": "name: routes\nversion: 1.0.0\n",
    "data/ticket.yaml": "name: Ticket\nslug: ticket\nschema:\n  type: object\n"
                        "  properties:\n    title: {type: string}\n",
    "roles/support.yaml": "name: Support\nslug: support\npolicies:\n"
                          "  - resource: ticket\n    actions: [read, list, update]\n"
                          "    effect: allow\n",
    "agents/helper.yaml": "name: Helper\nslug: helper\nversion: 1.0.0\nmodel:\n"
                          "  model: openai/gpt-5-mini\nroles: [support]\n"
                          "systemPrompt: |\n  You help.\n"
                          "tools: [entity.query, entity.update]\n",
}
for k in range(n):
    files[f"automations/ask-{k:04}.yaml"] = (
        f"name: Ask {k}\nslug: ask-{k:04}\non:\n  entityType: ticket\n"
        "  action: updated\nactions:\n  - tool: agent.chat\n    args:\n"
        "      agent: helper\n      message: \"Look at {{trigger.entityId}}\"\n")
for path, text in files.items():
    os.makedirs(os.path.join(p, os.path.dirname(path)), exist_ok=True)
    open(os.path.join(p, path), "w").write(text)
PY
    "${bins[0]}" -C "$p" build --out "$p/dist" >/dev/null 2>&1 # warned: cycles
    for b in "${bins[@]}"; do
        "$b" access "$p/dist/production.stb" --format json >/dev/null
        /usr/bin/time -f "%e %M" -o "$work/time" \
            "$b" access "$p/dist/production.stb" --format json >"$work/out"
        read -r secs kb <"$work/time"
        echo "| $n | $b | $secs | $((kb / 1024)) | $(wc -c <"$work/out") |"
    done
done
