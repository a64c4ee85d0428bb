/*
 * sha1.h - SHA-1 (FIPS 180-4), for the ids of git objects the runtime
 * reads from a store (gitread.c): each object read is hashed and must
 * have the id it was asked by. What trust rests on is SHA-256 (a bundle
 * against its manifest, signatures over both digests: TRUST.md), so a
 * SHA-1 collision cannot pass a forged bundle; the check catches damaged
 * objects and a store that is not what it claims.
 */
#ifndef STRUERE_SHA1_H
#define STRUERE_SHA1_H

#include <stddef.h>
#include <stdint.h>

struct rt_sha1 {
    uint32_t h[5];
    uint64_t len; /* bytes hashed */
    unsigned char block[64];
    size_t fill; /* bytes in block */
};

void rt_sha1_init(struct rt_sha1 *s);
void rt_sha1_update(struct rt_sha1 *s, const void *data, size_t len);
void rt_sha1_final(struct rt_sha1 *s, unsigned char out[20]);

/* The id of a git object: SHA-1 over "TYPE LEN\0" and its bytes, with
 * libcrypto's SHA-1 (rt_crypto.h) where it may be opened, else the code
 * above. */
void rt_sha1_object(const char *type, const void *data, size_t len,
                    unsigned char out[20]);

#endif
