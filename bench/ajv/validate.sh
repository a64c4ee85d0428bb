#!/bin/sh
# Validate a JSON-converted project (bench/to-json.py) with ajv-cli, one
# ajv run per definition kind against that kind's exported JSON Schema
# (`struere schema export SCHEMADIR`). This is what bench/compile.sh times.
#   bench/ajv/validate.sh SCHEMADIR JSONDIR
# Exit 0 when every file is valid; ajv's per-file output goes to stderr.
set -u
[ $# -eq 2 ] || { echo "usage: validate.sh SCHEMADIR JSONDIR" >&2; exit 2; }
schemas=$1 json=$2
ajv="$(dirname "$0")/node_modules/.bin/ajv"
[ -x "$ajv" ] || { echo "validate.sh: run 'npm ci' in bench/ajv first" >&2; exit 3; }
rc=0
for pair in project:struere.json agent:agents/*.json data:data/*.json \
            role:roles/*.json automation:automations/*.json tool:tools/*.json \
            eval:evals/*.json fixture:fixtures/*.json; do
    kind=${pair%%:*} glob=${pair#*:}
    # Skip kinds the project has no files for (the glob does not expand).
    # shellcheck disable=SC2086 # $glob must expand
    set -- "$json"/$glob
    [ -e "$1" ] || continue
    [ -f "$schemas/$kind.json" ] || { echo "validate.sh: no $schemas/$kind.json" >&2; rc=1; continue; }
    "$ajv" validate --strict=false -c ajv-formats -s "$schemas/$kind.json" \
        -d "$json/$glob" >&2 || rc=1
done
exit $rc
