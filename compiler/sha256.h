/*
 * sha256.h - the bundles' SHA-256. It lives in libstruere
 * (runtime/src/sha256.c), which checks bundle digests against manifests
 * when it opens them; the compiler links it from there.
 */
#include "../runtime/src/sha256.h"
