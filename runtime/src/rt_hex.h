/*
 * rt_hex.h - digests as lowercase hex (integrity.c): the runtime's, and
 * the compiler's (compiler/hex.h), which decodes the SHA-256 of every
 * definition file on each run of dev.
 */
#ifndef STRUERE_RT_HEX_H
#define STRUERE_RT_HEX_H

#include <stddef.h>

/* The value of hex digit c of either case, or -1. */
static inline int rt_hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes exactly `2 * size` lowercase hex digits into `out`: 0, or -1
 * when `n` is not `2 * size` or a digit is not lowercase hex. */
int rt_hex_decode(const char *hex, size_t n, unsigned char *out, size_t size);
/* `n` bytes as 2n lowercase hex digits and a NUL into `out`. */
void rt_hex_encode(const unsigned char *b, size_t n, char *out);

#endif
