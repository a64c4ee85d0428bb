/*
 * crc.c - CRC-32 over any length (rt_crc.h).
 *
 * zlib's crc32 runs at about 2.4 GB/s here; a bundle is 10-15 MB and dev
 * computes the CRC of each twice (written, then verified), the runtime
 * once per open. On x86-64 with PCLMULQDQ the bulk is folded with
 * carry-less multiplications instead, four 16-byte lanes at a time, and
 * zlib finishes the last 16 folded bytes and the tail; anywhere else, and
 * for short inputs, zlib does all of it.
 *
 * The folding, in the reflected bit order the CRC uses (byte 0 bit 0 is
 * the highest power): a 128-bit lane X that stands for the message up to
 * its end is moved D bits further on, where the next block Y ends, as
 * X * x^D + Y, reduced only enough to stay within 128 bits. With X = H *
 * x^64 + L, X * x^D = H * x^(D+64) + L * x^D, and each power is replaced by
 * its remainder mod P, a 32-bit polynomial: two 64 x 32-bit carry-less
 * products. A carry-less product of two bit-reversed 64-bit values is the
 * bit-reversed 128-bit product times x, so the constants are the
 * remainders of x^(D+63) and x^(D-1), bit-reversed into 64 bits. The
 * caller's CRC enters as the first 32 bits of the message (XORed in,
 * complemented as zlib keeps it), and the final lane is a 16-byte message
 * whose CRC, from a zero register, is the CRC of everything folded.
 * tests/unit/test_crc.c checks it against zlib, length by length.
 */
#include "rt_crc.h"

#include <zlib.h>

static uint32_t crc32_zlib(uint32_t crc, const unsigned char *b, size_t n)
{
    uLong c = crc;
    while (n > 0) {
        size_t part = n > (1u << 30) ? (1u << 30) : n;
        c = crc32(c, b, (uInt)part);
        b += part;
        n -= part;
    }
    return (uint32_t)c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* Below this, zlib's tables are as fast as setting up the lanes. */
#define FOLD_MIN 256

__attribute__((target("pclmul"))) static inline __m128i fold(__m128i x,
                                                             __m128i k)
{
    /* low half of x (H) times k's low (x^(D+63)), high (L) times k's high */
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                         _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul"))) static uint32_t
crc32_fold(uint32_t crc, const unsigned char *b, size_t n)
{
    /* (x^(D+63) mod P, x^(D-1) mod P), bit-reversed into 64 bits, for a
     * move of D bits: 512 (four lanes), 384, 256 and 128 (one lane);
     * _mm_set_epi64x takes the high half first. From
     * scripts/crc_constants.py. */
    const __m128i k512 = _mm_set_epi64x((long long)0xcad38e8f00000000ULL,
                                        (long long)0x653d982200000000ULL);
    const __m128i k384 = _mm_set_epi64x((long long)0x2a28386200000000ULL,
                                        (long long)0x69ccfc0d00000000ULL);
    const __m128i k256 = _mm_set_epi64x((long long)0x01b5fd1d00000000ULL,
                                        (long long)0x9570d49500000000ULL);
    const __m128i k128 = _mm_set_epi64x((long long)0x9ba54c6f00000000ULL,
                                        (long long)0x65673b4600000000ULL);
    __m128i x0 = _mm_loadu_si128((const __m128i *)b);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(b + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(b + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(b + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    b += 64;
    n -= 64;
    for (; n >= 64; b += 64, n -= 64) {
        x0 = _mm_xor_si128(fold(x0, k512), _mm_loadu_si128((const __m128i *)b));
        x1 = _mm_xor_si128(fold(x1, k512),
                           _mm_loadu_si128((const __m128i *)(b + 16)));
        x2 = _mm_xor_si128(fold(x2, k512),
                           _mm_loadu_si128((const __m128i *)(b + 32)));
        x3 = _mm_xor_si128(fold(x3, k512),
                           _mm_loadu_si128((const __m128i *)(b + 48)));
    }
    __m128i x = _mm_xor_si128(_mm_xor_si128(fold(x0, k384), fold(x1, k256)),
                              _mm_xor_si128(fold(x2, k128), x3));
    for (; n >= 16; b += 16, n -= 16)
        x = _mm_xor_si128(fold(x, k128), _mm_loadu_si128((const __m128i *)b));
    unsigned char last[16];
    _mm_storeu_si128((__m128i *)last, x);
    /* zlib's crc32 from 0xffffffff starts from a zero register */
    return crc32_zlib(crc32_zlib(0xffffffffu, last, 16), b, n);
}

/* 1 when the CPU has PCLMULQDQ, 0 when not, -1 not yet asked; asking
 * twice is harmless. (The other instructions used are SSE2's, which
 * every x86-64 CPU has.) */
static int has_fold = -1;

static int fold_supported(void)
{
    int v = __atomic_load_n(&has_fold, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("pclmul");
        __atomic_store_n(&has_fold, v, __ATOMIC_RELAXED);
    }
    return v;
}

uint32_t rt_crc32(uint32_t crc, const void *p, size_t n)
{
    if (n >= FOLD_MIN && fold_supported())
        return crc32_fold(crc, p, n);
    return crc32_zlib(crc, p, n);
}

#else

uint32_t rt_crc32(uint32_t crc, const void *p, size_t n)
{
    return crc32_zlib(crc, p, n);
}

#endif
