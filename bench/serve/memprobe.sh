#!/usr/bin/env bash
# memprobe.sh: builds bench/serve/memprobe.c with struere's libraries and
# with an HTTP server's only, and prints what each step leaves resident
# (see memprobe.c). bench/RESULTS.md, "Serve: where the memory goes".
set -eu
cd "$(dirname "$0")/../.."
mkdir -p build/bench
all="yaml-0.1 libcmark libgit2 jansson libsodium libcrypto zlib libmicrohttpd"
# shellcheck disable=SC2046
cc -O2 bench/serve/memprobe.c -o build/bench/memprobe-all $(pkg-config --cflags --libs $all)
# shellcheck disable=SC2046
cc -O2 -DLEAN -Wl,--as-needed bench/serve/memprobe.c -o build/bench/memprobe-lean \
    $(pkg-config --cflags libgit2 libcrypto) $(pkg-config --cflags --libs libmicrohttpd libsodium jansson)
echo "== all of struere's libraries: start, EVP SHA-256, libgit2, sodium, libmicrohttpd"
build/bench/memprobe-all egsm
echo "== libmicrohttpd, libsodium, jansson only: start, sodium, libmicrohttpd"
build/bench/memprobe-lean sm
