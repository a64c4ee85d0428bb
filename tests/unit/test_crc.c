/*
 * test_crc.c - the bundles' CRC-32 (folded with carry-less multiplications
 * when the CPU has them, runtime/src/crc.c) against the check value of the
 * CRC-32 catalogue and against zlib's crc32 at every length around the
 * folding's boundaries, from unaligned starts, continued from any CRC and
 * in pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "harness.h"
#include "crc.h"

static unsigned char *random_bytes(size_t n)
{
    unsigned char *b = malloc(n);
    uint32_t x = 2463534242u;
    for (size_t i = 0; b && i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    return b;
}

static uint32_t zlib_crc(uint32_t crc, const unsigned char *b, size_t n)
{
    return (uint32_t)crc32(crc, b, (uInt)n);
}

static void test_check_value(void)
{
    /* the catalogue's check value of CRC-32/ISO-HDLC, zlib's */
    CHECK(rt_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(rt_crc32(0, "", 0) == 0);
    CHECK(rt_crc32(0x1234u, "", 0) == 0x1234u);
    /* long enough to be folded: 1,000 'a's, its CRC computed by hand
     * from the check value's definition would be impractical, so the
     * same bytes from zlib */
    unsigned char a[1000];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = 'a';
    CHECK(rt_crc32(0, a, sizeof(a)) == zlib_crc(0, a, sizeof(a)));
}

static void test_against_zlib(void)
{
    size_t max = (1 << 20) + 64;
    unsigned char *buf = random_bytes(max);
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    const uint32_t starts[] = {0, 0xffffffffu, 0x12345678u, 0x80000001u};
    const size_t large[] = {4095, 4096, 65536, 99999, 1 << 20};
    int bad = 0, tried = 0;
    /* every length to 1,100 (below the folding's minimum, each number of
     * four-lane rounds, each single-lane remainder and tail), starting at
     * offsets 0, 5, 10 and 15 of a 16-byte load; then larger ones from
     * every offset */
    for (size_t k = 0; k < 1101 + sizeof(large) / sizeof(large[0]); k++) {
        size_t len = k < 1101 ? k : large[k - 1101];
        for (size_t off = 0; off < 16; off += k < 1101 ? 5 : 1)
            for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
                bad += rt_crc32(starts[s], buf + off, len) !=
                       zlib_crc(starts[s], buf + off, len);
                tried++;
            }
    }
    CHECK(tried > 17000);
    CHECK(bad == 0);
    free(buf);
}

static void test_in_pieces(void)
{
    /* a section's CRC continued piece by piece (the bundle header's CRC
     * is made so) equals the CRC of the whole, wherever the cuts fall */
    size_t n = 70000;
    unsigned char *buf = random_bytes(n);
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    uint32_t whole = zlib_crc(0, buf, n);
    int bad = 0;
    const size_t cuts[] = {1, 15, 16, 17, 63, 64, 255, 256, 257, 1000, 4099};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        uint32_t crc = 0;
        for (size_t at = 0; at < n; at += cuts[c] + (at % 7))
            crc = rt_crc32(crc, buf + at,
                           at + cuts[c] + (at % 7) > n ? n - at
                                                       : cuts[c] + (at % 7));
        bad += crc != whole;
    }
    CHECK(bad == 0);
    /* a flipped bit anywhere changes it */
    buf[n / 2] ^= 0x10;
    CHECK(rt_crc32(0, buf, n) != whole);
    free(buf);
}

const struct test crc_tests[] = {
    {"crc32: the catalogue's check value", test_check_value},
    {"crc32: same CRC as zlib at every length, offset and start",
     test_against_zlib},
    {"crc32: continued piece by piece equals the whole", test_in_pieces},
    {0, 0},
};
