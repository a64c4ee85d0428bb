/*
 * crc.c - CRC-32 over any length (rt_crc.h), on zlib's crc32.
 */
#include "rt_crc.h"

#include <zlib.h>

uint32_t rt_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    uLong c = crc;
    while (n > 0) {
        size_t part = n > (1u << 30) ? (1u << 30) : n;
        c = crc32(c, b, (uInt)part);
        b += part;
        n -= part;
    }
    return (uint32_t)c;
}
