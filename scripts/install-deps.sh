#!/bin/sh
# Installs the Debian packages struere builds against, when missing.
# Does nothing (and needs no network) when they are all present.
set -eu
pkgs="build-essential pkg-config libyaml-dev libcmark-dev libgit2-dev
libssl-dev libsodium-dev libjansson-dev zlib1g-dev libmicrohttpd-dev git curl"
if [ "${1:-}" = "--dev" ]; then
    # tools for make check/fuzz: clang with libFuzzer and sanitizer runtimes
    pkgs="$pkgs clang libclang-rt-14-dev valgrind"
    # the dashboard's browser test (tests/dashboard) and bench/serve.sh:
    # Debian's chromium, wrk; node and npm unless a node is already there
    # (a NodeSource nodejs bundles npm, and Debian's npm would conflict)
    pkgs="$pkgs chromium wrk"
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
