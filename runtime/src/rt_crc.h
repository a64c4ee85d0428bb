/*
 * rt_crc.h - the one CRC-32 of the bundle format (zlib's polynomial), over
 * any length: zlib's crc32 takes an unsigned int length, so a longer input
 * is fed in slices. Used by the runtime's verifier, the compiler's bundle
 * writer (compiler/crc.h) and the tests' bundle builder.
 */
#ifndef STRUERE_RT_CRC_H
#define STRUERE_RT_CRC_H

#include <stddef.h>
#include <stdint.h>

/* `crc` (0 to start) continued over the `n` bytes at `p`. */
uint32_t rt_crc32(uint32_t crc, const void *p, size_t n);

#endif
