/*
 * sha256.h - the one SHA-256 entry point (sha256.c: OpenSSL's libcrypto),
 * for the runtime and the compiler alike: call rt_sha256, never a
 * dependency's hash function directly.
 */
#ifndef STRUERE_SHA256_H
#define STRUERE_SHA256_H

#include <stddef.h>

void rt_sha256(const void *data, size_t len, unsigned char out[32]);
/* A digest as 64 lowercase hex digits and a NUL. */
void rt_sha256_hex(const unsigned char digest[32], char out[65]);
/* libsodium's code: the reference the unit tests compare with. */
void rt_sha256_portable(const void *data, size_t len, unsigned char out[32]);

#endif
