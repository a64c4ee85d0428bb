#!/usr/bin/env python3
"""The folding constants of runtime/src/crc.c, and a check of the folding.

For a move of D bits the constants are x^(D+63) mod P and x^(D-1) mod P,
P the CRC-32 polynomial (0x104C11DB7), each bit-reversed into 64 bits
(crc.c's comment says why). The folding is modelled here on Python
integers and compared with zlib.crc32 on random inputs before the
constants are printed.
"""
import os
import zlib

P = (1 << 32) | 0x04C11DB7


def mod_p(a):
    while a.bit_length() > 32:
        a ^= P << (a.bit_length() - 33)
    return a


def reverse64(v):
    return int(format(v, "064b")[::-1], 2)


def clmul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def constants(d):
    return reverse64(mod_p(1 << (d + 63))), reverse64(mod_p(1 << (d - 1)))


def fold(x, d, y):
    k_low, k_high = constants(d)
    return clmul(x & (2**64 - 1), k_low) ^ clmul(x >> 64, k_high) ^ y


def crc32_folded(crc, data):
    if len(data) < 64:
        return zlib.crc32(data, crc)
    block = lambda i: int.from_bytes(data[16 * i:16 * i + 16], "little")
    lanes = [block(i) for i in range(4)]
    lanes[0] ^= ~crc & 0xFFFFFFFF
    i = 4
    while 16 * (i + 4) <= len(data):
        lanes = [fold(lanes[j], 512, block(i + j)) for j in range(4)]
        i += 4
    x = (fold(lanes[0], 384, 0) ^ fold(lanes[1], 256, 0) ^
         fold(lanes[2], 128, 0) ^ lanes[3])
    while 16 * (i + 1) <= len(data):
        x = fold(x, 128, block(i))
        i += 1
    folded = zlib.crc32(x.to_bytes(16, "little"), 0xFFFFFFFF)
    return zlib.crc32(data[16 * i:], folded)


for n in (64, 65, 79, 80, 127, 128, 129, 200, 1000, 4103):
    for crc in (0, 0x12345678, 0xFFFFFFFF):
        data = os.urandom(n)
        assert crc32_folded(crc, data) == zlib.crc32(data, crc), (n, crc)
for d in (512, 384, 256, 128):
    low, high = constants(d)
    print(f"D={d}: 0x{low:016x} (x^{d + 63}), 0x{high:016x} (x^{d - 1})")
