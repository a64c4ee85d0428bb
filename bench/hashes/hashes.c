/*
 * hashes.c - the passes an incremental `dev` makes over its bundles,
 * timed on 35 MB (the three bundles of the 10,000-definition project):
 * CRC-32 (zlib's, and the bundles' own, runtime/src/crc.c: folded with
 * PCLMULQDQ where the CPU has it; both must agree, or the program fails),
 * Adler-32 (zlib, a loose object's stream), SHA-256 (OpenSSL, digests and cache
 * keys), SHA-1 (OpenSSL, the fast blob id) and git_odb_hash (libgit2's
 * collision-detecting SHA-1, the blob id before 91214b0). Three rounds,
 * milliseconds.
 *
 *   cc -O2 -Iruntime/src bench/hashes/hashes.c runtime/src/crc.c \
 *       -o build/bench/hashes \
 *       $(pkg-config --cflags --libs libgit2 libcrypto zlib)
 *   build/bench/hashes
 */
#include <git2.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "rt_crc.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    size_t n = (size_t)35 << 20;
    unsigned char *b = malloc(n);
    if (!b)
        return 1;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 2654435761u) >> 13);
    git_libgit2_init();
    for (int r = 0; r < 3; r++) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len;
        git_oid id;
        double t0 = now();
        volatile uLong crc = crc32_z(0, b, n);
        double t1 = now();
        uint32_t folded = rt_crc32(0, b, n);
        double t2 = now();
        volatile uLong adler = adler32_z(1, b, n);
        double t3 = now();
        EVP_Digest(b, n, out, &len, EVP_sha256(), NULL);
        double t4 = now();
        EVP_Digest(b, n, out, &len, EVP_sha1(), NULL);
        double t5 = now();
        git_odb_hash(&id, b, n, GIT_OBJECT_BLOB);
        double t6 = now();
        if (folded != (uint32_t)crc) {
            fprintf(stderr, "hashes: rt_crc32 and zlib's crc32 differ\n");
            return 1;
        }
        (void)adler;
        printf("crc32 %.1f  rt_crc32 %.1f  adler32 %.1f  sha256 %.1f  "
               "sha1 (OpenSSL) %.1f  git_odb_hash %.1f ms\n",
               (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3,
               (t4 - t3) * 1e3, (t5 - t4) * 1e3, (t6 - t5) * 1e3);
    }
    git_libgit2_shutdown();
    free(b);
    return 0;
}
