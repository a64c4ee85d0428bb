#!/bin/sh
# make demo: check the bundled example project and print what it holds,
# then show what a mistake looks like.
set -eu
struere=$1
echo "\$ struere -C fixtures/example check --summary"
"$struere" -C fixtures/example check --summary
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r fixtures/example "$tmp/example"
sed -i 's/effect: allow/effect: alow/' "$tmp/example/roles/staff.yaml"
sed -i 's/operator: neq/operator: ne/' "$tmp/example/roles/teacher.yaml"
echo
echo "\$ # the same project with two typical mistakes:"
echo "\$ struere -C example check"
if "$struere" -C "$tmp/example" check; then
    echo "demo: expected the broken copy to fail" >&2
    exit 1
fi
echo "(exit code 1: the input is invalid)"
