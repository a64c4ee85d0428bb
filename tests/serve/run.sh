#!/bin/sh
# tests/serve/run.sh STRUERE_BINARY
#
# `struere serve` end to end (serve_test.py): a real server on a free
# 127.0.0.1 port over real git stores in a temporary directory. Ends
# "serve: N passed, M failed" (assertions). SERVE_QUICK=1 samples less.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/struere-serve-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
unset STRUERE_API_KEY NO_COLOR
mkdir -p "$HOME"
git config --global user.name "serve test"
git config --global user.email "serve@test.invalid"
# as many descriptors as allowed: the test opens 1000+ connections
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python3 "$(dirname "$0")/serve_test.py" "$1" "$T"
